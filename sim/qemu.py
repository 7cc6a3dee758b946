"""The QEMU backend: qemu-system-arm with the counting plugin and a UART socket."""
from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from platforms import Platform
from sim.backend import Emulator, RunOptions, marker_addresses, unique_run_dir
from sim.elf import FirmwareImage
from sim.errors import EmulatorError, FirmwareTimeout, PluginError, SimError, ToolMissingError
from sim.faults import handler_fault, lockup
from sim.memory import plugin_args as memory_plugin_args
from sim.plugin import CounterLog, plugin_path
from sim.process import STOP_GRACE_S, released, spawn, terminate

QEMU = "qemu-system-arm"
CONNECT_TIMEOUT_S = 10.0

# Lines QEMU prints in normal operation, which are not failures.
QEMU_NOTES = ("terminating on signal", "info: QEMU waiting for connection")


def qemu_binary() -> str:
    found = shutil.which(QEMU)
    if not found:
        raise ToolMissingError(f"{QEMU} not found: run 'apt-get install qemu-system-arm' (or ci/setup)")
    return found


class QemuEmulator(Emulator):
    """qemu-system-arm -M <machine> running one ELF, in its own process group."""

    def __init__(self, platform: Platform, firmware: FirmwareImage, options: RunOptions = RunOptions(),
                 on_output: Callable[[bytes], None] | None = None):
        super().__init__(platform, firmware, options, on_output)
        self._proc: subprocess.Popen[bytes] | None = None
        self._dir: Path | None = None
        self._emulator_log = ""
        self._killed = False
        self.markers = marker_addresses(firmware, options)

    def command(self, plugin: Path, run_dir: Path) -> list[str]:
        per_insn = self.options.icount or self.options.exact_blocks
        plugin_args = [f"out={run_dir / 'counts'}", f"mode={'insn' if per_insn else 'tb'}"]
        if self.markers:
            plugin_args.append("markers=" + ":".join(f"{a:x}" for a in sorted(set(self.markers.values()))))
        if self.options.profile:
            plugin_args.append("profile=on")
        if self.options.memory:
            plugin_args += memory_plugin_args(self.platform.memory_timing)
        cmd = [
            qemu_binary(), "-M", self.platform.machine,
            "-display", "none", "-monitor", "none",
            "-chardev", f"socket,id=uart0,path={run_dir / 'uart'},server=on,wait=on",
            "-serial", "chardev:uart0",
            "-semihosting-config", "enable=on,target=native",
            "-kernel", str(self.firmware.path),
        ]
        if self.options.count:
            cmd += ["-plugin", ",".join([str(plugin), *plugin_args])]
        if self.options.icount:
            # One instruction per virtual nanosecond: timers follow instructions.
            cmd += ["-icount", "shift=0"]
        return cmd

    def start(self) -> None:
        self.firmware.check_fits(self.platform)
        plugin = plugin_path()
        self._dir = unique_run_dir()
        cmd = self.command(plugin, self._dir)
        self._log = CounterLog(self._dir / "counts")
        self._proc = spawn(self, cmd, self._dir / "qemu.log")
        self._attach_uart(self._connect)

    def _connect(self) -> socket.socket:
        path = str(self._dir / "uart")
        deadline = time.monotonic() + CONNECT_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise self._start_failure()
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(path)
                return sock
            except (FileNotFoundError, ConnectionRefusedError):
                sock.close()
                time.sleep(0.005)
        raise EmulatorError(f"{QEMU} did not open its UART socket within {CONNECT_TIMEOUT_S:g} s")

    def _start_failure(self) -> Exception:
        return self._emulator_failure() or EmulatorError(
            f"{QEMU} failed to start: exit status {self._proc.returncode}")

    def _emulator_failure(self) -> SimError | None:
        """QEMU's own complaint (not the firmware's), if it printed one."""
        lines = [ln.strip() for ln in self._read_emulator_log().splitlines()]
        for line in lines:
            if "Could not load plugin" in line or line.startswith("tinyperf counter:"):
                detail = next((ln for ln in lines if ln.startswith("tinyperf counter:")), line)
                return PluginError(f"QEMU could not load the counting plugin: {detail}")
        for line in lines:
            if line.startswith(f"{QEMU}:") and not any(note in line for note in QEMU_NOTES):
                return EmulatorError(line)
        return None

    def _read_emulator_log(self) -> str:
        if self._dir and (self._dir / "qemu.log").exists():
            self._emulator_log = (self._dir / "qemu.log").read_text(errors="replace")
        return self._emulator_log

    def wait(self, timeout: float) -> int:
        if self._proc is None:
            raise EmulatorError("emulator not started")
        try:
            self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise FirmwareTimeout(f"firmware still running after {timeout:g} s") from None
        if self.uart:
            self.uart.wait_closed(STOP_GRACE_S)
        failure = self._emulator_failure()
        if failure:
            raise failure
        return self.exit_code

    @property
    def exit_code(self) -> int | None:
        """None while running, and when we stopped it (then there is no firmware exit code)."""
        if self._proc is None or self._killed or self._proc.poll() is None:
            return None
        return self._proc.returncode

    def diagnose(self) -> str:
        if self._proc is not None and not self._killed:
            try:  # the UART closes a moment before the process is reaped
                self._proc.wait(STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                pass
        failure = self._emulator_failure()
        if failure:
            return str(failure)
        uart_text = self.transcript.decode("latin-1")
        found = handler_fault(self.firmware, uart_text) or lockup(self.firmware, self._read_emulator_log())
        if found:
            return found
        code = self.exit_code
        if code is None:
            return ""
        if code < 0:
            return f"{QEMU} was killed by signal {-code}"
        return f"firmware exited with code {code}"

    @property
    def suspended(self) -> bool:
        if self._proc is None or self._proc.poll() is not None:
            return False
        try:  # /proc/PID/stat: "pid (comm) state ..."; comm may hold spaces and parentheses
            state = Path(f"/proc/{self._proc.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return False
        return state in ("T", "t")

    @property
    def ended_outside_firmware(self) -> bool:
        if self._proc is None or self._proc.poll() is None:
            return False
        log = self._read_emulator_log()
        # QEMU ends with status 0 on SIGTERM/SIGINT but logs "terminating on signal";
        # it aborts itself (a signal too) on a guest lockup, which is the firmware's.
        killed = self._proc.returncode < 0 and not lockup(self.firmware, log)
        return self._killed or killed or "terminating on signal" in log

    def stop(self) -> None:
        self._killed |= terminate(self._proc)
        if self.uart is not None:
            self.uart.close()
        self._freeze_counters()
        if self._dir is not None:
            self._read_emulator_log()
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
        released(self)
