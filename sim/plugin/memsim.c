/* tinyperf memory-system simulator; see memsim.h for the model. */
#include "memsim.h"

#include <stdlib.h>

#define NO_UNIT UINT64_MAX

static unsigned log2_of(uint64_t v)
{
    unsigned n = 0;
    while (v > 1) {
        v >>= 1;
        n++;
    }
    return n;
}

/* Work out every (region, stream) route again after a region or cache is added. */
static void route_all(memsim_t *ms)
{
    for (size_t r = 0; r <= ms->n_regions; r++) {
        for (unsigned s = 0; s < 2; s++) {
            unsigned stream = s ? MS_SERVES_DATA : MS_SERVES_FETCH;
            ms_route_t *route = &ms->routes[r][s];
            const ms_region_t *region = r < ms->n_regions ? &ms->regions[r] : NULL;
            *route = (ms_route_t){0};
            for (size_t c = 0; c < ms->n_caches && r < 32; c++) {
                if ((ms->caches[c].serves & stream) && (ms->caches[c].region_mask >> r & 1u)) {
                    route->cache = &ms->caches[c];
                    route->cache_index = c;
                    break;
                }
            }
            route->unit_shift = log2_of(route->cache ? route->cache->sector : region ? region->access_bytes : 4);
            route->simulated = route->cache || (region && region->timed);
            route->prefetch = !s && region && region->prefetch;
            route->buffered = !s || !region || region->data_buffer;
        }
    }
}

memsim_t *memsim_new(void)
{
    memsim_t *ms = calloc(1, sizeof *ms);
    if (ms) {
        ms->last_fetch_unit = NO_UNIT;
        ms->last_data_unit = NO_UNIT;
        route_all(ms);
    }
    return ms;
}

static void cache_free(ms_cache_t *c)
{
    free(c->tags);
    free(c->valid);
    free(c->newer);
    free(c->older);
    free(c->mru);
    free(c->lru);
    free(c->index);
}

void memsim_free(memsim_t *ms)
{
    if (!ms) {
        return;
    }
    for (size_t c = 0; c < ms->n_caches; c++) {
        cache_free(&ms->caches[c]);
    }
    free(ms);
}

static int power_of_two(uint64_t v)
{
    return v && !(v & (v - 1));
}

int memsim_add_region(memsim_t *ms, uint64_t base, uint64_t size, uint32_t access_bytes, int prefetch, int timed,
                      int data_buffer)
{
    if (ms->n_regions == MS_MAX_REGIONS || !size || !power_of_two(access_bytes)) {
        return -1;
    }
    ms->regions[ms->n_regions++] = (ms_region_t){base, size, access_bytes, prefetch, timed, data_buffer};
    route_all(ms);
    return 0;
}

int memsim_add_cache(memsim_t *ms, uint32_t size, uint32_t line, uint32_t sector, uint32_t ways, unsigned serves,
                     uint32_t region_mask)
{
    if (ms->n_caches == MS_MAX_CACHES || !power_of_two(line) || !ways || size % (line * ways)
        || !power_of_two(size / line / ways) || !(serves & (MS_SERVES_FETCH | MS_SERVES_DATA))
        || !power_of_two(sector) || sector > line || line / sector > 32) {
        return -1;
    }
    ms_cache_t *c = &ms->caches[ms->n_caches];
    uint32_t slots = size / line;
    uint32_t index_size = 4;
    while (index_size < 2 * slots) {
        index_size *= 2;
    }
    *c = (ms_cache_t){.line = line, .sector = sector, .ways = ways, .sets = slots / ways, .serves = serves,
                      .region_mask = region_mask, .index_mask = index_size - 1, .last_unit = NO_UNIT};
    c->tags = malloc(sizeof *c->tags * slots);
    c->valid = calloc(slots, sizeof *c->valid);
    c->newer = malloc(sizeof *c->newer * slots);
    c->older = malloc(sizeof *c->older * slots);
    c->mru = malloc(sizeof *c->mru * c->sets);
    c->lru = malloc(sizeof *c->lru * c->sets);
    c->index = calloc(index_size, sizeof *c->index);
    if (!c->tags || !c->valid || !c->newer || !c->older || !c->mru || !c->lru || !c->index) {
        cache_free(c);
        return -1;
    }
    for (uint32_t set = 0; set < c->sets; set++) {  /* each set: slots set*ways .. +ways-1, empty */
        uint32_t first = set * ways;
        for (uint32_t w = 0; w < ways; w++) {
            c->tags[first + w] = NO_UNIT;
            c->newer[first + w] = w ? first + w - 1 : UINT32_MAX;
            c->older[first + w] = w + 1 < ways ? first + w + 1 : UINT32_MAX;
        }
        c->mru[set] = first;
        c->lru[set] = first + ways - 1;
    }
    ms->n_caches++;
    route_all(ms);
    return 0;
}

static size_t region_of(const memsim_t *ms, uint64_t addr)
{
    for (size_t r = 0; r < ms->n_regions; r++) {
        if (addr - ms->regions[r].base < ms->regions[r].size) {
            return r;
        }
    }
    return ms->n_regions;
}

static uint32_t index_home(const ms_cache_t *c, uint64_t line)
{
    return (uint32_t)((line * 0x9E3779B97F4A7C15ull) >> 32) & c->index_mask;
}

/* The index position holding `line`, or the free position where it would go. */
static uint32_t index_find(const ms_cache_t *c, uint64_t line)
{
    uint32_t i = index_home(c, line);
    while (c->index[i] && c->tags[c->index[i] - 1] != line) {
        i = (i + 1) & c->index_mask;
    }
    return i;
}

/* Linear-probing deletion: shift later entries of the run back into the hole. */
static void index_remove(ms_cache_t *c, uint32_t hole)
{
    uint32_t i = hole;
    c->index[hole] = 0;
    for (;;) {
        i = (i + 1) & c->index_mask;
        if (!c->index[i]) {
            return;
        }
        uint32_t home = index_home(c, c->tags[c->index[i] - 1]);
        /* move it if its home is not in (hole, i] (cyclically) */
        if (((i - home) & c->index_mask) >= ((i - hole) & c->index_mask)) {
            c->index[hole] = c->index[i];
            c->index[i] = 0;
            hole = i;
        }
    }
}

static void make_most_recent(ms_cache_t *c, uint32_t set, uint32_t slot)
{
    if (c->mru[set] == slot) {
        return;
    }
    uint32_t newer = c->newer[slot], older = c->older[slot];
    c->older[newer] = older;  /* unlink (slot is not the first, so newer exists) */
    if (older != UINT32_MAX) {
        c->newer[older] = newer;
    } else {
        c->lru[set] = newer;
    }
    c->newer[slot] = UINT32_MAX;  /* relink at the front */
    c->older[slot] = c->mru[set];
    c->newer[c->mru[set]] = slot;
    c->mru[set] = slot;
}

/* Look the sector at byte address `unit` up.  A line that is present becomes
 * its set's most recent; a missing sector is read into it (a miss); a missing
 * line replaces its set's least recently used line, holding only this sector.
 * 1 = hit. */
static int cache_access(ms_cache_t *c, uint64_t unit)
{
    uint64_t line = unit / c->line;
    uint32_t sector_bit = 1u << (unit % c->line / c->sector);
    uint32_t set = c->sets == 1 ? 0 : (uint32_t)(line & (c->sets - 1));
    uint32_t pos, slot;

    if (unit == c->last_unit) {
        return 1;  /* present, and its line already its set's most recent: nothing changes */
    }
    c->last_unit = unit;
    pos = index_find(c, line);

    if (c->index[pos]) {
        slot = c->index[pos] - 1;
        make_most_recent(c, set, slot);
        if (c->valid[slot] & sector_bit) {
            return 1;
        }
        c->valid[slot] |= sector_bit;
        return 0;
    }
    slot = c->lru[set];
    if (c->tags[slot] != NO_UNIT) {
        index_remove(c, index_find(c, c->tags[slot]));
        pos = index_find(c, line);  /* the removal may have moved the free position */
    }
    c->tags[slot] = line;
    c->valid[slot] = sector_bit;
    c->index[pos] = slot + 1;
    make_most_recent(c, set, slot);
    return 0;
}

/* One unit (at byte address unit_addr) of a stream of region r. */
static void access_unit(memsim_t *ms, uint64_t *counts, const ms_route_t *route, int fetch, uint64_t unit_addr)
{
    uint64_t *last = fetch ? &ms->last_fetch_unit : &ms->last_data_unit;
    int sequential = *last != NO_UNIT && unit_addr == *last + (1ull << route->unit_shift);
    int buffered = route->buffered && unit_addr == *last;

    *last = unit_addr;
    if (route->cache) {
        uint64_t *cache_counts = ms->cache_counts[route->cache_index];
        cache_counts[MS_CACHE_LOOKUPS]++;
        if (cache_access(route->cache, unit_addr)) {
            cache_counts[MS_CACHE_HITS]++;
            return;
        }
    } else if (buffered) {
        return;
    }
    if (fetch && sequential && route->prefetch) {
        counts[MS_FETCH_PREFETCHED]++;
    } else if (fetch) {
        counts[route->cache ? MS_FETCH_FILLS : MS_FETCH_MISSES]++;
    } else {
        counts[route->cache ? MS_DATA_FILLS : MS_DATA_MISSES]++;
    }
}

void memsim_fetch(memsim_t *ms, uint64_t addr, uint64_t bytes)
{
    size_t r = region_of(ms, addr);
    const ms_route_t *route = &ms->routes[r][0];
    if (!route->simulated) {
        return;
    }
    uint64_t first = addr >> route->unit_shift, last = (addr + (bytes ? bytes : 1) - 1) >> route->unit_shift;
    uint64_t *counts = ms->region_counts[r];

    if (first << route->unit_shift == ms->last_fetch_unit) {
        first++;  /* a block continuing in the unit fetched last: it is in the fetch buffer */
    }
    for (uint64_t u = first; u <= last; u++) {
        counts[MS_FETCH_UNITS]++;
        access_unit(ms, counts, route, 1, u << route->unit_shift);
    }
}

void memsim_read(memsim_t *ms, uint64_t addr)
{
    size_t r = region_of(ms, addr);
    const ms_route_t *route = &ms->routes[r][1];

    ms->region_counts[r][MS_READS]++;
    if (route->simulated) {
        access_unit(ms, ms->region_counts[r], route, 0, addr >> route->unit_shift << route->unit_shift);
    }
}

void memsim_write(memsim_t *ms, uint64_t addr)
{
    ms->region_counts[region_of(ms, addr)][MS_WRITES]++;
}

size_t memsim_counts(const memsim_t *ms, uint64_t *out, size_t max)
{
    size_t n = 0;
    for (size_t r = 0; r <= ms->n_regions; r++) {
        for (size_t f = 0; f < MS_REGION_FIELDS && n < max; f++) {
            out[n++] = ms->region_counts[r][f];
        }
    }
    for (size_t c = 0; c < ms->n_caches; c++) {
        for (size_t f = 0; f < MS_CACHE_FIELDS && n < max; f++) {
            out[n++] = ms->cache_counts[c][f];
        }
    }
    return n;
}
