"""Runner modes on the emulated DUT: perf, verify and accuracy.

- perf: the official `infer N W` loop on one input; instructions per inference
  are exact (the counting plugin's window between the firmware's markers),
  cycles come from the core's cost model, latency = cycles / platform clock.
- verify: every input also runs through the host reference (TFLM semantics);
  the raw int8 outputs (`outputs%`) are compared byte for byte.
- accuracy: `infer 1 0` per input, scored as the official runner does.
- energy: the official energy loop (`tests_energy.yaml`: download, `infer N W`, five
  times) under a modeled power monitor (harness.energy), median as main.py prints it.

Every perf result also carries the modeled energy of its window (sim.power):
run power at the platform's supply x cycles / clock, per inference.

Inputs are sharded over `jobs` emulators; each finished sample is appended to
the run's sample log at once, so an interrupted run loses nothing and
`resume` continues where it stopped.  Results come back in input order.
"""
from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from itertools import islice
from pathlib import Path

import numpy as np

from harness.benchmarks import Benchmark
from harness.datasets import Sample, default_inputs
from harness.dut import DutError, InferResult, open_dut
from harness.energy import ENERGY_LOOP, WINDOWS, BoardPower, EnergyResult, offline_window
from harness.metrics import evaluate
from harness.printed import compare_printed
from harness.reference import HostReference, differing_outputs, score
from harness.report import BenchmarkResult, SampleLog, SampleRecord, Verify
from harness.target import WINDOW_FIX, Window, identify_benchmark, require_window
from platforms import Platform
from sim.cycles import estimate_cycles
from sim.elf import FirmwareImage
from sim.memory import MemoryCounts
from sim.power import PowerModel, load_power_model
from tinyperf_errors import EXIT_USAGE, TinyperfError

MODES = ("perf", "verify", "accuracy", "energy")
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
    # Memory model (platforms with memory timing): the core's cycles at zero
    # wait states, memory stall cycles by kind (None: not counted) and
    # accesses per region and cache hits, all per inference.
    compute_cycles_per_inference: float | None = None
    stall_cycles_per_inference: dict[str, float] | None = None
    memory_per_inference: dict | None = None

    def to_dict(self) -> dict:
        return self.__dict__.copy()


@dataclass
class BenchRun:
    """One benchmark on one platform with one firmware."""

    bench: Benchmark
    platform: Platform
    firmware: FirmwareImage
    modes: tuple[str, ...]
    samples: Iterable[Sample]  # with len(): a list, or datasets.Inputs (made while running)
    run_dir: Path
    jobs: int = 1
    fail_fast: bool = False
    icount: bool = False
    backend: str = "qemu"  # emulator backend (sim.BACKENDS)
    window: Window | None = None  # the measurement window (harness.target.find_window)
    window_spec: str | None = None  # --window as given (kept for --resume)
    supply_v: float | None = None  # energy: the supply the monitor sets (None: the platform's [power] supply_v)
    on_sample: Callable[[], None] = lambda: None  # progress
    stop: threading.Event = field(default_factory=threading.Event)


def run_perf(run: BenchRun, transcript) -> PerfResult:
    """The official performance loop on the first input."""
    first = next(iter(run.samples))
    return measure_perf(run.bench, run.platform, run.firmware, first, transcript, run.icount, run.backend,
                        run.window)


def measure_perf(bench: Benchmark | None, platform: Platform, firmware: FirmwareImage, sample: Sample | None = None,
                 transcript=None, icount: bool = False, backend: str = "qemu", window: Window | None = None) -> PerfResult:
    """`infer N W` as the official runner's performance mode does, with exact
    instructions and modelled cycles.  Without a benchmark, the one the firmware
    reports; without a sample, the benchmark's first default input.  The window
    is required: firmware without one fails here, never with empty counts.  On a
    platform with memory timing a second, short memory-aware run measures the
    memory counters per inference (see memory_per_inference)."""
    window = window or require_window(firmware)
    with open_dut(platform, firmware, transcript, icount=icount, backend=backend, profile=True,
                  memory=False, window=window) as dut:
        bench = identify_benchmark(dut, bench, firmware)
        sample = sample or default_inputs(bench, 1)[0]
        dut.load(sample.data)
        result: InferResult = dut.infer(bench.perf_iterations, bench.perf_warmups)
    per = result.instructions_per_inference
    if per is None:
        raise RunError(f"{firmware.path}: no complete measurement window ({window.description}) during "
                       f"'infer {bench.perf_iterations} {bench.perf_warmups}': {WINDOW_FIX}")
    cycles = cpi = model = estimate = None
    if per is not None and result.blocks:
        memory = None
        if platform.memory_timing.modelled and backend == "qemu":
            memory = measure_memory(platform, firmware, sample, transcript, icount, window=window)
        estimate = estimate_cycles(firmware, platform, result.blocks,
                                   memory.scaled(result.iterations) if memory else None)
        cpi, model = estimate.cpi, estimate.model
        cycles = estimate.cycles / result.iterations
    return PerfResult(
        iterations=bench.perf_iterations, warmups=bench.perf_warmups,
        instructions_per_inference=per, cycles_per_inference=cycles, cpi=cpi, cycle_model=model,
        latency_ms=cycles / (platform.clock_mhz * 1e3) if cycles is not None else None,
        dut_lap_us=result.lap_us[1] - result.lap_us[0],
        **(per_inference(estimate, result.iterations) if estimate else {}),
    )


# Memory-aware perf runs instrument every load, store and block: too slow for
# the official N (1500 for ad).  Inference is deterministic, so after a warm-up
# each inference makes the same accesses from (nearly) the same cache state:
# short windows give the per-inference counters.  Two windows, of 1 and of
# 1 + MEMORY_ITERATIONS inferences, cancel the accesses of the window's own
# edges (the marker calls); tests/test_boards.py checks that 2 and 6 agree.
MEMORY_ITERATIONS, MEMORY_WARMUPS = 2, 1


def measure_memory(platform: Platform, firmware: FirmwareImage, sample: Sample, transcript=None,
                         icount: bool = False, iterations: int = MEMORY_ITERATIONS,
                         warmups: int = MEMORY_WARMUPS, window: Window | None = None) -> MemoryCounts | None:
    """Memory counters of one inference: a memory-aware `infer 1 warmups`, then
    `infer 1+iterations 0`; the difference of their windows over `iterations`."""
    with open_dut(platform, firmware, transcript, icount=icount, profile=True, window=window) as dut:
        dut.load(sample.data)
        short = dut.infer(1, warmups)
        long = dut.infer(1 + iterations, 0)
    if short.memory is None or long.memory is None:
        return None
    counts = [MemoryCounts.from_record(platform.memory_timing, r.memory) for r in (short, long)]
    return counts[1].minus(counts[0]).scaled(1 / iterations)


def memory_per_input(platform: Platform, firmware: FirmwareImage,
                     icount: bool = False) -> Callable[[bytes], MemoryCounts | None]:
    """measure_memory for raw input bytes, once per distinct input (serve's exact energy windows)."""
    measured: dict[bytes, MemoryCounts | None] = {}

    def counts(data: bytes) -> MemoryCounts | None:
        if data not in measured:
            measured[data] = measure_memory(platform, firmware, Sample("served", None, data, "served"), icount=icount)
        return measured[data]
    return counts

def per_inference(estimate, iterations: int) -> dict:
    """The memory model's part of a window's estimate, per inference."""
    def scaled(table: dict) -> dict:
        return {k: scaled(v) if isinstance(v, dict) else round(v / iterations, 2) for k, v in table.items()}
    return {
        "compute_cycles_per_inference": round(estimate.compute_cycles / iterations, 2),
        "stall_cycles_per_inference": scaled(estimate.stall_cycles) if estimate.stall_cycles is not None else None,
        "memory_per_inference": scaled(estimate.memory) if estimate.memory else None,
    }


def power_model(platform: Platform) -> PowerModel | None:
    """The platform's power model, or None when its file has no [power] table."""
    return load_power_model(platform.power, f"{platform.source.name} [power]") if platform.power else None


def modeled_energy(platform: Platform, cycles_per_inference: float | None, supply_v: float | None = None) -> dict:
    """The BenchmarkResult energy fields for one inference of `cycles_per_inference` cycles."""
    model = power_model(platform)
    if model is None or cycles_per_inference is None:
        return {}
    volts = model.supply_v if supply_v is None else supply_v
    return {
        "energy_uj_per_inference": round(model.energy_uj(cycles_per_inference, platform.clock_mhz, volts), 3),
        "average_power_mw": round(model.run_power_mw(platform.clock_mhz, volts), 4),
        "supply_v": volts, "power_model": model.model, "power_model_version": model.version,
    }


def run_energy(run: BenchRun, transcript) -> EnergyResult:
    """The official energy loop: per window, load an input, `infer N W`, and the modeled monitor's
    samples for the measured window (whose cycles come from the cost model, as in perf)."""
    model = power_model(run.platform)
    if model is None:
        raise RunError(f"{run.platform.name} has no power model ([power] table in {run.platform.source.name}); "
                       f"run energy mode on a platform that has one (see 'tinyperf platforms')")
    volts = model.supply_v if run.supply_v is None else run.supply_v
    power = BoardPower.of(model, run.platform.clock_mhz, volts)
    iterations, warmups = ENERGY_LOOP[run.bench.name]
    result = EnergyResult(f"infer {iterations} {warmups}", supply_v=volts, power_model=model.name,
                          active_mw=power.active_mw, idle_mw=power.idle_mw)
    inputs = list(islice(run.samples, WINDOWS))  # `download` per window: the next input, round the set
    windows = []
    with open_dut(run.platform, run.firmware, transcript, icount=run.icount, backend=run.backend, profile=True,
                  memory=False, window=run.window or require_window(run.firmware)) as dut:
        identify_benchmark(dut, run.bench, run.firmware)
        for k in range(WINDOWS):
            sample = inputs[k % len(inputs)]
            dut.load(sample.data)
            inferred = dut.infer(iterations, warmups, timeout=SAMPLE_TIMEOUT_S * iterations)
            if not inferred.blocks:
                raise RunError(f"{run.firmware.path} has no window markers: energy mode needs tp_mark_begin/"
                               f"tp_mark_end or th_timestamp")
            windows.append((sample, inferred.blocks))
    for sample, blocks in windows:
        memory = None  # boards with memory timing: the window's stalls too, as in perf
        if run.platform.memory_timing.modelled and run.backend == "qemu":
            memory = measure_memory(run.platform, run.firmware, sample, transcript, run.icount)
        cycles = estimate_cycles(run.firmware, run.platform, blocks,
                                 memory.scaled(iterations) if memory else None).cycles
        result.windows.append(offline_window(power, cycles / run.platform.clock_mhz, iterations))
    return result


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
    exact = same_shape and bool(np.array_equal(got, expected))
    return replace(record, compared="bytes", bit_exact=exact, raw_max_abs_diff=raw_diff,
                   differing_outputs=[] if exact else differing_outputs(run.bench, raw, expected))


def _failed(run: BenchRun, sample: Sample, err: DutError) -> SampleRecord:
    return SampleRecord(run.bench.name, run.platform.name, sample.name, sample.file, sample.label,
                        [], [], False, None, None, str(err), no_verdict=err.no_verdict,
                        compared=None, not_compared="the sample failed")


def _infer(run: BenchRun, dut, sample: Sample, reference: HostReference | None) -> SampleRecord:
    """One sample on a booted DUT; DutError only when the emulator was lost (no verdict)."""
    try:
        dut.load(sample.data)
        inferred = dut.infer(1, 0, timeout=SAMPLE_TIMEOUT_S)
        raw = dut.outputs() if reference is not None or run.bench.raw else None
    except DutError as err:
        if err.no_verdict:
            raise
        return _failed(run, sample, err)
    values = inferred.results
    if run.bench.raw and raw is not None:
        # The raw firmware's m-results is a byte count: its result vector is output 0, dequantised.
        values = [float(v) for v in score(run.bench, np.frombuffer(raw, dtype=np.int8), sample.data)]
    return _record(run, sample, reference, values, raw, inferred.instructions)


def _shard(run: BenchRun, feed: Callable[[], tuple[int, Sample] | None], log: SampleLog,
           results: dict[int, SampleRecord], transcript, lock: threading.Lock) -> None:
    """Run samples taken from `feed` on one emulator, restarting it after a failed sample.
    A sample whose emulator is lost runs again on a fresh one (LOST_RETRIES times);
    after an interrupt it is left without a record, for --resume."""
    reference = HostReference(run.bench) if "verify" in run.modes else None
    current = feed()
    lost = 0

    def keep(record: SampleRecord) -> None:
        with lock:
            log.append(record)
            results[current[0]] = record
        run.on_sample()

    while current is not None and not run.stop.is_set():
        try:
            with open_dut(run.platform, run.firmware, transcript, icount=run.icount, backend=run.backend,
                          window=run.window) as dut:
                identify_benchmark(dut, run.bench, run.firmware)
                while current is not None and not run.stop.is_set():
                    record = _infer(run, dut, current[1], reference)
                    keep(record)
                    current, lost = feed(), 0
                    if record.error:
                        if run.fail_fast:
                            run.stop.set()
                            raise RunError(f"{run.bench.name} sample {record.name} failed: {record.error}")
                        break  # a fresh emulator for the rest
        except DutError as err:
            if not err.no_verdict:
                raise
            if run.stop.is_set():
                return  # interrupted: the sample keeps no record and --resume runs it
            lost += 1
            if lost > LOST_RETRIES:
                keep(_failed(run, current[1], err))
                current, lost = feed(), 0


def run_samples(run: BenchRun, log: SampleLog, transcript) -> list[SampleRecord]:
    """verify/accuracy: every sample without a verdict in the log, taken in order by
    `jobs` emulators from one shared feed (inputs are made as they are taken)."""
    done = {r.name: r for r in log.records() if not r.no_verdict}
    results: dict[int, SampleRecord] = {}
    lock = threading.Lock()
    inputs = enumerate(run.samples)

    def feed() -> tuple[int, Sample] | None:
        with lock:
            for index, sample in inputs:
                if sample.name not in done:
                    return index, sample
                results[index] = done[sample.name]
            return None

    jobs = max(1, min(run.jobs, len(run.samples) - len(done)))
    with ThreadPoolExecutor(jobs) as pool:
        futures = [pool.submit(_shard, run, feed, log, results, transcript, lock) for _ in range(jobs)]
        try:
            for future in futures:
                future.result()
        except BaseException:
            run.stop.set()  # the other shards end after their current sample
            raise
    return [results[i] for i in sorted(results)]


def summarise(run: BenchRun, perf: PerfResult | None, records: list[SampleRecord],
              energy: EnergyResult | None = None) -> BenchmarkResult:
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
        energy=energy.to_dict() if energy else None,
        **modeled_energy(run.platform, _cycles_per_inference(run, perf, energy), run.supply_v),
    )


def _cycles_per_inference(run: BenchRun, perf: PerfResult | None, energy: EnergyResult | None) -> float | None:
    """The perf window's cycles per inference, else the energy loop's first window's."""
    if perf is not None and perf.cycles_per_inference is not None:
        return perf.cycles_per_inference
    if energy is not None and energy.windows:
        first = energy.windows[0]
        return first.window_us * run.platform.clock_mhz / first.iterations
    return None


def save_run_spec(run_dir: Path, spec: dict) -> None:
    (run_dir / "run.json").write_text(json.dumps(spec, indent=2) + "\n")


# run.json: key -> (accepted types, required).  bool is checked apart: it is an int too.
RUN_SPEC = {"benchmark": ((str,), True), "platform": ((str,), True), "firmware": ((str,), True),
            "modes": ((list,), True), "dataset": ((str, type(None)), True), "seed": ((int,), True),
            "samples": ((int, type(None)), True), "jobs": ((int,), True), "icount": ((bool,), True),
            "backend": ((str,), False)}


def load_run_spec(run_dir: Path) -> dict:
    """run.json of a run folder, checked key by key (it may have been edited by hand)."""
    path = run_dir / "run.json"
    if not path.is_file():
        raise RunError(f"{run_dir} is not a tinyperf run folder (no run.json): pass a folder under results/",
                       EXIT_USAGE)
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise RunError(f"{path} cannot be read as JSON ({err}): the run cannot be resumed; start a new one",
                       EXIT_USAGE) from None
    problem = _run_spec_problem(spec)
    if problem:
        raise RunError(f"{path}: {problem}: the run cannot be resumed; start a new one", EXIT_USAGE)
    return spec


def _run_spec_problem(spec) -> str | None:
    if not isinstance(spec, dict):
        return f"expected an object, found {type(spec).__name__}"
    for key, (types, required) in RUN_SPEC.items():
        if key not in spec:
            if required:
                return f"'{key}' is missing"
            continue
        value = spec[key]
        if isinstance(value, bool) != (bool in types) or not isinstance(value, types):
            return f"'{key}' is {json.dumps(value)[:40]}, not {' or '.join(t.__name__ for t in types)}"
    if not spec["modes"] or any(m not in MODES for m in spec["modes"]):
        return f"'modes' must list some of {', '.join(MODES)}"
    if spec["seed"] < 0 or spec["jobs"] < 1 or (spec["samples"] is not None and spec["samples"] < 1):
        return "'seed' must be >= 0, 'jobs' and 'samples' >= 1"
    return None
