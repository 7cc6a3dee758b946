"""int8 LOGISTIC, TANH and HARD_SWISH: every int8 input value over a grid of
quantisations, typical and extreme, bit-exact with tflite_micro on the host
build and in emulation (both kernel sets); the quantisations TFLM refuses or
leaves undefined are one-line modelc errors; optimized builds name these layers
as running the portable kernel.  Random shapes and scales, and a multi-op
block, are the `logistic`, `tanh`, `hard_swish` and `activation_chain` kinds of
test_kernels_host.py and test_kernels_opt.py."""
from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import needs_toolchain
from tests.support.engines import input_size, run_host, run_tflm
from tests.support.tflite_builder import OpSpec, TensorSpec, make_case, single_op_model

# (op, input scale, input zero point, output scale, output zero point, what it exercises)
EVERY_VALUE = [
    ('LOGISTIC', 0.02, 0, 1 / 256, -128, 'typical'),
    ('LOGISTIC', 0.1, -40, 1 / 256, -128, 'radius 120 steps, inputs up to 167 above the zero point'),
    ('LOGISTIC', 2.0 ** -28, 17, 1 / 256, -128, 'smallest accepted scale: shift 0, huge radius'),
    ('LOGISTIC', 3.0, 5, 1 / 256, -128, 'radius 3: nearly every input saturated'),
    ('LOGISTIC', 16.0, -3, 1 / 256, -128, 'radius 0: every input saturated'),
    ('LOGISTIC', 0.05, 127, 0.01, -128, 'an output scale TFLM ignores'),
    ('TANH', 0.01, 0, 1 / 128, 0, 'typical'),
    ('TANH', 0.08, -100, 1 / 128, 0, 'radius 120 steps, inputs up to 227 above the zero point'),
    ('TANH', 2.0 ** -28, -128, 1 / 128, 0, 'smallest accepted scale'),
    ('TANH', 4.0, 20, 1 / 128, 0, 'radius 1'),
    ('TANH', 0.03, 3, 0.2, 50, 'an output quantisation TFLM ignores'),
    ('HARD_SWISH', 0.02, 0, 0.02, 0, 'typical'),
    ('HARD_SWISH', 0.05, -128, 0.03, -100, 'output scale below the input\'s'),
    ('HARD_SWISH', 0.1, 10, 0.1 / 127, 3, 'output multiplier just below 1'),
    ('HARD_SWISH', 1e-7, 60, 1e-7, -60, 'reluish right shift of 16 bits'),
    ('HARD_SWISH', 50.0, -7, 40.0, 0, 'reluish left shift of 13 bits, saturating'),
    ('HARD_SWISH', 0.01, 5, 6.0, 3, 'output right shift of 16 bits'),
    ('HARD_SWISH', 0.01, -5, 1e3, -3, 'output right shift of 23 bits'),
    ('HARD_SWISH', 0.01, 0, 1e10, 9, 'output multiplier flushed to zero'),
]
IDS = [f'{op}-{i}' for i, (op, *_) in enumerate(EVERY_VALUE)]
ALL_VALUES = np.arange(-128, 128, dtype=np.int8).reshape(1, 256)


def _model(op, s_in, z_in, s_out, z_out, shape=(16, 16)):
    return single_op_model(OpSpec(op, [TensorSpec(shape, np.int8, s_in, z_in)],
                                  [TensorSpec(shape, np.int8, s_out, z_out)]))


@pytest.mark.parametrize('case', EVERY_VALUE, ids=IDS)
def test_every_int8_value_on_host(case):
    model = _model(*case[:5])
    x = np.concatenate([ALL_VALUES, ALL_VALUES[:, ::-1]])
    want = run_tflm(model, x)
    got = run_host(model, x)
    bad = np.argwhere(got != want)
    assert not len(bad), (f'{case}: {len(bad)} bytes differ; first input {int(x[tuple(bad[0])])}: '
                          f'ours {got[tuple(bad[0])]} tflm {want[tuple(bad[0])]}')


EMULATION = [pytest.param('cortex-m4', 'opt'), pytest.param('cortex-m4', 'ref'),
             pytest.param('cortex-m0plus', 'ref')] + [
    pytest.param(p, 'opt', marks=pytest.mark.slow) for p in ('cortex-m7', 'cortex-m33', 'cortex-m55')]


@needs_toolchain
@pytest.mark.heavy
@pytest.mark.parametrize('platform, kernels', EMULATION)
def test_every_int8_value_in_emulation(platform, kernels, tmp_path):
    """Every grid case plus two activation chains in one image, on all 256
    input values (and the all -128 and all 127 inputs the device fills in)."""
    from tests.test_kernels_opt import _run_batch

    cases = [(_model(*case[:5]), ALL_VALUES) for case in EVERY_VALUE]
    descs = [str(case) for case in EVERY_VALUE]
    for i in range(2):
        model, desc = make_case('activation_chain', i)
        cases.append((model, np.random.default_rng(i).integers(-128, 128, size=(1, input_size(model))).astype(np.int8)))
        descs.append(desc)
    _run_batch(platform, cases, descs, tmp_path, kernels)


# (op, input scale, input zero point, output scale, output zero point, error fragment, TFLM refuses it too)
REFUSED = [
    ('LOGISTIC', 0.1, 0, 1 / 256, 0, 'output zero point 0; TFLM requires -128', True),
    ('TANH', 1e-9, 3, 1 / 128, 0, 'input scale 1e-09 outside [2^-28, 2^35)', False),
    ('LOGISTIC', 1e11, 0, 1 / 256, -128, 'input scale 1e+11 outside [2^-28, 2^35)', False),
    ('HARD_SWISH', 0.1, 0, 0.1 / 200, 0, 'output scale 0.0005 not above input scale / 128 (TFLM refuses it)', True),
    ('HARD_SWISH', 1e8, 0, 1e8, 0, 'input scale 1e+08 too large', False),
]


@pytest.mark.parametrize('case', REFUSED, ids=[f'{c[0]}-{i}' for i, c in enumerate(REFUSED)])
def test_unsupported_quantisation_is_one_line(case, tmp_path):
    """What TFLM's Prepare refuses, and scales where TFLM's arithmetic is
    undefined behaviour (a 64-bit shift by a negative amount, a 32-bit shift
    by 31), are refused by name, with nothing written."""
    from tests.test_modelc import _modelc, _one_line_error

    op, *quant, fragment, tflm_refuses = case
    path = tmp_path / 'act.tflite'
    path.write_bytes(_model(op, *quant))
    line = _one_line_error(_modelc(str(path), '--out', str(tmp_path / 'out')))
    assert line == f'modelc: error: unsupported operator {op} (op index 0): {fragment} in act.tflite'
    assert not (tmp_path / 'out').exists()
    if tflm_refuses:
        with pytest.raises(Exception):
            run_tflm(path.read_bytes(), ALL_VALUES)


@needs_toolchain
def test_opt_build_and_profile_name_them_portable(tmp_path):
    """No optimized kernel exists for these operators: `build --kernels opt`
    says so for each layer, and `profile` measures the same set."""
    from harness.modelinfo import record_from_model
    from harness.portable import portable_layers
    from platforms import get_platform
    from tests.test_cli_errors import tinyperf

    model = tmp_path / 'chain.tflite'
    model.write_bytes(make_case('activation_chain', 1)[0])
    proc = tinyperf('build', '--model', str(model), '-p', 'cortex-m4', '--kernels', 'opt', '--out', str(tmp_path))
    assert proc.returncode == 0, proc.err
    notes = [line for line in proc.err.splitlines() if 'portable path:' in line]
    for symbol in ('layer_01_hard_swish_s8', 'layer_03_logistic_s8', 'layer_05_tanh_s8'):
        assert any(symbol in line and 'no optimized kernel for this operator' in line for line in notes), proc.err
    proc = tinyperf('profile', '--model', str(model), '-p', 'cortex-m4', '--kernels', 'opt', '--json',
                    '--out', str(tmp_path / 'p'), '--outputs', '0', '-n', '1')
    assert proc.returncode == 0, proc.err
    measured = {row['symbol'] for row in json.loads(proc.out)['portable']}
    predicted = {s for s, _, _ in portable_layers(record_from_model(model).layers, get_platform('cortex-m4'))}
    assert measured == predicted
    assert {'layer_01_hard_swish_s8', 'layer_03_logistic_s8', 'layer_05_tanh_s8'} <= measured


@needs_toolchain
def test_run_verifies_a_large_weightless_model(tmp_path):
    """`run --model` on 4,096 LOGISTIC values (a 1 KiB file): the host TFLM
    reference gets an arena for its activations, not just 10 x the file."""
    from tests.test_cli_errors import tinyperf

    model = tmp_path / 'logistic_4096.tflite'
    model.write_bytes(_model('LOGISTIC', 0.02, 0, 1 / 256, -128, shape=(1, 32, 32, 4)))
    assert len(model.read_bytes()) < 2048
    proc = tinyperf('run', '--model', str(model), '-p', 'cortex-m4', '-n', '2', '--iterations', '1', '--json',
                    '--results', str(tmp_path / 'r'))
    assert proc.returncode == 0, proc.err
    doc = json.loads(proc.out)
    result = doc['results'][0] if 'results' in doc else doc[0]
    assert result['verify']['bit_exact'] == result['verify']['samples'] == 2
