"""Open division: `--model PATH.tflite` on build/run/profile/compare, and the model
record every image carries (its source model's name, sha256, MACs)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from conftest import needs_toolchain
from test_cli_errors import assert_one_line_error, tinyperf
from tests.support.tflite_builder import OpSpec, TensorSpec, build_model, make_case, single_op_model

pytestmark = needs_toolchain


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    """A one-conv raw model, a kws-shaped model (490 int8 in, 12-way softmax out) and a
    model with an operator modelc lacks."""
    d = tmp_path_factory.mktemp("models")
    conv = d / "my conv.tflite"  # a space: paths reach make only through our cache
    conv.write_bytes(make_case("conv2d", 3)[0])
    rng = np.random.default_rng(1)
    w = rng.integers(-127, 128, size=(12, 490)).astype(np.int8)
    tensors = [TensorSpec((1, 490), np.int8, 0.5847, 83), TensorSpec((12, 490), np.int8, 0.002, 0, 0, w),
               TensorSpec((12,), np.int32, 0.5847 * 0.002, 0, 0, rng.integers(-500, 500, 12).astype(np.int32)),
               TensorSpec((1, 12), np.int8, 0.3, -5), TensorSpec((1, 12), np.int8, 1.0 / 256, -128)]
    ops = [OpSpec("FULLY_CONNECTED", [0, 1, 2], [3], "FullyConnectedOptions", {"FusedActivationFunction": 0}),
           OpSpec("SOFTMAX", [3], [4], "SoftmaxOptions", {"Beta": 1.0})]
    kws = d / "kwsfc.tflite"
    kws.write_bytes(build_model(ops, [0], [4], tensors))
    bad = d / "bad.tflite"
    bad.write_bytes(single_op_model(OpSpec(
        "SPACE_TO_DEPTH", [TensorSpec((1, 4, 4, 2), np.int8, 0.1, 0)], [TensorSpec((1, 2, 2, 8), np.int8, 0.1, 0)],
        "SpaceToDepthOptions", {"BlockSize": 2})))
    floats = d / "float_io.tflite"  # float32 in and out through QUANTIZE / DEQUANTIZE
    floats.write_bytes(make_case("quantize_io", 3)[0])
    return {"conv": conv, "kws": kws, "bad": bad, "floats": floats}


def test_image_records_its_model(models, tmp_path):
    from harness.modelinfo import record_from_elf, record_from_model

    proc = tinyperf("build", "--model", str(models["conv"]), "-p", "cortex-m4", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.err
    elf = tmp_path / "ref" / "cortex-m4" / "my_conv" / "raw.elf"
    record = record_from_elf(elf)
    assert record.name == "my_conv.tflite"
    assert record.sha256 == hashlib.sha256(models["conv"].read_bytes()).hexdigest()
    assert record.macs == record_from_model(models["conv"]).macs > 0
    assert [layer["op"] for layer in record.layers] == ["CONV_2D"]


@pytest.mark.parametrize("name, platform", [("conv", "cortex-m4"), ("floats", "cortex-m4"),
                                            ("floats", "cortex-m0plus")])
def test_raw_run_verifies_against_that_model(models, tmp_path, name, platform):
    proc = tinyperf("run", "--model", str(models[name]), "-p", platform, "-n", "3", "--json",
                    "--results", str(tmp_path))
    assert proc.returncode == 0, proc.err
    doc = json.loads(proc.out)
    result = doc["results"][0] if "results" in doc else doc[0]
    from harness.modelinfo import record_from_model
    from harness.openmodel import perf_iterations

    macs = record_from_model(models[name]).macs
    assert result["macs"] == macs
    assert result["verify"]["bit_exact"] == result["verify"]["samples"] == 3
    assert result["perf"]["iterations"] == perf_iterations(macs)


def test_benchmark_name_with_another_models_image_is_refused(models, tmp_path):
    proc = tinyperf("build", "kws", "--model", str(models["kws"]), "-p", "cortex-m4", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.err
    elf = tmp_path / "ref" / "cortex-m4" / "kws" / "kws.elf"
    proc = tinyperf("run", "kws", "--elf", str(elf), "-p", "cortex-m4", "--results", str(tmp_path / "r"))
    assert_one_line_error(proc, "kwsfc.tflite", "kws_ref_model.tflite", "--model")
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())
    # Named by the model, the same image runs with kws inputs and verifies against kwsfc.tflite.
    proc = tinyperf("run", "kws", "--model", str(models["kws"]), "-p", "cortex-m4", "-n", "2",
                    "--results", str(tmp_path / "r2"))
    assert proc.returncode == 0, proc.err
    assert "2/2" in proc.out


def test_profile_of_an_open_image_finds_its_model(models, tmp_path):
    proc = tinyperf("build", "--model", str(models["conv"]), "-p", "cortex-m55", "--kernels", "opt",
                    "--out", str(tmp_path))
    assert proc.returncode == 0, proc.err
    elf = tmp_path / "opt" / "cortex-m55" / "my_conv" / "raw.elf"
    proc = tinyperf("profile", str(elf), "-p", "cortex-m55", "--json", "--out", str(tmp_path / "p"))
    assert proc.returncode == 0, proc.err
    profile = json.loads(proc.out)
    from harness.modelinfo import record_from_model

    assert profile["macs"] == record_from_model(models["conv"]).macs
    assert profile["layers"][0]["op"] == "CONV_2D"
    assert profile["outputs"]


def test_compare_kernel_sets_of_a_model(models):
    proc = tinyperf("compare", "ref", "opt", "--model", str(models["conv"]), "-p", "cortex-m4",
                    "--max-regression", "1000", "--json")
    assert proc.returncode == 0, proc.err
    assert "identical" in json.dumps(json.loads(proc.out)) or json.loads(proc.out)["passed"]


@pytest.mark.parametrize("args, fragments", [
    (["run", "--model", "{bad}"], ["unsupported operator", "SPACE_TO_DEPTH"]),
    (["build", "--model", "{missing}", "--out", "{tmp}"], ["no such model file"]),
    (["run", "kws", "ic", "--model", "{conv}"], ["one model"]),
    (["run", "kws", "--model", "{conv}"], ["kws firmware needs an int8 model with 490 inputs"]),
    (["run", "--iterations", "3"], ["--iterations needs --model"]),
])
def test_bad_models_are_one_line(models, tmp_path, args, fragments):
    paths = {"bad": models["bad"], "missing": tmp_path / "nope.tflite", "conv": models["conv"], "tmp": tmp_path}
    if args[0] == "run":
        args = args + ["--results", "{tmp}"]
    proc = tinyperf(*[a.format(**paths) for a in args], "-p", "cortex-m4")
    assert_one_line_error(proc, *fragments)
