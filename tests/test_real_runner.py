"""The official MLPerf Tiny runner itself (mlcommons/tiny benchmark/runner, unmodified) in energy mode
against tinyperf's emulated interface board and LPM01A: its median line must equal `tinyperf run
--mode energy` on the same firmware, board, inputs and supply.

The runner is not part of tinyperf: set TINYPERF_RUNNER_DIR to a copy of benchmark/runner whose
dependencies (pyserial, pyyaml, numpy, scikit-learn, matplotlib, pyusb, joulescope) this Python can
import.  Slow (five `infer 70 10` windows, twice): minutes."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness.datasets import default_inputs

ROOT = Path(__file__).resolve().parents[1]
RUNNER = os.environ.get("TINYPERF_RUNNER_DIR")
MEDIAN = re.compile(r"Median energy cost is ([0-9.]+) uJ/inf\.")

pytestmark = pytest.mark.skipif(
    not RUNNER, reason="TINYPERF_RUNNER_DIR is not set (a copy of mlcommons/tiny benchmark/runner with its "
                       "dependencies importable here); the official runner is not part of tinyperf")


def kws_dataset(root: Path) -> Path:
    """Five kws inputs in the runner's layout (`kws01/y_labels.csv` + files), in `download` order."""
    folder = root / "kws01"
    folder.mkdir()
    rows = []
    for i, sample in enumerate(default_inputs("kws", 5)):
        (folder / f"input_{i}.bin").write_bytes(sample.data)
        rows.append(f"input_{i}.bin,12,0")
    (folder / "y_labels.csv").write_text("\n".join(rows) + "\n")
    return root


def median(command: list[str], cwd: Path) -> float:
    proc = subprocess.run([sys.executable, "-m", "harness.cli", *command], cwd=cwd, capture_output=True, text=True,
                          timeout=3600)
    found = MEDIAN.findall(proc.stdout)
    assert proc.returncode == 0 and found, proc.stdout[-3000:] + proc.stderr[-3000:]
    return float(found[-1])


@pytest.mark.parametrize("platform", ["nucleo-l4r5zi", "cortex-m4"])
def test_the_official_runners_energy_median_is_tinyperf_runs(tmp_path, platform):
    datasets = kws_dataset(tmp_path)
    runner = median(["runner", RUNNER, "--bench", "kws", "-p", platform, "--no-pace", "--",
                     "-m", "e", "-d", "devices_kws_ic_vww.yaml", "-s", str(datasets)], ROOT)
    # devices_kws_ic_vww.yaml sets the LPM01A to 1.8 V
    ours = median(["run", "kws", "-p", platform, "--mode", "energy", "--supply-v", "1.8",
                   "--dataset-path", str(datasets), "--results", str(tmp_path / "results")], ROOT)
    assert runner == ours
