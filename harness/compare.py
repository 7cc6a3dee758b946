"""`tinyperf compare A B`: did B get slower than A, and does it still compute the same thing?

A and B are each one of
- a result folder: `tinyperf profile` output (profile.json: per layer, per
  function, raw output digests) or a `tinyperf run` folder (results.json
  totals; the printed results in samples.jsonl stand in for the outputs);
- an ELF (or a benchmark name: its prebuilt ELF), profiled here on
  --platform: the perf window with per-layer markers, then `--outputs`
  seeded default inputs whose raw int8 outputs are read with `outputs%`.

Both sides must be the same benchmark on the same platform.  Counts are exact
and the cycle model deterministic, so any delta is real; the threshold says
how much growth is tolerated, not how much noise there is.  The comparison
fails when cycles per inference grow by more than `max_regression` percent
(instructions when a side has no cycle estimate), or when any input both
sides ran produced a different output.
"""
from __future__ import annotations

import json
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from firmware_bins import KERNEL_SETS
from harness.report import JUnitCase, junit_document
from harness.profile import (DEFAULT_ITERATIONS, DEFAULT_OUTPUT_SAMPLES, DEFAULT_WARMUPS, OUTSIDE, Profile,
                             load_profile, resolve_target, run_profile)
from harness.target import require_window, resolve_platform
from sim.elf import FirmwareImage
from tinyperf_errors import EXIT_USAGE, TinyperfError

DEFAULT_MAX_REGRESSION = 2.0  # percent


class CompareError(TinyperfError):
    """The two sides cannot be compared (different benchmark or platform, unreadable folder): a usage error."""

    exit_code = EXIT_USAGE


@dataclass
class Side:
    label: str  # what the user passed
    kind: str  # "profile" (profile.json), "run" (results.json only) or "elf" (profiled just now)
    benchmark: str | None
    platform: str
    cycle_model: str | None
    instructions: float | None  # per inference
    cycles: float | None
    layers: list[dict] | None = None
    outside_layers: dict | None = None
    functions: list[dict] | None = None
    outputs: dict[str, str] | None = None  # input name -> raw output (hex)
    results: dict[str, list[float]] | None = None  # input name -> printed m-results values
    firmware_sha256: str | None = None
    iterations: int | None = None  # inferences in the measured window


def side_from_profile(profile: Profile, label: str, kind: str) -> Side:
    return Side(label, kind, profile.benchmark, profile.platform, profile.cycle_model, profile.instructions,
                profile.cycles, profile.layers, profile.outside_layers, profile.functions,
                {o["name"]: o["raw"] for o in profile.outputs} if profile.outputs and all(o.get("raw") for o in profile.outputs)
                else None,
                {o["name"]: o["results"] for o in profile.outputs} if profile.outputs else None,
                profile.firmware_sha256, profile.iterations)


def _number(value) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))


def checked(side: Side) -> Side:
    """The side, if every figure the comparison reads has its type (TypeError if not)."""
    rows = [*(side.layers or []), *(side.functions or []), *([side.outside_layers] if side.outside_layers else [])]
    if not (_number(side.instructions) and _number(side.cycles) and _number(side.iterations)
            and isinstance(side.layers, (list, type(None))) and isinstance(side.functions, (list, type(None)))
            and all(isinstance(r, dict) and _number(r.get("instructions")) and _number(r.get("cycles"))
                    for r in rows)):
        raise TypeError("figures must be numbers, layers and functions lists of objects")
    return side


def load_folder(folder: Path) -> Side:
    """A `tinyperf profile` or `tinyperf run` folder."""
    from harness.report import SampleRecord, load_results

    if (folder / "profile.json").is_file():
        profile = load_profile(folder)
        try:
            return checked(side_from_profile(profile, str(folder), "profile"))
        except (TypeError, KeyError, AttributeError) as err:
            raise CompareError(f"{folder / 'profile.json'}: a value of an unexpected type ({err}): "
                               "was it edited? write it again with 'tinyperf profile'") from None
    path = folder / "results.json"
    if not path.is_file():
        raise CompareError(f"{folder} holds neither profile.json nor results.json: pass a folder written by "
                           "'tinyperf profile' or 'tinyperf run', or an ELF")
    try:
        results = load_results(path)
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise CompareError(f"{path}: cannot read it ({err})") from None
    timed = [r for r in results if r.instructions_per_inference is not None]
    if not timed:
        raise CompareError(f"{path} has no perf figures: run 'tinyperf run' with --mode perf, or 'tinyperf profile'")
    if len(timed) > 1:
        raise CompareError(f"{path} holds {len(timed)} benchmarks: compare folders of one benchmark")
    r = timed[0]
    outputs = None
    samples = folder / "samples.jsonl"
    try:
        if samples.is_file():
            records = [SampleRecord(**json.loads(line)) for line in samples.read_text().splitlines() if line.strip()]
            outputs = {rec.name: rec.dut for rec in records if not rec.error and rec.dut}
        perf = r.perf or {}
        return checked(Side(str(folder), "run", r.benchmark, r.platform, perf.get("cycle_model"),
                            r.instructions_per_inference, r.cycles_per_inference, results=outputs or None,
                            iterations=perf.get("iterations")))
    except (OSError, ValueError, TypeError, AttributeError) as err:
        raise CompareError(f"{folder}: results.json or samples.jsonl holds a value of an unexpected type ({err}): "
                           "was it edited? run it again") from None


def _is_folder(target: str) -> bool:
    return Path(target).is_dir()


def resolve_sides(a: str, b: str, platform_name: str | None = None, iterations: int | None = None,
                  output_samples: int = DEFAULT_OUTPUT_SAMPLES, seed: int = 0,
                  warmups: int = DEFAULT_WARMUPS, window_spec: str | None = None,
                  model: Path | None = None) -> tuple[Side, Side]:
    """Load the folders, profile the ELFs (both at once, on the same inputs).  ELFs run as many
    inferences per window as a folder's profile did (the window's fixed overhead is spread over
    them), else `iterations` (default DEFAULT_ITERATIONS).  With `model`, a side named by a
    kernel set (ref, opt) is that model's image with those kernels."""
    folders = {t: load_folder(Path(t)) for t in (a, b) if _is_folder(t)}
    if iterations is None:
        iterations = next((s.iterations for s in folders.values() if s.iterations), DEFAULT_ITERATIONS)
    if platform_name is not None:
        platform = resolve_platform(platform_name)
    elif folders:
        platform = resolve_platform(next(iter(folders.values())).platform)
    else:
        platform = resolve_platform(None)
    elfs = [t for t in (a, b) if t not in folders]
    resolved = {t: resolve_target(None, platform, model, t) if model is not None and t in KERNEL_SETS
                else resolve_target(t, platform) for t in elfs}
    hint = next((get_benchmark_or_none(s.benchmark) for s in folders.values()), None)

    def profile(target: str) -> Side:
        path, bench = resolved[target]
        image = FirmwareImage(path)
        result = run_profile(platform, image, bench or hint, iterations, warmups, output_samples, seed,
                             window=require_window(image, window_spec))
        return side_from_profile(result, target, "elf")

    with ThreadPoolExecutor(max(1, len(elfs))) as pool:
        profiled = dict(zip(elfs, pool.map(profile, elfs)))
    return (folders.get(a) or profiled[a]), (folders.get(b) or profiled[b])


def get_benchmark_or_none(name: str | None):
    from harness.benchmarks import UnknownBenchmarkError, get_benchmark

    try:
        return get_benchmark(name) if name else None
    except UnknownBenchmarkError:
        return None


# ---- the comparison -----------------------------------------------------------------------------


def pct(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or a == 0:
        return None
    return 100.0 * (b - a) / a


@dataclass
class Row:
    name: str
    op: str | None
    a_instructions: float | None
    b_instructions: float | None
    a_cycles: float | None
    b_cycles: float | None

    @property
    def instructions_pct(self) -> float | None:
        return pct(self.a_instructions, self.b_instructions)

    @property
    def cycles_pct(self) -> float | None:
        return pct(self.a_cycles, self.b_cycles)

    @property
    def cycles_delta(self) -> float:
        return (self.b_cycles or 0) - (self.a_cycles or 0)

    def to_dict(self) -> dict:
        return {**asdict(self), "instructions_pct": self.instructions_pct, "cycles_pct": self.cycles_pct}


@dataclass
class Comparison:
    a: Side
    b: Side
    level: str  # "layer", "function" or "total"
    rows: list[Row]
    max_regression: float
    metric: str  # "cycles" or "instructions": what the threshold applies to
    growth_pct: float | None
    outputs_status: str  # "identical", "changed" or "not compared"
    outputs_basis: str | None  # "raw int8 outputs" or "printed results"
    outputs_compared: int
    changed_outputs: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def regression(self) -> bool:
        return self.growth_pct is not None and self.growth_pct > self.max_regression

    @property
    def passed(self) -> bool:
        return not self.regression and self.outputs_status != "changed"

    @property
    def failures(self) -> list[str]:
        out = []
        if self.regression:
            out.append(f"{self.metric} per inference grew {self.growth_pct:+.2f} % "
                       f"(more than --max-regression {self.max_regression:g} %)")
        if self.outputs_status == "changed":
            names = ", ".join(self.changed_outputs[:5])
            out.append(f"outputs changed on {len(self.changed_outputs)} of {self.outputs_compared} inputs ({names})")
        return out

    def to_dict(self) -> dict:
        def side(s: Side) -> dict:
            return {k: getattr(s, k) for k in ("label", "kind", "benchmark", "platform", "cycle_model",
                                                "instructions", "cycles", "firmware_sha256")}
        return {
            "a": side(self.a), "b": side(self.b), "level": self.level,
            "instructions_pct": pct(self.a.instructions, self.b.instructions),
            "cycles_pct": pct(self.a.cycles, self.b.cycles),
            "metric": self.metric, "growth_pct": self.growth_pct, "max_regression": self.max_regression,
            "regression": self.regression, "outputs": self.outputs_status, "outputs_basis": self.outputs_basis,
            "outputs_compared": self.outputs_compared, "changed_outputs": self.changed_outputs,
            "passed": self.passed, "failures": self.failures, "notes": self.notes,
            "rows": [r.to_dict() for r in self.rows],
        }


def _layer_rows(a: Side, b: Side) -> list[Row]:
    def index(side: Side) -> dict[str, dict]:
        rows = {r["symbol"]: r for r in side.layers or []}
        if side.outside_layers is not None:
            rows[OUTSIDE] = {"symbol": OUTSIDE, "op": None, "index": 1 << 30, **side.outside_layers}
        return rows

    ia, ib = index(a), index(b)
    order = sorted(set(ia) | set(ib), key=lambda s: ((ib.get(s) or ia.get(s))["index"], s))
    rows = []
    for symbol in order:
        ra, rb = ia.get(symbol), ib.get(symbol)
        rows.append(Row(symbol, (rb or ra)["op"], ra and ra["instructions"], rb and rb["instructions"],
                        ra and ra["cycles"], rb and rb["cycles"]))
    return rows


def _function_rows(a: Side, b: Side) -> list[Row]:
    fa = {r["name"]: r for r in a.functions or []}
    fb = {r["name"]: r for r in b.functions or []}
    rows = [Row(name, None, fa.get(name, {}).get("instructions", 0), fb.get(name, {}).get("instructions", 0),
                fa.get(name, {}).get("cycles", 0.0), fb.get(name, {}).get("cycles", 0.0))
            for name in set(fa) | set(fb)]
    rows.sort(key=lambda r: (-abs(r.cycles_delta), -(r.b_cycles or 0), r.name))
    return rows


def _outputs(a: Side, b: Side) -> tuple[str, str | None, int, list[str]]:
    for basis, ma, mb in (("raw int8 outputs", a.outputs, b.outputs), ("printed results", a.results, b.results)):
        if ma and mb:
            common = [name for name in ma if name in mb]
            if common:
                changed = [name for name in common if ma[name] != mb[name]]
                return ("changed" if changed else "identical"), basis, len(common), changed
    return "not compared", None, 0, []


def compare_sides(a: Side, b: Side, max_regression: float = DEFAULT_MAX_REGRESSION) -> Comparison:
    if not math.isfinite(max_regression) or max_regression < 0:
        # nan compares false with everything: a gate that would silently pass any regression
        raise CompareError(f"max_regression must be a finite number >= 0 percent, got {max_regression}")
    if a.benchmark != b.benchmark:
        raise CompareError(f"A is {a.benchmark} and B is {b.benchmark}: compare two builds of one benchmark")
    if a.platform != b.platform:
        raise CompareError(f"A ran on {a.platform} and B on {b.platform}: compare results of one platform")
    notes = []
    if a.cycle_model and b.cycle_model and a.cycle_model != b.cycle_model:
        notes.append(f"cycle models differ ({a.cycle_model} vs {b.cycle_model}): cycle deltas mix model changes in")
    if a.iterations and b.iterations and a.iterations != b.iterations:
        notes.append(f"windows of {a.iterations} and {b.iterations} inferences: per-inference figures differ by "
                     "the window's fixed overhead shared out (a few instructions)")
    if a.layers and b.layers:
        level, rows = "layer", _layer_rows(a, b)
    elif a.functions and b.functions:
        level, rows = "function", _function_rows(a, b)
    else:
        level, rows = "total", []
        if a.kind == "run" or b.kind == "run":
            notes.append("a 'tinyperf run' folder holds totals only: use 'tinyperf profile' folders for per-layer deltas")
    if a.cycles is not None and b.cycles is not None:
        metric, growth = "cycles", pct(a.cycles, b.cycles)
    else:
        metric, growth = "instructions", pct(a.instructions, b.instructions)
    status, basis, count, changed = _outputs(a, b)
    if status == "not compared":
        notes.append("outputs not compared: no inputs both sides ran (profile folders and ELFs record them)")
    return Comparison(a, b, level, rows, max_regression, metric, growth, status, basis, count, changed, notes)


# ---- rendering ------------------------------------------------------------------------------------


def _n(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _p(value: float | None, new: bool = False) -> str:
    if value is None:
        return "new" if new else "-"
    style = "red" if value > 0 else "green" if value < 0 else ""
    text = f"{value:+.2f} %"
    return f"[{style}]{text}[/]" if style else text


def comparison_table(c: Comparison, top: int = 20):
    from rich.table import Table

    rows = c.rows if c.level == "layer" else c.rows[:top]
    hidden = len(c.rows) - len(rows)
    title = (f"{c.a.benchmark} on {c.a.platform}: B vs A per {c.level}, per inference"
             + (f" (top {len(rows)} by |Δ cycles|; {hidden} more in --json)" if hidden > 0 else ""))
    table = Table(title=title)
    for col, justify in (("layer" if c.level == "layer" else "function", "left"), ("op", "left"),
                         ("instr A", "right"), ("instr B", "right"), ("Δ instr", "right"), ("cycles A", "right"),
                         ("cycles B", "right"), ("Δ cycles", "right"), ("Δ %", "right")):
        if col == "op" and c.level != "layer":
            continue
        table.add_column(col, justify=justify)
    def cells(name, op, ai, bi, ac, bc) -> list[str]:
        di = None if ai is None or bi is None else bi - ai
        dc = None if ac is None or bc is None else bc - ac
        out = [name] + ([op or ""] if c.level == "layer" else [])
        return out + [_n(ai), _n(bi), "-" if di is None else f"{di:+,.0f}", _n(ac), _n(bc),
                      "-" if dc is None else f"{dc:+,.0f}", _p(pct(ac, bc), new=not ac and bool(bc))]

    for r in rows:
        table.add_row(*cells(r.name, r.op, r.a_instructions, r.b_instructions, r.a_cycles, r.b_cycles))
    if rows:
        table.add_section()
    table.add_row(*cells("total", "", c.a.instructions, c.b.instructions, c.a.cycles, c.b.cycles), style="bold")
    return table


def summary_lines(c: Comparison) -> list[str]:
    lines = [f"A: {c.a.label} ({c.a.kind})", f"B: {c.b.label} ({c.b.kind})"]
    ip, cp = pct(c.a.instructions, c.b.instructions), pct(c.a.cycles, c.b.cycles)
    lines.append(f"total: instructions {_n(c.a.instructions)} -> {_n(c.b.instructions)} "
                 f"({'-' if ip is None else f'{ip:+.2f} %'}), cycles {_n(c.a.cycles)} -> {_n(c.b.cycles)} "
                 f"({'-' if cp is None else f'{cp:+.2f} %'}) per inference")
    if c.outputs_status == "not compared":
        lines.append("outputs: not compared")
    else:
        lines.append(f"outputs: {c.outputs_status} on {c.outputs_compared} inputs ({c.outputs_basis})"
                     + (f"; changed: {', '.join(c.changed_outputs[:10])}" if c.changed_outputs else ""))
    lines += [f"note: {n}" for n in c.notes]
    lines.append("PASS" if c.passed else "FAIL: " + "; ".join(c.failures))
    return lines


def junit_xml(c: Comparison) -> str:
    """Two testcases (cycle regression, output identity) with the delta table as system-out."""
    classname = f"tinyperf.compare.{c.a.benchmark}.{c.a.platform}"
    growth = "unknown" if c.growth_pct is None else f"{c.growth_pct:+.2f} %"
    if c.growth_pct is None:
        regression = JUnitCase(classname, f"{c.metric}-regression", "skipped", "no per-inference figures on one side")
    else:
        regression = JUnitCase(classname, f"{c.metric}-regression", "failure" if c.regression else "pass",
                               f"{c.metric} per inference {growth} (limit +{c.max_regression:g} %)")
    if c.outputs_status == "not compared":
        outputs = JUnitCase(classname, "outputs-identical", "skipped", "no inputs both sides ran")
    else:
        outputs = JUnitCase(classname, "outputs-identical", "failure" if c.outputs_status == "changed" else "pass",
                            "; ".join(f for f in c.failures if f.startswith("outputs")) or "identical")
    out = [f"{r.name}: instructions {_n(r.a_instructions)} -> {_n(r.b_instructions)}, cycles {_n(r.a_cycles)} -> "
           f"{_n(r.b_cycles)}" + ("" if r.cycles_pct is None else f" ({r.cycles_pct:+.2f} %)") for r in c.rows]
    return junit_document("tinyperf.compare", [regression, outputs], "\n".join(summary_lines(c) + [""] + out))
