"""The protocol client: an MLPerf Tiny / EEMBC DUT on an emulated board.

    with open_dut("cortex-m4", "firmware_bins/cortex-m4/kws.elf") as dut:
        dut.load(input_bytes)
        result = dut.infer(1, 0)

Every command is `<text>%`; the reply is every line up to the one holding
`m-ready` (as the official runner reads it).  An `e-[...]` line raises
DutError carrying the tail of the transcript.
"""
from __future__ import annotations

import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from harness.target import Window, find_window
from platforms import Platform
from sim import Emulator, RunOptions, open_emulator
from sim.elf import FirmwareImage
from sim.errors import EmulatorLost, FirmwareTimeout, SimError
from sim.plugin import window_blocks, window_memory, windows
from tinyperf_errors import TinyperfError

LINE_TIMEOUT_S = 5.0  # the official runner's per-line timeout
INFER_LINE_TIMEOUT_S = 30.0  # ... and for infer
DB_CHUNK_BYTES = 31  # the official runner's db chunk (62 hex digits)
COMMAND_CHARS = 80  # the firmware's command buffer
TRANSCRIPT_TAIL_LINES = 8
FILE_LOAD_SYMBOL = "bsp_read_file"  # firmware with `db file PATH`

RESULTS = re.compile(r"m-results-\[(?P<values>[^\]]*)\]")
LAP = re.compile(r"m-lap-us-(?P<us>\d+)")
OUTPUTS = re.compile(r"m-outputs-\[(?P<hex>[0-9a-fA-F]*)\]")
MODEL = re.compile(r"m-model-\[(?P<model>[^\]]+)\]")
UNKNOWN_OUTPUTS = "Unknown command: outputs"


class DutError(TinyperfError):
    """The DUT answered with an error, hung or died; carries the transcript tail.
    no_verdict: the emulator was lost (killed, stopped by us), so this says
    nothing about the firmware."""

    def __init__(self, message: str, tail: list[str], no_verdict: bool = False):
        super().__init__(message)
        self.tail = tail
        self.no_verdict = no_verdict


@dataclass
class InferResult:
    results: list[float]  # the m-results values as printed
    lap_us: tuple[int, int]  # the DUT's own timestamps around the measured loop
    instructions: int | None  # exact count between the window markers, all N iterations
    iterations: int
    blocks: list[tuple[int, int, int]] | None = None  # (vaddr, insns, executions) in the window, when profiling
    memory: list[int] | None = None  # memory counters of the window (memory-aware runs, sim.memory)

    @property
    def instructions_per_inference(self) -> float | None:
        return self.instructions / self.iterations if self.instructions is not None else None


class Dut:
    """Protocol client over a started emulator."""

    def __init__(self, emulator: Emulator, transcript: TextIO | None = None, window: Window | None = None):
        self.emulator = emulator
        self._transcript = transcript
        self._tail: list[str] = []
        self.window = window or find_window(emulator.firmware)
        self._markers_seen = 0
        self.has_outputs: bool | None = None  # whether the firmware answers outputs% (None: not asked yet)
        self._inputs_dir: Path | None = None

    # -- transcript ------------------------------------------------------
    def _log(self, direction: str, text: str) -> None:
        line = f"{direction} {text}"
        self._tail = (self._tail + [line])[-TRANSCRIPT_TAIL_LINES:]
        if self._transcript:
            self._transcript.write(line + "\n")

    def _error(self, message: str, no_verdict: bool = False) -> DutError:
        tail = " | ".join(self._tail[-3:])
        return DutError(f"{message} (transcript tail: {tail})", list(self._tail), no_verdict)

    # -- lines -----------------------------------------------------------
    def _read_line(self, timeout: float) -> str:
        try:
            line = self.emulator.read_line(timeout)
        except SimError as err:
            # A stopped emulator (kill -STOP) times out through no fault of the firmware.
            if isinstance(err, FirmwareTimeout) and self.emulator.suspended:
                err = EmulatorLost(f"{err}: the emulator was stopped by a signal")
            raise self._error(str(err), isinstance(err, EmulatorLost)) from None
        self._log("<", line)
        return line

    def _write(self, text: str) -> None:
        try:
            self.emulator.write(text)
        except SimError as err:
            raise self._error(str(err), isinstance(err, EmulatorLost)) from None

    def _reply(self, command: str, line_timeout: float, deadline: float | None = None) -> list[str]:
        lines = []
        while True:
            timeout = line_timeout if deadline is None else min(line_timeout, max(0.0, deadline - time.monotonic()))
            line = self._read_line(timeout)
            lines.append(line)
            if "m-ready" in line:
                break
        errors = [ln for ln in lines if ln.startswith("e-[")]
        if errors:
            raise self._error(f"DUT refused '{command}': {errors[0]}")
        return lines

    def boot(self, timeout: float = 10.0) -> list[str]:
        """Lines up to the first m-ready after reset."""
        try:
            return self._reply("<boot>", timeout)
        except DutError as err:
            if err.no_verdict:
                raise
            raise self._error(f"no m-ready after reset within {timeout:g} s: is this MLPerf Tiny firmware? "
                              f"({str(err).split(' (transcript tail')[0]})") from None

    def send(self, command: str, line_timeout: float = LINE_TIMEOUT_S, deadline: float | None = None) -> list[str]:
        """Send one command; its reply lines (the last holds m-ready)."""
        self._log(">", command + "%")
        self._write(command + "%")
        return self._reply(command, line_timeout, deadline)

    # -- commands --------------------------------------------------------
    def profile(self) -> str:
        """The model id the firmware reports (e.g. kws01)."""
        for line in self.send("profile"):
            match = MODEL.search(line)
            if match:
                return match["model"]
        raise self._error("profile reply has no m-model line")

    @property
    def loads_files(self) -> bool:
        """Whether the firmware has our `db file PATH` extension (semihosting) and
        the emulator serves semihosting file reads (Renode does not)."""
        return (self.emulator.firmware.address(FILE_LOAD_SYMBOL) is not None
                and getattr(self.emulator, "supports_semihosting_files", True))

    def load(self, data: bytes, chunk: int = DB_CHUNK_BYTES, pipelined: bool = True, via: str = "auto") -> None:
        """Send one input file.  via="uart": `db load N` then `db <hex>` chunks,
        as the official runner does (pipelined: all chunks written before the
        replies are read; the UART is lossless, the firmware serial).  via="file":
        our `db file PATH` extension.  "auto": file when the firmware has it."""
        if via == "file" or (via == "auto" and self.loads_files):
            self._load_file(data)
            return
        self.send(f"db load {len(data)}")
        commands = [f"db {data[i:i + chunk].hex()}" for i in range(0, len(data), chunk)]
        if not pipelined:
            for command in commands:
                self.send(command)
            return
        self._write("".join(c + "%" for c in commands))
        for command in commands:
            self._log(">", command + "%")
            self._reply(command, LINE_TIMEOUT_S)

    def _load_file(self, data: bytes) -> None:
        if self._inputs_dir is None:
            self._inputs_dir = Path(tempfile.mkdtemp(prefix="tpin-", dir="/tmp"))  # short: 80-char commands
        path = self._inputs_dir / "input.bin"
        path.write_bytes(data)
        command = f"db file {path}"
        if len(command) > COMMAND_CHARS:
            raise self._error(f"input path {path} too long for an {COMMAND_CHARS}-character command: "
                              "the firmware cannot take it")
        self.send(command)

    def close(self) -> None:
        if self._inputs_dir is not None:
            shutil.rmtree(self._inputs_dir, ignore_errors=True)

    def infer(self, iterations: int = 1, warmup: int = 0, timeout: float | None = None) -> InferResult:
        """`infer N W`: results, the DUT's timestamps and the exact instruction
        count of the measured window (None if the firmware has no markers)."""
        deadline = time.monotonic() + timeout if timeout else None
        lines = self.send(f"infer {iterations} {warmup}", INFER_LINE_TIMEOUT_S, deadline)
        laps = [int(m["us"]) for m in map(LAP.search, lines) if m]
        results = next((m["values"] for m in map(RESULTS.search, lines) if m), None)
        if len(laps) < 2 or results is None:
            raise self._error("infer reply lacks two m-lap-us lines or m-results")
        values = [float(v) for v in results.split(",") if v.strip()]
        return InferResult(values, (laps[0], laps[-1]), self._window_count(), iterations, self._window_blocks(),
                           self._window_memory())

    def outputs(self) -> bytes | None:
        """The raw output bytes of the last inference, every output tensor in output
        order (the `outputs%` extension); None when the firmware does not have it (it answers
        `e-[Unknown command: outputs]`, remembered for later calls)."""
        if self.has_outputs is False:
            return None
        try:
            lines = self.send("outputs")
        except DutError as err:
            if UNKNOWN_OUTPUTS not in str(err):
                raise
            self.has_outputs = False
            return None
        for line in lines:
            match = OUTPUTS.search(line)
            if match:
                self.has_outputs = True
                return bytes.fromhex(match["hex"])
        raise self._error("outputs reply has no m-outputs line (see the README's outputs% reply format)")

    def _window_blocks(self) -> list[tuple[int, int, int]] | None:
        """Exact per-block executions of the last window (when profiling)."""
        if not self.window:
            return None
        return window_blocks(self.emulator.counters(), self.window.begin, self.window.end)

    def _window_memory(self) -> list[int] | None:
        """Memory counters of the last window (memory-aware profiling runs)."""
        if not self.window:
            return None
        return window_memory(self.emulator.counters(), self.window.begin, self.window.end)

    def _window_count(self) -> int | None:
        if not self.window:
            return None
        log = self.emulator.counters()
        new = log.markers[self._markers_seen:]
        self._markers_seen = len(log.markers)
        counts = windows(new, self.window.begin, self.window.end)
        return counts[-1] if counts else None


class open_dut:
    """Context manager: start an emulator for the firmware and boot it as a DUT."""

    def __init__(self, platform: Platform | str | None, firmware: FirmwareImage | str | Path,
                 transcript: TextIO | None = None, icount: bool = False, backend: str = "qemu",
                 profile: bool = False, memory: bool = True, window: Window | None = None):
        image = firmware if isinstance(firmware, FirmwareImage) else FirmwareImage(firmware)
        self.window = window or find_window(image)
        options = (self.window.run_options(icount=icount, profile=profile, memory=memory) if self.window
                   else RunOptions(icount=icount, profile=profile, memory=memory))
        self.emulator = open_emulator(platform, image, options, backend=backend)
        self.transcript = transcript

    def __enter__(self) -> Dut:
        self.emulator.start()
        self.dut = Dut(self.emulator, self.transcript, self.window)
        try:
            self.dut.boot()
            return self.dut
        except BaseException:
            self.__exit__()
            raise

    def __exit__(self, *exc: object) -> None:
        self.emulator.stop()
        self.dut.close()
