"""Building firmware images with the project's Makefile and Debian's arm-none-eabi-gcc,
and the prebuilt set in firmware_bins/ with its manifest."""
from __future__ import annotations

import fcntl
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from firmware_bins import BINS_DIR, MANIFEST, image_file
from platforms import Platform
from platforms.gen import generate
from sim.cache import REPO_ROOT, cache_dir
from sim.elf import FirmwareImage
from sim.errors import ToolMissingError
from tinyperf_errors import EXIT_USAGE, TinyperfError

FIRMWARE_DIR = REPO_ROOT / "firmware"
CROSS_CC = "arm-none-eabi-gcc"
OPT_FLAGS = ["-O2"]
BENCHES = ("kws", "vww", "ic", "ad")
# Paths make and sh take literally: anything else could split words or be expanded ($, `, ;, space, quotes).
MAKE_SAFE = re.compile(r"[A-Za-z0-9_./+-]+")


class BuildError(TinyperfError):
    """make failed; the message carries the first compiler error."""


@dataclass
class BuiltImage:
    benchmark: str  # a benchmark name, or "selftest"
    platform: str
    elf: str
    elf_sha256: str
    model: str | None
    model_sha256: str | None
    compiler: str
    flags: list[str]
    flash_bytes: int
    ram_bytes: int
    arena_bytes: int | None
    kernels: str


def image_name(app: str, bench: str | None) -> str:
    return bench if app == "bench" else app


def compiler_version() -> str:
    if not shutil.which(CROSS_CC):
        raise ToolMissingError(
            f"{CROSS_CC} not found: run 'apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi' (or ci/setup)")
    out = subprocess.run([CROSS_CC, "--version"], capture_output=True, text=True).stdout
    return out.splitlines()[0].strip()


def build_image(platform: Platform, app: str = "bench", bench: str | None = None,
                outdir: Path | None = None, kernels: str = "ref", model: Path | None = None,
                cache_key: str | None = None) -> Path:
    """Build one firmware image; the ELF's path (in `outdir`, else in the cache).

    make builds in the cache folder of the image (incrementally), or in a fresh
    folder under /tmp when the cache's path has characters make or the shell
    would interpret; Python then copies the build folder to `outdir`, so no
    user-chosen path ever reaches make or a shell.  `model`: a .tflite in
    place of the benchmark's own (copied into the build folder), its image
    cached under `cache_key` (harness.openmodel)."""
    compiler_version()
    if not (FIRMWARE_DIR / "Makefile").is_file():
        raise ToolMissingError(f"firmware sources not found at {FIRMWARE_DIR}: building needs a tinyperf checkout")
    for what, path in (("the tinyperf checkout", FIRMWARE_DIR), ("the Python interpreter", Path(sys.executable))):
        if not MAKE_SAFE.fullmatch(str(path)):
            raise BuildError(f"{what} is at {str(path)!r}, a path make cannot take (spaces or shell characters): "
                             "install tinyperf under a plain path")
    name = image_name(app, bench)
    cache = cache_dir("build", kernels, platform.build_key, cache_key or name).resolve()
    dest = Path(outdir).resolve() if outdir else cache
    if MAKE_SAFE.fullmatch(str(cache)):
        elf = _make(cache, platform, app, bench, kernels, model)
    else:
        with tempfile.TemporaryDirectory(prefix="tpbuild-", dir="/tmp") as staging:
            elf = _make(Path(staging), platform, app, bench, kernels, model)
            return _publish(elf, dest)
    return elf if dest == cache else _publish(elf, dest)


def _make(work: Path, platform: Platform, app: str, bench: str | None, kernels: str,
          model: Path | None = None) -> Path:
    """make in `work` (a path of MAKE_SAFE characters only); the ELF."""
    name = image_name(app, bench)
    cmd = ["make", "-s", "-C", str(FIRMWARE_DIR), f"APP={app}", f"PLATFORM={platform.name}",
           f"BUILD={work}", f"PYTHON={sys.executable}", f"KERNELS={kernels}"]
    if not platform.in_catalog:
        # A user's platform TOML: its board files are generated here, so make never sees its path.
        generate(platform, work)
        cmd.append("PLATFORM_GENERATED=1")
    if bench:
        cmd.append(f"BENCH={bench}")
    work.mkdir(parents=True, exist_ok=True)
    if model is not None:  # its name is make-safe (modelinfo.store_model); the copy keeps make's view in `work`
        source = work / "source" / Path(model).name
        if not source.is_file() or source.read_bytes() != Path(model).read_bytes():
            source.parent.mkdir(exist_ok=True)
            shutil.copyfile(model, source)
        cmd.append(f"MODEL={source}")
    with (work / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel builders of one image take turns
        result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        lines = (result.stderr + result.stdout).splitlines()
        first = next((ln for ln in lines if "error" in ln.lower()), lines[0] if lines else "no output")
        raise BuildError(f"building {name} for {platform.name} failed: {first.strip()}")
    return work / f"{name}.elf"


def _publish(elf: Path, dest: Path) -> Path:
    """Copy a build folder (the ELF; model/, whose model.json profiles read; kernels.txt,
    link.ld, platform.mk) into `dest`; the copied ELF."""
    try:
        shutil.copytree(elf.parent, dest, ignore=shutil.ignore_patterns(".lock"), dirs_exist_ok=True)
    except OSError as err:
        raise BuildError(f"cannot write the firmware to {str(dest)!r}: {err.strerror}: "
                         "pass --out a folder you can write", EXIT_USAGE) from None
    return dest / elf.name


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def describe(elf: Path, platform: Platform, bench: str | None, kernels: str) -> BuiltImage:
    """Manifest entry for a built image (its build folder holds model/model.json)."""
    model_json = elf.parent / "model" / "model.json"
    model = json.loads(model_json.read_text()) if bench and model_json.is_file() else None
    flash, ram = FirmwareImage(elf).memory_use(platform)
    return BuiltImage(
        benchmark=bench or "selftest", platform=platform.name, elf=str(elf), elf_sha256=_sha256(elf),
        model=model["model"] if model else None, model_sha256=model["sha256"] if model else None,
        compiler=compiler_version(), flags=OPT_FLAGS + list(platform.cflags), flash_bytes=flash, ram_bytes=ram,
        arena_bytes=model["arena_bytes"] if model else None, kernels=kernels,
    )


def build_set(platforms: list[Platform], benches: list[str], outdir: Path | None, kernels: str = "ref",
              jobs: int = 2) -> list[BuiltImage]:
    """Build every benchmark (and "selftest") for every platform, in parallel."""
    def one(job: tuple[Platform, str]) -> BuiltImage:
        platform, bench = job
        app, name = ("selftest", None) if bench == "selftest" else ("bench", bench)
        target = outdir / kernels / platform.name / bench if outdir else None
        return describe(build_image(platform, app, name, target, kernels), platform, name, kernels)

    work = [(p, b) for p in platforms for b in benches]
    with ThreadPoolExecutor(max(1, jobs)) as pool:
        return list(pool.map(one, work))


def publish_prebuilt(images: list[BuiltImage]) -> None:
    """Copy images into firmware_bins/<platform>/ without debug sections (the
    symbol table stays, for profiles) and rewrite manifest.json."""
    entries = []
    for image in images:
        target = BINS_DIR / image.platform / image_file(image.benchmark, image.kernels)
        target.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["arm-none-eabi-objcopy", "--strip-debug", image.elf, str(target)], check=True)
        entry = asdict(image) | {"elf": str(target.relative_to(BINS_DIR)), "elf_sha256": _sha256(target)}
        entries.append(entry)
    entries.sort(key=lambda e: (e["platform"], e["benchmark"], e["kernels"]))
    MANIFEST.write_text(json.dumps(entries, indent=1) + "\n")
