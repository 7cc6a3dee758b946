/* Pieces of the Cortex-M BSP that bsp_init() wires together. */
#ifndef TP_BSP_INTERNAL_H
#define TP_BSP_INTERNAL_H
#ifdef __cplusplus
extern "C" {
#endif
void uart_init(void);
void timer_init(void);
#ifdef __cplusplus
}
#endif
#endif
