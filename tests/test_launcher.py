"""`tinyperf runner`: main.py of a runner folder in-process, with port enumeration patched.

The official runner is not available offline; tests/support/fake_runner/main.py is ours and finds
its devices the way the runner does (comports + devices.yaml VID/PID, usb.core.find)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness import launcher

ROOT = Path(__file__).resolve().parents[1]
FAKE = ROOT / "tests" / "support" / "fake_runner"


def tinyperf_runner(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness.cli", "runner", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_energy_mode_sees_the_interface_board_and_the_lpm01a_only():
    proc = tinyperf_runner(str(FAKE), "--bench", "ad", "--no-pace", "--", "-m", "e")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.splitlines()
    assert "args ['-m', 'e'] cwd-is-runner True" in out
    assert "found [('interface', 'arduino'), ('power', 'lpm01a')]" in out  # arduino preferred: plain IOManager
    assert "usb-only devices 0" in out
    assert "interface ['m-dut-passthrough(name)', 'm-ready', '[dut]: m-name-dut-[tinyperf]', '[dut]: m-ready']" in out
    assert "power ['ack htc']" in out


def test_performance_mode_sees_the_dut_and_the_runner_status_is_ours():
    proc = tinyperf_runner(str(FAKE), "--bench", "ad", "--no-pace", "--", "--mode=p", "--fail")
    assert proc.returncode == 3
    assert "found [('dut', 'l4r5zi')]" in proc.stdout
    assert "dut ['m-name-dut-[tinyperf]', 'm-ready']" in proc.stdout
    assert proc.stderr.strip().splitlines()[-1] == "tinyperf: error: the runner exited with status 3"


@pytest.mark.parametrize("args, message", [
    (["/nonexistent-runner", "--bench", "ad", "--", "-m", "p"], "device list /nonexistent-runner/devices.yaml not found"),
    ([str(FAKE), "--bench", "ad", "--", "-m", "x"], "runner mode 'x' is not one of p, a, e"),
    ([str(FAKE), "--bench", "ad", "-p", "cortex-m55", "--", "-m", "e"], "cortex-m55 has no power model"),
])
def test_bad_launches_are_one_line_usage_errors(args, message):
    proc = tinyperf_runner(*args)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith(f"tinyperf: error: {message}")


def test_a_folder_without_main_py_is_an_error(tmp_path):
    (tmp_path / "devices.yaml").write_text((FAKE / "devices.yaml").read_text())
    with pytest.raises(launcher.LaunchError, match="has no main.py"):
        launcher.run_main(tmp_path, [], [])


def test_patches_are_undone_and_state_restored(tmp_path):
    import serial.tools.list_ports as list_ports

    before = list_ports.comports
    (tmp_path / "main.py").write_text("import sys, serial.tools.list_ports as lp, usb.core\n"
                                      "ports = lp.comports()\n"
                                      "sys.stdout = None\n"  # the runner's script.py replaces stdout
                                      "assert [(p.device, p.vid, p.pid) for p in ports] == [('/dev/x', 1155, 22336)]\n"
                                      "assert list(usb.core.find(find_all=True)) == []\n")
    cwd = Path.cwd()
    stdout = sys.stdout
    assert launcher.run_main(tmp_path, ["-m", "e"], [launcher.Port("/dev/x", 0x0483, 0x5740, "lpm")]) == 0
    assert list_ports.comports is before and Path.cwd() == cwd and sys.stdout is stdout
    assert str(tmp_path) not in sys.path


def test_runner_exceptions_become_one_line_errors(tmp_path):
    (tmp_path / "main.py").write_text("raise RuntimeError('ERROR: Energy mode selected but no power board was found.')\n")
    with pytest.raises(launcher.LaunchError, match="the runner stopped: RuntimeError: ERROR: Energy mode"):
        launcher.run_main(tmp_path, [], [])


def test_mode_and_usb_ids_are_read_as_the_runner_reads_them():
    assert launcher.runner_mode(["-s", "x"]) == "a"
    assert launcher.runner_mode(["-m", "e"]) == launcher.runner_mode(["--mode=e"]) == launcher.runner_mode(["-me"]) == "e"
    devices = launcher.load_devices(FAKE / "devices.yaml")
    assert launcher.usb_ids(devices, "interface") == (0x0483, 0x374E)
    assert launcher.usb_ids(devices, "interface", "arduino") == (0x2341, 0x0043)
    assert launcher.usb_ids(devices, "power", "lpm01a") == (0x0483, 0x5740)
    with pytest.raises(launcher.LaunchError, match="no 'js220' power entry"):
        launcher.usb_ids(devices, "power", "js220")
