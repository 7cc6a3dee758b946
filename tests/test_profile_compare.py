"""`tinyperf profile` and `tinyperf compare`: totals that add up, a planted slowdown and a planted
output change caught, two identical builds passed.

The variants are built from a copy of firmware/ and platforms/ in a temporary tree (ad: small and
quick), once per session (shared by xdist workers through a lock)."""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from conftest import needs_toolchain
from harness.profile import OUTSIDE, segments

REPO = Path(__file__).resolve().parent.parent
PLATFORM = "cortex-m4"
KERNEL = "kernels/fully_connected_s8.c"
HOOK = "            if (bias) {"
# About 11 cycles a pass on the M4, once per output value: +5.5 % on ad.
SLOWDOWN = "            for (volatile int32_t k = 0; k < 8; ++k) {\n            }\n"


def tinyperf(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO)


# ---- pure ----------------------------------------------------------------------------------------


def test_segments_move_marker_blocks_to_their_own_segment():
    """Snapshots include the marker's own block; segments hand it back, so every segment's
    blocks sum to the marker counts."""
    a, b, e = 0x100, 0x200, 0x300  # begin marker, a layer, end marker
    hits = [
        (a, 10, {(a, 2): 1}),  # entered a's 2-instruction block
        (b, 17, {(a, 2): 1, (0x50, 5): 1, (b, 4): 1}),  # 2 + 5 instructions later, b's block
        (e, 31, {(a, 2): 1, (0x50, 5): 1, (b, 4): 1, (0x60, 5): 2, (e, 3): 1}),
    ]
    segs, notes = segments(hits, 0, 2)
    assert notes == []
    assert [s.instructions for s in segs] == [7, 14]
    assert [s.block_instructions for s in segs] == [7, 14]
    assert segs[0].blocks == {(a, 2): 1, (0x50, 5): 1}
    assert segs[1].blocks == {(b, 4): 1, (0x60, 5): 2}


def test_run_folders_compare_on_totals(tmp_path):
    """`tinyperf run` folders: totals and printed results; a grown cycle count fails."""
    from harness.compare import compare_sides, load_folder
    from harness.report import BenchmarkResult, SampleRecord, write_report

    def folder(name: str, cycles: int, score: float) -> Path:
        result = BenchmarkResult("ad", PLATFORM, "perf+verify", 120.0, 264_192, 2_000_000, cycles, cycles / 120e3,
                                 perf={"cycle_model": "m"})
        record = SampleRecord("ad", PLATFORM, "x#000", "x", 0, [score], [score], True, 2_000_000, 0)
        write_report(tmp_path / name, [result], [record])
        (tmp_path / name / "samples.jsonl").write_text(json.dumps(record.to_dict()) + "\n")
        return tmp_path / name

    same = compare_sides(load_folder(folder("a", 3_000_000, 1.5)), load_folder(folder("b", 3_030_000, 1.5)))
    assert same.passed and same.level == "total" and same.outputs_status == "identical"
    assert same.growth_pct == pytest.approx(1.0)
    worse = compare_sides(load_folder(folder("a", 3_000_000, 1.5)), load_folder(folder("c", 3_090_000, 1.25)))
    assert not worse.passed and worse.regression and worse.changed_outputs == ["x#000"]


# ---- emulated --------------------------------------------------------------------------------------


@needs_toolchain
def test_profile_totals_equal_the_window_count(tmp_path):
    from harness.dut import open_dut
    from harness.datasets import default_inputs

    out = tmp_path / "prof"
    proc = tinyperf("profile", "kws", "-p", PLATFORM, "-n", 2, "--outputs", 1, "--out", out, "--json")
    assert proc.returncode == 0, proc.stderr
    prof = json.loads(proc.stdout)
    for name in ("profile.json", "layers.csv", "functions.csv", "profile.png", "stacks.folded", "results.json"):
        assert (out / name).stat().st_size > 0, name

    window = prof["window_instructions"]
    layers = prof["layers"]
    assert len(layers) == 13 and layers[0]["op"] == "CONV_2D" and layers[0]["macs"] == 320_000
    per_layer = sum(r["instructions"] for r in layers) + prof["outside_layers"]["instructions"]
    assert per_layer * prof["iterations"] == pytest.approx(window, abs=1e-6)
    assert sum(r["instructions"] for r in prof["functions"]) * 2 == pytest.approx(window, abs=1e-6)
    assert sum(prof["stacks_instructions"].values()) * 2 == pytest.approx(window, abs=1e-6)
    cycles = sum(r["cycles"] for r in layers) + prof["outside_layers"]["cycles"]
    assert cycles * 2 == pytest.approx(prof["window_cycles"], abs=2)
    assert prof["notes"] == ["no code in the ELF for layer_10_reshape (the compiler removed the call): 0 instructions"]
    assert prof["outside_layers"]["instructions"] < 100  # the glue is a handful of instructions
    stacks = (out / "stacks.folded").read_text().splitlines()
    assert any(line.startswith("model_invoke;layer_00_conv2d_s8;tp_conv2d_s8 ") for line in stacks)

    # The same window without the extra layer markers or block counting: the same count.
    with open_dut(PLATFORM, prof["firmware"]) as dut:
        dut.load(default_inputs("kws", 1)[0].data)
        plain = dut.infer(2, 1)
    assert plain.instructions == window


def _copy_tree(root: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO / "firmware", root / "firmware", ignore=ignore)
    shutil.copytree(REPO / "platforms", root / "platforms", ignore=ignore)


def _make(tree: Path, build: Path) -> Path:
    cmd = ["make", "-s", "-C", str(tree / "firmware"), "APP=bench", "BENCH=ad", f"PLATFORM={PLATFORM}",
           f"BUILD={build}", f"PYTHON={sys.executable}", "KERNELS=ref"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    return build / "ad.elf"


def _patch_symbol_byte(src: Path, dst: Path, symbol: str, offset: int, xor: int) -> None:
    """Copy src to dst with one byte of a constant (in a loaded segment) flipped."""
    with src.open("rb") as f:
        elf = ELFFile(f)
        sym = elf.get_section_by_name(".symtab").get_symbol_by_name(symbol)[0]
        addr = sym["st_value"] + offset
        seg = next(s for s in elf.iter_segments()
                   if s["p_type"] == "PT_LOAD" and s["p_vaddr"] <= addr < s["p_vaddr"] + s["p_filesz"])
        file_offset = seg["p_offset"] + addr - seg["p_vaddr"]
    data = bytearray(src.read_bytes())
    data[file_offset] ^= xor
    dst.write_bytes(bytes(data))


@pytest.fixture(scope="session")
def ad_variants(tmp_path_factory) -> dict[str, Path]:
    """ad for the M4 built twice from an unchanged copy of the sources, once with a slower
    FULLY_CONNECTED kernel, and a copy with one bias byte of the last layer flipped."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # one folder for all workers of this session
    root = shared / "profile-compare-variants"
    with (shared / "profile-compare-variants.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        elfs = {"base": root / "base" / "ad.elf", "base2": root / "base2" / "ad.elf",
                "slow": root / "slow" / "ad.elf", "flipped": root / "flipped.elf"}
        if not (root / "done").exists():
            shutil.rmtree(root, ignore_errors=True)
            _copy_tree(root / "src")
            _copy_tree(root / "slow-src")
            kernel = root / "slow-src" / "firmware" / KERNEL
            text = kernel.read_text()
            assert HOOK in text
            kernel.write_text(text.replace(HOOK, SLOWDOWN + HOOK, 1))
            jobs = [(root / "src", root / "base"), (root / "src", root / "base2"), (root / "slow-src", root / "slow")]
            with ThreadPoolExecutor(len(jobs)) as pool:
                list(pool.map(lambda job: _make(*job), jobs))
            _patch_symbol_byte(elfs["base"], elfs["flipped"], "l09_b", 2, 0x10)  # bias[0] of the last layer
            (root / "done").touch()
    return elfs


@needs_toolchain
def test_compare_passes_two_identical_builds(ad_variants, tmp_path):
    junit = tmp_path / "compare.xml"
    proc = tinyperf("compare", ad_variants["base"], ad_variants["base2"], "-p", PLATFORM, "--json", "--junit", junit)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["passed"] and doc["level"] == "layer" and doc["growth_pct"] == 0
    assert doc["outputs"] == "identical" and doc["outputs_compared"] == 3
    assert all(r["a_cycles"] == r["b_cycles"] and r["a_instructions"] == r["b_instructions"] for r in doc["rows"])
    assert {r["name"] for r in doc["rows"]} == {f"layer_{i:02d}_fully_connected_s8" for i in range(10)} | {OUTSIDE}
    suite = ET.parse(junit).getroot()
    assert suite.get("tests") == "2" and suite.get("failures") == "0"


@needs_toolchain
def test_compare_catches_a_planted_slowdown(ad_variants, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    with ThreadPoolExecutor(2) as pool:
        procs = list(pool.map(lambda job: tinyperf("profile", job[0], "-p", PLATFORM, "--out", job[1], "--json"),
                              [(ad_variants["base"], a), (ad_variants["slow"], b)]))
    assert all(p.returncode == 0 for p in procs), [p.stderr for p in procs]

    junit = tmp_path / "compare.xml"
    proc = tinyperf("compare", a, b, "--json", "--junit", junit)
    assert proc.returncode == 1
    assert proc.stderr.startswith("tinyperf: error: compare failed: cycles per inference grew +")
    doc = json.loads(proc.stdout)
    assert doc["regression"] and doc["outputs"] == "identical"
    assert 4.0 < doc["growth_pct"] < 7.0
    assert all(r["b_cycles"] > r["a_cycles"] for r in doc["rows"] if r["name"] != OUTSIDE)  # every FC layer
    suite = ET.parse(junit).getroot()
    assert suite.get("failures") == "1"
    assert suite.find(".//testcase[@name='cycles-regression']/failure") is not None

    assert tinyperf("compare", a, b, "--max-regression", 10).returncode == 0
    text = tinyperf("compare", a, b).stdout
    assert "layer_09_fully_connected_s8" in text and "FAIL: cycles per inference grew" in text


@needs_toolchain
def test_compare_catches_a_one_byte_output_change(ad_variants):
    proc = tinyperf("compare", ad_variants["base"], ad_variants["flipped"], "-p", PLATFORM, "--json",
                    "--max-regression", 50)
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    assert doc["outputs"] == "changed" and doc["outputs_basis"] == "raw int8 outputs"
    assert doc["changed_outputs"] and not doc["regression"]
    assert "outputs changed on" in proc.stderr
