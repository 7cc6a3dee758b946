"""Building firmware images with the project's Makefile and Debian's arm-none-eabi-gcc."""
from __future__ import annotations

import fcntl
import shutil
import subprocess
import sys
from pathlib import Path

from platforms import Platform
from sim.cache import REPO_ROOT, cache_dir
from sim.errors import SimError, ToolMissingError

FIRMWARE_DIR = REPO_ROOT / "firmware"
CROSS_CC = "arm-none-eabi-gcc"


class BuildError(SimError):
    """make failed; the message carries the first compiler error."""


def image_name(app: str, bench: str | None) -> str:
    return bench if app == "bench" else app


def build_image(platform: Platform, app: str = "bench", bench: str | None = None,
                outdir: Path | None = None, kernels: str = "ref") -> Path:
    """Build one firmware image; the ELF's path."""
    if not shutil.which(CROSS_CC):
        raise ToolMissingError(
            f"{CROSS_CC} not found: run 'apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi' (or ci/setup)")
    if not (FIRMWARE_DIR / "Makefile").is_file():
        raise ToolMissingError(f"firmware sources not found at {FIRMWARE_DIR}: building needs a tinyperf checkout")
    name = image_name(app, bench)
    outdir = outdir or cache_dir("build", platform.name, name)
    cmd = ["make", "-s", "-C", str(FIRMWARE_DIR), f"APP={app}", f"PLATFORM={platform.name}",
           f"BUILD={outdir}", f"PYTHON={sys.executable}", f"KERNELS={kernels}"]
    if bench:
        cmd.append(f"BENCH={bench}")
    outdir.mkdir(parents=True, exist_ok=True)
    with (outdir / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel builders of one image take turns
        result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        lines = (result.stderr + result.stdout).splitlines()
        first = next((ln for ln in lines if "error" in ln.lower()), lines[0] if lines else "no output")
        raise BuildError(f"building {name} for {platform.name} failed: {first.strip()}")
    return outdir / f"{name}.elf"
