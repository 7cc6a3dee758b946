"""Turning a dead firmware into one line that says where it died."""
from __future__ import annotations

import re

from sim.elf import FirmwareImage

# Printed by our fault handlers (firmware/bsp/cortexm/startup.c).
HANDLER_FAULT = re.compile(r"e-\[fault exception=(?P<exc>[0-9a-f]+) pc=0x(?P<pc>[0-9a-f]+)[^\]]*\]")
# Printed by QEMU when a fault cannot be escalated (no working handler).
LOCKUP = re.compile(r"Lockup: (?P<why>[^\n]*)")
QEMU_REG = re.compile(r"R(?P<n>\d\d)=(?P<value>[0-9a-f]{8})")

EXCEPTIONS = {2: "NMI", 3: "HardFault", 4: "MemManage", 5: "BusFault", 6: "UsageFault", 7: "SecureFault"}


def where(firmware: FirmwareImage, pc: int) -> str:
    symbol = firmware.symbol_at(pc)
    return f"PC=0x{pc:08x} ({symbol})" if symbol else f"PC=0x{pc:08x} (no symbol)"


def handler_fault(firmware: FirmwareImage, uart_text: str) -> str | None:
    match = HANDLER_FAULT.search(uart_text)
    if not match:
        return None
    exc = EXCEPTIONS.get(int(match["exc"], 16), f"exception {int(match['exc'], 16)}")
    return f"firmware fault: {exc} at {where(firmware, int(match['pc'], 16))}"


def lockup(firmware: FirmwareImage, emulator_log: str) -> str | None:
    match = LOCKUP.search(emulator_log)
    if not match:
        return None
    regs = {int(m["n"]): int(m["value"], 16) for m in QEMU_REG.finditer(emulator_log[match.end():])}
    pc = regs.get(15)
    if pc is None:
        return f"firmware locked up ({match['why']})"
    text = f"firmware locked up: a fault with no working handler ({match['why']}) at {where(firmware, pc)}"
    if firmware.symbol_at(pc) is None and 14 in regs and regs[14] >= 0xFFFFFFE0:
        text += "; that PC is a bad fault vector: install fault handlers to see the faulting instruction"
    return text
