"""`tinyperf run --mode energy` and the energy fields of every perf result (emulated)."""
from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest

from harness.energy import BoardPower, median_line, median_uj, offline_window
from platforms import get_platform
from sim.power import load_power_model


def tinyperf(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def kws_energy(tmp_path_factory):
    out = tmp_path_factory.mktemp("energy")
    proc = tinyperf("run", "kws", "--mode", "perf", "--mode", "energy", "--supply-v", "1.8",
                    "--results", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    (run_dir,) = out.iterdir()
    return json.loads(proc.stdout)["results"][0], run_dir


def test_perf_result_carries_modeled_energy(kws_energy):
    result, run_dir = kws_energy
    model = load_power_model(get_platform("cortex-m4").power)
    assert result["power_model"] == model.model and result["power_model_version"] == model.version
    assert result["supply_v"] == 1.8
    # LDO part: the current is the datasheet's, the power follows the supply
    assert result["average_power_mw"] == pytest.approx(model.run_current_ma(120) * 1.8, rel=1e-4)
    expected = result["average_power_mw"] * result["latency_ms"]  # mW x ms = uJ
    assert result["energy_uj_per_inference"] == pytest.approx(expected, rel=1e-4)
    rows = list(csv.DictReader((run_dir / "results.csv").open()))
    assert float(rows[0]["energy_uj_per_inference"]) == pytest.approx(result["energy_uj_per_inference"])
    assert rows[0]["power_model"] == model.model
    assert "uJ/inf (model)" in (run_dir / "summary.md").read_text()
    assert (run_dir / "energy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"  # the energy window plot


def test_energy_loop_is_the_official_one_and_its_median_is_main_py_s(kws_energy):
    result, _ = kws_energy
    energy = result["energy"]
    assert energy["loop"] == "infer 70 10" and len(energy["windows"]) == 5
    power = BoardPower(energy["active_mw"], energy["idle_mw"])
    windows = [offline_window(power, w["window_us"], w["iterations"]) for w in energy["windows"]]
    assert energy["runner_line"] == median_line(median_uj(windows))
    # The first window has the perf window's input: the same cycles, so the same time per inference
    # (later windows take the next inputs, whose counts differ by a few hundred instructions).
    assert energy["windows"][0]["window_us"] / 70 == pytest.approx(result["latency_ms"] * 1000, rel=1e-6)
    for window in energy["windows"]:
        # Whole 1 ms samples only: below the exact model (active power x window) by under one sample.
        exact_uj = power.active_mw * window["window_us"] / 1000 / 70
        assert 0 <= exact_uj - window["uj_per_inference"] <= power.active_mw / 70 + 1e-6
    assert energy["valid_for_submission"] is True  # five windows of 70 x 0.43 s >= 10 s each


def test_energy_mode_on_a_platform_without_power_model_is_a_one_line_error(tmp_path):
    proc = tinyperf("run", "ad", "-p", "cortex-m55", "--mode", "energy", "--results", str(tmp_path))
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines()[-1].startswith("tinyperf: error: cortex-m55 has no power model")
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("platform", [p.name for p in __import__("platforms").catalog().values() if p.power])
def test_energy_mode_end_to_end_on_every_platform_with_a_power_model(platform, tmp_path):
    proc = tinyperf("run", "ad", "-p", platform, "--mode", "perf", "--mode", "energy", "--results", str(tmp_path),
                    "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)["results"][0]
    model = load_power_model(get_platform(platform).power)
    energy = result["energy"]
    assert energy["power_model"] == model.name and energy["supply_v"] == model.supply_v
    assert energy["active_mw"] == pytest.approx(model.run_power_mw(get_platform(platform).clock_mhz))
    power = BoardPower(energy["active_mw"], energy["idle_mw"])
    windows = [offline_window(power, w["window_us"], w["iterations"]) for w in energy["windows"]]
    assert energy["runner_line"] == median_line(median_uj(windows))
    # every window is about the perf window x 1500 (energy runs `infer 1500 0`, perf `infer 1500 10`:
    # the per-inference cycles differ by a few without the warmups)
    for window in energy["windows"]:
        assert window["window_us"] / 1500 == pytest.approx(result["latency_ms"] * 1000, rel=1e-4)
    assert energy["median_uj_per_inference"] == pytest.approx(result["energy_uj_per_inference"], rel=2e-3)
