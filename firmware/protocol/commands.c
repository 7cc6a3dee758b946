/* Command collection and dispatch for the EEMBC / MLPerf Tiny protocol.
 *
 * Commands arrive as text ending in '%' (no newline, no echo) and are split
 * into tokens on spaces.  Every command, known or not, is answered with its
 * lines and then "m-ready", because the runner reads a reply up to the next
 * "m-ready".  Nothing is ever printed unprompted after boot. */
#include "protocol.h"

#include <stdint.h>
#include <string.h>

#include "bench.h"
#include "bsp.h"
#include "model.h"
#include "serial_out.h"

#define COMMAND_CAPACITY 80u        /* the reference firmware's EE_CMD_SIZE */
#define FIRMWARE_VERSION "ULPMark for tinyML Firmware V0.0.1"
#define DEFAULT_INFERENCES 1
#define DEFAULT_WARMUPS 10

static char command[COMMAND_CAPACITY + 1];
static uint32_t command_length;
static int command_overflow;    /* characters beyond COMMAND_CAPACITY arrived */

/* The input file as sent with `db`: db_expected bytes were announced by
 * `db load`, db_received of them have arrived. */
static uint8_t db_buffer[BENCH_DB_BYTES];
static uint32_t db_expected;
static uint32_t db_received;

/* ---- small parsing helpers ---------------------------------------------- */

/* Next space-separated token, or NULL.  Like strtok: runs of spaces are
 * skipped and the token is NUL-terminated in place. */
static char *next_token(char **cursor)
{
    char *p = *cursor;
    while (*p == ' ')
        p++;
    if (*p == '\0')
        return NULL;
    char *token = p;
    while (*p != '\0' && *p != ' ')
        p++;
    if (*p == ' ')
        *p++ = '\0';
    *cursor = p;
    return token;
}

static int is(const char *token, const char *word)
{
    return strcmp(token, word) == 0;
}

/* atoi semantics (optional sign, leading digits, anything after ignored,
 * no digits gives 0) but saturating instead of overflowing. */
static int32_t parse_int(const char *s)
{
    int negative = 0;
    if (*s == '+' || *s == '-')
        negative = *s++ == '-';
    int32_t value = 0;
    while (*s >= '0' && *s <= '9') {
        int32_t digit = *s++ - '0';
        value = value > (INT32_MAX - digit) / 10 ? INT32_MAX : value * 10 + digit;
    }
    return negative ? -value : value;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* ---- commands ------------------------------------------------------------ */

static void timestamp(void)
{
    uint32_t now = bsp_time_us();
    out_str("m-lap-us-");
    out_uint(now);
    out_eol();
}

static void print_help(void)
{
    out_line(FIRMWARE_VERSION);
    out_line("name          : print the device name");
    out_line("profile       : print the firmware version and model");
    out_line("timestamp     : print the microsecond clock");
    out_line("db load N     : expect an input file of N bytes");
    out_line("db HH[HH]*    : append hex bytes to the input file");
    out_line("db print      : print the input file as hex");
    out_line("db file PATH  : load the input file from the host (semihosting)");
    out_line("infer N W     : W warmup runs, then N timed runs (default 1 10)");
    out_line("results       : print the results of the last run");
    out_line("outputs       : print the raw int8 output tensor as hex");
}

static void db_load(const char *size_token)
{
    if (size_token == NULL) {
        out_line("e-[Command 'db load' requires the # of bytes]");
        return;
    }
    int32_t size = parse_int(size_token);
    if (size <= 0) {
        out_line("e-[Command 'db load' must be >0 bytes]");
        return;
    }
    if ((uint32_t)size > BENCH_DB_BYTES) {
        /* Refused outright: the buffer and the load state stay as they were.
         * (The reference firmware printed a note and accepted the size.) */
        out_str("e-[Supplied buffer size ");
        out_uint((uint32_t)size);
        out_str(" exceeds maximum of ");
        out_uint(BENCH_DB_BYTES);
        out_line("]");
        return;
    }
    db_expected = (uint32_t)size;
    db_received = 0;
    out_str("m-[Expecting ");
    out_uint(db_expected);
    out_line(" bytes]");
}

/* Prints the announced part of the buffer, 8 bytes a line: m-buffer-xx-xx-... */
static void db_print(void)
{
    for (uint32_t i = 0; i < db_expected; i++) {
        if (i % 8u == 0u)
            out_str("m-buffer-");
        out_hex_byte(db_buffer[i]);
        if (i % 8u == 7u || i + 1u == db_expected)
            out_eol();
        else
            bsp_putc('-');
    }
}

/* Appends the bytes of a hex token.  The whole token is checked before any
 * byte is stored, so a faulty command changes nothing.  Bytes beyond the
 * announced size are dropped, as the reference drops the rest of the token
 * once the load is complete, but said so: a silent drop hides a client's
 * wrong count. */
static void db_append_hex(const char *hex)
{
    uint32_t digits = (uint32_t)strlen(hex);
    if (digits % 2u != 0u) {
        out_line("e-[Odd number of hex digits: each byte takes two]");
        return;
    }
    for (uint32_t i = 0; i < digits; i += 2u) {
        if (hex_value(hex[i]) < 0 || hex_value(hex[i + 1u]) < 0) {
            char pair[3] = { hex[i], hex[i + 1u], '\0' };
            out_str("e-[Invalid hex digit '");
            out_str(pair);
            out_line("']");
            return;
        }
    }
    uint32_t i = 0;
    for (; i < digits && db_received < db_expected; i += 2u) {
        db_buffer[db_received++] =
            (uint8_t)(hex_value(hex[i]) << 4 | hex_value(hex[i + 1u]));
        if (db_received == db_expected)
            out_line("m-load-done");
    }
    if (i < digits) {
        out_str("e-[Dropped ");
        out_uint((digits - i) / 2u);
        out_str(" bytes beyond the ");
        out_uint(db_expected);
        out_line(" announced by 'db load']");
    }
}

/* `db file PATH` (a tinyperf extension, like `outputs`): the whole input file
 * read from the host through semihosting.  Same effect as `db load N` and its
 * hex chunks, without moving ~2 bytes of hex per input byte through a UART that
 * QEMU feeds one byte per main-loop pass (~25 kB/s).  A file larger than the
 * buffer is refused and nothing is overwritten. */
static void db_file(const char *path)
{
    if (path == NULL) {
        out_line("e-[Command 'db file' requires a path]");
        return;
    }
    int32_t size = bsp_read_file(path, db_buffer, BENCH_DB_BYTES);
    if (size == -2) {
        out_str("e-[Input file exceeds maximum of ");
        out_uint(BENCH_DB_BYTES);
        out_line(" bytes]");
        return;
    }
    if (size <= 0) {
        out_line("e-[Cannot read input file]");
        return;
    }
    db_expected = db_received = (uint32_t)size;
    out_line("m-load-done");
}

static void db_command(char **cursor)
{
    char *sub = next_token(cursor);
    if (sub == NULL)
        out_line("e-[Command 'db' requires a subcommand]");
    else if (is(sub, "load"))
        db_load(next_token(cursor));
    else if (is(sub, "print"))
        db_print();
    else if (is(sub, "file"))
        db_file(next_token(cursor));
    else
        db_append_hex(sub);
}

/* th_pre / th_post of the reference API: work that belongs to the measured
 * window around the N inferences.  Nothing is needed here, but the hooks
 * mark where such work would go. */
static void before_timed_runs(void) {}
static void after_timed_runs(void) {}

/* `infer N W`: the exact line sequence and measurement window the runner
 * expects.  Loading the input and the warmup runs happen before the first
 * timestamp; between tp_mark_begin() and tp_mark_end() there is only the
 * measured work, so the instruction count of the window holds no printing. */
static void infer(char **cursor)
{
    int32_t runs = DEFAULT_INFERENCES;
    int32_t warmups = DEFAULT_WARMUPS;
    const char *token = next_token(cursor);
    if (token != NULL) {
        runs = parse_int(token);
        if (runs <= 0) {
            out_line("e-[Inference iterations must be >0]");
            return;
        }
        token = next_token(cursor);
        if (token != NULL) {
            warmups = parse_int(token);
            if (warmups < 0) {
                out_line("e-[Inference warmup must be >=0]");
                return;
            }
        }
    }
    if (db_received != BENCH_DB_BYTES) {
        /* The reference firmware printed a note and ran on stale input;
         * refusing makes a short or missing load visible to the runner. */
        out_str("e-[Input db has ");
        out_uint(db_received);
        out_str(" bytes, expected ");
        out_uint(BENCH_DB_BYTES);
        out_line("]");
        return;
    }

    bench_load_input(db_buffer);

    out_str("m-warmup-start-");
    out_uint((uint32_t)warmups);
    out_eol();
    for (int32_t i = 0; i < warmups; i++)
        model_invoke();
    out_line("m-warmup-done");
    out_str("m-infer-start-");
    out_uint((uint32_t)runs);
    out_eol();

    timestamp();
    tp_mark_begin();
    before_timed_runs();
    for (int32_t i = 0; i < runs; i++)
        model_invoke();
    after_timed_runs();
    tp_mark_end();
    timestamp();

    out_line("m-infer-done");
    bench_print_results();
}

/* Every output tensor's bytes, concatenated in output order. */
static void print_outputs(void)
{
#if MODEL_OUTPUT_COUNT > 1
    out_str("m-outputs-[");
    for (uint32_t t = 0; t < MODEL_OUTPUT_COUNT; t++)
        for (uint32_t i = 0; i < model_outputs[t].bytes; i++)
            out_hex_byte((uint8_t)model_outputs[t].data[i]);
#else
    const int8_t *output = model_output();
    out_str("m-outputs-[");
    for (uint32_t i = 0; i < MODEL_OUTPUT_BYTES; i++)
        out_hex_byte((uint8_t)output[i]);
#endif
    out_line("]");
}

static void run_command(char *text)
{
    char *cursor = text;
    char *name = next_token(&cursor);

    if (name == NULL)
        out_line("e-[Unknown command: ]");
    else if (is(name, "name"))
        out_line("m-name-dut-[tinyperf]");
    else if (is(name, "timestamp"))
        timestamp();
    else if (is(name, "profile")) {
        out_line("m-profile-[" FIRMWARE_VERSION "]");
        out_line("m-model-[" BENCH_MODEL_ID "]");
    } else if (is(name, "help"))
        print_help();
    else if (is(name, "db"))
        db_command(&cursor);
    else if (is(name, "infer"))
        infer(&cursor);
    else if (is(name, "results"))
        bench_print_results();
    else if (is(name, "outputs"))
        print_outputs();
    else {
        out_str("e-[Unknown command: ");
        out_str(name);
        out_line("]");
    }
    out_line("m-ready");
}

/* ---- entry points -------------------------------------------------------- */

void protocol_boot(void)
{
    model_prepare();   /* the kernels' per-model preparation, outside every timed run */
    out_line("m-timestamp-mode-performance");
    timestamp();
    out_line("m-init-done");
    out_line("m-ready");
}

void protocol_feed(char c)
{
    if (c == '%') {
        command[command_length] = '\0';
        command_length = 0;
        if (command_overflow) {
            /* Refused whole: the reference ran its first 80 characters, which
             * turns a long hex chunk into a shorter (or odd) one. */
            command_overflow = 0;
            out_line("e-[Command longer than 80 characters: nothing done]");
            out_line("m-ready");
        } else {
            run_command(command);
        }
    } else if (c == '\r' || c == '\n') {
        /* Not part of the protocol; dropped so that a terminal or a
         * line-oriented test script may end commands with a newline. */
    } else if (command_length < COMMAND_CAPACITY) {
        command[command_length++] = c;
    } else {
        command_overflow = 1;
    }
}
