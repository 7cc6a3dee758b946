"""The benchmark firmware in emulation: bit-exact with TFLM on every model and
platform, the prebuilt ELFs match their manifest and rebuild to the same bytes."""
from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from conftest import FIRMWARE_PLATFORMS, needs_toolchain
from firmware_bins import BINS_DIR, manifest, prebuilt
from harness.benchmarks import get_benchmark
from harness.build import build_image
from harness.datasets import default_inputs
from harness.runner import BenchRun, run_samples
from harness.report import SampleLog
from platforms import get_platform
from sim.elf import FirmwareImage

pytestmark = needs_toolchain

BENCHES = ("kws", "vww", "ic", "ad")
SEED = 2026


def verify(bench: str, platform: str, samples, tmp_path: Path):
    run = BenchRun(get_benchmark(bench), get_platform(platform), FirmwareImage(prebuilt(platform, bench)),
                   ("verify",), samples, tmp_path, jobs=1)
    with SampleLog(tmp_path / "samples.jsonl") as log:
        return run_samples(run, log, transcript=None)


def assert_all_bit_exact(records, expected_count: int) -> None:
    assert len(records) == expected_count
    bad = [(r.name, r.error or f"max diff {r.raw_max_abs_diff}") for r in records if not r.bit_exact]
    assert not bad, bad


# 100 seeded inputs per model on cortex-m4 (the bundled real samples first), in
# slices so parallel workers share the slow UART loading of vww.
M4_SLICES = [(bench, start) for bench in BENCHES for start in range(0, 100, 25)]


@pytest.mark.parametrize("bench,start", M4_SLICES, ids=[f"{b}-{s}" for b, s in M4_SLICES])
def test_bit_exact_on_cortex_m4(bench, start, tmp_path):
    samples = default_inputs(bench, 100, SEED)[start:start + 25]
    assert_all_bit_exact(verify(bench, "cortex-m4", samples, tmp_path), 25)


@pytest.mark.parametrize("platform", [p for p in FIRMWARE_PLATFORMS if p != "cortex-m4"])
@pytest.mark.parametrize("bench", BENCHES)
def test_bit_exact_on_other_platforms(platform, bench, tmp_path):
    samples = default_inputs(bench, 10, SEED)
    assert_all_bit_exact(verify(bench, platform, samples, tmp_path), 10)


def test_real_kws_sample_predicts_class_5(tmp_path):
    sample = default_inputs("kws", 1)[0]
    assert sample.name == "reference_submission_input.bin"
    record = verify("kws", "cortex-m4", [sample], tmp_path)[0]
    assert record.bit_exact and max(range(12), key=lambda i: record.dut[i]) == 5


def test_manifest_describes_every_prebuilt_elf():
    entries = manifest()
    assert {(e["platform"], e["benchmark"], e["kernels"]) for e in entries} == {
        (p, b, k) for p in FIRMWARE_PLATFORMS for b in BENCHES for k in ("ref", "opt")} | {
        (p, "selftest", "ref") for p in FIRMWARE_PLATFORMS}
    for entry in entries:
        elf = BINS_DIR / entry["elf"]
        assert hashlib.sha256(elf.read_bytes()).hexdigest() == entry["elf_sha256"]
        assert entry["compiler"].startswith("arm-none-eabi-gcc")
        if entry["benchmark"] != "selftest":
            model = get_benchmark(entry["benchmark"]).model_path
            assert hashlib.sha256(model.read_bytes()).hexdigest() == entry["model_sha256"]
            assert 0 < entry["arena_bytes"] < entry["ram_bytes"] <= get_platform(entry["platform"]).ram.size


@pytest.mark.parametrize("platform,bench", [("cortex-m4", "kws"), ("cortex-m0plus", "ad"), ("cortex-m55", "ic")])
def test_rebuild_from_clean_tree_gives_the_same_bytes(platform, bench, tmp_path):
    elf = build_image(get_platform(platform), "bench", bench, outdir=tmp_path / "build")
    stripped = tmp_path / "stripped.elf"
    subprocess.run(["arm-none-eabi-objcopy", "--strip-debug", str(elf), str(stripped)], check=True)
    entry = next(e for e in manifest() if (e["platform"], e["benchmark"], e["kernels"]) == (platform, bench, "ref"))
    assert hashlib.sha256(stripped.read_bytes()).hexdigest() == entry["elf_sha256"]


@pytest.mark.parametrize("bench", BENCHES)
def test_repeated_inferences_reuse_an_intact_input(bench):
    """`infer N` runs the model N times on one loaded input: the arena must
    not overwrite the input, so the last of N runs equals a single run."""
    from harness.dut import open_dut

    sample = default_inputs(bench, 2, SEED)[-1]
    with open_dut("cortex-m4", prebuilt("cortex-m4", bench)) as dut:
        dut.load(sample.data)
        dut.infer(1, 0)
        once = dut.outputs()
        dut.infer(3, 2)
        assert dut.outputs() == once
