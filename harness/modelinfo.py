"""What a model is, from the model itself: MACs, input/output quantisation, layers.

One source for every figure: modelc's model.json.  For a .tflite it is computed
here by modelc's analysis; for a firmware image it is read from the ELF, where
the Makefile stores the model.json of the model the image was compiled from
(section .tinyperf.model, not loaded on the device).  So `run` and `profile`
divide by the same MAC count, and an image names the model it runs wherever it
is copied.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

from sim.cache import cache_dir
from tinyperf_errors import UsageError

MODEL_SECTION = ".tinyperf.model"
MODELS_DIR = Path(__file__).resolve().parent.parent / "firmware" / "models"


class ModelError(UsageError):
    """A model file that cannot be used, with a one-line reason (the CLI exits 2)."""


ELEMENT_BYTES = {"int8": 1, "uint8": 1, "float32": 4}


def tensor_bytes(tensor: dict) -> int:
    """Bytes of a model input or output tensor (a record's shape and dtype)."""
    return math.prod(tensor["shape"]) * ELEMENT_BYTES[tensor["dtype"]]


def tensor_label(tensor: dict) -> str:
    """e.g. '1x10 int8', for messages naming one of several tensors."""
    return "x".join(map(str, tensor["shape"])) + f" {tensor['dtype']}"


def split_tensors(tensors: Sequence[dict], data: bytes) -> list[np.ndarray]:
    """Bytes of tensors concatenated in model order (an input file, an `outputs%` reply)
    cut into the tensors, each an array of its own dtype and shape."""
    arrays, at = [], 0
    for tensor in tensors:
        size = tensor_bytes(tensor)
        dtype = np.dtype(tensor["dtype"]).newbyteorder("<")
        arrays.append(np.frombuffer(data[at:at + size], dtype=dtype).reshape(tensor["shape"]))
        at += size
    return arrays


@dataclass(frozen=True)
class ModelRecord:
    name: str  # the .tflite file name the model was compiled from
    sha256: str  # of the .tflite bytes
    macs: int
    input: dict  # input 0: shape, dtype, scale, zero_point
    output: dict  # output 0
    layers: tuple[dict, ...]  # index, symbol, op, input_shapes, output_shape, macs, kernel, params
    # Every input and output in model order (model.json lists them only for models
    # with several; a one-input, one-output model's are `input` and `output`).
    inputs: tuple[dict, ...] = ()
    outputs: tuple[dict, ...] = ()

    @property
    def short(self) -> str:
        return f"{self.name} (sha256 {self.sha256[:12]})"

    @property
    def input_bytes(self) -> int:
        """The input file's size: every input tensor, concatenated in input order."""
        return sum(tensor_bytes(t) for t in self.inputs)

    @property
    def output_bytes(self) -> int:
        """What `outputs%` prints: every output tensor, concatenated in output order."""
        return sum(tensor_bytes(t) for t in self.outputs)

    @classmethod
    def from_json(cls, doc: dict) -> ModelRecord:
        return cls(doc["model"], doc["sha256"], int(doc["macs"]), doc["input"], doc["output"],
                   tuple(doc["layers"]), tuple(doc.get("inputs", [doc["input"]])),
                   tuple(doc.get("outputs", [doc["output"]])))


def sha256_of(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def record_from_elf(path: Path) -> ModelRecord | None:
    """The model record inside a firmware ELF (None: the image carries none, e.g. third-party firmware)."""
    try:
        with Path(path).open("rb") as stream:
            section = ELFFile(stream).get_section_by_name(MODEL_SECTION)
            data = section.data() if section is not None else None
    except (ELFError, OSError):
        return None
    if not data:
        return None
    try:
        return ModelRecord.from_json(json.loads(data.decode("utf-8")))
    except (ValueError, KeyError, TypeError):
        return None


def record_from_model(path: Path) -> ModelRecord:
    """modelc's description of a .tflite (ModelError when modelc cannot compile it)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ModelError(f"cannot read model {path}: {err.strerror}") from None
    return _record_for(path.name, hashlib.sha256(data).hexdigest(), str(path.resolve()))


@cache
def _record_for(name: str, sha: str, path: str) -> ModelRecord:
    from modelc import ModelcError
    from modelc.compiler import analyse, gen_json

    try:
        compiled = analyse(path)
    except ModelcError as err:
        raise ModelError(str(err)) from None
    return ModelRecord.from_json(json.loads(gen_json(compiled)))


def safe_name(name: str) -> str:
    """A file name make and the shell take as one word: other characters become '_'."""
    return re.sub(r"[^A-Za-z0-9._+-]", "_", name)


def store_model(path: Path) -> Path:
    """A copy of a user's model under the cache, in a folder named by its hash
    and under its own name made safe (modelc records it), so a later `profile x.elf`
    or `run --elf x.elf` finds the model the image was built from."""
    path = Path(path)
    target = cache_dir("models", sha256_of(path)) / safe_name(path.name)
    if not target.is_file():
        tmp = target.with_name(target.name + ".part")
        shutil.copyfile(path, tmp)
        tmp.replace(target)
    return target


def find_model(sha: str) -> Path | None:
    """The .tflite with this sha256: one stored by store_model or a bundled model."""
    stored = sorted(cache_dir("models", sha).glob("*.tflite"))
    if stored:
        return stored[0]
    for candidate in sorted(MODELS_DIR.glob("*.tflite")):
        if sha256_of(candidate) == sha:
            return candidate
    return None
