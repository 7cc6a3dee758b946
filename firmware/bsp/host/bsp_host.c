/* Host implementation of the board interface: the "UART" is stdin/stdout,
 * so the protocol can be driven by a test through a pipe. */
#define _POSIX_C_SOURCE 199309L     /* clock_gettime under -std=c11 */

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bsp.h"

void bsp_init(void)
{
    /* Line buffered: a reader on a pipe sees every line as it ends. */
    setvbuf(stdout, NULL, _IOLBF, 0);
}

void bsp_putc(char c)
{
    putchar((unsigned char)c);
}

int bsp_getc(void)
{
    int c = getchar();
    return c == EOF ? -1 : c;
}

/* Writes s as it is, without adding a newline. */
void bsp_puts(const char *s)
{
    fputs(s, stdout);
}

uint32_t bsp_time_us(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    uint64_t us = (uint64_t)now.tv_sec * 1000000u + (uint64_t)now.tv_nsec / 1000u;
    return (uint32_t)us;            /* wraps at 2^32 like the board timers */
}

int32_t bsp_read_file(const char *path, uint8_t *buf, uint32_t capacity)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -1;
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        size = ftell(f);
    int32_t result = size < 0 ? -1 : (unsigned long)size > capacity ? -2 : (int32_t)size;
    if (result > 0 && (fseek(f, 0, SEEK_SET) != 0 || fread(buf, 1, (size_t)size, f) != (size_t)size))
        result = -1;
    fclose(f);
    return result;
}

void bsp_exit(int code)
{
    fflush(stdout);
    exit(code);
}

/* The markers only matter on the emulator; here they just have to exist.
 * Their bodies differ so that identical-code folding cannot merge them.
 * With -DTP_HOST_TRACE_MARKERS they also print a line, so a test can check
 * where the measurement window sits among the protocol lines. */
static volatile int mark_state;

void tp_mark_begin(void)
{
    mark_state = 1;
#ifdef TP_HOST_TRACE_MARKERS
    fputs("#mark-begin\r\n", stdout);
#endif
}

void tp_mark_end(void)
{
    mark_state = 2;
#ifdef TP_HOST_TRACE_MARKERS
    fputs("#mark-end\r\n", stdout);
#endif
}
