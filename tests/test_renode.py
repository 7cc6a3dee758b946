"""The optional Renode backend.

Always run: the .repl files agree with the TOML (platforms/repl.py), the .resc
each run generates (sim.renode.make_resc), the backend's process handling
against a stand-in `renode` (a small Python program that reads the generated
.resc and plays Renode's part: UART socket, marker and exit hooks), and the
one-line error when Renode is missing.

Run only when Renode is installed (`renode` on PATH or RENODE=...): the
self-test firmware end to end, and the kws perf window against QEMU's count.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from firmware_bins import prebuilt
from platforms import MemoryRegion, Peripheral, catalog, get_platform
from platforms.repl import (CPU_TYPES_FOR_CORE, RENODE_CORTEX_M_CPU_TYPES, ReplError, check_platform, load_repl,
                            parse_repl)
from sim import BACKENDS, RunOptions, open_emulator
from sim.elf import FirmwareImage
from sim.errors import EmulatorError, SimError, ToolMissingError
from sim.renode import (EXIT_SYMBOL, RENODE_INSTALL_HINT, RenodeEmulator, free_local_port, make_resc,
                        renode_binary)

ROOT = Path(__file__).resolve().parent.parent
PLATFORMS = list(catalog())


def _renode_missing_reason() -> str | None:
    try:
        renode_binary()
    except ToolMissingError as err:
        return f"Renode is not installed ({err})"
    return None


needs_renode = pytest.mark.skipif(_renode_missing_reason() is not None,
                                  reason=_renode_missing_reason() or "")


# -- .repl against the TOML ------------------------------------------------------

@pytest.mark.parametrize("name", PLATFORMS)
def test_repl_agrees_with_toml(name):
    platform = get_platform(name)
    repl = load_repl(platform.repl_file)
    assert check_platform(platform, repl) == []
    # the same facts, spelled out
    memories = repl.memories
    assert set(memories) == {"flash", "ram"}
    for region in platform.regions:
        assert (memories[region.name].address, memories[region.name].size) == (region.base, region.size)
    (uart,) = repl.uarts
    assert (uart.name, uart.type, uart.address) == ("uart0", "UART.CMSDK_APB_UART", platform.uart.base)
    assert repl.cpu_type in CPU_TYPES_FOR_CORE[platform.core]
    assert repl.cpu_type in RENODE_CORTEX_M_CPU_TYPES


@pytest.mark.parametrize("name", PLATFORMS)
def test_board_header_names_the_fallback_timer_from_the_toml(name):
    from platforms.gen import board_header
    platform = get_platform(name)
    header = board_header(platform)
    assert platform.fallback_timer.clock_hz == 100_000
    assert "#define TP_FALLBACK_TIMER_SYSTICK 1\n" in header
    assert "#define TP_FALLBACK_TIMER_BASE 0xe000e010u\n" in header
    assert "#define TP_FALLBACK_TIMER_US_PER_TICK 10u\n" in header


@pytest.mark.parametrize("clock_hz, kind", [(300_000, "cortex-m-systick"), (100_000, "dwt-cyccnt")])
def test_board_header_refuses_a_fallback_timer_it_cannot_drive(clock_hz, kind):
    from dataclasses import replace

    from platforms.gen import board_header
    platform = replace(get_platform("cortex-m4"), fallback_timer=Peripheral(kind, 0xE000E010, clock_hz))
    with pytest.raises(ValueError, match="fallback_timer must be one of"):
        board_header(platform)


def test_a_platform_without_fallback_timer_gets_no_fallback():
    from dataclasses import replace

    from platforms.gen import board_header
    assert "FALLBACK" not in board_header(replace(get_platform("cortex-m4"), fallback_timer=None))


def test_every_core_has_a_cpu_type_mapping():
    assert {p.core for p in catalog().values()} <= set(CPU_TYPES_FOR_CORE)
    assert all(set(types) <= RENODE_CORTEX_M_CPU_TYPES for types in CPU_TYPES_FOR_CORE.values())


SAMPLE = """\
// a comment line
flash: Memory.MappedMemory @ sysbus 0x0800_0000   // trailing comment
    size: 0x20000

ram: Memory.MappedMemory @ sysbus 0x20000000 { size: 0x8000 }

nvic: IRQControllers.NVIC @ sysbus 0xE000E000
    priorityMask: 0xFF
    IRQ -> cpu@0

cpu: CPU.CortexM @ sysbus
    cpuType: "cortex-m4f"
    nvic: nvic

uart0: UART.CMSDK_APB_UART @ sysbus 1073758208
"""


def test_parser_reads_headers_properties_connections_and_inline_blocks():
    repl = parse_repl(SAMPLE)
    assert list(repl.entries) == ["flash", "ram", "nvic", "cpu", "uart0"]
    assert (repl.entries["flash"].address, repl.entries["flash"].size) == (0x08000000, 0x20000)
    assert (repl.entries["ram"].address, repl.entries["ram"].size) == (0x20000000, 0x8000)
    assert repl.entries["nvic"].connections == ("IRQ -> cpu@0",)
    assert repl.entries["nvic"].properties == {"priorityMask": 0xFF}
    assert repl.entries["cpu"].address is None and repl.entries["cpu"].bus == "sysbus"
    assert repl.entries["cpu"].properties == {"cpuType": "cortex-m4f", "nvic": "nvic"}
    assert repl.cpu_type == "cortex-m4f"
    assert repl.entries["uart0"].address == 0x40004000


@pytest.mark.parametrize("text, message", [
    ("    size: 0x10\n", "indented line before any entry"),
    ("flash Memory.MappedMemory\n", "not a .repl entry header"),
    ("a: Memory.MappedMemory @ sysbus 0x0\na: Memory.MappedMemory @ sysbus 0x10\n", "defined twice"),
    ("a: Memory.MappedMemory @ sysbus 0x0\n    what is this\n", "not a property"),
])
def test_parser_rejects_what_it_does_not_understand(text, message):
    with pytest.raises(ReplError, match=message):
        parse_repl(text)


def _board(**changes):
    base = get_platform("cortex-m4")
    from dataclasses import replace
    return replace(base, **changes)


@pytest.mark.parametrize("edit, expected", [
    (lambda t: t.replace("@ sysbus 0x20000000", "@ sysbus 0x20001000"), "ram at 0x20001000"),
    (lambda t: t.replace("size: 0x00400000", "size: 0x00200000", 1), "flash size 0x00200000"),
    (lambda t: t.replace("0x40004000", "0x40005000"), "UART at 0x40005000"),
    (lambda t: t.replace("UART.CMSDK_APB_UART", "UART.PL011"), "UART type UART.PL011"),
    (lambda t: t.replace('"cortex-m4f"', '"cortex-m4x"'), "not a Renode Cortex-M cpuType"),
    (lambda t: t.replace('"cortex-m4f"', '"cortex-m7"'), "does not model core cortex-m4"),
    (lambda t: t.replace("uart0:", "uart1:"), "named uart1"),
    (lambda t: t + "\nsram2: Memory.MappedMemory @ sysbus 0x30000000\n    size: 0x1000\n", "memory regions are"),
    # the attribute every .repl had until Renode 1.14.0 was run: NVIC's parameter is priorityMask
    (lambda t: t.replace("priorityMask:", "priority:"), "NVIC has no constructor parameter 'priority'"),
    (lambda t: t.replace('    nvic: nvic', '    nvic: nvic\n    cpuFrequency: 120000000'),
     "CortexM has no constructor parameter 'cpuFrequency'"),
    (lambda t: t.replace("systickFrequency: 100000", "systickFrequency: 1000000"),
     "NVIC systickFrequency 1000000, TOML fallback_timer clock_hz is 100000"),
    (lambda t: t.replace("UART.CMSDK_APB_UART @ sysbus 0x40004000", "UART.CMSDK_APB_UART @ sysbus 0x40004000\n"
                         "    baudRate: 115200"), "CMSDK_APB_UART has no constructor parameter 'baudRate'"),
])
def test_check_reports_each_disagreement(edit, expected):
    platform = get_platform("cortex-m4")
    repl = parse_repl(edit(platform.repl_file.read_text()))
    problems = check_platform(platform, repl)
    assert any(expected in p for p in problems), problems


def test_check_compares_against_the_toml_values():
    platform = _board(ram=MemoryRegion("ram", 0x20000000, 0x1000), uart=Peripheral("cmsdk-apb-uart", 0x40008000))
    problems = check_platform(platform)
    assert any("ram size" in p for p in problems) and any("UART at" in p for p in problems)


# -- the generated .resc -------------------------------------------------------------

MARKS = {"tp_mark_begin": 0x1234, "tp_mark_end": 0x1250}


def _resc(platform, tmp_path, marks=MARKS, exit_addr=0x2000, port=40123):
    elf = tmp_path / "fw.elf"
    return make_resc(platform, elf, port, round(platform.clock_mhz), tmp_path / "counts", marks, exit_addr)


def _commands(script: str) -> list[str]:
    """Top-level Monitor lines (multi-line string bodies and comments left out)."""
    out, inside = [], False
    for line in script.splitlines():
        if line.strip() == '"""':
            inside = not inside
            continue
        if not inside and line.strip() and not line.startswith(":"):
            out.append(line)
    return out


@pytest.mark.parametrize("name", PLATFORMS)
def test_resc_has_every_command_in_order(name, tmp_path):
    platform = get_platform(name)
    script = _resc(platform, tmp_path)
    commands = _commands(script)
    expected = [
        f'mach create "{name}"',
        f'machine LoadPlatformDescription "{platform.repl_file.resolve()}"',
        f'sysbus LoadELF "{(tmp_path / "fw.elf").resolve()}"',
        f"sysbus.cpu VectorTableOffset 0x{platform.flash.base:08x}",
        f"sysbus.cpu PerformanceInMips {int(platform.clock_mhz)}",
        "set tp_marker_0", "sysbus.cpu AddHook 0x00001234 $tp_marker_0",
        "set tp_marker_1", "sysbus.cpu AddHook 0x00001250 $tp_marker_1",
        "set tp_exit", "sysbus.cpu AddHook 0x00002000 $tp_exit",
        'emulation CreateServerSocketTerminal 40123 "tp_uart" false',
        "connector Connect sysbus.uart0 tp_uart",
        "start",
    ]
    assert commands == expected
    assert script.count('"""') % 2 == 0


def test_performance_in_mips_is_the_platform_clock(tmp_path):
    for platform in catalog().values():
        assert f"PerformanceInMips {int(platform.clock_mhz)}\n" in _resc(platform, tmp_path)
        assert platform.clock_mhz == int(platform.clock_mhz)  # Renode takes whole MIPS


def test_marker_hooks_write_the_plugin_record_format(tmp_path):
    script = _resc(get_platform("cortex-m4"), tmp_path)
    counts = str((tmp_path / "counts").resolve())
    bodies = re.findall(r'^set (\w+)\n"""\n(.*?)\n"""\nsysbus\.cpu AddHook (0x[0-9a-f]+) \$\1$', script, re.M | re.S)
    assert [(name, int(addr, 16)) for name, _, addr in bodies] == [
        ("tp_marker_0", 0x1234), ("tp_marker_1", 0x1250), ("tp_exit", 0x2000)]
    for name, body, addr in bodies:
        compile(body, name, "exec")  # valid Python (the hook runs in Renode's IronPython 2.7)
        assert f"open('{counts}', 'a')" in body
        assert '"' not in body and "\\" not in body  # nothing the Monitor string could mangle
        if name.startswith("tp_marker"):
            assert f"f.write('M {int(addr, 16):x} ' + str(self.ExecutedInstructions) + chr(10))" in body
    exit_body = bodies[-1][1]
    assert "'T ' + str(self.ExecutedInstructions)" in exit_body and "'X ' + str(code)" in exit_body


def test_marker_hooks_run_as_python_and_produce_counter_records(tmp_path):
    """Execute the hook bodies with a stand-in CPU: the file they write parses
    as counting-plugin records (sim.plugin.CounterLog)."""
    from sim.plugin import CounterLog, windows

    script = _resc(get_platform("cortex-m4"), tmp_path)
    bodies = dict((n, b) for n, b in re.findall(r'^set (\w+)\n"""\n(.*?)\n"""', script, re.M | re.S))

    class Register:
        RawValue = 0x103  # exit code 3 in the low byte

    class Cpu:
        ExecutedInstructions = 0
        IsHalted = False

        def GetRegisterUnsafe(self, n):
            return Register()

    cpu = Cpu()
    for count, hook in ((100, "tp_marker_0"), (175, "tp_marker_1"), (300, "tp_marker_0"), (390, "tp_marker_1"),
                        (500, "tp_exit")):
        cpu.ExecutedInstructions = count
        exec(bodies[hook], {"self": cpu})
    log = CounterLog(tmp_path / "counts").poll()
    assert log.markers == [(0x1234, 100), (0x1250, 175), (0x1234, 300), (0x1250, 390)]
    assert windows(log.markers, 0x1234, 0x1250) == [75, 90]
    assert log.total == 500 and log.complete and cpu.IsHalted
    assert "X 3" in (tmp_path / "counts").read_text().splitlines()


def test_resc_without_exit_symbol_or_markers(tmp_path):
    script = _resc(get_platform("cortex-m4"), tmp_path, marks={}, exit_addr=None)
    assert "AddHook" not in script and "set tp_" not in script
    assert _commands(script)[-1] == "start"


def test_resc_quotes_paths_with_spaces_and_rejects_unnameable_ones(tmp_path):
    platform = get_platform("cortex-m4")
    spaced = tmp_path / "my firmware" / "kws v2.elf"
    script = make_resc(platform, spaced, 40000, 120, tmp_path / "counts", MARKS)
    assert f'sysbus LoadELF "{spaced.resolve()}"' in script
    with pytest.raises(SimError, match="double quote"):
        make_resc(platform, tmp_path / 'bad"name.elf', 40000, 120, tmp_path / "counts", MARKS)
    with pytest.raises(SimError, match="quote, backslash"):
        make_resc(platform, spaced, 40000, 120, tmp_path / "it's" / "counts", MARKS)


@pytest.mark.parametrize("port, mips", [(0, 120), (70000, 120), (40000, 0), (40000, 120.5)])
def test_resc_rejects_bad_port_or_mips(tmp_path, port, mips):
    with pytest.raises(SimError):
        make_resc(get_platform("cortex-m4"), tmp_path / "a.elf", port, mips, tmp_path / "counts", MARKS)


def test_resc_is_pure(tmp_path):
    platform = get_platform("cortex-m33")
    assert _resc(platform, tmp_path) == _resc(platform, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_free_local_port_is_bindable_on_loopback():
    import socket
    port = free_local_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


def test_backend_is_registered():
    assert BACKENDS["renode"] is RenodeEmulator


# -- process handling, against a stand-in renode ------------------------------------

FAKE_RENODE = Path(__file__).resolve().parent / "support" / "fake_renode.py"


def _install_fake(tmp_path: Path, monkeypatch, version: str = "1.14.0") -> Path:
    program = tmp_path / "bin" / "renode"
    program.parent.mkdir(exist_ok=True)
    program.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE_RENODE}" "$@"\n')
    program.chmod(0o755)
    info = tmp_path / "info.jsonl"
    monkeypatch.setenv("RENODE", str(program))
    monkeypatch.setenv("FAKE_RENODE_INFO", str(info))
    monkeypatch.setenv("FAKE_RENODE_VERSION", version)
    monkeypatch.setenv("FAKE_RENODE_MONITOR_PORT", str(free_local_port()))
    return info


@pytest.fixture
def fake_renode(tmp_path, monkeypatch):
    return _install_fake(tmp_path, monkeypatch)


def _infos(path: Path) -> list[dict]:
    """What each fake renode instance recorded (one JSON line each, in the order they finished the script)."""
    return [json.loads(line) for line in path.read_text().splitlines()]


def _info(path: Path) -> dict:
    return _infos(path)[-1]


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_fake_session_uart_markers_exit_and_reaping(fake_renode):
    elf = prebuilt("cortex-m4", "selftest")
    firmware = FirmwareImage(elf)
    markers = ("st_mark_open", "st_mark_close")
    emulator = open_emulator("cortex-m4", firmware, RunOptions(markers=markers), backend="renode")
    assert isinstance(emulator, RenodeEmulator)
    with emulator as dut:
        assert dut.read_line(10) == "fake-renode ready"
        info = _info(fake_renode)
        assert info["argv"][1:] == ["--disable-xwt", "--console", "--plain", info["argv"][-1]]
        assert "--port" not in info["argv"] and "-P" not in info["argv"]
        assert info["stdin_fifo"]  # the Monitor's stdin held open: at its end Renode quits
        assert info["listening"] == [dut.port]  # no Monitor port, only the UART
        assert info["pgid"] == info["pid"] == info["sid"]  # its own session and process group
        assert f"CreateServerSocketTerminal {dut.port} " in info["script"]
        assert f"AddHook 0x{firmware.address(EXIT_SYMBOL):08x} $tp_exit" in info["script"]
        dut.write("hello%")
        assert dut.read_line(5) == "echo-[hello]"
        dut.write("mark%")
        dut.expect("^marked$", 5)
        dut.write("exit 7%")
        assert dut.wait(10) == 7
        assert dut.exit_code == 7
        assert dut.diagnose() == "firmware exited with code 7"
    assert _gone(info["pid"])
    log = dut.counters()
    assert [m for m, _ in log.markers] == sorted(dut.markers.values())
    assert log.total == 20 and log.complete
    assert dut.exit_code == 7  # still known after stop


def test_fake_stop_without_exit_leaves_no_process(fake_renode):
    emulator = open_emulator("cortex-m4", prebuilt("cortex-m4", "kws"), backend="renode")
    with emulator as dut:
        assert dut.read_line(10) == "fake-renode ready"
        pid = _info(fake_renode)["pid"]
        from sim.errors import FirmwareTimeout
        with pytest.raises(FirmwareTimeout):
            dut.wait(0.3)
    assert _gone(pid)
    assert dut.exit_code is None  # stopped by us: no firmware exit code
    dut.stop()  # idempotent


def test_fake_startup_error_is_one_line(fake_renode, monkeypatch):
    monkeypatch.setenv("FAKE_RENODE_FAIL", "1")
    start = time.monotonic()
    emulator = open_emulator("cortex-m4", prebuilt("cortex-m4", "selftest"), backend="renode")
    with pytest.raises(EmulatorError) as caught:
        emulator.start()
    assert time.monotonic() - start < 10
    assert str(caught.value) == "renode: cpu: fake failure while loading the platform"
    assert _gone(_info(fake_renode)["pid"])


def test_dut_loads_inputs_over_the_uart_on_renode(fake_renode):
    from harness.dut import Dut
    emulator = open_emulator("cortex-m4", prebuilt("cortex-m4", "kws"), backend="renode")
    assert emulator.firmware.address("bsp_read_file") is not None  # the firmware could use `db file`
    assert Dut(emulator).loads_files is False


# -- Renode's own errors, each as one line ----------------------------------------------

def _platform_with_repl(tmp_path: Path, name: str, edit) -> object:
    """The platform with its .repl edited (in a copy)."""
    from dataclasses import replace
    platform = get_platform(name)
    repl = tmp_path / "edited" / platform.repl_file.name
    repl.parent.mkdir(exist_ok=True)
    repl.write_text(edit(platform.repl_file.read_text()))
    return replace(platform, repl_file=repl)


def _start_error(platform, elf_name: str = "selftest") -> tuple[str, float]:
    emulator = open_emulator(platform, prebuilt(platform.name, elf_name), backend="renode")
    start = time.monotonic()
    with pytest.raises(EmulatorError) as caught:
        emulator.start()
    elapsed = time.monotonic() - start
    emulator.stop()
    message = str(caught.value)
    assert "\n" not in message
    return message, elapsed


def test_rejected_repl_attribute_is_one_line_at_once(fake_renode, tmp_path):
    """The E25 every run hit on Renode 1.14.0, reported as Renode reports it, not as a 30 s socket wait."""
    platform = _platform_with_repl(tmp_path, "cortex-m4", lambda t: t.replace("priorityMask:", "priority:"))
    message, elapsed = _start_error(platform)
    repl = platform.repl_file
    assert message == ("renode rejected the platform description: Error E25: Could not find suitable constructor "
                       "for type 'Antmicro.Renode.Peripherals.IRQControllers.NVIC'; no constructor parameter takes "
                       f"'priority' at {repl}:13:5 (platforms/repl.py lists the accepted ones)")
    assert elapsed < 10, elapsed
    assert _info(fake_renode)["listening"] == []  # the script stopped at the platform: no UART either


def test_failed_command_is_one_line(fake_renode, tmp_path):
    platform = get_platform("cortex-m4")
    elf = tmp_path / "fw.elf"
    shutil.copy(prebuilt("cortex-m4", "selftest"), elf)
    emulator = open_emulator(platform, FirmwareImage(elf), backend="renode")
    elf.unlink()  # gone between our checks and Renode's LoadELF
    with pytest.raises(EmulatorError, match=r"^renode: command 'sysbus LoadELF \".*fw\.elf\"' failed: "
                                           r"Could not find file"):
        emulator.start()
    emulator.stop()


@pytest.mark.parametrize("log, expected", [
    # Renode 1.14.0's E25, as the issue quotes it (Monitor.cs + CreationDriver.cs shapes)
    ("There was an error executing command 'machine LoadPlatformDescription @/p/cortex-m4.repl'\n"
     "Error E25: Could not find suitable constructor for type 'Antmicro.Renode.Peripherals.IRQControllers.NVIC'.\n"
     "Constructor selection report:\n\nConsidering ctor Void .ctor(...).\n"
     "  Constructor rejected, 1 unused attributes left:\n"
     "    'priority' with value '[NumericalValue: 0xFF]' at /p/cortex-m4.repl:10:5\n"
     "At /p/cortex-m4.repl:9:1:\nnvic: IRQControllers.NVIC @ sysbus 0xE000E000\n^\n",
     "renode rejected the platform description: Error E25: Could not find suitable constructor for type "
     "'Antmicro.Renode.Peripherals.IRQControllers.NVIC'; no constructor parameter takes 'priority' at "
     "/p/cortex-m4.repl:10:5 (platforms/repl.py lists the accepted ones)"),
    ("Error E04: Could not resolve type: 'Timers.CMSDK_APB_Timer'.\nAt /p/x.repl:20:1:\n",
     "renode rejected the platform description: Error E04: Could not resolve type: 'Timers.CMSDK_APB_Timer'. "
     "(at /p/x.repl:20:1)"),
    ("\x1b[31mThere was an error executing command 'sysbus LoadELF @/x.elf'\x1b[0m\n"
     "Could not find file '/x.elf'\n", "renode: command 'sysbus LoadELF @/x.elf' failed: Could not find file '/x.elf'"),
    ("12:00:01.0000 [INFO] System bus created.\n12:00:01.1000 [ERROR] cpu: CPU abort [PC=0x0]\n",
     "renode: cpu: CPU abort [PC=0x0]"),
    ("FATAL UNHANDLED EXCEPTION: System.Net.Sockets.SocketException (98): Address already in use\n",
     "renode crashed: FATAL UNHANDLED EXCEPTION: System.Net.Sockets.SocketException (98): Address already in use"),
    ("12:00:01.0000 [INFO] System bus created.\n12:00:01.0001 [WARNING] sysbus: WriteDoubleWord to non existing "
     "peripheral at 0x40000000, value 0x1.\n", None),
])
def test_renode_failure_reads_renodes_shapes(log, expected):
    from sim.renode import renode_failure
    assert renode_failure(log, get_platform("cortex-m4")) == expected


# -- cpuType and Renode version ------------------------------------------------------------

def test_cortex_m55_on_renode_before_1_16_1_is_one_line_before_any_start(tmp_path, monkeypatch):
    info = _install_fake(tmp_path, monkeypatch, version="1.14.0")
    message, elapsed = _start_error(get_platform("cortex-m55"))
    assert message == ("Renode 1.14.0 has no cortex-m55 CPU (platform cortex-m55): it needs Renode 1.16.1 or "
                       "newer; install a newer portable release or use --backend qemu")
    assert elapsed < 10, elapsed
    assert not info.exists()  # only `renode --version` ran: no emulation was started


def test_cortex_m55_unknown_cpu_type_from_the_log_names_the_version(tmp_path, monkeypatch):
    """When `renode --version` says nothing usable, Renode's own E38 is turned into the same advice."""
    _install_fake(tmp_path, monkeypatch, version="1.15.3")
    monkeypatch.setattr("sim.renode.renode_version", lambda binary: None)
    message, elapsed = _start_error(get_platform("cortex-m55"))
    assert message == ("this Renode has no cortex-m55 CPU (platform cortex-m55): it needs Renode 1.16.1 or newer; "
                       "install a newer portable release or use --backend qemu")
    assert elapsed < 10, elapsed


def test_cortex_m55_runs_on_renode_1_16_1(tmp_path, monkeypatch):
    _install_fake(tmp_path, monkeypatch, version="1.16.1")
    with open_emulator("cortex-m55", prebuilt("cortex-m55", "selftest"), backend="renode") as dut:
        assert dut.read_line(10) == "fake-renode ready"


def test_renode_version_parses_renodes_banner(fake_renode):
    from sim.renode import renode_version
    assert renode_version(os.environ["RENODE"]) == (1, 14, 0)
    assert renode_version(str(fake_renode.parent / "no-such-renode")) is None


# -- no Monitor port: parallel runs ---------------------------------------------------------

def test_two_sessions_side_by_side(fake_renode):
    """`run --jobs 2`: two Renodes at once, each with its own UART port and no Monitor port."""
    first = open_emulator("cortex-m4", prebuilt("cortex-m4", "selftest"), backend="renode")
    second = open_emulator("cortex-m33", prebuilt("cortex-m33", "selftest"), backend="renode")
    with first as a, second as b:
        assert a.read_line(10) == b.read_line(10) == "fake-renode ready"
        a.write("one%")
        b.write("two%")
        assert (a.read_line(5), b.read_line(5)) == ("echo-[one]", "echo-[two]")
        assert sorted(i["listening"][0] for i in _infos(fake_renode)) == sorted([a.port, b.port])


def test_the_stand_in_collides_as_renode_does_without_console(fake_renode, tmp_path):
    """Guard on the stand-in itself: started the old way (no --console), a second
    instance dies on the Monitor's telnet port, as Renode 1.14.0 did."""
    script = tmp_path / "empty.resc"
    script.write_text("")
    cmd = [os.environ["RENODE"], "--disable-xwt", "--plain", str(script)]
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    try:
        assert "Monitor available in telnet mode on port" in first.stdout.readline()
        second = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=30)
        assert second.returncode != 0 and "Address already in use" in second.stdout
    finally:
        first.kill()
        first.wait()


def test_the_stand_in_quits_at_the_end_of_stdin_with_console(fake_renode, tmp_path):
    script = tmp_path / "empty.resc"
    script.write_text("")
    done = subprocess.run([os.environ["RENODE"], "--disable-xwt", "--console", "--plain", str(script)],
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    assert done.returncode == 0


# -- Renode missing ---------------------------------------------------------------

def _env_without_renode(tmp_path: Path) -> dict:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    qemu = shutil.which("qemu-system-arm")
    if qemu:
        (bin_dir / "qemu-system-arm").symlink_to(qemu)
    env = {k: v for k, v in os.environ.items() if k != "RENODE"}
    env.update(PATH=str(bin_dir), HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"))
    return env


def _tinyperf(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=60)


def _one_error_line(proc) -> str:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("tinyperf: error:")]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_exec_cortex_m55_on_old_renode_is_one_cli_line(tmp_path, monkeypatch):
    info = _install_fake(tmp_path, monkeypatch, version="1.14.0")
    env = dict(os.environ)
    proc = _tinyperf("exec", str(prebuilt("cortex-m55", "selftest")), "-p", "cortex-m55", "--backend", "renode",
                     env=env)
    line = _one_error_line(proc)
    assert "Renode 1.14.0 has no cortex-m55 CPU" in line and "needs Renode 1.16.1 or newer" in line
    assert not info.exists()


def test_exec_with_backend_renode_fails_at_once_without_renode(tmp_path):
    env = _env_without_renode(tmp_path)
    assert shutil.which("renode", path=env["PATH"]) is None
    start = time.monotonic()
    proc = _tinyperf("exec", str(prebuilt("cortex-m4", "selftest")), "--backend", "renode", env=env)
    elapsed = time.monotonic() - start
    line = _one_error_line(proc)
    assert proc.returncode == 1
    assert "Renode not found" in line and "portable" in line and "RENODE=/path/to" in line
    assert elapsed < 15, elapsed
    assert line == f"tinyperf: error: {' '.join(RENODE_INSTALL_HINT.split())}"


def test_run_with_backend_renode_fails_before_making_a_run_folder(tmp_path):
    env = _env_without_renode(tmp_path)
    results = tmp_path / "results"
    proc = _tinyperf("run", "kws", "-n", "1", "--backend", "renode", "--results", str(results), env=env)
    assert "Renode not found" in _one_error_line(proc)
    assert not results.exists()


def test_renode_env_pointing_nowhere_is_named(tmp_path):
    env = _env_without_renode(tmp_path) | {"RENODE": str(tmp_path / "nope" / "renode")}
    line = _one_error_line(_tinyperf("exec", str(prebuilt("cortex-m4", "selftest")), "--backend", "renode", env=env))
    assert f"RENODE={tmp_path / 'nope' / 'renode'} is not an executable Renode" in line


def test_unknown_backend_is_a_usage_error(tmp_path):
    proc = _tinyperf("exec", str(prebuilt("cortex-m4", "selftest")), "--backend", "gem5", env=dict(os.environ))
    assert proc.returncode == 2
    assert "gem5" in proc.stderr


# -- end to end on a real Renode ------------------------------------------------------

@needs_renode
@pytest.mark.parametrize("name", ["cortex-m4", "cortex-m33"])
def test_renode_selftest_uart_echo_exact_loops_and_exit(name):
    from harness.selftest import LOOP_PASSES, MARKERS, TIMEOUT_S, paper_counts
    from sim.plugin import windows

    platform = get_platform(name)
    firmware = FirmwareImage(prebuilt(name, "selftest"))
    with open_emulator(platform, firmware, RunOptions(markers=MARKERS), backend="renode") as dut:
        dut.expect(rf"^selftest-ready {name}$", 60)
        dut.write("echo 0123abcd%")
        assert dut.read_line(TIMEOUT_S) == "echo-[0123abcd]"
        dut.write(f"loops {LOOP_PASSES}%")
        dut.expect(rf"^loops-done {LOOP_PASSES}$", TIMEOUT_S)
        dut.write("exit 0%")
        assert dut.wait(TIMEOUT_S) == 0
    log = dut.counters()
    assert windows(log.markers, dut.markers[MARKERS[0]], dut.markers[MARKERS[1]]) == paper_counts(LOOP_PASSES)
    assert log.total and log.total > 0


@needs_renode
@pytest.mark.skipif(shutil.which("qemu-system-arm") is None, reason="needs qemu-system-arm (run ci/setup)")
def test_renode_kws_perf_window_equals_qemu():
    from harness.benchmarks import get_benchmark
    from harness.runner import measure_perf

    bench, platform = get_benchmark("kws"), get_platform("cortex-m4")
    firmware = FirmwareImage(prebuilt("cortex-m4", "kws"))
    on_qemu = measure_perf(bench, platform, firmware, backend="qemu")
    on_renode = measure_perf(bench, platform, firmware, backend="renode")
    assert on_renode.instructions_per_inference == on_qemu.instructions_per_inference
    assert on_renode.cycles_per_inference is None  # no per-block profile on Renode: no cycle model
