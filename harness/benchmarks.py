"""The MLPerf Tiny benchmarks tinyperf runs: one table of facts per benchmark.

Figures come from mlcommons/tiny (models, y_labels.csv, the official runner's
test scripts and the closed-division rules); MACs are computed from the model
(harness.modelinfo), never copied into the table.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from tinyperf_errors import UsageError

MODELS_DIR = Path(__file__).resolve().parent.parent / "firmware" / "models"


RAW_ID = "raw"  # the model id of the raw firmware (`m-model-[raw]`): any model, tensors in and out as is


class UnknownBenchmarkError(UsageError, LookupError):
    """A benchmark name that is not in the table."""


@dataclass(frozen=True)
class Benchmark:
    name: str
    id: str  # the name the DUT reports (`m-model-[...]`) and the dataset folder name
    model_file: str
    input_bytes: int  # bytes the DUT receives per inference (`db load N`)
    input_dtype: str  # element type of those bytes: uint8, int8 or float32 (little endian)
    classes: int  # label classes in y_labels.csv (ad: 0 normal, 1 anomaly)
    outputs: int  # values in the DUT's result vector (ad: one anomaly score)
    metric: str  # quality metric the closed division judges: "top1" or "auc"
    target: float  # closed-division quality target, as a fraction (top-1) or an AUC
    perf_iterations: int  # official performance mode: `infer N W`
    perf_warmups: int
    accuracy_files: int  # files in the official accuracy set
    # AD cuts each file into overlapping windows (y_labels columns 4 and 5).
    window_bytes: int | None = None
    stride_bytes: int | None = None
    # Open division: the user's .tflite in place of the built-in model (harness.openmodel).
    model_source: Path | None = None

    @property
    def model_path(self) -> Path:
        return self.model_source or MODELS_DIR / self.model_file

    @property
    def raw(self) -> bool:
        """Open division without a closed benchmark: input files are the model's input tensors, concatenated."""
        return self.id == RAW_ID

    @property
    def macs(self) -> int:
        from harness.modelinfo import record_from_model

        return record_from_model(self.model_path).macs

    @property
    def windowed(self) -> bool:
        return self.window_bytes is not None


_TABLE = (
    Benchmark("kws", "kws01", "kws_ref_model.tflite", 490, "int8", 12, 12, "top1", 0.90, 70, 10, 1000),
    Benchmark("vww", "vww01", "vww_96_int8.tflite", 27_648, "uint8", 2, 2, "top1", 0.80, 20, 5, 1000),
    Benchmark("ic", "ic01", "pretrainedResnet_quant.tflite", 3072, "uint8", 10, 10, "top1", 0.85, 20, 5, 200),
    # 248 files (140 normal, 108 anomaly), ~196 windows each (a 25,600-float file gives 196).
    Benchmark("ad", "ad01", "ad01_int8.tflite", 2560, "float32", 2, 1, "auc", 0.85, 1500, 10, 248,
              window_bytes=2560, stride_bytes=512),
)

BENCHMARKS: dict[str, Benchmark] = {b.name: b for b in _TABLE}


def get_benchmark(name: str) -> Benchmark:
    """The benchmark called `name` (or its id, e.g. 'kws01'); UnknownBenchmarkError with a suggestion."""
    if name in BENCHMARKS:
        return BENCHMARKS[name]
    by_id = {b.id: b for b in _TABLE}
    if name in by_id:
        return by_id[name]
    close = difflib.get_close_matches(name, [*BENCHMARKS, *by_id], n=1, cutoff=0.4)
    hint = f": did you mean '{close[0]}'?" if close else ""
    raise UnknownBenchmarkError(f"unknown benchmark '{name}'{hint} (known: {', '.join(BENCHMARKS)})")
