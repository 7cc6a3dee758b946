"""`tinyperf run` end to end on the prebuilt ELFs, with small sample counts."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from conftest import needs_toolchain
from firmware_bins import prebuilt

pytestmark = needs_toolchain


def tinyperf(*args: str, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True,
                          timeout=timeout, **kwargs)


def run_json(tmp_path: Path, *args: str) -> dict:
    proc = tinyperf("run", *args, "--results", str(tmp_path / "results"), "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_perf_and_verify_json_fields(tmp_path):
    doc = run_json(tmp_path, "kws", "ad", "-n", "3")
    assert doc["schema_version"] == 1
    by_bench = {r["benchmark"]: r for r in doc["results"]}
    assert set(by_bench) == {"kws", "ad"}
    for r in by_bench.values():
        for key in ("benchmark", "platform", "mode", "instructions_per_inference", "cycles_per_inference",
                    "latency_ms", "clock_mhz", "macs", "verify"):
            assert key in r
        assert r["platform"] == "cortex-m4" and r["clock_mhz"] == 120
        assert r["verify"]["samples"] == 3 and r["verify"]["bit_exact"] == 3 and r["verify"]["top1_agree"] == 3
        assert r["instructions_per_inference"] > r["macs"]  # at least one instruction per MAC
        assert r["latency_ms"] == pytest.approx(r["cycles_per_inference"] / 120e3, rel=1e-3)


def test_perf_counts_repeat_exactly(tmp_path):
    first = run_json(tmp_path, "kws", "--mode", "perf")["results"][0]
    second = run_json(tmp_path, "kws", "--mode", "perf")["results"][0]
    assert first["instructions_per_inference"] == second["instructions_per_inference"] > 0


def test_run_folder_contents(tmp_path):
    run_json(tmp_path, "ad", "-n", "4")
    (run_dir,) = (tmp_path / "results").iterdir()
    assert run_dir.name.endswith("-ad-cortex-m4")
    for name in ("results.json", "samples.csv", "summary.md", "junit.xml", "latency.png", "agreement.png",
                 "transcript.log", "run.json", "samples.jsonl"):
        assert (run_dir / name).stat().st_size > 0, name
    frame = pd.read_csv(run_dir / "samples.csv")
    assert list(frame["name"]) == [f"normal_id_01_00000000_hist_librosa.bin#{i:03d}" for i in range(4)]
    assert frame["bit_exact"].all()
    assert "> db file /tmp/" in (run_dir / "transcript.log").read_text()


def test_jobs_4_equals_jobs_1(tmp_path):
    one = run_json(tmp_path / "a", "kws", "-n", "8", "--mode", "verify", "--jobs", "1")
    four = run_json(tmp_path / "b", "kws", "-n", "8", "--mode", "verify", "--jobs", "4")
    assert one["results"][0]["verify"] == four["results"][0]["verify"]
    frames = [pd.read_csv(next((tmp_path / d / "results").iterdir()) / "samples.csv") for d in "ab"]
    columns = ["name", "bit_exact", "dut", "host", "instructions"]
    pd.testing.assert_frame_equal(frames[0][columns], frames[1][columns])


def test_killed_run_resumes_to_the_same_result(tmp_path):
    args = ["run", "ic", "-n", "12", "--mode", "verify", "--jobs", "1", "--results", str(tmp_path / "results")]
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    results = tmp_path / "results"
    deadline = time.monotonic() + 120
    log = None
    while time.monotonic() < deadline:  # wait until a few samples are done
        logs = list(results.glob("*/samples.jsonl"))
        if logs and len(logs[0].read_text().splitlines()) >= 3:
            log = logs[0]
            break
        time.sleep(0.1)
    assert log is not None
    emulators = subprocess.run(["pgrep", "-P", str(proc.pid), "qemu-system-arm"], capture_output=True,
                               text=True).stdout.split()
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert emulators and not [pid for pid in emulators if Path(f"/proc/{pid}").exists()]  # this run's, not others'
    done = len(log.read_text().splitlines())
    assert 3 <= done < 12
    partial = json.loads((log.parent / "results.json").read_text())  # a valid partial result
    assert partial["results"][0]["verify"]["samples"] == done
    resumed = tinyperf("run", "--resume", str(log.parent), "--json")
    assert resumed.returncode == 0, resumed.stderr
    verify = json.loads(resumed.stdout)["results"][0]["verify"]
    assert verify["samples"] == verify["bit_exact"] == 12
    assert len(pd.read_csv(log.parent / "samples.csv")) == 12


def test_accuracy_on_an_official_layout_dataset(tmp_path):
    from harness.datasets import default_inputs

    folder = tmp_path / "data" / "kws01"
    folder.mkdir(parents=True)
    rows = []
    for i, sample in enumerate(default_inputs("kws", 24, seed=5)):
        name = f"tst_{i:06d}.bin"
        (folder / name).write_bytes(sample.data)
        rows.append(f"{name},12,{i % 12}")
    (folder / "y_labels.csv").write_text("\n".join(rows) + "\n")
    proc = tinyperf("run", "kws", "--mode", "accuracy", "--dataset-path", str(tmp_path / "data"),
                    "--results", str(tmp_path / "results"), "--json")
    doc = json.loads(proc.stdout)
    accuracy = doc["results"][0]["accuracy"]
    assert accuracy["metric"] == "top1" and accuracy["target"] == 0.9 and accuracy["files"] == 24
    assert accuracy["passed"] is False and proc.returncode != 0  # random inputs, random labels
    assert "below target" in proc.stderr


@pytest.mark.parametrize("args,message", [
    (["run", "kwz"], "unknown benchmark 'kwz': did you mean 'kws'"),
    (["run", "kws", "-p", "cortex-m5"], "unknown platform 'cortex-m5'"),
    (["run", "kws", "--dataset-path", "/nonexistent"], "dataset folder /nonexistent does not exist"),
    (["run", "kws", "--elf", "firmware_bins/cortex-m4/ic.elf", "-n", "1"], "reports model 'ic01', not 'kws01'"),
    (["run", "kws", "--resume", "/tmp"], "not a tinyperf run folder"),
])
def test_bad_input_is_one_line(args, message, tmp_path):
    proc = tinyperf(*args, "--results", str(tmp_path / "r"), cwd=Path(__file__).parent.parent)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("tinyperf: error:")]
    assert len(errors) == 1 and message in errors[0], proc.stderr


def test_missing_y_labels(tmp_path):
    (tmp_path / "data" / "kws01").mkdir(parents=True)
    proc = tinyperf("run", "kws", "--mode", "accuracy", "--dataset-path", str(tmp_path / "data"),
                    "--results", str(tmp_path / "r"))
    assert proc.returncode != 0 and "y_labels.csv" in proc.stderr and "Traceback" not in proc.stderr


def test_results_folder_not_writable(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    proc = tinyperf("run", "kws", "-n", "1", "--results", str(blocked / "sub"))
    assert proc.returncode != 0 and "is not writable" in proc.stderr and "Traceback" not in proc.stderr


def test_dut_that_does_not_speak_the_protocol(tmp_path):
    """The self-test firmware never sends m-ready: a DUT that hangs at boot,
    reported in one line with the transcript tail.  (verify only: perf would stop
    earlier, because the self-test firmware has no measurement window.)"""
    proc = tinyperf("run", "kws", "--elf", str(prebuilt("cortex-m4", "selftest")), "-n", "1", "--mode", "verify",
                    "--results", str(tmp_path / "r"), timeout=60)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "no m-ready after reset" in proc.stderr and "transcript tail: < selftest-ready" in proc.stderr


def test_emulator_killed_mid_run_is_no_verdict_and_the_sample_runs_again(tmp_path):
    """A DUT killed mid-run (kill -9) says nothing about the firmware: the sample
    runs again on a fresh emulator, every sample gets its verdict and the run passes."""
    results = tmp_path / "results"
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "run", "ic", "-n", "8", "--mode", "verify",
                             "--jobs", "1", "--results", str(results), "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        logs = list(results.glob("*/samples.jsonl"))
        if logs and len(logs[0].read_text().splitlines()) >= 2:
            break
        time.sleep(0.05)
    killed = subprocess.run(["pkill", "-9", "-P", str(proc.pid), "-f", "qemu-system-arm"])
    assert killed.returncode == 0
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0 and "Traceback" not in err, err
    result = json.loads(out)["results"][0]
    assert result["failed_samples"] == 0 and result["no_verdict_samples"] == 0
    assert result["verify"]["samples"] == 8 and result["verify"]["bit_exact"] == 8
    frame = pd.read_csv(next(results.iterdir()) / "samples.csv")
    assert frame["error"].isna().all() and len(frame) == 8
    transcript = (next(results.iterdir()) / "transcript.log").read_text()
    assert "killed by signal 9" not in err  # retried, not reported as a failure
    assert transcript.count("< m-model-[ic01]") >= 2  # a second emulator booted for the rest
