"""Ways to run a .tflite model on a batch of int8 inputs.

run_tflm: the truth (tflite_micro host interpreter).
run_host: our engine (modelc + portable kernels) built with the host C compiler.
Both take model bytes and an (N, input_bytes) int8 array and return (N, output_bytes).
"""
import hashlib
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
FIRMWARE = os.path.join(ROOT, 'firmware')
KERNELS = os.path.join(FIRMWARE, 'kernels')
MODELC = os.path.join(FIRMWARE, 'modelc')
CACHE = os.path.join(ROOT, '.cache', 'host')
CC = os.environ.get('CC', 'cc')
# TP_HOST_CFLAGS adds flags, e.g. "-fsanitize=address,undefined -fno-sanitize-recover=all".
CFLAGS = (['-std=c11', '-O2', '-Wall', '-Wextra', '-Werror', '-Wno-unused-parameter']
          + os.environ.get('TP_HOST_CFLAGS', '').split())

if FIRMWARE not in sys.path:
    sys.path.insert(0, FIRMWARE)

DRIVER_C = r'''
#include <stdio.h>
#include <string.h>
#include "model.h"

/* Reads N * MODEL_ALL_INPUTS_BYTES from stdin (each row the input tensors
 * concatenated in input order), writes N * MODEL_ALL_OUTPUTS_BYTES likewise. */
int main(void)
{
    static int8_t buf[MODEL_ALL_INPUTS_BYTES];
    while (fread(buf, 1, MODEL_ALL_INPUTS_BYTES, stdin) == MODEL_ALL_INPUTS_BYTES) {
        const int8_t *row = buf;
        for (int i = 0; i < MODEL_INPUT_COUNT; i++) {
            memcpy(model_inputs[i].data, row, model_inputs[i].bytes);
            row += model_inputs[i].bytes;
        }
        model_invoke();
        for (int i = 0; i < MODEL_OUTPUT_COUNT; i++) {
            if (fwrite(model_outputs[i].data, 1, model_outputs[i].bytes, stdout) != model_outputs[i].bytes) {
                return 1;
            }
        }
    }
    return 0;
}
'''


def _tree_hash(*dirs, extra=b''):
    h = hashlib.sha256(extra)
    for d in dirs:
        for name in sorted(os.listdir(d)):
            p = os.path.join(d, name)
            if os.path.isfile(p) and name.endswith(('.c', '.h', '.py')):
                h.update(name.encode())
                with open(p, 'rb') as f:
                    h.update(f.read())
    return h.hexdigest()


def source_hash():
    return _tree_hash(KERNELS, MODELC, extra=(DRIVER_C + ' '.join([CC] + CFLAGS)).encode())


def _atomic_write(path, data):
    d = os.path.dirname(path)
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=d)
    with os.fdopen(fd, 'wb') as f:
        f.write(data)
    os.replace(tmp, path)


def kernel_objects():
    """Kernels compiled once per source hash; returns the object paths."""
    h = _tree_hash(KERNELS, extra=' '.join([CC] + CFLAGS).encode())[:16]
    d = os.path.join(CACHE, 'kernels-' + h)
    srcs = sorted(f for f in os.listdir(KERNELS) if f.endswith('.c'))
    objs = [os.path.join(d, s[:-2] + '.o') for s in srcs]
    if all(os.path.exists(o) for o in objs):
        return objs
    os.makedirs(d, exist_ok=True)
    tmpdir = tempfile.mkdtemp(dir=d)
    for s, o in zip(srcs, objs):
        tmp_o = os.path.join(tmpdir, os.path.basename(o))
        subprocess.run([CC] + CFLAGS + ['-c', os.path.join(KERNELS, s), '-o', tmp_o], check=True)
        os.replace(tmp_o, o)
    os.rmdir(tmpdir)
    return objs


def build_host(model_bytes, name='model.tflite'):
    """Compiles the model with modelc and links a stdin/stdout driver; cached."""
    from modelc.compiler import compile_model

    key = hashlib.sha256(model_bytes + source_hash().encode()).hexdigest()[:24]
    d = os.path.join(CACHE, 'models', key)
    exe = os.path.join(d, 'run')
    if os.path.exists(exe):
        return exe
    objs = kernel_objects()
    os.makedirs(d, exist_ok=True)
    work = tempfile.mkdtemp(dir=d)
    mpath = os.path.join(work, name)
    with open(mpath, 'wb') as f:
        f.write(model_bytes)
    compile_model(mpath, work)
    with open(os.path.join(work, 'driver.c'), 'w') as f:
        f.write(DRIVER_C)
    tmp_exe = os.path.join(work, 'run')
    subprocess.run([CC] + CFLAGS + ['-I', KERNELS, '-I', work,
                    os.path.join(work, 'driver.c'), os.path.join(work, 'model.c')] + objs
                   + ['-o', tmp_exe], check=True)
    for fname in ('model.c', 'model.h', 'model.json'):
        os.replace(os.path.join(work, fname), os.path.join(d, fname))
    os.replace(tmp_exe, exe)
    return exe


def run_host(model_bytes, inputs, name='model.tflite'):
    exe = build_host(model_bytes, name)
    inputs = np.ascontiguousarray(inputs, dtype=np.int8)
    r = subprocess.run([exe], input=inputs.tobytes(), stdout=subprocess.PIPE, check=True)
    out = np.frombuffer(r.stdout, dtype=np.int8)
    return out.reshape(len(inputs), -1)


TFLM_ARENA = 4 << 20


def input_size(model_bytes):
    """Bytes of a model's inputs (every input tensor, concatenated)."""
    from modelc.reader import read_model

    g = read_model(model_bytes)
    return sum(g.tensors[i].nbytes for i in g.inputs)


def run_tflm(model_bytes, inputs):
    from tflite_micro.python.tflite_micro import runtime

    # The interpreter's default arena guess scales with model size, which is
    # too small for weight-less ops on large tensors.
    from modelc.reader import read_model

    g = read_model(model_bytes)
    it = runtime.Interpreter.from_bytes(model_bytes, arena_size=TFLM_ARENA)
    details = [it.get_input_details(i) for i in range(len(g.inputs))]
    sizes = [g.tensors[i].nbytes for i in g.inputs]
    outs = []
    # Rows are the input tensors' bytes (int8 view), concatenated in input
    # order; outputs likewise, so float32 and uint8 model I/O compare byte
    # for byte.
    for x in np.asarray(inputs, dtype=np.int8):
        at = 0
        for i, (det, size) in enumerate(zip(details, sizes)):
            it.set_input(np.ascontiguousarray(x[at:at + size]).view(det['dtype']).reshape(tuple(det['shape'])), i)
            at += size
        it.invoke()
        outs.append(np.concatenate([np.ascontiguousarray(np.array(it.get_output(i))).view(np.int8).reshape(-1)
                                    for i in range(len(g.outputs))]))
    return np.stack(outs)
