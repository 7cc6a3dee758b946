"""Prebuilt firmware images, so users need no cross compiler.

Layout: firmware_bins/<platform>/<image>.elf with the reference kernels and
<image>-opt.elf with the optimized ones, described by manifest.json (written
by `tinyperf build --prebuilt`)."""
from __future__ import annotations

import json
from pathlib import Path

BINS_DIR = Path(__file__).resolve().parent
MANIFEST = BINS_DIR / "manifest.json"


KERNEL_SETS = ("ref", "opt")


def image_file(image: str, kernels: str = "ref") -> str:
    return f"{image}.elf" if kernels == "ref" else f"{image}-{kernels}.elf"


def prebuilt(platform: str, image: str, kernels: str = "ref") -> Path | None:
    path = BINS_DIR / platform / image_file(image, kernels)
    return path if path.is_file() else None


def manifest() -> list[dict]:
    return json.loads(MANIFEST.read_text()) if MANIFEST.is_file() else []
