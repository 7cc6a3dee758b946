"""Our `db file PATH` extension loads exactly what the official hex path loads."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from conftest import needs_toolchain
from firmware_bins import prebuilt
from harness.datasets import default_inputs
from harness.dut import DutError, open_dut

pytestmark = needs_toolchain


@pytest.mark.parametrize("bench", ["kws", "ad"])
def test_file_and_uart_loading_agree(bench):
    with open_dut("cortex-m4", prebuilt("cortex-m4", bench)) as dut:
        assert dut.loads_files
        for sample in default_inputs(bench, 3, seed=11):
            outputs = []
            for via in ("uart", "file"):
                dut.load(sample.data, via=via)
                dumped = [ln for ln in dut.send("db print") if ln.startswith("m-buffer-")]
                result = dut.infer(1, 0)
                outputs.append((dumped, result.results, dut.outputs()))
            assert outputs[0] == outputs[1]


def test_db_file_errors_change_nothing():
    tmp_path = Path(tempfile.mkdtemp(prefix="tp-", dir="/tmp"))  # short: commands hold 80 characters
    big = tmp_path / "big.bin"
    big.write_bytes(bytes(491))
    with open_dut("cortex-m4", prebuilt("cortex-m4", "kws")) as dut:
        dut.load(bytes(range(200)) * 2 + bytes(90), via="uart")
        before = dut.send("db print")
        with pytest.raises(DutError, match=r"e-\[Input file exceeds maximum of 490 bytes\]"):
            dut.send(f"db file {big}")
        with pytest.raises(DutError, match=r"e-\[Cannot read input file\]"):
            dut.send(f"db file {tmp_path}/missing.bin")
        with pytest.raises(DutError, match=r"e-\[Command 'db file' requires a path\]"):
            dut.send("db file")
        assert dut.send("db print") == before
    shutil.rmtree(tmp_path)
