"""No silent fallback: `build --kernels opt` names every layer that runs a portable
kernel, with the reason, and `profile` measures the same set."""
from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import needs_toolchain
from test_cli_errors import tinyperf
from tests.support.tflite_builder import OpSpec, TensorSpec, _conv_spec, build_model

pytestmark = needs_toolchain


def _model_with_portable_layers(path):
    """conv 3x3 over 160 channels (1,440 taps), depthwise 7x7 (49 taps), depthwise with depth
    multiplier 2, then softmax."""
    rng = np.random.default_rng(3)
    conv = _conv_spec(rng, (1, 4, 4, 160), 0.02, -128, (3, 3), (1, 1), "SAME", 8)
    wide = _conv_spec(rng, (1, 4, 4, 8), conv.outputs[0].scale, -128, (7, 7), (1, 1), "SAME", 8, depthwise=True)
    dw = _conv_spec(rng, (1, 4, 4, 8), wide.outputs[0].scale, -128, (3, 3), (1, 1), "SAME", 16, depthwise=True)
    dw.options["DepthMultiplier"] = 2
    tensors = conv.inputs + conv.outputs + wide.inputs[1:] + wide.outputs + dw.inputs[1:] + dw.outputs
    tensors += [TensorSpec((1, 256), np.int8, dw.outputs[0].scale, -128),
                TensorSpec((1, 256), np.int8, 1.0 / 256, -128)]
    ops = [OpSpec("CONV_2D", [0, 1, 2], [3], conv.options_type, conv.options),
           OpSpec("DEPTHWISE_CONV_2D", [3, 4, 5], [6], wide.options_type, wide.options),
           OpSpec("DEPTHWISE_CONV_2D", [6, 7, 8], [9], dw.options_type, dw.options),
           OpSpec("RESHAPE", [9], [10]), OpSpec("SOFTMAX", [10], [11], "SoftmaxOptions", {"Beta": 1.0})]
    path.write_bytes(build_model(ops, [0], [11], tensors))
    return path


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return _model_with_portable_layers(tmp_path_factory.mktemp("portable") / "wide.tflite")


def _notes(err: str) -> dict[str, str]:
    found = {}
    for line in err.splitlines():
        if "portable path:" in line:
            symbol = line.split("portable path: ")[1].split(" ")[0]
            found[symbol] = line
    return found


def test_build_lists_portable_layers_with_reasons(model, tmp_path):
    proc = tinyperf("build", "--model", str(model), "-p", "cortex-m4", "--kernels", "opt", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.err
    notes = _notes(proc.err)
    # The 3x3x160 conv (1,440 taps) and the depthwise with depth multiplier 2 run on DSP paths.
    assert set(notes) == {"layer_01_depthwise_conv2d_s8", "layer_04_softmax_s8"}, proc.err
    assert "49 taps > 32" in notes["layer_01_depthwise_conv2d_s8"]
    assert "no optimized kernel" in notes["layer_04_softmax_s8"]
    proc = tinyperf("build", "--model", str(model), "-p", "cortex-m3", "--kernels", "opt", "--out", str(tmp_path))
    assert "every layer runs the portable kernels (the core has no DSP extension)" in proc.err


@pytest.mark.parametrize("platform", ["cortex-m4", "cortex-m55"])
def test_profile_measures_what_build_predicts(model, tmp_path, platform):
    from harness.modelinfo import record_from_model
    from harness.portable import portable_layers
    from platforms import get_platform

    proc = tinyperf("profile", "--model", str(model), "-p", platform, "--kernels", "opt", "--json",
                    "--out", str(tmp_path), "--outputs", "0", "-n", "1")
    assert proc.returncode == 0, proc.err
    measured = {row["symbol"]: row["reason"] for row in json.loads(proc.out)["portable"]}
    predicted = {s: r for s, _, r in portable_layers(record_from_model(model).layers, get_platform(platform))}
    assert set(measured) == set(predicted)
    for symbol, reason in predicted.items():
        assert measured[symbol].startswith(reason)
