"""Clients that talk to the emulated energy bench the way the official runner does.

Written from the runner's observable behaviour (mlcommons/tiny benchmark/runner: io_manager.py,
power_manager/power_manager_lpm.py, device_under_test.py, script.py), not from its code:
- interface board: commands end with `%`; a reply is every line up to one containing `m-ready`;
  `dut X` answers two lines (the second `m-ready`), then the DUT's lines prefixed `[dut]: `
  up to the DUT's `m-ready`;
- LPM01A: commands end with `\\r\\n`; lines matching `dddd[+-]dd` are samples, `event N ris`
  lines are timestamps recorded as (N, samples received so far), anything else is a message;
  a command is answered by a message starting `ack` or `error` that contains the command;
  `stop` ends when `Acquisition completed` arrives.
"""
from __future__ import annotations

import re
import threading
from queue import Empty, Queue

import serial

SAMPLE = re.compile(r"\d{4}[+-]\d{2}")
EVENT = re.compile(r"event (\d+) ris")
TIMEOUT_S = 120.0


class LineReader:
    """A pyserial port with a thread splitting its bytes into lines (\\r and \\0 dropped)."""

    def __init__(self, path: str, baud: int):
        self.port = serial.Serial(path, baud, timeout=0.05)
        self.lines: Queue[str] = Queue()
        self.running = True
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        partial = b""
        while self.running:
            partial += self.port.read(4096)
            *lines, partial = partial.split(b"\n")
            for line in lines:
                self.on_line(line.decode("latin-1").replace("\r", "").replace("\0", ""))

    def on_line(self, line: str) -> None:
        self.lines.put(line)

    def next_line(self, timeout: float = TIMEOUT_S) -> str:
        try:
            return self.lines.get(timeout=timeout)
        except Empty:
            raise TimeoutError("no line within the timeout") from None

    def close(self) -> None:
        self.running = False
        self.thread.join(timeout=5)
        self.port.close()


class InterfaceClient(LineReader):
    def __init__(self, path: str):
        super().__init__(path, 115200)
        self.sent: list[str] = []

    def command(self, text: str) -> list[str]:
        self.sent.append(text)
        self.port.write(f"{text}%".encode())
        reply = []
        while True:
            line = self.next_line()
            if line:
                reply.append(line)
            if "m-ready" in line:
                return reply

    def dut(self, text: str) -> list[str]:
        head = self.command(f"dut {text}")
        assert len(head) == 2 and head[1] == "m-ready", head
        lines = []
        while True:
            line = self.next_line().replace("[dut]: ", "")
            lines.append(line)
            if line == "m-ready":
                return lines


class MonitorClient(LineReader):
    def __init__(self, path: str):
        self.samples: list[float] = []
        self.events: list[tuple[int, int]] = []
        self.raw_samples: list[str] = []
        super().__init__(path, 3686400)

    def on_line(self, line: str) -> None:
        if SAMPLE.match(line):
            for text in SAMPLE.findall(line):
                self.raw_samples.append(text)
                self.samples.append(float(text.replace("+", "e+").replace("-", "e-")))
        elif EVENT.match(line):
            self.events.append((int(EVENT.match(line).group(1)), len(self.samples)))
        else:
            self.lines.put(line)

    def command(self, text: str) -> list[str]:
        while not self.lines.empty():
            self.lines.get_nowait()
        self.port.write(f"{text}\r\n".encode())
        out = []
        while True:
            line = self.next_line().strip()
            if text in line and (line.startswith("ack") or line.startswith("error")):
                out.append(line)
                if line.startswith("error"):
                    out.append(self.next_line())
                return out
            out.append(line)

    def stop(self) -> None:
        self.port.write(b"stop\r\n")
        while "Acquisition completed" not in self.next_line():
            pass

    def take(self) -> tuple[list[float], list[tuple[int, int]]]:
        """The samples and events received since the last take (the runner drains its queue per infer)."""
        samples, events = self.samples, self.events
        self.samples, self.events, self.raw_samples = [], [], []
        return samples, events
