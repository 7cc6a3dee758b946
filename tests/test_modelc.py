"""modelc on the benchmark models: bit-exact against tflite_micro, arena size,
generated API, determinism, error handling, cross-compilation."""
import filecmp
import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from tests.support.engines import FIRMWARE, KERNELS, ROOT, input_size, run_host, run_tflm
from tests.support.tflite_builder import OpSpec, TensorSpec, build_model, single_op_model

MODELS_DIR = os.path.join(FIRMWARE, 'models')
KWS_SAMPLE = os.path.join(ROOT, 'harness', 'data', 'samples', 'kws01', 'reference_submission_input.bin')

# TFLM's arena for each model (TFLM host interpreter, from the project reference).
TFLM_ARENA = {
    'kws_ref_model': 24272,
    'vww_96_int8': 103680,
    'pretrainedResnet_quant': 55984,
    'ad01_int8': 3984,
}
MODELS = sorted(TFLM_ARENA)
N_INPUTS = 100


def _model_bytes(name):
    with open(os.path.join(MODELS_DIR, name + '.tflite'), 'rb') as f:
        return f.read()


def _modelc(*args):
    env = dict(os.environ, PYTHONPATH=FIRMWARE)
    return subprocess.run([sys.executable, '-m', 'modelc'] + list(args), env=env,
                          capture_output=True, text=True)


@pytest.mark.heavy
@pytest.mark.parametrize('name', MODELS)
def test_model_bit_exact_random_inputs(name):
    model = _model_bytes(name)
    rng = np.random.default_rng(12345)
    x = rng.integers(-128, 128, size=(N_INPUTS, input_size(model))).astype(np.int8)
    want = run_tflm(model, x)
    got = run_host(model, x, name + '.tflite')
    equal = np.all(got == want, axis=1)
    assert equal.all(), f'{name}: {int(equal.sum())}/{N_INPUTS} inputs bit-exact'


def test_kws_reference_sample():
    model = _model_bytes('kws_ref_model')
    with open(KWS_SAMPLE, 'rb') as f:
        x = np.frombuffer(f.read(), dtype=np.int8).reshape(1, -1)
    assert x.shape[1] == 490
    want = run_tflm(model, x)
    got = run_host(model, x, 'kws_ref_model.tflite')
    assert np.array_equal(got, want)
    assert int(np.argmax(got[0])) == 5


@pytest.mark.parametrize('name', MODELS)
def test_arena_not_larger_than_tflm(name, tmp_path):
    r = _modelc(os.path.join(MODELS_DIR, name + '.tflite'), '--out', str(tmp_path))
    assert r.returncode == 0, r.stderr
    info = json.loads((tmp_path / 'model.json').read_text())
    assert info['arena_bytes'] <= TFLM_ARENA[name]
    assert re.search(r'arena %d bytes' % info['arena_bytes'], r.stdout)


def test_generated_api_kws(tmp_path):
    r = _modelc(os.path.join(MODELS_DIR, 'kws_ref_model.tflite'), '--out', str(tmp_path))
    assert r.returncode == 0, r.stderr
    h = (tmp_path / 'model.h').read_text()
    defs = dict(re.findall(r'^#define (MODEL_\w+) (.+)$', h, re.M))
    assert defs['MODEL_NAME'] == '"kws_ref_model"'
    assert defs['MODEL_INPUT_BYTES'] == '490'
    assert defs['MODEL_OUTPUT_BYTES'] == '12'
    assert defs['MODEL_INPUT_ZERO_POINT'] == '83'
    assert defs['MODEL_OUTPUT_ZERO_POINT'] == '(-128)'
    assert defs['MODEL_OUTPUT_SCALE'] == '0.00390625f'
    assert abs(float(defs['MODEL_INPUT_SCALE'].rstrip('f')) - 0.5847) < 1e-3
    assert defs['MODEL_MACS'] == '2656768'
    assert defs['MODEL_LAYER_COUNT'] == '13'
    for decl in ('int8_t *model_input(void);', 'int8_t *model_output(void);',
                 'void model_invoke(void);',
                 'extern const model_layer_info_t model_layers[MODEL_LAYER_COUNT];'):
        assert decl in h
    c = (tmp_path / 'model.c').read_text()
    assert '__attribute__((noinline)) void layer_00_conv2d_s8(void)' in c
    assert '__attribute__((noinline)) void layer_12_softmax_s8(void)' in c
    info = json.loads((tmp_path / 'model.json').read_text())
    assert info['model'] == 'kws_ref_model.tflite'
    assert info['macs'] == 2656768
    assert info['input'] == {'shape': [1, 49, 10, 1], 'dtype': 'int8', 'scale': info['input']['scale'],
                             'zero_point': 83}
    assert info['output']['zero_point'] == -128
    assert [L['op'] for L in info['layers']].count('CONV_2D') == 5
    assert info['layers'][3]['symbol'] == 'layer_03_depthwise_conv2d_s8'
    assert info['layers'][0]['output_shape'] == [1, 25, 5, 64]
    assert sum(L['macs'] for L in info['layers']) == info['macs']
    assert len(info['sha256']) == 64


def test_deterministic_output(tmp_path):
    src = os.path.join(MODELS_DIR, 'pretrainedResnet_quant.tflite')
    a, b = tmp_path / 'a', tmp_path / 'b'
    assert _modelc(src, '--out', str(a)).returncode == 0
    assert _modelc(src, '--out', str(b)).returncode == 0
    for f in ('model.c', 'model.h', 'model.json'):
        assert filecmp.cmp(a / f, b / f, shallow=False), f


def _one_line_error(r):
    assert r.returncode == 2
    assert r.stdout == ''
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    assert 'Traceback' not in r.stderr
    return lines[0]


def test_unsupported_operator(tmp_path):
    spec = OpSpec('SPACE_TO_DEPTH', [TensorSpec((1, 4, 4, 2), np.int8, 0.1, 0)],
                  [TensorSpec((1, 2, 2, 8), np.int8, 0.1, 0)], 'SpaceToDepthOptions', {'BlockSize': 2})
    path = tmp_path / 's2d.tflite'
    path.write_bytes(single_op_model(spec))
    line = _one_line_error(_modelc(str(path), '--out', str(tmp_path / 'out')))
    assert line == 'modelc: error: unsupported operator SPACE_TO_DEPTH (op index 0) in s2d.tflite'
    assert not (tmp_path / 'out').exists()


def test_every_unsupported_operator_in_one_line(tmp_path):
    # Two unknown operators (one of them twice) and a known one with an option we lack.
    x = TensorSpec((1, 4), np.int8, 0.1, 0)
    tensors = [x, TensorSpec((1, 4), np.int8, 0.1, 0), TensorSpec((1, 4), np.int8, 0.1, 0),
               TensorSpec((1, 3), np.int8, 0.1, 0), TensorSpec((1, 4), np.int8, 0.2, 0),
               TensorSpec((1, 4), np.int8, 0.2, 0)]
    ops = [OpSpec('FLOOR', [0], [1]), OpSpec('GATHER', [1, 1], [2]), OpSpec('ADD', [2, 3], [4], 'AddOptions', {}),
           OpSpec('FLOOR', [4], [5])]
    path = tmp_path / 'many.tflite'
    path.write_bytes(build_model(ops, [0, 3], [5], tensors))
    line = _one_line_error(_modelc(str(path), '--out', str(tmp_path / 'out')))
    assert line == ('modelc: error: unsupported operators FLOOR (op index 0, 3); GATHER (op index 1); '
                    'ADD (op index 2): shapes [1, 4] and [1, 3] do not broadcast in many.tflite')


def test_unsupported_option(tmp_path):
    # Broadcasting goes up to 4-D, as TFLM's int8 kernels do.
    spec = OpSpec('ADD', [TensorSpec((2, 1, 1, 1, 4), np.int8, 0.1, 0), TensorSpec((1, 1), np.int8, 0.1, 0)],
                  [TensorSpec((2, 1, 1, 1, 4), np.int8, 0.2, 0)], 'AddOptions', {})
    path = tmp_path / 'bcast.tflite'
    path.write_bytes(single_op_model(spec))
    line = _one_line_error(_modelc(str(path), '--out', str(tmp_path / 'out')))
    assert line == 'modelc: error: unsupported operator ADD (op index 0): 5-D broadcasting in bcast.tflite'


def test_does_not_fit(tmp_path):
    src = os.path.join(MODELS_DIR, 'ad01_int8.tflite')
    line = _one_line_error(_modelc(src, '--out', str(tmp_path), '--ram-bytes', '512'))
    # 1408: the 768-byte activation peak plus the 640-byte input, live for the whole run (infer N reuses it)
    assert 'does not fit' in line and '1408' in line and '512' in line
    line = _one_line_error(_modelc(src, '--out', str(tmp_path), '--flash-bytes', '100000'))
    assert 'does not fit' in line and '100000' in line
    r = _modelc(src, '--out', str(tmp_path), '--flash-bytes', '400000', '--ram-bytes', '4096')
    assert r.returncode == 0, r.stderr


def test_missing_file(tmp_path):
    _one_line_error(_modelc(str(tmp_path / 'nope.tflite'), '--out', str(tmp_path)))


ARM_CPUS = {
    'm4f': ['-mcpu=cortex-m4', '-mthumb', '-mfloat-abi=hard', '-mfpu=fpv4-sp-d16'],
    'm0plus': ['-mcpu=cortex-m0plus', '-mthumb'],
}


@pytest.mark.heavy
@pytest.mark.skipif(shutil.which('arm-none-eabi-gcc') is None, reason='no arm-none-eabi-gcc')
@pytest.mark.parametrize('cpu', sorted(ARM_CPUS))
@pytest.mark.parametrize('name', MODELS)
def test_cross_compiles_warning_free(name, cpu, tmp_path):
    assert _modelc(os.path.join(MODELS_DIR, name + '.tflite'), '--out', str(tmp_path)).returncode == 0
    srcs = [str(tmp_path / 'model.c')] + sorted(
        os.path.join(KERNELS, f) for f in os.listdir(KERNELS) if f.endswith('.c'))
    for s in srcs:
        r = subprocess.run(['arm-none-eabi-gcc'] + ARM_CPUS[cpu] + [
            '-std=c11', '-O2', '-Wall', '-Wextra', '-Werror', '-Wno-unused-parameter',
            '-ffreestanding', '-I', KERNELS, '-I', str(tmp_path), '-c', s,
            '-o', str(tmp_path / (os.path.basename(s) + '.o'))], capture_output=True, text=True)
        assert r.returncode == 0 and r.stderr == '', r.stderr


def _ref_requantize(x, m, shift):
    """Exact integer model of TFLM's double-rounding requantisation."""
    left = max(shift, 0)
    right = max(-shift, 0)
    x = ((x << left) + (1 << 31)) % (1 << 32) - (1 << 31)   # wraps like int32
    if x == m == -(1 << 31):
        v = (1 << 31) - 1
    else:
        ab = x * m
        n = ab + ((1 << 30) if ab >= 0 else 1 - (1 << 30))
        v = (abs(n) >> 31) * (1 if n >= 0 else -1)
    if right == 0:
        return v
    q = (abs(v) + (1 << (right - 1))) >> right
    return q if v >= 0 else -q


def test_requantize_matches_exact_model(tmp_path):
    exe = tmp_path / 'probe'
    subprocess.run(['cc', '-std=c11', '-O2', '-Wall', '-Wextra', '-Werror', '-I', KERNELS,
                    os.path.join(ROOT, 'tests', 'support', 'requant_probe.c'), '-o', str(exe)],
                   check=True)
    rng = np.random.default_rng(7)
    cases = []
    edge_x = [0, 1, -1, 2**31 - 1, -2**31, 2**30, -2**30, 12345, -12345]
    edge_m = [0, 1, 2**30, 2**31 - 1, -2**31, 1518500250]
    for x in edge_x:
        for m in edge_m:
            for s in (-40, -36, -33, -32, -31, -20, -1, 0, 1, 3):
                cases.append((x, m, s))
    for _ in range(3000):
        cases.append((int(rng.integers(-2**31, 2**31)), int(rng.integers(2**30, 2**31)),
                      int(rng.integers(-36, 2))))
    text = ''.join(f'{x} {m} {s}\n' for x, m, s in cases)
    out = subprocess.run([str(exe)], input=text, capture_output=True, text=True, check=True).stdout
    got = [int(v) for v in out.split()]
    want = [_ref_requantize(*c) for c in cases]
    bad = [(c, g, w) for c, g, w in zip(cases, got, want) if g != w]
    assert not bad, bad[:5]


def test_quantize_multiplier_edges():
    from modelc.quant import quantize_multiplier
    assert quantize_multiplier(0.0) == (0, 0)
    assert quantize_multiplier(0.5) == (1 << 30, 0)
    assert quantize_multiplier(1.0) == (1 << 30, 1)
    # Rounds up to 2^31: renormalised to 2^30 with one more shift.
    assert quantize_multiplier(1.0 - 2.0 ** -40) == (1 << 30, 1)
    # Below 2^-32 the multiplier flushes to zero like TFLM.
    assert quantize_multiplier(2.0 ** -33) == (0, 0)
    assert quantize_multiplier(2.0 ** -31) == (1 << 30, -30)
    # Halves round away from zero (C round), not to even.
    q, s = quantize_multiplier((2 ** 30 + 0.5) / 2 ** 31)
    assert (q, s) == (2 ** 30 + 1, 0)


@pytest.mark.parametrize('name', MODELS)
def test_arena_plan_has_no_live_overlap(name):
    from modelc.compiler import analyse
    c = analyse(os.path.join(MODELS_DIR, name + '.tflite'))
    g = c.graph
    n = len(c.layers)
    live = {}
    for t in (g.inputs[0],):
        live.setdefault(t, [0, 0])
    for i, L in enumerate(c.layers):
        for t in L.act_inputs + [L.output]:
            lo, hi = live.get(t, [i, i])
            live[t] = [min(lo, i), max(hi, i)]
    live[g.outputs[0]][1] = n
    aliases = {L.output: L.act_inputs[0] for L in c.layers if L.kernel == 'reshape'}
    ts = sorted(live)
    for ai, a in enumerate(ts):
        oa, sa = c.tensor_offset[a], g.tensors[a].size
        assert oa + sa <= c.arena
        for b in ts[ai + 1:]:
            if aliases.get(a) == b or aliases.get(b) == a:
                continue
            (la, ha), (lb, hb) = live[a], live[b]
            if ha < lb or hb < la:
                continue
            ob, sb = c.tensor_offset[b], g.tensors[b].size
            assert oa + sa <= ob or ob + sb <= oa, (name, a, b)
