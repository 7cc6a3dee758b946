"""The benchmark table: facts and name lookup."""
from __future__ import annotations

import numpy as np
import pytest

from harness.benchmarks import BENCHMARKS, UnknownBenchmarkError, get_benchmark
from harness.reference import model_io


def test_table_has_the_four_benchmarks_in_order():
    assert list(BENCHMARKS) == ["kws", "vww", "ic", "ad"]
    assert [b.id for b in BENCHMARKS.values()] == ["kws01", "vww01", "ic01", "ad01"]


@pytest.mark.parametrize("name, input_bytes, outputs, metric, target, macs, perf, files", [
    ("ic", 3072, 10, "top1", 0.85, 12_501_632, (20, 5), 200),
    ("kws", 490, 12, "top1", 0.90, 2_656_768, (70, 10), 1000),
    ("vww", 27_648, 2, "top1", 0.80, 7_489_664, (20, 5), 1000),
    ("ad", 2560, 1, "auc", 0.85, 264_192, (1500, 10), 248),
])
def test_facts(name, input_bytes, outputs, metric, target, macs, perf, files):
    b = get_benchmark(name)
    assert (b.input_bytes, b.outputs, b.metric, b.target, b.macs) == (input_bytes, outputs, metric, target, macs)
    assert (b.perf_iterations, b.perf_warmups) == perf
    assert b.accuracy_files == files
    assert b.model_path.is_file()


@pytest.mark.parametrize("name", list(BENCHMARKS))
def test_input_bytes_match_the_model_input_tensor(name):
    b = get_benchmark(name)
    element = 4 if b.input_dtype == "float32" else 1
    assert int(np.prod(model_io(name).input_shape)) * element == b.input_bytes


def test_only_ad_is_windowed():
    assert [b.name for b in BENCHMARKS.values() if b.windowed] == ["ad"]
    ad = get_benchmark("ad")
    assert (ad.window_bytes, ad.stride_bytes, ad.classes) == (2560, 512, 2)


def test_lookup_by_id():
    assert get_benchmark("vww01") is get_benchmark("vww")


def test_unknown_name_suggests_the_nearest():
    with pytest.raises(UnknownBenchmarkError, match=r"unknown benchmark 'kwss': did you mean 'kws'\?") as err:
        get_benchmark("kwss")
    assert "\n" not in str(err.value)


def test_unknown_name_without_a_close_match_lists_the_known():
    with pytest.raises(UnknownBenchmarkError, match=r"^unknown benchmark 'zzzzzz' \(known: kws, vww, ic, ad\)$"):
        get_benchmark("zzzzzz")
