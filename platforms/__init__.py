"""The platform catalog: one TOML file per emulated board in this folder.

A platform names a core, the QEMU machine that models it, its memory regions,
UART and timer, and the nominal clock that turns cycles into latency.  The
firmware build (platforms.gen), the emulator backends (sim) and the harness
all read the same files, so the memory map has one source of truth.
"""
from __future__ import annotations

import difflib
import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from platforms.memory import ZERO_WAIT, MemoryTiming, MemoryTimingError, parse_memory_timing
from tinyperf_errors import UsageError

CATALOG_DIR = Path(__file__).resolve().parent


class UnknownPlatformError(UsageError, LookupError):
    """A platform name that is not in the catalog."""


class PlatformFileError(UsageError, ValueError):
    """A platform TOML that is not valid TOML or does not follow SCHEMA."""


# The keys a platform file must (or may) have, with their TOML types.  Tables
# not listed here (e.g. sections a newer cycle or memory model reads) are
# accepted as they are: each model validates its own section.
REQUIRED: dict[str, type | tuple[type, ...]] = {
    "name": str,
    "description": str,
    "core": str,
    "cflags": list,
    "clock_mhz": (int, float),
    "simulation.kind": str,
    "simulation.machine": str,
    "simulation.repl": str,
    "memory.flash.base": int,
    "memory.flash.size": int,
    "memory.ram.base": int,
    "memory.ram.size": int,
    "uart.kind": str,
    "uart.base": int,
    "timer.kind": str,
    "timer.base": int,
    "timer.clock_hz": int,
}
OPTIONAL: dict[str, type | tuple[type, ...]] = {
    "default": bool,
    "prebuilt_from": str,
}
# Keys required once their (optional) table is present.
REQUIRED_IN_TABLE: dict[str, dict[str, type | tuple[type, ...]]] = {
    "fallback_timer": {"fallback_timer.kind": str, "fallback_timer.base": int, "fallback_timer.clock_hz": int},
}
PLATFORM_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
TYPE_NAMES = {str: "a string", list: "an array", int: "an integer", float: "a number", bool: "true or false"}


def _lookup(data: dict, dotted: str):
    node = data
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return KeyError
        node = node[part]
    return node


def validate(data: dict, source: Path) -> None:
    """Raise PlatformFileError naming the first missing or mistyped key and the file."""
    present = [(keys, False) for section, keys in REQUIRED_IN_TABLE.items() if section in data]
    for table, optional in [(REQUIRED, False), (OPTIONAL, True), *present]:
        for key, kind in table.items():
            value = _lookup(data, key)
            if value is KeyError:
                if optional:
                    continue
                raise PlatformFileError(f"{source}: missing key '{key}' (see platforms/cortex-m4.toml for the layout)")
            kinds = kind if isinstance(kind, tuple) else (kind,)
            if not isinstance(value, kinds) or (bool not in kinds and isinstance(value, bool)):
                raise PlatformFileError(f"{source}: key '{key}' must be {' or '.join(TYPE_NAMES[k] for k in kinds)}, "
                                        f"not {type(value).__name__} {value!r}")
    if not PLATFORM_NAME.fullmatch(data["name"]):
        raise PlatformFileError(f"{source}: key 'name' must be letters, digits, '.', '_' or '-' "
                                f"(it names build folders), not {data['name']!r}")
    if not all(isinstance(flag, str) for flag in data["cflags"]):
        raise PlatformFileError(f"{source}: key 'cflags' must be an array of strings")


@dataclass(frozen=True)
class MemoryRegion:
    name: str
    base: int
    size: int

    @property
    def end(self) -> int:
        return self.base + self.size

    def contains(self, start: int, length: int) -> bool:
        return self.base <= start and start + length <= self.end


@dataclass(frozen=True)
class Peripheral:
    kind: str
    base: int
    clock_hz: int = 0


# What a prebuilt ELF depends on: a board equal to its core platform in these runs its ELFs.
IMAGE_KEYS = ("core", "cflags", "machine", "flash", "ram", "uart", "timer")


@dataclass(frozen=True)
class Platform:
    name: str
    description: str
    core: str
    cflags: tuple[str, ...]
    clock_mhz: float
    machine: str
    simulation: str
    repl_file: Path
    flash: MemoryRegion
    ram: MemoryRegion
    uart: Peripheral
    timer: Peripheral
    default: bool = False
    source: Path = field(default=CATALOG_DIR)
    # The timer the firmware uses where `timer` is not modelled (Renode): None for none.
    fallback_timer: Peripheral | None = None
    memory_timing: MemoryTiming = ZERO_WAIT  # wait states and caches (platforms.memory)
    prebuilt_from: str | None = None  # a board that runs another platform's prebuilt ELFs (same link map)
    power: dict = field(default_factory=dict, hash=False, compare=False)  # the [power] table (sim.power)

    @property
    def image_platform(self) -> str:
        """The platform whose prebuilt firmware this one runs."""
        return self.prebuilt_from or self.name

    @property
    def in_catalog(self) -> bool:
        """A platform of this folder (prebuilt firmware exists for it), not a user's own TOML."""
        return self.source.parent == CATALOG_DIR

    @property
    def runs_prebuilt(self) -> bool:
        """Prebuilt firmware runs here unchanged: a catalog platform, or a user's TOML whose
        `prebuilt_from` names a catalog platform with the same core, flags, machine and link map."""
        if self.in_catalog:
            return True
        core = catalog().get(self.prebuilt_from) if self.prebuilt_from else None
        return core is not None and all(getattr(self, key) == getattr(core, key) for key in IMAGE_KEYS)

    @property
    def build_key(self) -> str:
        """Folder name for this platform's builds: a user's TOML also by its content, so two
        files with one name (or an edited file) never share built firmware."""
        if self.in_catalog:
            return self.name
        return f"{self.name}-{hashlib.sha256(self.source.read_bytes()).hexdigest()[:10]}"

    @property
    def regions(self) -> tuple[MemoryRegion, ...]:
        return (self.flash, self.ram)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "description": self.description,
            "core": self.core,
            "clock_mhz": self.clock_mhz,
            "simulation": self.simulation,
            "machine": self.machine,
            "cflags": list(self.cflags),
            "memory": {r.name: {"base": r.base, "size": r.size} for r in self.regions},
            "uart": {"kind": self.uart.kind, "base": self.uart.base},
            "timer": _peripheral_dict(self.timer),
            "fallback_timer": _peripheral_dict(self.fallback_timer) if self.fallback_timer else None,
            "default": self.default,
            "memory_timing": self.memory_timing.to_dict(),
            **({"prebuilt_from": self.prebuilt_from} if self.prebuilt_from else {}),
        }


def _peripheral_dict(p: Peripheral) -> dict:
    return {"kind": p.kind, "base": p.base, "clock_hz": p.clock_hz}


def _timer(table: dict) -> Peripheral:
    return Peripheral(table["kind"], int(table["base"]), int(table["clock_hz"]))


def _region(name: str, table: dict) -> MemoryRegion:
    return MemoryRegion(name, int(table["base"]), int(table["size"]))


def load_platform(path: Path) -> Platform:
    """A platform from its TOML file, checked against the schema above."""
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise PlatformFileError(f"{path}: not valid TOML ({err})") from None
    except (OSError, UnicodeDecodeError) as err:
        raise PlatformFileError(f"{path}: cannot read ({err})") from None
    validate(data, path)
    sim = data["simulation"]
    flash = _region("flash", data["memory"]["flash"])
    try:
        memory_timing = parse_memory_timing(data, flash.base, flash.size)
    except MemoryTimingError as err:
        raise MemoryTimingError(f"{path}: {err}") from None
    return Platform(
        name=data["name"],
        description=data["description"],
        core=data["core"],
        cflags=tuple(data["cflags"]),
        clock_mhz=float(data["clock_mhz"]),
        machine=sim["machine"],
        simulation=sim["kind"],
        repl_file=path.parent / sim["repl"],
        flash=flash,
        ram=_region("ram", data["memory"]["ram"]),
        uart=Peripheral(data["uart"]["kind"], int(data["uart"]["base"])),
        timer=_timer(data["timer"]),
        default=bool(data.get("default", False)),
        source=path,
        fallback_timer=_timer(data["fallback_timer"]) if "fallback_timer" in data else None,
        memory_timing=memory_timing,
        prebuilt_from=data.get("prebuilt_from"),
        power=dict(data.get("power", {})),
    )


@cache
def catalog() -> dict[str, Platform]:
    """All platforms: the generic cores by core number (m0plus, m3, m4, m7, m33, m55),
    then the boards that run their ELFs, by core number."""
    platforms = sorted(map(load_platform, CATALOG_DIR.glob("*.toml")), key=_core_number)
    return {p.name: p for p in platforms}


def _core_number(platform: Platform) -> tuple[bool, int, str]:
    digits = re.search(r"\d+", platform.core)
    return (platform.prebuilt_from is not None, int(digits.group()) if digits else 0, platform.name)


def default_platform() -> Platform:
    return next(p for p in catalog().values() if p.default)


def get_platform(name: str | None) -> Platform:
    """The platform called `name` (None: the default), or UnknownPlatformError with a suggestion."""
    if name is None:
        return default_platform()
    platforms = catalog()
    if name in platforms:
        return platforms[name]
    close = difflib.get_close_matches(name, platforms, n=1, cutoff=0.4)
    hint = f"did you mean '{close[0]}'?" if close else "see 'tinyperf platforms'"
    raise UnknownPlatformError(f"unknown platform '{name}': {hint} (known: {', '.join(platforms)})")
