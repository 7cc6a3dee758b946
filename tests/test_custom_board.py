"""A board described by a user from the schema's documentation alone: the
worked example of README's "Describe your board" (the TOML block there, run
as it stands) loads, runs the cortex-m33 prebuilt ELF it names, and charges
flash data stalls on top of the core's compute cycles."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from harness.target import resolve_platform
from platforms import get_platform

ROOT = Path(__file__).resolve().parents[1]


def readme_board_toml() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Describe your board", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```toml\n(.*?)```", section, re.S)
    assert block, "README's 'Describe your board' has no toml block"
    return block.group(1)


@pytest.fixture
def my_board(tmp_path) -> Path:
    path = tmp_path / "my-board.toml"
    path.write_text(readme_board_toml())
    return path


def test_the_readme_board_loads_with_its_timing_and_runs_the_cores_prebuilt_elfs(my_board):
    board = resolve_platform(my_board)
    assert (board.name, board.clock_mhz, board.in_catalog, board.runs_prebuilt) == ("my-board", 200.0, False, True)
    flash = next(r for r in board.memory_timing.regions if r.name == "flash")
    assert (flash.data_wait_states, flash.access_bytes) == (3, 16)
    assert board.memory_timing.cache_for("flash", "data").size == 4096
    # a different link map (or core) cannot run the core's ELFs: built from source instead
    assert not replace(board, ram=get_platform("cortex-m4").ram).runs_prebuilt
    assert not replace(board, prebuilt_from="no-such-platform").runs_prebuilt


def test_the_readme_board_runs_a_benchmark_and_charges_flash_data_stalls(my_board, tmp_path):
    run = subprocess.run([sys.executable, "-m", "harness.cli", "run", "ad", "-p", str(my_board), "--mode", "perf",
                          "--kernels", "opt", "--json", "--results", str(tmp_path / "results")],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    perf = json.loads(run.stdout)["results"][0]["perf"]
    stalls = perf["stall_cycles_per_inference"]
    assert stalls.get("flash_data_fill", 0) > 0  # ad's weights stream from flash through the cache
    assert perf["cycles_per_inference"] == pytest.approx(perf["compute_cycles_per_inference"] + sum(stalls.values()),
                                                         abs=0.01)
    assert perf["latency_ms"] == pytest.approx(perf["cycles_per_inference"] / 200e3)
    assert perf["cycle_model"].endswith("+ memory of my-board")
