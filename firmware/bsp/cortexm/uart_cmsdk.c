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

/* A byte the start-up read below took out of the receiver, handed out first. */
static uint32_t early_byte;
static int early_byte_held;

void uart_init(void)
{
    UART_BAUDDIV = 16; /* the smallest divider the UART accepts */
    UART_CTRL = CTRL_TX_EN | CTRL_RX_EN;
    /* A read of DATA makes QEMU's UART model tell its character backend
     * that it can take input again. Without it QEMU's main loop only
     * notices the enabled receiver at its next timeout, and the first byte
     * the host sends waits about a second (QEMU hw/char/cmsdk-apb-uart.c:
     * only the DATA read calls qemu_chr_fe_accept_input).
     * Renode's model (renode-infrastructure .../UART/CMSDK_APB_UART.cs) queues
     * bytes while the receiver is still off, and a DATA read takes one, so
     * the read is skipped when a byte is waiting.  A byte that arrives between
     * the STATE and the DATA reads is kept: protocol bytes are never 0, and
     * an empty receiver reads 0 here on both emulators (QEMU: the data buffer
     * as reset; Renode: its empty-FIFO read). */
    if (!(UART_STATE & STATE_RX_FULL)) {
        early_byte = UART_DATA & 0xFFu;
        early_byte_held = early_byte != 0u;
    }
}

void bsp_putc(char c)
{
    while (UART_STATE & STATE_TX_FULL) {
    }
    UART_DATA = (uint8_t)c;
}

int bsp_getc(void)
{
    if (early_byte_held) {
        early_byte_held = 0;
        return (int)early_byte;
    }
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
