"""Errors the emulation layer reports: each message is one line that names the
problem and, where there is one, the fix."""
from __future__ import annotations


from tinyperf_errors import EXIT_USAGE, TinyperfError


class SimError(TinyperfError):
    """The emulation layer's errors: the CLI prints str(err) on one line and exits non-zero."""


class ElfError(SimError):
    """The firmware file the user named is not a usable 32-bit Arm ELF for the platform (a usage error)."""

    exit_code = EXIT_USAGE


class ToolMissingError(SimError):
    """qemu-system-arm, the cross compiler or a host C compiler is missing."""


class PluginError(SimError):
    """The counting plugin could not be built or loaded."""


class EmulatorError(SimError):
    """The emulator failed to start or ended abnormally."""


class EmulatorLost(EmulatorError):
    """The emulator ended for a reason outside the firmware (killed by a signal,
    stopped by us): whatever the firmware was doing gets no verdict."""


class FirmwareTimeout(SimError):
    """The firmware did not finish (or answer) in time."""


class FirmwareFault(SimError):
    """The firmware faulted: reported by its handler or by the emulator's lockup."""
