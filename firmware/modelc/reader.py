"""Reads the parts of a .tflite flatbuffer that modelc needs into plain objects."""
from dataclasses import dataclass, field

import numpy as np
import tflite
from tflite.BuiltinOperator import BuiltinOperator
from tflite.BuiltinOptions import BuiltinOptions
from tflite.TensorType import TensorType

from . import ModelcError

OP_NAMES = {v: k for k, v in vars(BuiltinOperator).items() if not k.startswith('_')}
TYPE_NAMES = {v: k for k, v in vars(TensorType).items() if not k.startswith('_')}
OPTION_CLASSES = {v: k for k, v in vars(BuiltinOptions).items() if not k.startswith('_')}

_NP_TYPES = {
    TensorType.INT8: np.int8, TensorType.UINT8: np.uint8, TensorType.INT16: np.int16,
    TensorType.INT32: np.int32, TensorType.INT64: np.int64, TensorType.FLOAT32: np.float32,
}


@dataclass
class Tensor:
    index: int
    name: str
    shape: tuple
    dtype: str                 # TensorType name, e.g. "INT8"
    scales: list               # float32 values (may be empty)
    zero_points: list
    quantized_dimension: int
    data: object = None        # numpy array for constant tensors

    @property
    def is_const(self):
        return self.data is not None

    @property
    def size(self):
        n = 1
        for d in self.shape:
            n *= d
        return n

    @property
    def nbytes(self):
        return self.size * np.dtype(_NP_TYPES.get(getattr(TensorType, self.dtype, -1), np.int8)).itemsize

    @property
    def scale(self):
        return self.scales[0] if self.scales else 0.0

    @property
    def zero_point(self):
        return self.zero_points[0] if self.zero_points else 0


@dataclass
class Operator:
    index: int
    op: str                    # builtin name, e.g. "CONV_2D"
    inputs: list               # tensor indices, -1 for omitted optional inputs
    outputs: list
    options: dict = field(default_factory=dict)


@dataclass
class Graph:
    tensors: list
    operators: list
    inputs: list
    outputs: list


def _options(op):
    """Builtin options as a dict of CamelCase getter name -> value."""
    otype = op.BuiltinOptionsType()
    if otype == 0:
        return {}
    cname = OPTION_CLASSES.get(otype)
    cls = getattr(tflite, cname, None) if cname else None
    if cls is None:
        return {}
    table = op.BuiltinOptions()
    obj = cls()
    obj.Init(table.Bytes, table.Pos)
    out = {}
    for name in dir(obj):
        if name[0].isupper() and not name.startswith('GetRootAs') and not name.endswith('IsNone') \
                and not name.endswith('AsNumpy') and not name.endswith('Length') \
                and 'BufferHasIdentifier' not in name and name != 'Init':
            try:
                out[name] = getattr(obj, name)()
            except TypeError:
                pass
    return out


def read_model(buf, model_name='model'):
    try:
        m = tflite.Model.GetRootAsModel(buf, 0)
        nsub = m.SubgraphsLength()
    except Exception as e:  # malformed flatbuffers raise arbitrary errors
        raise ModelcError(f'cannot parse {model_name}: {e}')
    if nsub < 1:
        raise ModelcError(f'no subgraph in {model_name}')
    sg = m.Subgraphs(0)

    tensors = []
    for i in range(sg.TensorsLength()):
        t = sg.Tensors(i)
        shape = tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()
        q = t.Quantization()
        scales, zps, qdim = [], [], 0
        if q is not None:
            if q.ScaleLength():
                scales = [float(s) for s in q.ScaleAsNumpy().astype(np.float32)]
            if q.ZeroPointLength():
                zps = [int(z) for z in q.ZeroPointAsNumpy()]
            qdim = q.QuantizedDimension()
        data = None
        b = m.Buffers(t.Buffer())
        if b is not None and b.DataLength() > 0:
            np_t = _NP_TYPES.get(t.Type())
            if np_t is not None:
                raw = b.DataAsNumpy().tobytes()
                data = np.frombuffer(raw, dtype=np.dtype(np_t).newbyteorder('<')).reshape(shape)
            else:
                data = b.DataAsNumpy()
        elif b is not None and b.Offset() > 1:
            # Buffers stored outside the flatbuffer (models > 2 GB); not needed here.
            raise ModelcError(f'external buffers are not supported in {model_name}')
        name = t.Name().decode('utf-8', 'replace') if t.Name() else f't{i}'
        tensors.append(Tensor(i, name, shape, TYPE_NAMES.get(t.Type(), str(t.Type())),
                              scales, zps, qdim, data))

    ops = []
    for i in range(sg.OperatorsLength()):
        op = sg.Operators(i)
        oc = m.OperatorCodes(op.OpcodeIndex())
        code = max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())
        name = OP_NAMES.get(code, f'BUILTIN_{code}')
        if code == BuiltinOperator.CUSTOM:
            cc = oc.CustomCode()
            name = 'CUSTOM(' + (cc.decode() if cc else '?') + ')'
        ins = [int(x) for x in op.InputsAsNumpy()] if op.InputsLength() else []
        outs = [int(x) for x in op.OutputsAsNumpy()] if op.OutputsLength() else []
        ops.append(Operator(i, name, ins, outs, _options(op)))

    gin = [int(x) for x in sg.InputsAsNumpy()] if sg.InputsLength() else []
    gout = [int(x) for x in sg.OutputsAsNumpy()] if sg.OutputsLength() else []
    return Graph(tensors, ops, gin, gout)
