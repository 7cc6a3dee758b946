"""The plugin's memory simulator (sim/plugin/memsim.c), loaded on the host
with ctypes, on access patterns whose hits and misses are known on paper;
and the stall arithmetic of sim.memory on top of its counters."""
from __future__ import annotations

import ctypes
import subprocess

import pytest

from platforms.memory import Cache, MemoryTiming, MemoryTimingError, TimedRegion, parse_memory_timing
from sim.memory import CACHE_FIELDS, REGION_FIELDS, MemoryCounts, plugin_args, reads_per_fill, stall_cycles
from sim.plugin import SOURCE_DIR, host_compiler

FETCH, DATA = 1, 2
FLASH = 0x08000000


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    so = tmp_path_factory.mktemp("memsim") / "memsim.so"
    subprocess.run([host_compiler(), "-O2", "-shared", "-fPIC", "-Wall", "-Werror", "-o", str(so),
                    str(SOURCE_DIR / "memsim.c")], check=True, capture_output=True)
    lib = ctypes.CDLL(str(so))
    lib.memsim_new.restype = ctypes.c_void_p
    lib.memsim_free.argtypes = [ctypes.c_void_p]
    lib.memsim_add_region.argtypes = [ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint64, ctypes.c_uint32,
                                      ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.memsim_add_cache.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_uint32,
                                     ctypes.c_uint32, ctypes.c_uint, ctypes.c_uint32]
    lib.memsim_fetch.argtypes = [ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint64]
    lib.memsim_read.argtypes = [ctypes.c_void_p, ctypes.c_uint64]
    lib.memsim_write.argtypes = [ctypes.c_void_p, ctypes.c_uint64]
    lib.memsim_counts.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint64), ctypes.c_size_t]
    lib.memsim_counts.restype = ctypes.c_size_t
    return lib


class Sim:
    """One simulator: a flash region (and SRAM) with optional caches."""

    def __init__(self, lib, timing: MemoryTiming):
        self.lib, self.timing = lib, timing
        self.ms = lib.memsim_new()
        index = {r.name: i for i, r in enumerate(timing.regions)}
        for r in timing.regions:
            timed = int(bool(r.fetch_wait_states or r.data_wait_states))
            assert lib.memsim_add_region(self.ms, r.base, r.size, r.access_bytes, int(r.prefetch), timed,
                                         int(r.data_read_buffer)) == 0
        for c in timing.caches:
            serves = (FETCH if "fetch" in c.serves else 0) | (DATA if "data" in c.serves else 0)
            mask = sum(1 << index[n] for n in c.regions)
            assert lib.memsim_add_cache(self.ms, c.size, c.line, c.fill_bytes, c.ways, serves, mask) == 0

    def read(self, *addrs: int) -> "Sim":
        for a in addrs:
            self.lib.memsim_read(self.ms, a)
        return self

    def counts(self) -> MemoryCounts:
        n = len(REGION_FIELDS) * (len(self.timing.regions) + 1) + len(CACHE_FIELDS) * len(self.timing.caches)
        buf = (ctypes.c_uint64 * n)()
        assert self.lib.memsim_counts(self.ms, buf, n) == n
        return MemoryCounts.from_record(self.timing, list(buf))

    def __del__(self):
        self.lib.memsim_free(self.ms)


def flash(ws: int = 3, access: int = 4, prefetch: bool = False, buffer: bool = True) -> TimedRegion:
    return TimedRegion("flash", FLASH, 1 << 20, ws, ws, access, prefetch, buffer)


def dcache(size: int, line: int, ways: int, serves=("data",), sector: int = 0) -> Cache:
    return Cache("dcache", size, line, ways, serves, ("flash",), sector)


def test_uncached_streaming_misses_once_per_read_word(lib):
    sim = Sim(lib, MemoryTiming((flash(ws=3, access=8),)))
    sim.read(*(FLASH + 4 * k for k in range(1000)))  # 1000 words, two per 8-byte read
    row = sim.counts().regions["flash"]
    assert (row["reads"], row["data_misses"], row["data_fills"]) == (1000, 500, 0)
    assert stall_cycles(sim.timing, sim.counts()) == {"flash_data": 1500.0}


def test_uncached_alternating_words_always_miss_the_read_buffer(lib):
    sim = Sim(lib, MemoryTiming((flash(ws=2, access=4),)))
    sim.read(*([FLASH, FLASH + 64] * 50))
    assert sim.counts().regions["flash"]["data_misses"] == 100


def test_cached_streaming_fills_once_per_line(lib):
    timing = MemoryTiming((flash(ws=4, access=16),), (dcache(4096, 16, 2),))
    sim = Sim(lib, timing).read(*(FLASH + 4 * k for k in range(4096)))  # 16 KiB: 1024 lines
    counts = sim.counts()
    assert counts.regions["flash"]["data_fills"] == 1024
    assert counts.caches["dcache"] == {"lookups": 4096, "hits": 3072}
    assert stall_cycles(timing, counts) == {"flash_data_fill": 1024 * 4.0}


def test_re_read_within_a_line_hits(lib):
    timing = MemoryTiming((flash(),), (dcache(1024, 32, 4),))
    counts = Sim(lib, timing).read(*([FLASH + 0x100 + 4 * (k % 8) for k in range(800)])).counts()
    assert counts.caches["dcache"] == {"lookups": 800, "hits": 799}


def test_re_reading_a_row_that_fits_misses_only_on_the_first_pass(lib):
    timing = MemoryTiming((flash(),), (dcache(1024, 32, 4),))
    row = [FLASH + 4 * k for k in range(192)]  # 768 bytes = 24 lines of a 32-line cache
    counts = Sim(lib, timing).read(*(row * 10)).counts()
    assert counts.regions["flash"]["data_fills"] == 24
    assert counts.caches["dcache"]["hits"] == 1920 - 24


def test_a_row_one_line_too_long_thrashes_an_lru_cache(lib):
    # 2 ways x 4 sets x 16 B, a row of 9 consecutive lines read 20 times: set 0
    # holds lines 0, 4 and 8 in turn and, with LRU, misses all three on every
    # pass; sets 1-3 hold two lines each and miss on the first pass only.
    timing = MemoryTiming((flash(),), (dcache(128, 16, 2),))
    lines = [FLASH + 16 * k for k in range(9)]
    counts = Sim(lib, timing).read(*(lines * 20)).counts()
    assert counts.regions["flash"]["data_fills"] == 9 + 3 * 19
    assert counts.caches["dcache"]["hits"] == 180 - (9 + 3 * 19)


def test_thrashing_three_lines_in_one_set_of_a_two_way_cache_always_misses(lib):
    timing = MemoryTiming((flash(),), (dcache(1024, 32, 2),))
    stride = 1024 // 2  # same set every time
    counts = Sim(lib, timing).read(*([FLASH, FLASH + stride, FLASH + 2 * stride] * 100)).counts()
    assert counts.caches["dcache"] == {"lookups": 300, "hits": 0}


def test_fetch_prefetch_hides_sequential_units_and_a_cache_holds_a_loop(lib):
    timing = MemoryTiming((flash(ws=5, access=8, prefetch=True),),
                          (Cache("icache", 1024, 32, 32, ("fetch",), ("flash",)),))
    sim = Sim(lib, timing)
    for _ in range(100):  # a 96-byte loop body (3 lines) run 100 times, then a jump away
        lib.memsim_fetch(sim.ms, FLASH + 0x40, 96)
    lib.memsim_fetch(sim.ms, FLASH + 0x1000, 4)
    row = sim.counts().regions["flash"]
    assert (row["fetch_units"], row["fetch_fills"], row["fetch_prefetched"]) == (301, 2, 2)
    assert stall_cycles(timing, sim.counts()) == {"flash_fetch_fill": 2 * 5.0}  # one read's wait states per miss


def test_the_arts_sectored_lines_read_64_bits_a_miss(lib):
    # The ART's data cache: 8 rows of 4 x 64 bits over 64-bit flash reads at 5 WS, each miss
    # one 64-bit read into its row.  Streaming 16 KiB misses once per 8 bytes: 2048 x 5 stall
    # cycles, the same as with no cache (the flash's bandwidth).
    art = MemoryTiming((flash(ws=5, access=8),), (dcache(256, 32, 8, sector=8),))
    stream = [FLASH + 4 * k for k in range(4096)]
    cached = Sim(lib, art).read(*stream).counts()
    assert cached.regions["flash"]["data_fills"] == 2048
    assert stall_cycles(art, cached) == {"flash_data_fill": 2048 * 5.0}
    bare = MemoryTiming((flash(ws=5, access=8),))
    assert stall_cycles(bare, Sim(lib, bare).read(*stream).counts()) == {"flash_data": 2048 * 5.0}
    # re-reading a row that fits (128 bytes = 4 lines, 10 passes) pays the first pass only
    row = [FLASH + 4 * k for k in range(32)]
    assert stall_cycles(art, Sim(lib, art).read(*(row * 10)).counts()) == {"flash_data_fill": 16 * 5.0}
    # one word of each of 9 lines in turn: 8 tags, LRU, so every read misses (9 x 20), though
    # 9 x 8 bytes would fit 256 bytes of 8-byte lines
    words = [FLASH + 32 * k for k in range(9)]
    assert Sim(lib, art).read(*(words * 20)).counts().caches["dcache"]["hits"] == 0


def test_an_unsectored_line_fill_costs_every_read_of_the_line(lib):
    # A Cortex-M7 style 32-byte line over 128-bit flash words at 6 WS: two reads a miss,
    # and a 16 KiB stream costs 512 x 2 x 6 = the 1024 flash words' wait states
    m7 = MemoryTiming((flash(ws=6, access=16),), (dcache(16384, 32, 4),))
    counts = Sim(lib, m7).read(*(FLASH + 4 * k for k in range(4096))).counts()
    assert counts.regions["flash"]["data_fills"] == 512
    assert reads_per_fill(m7, m7.regions[0], "data") == 2
    assert stall_cycles(m7, counts) == {"flash_data_fill": 512 * 2 * 6.0}


@pytest.mark.parametrize("prefetch, reads", [(True, 1), (False, 4)])
def test_a_fetch_fill_costs_its_first_read_behind_prefetch_and_every_read_without(lib, prefetch, reads):
    timing = MemoryTiming((flash(ws=5, access=8, prefetch=prefetch),),
                          (Cache("icache", 1024, 32, 32, ("fetch",), ("flash",)),))
    sim = Sim(lib, timing)
    lib.memsim_fetch(sim.ms, FLASH + 0x40, 32)  # one line, then a jump to another
    lib.memsim_fetch(sim.ms, FLASH + 0x1000, 4)
    assert sim.counts().regions["flash"]["fetch_fills"] == 2
    assert reads_per_fill(timing, timing.regions[0], "fetch") == reads
    assert stall_cycles(timing, sim.counts()) == {"flash_fetch_fill": 2 * reads * 5.0}


def test_without_a_data_read_buffer_every_uncached_data_read_waits(lib):
    # int8 weights read a byte at a time from 16-byte flash reads at 3 WS: through a read
    # buffer one read per 16 bytes waits; with no buffer on the data path (a part whose
    # flash serves each data read on its own) every byte read does.
    stream = [FLASH + k for k in range(1600)]
    buffered = MemoryTiming((flash(ws=3, access=16),))
    assert stall_cycles(buffered, Sim(lib, buffered).read(*stream).counts()) == {"flash_data": 100 * 3.0}
    bare = MemoryTiming((flash(ws=3, access=16, buffer=False),))
    counts = Sim(lib, bare).read(*stream).counts()
    assert counts.regions["flash"]["data_misses"] == 1600
    assert stall_cycles(bare, counts) == {"flash_data": 1600 * 3.0}
    # a cache in front still serves the re-reads: the buffer key is about uncached reads
    cached = MemoryTiming((flash(ws=3, access=16, buffer=False),), (dcache(1024, 16, 2),))
    assert Sim(lib, cached).read(*stream).counts().regions["flash"]["data_fills"] == 100


def test_schema_reads_the_data_read_buffer_and_refuses_a_non_boolean():
    table = {"memory_timing": {"regions": {"flash": {"base": 0, "size": 64, "data_wait_states": 3,
                                                     "data_read_buffer": False}}}}
    assert parse_memory_timing(table, 0, 64).regions[0].data_read_buffer is False
    table["memory_timing"]["regions"]["flash"]["data_read_buffer"] = "no"
    with pytest.raises(MemoryTimingError, match="data_read_buffer must be true or false"):
        parse_memory_timing(table, 0, 64)


def test_writes_and_other_addresses_are_counted_not_stalled(lib):
    timing = MemoryTiming((flash(), TimedRegion("sram", 0x20000000, 1 << 16)))
    sim = Sim(lib, timing)
    lib.memsim_write(sim.ms, 0x20000010)
    lib.memsim_write(sim.ms, 0x40000000)
    sim.read(0x20000000, 0x30000000)
    counts = sim.counts()
    assert counts.regions["sram"]["writes"] == 1 and counts.regions["other"] == {
        **dict.fromkeys(REGION_FIELDS, 0), "reads": 1, "writes": 1}
    assert stall_cycles(timing, counts) == {}
    assert counts.to_dict()["regions"] == {"sram": {"reads": 1, "writes": 1}, "other": {"reads": 1, "writes": 1}}


def test_bad_descriptions_are_refused(lib):
    ms = lib.memsim_new()
    assert lib.memsim_add_region(ms, 0, 0x1000, 3, 0, 1, 1) == -1  # access width not a power of two
    assert lib.memsim_add_cache(ms, 1000, 32, 32, 4, DATA, 1) == -1  # size not a multiple of line x ways
    assert lib.memsim_add_cache(ms, 1024, 32, 32, 4, 0, 1) == -1  # serves nothing
    assert lib.memsim_add_cache(ms, 1024, 32, 64, 4, DATA, 1) == -1  # sector longer than the line
    assert lib.memsim_add_cache(ms, 1024, 32, 12, 4, DATA, 1) == -1  # sector not a power of two
    lib.memsim_free(ms)


# -- the TOML schema and the plugin arguments ----------------------------------------
def test_schema_parses_regions_and_caches_into_plugin_arguments():
    data = {"memory_timing": {
        "regions": {"flash": {"base": 0, "size": 0x200000, "fetch_wait_states": 5, "data_wait_states": 5,
                              "access_bytes": 8, "prefetch": True},
                    "sram": {"base": 0x20000000, "size": 0xA0000}},
        "caches": {"icache": {"size": 1024, "line": 32, "ways": 32, "serves": ["fetch"], "regions": ["flash"]},
                   "dcache": {"size": 256, "line": 32, "sector": 8, "ways": 8, "serves": ["data"],
                              "regions": ["flash"]}}}}
    timing = parse_memory_timing(data, 0, 0x400000)
    assert timing.modelled and timing.cache_for("flash", "data").name == "dcache"
    assert plugin_args(timing) == ["region=0:200000:8:1:1:1", "region=20000000:a0000:4:0:0:1",
                                   "cache=1024:32:32:32:f:1", "cache=256:32:8:8:d:1"]


def test_legacy_flash_wait_states_is_a_flash_region_and_zero_is_zero_wait():
    timing = parse_memory_timing({"flash_wait_states": 3}, 0x10000000, 0x400000)
    assert timing.regions == (TimedRegion("flash", 0x10000000, 0x400000, 3, 3, 4, True, True),)
    assert not parse_memory_timing({}, 0, 1).modelled and plugin_args(parse_memory_timing({}, 0, 1)) == []


@pytest.mark.parametrize("data, message", [
    ({"memory_timing": {"regions": {"flash": {"base": 0}}}}, "missing 'size'"),
    ({"memory_timing": {"regions": {"flash": {"base": 0, "size": 8, "wait": 1}}}}, "unknown key"),
    ({"memory_timing": {"regions": {"a": {"base": 0, "size": 8}, "b": {"base": 4, "size": 8}}}}, "overlap"),
    ({"memory_timing": {"regions": {"a": {"base": 0, "size": 8}},
                        "caches": {"c": {"size": 64, "line": 16, "ways": 2, "serves": ["fetch"],
                                         "regions": ["flash"]}}}}, "must name regions"),
    ({"memory_timing": {}, "flash_wait_states": 2}, "both given"),
])
def test_schema_errors_name_the_key(data, message):
    with pytest.raises(MemoryTimingError, match=message):
        parse_memory_timing(data, 0, 1)


def reference_lru_hits(addresses: list[int], size: int, line: int, ways: int, sector: int = 0) -> int:
    """Hits of a set-associative LRU cache, the textbook way (a list per set; with
    sectors, the set of sectors each present line holds)."""
    sets: dict[int, list[int]] = {}
    present: dict[int, set[int]] = {}
    hits = 0
    n_sets = size // (line * ways)
    for a in addresses:
        tag, part = a // line, a % line // (sector or line)
        lines = sets.setdefault(tag % n_sets, [])
        if tag in lines:
            hits += part in present[tag]
            present[tag].add(part)
            lines.remove(tag)
        else:
            if len(lines) == ways:
                del present[lines.pop()]
            present[tag] = {part}
        lines.insert(0, tag)
    return hits


@pytest.mark.parametrize("size, line, ways, sector", [(1024, 8, 128, 0), (256, 8, 32, 0), (16384, 32, 4, 0),
                                                      (8192, 16, 2, 0), (64, 16, 1, 0), (1024, 32, 32, 8),
                                                      (256, 32, 8, 8), (4096, 64, 2, 16)])
def test_cache_hits_match_a_reference_lru_on_a_mixed_stream(lib, size, line, ways, sector):
    import random
    rng = random.Random(size * ways + sector)
    hot = [FLASH + rng.randrange(0, 4 * size) for _ in range(64)]
    stream = [rng.choice(hot) if rng.random() < 0.7 else FLASH + rng.randrange(0, 64 * size) for _ in range(20000)]
    timing = MemoryTiming((flash(),), (dcache(size, line, ways, sector=sector),))
    counts = Sim(lib, timing).read(*stream).counts()
    assert counts.caches["dcache"]["hits"] == reference_lru_hits(stream, size, line, ways, sector)
