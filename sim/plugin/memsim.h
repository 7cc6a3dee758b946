/* tinyperf memory-system simulator: per-region access counts, flash
 * read buffers, prefetch and set-associative LRU caches, driven by the
 * executed fetch and data-access stream.  Deterministic; no QEMU types, so
 * the host tests load it on its own (tests/test_memsim.py).
 *
 * Regions are address ranges with an access width (the bytes one memory
 * read returns) and an optional sequential prefetch.  A cache serves the
 * fetch stream, the data-read stream or both, for a set of regions.  Its
 * lines may be sectored: a miss reads one sector into its line (the tag
 * covers the line, each sector has a valid bit), as ST's ART keeps "lines of
 * 4 x 64 bits" filled by 64-bit reads; unsectored caches have sector = line.
 *
 * Per access:
 *   fetch of [addr, addr+bytes)  each unit (the serving cache's sector, else the
 *                                region's access width) it touches is looked
 *                                up: the unit fetched last is a hit (buffer);
 *                                a cache hit is a hit; otherwise the unit
 *                                after the one fetched last is "prefetched"
 *                                when the region prefetches, else a miss
 *                                (FETCH_MISSES without a cache, FETCH_FILLS
 *                                with one, which then holds the line).
 *   data read at addr            the same with the data stream's last unit and
 *                                no prefetch (DATA_MISSES / DATA_FILLS); in a
 *                                region without a data read buffer every
 *                                uncached data read misses.
 *   data write at addr           counted only (write buffers hide stores).
 * Accesses outside every region land in the extra last region ("other").
 * In a region without wait states ("untimed") uncached accesses are only
 * counted (reads and writes; no fetch units), which keeps SRAM traffic cheap.
 */
#ifndef TP_MEMSIM_H
#define TP_MEMSIM_H

#include <stddef.h>
#include <stdint.h>

#define MS_MAX_REGIONS 6
#define MS_MAX_CACHES 4

enum ms_region_field {
    MS_READS,
    MS_WRITES,
    MS_DATA_MISSES,       /* uncached data reads that missed the region's read buffer */
    MS_DATA_FILLS,        /* data reads that missed a cache: line fills */
    MS_FETCH_UNITS,       /* fetch units (lines or access words) looked up */
    MS_FETCH_MISSES,      /* uncached, non-sequential fetch units */
    MS_FETCH_FILLS,       /* fetch units that missed a cache, not prefetched */
    MS_FETCH_PREFETCHED,  /* units that missed but were the sequential next one */
    MS_REGION_FIELDS,
};

enum ms_cache_field {
    MS_CACHE_LOOKUPS,
    MS_CACHE_HITS,
    MS_CACHE_FIELDS,
};

#define MS_SERVES_FETCH 1u
#define MS_SERVES_DATA 2u

typedef struct {
    uint64_t base;
    uint64_t size;
    uint32_t access_bytes;
    int prefetch;
    int timed;  /* 0: zero wait states: its uncached accesses are only counted */
    int data_buffer;  /* 0: no read buffer on the data path: every uncached data read waits */
} ms_region_t;

/* A cache: sets x ways slots, each set an LRU list (most recent first), and
 * a hash index from line number to slot so a lookup never scans the ways. */
typedef struct {
    uint32_t line;
    uint32_t sector;        /* bytes a miss reads into its line (= line: not sectored) */
    uint32_t ways;
    uint32_t sets;
    unsigned serves;        /* MS_SERVES_* */
    uint32_t region_mask;   /* bit r: serves region r */
    uint64_t *tags;         /* per slot: line number, UINT64_MAX = empty */
    uint32_t *valid;        /* per slot: bit k = sector k of the line is present */
    uint32_t *newer, *older;  /* per slot: LRU list links within its set */
    uint32_t *mru, *lru;    /* per set: first and last slot of its list */
    uint32_t *index;        /* open-addressing hash: line -> slot + 1 (0 = free) */
    uint32_t index_mask;
    uint64_t last_unit;     /* the sector accessed last: present, its line its set's most recent */
} ms_cache_t;

/* How one stream (fetch or data) of one region is served, worked out once. */
typedef struct {
    ms_cache_t *cache;      /* NULL: the region's read buffer */
    size_t cache_index;
    unsigned unit_shift;    /* log2 of the unit: the cache's sector or the read width */
    int simulated;          /* 0: only counted (untimed and uncached) */
    int prefetch;           /* fetch stream of a prefetching region */
    int buffered;           /* a read of the unit read last is served by the read buffer */
} ms_route_t;

typedef struct {
    ms_region_t regions[MS_MAX_REGIONS];
    size_t n_regions;
    ms_cache_t caches[MS_MAX_CACHES];
    size_t n_caches;
    uint64_t last_fetch_unit;  /* byte address of the unit fetched last */
    uint64_t last_data_unit;
    ms_route_t routes[MS_MAX_REGIONS + 1][2];  /* [region][0 fetch, 1 data] */
    uint64_t region_counts[MS_MAX_REGIONS + 1][MS_REGION_FIELDS];
    uint64_t cache_counts[MS_MAX_CACHES][MS_CACHE_FIELDS];
} memsim_t;

memsim_t *memsim_new(void);
void memsim_free(memsim_t *ms);
/* 0 on success, -1 on a bad or excess description. */
int memsim_add_region(memsim_t *ms, uint64_t base, uint64_t size, uint32_t access_bytes, int prefetch, int timed,
                      int data_buffer);
int memsim_add_cache(memsim_t *ms, uint32_t size, uint32_t line, uint32_t sector, uint32_t ways, unsigned serves,
                     uint32_t region_mask);
void memsim_fetch(memsim_t *ms, uint64_t addr, uint64_t bytes);
void memsim_read(memsim_t *ms, uint64_t addr);
void memsim_write(memsim_t *ms, uint64_t addr);
/* The counters, region by region (n_regions + 1 rows of MS_REGION_FIELDS),
 * then cache by cache (MS_CACHE_FIELDS each); returns how many were written. */
size_t memsim_counts(const memsim_t *ms, uint64_t *out, size_t max);

#endif
