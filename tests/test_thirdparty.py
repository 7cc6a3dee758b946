"""Third-party firmware: C++ symbols, windows, printed-results verify, the port
kit and its C++ stand-in submission, custom platform files."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import needs_toolchain
from harness.benchmarks import get_benchmark
from harness.printed import compare_printed, printed_values
from harness.report import SampleRecord, Verify
from harness.target import TargetError, find_window, resolve_platform
from platforms import PlatformFileError, load_platform
from sim.demangle import base_name, cxxfilt_binary, demangle_all
from sim.plugin import windows

ROOT = Path(__file__).resolve().parent.parent
CM4_TOML = ROOT / "platforms" / "cortex-m4.toml"


def tinyperf(*args: str, timeout: float = 300, input: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=ROOT, capture_output=True,
                          timeout=timeout, input=input)


def one_error_line(result: subprocess.CompletedProcess) -> str:
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tinyperf: error: "), result.stderr.decode()
    return lines[0]


# -- demangling and windows, without an emulator ---------------------------------------------
@pytest.mark.skipif(cxxfilt_binary() is None, reason="needs c++filt (binutils)")
def test_demangle_batches_cxx_names_and_leaves_c_names():
    names = demangle_all(["_Z12th_timestampv", "_Z9th_printfPKcz", "main", "_ZN6tflite3ops4EvalEP13TfLiteContext"])
    assert names["_Z12th_timestampv"] == "th_timestamp()"
    assert names["_Z9th_printfPKcz"] == "th_printf(char const*, ...)"
    assert "main" not in names
    assert base_name(names["_Z9th_printfPKcz"]) == "th_printf"
    assert base_name("ns::f<int (*)(int)>(int)") == "ns::f<int (*)(int)>"


def test_windows_open_at_any_begin_site_and_close_at_the_next_end():
    # th_timestamp entry 0x10; its return sites 0x20 (boot) and 0x30 (infer)
    trace = [(0x10, 100), (0x20, 150), (0x10, 1000), (0x30, 1070), (0x10, 9070), (0x30, 9140)]
    assert windows(trace, {0x20, 0x30}, {0x10}) == [850, 8000]
    assert windows(trace, 0x10, 0x10) == [900, 8070]  # entry to entry: includes th_timestamp's printing


# -- platform files ----------------------------------------------------------------------------
def _toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "board.toml"
    path.write_text(text)
    return path


def test_platform_file_with_unknown_sections_loads(tmp_path):
    text = CM4_TOML.read_text().replace('name = "cortex-m4"', 'name = "my-board"').replace("default = true", "")
    text += '\n[my_tool]\nsetting = 3\nnote = "a section another tool reads"\n'
    platform = resolve_platform(str(_toml(tmp_path, text)))
    assert platform.name == "my-board" and platform.ram.base == 0x20000000


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.replace("clock_mhz = 120\n", ""), "missing key 'clock_mhz'"),
    (lambda t: t.replace("base = 0x40004000", 'base = "0x40004000"'), "key 'uart.base' must be an integer"),
    (lambda t: t.replace('core = "cortex-m4"', "core = 4"), "key 'core' must be a string"),
    (lambda t: t + "\n[oops\n", "not valid TOML"),
    (lambda t: t.replace('kind = "cortex-m-systick"', 'kynd = "cortex-m-systick"'), "missing key 'fallback_timer.kind'"),
])
def test_bad_platform_file_is_one_line_naming_key_and_file(tmp_path, edit, message):
    path = _toml(tmp_path, edit(CM4_TOML.read_text()))
    with pytest.raises(PlatformFileError, match=message) as err:
        load_platform(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)
    result = tinyperf("run", "kws", "--mode", "perf", "-p", str(path), timeout=60)
    assert result.returncode == 2 and message in one_error_line(result)


def test_missing_platform_file_is_a_usage_error():
    result = tinyperf("exec", "x.elf", "-p", "/nonexistent/board.toml", timeout=60)
    assert result.returncode == 2 and "platform file /nonexistent/board.toml does not exist" in one_error_line(result)


# -- printed results ---------------------------------------------------------------------------
def test_printed_formats_follow_the_reference_firmware():
    kws, ic = get_benchmark("kws"), get_benchmark("ic")
    # KWS truncates: 0.99609375 -> 0.996, 0.0078125 * 1000 = 7.8 -> 0.007 (not rounded to 0.008)
    assert printed_values(kws, np.array([0.99609375, 0.0078125], dtype=np.float32)) == ["0.996", "0.007"]
    assert printed_values(ic, np.array([0.0078125, 0.5], dtype=np.float32)) == ["0.008", "0.500"]


def test_printed_comparison_counts_units_and_top1():
    ic = get_benchmark("ic")
    host = np.array([0.1, 0.9], dtype=np.float32)
    assert compare_printed(ic, [0.1, 0.9], host).agree
    off = compare_printed(ic, [0.1, 0.898], host)
    assert (off.agree, off.top1_agree, off.max_diff_units) == (False, True, 2)
    assert not compare_printed(ic, [0.9, 0.1], host).top1_agree
    assert compare_printed(ic, [0.1], host).max_diff_units is None


def _record(name, **fields):
    base = dict(benchmark="kws", platform="cortex-m4", name=name, file=name, label=None, dut=[0.1], host=[0.1],
                bit_exact=False)
    return SampleRecord(**(base | fields))


def test_unverified_samples_are_never_counted_as_not_bit_exact():
    records = [_record("a", compared="printed", results_agree=True, printed_diff_units=0),
               _record("b", compared="printed", results_agree=True, printed_diff_units=1),
               _record("c", compared=None, error="e-[fault ...]", not_compared="the sample failed"),
               _record("d", compared=None, error="emulator lost", no_verdict=True)]
    verify = Verify.from_records(records)
    assert verify.mismatches == [] and verify.disagreements == [] and verify.no_verdict == 1
    assert verify.printed_compared == 2 and verify.results_agree == 2 and verify.max_printed_diff_units == 1
    assert verify.not_compared == ["c: e-[fault ...]"]  # says why; not a wrong answer
    assert not verify.passed  # but a failed sample is no pass either
    assert Verify.from_records(records[:2]).passed
    bad = Verify.from_records([_record("d", compared="bytes", bit_exact=False, raw_max_abs_diff=1)])
    assert bad.mismatches == ["d"] and not bad.passed


# -- the port kit and its C++ stand-in -----------------------------------------------------------
def test_port_kit_linker_script_comes_from_the_platform_file(tmp_path):
    text = CM4_TOML.read_text().replace("ram = { base = 0x20000000, size = 0x00400000 }",
                                        "ram = { base = 0x20000000, size = 0x00100000 }")
    out = tmp_path / "kit"
    result = tinyperf("port", "-p", str(_toml(tmp_path, text)), "--out", str(out), timeout=60)
    assert result.returncode == 0, result.stderr
    link = (out / "link.ld").read_text()
    assert "RAM   (rwx) : ORIGIN = 0x20000000, LENGTH = 0x100000" in link and ".init_array" in link
    assert {"th_port.c", "th_port.cpp", "th_port.h", "startup.c", "uart_cmsdk.c", "timer.c", "board.h",
            "port.mk"} <= {p.name for p in out.iterdir()}
    assert "markers.c" not in {p.name for p in out.iterdir()}  # tp_mark_* would outrank th_timestamp
    assert "early_byte = UART_DATA" in (out / "uart_cmsdk.c").read_text()  # DATA read at init


@needs_toolchain
def test_cxx_stand_in_window_is_th_timestamp_return_to_entry(port_example):
    from sim.elf import FirmwareImage

    image = FirmwareImage(port_example("cortex-m4"))
    assert "_Z12th_timestampv" in image.symbols and "th_timestamp" not in image.symbols
    window = find_window(image)
    assert window.stamp == image.address("_Z12th_timestampv")
    assert window.end == {window.stamp} and len(window.begin) >= 4  # init, timestamp%, ee_infer x2
    with pytest.raises(TargetError, match="no symbol 'nosuch'"):
        find_window(image, "nosuch")


@needs_toolchain
@pytest.mark.parametrize("platform", ["cortex-m0plus", "cortex-m3", "cortex-m4", "cortex-m7", "cortex-m33",
                                      "cortex-m55"])
def test_cxx_stand_in_counts_repeat_exactly(port_example, platform):
    """Five emulators, the same input: the same window count, also under -icount."""
    from harness.datasets import default_inputs
    from harness.dut import open_dut

    elf = port_example(platform)
    data = default_inputs(get_benchmark("kws"), 1)[0].data
    counts = set()
    for icount in (False, False, False, False, False, True):
        with open_dut(platform, elf, icount=icount) as dut:
            dut.load(data)
            result = dut.infer(2, 0)
        counts.add(result.instructions)
    assert len(counts) == 1 and None not in counts, counts


@needs_toolchain
@pytest.mark.parametrize("bench, outputs, expect", [("kws", False, "printed"), ("kws", True, "bytes"),
                                                    ("ad", False, "printed")])
def test_cxx_stand_in_verify_without_and_with_outputs(port_example, tmp_path, bench, outputs, expect):
    """KWS prints truncated digits, AD one %0.3f score (newlib's printf): both agree with the host exactly."""
    elf = port_example("cortex-m4", bench, outputs=outputs)
    result = tinyperf("run", bench, "--elf", str(elf), "--mode", "verify", "-n", "3", "-j", "1", "--json",
                      "--results", str(tmp_path))
    assert result.returncode == 0, result.stderr.decode()[-500:]
    verify = json.loads(result.stdout)["results"][0]["verify"]
    if expect == "printed":
        assert verify["printed_compared"] == 3 and verify["results_agree"] == 3 and verify["byte_compared"] == 0
        assert verify["max_printed_diff_units"] == 0
    else:
        assert verify["byte_compared"] == 3 and verify["bit_exact"] == 3 and verify["printed_compared"] == 0


@needs_toolchain
def test_perf_without_a_window_fails_with_one_line(port_example, tmp_path):
    stripped = tmp_path / "stripped.elf"
    subprocess.run(["arm-none-eabi-objcopy", "--strip-all", str(port_example("cortex-m4")), str(stripped)], check=True)
    result = tinyperf("run", "kws", "--elf", str(stripped), "--mode", "perf", "--results", str(tmp_path))
    assert result.returncode == 2 and "--window BEGIN[:END]" in one_error_line(result)
    assert not list(tmp_path.glob("*-kws-*"))  # no half-written run folder


@needs_toolchain
def test_exec_until_idle_ends_zero_and_plain_exec_times_out(port_example):
    elf = str(port_example("cortex-m4"))
    idle = tinyperf("exec", elf, "--until-idle", "--timeout", "30", input=b"name%profile%")
    assert idle.returncode == 0, idle.stderr.decode()
    assert b"m-name-dut-[tinyperf-port-example]" in idle.stdout and b"m-model-[kws01]" in idle.stdout
    # Regression: without --until-idle protocol firmware never exits: 124 after the timeout, one line.
    plain = tinyperf("exec", elf, "--timeout", "2", input=b"name%")
    assert plain.returncode == 124 and "did not exit within 2 s" in plain.stderr.decode()
    assert "pass --until-idle" in plain.stderr.decode().strip().splitlines()[-1]


@needs_toolchain
def test_profile_of_the_stand_in_is_demangled_with_operators(port_example, tmp_path):
    result = tinyperf("profile", str(port_example("cortex-m4")), "-n", "1", "--outputs", "1", "--out",
                      str(tmp_path / "prof"), "--json")
    assert result.returncode == 0, result.stderr.decode()[-500:]
    assert "Warning" not in result.stderr.decode()  # matplotlib stays quiet
    profile = json.loads(result.stdout)
    names = {f["name"] for f in profile["functions"]}
    assert "th_infer()" in names and not any(n.startswith("_Z") for n in names)
    operators = [o["operator"] for o in profile["operators"]]
    assert operators[:2] == ["CONV_2D", "DEPTHWISE_CONV_2D"]
    assert "tp_conv2d_s8" in profile["operators"][0]["functions"]
    assert (tmp_path / "prof" / "operators.csv").is_file()


def test_serve_without_cycle_calibration_does_not_crash(monkeypatch, capsys):
    """Regression: a perf result without a CPI made serve crash formatting None."""
    from harness import cli, runner

    class Perf:
        cpi = None
        cycle_model = None

    monkeypatch.setattr(runner, "measure_perf", lambda *a, **k: Perf())
    assert cli._serve_cpi(resolve_platform("cortex-m4"), None, False, window=object()) is None
    assert cli._serve_cpi(resolve_platform("cortex-m4"), None, False, window=None) is None
    assert "1 cycle per instruction" in capsys.readouterr().err


@needs_toolchain
def test_run_and_selftest_on_a_platform_file_outside_the_catalog(tmp_path):
    """A user's board TOML (path with a space) builds our firmware from its own memory map and runs it."""
    text = (CM4_TOML.read_text().replace('name = "cortex-m4"', 'name = "my-m4"').replace("default = true", "")
            .replace("ram = { base = 0x20000000, size = 0x00400000 }", "ram = { base = 0x20000000, size = 0x00200000 }"))
    board = tmp_path / "my boards" / "board.toml"
    board.parent.mkdir()
    board.write_text(text)
    result = tinyperf("run", "ad", "-p", str(board), "--mode", "perf", "--json", "--results", str(tmp_path / "r"))
    assert result.returncode == 0, result.stderr.decode()[-500:]
    entry = json.loads(result.stdout)["results"][0]
    assert entry["platform"] == "my-m4" and entry["instructions_per_inference"] > 0
    from sim.elf import FirmwareImage

    spec = json.loads(next((tmp_path / "r").glob("*-ad-my-m4/run.json")).read_text())
    assert FirmwareImage(spec["firmware"]).address("__stack_top") == 0x20200000  # the file's RAM, not the catalog's
    selftest = tinyperf("selftest", "-p", str(board), "--json")
    assert selftest.returncode == 0 and json.loads(selftest.stdout)[0]["passed"], selftest.stderr.decode()[-500:]


@needs_toolchain
def test_serve_runs_the_stand_in_with_board_time_laps(port_example):
    from test_serve import KWS_INPUT, Served, command, laps, load, runner_port

    with Served(str(port_example("cortex-m4")), "--no-pace") as served:
        port = runner_port(served.path)
        assert command(port, "name")[0] == "m-name-dut-[tinyperf-port-example]"
        load(port, KWS_INPUT)
        t0, t1 = laps(command(port, "infer 2 0", line_timeout=30))
        port.close()
        assert "CPI" in served.err_text() and "error" not in served.err_text()
    # two inferences of ~51.5 M cycles at 120 MHz: board time, not host time
    assert 800_000 < t1 - t0 < 920_000


@needs_toolchain
def test_compare_stand_in_with_our_opt_elf(port_example, tmp_path):
    """A third-party ELF (no outputs%) against our -opt.elf: cycles per layer, outputs by printed results."""
    from firmware_bins import prebuilt

    result = tinyperf("compare", str(prebuilt("cortex-m4", "ad", "opt")), str(port_example("cortex-m4", "ad")),
                      "-n", "1", "--outputs", "2", "--max-regression", "100000", "--json")
    assert result.returncode == 0, result.stderr.decode()[-500:]
    comparison = json.loads(result.stdout)
    assert comparison["outputs"] == "identical" and comparison["outputs_basis"] == "printed results"


def test_window_on_a_function_called_from_too_many_places_is_one_line(monkeypatch):
    import harness.target as target

    class Image:
        path = Path("x.elf")

        def address(self, name):
            return 0x100

    monkeypatch.setattr(target, "return_sites", lambda image, addr: list(range(0x1000, 0x1000 + 200, 2)))
    with pytest.raises(TargetError, match="called from 100 places, more than the counting plugin's 64 markers"):
        target.find_window(Image(), "f")


def test_a_begin_site_inside_an_open_window_does_not_restart_it():
    """The return site of `bl th_timestamp` may be the head of the th_infer loop (th_pre inlined)."""
    trace = [(0x10, 0), (0x20, 5), (0x20, 105), (0x20, 205), (0x10, 300), (0x20, 306)]
    assert windows(trace, {0x20}, {0x10}) == [295]
    from sim.plugin import window_hits

    hits, first, last = window_hits(trace, [(a, {}) for a, _ in trace], {0x20}, {0x10})
    assert (first, last) == (1, 4)
