"""The optimized kernel set (firmware/kernels/opt, `KERNELS=opt`) must be bit
for bit what TFLM computes.

(a) whole benchmarks: opt firmware in emulation vs the host reference, on
    seeded inputs, on cortex-m4 (all four) and cortex-m7/m33/m55 (kws, ic);
(b) single operators: many randomized single-op models (the generators of
    tests/support/tflite_builder) linked into one `BENCH=raw` firmware whose
    model_invoke() runs them all on one concatenated input, vs tflite_micro;
(c) the opt kernel logic on the host (TP_OPT_EMULATE: C models of the DSP
    instructions), over more random cases than emulation affords.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import needs_toolchain
from tests.support.batch_model import batch_model_header, write_prefixed_case
from tests.support.engines import DRIVER_C, input_size, run_tflm
from tests.support.tflite_builder import make_case, special_cases

ROOT = Path(__file__).resolve().parent.parent
FIRMWARE = ROOT / "firmware"
KERNELS = FIRMWARE / "kernels"
CACHE = ROOT / ".cache" / "opt-tests"

# --------------------------------------------------------------------------
# (a) whole benchmarks

MODEL_RUNS = ([("cortex-m4", b, n) for b, n in (("kws", 20), ("vww", 5), ("ic", 5), ("ad", 20))]
              + [(p, b, 3) for p in ("cortex-m7", "cortex-m33", "cortex-m55") for b in ("kws", "ic")]
              # the m55 runs its own Helium kernels
              + [("cortex-m55", "vww", 2), ("cortex-m55", "ad", 5)])


@needs_toolchain
@pytest.mark.heavy
@pytest.mark.parametrize("platform,bench,count", MODEL_RUNS,
                         ids=[f"{p}-{b}" for p, b, _ in MODEL_RUNS])
def test_benchmark_bit_exact(platform, bench, count):
    from harness.build import build_image
    from harness.datasets import default_inputs
    from harness.dut import open_dut
    from harness.reference import HostReference
    from platforms import get_platform

    elf = build_image(get_platform(platform), app="bench", bench=bench, kernels="opt")
    ref = HostReference(bench)
    bad = []
    with open_dut(platform, elf) as dut:
        for sample in default_inputs(bench, count, seed=0):
            dut.load(sample.data)
            result = dut.infer(1, 0)
            assert result.instructions and result.instructions > 0
            got = dut.outputs()
            want = ref.raw_output(sample.data).tobytes()
            if got != want:
                bad.append(sample.name)
    assert not bad, f"{bench} on {platform}: {len(bad)}/{count} inputs differ from TFLM: {bad[:5]}"


@needs_toolchain
@pytest.mark.parametrize("platform,conv", [("cortex-m55", "kernels/mve/conv2d_s8.c"),
                                           ("cortex-m4", "kernels/opt/conv2d_s8.c"),
                                           ("cortex-m3", "kernels/opt/conv2d_s8.c")])
def test_opt_build_picks_helium_kernels_only_on_helium_cores(platform, conv, tmp_path):
    from harness.build import build_image
    from platforms import get_platform

    elf = build_image(get_platform(platform), app="bench", bench="ad", kernels="opt", outdir=tmp_path)
    selected = (elf.parent / "kernels.txt").read_text().split()
    assert selected[0] == "opt"
    assert conv in selected, selected


# --------------------------------------------------------------------------
# (b) single operators in emulation, many per firmware image

KINDS = {  # kind -> cases per run
    "conv2d": 60,
    "depthwise_conv2d": 60,
    "fully_connected": 40,
    "add": 30,
    "avgpool2d": 20,
    "softmax": 10,
    "maxpool2d": 10,
    "pad": 10,
    "concatenation": 10,
    "activation": 10,
    "sub": 10,
    "mul": 10,
    "mean": 10,
    "strided_slice": 10,
    "broadcast": 20,
    "transpose_conv": 20,
    "depthwise_multiplier_dilation": 20,
    "logistic": 10,
    "tanh": 10,
    "hard_swish": 10,
    "activation_chain": 6,
}


def _inputs(size, seed, n_random=2):
    rng = np.random.default_rng(seed)
    x = rng.integers(-128, 128, size=(n_random, size)).astype(np.int8)
    return np.concatenate([x, np.full((1, size), -128, np.int8), np.full((1, size), 127, np.int8)])


# Inputs per case in emulation: one random input sent over the UART (the
# UART is the slow part), then all -128 and all 127 filled in by the device.
EMU_FILLS = (-128, 127)


def _multi_model(cases, out_dir: Path):
    """One model.c / model.h in out_dir running every case: each compiled by
    modelc into its own folder, wrapped in a C file renaming its globals.
    Each case runs on its input x (sent) and then on inputs filled with each
    of EMU_FILLS; the model input is the concatenation of the sent inputs,
    the output the concatenation of every run's output."""
    from modelc.compiler import compile_model

    out_dir.mkdir(parents=True, exist_ok=True)
    table = []
    for i, (model, x) in enumerate(cases):
        d = out_dir / f"case{i}"
        d.mkdir(exist_ok=True)
        (d / "m.tflite").write_bytes(model)
        compile_model(str(d / "m.tflite"), str(d))
        info = json.loads((d / "model.json").read_text())
        write_prefixed_case(out_dir, i, [L["symbol"] for L in info["layers"]])
        table.append((i, x.shape[0], x.shape[1], int(np.prod(info["output"]["shape"]))))
    in_total = sum(r * n for _, r, n, _ in table)
    out_total = sum((r + len(EMU_FILLS)) * m for _, r, _, m in table)
    (out_dir / "model.h").write_text(batch_model_header("tests/test_kernels_opt.py", "multi", in_total, out_total))
    src = ["#include <string.h>", '#include "model.h"', ""]
    for i, _, _, _ in table:
        src += [f"int8_t *tpcase{i}_model_input(void);", f"int8_t *tpcase{i}_model_output(void);",
                f"void tpcase{i}_model_prepare(void);", f"void tpcase{i}_model_invoke(void);"]
    src += ["static int8_t multi_in[MODEL_INPUT_BYTES] __attribute__((aligned(4)));",
            "static int8_t multi_out[MODEL_OUTPUT_BYTES] __attribute__((aligned(4)));",
            "int8_t *model_input(void) { return multi_in; }",
            "int8_t *model_output(void) { return multi_out; }",
            'const model_layer_info_t model_layers[1] = {{"multi", "MULTI", 0u}};',
            "void model_prepare(void)", "{"]
    src += [f"    tpcase{i}_model_prepare();" for i, _, _, _ in table]
    src += ["}", "void model_invoke(void)", "{"]
    ip = op = 0
    for i, reps, n, m in table:
        for r in range(reps + len(EMU_FILLS)):
            if r < reps:
                src.append(f"    memcpy(tpcase{i}_model_input(), multi_in + {ip}, {n});")
                ip += n
            else:
                src.append(f"    memset(tpcase{i}_model_input(), {EMU_FILLS[r - reps]}, {n});")
            src += [f"    tpcase{i}_model_invoke();",
                    f"    memcpy(multi_out + {op}, tpcase{i}_model_output(), {m});"]
            op += m
    src += ["}", ""]
    (out_dir / "model.c").write_text("\n".join(src))
    return table


def _build_raw(platform, model_dir: Path, build_dir: Path, kernels: str = "opt") -> Path:
    cmd = ["make", "-s", "-C", str(FIRMWARE), "APP=bench", "BENCH=raw", f"PLATFORM={platform}",
           f"BUILD={build_dir}", f"PYTHON={sys.executable}", f"KERNELS={kernels}", f"MODEL_DIR={model_dir}"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, f"raw firmware build failed:\n{r.stderr[-3000:]}{r.stdout[-2000:]}"
    return build_dir / "raw.elf"


def _run_cases(platform, kinds, tmp_path, kernels: str = "opt"):
    """The random cases of `kinds` in one image, the special cases in another
    (together they outgrow the M55's 512 KiB of RAM)."""
    cases, descs = [], []
    for kind, count in kinds.items():
        for index in range(count):
            model, desc = make_case(kind, index)
            cases.append((model, _inputs(input_size(model), seed=index)[:1]))
            descs.append(f"{kind}-{index}: {desc}")
    _run_batch(platform, cases, descs, tmp_path / "random", kernels)
    special = special_cases()
    _run_batch(platform, [(model, _inputs(input_size(model), seed=5)[:1]) for _, model in special],
               [name for name, _ in special], tmp_path / "special", kernels)


def _run_batch(platform, cases, descs, tmp_path: Path, kernels: str):
    table = _multi_model(cases, tmp_path / "model")
    elf = _build_raw(platform, tmp_path / "model", tmp_path / "build", kernels)

    from harness.dut import OUTPUTS, open_dut

    data = b"".join(x.tobytes() for _, x in cases)
    with open_dut(platform, elf) as dut:
        dut.load(data)
        result = dut.infer(1, 0)
        assert result.results == [float(sum((r + len(EMU_FILLS)) * m for _, r, _, m in table))]
        # One long hex line: allow more than the protocol's 5 s per line.
        lines = dut.send("outputs", line_timeout=120.0)
        hexes = [m["hex"] for m in map(OUTPUTS.search, lines) if m]
        assert hexes, lines[-3:]
        got = np.frombuffer(bytes.fromhex(hexes[0]), dtype=np.int8)
    bad, pos = [], 0
    for (model, x), desc, (_, reps, n, m) in zip(cases, descs, table):
        fills = [np.full((1, n), v, np.int8) for v in EMU_FILLS]
        want = run_tflm(model, np.concatenate([x] + fills)).reshape(-1)
        mine = got[pos:pos + (reps + len(EMU_FILLS)) * m]
        pos += (reps + len(EMU_FILLS)) * m
        if not np.array_equal(mine, want):
            bad.append(f"{desc}: {int(np.sum(mine != want))} bytes differ")
    assert pos == len(got)
    assert not bad, f"{len(bad)}/{len(cases)} cases differ from TFLM:\n" + "\n".join(bad[:10])


@needs_toolchain
@pytest.mark.heavy
def test_single_ops_in_emulation_m4(tmp_path):
    _run_cases("cortex-m4", KINDS, tmp_path)


@needs_toolchain
@pytest.mark.heavy
@pytest.mark.parametrize("platform", ["cortex-m4", "cortex-m0plus"])
def test_reference_kernels_single_ops_in_emulation(platform, tmp_path):
    """The portable reference set, compiled for the target (ARMv6-M included), on the same cases."""
    _run_cases(platform, KINDS, tmp_path, kernels="ref")


@needs_toolchain
@pytest.mark.heavy
@pytest.mark.slow
@pytest.mark.parametrize("platform", ["cortex-m7", "cortex-m33", "cortex-m55"])
def test_single_ops_in_emulation_other_cores(platform, tmp_path):
    _run_cases(platform, {k: n // 2 for k, n in KINDS.items()}, tmp_path)


# --------------------------------------------------------------------------
# (c) the opt kernel logic on the host, with C models of the DSP instructions

HOST_CC = os.environ.get("CC", "cc")
HOST_CFLAGS = ["-std=c11", "-O1", "-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter",
               "-DTP_OPT_EMULATE"] + os.environ.get("TP_HOST_CFLAGS", "").split()
HOST_COUNTS = {"conv2d": 100, "depthwise_conv2d": 100, "fully_connected": 80, "add": 60,
               "avgpool2d": 60, "broadcast": 40, "depthwise_multiplier_dilation": 40}


def _opt_sources():
    """As the Makefile picks them: each opt/NAME.c with its folder opt/NAME/*.c, else NAME.c."""
    out = []
    for f in sorted(os.listdir(KERNELS)):
        if f.endswith(".c"):
            opt = KERNELS / "opt" / f
            out += [opt, *sorted((KERNELS / "opt" / f[:-2]).glob("*.c"))] if opt.exists() else [KERNELS / f]
    return out


@pytest.fixture(scope="module")
def host_opt_objects(tmp_path_factory):
    d = tmp_path_factory.mktemp("optobj")
    objs = []
    for s in _opt_sources():
        o = d / (s.name + ".o")
        subprocess.run([HOST_CC] + HOST_CFLAGS + ["-I", str(KERNELS), "-c", str(s), "-o", str(o)],
                       check=True)
        objs.append(str(o))
    return objs


def _run_host_opt(objs, model, x, work: Path, driver: str = DRIVER_C, edit_model_c=None):
    from modelc.compiler import compile_model

    work.mkdir(parents=True, exist_ok=True)
    (work / "m.tflite").write_bytes(model)
    compile_model(str(work / "m.tflite"), str(work))
    if edit_model_c:
        (work / "model.c").write_text(edit_model_c((work / "model.c").read_text()))
    (work / "driver.c").write_text(driver)
    exe = work / "run"
    subprocess.run([HOST_CC] + HOST_CFLAGS + ["-I", str(KERNELS), "-I", str(work), str(work / "driver.c"),
                    str(work / "model.c")] + objs + ["-o", str(exe)], check=True)
    r = subprocess.run([str(exe)], input=np.ascontiguousarray(x, np.int8).tobytes(),
                       stdout=subprocess.PIPE, check=True)
    return np.frombuffer(r.stdout, np.int8).reshape(len(x), -1)


HOST_CASES = [(k, i) for k, n in HOST_COUNTS.items() for i in range(n)]


@pytest.mark.heavy
@pytest.mark.parametrize("kind", sorted(HOST_COUNTS))
def test_opt_logic_on_host(kind, host_opt_objects, tmp_path):
    bad = []
    cases = [make_case(kind, i) + (i,) for i in range(HOST_COUNTS[kind])]
    if kind == "conv2d":
        cases += [(m, name, 5) for name, m in special_cases()]
    for j, (model, desc, seed) in enumerate(cases):
        x = _inputs(input_size(model), seed, n_random=4)
        want = run_tflm(model, x)
        got = _run_host_opt(host_opt_objects, model, x, tmp_path / f"c{j}")
        if not np.array_equal(got, want):
            bad.append(f"{desc}: {int(np.sum(got != want))} bytes differ")
    assert not bad, f"{len(bad)}/{len(cases)} differ:\n" + "\n".join(bad[:10])


# The conv's work area (firmware/kernels/tp_prepare.h): the driver above leaves it to be
# prepared on the first call; here model_prepare() fills it before the runs, or the
# layers have none (.work NULL: prepared on every call).
PREPARATIONS = {
    "model_prepare": (DRIVER_C.replace("int main(void)\n{\n", "int main(void)\n{\n    model_prepare();\n"), None),
    "no work area": (DRIVER_C, lambda src: "\n".join(ln for ln in src.splitlines() if "_work" not in ln)),
}


@pytest.mark.parametrize("mode", sorted(PREPARATIONS))
def test_conv_preparation_modes_on_host(mode, host_opt_objects, tmp_path):
    driver, edit = PREPARATIONS[mode]
    assert driver.count("model_prepare();") == (mode == "model_prepare")
    bad = []
    for i in range(12):
        model, desc = make_case("conv2d", i)
        x = _inputs(input_size(model), i, n_random=2)
        work = tmp_path / f"c{i}"
        got = _run_host_opt(host_opt_objects, model, x, work, driver, edit)
        assert (".work = " in (work / "model.c").read_text()) == (edit is None)
        if not np.array_equal(got, run_tflm(model, x)):
            bad.append(desc)
    assert not bad, f"{len(bad)}/12 differ: {bad[:5]}"
# --------------------------------------------------------------------------
# (d) depthwise with a depth multiplier above 1: its own DSP path


def _multiplier_cases(count: int = 16):
    """Random depthwise layers with depth multiplier 2 or 3 (kernel, stride, dilation, padding, batches
    and channel count as random_conv2d draws them), then multipliers 4 and 8 over several kernels."""
    from tests.support.tflite_builder import _conv_spec, random_conv2d, single_op_model

    rng = np.random.default_rng(1414)
    cases = []
    while len(cases) < count:
        spec, desc = random_conv2d(rng, depthwise=True)
        if spec.options["DepthMultiplier"] > 1:
            cases.append((single_op_model(spec), desc))
    for dm, k, ic, stride, padding in ((4, (3, 3), 5, (1, 1), "SAME"), (8, (5, 5), 3, (2, 2), "SAME"),
                                       (4, (1, 1), 6, (1, 1), "VALID"), (2, (3, 3), 16, (2, 1), "VALID")):
        spec = _conv_spec(rng, (1, 7, 9, ic), 0.05, 3, k, stride, padding, ic * dm, depthwise=True)
        spec.options["DepthMultiplier"] = dm
        cases.append((single_op_model(spec), f"dm={dm} k={k} ic={ic} stride={stride} {padding}"))
    return cases


def test_multiplier_layers_are_not_portable():
    from harness.portable import portable_reason

    params = {"k_h": 3, "k_w": 3, "depth_multiplier": 4, "out_c": 20}
    assert portable_reason("depthwise_conv2d_s8", params, frozenset({"dsp"})) is None
    assert portable_reason("depthwise_conv2d_s8", {**params, "k_h": 7, "k_w": 7},
                           frozenset({"dsp"})) == "49 taps > 32"


@pytest.mark.heavy
def test_depth_multiplier_on_host(host_opt_objects, tmp_path):
    bad = []
    for j, (model, desc) in enumerate(_multiplier_cases()):
        x = _inputs(input_size(model), j, n_random=4)
        got = _run_host_opt(host_opt_objects, model, x, tmp_path / f"c{j}")
        want = run_tflm(model, x)
        if not np.array_equal(got, want):
            bad.append(f"{desc}: {int(np.sum(got != want))} bytes differ")
    assert not bad, f"{len(bad)} differ:\n" + "\n".join(bad)


@needs_toolchain
@pytest.mark.heavy
@pytest.mark.parametrize("platform", ["cortex-m4", "cortex-m55"])
def test_depth_multiplier_in_emulation(platform, tmp_path):
    cases = _multiplier_cases()
    _run_batch(platform, [(model, _inputs(input_size(model), seed=j)[:1]) for j, (model, _) in enumerate(cases)],
               [desc for _, desc in cases], tmp_path, "opt")
