"""Models with several inputs and outputs: the input file is the input tensors
concatenated in the model's input order, `outputs%` the output tensors in output
order; verify compares every byte of every output with host TFLM and names the
outputs that differ; single-input, single-output models are left as they were."""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from conftest import needs_toolchain
from test_cli_errors import assert_one_line_error, tinyperf
from tests.support.batch_model import batch_model_header, write_prefixed_case
from tests.support.engines import run_host, run_tflm
from tests.support.tflite_builder import (OpSpec, TensorSpec, build_model, make_case, make_multi_io_case,
                                         multi_io_inputs)

HOST_CASES = 40


def _model(tmp_path: Path, index: int) -> Path:
    path = tmp_path / f"multi{index}.tflite"
    path.write_bytes(make_multi_io_case(index)[0])
    return path


def test_generated_models_have_several_inputs_and_outputs_of_several_types():
    """The generator covers what the tests claim: 2-3 inputs, 2-3 outputs, int8, uint8 and float32."""
    from modelc.reader import read_model

    counts, dtypes = set(), set()
    for index in range(HOST_CASES):
        g = read_model(make_multi_io_case(index)[0])
        counts.add((len(g.inputs), len(g.outputs)))
        dtypes |= {g.tensors[t].dtype for t in g.inputs + g.outputs}
    assert {(2, 2), (3, 3)} <= counts
    assert dtypes == {"INT8", "UINT8", "FLOAT32"}


@pytest.mark.parametrize("index", range(HOST_CASES))
def test_bit_exact_on_host(index):
    model, desc = make_multi_io_case(index)
    x = multi_io_inputs(np.random.default_rng(index), model, 4)
    want, got = run_tflm(model, x), run_host(model, x)
    assert got.shape == want.shape and np.array_equal(got, want), desc


@pytest.mark.parametrize("outputs", [[4, 3], [3, 5], [5, 4, 3], [6, 5]])
def test_outputs_read_by_later_layers_or_aliased_by_reshape(outputs):
    """Outputs that are not leaves: the logits a SOFTMAX reads (3), a RESHAPE of the
    softmax sharing its buffer (5 of 4), and a RESHAPE of the model input (6 of 0)."""
    rng = np.random.default_rng(1)
    tensors = [TensorSpec((1, 49), np.int8, 0.5847, 83),
               TensorSpec((12, 49), np.int8, 0.002, 0, 0, rng.integers(-127, 128, size=(12, 49)).astype(np.int8)),
               TensorSpec((12,), np.int32, 0.5847 * 0.002, 0, 0, rng.integers(-500, 500, 12).astype(np.int32)),
               TensorSpec((1, 12), np.int8, 0.05, -5), TensorSpec((1, 12), np.int8, 1.0 / 256, -128),
               TensorSpec((3, 4), np.int8, 1.0 / 256, -128), TensorSpec((1, 7, 7, 1), np.int8, 0.5847, 83)]
    ops = [OpSpec("FULLY_CONNECTED", [0, 1, 2], [3], "FullyConnectedOptions", {"FusedActivationFunction": 0}),
           OpSpec("SOFTMAX", [3], [4], "SoftmaxOptions", {"Beta": 1.0}),
           OpSpec("RESHAPE", [4], [5]), OpSpec("RESHAPE", [0], [6])]
    model = build_model(ops, [0], outputs, tensors)
    x = rng.integers(-128, 128, size=(5, 49)).astype(np.int8)
    want, got = run_tflm(model, x), run_host(model, x)
    assert got.shape == want.shape == (5, 12 * len(outputs) if 6 not in outputs else 49 + 12)
    assert np.array_equal(got, want)


def test_model_record_lists_every_tensor_in_model_order(tmp_path):
    from harness.modelinfo import record_from_model, split_tensors, tensor_bytes
    from modelc.reader import read_model

    path = _model(tmp_path, 4)
    g = read_model(path.read_bytes())
    record = record_from_model(path)
    for tensors, indices in ((record.inputs, g.inputs), (record.outputs, g.outputs)):
        assert [t["name"] for t in tensors] == [g.tensors[i].name for i in indices]
        assert [tuple(t["shape"]) for t in tensors] == [g.tensors[i].shape for i in indices]
        assert [t["dtype"] for t in tensors] == [g.tensors[i].dtype.lower() for i in indices]
    assert record.input_bytes == sum(g.tensors[i].nbytes for i in g.inputs)
    assert record.output_bytes == sum(g.tensors[i].nbytes for i in g.outputs)
    parts = split_tensors(record.outputs, bytes(range(256)) * 8)
    assert [p.nbytes for p in parts] == [tensor_bytes(t) for t in record.outputs]
    assert [p.dtype.name for p in parts] == [t["dtype"] for t in record.outputs]


def test_generated_header_describes_every_input_and_output(tmp_path):
    from modelc.compiler import compile_model

    path = _model(tmp_path, 4)
    c = compile_model(str(path), str(tmp_path / "out"))
    header = (tmp_path / "out" / "model.h").read_text()
    defines = dict(re.findall(r"^#define (MODEL_\w+) (.+)$", header, re.M))
    assert defines["MODEL_INPUT_COUNT"] == str(len(c.inputs)) == "3"
    assert defines["MODEL_ALL_INPUTS_BYTES"] == str(sum(t.nbytes for t in c.inputs))
    assert defines["MODEL_ALL_OUTPUTS_BYTES"] == str(sum(t.nbytes for t in c.outputs))
    assert defines["MODEL_INPUT_BYTES"] == str(c.inputs[0].nbytes)  # input 0, as closed firmware reads it
    source = (tmp_path / "out" / "model.c").read_text()
    assert source.count("const model_tensor_t model_") == 2


def test_single_io_model_record_is_unchanged(tmp_path):
    """model.json (stored in every image) of a one-input, one-output model has no tensor lists,
    so the closed benchmarks' images keep their bytes; the record reads them as one of each."""
    from harness.modelinfo import record_from_model
    from modelc.compiler import compile_model

    path = tmp_path / "conv.tflite"
    path.write_bytes(make_case("conv2d", 3)[0])
    compile_model(str(path), str(tmp_path / "out"))
    doc = json.loads((tmp_path / "out" / "model.json").read_text())
    assert "inputs" not in doc and "outputs" not in doc
    record = record_from_model(path)
    assert record.inputs == (record.input,) and record.outputs == (record.output,)


def test_differing_outputs_are_named(tmp_path):
    from harness.benchmarks import RAW_ID, Benchmark
    from harness.modelinfo import record_from_model, tensor_bytes
    from harness.reference import differing_outputs
    from harness.report import SampleRecord, Verify, verify_problems

    path = _model(tmp_path, 4)
    record = record_from_model(path)
    bench = Benchmark("m", RAW_ID, path.name, record.input_bytes, "int8", 1, 1, "top1", 0.0, 1, 0, 0,
                      model_source=path)
    expected = np.arange(record.output_bytes, dtype=np.int64).astype(np.int8)
    assert differing_outputs(bench, expected.tobytes(), expected) == []
    got = expected.copy()
    got[tensor_bytes(record.outputs[0]) + 1] += 1  # one byte of output 1
    label = "x".join(map(str, record.outputs[1]["shape"])) + f" {record.outputs[1]['dtype']}"
    assert differing_outputs(bench, got.tobytes(), expected) == [f"output 1 ({label})"]
    records = [SampleRecord("m", "p", f"s{i}", f"s{i}", None, [], [], False,
                            differing_outputs=[f"output 1 ({label})"]) for i in range(2)]
    verify = Verify.from_records(records)
    assert verify.differing_outputs == [f"output 1 ({label}): 2 samples"]
    assert f"output 1 ({label}): 2 samples" in verify_problems(verify)[0]


def test_synthetic_inputs_fill_every_input(tmp_path):
    from harness.datasets import default_inputs
    from harness.modelinfo import record_from_model, split_tensors
    from harness.openmodel import open_benchmark

    path = _model(tmp_path, 12)  # float32, float32 and int8 inputs
    bench = open_benchmark(path)
    record = record_from_model(path)
    samples = default_inputs(bench, 3)
    assert all(len(s.data) == record.input_bytes == bench.input_bytes for s in samples)
    for tensor, part in zip(record.inputs, split_tensors(record.inputs, samples[0].data)):
        if tensor["dtype"] == "float32":
            q = tensor["quantized_as"]
            lo, hi = (-128 - q["zero_point"]) * q["scale"], (127 - q["zero_point"]) * q["scale"]
            margin = 0.1 * (hi - lo) + 1e-6
            assert np.isfinite(part).all() and lo - margin <= part.min() and part.max() <= hi + margin


def test_wrong_input_file_size_is_one_line_naming_both_sizes(tmp_path):
    from harness.modelinfo import record_from_model

    path = _model(tmp_path, 12)
    record = record_from_model(path)
    root = tmp_path / "ds" / "raw"
    root.mkdir(parents=True)
    (root / "a.bin").write_bytes(bytes(record.input_bytes - 4))
    (root / "y_labels.csv").write_text(f"a.bin,{math.prod(record.output['shape'])},0\n")
    proc = tinyperf("run", "--model", str(path), "-p", "cortex-m4", "--dataset-path", str(tmp_path / "ds"),
                    "--results", str(tmp_path / "r"))
    assert_one_line_error(proc, f"a.bin has {record.input_bytes - 4} bytes",
                          f"3 input tensors take {record.input_bytes} bytes together", "input order")


@needs_toolchain
def test_benchmark_firmware_refuses_a_model_of_several_inputs(tmp_path):
    proc = tinyperf("run", "kws", "--model", str(_model(tmp_path, 4)), "-p", "cortex-m4",
                    "--results", str(tmp_path / "r"))
    assert_one_line_error(proc, "3 inputs", "kws firmware needs", "--model")


def _kws_with_a_second_output(path: Path) -> None:
    """kws-shaped (490 int8 in, 12-way softmax out 0) with a float32 output 1 of 5 values."""
    rng = np.random.default_rng(1)
    tensors = [TensorSpec((1, 490), np.int8, 0.5847, 83),
               TensorSpec((12, 490), np.int8, 0.002, 0, 0, rng.integers(-127, 128, size=(12, 490)).astype(np.int8)),
               TensorSpec((12,), np.int32, 0.5847 * 0.002, 0, 0, rng.integers(-500, 500, 12).astype(np.int32)),
               TensorSpec((1, 12), np.int8, 0.3, -5), TensorSpec((1, 12), np.int8, 1.0 / 256, -128),
               TensorSpec((5, 490), np.int8, 0.002, 0, 0, rng.integers(-127, 128, size=(5, 490)).astype(np.int8)),
               TensorSpec((1, 5), np.int8, 0.4, 3), TensorSpec((1, 5), np.float32)]
    ops = [OpSpec("FULLY_CONNECTED", [0, 1, 2], [3], "FullyConnectedOptions", {"FusedActivationFunction": 0}),
           OpSpec("SOFTMAX", [3], [4], "SoftmaxOptions", {"Beta": 1.0}),
           OpSpec("FULLY_CONNECTED", [0, 5, -1], [6], "FullyConnectedOptions", {"FusedActivationFunction": 0}),
           OpSpec("DEQUANTIZE", [6], [7])]
    path.write_bytes(build_model(ops, [0], [4, 7], tensors))


@needs_toolchain
def test_benchmark_firmware_prints_results_of_output_0(tmp_path):
    """`run kws --model` with a model of two outputs: m-results are output 0's 12 values
    as the kws firmware prints them; outputs% (and verify) hold both outputs."""
    path = tmp_path / "kws2.tflite"
    _kws_with_a_second_output(path)
    proc = tinyperf("run", "kws", "--model", str(path), "-p", "cortex-m4", "-n", "3", "--json",
                    "--results", str(tmp_path / "r"), timeout=300)
    assert proc.returncode == 0, proc.err
    doc = json.loads(proc.out)
    result = doc["results"][0] if "results" in doc else doc[0]
    assert result["verify"]["bit_exact"] == result["verify"]["byte_compared"] == 3
    transcript = next((tmp_path / "r").iterdir()).joinpath("transcript.log").read_text()
    results = re.findall(r"m-results-\[([^\]]*)\]", transcript)
    outputs = re.findall(r"m-outputs-\[([0-9a-f]*)\]", transcript)
    assert results and all(len(r.split(",")) == 12 for r in results)
    assert outputs and all(len(o) == 2 * (12 + 5 * 4) for o in outputs)


@needs_toolchain
def test_firmware_refuses_an_input_of_the_wrong_size(tmp_path):
    from harness.dut import DutError, open_dut
    from harness.modelinfo import record_from_model
    from harness.openmodel import build_for, open_benchmark
    from platforms import get_platform

    path = _model(tmp_path, 7)
    elf = build_for(open_benchmark(path), get_platform("cortex-m4"))
    size = record_from_model(path).input_bytes
    with open_dut("cortex-m4", elf) as dut:
        dut.load(bytes(size - 1), via="uart")
        with pytest.raises(DutError, match=rf"Input db has {size - 1} bytes, expected {size}"):
            dut.infer(1, 0)


# Several models per platform and kernel set; every output byte of every sample
# checked against host TFLM through `tinyperf run --model` (perf + verify).
EMULATED = [(p, k, i) for p in ("cortex-m4", "cortex-m55") for k in ("ref", "opt") for i in (4, 7, 12)]


@needs_toolchain
@pytest.mark.parametrize("platform,kernels,index", EMULATED, ids=[f"{p}-{k}-{i}" for p, k, i in EMULATED])
def test_bit_exact_in_emulation(platform, kernels, index, tmp_path):
    from harness.modelinfo import record_from_model
    from harness.openmodel import perf_iterations

    path = _model(tmp_path, index)
    proc = tinyperf("run", "--model", str(path), "-p", platform, "--kernels", kernels, "-n", "4", "--json",
                    "--results", str(tmp_path / "r"), timeout=300)
    assert proc.returncode == 0, proc.err
    doc = json.loads(proc.out)
    result = doc["results"][0] if "results" in doc else doc[0]
    record = record_from_model(path)
    assert result["verify"]["bit_exact"] == result["verify"]["samples"] == 4
    assert result["macs"] == record.macs > 0
    assert result["perf"]["iterations"] == perf_iterations(record.macs)
    assert result["instructions_per_inference"] > 0
    samples = [json.loads(line) for line in next((tmp_path / "r").iterdir()).joinpath("samples.jsonl")
               .read_text().splitlines()]
    # The result vector of a raw model is output 0, dequantised: as many values as output 0 holds.
    assert all(len(s["dut"]) == math.prod(record.output["shape"]) for s in samples)


@needs_toolchain
def test_image_carries_the_tensor_lists(tmp_path):
    """The ELF's .tinyperf.model record lists every input and output, so a copied
    image is split and verified per tensor without its .tflite at hand."""
    from harness.modelinfo import record_from_elf, record_from_model
    from harness.openmodel import build_for, open_benchmark
    from platforms import get_platform

    path = _model(tmp_path, 7)
    record = record_from_elf(build_for(open_benchmark(path), get_platform("cortex-m4")))
    want = record_from_model(path)
    assert len(record.inputs) == 3 and record.inputs == want.inputs and record.outputs == want.outputs


# --------------------------------------------------------------------------
# Many random models in one image: each case's modelc output in a translation
# unit of its own (globals renamed), behind a hand-written model.h of one input
# and one output (the blobs of every case), as tests/test_kernels_opt.py does
# for single operators.  Each case runs on ROWS inputs sent over the protocol.

BATCH_CASES, ROWS = 24, 2
BATCHES = [("cortex-m4", "ref"), ("cortex-m4", "opt"), ("cortex-m55", "ref"), ("cortex-m55", "opt"),
           ("cortex-m0plus", "ref"), ("cortex-m7", "opt"), ("cortex-m33", "opt")]


def _batch_model(cases, out_dir: Path) -> tuple[int, int]:
    from modelc.compiler import compile_model

    out_dir.mkdir(parents=True)
    src = ['#include <string.h>', '#include "model.h"', "",
           "typedef struct { int8_t *data; uint32_t bytes; } case_tensor_t;"]
    body, prepare, in_at, out_at = [], [], 0, 0
    for i, (model, _) in enumerate(cases):
        d = out_dir / f"case{i}"
        d.mkdir()
        (d / "m.tflite").write_bytes(model)
        c = compile_model(str(d / "m.tflite"), str(d))
        write_prefixed_case(out_dir, i, [L.symbol for L in c.layers])
        src += [f"extern const case_tensor_t tpcase{i}_model_inputs[{len(c.inputs)}];",
                f"extern const case_tensor_t tpcase{i}_model_outputs[{len(c.outputs)}];",
                f"void tpcase{i}_model_prepare(void);", f"void tpcase{i}_model_invoke(void);"]
        prepare.append(f"    tpcase{i}_model_prepare();")
        for _ in range(ROWS):
            for k, t in enumerate(c.inputs):
                body.append(f"    memcpy(tpcase{i}_model_inputs[{k}].data, blob_in + {in_at}, {t.nbytes});")
                in_at += t.nbytes
            body.append(f"    tpcase{i}_model_invoke();")
            for k, t in enumerate(c.outputs):
                body.append(f"    memcpy(blob_out + {out_at}, tpcase{i}_model_outputs[{k}].data, {t.nbytes});")
                out_at += t.nbytes
    (out_dir / "model.h").write_text(batch_model_header("tests/test_multi_io.py", "multi_io_batch", in_at, out_at))
    src += ["static int8_t blob_in[MODEL_INPUT_BYTES] __attribute__((aligned(4)));",
            "static int8_t blob_out[MODEL_OUTPUT_BYTES] __attribute__((aligned(4)));",
            "int8_t *model_input(void) { return blob_in; }",
            "int8_t *model_output(void) { return blob_out; }",
            'const model_layer_info_t model_layers[1] = {{"batch", "MULTI_IO", 0u}};',
            "void model_prepare(void)", "{", *prepare, "}",
            "void model_invoke(void)", "{", *body, "}", ""]
    (out_dir / "model.c").write_text("\n".join(src))
    return in_at, out_at


@needs_toolchain
@pytest.mark.heavy
@pytest.mark.parametrize("platform,kernels", BATCHES, ids=[f"{p}-{k}" for p, k in BATCHES])
def test_many_models_bit_exact_in_emulation(platform, kernels, tmp_path):
    import subprocess
    import sys

    from harness.dut import OUTPUTS, open_dut
    from tests.support.engines import FIRMWARE

    cases = []
    for index in range(BATCH_CASES):
        model, desc = make_multi_io_case(index)
        cases.append((model, desc, multi_io_inputs(np.random.default_rng([7, index]), model, ROWS)))
    in_bytes, out_bytes = _batch_model([(m, d) for m, d, _ in cases], tmp_path / "model")
    build = tmp_path / "build"
    r = subprocess.run(["make", "-s", "-C", str(FIRMWARE), "APP=bench", "BENCH=raw", f"PLATFORM={platform}",
                        f"BUILD={build}", f"PYTHON={sys.executable}", f"KERNELS={kernels}",
                        f"MODEL_DIR={tmp_path / 'model'}"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    with open_dut(platform, build / "raw.elf") as dut:
        dut.load(b"".join(x.tobytes() for _, _, x in cases))
        assert dut.infer(1, 0).results == [float(out_bytes)]
        hexes = [m["hex"] for m in map(OUTPUTS.search, dut.send("outputs", line_timeout=120.0)) if m]
    got = np.frombuffer(bytes.fromhex(hexes[0]), dtype=np.int8)
    assert got.size == out_bytes
    bad, at = [], 0
    for model, desc, x in cases:
        want = run_tflm(model, x).reshape(-1)
        if not np.array_equal(got[at:at + want.size], want):
            bad.append(desc)
        at += want.size
    assert at == out_bytes and not bad, f"{len(bad)}/{len(cases)} models differ from TFLM: {bad[:5]}"
