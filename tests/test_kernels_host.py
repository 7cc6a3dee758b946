"""Randomised single-operator cases: our kernels (via modelc, host build)
must match tflite_micro bit for bit."""
import numpy as np
import pytest

from tests.support.engines import input_size, run_host, run_tflm
from modelc.reader import read_model
from tests.support.tflite_builder import float_inputs, make_case, special_cases

CASE_COUNTS = {
    'conv2d': 100,
    'depthwise_conv2d': 100,
    'fully_connected': 80,
    'avgpool2d': 60,
    'add': 60,
    'softmax': 60,
    'maxpool2d': 40,
    'pad': 40,
    'concatenation': 40,
    'quantize_io': 40,
    'activation': 40,
    'sub': 40,
    'mul': 40,
    'mean': 40,
    'strided_slice': 40,
    'broadcast': 60,
    'transpose_conv': 80,
    'depthwise_multiplier_dilation': 60,
    'logistic': 40,
    'tanh': 40,
    'hard_swish': 40,
    'activation_chain': 30,
}

CASES = [(k, i) for k, n in CASE_COUNTS.items() for i in range(n)]


def _inputs(model_bytes, seed, n_random=4):
    size = input_size(model_bytes)
    rng = np.random.default_rng(seed)
    if read_model(model_bytes).tensors[read_model(model_bytes).inputs[0]].dtype == 'FLOAT32':
        return float_inputs(rng, model_bytes, n_random + 2)
    x = rng.integers(-128, 128, size=(n_random, size)).astype(np.int8)
    extremes = np.stack([np.full(size, -128, np.int8), np.full(size, 127, np.int8)])
    return np.concatenate([x, extremes])


def _check(model_bytes, desc, seed):
    x = _inputs(model_bytes, seed)
    want = run_tflm(model_bytes, x)
    got = run_host(model_bytes, x)
    assert got.shape == want.shape, desc
    if not np.array_equal(got, want):
        bad = np.argwhere(got != want)
        r, c = bad[0]
        pytest.fail(f'{desc}: {len(bad)} bytes differ; first at input {r} byte {c}: '
                    f'ours {got[r, c]} tflm {want[r, c]}')


@pytest.mark.heavy
@pytest.mark.parametrize('kind,index', CASES, ids=[f'{k}-{i}' for k, i in CASES])
def test_random_case(kind, index):
    model, desc = make_case(kind, index)
    _check(model, desc, seed=index)


SPECIAL = special_cases()


@pytest.mark.parametrize('name,model', SPECIAL, ids=[n for n, _ in SPECIAL])
def test_special_case(name, model):
    _check(model, name, seed=5)
