"""Turns TFLite operators into kernel calls with precomputed parameters."""
from dataclasses import dataclass, field

import numpy as np

from . import ModelcError
from . import quant

ACTIVATIONS = {0: 'NONE', 1: 'RELU', 2: 'RELU_N1_TO_1', 3: 'RELU6'}
PADDINGS = {0: 'SAME', 1: 'VALID'}


class Unsupported(Exception):
    """Raised inside lowering; turned into the one-line user error."""


@dataclass
class Layer:
    index: int
    tfl_op: str                  # TFLite builtin name
    kernel: str                  # e.g. "conv2d_s8"; "reshape" is planned away
    act_inputs: list             # activation tensor indices read
    output: int                  # activation tensor index written
    params: dict = field(default_factory=dict)   # C struct field -> int
    consts: list = field(default_factory=list)   # (role, c type, numpy array)
    macs: int = 0
    input_shapes: list = field(default_factory=list)
    output_shape: list = field(default_factory=list)

    @property
    def symbol(self):
        return f'layer_{self.index:02d}_{self.kernel}'


def _need(cond, msg):
    if not cond:
        raise Unsupported(msg)


def _act(opts):
    a = opts.get('FusedActivationFunction', 0)
    _need(a in ACTIVATIONS, f'fused activation {a}')
    return ACTIVATIONS[a]


def _int8_act(t, what):
    _need(t.dtype == 'INT8', f'{what} tensor type {t.dtype}')
    _need(not t.is_const, f'constant {what} tensor')
    _need(len(t.scales) == 1 and len(t.zero_points) <= 1, f'{what} must be per-tensor quantised')


def _padding(padding, stride, dilation, in_size, k, out_size_expected):
    eff = (k - 1) * dilation + 1
    if padding == 'SAME':
        out = (in_size + stride - 1) // stride
    else:
        out = (in_size - eff + stride) // stride
    _need(out == out_size_expected,
          f'output size {out_size_expected} does not match computed {out}')
    total = max(0, (out - 1) * stride + eff - in_size)
    # The odd pixel of padding goes to the bottom/right, like TFLM.
    return total // 2 if padding == 'SAME' else 0


def _shape4(shape, what):
    _need(len(shape) == 4, f'{what} must be 4-D, got {list(shape)}')
    return shape


def _check_conv_tensors(inp, flt, bias, out):
    """The tensor types every convolution takes: int8 activations, a constant
    int8 filter with zero point 0, an optional constant int32 bias."""
    _int8_act(inp, 'input')
    _int8_act(out, 'output')
    _need(flt.is_const and flt.dtype == 'INT8', 'filter must be constant int8')
    _need(all(z == 0 for z in flt.zero_points), 'filter zero point must be 0')
    if bias is not None:
        _need(bias.is_const and bias.dtype == 'INT32', 'bias must be constant int32')


def lower_conv(g, op, depthwise):
    T = g.tensors
    o = op.options
    inp, flt = T[op.inputs[0]], T[op.inputs[1]]
    bias = T[op.inputs[2]] if len(op.inputs) > 2 and op.inputs[2] >= 0 else None
    out = T[op.outputs[0]]
    _check_conv_tensors(inp, flt, bias, out)
    n, ih, iw, ic = _shape4(inp.shape, 'input')
    on, oh, ow, oc = _shape4(out.shape, 'output')
    _shape4(flt.shape, 'filter')
    _need(on == n, 'batch mismatch')
    padding = PADDINGS.get(o.get('Padding'))
    _need(padding is not None, f'padding {o.get("Padding")}')
    sh, sw = o.get('StrideH', 1), o.get('StrideW', 1)
    dh, dw = o.get('DilationHFactor', 1) or 1, o.get('DilationWFactor', 1) or 1
    _need(sh >= 1 and sw >= 1 and dh >= 1 and dw >= 1, 'stride/dilation')
    act = _act(o)
    if depthwise:
        _, kh, kw, fc = flt.shape
        dm = o.get('DepthMultiplier', 1) or 1
        _need(fc == oc and oc == ic * dm, f'depthwise channels in={ic} out={oc} mult={dm}')
    else:
        fo, kh, kw, fi = flt.shape
        _need(fo == oc and fi == ic, f'grouped convolution (filter {list(flt.shape)})')
    if len(flt.scales) > 1:
        qdim = 3 if depthwise else 0
        _need(flt.quantized_dimension == qdim and len(flt.scales) == oc,
              'filter quantisation axis')
    pad_top = _padding(padding, sh, dh, ih, kh, oh)
    pad_left = _padding(padding, sw, dw, iw, kw, ow)
    mults, shifts = quant.conv_multipliers(inp.scale, flt.scales, out.scale, oc)
    amin, amax = quant.activation_range(act, out.scale, out.zero_point)
    params = dict(batches=n, in_h=ih, in_w=iw, in_c=ic, out_h=oh, out_w=ow, out_c=oc)
    if depthwise:
        params['depth_multiplier'] = dm
    params.update(k_h=kh, k_w=kw, stride_h=sh, stride_w=sw, dil_h=dh, dil_w=dw,
                  pad_top=pad_top, pad_left=pad_left,
                  input_offset=-inp.zero_point, output_offset=out.zero_point,
                  act_min=amin, act_max=amax)
    consts = [('w', 'int8_t', np.ascontiguousarray(flt.data, dtype=np.int8))]
    consts.append(('b', 'int32_t', np.ascontiguousarray(bias.data, dtype=np.int32)
                   if bias is not None else None))
    consts.append(('mult', 'int32_t', np.array(mults, dtype=np.int32)))
    consts.append(('shift', 'int32_t', np.array(shifts, dtype=np.int32)))
    macs = n * oh * ow * oc * kh * kw * (1 if depthwise else ic)
    kernel = 'depthwise_conv2d_s8' if depthwise else 'conv2d_s8'
    return Layer(op.index, op.op, kernel, [inp.index], out.index, params, consts, macs)


def _tconv_padding(padding, stride, k, out_size):
    """TFLM's TRANSPOSE_CONV padding: the forward conv's padding for an input of
    the output's size (dilation 1, C's truncating division)."""
    if padding == 'SAME':
        windows = (out_size + stride - 1) // stride
    else:
        windows = int((out_size + stride - k) / stride)
    return max(0, (windows - 1) * stride + k - out_size) // 2


def lower_transpose_conv(g, op):
    """TRANSPOSE_CONV: inputs (output shape, filter, input[, bias]). TFLM takes
    the output size from the output tensor, not from the shape input."""
    T = g.tensors
    o = op.options
    _need(len(op.inputs) in (3, 4), f'{len(op.inputs)} inputs')
    shape, flt, inp = (T[i] for i in op.inputs[:3])
    bias = T[op.inputs[3]] if len(op.inputs) > 3 and op.inputs[3] >= 0 else None
    out = T[op.outputs[0]]
    _check_conv_tensors(inp, flt, bias, out)
    _need(shape.is_const and [int(v) for v in np.asarray(shape.data).reshape(-1)] == list(out.shape),
          'the output shape input must be a constant equal to the output tensor\'s shape')
    n, ih, iw, ic = _shape4(inp.shape, 'input')
    on, oh, ow, oc = _shape4(out.shape, 'output')
    fo, kh, kw, fi = _shape4(flt.shape, 'filter')
    _need(on == n and fo == oc and fi == ic, f'filter {list(flt.shape)} for input {list(inp.shape)} '
                                             f'and output {list(out.shape)}')
    _need(len(flt.scales) in (1, oc) and (len(flt.scales) == 1 or flt.quantized_dimension == 0),
          'filter quantisation axis')
    padding = PADDINGS.get(o.get('Padding'))
    _need(padding is not None, f'padding {o.get("Padding")}')
    sh, sw = o.get('StrideH', 1), o.get('StrideW', 1)
    _need(sh >= 1 and sw >= 1, 'stride')
    mults, shifts = quant.conv_multipliers(inp.scale, flt.scales, out.scale, oc)
    amin, amax = quant.activation_range(_act(o), out.scale, out.zero_point)
    params = dict(batches=n, in_h=ih, in_w=iw, in_c=ic, out_h=oh, out_w=ow, out_c=oc, k_h=kh, k_w=kw,
                  stride_h=sh, stride_w=sw, pad_top=_tconv_padding(padding, sh, kh, oh),
                  pad_left=_tconv_padding(padding, sw, kw, ow), input_offset=-inp.zero_point,
                  output_offset=out.zero_point, act_min=amin, act_max=amax)
    consts = [('w', 'int8_t', np.ascontiguousarray(flt.data, dtype=np.int8)),
              ('b', 'int32_t', np.ascontiguousarray(bias.data, dtype=np.int32) if bias is not None else None),
              ('mult', 'int32_t', np.array(mults, dtype=np.int32)),
              ('shift', 'int32_t', np.array(shifts, dtype=np.int32))]
    # Every input pixel meets every filter tap (those landing outside the output included).
    macs = n * ih * iw * ic * kh * kw * oc
    return Layer(op.index, op.op, 'transpose_conv2d_s8', [inp.index], out.index, params, consts, macs)


def lower_fc(g, op):
    T = g.tensors
    o = op.options
    inp, flt = T[op.inputs[0]], T[op.inputs[1]]
    bias = T[op.inputs[2]] if len(op.inputs) > 2 and op.inputs[2] >= 0 else None
    out = T[op.outputs[0]]
    _int8_act(inp, 'input')
    _int8_act(out, 'output')
    _need(o.get('WeightsFormat', 0) == 0, 'shuffled weights format')
    _need(flt.is_const and flt.dtype == 'INT8' and len(flt.shape) == 2,
          'filter must be constant 2-D int8')
    _need(len(flt.scales) == 1, 'per-channel fully connected weights')
    if bias is not None:
        _need(bias.is_const and bias.dtype == 'INT32', 'bias must be constant int32')
    units, depth = flt.shape
    _need(depth > 0 and inp.size % depth == 0, 'input size not a multiple of filter depth')
    batches = inp.size // depth
    _need(out.size == batches * units, 'output size')
    act = _act(o)
    mult, shift = quant.fc_multiplier(inp.scale, flt.scale, out.scale)
    amin, amax = quant.activation_range(act, out.scale, out.zero_point)
    params = dict(batches=batches, in_depth=depth, out_depth=units,
                  input_offset=-inp.zero_point, filter_offset=-flt.zero_point,
                  output_offset=out.zero_point, out_mult=mult, out_shift=shift,
                  act_min=amin, act_max=amax)
    consts = [('w', 'int8_t', np.ascontiguousarray(flt.data, dtype=np.int8)),
              ('b', 'int32_t', np.ascontiguousarray(bias.data, dtype=np.int32)
               if bias is not None else None)]
    return Layer(op.index, op.op, 'fully_connected_s8', [inp.index], out.index, params,
                 consts, batches * units * depth)


def lower_avgpool(g, op):
    T = g.tensors
    o = op.options
    inp, out = T[op.inputs[0]], T[op.outputs[0]]
    _int8_act(inp, 'input')
    _int8_act(out, 'output')
    _need(inp.scale == out.scale and inp.zero_point == out.zero_point,
          'input and output quantisation differ')
    n, ih, iw, c = _shape4(inp.shape, 'input')
    on, oh, ow, oc = _shape4(out.shape, 'output')
    _need(on == n and oc == c, 'shape mismatch')
    padding = PADDINGS.get(o.get('Padding'))
    _need(padding is not None, 'padding')
    sh, sw = o.get('StrideH', 1), o.get('StrideW', 1)
    kh, kw = o.get('FilterHeight', 1), o.get('FilterWidth', 1)
    _need(min(sh, sw, kh, kw) >= 1, 'stride/filter size')
    pad_top = _padding(padding, sh, 1, ih, kh, oh)
    pad_left = _padding(padding, sw, 1, iw, kw, ow)
    amin, amax = quant.activation_range(_act(o), out.scale, out.zero_point)
    params = dict(batches=n, in_h=ih, in_w=iw, ch=c, out_h=oh, out_w=ow, k_h=kh, k_w=kw,
                  stride_h=sh, stride_w=sw, pad_top=pad_top, pad_left=pad_left,
                  act_min=amin, act_max=amax)
    return Layer(op.index, op.op, 'avgpool2d_s8', [inp.index], out.index, params, [], 0)


def _same_quant(a, b, what):
    _need(np.float32(a.scale) == np.float32(b.scale) and a.zero_point == b.zero_point,
          f'{what} quantisation differs from the output\'s')


def lower_maxpool(g, op):
    layer = lower_avgpool(g, op)
    layer.kernel = 'maxpool2d_s8'
    return layer


def _shape_to_4d(shape):
    _need(1 <= len(shape) <= 4, f'{len(shape)}-D tensor')
    return [1] * (4 - len(shape)) + [int(d) for d in shape]


def lower_pad(g, op):
    T = g.tensors
    inp, pads, out = T[op.inputs[0]], T[op.inputs[1]], T[op.outputs[0]]
    _int8_act(inp, 'input')
    _int8_act(out, 'output')
    _same_quant(inp, out, 'input')
    _need(pads.is_const and pads.dtype in ('INT32', 'INT64'), 'paddings must be a constant integer tensor')
    before = [int(v) for v in np.asarray(pads.data).reshape(-1, 2)[:, 0]]
    after = [int(v) for v in np.asarray(pads.data).reshape(-1, 2)[:, 1]]
    _need(len(before) == len(inp.shape) and min(before + after) >= 0, 'paddings shape or negative padding')
    _need([d + b + a for d, b, a in zip(inp.shape, before, after)] == list(out.shape), 'output shape')
    value = out.zero_point
    if op.op == 'PADV2' and len(op.inputs) > 2 and op.inputs[2] >= 0:
        const = T[op.inputs[2]]
        _need(const.is_const and const.dtype == 'INT8', 'PADV2 constant must be a constant int8 tensor')
        value = int(np.asarray(const.data).reshape(-1)[0])
    shapes = dict(in_shape=_shape_to_4d(inp.shape), out_shape=_shape_to_4d(out.shape),
                  before=[0] * (4 - len(before)) + before)
    consts = [(role, 'int32_t', np.array(v, dtype=np.int32)) for role, v in shapes.items()]
    return Layer(op.index, op.op, 'pad_s8', [inp.index], out.index, dict(pad_value=value), consts, 0)


def lower_concatenation(g, op):
    T = g.tensors
    out = T[op.outputs[0]]
    _int8_act(out, 'output')
    ins = [T[i] for i in op.inputs]
    for t in ins:
        _int8_act(t, 'input')
        _same_quant(t, out, 'input')
    _need(op.options.get('FusedActivationFunction', 0) == 0, 'fused activation')
    rank = len(out.shape)
    axis = op.options.get('Axis', 0)
    axis = axis + rank if axis < 0 else axis
    _need(0 <= axis < rank and all(len(t.shape) == rank for t in ins), 'axis or ranks')
    inner = int(np.prod(out.shape[axis + 1:], dtype=np.int64))
    outer = int(np.prod(out.shape[:axis], dtype=np.int64))
    _need(sum(t.shape[axis] for t in ins) == out.shape[axis], 'output shape')
    slices = np.array([t.shape[axis] * inner for t in ins], dtype=np.int32)
    return Layer(op.index, op.op, 'concatenation_s8', [t.index for t in ins], out.index,
                 dict(outer=outer, n_inputs=len(ins)), [('slice_bytes', 'int32_t', slices)], 0)


def _elementwise_io(g, op):
    T = g.tensors
    inp, out = T[op.inputs[0]], T[op.outputs[0]]
    _need(not inp.is_const, 'constant input')
    _need(inp.size == out.size, 'element count changes')
    for t, what in ((inp, 'input'), (out, 'output')):
        _need(t.dtype == 'FLOAT32' or (len(t.scales) == 1 and len(t.zero_points) <= 1),
              f'{what} must be per-tensor quantised')
    return inp, out


def lower_quantize(g, op):
    """QUANTIZE: float32 -> int8 (a float model input), or between int8/uint8
    (a uint8 input or output, or a change of scale)."""
    inp, out = _elementwise_io(g, op)
    if inp.dtype == 'FLOAT32':
        _need(out.dtype == 'INT8', f'float32 to {out.dtype}')
        return Layer(op.index, op.op, 'quantize_f32_s8', [inp.index], out.index,
                     dict(size=out.size, scale=float(np.float32(out.scale)), zero_point=out.zero_point), [], 0)
    _need(inp.dtype in ('INT8', 'UINT8') and out.dtype in ('INT8', 'UINT8'), f'{inp.dtype} to {out.dtype}')
    mult, shift = quant.quantize_multiplier(float(np.float32(inp.scale)) / float(np.float32(out.scale)))
    lo, hi = (0, 255) if out.dtype == 'UINT8' else (-128, 127)
    params = dict(size=out.size, input_unsigned=int(inp.dtype == 'UINT8'), input_offset=-inp.zero_point,
                  out_mult=mult, out_shift=shift, output_offset=out.zero_point, out_min=lo, out_max=hi)
    return Layer(op.index, op.op, 'quantize_s8', [inp.index], out.index, params, [], 0)


def lower_dequantize(g, op):
    inp, out = _elementwise_io(g, op)
    _need(inp.dtype == 'INT8' and out.dtype == 'FLOAT32', f'{inp.dtype} to {out.dtype}')
    return Layer(op.index, op.op, 'dequantize_s8_f32', [inp.index], out.index,
                 dict(size=out.size, scale=float(np.float32(inp.scale)), zero_point=inp.zero_point), [], 0)


def lower_relu(g, op):
    """RELU and RELU6 on int8, as TFLM computes them: RELU requantises (input
    scale / output scale) and clamps to the output's [0, inf); RELU6 clamps the
    input to its own [0, 6] and ignores the output's scale and zero point.
    Both are what the QUANTIZE kernel computes (RELU6 with multiplier 1)."""
    inp, out = _elementwise_io(g, op)
    _int8_act(inp, 'input')
    _int8_act(out, 'output')
    ref = out if op.op == 'RELU' else inp
    mult, shift = quant.quantize_multiplier(float(np.float32(inp.scale)) / float(np.float32(ref.scale)))
    lo, hi = quant.activation_range(op.op, ref.scale, ref.zero_point)
    params = dict(size=out.size, input_unsigned=0, input_offset=-inp.zero_point, out_mult=mult, out_shift=shift,
                  output_offset=ref.zero_point, out_min=lo, out_max=hi)
    return Layer(op.index, op.op, 'quantize_s8', [inp.index], out.index, params, [], 0)


def lower_leaky_relu(g, op):
    inp, out = _elementwise_io(g, op)
    _int8_act(inp, 'input')
    _int8_act(out, 'output')
    alpha = float(np.float32(op.options.get('Alpha', 0.0)))
    ins, outs = float(np.float32(inp.scale)), float(np.float32(out.scale))
    im, ishift = quant.quantize_multiplier(ins / outs)
    am, ashift = quant.quantize_multiplier(alpha * ins / outs)
    params = dict(size=out.size, input_offset=-inp.zero_point, identity_mult=im, identity_shift=ishift,
                  alpha_mult=am, alpha_shift=ashift, output_offset=out.zero_point)
    return Layer(op.index, op.op, 'leaky_relu_s8', [inp.index], out.index, params, [], 0)


def lower_logistic_tanh(g, op):
    """LOGISTIC and TANH on int8: the output is in 256ths from -128 (LOGISTIC)
    or 128ths from 0 (TANH) whatever the output tensor says, as in TFLM, which
    refuses a LOGISTIC output zero point other than -128."""
    inp, out = _elementwise_io(g, op)
    _int8_act(inp, 'input')
    _int8_act(out, 'output')
    if op.op == 'LOGISTIC':
        _need(out.zero_point == -128, f'output zero point {out.zero_point}; TFLM requires -128')
    mult, shift, radius = quant.sigmoid_input_params(inp.scale)
    # Outside these scales TFLM's range radius is undefined behaviour (a shift
    # of a 64-bit one by a negative or too large amount).
    _need(0 <= shift <= 62, f'input scale {inp.scale:.3g} outside [2^-28, 2^35)')
    params = dict(size=out.size, input_offset=-inp.zero_point, input_range_radius=radius,
                  input_mult=mult, input_shift=shift)
    return Layer(op.index, op.op, op.op.lower() + '_s8', [inp.index], out.index, params, [], 0)


def lower_hard_swish(g, op):
    inp, out = _elementwise_io(g, op)
    _int8_act(inp, 'input')
    _int8_act(out, 'output')
    out_mult, out_exp, relu_mult, relu_exp = quant.hard_swish_params(inp.scale, out.scale)
    _need(out_exp <= 0, f'output scale {out.scale:.3g} not above input scale / 128 (TFLM refuses it)')
    # TFLM's saturating left shift computes 1 << (exponent - 1) in an int:
    # undefined from 31 bits on.
    _need(relu_exp <= 31, f'input scale {inp.scale:.3g} too large')
    params = dict(size=out.size, input_offset=-inp.zero_point, output_offset=out.zero_point,
                  output_mult=out_mult, output_shift=-out_exp, reluish_mult=relu_mult, reluish_exponent=relu_exp)
    return Layer(op.index, op.op, 'hard_swish_s8', [inp.index], out.index, params, [], 0)


def lower_mean(g, op):
    T = g.tensors
    inp, axes, out = T[op.inputs[0]], T[op.inputs[1]], T[op.outputs[0]]
    _int8_act(inp, 'input')
    _int8_act(out, 'output')
    _need(axes.is_const and axes.dtype == 'INT32', 'axes must be a constant int32 tensor')
    rank = len(inp.shape)
    shape = _shape_to_4d(inp.shape)
    mask = 0
    for a in np.asarray(axes.data).reshape(-1):
        a = int(a) + rank if a < 0 else int(a)
        _need(0 <= a < rank, f'axis {a}')
        mask |= 1 << (a + 4 - rank)
    count = int(np.prod([shape[k] for k in range(4) if mask >> k & 1], dtype=np.int64))
    _need(out.size * count == inp.size and count > 0, 'output shape')
    mult, shift = quant.quantize_multiplier(float(np.float32(inp.scale)) / float(np.float32(out.scale)))
    # TFLM folds 1/count into the multiplier: up to floor(log2 count) more
    # bits (at most 32, and no right shift beyond 31), truncating division.
    extra = min(count.bit_length() - 1, 32, 31 + shift)
    params = dict(axes_mask=mask, sum_offset=-count * inp.zero_point, out_mult=(mult << extra) // count,
                  out_shift=shift - extra, output_offset=out.zero_point)
    return Layer(op.index, op.op, 'mean_s8', [inp.index], out.index, params,
                 [('in_shape', 'int32_t', np.array(shape, dtype=np.int32))], 0)


def _slice_range(dim, begin, end, stride, begin_masked, end_masked, shrink):
    """(start, count) of one dimension, as TensorFlow resolves a strided slice."""
    if shrink:  # one element at the start (the begin mask still applies, as in TFLM)
        start = (0 if stride > 0 else dim - 1) if begin_masked else (begin + dim if begin < 0 else begin)
        _need(0 <= start < dim, f'shrunk index {begin} outside {dim}')
        return start, 1
    lo, hi = (0, dim) if stride > 0 else (-1, dim - 1)

    def clamp(v):
        v = v + dim if v < 0 else v
        return max(lo, min(hi, v))

    start = (0 if stride > 0 else dim - 1) if begin_masked else clamp(begin)
    stop = (dim if stride > 0 else -1) if end_masked else clamp(end)
    count = max(0, -(-(stop - start) // stride)) if stride > 0 else max(0, -(-(start - stop) // -stride))
    return start, count


def lower_strided_slice(g, op):
    T = g.tensors
    inp, out = T[op.inputs[0]], T[op.outputs[0]]
    _int8_act(inp, 'input')
    _int8_act(out, 'output')
    _same_quant(inp, out, 'input')
    begin, end, strides = (T[i] for i in op.inputs[1:4])
    _need(all(t.is_const and t.dtype == 'INT32' for t in (begin, end, strides)),
          'begin, end and strides must be constant int32 tensors')
    o = op.options
    _need(not o.get('EllipsisMask', 0) and not o.get('NewAxisMask', 0) and not o.get('Offset', False),
          'ellipsis, new-axis or offset masks')
    rank = len(inp.shape)
    b, e, st = (np.asarray(t.data).reshape(-1).tolist() for t in (begin, end, strides))
    _need(len(b) == len(e) == len(st) == rank and all(v != 0 for v in st), 'begin/end/strides length or zero stride')
    starts, counts = [], []
    for k in range(rank):
        bit = 1 << k
        start, count = _slice_range(int(inp.shape[k]), int(b[k]), int(e[k]), int(st[k]), o.get('BeginMask', 0) & bit,
                                    o.get('EndMask', 0) & bit, o.get('ShrinkAxisMask', 0) & bit)
        starts.append(start)
        counts.append(count)
    _need(int(np.prod(counts)) == out.size and out.size > 0, f'output shape {list(out.shape)} (computed {counts})')
    pad = 4 - rank
    consts = [('in_shape', _shape_to_4d(inp.shape)), ('out_shape', [1] * pad + counts),
              ('start', [0] * pad + starts), ('stride', [1] * pad + [int(v) for v in st])]
    return Layer(op.index, op.op, 'strided_slice_s8', [inp.index], out.index, {},
                 [(role, 'int32_t', np.array(v, dtype=np.int32)) for role, v in consts], 0)


def _binary_operand(t, what):
    """An ADD/SUB/MUL input: an int8 activation or an int8 constant (e.g. a per-channel scale)."""
    _need(t.dtype == 'INT8', f'{what} tensor type {t.dtype}')
    _need(len(t.scales) == 1 and len(t.zero_points) <= 1, f'{what} must be per-tensor quantised')


def _extend_to_4d(shape):
    """A binary operand's shape as 4-D (leading 1s added); a scalar (0-D) is all 1s."""
    _need(len(shape) <= 4, f'{len(shape)}-D broadcasting')
    return [1] * (4 - len(shape)) + [int(d) for d in shape]


def _broadcast_strides(shape, out4):
    """Element strides of a tensor read along the 4-D output, 0 along its broadcast dimensions."""
    dims = _extend_to_4d(shape)
    strides, step = [0] * 4, 1
    for k in range(3, -1, -1):
        strides[k] = 0 if dims[k] == 1 and out4[k] != 1 else step
        step *= dims[k]
    return strides


def _broadcast_shape(a, b):
    """Numpy's broadcast of two shapes (up to 4-D, as TFLM's int8 kernels take them)."""
    a4, b4 = _extend_to_4d(a), _extend_to_4d(b)
    _need(all(x == y or 1 in (x, y) for x, y in zip(a4, b4)),
          f'shapes {list(a)} and {list(b)} do not broadcast')
    return [x if y == 1 else y for x, y in zip(a4, b4)]


def _binary_layer(g, op, kernel, params):
    """ADD/SUB/MUL: the same-shape kernel, or its broadcasting twin when the shapes
    differ; a constant operand travels as the layer's `in1`/`in2` array."""
    T = g.tensors
    a, b, out = T[op.inputs[0]], T[op.inputs[1]], T[op.outputs[0]]
    _binary_operand(a, 'input1')
    _binary_operand(b, 'input2')
    _int8_act(out, 'output')
    _need(not (a.is_const and b.is_const), 'both inputs constant')
    out4 = _broadcast_shape(a.shape, b.shape)
    _need(_extend_to_4d(out.shape) == out4, f'output shape {list(out.shape)} is not the broadcast shape')
    consts = [(role, 'int8_t', np.ascontiguousarray(t.data, dtype=np.int8))
              for role, t in (('in1', a), ('in2', b)) if t.is_const]
    act_inputs = [t.index for t in (a, b) if not t.is_const]
    if _extend_to_4d(a.shape) == _extend_to_4d(b.shape):
        return Layer(op.index, op.op, kernel, act_inputs, out.index, dict(size=out.size, **params), consts, 0)
    consts += [('out_shape', 'int32_t', np.array(out4, dtype=np.int32)),
               ('in1_stride', 'int32_t', np.array(_broadcast_strides(a.shape, out4), dtype=np.int32)),
               ('in2_stride', 'int32_t', np.array(_broadcast_strides(b.shape, out4), dtype=np.int32))]
    params = {f'op.{k}': v for k, v in params.items()}
    return Layer(op.index, op.op, kernel.replace('_s8', '_broadcast_s8'), act_inputs, out.index, params, consts, 0)


def lower_add(g, op):
    T = g.tensors
    a, b, out = T[op.inputs[0]], T[op.inputs[1]], T[op.outputs[0]]
    (m1, s1), (m2, s2), (mo, so) = quant.add_params(a.scale, b.scale, out.scale)
    amin, amax = quant.activation_range(_act(op.options), out.scale, out.zero_point)
    params = dict(left_shift=20,
                  in1_offset=-a.zero_point, in1_mult=m1, in1_shift=s1,
                  in2_offset=-b.zero_point, in2_mult=m2, in2_shift=s2,
                  output_offset=out.zero_point, out_mult=mo, out_shift=so,
                  act_min=amin, act_max=amax)
    return _binary_layer(g, op, 'add_s8' if op.op == 'ADD' else 'sub_s8', params)


def lower_mul(g, op):
    T = g.tensors
    a, b, out = T[op.inputs[0]], T[op.inputs[1]], T[op.outputs[0]]
    mult, shift = quant.quantize_multiplier(float(np.float32(a.scale)) * float(np.float32(b.scale))
                                            / float(np.float32(out.scale)))
    amin, amax = quant.activation_range(_act(op.options), out.scale, out.zero_point)
    params = dict(in1_offset=-a.zero_point, in2_offset=-b.zero_point,
                  output_offset=out.zero_point, out_mult=mult, out_shift=shift, act_min=amin, act_max=amax)
    return _binary_layer(g, op, 'mul_s8', params)


def lower_softmax(g, op):
    T = g.tensors
    inp, out = T[op.inputs[0]], T[op.outputs[0]]
    _int8_act(inp, 'input')
    _int8_act(out, 'output')
    _need(out.zero_point == -128 and abs(out.scale - 1.0 / 256) <= 0.001 / 128,
          'int8 softmax output must have scale 1/256 and zero point -128')
    _need(inp.shape == out.shape and len(inp.shape) >= 1, 'shape mismatch')
    beta = op.options.get('Beta', 1.0)
    mult, shift, diff_min = quant.softmax_params(beta, inp.scale)
    depth = inp.shape[-1]
    params = dict(outer=inp.size // depth, depth=depth, input_multiplier=mult,
                  input_left_shift=shift, diff_min=diff_min)
    return Layer(op.index, op.op, 'softmax_s8', [inp.index], out.index, params, [], 0)


def lower_reshape(g, op):
    T = g.tensors
    inp, out = T[op.inputs[0]], T[op.outputs[0]]
    _need(inp.dtype == out.dtype == 'INT8', 'non-int8 RESHAPE')
    _need(inp.size == out.size, 'element count changes')
    _need(not inp.is_const, 'constant input')
    return Layer(op.index, op.op, 'reshape', [inp.index], out.index, {}, [], 0)


LOWERINGS = {
    'CONV_2D': lambda g, op: lower_conv(g, op, False),
    'DEPTHWISE_CONV_2D': lambda g, op: lower_conv(g, op, True),
    'TRANSPOSE_CONV': lower_transpose_conv,
    'FULLY_CONNECTED': lower_fc,
    'AVERAGE_POOL_2D': lower_avgpool,
    'ADD': lower_add,
    'SUB': lower_add,
    'MUL': lower_mul,
    'MEAN': lower_mean,
    'STRIDED_SLICE': lower_strided_slice,
    'SOFTMAX': lower_softmax,
    'RESHAPE': lower_reshape,
    'SQUEEZE': lower_reshape,
    'MAX_POOL_2D': lower_maxpool,
    'PAD': lower_pad,
    'PADV2': lower_pad,
    'CONCATENATION': lower_concatenation,
    'QUANTIZE': lower_quantize,
    'DEQUANTIZE': lower_dequantize,
    'RELU': lower_relu,
    'RELU6': lower_relu,
    'LEAKY_RELU': lower_leaky_relu,
    'LOGISTIC': lower_logistic_tanh,
    'TANH': lower_logistic_tanh,
    'HARD_SWISH': lower_hard_swish,
}


def lower(g, model_name):
    """Every operator as a layer; one error naming every operator that cannot be lowered."""
    layers = []
    unknown = {}                 # op name -> op indices (no kernel at all)
    refused = []                 # "NAME (op index i): reason"
    for op in g.operators:
        fn = LOWERINGS.get(op.op)
        if fn is None:
            unknown.setdefault(op.op, []).append(op.index)
            continue
        try:
            _need(len(op.outputs) == 1, f'{len(op.outputs)} outputs')
            layer = fn(g, op)
        except Unsupported as e:
            refused.append(f'{op.op} (op index {op.index}): {e}')
            continue
        except (IndexError, KeyError, ValueError, TypeError) as e:
            refused.append(f'{op.op} (op index {op.index}): malformed operator ({e})')
            continue
        layer.input_shapes = [list(g.tensors[i].shape) for i in op.inputs if i >= 0]
        layer.output_shape = list(g.tensors[layer.output].shape)
        layers.append(layer)
    items = [f'{name} (op index {", ".join(map(str, idx))})' for name, idx in unknown.items()] + refused
    if items:
        plural = 's' if len(items) > 1 else ''
        raise ModelcError(f'unsupported operator{plural} {"; ".join(items)} in {model_name}')
    return layers
