"""Memory-aware runs: plugin arguments from a platform's memory timing, the
counters the plugin writes (C records), and the stall cycles they cost.

The plugin's memory simulator (sim/plugin/memsim.h) counts, per region,
reads, writes, read-buffer misses, cache line fills and prefetched fetch
units, and per cache lookups and hits.  Stall cycles follow from those
counts and the platform's wait states (platforms.memory):

  uncached data read that misses the read buffer (every one
  where the region has no data read buffer)                  data_wait_states
  uncached fetch unit that misses the buffer, not prefetched fetch_wait_states
  cache miss (fill), data                                    data_wait_states x reads per fill
  cache miss (fill), fetch, region without prefetch          fetch_wait_states x reads per fill
  cache miss (fill), fetch, region with prefetch             fetch_wait_states
  prefetched fetch unit, cache hit, buffered unit, write     0

An uncached miss waits for one memory read (ST's ART: "the penalty ... is at
least equal to the number of wait states").  A cache miss reads the cache's
fill unit (its sector, or the whole line when not sectored) in fill /
access_bytes memory reads, each with the region's wait states: one 64-bit
read into the ART's sectored "lines of 4 x 64 bits", two 128-bit flash words
for a Cortex-M7 32-byte line.  So a stream through flash costs the same wait
states per byte with or without a cache (the flash's bandwidth), and a cache
pays off on re-reads.  On the fetch
stream of a prefetching region the reads after the first overlap execution
(the prefetch reads the next sequential unit while the core runs the current
one), so a fetch fill there costs the first read only.

Stalls add to the core model's compute cycles (sim.cycles), which assume
zero-wait memory.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from platforms.memory import MemoryTiming, TimedRegion

REGION_FIELDS = ("reads", "writes", "data_misses", "data_fills", "fetch_units", "fetch_misses", "fetch_fills",
                 "fetch_prefetched")
CACHE_FIELDS = ("lookups", "hits")
OTHER = "other"  # accesses outside every declared region


def plugin_args(timing: MemoryTiming) -> list[str]:
    """-plugin arguments that make the run memory-aware (empty for zero-wait memory)."""
    if not timing.modelled:
        return []
    index = {r.name: i for i, r in enumerate(timing.regions)}
    args = [f"region={r.base:x}:{r.size:x}:{r.access_bytes}:{int(r.prefetch)}:"
            f"{int(bool(r.fetch_wait_states or r.data_wait_states))}:{int(r.data_read_buffer)}" for r in timing.regions]
    for c in timing.caches:
        streams = ("f" if "fetch" in c.serves else "") + ("d" if "data" in c.serves else "")
        mask = sum(1 << index[name] for name in c.regions)
        args.append(f"cache={c.size}:{c.line}:{c.fill_bytes}:{c.ways}:{streams}:{mask:x}")
    return args


@dataclass(frozen=True)
class MemoryCounts:
    """Access counts of a run (or a window of it), by region and by cache."""

    regions: dict[str, dict[str, float]]  # whole counts, or a share of them once scaled
    caches: dict[str, dict[str, float]] = field(default_factory=dict)

    @classmethod
    def from_record(cls, timing: MemoryTiming, values: list[int]) -> "MemoryCounts":
        names = [r.name for r in timing.regions] + [OTHER]
        width = len(REGION_FIELDS)
        expected = width * len(names) + len(CACHE_FIELDS) * len(timing.caches)
        if len(values) != expected:
            raise ValueError(f"memory record has {len(values)} counters, the platform describes {expected}")
        regions = {name: dict(zip(REGION_FIELDS, values[k * width:(k + 1) * width])) for k, name in enumerate(names)}
        base = width * len(names)
        caches = {c.name: dict(zip(CACHE_FIELDS, values[base + k * 2: base + k * 2 + 2]))
                  for k, c in enumerate(timing.caches)}
        return cls(regions, caches)

    def minus(self, earlier: "MemoryCounts") -> "MemoryCounts":
        def sub(a: dict[str, dict[str, int]], b: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
            return {k: {f: v - b.get(k, {}).get(f, 0) for f, v in row.items()} for k, row in a.items()}
        return MemoryCounts(sub(self.regions, earlier.regions), sub(self.caches, earlier.caches))

    def plus(self, other: "MemoryCounts") -> "MemoryCounts":
        return self.minus(other.scaled(-1))

    def scaled(self, factor: float) -> "MemoryCounts":
        def mul(table: dict[str, dict[str, int]]) -> dict[str, dict[str, float]]:
            return {k: {f: v * factor for f, v in row.items()} for k, row in table.items()}
        return MemoryCounts(mul(self.regions), mul(self.caches))

    def to_dict(self) -> dict:
        """Reads and writes per region (regions with any), and cache hit counts."""
        out: dict = {"regions": {name: {"reads": row["reads"], "writes": row["writes"]}
                                 for name, row in self.regions.items() if row["reads"] or row["writes"]}}
        if self.caches:
            out["caches"] = {name: dict(row) for name, row in self.caches.items()}
        return out


def reads_per_fill(timing: MemoryTiming, region: TimedRegion, stream: str) -> int:
    """Memory reads a cache line fill of `stream` ('fetch' or 'data') in `region`
    is charged (see the module docstring); 1 where no cache serves the stream."""
    cache = timing.cache_for(region.name, stream)
    if cache is None or (stream == "fetch" and region.prefetch):
        return 1
    return max(1, cache.fill_bytes // region.access_bytes)


def stall_cycles(timing: MemoryTiming, counts: MemoryCounts) -> dict[str, float]:
    """Stall cycles by kind ('<region>_data', '<region>_fetch', '<region>_data_fill',
    '<region>_fetch_fill'), kinds with none left out."""
    out: dict[str, float] = {}
    for region in timing.regions:
        row = counts.regions.get(region.name)
        if not row:
            continue
        kinds = {
            "data": row["data_misses"] * region.data_wait_states,
            "data_fill": row["data_fills"] * region.data_wait_states * reads_per_fill(timing, region, "data"),
            "fetch": row["fetch_misses"] * region.fetch_wait_states,
            "fetch_fill": row["fetch_fills"] * region.fetch_wait_states * reads_per_fill(timing, region, "fetch"),
        }
        for kind, cycles in kinds.items():
            if cycles:
                out[f"{region.name}_{kind}"] = float(cycles)
    return out
