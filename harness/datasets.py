"""Benchmark inputs: official accuracy sets, or bundled and synthetic inputs.

Official layout (as the MLPerf Tiny runner reads it):
`<dataset_path>/<id>/y_labels.csv` with rows `file,classes,label` (AD rows add
`,window_bytes,stride_bytes`) and the listed files beside it.
"""
from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from itertools import islice
from pathlib import Path

import numpy as np

from harness.benchmarks import Benchmark, get_benchmark
from tinyperf_errors import EXIT_USAGE, TinyperfError

SAMPLES_DIR = Path(__file__).resolve().parent / "data" / "samples"
KWS_SAMPLE = SAMPLES_DIR / "kws01" / "reference_submission_input.bin"
AD_SAMPLE = SAMPLES_DIR / "ad01" / "normal_id_01_00000000_hist_librosa.bin"
AD_BINS = 128  # the AD files are frames of 128 mel bins; a 640-value window is 5 frames


class DatasetError(TinyperfError, ValueError):
    """A dataset that cannot be used, with a one-line reason (a usage error: exit 2)."""

    exit_code = EXIT_USAGE


@dataclass(frozen=True)
class Sample:
    """The input of one inference."""

    name: str  # unique within a run; AD windows are `<file>#<index>`
    label: int | None  # None: no ground truth (synthetic input)
    data: bytes
    file: str  # the file the sample comes from; scores are averaged per file


@dataclass(frozen=True)
class DatasetEntry:
    file: str
    label: int
    path: Path
    size: int
    window: int | None  # AD only
    stride: int | None


def ad_windows(file_bytes: bytes, window: int = 2560, stride: int = 512) -> list[bytes]:
    """The windows the official runner sends for one AD file: `window` bytes every `stride` bytes.

    A trailing part shorter than a window is dropped, as the runner does.
    """
    if window <= 0 or stride <= 0:
        raise ValueError(f"window and stride must be > 0, got {window} and {stride}")
    return [file_bytes[start:start + window] for start in range(0, len(file_bytes) - window + 1, stride)]


def _window_count(size: int, window: int, stride: int) -> int:
    return (size - window) // stride + 1 if size >= window else 0


class Dataset:
    """An official accuracy set: validated up front, files read while iterating."""

    def __init__(self, bench: Benchmark, root: Path, entries: list[DatasetEntry]):
        self.bench = bench
        self.root = root
        self.entries = entries

    @property
    def files(self) -> int:
        return len(self.entries)

    def __len__(self) -> int:
        """Inferences in the set (AD: windows over all files)."""
        if not self.bench.windowed:
            return len(self.entries)
        return sum(_window_count(e.size, e.window, e.stride) for e in self.entries)

    def __iter__(self) -> Iterator[Sample]:
        # Lazy: the AD set alone is ~125 MB of windows.
        for entry in self.entries:
            data = entry.path.read_bytes()
            if not self.bench.windowed:
                yield Sample(entry.file, entry.label, data, entry.file)
                continue
            for i, win in enumerate(ad_windows(data, entry.window, entry.stride)):
                yield Sample(f"{entry.file}#{i:03d}", entry.label, win, entry.file)


def load_dataset(dataset_path: str | Path, bench: Benchmark | str) -> Dataset:
    """The official accuracy set of `bench` under `dataset_path`; DatasetError if it is unusable.

    Every row is checked before anything runs, so a bad set fails in seconds
    rather than hours into a run.
    """
    bench = bench if isinstance(bench, Benchmark) else get_benchmark(bench)
    root = Path(dataset_path) / bench.id
    if Path(dataset_path).exists() and not Path(dataset_path).is_dir():
        raise DatasetError(f"dataset path {dataset_path} is a file: pass the folder that holds {bench.id}/")
    if not root.is_dir():
        hint = " (pass the folder that contains it)" if Path(dataset_path).name == bench.id else ""
        raise DatasetError(f"dataset folder not found: {root}{hint}")
    index = root / "y_labels.csv"
    if not index.is_file():
        raise DatasetError(f"{index} not found: an official dataset lists its files there")
    try:
        with index.open(newline="", encoding="utf-8") as f:
            rows = [(n, row) for n, row in enumerate(csv.reader(f), 1) if any(c.strip() for c in row)]
    except UnicodeDecodeError as err:
        raise DatasetError(f"{index}: not UTF-8 text (byte 0x{err.object[err.start]:02x} at offset {err.start}): "
                           "an official y_labels.csv is plain text") from None
    except csv.Error as err:  # e.g. a field over csv's 128 KiB limit: not a file,classes,label row
        raise DatasetError(f"{index}: not a file,classes,label table ({err})") from None
    except OSError as err:
        raise DatasetError(f"{index}: cannot read it ({err.strerror})") from None
    if not rows:
        raise DatasetError(f"{index} lists no files")
    entries: list[DatasetEntry] = []
    seen: set[str] = set()
    for line, row in rows:
        entry = _parse_row(bench, root, [c.strip() for c in row], f"{index} line {line}")
        if entry.file in seen:
            raise DatasetError(f"{index} line {line}: '{entry.file}' is listed twice")
        seen.add(entry.file)
        entries.append(entry)
    return Dataset(bench, root, entries)


def _parse_row(bench: Benchmark, root: Path, row: list[str], where: str) -> DatasetEntry:
    columns = 5 if bench.windowed else 3
    layout = "file,classes,label,window_bytes,stride_bytes" if bench.windowed else "file,classes,label"
    if len(row) != columns or not row[0]:
        raise DatasetError(f"{where}: expected '{layout}', got {','.join(row)!r}")
    try:
        numbers = [int(c) for c in row[1:]]
    except ValueError:
        raise DatasetError(f"{where}: expected '{layout}' with integers, got {','.join(row)!r}") from None
    classes, label = numbers[0], numbers[1]
    if classes != bench.classes:
        raise DatasetError(f"{where}: {classes} classes, but {bench.name} has {bench.classes}")
    if not 0 <= label < classes:
        raise DatasetError(f"{where}: label {label} is not in 0..{classes - 1}")
    window = stride = None
    if bench.windowed:
        window, stride = numbers[2], numbers[3]
        if window != bench.input_bytes:
            raise DatasetError(f"{where}: window of {window} bytes, but the {bench.name} model takes {bench.input_bytes}")
        if stride <= 0 or stride % 4:
            raise DatasetError(f"{where}: stride {stride} must be a positive multiple of 4 bytes (whole float32 values)")
    path = root / row[0]
    if not path.is_file():
        raise DatasetError(f"{where}: file not found: {path}")
    size = path.stat().st_size
    if bench.windowed:
        if size < bench.input_bytes or size % 4:
            raise DatasetError(f"{where}: {path.name} has {size} bytes; {bench.name} files are float32 values, "
                               f"at least {bench.input_bytes} bytes")
        values = np.memmap(path, dtype="<f4", mode="r")
        bad = sum(int(np.count_nonzero(~np.isfinite(values[i:i + 2**20]))) for i in range(0, values.size, 2**20))
        if bad:  # the model would score them as NaN, and the AUC could not be computed
            raise DatasetError(f"{where}: {path.name} holds {bad} NaN or infinite values; "
                               f"{bench.name} inputs are finite float32 values")
    elif size != bench.input_bytes:
        raise DatasetError(f"{where}: {path.name} has {size} bytes, {_input_size(bench)}")
    return DatasetEntry(row[0], label, path, size, window, stride)


def _input_size(bench: Benchmark) -> str:
    """What an input file of `bench` holds, for the error naming a wrong size."""
    from harness.modelinfo import record_from_model, tensor_bytes

    inputs = record_from_model(bench.model_path).inputs if bench.raw else ()
    if len(inputs) < 2:
        return f"{bench.name} inputs have {bench.input_bytes}"
    parts = " + ".join(str(tensor_bytes(t)) for t in inputs)
    return (f"{bench.name}'s {len(inputs)} input tensors take {bench.input_bytes} bytes together "
            f"({parts}, concatenated in input order)")


def default_inputs(bench: Benchmark | str, count: int, seed: int = 0) -> list[Sample]:
    """`count` inputs for a run without a dataset: the bundled real samples, then seeded synthetic ones.

    Synthetic inputs have the right size and value range but no label; the same
    seed always gives the same bytes.
    """
    return list(iter_default_inputs(bench, count, seed))


def iter_default_inputs(bench: Benchmark | str, count: int, seed: int = 0) -> Iterator[Sample]:
    """default_inputs, made one at a time (a billion of them cost nothing until they run)."""
    bench = bench if isinstance(bench, Benchmark) else get_benchmark(bench)
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    real = _bundled(bench)[:count]
    yield from real
    rng = np.random.default_rng(seed)
    for i in range(count - len(real)):
        yield Sample(f"synthetic-{i:04d}", None, _synthetic(bench, rng), f"synthetic-{i:04d}")


class Inputs:
    """A run's inputs: counted up front, made while iterating (each iteration starts afresh)."""

    def __init__(self, make: Callable[[], Iterable[Sample]], count: int):
        self._make = make
        self._count = count

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[Sample]:
        return islice(self._make(), self._count)


def _bundled(bench: Benchmark) -> list[Sample]:
    if bench.name == "kws":
        # The reference submission's input; its true keyword is not published.
        return [Sample(KWS_SAMPLE.name, None, KWS_SAMPLE.read_bytes(), KWS_SAMPLE.name)]
    if bench.name == "ad":
        # A normal machine recording (label 0), as the official runner windows it.
        name = AD_SAMPLE.name
        windows = ad_windows(AD_SAMPLE.read_bytes(), bench.window_bytes, bench.stride_bytes)
        return [Sample(f"{name}#{i:03d}", 0, w, name) for i, w in enumerate(windows)]
    return []


@cache
def _kws_stats() -> tuple[float, float]:
    real = np.frombuffer(KWS_SAMPLE.read_bytes(), dtype=np.int8).astype(np.float64)
    return float(real.mean()), float(real.std())


@cache
def _ad_bin_stats() -> tuple[np.ndarray, np.ndarray]:
    frames = np.frombuffer(AD_SAMPLE.read_bytes(), dtype="<f4").reshape(-1, AD_BINS).astype(np.float64)
    return frames.mean(axis=0), frames.std(axis=0)


def _synthetic(bench: Benchmark, rng: np.random.Generator) -> bytes:
    if bench.raw:
        return _synthetic_tensor(bench, rng)
    if bench.input_dtype == "uint8":  # ic, vww: any RGB byte is a valid pixel
        return rng.integers(0, 256, bench.input_bytes, dtype=np.uint8).tobytes()
    if bench.input_dtype == "int8":
        # kws: MFCC features quantised around the input zero point; match the real sample's spread.
        mean, std = _kws_stats()
        values = rng.normal(mean, std, bench.input_bytes)
        return np.clip(np.rint(values), -128, 127).astype(np.int8).tobytes()
    # ad: log-mel frames; per-bin mean and spread of the bundled recording keep
    # the spectral shape, so the autoencoder sees plausible windows.
    mean, std = _ad_bin_stats()
    values = rng.normal(mean, std, (bench.input_bytes // 4 // AD_BINS, AD_BINS))
    return values.astype("<f4").tobytes()


def _synthetic_tensor(bench: Benchmark, rng: np.random.Generator) -> bytes:
    """An open-division model's input tensors, concatenated: any int8 or uint8 value;
    float32 values spanning what the QUANTIZE reading the input maps to int8, and beyond."""
    from harness.modelinfo import record_from_model, tensor_bytes

    record = record_from_model(bench.model_path)
    parts = []
    for tensor in record.inputs:
        size = tensor_bytes(tensor)
        if tensor["dtype"] != "float32":
            parts.append(rng.integers(0, 256, size, dtype=np.uint8).tobytes())
            continue
        # Models with several inputs record each float input's QUANTIZE; a single one is read by layer 0.
        first = tensor.get("quantized_as") or record.layers[0]["params"]
        scale, zero_point = first.get("scale", 1.0), first.get("zero_point", 0)
        lo, hi = (-128 - zero_point) * scale, (127 - zero_point) * scale
        margin = 0.1 * (hi - lo)
        parts.append(rng.uniform(lo - margin, hi + margin, size // 4).astype("<f4").tobytes())
    return b"".join(parts)
