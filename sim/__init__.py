"""Emulator backends for tinyperf.

    from sim import open_emulator, RunOptions
    with open_emulator("cortex-m4", "firmware.elf", RunOptions(markers=("th_timestamp",))) as dut:
        dut.write(b"name%")
        print(dut.read_line(timeout=5))
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from platforms import Platform, get_platform
from sim.backend import Emulator, RunOptions
from sim.elf import FirmwareImage
from sim.errors import SimError
from sim.qemu import QemuEmulator
from sim.renode import RenodeEmulator

BACKENDS: dict[str, type[Emulator]] = {"qemu": QemuEmulator, "renode": RenodeEmulator}

__all__ = ["BACKENDS", "Emulator", "FirmwareImage", "RunOptions", "SimError", "open_emulator"]


def open_emulator(platform: Platform | str | None, firmware: FirmwareImage | str | Path,
                  options: RunOptions = RunOptions(), backend: str = "qemu",
                  on_output: Callable[[bytes], None] | None = None) -> Emulator:
    """An unstarted emulator (use it with `with`, which starts and always stops it)."""
    if not isinstance(platform, Platform):
        platform = get_platform(platform)
    if not isinstance(firmware, FirmwareImage):
        firmware = FirmwareImage(firmware)
    if backend not in BACKENDS:
        raise SimError(f"unknown backend '{backend}': choose one of {', '.join(BACKENDS)}")
    return BACKENDS[backend](platform, firmware, options, on_output)
