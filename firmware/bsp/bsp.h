/* Board support interface shared by every firmware image.
 *
 * One implementation per execution kind: bsp/cortexm (emulated boards,
 * selected by the platform's generated board.h) and bsp/host (stdio, for
 * fast host builds of the protocol and kernels).  Nothing above this layer
 * touches hardware registers. */
#ifndef TP_BSP_H
#define TP_BSP_H

#include <stdint.h>

#ifdef __cplusplus /* C++-safe: the port kit's users compile C++ against it */
extern "C" {
#endif

void bsp_init(void);

/* Polled UART: blocking byte write, blocking byte read (returns 0..255,
 * or -1 when the input has ended, e.g. EOF on a host build). */
void bsp_putc(char c);
int bsp_getc(void);
void bsp_puts(const char *s); /* writes s as is: no newline added */

/* Free-running microsecond clock (wraps at 2^32), read without interrupts so
 * that instruction counts do not depend on host time. */
uint32_t bsp_time_us(void);

/* Reads a whole host file into buf (semihosting on the emulated boards, stdio
 * on the host): its size in bytes, -1 if it cannot be read, -2 if it holds
 * more than capacity bytes (then buf is left untouched). */
int32_t bsp_read_file(const char *path, uint8_t *buf, uint32_t capacity);

/* End the program with an exit code (semihosting SYS_EXIT_EXTENDED on the
 * emulated boards, exit() on the host). */
void bsp_exit(int code) __attribute__((noreturn));

/* Measurement markers.  The counting plugin records its running instruction
 * count each time one of these functions is entered, so everything executed
 * between a call to tp_mark_begin() and the next tp_mark_end() is exactly the
 * measured work.  They must stay out-of-line and must not be merged. */
void tp_mark_begin(void) __attribute__((noinline));
void tp_mark_end(void) __attribute__((noinline));

#ifdef __cplusplus
}
#endif

#endif
