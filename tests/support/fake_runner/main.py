"""A stand-in for the official runner's main.py (tests only): it finds its devices the way the
runner does (serial.tools.list_ports.comports + the VID/PID of devices.yaml, then usb.core.find)
and talks to each once, so a test can see what `tinyperf runner` patched."""
import os
import sys

import serial
import usb.core
import yaml
from serial.tools import list_ports


def reply(port, command, end):
    port.write(command.encode())
    lines, text = [], b""
    while True:
        chunk = port.read(1)
        if not chunk:
            return lines + ["<timeout>"]
        text += chunk
        if chunk == b"\n":
            lines.append(text.decode().strip())
            text = b""
            if end in lines[-1]:
                return lines


devices = yaml.safe_load(open("devices.yaml"))  # relative: the runner runs in its own folder
found = {}
for port in list_ports.comports(True):
    for device in devices:
        for vid, pids in device["usb"].items():
            if port.vid == vid and port.pid in (pids if isinstance(pids, list) else [pids]):
                found.setdefault(device["type"], (device["name"], port.device))
print("args", sys.argv[1:], "cwd-is-runner", os.path.isfile("main.py"))
print("found", sorted((kind, name) for kind, (name, _) in found.items()))
print("usb-only devices", len(list(usb.core.find(find_all=True))))
if "dut" in found:
    with serial.Serial(found["dut"][1], 115200, timeout=10) as port:
        print("dut", reply(port, "name%", "m-ready"))
if "interface" in found:
    with serial.Serial(found["interface"][1], 115200, timeout=10) as port:
        print("interface", reply(port, "dut name%", "[dut]: m-ready"))
if "power" in found:
    with serial.Serial(found["power"][1], 3686400, timeout=10) as port:
        print("power", reply(port, "htc\r\n", "ack"))
sys.exit(3 if "--fail" in sys.argv else 0)
