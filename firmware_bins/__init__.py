"""Prebuilt firmware images, so users need no cross compiler.

Layout: firmware_bins/<platform>/<image>.elf, described by manifest.json
(written by `tinyperf build --prebuilt`)."""
from __future__ import annotations

import json
from pathlib import Path

BINS_DIR = Path(__file__).resolve().parent
MANIFEST = BINS_DIR / "manifest.json"


def prebuilt(platform: str, image: str) -> Path | None:
    path = BINS_DIR / platform / f"{image}.elf"
    return path if path.is_file() else None


def manifest() -> list[dict]:
    return json.loads(MANIFEST.read_text()) if MANIFEST.is_file() else []
