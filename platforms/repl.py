"""Reading our Renode platform descriptions (.repl) and checking them against the TOML.

A .repl file is a list of entries, each a header line

    name: Type @ sysbus 0xADDRESS        (or `@ sysbus` with no address, or no `@` at all)

followed by indented lines: `key: value` properties and `A -> b@N` connections.
`//` starts a comment.  An entry may also carry its properties inline in braces:
`name: Type @ sysbus 0x0 { size: 0x1000; other: 1 }`.  This parser reads that
subset, which is all our files use; it is not a full .repl implementation
(no `using`, no multi-registration, no `init` blocks).

The facts tests/test_renode.py checks for every platform (`check_platform`):
memory regions (flash and RAM: base and size), the UART (Renode type and
address), and the CPU's `cpuType` being one Renode accepts for the core.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from platforms import Platform
from tinyperf_errors import TinyperfError

# Renode peripheral type for each UART kind in our TOML files.
UART_TYPES = {"cmsdk-apb-uart": "UART.CMSDK_APB_UART"}

MEMORY_TYPE = "Memory.MappedMemory"

# Cortex-M `cpuType` names Renode's CPU library (tlib, arch/arm/helper.c,
# table arm_cpu_names) accepts, with the first Renode release that has each
# (older ones stop with `Error E38: ... Unknown CPU type`, TranslationCPU.cs).
# 1.14.0 is the oldest release tinyperf was run on; cortex-m33 dates from 1.13.0,
# cortex-m23 and cortex-m85 from 1.15.0 (renode CHANGELOG.rst), cortex-m55 from
# 1.16.1 (1.14.0 rejects it).  Two names run on another core's model:
# "cortex-m0+" on the Cortex-M3 model and "cortex-m4f" on the Cortex-M7 model
# (tlib's own TODO comments say so); instruction counts do not depend on it.
RENODE_CPU_TYPE_SINCE: dict[str, tuple[int, int, int]] = {
    "cortex-m0": (1, 14, 0), "cortex-m0+": (1, 14, 0), "cortex-m3": (1, 14, 0), "cortex-m4": (1, 14, 0),
    "cortex-m4f": (1, 14, 0), "cortex-m7": (1, 14, 0), "cortex-m33": (1, 14, 0),
    "cortex-m23": (1, 15, 0), "cortex-m85": (1, 15, 0), "cortex-m55": (1, 16, 1),
}
RENODE_CORTEX_M_CPU_TYPES = frozenset(RENODE_CPU_TYPE_SINCE)

# The constructor parameters Renode accepts for each peripheral type our
# .repl files use (a .repl attribute that names none of them is rejected with
# `Error E25: Could not find suitable constructor`, CreationDriver.cs).  The
# IMachine parameter is filled by Renode and may not be given.  Sources, in
# renode-infrastructure (1.14.0 to current master):
#   MappedMemory(IMachine machine, long size, int? segmentSize)
#       src/Emulator/Main/Peripherals/Memory/MappedMemory.cs
#   NVIC(IMachine machine, long systickFrequency, byte priorityMask, bool haltSystickOnDeepSleep)
#       src/Emulator/Cores/Arm-M/NVIC.cs
#   CortexM(string cpuType, IMachine machine, NVIC nvic, [NameAlias("id")] uint cpuId, Endianess endianness,
#           uint? fpuInterruptNumber, uint? numberOfMPURegions)   src/Emulator/Cores/Arm-M/CortexM.cs
#       (later releases add enableTrustZone, numberOfSAURegions, numberOfIDAURegions: not used here)
#   CMSDK_APB_UART(IMachine machine, uint frequency)
#       src/Emulator/Peripherals/Peripherals/UART/CMSDK_APB_UART.cs
RENODE_CONSTRUCTOR_PARAMETERS: dict[str, frozenset[str]] = {
    "Memory.MappedMemory": frozenset({"size", "segmentSize"}),
    "IRQControllers.NVIC": frozenset({"systickFrequency", "priorityMask", "haltSystickOnDeepSleep"}),
    "CPU.CortexM": frozenset({"cpuType", "nvic", "cpuId", "id", "endianness", "fpuInterruptNumber",
                              "numberOfMPURegions"}),
    "UART.CMSDK_APB_UART": frozenset({"frequency"}),
}
NVIC_TYPE = "IRQControllers.NVIC"

# Our core name (TOML `core`) -> the cpuType values that model it.
CPU_TYPES_FOR_CORE = {
    "cortex-m0plus": ("cortex-m0+",),
    "cortex-m3": ("cortex-m3",),
    "cortex-m4": ("cortex-m4f", "cortex-m4"),  # our M4 has the FPU: cortex-m4f is Renode's usual name
    "cortex-m7": ("cortex-m7",),
    "cortex-m33": ("cortex-m33",),
    "cortex-m55": ("cortex-m55",),  # Renode 1.16.1 and later
}

_HEADER = re.compile(
    r"^(?P<name>[A-Za-z_][\w]*)\s*:\s*(?P<type>[A-Za-z_][\w.]*)?"
    r"(?:\s*@\s*(?P<bus>[A-Za-z_][\w.]*)(?:\s+(?P<addr>0[xX][0-9a-fA-F_]+|\d+))?)?"
    r"\s*(?:\{(?P<inline>[^}]*)\})?\s*$")
_PROPERTY = re.compile(r"^(?P<key>[A-Za-z_]\w*)\s*:\s*(?P<value>.+?)\s*$")
_CONNECTION = re.compile(r"^(?P<source>[\w.\[\]]*)\s*->\s*(?P<target>.+?)\s*$")


class ReplError(TinyperfError, ValueError):
    """A .repl line this parser does not understand."""


@dataclass(frozen=True)
class ReplEntry:
    name: str
    type: str | None
    bus: str | None
    address: int | None
    properties: dict[str, str | int] = field(default_factory=dict)
    connections: tuple[str, ...] = ()

    @property
    def size(self) -> int | None:
        value = self.properties.get("size")
        return value if isinstance(value, int) else None


@dataclass(frozen=True)
class ReplDescription:
    path: Path
    entries: dict[str, ReplEntry]

    def of_type(self, prefix: str) -> list[ReplEntry]:
        return [e for e in self.entries.values() if e.type and (e.type == prefix or e.type.startswith(prefix + "."))]

    @property
    def memories(self) -> dict[str, ReplEntry]:
        return {e.name: e for e in self.entries.values() if e.type == MEMORY_TYPE}

    @property
    def uarts(self) -> list[ReplEntry]:
        return self.of_type("UART")

    @property
    def cpus(self) -> list[ReplEntry]:
        return self.of_type("CPU")

    @property
    def cpu_type(self) -> str | None:
        cpus = self.cpus
        value = cpus[0].properties.get("cpuType") if len(cpus) == 1 else None
        return value if isinstance(value, str) else None


def _value(text: str) -> str | int:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    if re.fullmatch(r"0[xX][0-9a-fA-F_]+", text):
        return int(text.replace("_", ""), 16)
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return text  # an identifier or reference (e.g. `nvic`), kept as written


def _strip_comment(line: str) -> str:
    # `//` outside a string starts a comment
    in_string = False
    for i, ch in enumerate(line):
        if ch == '"':
            in_string = not in_string
        elif ch == "/" and not in_string and line[i:i + 2] == "//":
            return line[:i]
    return line


def parse_repl(text: str, path: Path = Path("<string>")) -> ReplDescription:
    """The entries of a .repl text (ReplError on a line outside the subset we read)."""
    entries: dict[str, ReplEntry] = {}
    current: dict | None = None

    def close() -> None:
        if current is not None:
            entries[current["name"]] = ReplEntry(current["name"], current["type"], current["bus"], current["addr"],
                                                 current["props"], tuple(current["conns"]))

    for number, raw in enumerate(text.splitlines(), 1):
        line = _strip_comment(raw).rstrip()
        if not line.strip():
            continue
        indented = line[0] in " \t"
        body = line.strip()
        if not indented:
            close()
            match = _HEADER.match(body)
            if not match:
                raise ReplError(f"{path}:{number}: not a .repl entry header: {body!r}")
            if match["name"] in entries:
                raise ReplError(f"{path}:{number}: entry '{match['name']}' defined twice")
            addr = match["addr"]
            current = {"name": match["name"], "type": match["type"], "bus": match["bus"],
                       "addr": int(addr.replace("_", ""), 0) if addr else None, "props": {}, "conns": []}
            for item in filter(None, (p.strip() for p in (match["inline"] or "").split(";"))):
                prop = _PROPERTY.match(item)
                if not prop:
                    raise ReplError(f"{path}:{number}: not a property: {item!r}")
                current["props"][prop["key"]] = _value(prop["value"])
            continue
        if current is None:
            raise ReplError(f"{path}:{number}: indented line before any entry: {body!r}")
        if "->" in body:
            if not _CONNECTION.match(body):
                raise ReplError(f"{path}:{number}: not a connection: {body!r}")
            current["conns"].append(body)
            continue
        prop = _PROPERTY.match(body)
        if not prop:
            raise ReplError(f"{path}:{number}: not a property or connection: {body!r}")
        current["props"][prop["key"]] = _value(prop["value"])
    close()
    return ReplDescription(path, entries)


def load_repl(path: Path) -> ReplDescription:
    return parse_repl(path.read_text(), path)


def check_platform(platform: Platform, repl: ReplDescription | None = None) -> list[str]:
    """Every way the platform's .repl disagrees with its TOML (empty: they agree).

    Checked: the memory regions are exactly flash and ram with the TOML's base
    and size; exactly one UART, of the Renode type for the TOML's UART kind, at
    the TOML's address, named uart0 (the .resc connects sysbus.uart0); exactly
    one CPU, named cpu, whose cpuType is a Renode Cortex-M type for the core;
    every attribute a constructor parameter of its type (as Renode requires);
    the NVIC's SysTick clocked as the TOML's fallback timer."""
    repl = repl or load_repl(platform.repl_file)
    problems: list[str] = []
    memories = repl.memories
    if sorted(memories) != ["flash", "ram"]:
        problems.append(f"memory regions are {sorted(memories)}, expected ['flash', 'ram']")
    for region in platform.regions:
        entry = memories.get(region.name)
        if entry is None:
            continue
        if entry.bus != "sysbus" or entry.address != region.base:
            problems.append(f"{region.name} at {_hex(entry.address)}, TOML says 0x{region.base:08x}")
        if entry.size != region.size:
            problems.append(f"{region.name} size {_hex(entry.size)}, TOML says 0x{region.size:x}")
    uarts = repl.uarts
    expected_type = UART_TYPES.get(platform.uart.kind)
    if expected_type is None:
        problems.append(f"no Renode UART type known for TOML uart kind '{platform.uart.kind}'")
    if len(uarts) != 1:
        problems.append(f"{len(uarts)} UARTs, expected 1")
    else:
        uart = uarts[0]
        if uart.name != "uart0":
            problems.append(f"UART is named {uart.name}, expected uart0")
        if expected_type and uart.type != expected_type:
            problems.append(f"UART type {uart.type}, expected {expected_type} for '{platform.uart.kind}'")
        if uart.bus != "sysbus" or uart.address != platform.uart.base:
            problems.append(f"UART at {_hex(uart.address)}, TOML says 0x{platform.uart.base:08x}")
    cpus = repl.cpus
    if len(cpus) != 1 or cpus[0].name != "cpu":
        problems.append(f"CPUs {[c.name for c in cpus]}, expected one named cpu")
    cpu_type = repl.cpu_type
    allowed = CPU_TYPES_FOR_CORE.get(platform.core, ())
    if cpu_type not in RENODE_CORTEX_M_CPU_TYPES:
        problems.append(f"cpuType {cpu_type!r} is not a Renode Cortex-M cpuType")
    elif cpu_type not in allowed:
        problems.append(f"cpuType {cpu_type!r} does not model core {platform.core} (expected one of {list(allowed)})")
    problems += unknown_attributes(repl)
    problems += _systick_problems(platform, repl)
    return problems


def unknown_attributes(repl: ReplDescription) -> list[str]:
    """Attributes Renode would reject: no constructor parameter of the entry's type has that name."""
    problems = []
    for entry in repl.entries.values():
        accepted = RENODE_CONSTRUCTOR_PARAMETERS.get(entry.type or "")
        if accepted is None:
            problems.append(f"{entry.name}: type {entry.type} is not one whose constructor tinyperf checked")
            continue
        problems += [f"{entry.name}: {entry.type} has no constructor parameter '{key}' "
                     f"(accepted: {', '.join(sorted(accepted))})" for key in entry.properties if key not in accepted]
    return problems


def _systick_problems(platform: Platform, repl: ReplDescription) -> list[str]:
    nvics = repl.of_type(NVIC_TYPE)
    frequency = nvics[0].properties.get("systickFrequency") if len(nvics) == 1 else None
    wanted = platform.fallback_timer.clock_hz if platform.fallback_timer else None
    if len(nvics) != 1:
        return [f"{len(nvics)} NVICs, expected 1"]
    if wanted is not None and frequency != wanted:
        return [f"NVIC systickFrequency {frequency}, TOML fallback_timer clock_hz is {wanted}"]
    return []


def _hex(value: int | None) -> str:
    return "none" if value is None else f"0x{value:08x}"
