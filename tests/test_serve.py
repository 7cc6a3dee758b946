"""`tinyperf serve`: the emulated DUT behind a pty, driven like the official runner drives a board."""
from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from firmware_bins import prebuilt
from harness.serve import LapMapper, Pacer, identity, rewrite_lap
from harness.target import Window
from platforms import get_platform

ROOT = Path(__file__).resolve().parents[1]
PLATFORM = "cortex-m4"

needs_qemu = pytest.mark.skipif(shutil.which("qemu-system-arm") is None,
                                reason="needs qemu-system-arm (run ci/setup)")


# -- a serve process and a runner-like client ---------------------------------
class Served:
    """`python -m harness.cli serve ...` in a subprocess; the pty path it printed."""

    def __init__(self, *args: str):
        self.args = args
        self.proc: subprocess.Popen | None = None
        self.path = ""
        self.stderr = b""

    def __enter__(self) -> "Served":
        self.proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "serve", *self.args], cwd=ROOT,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self._err = bytearray()
        self._err_thread = threading.Thread(target=self._drain, daemon=True)
        self._err_thread.start()
        out = b""
        deadline = time.monotonic() + 30
        while not out.endswith(b"\n"):
            left = deadline - time.monotonic()
            assert left > 0 and self.proc.poll() is None, f"serve printed no path: {bytes(self._err)!r}"
            if select.select([self.proc.stdout], [], [], left)[0]:
                chunk = os.read(self.proc.stdout.fileno(), 1024)
                assert chunk, f"serve ended: {bytes(self._err)!r}"
                out += chunk
        self.path = out.decode().strip()
        return self

    def _drain(self) -> None:
        for chunk in iter(lambda: self.proc.stderr.read1(4096), b""):
            self._err += chunk

    def err_text(self) -> str:
        return bytes(self._err).decode(errors="replace")

    def qemu_pid(self) -> int:
        """The qemu-system-arm process serve runs (its child), by the ELF path."""
        elf = str(prebuilt(PLATFORM, self.args[0]))
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid), "-f", elf], capture_output=True, text=True)
        pids = [int(p) for p in out.stdout.split()]
        assert len(pids) == 1, f"expected one qemu child of serve, found {pids}"
        return pids[0]

    def interrupt(self, timeout: float = 15) -> int:
        self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(timeout)
        self._err_thread.join(5)
        return code

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def runner_port(path: str):
    """Open the port as the official runner does: open, wait, close, reopen."""
    import serial

    port = serial.Serial(path, 115200, timeout=5)
    time.sleep(0.3)
    port.close()
    return serial.Serial(path, 115200, timeout=5)


def command(port, text: str, line_timeout: float = 5.0) -> list[str]:
    """Send `text%`; the reply lines up to the one holding m-ready (split on \\n,
    \\r and \\0 dropped, a per-line timeout), as the official runner reads them."""
    port.timeout = line_timeout
    port.write((text + "%").encode())
    lines: list[str] = []
    while True:
        raw = port.read_until(b"\n")
        assert raw.endswith(b"\n"), f"no reply line within {line_timeout} s to {text!r}; so far {lines}"
        lines.append(raw.decode("latin-1").replace("\r", "").replace("\0", "").rstrip("\n"))
        if "m-ready" in lines[-1]:
            return lines


def read_reply(port, line_timeout: float) -> list[str]:
    """Lines already on their way, up to the next m-ready."""
    port.timeout = line_timeout
    lines: list[str] = []
    while not lines or "m-ready" not in lines[-1]:
        raw = port.read_until(b"\n")
        assert raw.endswith(b"\n"), f"no line within {line_timeout} s; so far {lines}"
        lines.append(raw.decode("latin-1").replace("\r", "").replace("\0", "").rstrip("\n"))
    return lines


def load(port, data: bytes) -> None:
    """`db load N`, then `db <hex>` chunks of 31 bytes, each waiting for m-ready."""
    assert command(port, f"db load {len(data)}")[0] == f"m-[Expecting {len(data)} bytes]"
    replies = [command(port, f"db {data[i:i + 31].hex()}") for i in range(0, len(data), 31)]
    assert replies[-1] == ["m-load-done", "m-ready"]


def laps(reply: list[str]) -> list[int]:
    return [int(line.removeprefix("m-lap-us-")) for line in reply if line.startswith("m-lap-us-")]


KWS_INPUT = bytes((i * 37 + 11) % 256 for i in range(490))


def direct_window(bench: str, data: bytes, iterations: int, warmups: int) -> int:
    """Instructions of the measured window, from a direct harness.dut run."""
    from harness.dut import open_dut

    with open_dut(PLATFORM, prebuilt(PLATFORM, bench)) as dut:
        dut.load(data)
        return dut.infer(iterations, warmups).instructions


def run_perf_cycles(bench: str) -> float:
    """Cycles per inference as `tinyperf run --mode perf` reports them (first default input)."""
    from harness.benchmarks import get_benchmark
    from harness.runner import measure_perf
    from platforms import get_platform
    from sim.elf import FirmwareImage

    perf = measure_perf(get_benchmark(bench), get_platform(PLATFORM), FirmwareImage(prebuilt(PLATFORM, bench)))
    return perf.cycles_per_inference


# -- end to end ---------------------------------------------------------------
@needs_qemu
def test_official_runner_sequence_matches_direct_throughput(tmp_path):
    from harness.datasets import default_inputs

    clock_mhz = get_platform(PLATFORM).clock_mhz
    first_input = default_inputs("kws", 1)[0].data  # what `tinyperf run` perf mode and serve's calibration use
    with ThreadPoolExecutor(1) as pool:
        direct = pool.submit(run_perf_cycles, "kws")
        with Served("kws", "--platform", PLATFORM, "--no-pace", "--link", str(tmp_path / "port")) as served:
            assert os.readlink(tmp_path / "port") == served.path
            port = runner_port(str(tmp_path / "port"))
            replies = [command(port, "name"), command(port, "profile")]
            assert replies[0][0].startswith("m-name-dut-")
            assert "m-model-[kws01]" in replies[1]
            load(port, first_input)
            infer = command(port, "infer 70 10", line_timeout=30)
            replies.append(infer)
            port.close()
        cycles_per_inference = direct.result()
    for reply in replies:
        assert reply[-1] == "m-ready" and not any(line.startswith("e-") for line in reply), reply
    assert [line for line in infer if not line.startswith(("m-lap-us-", "m-results-"))] == [
        "m-warmup-start-10", "m-warmup-done", "m-infer-start-70", "m-infer-done", "m-ready"]
    t0, t1 = laps(infer)
    exact_us = 70 * cycles_per_inference / clock_mhz
    assert abs((t1 - t0) - exact_us) <= 1, (t0, t1, cycles_per_inference)
    runner_throughput = 70 / ((t1 - t0) / 1e6)
    tinyperf_throughput = clock_mhz * 1e6 / cycles_per_inference
    assert runner_throughput == pytest.approx(tinyperf_throughput, rel=1 / exact_us + 1e-12)
    assert "Traceback" not in served.err_text()


@needs_qemu
def test_pace_holds_infer_reply_for_its_emulated_time():
    with Served("kws", "--platform", PLATFORM) as served:  # pacing is on by default
        port = runner_port(served.path)
        load(port, KWS_INPUT)
        start = time.monotonic()
        reply = command(port, "infer 1 0", line_timeout=30)
        host_s = time.monotonic() - start
        # a second one: pacing is per reply, not lost to idle time in between
        time.sleep(1.0)
        start = time.monotonic()
        reply2 = command(port, "infer 1 0", line_timeout=30)
        host2_s = time.monotonic() - start
        port.close()
    for r, seconds in ((reply, host_s), (reply2, host2_s)):
        t0, t1 = laps(r)
        emulated_s = (t1 - t0) / 1e6
        assert emulated_s > 0.1  # a kws inference is ~0.3 s at 120 MHz
        assert seconds >= emulated_s, (seconds, emulated_s)
        assert seconds < emulated_s + 10


@needs_qemu
def test_killed_emulator_is_restarted_and_commands_still_answered():
    data = bytes(2560)  # ad: one float32 window of zeros
    with Served("ad", "--platform", PLATFORM, "--no-pace") as served:
        port = runner_port(served.path)
        first = served.qemu_pid()
        # killed while idle: the next command is answered by the restarted board
        os.kill(first, signal.SIGKILL)
        assert command(port, "name")[-1] == "m-ready"
        second = served.qemu_pid()
        assert second != first
        # killed during a long infer: that reply ends with an error and m-ready
        load(port, data)
        port.write(b"infer 1500 0%")
        port.timeout = 30
        while b"m-infer-start" not in port.read_until(b"\n"):
            pass
        os.kill(second, signal.SIGKILL)
        rest = read_reply(port, 15)
        assert rest[-2].startswith("e-[tinyperf serve: the emulator ended") and rest[-1] == "m-ready", rest
        reply = command(port, "infer 1 0")  # the restarted board's input buffer is empty
        assert reply[-1] == "m-ready" and reply[0].startswith("e-[Input db has 0 bytes"), reply
        port.close()
        code = served.interrupt()
    assert code in (0, 130)
    err = served.err_text()
    assert err.count("emulator restarted") == 2, err
    assert "Traceback" not in err


@needs_qemu
def test_ctrl_c_stops_the_emulator_and_removes_the_link(tmp_path):
    link = tmp_path / "port"
    with Served("kws", "--platform", PLATFORM, "--link", str(link)) as served:
        qemu = served.qemu_pid()
        port = runner_port(str(link))
        load(port, KWS_INPUT)
        port.write(b"infer 10 0%")  # ~3 s of board time: Ctrl-C lands while the reply is held
        time.sleep(1.0)
        start = time.monotonic()
        code = served.interrupt()
        assert time.monotonic() - start < 8
        port.close()
    assert code in (0, 130)
    err = served.err_text()
    assert "Traceback" not in err and "error" not in err, err
    assert not os.path.lexists(link)
    for _ in range(50):
        if not Path(f"/proc/{qemu}").exists():
            break
        time.sleep(0.1)
    assert not Path(f"/proc/{qemu}").exists(), "qemu outlived serve"


@pytest.mark.parametrize("args, message", [
    (["kwz"], "unknown benchmark 'kwz': did you mean 'kws'?"),
    (["kws", "--platform", "cortex-m5"], "unknown platform 'cortex-m5'"),
    (["/nonexistent/fw.elf"], "no such ELF file"),
])
def test_usage_errors_are_one_line(args, message):
    result = subprocess.run([sys.executable, "-m", "harness.cli", "serve", *args], cwd=ROOT,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tinyperf: error: ") and message in lines[0], result.stderr


# -- the mapping and pacing rules, without an emulator -------------------------
class FakeLog:
    def __init__(self):
        self.markers: list[tuple[int, int]] = []


class FakeEmulator:
    exit_code = None

    def __init__(self, markers: dict[str, int]):
        self.markers = markers
        self.log = FakeLog()

    def counters(self):
        return self.log


def test_window_firmware_maps_t0_to_begin_t1_to_end_and_others_to_latest():
    emu = FakeEmulator({"tp_mark_begin": 0x100, "tp_mark_end": 0x200})
    mapper = LapMapper(emu, Window(frozenset({0x100}), frozenset({0x200}), (), "test"), marker_wait=0.05)
    assert mapper.kind == "window"
    assert mapper.count("m-timestamp-mode-performance") is None
    assert mapper.count("m-lap-us-123") == 0  # boot: no records yet
    assert mapper.count("m-ready") is None
    mapper.count("m-infer-start-2")
    emu.log.markers += [(0x100, 1000), (0x200, 5000)]  # the emulator may run ahead of the reader
    assert mapper.count("m-lap-us-1") == 1000
    assert mapper.count("m-lap-us-2") == 5000
    assert mapper.count("m-infer-done") is None
    assert mapper.count("m-lap-us-3") == 5000  # timestamp%: the latest record
    mapper.count("m-infer-start-1")
    emu.log.markers += [(0x100, 9000)]
    assert mapper.count("m-lap-us-4") == 9000
    emu.log.markers += [(0x200, 9600)]
    assert mapper.count("m-lap-us-5") == 9600


def test_timestamp_firmware_maps_each_lap_to_its_own_record():
    emu = FakeEmulator({"th_timestamp": 0x300})
    mapper = LapMapper(emu, Window(frozenset({0x300}), frozenset({0x300}), (), "test", stamp=0x300), marker_wait=0.05)
    assert mapper.kind == "timestamp"
    emu.log.markers += [(0x300, 10), (0x300, 500), (0x300, 900)]
    assert [mapper.count(f"m-lap-us-{i}") for i in range(3)] == [10, 500, 900]
    assert mapper.count("m-lap-us-9") == 900  # no record of its own: the latest


def test_timestamp_t0_maps_to_the_return_of_th_timestamp():
    """After m-infer-start, T0 is the return of that th_timestamp call (0x400), not its entry,
    so T1 - T0 is the window without the printing inside th_timestamp."""
    emu = FakeEmulator({})
    window = Window(frozenset({0x400, 0x410}), frozenset({0x300}), (), "test", stamp=0x300)
    mapper = LapMapper(emu, window, marker_wait=0.05)
    # boot: entry, return at another call site; then infer: entry, return, entry, return
    emu.log.markers += [(0x300, 10), (0x410, 60), (0x300, 1000), (0x400, 1070), (0x300, 9070), (0x400, 9140)]
    assert mapper.count("m-lap-us-1") == 10
    mapper.count("m-infer-start-1")
    t0 = mapper.count("m-lap-us-2")
    t1 = mapper.count("m-lap-us-3")
    assert (t0, t1) == (1070, 9070)


def test_no_markers_passes_laps_through():
    assert LapMapper(FakeEmulator({}), None, marker_wait=0.05).count("m-lap-us-5") is None


def test_rewrite_uses_the_platform_clock_and_cycle_model():
    assert rewrite_lap("m-lap-us-77", 1_200_000, 120.0, identity) == "m-lap-us-10000"
    assert rewrite_lap("m-lap-us-77", 1_200_059, 120.0, identity) == "m-lap-us-10000"
    assert rewrite_lap("m-lap-us-77", 1_200_061, 120.0, identity) == "m-lap-us-10001"
    assert rewrite_lap("m-lap-us-77", 1_000, 100.0, lambda n: 3 * n) == "m-lap-us-30"
    big = 2**40
    assert rewrite_lap("m-lap-us-0", big, 1.0, identity) == f"m-lap-us-{big}"  # never wrapped


def test_pacer_holds_within_a_reply_only():
    pacer = Pacer(100.0, identity, enabled=True)
    assert pacer.hold_until(None, 5.0) == 5.0
    assert pacer.hold_until(1_000_000, 5.0) == 5.0  # the first count anchors the reply
    assert pacer.hold_until(51_000_000, 5.1) == pytest.approx(5.5)  # 50 M instructions = 0.5 s at 100 MHz
    pacer.end_reply()
    assert pacer.hold_until(90_000_000, 7.0) == 7.0  # a new reply: no debt from idle time
    assert Pacer(100.0, identity, enabled=False).hold_until(10**12, 1.0) == 1.0
