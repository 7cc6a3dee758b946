"""Results files: schema, atomic writes, the resumable sample log, JUnit, plots, terminal table."""
from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET

import pandas as pd
import pytest
from rich.console import Console

from harness.metrics import Quality
from harness.report import (
    SCHEMA_VERSION, BenchmarkResult, SampleLog, SampleRecord, Verify, atomic_write, junit_xml, load_results,
    summary_markdown, summary_table, write_report,
)


def record(name, dut, host, exact, label=None, bench="kws", platform="m4"):
    return SampleRecord(bench, platform, name, name, label, dut, host, exact, instructions=7_698_581)


RECORDS = [
    record("s0", [0.0, 0.996], [0.0, 0.996], True, label=1),
    record("s1", [0.2, 0.8], [0.7, 0.3], False),
    record("s2", [0.5, 0.5], [0.5, 0.49], False),
]


def results():
    verify = Verify.from_records(RECORDS)
    quality = Quality("top1", 0.92, 0.90, True, 1000, 0.92, 0.99)
    return [
        BenchmarkResult("kws", "m4", "accuracy", 25.0, 2_656_768, 7_698_581, 8_000_000, 320.0, verify, quality),
        BenchmarkResult("ad", "m7", "performance", 25.0, 264_192, 583_418, None, 23.3),
        BenchmarkResult("ad", "m4", "verify", 25.0, 264_192, 583_418, 600_000, 24.0,
                        Verify.from_records([record("w", [11.2], [11.2], True, bench="ad")]),
                        Quality("auc", None, 0.85, False, 1, None, None, "AUC needs files of every class")),
    ]


def test_verify_summary():
    v = Verify.from_records(RECORDS)
    assert (v.samples, v.bit_exact, v.top1_agree, v.mismatches) == (3, 1, 2, ["s1", "s2"])
    assert v.max_abs_diff == pytest.approx(0.5)
    assert not v.passed and Verify.from_records(RECORDS[:1]).passed


def test_results_json_schema_and_round_trip(tmp_path):
    paths = write_report(tmp_path, results(), RECORDS)
    doc = json.loads(paths["results"].read_text())
    assert doc["schema_version"] == SCHEMA_VERSION == 1
    entry = doc["results"][0]
    for key in ("benchmark", "platform", "mode", "instructions_per_inference", "cycles_per_inference",
                "latency_ms", "clock_mhz", "macs", "verify", "accuracy"):
        assert key in entry
    assert set(entry["verify"]) >= {"samples", "bit_exact", "top1_agree", "max_abs_diff", "mismatches"}
    assert entry["accuracy"]["top1"] == 0.92 and entry["accuracy"]["target"] == 0.90
    assert entry["accuracy"]["passed"] is True
    assert doc["results"][1]["verify"] is None
    assert load_results(paths["results"]) == results()


def test_unknown_schema_version_is_refused(tmp_path):
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"schema_version": 99, "results": []}))
    with pytest.raises(ValueError, match="schema version 99"):
        load_results(path)


def test_samples_csv(tmp_path):
    paths = write_report(tmp_path, results(), RECORDS)
    frame = pd.read_csv(paths["samples"])
    assert frame["name"].tolist() == ["s0", "s1", "s2"]
    assert frame["bit_exact"].tolist() == [True, False, False]
    assert frame["top1_agree"].tolist() == [True, False, True]
    assert frame["max_abs_diff"].tolist() == pytest.approx([0.0, 0.5, 0.01])
    assert frame["dut"][1] == "0.2 0.8"


def test_atomic_write_replaces_whole_and_leaves_no_temp(tmp_path):
    path = tmp_path / "sub" / "f.txt"
    atomic_write(path, "old")
    atomic_write(path, b"new")
    assert path.read_text() == "new"
    assert os.listdir(path.parent) == ["f.txt"]


def test_atomic_write_failure_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "results.json"
    atomic_write(path, "complete")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        atomic_write(path, "half")
    assert path.read_text() == "complete"
    assert os.listdir(tmp_path) == ["results.json"]


def test_sample_log_appends_and_resumes(tmp_path):
    path = tmp_path / "kws.samples.jsonl"
    with SampleLog(path) as log:
        log.append(RECORDS[0])
        log.append(RECORDS[1])
        assert len(path.read_text().splitlines()) == 2  # flushed as each sample completes
    with SampleLog(path) as log:
        assert log.completed_names() == {"s0", "s1"}
        log.append(RECORDS[2])
        assert log.records() == RECORDS


def test_sample_log_drops_a_line_cut_short(tmp_path):
    path = tmp_path / "log.jsonl"
    with SampleLog(path) as log:
        log.append(RECORDS[0])
    with path.open("a") as f:
        f.write('{"benchmark": "kws", "platform": "m4", "na')  # interrupted mid-write
    with SampleLog(path) as log:
        assert log.completed_names() == {"s0"}
        log.append(RECORDS[1])
    lines = path.read_text().splitlines()
    assert len(lines) == 2 and all(json.loads(line) for line in lines)


def test_junit_parses_with_one_case_per_benchmark_and_check():
    root = ET.fromstring(junit_xml(results()))
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    assert [(c.get("classname"), c.get("name")) for c in cases] == [
        ("tinyperf.kws.m4", "bit-exact"), ("tinyperf.kws.m4", "quality-target"),
        ("tinyperf.ad.m7", "bit-exact"), ("tinyperf.ad.m7", "quality-target"),
        ("tinyperf.ad.m4", "bit-exact"), ("tinyperf.ad.m4", "quality-target"),
    ]
    outcome = [(c.find("failure") is not None, c.find("skipped") is not None) for c in cases]
    assert outcome == [(True, False), (False, False), (False, True), (False, True), (False, False), (True, False)]
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("6", "2", "2")
    assert "s1" in cases[0].find("failure").get("message")


def test_pngs_are_written(tmp_path):
    paths = write_report(tmp_path, results(), RECORDS)
    for key in ("latency_plot", "agreement_plot"):
        data = paths[key].read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 1000
    empty = write_report(tmp_path / "empty", [], [])
    assert empty["latency_plot"].read_bytes().startswith(b"\x89PNG")
    assert empty["agreement_plot"].stat().st_size > 1000


def test_summary_table_and_markdown():
    console = Console(width=250, record=True)
    console.print(summary_table(results()))
    text = console.export_text()
    for expected in ("kws", "7,698,581", "8,000,000", "320.000 @ 25 MHz", "2,656,768", "3.01", "1/3",
                     "top-1 92.0%", ">= 90% PASS", "AUC -", ">= 0.85 FAIL", "1/1"):
        assert expected in text
    md = summary_markdown(results())
    assert md.startswith("# tinyperf results") and "| kws | m4 |" in md
    assert "not bit-exact: `s1`, `s2`" in md and "AUC needs files of every class" in md


def test_cycles_per_mac():
    r = results()[0]
    assert r.cycles_per_mac == pytest.approx(8_000_000 / 2_656_768)
    assert results()[1].cycles_per_mac is None
