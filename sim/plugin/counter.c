/* tinyperf counting plugin for qemu-system-arm (TCG plugin API version 1).
 *
 * Counts executed guest instructions with inline counters, records the
 * running count whenever a marker address executes, and optionally keeps
 * per-translation-block execution counts for profiles.
 *
 * Arguments (as -plugin counter.so,key=value,...):
 *   out=PATH        where records go (required)
 *   mode=tb|insn    tb: one inline add per block (fast; exact unless a block
 *                   is cut short, which QEMU does for MMIO under -icount);
 *                   insn: one inline add per instruction (exact always)
 *   markers=A:B:..  hex code addresses whose execution is recorded
 *   profile=on      also write per-block execution counts at exit
 *   region=B:S:A:P:T:D memory-aware run: a memory region at hex base B, hex
 *                   size S, read width A bytes, sequential prefetch P (0/1),
 *                   wait states T (0/1), data read buffer D (0/1); repeat in
 *                   order (index = position)
 *   cache=Z:L:S:W:F:M a cache of Z bytes, L-byte lines of S-byte sectors
 *                   (S = L: not sectored), W ways, serving F (f: fetch, d:
 *                   data reads, fd: both) for the regions in hex bit mask M
 *                   (see memsim.h for the model)
 *
 * Output, one record per line:
 *   M <addr> <count>      marker <addr> is about to execute; <count> guest
 *                         instructions have completed before it
 *   T <count>             total at exit
 *   B <vaddr> <n> <execs> a block of <n> instructions at <vaddr> ran <execs> times
 *                         (after T: the whole run)
 *   S <addr> ... s        with profile=on, each marker hit also writes a
 *                         snapshot of the block counts so far: its B lines
 *                         between S and s (the marker's own block included)
 *   C <n> <n> ...         memory-aware runs: the memory counters (memsim_counts
 *                         order) right after each M line and after the T line
 *   E                     the file is complete
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memsim.h"
#include "qemu_plugin_api.h"

TP_PLUGIN_EXPORT int qemu_plugin_version = TP_QEMU_PLUGIN_API_VERSION;

#define MAX_MARKERS 64

typedef struct {
    uint64_t vaddr;
    uint64_t n_insns;
    uint64_t execs;
} block_stats_t;

typedef struct {
    uint64_t addr;
    /* Instructions the running count is ahead of this marker when its
     * callback runs: the rest of the block in tb mode, 0 in insn mode. */
    uint64_t ahead;
} marker_site_t;

static uint64_t insn_count;
static FILE *out;
static int per_insn;
static int profile;
static uint64_t markers[MAX_MARKERS];
static size_t n_markers;
static memsim_t *memory;  /* NULL unless the run is memory-aware */

typedef struct {
    uint64_t vaddr;
    uint64_t bytes;
} fetch_site_t;

/* Open-addressing table of block_stats_t pointers keyed by (vaddr, n_insns);
 * entries never move, because inline counters point into them. */
static block_stats_t **blocks;
static size_t blocks_cap;
static size_t blocks_used;
static pthread_mutex_t blocks_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t block_slot(block_stats_t **table, size_t cap, uint64_t vaddr, uint64_t n)
{
    size_t i = (size_t)((vaddr * 0x9E3779B97F4A7C15ull) ^ n) & (cap - 1);
    while (table[i] && (table[i]->vaddr != vaddr || table[i]->n_insns != n)) {
        i = (i + 1) & (cap - 1);
    }
    return i;
}

static int grow_blocks(void)
{
    size_t cap = blocks_cap ? blocks_cap * 2 : 4096;
    block_stats_t **table = calloc(cap, sizeof *table);
    if (!table) {
        return -1;
    }
    for (size_t i = 0; i < blocks_cap; i++) {
        if (blocks[i]) {
            table[block_slot(table, cap, blocks[i]->vaddr, blocks[i]->n_insns)] = blocks[i];
        }
    }
    free(blocks);
    blocks = table;
    blocks_cap = cap;
    return 0;
}

static block_stats_t *block_for(uint64_t vaddr, uint64_t n)
{
    block_stats_t *b = NULL;
    pthread_mutex_lock(&blocks_lock);
    if ((blocks_used + 1) * 2 > blocks_cap && grow_blocks() != 0) {
        goto done;
    }
    size_t i = block_slot(blocks, blocks_cap, vaddr, n);
    if (!blocks[i]) {
        blocks[i] = calloc(1, sizeof **blocks);
        if (!blocks[i]) {
            goto done;
        }
        blocks[i]->vaddr = vaddr;
        blocks[i]->n_insns = n;
        blocks_used++;
    }
    b = blocks[i];
done:
    pthread_mutex_unlock(&blocks_lock);
    return b;
}

static int is_marker(uint64_t addr)
{
    for (size_t i = 0; i < n_markers; i++) {
        if (markers[i] == addr) {
            return 1;
        }
    }
    return 0;
}

static void write_blocks(void)
{
    pthread_mutex_lock(&blocks_lock);
    for (size_t i = 0; i < blocks_cap; i++) {
        const block_stats_t *b = blocks[i];
        if (b && b->execs) {
            fprintf(out, "B %" PRIx64 " %" PRIu64 " %" PRIu64 "\n", b->vaddr, b->n_insns, b->execs);
        }
    }
    pthread_mutex_unlock(&blocks_lock);
}

static void write_memory_counts(void)
{
    uint64_t counts[(MS_MAX_REGIONS + 1) * MS_REGION_FIELDS + MS_MAX_CACHES * MS_CACHE_FIELDS];
    size_t n;

    if (!memory) {
        return;
    }
    n = memsim_counts(memory, counts, sizeof counts / sizeof counts[0]);
    fputc('C', out);
    for (size_t i = 0; i < n; i++) {
        fprintf(out, " %" PRIu64, counts[i]);
    }
    fputc('\n', out);
}

static void on_fetch(unsigned int vcpu_index, void *userdata)
{
    const fetch_site_t *site = userdata;
    memsim_fetch(memory, site->vaddr, site->bytes);
}

static void on_memory_access(unsigned int vcpu_index, qemu_plugin_meminfo_t info, uint64_t vaddr, void *userdata)
{
    if (qemu_plugin_mem_is_store(info)) {
        memsim_write(memory, vaddr);
    } else {
        memsim_read(memory, vaddr);
    }
}

static void on_marker(unsigned int vcpu_index, void *userdata)
{
    const marker_site_t *site = userdata;
    fprintf(out, "M %" PRIx64 " %" PRIu64 "\n", site->addr, insn_count - site->ahead);
    write_memory_counts();
    if (profile) {
        fprintf(out, "S %" PRIx64 "\n", site->addr);
        write_blocks();
        fputs("s\n", out);
    }
    fflush(out);
    if (per_insn) {
        /* The marker instruction carries no inline add in insn mode (so the
         * order of inline ops and callbacks does not matter): count it here. */
        insn_count++;
    }
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    size_t n = qemu_plugin_tb_n_insns(tb);

    if (!per_insn) {
        qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &insn_count, n);
    }
    if (profile) {
        block_stats_t *b = block_for(qemu_plugin_tb_vaddr(tb), n);
        if (b) {
            qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &b->execs, 1);
        }
    }
    if (memory) {
        fetch_site_t *site = malloc(sizeof *site);
        if (site) {
            site->vaddr = qemu_plugin_tb_vaddr(tb);
            site->bytes = 0;
            for (size_t i = 0; i < n; i++) {
                site->bytes += qemu_plugin_insn_size(qemu_plugin_tb_get_insn(tb, i));
            }
            qemu_plugin_register_vcpu_tb_exec_cb(tb, on_fetch, QEMU_PLUGIN_CB_NO_REGS, site);
        }
    }
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        uint64_t addr = qemu_plugin_insn_vaddr(insn);
        int marker = n_markers && is_marker(addr);

        if (memory) {
            qemu_plugin_register_vcpu_mem_cb(insn, on_memory_access, QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_MEM_RW, NULL);
        }

        if (marker) {
            marker_site_t *site = malloc(sizeof *site);
            if (site) {
                site->addr = addr;
                site->ahead = per_insn ? 0 : n - i;
                qemu_plugin_register_vcpu_insn_exec_cb(insn, on_marker, QEMU_PLUGIN_CB_NO_REGS, site);
            }
        }
        if (per_insn && !marker) {
            qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &insn_count, 1);
        }
    }
}

static void on_plugin_exit(qemu_plugin_id_t id, void *userdata)
{
    fprintf(out, "T %" PRIu64 "\n", insn_count);
    write_memory_counts();
    write_blocks();
    fputs("E\n", out);
    fclose(out);
}

static int parse_markers(const char *list)
{
    while (*list) {
        char *end;
        if (n_markers == MAX_MARKERS) {
            return -1;
        }
        markers[n_markers++] = strtoull(list, &end, 16) & ~1ull; /* drop the Thumb bit */
        if (end == list || (*end && *end != ':')) {
            return -1;
        }
        list = *end ? end + 1 : end;
    }
    return 0;
}

static memsim_t *memory_model(void)
{
    if (!memory) {
        memory = memsim_new();
    }
    return memory;
}

static int parse_region(const char *spec)
{
    unsigned long long base, size;
    unsigned access;
    int prefetch, timed, data_buffer;
    char tail;
    if (sscanf(spec, "%llx:%llx:%u:%d:%d:%d%c", &base, &size, &access, &prefetch, &timed, &data_buffer, &tail) != 6
        || !memory_model()) {
        return -1;
    }
    return memsim_add_region(memory, base, size, access, prefetch, timed, data_buffer);
}

static int parse_cache(const char *spec)
{
    unsigned size, line, sector, ways, mask;
    char streams[3] = "";
    char tail;
    unsigned serves = 0;
    if (sscanf(spec, "%u:%u:%u:%u:%2[fd]:%x%c", &size, &line, &sector, &ways, streams, &mask, &tail) != 6
        || !memory_model()) {
        return -1;
    }
    serves |= strchr(streams, 'f') ? MS_SERVES_FETCH : 0;
    serves |= strchr(streams, 'd') ? MS_SERVES_DATA : 0;
    return memsim_add_cache(memory, size, line, sector, ways, serves, mask);
}

/* To stderr, not qemu_plugin_outs(): that only shows with -d plugin. */
static int fail(const char *why, const char *arg)
{
    fprintf(stderr, "tinyperf counter: %s: %s\n", why, arg);
    return -1;
}

TP_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
    const char *path = NULL;

    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "out=", 4) == 0) {
            path = arg + 4;
        } else if (strcmp(arg, "mode=tb") == 0) {
            per_insn = 0;
        } else if (strcmp(arg, "mode=insn") == 0) {
            per_insn = 1;
        } else if (strcmp(arg, "profile=on") == 0) {
            profile = 1;
        } else if (strcmp(arg, "profile=off") == 0) {
            profile = 0;
        } else if (strncmp(arg, "region=", 7) == 0) {
            if (parse_region(arg + 7) != 0) {
                return fail("bad region (hex base:hex size:access bytes, a power of two:prefetch 0/1:timed 0/1:data buffer 0/1)", arg);
            }
        } else if (strncmp(arg, "cache=", 6) == 0) {
            if (parse_cache(arg + 6) != 0) {
                return fail("bad cache (size:line:sector:ways:f|d|fd:hex region mask; size a multiple of line x ways, sector a power of two dividing line)", arg);
            }
        } else if (strncmp(arg, "markers=", 8) == 0) {
            if (parse_markers(arg + 8) != 0) {
                return fail("bad marker list (hex addresses separated by ':')", arg);
            }
        } else {
            return fail("unknown argument", arg);
        }
    }
    if (!path) {
        return fail("missing argument", "out=PATH");
    }
    out = fopen(path, "w");
    if (!out) {
        return fail("cannot open output file", path);
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_atexit_cb(id, on_plugin_exit, NULL);
    return 0;
}
