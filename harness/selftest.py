"""`tinyperf selftest`: UART both ways and paper-exact counts on every platform.

The self-test firmware (firmware/selftest) runs three loops whose instruction
counts are known on paper (see loops.S); each must be counted exactly, with
per-block counting (the default) and with -icount (per-instruction counting).
"""
from __future__ import annotations

import secrets
import time
from dataclasses import asdict, dataclass

from firmware_bins import prebuilt
from harness.build import build_image
from platforms import Platform
from sim import RunOptions, open_emulator
from sim.elf import FirmwareImage
from tinyperf_errors import TinyperfError
from sim.plugin import windows

MARKERS = ("st_mark_open", "st_mark_close")
LOOP_PASSES = 1000
TIMEOUT_S = 20.0


def paper_counts(n: int) -> list[int]:
    """Instruction counts of the alu, mmio and call windows (loops.S)."""
    return [2 * n + 2, 3 * n + 2, 4 * n + 2]


@dataclass
class SelftestResult:
    platform: str
    machine: str
    firmware: str
    uart_ok: bool = True  # and-ed over every session
    counts: list[int] | None = None
    counts_icount: list[int] | None = None
    expected: list[int] | None = None
    exit_ok: bool = True
    instructions: int | None = None
    wall_s: float = 0.0
    error: str | None = None

    @property
    def passed(self) -> bool:
        return (self.error is None and self.uart_ok and self.exit_ok
                and self.counts == self.expected == self.counts_icount)

    def to_dict(self) -> dict:
        return asdict(self) | {"passed": self.passed}


def selftest_firmware(platform: Platform, rebuild: bool = False) -> FirmwareImage:
    path = None if rebuild or not platform.in_catalog else prebuilt(platform.image_platform, "selftest")
    return FirmwareImage(path or build_image(platform, app="selftest"))


def _session(platform: Platform, firmware: FirmwareImage, icount: bool, result: SelftestResult) -> list[int]:
    token = secrets.token_hex(8)
    with open_emulator(platform, firmware, RunOptions(markers=MARKERS, icount=icount)) as dut:
        dut.expect(rf"^selftest-ready {platform.name}$", TIMEOUT_S)
        dut.write(f"echo {token}%")
        result.uart_ok &= dut.read_line(TIMEOUT_S) == f"echo-[{token}]"
        dut.write(f"loops {LOOP_PASSES}%")
        dut.expect(rf"^loops-done {LOOP_PASSES}$", TIMEOUT_S)
        dut.write("exit 0%")
        result.exit_ok &= dut.wait(TIMEOUT_S) == 0
        log = dut.counters()
        result.instructions = log.total
        return windows(log.markers, dut.markers[MARKERS[0]], dut.markers[MARKERS[1]])


def run_selftest(platform: Platform, rebuild: bool = False) -> SelftestResult:
    result = SelftestResult(platform.name, platform.machine, "", expected=paper_counts(LOOP_PASSES))
    start = time.monotonic()
    try:
        firmware = selftest_firmware(platform, rebuild)
        result.firmware = str(firmware.path)
        result.counts = _session(platform, firmware, icount=False, result=result)
        result.counts_icount = _session(platform, firmware, icount=True, result=result)
    except TinyperfError as err:
        result.error = str(err)
    result.wall_s = round(time.monotonic() - start, 3)
    return result
