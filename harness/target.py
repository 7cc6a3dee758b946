"""Which firmware, which platform, which benchmark and which measurement
window: the one place every command (run, exec, profile, compare, serve,
build, port) resolves them, with one precedence.

Platform: a catalog name, or a path to a platform TOML (validated).
Firmware: an ELF path, else the benchmark's prebuilt ELF (built from source
when there is none).
Benchmark: the name or model id given (kws, kws01, ...), else what the
firmware reports to `profile%` (identify_benchmark).
Window, first that applies:
  1. `--window BEGIN:END`: from each entry of BEGIN to the next entry of END;
     `--window F`: from each return of F to its next entry.
  2. our firmware's `tp_mark_begin` / `tp_mark_end` (entered around the timed loop);
  3. `th_timestamp` (C or C++ linkage): from the return of one call to the
     entry of the next, so the window holds th_pre, the N th_infer calls and
     th_post, and none of the printing inside th_timestamp.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.benchmarks import BENCHMARKS, Benchmark, UnknownBenchmarkError, get_benchmark
from platforms import Platform, UnknownPlatformError, get_platform, load_platform
from sim.backend import RunOptions
from sim.callsites import return_sites
from sim.elf import FirmwareImage
from sim.plugin import MAX_MARKERS
from tinyperf_errors import UsageError

OUR_MARKERS = ("tp_mark_begin", "tp_mark_end")
TIMESTAMP = "th_timestamp"
WINDOW_FIX = ("add tp_mark_begin()/tp_mark_end() around the timed loop, or pass --window BEGIN[:END] "
              "(function names, e.g. --window th_timestamp)")


class TargetError(UsageError):
    """A firmware, platform, benchmark or window that cannot be resolved (a usage error)."""


@dataclass(frozen=True)
class Window:
    """Marker addresses that open and close a measurement window."""

    begin: frozenset[int]
    end: frozenset[int]
    sites: tuple[tuple[str, int], ...]  # every (marker name, address) the plugin must record
    description: str  # what the window contains, for people
    stamp: int | None = None  # th_timestamp's entry, when lap lines come from it

    def run_options(self, **options) -> RunOptions:
        return RunOptions(marker_sites=self.sites, **options)


# ---- platform -------------------------------------------------------------------------------

def resolve_platform(spec: str | Path | None) -> Platform:
    """A catalog name, or a path to a platform TOML file (anything ending .toml or holding '/')."""
    if spec is not None and (str(spec).endswith(".toml") or "/" in str(spec)):
        path = Path(spec)
        if not path.is_file():
            raise TargetError(f"platform file {path} does not exist: pass a catalog name "
                              "(see 'tinyperf platforms') or the path of a platform TOML")
        return load_platform(path)  # PlatformFileError: one line naming the key and the file
    try:
        return get_platform(None if spec is None else str(spec))
    except UnknownPlatformError as err:
        raise TargetError(f"{err}; or pass the path of a platform TOML") from None


# ---- benchmark and firmware -----------------------------------------------------------------

def benchmark(name: str) -> Benchmark:
    """A benchmark by name or model id (kws, kws01)."""
    try:
        return get_benchmark(name)
    except UnknownBenchmarkError as err:
        raise TargetError(str(err)) from None


def prebuilt_firmware(bench: Benchmark, platform: Platform, kernels: str = "ref") -> FirmwareImage:
    """The benchmark's prebuilt ELF for the platform, built from source when there is none;
    an open benchmark's (--model) image, built once per model (harness.openmodel)."""
    from firmware_bins import prebuilt
    from harness.build import build_image
    from harness.openmodel import build_for

    if bench.model_source is not None:
        return FirmwareImage(build_for(bench, platform, kernels))
    path = prebuilt(platform.image_platform, bench.name, kernels) if platform.runs_prebuilt else None
    return FirmwareImage(path or build_image(platform, "bench", bench.name, kernels=kernels))


def resolve_firmware(target: str | None, platform: Platform, kernels: str = "ref",
                     model: Path | None = None) -> tuple[FirmwareImage, Benchmark | None]:
    """BENCH (its prebuilt ELF) or an ELF path; the benchmark when the target names one.
    With `model` (--model PATH.tflite): that model's image, BENCH (if given) supplying the inputs."""
    if model is not None:
        from harness.openmodel import resolve

        bench = resolve((target,) if target else (), model)[0]
        return prebuilt_firmware(bench, platform, kernels), bench
    if target is None:
        raise TargetError("name a benchmark, an ELF or --model PATH.tflite")
    path = Path(target)
    if target in BENCHMARKS:
        bench = benchmark(target)
        return prebuilt_firmware(bench, platform, kernels), bench
    if path.exists() or path.is_symlink():
        return FirmwareImage(path), None  # which says what is wrong with a folder, a device or a symlink loop
    if "/" in target or target.endswith(".elf"):
        raise TargetError(f"{target}: no such ELF file")
    try:
        bench = get_benchmark(target)  # a model id such as kws01
    except UnknownBenchmarkError as err:
        raise TargetError(f"{err}; or pass an ELF path") from None
    return prebuilt_firmware(bench, platform, kernels), bench


def identify_benchmark(dut, bench: Benchmark | None, image: FirmwareImage) -> Benchmark:
    """The benchmark a booted DUT runs: what it reports to `profile%` (m-model-[...]),
    checked against `bench` when one was named, and an image's model record against the
    model it is expected to run (harness.openmodel).  Firmware that does not answer
    `profile%` is taken to be `bench` when one was named."""
    from harness.dut import DutError
    from harness.openmodel import bench_for_image, check_image

    try:
        model = dut.profile()
    except DutError as err:
        if err.no_verdict:  # the emulator was lost: the caller retries on a fresh one
            raise
        if bench is not None:
            return bench
        raise TargetError(f"{image.path}: the firmware does not report its model ({err}): "
                          "name the benchmark (kws, vww, ic, ad)") from None
    if bench is not None:
        if model not in (bench.id, bench.name):
            raise TargetError(f"{image.path} reports model '{model}', not '{bench.id}': pass the {bench.name} firmware")
        check_image(image.path, bench)
        return bench
    found = bench_for_image(image.path, model)
    if found is None:
        raise TargetError(f"{image.path} reports model '{model}', not an MLPerf Tiny benchmark tinyperf knows, "
                          "and carries no model record")
    return found


# ---- window ---------------------------------------------------------------------------------

def find_window(image: FirmwareImage, spec: str | None = None) -> Window | None:
    """The measurement window (see the module docstring); None when the firmware has none."""
    if spec:
        return _window_from_spec(image, spec)
    if all(image.address(m) is not None for m in OUR_MARKERS):
        begin, end = (image.address(m) for m in OUR_MARKERS)
        return Window(frozenset({begin}), frozenset({end}), tuple(zip(OUR_MARKERS, (begin, end))),
                      "tp_mark_begin entry to tp_mark_end entry")
    if image.address(TIMESTAMP) is not None:
        return _return_to_entry(image, TIMESTAMP)
    return None


def require_window(image: FirmwareImage, spec: str | None = None) -> Window:
    window = find_window(image, spec)
    if window is None:
        raise TargetError(f"{image.path} has no measurement window (no th_timestamp, tp_mark_begin/tp_mark_end): "
                          + WINDOW_FIX)
    return window


def _window_from_spec(image: FirmwareImage, spec: str) -> Window:
    names = spec.split(":")
    if len(names) > 2 or not all(names):
        raise TargetError(f"--window {spec}: expected BEGIN or BEGIN:END (function names)")
    addresses = []
    for name in names:
        addr = image.address(name)
        if addr is None:
            raise TargetError(f"--window {spec}: {image.path} has no symbol '{name}' "
                              "(C++ functions go by their name without parameters, e.g. th_timestamp)")
        addresses.append(addr)
    if len(names) == 1:
        return _return_to_entry(image, names[0])
    begin, end = addresses
    if begin == end:
        return _return_to_entry(image, names[0])
    return Window(frozenset({begin}), frozenset({end}), tuple(zip(names, addresses)),
                  f"{names[0]} entry to {names[1]} entry")


def _return_to_entry(image: FirmwareImage, name: str) -> Window:
    entry = image.address(name)
    returns = return_sites(image, entry)
    sites = ((name, entry),) + tuple((f"{name}@return{i}", addr) for i, addr in enumerate(returns))
    if len(sites) > MAX_MARKERS:
        raise TargetError(f"--window {name}: {name} is called from {len(returns)} places, more than the counting "
                          f"plugin's {MAX_MARKERS} markers: pick a function called from fewer places, or BEGIN:END")
    if not returns:  # only reached indirectly: consecutive entries (includes the function's own work)
        return Window(frozenset({entry}), frozenset({entry}), sites,
                      f"{name} entry to the next {name} entry (no direct call found: includes {name} itself)",
                      stamp=entry if name == TIMESTAMP else None)
    return Window(frozenset(returns), frozenset({entry}), sites,
                  f"return of {name} to the next entry of {name}", stamp=entry if name == TIMESTAMP else None)
