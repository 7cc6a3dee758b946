"""The interface every emulator backend implements, and the UART plumbing they share.

A backend is a DUT in the pytest-embedded sense: start it, write() bytes to
its UART, read_line()/expect() what it prints, read its instruction counters,
stop it.  Use it as a context manager so the emulator is always reaped.
"""
from __future__ import annotations

import re
import socket
import tempfile
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from platforms import Platform
from sim.elf import FirmwareImage
from sim.errors import EmulatorError, EmulatorLost, FirmwareTimeout
from sim.plugin import CounterLog


@dataclass(frozen=True)
class RunOptions:
    """How to run one emulator instance."""

    markers: tuple[str, ...] = ()  # symbol names whose execution is recorded
    marker_sites: tuple[tuple[str, int], ...] = ()  # more (name, code address) markers, e.g. return sites
    icount: bool = False  # deterministic time: virtual time follows instructions
    profile: bool = False  # per-block execution counts at exit
    exact_blocks: bool = False  # per-instruction counting even without icount
    count: bool = True  # load the counting plugin (off only to measure its cost)
    memory: bool = True  # memory-aware counting when the platform declares wait states or caches


class UartStream:
    """Collects bytes from a connected socket on a reader thread and hands
    them out as lines (split on \\n, with \\r and \\0 dropped, like the
    official runner)."""

    def __init__(self, sock: socket.socket, on_bytes: Callable[[bytes], None] | None = None):
        self._sock = sock
        self._on_bytes = on_bytes
        self._cond = threading.Condition()
        self._pending = bytearray()
        self.transcript = bytearray()
        self.closed = False
        self._thread = threading.Thread(target=self._pump, name="uart-reader", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        while True:
            try:
                chunk = self._sock.recv(65536)
            except OSError:
                chunk = b""
            with self._cond:
                if not chunk:
                    self.closed = True
                    self._cond.notify_all()
                    return
                self._pending += chunk
                self.transcript += chunk
                self._cond.notify_all()
            if self._on_bytes:
                self._on_bytes(chunk)

    def write(self, data: bytes) -> None:
        try:
            self._sock.sendall(data)
        except OSError as err:
            raise EmulatorError(f"UART closed while writing ({err.strerror}): the emulator has ended") from None

    def read_line(self, timeout: float) -> str | None:
        """The next whole line, or None when the stream has closed.  Raises
        FirmwareTimeout when no line arrives within timeout seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                newline = self._pending.find(b"\n")
                if newline >= 0:
                    raw = bytes(self._pending[: newline + 1])
                    del self._pending[: newline + 1]
                    return raw.decode("latin-1").replace("\r", "").replace("\0", "").rstrip("\n")
                if self.closed:
                    if self._pending:  # a last line without its newline
                        raw = bytes(self._pending)
                        self._pending.clear()
                        return raw.decode("latin-1").replace("\r", "").replace("\0", "")
                    return None
                left = deadline - time.monotonic()
                if left <= 0:
                    raise FirmwareTimeout(f"no UART line within {timeout:g} s")
                self._cond.wait(left)

    def wait_closed(self, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self.closed, timeout)

    def close(self) -> None:
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
        self._thread.join(timeout=2)


class Emulator(ABC):
    """One emulated board running one firmware image."""

    def __init__(self, platform: Platform, firmware: FirmwareImage, options: RunOptions = RunOptions(),
                 on_output: Callable[[bytes], None] | None = None):
        self.platform = platform
        self.firmware = firmware
        self.options = options
        self.on_output = on_output
        self.uart: UartStream | None = None
        self._log: CounterLog | None = None  # set by start(): the counter records file
        self._final_log: CounterLog | None = None  # frozen by stop()

    # -- lifecycle -------------------------------------------------------
    @abstractmethod
    def start(self) -> None:
        """Launch the emulator and connect its UART; firmware starts running."""

    @abstractmethod
    def stop(self) -> None:
        """End the emulator (if still running) and release everything. Idempotent."""

    @abstractmethod
    def wait(self, timeout: float) -> int:
        """Wait for the firmware to end; its exit code.  FirmwareTimeout if it does not."""

    @property
    @abstractmethod
    def exit_code(self) -> int | None:
        """The firmware's exit code once the emulator has ended, else None."""

    def counters(self) -> CounterLog:
        """Instruction counter records read so far."""
        if self._final_log is not None:
            return self._final_log
        if self._log is None:
            raise EmulatorError("emulator not started")
        return self._log.poll()

    def _attach_uart(self, connect: Callable[[], socket.socket]) -> None:
        """Connect the UART once the emulator runs; on any failure stop it, so nothing is left behind."""
        try:
            self.uart = UartStream(connect(), self.on_output)
        except BaseException:
            self.stop()
            raise

    def _freeze_counters(self) -> None:
        """Read the last records before stop() removes the run folder."""
        if self._log is not None and self._final_log is None:
            self._final_log = self._log.poll()

    @abstractmethod
    def diagnose(self) -> str:
        """One line on why the emulator ended abnormally ('' if it did not)."""

    @property
    def suspended(self) -> bool:
        """Whether the emulator is stopped by a signal (SIGSTOP, SIGTSTP): then a timeout
        says nothing about the firmware.  Backends that cannot tell say False."""
        return False

    @property
    def ended_outside_firmware(self) -> bool:
        """Whether the emulator ended for a reason that is not the firmware's
        (a signal, our own stop); backends that cannot tell say False."""
        return False

    # -- UART --------------------------------------------------------------
    def write(self, data: bytes | str) -> None:
        try:
            self._uart().write(data.encode() if isinstance(data, str) else data)
        except EmulatorError:
            raise self._closed_error() from None

    def read_line(self, timeout: float) -> str:
        line = self._uart().read_line(timeout)
        if line is None:
            raise self._closed_error()
        return line

    def expect(self, pattern: str | re.Pattern[str], timeout: float) -> re.Match[str]:
        """Read lines until one matches pattern (re.search); the match."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise FirmwareTimeout(f"no line matching {regex.pattern!r} within {timeout:g} s")
            match = regex.search(self.read_line(left))
            if match:
                return match

    @property
    def transcript(self) -> bytes:
        return bytes(self.uart.transcript) if self.uart else b""

    def _uart(self) -> UartStream:
        if self.uart is None:
            raise EmulatorError("emulator not started")
        return self.uart

    def _closed_error(self) -> EmulatorError:
        """Why the UART closed; EmulatorLost when the firmware is not to blame
        (no reason found counts as not to blame: no verdict without evidence)."""
        why = self.diagnose()
        message = f"UART closed: {why}" if why else "UART closed: the emulator has ended"
        return EmulatorLost(message) if self.ended_outside_firmware or not why else EmulatorError(message)

    def __enter__(self) -> "Emulator":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def marker_addresses(firmware: FirmwareImage, options: RunOptions) -> dict[str, int]:
    """Addresses of the marker symbols the firmware has (missing ones are
    skipped), and of the explicit marker sites."""
    found = {name: firmware.address(name) for name in options.markers}
    return {name: addr for name, addr in found.items() if addr is not None} | dict(options.marker_sites)


def unique_run_dir(prefix: str = "tinyperf-") -> Path:
    # Short paths: a unix socket path must stay under 108 bytes.
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
