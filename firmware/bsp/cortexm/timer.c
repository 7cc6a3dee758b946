/* bsp_time_us from the platform's free-running timer, read without
 * interrupts.  The hardware counter is extended to 64 bits in software, so
 * only the gap between two reads must stay under one hardware wrap (171 s for
 * a 32-bit CMSDK timer at 25 MHz). */
#include "board.h"
#include "bsp.h"
#include "bsp_internal.h"

#define REG(offset) (*(volatile uint32_t *)(TP_TIMER_BASE + (offset)))

#if defined(TP_TIMER_CMSDK)
/* CMSDK APB timer: a 32-bit down counter. */
static uint32_t last_value;
static uint64_t elapsed_ticks;

void timer_init(void)
{
    REG(0x8) = 0xFFFFFFFFu; /* RELOAD */
    REG(0x4) = 0xFFFFFFFFu; /* VALUE */
    REG(0x0) = 1u;          /* CTRL: enable */
    last_value = 0xFFFFFFFFu;
}

static uint64_t timer_ticks(void)
{
    uint32_t now = REG(0x4);
    elapsed_ticks += (uint32_t)(last_value - now);
    last_value = now;
    return elapsed_ticks;
}
#elif defined(TP_TIMER_SSE_COUNTER)
/* SSE-300 system counter: a 64-bit up counter (control frame, CNTCV at +8). */
void timer_init(void)
{
    REG(0x0) = 1u; /* CNTCR: enable */
}

static uint64_t timer_ticks(void)
{
    uint32_t hi, lo;
    do {
        hi = REG(0xC);
        lo = REG(0x8);
    } while (hi != REG(0xC));
    return ((uint64_t)hi << 32) | lo;
}
#else
#error "board.h names no known timer"
#endif

uint32_t bsp_time_us(void)
{
    return (uint32_t)(timer_ticks() / TP_TIMER_TICKS_PER_US);
}
