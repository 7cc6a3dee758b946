"""The DUT side of the serial protocol, driven through the host build.

Each benchmark variant is compiled once (cached under .cache/protocol_host,
keyed by the sources) against the fake model in tests/support/fake_model,
whose "inference" copies the first output-size input values to the output.
That makes the loaded input visible through `outputs%` and `results%`.
"""
import os
import concurrent.futures
import hashlib
import math
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
FW = ROOT / "firmware"
FAKE_MODEL = ROOT / "tests" / "support" / "fake_model"
CACHE = ROOT / ".cache" / "protocol_host"

WARN = ["-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter"]
HOST_FLAGS = ["-O2", "-std=c11", *WARN]

DB_BYTES = {"kws": 490, "vww": 27648, "ic": 3072, "ad": 2560}
OUTPUT_BYTES = {"kws": 12, "vww": 2, "ic": 10, "ad": 640}
MODEL_ID = {"kws": "kws01", "vww": "vww01", "ic": "ic01", "ad": "ad01"}
# Same numbers as tests/support/fake_model/model.h.
AD_IN_SCALE, AD_IN_ZP = np.float32(0.3910), 89
AD_OUT_SCALE, AD_OUT_ZP = np.float32(0.3645), 96
CLASS_SCALE, CLASS_ZP = np.float32(0.00390625), -128

# Variant name -> (benchmark, extra defines).
VARIANTS = {
    "kws": ("kws", []),
    "vww": ("vww", []),
    "ic": ("ic", []),
    "ad": ("ad", []),
    "kws-trace": ("kws", ["-DTP_HOST_TRACE_MARKERS", "-DFAKE_MODEL_TRACE"]),
}


def _sources():
    return sorted(
        [*(FW / "protocol").glob("*.c"), *(FW / "bsp" / "host").glob("*.c"),
         FAKE_MODEL / "model.c"])


def _headers():
    return sorted([*(FW / "protocol").glob("*.h"), FW / "bsp" / "bsp.h",
                   FAKE_MODEL / "model.h"])


def _build(name, out_dir):
    bench, extra = VARIANTS[name]
    target = out_dir / f"bench-{name}"
    if not target.exists():
        tmp = out_dir / f".bench-{name}.{os.getpid()}.tmp"  # parallel workers build side by side
        cmd = ["cc", *HOST_FLAGS, f"-DTP_BENCH_{bench}",
               f'-DTP_BENCH_NAME="{bench}"', *extra,
               f"-I{FW / 'bsp'}", f"-I{FW / 'protocol'}", f"-I{FAKE_MODEL}",
               *map(str, _sources()), "-lm", "-o", str(tmp)]
        done = subprocess.run(cmd, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        tmp.replace(target)
    return target


@pytest.fixture(scope="session")
def binaries():
    digest = hashlib.sha256(" ".join(HOST_FLAGS).encode())
    for path in [*_sources(), *_headers()]:
        digest.update(path.name.encode() + path.read_bytes())
    out_dir = CACHE / digest.hexdigest()[:16]
    out_dir.mkdir(parents=True, exist_ok=True)
    with concurrent.futures.ThreadPoolExecutor() as pool:
        built = dict(zip(VARIANTS, pool.map(lambda n: _build(n, out_dir), VARIANTS)))
    return built


class Dut:
    """Runs one host binary over a whole command script (stdin to EOF)."""

    def __init__(self, binaries):
        self.binaries = binaries

    def raw(self, variant, script):
        done = subprocess.run([self.binaries[variant]], input=script.encode("latin-1"),
                              capture_output=True, timeout=30)
        assert done.returncode == 0, done.stderr
        return done.stdout.decode("latin-1")

    def replies(self, variant, script):
        """Replies in order, boot first; each is its lines without m-ready."""
        text = self.raw(variant, script)
        assert text.endswith("\r\n")
        lines = text[:-2].split("\r\n")
        assert not any("\n" in line or "\r" in line for line in lines)
        replies, current = [], []
        for line in lines:
            if line == "m-ready":
                replies.append(current)
                current = []
            else:
                current.append(line)
        assert current == [], f"lines after the last m-ready: {current}"
        return replies

    def reply(self, variant, script):
        """The reply to the last command of the script."""
        return self.replies(variant, script)[-1]


@pytest.fixture
def dut(binaries):
    return Dut(binaries)


def load(data, chunk=31):
    """The runner's way of sending a file: db load, then 31-byte hex chunks."""
    data = bytes(data)
    parts = [f"db load {len(data)}%"]
    parts += [f"db {data[i:i + chunk].hex()}%" for i in range(0, len(data), chunk)]
    return "".join(parts)


def file_with_prefix(bench, prefix):
    data = bytearray(DB_BYTES[bench])
    data[:len(prefix)] = bytes(prefix)
    return bytes(data)


# ---- boot and simple commands -------------------------------------------------

def test_boot_lines_then_exit_on_eof(dut):
    boot, = dut.replies("kws", "")
    assert len(boot) == 3
    assert boot[0] == "m-timestamp-mode-performance"
    assert re.fullmatch(r"m-lap-us-\d+", boot[1])
    assert boot[2] == "m-init-done"


@pytest.mark.parametrize("bench", sorted(DB_BYTES))
def test_name_and_profile(dut, bench):
    _, name, profile = dut.replies(bench, "name%profile%")
    assert name == ["m-name-dut-[tinyperf]"]
    assert profile == ["m-profile-[ULPMark for tinyML Firmware V0.0.1]",
                       f"m-model-[{MODEL_ID[bench]}]"]


def test_help_and_timestamp(dut):
    _, help_lines, stamp1, stamp2 = dut.replies("ic", "help%timestamp%timestamp%")
    assert help_lines[0] == "ULPMark for tinyML Firmware V0.0.1"
    assert any(line.startswith("infer") for line in help_lines)
    assert re.fullmatch(r"m-lap-us-\d+", stamp1[0]) and len(stamp1) == 1
    assert re.fullmatch(r"m-lap-us-\d+", stamp2[0]) and len(stamp2) == 1


def test_unknown_commands_and_every_command_ends_ready(dut):
    script = "foo bar%Name%%   %  name  %"
    replies = dut.replies("ic", script)
    assert len(replies) == 1 + script.count("%")
    assert replies[1:] == [["e-[Unknown command: foo]"], ["e-[Unknown command: Name]"],
                           ["e-[Unknown command: ]"], ["e-[Unknown command: ]"],
                           ["m-name-dut-[tinyperf]"]]


def test_newlines_between_commands_are_ignored(dut):
    assert dut.reply("ic", "name%\r\nprofile\n%") == [
        "m-profile-[ULPMark for tinyML Firmware V0.0.1]", "m-model-[ic01]"]


# ---- db ---------------------------------------------------------------------------

def test_db_load_and_print(dut):
    data = bytes(range(0xf0, 0x100)) + b"\x00\x01"          # 18 bytes
    replies = dut.replies("ic", load(data, chunk=7) + "db print%")
    assert replies[1] == ["m-[Expecting 18 bytes]"]
    assert replies[2] == [] and replies[3] == []
    assert replies[4] == ["m-load-done"]
    assert replies[5] == ["m-buffer-f0-f1-f2-f3-f4-f5-f6-f7",
                          "m-buffer-f8-f9-fa-fb-fc-fd-fe-ff",
                          "m-buffer-00-01"]


def test_db_print_whole_lines_and_uppercase_hex(dut):
    reply = dut.reply("ic", "db load 8%db 0A0b0C0d0E0f1A1B%db print%")
    assert reply == ["m-buffer-0a-0b-0c-0d-0e-0f-1a-1b"]


def test_db_errors(dut):
    replies = dut.replies("ic", "db%db load%db load 0%db load -3%db load x%")
    assert replies[1:] == [["e-[Command 'db' requires a subcommand]"],
                           ["e-[Command 'db load' requires the # of bytes]"],
                           ["e-[Command 'db load' must be >0 bytes]"],
                           ["e-[Command 'db load' must be >0 bytes]"],
                           ["e-[Command 'db load' must be >0 bytes]"]]


def test_db_bad_hex_changes_nothing(dut):
    script = "db load 4%db 11%db 223%db 22zz33%db 2g%db print%db 2233%db 44%db print%"
    replies = dut.replies("ic", script)
    assert replies[3] == ["e-[Odd number of hex digits: each byte takes two]"]
    assert replies[4] == ["e-[Invalid hex digit 'zz']"]
    assert replies[5] == ["e-[Invalid hex digit '2g']"]
    assert replies[6] == ["m-buffer-11-00-00-00"]
    assert replies[8] == ["m-load-done"]
    assert replies[9] == ["m-buffer-11-22-33-44"]


def test_db_bytes_beyond_the_announced_size_are_dropped_and_said(dut):
    replies = dut.replies("ic", "db load 3%db 0102030405%db 0607%db print%db load 4%db 0102030405060708%")
    assert replies[2] == ["m-load-done", "e-[Dropped 2 bytes beyond the 3 announced by 'db load']"]
    assert replies[3] == ["e-[Dropped 2 bytes beyond the 3 announced by 'db load']"]
    assert replies[4] == ["m-buffer-01-02-03"]
    assert replies[6] == ["m-load-done", "e-[Dropped 4 bytes beyond the 4 announced by 'db load']"]


def test_db_full_buffer_then_more_bytes(dut):
    data = bytes(i % 251 for i in range(DB_BYTES["kws"]))
    script = load(data) + "db " + "ee" * 38 + "%db print%"
    replies = dut.replies("kws", script)
    lines = replies[-1]
    assert len(lines) == math.ceil(len(data) / 8)
    dumped = bytes.fromhex("".join(l[len("m-buffer-"):].replace("-", "") for l in lines))
    assert dumped == data
    assert replies[-2] == ["e-[Dropped 38 bytes beyond the 490 announced by 'db load']"]


def test_db_load_over_the_limit_is_refused(dut):
    script = "db load 3%db 0a0b0c%db load 3073%db print%db 0d%db print%db load 99999999999%"
    replies = dut.replies("ic", script)
    assert replies[3] == ["e-[Supplied buffer size 3073 exceeds maximum of 3072]"]
    assert replies[4] == ["m-buffer-0a-0b-0c"]
    assert replies[5] == ["e-[Dropped 1 bytes beyond the 3 announced by 'db load']"]  # still complete
    assert replies[6] == ["m-buffer-0a-0b-0c"]
    assert replies[7] == ["e-[Supplied buffer size 2147483647 exceeds maximum of 3072]"]


def test_overlong_command_is_refused_whole(dut):
    # "db" + 10 spaces + 68 hex digits = 80 characters: run; one more and nothing is done.
    fits = "db" + " " * 10 + "ab" * 34
    script = "db load 40%" + fits + "%" + fits + "cd%db print%" + "x" * 5000 + "%name%"
    replies = dut.replies("ic", script)
    assert replies[2] == []                                 # 34 of 40 bytes
    assert replies[3] == ["e-[Command longer than 80 characters: nothing done]"]
    assert replies[4] == ["m-buffer-" + "-".join(["ab"] * 8)] * 4 + \
        ["m-buffer-ab-ab-00-00-00-00-00-00"]
    assert replies[5] == ["e-[Command longer than 80 characters: nothing done]"]
    assert replies[6] == ["m-name-dut-[tinyperf]"]


# ---- infer ----------------------------------------------------------------------

def test_infer_argument_errors(dut):
    script = "infer 0%infer -1%infer abc%infer 1 -1%infer 2 0%"
    replies = dut.replies("ic", script)
    assert replies[1:4] == [["e-[Inference iterations must be >0]"]] * 3
    assert replies[4] == ["e-[Inference warmup must be >=0]"]
    assert replies[5] == ["e-[Input db has 0 bytes, expected 3072]"]


def test_infer_refuses_a_short_input(dut):
    assert dut.reply("ic", "db load 100%db 00%infer 1 0%") == [
        "e-[Input db has 1 bytes, expected 3072]"]


def _check_infer_lines(lines, runs, warmups):
    assert lines[:3] == [f"m-warmup-start-{warmups}", "m-warmup-done",
                         f"m-infer-start-{runs}"]
    t0 = re.fullmatch(r"m-lap-us-(\d+)", lines[3])
    t1 = re.fullmatch(r"m-lap-us-(\d+)", lines[4])
    assert t0 and t1
    assert (int(t1.group(1)) - int(t0.group(1))) % 2**32 < 10**7
    assert lines[5] == "m-infer-done"
    assert lines[6].startswith("m-results-[") and len(lines) == 7


def test_infer_line_sequence(dut):
    data = file_with_prefix("ic", [])
    replies = dut.replies("ic", load(data) + "infer 3 2%infer%infer 5%")
    _check_infer_lines(replies[-3], 3, 2)
    _check_infer_lines(replies[-2], 1, 10)                  # defaults
    _check_infer_lines(replies[-1], 5, 10)


def test_measurement_window_holds_only_the_timed_runs(dut):
    data = file_with_prefix("kws", [])
    lines = dut.reply("kws-trace", load(data) + "infer 3 2%")
    assert lines[:3] == ["m-warmup-start-2", "#invoke", "#invoke"]
    assert lines[3:5] == ["m-warmup-done", "m-infer-start-3"]
    assert re.fullmatch(r"m-lap-us-\d+", lines[5])
    assert lines[6:11] == ["#mark-begin", "#invoke", "#invoke", "#invoke", "#mark-end"]
    assert re.fullmatch(r"m-lap-us-\d+", lines[11])
    assert lines[12] == "m-infer-done" and lines[13].startswith("m-results-[")
    assert len(lines) == 14


# ---- results and outputs ----------------------------------------------------------

def _results_values(line):
    assert line.startswith("m-results-[") and line.endswith("]")
    return line[len("m-results-["):-1]


def test_ic_results_cover_every_output_value(dut):
    """All 256 possible outputs, printed like printf("%0.3f"): exact ties
    such as 16/256 = 0.0625 go to the even digit, as C and Python do."""
    script, expected = "", []
    for start in range(0, 256, 10):
        pixels = [(start + i) % 256 for i in range(10)]
        script += load(file_with_prefix("ic", pixels)) + "infer 1 0%results%outputs%"
        # pixel u -> input u - 128 -> output u - 128 -> (q + 128) / 256 = u / 256
        expected.append(",".join("%.3f" % (u / 256) for u in pixels))
    replies = dut.replies("ic", script)
    infer_replies = [r for r in replies if r and r[0].startswith("m-warmup-start")]
    results = [r for r in replies if len(r) == 1 and r[0].startswith("m-results-[")]
    outputs = [r for r in replies if len(r) == 1 and r[0].startswith("m-outputs-[")]
    assert [_results_values(r[-1]) for r in infer_replies] == expected
    assert [_results_values(r[0]) for r in results] == expected
    for start, out in zip(range(0, 256, 10), outputs):
        raw = bytes(((start + i) % 256) ^ 0x80 for i in range(10))
        assert out == [f"m-outputs-[{raw.hex()}]"]
    assert "0.062" in expected[1].split(",") and "0.500" in expected[12].split(",")


def test_vww_results_have_a_trailing_comma(dut):
    data = file_with_prefix("vww", [3, 253])
    replies = dut.replies("vww", load(data) + "infer 1 0%results%outputs%")
    assert replies[-3][-1] == "m-results-[0.012,0.988,]"
    assert replies[-2] == ["m-results-[0.012,0.988,]"]
    assert replies[-1] == ["m-outputs-[837d]"]


def _kws_digits(q):
    """The reference KWS printing, in float32: "0." int(v*10) int(v*100)%10
    int(v*1000)%10, truncating."""
    v = np.float32(q - CLASS_ZP) * CLASS_SCALE
    parts = [int(v * np.float32(10)), int(v * np.float32(100)) % 10,
             int(v * np.float32(1000)) % 10]
    return "0." + "".join(map(str, parts))


def test_kws_results_truncate_to_0_ddd(dut):
    script, expected = "", []
    values = list(range(-128, 128))
    for start in range(0, 256, 12):
        q = [values[(start + i) % 256] for i in range(12)]
        script += load(file_with_prefix("kws", bytes(v & 0xff for v in q))) + "infer 1 0%"
        expected.append(",".join(_kws_digits(v) for v in q))
    replies = dut.replies("kws", script)
    got = [_results_values(r[-1]) for r in replies if r and r[0].startswith("m-warmup")]
    assert got == expected
    flat = ",".join(got).split(",")
    assert "0.996" in flat and "0.000" in flat
    assert _kws_digits(-112) == "0.062"     # 0.0625 truncates


def _ad_quantise(x):
    """round(x / scale) + zp with float32 division, halves away from zero."""
    t = (x.astype(np.float32) / AD_IN_SCALE).astype(np.float64)
    q = np.trunc(t + np.copysign(0.5, t)) + AD_IN_ZP
    return np.clip(q, -128, 127).astype(np.int8)


def _ad_mse(q_out, x):
    """Float32 in index order, each step rounded, then / 640 (bench_glue.c)."""
    total = np.float32(0)
    for q, xi in zip(q_out, x):
        diff = np.float32(np.float32(int(q) - AD_OUT_ZP) * AD_OUT_SCALE) - xi
        total = np.float32(total + np.float32(diff * diff))
    return np.float32(total / np.float32(640))


def _ad_window():
    rng = np.random.default_rng(1234)
    x = rng.uniform(-90.0, 20.0, 640).astype(np.float32)
    # Values whose float32 quotient is exactly k + 0.5: the rounding of halves.
    halves = []
    for k in range(-120, 40):
        candidate = np.float32((k + 0.5) * float(AD_IN_SCALE))
        if float(candidate / AD_IN_SCALE) == k + 0.5:
            halves.append(candidate)
    assert len(halves) >= 8
    x[:len(halves)] = halves
    x[-4:] = [0.0, -0.0, 1000.0, -1000.0]                 # clamping
    return x, len(halves)


def test_ad_quantises_input_and_scores_mse(dut):
    x, n_halves = _ad_window()
    replies = dut.replies("ad", load(x.astype("<f4").tobytes()) + "infer 1 0%outputs%results%")
    q = _ad_quantise(x)
    assert replies[-2] == [f"m-outputs-[{q.tobytes().hex()}]"]
    # Exact halves round away from zero: |round(t)| = |t| + 0.5.
    half_t = (x[:n_halves] / AD_IN_SCALE).astype(np.float64)
    half_r = q[:n_halves].astype(int) - AD_IN_ZP
    unclamped = (q[:n_halves] > -128) & (q[:n_halves] < 127)
    assert (np.abs(half_r) == np.abs(half_t) + 0.5)[unclamped].all()
    assert (half_t < 0).any() and (half_t > 0).any()
    assert list(q[-4:]) == [AD_IN_ZP, AD_IN_ZP, 127, -128]
    expected = "m-results-[%.3f]" % float(_ad_mse(q, x))
    assert expected != "m-results-[inf]"
    assert replies[-3][-1] == expected
    assert replies[-1] == [expected]


def test_ad_extreme_and_nan_inputs_clamp(dut):
    x = np.zeros(640, dtype=np.float32)
    x[:5] = [3.4e38, -3.4e38, np.inf, -np.inf, np.nan]
    reply = dut.reply("ad", load(x.tobytes()) + "infer 1 0%outputs%")
    q = bytes.fromhex(reply[0][len("m-outputs-["):-1])
    assert list(np.frombuffer(q[:5], dtype=np.int8)) == [127, -128, 127, -128, -128]


def test_ad_mse_of_a_constant_window(dut):
    # One value repeated: every term of the sum is the same, a simple check
    # that the division is by 640 and nothing is skipped.
    x = np.full(640, np.float32(10.0), dtype=np.float32)
    q = _ad_quantise(x)
    expected = "m-results-[%.3f]" % float(_ad_mse(q, x))
    reply = dut.reply("ad", load(x.tobytes()) + "infer 1 0%")
    assert reply[-1] == expected


# ---- builds for the boards --------------------------------------------------------

ARM_CPUS = {
    "cortex-m0plus": ["-mcpu=cortex-m0plus"],
    "cortex-m4": ["-mcpu=cortex-m4", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"],
}


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None,
                    reason="arm-none-eabi-gcc not installed")
def test_protocol_compiles_warning_free_for_cortex_m():
    sources = [str(p) for p in sorted((FW / "protocol").glob("*.c"))]

    def compile_one(cpu_bench):
        cpu, bench = cpu_bench
        with tempfile.TemporaryDirectory() as tmp:
            cmd = ["arm-none-eabi-gcc", *ARM_CPUS[cpu], "-mthumb", "-O2", "-std=c11",
                   "-ffreestanding", *WARN, f"-DTP_BENCH_{bench}",
                   f'-DTP_BENCH_NAME="{bench}"', f"-I{FW / 'bsp'}",
                   f"-I{FW / 'protocol'}", f"-I{FAKE_MODEL}", "-c", *sources]
            return cpu, bench, subprocess.run(cmd, cwd=tmp, capture_output=True, text=True)

    jobs = [(cpu, bench) for cpu in ARM_CPUS for bench in DB_BYTES]
    with concurrent.futures.ThreadPoolExecutor() as pool:
        for cpu, bench, done in pool.map(compile_one, jobs):
            assert done.returncode == 0 and done.stderr == "", (cpu, bench, done.stderr)
