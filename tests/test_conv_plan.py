"""The DSP set's conv plan: harness/portable.py's mirror (conv_path) names the same path
as the firmware's conv_plan (firmware/kernels/opt/conv2d_s8/conv2d_s8_plan.c, compiled
for the host with TP_OPT_EMULATE) for every shape, so `tinyperf build` and `profile`
report what the firmware does."""
from __future__ import annotations

import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.portable import KERNELS_DIR, _limits, conv_path

HOST_CC = os.environ.get("CC", "cc")
PLAN = KERNELS_DIR / "opt" / "conv2d_s8" / "conv2d_s8_plan.c"
FIELDS = ("batches", "in_h", "in_w", "in_c", "out_h", "out_w", "out_c", "k_h", "k_w", "stride_h", "stride_w",
          "pad_top", "pad_left")
DRIVER = """
#include <stdio.h>
#include "opt/conv2d_s8/conv2d_s8_paths.h"
int main(void)
{
    tp_conv2d_s8_params_t p = {0};
    while (scanf("%d %d %d %d %d %d %d %d %d %d %d %d %d", &p.batches, &p.in_h, &p.in_w, &p.in_c,
                 &p.out_h, &p.out_w, &p.out_c, &p.k_h, &p.k_w, &p.stride_h, &p.stride_w,
                 &p.pad_top, &p.pad_left) == 13) {
        puts(conv_path_name(conv_plan(&p)));
    }
    return 0;
}
"""
PATHS = {"portable", "generic", "pairs", "pairs_rows", "blocks4", "blocks4_rows", "blocks4_rows1", "pointwise"}

pytestmark = pytest.mark.skipif(shutil.which(HOST_CC) is None, reason=f"needs a host C compiler ({HOST_CC})")


def _shape(rng: random.Random) -> dict:
    """A layer shape, drawn to land on every side of each predicate's limits."""
    k_h, k_w = rng.choice([(1, 1), (1, 1), (3, 3), (5, 5), (10, 4), (2, 2), (1, 3), (7, 1), (4, 4), (5, 3)])
    in_c = rng.choice([1, 2, 3, 4, 5, 8, 12, 16, 32, 64, 113, 160, 228, 232, 256, 512])
    out_c = rng.choice([1, 2, 3, 4, 6, 8, 10, 16, 64, 100, 128, 252, 256, 260, 512])
    in_h, in_w = rng.choice([(1, 1), (2, 2), (2, 3), (3, 3), (5, 5), (8, 8), (25, 5), (49, 10), (32, 32)])
    stride = rng.choice([1, 1, 2])
    same = rng.random() < 0.5
    out_h = max(1, (in_h + stride - 1) // stride if same else (in_h - k_h) // stride + 1)
    out_w = max(1, (in_w + stride - 1) // stride if same else (in_w - k_w) // stride + 1)
    pad = (k_h - 1) // 2 if same else 0
    return dict(batches=rng.choice([1, 1, 2]), in_h=in_h, in_w=in_w, in_c=in_c, out_h=out_h, out_w=out_w,
                out_c=out_c, k_h=k_h, k_w=k_w, stride_h=stride, stride_w=stride, pad_top=pad, pad_left=pad)


def test_python_plan_matches_the_firmware_plan(tmp_path: Path):
    exe = tmp_path / "plan"
    (tmp_path / "driver.c").write_text(DRIVER)
    subprocess.run([HOST_CC, "-std=c11", "-O1", "-Wall", "-Wextra", "-Werror", "-DTP_OPT_EMULATE",
                    "-I", str(KERNELS_DIR), str(tmp_path / "driver.c"), str(PLAN), "-o", str(exe)], check=True)
    rng = random.Random(14)
    shapes = [_shape(rng) for _ in range(4000)]
    stdin = "".join(" ".join(str(s[f]) for f in FIELDS) + "\n" for s in shapes)
    firmware = subprocess.run([str(exe)], input=stdin, capture_output=True, text=True, check=True).stdout.split()
    lim = _limits(KERNELS_DIR / "opt" / "conv2d_s8.c")
    mirror = [conv_path(s, lim) for s in shapes]
    assert len(firmware) == len(shapes)
    differ = [(s, f, m) for s, f, m in zip(shapes, firmware, mirror) if f != m]
    assert not differ, f"{len(differ)} shapes differ (shape, firmware, python): {differ[:3]}"
    assert set(firmware) == PATHS  # every path drawn, so every predicate was on both sides
