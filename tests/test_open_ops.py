"""The open-division operators of issue 14 item 3 through the CLI: a model
chaining TRANSPOSE_CONV, a MUL by a constant per-channel vector (broadcast) and
an ADD of a MEAN of its own operand (broadcast) compiles, lists its portable
layers in an optimized build, and runs bit-exact with TFLM in emulation."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import needs_toolchain
from test_cli_errors import tinyperf
from tests.support.engines import run_host, run_tflm
from tests.support.tflite_builder import OpSpec, TensorSpec, build_model, random_transpose_conv, single_op_model


def _tconv_broadcast_model(path: Path) -> Path:
    """x (1,4,5,3) -> TRANSPOSE_CONV 3x3 stride 2 SAME -> (1,8,10,4) -> MUL by a constant (4,)
    -> ADD its own MEAN over H and W (1,1,1,4) -> out."""
    rng = np.random.default_rng(14)
    fs = [float(np.float32(s)) for s in rng.uniform(0.002, 0.01, size=4)]
    tensors = [
        TensorSpec((1, 4, 5, 3), np.int8, 0.05, 3, name="x"),
        TensorSpec((4,), np.int32, data=np.array([1, 8, 10, 4], np.int32), name="shape"),
        TensorSpec((4, 3, 3, 3), np.int8, fs, 0, 0, rng.integers(-127, 128, size=(4, 3, 3, 3)).astype(np.int8)),
        TensorSpec((4,), np.int32, [0.05 * f for f in fs], 0, 0, rng.integers(-300, 301, size=4).astype(np.int32)),
        TensorSpec((1, 8, 10, 4), np.int8, 0.04, -5, name="t"),
        TensorSpec((4,), np.int8, 0.01, 0, data=np.array([100, -60, 127, 30], np.int8), name="gain"),
        TensorSpec((1, 8, 10, 4), np.int8, 0.03, 2, name="g"),
        TensorSpec((2,), np.int32, data=np.array([1, 2], np.int32), name="axes"),
        TensorSpec((1, 1, 1, 4), np.int8, 0.02, -1, name="m"),
        TensorSpec((1, 8, 10, 4), np.int8, 0.06, 4, name="out"),
    ]
    ops = [OpSpec("TRANSPOSE_CONV", [1, 2, 0, 3], [4], "TransposeConvOptions",
                  {"Padding": 0, "StrideW": 2, "StrideH": 2, "FusedActivationFunction": 0}),
           OpSpec("MUL", [4, 5], [6], "MulOptions", {"FusedActivationFunction": 0}),
           OpSpec("MEAN", [6, 7], [8], "ReducerOptions", {"KeepDims": True}),
           OpSpec("ADD", [8, 6], [9], "AddOptions", {"FusedActivationFunction": 0})]
    path.write_bytes(build_model(ops, [0], [9], tensors))
    return path


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    return _tconv_broadcast_model(tmp_path_factory.mktemp("openops") / "tconv_bcast.tflite")


def test_host_build_bit_exact(model):
    """The constant operand sits in a middle layer (the host build names it per layer)."""
    x = np.random.default_rng(0).integers(-128, 128, size=(6, 60)).astype(np.int8)
    want = run_tflm(model.read_bytes(), x)
    assert np.array_equal(run_host(model.read_bytes(), x), want)
    assert len(np.unique(want)) > 50  # outputs spread over the int8 range, not clamped


@pytest.mark.parametrize("source, op", [("tensorflow/lite/micro/kernels/transpose_conv.cc", "TRANSPOSE_CONV"),
                                        ("arm_transpose_conv_s8.c", "TRANSPOSE_CONV"),
                                        ("tensorflow/lite/micro/kernels/conv.cc", "CONV_2D")])
def test_third_party_transpose_conv_is_not_counted_as_conv(source, op):
    from harness.operators import operator_for

    assert operator_for(source) == op


def test_transpose_conv_output_shape_input_must_agree(tmp_path):
    """TFLM sizes the output from the output tensor; a shape input that says otherwise is refused."""
    from modelc import ModelcError
    from modelc.compiler import analyse

    spec, _ = random_transpose_conv(np.random.default_rng(5))
    spec.inputs[0].data = spec.inputs[0].data + np.array([0, 1, 0, 0], np.int32)
    path = tmp_path / "tconv.tflite"
    path.write_bytes(single_op_model(spec))
    with pytest.raises(ModelcError, match=r"^unsupported operator TRANSPOSE_CONV \(op index 0\): the output shape "
                                          r"input must be a constant equal to the output tensor's shape in tconv"):
        analyse(str(path))


@needs_toolchain
def test_opt_build_names_the_portable_layers(model, tmp_path):
    proc = tinyperf("build", "--model", str(model), "-p", "cortex-m4", "--kernels", "opt", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.err
    notes = [line for line in proc.err.splitlines() if "portable path:" in line]
    for symbol in ("layer_00_transpose_conv2d_s8", "layer_01_mul_broadcast_s8", "layer_03_add_broadcast_s8"):
        assert any(symbol in line and "no optimized kernel" in line for line in notes), proc.err


@needs_toolchain
def test_profile_measures_the_portable_layers_build_names(model, tmp_path):
    from harness.modelinfo import record_from_model
    from harness.portable import portable_layers
    from platforms import get_platform

    proc = tinyperf("profile", "--model", str(model), "-p", "cortex-m4", "--kernels", "opt", "--json",
                    "--out", str(tmp_path), "--outputs", "0", "-n", "1")
    assert proc.returncode == 0, proc.err
    measured = {row["symbol"] for row in json.loads(proc.out)["portable"]}
    predicted = {symbol for symbol, _, _ in portable_layers(record_from_model(model).layers,
                                                           get_platform("cortex-m4"))}
    # No layer has an optimized kernel, so no `tp_*_ref` fallback is linked: the build folder's
    # kernels.txt tells the opt image from a reference one.
    assert measured == predicted == {"layer_00_transpose_conv2d_s8", "layer_01_mul_broadcast_s8",
                                     "layer_02_mean_s8", "layer_03_add_broadcast_s8"}
    proc = tinyperf("profile", "--model", str(model), "-p", "cortex-m4", "--kernels", "ref", "--json",
                    "--out", str(tmp_path / "ref"), "--outputs", "0", "-n", "1")
    assert proc.returncode == 0, proc.err
    assert json.loads(proc.out)["portable"] == []


@needs_toolchain
@pytest.mark.parametrize("platform, kernels", [("cortex-m4", "opt"), ("cortex-m55", "opt"), ("cortex-m0plus", "ref")])
def test_runs_bit_exact_in_emulation(model, tmp_path, platform, kernels):
    proc = tinyperf("run", "--model", str(model), "-p", platform, "--kernels", kernels, "-n", "3", "--json",
                    "--results", str(tmp_path))
    assert proc.returncode == 0, proc.err
    doc = json.loads(proc.out)
    result = doc["results"][0] if "results" in doc else doc[0]
    assert result["verify"]["bit_exact"] == result["verify"]["samples"] == 3
    # MACs: the transpose conv's 4*5*3 inputs x 3*3 taps x 4 outputs; MUL, MEAN and ADD count none.
    assert result["macs"] == 4 * 5 * 3 * 9 * 4
