"""Which layers of an optimized build run the portable (reference) kernel, and why.

The optimized kernels hand a layer to the reference code when its shape is
outside what they were written for (firmware/kernels/opt/*.c and mve/*.c: the
`..._ref(p, ...)` call at the top of each public function).  This module
states those conditions for `tinyperf build`, with the limits read from the
kernel sources' #defines so the numbers have one home; `tinyperf profile`
does not predict but measures (a layer whose stack enters a `*_ref` function).
Both are checked against each other by tests/test_portable.py.
"""
from __future__ import annotations

import ast
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

from platforms import Platform

KERNELS_DIR = Path(__file__).resolve().parent.parent / "firmware" / "kernels"
# An object-like #define and its value up to a comment.
_DEFINE = re.compile(r"^#define[ \t]+(\w+)[ \t]+(.+?)[ \t]*(?:/\*.*)?$", re.M)
_OPERATORS = {ast.Add: int.__add__, ast.Sub: int.__sub__, ast.Mult: int.__mul__, ast.Div: int.__floordiv__}


def _c_integer(expr: str) -> int | None:
    """The value of a C integer expression of numbers, + - * / and parentheses (None: anything else)."""
    def value(node: ast.AST) -> int:
        if isinstance(node, ast.Constant) and type(node.value) is int:
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            return _OPERATORS[type(node.op)](value(node.left), value(node.right))
        raise ValueError(expr)
    try:
        return value(ast.parse(expr, mode="eval").body)
    except (SyntaxError, ValueError):
        return None


@cache
def _limits(path: Path) -> dict[str, int]:
    """The integer #defines of a kernel source, the headers beside it and those of its
    folder of paths (kernels/opt/NAME/): numbers, other such names, and + - * / of them."""
    headers = sorted(path.parent.glob("*.h")) + sorted(path.with_suffix("").glob("*.h"))
    text = path.read_text() + "".join(h.read_text() for h in headers)
    raw = dict(_DEFINE.findall(text))
    values: dict[str, int] = {}
    for _ in range(4):  # names defined by names, a few levels deep
        for name, value in raw.items():
            expr = re.sub(r"[A-Za-z_]\w*", lambda m: str(values.get(m.group(), m.group())), value)
            number = _c_integer(expr) if name not in values else None
            if number is not None:
                values[name] = number
    return values


@cache
def core_features(cflags: tuple[str, ...]) -> frozenset[str]:
    """'dsp' and/or 'mve' when the compiler targets a core with them (as the Makefile asks)."""
    if not shutil.which("arm-none-eabi-gcc"):
        return frozenset()
    out = subprocess.run(["arm-none-eabi-gcc", *cflags, "-dM", "-E", "-"], input="", capture_output=True,
                         text=True).stdout
    found = set()
    if re.search(r"__ARM_FEATURE_DSP 1", out):
        found.add("dsp")
    if "__ARM_FEATURE_MVE" in out:
        found.add("mve")
    return frozenset(found)


def kernel_source(kernel: str, features: frozenset[str]) -> Path | None:
    """The optimized source the opt build compiles for `kernel` (None: there is none)."""
    dirs = (["mve"] if "mve" in features else []) + ["opt"]
    return next((KERNELS_DIR / d / f"{kernel}.c" for d in dirs if (KERNELS_DIR / d / f"{kernel}.c").is_file()), None)


def _conv_range(p: dict, lim: dict, prefix: str) -> str | None:
    """Why a conv layer is out of the buffers' range (fits_the_buffers), or None."""
    taps = p["k_h"] * p["k_w"] * p["in_c"]
    kmax, cmax = lim[f"{prefix}_KMAX"], lim[f"{prefix}_CMAX"]
    if taps > kmax:
        return f"{taps} taps per output > {kmax}"
    if p["out_c"] > cmax:
        return f"{p['out_c']} output channels > {cmax}"
    return None


# The DSP set's conv plan (firmware/kernels/opt/conv2d_s8/conv2d_s8_plan.c), predicate
# for predicate and with its limits; tests/test_conv_plan.py runs both on the same shapes.
def _row_taps(p: dict) -> int:
    return (p["k_h"] * p["k_w"] * p["in_c"] + 3) & ~3


def _row_order_fits(p: dict, lim: dict) -> bool:
    return p["k_h"] * p["k_w"] > 1 and _row_taps(p) <= lim["CONV_KMAX"] and p["out_c"] * _row_taps(p) <= lim["CONV_WPADMAX"]


def _fits_four_channel_blocks(p: dict, lim: dict) -> bool:
    return (p["out_c"] % 4 == 0 and (p["out_c"] >> 2) * (2 * _row_taps(p) + lim["CONV_BLKX"]) <= lim["CONV_WEMAX"]
            and p["batches"] * p["out_h"] * p["out_w"] >= 8)


def _is_pointwise_same_size(p: dict) -> bool:
    return (p["k_h"] == p["k_w"] == p["stride_h"] == p["stride_w"] == 1 and p["pad_top"] == p["pad_left"] == 0
            and p["out_h"] == p["in_h"] and p["out_w"] == p["in_w"])


def _rows_have_one_tap_past_groups(p: dict) -> bool:
    row = p["k_w"] * p["in_c"]
    return row % 4 == 1 and row > 4 and p["k_h"] <= 4


def conv_path(p: dict, lim: dict) -> str:
    """The path the DSP set's conv takes for a layer, as conv_path_name() spells it."""
    if _conv_range(p, lim, "CONV"):
        return "portable"
    groups = p["in_c"] % 4 == 0
    if p["out_c"] % 2 or not (groups or _row_order_fits(p, lim)):
        return "generic"
    if not _fits_four_channel_blocks(p, lim):
        return "pairs" if groups else "pairs_rows"
    if groups:
        return "pointwise" if _is_pointwise_same_size(p) else "blocks4"
    return "blocks4_rows1" if _rows_have_one_tap_past_groups(p) else "blocks4_rows"


def _depthwise(p: dict, lim: dict) -> str | None:
    taps = p["k_h"] * p["k_w"]
    if taps > lim["DW_TMAX"]:
        return f"{taps} taps > {lim['DW_TMAX']}"
    return None


def _fully_connected(p: dict, lim: dict, mve: bool) -> str | None:
    if mve:
        return "nonzero filter zero point" if p["filter_offset"] != 0 else None
    return f"depth {p['in_depth']} > {lim['FC_DMAX']}" if p["in_depth"] > lim["FC_DMAX"] else None


def _avgpool(p: dict, lim: dict) -> str | None:
    if p["ch"] % 4:
        return f"{p['ch']} channels, not a multiple of 4"
    taps = p["k_h"] * p["k_w"]
    return f"{taps}-tap window > {lim['POOL_MAX_TAPS']}" if taps > lim["POOL_MAX_TAPS"] else None


def _add(p: dict, lim: dict) -> str | None:
    if not 0 <= p["left_shift"] <= 31:
        return f"left shift {p['left_shift']}"
    return f"{p['size']} elements < 16" if p["size"] < 16 else None


def portable_reason(kernel: str, params: dict, features: frozenset[str]) -> str | None:
    """Why an opt build runs this layer on the portable path (None: it does not)."""
    if kernel == "reshape":
        return None
    if "dsp" not in features:
        return "the core has no DSP extension"
    source = kernel_source(kernel, features)
    if source is None:
        return "no optimized kernel for this operator"
    lim = _limits(source)
    mve = source.parent.name == "mve"
    rules = {
        "conv2d_s8": lambda: (_conv_range(params, lim, "MVE" if mve else "CONV")
                              if mve or conv_path(params, lim) == "portable" else None),
        "depthwise_conv2d_s8": lambda: _depthwise(params, lim),
        "fully_connected_s8": lambda: _fully_connected(params, lim, mve),
        "avgpool2d_s8": lambda: _avgpool(params, lim),
        "add_s8": lambda: _add(params, lim),
    }
    rule = rules.get(kernel)
    return rule() if rule else None


def portable_layers(layers, platform: Platform) -> list[tuple[str, str, str]]:
    """(symbol, op, reason) of every layer an opt build for `platform` runs on the portable path."""
    features = core_features(tuple(platform.cflags))
    found = []
    for layer in layers:
        reason = portable_reason(layer["kernel"], layer["params"], features)
        if reason:
            found.append((layer["symbol"], layer["op"], reason))
    return found


def built_with_opt_kernels(elf: Path, symbols) -> bool:
    """Whether an image of ours was built with KERNELS=opt: the kernels.txt its build
    folder keeps says so; a prebuilt copy without it has the optimized kernels'
    `tp_*_ref` fallbacks (a model whose every operator lacks an optimized kernel
    has none, hence kernels.txt first)."""
    listing = Path(elf).parent / "kernels.txt"
    if listing.is_file():
        return listing.read_text().split()[:1] == ["opt"]
    return any(name.startswith("tp_") and name.endswith("_ref") for name in symbols)


def measured_portable(layer_rows: list[dict] | None, stacks: dict[str, float], symbols, platform: Platform,
                      record_layers, opt_build: bool) -> list[dict]:
    """The layers of a profiled optimized image that ran a portable kernel: those whose
    stack entered a `tp_*_ref` function, and those whose operator has no optimized
    kernel.  Empty for a reference build (`opt_build` False: built_with_opt_kernels)."""
    if not opt_build:
        return []
    features = core_features(tuple(platform.cflags))
    predicted = {layer["symbol"]: layer for layer in record_layers or ()}
    found = []
    for row in layer_rows or []:
        symbol = row["symbol"]
        kernel = symbol.split("_", 2)[2] if symbol.count("_") >= 2 else ""
        ran = sorted({stack.rsplit(";", 1)[-1] for stack in stacks
                      if stack.startswith(f"model_invoke;{symbol};") and stack.endswith("_ref")})
        if ran:
            layer = predicted.get(symbol)
            why = portable_reason(kernel, layer["params"], features) if layer else None
            reason = f"{why} ({', '.join(ran)} ran)" if why else f"{', '.join(ran)} ran"
        elif kernel != "reshape" and kernel_source(kernel, features) is None:
            reason = "no optimized kernel for this operator"
        else:
            continue
        found.append({"symbol": symbol, "op": row["op"], "reason": reason, "share": row["share"]})
    return found


def portable_line(symbol: str, op: str, reason: str, share: float | None = None) -> str:
    """One line for the user about one portable layer."""
    part = f", {100 * share:.1f} % of cycles" if share is not None else ""
    return f"portable path: {symbol} ({op}{part}): {reason}"
