"""Run results: the per-sample log, results.json, samples.csv, summary.md, JUnit XML, plots, terminal table.

Per-sample results are appended to a JSONL log as each inference completes, so
an interrupted run keeps everything it finished and can resume. The final
files are written whole to a temporary file and renamed into place, so a
reader never sees a half-written result.
"""
from __future__ import annotations

import io
import json
import os
import tempfile
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
from rich.table import Table

from harness.metrics import Quality
from tinyperf_errors import EXIT_USAGE, TinyperfError

SCHEMA_VERSION = 1


class SampleLogError(TinyperfError):
    """A run folder's samples.jsonl holds a line that is not a sample record (edited by hand?)."""

    exit_code = EXIT_USAGE


def check_writable(folder: str | Path, option: str) -> None:
    """Fail before any work when `folder` cannot be made or written (checked on its
    nearest existing ancestor, so nothing is created here)."""
    path = Path(folder).absolute()
    existing = next(p for p in (path, *path.parents) if p.exists() or p.is_symlink())
    if not existing.is_dir():
        raise TinyperfError(f"{option} {folder}: {existing} is not a folder; pass a folder you can write", EXIT_USAGE)
    if not os.access(existing, os.W_OK | os.X_OK):
        raise TinyperfError(f"{option} {folder}: {existing} is not writable; pass a folder you can write", EXIT_USAGE)


@dataclass(frozen=True)
class SampleRecord:
    """One inference: what the DUT printed against what host TFLM predicts."""

    benchmark: str
    platform: str
    name: str
    file: str
    label: int | None
    dut: list[float]
    host: list[float]
    bit_exact: bool  # decided by the runner: the DUT's output matches the host exactly
    instructions: int | None = None
    raw_max_abs_diff: int | None = None  # largest difference of the raw int8 output tensors
    error: str | None = None  # the sample failed (DUT error, hang, fault): why, with the transcript tail
    # How the sample was verified: "bytes" (outputs%, bit-exact check), "printed"
    # (m-results against host TFLM printed the reference firmware's way), or None
    # (not compared: see not_compared).
    compared: str | None = "bytes"
    results_agree: bool | None = None  # printed: top-1 equal and within one printed unit
    printed_diff_units: int | None = None  # printed: largest difference in units of 0.001
    not_compared: str | None = None  # why the sample has no verdict
    # The emulator was lost under the sample (killed, interrupted) even after retries:
    # no verdict on the firmware; --resume runs the sample again.
    no_verdict: bool = False
    # bytes, not bit-exact: which output tensors differ, e.g. "output 1 (1x10 int8)".
    differing_outputs: list[str] = field(default_factory=list)

    @property
    def top1_agree(self) -> bool:
        return bool(self.dut) and bool(self.host) and int(np.argmax(self.dut)) == int(np.argmax(self.host))

    @property
    def max_abs_diff(self) -> float:
        if len(self.dut) != len(self.host):
            return float("inf")  # a malformed result line cannot agree
        return float(np.max(np.abs(np.subtract(self.dut, self.host)))) if self.dut else 0.0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Verify:
    samples: int
    bit_exact: int  # byte-compared samples whose output matched the host exactly
    top1_agree: int
    max_abs_diff: float
    mismatches: list[str] = field(default_factory=list)  # byte-compared samples that were not bit-exact
    no_verdict: int = 0  # samples the emulator was lost under: neither exact nor mismatched
    byte_compared: int | None = None  # samples checked byte by byte (outputs%); None in old results
    printed_compared: int = 0  # samples checked by their printed m-results (firmware without outputs%)
    results_agree: int = 0  # ... of which agree with host TFLM
    max_printed_diff_units: int | None = None  # largest printed difference, in units of 0.001
    disagreements: list[str] = field(default_factory=list)  # printed-compared samples that did not agree
    not_compared: list[str] = field(default_factory=list)  # "name: why" of judged samples without a comparison
    # Models with several outputs: "output 1 (1x10 int8): 3 samples" for each output that differed.
    differing_outputs: list[str] = field(default_factory=list)

    @classmethod
    def from_records(cls, records: Sequence[SampleRecord]) -> Verify:
        judged = [r for r in records if not r.no_verdict]
        by_bytes = [r for r in judged if r.compared == "bytes" and not r.error]
        printed = [r for r in judged if r.compared == "printed" and not r.error]
        diffs = [r.printed_diff_units for r in printed if r.printed_diff_units is not None]
        per_output = Counter(output for r in by_bytes for output in r.differing_outputs)
        return cls(
            samples=len(judged),
            bit_exact=sum(r.bit_exact for r in by_bytes),
            top1_agree=sum(r.top1_agree for r in by_bytes + printed),
            max_abs_diff=max((r.raw_max_abs_diff if r.raw_max_abs_diff is not None else r.max_abs_diff
                              for r in by_bytes), default=0.0),
            mismatches=[r.name for r in by_bytes if not r.bit_exact],
            no_verdict=len(records) - len(judged),
            byte_compared=len(by_bytes),
            printed_compared=len(printed),
            results_agree=sum(bool(r.results_agree) for r in printed),
            max_printed_diff_units=max(diffs) if diffs else None,
            disagreements=[r.name for r in printed if not r.results_agree],
            not_compared=[f"{r.name}: {r.error or r.not_compared}" for r in judged
                          if r.error or r.compared not in ("bytes", "printed")],
            differing_outputs=[f"{output}: {count} samples" for output, count in per_output.items()],
        )

    @property
    def compared(self) -> int:
        return (self.samples if self.byte_compared is None else self.byte_compared) + self.printed_compared

    @property
    def passed(self) -> bool:
        """Every sample was compared (bytes or printed) and is bit-exact or agrees."""
        return (self.compared > 0 and not self.mismatches and not self.disagreements and not self.not_compared
                and self.no_verdict == 0)


@dataclass(frozen=True)
class BenchmarkResult:
    """One benchmark on one platform: the entry results.json holds."""

    benchmark: str
    platform: str
    mode: str
    clock_mhz: float
    macs: int
    instructions_per_inference: int | None = None
    cycles_per_inference: int | None = None
    latency_ms: float | None = None
    verify: Verify | None = None
    accuracy: Quality | None = None
    perf: dict | None = None  # perf-mode details: iterations, warmups, the DUT's own lap time
    failed_samples: int = 0  # samples the firmware failed (error, hang, fault)
    no_verdict_samples: int = 0  # samples without a verdict (emulator lost); not failures
    # Modeled energy of the perf window (sim.power): run power x modeled time per inference.
    energy_uj_per_inference: float | None = None
    average_power_mw: float | None = None
    supply_v: float | None = None
    power_model: str | None = None
    power_model_version: int | None = None
    energy: dict | None = None  # energy mode: the official loop's windows and median (harness.energy)

    @property
    def cycles_per_mac(self) -> float | None:
        return self.cycles_per_inference / self.macs if self.cycles_per_inference and self.macs else None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> BenchmarkResult:
        if not isinstance(data, dict):
            raise TypeError(f"a result entry is a JSON {type(data).__name__}, not an object")
        verify = Verify(**data["verify"]) if data.get("verify") else None
        accuracy = Quality(**data["accuracy"]) if data.get("accuracy") else None
        return cls(**{**data, "verify": verify, "accuracy": accuracy})


# ---- per-sample log -----------------------------------------------------------


class SampleLog:
    """An append-only JSONL log of SampleRecords, one flushed line per completed inference.

    Opening an existing log keeps its complete lines; a last line cut short by
    an interruption is dropped so that appending continues on a clean line.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._records = self._read_and_repair()
        self._file = self.path.open("a", encoding="utf-8")

    def _read_and_repair(self) -> list[SampleRecord]:
        if not self.path.exists():
            return []
        raw = self.path.read_bytes()
        complete = raw[: raw.rfind(b"\n") + 1]
        if len(complete) != len(raw):
            with self.path.open("r+b") as f:
                f.truncate(len(complete))
        records = []
        for number, line in enumerate(complete.decode("utf-8", errors="replace").splitlines(), 1):
            if not line.strip():
                continue
            try:
                records.append(SampleRecord(**json.loads(line)))
            except (ValueError, TypeError) as err:
                raise SampleLogError(f"{self.path} line {number} is not a sample record ({err}): "
                                     "the run cannot be resumed; start a new one") from None
        return records

    def append(self, record: SampleRecord) -> None:
        # flush (not fsync) per line: survives the process dying, at no cost per inference.
        self._file.write(json.dumps(record.to_dict()) + "\n")
        self._file.flush()
        self._records.append(record)

    def records(self) -> list[SampleRecord]:
        """The latest record of each sample (a resumed run appends a verdict after a no-verdict line)."""
        latest = {r.name: r for r in self._records}
        return list(latest.values())

    def completed_names(self) -> set[str]:
        """Samples with a verdict: the ones a resumed run does not run again."""
        return {r.name for r in self.records() if not r.no_verdict}

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> SampleLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ---- final files ----------------------------------------------------------------


def atomic_write(path: str | Path, data: bytes | str) -> Path:
    """Write `data` to `path` via a temporary file in the same folder and os.replace."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; results are for everyone to read
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def memory_lines(results: Sequence[BenchmarkResult]) -> list[str]:
    """Per result on a platform with memory timing: compute vs memory-stall
    cycles per inference, by stall kind, and the reads/writes per region."""
    lines = []
    for r in results:
        perf = r.perf or {}
        stalls = perf.get("stall_cycles_per_inference")
        if not stalls and not perf.get("memory_per_inference"):
            continue
        compute = perf.get("compute_cycles_per_inference") or 0
        total = sum(stalls.values()) if stalls else 0
        kinds = ", ".join(f"{kind} {cycles:,.0f}" for kind, cycles in sorted(stalls.items())) if stalls else "none"
        regions = (perf.get("memory_per_inference") or {}).get("regions", {})
        access = "; ".join(f"{name} {row['reads']:,.0f} reads {row['writes']:,.0f} writes"
                           for name, row in regions.items())
        share = f"{100 * total / (compute + total):.1f} %" if compute + total else "-"
        lines.append(f"{r.benchmark} on {r.platform}: {compute:,.0f} compute + {total:,.0f} memory-stall cycles "
                     f"per inference ({share}: {kinds}); {access}")
    return lines


def results_document(results: Sequence[BenchmarkResult]) -> dict:
    return {
        "schema_version": SCHEMA_VERSION,
        "generator": "tinyperf",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "results": [r.to_dict() for r in results],
    }


def write_results_json(path: str | Path, results: Sequence[BenchmarkResult]) -> Path:
    return atomic_write(path, json.dumps(results_document(results), indent=2) + "\n")


def load_results(path: str | Path) -> list[BenchmarkResult]:
    """Read a results.json back; ValueError for a schema version this tinyperf does not know."""
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: a JSON {type(doc).__name__}, not a tinyperf results object")
    if doc.get("schema_version") != SCHEMA_VERSION:
        raise ValueError(f"{path}: results schema version {doc.get('schema_version')!r}, "
                         f"this tinyperf reads version {SCHEMA_VERSION}")
    return [BenchmarkResult.from_dict(r) for r in doc["results"]]


def samples_frame(records: Iterable[SampleRecord]) -> pd.DataFrame:
    columns = ["benchmark", "platform", "name", "file", "label", "bit_exact", "top1_agree",
               "max_abs_diff", "raw_max_abs_diff", "dut_top1", "host_top1", "instructions", "dut", "host", "error",
               "no_verdict", "differing_outputs"]
    rows = [{
        **r.to_dict(),
        "top1_agree": r.top1_agree,
        "max_abs_diff": r.max_abs_diff,
        "dut_top1": int(np.argmax(r.dut)) if r.dut else None,
        "host_top1": int(np.argmax(r.host)) if r.host else None,
        # vectors as space-separated values keep the CSV one row per sample
        "dut": " ".join(repr(float(v)) for v in r.dut),
        "host": " ".join(repr(float(v)) for v in r.host),
        "differing_outputs": "; ".join(r.differing_outputs),
    } for r in records]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.astype({"label": "Int64", "instructions": "Int64", "dut_top1": "Int64", "host_top1": "Int64",
                         "raw_max_abs_diff": "Int64"})


def write_samples_csv(path: str | Path, records: Iterable[SampleRecord]) -> Path:
    return atomic_write(path, samples_frame(records).to_csv(index=False))


RESULT_COLUMNS = ("benchmark", "platform", "mode", "clock_mhz", "macs", "instructions_per_inference",
                  "cycles_per_inference", "latency_ms", "energy_uj_per_inference", "average_power_mw", "supply_v",
                  "power_model", "power_model_version", "energy_loop_median_uj", "failed_samples")


def results_frame(results: Iterable[BenchmarkResult]) -> pd.DataFrame:
    """One row per benchmark result: the perf and energy figures (results.csv)."""
    rows = [{**{c: getattr(r, c, None) for c in RESULT_COLUMNS},
             "energy_loop_median_uj": r.energy["median_uj_per_inference"] if r.energy else None} for r in results]
    return pd.DataFrame(rows, columns=list(RESULT_COLUMNS))


# ---- summary rows (terminal, markdown) -------------------------------------------

SUMMARY_COLUMNS = ("benchmark", "platform", "instructions", "cycles", "latency ms", "inf/s", "DUT lap ms", "MACs",
                   "cycles/MAC", "uJ/inf (model)", "mW @ V", "bit-exact", "top-1 / AUC", "target")


def _int(value: int | None) -> str:
    return f"{value:,}" if value is not None else "-"


def _quality(acc: Quality | None) -> tuple[str, str]:
    if acc is None:
        return "-", "-"
    if acc.metric == "top1":
        shown = f"top-1 {acc.value:.1%}" if acc.value is not None else "top-1 -"
        target = f">= {acc.target:.0%}"
    else:
        shown = f"AUC {acc.value:.3f}" if acc.value is not None else "AUC -"
        target = f">= {acc.target:.2f}"
    return shown, f"{target} {'PASS' if acc.passed else 'FAIL'}"


def verify_cell(verify: Verify | None) -> str:
    """bit-exact count over byte-compared samples; printed agreement for firmware without outputs%."""
    if verify is None:
        return "-"
    parts = []
    if verify.byte_compared is None or verify.byte_compared:
        parts.append(f"{verify.bit_exact}/{verify.samples if verify.byte_compared is None else verify.byte_compared}")
    if verify.printed_compared:
        parts.append(f"printed agree {verify.results_agree}/{verify.printed_compared} "
                     f"(max diff {verify.max_printed_diff_units} x 0.001)")
    if verify.not_compared:
        parts.append(f"{len(verify.not_compared)} not compared")
    return ", ".join(parts) or "-"


def summary_rows(results: Sequence[BenchmarkResult]) -> list[list[str]]:
    rows = []
    for r in results:
        latency = f"{r.latency_ms:,.3f} @ {r.clock_mhz:g} MHz" if r.latency_ms is not None else "-"
        cpm = f"{r.cycles_per_mac:.2f}" if r.cycles_per_mac is not None else "-"
        exact = verify_cell(r.verify)
        rate = f"{1000 / r.latency_ms:,.2f}" if r.latency_ms else "-"
        # The firmware's own timer per inference: host time unless --icount, shown for comparison only.
        lap = (f"{r.perf['dut_lap_us'] / r.perf['iterations'] / 1000:,.3f}"
               if r.perf and r.perf.get("dut_lap_us") is not None else "-")
        rows.append([r.benchmark, r.platform, _int(r.instructions_per_inference), _int(r.cycles_per_inference),
                     latency, rate, lap, _int(r.macs), cpm, *_energy(r), exact, *_quality(r.accuracy)])
    return rows


def _energy(r: BenchmarkResult) -> tuple[str, str]:
    """Modeled uJ per inference (the energy loop's median when it ran), and power at the supply."""
    if r.energy is not None:
        uj = f"{r.energy['median_uj_per_inference']:,.1f} (loop)"
    elif r.energy_uj_per_inference is not None:
        uj = f"{r.energy_uj_per_inference:,.1f}"
    else:
        uj = "-"
    power = f"{r.average_power_mw:,.2f} @ {r.supply_v:g}" if r.average_power_mw is not None else "-"
    return uj, power


def summary_table(results: Sequence[BenchmarkResult], title: str = "tinyperf results") -> Table:
    """The terminal summary as a rich Table (print it with a rich Console)."""
    table = Table(title=title)
    numeric = {"instructions", "cycles", "latency ms", "inf/s", "DUT lap ms", "MACs", "cycles/MAC", "uJ/inf (model)",
               "mW @ V", "bit-exact"}
    for col in SUMMARY_COLUMNS:
        # Figures never wrap: a narrow terminal shrinks the text columns first.
        table.add_column(col, justify="right" if col in numeric else "left", no_wrap=col in numeric)
    for row in summary_rows(results):
        row = list(row)
        row[-1] = row[-1].replace("PASS", "[green]PASS[/]").replace("FAIL", "[red]FAIL[/]")
        table.add_row(*row)
    return table


def summary_markdown(results: Sequence[BenchmarkResult]) -> str:
    lines = ["# tinyperf results", "",
             "| " + " | ".join(SUMMARY_COLUMNS) + " |",
             "|" + "---|" * len(SUMMARY_COLUMNS)]
    lines += ["| " + " | ".join(row) + " |" for row in summary_rows(results)]
    for r in results:
        if r.verify and r.verify.mismatches:
            names = ", ".join(f"`{n}`" for n in r.verify.mismatches[:20])
            more = f" and {len(r.verify.mismatches) - 20} more" if len(r.verify.mismatches) > 20 else ""
            lines += ["", f"{r.benchmark} on {r.platform}: not bit-exact: {names}{more} "
                          f"(max abs diff {r.verify.max_abs_diff:g})"
                          + (f"; differing outputs: {', '.join(r.verify.differing_outputs)}"
                             if r.verify.differing_outputs else "")]
        if r.verify and r.verify.disagreements:
            lines += ["", f"{r.benchmark} on {r.platform}: printed results disagree with host TFLM: "
                          + ", ".join(f"`{n}`" for n in r.verify.disagreements[:20])]
        if r.verify and r.verify.not_compared:
            lines += ["", f"{r.benchmark} on {r.platform}: not compared: "
                          + "; ".join(r.verify.not_compared[:20])]
        if r.no_verdict_samples:
            lines += ["", f"{r.benchmark} on {r.platform}: {r.no_verdict_samples} samples have no verdict "
                          "(the emulator was lost under them, see samples.csv); not counted as mismatches; "
                          "--resume runs them again"]
        if r.accuracy and r.accuracy.note:
            lines += ["", f"{r.benchmark} on {r.platform}: {r.accuracy.note}"]
    return "\n".join(lines) + "\n"


# ---- JUnit -------------------------------------------------------------------------


@dataclass(frozen=True)
class JUnitCase:
    classname: str
    name: str
    kind: str  # "pass", "failure" or "skipped"
    message: str


def junit_document(suite_name: str, cases: Sequence[JUnitCase], system_out: str | None = None) -> str:
    """A JUnit XML document with one test suite (the format CI servers read)."""
    suite = ET.Element("testsuite", name=suite_name)
    counts = {"tests": len(cases), "failures": 0, "skipped": 0}
    for c in cases:
        element = ET.SubElement(suite, "testcase", classname=c.classname, name=c.name)
        if c.kind != "pass":
            counts["failures" if c.kind == "failure" else "skipped"] += 1
            ET.SubElement(element, c.kind, message=c.message).text = c.message
    if system_out is not None:
        ET.SubElement(suite, "system-out").text = system_out
    for key, value in counts.items():
        suite.set(key, str(value))
    root = ET.Element("testsuites", name="tinyperf", tests=str(counts["tests"]), failures=str(counts["failures"]))
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def junit_xml(results: Sequence[BenchmarkResult]) -> str:
    """One testcase per benchmark x platform x check (bit-exact, quality target)."""
    cases = [JUnitCase(f"tinyperf.{r.benchmark}.{r.platform}", check, *outcome)
             for r in results
             for check, outcome in (("bit-exact", _bit_exact_outcome(r.verify)),
                                    ("quality-target", _quality_outcome(r.accuracy)))]
    return junit_document("tinyperf", cases)


def _bit_exact_outcome(verify: Verify | None) -> tuple[str, str]:
    if verify is not None and verify.no_verdict and verify.bit_exact == verify.samples:
        return "skipped", f"{verify.no_verdict} samples have no verdict (the emulator was lost under them)"
    if verify is None or verify.samples == 0:
        return "skipped", "no outputs were checked against the host reference"
    if verify.compared == 0:
        return "skipped", "no sample was compared: " + "; ".join(verify.not_compared[:3])
    if verify.passed:
        return "pass", ""
    return "failure", "; ".join(verify_problems(verify))


def verify_problems(verify: Verify) -> list[str]:
    """What failed verification, one phrase per kind (for the error line and JUnit)."""
    problems = []
    if verify.mismatches:
        problems.append(f"{len(verify.mismatches)} of {verify.byte_compared} samples not bit-exact "
                        f"(max abs diff {verify.max_abs_diff:g}: {', '.join(verify.mismatches[:5])})"
                        + (f"; differing outputs: {', '.join(verify.differing_outputs)}"
                           if verify.differing_outputs else ""))
    if verify.disagreements:
        problems.append(f"printed results of {len(verify.disagreements)} of {verify.printed_compared} samples "
                        f"disagree with host TFLM (max {verify.max_printed_diff_units} x 0.001: "
                        f"{', '.join(verify.disagreements[:5])})")
    if verify.compared == 0:
        problems.append(f"no sample compared ({'; '.join(verify.not_compared[:3])})")
    return problems


def _quality_outcome(acc: Quality | None) -> tuple[str, str]:
    if acc is None:
        return "skipped", "no labelled inputs (run with an official dataset)"
    if acc.passed:
        return "pass", ""
    value = "not computable" if acc.value is None else f"{acc.value:.4f}"
    note = f" ({acc.note})" if acc.note else ""
    return "failure", f"{acc.metric} {value} below target {acc.target}{note}"


# ---- plots ---------------------------------------------------------------------------


def _figure():
    # A bare Figure renders through Agg on savefig: no pyplot, no GUI backend, no
    # global state. Imported here because matplotlib is slow to import and only
    # the final report draws.
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 4.5))
    return fig, fig.add_subplot()


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()


def latency_plot(results: Sequence[BenchmarkResult]) -> bytes:
    """PNG: latency per benchmark (groups) and platform (bars), log scale since ms span 100x."""
    fig, ax = _figure()
    timed = [r for r in results if r.latency_ms is not None]
    benches = list(dict.fromkeys(r.benchmark for r in timed))
    platforms = list(dict.fromkeys(r.platform for r in timed))
    width = 0.8 / max(len(platforms), 1)
    for i, platform in enumerate(platforms):
        xs, ys = [], []
        for r in timed:
            if r.platform == platform:
                xs.append(benches.index(r.benchmark) + (i - (len(platforms) - 1) / 2) * width)
                ys.append(r.latency_ms)
        ax.bar(xs, ys, width, label=platform)
    ax.set_xticks(range(len(benches)), benches)
    ax.set_ylabel("latency per inference (ms)")
    ax.set_title("Latency by benchmark and platform")
    if timed:
        ax.set_yscale("log")
        ax.legend()
    else:
        ax.text(0.5, 0.5, "no latency measured", ha="center", va="center", transform=ax.transAxes)
    fig.tight_layout()
    return _png(fig)


def agreement_plot(records: Sequence[SampleRecord]) -> bytes:
    """PNG: max |DUT - host| of the raw int8 outputs per verified sample, one series
    per benchmark/platform; 0 = bit-exact."""
    fig, ax = _figure()
    series: dict[str, list[float]] = {}
    for r in records:
        if r.raw_max_abs_diff is not None:
            series.setdefault(f"{r.benchmark} / {r.platform}", []).append(r.raw_max_abs_diff)
    for label, diffs in series.items():
        ax.plot(range(len(diffs)), diffs, marker=".", linestyle="none", label=label)
    ax.set_xlabel("sample")
    ax.set_ylabel("max |DUT - host| (int8 output units)")
    ax.set_title("Per-sample agreement with host TFLM")
    if series:
        ax.legend()
    else:
        ax.text(0.5, 0.5, "no samples verified", ha="center", va="center", transform=ax.transAxes)
    fig.tight_layout()
    return _png(fig)


def energy_window_plot(result: BenchmarkResult) -> bytes:
    """PNG: the modeled monitor's power over one energy-mode window (the first), like the
    runner's energy_inf_000.png: idle before and after, the active window between the two
    timestamp events, and the figures main.py prints for it."""
    from harness.energy import SAMPLE_HZ, BoardPower, offline_window, runner_window

    energy = result.energy
    first = energy["windows"][0]
    margin = max(50, round(first["window_us"] / 1000 * 0.15))  # idle on both sides, 15 % of the window
    window = offline_window(BoardPower(energy["active_mw"], energy["idle_mw"]), first["window_us"],
                            first["iterations"], lead=margin, tail=margin)
    figures = runner_window(window)
    fig, ax = _figure()
    seconds = np.arange(len(window.samples)) / SAMPLE_HZ
    milliwatts = np.array(window.samples) * 1e3 * SAMPLE_HZ  # J per sample -> mW
    ax.plot(seconds, milliwatts, color="tab:blue", linewidth=1.2, label="modeled power (1 kHz samples)")
    (_, start), (_, stop) = window.events[-2:]
    ax.axvspan(start / SAMPLE_HZ, stop / SAMPLE_HZ, color="tab:orange", alpha=0.15,
               label=f"measured window: {first['iterations']} inferences")
    for _, index in window.events:
        ax.axvline(index / SAMPLE_HZ, color="tab:red", linewidth=1)
    ax.set_ylim(0, max(milliwatts) * 1.25)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("power (mW)")
    ax.set_title(f"{result.benchmark} on {result.platform}: {energy['loop']}, {energy['supply_v']:g} V, "
                 f"{energy['power_model']} (model)")
    ax.text(0.01, 0.97, f"active {energy['active_mw']:.2f} mW, idle {energy['idle_mw']:.2f} mW\n"
                        f"window {figures['elapsed_s']:.3f} s, {figures['total_uj']:,.1f} uJ\n"
                        f"{figures['uj_per_inference']:,.3f} uJ/inference",
            transform=ax.transAxes, va="top", fontsize=9)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return _png(fig)


def energy_bars_plot(rows: Sequence[dict]) -> bytes:
    """PNG: modeled uJ per inference by benchmark (groups) and board x kernel set (bars), log scale.
    Each row: benchmark, platform, kernels, energy_uj_per_inference."""
    fig, ax = _figure()
    fig.set_size_inches(10, 5)
    benches = list(dict.fromkeys(r["benchmark"] for r in rows))
    series = list(dict.fromkeys(f"{r['platform']} {r['kernels']}" for r in rows))
    boards = list(dict.fromkeys(r["platform"] for r in rows))
    width = 0.8 / max(len(series), 1)
    for i, name in enumerate(series):
        picked = [r for r in rows if f"{r['platform']} {r['kernels']}" == name]
        xs = [benches.index(r["benchmark"]) + (i - (len(series) - 1) / 2) * width for r in picked]
        # one colour per board; the optimized kernels hatched beside the portable ones
        ax.bar(xs, [r["energy_uj_per_inference"] for r in picked], width, label=name,
               color=f"C{boards.index(picked[0]['platform']) % 10}",
               hatch="//" if picked[0]["kernels"] != "ref" else None, edgecolor="white")
    ax.set_xticks(range(len(benches)), benches)
    ax.set_yscale("log")
    ax.set_ylabel("modeled energy per inference (uJ)")
    ax.set_title("Modeled energy per inference by board and kernel set (datasheet power x modeled cycles)")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return _png(fig)


def write_report(out_dir: str | Path, results: Sequence[BenchmarkResult],
                 samples: Sequence[SampleRecord] = ()) -> dict[str, Path]:
    """Write every final file into `out_dir` (each atomically); returns them by kind."""
    out = Path(out_dir)
    with_energy = [r for r in results if r.energy]
    return {
        "results": write_results_json(out / "results.json", results),
        "samples": write_samples_csv(out / "samples.csv", samples),
        "results_csv": atomic_write(out / "results.csv", results_frame(results).to_csv(index=False)),
        "summary": atomic_write(out / "summary.md", summary_markdown(results)),
        "junit": atomic_write(out / "junit.xml", junit_xml(results)),
        "latency_plot": atomic_write(out / "latency.png", latency_plot(results)),
        "agreement_plot": atomic_write(out / "agreement.png", agreement_plot(samples)),
        **({"energy_plot": atomic_write(out / "energy.png", energy_window_plot(with_energy[0]))} if with_energy else {}),
    }
