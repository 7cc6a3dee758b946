"""Where tinyperf keeps things it builds: the counting plugin, firmware builds.

TINYPERF_CACHE wins; inside a source checkout it is <repo>/.cache; otherwise
the user's cache folder."""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def cache_dir(*parts: str) -> Path:
    if os.environ.get("TINYPERF_CACHE"):
        base = Path(os.environ["TINYPERF_CACHE"])
    elif (REPO_ROOT / "pyproject.toml").is_file() and os.access(REPO_ROOT, os.W_OK):
        base = REPO_ROOT / ".cache"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "tinyperf"
    path = base.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
