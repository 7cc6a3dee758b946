"""Hostile input: every case ends in one `tinyperf: error:` line with its
documented exit code, within a bounded time, with no emulator left behind and
no sample lost or recorded under the wrong verdict (issue 12)."""
from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from conftest import needs_toolchain
from test_cli_errors import assert_one_line_error, tinyperf
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
    "run --jobs 100000": (["run", "kws", "--jobs", "100000"], "'--jobs'"),
    "build --jobs 0": (["build", "kws", "--jobs", "0"], "'--jobs'"),
    "exec --timeout -1": (["exec", "x.elf", "--timeout", "-1"], "'--timeout'"),
    "exec missing --input": (["exec", "x.elf", "--input", "/nonexistent/in.bin"], "'--input'"),
    "exec --input /dev/zero": (["exec", "firmware_bins/cortex-m4/selftest.elf", "--input", "/dev/zero"],
                               "more than 16 MiB of UART input"),
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
    "exec --timeout nan": (["exec", "x.elf", "--timeout", "nan"], "not a finite number"),
    "exec --timeout inf": (["exec", "x.elf", "--timeout", "inf"], "'--timeout'"),
    "exec --timeout 1e300": (["exec", "x.elf", "--timeout", "1e300"], "'--timeout'"),
    "compare --max-regression nan": (["compare", "kws", "kws", "--max-regression", "nan"], "not a finite number"),
    "compare --max-regression inf": (["compare", "kws", "kws", "--max-regression", "inf"], "not a finite number"),
    "compare --max-regression -1": (["compare", "kws", "kws", "--max-regression", "-1"], "'--max-regression'"),
    "run --seed -1": (["run", "kws", "--seed", "-1"], "'--seed'"),
    "profile --iterations 2^31": (["profile", "kws", "-n", "2147483648"], "'--iterations'"),
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
    import time

    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "harness.cli", *args], capture_output=True, cwd=cwd, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})})
    proc.elapsed = time.monotonic() - start
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
    staged = tmp_path / "out" / "ref" / "cortex-m4" / "ad" / "ad.elf"
    assert not list(tmp_path.rglob("INJECTED"))
    assert tinyperf_in(tmp_path, "build", "ad", "-p", "cortex-m4", "--out", str(tmp_path / "plain")).returncode == 0
    # the build folder's path leaves no trace in the ELF (-ffile-prefix-map)
    assert staged.read_bytes() == (tmp_path / "plain" / "ref" / "cortex-m4" / "ad" / "ad.elf").read_bytes()


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


def qemu_children(pid: int) -> list[int]:
    """The emulators a tinyperf process runs right now (its qemu-system-arm children)."""
    import subprocess

    out = subprocess.run(["pgrep", "-P", str(pid), "qemu-system-arm"], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def assert_all_gone(pids: list[int]) -> None:
    import time

    deadline = time.monotonic() + 5
    while any(Path(f"/proc/{p}").exists() for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in pids if Path(f"/proc/{p}").exists()], "an emulator outlived tinyperf"


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
    emulators = qemu_children(proc.pid)
    assert emulators
    for _ in range(2 + trial % 2):
        proc.send_signal(signal.SIGINT)
        time.sleep(0.02)
    out, err = proc.communicate(timeout=60)
    assert_all_gone(emulators)
    assert proc.returncode == 130 and "Traceback" not in err, err
    folder = _run_folder(results)
    records = [json.loads(ln) for ln in (folder / "samples.jsonl").read_text().splitlines()]
    assert all(r["error"] is None and r["bit_exact"] for r in records), [r["error"] for r in records]
    resumed = subprocess.run([sys.executable, "-m", "harness.cli", "run", "--resume", str(folder)],
                             capture_output=True, text=True, timeout=300, cwd=REPO)
    assert resumed.returncode == 0, resumed.stderr
    doc = json.loads((folder / "results.json").read_text())["results"][0]
    assert doc["verify"]["samples"] == 40 and doc["verify"]["bit_exact"] == 40


def test_compare_refuses_a_gate_that_cannot_close():
    from harness.compare import CompareError, Side, compare_sides

    side = Side("a", "run", "kws", "cortex-m4", None, 100.0, 100.0)
    for limit in (float("nan"), float("inf"), -1.0):
        with pytest.raises(CompareError, match="finite number >= 0"):
            compare_sides(side, side, limit)


@needs_toolchain
def test_a_billion_samples_start_at_once_without_memory(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    results = tmp_path / "results"
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "run", "ad", "--mode", "verify", "-n", "1000000000",
                             "--jobs", "1", "--results", str(results)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=REPO)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(results.glob("*/samples.jsonl")):
            time.sleep(0.1)
        while time.monotonic() < deadline and not next(results.glob("*/samples.jsonl")).read_text():
            time.sleep(0.1)
        assert time.monotonic() < deadline, "no sample ran within 60 s"
        rss_kib = int(next(ln for ln in Path(f"/proc/{proc.pid}/status").read_text().splitlines()
                           if ln.startswith("VmRSS")).split()[1])
        assert rss_kib < 600 * 1024, f"{rss_kib} KiB resident after the first sample"
        emulators = qemu_children(proc.pid)
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in err
    assert_all_gone(emulators)


# ---- serve: no host files, no endless command, early checks --------------------------------------------


@needs_toolchain
def test_serve_refuses_db_file_in_order_and_a_fifo_never_reaches_the_board(tmp_path):
    import os

    from test_serve import Served, command, runner_port

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with Served("kws", "--platform", "cortex-m4", "--no-pace") as served:
        port = runner_port(served.path)
        for path in ("/etc/hostname", str(fifo)):
            reply = command(port, f"db file {path}")
            assert reply[0].startswith("e-[tinyperf serve: 'db file' is disabled") and reply[-1] == "m-ready"
        port.write(b"name%db  file /etc/hostname%profile%")  # replies keep the order of the commands
        port.timeout = 5
        lines = [port.read_until(b"\n").decode().strip() for _ in range(5)]
        assert lines[0] == "m-name-dut-[tinyperf]" and lines[2].startswith("e-[tinyperf serve: 'db file'")
        assert lines[4].startswith("m-profile-["), lines
        port.close()
        emulators = qemu_children(served.proc.pid)
        assert served.interrupt() in (0, 130)
    assert "Traceback" not in served.err_text()
    assert_all_gone(emulators)


@needs_toolchain
def test_serve_restarts_a_board_busy_past_the_command_limit(tmp_path):
    import time

    from test_serve import KWS_INPUT, Served, command, load, read_reply, runner_port

    with Served("kws", "--platform", "cortex-m4", "--no-pace", "--command-timeout", "3") as served:
        port = runner_port(served.path)
        load(port, KWS_INPUT)
        start = time.monotonic()
        port.write(b"infer 2147483647 0%")
        reply = read_reply(port, 30)
        assert time.monotonic() - start < 3 + 15
        assert "3 s command limit; board restarted" in reply[-2] and reply[-1] == "m-ready", reply
        assert command(port, "name")[0] == "m-name-dut-[tinyperf]"
        port.close()
        emulators = qemu_children(served.proc.pid)
        assert len(emulators) == 1
        assert served.interrupt() in (0, 130)
    assert_all_gone(emulators)
    err = served.err_text()
    assert err.count("took longer than the 3 s command limit") == 1 and "Traceback" not in err, err


SERVE_EARLY = {
    "ELF for another board": (["firmware_bins/cortex-m4/kws.elf", "-p", "cortex-m33"], 2,
                              "lies outside cortex-m33's memory"),
    "--link into a missing folder": (["kws", "--link", "/nonexistent/dir/port"], 2, "does not exist"),
    "--link onto a file": (["kws", "--link", "README.md"], 2, "exists and is not a symlink"),
    "--link under a file": (["kws", "--link", "README.md/port"], 2, "README.md is not a folder"),
}


@needs_toolchain
@pytest.mark.parametrize("args,code,fragment", SERVE_EARLY.values(), ids=SERVE_EARLY.keys())
def test_serve_fails_at_once_with_one_line(args, code, fragment):
    proc = tinyperf_in(REPO, "serve", *args, timeout=30)
    lines = proc.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tinyperf: error:") and fragment in lines[0], proc.err
    assert proc.returncode == code and proc.elapsed < 3  # before the emulator's start-up and calibration


# ---- the one-line contract: files and folders the user names ------------------------------------------


def _dataset(root: Path, bench: str, index: bytes, files: dict[str, bytes] = {}) -> Path:
    from harness.benchmarks import get_benchmark

    folder = root / "data" / get_benchmark(bench).id
    folder.mkdir(parents=True)
    (folder / "y_labels.csv").write_bytes(index)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return root / "data"


def _floats(values) -> bytes:
    import numpy as np

    return np.asarray(values, dtype="<f4").tobytes()


DATASETS = {
    "non-UTF-8 y_labels.csv": ("kws", b"a.bin,12,0\n\xff\xfe\xfa,12,1\n", {}, "not UTF-8 text"),
    "200 KB CSV field": ("kws", b"a.bin,12," + b"7" * 200_000 + b"\n", {}, "not a file,classes,label table"),
    "AD file with NaN": ("ad", b"a.bin,2,0,2560,512\nb.bin,2,1,2560,512\n",
                         {"a.bin": _floats([float("nan")] * 640), "b.bin": _floats([0.5] * 640)},
                         "a.bin holds 640 NaN or infinite values"),
}


@pytest.mark.parametrize("bench,index,files,fragment", DATASETS.values(), ids=DATASETS.keys())
def test_bad_datasets_are_one_line_exit_2(tmp_path, bench, index, files, fragment):
    data = _dataset(tmp_path, bench, index, files)
    proc = tinyperf_in(tmp_path, "run", bench, "--mode", "accuracy", "--dataset-path", str(data),
                       "--results", str(tmp_path / "results"), timeout=60)
    assert_one_line_error(proc, fragment)
    assert proc.returncode == EXIT_USAGE and not (tmp_path / "results").exists()


def test_dataset_path_that_is_a_file(tmp_path):
    (tmp_path / "f").write_text("x")
    proc = tinyperf_in(tmp_path, "run", "kws", "--mode", "accuracy", "--dataset-path", "f", timeout=30)
    assert_one_line_error(proc, "dataset path f is not a folder")
    assert proc.returncode == EXIT_USAGE


@needs_toolchain
def test_ad_with_one_class_names_the_reason(tmp_path):
    data = _dataset(tmp_path, "ad", b"a.bin,2,0,2560,512\nb.bin,2,0,2560,512\n",
                    {"a.bin": _floats([0.25] * 640), "b.bin": _floats([0.5] * 640)})
    proc = tinyperf_in(tmp_path, "run", "ad", "--mode", "accuracy", "--dataset-path", str(data), "--jobs", "1",
                       "--results", str(tmp_path / "results"), timeout=120)
    assert_one_line_error(proc, "quality auc cannot be computed", "none of class 1")
    assert "None" not in proc.err and proc.returncode == 1


def _not_an_elf(tmp_path: Path, kind: str) -> str:
    if kind == "folder":
        return str(tmp_path)
    if kind == "symlink loop":
        (tmp_path / "loop.elf").symlink_to(tmp_path / "loop.elf")
        return str(tmp_path / "loop.elf")
    return "/dev/null"


NOT_ELF = {"folder": "a folder, not a firmware file", "symlink loop": "a symlink loop",
           "/dev/null": "not a regular file"}


@pytest.mark.parametrize("command", ["exec", "profile", "serve", "run"])
@pytest.mark.parametrize("kind", NOT_ELF)
def test_what_is_not_an_elf_is_named(tmp_path, command, kind):
    target = _not_an_elf(tmp_path, kind)
    args = ["run", "kws", "--elf", target, "--results", str(tmp_path / "r")] if command == "run" else [command, target]
    proc = tinyperf_in(tmp_path, *args, timeout=30)
    assert_one_line_error(proc, NOT_ELF[kind])
    assert proc.returncode == EXIT_USAGE and proc.elapsed < 10


# ---- run.json and samples.jsonl edited by hand ------------------------------------------------------------

GOOD_SPEC = {"benchmark": "kws", "platform": "cortex-m4", "firmware": "firmware_bins/cortex-m4/kws.elf",
             "modes": ["verify"], "dataset": None, "seed": 0, "samples": 2, "jobs": 1, "icount": False}
BAD_SPECS = {
    "not JSON": (b"{ not json", "cannot be read as JSON"),
    "not UTF-8": (b"\xff\xfe{}", "cannot be read as JSON"),
    "a list": (b"[1, 2]", "expected an object, found list"),
    "no benchmark": ({k: v for k, v in GOOD_SPEC.items() if k != "benchmark"}, "'benchmark' is missing"),
    "seed a string": ({**GOOD_SPEC, "seed": "x"}, "'seed' is \"x\", not int"),
    "icount a number": ({**GOOD_SPEC, "icount": 1}, "'icount' is 1, not bool"),
    "unknown mode": ({**GOOD_SPEC, "modes": ["fast"]}, "'modes' must list"),
    "jobs 0": ({**GOOD_SPEC, "jobs": 0}, "'jobs' and 'samples' >= 1"),
    "unknown benchmark": ({**GOOD_SPEC, "benchmark": "kwz"}, "unknown benchmark 'kwz'"),
}


@pytest.mark.parametrize("content,fragment", BAD_SPECS.values(), ids=BAD_SPECS.keys())
def test_malformed_run_json_is_one_line_exit_2(tmp_path, content, fragment):
    import json

    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "run.json").write_bytes(content if isinstance(content, bytes) else json.dumps(content).encode())
    proc = tinyperf_in(REPO, "run", "--resume", str(folder), timeout=30)
    assert_one_line_error(proc, fragment)
    assert proc.returncode == EXIT_USAGE


@needs_toolchain
def test_malformed_samples_log_is_one_line_exit_2(tmp_path):
    import json

    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "run.json").write_text(json.dumps({**GOOD_SPEC, "firmware": str(REPO / GOOD_SPEC["firmware"])}))
    (folder / "samples.jsonl").write_text('{"name": "x"}\n')
    proc = tinyperf_in(REPO, "run", "--resume", str(folder), timeout=60)
    assert_one_line_error(proc, "samples.jsonl line 1 is not a sample record")
    assert proc.returncode == EXIT_USAGE


@needs_toolchain
def test_a_second_resume_of_a_folder_in_use_fails_at_once(tmp_path):
    import fcntl
    import json

    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "run.json").write_text(json.dumps({**GOOD_SPEC, "firmware": str(REPO / GOOD_SPEC["firmware"])}))
    with (folder / ".lock").open("w") as held:  # as the first tinyperf holds it
        fcntl.flock(held, fcntl.LOCK_EX)
        proc = tinyperf_in(REPO, "run", "--resume", str(folder), timeout=60)
    assert_one_line_error(proc, "is in use by another tinyperf")
    assert proc.returncode == 1 and not (folder / "samples.jsonl").exists()
    assert tinyperf_in(REPO, "run", "--resume", str(folder), timeout=120).returncode == 0  # free again


# ---- full disks and read-only folders ----------------------------------------------------------------------


@pytest.fixture
def small_fs(tmp_path):
    """A folder on a tmpfs of `size` (root only: skipped elsewhere); unmounted afterwards."""
    import subprocess

    mounted = []

    def mount(size: str, read_only: bool = False) -> Path:
        point = tmp_path / f"fs{len(mounted)}"
        point.mkdir()
        options = f"size={size}" + (",ro" if read_only else "")
        if subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)],
                          capture_output=True).returncode != 0:
            pytest.skip("cannot mount a tmpfs here (needs root)")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", str(point)], check=True)


READ_ONLY = {
    "build --out": ["build", "ad", "-p", "cortex-m4", "--out", "{ro}/b"],
    "profile --out": ["profile", "kws", "--out", "{ro}/p"],
    "run --results": ["run", "kws", "-n", "1", "--results", "{ro}/r"],
    "build --out /dev/null/x": ["build", "ad", "-p", "cortex-m4", "--out", "/dev/null/x"],
}


@needs_toolchain
@pytest.mark.parametrize("args", READ_ONLY.values(), ids=READ_ONLY.keys())
def test_unwritable_output_folders_fail_before_any_work(small_fs, args):
    read_only = small_fs("64k", read_only=True) if any("{ro}" in a for a in args) else None
    proc = tinyperf_in(REPO, *[a.replace("{ro}", str(read_only)) for a in args], timeout=60)
    assert_one_line_error(proc, "pass")
    assert proc.returncode == EXIT_USAGE and proc.elapsed < 10


@needs_toolchain
def test_disk_full_during_profile_is_one_line_and_leaves_no_partial_file(small_fs):
    full = small_fs("48k")
    proc = tinyperf_in(REPO, "profile", "kws", "-n", "1", "--outputs", "0", "--out", str(full / "p"), timeout=300)
    assert_one_line_error(proc, "No space left on device")
    assert proc.returncode == 1
    assert not list(full.rglob("*.tmp")) and not list(full.rglob(".*.tmp"))


@needs_toolchain
def test_disk_full_during_run_keeps_the_samples_and_resume_finishes(tmp_path, monkeypatch, capsys):
    import errno
    import json

    from harness.report import SampleLog

    append = SampleLog.append

    def append_until_full(self, record):
        if len(self.records()) >= 3:
            raise OSError(errno.ENOSPC, "No space left on device", str(self.path))
        append(self, record)

    monkeypatch.setattr(SampleLog, "append", append_until_full)
    code, err = _cli(monkeypatch, capsys, "run", "kws", "-n", "6", "--mode", "verify", "--jobs", "1",
                     "--results", str(tmp_path))
    folder = _run_folder(tmp_path)
    (line,) = [ln for ln in err.splitlines() if ln.startswith("tinyperf: error:")]
    assert code == 1 and "No space left on device" in line and f"--resume {folder}" in line
    assert len((folder / "samples.jsonl").read_text().splitlines()) == 3
    monkeypatch.setattr(SampleLog, "append", append)
    code, err = _cli(monkeypatch, capsys, "run", "--resume", str(folder))
    assert code == 0, err
    doc = json.loads((folder / "results.json").read_text())["results"][0]
    assert doc["verify"]["samples"] == 6 and doc["verify"]["bit_exact"] == 6


# ---- nothing left in /tmp ------------------------------------------------------------------------------------


@needs_toolchain
@pytest.mark.parametrize("command", ["profile", "compare"])
def test_profile_and_compare_leave_no_input_folders(monkeypatch, command):
    import tempfile

    from harness import compare, dut, profile
    from platforms import get_platform

    made = []
    mkdtemp = tempfile.mkdtemp

    def recording_mkdtemp(*args, **kwargs):
        made.append(Path(mkdtemp(*args, **kwargs)))
        return str(made[-1])

    monkeypatch.setattr(dut.tempfile, "mkdtemp", recording_mkdtemp)
    if command == "profile":
        profile.run_profile(get_platform("cortex-m4"), REPO / "firmware_bins/cortex-m4/kws.elf", None, 1, 0, 1)
    else:
        compare.resolve_sides("kws", "kws", "cortex-m4", 1, 1)
    assert made and not [p for p in made if p.exists()]


@needs_toolchain
def test_firmware_says_what_it_did_with_bad_hex():
    """Item 8 on the emulated board (the firmware built from source, not firmware_bins/)."""
    from harness.build import build_image
    from harness.dut import DutError, open_dut
    from platforms import get_platform

    elf = build_image(get_platform("cortex-m0plus"), "bench", "ad")
    with open_dut("cortex-m0plus", elf) as dut:
        assert dut.send("db load 4")[0] == "m-[Expecting 4 bytes]"
        with pytest.raises(DutError, match=r"m-load-done .*Dropped 4 bytes beyond the 4 announced"):
            dut.send("db 0102030405060708")
        with pytest.raises(DutError, match=r"e-\[Command longer than 80 characters: nothing done\]"):
            dut.send("db " + "ab" * 40)
        with pytest.raises(DutError, match=r"e-\[Odd number of hex digits: each byte takes two\]"):
            dut.send("db abc")


@needs_toolchain
def test_a_stopped_emulator_is_no_verdict_and_the_sample_runs_again(tmp_path, monkeypatch, capsys):
    """kill -STOP of QEMU: the line timeout is the host's doing, not a firmware hang."""
    import json
    import os
    import signal

    from harness import dut as dut_module
    from harness.dut import Dut

    load = Dut.load
    stopped = []

    def load_stopping_once(self, data, *args, **kwargs):
        if not stopped and len(self._tail) > 4:  # after a few commands: mid-run
            stopped.append(self.emulator._proc.pid)
            os.kill(stopped[0], signal.SIGSTOP)
        return load(self, data, *args, **kwargs)

    monkeypatch.setattr(Dut, "load", load_stopping_once)
    monkeypatch.setattr(dut_module, "INFER_LINE_TIMEOUT_S", 3.0)
    code, err = _cli(monkeypatch, capsys, "run", "kws", "-n", "4", "--mode", "verify", "--jobs", "1",
                     "--results", str(tmp_path))
    assert stopped and code == 0, err
    doc = json.loads((_run_folder(tmp_path) / "results.json").read_text())["results"][0]
    assert doc["verify"]["bit_exact"] == 4 and doc["failed_samples"] == 0 and doc["no_verdict_samples"] == 0
    assert_all_gone(stopped)


@pytest.fixture(scope="module")
def profile_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("profile") / "p"
    proc = tinyperf_in(REPO, "profile", "kws", "-n", "1", "--outputs", "1", "--out", str(folder), timeout=300)
    assert proc.returncode == 0, proc.err
    return folder


EDITED_PROFILES = {
    "a list": lambda d: [d],
    "instructions a string": lambda d: {**d, "instructions": "x"},
    "layers a number": lambda d: {**d, "layers": 5},
    "outputs a number": lambda d: {**d, "outputs": 5},
    "functions of numbers": lambda d: {**d, "functions": [1]},
    "a layer's cycles a string": lambda d: {**d, "layers": [{**d["layers"][0], "cycles": "y"}]},
    "a key missing": lambda d: {k: v for k, v in d.items() if k != "stacks"},
}


@needs_toolchain
@pytest.mark.parametrize("edit", EDITED_PROFILES.values(), ids=EDITED_PROFILES.keys())
def test_compare_of_an_edited_profile_is_one_line_exit_2(tmp_path, profile_folder, edit):
    import json
    import shutil

    edited = tmp_path / "edited"
    shutil.copytree(profile_folder, edited)
    doc = json.loads((edited / "profile.json").read_text())
    (edited / "profile.json").write_text(json.dumps(edit(doc)))
    proc = tinyperf_in(REPO, "compare", str(profile_folder), str(edited), timeout=60)
    assert_one_line_error(proc, "profile.json")
    assert proc.returncode == EXIT_USAGE


EDITED_RUNS = {
    "results a list": ('[1]', None),
    "an entry a number": ('{"schema_version": 1, "results": [1]}', None),
    "instructions a string": (None, lambda r: {**r, "instructions_per_inference": "x"}),
    "samples.jsonl garbage": (None, "samples"),
}


@needs_toolchain
@pytest.mark.parametrize("text,edit", EDITED_RUNS.values(), ids=EDITED_RUNS.keys())
def test_compare_of_an_edited_run_folder_is_one_line_exit_2(tmp_path, profile_folder, text, edit):
    import json

    run = tmp_path / "run"
    run.mkdir()
    doc = json.loads((profile_folder / "results.json").read_text())
    if text is not None:
        (run / "results.json").write_text(text)
    elif edit == "samples":
        (run / "results.json").write_text(json.dumps(doc))
        (run / "samples.jsonl").write_text("{not json\n")
    else:
        (run / "results.json").write_text(json.dumps({**doc, "results": [edit(doc["results"][0])]}))
    proc = tinyperf_in(REPO, "compare", str(run), str(run), timeout=60)
    assert_one_line_error(proc, str(run))
    assert proc.returncode == EXIT_USAGE


def test_bare_tinyperf_prints_the_help():
    proc = tinyperf(timeout=30)
    assert proc.returncode == EXIT_USAGE and "Traceback" not in proc.err
    assert proc.err.startswith("Usage: tinyperf [OPTIONS] COMMAND") and "tinyperf: error:" not in proc.err
