"""Accuracy-mode throughput on official-size data sets (run by ci/bench --scale).

Writes generated inputs of the official sizes and layout (200 IC, 1000 KWS,
1000 VWW files, 248 AD files of 196 windows) into a temporary folder, runs
`--mode accuracy` over each with `--jobs` emulators, and prints samples per
second together with where the CPU time went: the harness's Python process
against the emulator processes.  The emulator should be the bottleneck."""
from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from firmware_bins import prebuilt
from harness.benchmarks import Benchmark, get_benchmark
from harness.datasets import load_dataset
from harness.report import SampleLog
from harness.runner import BenchRun, run_samples
from platforms import get_platform
from sim.elf import FirmwareImage

AD_FILE_BYTES = 25_600 * 4  # 200 frames x 128 bins of float32: 196 windows


def write_dataset(root: Path, bench: Benchmark, files: int, seed: int) -> None:
    """Official layout: <root>/<id>/y_labels.csv and the files beside it."""
    rng = np.random.default_rng(seed)
    folder = root / bench.id
    folder.mkdir(parents=True)
    rows = []
    for i in range(files):
        name = f"gen_{i:05d}.bin"
        if bench.name == "ad":
            data = rng.normal(-40.0, 10.0, AD_FILE_BYTES // 4).astype("<f4").tobytes()
            rows.append(f"{name},2,{i % 2},{bench.window_bytes},{bench.stride_bytes}")
        else:
            data = rng.integers(0, 256, bench.input_bytes, dtype=np.uint8).tobytes()
            rows.append(f"{name},{bench.classes},{i % bench.classes}")
        (folder / name).write_bytes(data)
    (folder / "y_labels.csv").write_text("\n".join(rows) + "\n")


def cpu_seconds() -> tuple[float, float]:
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, children.ru_utime + children.ru_stime


def measure(bench: Benchmark, platform: str, files: int, jobs: int, work: Path) -> dict:
    write_dataset(work / "data", bench, files, seed=1)
    samples = list(load_dataset(work / "data", bench))
    run = BenchRun(bench, get_platform(platform), FirmwareImage(prebuilt(platform, bench.name)),
                   ("accuracy",), samples, work, jobs)
    python_before, emulators_before = cpu_seconds()
    start = time.monotonic()
    with SampleLog(work / "samples.jsonl") as log:
        records = run_samples(run, log, transcript=None)
    wall = time.monotonic() - start
    python_after, emulators_after = cpu_seconds()
    return {"benchmark": bench.name, "files": files, "inferences": len(records),
            "failed": sum(1 for r in records if r.error), "wall_s": wall, "samples_per_s": len(records) / wall,
            "python_cpu_s": python_after - python_before, "emulator_cpu_s": emulators_after - emulators_before}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("benches", nargs="*", default=["ic", "kws", "vww", "ad"])
    parser.add_argument("--platform", default="cortex-m4")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--fraction", type=float, default=1.0, help="of the official file counts")
    args = parser.parse_args()
    print(f"{'bench':6} {'files':>6} {'inferences':>10} {'failed':>6} {'wall s':>8} {'samples/s':>10} "
          f"{'python CPU s':>12} {'emulator CPU s':>14}")
    for name in args.benches:
        bench = get_benchmark(name)
        files = max(1, round(bench.accuracy_files * args.fraction))
        with tempfile.TemporaryDirectory(prefix="tinyperf-scale-") as work:
            r = measure(bench, args.platform, files, args.jobs, Path(work))
        print(f"{r['benchmark']:6} {r['files']:6} {r['inferences']:10} {r['failed']:6} {r['wall_s']:8.1f} "
              f"{r['samples_per_s']:10.1f} {r['python_cpu_s']:12.1f} {r['emulator_cpu_s']:14.1f}", flush=True)


if __name__ == "__main__":
    main()
