"""`tinyperf exec`: run any ELF to its semihosting exit, with counts."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from harness.dut import window_markers
from platforms import Platform
from sim import RunOptions, open_emulator
from sim.cycles import estimate_cycles
from sim.elf import FirmwareImage
from sim.errors import FirmwareTimeout
from sim.plugin import windows



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
            backend: str = "qemu") -> ExecResult:
    markers = window_markers(firmware)
    options = RunOptions(markers=tuple(sorted(set(markers))) if markers else (), icount=icount, profile=True)
    start = time.monotonic()
    error = None
    with open_emulator(platform, firmware, options, backend=backend, on_output=on_output) as dut:
        if input_bytes:
            dut.write(input_bytes)
        try:
            dut.wait(timeout)
        except FirmwareTimeout:
            silent = not dut.transcript
            error = (f"firmware did not exit within {timeout:g} s "
                     + ("and printed nothing on its UART: check the platform and UART base"
                        if silent else "(endless loop, or waiting for input?): raise --timeout or check it"))
    wall = time.monotonic() - start
    exit_code = dut.exit_code
    if error is None and exit_code != 0:
        error = dut.diagnose() or None
    log = dut.counters()
    counts = []
    if markers:
        counts = windows(log.markers, dut.markers[markers[0]], dut.markers[markers[1]])
    total = log.total
    estimate = estimate_cycles(firmware, platform, log.blocks, log.memory_total) if log.blocks else None
    return ExecResult(
        platform=platform.name, firmware=str(firmware.path), exit_code=exit_code, instructions=total,
        cycles=estimate.cycles if estimate else None, cpi=round(estimate.cpi, 4) if estimate else None,
        cycle_model=estimate.model if estimate else None,
        windows=counts, uart=dut.transcript.decode("latin-1"), wall_s=round(wall, 4),
        mips=round(total / wall / 1e6, 1) if total and wall > 0 else None, error=error,
    )
