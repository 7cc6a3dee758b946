"""Model -> model.c / model.h / model.json."""
import hashlib
import json
import os

import numpy as np

from . import ModelcError
from .lower import lower
from .planner import Buffer, plan
from .reader import read_model

ARENA_ALIGN = 16
# Model input and output tensor types (float32 and uint8 through QUANTIZE/DEQUANTIZE).
IO_TYPES = ('INT8', 'UINT8', 'FLOAT32')
# Constant arrays a layer's parameter struct points to: role -> struct field.
CONST_FIELDS = {'mult': 'out_mult', 'shift': 'out_shift'}
# Kernels with a once-per-model preparation (model_prepare, outside every timed
# run): each such layer gets words of RAM its params point to.  Kernel -> (the
# params' pointer field, element type, element count (a kernel macro of the
# layer's params), the params' count field or None).
PREPARED = {
    'conv2d_s8': ('work', 'int32_t', 'TP_CONV2D_S8_WORK_WORDS(%(out_c)d, %(in_c)d)', None),
    'depthwise_conv2d_s8': ('prepared', 'uint32_t',
                            'TP_DEPTHWISE_CONV2D_S8_PREPARED_WORDS(%(out_c)d, %(k_h)d * %(k_w)d)',
                            'prepared_words'),
}
# Constant arrays passed to the kernel as arguments instead: weights, bias and
# the constant operand of a binary operator.
ARGUMENT_ROLES = ('w', 'b', 'in1', 'in2')
# Kernels of two int8 operands (either may be a constant array).
BINARY_KERNELS = ('add_s8', 'sub_s8', 'mul_s8', 'add_broadcast_s8', 'sub_broadcast_s8', 'mul_broadcast_s8')


class Compiled:
    """Everything the code generator needs, plus summary numbers."""

    def __init__(self, **kw):
        self.__dict__.update(kw)


def _c_float(v):
    s = '%.9g' % float(np.float32(v))
    if not any(ch in s for ch in '.en'):
        s += '.0'
    return s + 'f'


def _c_int(v):
    return f'({v})' if v < 0 else str(v)


def _c_int32_literal(v):
    # INT32_MIN cannot be written as a negated literal without a cast.
    if v == -(1 << 31):
        return '(-2147483647 - 1)'
    return str(int(v))


def _array_text(arr, per_line=24):
    vals = [_c_int32_literal(v) for v in arr.reshape(-1).tolist()]
    lines = []
    for i in range(0, len(vals), per_line):
        lines.append('    ' + ', '.join(vals[i:i + per_line]) + ',')
    return '\n'.join(lines)


def _find(parent, x):
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


def analyse(model_path):
    name = os.path.basename(model_path)
    try:
        with open(model_path, 'rb') as f:
            buf = f.read()
    except OSError as e:
        raise ModelcError(f'cannot read {model_path}: {e.strerror}')
    g = read_model(buf, name)
    layers = lower(g, name)
    T = g.tensors
    if not g.inputs or not g.outputs:
        raise ModelcError(f'{name} has {len(g.inputs)} inputs and {len(g.outputs)} outputs; '
                          'a model needs at least one of each')
    for what, indices in (('input', g.inputs), ('output', g.outputs)):
        for k, idx in enumerate(indices):
            if T[idx].dtype not in IO_TYPES or T[idx].is_const:
                raise ModelcError(f'model {what} {k} ({T[idx].name}) must be a non-constant int8, uint8 or '
                                  f'float32 tensor in {name}')

    # Union RESHAPE outputs with their inputs: same bytes, one buffer.
    act = set(g.inputs) | set(g.outputs)
    for L in layers:
        act.update(L.act_inputs)
        act.add(L.output)
    parent = {t: t for t in act}
    for L in layers:
        if L.kernel == 'reshape':
            a, b = _find(parent, L.act_inputs[0]), _find(parent, L.output)
            if a != b:
                parent[max(a, b)] = min(a, b)

    n = len(layers)
    life = {}

    def touch(t, step):
        r = _find(parent, t)
        lo, hi = life.get(r, (step, step))
        life[r] = (min(lo, step), max(hi, step))

    # The inputs stay live to the end: `infer N` runs the model N times on one
    # loaded input, so no activation may overwrite them.  Outputs live from the
    # layer that writes them to the end (`outputs%` reads them all afterwards).
    for t in g.inputs:
        touch(t, 0)
        touch(t, n)
    for t in g.outputs:
        touch(t, n)
    for i, L in enumerate(layers):
        for t in L.act_inputs:
            touch(t, i)
        touch(L.output, i)
    sizes = {}
    for t in act:
        r = _find(parent, t)
        sizes[r] = max(sizes.get(r, 0), T[t].nbytes)
    buffers = [Buffer(r, sizes[r], life[r][0], life[r][1]) for r in sorted(life)]
    arena = plan(buffers, ARENA_ALIGN)
    offsets = {b.key: b.offset for b in buffers}
    tensor_offset = {t: offsets[_find(parent, t)] for t in act}

    weight_bytes = 0
    for L in layers:
        for role, _, arr in L.consts:
            if arr is not None and role in ARGUMENT_ROLES:
                weight_bytes += arr.nbytes
    const_bytes = sum(arr.nbytes for L in layers for _, _, arr in L.consts if arr is not None)
    const_bytes += sum(4 * (len(L.params) + 2) for L in layers)

    return Compiled(name=name, sha256=hashlib.sha256(buf).hexdigest(), graph=g, layers=layers,
                    arena=arena, tensor_offset=tensor_offset, weight_bytes=weight_bytes,
                    const_bytes=const_bytes, macs=sum(L.macs for L in layers),
                    inputs=[T[t] for t in g.inputs], outputs=[T[t] for t in g.outputs])


def _macro_name(name):
    base = os.path.splitext(name)[0]
    return base


def gen_header(c):
    mname = _macro_name(c.name).replace('\\', '\\\\').replace('"', '\\"')
    first_in, first_out = c.inputs[0], c.outputs[0]
    return f"""/* Generated by modelc from {c.name}. Do not edit. */
#ifndef MODEL_H
#define MODEL_H

#include <stdint.h>

/* Input 0 and output 0 (a model's only ones, in most models). */
#define MODEL_NAME "{mname}"
#define MODEL_INPUT_BYTES {first_in.nbytes}
#define MODEL_OUTPUT_BYTES {first_out.nbytes}
#define MODEL_INPUT_SCALE {_c_float(first_in.scale)}
#define MODEL_INPUT_ZERO_POINT {_c_int(first_in.zero_point)}
#define MODEL_OUTPUT_SCALE {_c_float(first_out.scale)}
#define MODEL_OUTPUT_ZERO_POINT {_c_int(first_out.zero_point)}
/* Every input and every output: the input file is the inputs' bytes
 * concatenated in input order, `outputs` prints the outputs' likewise. */
#define MODEL_INPUT_COUNT {len(c.inputs)}
#define MODEL_OUTPUT_COUNT {len(c.outputs)}
#define MODEL_ALL_INPUTS_BYTES {sum(t.nbytes for t in c.inputs)}
#define MODEL_ALL_OUTPUTS_BYTES {sum(t.nbytes for t in c.outputs)}
#define MODEL_ARENA_BYTES {c.arena}
#define MODEL_MACS {c.macs}
#define MODEL_LAYER_COUNT {len(c.layers)}

int8_t *model_input(void);   /* input 0, inside the arena */
int8_t *model_output(void);  /* output 0, inside the arena */
void model_prepare(void);    /* once, before timing: the kernels' per-model preparation */
void model_invoke(void);

typedef struct {{ int8_t *data; uint32_t bytes; }} model_tensor_t;
extern const model_tensor_t model_inputs[MODEL_INPUT_COUNT];
extern const model_tensor_t model_outputs[MODEL_OUTPUT_COUNT];

typedef struct {{ const char *name; const char *op; uint32_t macs; }} model_layer_info_t;
extern const model_layer_info_t model_layers[MODEL_LAYER_COUNT];

#endif
"""


def _pointer(c, tensor):
    """The C expression for an activation tensor in the arena, typed as its
    kernel takes it (the int8 quantize kernel reads a uint8 input through int8_t)."""
    base = f'tp_arena + {c.tensor_offset[tensor]}'
    return f'(float *)({base})' if c.graph.tensors[tensor].dtype == 'FLOAT32' else base


def gen_source(c):
    out = []
    w = out.append
    w(f'/* Generated by modelc from {c.name} (sha256 {c.sha256}). Do not edit. */')
    w('#include <stddef.h>')
    w('#include <stdint.h>')
    w('#include "tp_kernels.h"')
    w('#include "tp_prepare.h"')
    w('#include "model.h"')
    w('')
    w('static int8_t tp_arena[MODEL_ARENA_BYTES] __attribute__((aligned(16)));')
    w('')
    for L in c.layers:
        pre = f'l{L.index:02d}'
        w(f'/* layer {L.index}: {L.tfl_op} in {L.input_shapes} out {L.output_shape} */')
        names = {}
        for role, ctype, arr in L.consts:
            if arr is None:
                names[role] = 'NULL'
                continue
            nm = f'{pre}_{role}'
            names[role] = nm
            w(f'static const {ctype} {nm}[{arr.size}] __attribute__((aligned(4))) = {{')
            w(_array_text(arr))
            w('};')
        if L.kernel in PREPARED:
            field, ctype, count, _ = PREPARED[L.kernel]
            w(f'static {ctype} {pre}_{field}[{count % L.params}] __attribute__((aligned(8)));')
        if L.kernel != 'reshape':
            w(f'static const tp_{L.kernel}_params_t {pre}_p = {{')
            for k, v in L.params.items():
                w(f'    .{k} = {_c_float(v) if isinstance(v, float) else _c_int32_literal(v)},')
            for role, nm in names.items():
                if role not in ARGUMENT_ROLES:
                    w(f'    .{CONST_FIELDS.get(role, role)} = {nm},')
            if L.kernel in PREPARED:
                field, _, _, count_field = PREPARED[L.kernel]
                w(f'    .{field} = {pre}_{field},')
                if count_field:
                    w(f'    .{count_field} = sizeof {pre}_{field} / sizeof {pre}_{field}[0],')
            w('};')
        w('')

    w('/* One non-inlined function per layer so profiles can attribute cycles by symbol. */')
    for L in c.layers:
        w(f'void {L.symbol}(void);')
    w('')
    off = c.tensor_offset
    for L in c.layers:
        pre = f'l{L.index:02d}'
        outp = _pointer(c, L.output)
        ins = [_pointer(c, t) for t in L.act_inputs]
        w(f'__attribute__((noinline)) void {L.symbol}(void)')
        w('{')
        if L.kernel == 'reshape':
            if off[L.act_inputs[0]] != off[L.output]:
                w(f'    memmove({outp}, {ins[0]}, {c.graph.tensors[L.output].nbytes});')
            else:
                w('    /* RESHAPE: output aliases the input buffer; nothing to move. */')
        elif L.kernel in ('conv2d_s8', 'depthwise_conv2d_s8', 'transpose_conv2d_s8', 'fully_connected_s8'):
            bias = f'{pre}_b' if L.consts[1][2] is not None else 'NULL'
            w(f'    tp_{L.kernel}(&{pre}_p, {ins[0]}, {pre}_w, {bias}, {outp});')
        elif L.kernel in BINARY_KERNELS:
            constants = {role for role, _, arr in L.consts if arr is not None}
            activations = iter(ins)
            a, b = (f'{pre}_{role}' if role in constants else next(activations) for role in ('in1', 'in2'))
            w(f'    tp_{L.kernel}(&{pre}_p, {a}, {b}, {outp});')
        elif L.kernel == 'concatenation_s8':
            w(f'    static const int8_t *const inputs[] = {{{", ".join(ins)}}};')
            w(f'    tp_concatenation_s8(&{pre}_p, inputs, {outp});')
        else:
            w(f'    tp_{L.kernel}(&{pre}_p, {ins[0]}, {outp});')
        w('}')
        w('')
    w('const model_layer_info_t model_layers[MODEL_LAYER_COUNT] = {')
    for L in c.layers:
        w(f'    {{"{L.symbol}", "{L.tfl_op}", {L.macs}u}},')
    w('};')
    w('')
    gi, go = c.graph.inputs[0], c.graph.outputs[0]
    w(f'int8_t *model_input(void) {{ return tp_arena + {off[gi]}; }}')
    w(f'int8_t *model_output(void) {{ return tp_arena + {off[go]}; }}')
    w('')
    for table, tensors in (('model_inputs', c.graph.inputs), ('model_outputs', c.graph.outputs)):
        w(f'const model_tensor_t {table}[{len(tensors)}] = {{')
        for t in tensors:
            w(f'    {{tp_arena + {off[t]}, {c.graph.tensors[t].nbytes}u}},')
        w('};')
    w('')
    w('/* A layer not prepared here is prepared on its first call. */')
    w('void model_prepare(void)')
    w('{')
    for L in c.layers:
        if L.kernel in PREPARED:
            bias = f'l{L.index:02d}_b' if L.consts[1][2] is not None else 'NULL'
            w(f'    tp_{L.kernel}_prepare(&l{L.index:02d}_p, l{L.index:02d}_w, {bias});')
    w('}')
    w('')
    w('void model_invoke(void)')
    w('{')
    for L in c.layers:
        w(f'    {L.symbol}();')
    w('}')
    src = '\n'.join(out) + '\n'
    if 'memmove(' in src:
        src = src.replace('#include <stdint.h>\n', '#include <stdint.h>\n#include <string.h>\n', 1)
    return src


def _input_info(c, tensor, info):
    """A model input's record; a float32 one also names the quantisation its
    QUANTIZE applies, so the harness can make inputs that span the int8 range."""
    info = dict(info, name=tensor.name)
    reader = next((L for L in c.layers if L.kernel == 'quantize_f32_s8' and tensor.index in L.act_inputs), None)
    if reader is not None:
        info['quantized_as'] = {'scale': reader.params['scale'], 'zero_point': reader.params['zero_point']}
    return info


def gen_json(c):
    def qinfo(t):
        return {'shape': list(t.shape), 'dtype': t.dtype.lower(), 'scale': float(np.float32(t.scale)),
                'zero_point': int(t.zero_point)}
    d = {
        'model': c.name,
        'sha256': c.sha256,
        'arena_bytes': c.arena,
        'weight_bytes': c.weight_bytes,
        'macs': c.macs,
        'input': qinfo(c.inputs[0]),
        'output': qinfo(c.outputs[0]),
        'layers': [{'index': L.index, 'symbol': L.symbol, 'op': L.tfl_op,
                    'input_shapes': L.input_shapes, 'output_shape': L.output_shape,
                    'macs': L.macs, 'kernel': L.kernel, 'params': L.params} for L in c.layers],
    }
    if len(c.inputs) > 1 or len(c.outputs) > 1:
        # Only then, so that the record (and the image holding it) of a
        # one-input, one-output model stays byte for byte what it was.
        d['inputs'] = [_input_info(c, t, qinfo(t)) for t in c.inputs]
        d['outputs'] = [dict(qinfo(t), name=t.name) for t in c.outputs]
    return json.dumps(d, indent=1) + '\n'


def compile_model(model_path, out_dir, flash_bytes=None, ram_bytes=None):
    c = analyse(model_path)
    too_big = []
    if flash_bytes is not None and c.const_bytes > flash_bytes:
        too_big.append(f'flash needs {c.const_bytes} bytes of constants > {flash_bytes}')
    if ram_bytes is not None and c.arena > ram_bytes:
        too_big.append(f'RAM needs {c.arena} bytes of arena > {ram_bytes}')
    if too_big:
        raise ModelcError(f'{c.name} does not fit: ' + '; '.join(too_big))
    os.makedirs(out_dir, exist_ok=True)
    for fname, text in (('model.h', gen_header(c)), ('model.c', gen_source(c)),
                        ('model.json', gen_json(c))):
        path = os.path.join(out_dir, fname)
        with open(path, 'w', newline='\n') as f:
            f.write(text)
    return c
