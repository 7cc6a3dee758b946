"""Exact instruction counts: hand-written loops with paper counts, on every platform."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import ALL_PLATFORMS, SEMIHOST_EXIT, needs_toolchain
from harness.selftest import MARKERS, paper_counts
from sim import RunOptions, open_emulator
from sim.plugin import windows

pytestmark = needs_toolchain


def run_loops(platform: str, elf, n: int, **options) -> tuple[list[int], int]:
    with open_emulator(platform, elf, RunOptions(markers=MARKERS, **options)) as dut:
        dut.expect(f"^selftest-ready {platform}$", 10)
        dut.write(f"loops {n}%exit 0%")
        dut.expect(f"^loops-done {n}$", 20)
        assert dut.wait(20) == 0
        log = dut.counters()
        return windows(log.markers, dut.markers[MARKERS[0]], dut.markers[MARKERS[1]]), log.total


@pytest.mark.parametrize("platform", ALL_PLATFORMS)
@pytest.mark.parametrize("mode", ["blocks", "icount", "per-insn"])
def test_paper_counts_on_every_platform(platform, mode, selftest_elf):
    options = {"blocks": {}, "icount": {"icount": True}, "per-insn": {"exact_blocks": True}}[mode]
    for n in (1, 7, 12345):
        counts, _ = run_loops(platform, selftest_elf(platform), n, **options)
        assert counts == paper_counts(n)


def test_counts_repeat_exactly_ten_times(selftest_elf):
    elf = selftest_elf("cortex-m4")
    results = {tuple(run_loops("cortex-m4", elf, 5000)[0]) for _ in range(10)}
    assert results == {tuple(paper_counts(5000))}


def test_counts_repeat_with_four_parallel_instances(selftest_elf):
    elf = selftest_elf("cortex-m4")
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda n: run_loops("cortex-m4", elf, n)[0], [3000, 3000, 4000, 4000]))
    assert results == [paper_counts(3000)] * 2 + [paper_counts(4000)] * 2


def test_total_counts_a_straight_line_program(asm_elf):
    """No input polling: the whole run is on paper.  reset runs 3 movs, then
    the 3 instructions of the semihosting exit (ldr, movs, bkpt)."""
    elf = asm_elf("    movs r2, #1\n    movs r2, #2\n    movs r2, #3\n" + SEMIHOST_EXIT.format(code=0))
    for options in (RunOptions(), RunOptions(icount=True)):
        with open_emulator("cortex-m4", elf, options) as dut:
            assert dut.wait(10) == 0
            assert dut.counters().total == 6


def test_third_party_firmware_measured_between_th_timestamp_calls(asm_elf):
    """An EEMBC port without our markers: a window runs from the return of one
    th_timestamp call to the entry of the next, so th_timestamp's own work is
    left out: 1000 x {subs, bne} + bl = 2001.  The return site is also the
    loop's branch target: its hits inside the open window do not restart it."""
    from harness.execute import execute
    from platforms import get_platform
    from sim.elf import FirmwareImage

    elf = asm_elf("""
    ldr r0, =1000
    bl th_timestamp
1:  subs r0, #1
    bne 1b
    bl th_timestamp
""" + SEMIHOST_EXIT.format(code=0) + """
    .global th_timestamp
    .thumb_func
th_timestamp:
    bx lr
""", name="eembc")
    result = execute(get_platform("cortex-m4"), FirmwareImage(elf), timeout=10)
    assert result.exit_code == 0 and result.windows == [2001]
