"""Emulation speed with and without counting (run by ci/bench).

Runs the self-test firmware's loops on one platform (`loops`: ALU, MMIO and
call loops, about 9 x N instructions; `spin`: the ALU loop alone, 2 x N)
in each counting mode and prints wall time and emulated MIPS; the goal is that
per-block counting costs at most 20 % against plain QEMU.  Each mode runs
`repeat` times and keeps its fastest run, since the machine may be noisy."""
from __future__ import annotations

import argparse
import time

from pathlib import Path

from firmware_bins import prebuilt
from platforms import get_platform
from sim import RunOptions, open_emulator

MODES = {
    "plain QEMU (no plugin)": RunOptions(count=False),
    "per-block counting (default)": RunOptions(),
    "per-instruction counting": RunOptions(exact_blocks=True),
    "-icount + per-instruction": RunOptions(icount=True),
}


def timed_run(platform, elf, options: RunOptions, command: str, passes: int) -> tuple[float, int | None]:
    with open_emulator(platform, elf, options) as dut:
        dut.expect("selftest-ready", 10)
        start = time.monotonic()
        dut.write(f"{command} {passes}%exit 0%")
        dut.wait(600)
        wall = time.monotonic() - start
        return wall, dut.counters().total if options.count else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--platform", default="cortex-m4")
    parser.add_argument("--passes", type=int, default=30_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--elf", type=Path, help="self-test firmware (default: the prebuilt one in firmware_bins/)")
    args = parser.parse_args()
    platform = get_platform(args.platform)
    elf = args.elf or prebuilt(platform.image_platform, "selftest")
    if elf is None:
        parser.error(f"no prebuilt self-test firmware for {platform.name}: "
                     f"run 'tinyperf build --selftest -p {platform.name}' and pass --elf")
    for command in ("spin", "loops"):
        report(platform, elf, command, args.passes, args.repeat)


def report(platform, elf, command: str, passes: int, repeat: int) -> None:
    results = {}
    instructions = None
    for name, options in MODES.items():
        runs = [timed_run(platform, elf, options, command, passes) for _ in range(repeat)]
        results[name] = min(wall for wall, _ in runs)
        instructions = instructions or runs[0][1]
    base = results["plain QEMU (no plugin)"]
    print(f"\n{platform.name}, '{command} {passes}': {instructions:,} instructions per run, best of {repeat}")
    print(f"{'mode':32} {'wall s':>8} {'MIPS':>8} {'cost vs plain':>14}")
    for name, wall in results.items():
        print(f"{name:32} {wall:8.3f} {instructions / wall / 1e6:8.0f} {100 * (wall / base - 1):+13.1f}%")


if __name__ == "__main__":
    main()
