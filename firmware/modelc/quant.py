"""Quantisation parameters computed exactly as TFLM computes them at Prepare time.

All arithmetic mirrors the C++ types: float32 tensor scales are widened to
double before multiplying, except where TFLM computes in float (activation
ranges), which is reproduced with numpy float32.
"""
import math

import numpy as np


def round_half_away(x):
    """C's round(): halves go away from zero (Python's round() goes to even)."""
    a = abs(x)
    r = math.floor(a)
    if a - r >= 0.5:
        r += 1
    return int(r) if x >= 0 else -int(r)


def quantize_multiplier(m):
    """Double -> (Q0.31 multiplier, shift); shift > 0 means left shift.

    Multipliers below ~2^-31 flush to (0, 0) like TFLM, which keeps every
    runtime right shift <= 31.
    """
    if m == 0.0:
        return 0, 0
    q, shift = math.frexp(m)
    q_fixed = round_half_away(q * float(1 << 31))
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        shift = 0
        q_fixed = 0
    return int(q_fixed), int(shift)


def conv_multipliers(input_scale, filter_scales, output_scale, num_channels):
    """Per-channel (or broadcast per-tensor) requantisation for conv/depthwise."""
    fs = [float(np.float32(s)) for s in filter_scales]
    if len(fs) == 1:
        fs = fs * num_channels
    ins = float(np.float32(input_scale))
    outs = float(np.float32(output_scale))
    mults, shifts = [], []
    for f in fs:
        eff = ins * f / outs
        q, s = quantize_multiplier(eff)
        mults.append(q)
        shifts.append(s)
    return mults, shifts


def fc_multiplier(input_scale, filter_scale, output_scale):
    prod = float(np.float32(input_scale)) * float(np.float32(filter_scale))
    return quantize_multiplier(prod / float(np.float32(output_scale)))


def activation_range(act, output_scale, output_zero_point, qmin=-128, qmax=127):
    """Clamp bounds for a fused activation, computed in float32 like TFLM."""
    scale = np.float32(output_scale)

    def quantize(f):
        v = float(np.float32(f) / scale)
        return int(output_zero_point) + round_half_away(v)

    if act == 'NONE':
        return qmin, qmax
    if act == 'RELU':
        return max(qmin, quantize(0.0)), qmax
    if act == 'RELU6':
        return max(qmin, quantize(0.0)), min(qmax, quantize(6.0))
    if act == 'RELU_N1_TO_1':
        return max(qmin, quantize(-1.0)), min(qmax, quantize(1.0))
    raise ValueError(act)


def add_params(s1, s2, so, left_shift=20):
    s1 = float(np.float32(s1))
    s2 = float(np.float32(s2))
    so = float(np.float32(so))
    twice_max = 2.0 * max(s1, s2)
    m1 = quantize_multiplier(s1 / twice_max)
    m2 = quantize_multiplier(s2 / twice_max)
    mo = quantize_multiplier(twice_max / (float(1 << left_shift) * so))
    return m1, m2, mo


SOFTMAX_SCALED_DIFF_INT_BITS = 5


def softmax_params(beta, input_scale):
    """(input_multiplier, input_left_shift, diff_min) for the int8 softmax."""
    ib = SOFTMAX_SCALED_DIFF_INT_BITS
    real = min(float(beta) * float(np.float32(input_scale)) * float(1 << (31 - ib)),
               float((1 << 31) - 1))
    mult, shift = quantize_multiplier(real)
    max_input_rescaled = (1.0 * ((1 << ib) - 1) * float(1 << (31 - ib))
                          / float(1 << shift))
    diff_min = -int(math.floor(max_input_rescaled))
    return mult, shift, diff_min


SIGMOID_INPUT_INTEGER_BITS = 4


def sigmoid_input_params(input_scale):
    """(input_multiplier, input_left_shift, input_range_radius) of TFLM's int8
    LOGISTIC and TANH: the input scale times 2^27 (inputs in Q4.27) as a Q0.31
    multiplier and shift, without quantize_multiplier's flush to zero, and the
    largest |x - zero point| that stays inside Q4.27, floor(15 * 2^27 / 2^shift)."""
    ib = SIGMOID_INPUT_INTEGER_BITS
    q, shift = math.frexp(float(np.float32(input_scale)) * float(1 << (31 - ib)))
    mult = round_half_away(q * float(1 << 31))
    radius = math.floor(float((1 << ib) - 1) * float(1 << (31 - ib)) / math.ldexp(1.0, shift))
    return mult, shift, radius


def _int16_multiplier(q31):
    """A Q0.31 multiplier rounded to Q0.15, saturating near one (TFLM's
    DownScaleInt32ToInt16Multiplier)."""
    if q31 >= (1 << 31) - 1 - (1 << 15):
        return (1 << 15) - 1
    return (q31 + (1 << 15)) >> 16


def hard_swish_params(input_scale, output_scale):
    """(output_mult, output_exponent, reluish_mult, reluish_exponent) of TFLM's
    int8 HARD_SWISH, int16 multipliers: the input on a 'hires' scale (input
    scale / 128, computed in float32 like TFLM) over the output scale, and over
    the 'reluish' scale 3 / 32768."""
    hires = np.float32(1.0 / 128.0) * np.float32(input_scale)
    out_mult, out_exp = quantize_multiplier(float(hires / np.float32(output_scale)))
    relu_mult, relu_exp = quantize_multiplier(float(hires / (np.float32(3.0) / np.float32(32768.0))))
    return _int16_multiplier(out_mult), out_exp, _int16_multiplier(relu_mult), relu_exp
