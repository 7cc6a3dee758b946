"""Board platforms: they run their core's prebuilt ELFs unchanged, every
memory-timing number cites its source, and assembly microbenchmarks on
access patterns whose misses are known on paper, run in QEMU on each board,
give the stalls the datasheet figures predict (within 2 %)."""
from __future__ import annotations

import re

import pytest

from conftest import needs_toolchain
from platforms import catalog, get_platform
from sim import RunOptions, open_emulator
from sim.memory import MemoryCounts, stall_cycles

BOARDS = [p.name for p in catalog().values() if p.prebuilt_from]


@pytest.mark.parametrize("name", BOARDS)
def test_a_board_has_its_core_platforms_link_map(name):
    board = get_platform(name)
    core = get_platform(board.prebuilt_from)
    same = ("core", "cflags", "machine", "flash", "ram", "uart", "timer", "repl_file")
    assert {k: getattr(board, k) for k in same} == {k: getattr(core, k) for k in same}
    assert board.memory_timing.modelled and not core.memory_timing.modelled


SOURCE = re.compile(r"#.*\b(RM\d{4}|DS\d{5}|AN\d{4}|PS\b|TRM|MDK|HAL|datasheet)", re.I)


@pytest.mark.parametrize("name", BOARDS)
def test_every_board_number_cites_its_source(name):
    text = get_platform(name).source.read_text()
    in_timing = False
    for line in text.splitlines():
        if line.startswith("["):
            in_timing = line.startswith("[memory_timing")
        is_value = re.match(r"\s*(\w+)\s*=\s*(0x[0-9a-fA-F]+|\d+|\[|true|false)", line)
        if is_value and (in_timing or is_value.group(1) == "clock_mhz") and is_value.group(1) not in ("base", "regions"):
            assert SOURCE.search(line), f"{name}: no source next to: {line.strip()}"


# -- microbenchmarks in QEMU ---------------------------------------------------------------
def _program(body: str, data_bytes: int = 0) -> str:
    """The code after `reset:` (conftest's asm_elf): body, a semihosting exit
    without literal loads (no flash data reads of its own), then the data."""
    data = f"    .balign 1024\narray:\n    .space {data_bytes}, 1\n" if data_bytes else ""
    return f"""
{body}
done:
    movw r1, #:lower16:exit_block
    movt r1, #:upper16:exit_block
    movs r0, #0x20
    bkpt 0xab
    .balign 4
exit_block: .word 0x20026, 0
{data}"""


def data_sweep(passes: int, size: int, stride: int = 4) -> str:
    """`passes` sweeps over `size` bytes of flash data, one word load every `stride` bytes."""
    load = f"ldr r4, [r1], #{stride}" if stride else "ldr r4, [r1]"
    count = size // stride if stride else size // 4
    return _program(f"""
    movw r2, #{passes}
    cmp r2, #0
    beq done
outer:
    movw r1, #:lower16:array
    movt r1, #:upper16:array
    movw r3, #{count}
inner:
    {load}
    subs r3, #1
    bne inner
    subs r2, #1
    bne outer
    b done
""", max(size, 1024))


def code_sweep(passes: int, size: int = 32768) -> str:
    """`passes` runs through `size` bytes of straight-line code (16-bit NOPs)."""
    return _program(f"""
    movw r2, #{passes}
    cmp r2, #0
    beq done
    .balign 64
sled:
    .rept {size // 2}
    nop
    .endr
    subs r2, #1
    bne.w sled
""")


def run_counts(asm_elf, board, source: str, tag: str) -> MemoryCounts:
    cpu = next(f for f in board.cflags if f.startswith("-mcpu=")).split("=")[1]
    elf = asm_elf(source, base=board.flash.base, cpu=cpu, sp=board.ram.base + 0x10000, name=tag)
    with open_emulator(board, elf, RunOptions()) as dut:
        assert dut.wait(60) == 0
        record = dut.counters().memory_total
    assert record is not None, "the memory-aware run wrote no counters"
    return MemoryCounts.from_record(board.memory_timing, record)


def _flash(board):
    return next(r for r in board.memory_timing.regions if r.name == "flash")


def _data_line(board) -> tuple[int, int]:
    cache = board.memory_timing.cache_for("flash", "data")
    return (cache.fill_bytes, cache.size) if cache else (_flash(board).access_bytes, 0)


def _close(measured: float, paper: float) -> bool:
    return abs(measured - paper) <= 0.02 * abs(paper) if paper else measured == 0


@needs_toolchain
@pytest.mark.parametrize("name", BOARDS)
def test_data_access_patterns_stall_as_on_paper(asm_elf, name):
    board = get_platform(name)
    flash = _flash(board)
    line, cache_size = _data_line(board)
    big = 2 * max(cache_size, 16384)  # larger than any cache: a sweep misses every line
    row = cache_size // 2 or line  # half the cache: fits
    cases = {
        # name: (program with more passes, with fewer, paper fills for the difference)
        "streaming": (data_sweep(1, big), data_sweep(0, big), big // line),
        "thrashing": (data_sweep(6, big), data_sweep(1, big), 5 * big // line),
        "re-read within a line": (data_sweep(3, 4000, 0), data_sweep(1, 4000, 0), 0),
        "row that fits, first pass": (data_sweep(1, row), data_sweep(0, row), row // line),
        "row that fits, later passes": (data_sweep(20, row), data_sweep(2, row), 0),
    }
    failures = []
    for case, (more, fewer, paper_fills) in cases.items():
        hi = run_counts(asm_elf, board, more, "hi")
        lo = run_counts(asm_elf, board, fewer, "lo")
        delta = hi.minus(lo)
        row_counts = delta.regions["flash"]
        fills = row_counts["data_fills"] + row_counts["data_misses"]
        stalls = stall_cycles(board.memory_timing, delta)
        data_stall = stalls.get("flash_data", 0) + stalls.get("flash_data_fill", 0)
        # on paper every flash read a fill or miss makes costs the wait states once: a fill of
        # `line` bytes is line / access_bytes reads (one 64-bit read into the ART's sectored
        # 4 x 64-bit lines, two 128-bit flash words into the M7's 32-byte lines)
        paper_stall = paper_fills * (line // flash.access_bytes) * flash.data_wait_states
        if not (_close(fills, paper_fills) and _close(data_stall, paper_stall)):
            failures.append(f"{case}: {fills} misses, {data_stall} stall cycles; paper {paper_fills}, {paper_stall}")
    assert not failures, failures


@needs_toolchain
@pytest.mark.parametrize("name", BOARDS)
def test_straight_line_code_fetch_stalls_as_on_paper(asm_elf, name):
    board = get_platform(name)
    flash = _flash(board)
    cache = board.memory_timing.cache_for("flash", "fetch")
    unit = cache.fill_bytes if cache else flash.access_bytes
    size = 32768  # larger than every I-cache: each pass refetches every line
    delta = run_counts(asm_elf, board, code_sweep(9), "hi").minus(run_counts(asm_elf, board, code_sweep(1), "lo"))
    row = delta.regions["flash"]
    units = size // unit * 8
    # with prefetch only the branch back to the start of the sled misses; without, every unit
    paper_misses = 8 if flash.prefetch else units
    misses = row["fetch_fills"] + row["fetch_misses"]
    assert _close(row["fetch_units"], units), (row, units)
    assert _close(misses, paper_misses), (row, paper_misses)
    stalls = stall_cycles(board.memory_timing, delta)
    fetch_stall = stalls.get("flash_fetch", 0) + stalls.get("flash_fetch_fill", 0)
    # a fetch miss waits for its first read; without prefetch for every read of the line
    reads = 1 if flash.prefetch else unit // flash.access_bytes
    paper_stall = paper_misses * reads * flash.fetch_wait_states
    assert _close(fetch_stall, paper_stall), (stalls, paper_misses)


# -- the benchmarks on the boards ------------------------------------------------------------
def _ad(board):
    from firmware_bins import prebuilt
    from harness.benchmarks import get_benchmark
    from sim.elf import FirmwareImage

    return get_benchmark("ad"), FirmwareImage(prebuilt(board.image_platform, "ad", "opt"))


def test_a_short_memory_window_gives_the_per_inference_counts_of_a_longer_one():
    from harness.datasets import default_inputs
    from harness.runner import measure_memory

    board = get_platform("nucleo-l4r5zi")
    bench, firmware = _ad(board)
    sample = default_inputs(bench, 1)[0]
    two = measure_memory(board, firmware, sample, iterations=2)
    six = measure_memory(board, firmware, sample, iterations=6)
    assert two.to_dict()["regions"] == six.to_dict()["regions"]  # reads and writes: exact, every inference
    a, b = (sum(stall_cycles(board.memory_timing, m).values()) for m in (two, six))
    assert a > 0 and abs(a - b) <= 1e-3 * b


@pytest.mark.parametrize("name", BOARDS)
def test_ad_on_a_board_is_its_cores_compute_plus_memory_stalls(name):
    from harness.runner import measure_perf

    board = get_platform(name)
    bench, firmware = _ad(board)
    on_board = measure_perf(bench, board, firmware)
    on_core = measure_perf(bench, get_platform(board.prebuilt_from), firmware)
    assert on_board.instructions_per_inference == on_core.instructions_per_inference
    assert on_board.compute_cycles_per_inference == pytest.approx(on_core.cycles_per_inference, abs=0.01)
    stalls = sum(on_board.stall_cycles_per_inference.values())
    assert on_board.cycles_per_inference == pytest.approx(on_board.compute_cycles_per_inference + stalls, abs=0.01)
    assert on_board.latency_ms == pytest.approx(on_board.cycles_per_inference / (board.clock_mhz * 1e3))
    flash = on_board.memory_per_inference["regions"]["flash"]
    assert flash["reads"] > 0  # weights are read from flash
    if any(r.data_wait_states for r in board.memory_timing.regions):
        assert stalls > 0
    else:
        assert stalls == 0


def test_a_board_profile_splits_each_layer_into_compute_and_stalls():
    from harness.profile import run_profile

    board = get_platform("nucleo-l4r5zi")
    bench, firmware = _ad(board)
    profile = run_profile(board, firmware, bench, output_samples=0)
    total_stalls = sum(profile.stall_cycles.values())
    per_layer = sum(row["stall_cycles"] for row in profile.layers) + profile.outside_layers["stall_cycles"]
    assert total_stalls > 0 and per_layer == pytest.approx(total_stalls, rel=1e-3)
    assert profile.cycles == pytest.approx(profile.compute_cycles + total_stalls, abs=1)
    assert profile.memory["regions"]["flash"]["reads"] > 0
    assert profile.cycle_model.endswith("+ memory of nucleo-l4r5zi")
    fc = [row for row in profile.layers if row["op"] == "FULLY_CONNECTED"]
    assert fc and all(row["stall_cycles"] > 0 for row in fc)  # their weights stream from flash
