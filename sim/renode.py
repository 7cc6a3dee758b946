"""The Renode backend (optional): the same firmware on Renode's Cortex-M model.

Renode is not packaged for Debian nor on PyPI; install its portable Linux
release (see RENODE_INSTALL_HINT) and put `renode` on PATH or set
RENODE=/path/to/renode.

Per run we write a .resc script (make_resc) into a private run folder and
start `renode --disable-xwt --console --plain run.resc` with stdin a pipe we
hold open.  Why (renode/renode src/Renode/UI/CommandLineInterface.cs and
Options.cs): without --console and without a GUI, Renode serves its Monitor
on telnet port 1234, so Monitor errors go to that port and a second instance
dies binding it; with --console the Monitor reads stdin and writes stdout
(our log), opens no port, and quits at the end of stdin, hence the pipe.
The only listener is then the UART's socket terminal.  The script:

- creates the machine from the platform's .repl and loads the ELF;
- sets the vector table to the flash base (the firmware's vectors live there);
- sets PerformanceInMips to the platform clock in MHz, so Renode's virtual
  time is instructions / clock (one instruction per cycle);
- adds a Python hook per marker address that appends
  `M <addr hex> <ExecutedInstructions>` to the counts file, the record our
  QEMU plugin writes (sim/plugin/counter.c), so sim.plugin.CounterLog and
  the window arithmetic are shared;
- for our firmware, a hook at `bsp_exit` (see EXIT_SYMBOL) that appends
  `T <total>`, `X <exit code>` and `E`: Renode's Cortex-M has no semihosting
  SYS_EXIT, so this is how a run ends with an exit code.  Firmware without
  that symbol (third-party ELFs) never "exits": the harness stops Renode and
  exit_code stays None;
- connects uart0 to `emulation CreateServerSocketTerminal PORT "uart" false`
  (no telnet negotiation bytes) and starts the emulation.

Every Monitor error (a rejected .repl attribute, an unknown CPU type, a
failed command) is read from the log as it appears and becomes one line
(renode_failure).  A cpuType newer than the installed Renode is refused
before the start, from `renode --version` (RENODE_CPU_TYPE_SINCE).

Differences from the QEMU backend, all documented in the README snippet:
no per-block profile (cycles come from QEMU's cost model only, so perf cycles
and latency are None here), no semihosting file input (the protocol client
loads inputs over the UART instead), and Renode binds its socket terminal to
every interface (0.0.0.0), not only 127.0.0.1 (Renode has no bind-address
option); we connect at once, and Renode serves one client at a time.
"""
from __future__ import annotations

import functools
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from platforms import Platform
from platforms.repl import RENODE_CPU_TYPE_SINCE, load_repl
from sim.backend import Emulator, RunOptions, marker_addresses, unique_run_dir
from sim.elf import FirmwareImage
from sim.errors import EmulatorError, FirmwareTimeout, SimError, ToolMissingError
from sim.faults import handler_fault
from sim.process import released, spawn, terminate
from sim.plugin import CounterLog

RENODE = "renode"
RENODE_ENV = "RENODE"
RENODE_INSTALL_HINT = (
    "Renode not found: install its portable Linux release (renode-<version>.linux-portable.tar.gz "
    "from the renode/renode releases on GitHub; Renode is neither in Debian nor on PyPI), unpack it "
    "and set RENODE=/path/to/renode_portable/renode or put that folder on PATH")
EXIT_SYMBOL = "bsp_exit"  # our firmware's exit function: its first argument is the exit code
UART_TERMINAL = "tp_uart"
START_TIMEOUT_S = 30.0  # Renode (a .NET program) takes seconds to start
VERSION_TIMEOUT_S = 30.0
STOP_GRACE_S = 3.0
POLL_S = 0.01
ERROR_SETTLE_S = 0.3  # a Monitor error spans several lines: let Renode finish writing it
OLDEST_CHECKED = (1, 14, 0)  # the oldest Renode tinyperf was run on (README, Renode section)

def _renode_run_binary() -> str | None:
    """The Renode a `renode-run download` put in its default folder, if any.

    renode-run (antmicro/renode-run) unpacks a portable release under
    ~/.config/renode/ by default; we look for an executable `renode` one or
    two folders below it."""
    base = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) / "renode"
    if not base.is_dir():
        return None
    for candidate in sorted([*base.glob("*/renode"), *base.glob("*/*/renode")], reverse=True):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def renode_binary() -> str:
    """$RENODE, else `renode` on PATH, else a renode-run installation; ToolMissingError otherwise."""
    configured = os.environ.get(RENODE_ENV)
    if configured:
        path = Path(configured).expanduser()
        if path.is_dir():
            path = path / RENODE
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
        raise ToolMissingError(f"{RENODE_ENV}={configured} is not an executable Renode. {RENODE_INSTALL_HINT}")
    found = shutil.which(RENODE) or _renode_run_binary()
    if not found:
        raise ToolMissingError(RENODE_INSTALL_HINT)
    return found


def free_local_port() -> int:
    """A TCP port nothing listens on now (asked of the kernel on 127.0.0.1)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _resc_path(path: Path) -> str:
    """A path as a quoted Monitor string (Renode accepts "strings" where it wants a path)."""
    text = str(Path(path).resolve())
    if any(ch in text for ch in '"\n\r') or '"""' in text:
        raise SimError(f"path {text!r} holds a double quote or a newline: Renode scripts cannot name it; move the file")
    return f'"{text}"'


def _python_path(path: Path) -> str:
    """A path as a Python string literal inside a hook (no quotes or backslashes allowed)."""
    text = str(Path(path).resolve())
    if any(ch in text for ch in "'\"\\\n\r"):
        raise SimError(f"path {text!r} holds a quote, backslash or newline: a Renode hook cannot name it; "
                       "set TMPDIR to a plain folder")
    return f"'{text}'"


def _marker_hook(counts: str, addr: int) -> str:
    # IronPython 2.7 inside Renode: `self` is the CPU; chr(10) avoids escape sequences.
    return "\n".join([
        f"f = open({counts}, 'a')",
        f"f.write('M {addr:x} ' + str(self.ExecutedInstructions) + chr(10))",
        "f.close()",
    ])


def _exit_hook(counts: str) -> str:
    # r0 holds bsp_exit's argument.  GetRegister is the current API name,
    # GetRegisterUnsafe the older one; RawValue is the register as an integer.
    return "\n".join([
        "g = getattr(self, 'GetRegister', None) or self.GetRegisterUnsafe",
        "code = int(g(0).RawValue) & 0xff",
        f"f = open({counts}, 'a')",
        "f.write('T ' + str(self.ExecutedInstructions) + chr(10) + 'X ' + str(code) + chr(10) + 'E' + chr(10))",
        "f.close()",
        "self.IsHalted = True",
    ])


def make_resc(platform: Platform, firmware_path: Path | str, uart_port: int, mips: int,
              markers_file: Path | str, marker_addrs: dict[str, int] | list[int] | tuple[int, ...],
              exit_addr: int | None = None) -> str:
    """The Renode script for one run (pure: no files are touched).

    platform: its .repl and flash base; firmware_path: the ELF; uart_port: the
    TCP port of uart0's socket terminal; mips: PerformanceInMips (the clock in
    MHz); markers_file: where hooks append records; marker_addrs: code
    addresses to record (a name->address dict or the addresses); exit_addr:
    the firmware's exit function, hooked to record the exit code (None: none)."""
    # Every command below ran on Renode 1.14.0 (README, Renode section).  Their
    # sources in renode-infrastructure: PerformanceInMips (BaseCPU.cs), AddHook
    # (CpuHooksExtensions.cs: AddHook(ulong addr, string pythonScript)), and
    # CreateServerSocketTerminal(int port, string name, bool emitConfig/telnetMode,
    # bool flushOnConnect) (ServerSocketTerminal.cs; the third argument false
    # sends no telnet negotiation bytes, in every release since 1.x).
    if not 0 < uart_port < 65536:
        raise SimError(f"UART port {uart_port} is not a TCP port")
    if int(mips) != mips or mips <= 0:
        raise SimError(f"PerformanceInMips must be a positive whole number, not {mips}")
    addresses = sorted(set(marker_addrs.values() if isinstance(marker_addrs, dict) else marker_addrs))
    counts = _python_path(Path(markers_file))
    lines = [
        f":name: tinyperf {platform.name}",
        ":description: generated by tinyperf (sim/renode.py) for one run",
        "",
        f'mach create "{platform.name}"',
        f"machine LoadPlatformDescription {_resc_path(platform.repl_file)}",
        f"sysbus LoadELF {_resc_path(Path(firmware_path))}",
        f"sysbus.cpu VectorTableOffset 0x{platform.flash.base:08x}",
        f"sysbus.cpu PerformanceInMips {int(mips)}",
    ]
    for i, addr in enumerate(addresses):
        lines += [f"set tp_marker_{i}", '"""', _marker_hook(counts, addr), '"""',
                  f"sysbus.cpu AddHook 0x{addr:08x} $tp_marker_{i}"]
    if exit_addr is not None:
        lines += ["set tp_exit", '"""', _exit_hook(counts), '"""', f"sysbus.cpu AddHook 0x{exit_addr:08x} $tp_exit"]
    lines += [
        f'emulation CreateServerSocketTerminal {uart_port} "{UART_TERMINAL}" false',
        f"connector Connect sysbus.uart0 {UART_TERMINAL}",
        "start",
        "",
    ]
    return "\n".join(lines)


@functools.lru_cache(maxsize=8)
def _version_of(binary: str, mtime_ns: int) -> tuple[int, int, int] | None:
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, stdin=subprocess.DEVNULL,
                             timeout=VERSION_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = re.search(r"(?<![\d.])(\d+)\.(\d+)\.(\d+)", out.stdout + out.stderr)
    return tuple(int(part) for part in found.groups()) if found else None


def renode_version(binary: str) -> tuple[int, int, int] | None:
    """What `renode --version` says (`Renode v1.14.0.xxxxx ...`); None if it says no version."""
    try:
        mtime_ns = os.stat(binary).st_mtime_ns
    except OSError:
        return None
    return _version_of(binary, mtime_ns)


def _dotted(version: tuple[int, ...]) -> str:
    return ".".join(map(str, version))


def _cpu_type_message(platform: Platform, cpu_type: str, found: tuple[int, int, int] | None) -> str:
    since = RENODE_CPU_TYPE_SINCE[cpu_type]
    installed = f"Renode {_dotted(found)}" if found else "this Renode"
    return (f"{installed} has no {cpu_type} CPU (platform {platform.name}): it needs Renode {_dotted(since)} "
            "or newer; install a newer portable release or use --backend qemu")


def check_cpu_type_supported(platform: Platform, binary: str) -> None:
    """EmulatorError at once if the installed Renode predates the platform's cpuType."""
    cpu_type = load_repl(platform.repl_file).cpu_type
    since = RENODE_CPU_TYPE_SINCE.get(cpu_type or "")
    if since is None or since <= OLDEST_CHECKED:
        return
    found = renode_version(binary)
    if found is not None and found < since:
        raise EmulatorError(_cpu_type_message(platform, cpu_type, found))


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_PARSING_ERROR = re.compile(r"Error E(?P<code>\d+): (?P<text>.*)")
_UNUSED_ATTRIBUTE = re.compile(r"^\s*'(?P<name>\w+)' with value '.*' at (?P<where>\S+)$")
_FAILED_COMMAND = re.compile(r"There was an error executing command '(?P<command>.*)'")
_CRASH = ("FATAL UNHANDLED EXCEPTION", "Unhandled Exception:")


def renode_failure(log: str, platform: Platform) -> str | None:
    """Renode's first complaint in its console output, as one line (None: none yet).

    The shapes, from renode/renode sources: a failed Monitor command prints
    `There was an error executing command 'CMD'` and the exception's text
    (Monitor.cs PrintException); a .repl error is `Error Enn: ...` followed by
    `At FILE:LINE:COL:` (CreationDriver.cs HandleError; E25 NoCtor lists the
    unused attributes as `'NAME' with value 'V' at FILE:L:C`, E38 is an exception
    in a constructor such as TranslationCPU's `Unknown CPU type`); log lines
    carry `[ERROR]`; a crash prints FATAL UNHANDLED EXCEPTION (CrashHandler)."""
    lines = [_ANSI.sub("", line).strip() for line in log.splitlines()]
    for i, line in enumerate(lines):
        parsing = _PARSING_ERROR.search(line)
        if parsing:
            return _parsing_error(parsing["code"], parsing["text"], lines[i + 1:], platform)
        failed = _FAILED_COMMAND.search(line)
        if failed:
            detail = next((ln for ln in lines[i + 1:] if ln), "")
            if _PARSING_ERROR.search(detail):
                continue  # the Error Enn line that follows says more
            return f"renode: command '{failed['command']}' failed: {detail or 'no detail given'}"
        if "[ERROR]" in line:
            return f"renode: {line.split('[ERROR]', 1)[1].strip()}"
        if any(mark in line for mark in _CRASH):
            return f"renode crashed: {line}"
    return None


def _parsing_error(code: str, text: str, following: list[str], platform: Platform) -> str:
    where = next((ln[3:].rstrip(":") for ln in following if ln.startswith("At ")), str(platform.repl_file))
    if code == "38" and any("Unknown CPU type" in ln for ln in [text, *following[:4]]):
        cpu_type = load_repl(platform.repl_file).cpu_type
        if cpu_type in RENODE_CPU_TYPE_SINCE:
            return _cpu_type_message(platform, cpu_type, None)
        return f"renode: Error E38: unknown CPU type {cpu_type!r} at {where}"
    unused = [m for m in map(_UNUSED_ATTRIBUTE.match, following) if m]
    if code == "25" and unused:
        names = ", ".join(dict.fromkeys(f"'{m['name']}' at {m['where']}" for m in unused))
        return (f"renode rejected the platform description: Error E25: {text.rstrip('.')}; "
                f"no constructor parameter takes {names} (platforms/repl.py lists the accepted ones)")
    return f"renode rejected the platform description: Error E{code}: {text} (at {where})"


def _clock_mips(platform: Platform) -> int:
    return max(1, round(platform.clock_mhz))


class RenodeEmulator(Emulator):
    """renode running one ELF on the platform's .repl, in its own process group."""

    # The protocol client must not use our `db file PATH` (semihosting) here.
    supports_semihosting_files = False

    def __init__(self, platform: Platform, firmware: FirmwareImage, options: RunOptions = RunOptions(),
                 on_output: Callable[[bytes], None] | None = None):
        super().__init__(platform, firmware, options, on_output)
        self._proc: subprocess.Popen[bytes] | None = None
        self._dir: Path | None = None
        self._exit: int | None = None
        self._emulator_log = ""
        self._failure: str | None = None  # Renode's complaint as one line, once it has written all of it
        self.port: int | None = None
        self.markers = marker_addresses(firmware, options)
        self.exit_addr = firmware.address(EXIT_SYMBOL)

    def command(self, script: Path, binary: str | None = None) -> list[str]:
        """The Monitor on our stdin pipe and stdout: no telnet port (see the module docstring)."""
        return [binary or renode_binary(), "--disable-xwt", "--console", "--plain", str(script)]

    def start(self) -> None:
        binary = renode_binary()  # at once: a missing Renode is one line, before any work
        self.firmware.check_fits(self.platform)
        check_cpu_type_supported(self.platform, binary)
        self._dir = unique_run_dir("tinyperf-renode-")
        self.port = free_local_port()
        script = self._dir / "run.resc"
        script.write_text(make_resc(self.platform, self.firmware.path, self.port, _clock_mips(self.platform),
                                    self._dir / "counts", self.markers, self.exit_addr))
        self._log = CounterLog(self._dir / "counts")
        self._proc = spawn(self, self.command(script, binary), self._dir / "renode.log", cwd=self._dir,
                           stdin_pipe=True)
        self._attach_uart(self._connect)

    def _connect(self) -> socket.socket:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise self._renode_failure() or EmulatorError(
                    f"renode exited during start-up with status {self._proc.returncode}")
            failure = self._renode_failure()
            if failure:
                raise failure
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                sock.connect(("127.0.0.1", self.port))
                return sock
            except (ConnectionRefusedError, OSError):
                sock.close()
                time.sleep(0.05)
        last = (self._read_renode_log().strip().splitlines() or ["(empty)"])[-1].strip()
        raise EmulatorError(f"renode did not open its UART socket on 127.0.0.1:{self.port} "
                            f"within {START_TIMEOUT_S:g} s (last log line: {last})")

    def _read_renode_log(self) -> str:
        if self._dir and (self._dir / "renode.log").exists():
            self._emulator_log = (self._dir / "renode.log").read_text(errors="replace")
        return self._emulator_log

    def _renode_failure(self) -> SimError | None:
        """Renode's own complaint (a failed Monitor command, a crash), if it logged one."""
        if self._failure is None and renode_failure(self._read_renode_log(), self.platform) is not None:
            time.sleep(ERROR_SETTLE_S)
            self._failure = renode_failure(self._read_renode_log(), self.platform)
        return EmulatorError(self._failure) if self._failure else None

    def _poll_exit(self) -> int | None:
        """The firmware's exit code once the exit hook has written it."""
        if self._exit is None and self._dir is not None:
            try:
                text = (self._dir / "counts").read_text()
            except FileNotFoundError:
                return None
            for line in text.splitlines():
                fields = line.split()
                if len(fields) == 2 and fields[0] == "X":
                    self._exit = int(fields[1])
        return self._exit

    def wait(self, timeout: float) -> int:
        if self._proc is None:
            raise EmulatorError("emulator not started")
        deadline = time.monotonic() + timeout
        while self._poll_exit() is None:
            if self._proc.poll() is not None:
                raise self._renode_failure() or EmulatorError(
                    f"renode ended (status {self._proc.returncode}) before the firmware exited")
            if time.monotonic() >= deadline:
                raise FirmwareTimeout(f"firmware still running after {timeout:g} s")
            time.sleep(POLL_S)
        # The firmware has exited: let the UART drain, then end Renode (it does not quit by itself).
        if self.uart:
            self.uart.wait_closed(0.2)
        terminate(self._proc, STOP_GRACE_S)
        return self._exit

    @property
    def exit_code(self) -> int | None:
        """The code our firmware passed to bsp_exit; None until then, and for firmware without it."""
        return self._poll_exit()

    def diagnose(self) -> str:
        found = handler_fault(self.firmware, self.transcript.decode("latin-1"))
        if found:
            return found
        code = self.exit_code
        if code is not None:
            return f"firmware exited with code {code}"
        failure = self._renode_failure()
        if failure:
            return str(failure)
        if self._proc is not None and self._proc.poll() is not None and self._proc.returncode != 0:
            status = self._proc.returncode
            return f"renode was killed by signal {-status}" if status < 0 else f"renode exited with status {status}"
        return ""

    def stop(self) -> None:
        terminate(self._proc, STOP_GRACE_S)
        if self.uart is not None:
            self.uart.close()
        self._poll_exit()
        self._freeze_counters()
        if self._dir is not None:
            self._read_renode_log()
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
        released(self)
