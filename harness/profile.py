"""`tinyperf profile`: where the measured window's instructions and cycles go.

One emulator runs the official perf loop (`infer N W` on one default input)
with per-block counting on and one extra marker at the entry of every layer
function (`layer_NN_<op>`, one non-inlined function per layer in the code
modelc generates, called in order from model_invoke).  The plugin records the
running instruction count and a snapshot of the block counts at each marker
hit, so consecutive marker hits cut the window into exact segments:

    tp_mark_begin | layer_00 | layer_01 | ... | layer_12 | layer_00 | ... | tp_mark_end

A snapshot is written when the marker's block has already been counted, so
the block sets of two consecutive snapshots differ by "everything after the
first marker's block, up to and including the second marker's block".  Each
segment moves one execution of those edge blocks back where it belongs
(`segments`), which makes a segment's blocks sum to exactly the instruction
count between its two markers, and the segments sum to the window count.

Attribution:
- per function: a block belongs to the sized STT_FUNC symbol containing its
  start address (pyelftools); blocks inside no symbol go to `<unknown>`.
- per layer: a layer segment's blocks go to that layer, except the blocks of
  the glue around the layers (the functions that run in the window before the
  first layer starts, i.e. tp_mark_begin, the infer loop, model_invoke), which
  go to `<outside layers>`.  Kernels called from a layer function therefore
  count for the layer that called them, without call stacks.
- cycles: the core's cycle model gives every block a cost per execution over
  the whole window (sim.cycles.block_cycles); segments and functions sum those
  costs, so they add up to the window's cycle estimate.

Layer facts (op, output shape, MACs) come from the model.json modelc writes:
the one next to the ELF in its build folder, or, for prebuilt ELFs and ELFs
without one, regenerated from the benchmark's .tflite into the cache with
`python -m modelc` (deterministic and cached).  Either file is accepted only
if every `layer_*` symbol of the ELF is one of its layers; otherwise the
layers are described from their symbol names alone (op, no shapes/MACs).
"""
from __future__ import annotations

import bisect
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import time
import warnings
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from elftools.elf.elffile import ELFFile

from harness.benchmarks import Benchmark
from harness.datasets import default_inputs, iter_default_inputs
from harness.dut import Dut
from harness.modelinfo import record_from_elf
from harness.openmodel import record_of
from harness.operators import SourceFiles, operator_rows
from harness.portable import built_with_opt_kernels, measured_portable, portable_line
from harness.target import Window, identify_benchmark, require_window
from platforms import Platform
from sim import open_emulator
from sim.cache import REPO_ROOT, cache_dir
from sim.cycles import cycle_model
from sim.memory import MemoryCounts, stall_cycles
from sim.elf import FirmwareImage
from sim.plugin import MAX_MARKERS, Block, segments, window_hits
from tinyperf_errors import EXIT_USAGE, TinyperfError

PROFILE_SCHEMA = "tinyperf-profile"
PROFILE_VERSION = 1
UNKNOWN = "<unknown>"
OUTSIDE = "<outside layers>"
LAYER_SYMBOL = re.compile(r"^layer_(?P<index>\d+)_(?P<kernel>\w+)$")
DEFAULT_ITERATIONS = 3  # per-inference counts are deterministic; N only repeats them
DEFAULT_WARMUPS = 1
DEFAULT_OUTPUT_SAMPLES = 3
INFER_TIMEOUT_S = 600.0



class ProfileError(TinyperfError):
    """The firmware cannot be profiled (no markers, unknown model, ...)."""


# ---- functions ------------------------------------------------------------------------------


class FunctionMap:
    """Sized function symbols of an ELF, for address -> function lookups (C++ names demangled)."""

    def __init__(self, image: FirmwareImage):
        spans: dict[int, tuple[int, str]] = {}
        with image.path.open("rb") as stream:
            table = ELFFile(stream).get_section_by_name(".symtab")
            for sym in table.iter_symbols() if table is not None else ():
                if sym["st_info"]["type"] == "STT_FUNC" and sym["st_size"] > 0 and sym.name:
                    start = sym["st_value"] & ~1
                    # Two names for one address (aliases): keep the global one.
                    if start not in spans or sym["st_info"]["bind"] == "STB_GLOBAL":
                        spans[start] = (start + sym["st_size"], image.display_name(sym.name))
        self._starts = sorted(spans)
        self._spans = [spans[s] for s in self._starts]
        self.starts_by_name = {name: start for start, (_end, name) in zip(self._starts, self._spans)}

    def name(self, addr: int) -> str:
        i = bisect.bisect_right(self._starts, addr) - 1
        if i >= 0 and addr < self._spans[i][0]:
            return self._spans[i][1]
        return UNKNOWN


# ---- layers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layer:
    index: int
    symbol: str
    op: str
    output_shape: list[int] | None
    macs: int | None


def layer_symbols(image: FirmwareImage) -> dict[str, int]:
    """The ELF's layer function symbols -> entry address."""
    return {name: sym.addr for name, sym in image.symbols.items() if LAYER_SYMBOL.match(name)}


def _modelc_hash() -> str:
    digest = hashlib.sha256()
    for path in sorted((REPO_ROOT / "firmware" / "modelc").glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def regenerate_model_json(bench: Benchmark) -> Path:
    """model.json for a benchmark's model, generated by modelc into the cache (once)."""
    if not (REPO_ROOT / "firmware" / "modelc").is_dir():
        raise ProfileError("modelc not found: describing layers needs a tinyperf checkout")
    model_sha = hashlib.sha256(bench.model_path.read_bytes()).hexdigest()[:12]
    out = cache_dir("profile-models", f"{bench.name}-{model_sha}-{_modelc_hash()}")
    target = out / "model.json"
    if target.is_file():
        return target
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT / "firmware"))
    result = subprocess.run([sys.executable, "-m", "modelc", str(bench.model_path), "--out", str(out)],
                            cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0 or not target.is_file():
        first = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise ProfileError(f"regenerating the layer table of {bench.model_file} failed: {first}")
    return target


def _layers_from_json(path: Path) -> list[Layer]:
    return _layers_from_doc(json.loads(path.read_text())["layers"])


def _layers_from_doc(entries) -> list[Layer]:
    return [Layer(int(entry["index"]), entry["symbol"], entry["op"], list(entry["output_shape"]),
                  int(entry["macs"])) for entry in entries]


def model_layers(image: FirmwareImage, bench: Benchmark | None) -> tuple[list[Layer] | None, str]:
    """The firmware's layers and where their description came from (None: no layer symbols)."""
    symbols = layer_symbols(image)
    if not symbols:
        return None, "no layer_NN_* symbols"
    record = record_from_elf(image.path)
    if record is not None and set(symbols) <= {layer["symbol"] for layer in record.layers}:
        return _layers_from_doc(record.layers), "the model record inside the ELF"
    candidates: list[tuple[str, Callable[[], Path]]] = [
        ("model.json in the ELF's build folder", lambda: image.path.parent / "model" / "model.json")]
    if bench is not None:
        candidates.append((f"model.json regenerated from {bench.model_file} by modelc",
                           lambda: regenerate_model_json(bench)))
    for source, locate in candidates:
        try:
            path = locate()
            if not path.is_file():
                continue
            layers = _layers_from_json(path)
        except (ProfileError, OSError, ValueError, KeyError):
            continue
        if set(symbols) <= {layer.symbol for layer in layers}:
            return layers, source
    layers = []
    for name in sorted(symbols, key=lambda n: int(LAYER_SYMBOL.match(n)["index"])):
        match = LAYER_SYMBOL.match(name)
        layers.append(Layer(int(match["index"]), name, match["kernel"], None, None))
    return layers, "layer symbol names (no model.json matches this ELF: no shapes or MACs)"


# ---- segments: sim.plugin.segments, sim.plugin.window_hits -----------------------------------


# ---- the profile ----------------------------------------------------------------------------


@dataclass
class Profile:
    """Figures are per inference (window totals / iterations) unless named window_*."""

    benchmark: str | None
    platform: str
    firmware: str
    firmware_sha256: str
    cycle_model: str
    iterations: int
    warmups: int
    window_instructions: int  # exact: the plugin's count between the window markers
    window_cycles: int  # the cycle model's estimate of the window
    instructions: float  # per inference
    cycles: float
    macs: int | None
    clock_mhz: float
    layers: list[dict] | None  # per layer: index symbol op output_shape macs instructions cycles share cycles_per_mac
    outside_layers: dict | None  # instructions, cycles, share of the glue around the layers
    functions: list[dict]  # name instructions cycles share entries, most cycles first
    stacks: dict[str, float]  # collapsed stack -> cycles per inference
    stacks_instructions: dict[str, float]
    outputs: list[dict] | None  # per seeded input: name, sha256, raw (hex), results
    layer_source: str
    notes: list[str] = field(default_factory=list)
    # Memory model (platforms with memory timing): cycles at zero wait states,
    # memory stall cycles by kind and reads/writes per region, per inference.
    # `cycles` (total and per layer) include the stalls; per function and in
    # the stacks they are compute cycles only (stalls are counted per segment).
    compute_cycles: float | None = None
    stall_cycles: dict[str, float] | None = None
    memory: dict | None = None
    # per operator (harness.operators): operator instructions cycles share functions
    operators: list[dict] | None = None
    # Layers of an optimized image that ran a portable kernel: symbol op reason share (harness.portable).
    portable: list[dict] = field(default_factory=list)

    @property
    def latency_ms(self) -> float:
        return self.cycles / (self.clock_mhz * 1e3)

    def to_dict(self) -> dict:
        return {"schema": PROFILE_SCHEMA, "version": PROFILE_VERSION, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict) -> Profile:
        if not isinstance(data, dict):
            raise ProfileError(f"not a tinyperf profile (a JSON {type(data).__name__}, not an object)")
        if data.get("schema") != PROFILE_SCHEMA or data.get("version") != PROFILE_VERSION:
            raise ProfileError(f"not a tinyperf profile version {PROFILE_VERSION} "
                               f"(schema {data.get('schema')!r} version {data.get('version')!r})")
        body = {k: v for k, v in data.items() if k not in ("schema", "version")}
        return cls(**body)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _per(value: float, iterations: int) -> float:
    per = value / iterations
    return int(per) if float(per).is_integer() else per


def segment_memory(platform: Platform, memory: list[list[int]] | None, first: int,
                   last: int) -> list[MemoryCounts] | None:
    """Memory counters of each segment hits[k]..hits[k+1] (k = first..last-1), or None
    when the run was not memory-aware."""
    if not memory or not platform.memory_timing.modelled or len(memory) <= last:
        return None
    counts = [MemoryCounts.from_record(platform.memory_timing, m) for m in memory[first:last + 1]]
    return [b.minus(a) for a, b in zip(counts, counts[1:])]


def build_profile(image: FirmwareImage, platform: Platform, bench: Benchmark | None, layers: list[Layer] | None,
                  layer_source: str, hits, first: int, last: int, iterations: int, warmups: int,
                  marker_count: int | None, memory: list[list[int]] | None = None) -> Profile:
    """Attribute the window's blocks (hits[first]..hits[last]) to layers and functions;
    memory: the memory counters at each hit (memory-aware runs), for the stalls per layer."""
    segs, notes = segments(hits, first, last)
    seg_memory = segment_memory(platform, memory, first, last)
    functions = FunctionMap(image)
    symbols = layer_symbols(image) if layers else {}
    layer_at: dict[int, str] = {}
    for name, addr in sorted(symbols.items()):
        layer_at[addr] = f"{layer_at[addr]}|{name}" if addr in layer_at else name

    window: dict[Block, int] = defaultdict(int)
    for seg in segs:
        for key, execs in seg.blocks.items():
            window[key] += execs
    window_instructions = sum(seg.instructions for seg in segs)
    block_sum = sum(n * e for (_v, n), e in window.items())
    if block_sum != window_instructions:
        notes.append(f"block counts sum to {block_sum} instructions, the markers to {window_instructions}")
    if marker_count is not None and marker_count != window_instructions:
        notes.append(f"the DUT's window count {marker_count} differs from the profile's {window_instructions}")

    model = cycle_model(image, platform)
    rows = model.block_cycles([(v, n, e) for (v, n), e in window.items()])
    cost = {(r.vaddr, r.n_insns): r.cycles_per_exec for r in rows}
    compute_f = sum(cost[key] * execs for key, execs in window.items())
    seg_stalls = [sum(stall_cycles(platform.memory_timing, m).values()) for m in seg_memory] if seg_memory else None
    window_cycles_f = compute_f + sum(seg_stalls or ())
    window_memory = None
    if seg_memory:
        window_memory = seg_memory[0]
        for m in seg_memory[1:]:
            window_memory = window_memory.plus(m)
    elif platform.memory_timing.modelled:
        notes.append("the run counted no memory accesses: cycles are the core's at zero wait states")
    stall_name = model.name if seg_memory or not platform.memory_timing.modelled else (
        model.name + " (memory stalls not counted)")

    # Glue: functions that run in the window outside every layer segment.
    glue = {"model_invoke"}
    for seg in segs:
        if seg.marker not in layer_at:
            glue.update(functions.name(v) for (v, _n) in seg.blocks)

    per_layer: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])  # instructions, cycles, stalls
    per_function: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0])
    stacks: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    for k, seg in enumerate(segs):
        layer = layer_at.get(seg.marker)
        if seg_stalls:  # a segment's stalls go to its layer (its glue's are few: layer calls only)
            owner = per_layer[layer if layer is not None else OUTSIDE]
            owner[1] += seg_stalls[k]
            owner[2] += seg_stalls[k]
        for (vaddr, n), execs in seg.blocks.items():
            func = functions.name(vaddr)
            insns, cycles = n * execs, cost[(vaddr, n)] * execs
            slot = per_function[func]
            slot[0] += insns
            slot[1] += cycles
            if functions.starts_by_name.get(func) == vaddr:
                slot[2] += execs
            if layer is not None and func not in glue:
                per_layer[layer][0] += insns
                per_layer[layer][1] += cycles
                stack = f"model_invoke;{layer}" + ("" if func == layer else f";{func}")
            else:
                per_layer[OUTSIDE][0] += insns
                per_layer[OUTSIDE][1] += cycles
                stack = func
            stacks[stack][0] += insns
            stacks[stack][1] += cycles

    def share(cycles: float) -> float:
        return cycles / window_cycles_f if window_cycles_f else 0.0

    layer_rows = None
    outside = None
    if layers:
        layer_rows = []
        for layer in sorted(layers, key=lambda item: item.index):
            insns, cycles, stalls = per_layer.get(layer.symbol, (0, 0.0, 0.0))
            cyc = cycles / iterations
            layer_rows.append({
                "index": layer.index, "symbol": layer.symbol, "op": layer.op, "output_shape": layer.output_shape,
                "macs": layer.macs, "instructions": _per(insns, iterations), "cycles": round(cyc, 1),
                "share": round(share(cycles), 6),
                "cycles_per_mac": round(cyc / layer.macs, 4) if layer.macs else None,
                "has_code": layer.symbol in symbols,
                "stall_cycles": round(stalls / iterations, 1),
            })
        insns, cycles, stalls = per_layer.get(OUTSIDE, (0, 0.0, 0.0))
        outside = {"instructions": _per(insns, iterations), "cycles": round(cycles / iterations, 1),
                   "share": round(share(cycles), 6), "stall_cycles": round(stalls / iterations, 1)}
        missing = [row["symbol"] for row in layer_rows if not row["has_code"]]
        if missing:
            notes.append(f"no code in the ELF for {', '.join(missing)} (the compiler removed the call): 0 instructions")
    function_rows = [
        {"name": name, "instructions": _per(insns, iterations), "cycles": round(cycles / iterations, 1),
         "share": round(share(cycles), 6), "entries": _per(entries, iterations)}
        for name, (insns, cycles, entries) in sorted(per_function.items(), key=lambda kv: -kv[1][1])
    ]
    record = record_of(image.path, bench)
    return Profile(
        benchmark=bench.name if bench else None, platform=platform.name, firmware=str(image.path),
        firmware_sha256=_sha256(image.path), cycle_model=stall_name, iterations=iterations, warmups=warmups,
        window_instructions=window_instructions, window_cycles=int(round(window_cycles_f)),
        instructions=_per(window_instructions, iterations), cycles=round(window_cycles_f / iterations, 1),
        macs=record.macs if record else None, clock_mhz=platform.clock_mhz, layers=layer_rows,
        outside_layers=outside, functions=function_rows,
        stacks={k: round(v[1] / iterations, 1) for k, v in stacks.items()},
        stacks_instructions={k: _per(v[0], iterations) for k, v in stacks.items()},
        outputs=None, layer_source=layer_source, notes=notes,
        compute_cycles=round(compute_f / iterations, 1),
        stall_cycles=({k: round(v / iterations, 1)
                       for k, v in stall_cycles(platform.memory_timing, window_memory).items()}
                      if window_memory else ({} if not platform.memory_timing.modelled else None)),
        memory=window_memory.scaled(1 / iterations).to_dict() if window_memory else None,
        operators=operator_rows(function_rows, functions.starts_by_name, SourceFiles(image.path)),
    )


# ---- running --------------------------------------------------------------------------------


def output_digests(dut: Dut, bench: Benchmark, count: int, seed: int) -> list[dict]:
    """Printed results and raw outputs of `count` seeded default inputs (raw and
    sha256 None when the firmware has no outputs% command)."""
    rows = []
    for sample in iter_default_inputs(bench, count, seed):
        dut.load(sample.data)
        result = dut.infer(1, 0, timeout=INFER_TIMEOUT_S)
        raw = dut.outputs()
        rows.append({"name": sample.name, "sha256": hashlib.sha256(raw).hexdigest() if raw is not None else None,
                     "raw": raw.hex() if raw is not None else None, "results": result.results})
    return rows


def run_profile(platform: Platform, firmware: FirmwareImage | str | Path, bench: Benchmark | None = None,
                iterations: int = DEFAULT_ITERATIONS, warmups: int = DEFAULT_WARMUPS,
                output_samples: int = DEFAULT_OUTPUT_SAMPLES, seed: int = 0, transcript=None,
                window: Window | None = None) -> Profile:
    """Profile one perf window of `firmware` on `platform` (and digest a few seeded outputs)."""
    image = firmware if isinstance(firmware, FirmwareImage) else FirmwareImage(firmware)
    window = window or require_window(image)  # TargetError (a usage error) when the firmware has none
    layers_by_name = layer_symbols(image)
    notes = []
    if len(set(layers_by_name.values())) + len(window.sites) > MAX_MARKERS:
        notes.append(f"{len(layers_by_name)} layers exceed the plugin's {MAX_MARKERS} markers: "
                     "per-function profile only")
        layers_by_name = {}
    options = window.run_options(markers=tuple(sorted(layers_by_name)), profile=True)
    emulator = open_emulator(platform, image, options)
    emulator.start()
    dut = None
    try:
        dut = Dut(emulator, transcript, window)
        dut.boot()
        bench = identify_benchmark(dut, bench, image)
        dut.load(default_inputs(bench, 1, seed)[0].data)
        result = dut.infer(iterations, warmups, timeout=INFER_TIMEOUT_S)
        log = emulator.counters()
        n_hits = len(log.markers)
        markers, snapshots = list(log.markers[:n_hits]), list(log.snapshots[:n_hits])
        memory = list(log.memory[:n_hits])
        outputs = output_digests(dut, bench, output_samples, seed) if output_samples else []
    finally:
        emulator.stop()
        if dut is not None:
            dut.close()  # its input folder under /tmp
    hits, first, last = window_hits(markers, snapshots, window.begin, window.end)
    layers, source = model_layers(image, bench) if layers_by_name else (None, "no per-layer markers")
    if not layers_by_name and layer_symbols(image):
        source = "too many layers for per-layer markers"
    profile = build_profile(image, platform, bench, layers, source, hits, first, last, iterations, warmups,
                            result.instructions, memory)
    profile.outputs = outputs
    record = record_of(image.path, bench)
    profile.portable = measured_portable(profile.layers, profile.stacks, image.symbols, platform,
                                         record.layers if record else None,
                                         built_with_opt_kernels(image.path, image.symbols))
    profile.notes = notes + profile.notes + [portable_line(**row) for row in profile.portable]
    return profile


def resolve_target(target: str | None, platform: Platform, model: Path | None = None,
                   kernels: str = "ref") -> tuple[Path, Benchmark | None]:
    """BENCH (prebuilt, or built from source when there is none), an ELF path, or with
    `model` the image built for that model, BENCH then giving the inputs (harness.target)."""
    from harness.target import resolve_firmware

    image, bench = resolve_firmware(target, platform, kernels, model)
    return image.path, bench


# ---- output files ---------------------------------------------------------------------------


def _shape(shape: list[int] | None) -> str:
    return "x".join(str(d) for d in shape) if shape else "-"


def _num(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def layers_frame(profile: Profile):
    import pandas as pd

    rows = [dict(row, output_shape=_shape(row["output_shape"])) for row in profile.layers or []]
    if profile.outside_layers is not None:
        rows.append({"index": None, "symbol": OUTSIDE, "op": None, "output_shape": None, "macs": None,
                     **profile.outside_layers, "cycles_per_mac": None, "has_code": True})
    frame = pd.DataFrame(rows, columns=["index", "symbol", "op", "output_shape", "macs", "instructions", "cycles",
                                        "share", "cycles_per_mac", "has_code"])
    return frame.astype({"index": "Int64", "macs": "Int64"})


def functions_frame(profile: Profile):
    import pandas as pd

    return pd.DataFrame(profile.functions, columns=["name", "instructions", "cycles", "share", "entries"])


def collapsed(stacks: dict[str, float]) -> str:
    """Flame-graph collapsed stacks (`frame;frame count`), integer counts, most first."""
    lines = [f"{stack.replace(' ', '_')} {int(round(value))}" for stack, value in
             sorted(stacks.items(), key=lambda kv: -kv[1]) if round(value) > 0]
    return "\n".join(lines) + "\n"


def bar_chart(profile: Profile, top: int = 25) -> bytes:
    """PNG: cycles per inference by layer (our firmware) or by function (the top ones)."""
    from matplotlib.figure import Figure

    if profile.layers:
        labels = [row["symbol"] for row in profile.layers if row["has_code"]]
        values = [row["cycles"] for row in profile.layers if row["has_code"]]
        if profile.outside_layers and profile.outside_layers["cycles"]:
            labels.append(OUTSIDE)
            values.append(profile.outside_layers["cycles"])
        title = "cycles per layer"
    else:
        rows = profile.functions[:top]
        labels, values = [_chart_label(row["name"]) for row in rows], [row["cycles"] for row in rows]
        title = f"cycles per function (top {len(rows)})"
    fig = Figure(figsize=(9, max(3.0, 0.3 * len(labels) + 1.2)))
    ax = fig.add_subplot()
    ax.barh(range(len(labels)), values, color="tab:blue")
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(f"cycles per inference ({profile.cycle_model})")
    ax.set_title(f"{profile.benchmark or Path(profile.firmware).name} on {profile.platform}: {title}")
    buf = io.BytesIO()
    with warnings.catch_warnings():
        # Very long labels (C++ names) can leave tight_layout no room: it then keeps the
        # default layout and warns on stderr, which is noise for a profile; the chart is still right.
        warnings.simplefilter("ignore", UserWarning)
        fig.tight_layout()
        fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()


CHART_LABEL_CHARS = 60


def _chart_label(name: str) -> str:
    """A function name as a bar label: shortened, and '$' escaped (matplotlib reads $...$ as math)."""
    short = name if len(name) <= CHART_LABEL_CHARS else name[:CHART_LABEL_CHARS - 1] + "\u2026"
    return short.replace("$", r"\$")


def result_entry(profile: Profile):
    """The results.json entry of a profile folder (mode "profile"), so `compare` and report readers find totals."""
    from harness.report import BenchmarkResult

    return BenchmarkResult(
        benchmark=profile.benchmark or Path(profile.firmware).stem, platform=profile.platform, mode="profile",
        clock_mhz=profile.clock_mhz, macs=profile.macs or 0,
        instructions_per_inference=round(profile.instructions), cycles_per_inference=round(profile.cycles),
        latency_ms=round(profile.latency_ms, 4),
        perf={"iterations": profile.iterations, "warmups": profile.warmups,
              "instructions_per_inference": profile.instructions, "cycles_per_inference": profile.cycles,
              "cpi": round(profile.cycles / profile.instructions, 4) if profile.instructions else None,
              "cycle_model": profile.cycle_model, "latency_ms": profile.latency_ms, "dut_lap_us": None},
    )


def write_profile(profile: Profile, out_dir: str | Path) -> dict[str, Path]:
    """profile.json, layers.csv (our firmware), functions.csv, profile.png, stacks.folded
    (cycles), stacks-instructions.folded and results.json into out_dir, each atomically."""
    from harness.report import atomic_write, write_results_json

    out = Path(out_dir)
    files = {
        "profile": atomic_write(out / "profile.json", json.dumps(profile.to_dict(), indent=1) + "\n"),
        "functions": atomic_write(out / "functions.csv", functions_frame(profile).to_csv(index=False)),
        "chart": atomic_write(out / "profile.png", bar_chart(profile)),
        "stacks": atomic_write(out / "stacks.folded", collapsed(profile.stacks)),
        "stacks_instructions": atomic_write(out / "stacks-instructions.folded", collapsed(profile.stacks_instructions)),
        "results": write_results_json(out / "results.json", [result_entry(profile)]),
    }
    if profile.layers is not None:
        files["layers"] = atomic_write(out / "layers.csv", layers_frame(profile).to_csv(index=False))
    if profile.operators:
        import pandas as pd

        frame = pd.DataFrame([dict(row, functions=" | ".join(row["functions"])) for row in profile.operators])
        files["operators"] = atomic_write(out / "operators.csv", frame.to_csv(index=False))
    return files


def default_out_dir(results: Path, profile_name: str, platform: Platform) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = results / f"{stamp}-{profile_name}-{platform.name}-profile"
    path, suffix = base, 1
    while path.exists():
        suffix += 1
        path = Path(f"{base}-{suffix}")
    return path


def load_profile(folder: str | Path) -> Profile:
    path = Path(folder) / "profile.json"
    try:
        return Profile.from_dict(json.loads(path.read_text()))
    except ProfileError as err:
        raise ProfileError(f"{path}: {err}", EXIT_USAGE) from None
    except (OSError, ValueError, TypeError) as err:
        raise ProfileError(f"{path}: cannot read the profile ({err})", EXIT_USAGE) from None


# ---- terminal ---------------------------------------------------------------------------------


def layer_table(profile: Profile):
    from rich.table import Table

    table = Table(title=f"{profile.benchmark} on {profile.platform}: per layer, per inference "
                        f"({profile.iterations} iterations, {profile.cycle_model})")
    for col, justify in (("#", "right"), ("layer", "left"), ("op", "left"), ("output", "left"), ("MACs", "right"),
                         ("instructions", "right"), ("cycles", "right"), ("stall", "right"), ("share", "right"),
                         ("cycles/MAC", "right")):
        table.add_column(col, justify=justify)
    for row in profile.layers or []:
        table.add_row(str(row["index"]), row["symbol"] + ("" if row["has_code"] else " (no code)"), row["op"],
                      _shape(row["output_shape"]), _num(row["macs"]), _num(row["instructions"]),
                      _num(row["cycles"]), _num(row.get("stall_cycles")), f"{100 * row['share']:.1f} %",
                      _num(row["cycles_per_mac"], 2))
    if profile.outside_layers is not None:
        o = profile.outside_layers
        table.add_row("", OUTSIDE, "", "", "", _num(o["instructions"]), _num(o["cycles"]),
                      _num(o.get("stall_cycles")), f"{100 * o['share']:.1f} %", "")
    cpm = profile.cycles / profile.macs if profile.macs else None
    table.add_section()
    stall_total = sum(profile.stall_cycles.values()) if profile.stall_cycles is not None else None
    table.add_row("", "total", "", "", _num(profile.macs), _num(profile.instructions), _num(profile.cycles),
                  _num(stall_total), "100.0 %", _num(cpm, 2), style="bold")
    return table


def operator_table(profile: Profile):
    """Per operator (functions attributed by source file, see harness.operators)."""
    from rich.table import Table

    table = Table(title=f"{profile.benchmark or Path(profile.firmware).name} on {profile.platform}: per operator, "
                        "per inference (functions by their source file)")
    for col, justify in (("operator", "left"), ("instructions", "right"), ("cycles", "right"), ("share", "right"),
                         ("functions", "right")):
        table.add_column(col, justify=justify)
    for row in profile.operators or []:
        table.add_row(row["operator"], _num(row["instructions"]), _num(row["cycles"]), f"{100 * row['share']:.1f} %",
                      str(len(row["functions"])))
    return table


def function_table(profile: Profile, top: int = 15):
    from rich.table import Table

    rows = profile.functions[:top]
    hidden = len(profile.functions) - len(rows)
    table = Table(title=f"{profile.benchmark or Path(profile.firmware).name} on {profile.platform}: "
                        f"top {len(rows)} functions, per inference"
                        + (f" ({hidden} more in functions.csv)" if hidden > 0 else ""))
    for col, justify in (("function", "left"), ("instructions", "right"), ("cycles", "right"),
                         ("share", "right"), ("entries", "right")):
        table.add_column(col, justify=justify)
    for row in rows:
        table.add_row(row["name"], _num(row["instructions"]), _num(row["cycles"]), f"{100 * row['share']:.1f} %",
                      _num(row["entries"], 0 if float(row["entries"]).is_integer() else 1))
    return table


def summary_line(profile: Profile) -> str:
    return (f"{profile.benchmark or Path(profile.firmware).name} on {profile.platform}: "
            f"{profile.instructions:,.0f} instructions, {profile.cycles:,.0f} cycles per inference "
            f"(CPI {profile.cycles / profile.instructions:.3f}, {profile.latency_ms:.3f} ms at "
            f"{profile.clock_mhz:g} MHz); window ({profile.iterations} inferences): "
            f"{profile.window_instructions:,} instructions, {profile.window_cycles:,} cycles; "
            f"layers from {profile.layer_source}" + _stall_summary(profile))


def _stall_summary(profile: Profile) -> str:
    if not profile.stall_cycles:
        return ""
    total = sum(profile.stall_cycles.values())
    kinds = ", ".join(f"{kind} {cycles:,.0f}" for kind, cycles in sorted(profile.stall_cycles.items()))
    return (f"; {profile.compute_cycles:,.0f} compute + {total:,.0f} memory-stall cycles per inference "
            f"({kinds})")
