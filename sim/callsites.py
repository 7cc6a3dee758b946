"""Return sites of direct calls, found by disassembling the firmware (capstone).

A window that opens when a function returns (rather than when it is entered)
excludes everything the function did: for `th_timestamp`, which prints a
host-time value whose digit count varies, that makes counts repeat exactly.
The counting plugin records a marker at any code address, so the "return"
of a call is the instruction after each `bl`/`blx` that targets the function;
a tail call (`b.w th_timestamp`) returns to its caller's call site, which is
found the same way when the caller is itself called directly."""
from __future__ import annotations

import capstone

from sim.elf import FirmwareImage


def _thumb_disassembler() -> capstone.Cs:
    cs = capstone.Cs(capstone.CS_ARCH_ARM, capstone.CS_MODE_THUMB | capstone.CS_MODE_MCLASS)
    cs.skipdata = True  # literal pools between functions
    return cs


_FOUND: dict[tuple[str, int, int, int], list[int]] = {}  # (path, mtime, size, target) -> sites


def return_sites(image: FirmwareImage, target: int) -> list[int]:
    """Addresses right after every direct call (bl/blx #imm) to `target`,
    and after direct calls to functions that end in a tail call to it.
    Kept per ELF file version: a large firmware takes a second to disassemble."""
    stat = image.path.stat()
    key = (str(image.path.resolve()), stat.st_mtime_ns, stat.st_size, target)
    if key not in _FOUND:
        calls, tail_callers = _scan(image, target)
        wanted = tail_callers | {target}
        _FOUND[key] = sorted({ret for ret, callee in calls if callee in wanted})
    return list(_FOUND[key])


def _scan(image: FirmwareImage, target: int) -> tuple[list[tuple[int, int]], set[int]]:
    """(return address, callee) of every bl/blx with an immediate target, and
    the functions holding an unconditional `b`/`b.w` to target (tail calls)."""
    cs = _thumb_disassembler()
    calls: list[tuple[int, int]] = []
    tail_callers: set[int] = set()
    for fn in image.functions():
        for addr, size, mnemonic, operands in cs.disasm_lite(image.read(fn.addr, fn.size), fn.addr):
            if not operands.startswith("#"):
                continue
            if mnemonic in ("bl", "blx"):
                calls.append((addr + size, int(operands[1:], 0) & ~1))
            elif mnemonic in ("b", "b.w") and fn.addr != target and int(operands[1:], 0) & ~1 == target:
                tail_callers.add(fn.addr)
    return calls, tail_callers
