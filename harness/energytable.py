"""Modeled energy per inference on every platform with a power model (run by ci/bench --energy).

For each platform that has a [power] table, each kernel set and each benchmark: the official
perf window on the prebuilt firmware (harness.runner.measure_perf), its modeled cycles, and
the power model's energy for them.  Prints a markdown table (the README's) and writes
energy-by-board.png."""
from __future__ import annotations

import argparse
from pathlib import Path

from harness.report import atomic_write, energy_bars_plot
from harness.run_cmd import firmware_for, resolve_benchmarks
from harness.runner import measure_perf, modeled_energy
from platforms import catalog


def measure(platforms: list[str] | None, kernels: tuple[str, ...], benches: tuple[str, ...],
            supply_v: float | None = None) -> list[dict]:
    rows = []
    boards = [p for p in catalog().values() if p.power and (not platforms or p.name in platforms)]
    for platform in boards:
        for kernel_set in kernels:
            for bench in resolve_benchmarks(benches):
                perf = measure_perf(bench, platform, firmware_for(bench, platform, None, kernel_set))
                energy = modeled_energy(platform, perf.cycles_per_inference, supply_v)
                rows.append({"benchmark": bench.name, "platform": platform.name, "kernels": kernel_set,
                             "latency_ms": perf.latency_ms, **energy})
                print(f"{platform.name} {kernel_set} {bench.name}: {perf.latency_ms:,.3f} ms, "
                      f"{energy['energy_uj_per_inference']:,.1f} uJ", flush=True)
    return rows


def markdown(rows: list[dict]) -> str:
    lines = ["| platform (modeled part) | kernels | supply V | power mW | " + " | ".join(
                 f"{b} uJ/inf" for b in dict.fromkeys(r["benchmark"] for r in rows)) + " |"]
    lines.append("|" + "---|" * (4 + len(dict.fromkeys(r["benchmark"] for r in rows))))
    for key in dict.fromkeys((r["platform"], r["kernels"]) for r in rows):
        picked = [r for r in rows if (r["platform"], r["kernels"]) == key]
        first = picked[0]
        lines.append(f"| {key[0]} ({first['power_model']}/v{first['power_model_version']}) | {key[1]} | "
                     f"{first['supply_v']:g} | {first['average_power_mw']:.2f} | "
                     + " | ".join(f"{r['energy_uj_per_inference']:,.1f}" for r in picked) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="ci/bench --energy", description=__doc__)
    parser.add_argument("benches", nargs="*", default=["kws", "vww", "ic", "ad"])
    parser.add_argument("--platform", "-p", action="append", help="only these platforms (repeatable)")
    parser.add_argument("--kernels", nargs="+", default=["ref", "opt"])
    parser.add_argument("--supply-v", type=float, help="supply voltage (default: each model's supply_v)")
    parser.add_argument("--out", type=Path, default=Path("results"), help="folder for energy-by-board.png")
    args = parser.parse_args()
    rows = measure(args.platform, tuple(args.kernels), tuple(args.benches), args.supply_v)
    print(markdown(rows))
    path = atomic_write(args.out / "energy-by-board.png", energy_bars_plot(rows))
    print(f"plot: {path}")


if __name__ == "__main__":
    main()
