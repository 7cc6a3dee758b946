"""Hostile input: every case ends in one `tinyperf: error:` line with its
documented exit code, within a bounded time, with no emulator left behind and
no sample lost or recorded under the wrong verdict (issue 12)."""
from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from conftest import needs_toolchain
from test_cli_errors import assert_no_emulator_left, assert_one_line_error, tinyperf
from tinyperf_errors import EXIT_USAGE, TinyperfError

REPO = Path(__file__).resolve().parent.parent

# ---- one error tree ----------------------------------------------------------------------------

ERRORS = ["sim.errors:SimError", "sim.errors:ElfError", "sim.errors:EmulatorError", "sim.plugin:PluginRecordError",
          "platforms:UnknownPlatformError", "platforms.repl:ReplError", "modelc:ModelcError",
          "harness.benchmarks:UnknownBenchmarkError", "harness.datasets:DatasetError",
          "harness.reference:ReferenceUnavailableError", "harness.runner:RunError", "harness.build:BuildError",
          "harness.dut:DutError", "harness.profile:ProfileError", "harness.compare:CompareError",
          "harness.serve:ServeError", "harness.cli:CliError"]


@pytest.mark.parametrize("name", ERRORS)
def test_every_error_has_the_one_root(name):
    module, cls = name.split(":")
    assert issubclass(getattr(importlib.import_module(module), cls), TinyperfError)


def test_compare_errors_are_not_profile_errors():
    from harness.compare import CompareError
    from harness.profile import ProfileError

    assert not issubclass(CompareError, ProfileError)
    assert CompareError("x").exit_code == EXIT_USAGE


@pytest.mark.parametrize("package", ["sim", "platforms"])
def test_lower_layers_do_not_import_the_harness(package):
    for path in (REPO / package).glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n == "harness" or n.startswith("harness.") for n in names), f"{path} imports {names}"


def test_the_cli_catches_the_root_once():
    source = (REPO / "harness" / "cli.py").read_text()
    assert source.count("except TinyperfError") == 2  # main(), and serve's optional calibration
    assert "raise CliError(str(err)" not in source


# ---- usage errors: one line, exit 2 --------------------------------------------------------------

USAGE = {
    "run -n 0": (["run", "kws", "-n", "0"], "'-n'"),
    "run --jobs x": (["run", "kws", "--jobs", "x"], "'--jobs'"),
    "exec --timeout -1": (["exec", "x.elf", "--timeout", "-1"], "'--timeout'"),
    "exec missing --input": (["exec", "x.elf", "--input", "/nonexistent/in.bin"], "'--input'"),
    "run unknown --mode": (["run", "kws", "--mode", "fast"], "'--mode'"),
    "run unknown --kernels": (["run", "kws", "--kernels", "fast"], "'--kernels'"),
    "run unknown --backend": (["run", "kws", "--backend", "gem5"], "'--backend'"),
    "compare one argument": (["compare", "kws"], "Missing argument 'B'"),
    "unknown command": (["frobnicate"], "No such command"),
    "unknown option": (["run", "--frob"], "No such option"),
    "missing option value": (["run", "--seed"], "requires an argument"),
    "unknown benchmark": (["run", "xyz"], "unknown benchmark 'xyz'"),
    "unknown platform": (["run", "kws", "-p", "cortex-m9"], "unknown platform 'cortex-m9'"),
    "build unknown benchmark": (["build", "kvs"], "did you mean 'kws'"),
    "profile unknown target": (["profile", "nothing"], "unknown benchmark 'nothing'"),
    "serve missing ELF": (["serve", "/nonexistent/x.elf"], "no such ELF file"),
}


@pytest.mark.parametrize("args,fragment", USAGE.values(), ids=USAGE.keys())
def test_usage_errors_are_one_line_exit_2(args, fragment):
    proc = tinyperf(*args, timeout=30)
    assert_one_line_error(proc, fragment)
    assert proc.returncode == EXIT_USAGE
    assert "Usage:" not in proc.err and "Try '" not in proc.err
    assert len(proc.err.strip().splitlines()) == 1, proc.err


# ---- build --out: no user path reaches make or a shell ---------------------------------------------

HOSTILE_FOLDERS = {
    "backticks": "c`touch INJECTED`",
    "make shell": "d$(shell touch INJECTED)",
    "dollar brace": "e${HOME}$$x",
    "semicolon and space": "f; touch INJECTED",
    "quotes": "g \"double\" 'single'",
    "newline": "h\nline",
}


def tinyperf_in(cwd: Path, *args: str, env: dict | None = None, timeout: float = 300):
    import os
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "harness.cli", *args], capture_output=True, cwd=cwd, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})})
    proc.out, proc.err = proc.stdout.decode(), proc.stderr.decode()
    return proc


@needs_toolchain
@pytest.mark.parametrize("folder", HOSTILE_FOLDERS.values(), ids=HOSTILE_FOLDERS.keys())
def test_build_out_takes_any_folder_name_literally(tmp_path, folder):
    out = tmp_path / folder
    proc = tinyperf_in(tmp_path, "build", "ad", "-p", "cortex-m4", "--out", str(out))
    assert proc.returncode == 0, proc.err
    elf = out / "ref" / "cortex-m4" / "ad" / "ad.elf"
    assert elf.is_file() and elf.read_bytes()[:4] == b"\x7fELF"
    assert (elf.parent / "model" / "model.json").is_file()  # profiles describe layers from it
    assert not list(tmp_path.rglob("INJECTED")) and not (REPO / "firmware" / "INJECTED").exists()


@needs_toolchain
def test_a_cache_path_make_cannot_take_builds_in_a_staging_folder(tmp_path):
    cache = tmp_path / "cache `touch INJECTED` $(shell touch INJECTED)"
    proc = tinyperf_in(tmp_path, "build", "ad", "-p", "cortex-m4", "--out", str(tmp_path / "out"),
                       env={"TINYPERF_CACHE": str(cache)})
    assert proc.returncode == 0, proc.err
    assert (tmp_path / "out" / "ref" / "cortex-m4" / "ad" / "ad.elf").is_file()
    assert not list(tmp_path.rglob("INJECTED"))


# ---- a lost emulator is never a verdict ------------------------------------------------------------


def _cli(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    """tinyperf in this process (so a test can patch it): exit code and stderr."""
    import sys

    from harness import cli

    monkeypatch.setattr(sys, "argv", ["tinyperf", *args])
    try:
        cli.main()
        code = 0
    except SystemExit as ended:
        code = ended.code or 0
    return code, capsys.readouterr().err


def _run_folder(results: Path) -> Path:
    (folder,) = [p for p in results.iterdir() if p.is_dir()]
    return folder


@needs_toolchain
def test_a_sample_whose_emulator_keeps_dying_has_no_verdict_and_resume_runs_it(tmp_path, monkeypatch, capsys):
    import json
    import os
    import signal

    import pandas as pd

    from harness import runner
    from harness.dut import Dut

    load = Dut.load

    def load_killing_on_sample_3(self, data, *args, **kwargs):
        if data == victim:
            os.killpg(self.emulator._proc.pid, signal.SIGKILL)  # as `kill -9` of this QEMU would
        return load(self, data, *args, **kwargs)

    from harness.benchmarks import get_benchmark
    from harness.datasets import default_inputs

    victim_sample = default_inputs(get_benchmark("kws"), 6, 0)[3]
    victim = victim_sample.data
    monkeypatch.setattr(Dut, "load", load_killing_on_sample_3)
    monkeypatch.setattr(runner, "LOST_RETRIES", 1)
    results = tmp_path / "results"
    code, err = _cli(monkeypatch, capsys, "run", "kws", "-n", "6", "--mode", "verify", "--jobs", "1",
                     "--results", str(results))
    folder = _run_folder(results)
    assert code == 75, err
    (line,) = [ln for ln in err.splitlines() if ln.startswith("tinyperf: error:")]
    assert "1 samples have no verdict" in line and f"--resume {folder}" in line and "bit-exact" not in line
    doc = json.loads((folder / "results.json").read_text())["results"][0]
    assert doc["no_verdict_samples"] == 1 and doc["failed_samples"] == 0
    assert doc["verify"] == {**doc["verify"], "samples": 5, "bit_exact": 5, "mismatches": [], "no_verdict": 1}
    frame = pd.read_csv(folder / "samples.csv")
    lost = frame[frame["no_verdict"]]
    assert list(lost["name"]) == [victim_sample.name] and "killed by signal 9" in lost["error"].iloc[0]
    assert "no verdict" in (folder / "summary.md").read_text()

    monkeypatch.setattr(Dut, "load", load)
    code, err = _cli(monkeypatch, capsys, "run", "--resume", str(folder))
    assert code == 0, err
    doc = json.loads((folder / "results.json").read_text())["results"][0]
    assert doc["verify"]["bit_exact"] == 6 and doc["no_verdict_samples"] == 0
    frame = pd.read_csv(folder / "samples.csv")
    assert len(frame) == 6 and not frame["no_verdict"].any() and frame["bit_exact"].all()


@needs_toolchain
@pytest.mark.parametrize("trial", range(3))
def test_ctrl_c_twice_records_no_verdict_and_resume_passes(tmp_path, trial):
    import json
    import signal
    import subprocess
    import sys
    import time

    results = tmp_path / "results"
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "run", "kws", "-n", "40", "--mode", "verify",
                             "--jobs", "2", "--results", str(results)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=REPO)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        logs = list(results.glob("*/samples.jsonl"))
        if logs and len(logs[0].read_text().splitlines()) >= 4 + 3 * trial:
            break
        time.sleep(0.02)
    for _ in range(2 + trial % 2):
        proc.send_signal(signal.SIGINT)
        time.sleep(0.02)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in err, err
    folder = _run_folder(results)
    records = [json.loads(ln) for ln in (folder / "samples.jsonl").read_text().splitlines()]
    assert all(r["error"] is None and r["bit_exact"] for r in records), [r["error"] for r in records]
    resumed = subprocess.run([sys.executable, "-m", "harness.cli", "run", "--resume", str(folder)],
                             capture_output=True, text=True, timeout=300, cwd=REPO)
    assert resumed.returncode == 0, resumed.stderr
    doc = json.loads((folder / "results.json").read_text())["results"][0]
    assert doc["verify"]["samples"] == 40 and doc["verify"]["bit_exact"] == 40
    assert_no_emulator_left(folder)
