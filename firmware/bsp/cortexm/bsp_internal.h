/* Pieces of the Cortex-M BSP that bsp_init() wires together. */
#ifndef TP_BSP_INTERNAL_H
#define TP_BSP_INTERNAL_H
void uart_init(void);
void timer_init(void);
#endif
