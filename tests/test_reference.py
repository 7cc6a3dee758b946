"""The host reference: TFLM outputs and the firmware's input conversion and scoring."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from harness.reference import (
    MISSING_TFLM, HostReference, Quantisation, ReferenceUnavailableError, model_input, model_io, quantise_ad, score,
)
from harness.benchmarks import get_benchmark

DATA = Path(__file__).resolve().parent.parent / "harness" / "data" / "samples"
KWS_SAMPLE = (DATA / "kws01" / "reference_submission_input.bin").read_bytes()
AD_FILE = (DATA / "ad01" / "normal_id_01_00000000_hist_librosa.bin").read_bytes()

needs_tflm = pytest.mark.skipif(
    importlib.util.find_spec("tflite_micro") is None, reason="tflite-micro not installed")


@needs_tflm
def test_kws_reference_sample_is_class_5():
    raw = HostReference("kws").raw_output(KWS_SAMPLE)
    assert raw.dtype == np.int8 and raw.shape == (12,)
    assert int(np.argmax(raw)) == 5


@needs_tflm
def test_result_is_the_dequantised_output():
    ref = HostReference("kws")
    result = ref.result(KWS_SAMPLE)
    assert result.dtype == np.float32
    expected = np.zeros(12, dtype=np.float32)
    expected[5] = 255 / 256  # raw 127, zero point -128, scale 1/256
    np.testing.assert_array_equal(result, expected)


@needs_tflm
def test_ad_window_scores_one_mse():
    window = AD_FILE[:2560]
    ref = HostReference("ad")
    result = ref.result(window)
    assert result.shape == (1,) and result.dtype == np.float32
    assert 0 < result[0] < 1000


@needs_tflm
@pytest.mark.parametrize("name", ["ic", "vww"])
def test_image_models_run(name):
    raw = HostReference(name).raw_output(bytes(get_benchmark(name).input_bytes))
    assert raw.shape == (get_benchmark(name).outputs,)


def test_missing_tflite_micro_is_a_one_line_error(monkeypatch):
    # None in sys.modules makes the import fail even after an earlier test imported it
    monkeypatch.setitem(sys.modules, "tflite_micro.python.tflite_micro", None)
    with pytest.raises(ReferenceUnavailableError) as err:
        HostReference("kws")
    assert str(err.value) == MISSING_TFLM == "host reference needs tflite-micro: pip install 'tinyperf[reference]'"


def test_uint8_inputs_are_shifted_by_128():
    data = bytes([0, 128, 255]) + bytes(3069)
    tensor = model_input(get_benchmark("ic"), data)
    assert tensor.dtype == np.int8 and tensor.shape == (1, 32, 32, 3)
    assert tensor.reshape(-1)[:4].tolist() == [-128, 0, 127, -128]


def test_kws_input_is_taken_as_is():
    tensor = model_input(get_benchmark("kws"), KWS_SAMPLE)
    assert tensor.shape == (1, 49, 10, 1)
    assert tensor.reshape(-1).tobytes() == KWS_SAMPLE


def test_wrong_input_size_is_rejected():
    with pytest.raises(ValueError, match="kws takes 490 input bytes per inference, got 10"):
        model_input(get_benchmark("kws"), bytes(10))


@pytest.mark.parametrize("x, expected", [
    (0.25, 1), (-0.25, -1),      # 0.5 -> 1, -0.5 -> -1: away from zero
    (0.75, 2), (-0.75, -2),      # 1.5 -> 2
    (1.25, 3), (-1.25, -3),      # 2.5 -> 3 (numpy's round-half-even would give 2)
    (0.2, 0), (0.3, 1), (-0.3, -1),
    (1000.0, 127), (-1000.0, -128),  # clamped to int8
])
def test_ad_quantisation_rounds_half_away_from_zero(x, expected):
    q = Quantisation(np.float32(0.5), 0)
    assert quantise_ad(np.array([x], dtype=np.float32), q).tolist() == [expected]


def test_ad_quantisation_adds_the_zero_point_then_clamps():
    q = Quantisation(np.float32(1.0), 89)
    x = np.array([38.5, 38.4, -217.5, -216.0], dtype=np.float32)
    assert quantise_ad(x, q).tolist() == [127, 127, -128, -127]


@pytest.mark.parametrize("x, expected", [
    (-23.265405654907227, 29),   # float32 x/scale is exactly -59.5 -> -60; in float64 it is -59.4999984 -> -59
    (-21.31032943725586, 34),    # float32 -54.5 -> -55; float64 -54.4999982 -> -54
])
def test_ad_quantisation_divides_in_float32(x, expected):
    q = model_io("ad").input
    assert (float(q.scale), q.zero_point) == (pytest.approx(0.39101523), 89)
    assert quantise_ad(np.array([x], dtype=np.float32), q).tolist() == [expected]
    float64_result = int(np.clip(np.round(x / float(q.scale)) + 89, -128, 127))
    assert float64_result != expected  # the case really tells the two apart


def test_ad_mse_sums_sequentially_in_float32():
    rng = np.random.default_rng(0)
    raw = rng.integers(-128, 128, 640).astype(np.int8)
    x = rng.normal(-28, 11, 640).astype(np.float32)
    out = model_io("ad").output
    deq = (raw.astype(np.int32) - out.zero_point).astype(np.float32) * out.scale
    total = np.float32(0)
    for d in deq - x:  # the firmware's loop: index 0..639, every step in float32
        total = np.float32(total + np.float32(d * d))
    expected = np.float32(total / np.float32(640))
    got = score("ad", raw, x.tobytes())
    assert got.dtype == np.float32 and got.shape == (1,)
    assert got[0] == expected
    pairwise = np.float32(np.sum((deq - x) ** 2) / np.float32(640))
    assert pairwise != expected  # numpy's pairwise sum would differ in the last bits here


def test_classifier_score_dequantises():
    raw = np.array([-128, 127], dtype=np.int8)
    np.testing.assert_array_equal(score("vww", raw, bytes(27648)), np.array([0, 255 / 256], dtype=np.float32))
