"""Runner modes on the emulated DUT: perf, verify and accuracy.

- perf: the official `infer N W` loop on one input; instructions per inference
  are exact (the counting plugin's window between the firmware's markers),
  cycles come from the core's cost model, latency = cycles / platform clock.
- verify: every input also runs through the host reference (TFLM semantics);
  the raw int8 outputs (`outputs%`) are compared byte for byte.
- accuracy: `infer 1 0` per input, scored as the official runner does.

Inputs are sharded over `jobs` emulators; each finished sample is appended to
the run's sample log at once, so an interrupted run loses nothing and
`resume` continues where it stopped.  Results come back in input order.
"""
from __future__ import annotations

import json
import threading
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from harness.benchmarks import Benchmark
from harness.datasets import Sample, default_inputs
from harness.dut import DutError, InferResult, open_dut
from harness.metrics import evaluate
from harness.printed import compare_printed
from harness.reference import HostReference, score
from harness.report import BenchmarkResult, SampleLog, SampleRecord, Verify
from harness.target import WINDOW_FIX, Window, identify_benchmark, require_window
from platforms import Platform
from sim.cycles import estimate_cycles
from sim.elf import FirmwareImage
from tinyperf_errors import TinyperfError

MODES = ("perf", "verify", "accuracy")
# An inference on the slowest platform runs well under a second of host time;
# this bounds a hung DUT, not a slow one.
SAMPLE_TIMEOUT_S = 120.0
# Fresh emulators a sample gets after its emulator was lost (killed, crashed) before
# it is recorded without a verdict.
LOST_RETRIES = 2


class RunError(TinyperfError):
    """The run cannot go on (wrong firmware, --fail-fast on a failed sample)."""


@dataclass
class PerfResult:
    iterations: int
    warmups: int
    instructions_per_inference: float | None
    cycles_per_inference: float | None
    cpi: float | None
    cycle_model: str | None
    latency_ms: float | None
    dut_lap_us: int  # T1 - T0 as the firmware's own timer measured it

    def to_dict(self) -> dict:
        return self.__dict__.copy()


@dataclass
class BenchRun:
    """One benchmark on one platform with one firmware."""

    bench: Benchmark
    platform: Platform
    firmware: FirmwareImage
    modes: tuple[str, ...]
    samples: list[Sample]
    run_dir: Path
    jobs: int = 1
    fail_fast: bool = False
    icount: bool = False
    backend: str = "qemu"  # emulator backend (sim.BACKENDS)
    window: Window | None = None  # the measurement window (harness.target.find_window)
    window_spec: str | None = None  # --window as given (kept for --resume)
    on_sample: Callable[[], None] = lambda: None  # progress
    stop: threading.Event = field(default_factory=threading.Event)


def run_perf(run: BenchRun, transcript) -> PerfResult:
    """The official performance loop on the first input."""
    return measure_perf(run.bench, run.platform, run.firmware, run.samples[0], transcript, run.icount, run.backend,
                        run.window)


def measure_perf(bench: Benchmark | None, platform: Platform, firmware: FirmwareImage, sample: Sample | None = None,
                 transcript=None, icount: bool = False, backend: str = "qemu", window: Window | None = None) -> PerfResult:
    """`infer N W` as the official runner's performance mode does, with exact
    instructions and modelled cycles.  Without a benchmark, the one the firmware
    reports; without a sample, the benchmark's first default input.  The window
    is required: firmware without one fails here, never with empty counts."""
    window = window or require_window(firmware)
    with open_dut(platform, firmware, transcript, icount=icount, backend=backend, profile=True, window=window) as dut:
        bench = identify_benchmark(dut, bench, firmware)
        dut.load((sample or default_inputs(bench, 1)[0]).data)
        result: InferResult = dut.infer(bench.perf_iterations, bench.perf_warmups)
    per = result.instructions_per_inference
    if per is None:
        raise RunError(f"{firmware.path}: no complete measurement window ({window.description}) during "
                       f"'infer {bench.perf_iterations} {bench.perf_warmups}': {WINDOW_FIX}")
    cycles = cpi = model = None
    if per is not None and result.blocks:
        estimate = estimate_cycles(firmware, platform, result.blocks)
        cpi, model = estimate.cpi, estimate.model
        cycles = estimate.cycles / result.iterations
    return PerfResult(
        iterations=bench.perf_iterations, warmups=bench.perf_warmups,
        instructions_per_inference=per, cycles_per_inference=cycles, cpi=cpi, cycle_model=model,
        latency_ms=cycles / (platform.clock_mhz * 1e3) if cycles is not None else None,
        dut_lap_us=result.lap_us[1] - result.lap_us[0],
    )


def _record(run: BenchRun, sample: Sample, reference: HostReference | None, dut_values: list[float],
            raw: bytes | None, instructions: int | None) -> SampleRecord:
    """The sample's verdict: bytes against host TFLM when the firmware gave its raw
    output (outputs%), else its printed m-results against host TFLM's printed the
    reference firmware's way."""
    record = SampleRecord(run.bench.name, run.platform.name, sample.name, sample.file, sample.label,
                          dut_values, [], False, instructions, compared=None)
    if reference is None:
        return replace(record, not_compared="verify not requested")
    expected = reference.raw_output(sample.data)
    host_values = score(run.bench, expected, sample.data)
    record = replace(record, host=[float(v) for v in host_values])
    if raw is None:
        printed = compare_printed(run.bench, dut_values, host_values)
        return replace(record, compared="printed", results_agree=printed.agree,
                       printed_diff_units=printed.max_diff_units)
    got = np.frombuffer(raw, dtype=np.int8)
    same_shape = got.shape == expected.shape
    raw_diff = int(np.max(np.abs(got.astype(np.int16) - expected.astype(np.int16)))) if same_shape else None
    return replace(record, compared="bytes", bit_exact=same_shape and bool(np.array_equal(got, expected)),
                   raw_max_abs_diff=raw_diff)


def _failed(run: BenchRun, sample: Sample, err: DutError) -> SampleRecord:
    return SampleRecord(run.bench.name, run.platform.name, sample.name, sample.file, sample.label,
                        [], [], False, None, None, str(err), no_verdict=err.no_verdict,
                        compared=None, not_compared="the sample failed")


def _infer(run: BenchRun, dut, sample: Sample, reference: HostReference | None) -> SampleRecord:
    """One sample on a booted DUT; DutError only when the emulator was lost (no verdict)."""
    try:
        dut.load(sample.data)
        inferred = dut.infer(1, 0, timeout=SAMPLE_TIMEOUT_S)
        raw = dut.outputs() if reference is not None else None
    except DutError as err:
        if err.no_verdict:
            raise
        return _failed(run, sample, err)
    return _record(run, sample, reference, inferred.results, raw, inferred.instructions)


def _shard(run: BenchRun, shard: list[tuple[int, Sample]], log: SampleLog, results: dict[int, SampleRecord],
           transcript, lock: threading.Lock) -> None:
    """Run one shard of samples on one emulator, restarting it after a failed sample.
    A sample whose emulator is lost runs again on a fresh one (LOST_RETRIES times);
    after an interrupt it is left without a record, for --resume."""
    reference = HostReference(run.bench) if "verify" in run.modes else None
    pending = deque(shard)
    lost: Counter[int] = Counter()

    def keep(index: int, record: SampleRecord) -> None:
        with lock:
            log.append(record)
            results[index] = record
        run.on_sample()

    while pending and not run.stop.is_set():
        try:
            with open_dut(run.platform, run.firmware, transcript, icount=run.icount, backend=run.backend) as dut:
                identify_benchmark(dut, run.bench, run.firmware)
                while pending and not run.stop.is_set():
                    index, sample = pending[0]
                    record = _infer(run, dut, sample, reference)
                    pending.popleft()
                    keep(index, record)
                    if record.error:
                        if run.fail_fast:
                            run.stop.set()
                            raise RunError(f"{run.bench.name} sample {sample.name} failed: {record.error}")
                        break  # a fresh emulator for the rest of the shard
        except DutError as err:
            if not err.no_verdict:
                raise
            if run.stop.is_set():
                return  # interrupted: the sample keeps no record and --resume runs it
            index, sample = pending[0]
            lost[index] += 1
            if lost[index] > LOST_RETRIES:
                pending.popleft()
                keep(index, _failed(run, sample, err))


def run_samples(run: BenchRun, log: SampleLog, transcript) -> list[SampleRecord]:
    """verify/accuracy: every sample without a verdict in the log, sharded over `jobs` emulators."""
    done = {r.name: r for r in log.records() if not r.no_verdict}
    todo = [(i, s) for i, s in enumerate(run.samples) if s.name not in done]
    results: dict[int, SampleRecord] = {i: done[s.name] for i, s in enumerate(run.samples) if s.name in done}
    lock = threading.Lock()
    jobs = max(1, min(run.jobs, len(todo)))
    shards = [todo[k::jobs] for k in range(jobs)]
    with ThreadPoolExecutor(jobs) as pool:
        futures = [pool.submit(_shard, run, shard, log, results, transcript, lock) for shard in shards if shard]
        try:
            for future in futures:
                future.result()
        except BaseException:
            run.stop.set()  # the other shards end after their current sample
            raise
    return [results[i] for i in sorted(results)]


def summarise(run: BenchRun, perf: PerfResult | None, records: list[SampleRecord]) -> BenchmarkResult:
    verify = Verify.from_records(records) if "verify" in run.modes else None
    accuracy = None
    if "accuracy" in run.modes:
        accuracy = evaluate(run.bench, [(r.file, r.label, r.dut) for r in records if not r.error])
    return BenchmarkResult(
        benchmark=run.bench.name, platform=run.platform.name, mode="+".join(run.modes),
        clock_mhz=run.platform.clock_mhz, macs=run.bench.macs,
        instructions_per_inference=round(perf.instructions_per_inference) if perf and perf.instructions_per_inference else None,
        cycles_per_inference=round(perf.cycles_per_inference) if perf and perf.cycles_per_inference else None,
        latency_ms=round(perf.latency_ms, 4) if perf and perf.latency_ms else None,
        verify=verify, accuracy=accuracy,
    )


def save_run_spec(run_dir: Path, spec: dict) -> None:
    (run_dir / "run.json").write_text(json.dumps(spec, indent=2) + "\n")


def load_run_spec(run_dir: Path) -> dict:
    path = run_dir / "run.json"
    if not path.is_file():
        raise RunError(f"{run_dir} is not a tinyperf run folder (no run.json): pass a folder under results/")
    return json.loads(path.read_text())
