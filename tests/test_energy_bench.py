"""`tinyperf serve --energy`: the interface board and LPM01A, driven with the runner's own command
sequence (recorded from reading benchmark/runner in mlcommons/tiny), and the energy the emulated
devices yield, integrated as main.py does, against `tinyperf run --mode energy`."""
from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from harness.benchmarks import get_benchmark
from harness.benchdevices import BoardActivity, PowerMonitor, parse_volts
from harness.datasets import default_inputs
from harness.energy import EnergyWindow, median_line, median_uj, runner_window
from platforms import get_platform
from sim.power import load_power_model
from tests.support.energy_clients import InterfaceClient, MonitorClient

ROOT = Path(__file__).resolve().parents[1]

# What LPMCommands.setup() sends (power_manager_lpm.py), then power_on() with the yaml's 1.8 V.
LPM_SETUP = ["htc", 'lcd 1 "MLPerf Tiny"', 'lcd 2 "     monitor    "', "pwr off", "acqtime inf", "trigdelay 0",
             "trigsrc sw", "eventsrc d7 fal", "output energy", "format ascii_dec", "freq 1k", "volt 1800m"]
LPM_POWER_ON = ['lcd 2 "           1.8V "', "pwr on nostatus"]
MAX_BYTES = 26  # device_under_test.py: bytes per `db` command when a power manager is present


class EnergyServe:
    """`tinyperf serve BENCH --energy` in a subprocess; the three paths it printed."""

    def __init__(self, *args: str):
        self.args = args
        self.paths: dict[str, str] = {}

    def __enter__(self) -> EnergyServe:
        self.proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "serve", *self.args, "--energy"],
                                     cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.err = bytearray()
        threading.Thread(target=lambda: [self.err.extend(c) for c in iter(lambda: self.proc.stderr.read1(4096), b"")],
                         daemon=True).start()
        out = b""
        deadline = time.monotonic() + 120
        while out.count(b"\n") < 3:
            assert time.monotonic() < deadline and self.proc.poll() is None, bytes(self.err)
            if select.select([self.proc.stdout], [], [], 1)[0]:
                out += os.read(self.proc.stdout.fileno(), 1024)
        self.paths = dict(line.split(" ", 1) for line in out.decode().splitlines())
        return self

    def __exit__(self, *exc) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def load(io: InterfaceClient, data: bytes) -> None:
    assert io.dut(f"db load {len(data)}")[0] == f"m-[Expecting {len(data)} bytes]"
    for i in range(0, len(data), MAX_BYTES):
        reply = io.dut("db " + data[i:i + MAX_BYTES].hex())
    assert reply[0] == "m-load-done"


def replay_energy_mode(paths: dict[str, str], bench: str, inputs: list[bytes], loop: str) -> list[EnergyWindow]:
    """The runner's energy-mode exchange: monitor setup, power on, start, DUT identification through
    the interface board, then five times download + start + `infer` + stop."""
    lpm, io = MonitorClient(paths["power"]), InterfaceClient(paths["interface"])
    windows = []
    try:
        for command in LPM_SETUP + LPM_POWER_ON + ["start"]:
            assert lpm.command(command)[-1] == f"ack {command}"
        assert io.command("name") == ["m-name-[tinyperf-io-manager]", "m-ready"]
        assert io.dut("name")[0].startswith("m-name-dut-[")
        assert io.dut("profile")[1] == f"m-model-[{get_benchmark(bench).id}]"
        iterations = int(loop.split()[1])
        for data in inputs:
            load(io, data)
            assert lpm.command("start") == ["ack start"]
            reply = io.dut(loop)
            assert any(line.startswith("m-results-[") for line in reply) and reply[-1] == "m-ready"
            lpm.stop()
            samples, events = lpm.take()
            windows.append(EnergyWindow(iterations, samples, events))
        lpm.command("pwr off")
        lpm.stop()  # tear_down: stop with no acquisition running still completes
        assert lpm.command("hrc") == ["ack hrc"]
    finally:
        lpm.close()
        io.close()
    return windows


# A generic core (windows from the cost model over the window's blocks) and a board with memory
# timing (the same, plus the memory stalls of the input each window ran on, measured per input:
# about 7 minutes).
@pytest.mark.parametrize("bench, loop, platform", [
    ("kws", "infer 70 10", "cortex-m4"),
    pytest.param("ad", "infer 1500 0", "nucleo-l4r5zi", marks=pytest.mark.heavy),
])
def test_emulated_bench_yields_the_energy_of_tinyperf_run(tmp_path, bench, loop, platform):
    inputs = [s.data for s in default_inputs(get_benchmark(bench), 10, 0)[:5]]
    with EnergyServe(bench, "--no-pace", "-p", platform) as served:
        windows = replay_energy_mode(served.paths, bench, inputs, loop)
    for window in windows:
        assert [c for c, _ in window.events] == [1, 2]
        assert runner_window(window)["elapsed_s"] > 10
    emulated = median_line(median_uj(windows))
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "run", bench, "-p", platform, "--mode", "energy",
                           "--supply-v", "1.8", "--results", str(tmp_path), "--json"],
                          cwd=ROOT, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr
    energy = json.loads(proc.stdout)["results"][0]["energy"]
    assert emulated == energy["runner_line"]
    per_window = [runner_window(w)["uj_per_inference"] for w in windows]
    assert per_window == pytest.approx([w["uj_per_inference"] for w in energy["windows"]], rel=1e-12)


def test_monitor_protocol_replies_and_errors():
    model = load_power_model(get_platform("cortex-m4").power)
    monitor = PowerMonitor(model, 120.0, BoardActivity())
    monitor.start()
    lpm = MonitorClient(monitor.path)
    try:
        assert lpm.command("powershield") == ["ack powershield PowerShield present tinyperf-emulated-LPM01A"]
        assert lpm.command("volt 3300m") == ["ack volt 3300m"] and monitor.supply_v == 3.3
        assert lpm.command("volt get") == ["ack volt get 3300m"]
        assert lpm.command("volt 5000m") == ["error volt 5000m", "Error detail: voltage out of range [1800m; 3300m]"]
        assert lpm.command("frobnicate") == ["error frobnicate", "Error detail: unknown command"]
        assert lpm.command("start") == ["ack start"]
        time.sleep(0.3)
        lpm.stop()
        samples, events = lpm.take()
        # idle only: about one sample per host millisecond, each the idle power over 1 ms at 3.3 V
        assert 200 <= len(samples) <= 400 and events == []
        idle_j = model.idle_power_mw(120, 3.3) * 1e-6
        assert all(s == pytest.approx(idle_j, rel=1e-3) for s in samples)
    finally:
        lpm.close()
        monitor.close()


def test_monitor_places_events_around_a_window_and_holds_samples_until_it_ends():
    model = load_power_model(get_platform("cortex-m4").power)
    activity = BoardActivity()
    monitor = PowerMonitor(model, 120.0, activity)
    monitor.start()
    lpm = MonitorClient(monitor.path)
    try:
        lpm.command("start")
        time.sleep(0.05)
        activity.edge("begin", 1000.0)
        time.sleep(0.1)  # the end is not known yet: nothing past the window's start goes out
        held = len(lpm.samples)
        time.sleep(0.1)
        assert len(lpm.samples) == held and [c for c, _ in lpm.events] == [1]
        activity.edge("end", 0.0, window_us=2_500_400.0)  # the exact length wins over board us
        lpm.stop()
        samples, events = lpm.take()
        start = events[0][1]
        assert events == [(1, start), (2, start + 2500)]
        active_j = model.run_power_mw(120) * 1e-6
        assert samples[start:start + 2500] == [pytest.approx(active_j, rel=1e-3)] * 2500
        assert samples[start + 2500] < active_j  # the mixed sample after the end event
    finally:
        lpm.close()
        monitor.close()


def test_interface_relays_with_the_dut_prefix_and_answers_its_own_commands():
    with EnergyServe("ad", "--no-pace") as served:
        io = InterfaceClient(served.paths["interface"])
        try:
            assert io.command("dut name")[1] == "m-ready"
            name = io.next_line()
            assert name.startswith("[dut]: m-name-dut-[") and io.next_line() == "[dut]: m-ready"
            assert io.command("timestamp")[0].startswith("m-lap-us-")
            assert io.command("bogus") == ["e-[Unknown command: bogus]", "m-ready"]
            assert io.command("tm 0") == ["m-timestmp-mode-FALLING", "m-[Timer disabled after mode change]", "m-ready"]
            assert io.command("enable-timer") == ["m-timer-enabled", "m-ready"]
            assert io.command("disable-timer") == ["m-timer-disabled", "m-ready"]
            assert io.dut("infer 0")[0] == "e-[Inference iterations must be >0]"
        finally:
            io.close()


def test_volts_parse_as_the_lpm01a_takes_them():
    assert parse_volts("1800m") == 1.8 and parse_volts("3.3") == 3.3
    with pytest.raises(ValueError):
        parse_volts("900m")


def test_serve_energy_without_power_model_is_a_usage_error():
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "serve", "ad", "-p", "cortex-m55", "--energy"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("tinyperf: error: cortex-m55 has no power model")
