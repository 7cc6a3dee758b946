"""`tinyperf runner RUNNER_DIR -- <runner args>`: the official runner, unmodified, on emulated devices.

The MLPerf Tiny runner (mlcommons/tiny benchmark/runner/main.py) finds its devices by USB
VID/PID: `serial.tools.list_ports.comports()` for serial devices, `usb.core.find(find_all=True)`
for direct-USB ones (the Joulescope).  A pty has no USB ids, so this runs main.py in this process
(runpy, cwd = RUNNER_DIR, sys.argv = main.py + the runner args) with:

- `serial.tools.list_ports.comports` reporting tinyperf's ptys, each with the VID/PID of the
  first matching entry of the runner's own device list (`-d/--device_list`, default devices.yaml):
  performance (`-m p`) and accuracy (`-m a`) modes: the DUT (a `type: dut` entry);
  energy (`-m e`): the interface board (a `type: interface` entry) and the LPM01A (the `lpm01a`
  entry), as on a real energy bench, where the DUT hangs off the interface board, not USB;
- `usb.core.find` finding nothing (no Joulescope).

No file of the runner is changed; the patches are undone when main.py returns.
"""
from __future__ import annotations

import os
import runpy
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

from tinyperf_errors import EXIT_USAGE, TinyperfError

MODES = ("p", "a", "e")


class LaunchError(TinyperfError):
    """The runner cannot be launched (no main.py, no device entry: exit 2), or it stopped (exit 1)."""


@dataclass(frozen=True)
class Port:
    """One emulated device as the runner's port scan sees it."""

    path: str
    vid: int
    pid: int
    description: str


def runner_mode(args: list[str]) -> str:
    """The `-m/--mode` the runner will parse (main.py's default is accuracy)."""
    for i, arg in enumerate(args):
        if arg in ("-m", "--mode") and i + 1 < len(args):
            return args[i + 1]
        for prefix in ("--mode=", "-m"):
            if arg.startswith(prefix) and len(arg) > len(prefix):
                return arg[len(prefix):].lstrip("=")
    return "a"


def device_list(runner_dir: Path, args: list[str]) -> Path:
    name = "devices.yaml"
    for i, arg in enumerate(args):
        if arg in ("-d", "--device_list") and i + 1 < len(args):
            name = args[i + 1]
        elif arg.startswith("--device_list="):
            name = arg.split("=", 1)[1]
    path = Path(name) if Path(name).is_absolute() else runner_dir / name
    if not path.is_file():
        raise LaunchError(f"device list {path} not found: pass the runner's -d/--device_list file", EXIT_USAGE)
    return path


def usb_ids(devices: list[dict], kind: str, name: str | None = None) -> tuple[int, int]:
    """(VID, PID) of the first `type: kind` entry (named `name`, if given) of the runner's device list."""
    for entry in devices:
        if entry.get("type") == kind and (name is None or entry.get("name") == name) and entry.get("usb"):
            vid, pids = next(iter(entry["usb"].items()))
            return int(vid), int(pids[0] if isinstance(pids, list) else pids)
    wanted = f"'{name}' {kind}" if name else f"a {kind}"
    raise LaunchError(f"the runner's device list has no {wanted} entry with usb ids", EXIT_USAGE)


def load_devices(path: Path) -> list[dict]:
    try:
        devices = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise LaunchError(f"cannot read the device list {path}: {err}", EXIT_USAGE) from None
    if not isinstance(devices, list):
        raise LaunchError(f"{path} is not a list of devices", EXIT_USAGE)
    return devices


def _port_info(port: Port):
    from serial.tools.list_ports_common import ListPortInfo

    info = ListPortInfo(port.path, skip_link_detection=True)
    info.vid, info.pid = port.vid, port.pid
    info.description = info.product = port.description
    info.manufacturer = "tinyperf"
    info.serial_number = f"tinyperf-{port.vid:04x}{port.pid:04x}"
    return info


@contextmanager
def patched_enumeration(ports: list[Port]) -> Iterator[None]:
    """comports() reports `ports`; usb.core.find finds nothing.  Undone on exit."""
    import serial.tools.list_ports as list_ports

    saved_comports = list_ports.comports
    list_ports.comports = lambda include_links=False: [_port_info(p) for p in ports]
    saved_modules = {name: sys.modules.get(name) for name in ("usb", "usb.core")}
    try:
        import usb.core as usb_core
        saved_find = usb_core.find
        usb_core.find = lambda *args, **kwargs: iter(()) if kwargs.get("find_all") else None
    except ImportError:  # pyusb absent: a stand-in module with only find()
        usb_core, saved_find = types.ModuleType("usb.core"), None
        usb_core.find = lambda *args, **kwargs: iter(()) if kwargs.get("find_all") else None
        usb = types.ModuleType("usb")
        usb.core = usb_core
        sys.modules["usb"], sys.modules["usb.core"] = usb, usb_core
    try:
        yield
    finally:
        list_ports.comports = saved_comports
        if saved_find is not None:
            usb_core.find = saved_find
        else:
            for name, module in saved_modules.items():
                if module is None:
                    sys.modules.pop(name, None)
                else:
                    sys.modules[name] = module


@contextmanager
def runner_process_state(runner_dir: Path, args: list[str]) -> Iterator[None]:
    """cwd, sys.argv, sys.path and stdout/stderr as `python main.py ARGS` in RUNNER_DIR; restored after."""
    saved = (os.getcwd(), sys.argv, list(sys.path), sys.stdout, sys.stderr, set(sys.modules))
    os.chdir(runner_dir)
    sys.argv = [str(runner_dir / "main.py"), *args]
    sys.path.insert(0, str(runner_dir))
    try:
        yield
    finally:
        cwd, sys.argv, sys.path[:], sys.stdout, sys.stderr, modules = saved
        os.chdir(cwd)
        for name in set(sys.modules) - modules:  # the runner's own modules (script, datasets, ...)
            module = sys.modules[name]
            if str(getattr(module, "__file__", "") or "").startswith(str(runner_dir)):
                del sys.modules[name]


def run_main(runner_dir: Path, args: list[str], ports: list[Port]) -> int:
    """main.py as __main__ with the patches; its exit status."""
    runner_dir = runner_dir.resolve()
    main = runner_dir / "main.py"
    if not main.is_file():
        raise LaunchError(f"{runner_dir} has no main.py: pass the runner folder (mlcommons/tiny benchmark/runner)", EXIT_USAGE)
    with runner_process_state(runner_dir, args), patched_enumeration(ports):
        try:
            runpy.run_path(str(main), run_name="__main__")
        except SystemExit as done:
            return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
        except KeyboardInterrupt:
            raise
        except Exception as err:  # the runner's own failure: one line, not our traceback
            raise LaunchError(f"the runner stopped: {type(err).__name__}: {err}") from None
    return 0
