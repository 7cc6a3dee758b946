"""`tinyperf serve --energy`: the energy bench around the emulated DUT, as pseudo-terminals.

Besides the DUT's own pty (harness.serve), two more devices, speaking what the official
runner (mlcommons/tiny benchmark/runner) sends them:

Interface board (the runner's IOManager: io_manager.py; commands end with `%`)
    `dut <command>`  -> `m-dut-passthrough(<command>)`, `m-ready`; then the command goes to the
                        DUT (over the DUT's pty, as a UART wire) and each DUT line comes back as
                        `[dut]: <line>` up to the DUT's `m-ready`.
    `name`           -> `m-name-[tinyperf-io-manager]`, `m-ready`
    `timestamp`      -> `m-lap-us-<us since the board started>`, `m-ready`
    `tm 0` / `tm 1`  -> `m-timestmp-mode-FALLING` / `-CHANGE`, `m-[Timer disabled after mode change]`, `m-ready`
    `enable-timer`, `disable-timer` -> `m-timer-enabled` / `m-timer-disabled`, `m-ready`
    `help`           -> the command list, `m-ready`;  anything else -> `e-[Unknown command: X]`, `m-ready`
    The passthrough, tm and timer lines are those of the EEMBC IO manager in published
    EnergyRunner logs (mlcommons/tiny_results_v1.0, closed/OctoML/.../energy/log.txt); the name
    line is ours: the runner only counts the lines of a reply.

Power monitor (ST LPM01A / PowerShield: power_manager_lpm.py; commands end with `\\r\\n`)
    Every configuration command (`htc`, `hrc`, `lcd 1 "..."`, `acqtime inf`, `trigdelay 0`,
    `trigsrc sw`, `eventsrc d7 fal`, `output energy`, `format ascii_dec`, `freq 1k`,
    `pwr on|off ...`, `volt 1800m`, ...) is answered `ack <command>`; `powershield`, `version`
    and `status` answer `ack <command> <value>`.  `volt` sets the supply the power model is
    evaluated at.  `start` acknowledges and streams one energy sample per emulated millisecond
    (`2376-08` = 2376e-8 J, harness.energy) and `event N ris` where the DUT's timestamp pin fires
    (the T0 and T1 lines of each `infer`: Server.on_edge).  `stop` sends the samples up to the end
    of the last window, `ack stop` and `Acquisition completed`.  Unknown commands get
    `error <command>` and `Error detail: unknown command`.

Time: samples follow host time while the board idles (a real board idles for as long as the
host takes), and emulated time during a window: the window starts on the sample boundary after
its T0 line goes out and lasts the window's emulated microseconds; samples past its start are
held until its T1 line has told its length.  Warmup inferences (before T0) are not bracketed by
markers and are sampled as idle.
"""
from __future__ import annotations

import math
import os
import select
import threading
import time
import tty
from dataclasses import dataclass
from queue import Empty, Queue

from harness.energy import SAMPLE_HZ, BoardPower, end_event_index, sample_text, window_span
from harness.serve import Server, pty_write
from sim.power import PowerModel

POLL_S = 0.005
DUT_REPLY_TIMEOUT_S = 3600.0  # one relayed command (ad's 1500 inferences, paced, take minutes)
READY = "m-ready"


class PtyPort:
    """The device side of a raw pseudo-terminal; bytes are dropped while no client has it open."""

    def __init__(self):
        master, slave = os.openpty()
        try:
            tty.setraw(slave)
            self.path = os.ttyname(slave)
        finally:
            os.close(slave)
        os.set_blocking(master, False)
        self.fd: int | None = master

    def read(self, timeout: float) -> bytes:
        fd = self.fd
        if fd is None:
            return b""
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        events = poller.poll(timeout * 1000)
        if not events:
            return b""
        if events[0][1] & select.POLLIN:
            try:
                return os.read(fd, 4096)
            except (BlockingIOError, OSError):
                pass
        time.sleep(timeout)  # no client: hang-up until one opens the pty
        return b""

    def write(self, data: bytes) -> None:
        if self.fd is not None:
            pty_write(self.fd, data)

    def close(self) -> None:
        fd, self.fd = self.fd, None
        if fd is not None:
            os.close(fd)


@dataclass
class Window:
    host_begin: float  # monotonic s when the T0 line went out
    begin_us: float  # board us of T0
    window_us: float | None = None  # known once T1 went out


class BoardActivity:
    """The DUT's measured windows, as its timestamp pin reports them (Server.on_edge)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.windows: list[Window] = []

    def edge(self, kind: str, board_us: float, window_us: float | None = None) -> None:
        """T0 / T1 went out; `window_us` is the window's exact modeled length when known."""
        with self.lock:
            if kind == "begin":
                self.windows.append(Window(time.monotonic(), board_us))
            elif self.windows and self.windows[-1].window_us is None:
                last = self.windows[-1]
                last.window_us = window_us if window_us is not None else max(0.0, board_us - last.begin_us)


class _Device:
    """A pty device with one command thread; commands end with `terminator`."""

    terminator = b"\n"

    def __init__(self, name: str):
        self.port = PtyPort()
        self.stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    @property
    def path(self) -> str:
        return self.port.path

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        pending = b""
        while not self.stopping.is_set():
            pending += self.port.read(0.05)
            pending = self._commands(pending)

    def _commands(self, pending: bytes) -> bytes:
        """Handles every complete command in `pending`; returns the incomplete rest."""
        while self.terminator in pending:
            raw, pending = pending.split(self.terminator, 1)
            command = raw.decode("latin-1").strip()
            if command:
                self.handle(command)
        return pending

    def handle(self, command: str) -> None:
        raise NotImplementedError

    def send(self, *lines: str) -> None:
        self.port.write("".join(f"{line}\r\n" for line in lines).encode("latin-1"))

    def close(self) -> None:
        self.stopping.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self.port.close()


class InterfaceBoard(_Device):
    """The runner's IO manager: relays `dut <command>` to the DUT over its pty."""

    terminator = b"%"

    HELP = ("help              this list", "name              device name", "timestamp         board time in us",
            "dut               DUT passthrough", "tm                0=fall/1*=change", "enable-timer      Enable timer ISR",
            "disable-timer     Disable ISR")

    def __init__(self, dut_path: str):
        super().__init__("io-manager")
        self.started = time.monotonic()
        self._dut = os.open(dut_path, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self._dut)
        self._lines: Queue[str] = Queue()
        self._dut_reader = threading.Thread(target=self._read_dut, name="io-manager-dut", daemon=True)
        self._dut_reader.start()

    def _read_dut(self) -> None:
        partial = b""
        while not self.stopping.is_set():
            ready, _, _ = select.select([self._dut], [], [], 0.1)
            if not ready:
                continue
            try:
                partial += os.read(self._dut, 4096)
            except OSError:
                return
            *lines, partial = partial.split(b"\n")
            for line in lines:
                self._lines.put(line.decode("latin-1").replace("\r", "").replace("\0", ""))

    def handle(self, command: str) -> None:
        verb, _, rest = command.partition(" ")
        if verb == "dut":
            self.send(f"m-dut-passthrough({rest})", READY)
            self._relay(rest)
        elif verb == "name":
            self.send("m-name-[tinyperf-io-manager]", READY)
        elif verb == "timestamp":
            self.send(f"m-lap-us-{round((time.monotonic() - self.started) * 1e6)}", READY)
        elif verb == "tm":
            self.send(f"m-timestmp-mode-{'FALLING' if rest.strip() == '0' else 'CHANGE'}",
                      "m-[Timer disabled after mode change]", READY)
        elif verb in ("enable-timer", "disable-timer"):
            self.send(f"m-timer-{verb.split('-')[0]}d", READY)
        elif verb == "help":
            self.send(*self.HELP, READY)
        else:
            self.send(f"e-[Unknown command: {verb}]", READY)

    def _relay(self, command: str) -> None:
        while True:  # lines the DUT printed unprompted belong to no reply
            try:
                self._lines.get_nowait()
            except Empty:
                break
        os.write(self._dut, f"{command}%".encode("latin-1"))
        deadline = time.monotonic() + DUT_REPLY_TIMEOUT_S
        while not self.stopping.is_set() and time.monotonic() < deadline:
            try:
                line = self._lines.get(timeout=0.1)
            except Empty:
                continue
            self.send(f"[dut]: {line}")
            if READY in line:
                return

    def close(self) -> None:
        super().close()
        self._dut_reader.join(timeout=5)
        os.close(self._dut)


@dataclass
class _Span:
    window: Window
    start: int  # first active sample (the begin event comes before it)
    begin_sent: bool = False
    end_sent: bool = False

    def end(self) -> float | None:
        return None if self.window.window_us is None else window_span(self.start, self.window.window_us)[1]

    def end_index(self) -> int | None:
        return None if self.window.window_us is None else end_event_index(self.start, self.window.window_us)


class _Acquisition:
    def __init__(self, t0: float):
        self.t0 = t0
        self.sent = 0  # samples sent
        self.events = 0
        self.spans: list[_Span] = []
        self.seen = 0  # windows of BoardActivity already looked at


class PowerMonitor(_Device):
    """An emulated LPM01A: acknowledgements, 1 kHz energy samples, timestamp events."""

    ACKED = {"htc", "hrc", "lcd", "acqtime", "acqmode", "funcmode", "trigsrc", "trigdelay", "eventsrc", "output",
             "format", "freq", "pwr", "pwrend", "currthres", "echo", "targrst", "psrst"}
    VALUES = {"powershield": "PowerShield present tinyperf-emulated-LPM01A", "version": "tinyperf-1",
              "status": "ok"}

    def __init__(self, model: PowerModel, clock_mhz: float, activity: BoardActivity):
        super().__init__("lpm01a")
        self.model = model
        self.clock_mhz = clock_mhz
        self.activity = activity
        self.supply_v = model.supply_v
        self.lock = threading.Lock()
        self.acquisition: _Acquisition | None = None
        self._sampler = threading.Thread(target=self._sample_loop, name="lpm01a-samples", daemon=True)

    def start(self) -> None:
        super().start()
        self._sampler.start()

    @property
    def power(self) -> BoardPower:
        return BoardPower.of(self.model, self.clock_mhz, self.supply_v)

    def handle(self, command: str) -> None:
        verb, _, arg = command.partition(" ")
        if verb == "volt" and arg != "get":
            try:
                self.supply_v = parse_volts(arg)
            except ValueError:
                self.send(f"error {command}", "Error detail: voltage out of range [1800m; 3300m]")
                return
            self.send(f"ack {command}")
        elif verb == "volt":
            self.send(f"ack {command} {round(self.supply_v * 1000)}m")
        elif verb == "start":
            with self.lock:
                self.acquisition = _Acquisition(time.monotonic())
            self.send(f"ack {command}")
        elif verb == "stop":
            self._stop_acquisition()
            self.send(f"ack {command}", "Acquisition completed")
        elif verb in self.VALUES:
            self.send(f"ack {command} {self.VALUES[verb]}")
        elif verb in self.ACKED:
            self.send(f"ack {command}")
        else:
            self.send(f"error {command}", "Error detail: unknown command")

    def _sample_loop(self) -> None:
        while not self.stopping.wait(POLL_S):
            with self.lock:
                acq = self.acquisition
                if acq is not None:
                    self._emit(acq, math.floor((time.monotonic() - acq.t0) * SAMPLE_HZ))

    def _stop_acquisition(self) -> None:
        with self.lock:
            acq, self.acquisition = self.acquisition, None
            if acq is None:
                return
            self._take_windows(acq)
            ends = [span.end_index() + 1 for span in acq.spans if span.end_index() is not None]
            self._emit(acq, max([math.floor((time.monotonic() - acq.t0) * SAMPLE_HZ), *ends]))

    def _take_windows(self, acq: _Acquisition) -> None:
        with self.activity.lock:
            fresh = self.activity.windows[acq.seen:]
            acq.seen = len(self.activity.windows)
        for window in fresh:
            if window.host_begin >= acq.t0:
                acq.spans.append(_Span(window, max(acq.sent, math.ceil((window.host_begin - acq.t0) * SAMPLE_HZ))))

    def _emit(self, acq: _Acquisition, limit: int) -> None:
        """Samples (and events) from acq.sent up to `limit`, held at the start of an open window."""
        self._take_windows(acq)
        lines = []
        power = self.power
        while acq.sent <= limit:
            for span in acq.spans:
                if not span.begin_sent and span.start == acq.sent:
                    acq.events += 1
                    lines.append(f"event {acq.events} ris")
                    span.begin_sent = True
                if not span.end_sent and span.end_index() == acq.sent:
                    acq.events += 1
                    lines.append(f"event {acq.events} ris")
                    span.end_sent = True
            if acq.sent == limit or any(s.end() is None and s.start <= acq.sent for s in acq.spans):
                break
            closed = [(float(s.start), s.end()) for s in acq.spans if s.end() is not None]
            lines.append(sample_text(acq.sent, power, closed))
            acq.sent += 1
        if lines:
            self.send(*lines)

    def close(self) -> None:
        super().close()
        self._sampler.join(timeout=5)


def parse_volts(text: str) -> float:
    """`1800m` -> 1.8, `3.3` -> 3.3; ValueError outside the LPM01A's 1.8 V to 3.3 V."""
    volts = float(text[:-1]) / 1000 if text.endswith("m") else float(text)
    if not 1.8 <= volts <= 3.3:
        raise ValueError(text)
    return volts


class EnergyBench:
    """DUT + interface board + power monitor, each on its own pty."""

    def __init__(self, server: Server, model: PowerModel):
        self.activity = BoardActivity()
        self.dut = server
        server.on_edge = self.activity.edge
        self.monitor = PowerMonitor(model, server.platform.clock_mhz, self.activity)
        self.interface: InterfaceBoard | None = None

    def start(self) -> dict[str, str]:
        dut_path = self.dut.start()
        self.interface = InterfaceBoard(dut_path)
        self.interface.start()
        self.monitor.start()
        return {"dut": dut_path, "interface": self.interface.path, "power": self.monitor.path}

    def serve_forever(self) -> None:
        self.dut.serve_forever()

    def request_stop(self) -> None:
        self.dut.request_stop()

    def close(self) -> None:
        for device in (self.interface, self.monitor):
            if device is not None:
                device.close()
        self.dut.close()
