"""Emulator processes: started in their own process group, tied to our life,
and always reaped.  Shared by every backend."""
from __future__ import annotations

import atexit
import ctypes
import os
import resource
import signal
import subprocess
import weakref
from pathlib import Path
from typing import Protocol

STOP_GRACE_S = 2.0
PR_SET_PDEATHSIG = 1


class Stoppable(Protocol):
    def stop(self) -> None: ...


_live: "weakref.WeakSet[Stoppable]" = weakref.WeakSet()


@atexit.register
def stop_all() -> None:
    """Stop every emulator this process started (Ctrl-C, exit)."""
    for emulator in list(_live):
        emulator.stop()


def _child_setup() -> None:
    """In the child before exec: die with the parent, and never dump core
    (QEMU aborts on a guest lockup)."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def spawn(owner: Stoppable, cmd: list[str], log_path: Path, cwd: Path | None = None,
          stdin_pipe: bool = False) -> subprocess.Popen[bytes]:
    """Start cmd with stdout and stderr to log_path, in a new session; `owner`
    is stopped by stop_all().  stdin_pipe: stdin is a pipe we hold open (and
    close in terminate()) instead of /dev/null, for programs that read commands
    from stdin and quit at its end."""
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE if stdin_pipe else subprocess.DEVNULL, stdout=log,
                                stderr=log, cwd=cwd, start_new_session=True, preexec_fn=_child_setup)
    _live.add(owner)
    return proc


def terminate(proc: subprocess.Popen[bytes] | None, grace_s: float = STOP_GRACE_S) -> bool:
    """SIGTERM to the process group, SIGKILL after a grace period; reaped, its
    stdin pipe (if any) closed.  Whether it was still running (so we ended it)."""
    if proc is None:
        return False
    try:
        if proc.poll() is not None:
            return False
        for sig, grace in ((signal.SIGTERM, grace_s), (signal.SIGKILL, None)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(grace)
                break
            except subprocess.TimeoutExpired:
                continue
        if proc.poll() is None:
            proc.wait()
        return True
    finally:
        if proc.stdin:
            proc.stdin.close()


def released(owner: Stoppable) -> None:
    _live.discard(owner)
