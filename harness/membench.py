"""Cost of the memory model (run by `ci/bench --memory`).

For each benchmark, the perf measurement (`infer N W` as `tinyperf run --mode
perf` does it, with the cycle estimate) on a board platform against the same
ELF on its generic core platform (plain counting): the board's figure is the
official window counted plainly plus a short memory-aware window
(harness.runner.MEMORY_ITERATIONS inferences); the goal is at most 3x.  It
also times the official window counted memory-aware throughout (every load,
store and block through the plugin's memory simulator), the cost the short
window avoids.  Each figure is the best of `repeat` runs (the machine may be
noisy)."""
from __future__ import annotations

import argparse
import time

from firmware_bins import prebuilt
from harness.benchmarks import get_benchmark
from harness.datasets import default_inputs
from harness.dut import open_dut
from harness.runner import measure_perf
from platforms import catalog, get_platform
from sim.elf import FirmwareImage


def best(repeat: int, work) -> float:
    times = []
    for _ in range(repeat):
        start = time.monotonic()
        work()
        times.append(time.monotonic() - start)
    return min(times)


def full_window(board, firmware: FirmwareImage, bench, memory: bool) -> None:
    with open_dut(board, firmware, profile=True, memory=memory) as dut:
        dut.load(default_inputs(bench, 1)[0].data)
        dut.infer(bench.perf_iterations, bench.perf_warmups)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("benches", nargs="*", default=["ad", "kws"])
    parser.add_argument("--board", default="nucleo-l4r5zi")
    parser.add_argument("--kernels", default="opt", choices=["ref", "opt"])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    board = get_platform(args.board)
    if not board.prebuilt_from:
        parser.error(f"{board.name} is not a board platform (boards: "
                     f"{', '.join(p.name for p in catalog().values() if p.prebuilt_from)})")
    core = get_platform(board.prebuilt_from)
    print(f"memory model cost: {board.name} against {core.name}, {args.kernels} kernels, best of {args.repeat}")
    print(f"{'bench':6} {'core perf s':>12} {'board perf s':>13} {'ratio':>7} {'window plain s':>15} "
          f"{'window memory s':>16} {'ratio':>7}")
    for name in args.benches:
        bench = get_benchmark(name)
        firmware = FirmwareImage(prebuilt(core.name, bench.name, args.kernels))
        core_s = best(args.repeat, lambda: measure_perf(bench, core, firmware))
        board_s = best(args.repeat, lambda: measure_perf(bench, board, firmware))
        plain_s = best(args.repeat, lambda: full_window(board, firmware, bench, memory=False))
        memory_s = best(args.repeat, lambda: full_window(board, firmware, bench, memory=True))
        print(f"{bench.name:6} {core_s:12.2f} {board_s:13.2f} {board_s / core_s:6.2f}x {plain_s:15.2f} "
              f"{memory_s:16.2f} {memory_s / plain_s:6.2f}x")


if __name__ == "__main__":
    main()
