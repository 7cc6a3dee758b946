"""Per-operator attribution of functions, for firmware without per-layer markers
(TFLM, CMSIS-NN, microTVM or vendor builds).

A function belongs to the operator its source file names: the compilation
unit that holds its code, read from the ELF's DWARF (.debug_aranges), e.g.
tensorflow/lite/micro/kernels/conv.cc -> CONV_2D, CMSIS-NN's
arm_convolve_s8.c -> CONV_2D.  Without debug information the function's own
name is matched the same way (arm_convolve_* -> CONV_2D).  Everything else
(interpreter, memory planner, printf) is `<other>`.  Patterns are tried in
order, so the more specific ones (depthwise) come first."""
from __future__ import annotations

import re
from pathlib import Path

from elftools.elf.elffile import ELFFile

OTHER = "<other>"
OPERATOR_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (op, re.compile(pattern, re.IGNORECASE)) for op, pattern in (
        ("DEPTHWISE_CONV_2D", r"depthwise"),
        ("TRANSPOSE_CONV", r"transpose_conv"),
        ("FULLY_CONNECTED", r"fully_connected|vec_mat_mult"),
        ("CONV_2D", r"conv|mat_mult"),
        ("AVERAGE_POOL_2D", r"avgpool|average_pool|avg_pool"),
        ("MAX_POOL_2D", r"max_pool|maxpool"),
        ("POOL_2D", r"pooling"),
        ("SOFTMAX", r"softmax"),
        ("ADD", r"(^|[^a-z])add([^a-z]|$)|elementwise_add"),
        ("MUL", r"(^|[^a-z])mul([^a-z]|$)|elementwise_mul"),
        ("RESHAPE", r"reshape"),
        ("DEQUANTIZE", r"dequantize"),
        ("QUANTIZE", r"quantize"),
    ))


def operator_for(text: str | None) -> str | None:
    """The operator a source file or function name belongs to, or None."""
    if not text:
        return None
    name = Path(text).name
    return next((op for op, pattern in OPERATOR_PATTERNS if pattern.search(name)), None)


class SourceFiles:
    """Compilation unit (source file) of a code address, from .debug_aranges."""

    def __init__(self, path: str | Path):
        self._path = Path(path)
        self._names: dict[int, str | None] = {}
        with self._path.open("rb") as stream:
            elf = ELFFile(stream)
            self._ranges: list[tuple[int, int, int]] = []  # (start, end, cu offset)
            if elf.has_dwarf_info():
                aranges = elf.get_dwarf_info().get_aranges()
                if aranges is not None:
                    self._ranges = [(e.begin_addr, e.begin_addr + e.length, e.info_offset) for e in aranges.entries]
        self._ranges.sort()

    def file_at(self, addr: int) -> str | None:
        offset = next((cu for start, end, cu in self._ranges if start <= addr < end), None)
        if offset is None:
            return None
        if offset not in self._names:
            with self._path.open("rb") as stream:
                cu = ELFFile(stream).get_dwarf_info().get_CU_at(offset)
                name = cu.get_top_DIE().attributes.get("DW_AT_name")
                self._names[offset] = name.value.decode(errors="replace") if name else None
        return self._names[offset]


def operator_rows(functions: list[dict], starts: dict[str, int], sources: SourceFiles) -> list[dict]:
    """Per-operator totals of the per-function rows (name, instructions, cycles, share):
    operator, instructions, cycles, share, functions (their names, most cycles first)."""
    totals: dict[str, dict] = {}
    for row in functions:
        addr = starts.get(row["name"])
        source = sources.file_at(addr) if addr is not None else None
        op = operator_for(source) or operator_for(row["name"]) or OTHER
        slot = totals.setdefault(op, {"operator": op, "instructions": 0, "cycles": 0.0, "share": 0.0,
                                      "functions": []})
        slot["instructions"] += row["instructions"]
        slot["cycles"] = round(slot["cycles"] + row["cycles"], 1)
        slot["share"] = round(slot["share"] + row["share"], 6)
        slot["functions"].append(row["name"])
    return sorted(totals.values(), key=lambda r: -r["cycles"])
