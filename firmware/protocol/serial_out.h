/* Text output for the serial protocol, written byte by byte through
 * bsp_putc so that no printf (and no float printf) is linked in. */
#ifndef TP_SERIAL_OUT_H
#define TP_SERIAL_OUT_H

#include <stdint.h>

void out_str(const char *s);
void out_eol(void);                 /* every protocol line ends "\r\n" */
void out_line(const char *s);       /* s, then "\r\n" */
void out_uint(uint32_t v);          /* decimal */
void out_int(int32_t v);            /* decimal, '-' when negative */
void out_hex_byte(uint8_t b);       /* two lowercase hex digits */
void out_fixed3(float v);           /* what printf("%0.3f", v) prints */

#endif
