"""Host results printed the way the reference firmware prints `m-results-[...]`.

Firmware without our `outputs%` command can still be verified: host TFLM's
result vector (harness.reference.score) is printed as the MLPerf Tiny
reference submissions' th_results print it, and compared value by value with
the DUT's line.  Formats (benchmark/reference_submissions in mlcommons/tiny):
  ic   "%0.3f" values joined by ","
  vww  "%0.3f" values, each followed by ","
  kws  "0.%d%d%d" of int(v*10), int(v*100)%10, int(v*1000)%10 (float32, truncated)
  ad   one "%0.3f": the mean squared error of the reconstruction
Printed values have three decimals, so differences are counted in units of
0.001 (one printed unit)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.benchmarks import Benchmark

PRINTED_UNIT = 0.001
AGREE_UNITS = 1  # printf rounding of a value on a rounding edge may differ by one unit


def printed_values(bench: Benchmark, values: np.ndarray) -> list[str]:
    """Each host value as the reference firmware prints it."""
    values = np.asarray(values, dtype=np.float32).reshape(-1)
    if bench.name == "kws":
        return [_kws(v) for v in values]
    return ["%0.3f" % float(v) for v in values]


def _kws(v: np.float32) -> str:
    # C: static_cast<int>(float * int) is a float32 product truncated toward zero.
    tenths, hundredths, thousandths = (int(np.float32(v) * np.float32(k)) for k in (10, 100, 1000))
    return f"0.{tenths}{hundredths % 10}{thousandths % 10}"


@dataclass(frozen=True)
class PrintedComparison:
    agree: bool
    top1_agree: bool
    max_diff_units: int | None  # None when the lengths differ


def compare_printed(bench: Benchmark, dut_values: list[float], host_values: np.ndarray) -> PrintedComparison:
    """The DUT's printed results against host TFLM's, printed the same way."""
    host = [float(s) for s in printed_values(bench, host_values)]
    if len(dut_values) != len(host) or not host:
        return PrintedComparison(False, False, None)
    units = int(round(max(abs(d - h) for d, h in zip(dut_values, host)) / PRINTED_UNIT))
    top1 = len(host) == 1 or int(np.argmax(dut_values)) == int(np.argmax(host))
    return PrintedComparison(top1 and units <= AGREE_UNITS, top1, units)
