/* Self-test firmware: proves the UART works both ways and that instruction
 * counts match paper counts, on every platform.
 *
 * Protocol (commands end with '%', like the benchmark protocol):
 *   boot            -> "selftest-ready <platform>"
 *   echo <text>%    -> "echo-[<text>]"
 *   loops <n>%      -> runs the three windows of loops.S with n passes each,
 *                      then "loops-done <n>"
 *   spin <n>%       -> runs only the alu window (a speed benchmark), then
 *                      "spin-done <n>"
 *   exit <code>%    -> ends the run with that exit code
 *   fault%          -> executes an undefined instruction in st_fault (the
 *                      BSP's handler must report it and exit non-zero)
 *   anything else   -> "e-[unknown selftest command]" */
#include <stdint.h>
#include <string.h>

#include "board.h"
#include "bsp.h"

void st_window_alu(uint32_t n);
void st_window_mmio(uint32_t n, uint32_t uart_base);
void st_window_call(uint32_t n);
void st_fault(void);

#define LINE_MAX 64

static uint32_t parse_uint(const char *s)
{
    uint32_t value = 0;
    while (*s >= '0' && *s <= '9') {
        value = value * 10u + (uint32_t)(*s++ - '0');
    }
    return value;
}

static void put_uint(uint32_t value)
{
    char digits[11];
    int i = 0;
    do {
        digits[i++] = (char)('0' + value % 10u);
        value /= 10u;
    } while (value);
    while (i) {
        bsp_putc(digits[--i]);
    }
}

static int read_command(char *line)
{
    int len = 0;
    for (;;) {
        int c = bsp_getc();
        if (c < 0) {
            return -1;
        }
        if (c == '%') {
            line[len] = '\0';
            return len;
        }
        if (len < LINE_MAX - 1) {
            line[len++] = (char)c;
        }
    }
}

int main(void)
{
    char line[LINE_MAX];

    bsp_init();
    bsp_puts("selftest-ready " TP_PLATFORM_NAME "\r\n");
    while (read_command(line) >= 0) {
        if (strncmp(line, "echo ", 5) == 0) {
            bsp_puts("echo-[");
            bsp_puts(line + 5);
            bsp_puts("]\r\n");
        } else if (strncmp(line, "loops ", 6) == 0) {
            uint32_t n = parse_uint(line + 6);
            if (n == 0) {
                bsp_puts("e-[loops needs n >= 1]\r\n");
                continue;
            }
            st_window_alu(n);
            st_window_mmio(n, TP_UART_BASE);
            st_window_call(n);
            bsp_puts("loops-done ");
            put_uint(n);
            bsp_puts("\r\n");
        } else if (strncmp(line, "spin ", 5) == 0) {
            uint32_t n = parse_uint(line + 5);
            st_window_alu(n ? n : 1u);
            bsp_puts("spin-done ");
            put_uint(n);
            bsp_puts("\r\n");
        } else if (strncmp(line, "exit ", 5) == 0) {
            return (int)parse_uint(line + 5);
        } else if (strcmp(line, "fault") == 0) {
            st_fault();
        } else {
            bsp_puts("e-[unknown selftest command]\r\n");
        }
    }
    return 0;
}
