/* Polled driver for the CMSDK APB UART (all MPS2/MPS3 platforms). */
#include "board.h"
#include "bsp.h"
#include "bsp_internal.h"

#define UART_REG(offset) (*(volatile uint32_t *)(TP_UART_BASE + (offset)))
#define UART_DATA UART_REG(0x0)
#define UART_STATE UART_REG(0x4)
#define UART_CTRL UART_REG(0x8)
#define UART_BAUDDIV UART_REG(0x10)

#define STATE_TX_FULL 0x1u
#define STATE_RX_FULL 0x2u
#define CTRL_TX_EN 0x1u
#define CTRL_RX_EN 0x2u

void uart_init(void)
{
    UART_BAUDDIV = 16; /* the smallest divider the UART accepts */
    UART_CTRL = CTRL_TX_EN | CTRL_RX_EN;
    /* A read of DATA makes QEMU's UART model tell its character backend
     * that it can take input again. Without it QEMU's main loop only
     * notices the enabled receiver at its next timeout, and the first byte
     * the host sends waits about a second; on hardware the read is a no-op. */
    (void)UART_DATA;
}

void bsp_putc(char c)
{
    while (UART_STATE & STATE_TX_FULL) {
    }
    UART_DATA = (uint8_t)c;
}

int bsp_getc(void)
{
    while (!(UART_STATE & STATE_RX_FULL)) {
    }
    return (int)(UART_DATA & 0xFFu);
}

void bsp_puts(const char *s)
{
    while (*s) {
        bsp_putc(*s++);
    }
}
