"""The host reference: what a TFLM device must compute for one inference.

Raw int8 outputs come from tflite-micro's host build (it *is* TFLM, so every
requantisation matches the firmware bit for bit). The input conversion and the
scoring that the benchmark firmware does around `Invoke()` are reproduced here
in the same arithmetic (float32, C rounding) so the host can predict the exact
result vector the DUT prints.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import tflite
from tflite.TensorType import TensorType

from harness.benchmarks import Benchmark, get_benchmark
from harness.modelinfo import record_from_model, split_tensors, tensor_bytes, tensor_label
from tinyperf_errors import TinyperfError

MISSING_TFLM = "host reference needs tflite-micro: pip install 'tinyperf[reference]'"


class ReferenceUnavailableError(TinyperfError, RuntimeError):
    """tflite-micro is not installed."""


@dataclass(frozen=True)
class Quantisation:
    scale: np.float32
    zero_point: int


@dataclass(frozen=True)
class ModelIO:
    input_shape: tuple[int, ...]
    input: Quantisation
    output: Quantisation
    output_dtype: str = "int8"  # int8, uint8 or float32 (open-division models)


_NUMPY_TYPES = {TensorType.INT8: "int8", TensorType.UINT8: "uint8", TensorType.FLOAT32: "float32"}


def model_io(bench: Benchmark | str) -> ModelIO:
    """Input shape and in/out quantisation of a benchmark's model (its own, or an open-division one)."""
    bench = bench if isinstance(bench, Benchmark) else get_benchmark(bench)
    return _model_io(bench.model_path)


@cache
def _model_io(model_path) -> ModelIO:
    """Read with the `tflite` schema package rather than tflite-micro so that
    scoring works even where the host reference is not installed."""
    model = tflite.Model.GetRootAsModel(model_path.read_bytes(), 0)
    graph = model.Subgraphs(0)
    tin, tout = graph.Tensors(graph.Inputs(0)), graph.Tensors(graph.Outputs(0))

    def quant(tensor) -> Quantisation:
        q = tensor.Quantization()
        if q is None or q.ScaleLength() == 0:  # a float32 model input or output
            return Quantisation(np.float32(1.0), 0)
        return Quantisation(np.float32(q.Scale(0)), int(q.ZeroPoint(0)))

    return ModelIO(tuple(int(d) for d in tin.ShapeAsNumpy()), quant(tin), quant(tout),
                   _NUMPY_TYPES.get(tout.Type(), "int8"))


_TENSOR_TYPE_BYTES = {TensorType.INT8: 1, TensorType.UINT8: 1, TensorType.BOOL: 1, TensorType.INT16: 2,
                      TensorType.FLOAT16: 2, TensorType.INT32: 4, TensorType.FLOAT32: 4, TensorType.INT64: 8}


def tflm_arena_bytes(model_path: Path | str) -> int:
    """An arena for the host TFLM interpreter: its default, 10 times the model
    file, plus every non-constant tensor's bytes (more than TFLM plans for
    them). The default alone fails on models with few weights and large
    activations, e.g. a LOGISTIC over 4,096 values in a 1 KiB file."""
    data = Path(model_path).read_bytes()
    model = tflite.Model.GetRootAsModel(data, 0)
    activations = 0
    for g in range(model.SubgraphsLength()):
        graph = model.Subgraphs(g)
        for t in range(graph.TensorsLength()):
            tensor = graph.Tensors(t)
            if model.Buffers(tensor.Buffer()).DataLength() == 0:
                count = int(np.prod(tensor.ShapeAsNumpy(), dtype=np.int64)) if tensor.ShapeLength() else 1
                activations += count * _TENSOR_TYPE_BYTES.get(tensor.Type(), 8)
    return 10 * len(data) + activations


def quantise_ad(x: np.ndarray, q: Quantisation) -> np.ndarray:
    """int8 of `round(x / scale) + zero_point`, clamped, as the AD firmware computes it.

    The division is float32 (single-precision FPU); C `round()` then works on the
    exact double of that float32 and rounds halves away from zero. numpy's
    `round` rounds halves to even, so the away-from-zero rounding is spelled out
    in float64, where `|v| + 0.5` is exact for every float32 `v` that is not
    already an integer.
    """
    v = (np.asarray(x, dtype=np.float32) / q.scale).astype(np.float64)
    rounded = np.sign(v) * np.floor(np.abs(v) + 0.5)
    return np.clip(rounded + q.zero_point, -128, 127).astype(np.int8)


def model_input(bench: Benchmark, input_bytes: bytes) -> np.ndarray:
    """The int8 input tensor the device builds from the bytes it received for one inference
    (input 0 of an open-division model: see model_inputs)."""
    return model_inputs(bench, input_bytes)[0]


def model_inputs(bench: Benchmark, input_bytes: bytes) -> list[np.ndarray]:
    """Every input tensor the device builds from the bytes it received for one inference."""
    if len(input_bytes) != bench.input_bytes:
        raise ValueError(f"{bench.name} takes {bench.input_bytes} input bytes per inference, got {len(input_bytes)}")
    if bench.raw:  # open division: the file is the model's input tensors (int8, uint8 or float32), concatenated
        return split_tensors(record_from_model(bench.model_path).inputs, input_bytes)
    io = model_io(bench)
    if bench.input_dtype == "uint8":  # ic, vww: the device subtracts 128
        q = (np.frombuffer(input_bytes, dtype=np.uint8).astype(np.int16) - 128).astype(np.int8)
    elif bench.input_dtype == "int8":  # kws: features arrive already quantised
        q = np.frombuffer(input_bytes, dtype=np.int8)
    else:  # ad: float32 LE spectrogram window
        q = quantise_ad(np.frombuffer(input_bytes, dtype="<f4"), io.input)
    return [q.reshape(io.input_shape)]


class HostReference:
    """TFLM on the host for one benchmark's model."""

    def __init__(self, bench: Benchmark | str):
        self.bench = bench if isinstance(bench, Benchmark) else get_benchmark(bench)
        try:
            from tflite_micro.python.tflite_micro import runtime
        except ImportError:
            raise ReferenceUnavailableError(MISSING_TFLM) from None
        path = self.bench.model_path
        self._interpreter = runtime.Interpreter.from_file(str(path), arena_size=tflm_arena_bytes(path))
        self._outputs = len(record_from_model(path).outputs)

    def raw_output(self, input_bytes: bytes) -> np.ndarray:
        """The model's output bytes (flattened, as int8) for the bytes the DUT receives for one
        inference: every output tensor's, concatenated in output order as `outputs%` prints them."""
        for index, tensor in enumerate(model_inputs(self.bench, input_bytes)):
            self._interpreter.set_input(tensor, index)
        self._interpreter.invoke()
        return np.concatenate([np.ascontiguousarray(np.asarray(self._interpreter.get_output(index))).view(np.int8)
                               .reshape(-1) for index in range(self._outputs)])

    def result(self, input_bytes: bytes) -> np.ndarray:
        """The result vector the DUT prints (before formatting) for one inference."""
        return score(self.bench, self.raw_output(input_bytes), input_bytes)


def differing_outputs(bench: Benchmark, got: bytes, expected: np.ndarray) -> list[str]:
    """The output tensors whose bytes differ between the DUT's `outputs%` reply and host
    TFLM's, each as "output K (shape dtype)" (models with one output: empty)."""
    outputs = record_from_model(bench.model_path).outputs
    if len(outputs) == 1:
        return []
    found, at = [], 0
    for index, tensor in enumerate(outputs):
        size = tensor_bytes(tensor)
        if got[at:at + size] != expected[at:at + size].tobytes():
            found.append(f"output {index} ({tensor_label(tensor)})")
        at += size
    return found


def score(bench: Benchmark | str, raw_output: np.ndarray, input_bytes: bytes) -> np.ndarray:
    """The float32 result vector the firmware computes from the raw int8 output.

    ic/kws/vww: the dequantised output `(q - zp) * scale` (of output 0, when a model has several).
    ad: one value, the mean squared error between the float input window and the
    dequantised reconstruction. Every step is float32 like the firmware's loop:
    diff = (q_out - zp) * scale - x, then sum += diff * diff in index order
    0..639 (sequential, not numpy's pairwise summation, which can differ in the
    last bits), and finally sum / 640.
    """
    bench = bench if isinstance(bench, Benchmark) else get_benchmark(bench)
    io = model_io(bench)
    out = io.output
    # Results come from output 0 (a model with several outputs: the first of the concatenated bytes).
    raw_output = np.asarray(raw_output).reshape(-1)[:tensor_bytes(record_from_model(bench.model_path).output)]
    if io.output_dtype != "int8":  # open division: uint8 or float32 output bytes
        values = np.ascontiguousarray(raw_output, dtype=np.int8).view(np.dtype(io.output_dtype).newbyteorder("<"))
        return values.astype(np.float32) if io.output_dtype == "float32" else \
            (values.astype(np.int32) - out.zero_point).astype(np.float32) * out.scale
    deq = (np.asarray(raw_output, dtype=np.int32).reshape(-1) - out.zero_point).astype(np.float32) * out.scale
    if bench.metric != "auc":
        return deq
    x = np.frombuffer(input_bytes, dtype="<f4")
    if x.size != deq.size:
        raise ValueError(f"ad scores {deq.size} outputs against the input window, got {x.size} input values")
    diff = deq - x
    running = np.add.accumulate(diff * diff, dtype=np.float32)  # accumulate is strictly sequential
    return np.array([running[-1] / np.float32(x.size)], dtype=np.float32)
