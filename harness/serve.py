"""`tinyperf serve`: the emulated DUT's UART as a pseudo-terminal.

    server = Server(platform, firmware)
    path = server.start()          # boots the emulator, opens the pty
    server.serve_forever()         # until KeyboardInterrupt / server.request_stop()
    server.close()

Any serial client (pyserial, minicom, the official MLPerf Tiny runner with its
port overridden) can open the printed path and drive the emulated board as if
it were real hardware.  Bytes from the client go to the emulator's UART as
they arrive; the emulator's output comes back line by line (lines end `\\r\\n`,
as the firmware prints them), so the `m-lap-us-N` lines can be rewritten.

Board time: how each `m-lap-us-N` line is mapped
------------------------------------------------
Without `--icount` the firmware's timer follows host time, so its own
`m-lap-us` values say nothing about the emulated board.  The emulator runs with
the counting plugin's markers on the firmware's timestamp function, and every
`m-lap-us-N` line is rewritten to `m-lap-us-<round(cycles / clock_mhz)>`, where
cycles = cycles_for(count) (today instructions x 1), clock_mhz the platform's
nominal clock and count a marker record's "instructions completed before it",
counted from the emulator's start:

* Firmware with `th_timestamp` (third-party EEMBC / MLPerf Tiny ports, whose
  th_timestamp() prints the lap line): the k-th `m-lap-us` line maps to the
  k-th th_timestamp entry record (flushed before the line's bytes), except T0
  (the line after `m-infer-start-N`), which maps to the return of that call:
  T1 - T0 is then exactly the measurement window (harness.target), without the
  printing inside th_timestamp.  If there is no record (a line printed another
  way), the latest record seen.
* Our firmware (`tp_mark_begin` / `tp_mark_end`; `infer` prints `m-lap-us-T0`,
  calls tp_mark_begin, runs the N inferences, calls tp_mark_end, then prints
  `m-lap-us-T1`):
  - T0, the `m-lap-us` line right after an `m-infer-start-N` line, maps to the
    next unused tp_mark_begin record (waited for: it comes just after T0);
  - T1, the next `m-lap-us` line after a T0, maps to the first tp_mark_end
    record after that tp_mark_begin;
  - any other `m-lap-us` line (the boot banner's, `timestamp%`) maps to the
    latest marker record seen so far, or 0 if there is none yet.  The plugin
    reports no running total while the emulator runs, so `timestamp%` repeats
    the last window's end until the next `infer`.
* Firmware with neither: lines pass through unchanged (a note says so).

So T1 - T0 = round(end / f) - round(begin / f) is within 1 us of the exact
window (end - begin) / f, and the official runner's throughput N / (T1 - T0)
matches tinyperf's own figure for the ELF.  Counts include the firmware's
UART polling while idle (it busy-waits), so absolute values are not host time;
after an emulator restart they start again from 0, like a board reset.  Values
are never wrapped at 32 bits (the runner parses them as Python ints).

Pacing (`pace=True`)
--------------------
A real board takes emulated time to answer; QEMU usually answers faster.  With
pacing a reply's lines are held so that, within one reply (the lines up to its
`m-ready`), the host time between the first line that maps to a count and every
later line is at least the emulated time between their counts: T1 reaches the
client no earlier than (T0's release) + (T1 - T0) emulated us, and the rest of
the reply after it.  Pacing is per reply, not against one clock since serve
start, because the idle UART polling loop runs at a different speed from the
board (about 0.3x real time on cortex-m4): slack gained while a client idles
would otherwise let the next `infer` answer early.  Warmup runs before T0 are
not bracketed by markers and are not paced.

Emulator restarts
-----------------
If the emulator ends (killed, crashed, firmware exited), it is restarted and a
note goes to stderr.  The new boot banner is swallowed (a board that resets
does not shift the client's replies).  The command in progress when it ended
gets `e-[...]` and `m-ready`, so the client's reply is complete; commands that
had not started are sent again to the new emulator (each at most twice).  The
new firmware's state is fresh (load input again).  A command the board has not
answered within the command limit (`--command-timeout`, e.g. `infer 2147483647 0`)
gets the same treatment: the board is restarted, the command answered with an
error naming the limit, and a note goes to stderr.  While no client has the pty
open, the board's output is dropped, as a real board's bytes are when no one has
its port open.

Commands are held until their `%` and then written whole.  `db file PATH` is
answered by serve with an error and never reaches the board: it would read PATH
on the host with serve's rights (and a FIFO there would block the emulator).
"""
from __future__ import annotations

import errno
import os
import re
import select
import sys
import threading
import time
import tty
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from harness.loadedinput import LoadedInput
from harness.target import Window, find_window
from platforms import Platform
from sim import Emulator, RunOptions, open_emulator
from sim.cycles import estimate_cycles
from sim.plugin import window_blocks
from sim.elf import FirmwareImage
from sim.errors import FirmwareTimeout, SimError
from sim.memory import MemoryCounts
from tinyperf_errors import EXIT_USAGE, TinyperfError

BOOT_TIMEOUT_S = 10.0  # boot banner up to m-ready
MARKER_WAIT_S = 5.0  # a marker record that must follow a line
READ_POLL_S = 0.2  # the reader's line timeout (checks for stop in between)
CLIENT_POLL_S = 0.1
CLIENT_STALL_S = 5.0  # a client that reads nothing this long loses the rest of a line
MAX_RESTARTS = 5  # restarts within RESTART_WINDOW_S before serve gives up
RESTART_WINDOW_S = 30.0
MAX_ATTEMPTS = 2  # emulators a command is sent to before it is answered with an error
COMMAND_TIMEOUT_S = 300.0  # a command the board has not answered by then: board restarted, error reply
HELD_COMMAND_BYTES = 4096  # a command is held until its '%'; the firmware refuses anything over 80 characters

LAP = re.compile(r"m-lap-us-(\d+)")
INFER_START = "m-infer-start"
READY = "m-ready"
LOST_REPLY = "e-[tinyperf serve: the emulator ended and was restarted; command lost]"
# `db file PATH` reads PATH on the host (semihosting, with serve's rights, and a FIFO
# blocks the emulator in open()): never from a serial client.
FILE_LOAD_REFUSED = ("e-[tinyperf serve: 'db file' is disabled here (it would read host files); "
                     "send the input with 'db load N' and 'db <hex>']", READY)


def identity(instructions: int) -> int:
    return instructions


class LapMapper:
    """Maps `m-lap-us` lines to marker counts (see the module docstring)."""

    def __init__(self, emulator: Emulator, window: Window | None, marker_wait: float = MARKER_WAIT_S):
        self.emulator = emulator
        self.window = window
        self.marker_wait = marker_wait
        if window is None:
            self.kind = None
        else:
            self.kind = "timestamp" if window.stamp is not None else "window"
        self._used = 0  # records before this index are consumed
        self._open_window = False  # a T0 was mapped; the next lap line is T1
        self._previous = ""
        self._edge_open = False  # an `m-infer-start` lap line went out; the next lap line ends the window
        self.edge: str | None = None  # "begin"/"end" when the last counted line opened/closed a window

    def count(self, line: str, stop: threading.Event | None = None) -> int | None:
        """The count a line maps to (None: not a lap line, or no markers)."""
        previous, self._previous = self._previous, line
        self.edge = None
        if self.kind is None or not LAP.search(line):
            return None
        opening = previous.startswith(INFER_START)
        if previous.startswith(INFER_START):
            self.edge, self._edge_open = "begin", True
        elif self._edge_open:
            self.edge, self._edge_open = "end", False
        if self.kind == "timestamp":
            stamp = frozenset({self.window.stamp})
            found = self._next(stamp, wait=min(1.0, self.marker_wait), stop=stop)
            if found is not None and opening and self.window.begin != stamp:
                # T0: the window opens when this th_timestamp returns, after its printing.
                found = self._next(self.window.begin, wait=self.marker_wait, stop=stop) or found
        elif self._open_window:
            self._open_window = False
            found = self._next(self.window.end, wait=self.marker_wait, stop=stop)
        elif opening:
            found = self._next(self.window.begin, wait=self.marker_wait, stop=stop)
            self._open_window = found is not None
        else:
            found = None
        return found if found is not None else self._latest()

    def _next(self, addresses: frozenset[int], wait: float, stop: threading.Event | None) -> int | None:
        """Count of the first unused record at one of addresses (waiting up to `wait` s); marks it used."""
        deadline = time.monotonic() + wait
        while True:
            try:
                records = self.emulator.counters().markers
            except SimError:
                return None
            for i in range(self._used, len(records)):
                if records[i][0] in addresses:
                    self._used = i + 1
                    return records[i][1]
            if time.monotonic() >= deadline or (stop is not None and stop.is_set()):
                return None
            if self.emulator.exit_code is not None:
                return None
            time.sleep(0.001)

    def _latest(self) -> int:
        try:
            records = self.emulator.counters().markers
        except SimError:
            return 0
        return records[-1][1] if records else 0


def rewrite_lap(line: str, count: int, clock_mhz: float, cycles_for: Callable[[int], int]) -> str:
    """`m-lap-us-N` with N the emulated microseconds of `count` instructions."""
    us = board_us(count, clock_mhz, cycles_for)
    return LAP.sub(f"m-lap-us-{round(us)}", line, count=1)


def board_us(count: int, clock_mhz: float, cycles_for: Callable[[int], int]) -> float:
    return cycles_for(count) / clock_mhz


class Pacer:
    """Release times for reply lines: within a reply, the host time since the
    first counted line is at least the emulated time since its count."""

    def __init__(self, clock_mhz: float, cycles_for: Callable[[int], int], enabled: bool):
        self.clock_mhz = clock_mhz
        self.cycles_for = cycles_for
        self.enabled = enabled
        self._anchor: tuple[float, float] | None = None  # (host monotonic s, board us)

    def hold_until(self, count: int | None, now: float) -> float:
        """Monotonic time before which a line with this count must not go out."""
        if not self.enabled or count is None:
            return now
        us = board_us(count, self.clock_mhz, self.cycles_for)
        if self._anchor is None:
            self._anchor = (now, us)
            return now
        host0, us0 = self._anchor
        return max(now, host0 + max(0.0, us - us0) / 1e6)

    def end_reply(self) -> None:
        self._anchor = None


@dataclass
class _Command:
    text: bytes
    attempts: int  # emulators it was written to
    started: bool = False  # a reply line has gone out for it
    reply: tuple[str, ...] | None = None  # answered by serve itself (never sent to the board)


def is_file_load(command: bytes) -> bool:
    """Whether a command is `db file ...` as the firmware would parse it
    (tokens split on spaces; CR and LF are dropped)."""
    tokens = command.rstrip(b"%").replace(b"\r", b"").replace(b"\n", b"").split()
    return tokens[:2] == [b"db", b"file"]


@dataclass
class _Restarts:
    times: deque = field(default_factory=deque)

    def allow(self) -> bool:
        now = time.monotonic()
        while self.times and now - self.times[0] > RESTART_WINDOW_S:
            self.times.popleft()
        self.times.append(now)
        return len(self.times) <= MAX_RESTARTS


class ServeError(TinyperfError):
    """serve cannot go on (the pty, the link, or an emulator that keeps dying)."""


class Server:
    """One emulated board behind one pseudo-terminal."""

    def __init__(self, platform: Platform, firmware: FirmwareImage, *, pace: bool = True,
                 link: Path | None = None, icount: bool = False,
                 cycles_for: Callable[[int], int] = identity, backend: str = "qemu",
                 note: Callable[[str], None] | None = None, command_timeout: float = COMMAND_TIMEOUT_S,
                 on_edge: Callable[[str, float, float | None], None] | None = None, exact_windows: bool = False,
                 window: Window | None = None, memory_for: Callable[[bytes], MemoryCounts | None] | None = None):
        self.platform = platform
        self.firmware = firmware
        self.window = window or find_window(firmware)
        self.link = Path(link) if link else None
        self.cycles_for = cycles_for
        self.backend = backend
        self.command_timeout = command_timeout
        # exact_windows: per-block profile on, so each window's length comes from the cost model
        # over its blocks (as `tinyperf run` computes it), not from count x calibrated CPI.
        self.options = (self.window.run_options(icount=icount, profile=exact_windows) if self.window
                        else RunOptions(icount=icount, profile=exact_windows))
        self.exact_windows = exact_windows
        # Boards with memory timing: a window's stalls depend on its input, so exact windows
        # follow the loaded input (LoadedInput) and measure its memory counts (memory_for), as
        # `tinyperf run --mode energy` does per input.
        self.loaded = LoadedInput()
        self.memory_for = memory_for
        self.note = note or (lambda text: print(f"tinyperf: {text}", file=sys.stderr, flush=True))
        self.pacer = Pacer(platform.clock_mhz, cycles_for, pace)
        # Called with ("begin" | "end", board us, exact window us or None) as the window's T0 / T1
        # line goes out: the DUT's timestamp pin, which the emulated power monitor turns into
        # `event N ris` lines.
        self.on_edge = on_edge
        self.path: str | None = None
        self.restarts = 0
        self._emulator: Emulator | None = None
        self._mapper: LapMapper | None = None
        self._master: int | None = None
        self._lock = threading.Lock()
        self._outstanding: deque[_Command] = deque()
        self._head_since = time.monotonic()  # when the first outstanding command became the board's to answer
        self._partial = bytearray()
        self._stop = threading.Event()
        self._fatal: BaseException | None = None
        self._reader: threading.Thread | None = None
        self._restart_budget = _Restarts()
        self._link_made = False

    # -- lifecycle -------------------------------------------------------
    def start(self) -> str:
        """Boot the emulator, open the pty (and the link); the pty's path."""
        self._emulator, self._mapper = self._boot()
        if self._mapper.kind is None:
            self.note("warning: the firmware has neither th_timestamp nor tp_mark_begin/tp_mark_end; "
                      "m-lap-us lines are passed on unchanged (host time) and replies are not paced")
        master, slave = os.openpty()
        try:
            tty.setraw(slave)  # no echo, no line editing, no CR/LF translation; kept while the master is open
            self.path = os.ttyname(slave)
        finally:
            os.close(slave)  # a client's open is then the only one: no client -> HUP on the master
        os.set_blocking(master, False)
        self._master = master
        if self.link:
            self._make_link()
        self._reader = threading.Thread(target=self._pump, name="serve-reader", daemon=True)
        self._reader.start()
        return self.path

    def serve_forever(self) -> None:
        """Bridge client input to the emulator until request_stop() or Ctrl-C."""
        poller = select.poll()
        poller.register(self._master, select.POLLIN)
        while not self._stop.is_set():
            if self._fatal is not None:
                raise self._fatal
            events = poller.poll(CLIENT_POLL_S * 1000)
            if not events:
                continue
            mask = events[0][1]
            data = b""
            if mask & select.POLLIN:
                try:
                    data = os.read(self._master, 4096)
                except BlockingIOError:
                    continue
                except OSError as err:
                    if err.errno != errno.EIO:
                        raise
            if data:
                self._to_dut(data)
            elif mask & (select.POLLHUP | select.POLLERR) or not data:
                time.sleep(CLIENT_POLL_S / 2)  # no client has the pty open
        if self._fatal is not None:
            raise self._fatal

    def request_stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        """Stop the emulator, close the pty, remove the link.  Idempotent."""
        self._stop.set()
        with self._lock:
            emulator, self._emulator = self._emulator, None
        if emulator is not None:
            emulator.stop()
        if self._reader is not None and self._reader is not threading.current_thread():
            self._reader.join(timeout=5)
        if self._link_made and self.link is not None:
            try:
                if self.link.is_symlink() and os.readlink(self.link) == self.path:
                    self.link.unlink()
            except OSError:
                pass
            self._link_made = False
        if self._master is not None:
            os.close(self._master)
            self._master = None

    def __enter__(self) -> "Server":
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- pieces ----------------------------------------------------------
    def _make_link(self) -> None:
        link = self.link
        check_link(link)
        if link.is_symlink():
            link.unlink()  # a stale link from an earlier serve
        try:
            link.symlink_to(self.path)
        except OSError as err:
            raise ServeError(f"--link {link}: cannot create the symlink ({err.strerror})") from None
        self._link_made = True

    def _boot(self) -> tuple[Emulator, LapMapper]:
        """A started emulator whose boot banner (up to m-ready) has been read."""
        emulator = open_emulator(self.platform, self.firmware, self.options, backend=self.backend)
        emulator.start()
        try:
            mapper = LapMapper(emulator, self.window)
            deadline = time.monotonic() + BOOT_TIMEOUT_S
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise FirmwareTimeout(f"the firmware printed no m-ready within {BOOT_TIMEOUT_S:g} s of boot")
                line = emulator.read_line(left)
                mapper.count(line)  # keeps the record bookkeeping in step
                if READY in line:
                    return emulator, mapper
        except BaseException:
            emulator.stop()
            raise

    def _to_dut(self, data: bytes) -> None:
        """Client bytes: held until a command's '%', then to the emulator (or answered
        here when refused), and into the command bookkeeping."""
        for byte in data:
            if byte != ord("%"):
                if len(self._partial) < HELD_COMMAND_BYTES:
                    self._partial.append(byte)
                continue
            text = bytes(self._partial) + b"%"
            self._partial.clear()
            self.loaded.feed(text)
            if is_file_load(text):
                with self._lock:
                    self._outstanding.append(_Command(text, 0, reply=FILE_LOAD_REFUSED))
                    idle = len(self._outstanding) == 1
                if idle:
                    self._answer_refused()
                continue
            with self._lock:
                emulator = self._emulator
                delivered = False
                if emulator is not None:
                    try:
                        emulator.write(text)
                        delivered = True
                    except SimError:
                        pass  # it has ended; the reader restarts it and resends
                if not self._outstanding:
                    self._head_since = time.monotonic()
                self._outstanding.append(_Command(text, 1 if delivered else 0))

    def _answer_refused(self) -> None:
        """Replies to refused commands that have come to the head of the queue: the
        board has answered everything before them, and nothing after them yet."""
        while True:
            with self._lock:
                if not self._outstanding or self._outstanding[0].reply is None:
                    return
                command = self._outstanding.popleft()
                self._head_since = time.monotonic()
            for line in command.reply:
                self._to_client(line)

    def _overdue(self) -> str | None:
        """The command the board has been busy with for longer than command_timeout, if any."""
        with self._lock:
            head = self._outstanding[0] if self._outstanding else None
            late = time.monotonic() - self._head_since > self.command_timeout
            if head is None or head.reply is not None or head.attempts == 0 or not late:
                return None
            return head.text.decode("latin-1").rstrip("%")[:40]

    def _pump(self) -> None:
        """Reader thread: emulator lines -> mapped, paced -> client; restarts."""
        try:
            while not self._stop.is_set():
                emulator, mapper = self._emulator, self._mapper
                if emulator is None:
                    return
                overdue = self._overdue()
                if overdue is not None:
                    self._restart(f"'{overdue}' took longer than the {self.command_timeout:g} s command limit",
                                  abandon=True)
                    continue
                try:
                    line = emulator.read_line(READ_POLL_S)
                except FirmwareTimeout:
                    continue
                except SimError as err:
                    if self._stop.is_set():
                        return
                    self._restart(str(err))
                    continue
                count = mapper.count(line, self._stop)
                self._forward(line, count, mapper.edge)
        except BaseException as err:  # surfaces in serve_forever
            if not self._stop.is_set():
                self._fatal = err

    def _forward(self, line: str, count: int | None, edge: str | None = None) -> None:
        if count is not None:
            line = rewrite_lap(line, count, self.platform.clock_mhz, self.cycles_for)
        release = self.pacer.hold_until(count, time.monotonic())
        delay = release - time.monotonic()
        if delay > 0 and self._stop.wait(delay):
            return
        if edge is not None and count is not None and self.on_edge is not None:
            exact = self._window_us() if edge == "end" and self.exact_windows else None
            self.on_edge(edge, board_us(count, self.platform.clock_mhz, self.cycles_for), exact)
        with self._lock:
            if self._outstanding:
                self._outstanding[0].started = True
            if READY in line:
                if self._outstanding:
                    self._outstanding.popleft()
                    self._head_since = time.monotonic()
                self.pacer.end_reply()
        self._to_client(line)
        if READY in line:
            self._answer_refused()

    def _window_us(self) -> float | None:
        """The last window's modeled microseconds from its per-block counts (exact_windows), with
        the loaded input's memory stalls on boards with memory timing; None falls back to the CPI."""
        emulator = self._emulator
        if emulator is None or self.window is None:
            return None
        memory = None
        if self.platform.memory_timing.modelled:
            data, iterations = self.loaded.data, self.loaded.iterations
            try:
                counts = self.memory_for(data) if self.memory_for and data is not None and iterations else None
            except TinyperfError as err:  # the measuring emulator failed: this window keeps the CPI's length
                self.note(f"serve: the memory of this window's input could not be measured ({err})")
                return None
            if counts is None:
                return None
            memory = counts.scaled(iterations)
        begin, end = self.window.begin, self.window.end
        deadline = time.monotonic() + MARKER_WAIT_S
        while time.monotonic() < deadline:  # the end snapshot may trail the end record
            try:
                blocks = window_blocks(emulator.counters(), begin, end)
            except SimError:
                return None
            if blocks:
                return estimate_cycles(self.firmware, self.platform, blocks, memory).cycles / self.platform.clock_mhz
            time.sleep(0.01)
        return None

    def _restart(self, why: str, abandon: bool = False) -> None:
        """A fresh emulator after the old one ended (or, abandon=True, was given up on:
        the command it was busy with is answered with an error, not sent again)."""
        if not self._restart_budget.allow():
            raise ServeError(f"the emulator ended {MAX_RESTARTS + 1} times within {RESTART_WINDOW_S:g} s "
                             f"(last: {why}); giving up")
        self.note(f"serve: the emulator ended ({why}); restarting it")
        with self._lock:
            old, self._emulator = self._emulator, None
        if old is not None:
            old.stop()
        self.pacer.end_reply()
        try:
            emulator, mapper = self._boot()
        except SimError as err:
            raise ServeError(f"restarting the emulator failed: {err}") from None
        lost: list[_Command] = []
        with self._lock:
            if self._stop.is_set():
                emulator.stop()
                return
            if self._outstanding and (abandon or self._outstanding[0].started
                                      or self._outstanding[0].attempts >= MAX_ATTEMPTS):
                lost.append(self._outstanding.popleft())
            to_board = [c for c in self._outstanding if c.reply is None]
            resent = len(to_board)
            resend = b"".join(c.text for c in to_board)
            for command in to_board:
                command.attempts += 1
            self._head_since = time.monotonic()
            self._emulator, self._mapper = emulator, mapper
            if resend:
                try:
                    emulator.write(resend)
                except SimError:
                    pass  # ended again: the reader sees it
        self.restarts += 1
        for _ in lost:
            reason = f"e-[tinyperf serve: {why}; board restarted]" if abandon else LOST_REPLY
            for text in (reason, READY):
                self._to_client(text)
        self._answer_refused()
        done = [f"{len(lost)} command in progress answered with an error"] if lost else []
        done += [f"{resent} pending command(s) sent again"] if resent else []
        self.note(f"serve: emulator restarted (restart {self.restarts}); the board state is fresh "
                  f"(load the input again){''.join('; ' + d for d in done)}")

    def _to_client(self, line: str) -> None:
        """One line to the client; dropped when no client has the pty open."""
        master = self._master
        if master is not None:
            pty_write(master, (line + "\r\n").encode("latin-1"), self._stop)


def pty_write(master: int, data: bytes, stop: threading.Event | None = None) -> None:
    """Write to a pty master; give up when no client has it open (a real board's bytes would be
    lost too), when the client reads nothing for CLIENT_STALL_S, or on `stop`."""
    poller = select.poll()
    poller.register(master, select.POLLOUT)
    stalled_since = time.monotonic()
    while data and not (stop is not None and stop.is_set()):
        events = poller.poll(CLIENT_POLL_S * 1000)
        mask = events[0][1] if events else 0
        if mask & select.POLLHUP:
            return
        if not mask & select.POLLOUT:
            if time.monotonic() - stalled_since > CLIENT_STALL_S:
                return
            continue
        try:
            written = os.write(master, data)
        except BlockingIOError:
            continue
        except OSError as err:
            if err.errno == errno.EIO:
                return
            raise
        data = data[written:]
        stalled_since = time.monotonic()


def check_link(link: Path) -> None:
    """--link must be creatable: checked before the emulator starts, so a typo fails at once."""
    if not link.parent.is_dir():
        what = "is not a folder" if link.parent.exists() else "does not exist"
        raise ServeError(f"--link {link}: {link.parent} {what}; create that folder or choose another path",
                         EXIT_USAGE)
    if link.exists() and not link.is_symlink():
        raise ServeError(f"--link {link}: exists and is not a symlink; remove it or choose another path", EXIT_USAGE)
