"""Memory timing of a platform: the `[memory_timing]` tables of its TOML.

    [memory_timing.regions.NAME]   an address range with its read timing
    base, size                     where it is, as the firmware is linked
    fetch_wait_states              extra cycles per instruction-fetch read (default 0)
    data_wait_states               extra cycles per data read (default 0)
    access_bytes                   bytes one read of the memory returns (default 4)
    prefetch                       the next sequential fetch unit is read ahead (default false)
    data_read_buffer               a data read of the unit read last is served by the
                                   flash interface's buffer, without wait states (default
                                   true; ST's DCode "current buffer"); false: every
                                   uncached data read waits

    [memory_timing.caches.NAME]    a cache in front of some regions
    size, line, ways               bytes, bytes per line, associativity (LRU)
    sector                         bytes a miss reads into its line (default: the
                                   line): a sectored line keeps one tag and a valid
                                   bit per sector (ST's ART: lines of 4 x 64 bits,
                                   each miss one 64-bit read)
    serves                         ["fetch"], ["data"] or ["fetch", "data"]
    regions                        names of the regions it caches

A platform without `[memory_timing]` has zero-wait memory (the generic
`cortex-*` platforms).  The legacy top-level key `flash_wait_states = W`
means one region over the platform's flash with W fetch and data wait states,
4-byte reads and prefetch.  sim.memory turns this into plugin arguments and
stall cycles; every number in a board file cites its datasheet next to it.
"""
from __future__ import annotations

from dataclasses import dataclass

from tinyperf_errors import UsageError

STREAMS = ("fetch", "data")


class MemoryTimingError(UsageError):
    """A [memory_timing] table that does not describe a memory system."""


@dataclass(frozen=True)
class TimedRegion:
    name: str
    base: int
    size: int
    fetch_wait_states: int = 0
    data_wait_states: int = 0
    access_bytes: int = 4
    prefetch: bool = False
    data_read_buffer: bool = True

    def contains(self, addr: int) -> bool:
        return self.base <= addr < self.base + self.size


@dataclass(frozen=True)
class Cache:
    name: str
    size: int
    line: int
    ways: int
    serves: tuple[str, ...]
    regions: tuple[str, ...]
    sector: int = 0  # bytes a miss reads; 0: the whole line

    @property
    def fill_bytes(self) -> int:
        """Bytes one miss reads into the cache: a sector, or the line."""
        return self.sector or self.line


@dataclass(frozen=True)
class MemoryTiming:
    regions: tuple[TimedRegion, ...] = ()
    caches: tuple[Cache, ...] = ()

    @property
    def modelled(self) -> bool:
        """True when runs need the memory-aware plugin mode (wait states or caches)."""
        return bool(self.caches) or any(r.fetch_wait_states or r.data_wait_states for r in self.regions)

    def cache_for(self, region: str, stream: str) -> Cache | None:
        """The cache serving `stream` reads of `region` (the first declared), if any."""
        return next((c for c in self.caches if stream in c.serves and region in c.regions), None)

    def to_dict(self) -> dict:
        return {
            "regions": {r.name: {"base": r.base, "size": r.size, "fetch_wait_states": r.fetch_wait_states,
                                 "data_wait_states": r.data_wait_states, "access_bytes": r.access_bytes,
                                 "prefetch": r.prefetch, "data_read_buffer": r.data_read_buffer}
                        for r in self.regions},
            "caches": {c.name: {"size": c.size, "line": c.line, "sector": c.fill_bytes, "ways": c.ways,
                                "serves": list(c.serves), "regions": list(c.regions)} for c in self.caches},
        }


ZERO_WAIT = MemoryTiming()


def _power_of_two(v: int) -> bool:
    return v > 0 and not v & (v - 1)


def _int(table: dict, key: str, where: str, default: int | None = None, minimum: int = 0) -> int:
    value = table.get(key, default)
    if value is None:
        raise MemoryTimingError(f"{where}: missing '{key}'")
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise MemoryTimingError(f"{where}.{key} must be an integer >= {minimum}, not {value!r}")
    return value


def _bool(table: dict, key: str, where: str, default: bool) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise MemoryTimingError(f"{where}.{key} must be true or false, not {value!r}")
    return value


REGION_KEYS = {"base", "size", "fetch_wait_states", "data_wait_states", "access_bytes", "prefetch", "data_read_buffer"}
CACHE_KEYS = {"size", "line", "sector", "ways", "serves", "regions"}


def _region(name: str, table: dict) -> TimedRegion:
    where = f"memory_timing.regions.{name}"
    unknown = set(table) - REGION_KEYS
    if unknown:
        raise MemoryTimingError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} "
                                f"(known: {', '.join(sorted(REGION_KEYS))})")
    region = TimedRegion(name, _int(table, "base", where), _int(table, "size", where, minimum=1),
                         _int(table, "fetch_wait_states", where, 0), _int(table, "data_wait_states", where, 0),
                         _int(table, "access_bytes", where, 4, minimum=1), _bool(table, "prefetch", where, False),
                         _bool(table, "data_read_buffer", where, True))
    if not _power_of_two(region.access_bytes):
        raise MemoryTimingError(f"{where}.access_bytes must be a power of two, not {region.access_bytes}")
    return region


def _cache(name: str, table: dict, region_names: set[str]) -> Cache:
    where = f"memory_timing.caches.{name}"
    unknown = set(table) - CACHE_KEYS
    if unknown:
        raise MemoryTimingError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} "
                                f"(known: {', '.join(sorted(CACHE_KEYS))})")
    size, line, ways = (_int(table, k, where, minimum=1) for k in ("size", "line", "ways"))
    if not _power_of_two(line) or size % (line * ways):
        raise MemoryTimingError(f"{where}: line must be a power of two and size a multiple of line x ways "
                                f"(size {size}, line {line}, ways {ways})")
    serves = tuple(table.get("serves", ()))
    if not serves or set(serves) - set(STREAMS):
        raise MemoryTimingError(f"{where}.serves must list 'fetch' and/or 'data', not {serves!r}")
    regions = tuple(table.get("regions", ()))
    missing = [r for r in regions if r not in region_names]
    if not regions or missing:
        raise MemoryTimingError(f"{where}.regions must name regions of memory_timing.regions "
                                f"({', '.join(sorted(region_names)) or 'none declared'}), not {list(regions)!r}")
    sector = _int(table, "sector", where, line, minimum=1)
    if not _power_of_two(sector) or sector > line or line // sector > 32:
        raise MemoryTimingError(f"{where}.sector must be a power of two dividing line into at most 32 sectors "
                                f"(line {line}, sector {sector})")
    return Cache(name, size, line, ways, serves, regions, sector if sector != line else 0)


def parse_memory_timing(data: dict, flash_base: int, flash_size: int) -> MemoryTiming:
    """The MemoryTiming of a platform TOML's top-level table `data`."""
    table = data.get("memory_timing")
    legacy = data.get("flash_wait_states")
    if table is not None and legacy is not None:
        raise MemoryTimingError("flash_wait_states and [memory_timing] both given: keep [memory_timing] "
                                "(set fetch_wait_states/data_wait_states of its flash region)")
    if legacy is not None:
        ws = _int(data, "flash_wait_states", "platform")
        return MemoryTiming((TimedRegion("flash", flash_base, flash_size, ws, ws, 4, True),)) if ws else ZERO_WAIT
    if table is None:
        return ZERO_WAIT
    unknown = set(table) - {"regions", "caches"}
    if unknown:
        raise MemoryTimingError(f"memory_timing: unknown table(s) {', '.join(sorted(unknown))} "
                                "(known: regions, caches)")
    regions = tuple(_region(name, t) for name, t in table.get("regions", {}).items())
    for a in regions:
        for b in regions:
            if a is not b and a.base < b.base + b.size and b.base < a.base + a.size:
                raise MemoryTimingError(f"memory_timing.regions.{a.name} and .{b.name} overlap")
    caches = tuple(_cache(name, t, {r.name for r in regions}) for name, t in table.get("caches", {}).items())
    if len(regions) > 6 or len(caches) > 4:
        raise MemoryTimingError("memory_timing: at most 6 regions and 4 caches")
    return MemoryTiming(regions, caches)
