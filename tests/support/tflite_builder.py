"""Builds small .tflite flatbuffers (one operator) for kernel tests.

Only builds models; running them lives in tests/support/engines.py so the
same cases can be run on TFLM, the host build, or an emulator.
"""
import importlib
from dataclasses import dataclass, field

import flatbuffers
import numpy as np
from tflite.BuiltinOperator import BuiltinOperator
from tflite.BuiltinOptions import BuiltinOptions
from tflite.TensorType import TensorType

_NP_TO_TFL = {
    np.dtype(np.int8): TensorType.INT8, np.dtype(np.int32): TensorType.INT32,
    np.dtype(np.float32): TensorType.FLOAT32, np.dtype(np.uint8): TensorType.UINT8,
    np.dtype(np.int16): TensorType.INT16, np.dtype(np.int64): TensorType.INT64,
}


def _m(name):
    """The generated module (not the re-exported class) for a schema type."""
    return importlib.import_module('tflite.' + name)


@dataclass
class TensorSpec:
    shape: tuple
    dtype: object = np.int8
    scale: object = None            # float or list of floats (per channel)
    zero_point: object = None       # int or list
    quantized_dimension: int = 0
    data: object = None             # numpy array for constants
    name: str = ''


@dataclass
class OpSpec:
    op: str                         # builtin name, e.g. "CONV_2D"
    inputs: list                    # TensorSpec or None (omitted optional input)
    outputs: list
    options_type: str = ''          # e.g. "Conv2DOptions"; '' for none
    options: dict = field(default_factory=dict)   # field -> value, e.g. {"Padding": 0}


def _int_vector(b, start_fn, values, prepend):
    start_fn(b, len(values))
    for v in reversed(values):
        prepend(v)
    return b.EndVector()


def _float_vector(b, start_fn, values):
    start_fn(b, len(values))
    for v in reversed(values):
        b.PrependFloat32(float(v))
    return b.EndVector()


def build_model(ops, model_inputs, model_outputs, tensors, description='tinyperf test'):
    """Serialises a one-subgraph model.

    tensors: list of TensorSpec; ops reference tensors by index
    (op.inputs/op.outputs as lists of ints, -1 = omitted).
    """
    b = flatbuffers.Builder(1024)
    T, Buf, Q, Op, OC, SG, M = (_m(n) for n in (
        'Tensor', 'Buffer', 'QuantizationParameters', 'Operator', 'OperatorCode',
        'SubGraph', 'Model'))

    # Buffers: index 0 is the mandatory empty sentinel.
    buffer_data = [None]
    tensor_buffer = []
    for t in tensors:
        if t.data is not None:
            tensor_buffer.append(len(buffer_data))
            buffer_data.append(np.ascontiguousarray(t.data, dtype=t.dtype).tobytes())
        else:
            tensor_buffer.append(0)
    buf_offsets = []
    for data in buffer_data:
        vec = None
        if data is not None:
            b.StartVector(1, len(data), 16)   # 16-byte aligned: TFLM reads int32 in place
            for byte in reversed(data):
                b.PrependUint8(byte)
            vec = b.EndVector()
        Buf.BufferStart(b)
        if vec is not None:
            Buf.BufferAddData(b, vec)
        buf_offsets.append(Buf.BufferEnd(b))

    tensor_offsets = []
    for i, t in enumerate(tensors):
        name = b.CreateString(t.name or f't{i}')
        shape = _int_vector(b, T.TensorStartShapeVector, [int(d) for d in t.shape], b.PrependInt32)
        q = None
        if t.scale is not None:
            scales = list(np.atleast_1d(np.asarray(t.scale, dtype=np.float32)))
            zps = list(np.atleast_1d(np.asarray(0 if t.zero_point is None else t.zero_point,
                                                dtype=np.int64)))
            if len(zps) == 1 and len(scales) > 1:
                zps = zps * len(scales)
            sv = _float_vector(b, Q.QuantizationParametersStartScaleVector, scales)
            zv = _int_vector(b, Q.QuantizationParametersStartZeroPointVector,
                             [int(z) for z in zps], b.PrependInt64)
            Q.QuantizationParametersStart(b)
            Q.QuantizationParametersAddScale(b, sv)
            Q.QuantizationParametersAddZeroPoint(b, zv)
            Q.QuantizationParametersAddQuantizedDimension(b, t.quantized_dimension)
            q = Q.QuantizationParametersEnd(b)
        T.TensorStart(b)
        T.TensorAddShape(b, shape)
        T.TensorAddType(b, _NP_TO_TFL[np.dtype(t.dtype)])
        T.TensorAddBuffer(b, tensor_buffer[i])
        T.TensorAddName(b, name)
        if q is not None:
            T.TensorAddQuantization(b, q)
        tensor_offsets.append(T.TensorEnd(b))

    codes = []
    for op in ops:
        if op.op not in codes:
            codes.append(op.op)
    code_offsets = []
    for name in codes:
        code = getattr(BuiltinOperator, name)
        OC.OperatorCodeStart(b)
        OC.OperatorCodeAddDeprecatedBuiltinCode(b, min(code, 127))
        OC.OperatorCodeAddBuiltinCode(b, code)
        OC.OperatorCodeAddVersion(b, 1)
        code_offsets.append(OC.OperatorCodeEnd(b))

    op_offsets = []
    for op in ops:
        opt = None
        if op.options_type:
            mod = _m(op.options_type)
            getattr(mod, op.options_type + 'Start')(b)
            for k, v in op.options.items():
                getattr(mod, op.options_type + 'Add' + k)(b, v)
            opt = getattr(mod, op.options_type + 'End')(b)
        iv = _int_vector(b, Op.OperatorStartInputsVector, op.inputs, b.PrependInt32)
        ov = _int_vector(b, Op.OperatorStartOutputsVector, op.outputs, b.PrependInt32)
        Op.OperatorStart(b)
        Op.OperatorAddOpcodeIndex(b, codes.index(op.op))
        Op.OperatorAddInputs(b, iv)
        Op.OperatorAddOutputs(b, ov)
        if opt is not None:
            Op.OperatorAddBuiltinOptionsType(b, getattr(BuiltinOptions, op.options_type))
            Op.OperatorAddBuiltinOptions(b, opt)
        op_offsets.append(Op.OperatorEnd(b))

    def offsets_vector(start_fn, offs):
        start_fn(b, len(offs))
        for o in reversed(offs):
            b.PrependUOffsetTRelative(o)
        return b.EndVector()

    tv = offsets_vector(SG.SubGraphStartTensorsVector, tensor_offsets)
    opv = offsets_vector(SG.SubGraphStartOperatorsVector, op_offsets)
    inv = _int_vector(b, SG.SubGraphStartInputsVector, model_inputs, b.PrependInt32)
    outv = _int_vector(b, SG.SubGraphStartOutputsVector, model_outputs, b.PrependInt32)
    sgname = b.CreateString('main')
    SG.SubGraphStart(b)
    SG.SubGraphAddTensors(b, tv)
    SG.SubGraphAddOperators(b, opv)
    SG.SubGraphAddInputs(b, inv)
    SG.SubGraphAddOutputs(b, outv)
    SG.SubGraphAddName(b, sgname)
    sg = SG.SubGraphEnd(b)

    sgv = offsets_vector(M.ModelStartSubgraphsVector, [sg])
    ocv = offsets_vector(M.ModelStartOperatorCodesVector, code_offsets)
    bv = offsets_vector(M.ModelStartBuffersVector, buf_offsets)
    desc = b.CreateString(description)
    M.ModelStart(b)
    M.ModelAddVersion(b, 3)
    M.ModelAddOperatorCodes(b, ocv)
    M.ModelAddSubgraphs(b, sgv)
    M.ModelAddDescription(b, desc)
    M.ModelAddBuffers(b, bv)
    model = M.ModelEnd(b)
    b.Finish(model, file_identifier=b'TFL3')
    return bytes(b.Output())


def single_op_model(spec: OpSpec):
    """One operator; non-constant inputs become model inputs, outputs model outputs."""
    tensors, in_idx, graph_inputs = [], [], []
    for t in spec.inputs:
        if t is None:
            in_idx.append(-1)
            continue
        in_idx.append(len(tensors))
        if t.data is None:
            graph_inputs.append(len(tensors))
        tensors.append(t)
    out_idx = []
    for t in spec.outputs:
        out_idx.append(len(tensors))
        tensors.append(t)
    op = OpSpec(spec.op, in_idx, out_idx, spec.options_type, spec.options)
    return build_model([op], graph_inputs, out_idx, tensors)


# ---------------------------------------------------------------------------
# Random single-op cases. Each returns (OpSpec, description).

ACT = {'NONE': 0, 'RELU': 1, 'RELU_N1_TO_1': 2, 'RELU6': 3}


def _rand_scale(rng, lo=1e-3, hi=0.5):
    return float(np.float32(np.exp(rng.uniform(np.log(lo), np.log(hi)))))


def _out_size(padding, in_size, k, stride, dil=1):
    eff = (k - 1) * dil + 1
    return (in_size + stride - 1) // stride if padding == 'SAME' else (in_size - eff + stride) // stride


def _bias_for(rng, n, acc_scale_hint):
    return rng.integers(-acc_scale_hint, acc_scale_hint + 1, size=n).astype(np.int32)


def random_conv2d(rng, depthwise=False, dilation=None, depth_multiplier=None):
    """dilation (h, w) and depth_multiplier, when given, replace the random ones."""
    while True:
        ih, iw = int(rng.integers(1, 13)), int(rng.integers(1, 13))
        kh, kw = int(rng.integers(1, 6)), int(rng.integers(1, 6))
        sh, sw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        dh = dw = 1
        if dilation is not None:
            dh, dw = dilation
        elif rng.random() < 0.15:
            dh, dw = int(rng.integers(1, 3)), int(rng.integers(1, 3))
        padding = 'SAME' if rng.random() < 0.6 else 'VALID'
        oh, ow = _out_size(padding, ih, kh, sh, dh), _out_size(padding, iw, kw, sw, dw)
        if oh >= 1 and ow >= 1:
            break
    ic = int(rng.integers(1, 17))
    dm = 1
    if depthwise:
        dm = depth_multiplier or (1 if rng.random() < 0.8 else int(rng.integers(2, 4)))
        oc = ic * dm
    else:
        oc = int(rng.integers(1, 17))
    batches = 1 if rng.random() < 0.9 else 2
    in_scale = _rand_scale(rng, 0.005, 1.0)
    in_zp = int(rng.integers(-128, 128))
    out_scale = _rand_scale(rng, 0.005, 1.0)
    out_zp = int(rng.integers(-128, 128))
    fshape = (1, kh, kw, oc) if depthwise else (oc, kh, kw, ic)
    w = rng.integers(-127, 128, size=fshape).astype(np.int8)
    if rng.random() < 0.1:
        w[..., 0] = 0 if depthwise else w[..., 0]
    fscales = [_rand_scale(rng, 1e-4, 0.05) for _ in range(oc)]
    if rng.random() < 0.6:
        # Output scale near the accumulator spread, so outputs are mostly not
        # saturated; otherwise keep the independent random scale.
        taps = kh * kw * (1 if depthwise else ic)
        spread = in_scale * float(np.median(fscales)) * np.sqrt(taps) * 80 * 74
        out_scale = float(np.float32(spread / 60 * rng.uniform(0.3, 3.0)))
    if rng.random() < 0.05:
        fscales[0] = 1e-9  # exercises the flush-to-zero multiplier path
    bias = rng.integers(-20000, 20001, size=oc).astype(np.int32)
    if rng.random() < 0.05:
        bias[0] = (1 << 30) * (1 if rng.random() < 0.5 else -1)
    act = str(rng.choice(list(ACT)))
    opts = {'Padding': 0 if padding == 'SAME' else 1, 'StrideW': sw, 'StrideH': sh,
            'FusedActivationFunction': ACT[act], 'DilationWFactor': dw, 'DilationHFactor': dh}
    if depthwise:
        opts['DepthMultiplier'] = dm
    inp = TensorSpec((batches, ih, iw, ic), np.int8, in_scale, in_zp)
    flt = TensorSpec(fshape, np.int8, fscales, 0, 3 if depthwise else 0, w)
    bia = TensorSpec((oc,), np.int32, [in_scale * s for s in fscales], 0, 0, bias)
    out = TensorSpec((batches, oh, ow, oc), np.int8, out_scale, out_zp)
    spec = OpSpec('DEPTHWISE_CONV_2D' if depthwise else 'CONV_2D', [inp, flt, bia], [out],
                  'DepthwiseConv2DOptions' if depthwise else 'Conv2DOptions', opts)
    desc = (f'{spec.op} in={inp.shape} k={kh}x{kw} s={sh}x{sw} d={dh}x{dw} {padding} '
            f'oc={oc} dm={dm} act={act} zp_in={in_zp} zp_out={out_zp}')
    return spec, desc


def random_transpose_conv(rng):
    """TRANSPOSE_CONV with per-channel weights, with and without bias, SAME or
    VALID, strides 1 to 3, and output sizes anywhere in the range TensorFlow
    allows for the input (output_padding), a random fused activation."""
    n = 1 if rng.random() < 0.9 else 2
    ih, iw = int(rng.integers(1, 8)), int(rng.integers(1, 8))
    kh, kw = int(rng.integers(1, 6)), int(rng.integers(1, 6))
    sh, sw = (int(rng.integers(1, 3)) for _ in range(2)) if rng.random() < 0.85 else (3, int(rng.integers(1, 4)))
    padding = 'SAME' if rng.random() < 0.6 else 'VALID'

    def out_size(i, k, st):
        full = i * st if padding == 'SAME' else (i - 1) * st + k
        extra = int(rng.integers(0, st)) if rng.random() < 0.3 else 0
        return full - extra if padding == 'SAME' else full + extra

    oh, ow = out_size(ih, kh, sh), out_size(iw, kw, sw)
    ic, oc = int(rng.integers(1, 17)), int(rng.integers(1, 17))
    in_scale, in_zp = _rand_scale(rng, 0.005, 1.0), int(rng.integers(-128, 128))
    out_zp = int(rng.integers(-128, 128))
    fscales = [_rand_scale(rng, 1e-4, 0.05) for _ in range(oc)]
    if rng.random() < 0.2:
        fscales = fscales[:1]  # per-tensor weights
    # Each output sums about (k / stride)^2 * ic products.
    taps = max(1.0, kh * kw / (sh * sw)) * ic
    out_scale = float(np.float32(in_scale * float(np.median(fscales)) * np.sqrt(taps) * 80 * 74 / 60
                                 * rng.uniform(0.3, 3.0)))
    w = rng.integers(-127, 128, size=(oc, kh, kw, ic)).astype(np.int8)
    has_bias = rng.random() < 0.7
    act = str(rng.choice(list(ACT)))
    inputs = [TensorSpec((4,), np.int32, data=np.array([n, oh, ow, oc], np.int32)),
              TensorSpec((oc, kh, kw, ic), np.int8, fscales, 0, 0, w),
              TensorSpec((n, ih, iw, ic), np.int8, in_scale, in_zp)]
    if has_bias:
        bscales = [in_scale * f for f in (fscales * oc if len(fscales) == 1 else fscales)]
        inputs.append(TensorSpec((oc,), np.int32, bscales, 0, 0,
                                 rng.integers(-20000, 20001, size=oc).astype(np.int32)))
    spec = OpSpec('TRANSPOSE_CONV', inputs, [TensorSpec((n, oh, ow, oc), np.int8, None, None)],
                  'TransposeConvOptions', {'Padding': 0 if padding == 'SAME' else 1, 'StrideW': sw, 'StrideH': sh,
                                           'FusedActivationFunction': ACT[act]})
    spec.outputs[0].scale, spec.outputs[0].zero_point = out_scale, out_zp
    desc = (f'TRANSPOSE_CONV in={(n, ih, iw, ic)} out={(n, oh, ow, oc)} k={kh}x{kw} s={sh}x{sw} {padding} '
            f'bias={has_bias} per_channel={len(fscales) > 1} act={act}')
    return spec, desc


def random_depthwise_multiplier_dilation(rng):
    """DEPTHWISE_CONV_2D with a depth multiplier above 1, a dilation above 1, or
    both (the rest of the geometry as random_conv2d draws it)."""
    which = int(rng.integers(0, 3))  # 0: multiplier, 1: dilation, 2: both
    dm = int(rng.integers(2, 5)) if which != 1 else 1
    dilation = (int(rng.integers(2, 4)), int(rng.integers(1, 4))) if which != 0 else (1, 1)
    if which != 0 and rng.random() < 0.5:
        dilation = dilation[::-1]
    return random_conv2d(rng, True, dilation=dilation, depth_multiplier=dm)


def random_fully_connected(rng):
    depth = int(rng.integers(1, 80))
    units = int(rng.integers(1, 40))
    batches = 1 if rng.random() < 0.85 else int(rng.integers(2, 4))
    in_scale, out_scale = _rand_scale(rng, 0.005, 1.0), _rand_scale(rng, 0.005, 1.0)
    f_scale = _rand_scale(rng, 1e-4, 0.05)
    in_zp, out_zp = int(rng.integers(-128, 128)), int(rng.integers(-128, 128))
    w = rng.integers(-127, 128, size=(units, depth)).astype(np.int8)
    has_bias = rng.random() < 0.9
    if rng.random() < 0.6:
        out_scale = float(np.float32(in_scale * f_scale * np.sqrt(depth) * 80 * 74 / 60
                                     * rng.uniform(0.3, 3.0)))
    bias = rng.integers(-20000, 20001, size=units).astype(np.int32)
    act = str(rng.choice(list(ACT)))
    inp = TensorSpec((batches, depth), np.int8, in_scale, in_zp)
    flt = TensorSpec((units, depth), np.int8, f_scale, 0, 0, w)
    bia = TensorSpec((units,), np.int32, in_scale * f_scale, 0, 0, bias) if has_bias else None
    out = TensorSpec((batches, units), np.int8, out_scale, out_zp)
    spec = OpSpec('FULLY_CONNECTED', [inp, flt, bia], [out], 'FullyConnectedOptions',
                  {'FusedActivationFunction': ACT[act]})
    return spec, f'FC batches={batches} depth={depth} units={units} bias={has_bias} act={act}'


def random_avgpool(rng):
    while True:
        ih, iw = int(rng.integers(1, 14)), int(rng.integers(1, 14))
        kh, kw = int(rng.integers(1, 6)), int(rng.integers(1, 6))
        sh, sw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        padding = 'SAME' if rng.random() < 0.6 else 'VALID'
        oh, ow = _out_size(padding, ih, kh, sh), _out_size(padding, iw, kw, sw)
        if oh >= 1 and ow >= 1:
            break
    c = int(rng.integers(1, 20))
    scale, zp = _rand_scale(rng, 0.005, 1.0), int(rng.integers(-128, 128))
    act = str(rng.choice(list(ACT)))
    inp = TensorSpec((1, ih, iw, c), np.int8, scale, zp)
    out = TensorSpec((1, oh, ow, c), np.int8, scale, zp)
    spec = OpSpec('AVERAGE_POOL_2D', [inp], [out], 'Pool2DOptions',
                  {'Padding': 0 if padding == 'SAME' else 1, 'StrideW': sw, 'StrideH': sh,
                   'FilterWidth': kw, 'FilterHeight': kh, 'FusedActivationFunction': ACT[act]})
    return spec, f'AVGPOOL in={inp.shape} k={kh}x{kw} s={sh}x{sw} {padding} act={act}'


def random_maxpool(rng):
    spec, desc = random_avgpool(rng)
    spec.op = 'MAX_POOL_2D'
    return spec, desc.replace('AVGPOOL', 'MAXPOOL')


def random_pad(rng):
    rank = int(rng.integers(1, 5))
    shape = tuple(int(x) for x in rng.integers(1, 7, size=rank))
    pads = rng.integers(0, 4, size=(rank, 2)).astype(np.int32)
    out_shape = tuple(int(d + a + b) for d, (a, b) in zip(shape, pads))
    scale, zp = _rand_scale(rng, 0.005, 1.0), int(rng.integers(-128, 128))
    inputs = [TensorSpec(shape, np.int8, scale, zp), TensorSpec((rank, 2), np.int32, data=pads)]
    op = 'PAD'
    if rng.random() < 0.3:
        op = 'PADV2'
        inputs.append(TensorSpec((1,), np.int8, scale, zp, data=np.array([rng.integers(-128, 128)], np.int8)))
    spec = OpSpec(op, inputs, [TensorSpec(out_shape, np.int8, scale, zp)],
                  'PadV2Options' if op == 'PADV2' else 'PadOptions', {})
    return spec, f'{op} in={shape} pads={pads.tolist()}'


def random_concatenation(rng):
    """CONCATENATION of the model input and a same-quantised copy made by a
    1x1 depthwise conv (modelc models have one input), 2 or 3 operands."""
    rank = int(rng.integers(1, 5))
    base = [int(x) for x in rng.integers(1, 6, size=rank)]
    base[-1] = max(base[-1], 1)
    axis = int(rng.integers(-rank, rank))
    scale, zp = _rand_scale(rng, 0.005, 1.0), int(rng.integers(-128, 128))
    shape4 = (1,) * (4 - rank) + tuple(base)
    c = shape4[-1]
    fs = [float(np.float32(1.0 / 127)) for _ in range(c)]
    w = rng.integers(-127, 128, size=(1, 1, 1, c)).astype(np.int8)
    tensors = [TensorSpec(tuple(base), np.int8, scale, zp, name='x'),
               TensorSpec(shape4, np.int8, scale, zp, name='x4'),
               TensorSpec((1, 1, 1, c), np.int8, fs, 0, 3, w, name='w'),
               TensorSpec((c,), np.int32, [scale * f for f in fs], 0, 0,
                          rng.integers(-200, 201, size=c).astype(np.int32), name='b'),
               TensorSpec(shape4, np.int8, scale, zp, name='y4'),
               TensorSpec(tuple(base), np.int8, scale, zp, name='y')]
    operands = [int(v) for v in rng.choice([0, 5], size=int(rng.integers(2, 4)))]
    ax = axis % rank
    out_shape = list(base)
    out_shape[ax] = base[ax] * len(operands)
    tensors.append(TensorSpec(tuple(out_shape), np.int8, scale, zp, name='out'))
    ops = [OpSpec('RESHAPE', [0], [1]),
           OpSpec('DEPTHWISE_CONV_2D', [1, 2, 3], [4], 'DepthwiseConv2DOptions',
                  {'Padding': 1, 'StrideW': 1, 'StrideH': 1, 'DepthMultiplier': 1,
                   'FusedActivationFunction': 0, 'DilationWFactor': 1, 'DilationHFactor': 1}),
           OpSpec('RESHAPE', [4], [5]),
           OpSpec('CONCATENATION', operands, [6], 'ConcatenationOptions', {'Axis': axis})]
    return build_model(ops, [0], [6], tensors), f'CONCATENATION shape={base} axis={axis} operands={operands}'


def random_quantize_io(rng):
    """A model with float32 or uint8 I/O: QUANTIZE in, a 1x1 depthwise conv (so
    the int8 scale changes), then DEQUANTIZE to float32 or QUANTIZE to uint8 (or
    int8 with another scale).  Returns (model_bytes, desc); the input bytes of a
    float model are made by float_inputs()."""
    shape = (1, int(rng.integers(1, 6)), int(rng.integers(1, 6)), int(rng.integers(1, 9)))
    c = shape[-1]
    in_type = np.float32 if rng.random() < 0.6 else np.uint8
    out_type = [np.float32, np.uint8, np.int8][int(rng.integers(0, 3))]
    s1, z1 = _rand_scale(rng, 0.005, 0.5), int(rng.integers(-128, 128))
    s2, z2 = _rand_scale(rng, 0.005, 0.5), int(rng.integers(-128, 128))
    s3, z3 = _rand_scale(rng, 0.005, 0.5), int(rng.integers(0 if out_type == np.uint8 else -128,
                                                             256 if out_type == np.uint8 else 128))
    if in_type == np.float32:
        x = TensorSpec(shape, np.float32, name='x')
    else:
        x = TensorSpec(shape, np.uint8, _rand_scale(rng, 0.005, 0.5), int(rng.integers(0, 256)), name='x')
    fs = [float(np.float32(rng.uniform(0.5, 2.0) * s2 / (s1 * 127))) for _ in range(c)]
    tensors = [x, TensorSpec(shape, np.int8, s1, z1, name='q'),
               TensorSpec((1, 1, 1, c), np.int8, fs, 0, 3, rng.integers(-127, 128, size=(1, 1, 1, c)).astype(np.int8)),
               TensorSpec((c,), np.int32, [s1 * f for f in fs], 0, 0, rng.integers(-300, 301, size=c).astype(np.int32)),
               TensorSpec(shape, np.int8, s2, z2, name='y'),
               TensorSpec(shape, out_type, None if out_type == np.float32 else s3,
                          None if out_type == np.float32 else z3, name='out')]
    ops = [OpSpec('QUANTIZE', [0], [1]),
           OpSpec('DEPTHWISE_CONV_2D', [1, 2, 3], [4], 'DepthwiseConv2DOptions',
                  {'Padding': 1, 'StrideW': 1, 'StrideH': 1, 'DepthMultiplier': 1,
                   'FusedActivationFunction': 0, 'DilationWFactor': 1, 'DilationHFactor': 1}),
           OpSpec('DEQUANTIZE' if out_type == np.float32 else 'QUANTIZE', [4], [5])]
    desc = (f'QUANTIZE/DEQUANTIZE io {np.dtype(in_type).name} -> {np.dtype(out_type).name} shape={shape} '
            f'q=({s1:.4g},{z1})')
    return build_model(ops, [0], [5], tensors), desc


def float_inputs(rng, model_bytes, count):
    """Input bytes (as int8 rows) for a model whose input is float32: values
    spanning the first QUANTIZE's int8 range and 20 % beyond, plus exact
    half steps (rounding ties)."""
    from modelc.reader import read_model

    g = read_model(model_bytes)
    x = g.tensors[g.inputs[0]]
    q = g.tensors[g.operators[0].outputs[0]]
    lo, hi = (-128 - q.zero_point) * q.scale, (127 - q.zero_point) * q.scale
    span = hi - lo
    vals = rng.uniform(lo - 0.2 * span, hi + 0.2 * span, size=(count, x.size)).astype(np.float32)
    ties = (rng.integers(-140, 140, size=(count, x.size)) + 0.5).astype(np.float32) * np.float32(q.scale)
    vals[:, ::2] = ties[:, ::2]
    return vals.view(np.int8)


def random_activation(rng):
    """A standalone RELU, RELU6 or LEAKY_RELU, the output scale and zero point
    independent of the input's (TFLM has no RELU_N1_TO_1)."""
    op = str(rng.choice(['RELU', 'RELU6', 'LEAKY_RELU']))
    shape = tuple(int(x) for x in rng.integers(1, 8, size=int(rng.integers(1, 5))))
    s_in, z_in = _rand_scale(rng, 0.005, 0.2), int(rng.integers(-128, 128))
    s_out, z_out = float(np.float32(s_in * rng.uniform(0.3, 3.0))), int(rng.integers(-128, 128))
    opts, otype = {}, ''
    if op == 'LEAKY_RELU':
        otype, opts = 'LeakyReluOptions', {'Alpha': float(np.float32(rng.uniform(0.01, 0.5)))}
    spec = OpSpec(op, [TensorSpec(shape, np.int8, s_in, z_in)], [TensorSpec(shape, np.int8, s_out, z_out)],
                  otype, opts)
    return spec, f'{op} shape={shape} in=({s_in:.4g},{z_in}) out=({s_out:.4g},{z_out}) {opts}'


def random_mean(rng):
    """MEAN over random axes (often the spatial pair, as a global pool), kept or
    dropped dimensions, with the output quantised like the input or not."""
    rank = int(rng.integers(2, 5))
    shape = tuple(int(x) for x in rng.integers(1, 7, size=rank))
    if rank == 4 and rng.random() < 0.5:
        axes = [1, 2]
    else:
        axes = sorted(int(a) for a in rng.choice(rank, size=int(rng.integers(1, rank + 1)), replace=False))
    if rng.random() < 0.3:
        axes = [a - rank for a in axes]
    keep = bool(rng.random() < 0.5)
    red = {a % rank for a in axes}
    out_shape = tuple(1 if i in red else d for i, d in enumerate(shape)) if keep else \
        tuple(d for i, d in enumerate(shape) if i not in red)
    s_in, z_in = _rand_scale(rng, 0.005, 0.5), int(rng.integers(-128, 128))
    s_out, z_out = (s_in, z_in) if rng.random() < 0.4 else \
        (float(np.float32(s_in * rng.uniform(0.3, 2.0))), int(rng.integers(-128, 128)))
    spec = OpSpec('MEAN', [TensorSpec(shape, np.int8, s_in, z_in),
                           TensorSpec((len(axes),), np.int32, data=np.array(axes, np.int32))],
                  [TensorSpec(out_shape or (1,), np.int8, s_out, z_out)], 'ReducerOptions', {'KeepDims': keep})
    return spec, f'MEAN in={shape} axes={axes} keep={keep} same_q={(s_in, z_in) == (s_out, z_out)}'


def random_strided_slice(rng):
    """STRIDED_SLICE with random begin/end (negative too), strides of either
    sign, begin/end masks and a shrunk axis; the output shape computed the
    TensorFlow way here, independently of modelc."""
    while True:
        rank = int(rng.integers(1, 5))
        shape = [int(x) for x in rng.integers(1, 7, size=rank)]
        begin, end, strides, out = [], [], [], []
        bmask = emask = smask = 0
        for k, dim in enumerate(shape):
            step = int(rng.choice([1, 1, 2, 3, -1, -2]))
            b, e = int(rng.integers(-dim, dim + 1)), int(rng.integers(-dim - 1, dim + 2))
            if rng.random() < 0.2:
                bmask |= 1 << k
            if rng.random() < 0.2:
                emask |= 1 << k
            if rng.random() < 0.15 and dim > 0:
                smask |= 1 << k
                b, step = int(rng.integers(-dim, dim)), 1
                e = b + 1
            begin.append(b), end.append(e), strides.append(step)
            idx = list(range(dim))
            if smask >> k & 1:
                continue
            lo = None if bmask >> k & 1 else b
            hi = None if emask >> k & 1 else e
            out.append(len(idx[slice(lo, hi, step)]))
        if all(n > 0 for n in out):
            break
    scale, zp = _rand_scale(rng, 0.005, 0.5), int(rng.integers(-128, 128))
    spec = OpSpec('STRIDED_SLICE', [TensorSpec(tuple(shape), np.int8, scale, zp),
                                    TensorSpec((rank,), np.int32, data=np.array(begin, np.int32)),
                                    TensorSpec((rank,), np.int32, data=np.array(end, np.int32)),
                                    TensorSpec((rank,), np.int32, data=np.array(strides, np.int32))],
                  [TensorSpec(tuple(out), np.int8, scale, zp)], 'StridedSliceOptions',
                  {'BeginMask': bmask, 'EndMask': emask, 'ShrinkAxisMask': smask})
    return spec, f'STRIDED_SLICE in={shape} b={begin} e={end} s={strides} masks={bmask},{emask},{smask}'


def random_add(rng, op='ADD'):
    """ADD of the model input and a per-channel rescaled copy of it.

    modelc models have a single input, so the second operand is produced by a
    1x1 depthwise conv with random weights; its output scale/zero point are
    independent of the first operand's, which is what ADD must handle.
    Returns (model_bytes, desc) rather than an OpSpec.
    """
    rank = int(rng.integers(1, 4))
    shape = tuple(int(x) for x in rng.integers(1, 9, size=rank))
    shape4 = (1,) * (3 - rank) + shape
    shape4 = (1,) + shape4 if len(shape4) == 3 else shape4
    c = shape4[-1]
    s1, s2, so = (_rand_scale(rng, 0.005, 1.0) for _ in range(3))
    if rng.random() < 0.7:
        so = float(np.float32((s1 + s2) * rng.uniform(0.4, 1.5)))
    if op == 'MUL':  # products span about s1 * s2 * 128^2
        so = float(np.float32(s1 * s2 * 128 * rng.uniform(0.3, 1.5)))
    z1, z2, zo = (int(rng.integers(-128, 128)) for _ in range(3))
    # Filter scales chosen so the conv output spans most of the int8 range.
    fs = [float(np.float32(rng.uniform(0.5, 2.0) * 200 * s2 / (s1 * 127 * 128))) for _ in range(c)]
    w = rng.integers(-127, 128, size=(1, 1, 1, c)).astype(np.int8)
    bias = rng.integers(-2000, 2001, size=c).astype(np.int32)
    act = str(rng.choice(['NONE', 'RELU', 'RELU6']))
    x = TensorSpec(shape4, np.int8, s1, z1, name='x')
    tensors = [
        x,
        TensorSpec((1, 1, 1, c), np.int8, fs, 0, 3, w, name='w'),
        TensorSpec((c,), np.int32, [s1 * f for f in fs], 0, 0, bias, name='b'),
        TensorSpec(shape4, np.int8, s2, z2, name='y'),
        TensorSpec(shape4, np.int8, so, zo, name='out'),
    ]
    swap = bool(rng.random() < 0.5)
    ops = [
        OpSpec('DEPTHWISE_CONV_2D', [0, 1, 2], [3], 'DepthwiseConv2DOptions',
               {'Padding': 1, 'StrideW': 1, 'StrideH': 1, 'DepthMultiplier': 1,
                'FusedActivationFunction': 0, 'DilationWFactor': 1, 'DilationHFactor': 1}),
        OpSpec(op, [3, 0] if swap else [0, 3], [4], {'ADD': 'AddOptions', 'SUB': 'SubOptions', 'MUL': 'MulOptions'}[op],
               {'FusedActivationFunction': ACT[act]}),
    ]
    model = build_model(ops, [0], [4], tensors)
    return model, (f'{op} shape={shape4} scales={s1:.4g},{s2:.4g}->{so:.4g} '
                   f'zps={z1},{z2}->{zo} act={act} swap={swap}')


def _binary_output_scale(rng, op, s1, s2):
    """An output scale that keeps most ADD/SUB/MUL results inside int8."""
    if op == 'MUL':  # products span about s1 * s2 * 128^2
        return float(np.float32(s1 * s2 * 128 * rng.uniform(0.3, 1.5)))
    return float(np.float32((s1 + s2) * rng.uniform(0.4, 1.5)))


def _broadcast_pair(rng, out):
    """Two shapes, different but broadcasting to `out` (numpy rules): each dimension
    full or 1, the second of rank <= len(out)."""
    rank = len(out)
    while True:
        x = [d if rng.random() < 0.6 else 1 for d in out]
        c_rank = int(rng.integers(1, rank + 1))
        c = [d if rng.random() < 0.5 else 1 for d in out[rank - c_rank:]]
        c4 = [1] * (rank - c_rank) + c
        x = [d if x[k] == 1 and c4[k] == 1 else x[k] for k, d in enumerate(out)]
        if x != c4:
            return x, c


def random_broadcast(rng):
    """ADD, SUB or MUL of operands that broadcast against each other (up to 4-D):
    the model input against a constant of another shape (either may be the
    broadcast one; sometimes of the same shape), or against a MEAN of itself over some axes (kept as 1s,
    sometimes reshaped to a lower rank). Returns (model_bytes, desc)."""
    op = str(rng.choice(['ADD', 'SUB', 'MUL']))
    while True:
        rank = int(rng.integers(1, 5))
        out = [int(x) for x in rng.integers(1, 7, size=rank)]
        if max(out) > 1:
            break
    s1, s2 = _rand_scale(rng, 0.005, 1.0), _rand_scale(rng, 0.005, 1.0)
    z1, z2, zo = (int(rng.integers(-128, 128)) for _ in range(3))
    act = str(rng.choice(['NONE', 'RELU', 'RELU6']))
    swap = bool(rng.random() < 0.5)
    options = {'ADD': 'AddOptions', 'SUB': 'SubOptions', 'MUL': 'MulOptions'}[op]
    if rng.random() < 0.5:
        # Now and then a constant of the input's own shape (the same-shape kernel).
        x_shape, c_shape = (out, out) if rng.random() < 0.15 else _broadcast_pair(rng, out)
        so = _binary_output_scale(rng, op, s1, s2)
        c = rng.integers(-128, 128, size=c_shape).astype(np.int8)
        tensors = [TensorSpec(tuple(x_shape), np.int8, s1, z1, name='x'),
                   TensorSpec(tuple(c_shape), np.int8, s2, z2, data=c, name='c'),
                   TensorSpec(tuple(out), np.int8, so, zo, name='out')]
        ops = [OpSpec(op, [1, 0] if swap else [0, 1], [2], options, {'FusedActivationFunction': ACT[act]})]
        desc = f'{op} x={x_shape} const={c_shape}'
    else:
        wide = [k for k, d in enumerate(out) if d > 1]
        axes = sorted(int(a) for a in rng.choice(wide, size=int(rng.integers(1, len(wide) + 1)), replace=False))
        kept = [1 if k in axes else d for k, d in enumerate(out)]
        lead = 0
        while lead < len(axes) and axes[lead] == lead and rng.random() < 0.5:
            lead += 1  # drop some of the leading 1s: a lower-rank operand
        s2 = float(np.float32(s1 * rng.uniform(0.3, 1.5)))
        so = _binary_output_scale(rng, op, s1, s2)
        tensors = [TensorSpec(tuple(out), np.int8, s1, z1, name='x'),
                   TensorSpec((len(axes),), np.int32, data=np.array(axes, np.int32), name='axes'),
                   TensorSpec(tuple(kept), np.int8, s2, z2, name='m'),
                   TensorSpec(tuple(kept[lead:]), np.int8, s2, z2, name='m2'),
                   TensorSpec(tuple(out), np.int8, so, zo, name='out')]
        ops = [OpSpec('MEAN', [0, 1], [2], 'ReducerOptions', {'KeepDims': True}),
               OpSpec('RESHAPE', [2], [3]),
               OpSpec(op, [3, 0] if swap else [0, 3], [4], options, {'FusedActivationFunction': ACT[act]})]
        desc = f'{op} x={out} mean over {axes} -> {kept[lead:]}'
    model = build_model(ops, [0], [len(tensors) - 1], tensors)
    return model, (f'{desc} scales={s1:.4g},{s2:.4g}->{so:.4g} zps={z1},{z2}->{zo} act={act} swap={swap}')
def _sigmoid_input_scale(rng):
    """Mostly typical input scales, one in five at the edges modelc accepts
    (2^-28, where the rescaling shift is 0; inputs saturating from |x| = 1)."""
    if rng.random() < 0.8:
        return _rand_scale(rng, 0.002, 0.5)
    return float(np.float32(rng.choice([2.0 ** -28, 1e-6, 2.0, 30.0, 1000.0])))


def random_logistic_tanh(rng, op):
    """LOGISTIC (output 1/256, -128) or TANH (output 1/128, 0); one in ten
    with another output quantisation, which TFLM ignores (a LOGISTIC output
    zero point must stay -128)."""
    shape = tuple(int(x) for x in rng.integers(1, 9, size=int(rng.integers(1, 5))))
    s_in, z_in = _sigmoid_input_scale(rng), int(rng.integers(-128, 128))
    s_out, z_out = (1.0 / 256, -128) if op == 'LOGISTIC' else (1.0 / 128, 0)
    if rng.random() < 0.1:
        s_out = _rand_scale(rng, 0.001, 0.5)
        z_out = z_out if op == 'LOGISTIC' else int(rng.integers(-128, 128))
    spec = OpSpec(op, [TensorSpec(shape, np.int8, s_in, z_in)], [TensorSpec(shape, np.int8, s_out, z_out)])
    return spec, f'{op} shape={shape} in=({s_in:.4g},{z_in}) out=({s_out:.4g},{z_out})'


def random_hard_swish(rng):
    """HARD_SWISH with the output scale near the input's, or at the edges:
    just above input scale / 128 (TFLM refuses below), or so far above that
    the output shift is 16 to 31 bits (int16 rounding quirks) or the
    multiplier flushes to zero."""
    shape = tuple(int(x) for x in rng.integers(1, 9, size=int(rng.integers(1, 5))))
    s_in, z_in = _sigmoid_input_scale(rng), int(rng.integers(-128, 128))
    ratio = float(np.exp(rng.uniform(np.log(0.05), np.log(5.0))))
    if rng.random() < 0.2:
        ratio = float(rng.choice([1.0 / 120, 600.0, 1e5, 1e12]))
    s_out, z_out = float(np.float32(s_in * ratio)), int(rng.integers(-128, 128))
    spec = OpSpec('HARD_SWISH', [TensorSpec(shape, np.int8, s_in, z_in)], [TensorSpec(shape, np.int8, s_out, z_out)])
    return spec, f'HARD_SWISH shape={shape} in=({s_in:.4g},{z_in}) out=({s_out:.4g},{z_out})'


def random_activation_chain(rng):
    """A MobileNetV3-like block: 1x1 conv, HARD_SWISH, 3x3 depthwise, swish
    gating (LOGISTIC times its own input, MUL), TANH. Scales keep each
    activation's input in the range where its curve bends (a few units)."""
    h, w = (int(v) for v in rng.integers(1, 7, size=2))
    c = int(rng.integers(1, 9))
    shape = (1, h, w, c)
    s_x, z_x = _rand_scale(rng, 0.005, 0.5), int(rng.integers(-128, 128))
    s_y = float(np.float32(rng.uniform(2.0, 8.0) / 128))       # conv output: +-2 .. +-8
    s_h = float(np.float32(s_y * rng.uniform(0.5, 1.0)))       # hard swish: [-0.375, y max]
    z_h = int(min(-100, -128 + round(0.375 / s_h)))
    s_d = float(np.float32(rng.uniform(3.0, 8.0) / 128))       # depthwise output, LOGISTIC input
    s_m = float(np.float32(s_d * rng.uniform(0.5, 1.0)))       # swish, TANH input
    # Filter scales for outputs of about +-40 steps from random int8 inputs
    # (a tap contributes about 74 * 73 on average).
    fs1 = [float(np.float32(rng.uniform(0.5, 2.0) * 40 * s_y / (s_x * np.sqrt(c) * 74 * 73))) for _ in range(c)]
    fs2 = [float(np.float32(rng.uniform(0.5, 2.0) * 40 * s_d / (s_h * 3 * 50 * 73))) for _ in range(c)]
    conv_opts = {'Padding': 0, 'StrideW': 1, 'StrideH': 1, 'FusedActivationFunction': 0,
                 'DilationWFactor': 1, 'DilationHFactor': 1}
    tensors = [
        TensorSpec(shape, np.int8, s_x, z_x, name='x'),
        TensorSpec((c, 1, 1, c), np.int8, fs1, 0, 0, rng.integers(-127, 128, size=(c, 1, 1, c)).astype(np.int8)),
        TensorSpec((c,), np.int32, [s_x * f for f in fs1], 0, 0, rng.integers(-500, 501, size=c).astype(np.int32)),
        TensorSpec(shape, np.int8, s_y, int(rng.integers(-20, 21)), name='y'),
        TensorSpec(shape, np.int8, s_h, z_h, name='hswish'),
        TensorSpec((1, 3, 3, c), np.int8, fs2, 0, 3, rng.integers(-127, 128, size=(1, 3, 3, c)).astype(np.int8)),
        TensorSpec((c,), np.int32, [s_h * f for f in fs2], 0, 0, rng.integers(-500, 501, size=c).astype(np.int32)),
        TensorSpec(shape, np.int8, s_d, int(rng.integers(-20, 21)), name='d'),
        TensorSpec(shape, np.int8, 1.0 / 256, -128, name='gate'),
        TensorSpec(shape, np.int8, s_m, int(rng.integers(-100, -60)), name='swish'),
        TensorSpec(shape, np.int8, 1.0 / 128, 0, name='out'),
    ]
    ops = [OpSpec('CONV_2D', [0, 1, 2], [3], 'Conv2DOptions', conv_opts),
           OpSpec('HARD_SWISH', [3], [4]),
           OpSpec('DEPTHWISE_CONV_2D', [4, 5, 6], [7], 'DepthwiseConv2DOptions', dict(conv_opts, DepthMultiplier=1)),
           OpSpec('LOGISTIC', [7], [8]),
           OpSpec('MUL', [7, 8], [9], 'MulOptions', {'FusedActivationFunction': 0}),
           OpSpec('TANH', [9], [10])]
    return build_model(ops, [0], [10], tensors), f'ACTIVATION_CHAIN shape={shape} in=({s_x:.4g},{z_x})'


def random_softmax(rng):
    rows = int(rng.integers(1, 4))
    depth = int(rng.integers(1, 40))
    scale = _rand_scale(rng, 0.001, 0.1) if rng.random() < 0.7 else _rand_scale(rng, 0.001, 2.0)
    zp = int(rng.integers(-128, 128))
    beta = 1.0 if rng.random() < 0.7 else float(np.float32(rng.uniform(0.1, 3.0)))
    spec = OpSpec('SOFTMAX', [TensorSpec((rows, depth), np.int8, scale, zp)],
                  [TensorSpec((rows, depth), np.int8, 1.0 / 256, -128)], 'SoftmaxOptions',
                  {'Beta': beta})
    return spec, f'SOFTMAX rows={rows} depth={depth} scale={scale:.4g} beta={beta:.4g}'


def _single(gen):
    def make(rng):
        spec, desc = gen(rng)
        return single_op_model(spec), desc
    return make


# kind -> rng -> (model_bytes, description)
GENERATORS = {
    'conv2d': _single(lambda rng: random_conv2d(rng, False)),
    'depthwise_conv2d': _single(lambda rng: random_conv2d(rng, True)),
    'fully_connected': _single(random_fully_connected),
    'avgpool2d': _single(random_avgpool),
    'add': random_add,
    'softmax': _single(random_softmax),
    'maxpool2d': _single(random_maxpool),
    'pad': _single(random_pad),
    'concatenation': random_concatenation,
    'quantize_io': random_quantize_io,
    'activation': _single(random_activation),
    'sub': lambda rng: random_add(rng, 'SUB'),
    'mul': lambda rng: random_add(rng, 'MUL'),
    'mean': _single(random_mean),
    'strided_slice': _single(random_strided_slice),
    'broadcast': random_broadcast,
    'transpose_conv': _single(random_transpose_conv),
    'depthwise_multiplier_dilation': _single(random_depthwise_multiplier_dilation),
    'logistic': _single(lambda rng: random_logistic_tanh(rng, 'LOGISTIC')),
    'tanh': _single(lambda rng: random_logistic_tanh(rng, 'TANH')),
    'hard_swish': _single(random_hard_swish),
    'activation_chain': random_activation_chain,
}


# The order cases were first generated in: a new kind is appended, so adding
# one does not change the cases of the others.
KIND_SEEDS = ['add', 'avgpool2d', 'conv2d', 'depthwise_conv2d', 'fully_connected', 'softmax',
              'maxpool2d', 'pad', 'concatenation', 'quantize_io',
              'activation', 'sub', 'mul', 'mean', 'strided_slice', 'broadcast',
              'transpose_conv', 'depthwise_multiplier_dilation',
              'logistic', 'tanh', 'hard_swish', 'activation_chain']


def make_case(kind, index, base_seed=2024):
    """Deterministic case `index` of `kind`: (model_bytes, description)."""
    rng = np.random.default_rng([base_seed, KIND_SEEDS.index(kind), index])
    return GENERATORS[kind](rng)


def _conv_spec(rng, in_shape, in_scale, in_zp, k, stride, padding, oc, act='RELU',
               depthwise=False, fscale_range=(1e-3, 0.02), out_scale=None, out_zp=-128,
               bias=None, weights=None):
    n, ih, iw, ic = in_shape
    kh, kw = k
    sh, sw = stride
    oh, ow = _out_size(padding, ih, kh, sh), _out_size(padding, iw, kw, sw)
    fshape = (1, kh, kw, oc) if depthwise else (oc, kh, kw, ic)
    w = weights if weights is not None else rng.integers(-127, 128, size=fshape).astype(np.int8)
    fs = [_rand_scale(rng, *fscale_range) for _ in range(oc)]
    if out_scale is None:
        taps = kh * kw * (1 if depthwise else ic)
        out_scale = float(np.float32(in_scale * float(np.median(fs)) * np.sqrt(taps) * 80 * 74 / 60))
    if bias is None:
        bias = rng.integers(-5000, 5001, size=oc).astype(np.int32)
    opts = {'Padding': 0 if padding == 'SAME' else 1, 'StrideW': sw, 'StrideH': sh,
            'FusedActivationFunction': ACT[act], 'DilationWFactor': 1, 'DilationHFactor': 1}
    if depthwise:
        opts['DepthMultiplier'] = 1
    return OpSpec('DEPTHWISE_CONV_2D' if depthwise else 'CONV_2D',
                  [TensorSpec(in_shape, np.int8, in_scale, in_zp),
                   TensorSpec(fshape, np.int8, fs, 0, 3 if depthwise else 0, w),
                   TensorSpec((oc,), np.int32, [in_scale * f for f in fs], 0, 0, bias)],
                  [TensorSpec((n, oh, ow, oc), np.int8, out_scale, out_zp)],
                  'DepthwiseConv2DOptions' if depthwise else 'Conv2DOptions', opts)


def special_cases():
    """Hand-picked geometries from the benchmark models that break naive kernels.
    Returns a list of (name, model_bytes)."""
    rng = np.random.default_rng(777)
    cases = []
    # kws first layer: 10x4 kernel, stride 2, SAME padding top 4 / bottom 5,
    # input zero point 83 (padded taps must be skipped, not treated as 0).
    cases.append(('kws_conv0_uneven_same', single_op_model(_conv_spec(
        rng, (1, 49, 10, 1), 0.5847, 83, (10, 4), (2, 2), 'SAME', 16))))
    # vww stride-2 depthwise: even input, SAME pads only bottom/right.
    cases.append(('vww_dw_stride2_bottom_right', single_op_model(_conv_spec(
        rng, (1, 12, 12, 8), 0.02, -128, (3, 3), (2, 2), 'SAME', 8, depthwise=True))))
    # vww-like pointwise layer with all-zero channels, tiny filter scales and
    # biases near +-2^30: requantisation shifts far below -31.
    w = rng.integers(-127, 128, size=(8, 1, 1, 8)).astype(np.int8)
    w[2:4] = 0
    bias = rng.integers(-5000, 5001, size=8).astype(np.int32)
    bias[2], bias[3] = (1 << 30) - 7, -(1 << 30) + 3
    spec = _conv_spec(rng, (1, 6, 6, 8), 0.02, -128, (1, 1), (1, 1), 'VALID', 8,
                      act='RELU6', bias=bias, weights=w)
    spec.inputs[1].scale = list(spec.inputs[1].scale)
    spec.inputs[1].scale[2] = 1e-20
    spec.inputs[1].scale[3] = 3e-12
    spec.inputs[2].scale = [0.02 * f for f in spec.inputs[1].scale]
    cases.append(('tiny_scales_huge_bias', single_op_model(spec)))
    # Global average pools of kws (25x5) and ic (8x8), and one whose 289-tap
    # window is too large for the opt kernel's 16-bit lane sums.
    for (h, w_, c), name in (((25, 5, 64), 'kws_global_avgpool'), ((8, 8, 64), 'ic_global_avgpool'),
                             ((17, 17, 8), 'large_window_avgpool')):
        sc, zp = 0.05, -128
        cases.append((name, single_op_model(OpSpec(
            'AVERAGE_POOL_2D', [TensorSpec((1, h, w_, c), np.int8, sc, zp)],
            [TensorSpec((1, 1, 1, c), np.int8, sc, zp)], 'Pool2DOptions',
            {'Padding': 1, 'StrideW': w_, 'StrideH': h, 'FilterWidth': w_, 'FilterHeight': h,
             'FusedActivationFunction': 0}))))
    # Depthwise 3x3 with channels in fours (the opt kernel's padded-rows
    # path): odd and even output sizes, strides, dilation, a batch of two,
    # a 1x1 image, wide channel counts, full-range and clamped outputs, and
    # a left shift (multiplier > 1) shared by all channels.
    dw3 = [((1, 7, 5, 8), (1, 1), 'SAME', 'RELU', 1, None),
           ((1, 8, 8, 12), (2, 2), 'SAME', 'NONE', 1, None),
           ((1, 9, 6, 16), (2, 1), 'VALID', 'RELU6', 1, None),
           ((1, 7, 6, 4), (1, 2), 'SAME', 'NONE', 2, None),
           ((2, 6, 7, 8), (1, 1), 'SAME', 'RELU', 1, None),
           ((1, 1, 1, 4), (1, 1), 'SAME', 'NONE', 1, None),
           ((1, 3, 3, 256), (1, 1), 'SAME', 'RELU6', 1, None),
           ((1, 6, 6, 128), (2, 2), 'SAME', 'RELU6', 1, None),
           ((1, 5, 4, 8), (1, 1), 'SAME', 'NONE', 1, 0.8)]
    for n, (shape, stride, padding, act, dil, gain) in enumerate(dw3):
        in_scale = 0.02
        fs_range = (0.01, 0.0101) if gain else (1e-3, 0.02)
        out_scale = in_scale * 0.01 * gain if gain else None
        small = dict(weights=rng.integers(-1, 2, size=(1, 3, 3, shape[3])).astype(np.int8),
                     bias=rng.integers(-20, 21, size=shape[3]).astype(np.int32)) if gain else {}
        spec = _conv_spec(rng, shape, in_scale, int(rng.integers(-128, 128)), (3, 3), stride, padding,
                          shape[3], act=act, depthwise=True, fscale_range=fs_range, out_scale=out_scale,
                          out_zp=int(rng.integers(-128, 128)), **small)
        if dil > 1:
            spec.options['DilationWFactor'] = dil
            spec.options['DilationHFactor'] = dil
            ih, iw = shape[1], shape[2]
            oh, ow = _out_size(padding, ih, 3, stride[0], dil), _out_size(padding, iw, 3, stride[1], dil)
            spec.outputs[0].shape = (shape[0], oh, ow, shape[3])
        cases.append((f'dw3x3_c4_{n}', single_op_model(spec)))
    # First layers with three input channels (vww: 3x3 stride 2, ReLU6; ic:
    # 3x3 stride 1 padded all round), nonzero input zero points.
    cases.append(('vww_conv0_in3_stride2', single_op_model(_conv_spec(
        rng, (1, 15, 16, 3), 0.02, 5, (3, 3), (2, 2), 'SAME', 8, act='RELU6', out_zp=-7))))
    cases.append(('ic_conv0_in3_same', single_op_model(_conv_spec(
        rng, (1, 7, 9, 3), 0.03, -11, (3, 3), (1, 1), 'SAME', 16))))
    # Four-channel blocks over 1 to 4 (mod 4) groups of taps, with as few as
    # nine output pixels, full range and clamped.
    for ic, k, act in ((4, 1, 'RELU'), (8, 1, 'RELU6'), (12, 1, 'RELU'), (16, 1, 'RELU6'),
                       (4, 3, 'RELU6'), (8, 3, 'RELU'), (12, 3, 'RELU6'), (16, 3, 'RELU')):
        cases.append((f'conv_blocks_in{ic}_k{k}', single_op_model(_conv_spec(
            rng, (1, 3, 3, ic), 0.02, -128, (k, k), (1, 1), 'SAME', 8, act=act))))
    # One tap past each kernel row's whole groups (the opt kernel's fill_rows1):
    # four rows of five single-channel taps, a batch of two, odd pixel count.
    cases.append(('conv_rows1_in1_k4x5', single_op_model(_conv_spec(
        rng, (2, 9, 11, 1), 0.02, 17, (4, 5), (1, 2), 'SAME', 8, out_zp=3))))
    # Pointwise with two constant channels (tiny filter scales, nonzero
    # weights) among ordinary ones: the opt kernel's doubled weights, where
    # a constant channel's weights and bias are zeroed; odd pixel count.
    spec = _conv_spec(rng, (1, 7, 7, 8), 0.02, -128, (1, 1), (1, 1), 'VALID', 8, act='RELU6')
    spec.inputs[1].scale = list(spec.inputs[1].scale)
    spec.inputs[1].scale[1] = 1e-20
    spec.inputs[1].scale[6] = 3e-15
    spec.inputs[2].scale = [0.02 * f for f in spec.inputs[1].scale]
    cases.append(('conv_dbl_constant_channels', single_op_model(spec)))
    # Blocks of four constant channels (the opt kernel leaves them out of its
    # stream and stores their outputs as words): one block of eight channels
    # with a clamped range, and a layer with only constant channels.
    for n, (oc, const, act) in enumerate(((8, range(4, 8), 'RELU6'), (4, range(4), 'RELU'))):
        spec = _conv_spec(rng, (1, 5, 5, 8), 0.02, 9, (3, 3), (1, 1), 'SAME', oc, act=act)
        spec.inputs[1].scale = list(spec.inputs[1].scale)
        for c in const:
            spec.inputs[1].scale[c] = 1e-20 * (c + 1)
        spec.inputs[2].scale = [0.02 * f for f in spec.inputs[1].scale]
        cases.append((f'conv_constant_blocks_{n}', single_op_model(spec)))
    # Pointwise pairs in one asm pass per batch (a batch of two, 24 pixels
    # each), with a constant block.
    spec = _conv_spec(rng, (2, 4, 6, 12), 0.02, -3, (1, 1), (1, 1), 'VALID', 8, act='NONE')
    spec.inputs[1].scale = list(spec.inputs[1].scale)
    for c in range(4):
        spec.inputs[1].scale[c] = 1e-20
    spec.inputs[2].scale = [0.02 * f for f in spec.inputs[1].scale]
    cases.append(('conv_pw_pairs_batch2', single_op_model(spec)))
    # Depthwise 3x3 stride 1 with rows of 12 or more outputs (the opt
    # kernel's channel-planes path), kept small (the raw firmware holds
    # every case): whole quads, a closing pair, a closing quad past the row
    # end, two bands of rows, no left pad (VALID) with a batch of two, twelve
    # channels, the widest rows the planes hold (62) and one more (63, the
    # padded-rows path), clamped outputs and a shared left shift.
    planes = [((1, 15, 12, 4), 'SAME', 'NONE', None),
              ((1, 3, 14, 4), 'SAME', 'RELU6', None),
              ((2, 4, 14, 4), 'VALID', 'RELU6', None),
              ((1, 3, 15, 4), 'SAME', 'NONE', 0.8),
              ((1, 3, 12, 12), 'SAME', 'RELU', None),
              ((1, 1, 62, 4), 'SAME', 'RELU', None),
              ((1, 1, 63, 4), 'SAME', 'NONE', None)]
    for n, (shape, padding, act, gain) in enumerate(planes):
        in_scale = 0.02
        fs_range = (0.01, 0.0101) if gain else (1e-3, 0.02)
        out_scale = in_scale * 0.01 * gain if gain else None
        small = dict(weights=rng.integers(-1, 2, size=(1, 3, 3, shape[3])).astype(np.int8),
                     bias=rng.integers(-20, 21, size=shape[3]).astype(np.int32)) if gain else {}
        cases.append((f'dw3x3_planes_{n}', single_op_model(_conv_spec(
            rng, shape, in_scale, int(rng.integers(-128, 128)), (3, 3), (1, 1), padding, shape[3], act=act,
            depthwise=True, fscale_range=fs_range, out_scale=out_scale, out_zp=int(rng.integers(-128, 128)),
            **small))))
    # Wide layers (the larger IC ResNet's 3x3x160): 1,440 and 2,048 taps per
    # output, in four-channel blocks (few output channels) and in pairs (so
    # many that the expanded filter does not fit).
    cases.append(('conv_k1440_blocks', single_op_model(_conv_spec(
        rng, (1, 4, 4, 160), 0.02, -128, (3, 3), (1, 1), 'SAME', 8))))
    cases.append(('conv_k1440_pairs', single_op_model(_conv_spec(
        rng, (1, 3, 3, 160), 0.02, 7, (3, 3), (1, 1), 'SAME', 160, act='RELU6'))))
    cases.append(('conv_k2048_blocks', single_op_model(_conv_spec(
        rng, (1, 2, 3, 512), 0.02, -5, (2, 2), (1, 1), 'VALID', 12, act='NONE'))))
    # Depthwise beyond 256 channels (MobileNetV2 expansions: 384, 960), 3x3
    # stride 1 and 2 and a 5x5.
    for n, (shape, k, stride) in enumerate((((1, 3, 3, 384), 3, 1), ((1, 3, 3, 960), 3, 2),
                                            ((1, 2, 3, 320), 5, 1))):
        cases.append((f'dw_wide_{n}', single_op_model(_conv_spec(
            rng, shape, 0.02, int(rng.integers(-128, 128)), (k, k), (stride, stride), 'SAME', shape[3],
            act='RELU6', depthwise=True))))
    # Helium: 3x3x512 = 4,608 taps (beyond the DSP kernel's 2,048: portable there).
    cases.append(('conv_k4608', single_op_model(_conv_spec(
        rng, (1, 2, 2, 512), 0.02, 3, (3, 3), (1, 1), 'SAME', 8, act='RELU'))))
    return cases


# ---------------------------------------------------------------------------
# Models with several inputs and outputs.

_DW_1X1 = {'Padding': 1, 'StrideW': 1, 'StrideH': 1, 'FusedActivationFunction': 0,
           'DilationWFactor': 1, 'DilationHFactor': 1}


def random_multi_io(rng):
    """Two or three inputs of different types and sizes (int8, and uint8 or float32
    through QUANTIZE) -> ADD or CONCATENATION -> two or three heads (FULLY_CONNECTED
    + SOFTMAX, a 1x1 CONV_2D out as int8, uint8 or float32, and a FULLY_CONNECTED
    on the third input).  The model's input and output lists are shuffled, so their
    order differs from the tensors'.  Returns (model_bytes, description)."""
    tensors, ops = [], []

    def tensor(*args, **kw):
        tensors.append(TensorSpec(*args, **kw))
        return len(tensors) - 1

    def to_int8(x, shape, dtype, scale, zp):
        """A model input of `dtype`, quantised to int8 (scale, zp) when it is not int8."""
        if dtype == np.int8:
            return x
        q = tensor(shape, np.int8, scale, zp, name=f'q{x}')
        ops.append(OpSpec('QUANTIZE', [x], [q]))
        return q

    def io_type(choices):
        return [np.int8, np.uint8, np.float32][int(rng.choice(choices))]

    def fully_connected(x, depth, in_scale, units, act=0):
        f_scale = _rand_scale(rng, 1e-3, 0.05)
        w = tensor((units, depth), np.int8, f_scale, 0, 0, rng.integers(-127, 128, size=(units, depth)).astype(np.int8))
        b = tensor((units,), np.int32, in_scale * f_scale, 0, 0, rng.integers(-3000, 3001, size=units).astype(np.int32))
        out_scale = float(np.float32(in_scale * f_scale * np.sqrt(depth) * 80 * rng.uniform(0.5, 1.5)))
        y = tensor((1, units), np.int8, out_scale, int(rng.integers(-128, 128)))
        ops.append(OpSpec('FULLY_CONNECTED', [x, w, b], [y], 'FullyConnectedOptions', {'FusedActivationFunction': act}))
        return y

    h, w_, c = (int(v) for v in rng.integers(1, 6, size=3))
    shape = (1, h, w_, c)
    s0, z0 = _rand_scale(rng, 0.01, 0.2), int(rng.integers(-128, 128))
    x0 = tensor(shape, np.int8, s0, z0, name='x0')
    concat = bool(rng.random() < 0.5)
    t1 = io_type([0, 1, 2])
    s1, z1 = (s0, z0) if concat else (_rand_scale(rng, 0.01, 0.2), int(rng.integers(-128, 128)))
    if t1 == np.int8:
        x1 = tensor(shape, np.int8, s1, z1, name='x1')
    elif t1 == np.uint8:
        x1 = tensor(shape, np.uint8, _rand_scale(rng, 0.01, 0.2), int(rng.integers(0, 256)), name='x1')
    else:
        x1 = tensor(shape, np.float32, name='x1')
    x1q = to_int8(x1, shape, t1, s1, z1)
    if concat:  # CONCATENATION keeps its operands' quantisation
        cm, sm, zm = 2 * c, s0, z0
        m = tensor((1, h, w_, cm), np.int8, sm, zm, name='merged')
        ops.append(OpSpec('CONCATENATION', [x0, x1q], [m], 'ConcatenationOptions', {'Axis': 3}))
    else:
        cm, sm, zm = c, float(np.float32((s0 + s1) * rng.uniform(0.6, 1.2))), int(rng.integers(-128, 128))
        m = tensor(shape, np.int8, sm, zm, name='merged')
        ops.append(OpSpec('ADD', [x0, x1q], [m], 'AddOptions', {'FusedActivationFunction': 0}))

    outputs = []
    # Head A: classifier.
    units = int(rng.integers(2, 13))
    logits = fully_connected(m, h * w_ * cm, sm, units)
    probs = tensor((1, units), np.int8, 1.0 / 256, -128, name='probs')
    ops.append(OpSpec('SOFTMAX', [logits], [probs], 'SoftmaxOptions', {'Beta': 1.0}))
    outputs.append(probs)
    # Head B: a 1x1 convolution, out as int8, uint8 or float32.
    k = int(rng.integers(1, 7))
    fs = [_rand_scale(rng, 2e-3, 0.03) for _ in range(k)]
    wk = tensor((k, 1, 1, cm), np.int8, fs, 0, 0, rng.integers(-127, 128, size=(k, 1, 1, cm)).astype(np.int8))
    bk = tensor((k,), np.int32, [sm * f for f in fs], 0, 0, rng.integers(-2000, 2001, size=k).astype(np.int32))
    sy = float(np.float32(sm * float(np.median(fs)) * np.sqrt(cm) * 80))
    y = tensor((1, h, w_, k), np.int8, sy, int(rng.integers(-128, 128)), name='features')
    ops.append(OpSpec('CONV_2D', [m, wk, bk], [y], 'Conv2DOptions', _DW_1X1))
    t_out = io_type([0, 1, 2])
    if t_out == np.int8:
        outputs.append(y)
    elif t_out == np.uint8:
        yu = tensor((1, h, w_, k), np.uint8, _rand_scale(rng, 0.01, 0.5), int(rng.integers(0, 256)), name='features_u8')
        ops.append(OpSpec('QUANTIZE', [y], [yu]))
        outputs.append(yu)
    else:
        yf = tensor((1, h, w_, k), np.float32, name='features_f32')
        ops.append(OpSpec('DEQUANTIZE', [y], [yf]))
        outputs.append(yf)
    inputs = [x0, x1]
    # Head C: a third input of its own size and type, through a FULLY_CONNECTED.
    if rng.random() < 0.6:
        depth = int(rng.integers(1, 40))
        t2 = io_type([0, 2])
        s2, z2 = _rand_scale(rng, 0.01, 0.2), int(rng.integers(-128, 128))
        x2 = tensor((1, depth), np.int8 if t2 == np.int8 else np.float32, s2 if t2 == np.int8 else None,
                    z2 if t2 == np.int8 else None, name='x2')
        inputs.append(x2)
        outputs.append(fully_connected(to_int8(x2, (1, depth), t2, s2, z2), depth, s2, int(rng.integers(1, 20)), act=1))
    rng.shuffle(inputs)
    rng.shuffle(outputs)
    desc = (f'multi-io {"CONCATENATION" if concat else "ADD"} shape={shape} in=' +
            ','.join(f'{np.dtype(tensors[i].dtype).name}{list(tensors[i].shape)}' for i in inputs) + ' out=' +
            ','.join(f'{np.dtype(tensors[i].dtype).name}{list(tensors[i].shape)}' for i in outputs))
    return build_model(ops, [int(i) for i in inputs], [int(i) for i in outputs], tensors), desc


def make_multi_io_case(index, base_seed=2024):
    """Deterministic multi-input/multi-output case `index`: (model_bytes, description)."""
    return random_multi_io(np.random.default_rng([base_seed, 1000, index]))


def multi_io_inputs(rng, model_bytes, count):
    """`count` input rows (int8 view) for a model of several inputs, each row
    the inputs concatenated in input order: int8/uint8 inputs any byte, float32
    inputs spanning their QUANTIZE's int8 range and 20 % beyond."""
    from modelc.reader import read_model

    g = read_model(model_bytes)
    parts = []
    for i in g.inputs:
        t = g.tensors[i]
        if t.dtype != 'FLOAT32':
            parts.append(rng.integers(-128, 128, size=(count, t.nbytes)).astype(np.int8))
            continue
        q = g.tensors[next(op.outputs[0] for op in g.operators if op.inputs[0] == i)]
        lo, hi = (-128 - q.zero_point) * q.scale, (127 - q.zero_point) * q.scale
        span = hi - lo
        parts.append(rng.uniform(lo - 0.2 * span, hi + 0.2 * span, size=(count, t.size)).astype(np.float32)
                     .view(np.int8))
    return np.concatenate(parts, axis=1)
