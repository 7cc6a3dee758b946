/* tinyperf port kit: the MLPerf Tiny submitter functions on a tinyperf board
 * (see th_port.h).  Valid C and C++: th_port.cpp compiles it as C++.
 *
 * The UART is the platform's CMSDK UART (polled; its DATA register is read at
 * init, see uart_cmsdk.c), time is the platform timer in microseconds.  No
 * interrupt is used, so instruction counts do not depend on host time. */
#if !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L /* strnlen */
#endif
#include "th_port.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bsp.h"

#define TP_WEAK __attribute__((weak))
#define TP_PRINTF_BYTES 256 /* longest th_printf output; longer output is cut */

TP_WEAK void th_serialport_initialize(void)
{
    bsp_init(); /* UART (with the DATA read at init) and the free-running timer */
}

/* The two lines below must not change: the runner parses them. */
TP_WEAK void th_timestamp_initialize(void)
{
    th_printf("m-timestamp-mode-performance\r\n");
    th_timestamp();
}

TP_WEAK void th_timestamp(void)
{
    th_printf("m-lap-us-%lu\r\n", (unsigned long)bsp_time_us());
}

TP_WEAK int th_vprintf(const char *format, va_list args)
{
    char text[TP_PRINTF_BYTES];
    int length = vsnprintf(text, sizeof text, format, args);
    bsp_puts(text);
    return length;
}

TP_WEAK void th_printf(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    (void)th_vprintf(format, args);
    va_end(args);
}

TP_WEAK char th_getchar(void)
{
    return (char)bsp_getc();
}

TP_WEAK int tp_port_output_tensor(const int8_t **data, size_t *bytes)
{
    (void)data;
    (void)bytes;
    return 0;
}

int tp_port_outputs_command(const char volatile *command)
{
    const int8_t *data = NULL;
    size_t bytes = 0;
    const char *text = (const char *)command;
    if (strcmp(text, "outputs") != 0 || !tp_port_output_tensor(&data, &bytes))
        return 0;
    bsp_puts("m-outputs-[");
    for (size_t i = 0; i < bytes; i++) {
        bsp_putc("0123456789abcdef"[((uint8_t)data[i]) >> 4]);
        bsp_putc("0123456789abcdef"[((uint8_t)data[i]) & 0xFu]);
    }
    bsp_puts("]\r\n");
    bsp_puts("m-ready\r\n");
    return 1;
}

TP_WEAK void th_command_ready(char volatile *command)
{
    if (!tp_port_outputs_command(command))
        ee_serial_command_parser_callback((char *)command);
}

/* th_libc: the C library the API uses, one-to-one. */
TP_WEAK int th_strncmp(const char *a, const char *b, size_t n) { return strncmp(a, b, n); }
TP_WEAK char *th_strncpy(char *dest, const char *src, size_t n) { return strncpy(dest, src, n); }
TP_WEAK size_t th_strnlen(const char *s, size_t maxlen) { return strnlen(s, maxlen); }
TP_WEAK char *th_strcat(char *dest, const char *src) { return strcat(dest, src); }
TP_WEAK char *th_strtok(char *s, const char *separators) { return strtok(s, separators); }
TP_WEAK int th_atoi(const char *s) { return atoi(s); }
TP_WEAK void *th_memset(void *b, int c, size_t n) { return memset(b, c, n); }
TP_WEAK void *th_memcpy(void *dest, const void *src, size_t n) { return memcpy(dest, src, n); }

/* C++ objects with static storage register their destructors against this
 * handle (crtbegin.o defines it; the kit links without start files). */
TP_WEAK void *__dso_handle = 0;

/* The official main loop: set up, then feed every UART byte to the API's
 * command assembler.  A submission with its own main() replaces this one. */
TP_WEAK int main(void)
{
    ee_benchmark_initialize();
    for (;;)
        ee_serial_callback(th_getchar());
}
