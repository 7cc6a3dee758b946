"""`tinyperf exec`: run any ELF to its semihosting exit, with counts."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from harness.target import Window, find_window
from platforms import Platform
from sim import Emulator, RunOptions, open_emulator
from sim.cycles import estimate_cycles
from sim.elf import FirmwareImage
from sim.errors import FirmwareTimeout
from sim.plugin import windows

IDLE_QUIET_S = 0.5  # no UART output this long after the last expected m-ready: the firmware is idle
IDLE_POLL_S = 0.05
READY = b"m-ready"


@dataclass
class ExecResult:
    platform: str
    firmware: str
    exit_code: int | None
    instructions: int | None
    cycles: int | None = None  # estimated by the core's cost model
    cpi: float | None = None
    cycle_model: str | None = None
    windows: list[int] = field(default_factory=list)
    uart: str = ""
    wall_s: float = 0.0
    mips: float | None = None
    error: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def execute(platform: Platform, firmware: FirmwareImage, input_bytes: bytes = b"", timeout: float = 60.0,
            icount: bool = False, on_output: Callable[[bytes], None] | None = None,
            backend: str = "qemu", until_idle: bool = False, window: Window | None = None) -> ExecResult:
    """Run the firmware with input_bytes on its UART until it exits, or (until_idle)
    until it has answered every command of the input with m-ready and gone quiet."""
    window = window or find_window(firmware)
    options = window.run_options(icount=icount, profile=True) if window else RunOptions(icount=icount, profile=True)
    start = time.monotonic()
    error = None
    idle = False
    with open_emulator(platform, firmware, options, backend=backend, on_output=on_output) as dut:
        if input_bytes:
            dut.write(input_bytes)
        try:
            if until_idle:
                idle = _wait_idle(dut, input_bytes.count(b"%"), timeout)
            else:
                dut.wait(timeout)
        except FirmwareTimeout:
            if not dut.transcript:
                why = "and printed nothing on its UART: check the platform and UART base"
            elif READY in dut.transcript and not until_idle:
                why = "(MLPerf Tiny firmware waits for commands): pass --until-idle to end once it has answered them"
            else:
                why = "(endless loop, or waiting for input?): raise --timeout or check it"
            error = f"firmware did not exit within {timeout:g} s {why}"
    wall = time.monotonic() - start
    exit_code = 0 if idle else dut.exit_code
    if error is None and exit_code != 0:
        error = dut.diagnose() or None
    log = dut.counters()
    counts = windows(log.markers, window.begin, window.end) if window else []
    total = log.total
    estimate = estimate_cycles(firmware, platform, log.blocks, log.memory_total) if log.blocks else None
    return ExecResult(
        platform=platform.name, firmware=str(firmware.path), exit_code=exit_code, instructions=total,
        cycles=estimate.cycles if estimate else None, cpi=round(estimate.cpi, 4) if estimate else None,
        cycle_model=estimate.model if estimate else None,
        windows=counts, uart=dut.transcript.decode("latin-1"), wall_s=round(wall, 4),
        mips=round(total / wall / 1e6, 1) if total and wall > 0 else None, error=error,
    )


def _wait_idle(dut: Emulator, commands: int, timeout: float) -> bool:
    """True once the UART shows an m-ready line for every `%`-terminated
    command of the input (and the boot banner's), ends with one, and stays quiet IDLE_QUIET_S; False when the
    firmware exits first.  FirmwareTimeout after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    seen, quiet_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        if dut.exit_code is not None:
            dut.wait(timeout)
            return False
        text = dut.transcript
        if len(text) != seen:
            seen, quiet_since = len(text), time.monotonic()
        banner = 1 if b"m-init-done" in text else 0  # the EEMBC boot banner ends with its own m-ready
        answered = text.count(READY) >= commands + banner and text.rstrip(b"\r\n\0").endswith(READY)
        if answered and time.monotonic() - quiet_since >= IDLE_QUIET_S:
            return True
        time.sleep(IDLE_POLL_S)
    raise FirmwareTimeout(f"firmware still running after {timeout:g} s")
