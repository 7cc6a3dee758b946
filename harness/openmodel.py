"""Open division: which model a command runs, and the firmware image for it.

`--model PATH.tflite` alone runs the model in the `raw` firmware (the input
file is the model's input tensors as they are, concatenated in input order;
verify compares every output's bytes with host TFLM on that model).  With a
benchmark name (`run kws --model my.tflite`) the model replaces the
benchmark's: same input files, data set and scoring.
Images are built into the cache, keyed by the model's hash, the platform, the
kernel set and the compiler flags; make rebuilds them when sources change.

Every image records the model it was compiled from (harness.modelinfo); an
image whose model is not the one a command expects is refused, naming both.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import replace
from pathlib import Path

from harness.benchmarks import BENCHMARKS, RAW_ID, Benchmark, UnknownBenchmarkError, get_benchmark
from harness.modelinfo import (ELEMENT_BYTES, ModelError, ModelRecord, find_model, record_from_elf, record_from_model,
                               store_model)
from platforms import Platform
from tinyperf_errors import UsageError

# Perf loop: about this many MACs in the measured window (kws's official 70
# inferences are ~190 M MACs; emulation time, not the device's, is what limits
# us), at least one inference and at most the official maximum used (1500).
PERF_WINDOW_MACS = 20_000_000
MAX_PERF_ITERATIONS = 1500


class ModelMismatchError(UsageError):
    """An image built from another model than the one a command expects."""


def perf_iterations(macs: int) -> int:
    return max(1, min(MAX_PERF_ITERATIONS, math.ceil(PERF_WINDOW_MACS / max(macs, 1))))


def open_benchmark(model: Path, base: Benchmark | None = None, name: str | None = None) -> Benchmark:
    """The benchmark that runs `model` (called `name`, default its file name):
    the raw one, or `base` with its model replaced."""
    model = Path(model)
    if not model.is_file():
        raise ModelError(f"{model}: no such model file; pass a .tflite")
    record = record_from_model(model)  # a model modelc cannot compile fails here, in one line
    source = store_model(model)
    name = name or source.name
    dtype = record.input["dtype"]
    in_values = math.prod(record.input["shape"])
    out_values = math.prod(record.output["shape"])
    if base is None:
        # Several inputs: the input file is their bytes concatenated; input_dtype is input 0's.
        return Benchmark(Path(name).stem, RAW_ID, name, record.input_bytes, dtype,
                         out_values, out_values, "top1", 0.0, perf_iterations(record.macs), 1, 0,
                         model_source=source)
    expected_values = base.input_bytes // ELEMENT_BYTES[base.input_dtype]
    if len(record.inputs) > 1 or dtype != "int8" or in_values != expected_values or \
            (base.metric != "auc" and out_values != base.outputs):
        inputs = f"{len(record.inputs)} inputs" if len(record.inputs) > 1 else f"{in_values} {dtype} values"
        raise ModelError(f"{name} takes {inputs} and gives {out_values}; {base.name} firmware "
                         f"needs an int8 model with {expected_values} inputs"
                         + ("" if base.metric == "auc" else f" and {base.outputs} outputs")
                         + f": run it without the benchmark name ('--model {model}' alone)")
    out_q = (record.output["scale"], record.output["zero_point"])
    if base.metric == "top1" and out_q != (1.0 / 256, -128):
        # The closed firmware prints class probabilities in the reference formats (kws: "0.ddd").
        raise ModelError(f"{name}'s output has scale {out_q[0]:g} and zero point {out_q[1]}; {base.name} firmware "
                         "prints probabilities and needs a softmax output (scale 1/256, zero point -128): "
                         f"run it without the benchmark name ('--model {model}' alone)")
    return replace(base, model_file=name, model_source=source)


def resolve(names: tuple[str, ...], model: Path | None) -> list[Benchmark]:
    """The benchmarks a command names, with --model applied (at most one benchmark then)."""
    try:
        benches = [get_benchmark(n) for n in names]
    except UnknownBenchmarkError as err:
        raise ModelError(str(err)) from None
    if model is None:
        return benches
    if len(benches) > 1:
        raise ModelError("--model runs one model: name at most one benchmark (its inputs and scoring are used)")
    return [open_benchmark(model, benches[0] if benches else None)]


def firmware_id(bench: Benchmark) -> str:
    """The make BENCH of a benchmark's firmware."""
    return RAW_ID if bench.raw else bench.name


def build_for(bench: Benchmark, platform: Platform, kernels: str = "ref", outdir: Path | None = None) -> Path:
    """The image running an open benchmark's model, built once per model, platform, kernels and flags."""
    from harness.build import OPT_FLAGS, build_image

    sha = record_from_model(bench.model_path).sha256
    flags = hashlib.sha256(" ".join(OPT_FLAGS + list(platform.cflags)).encode()).hexdigest()[:8]
    fw = firmware_id(bench)
    return build_image(platform, "bench", fw, outdir, kernels, model=bench.model_path,
                       cache_key=f"{fw}-model-{sha[:16]}-{flags}")


def check_image(elf: Path, bench: Benchmark) -> None:
    """Refuse an image built from another model than `bench`'s, naming both."""
    record = record_from_elf(elf)
    if record is None:
        return  # third-party firmware: only its reported model id can be checked
    want = record_from_model(bench.model_path)
    if record.sha256 == want.sha256:
        return
    closed = next((b for b in BENCHMARKS.values() if record_from_model(b.model_path).sha256 == record.sha256), None)
    if closed is not None and closed.id != bench.id:  # another benchmark's firmware: say so as its profile% answer would
        raise ModelMismatchError(f"{elf} reports model '{closed.id}', not '{bench.id}' (its model record: "
                                 f"{record.short}): pass the {bench.name} firmware")
    raise ModelMismatchError(f"{elf} was compiled from {record.short}, not {bench.name}'s model {want.short}: "
                             f"pass '--model {record.name}' to run that model")


def bench_for_image(elf: Path, reported: str) -> Benchmark | None:
    """The benchmark of an image that reports model id `reported` when the
    command names none: a closed one by id, or the model recorded inside the
    image (found among the bundled models and those built with --model)."""
    try:
        bench = get_benchmark(reported)
    except UnknownBenchmarkError:
        bench = None
    record = record_from_elf(elf)
    if record is None or (bench is None and reported != RAW_ID):
        return bench
    if bench is not None and record_from_model(bench.model_path).sha256 == record.sha256:
        return bench
    model = find_model(record.sha256)
    if model is None:
        raise ModelMismatchError(f"{elf} was compiled from {record.short}, which tinyperf has not seen: "
                                 f"pass '--model {record.name}'")
    return open_benchmark(model, bench, record.name)


def record_of(elf: Path, bench: Benchmark | None) -> ModelRecord | None:
    """The model an image runs: its own record, else its benchmark's model."""
    return record_from_elf(elf) or (record_from_model(bench.model_path) if bench else None)
