"""`tinyperf run`: benchmarks on an emulated board, results in a run folder."""
from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
import time
from dataclasses import replace
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from harness.benchmarks import Benchmark, get_benchmark
from harness.datasets import Inputs, iter_default_inputs, load_dataset
from harness.openmodel import check_image, open_benchmark
from harness.report import BenchmarkResult, SampleLog, verify_problems, write_report
from harness.runner import BenchRun, RunError, load_run_spec, run_energy, run_perf, run_samples, summarise
from harness.target import find_window, prebuilt_firmware, resolve_platform
from platforms import Platform
from sim.elf import FirmwareImage
from sim.process import stop_all
from tinyperf_errors import EXIT_USAGE

DEFAULT_SAMPLES = 10


class LockedWriter:
    """A transcript file several emulator threads write whole lines to."""

    def __init__(self, path: Path):
        self._file = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def write(self, text: str) -> None:
        with self._lock:
            self._file.write(text)
            self._file.flush()

    def close(self) -> None:
        self._file.close()


def resolve_benchmarks(names: tuple[str, ...]) -> list[Benchmark]:
    return [get_benchmark(n) for n in names or ("kws", "vww", "ic", "ad")]


def firmware_for(bench: Benchmark, platform: Platform, elf: Path | None, kernels: str = "ref") -> FirmwareImage:
    if elf is None:
        return prebuilt_firmware(bench, platform, kernels)
    image = FirmwareImage(elf)
    check_image(image.path, bench)  # before any run folder exists: another model's image is a usage error
    return image


def inputs_for(bench: Benchmark, dataset: Path | None, count: int | None, seed: int) -> Inputs:
    """The run's inputs, made as they run (so -n 1000000000 allocates nothing up front)."""
    if dataset is None:
        count = DEFAULT_SAMPLES if count is None else count
        return Inputs(lambda: iter_default_inputs(bench, count, seed), count)
    found = load_dataset(dataset, bench)
    return Inputs(lambda: iter(found), len(found) if count is None else min(count, len(found)))


def new_run_dir(results: Path, bench: Benchmark, platform: Platform) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    try:
        results.mkdir(parents=True, exist_ok=True)
        if not os.access(results, os.W_OK):
            raise PermissionError
        run_dir = results / f"{stamp}-{bench.name}-{platform.name}"
        suffix = 1
        while run_dir.exists():
            suffix += 1
            run_dir = results / f"{stamp}-{bench.name}-{platform.name}-{suffix}"
        run_dir.mkdir()
    except OSError:
        raise RunError(f"results folder {results} is not writable: pass --results DIR", EXIT_USAGE) from None
    return run_dir


@contextmanager
def locked(run_dir: Path) -> Iterator[None]:
    """One tinyperf at a time per run folder: a second --resume of it fails at once."""
    with (run_dir / ".lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunError(f"run folder {run_dir} is in use by another tinyperf: wait for it to end") from None
        yield


def execute_bench(run: BenchRun, console: Console, quiet: bool) -> BenchmarkResult:
    """Perf, then the per-sample modes; writes the report even when interrupted.
    A full disk (or any write error) ends the run with the samples so far kept."""
    with locked(run.run_dir):
        try:
            return _execute(run, console, quiet)
        except OSError as err:
            raise RunError(f"{err.filename or run.run_dir}: {err.strerror}; the samples finished so far are kept: "
                           f"fix that (free space?) and run 'tinyperf run --resume {run.run_dir}'") from None


def _execute(run: BenchRun, console: Console, quiet: bool) -> BenchmarkResult:
    transcript = LockedWriter(run.run_dir / "transcript.log")
    perf = None
    energy = None
    records = []
    log = SampleLog(run.run_dir / "samples.jsonl")
    try:
        if "perf" in run.modes:
            perf = run_perf(run, transcript)
        if "energy" in run.modes:
            energy = run_energy(run, transcript)
        if {"verify", "accuracy"} & set(run.modes):
            with Progress(TextColumn(f"{run.bench.name} on {run.platform.name}"), BarColumn(), MofNCompleteColumn(),
                          TimeElapsedColumn(), console=console, disable=quiet, transient=True) as progress:
                task = progress.add_task("samples", total=len(run.samples), completed=len(log.records()))
                run.on_sample = lambda: progress.advance(task)
                records = run_samples(run, log, transcript)
    except BaseException:
        stop_all()
        records = log.records()
        with suppress(OSError):  # the disk may be full: the sample log has everything already
            _write(run, perf, records, energy)
        raise
    finally:
        log.close()
        transcript.close()
    return _write(run, perf, records, energy)


def _write(run: BenchRun, perf, records, energy=None) -> BenchmarkResult:
    result = summarise(run, perf, records, energy)
    result = replace(result, perf=perf.to_dict() if perf else None,
                     failed_samples=sum(1 for r in records if r.error and not r.no_verdict),
                     no_verdict_samples=sum(1 for r in records if r.no_verdict))
    write_report(run.run_dir, [result], records)
    return result


def spec_of(run: BenchRun, dataset: Path | None, seed: int, count: int | None) -> dict:
    return {"benchmark": run.bench.name, "model": str(run.bench.model_source) if run.bench.model_source else None,
            "model_name": run.bench.model_file,
            "base": run.bench.id if run.bench.model_source and not run.bench.raw else None,
            "platform": run.platform.name, "firmware": str(run.firmware.path.resolve()),
            "modes": list(run.modes), "dataset": str(dataset) if dataset else None, "seed": seed, "samples": count,
            "jobs": run.jobs, "icount": run.icount, "backend": run.backend, "supply_v": run.supply_v,
            "window": run.window_spec, "platform_file": str(run.platform.source.resolve())}


def run_from_spec(run_dir: Path) -> tuple[BenchRun, dict]:
    spec = load_run_spec(run_dir)
    if spec.get("model"):
        bench = open_benchmark(Path(spec["model"]), get_benchmark(spec["base"]) if spec.get("base") else None,
                               spec["model_name"])
    else:
        bench = get_benchmark(spec["benchmark"])
    dataset = Path(spec["dataset"]) if spec["dataset"] else None
    platform = resolve_platform(spec.get("platform_file") or spec["platform"])
    firmware = FirmwareImage(spec["firmware"])
    window_spec = spec.get("window")
    run = BenchRun(bench, platform, firmware, tuple(spec["modes"]),
                   inputs_for(bench, dataset, spec["samples"], spec["seed"]), run_dir, spec["jobs"],
                   icount=spec["icount"], backend=spec.get("backend", "qemu"), supply_v=spec.get("supply_v"),
                   window=find_window(firmware, window_spec), window_spec=window_spec)
    return run, spec


def no_verdict_line(results: list[BenchmarkResult], run_dirs: list[Path]) -> str | None:
    """Samples whose emulator was lost: not a failure of the firmware, so a line (and exit code) of their own."""
    lost = [(r, d) for r, d in zip(results, run_dirs) if r.no_verdict_samples]
    if not lost:
        return None
    return "; ".join(f"{r.benchmark} on {r.platform}: {r.no_verdict_samples} samples have no verdict (the emulator "
                     f"was lost under them, see samples.csv): run 'tinyperf run --resume {d}'" for r, d in lost)


def failure_line(results: list[BenchmarkResult]) -> str | None:
    problems = []
    for r in results:
        if r.verify is not None and (r.verify.mismatches or r.verify.disagreements):
            problems.append(f"{r.benchmark} on {r.platform}: " + "; ".join(verify_problems(r.verify)))
        if r.failed_samples:
            problems.append(f"{r.benchmark} on {r.platform}: {r.failed_samples} samples failed (see samples.csv)")
        if r.accuracy is not None and not r.accuracy.passed and r.accuracy.value is None:
            problems.append(f"{r.benchmark} on {r.platform}: quality {r.accuracy.metric} cannot be computed: "
                            f"{r.accuracy.note}")
        elif r.accuracy is not None and not r.accuracy.passed:
            problems.append(f"{r.benchmark} on {r.platform}: quality {r.accuracy.metric} "
                            f"{r.accuracy.value} below target {r.accuracy.target}")
    return "; ".join(problems) or None
