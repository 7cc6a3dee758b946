/* bsp_time_us from the platform's free-running timer, read without
 * interrupts.  The hardware counter is extended to 64 bits in software, so
 * only the gap between two reads must stay under one hardware wrap (171 s for
 * a 32-bit CMSDK timer at 25 MHz, 167 s for the 24-bit SysTick at 100 kHz).
 *
 * Two drivers, both named by the platform file (board.h): the board timer,
 * and a fallback for emulators that do not model it.  Renode up to 1.16.1 has
 * no CMSDK timer; it reads unmapped addresses as 0, so the board timer's
 * control register does not read back its enable bit there, and the firmware
 * times with the core's SysTick instead (Renode models it inside its NVIC). */
#include "board.h"
#include "bsp.h"
#include "bsp_internal.h"

#define REG(offset) (*(volatile uint32_t *)(TP_TIMER_BASE + (offset)))

#if defined(TP_TIMER_CMSDK)
/* CMSDK APB timer: a 32-bit down counter. */
static uint32_t last_value;
static uint64_t elapsed_ticks;

static void board_timer_start(void)
{
    REG(0x8) = 0xFFFFFFFFu; /* RELOAD */
    REG(0x4) = 0xFFFFFFFFu; /* VALUE */
    REG(0x0) = 1u;          /* CTRL: enable */
    last_value = 0xFFFFFFFFu;
}

static uint64_t board_timer_ticks(void)
{
    uint32_t now = REG(0x4);
    elapsed_ticks += (uint32_t)(last_value - now);
    last_value = now;
    return elapsed_ticks;
}
#elif defined(TP_TIMER_SSE_COUNTER)
/* SSE-300 system counter: a 64-bit up counter (control frame, CNTCV at +8). */
static void board_timer_start(void)
{
    REG(0x0) = 1u; /* CNTCR: enable */
}

static uint64_t board_timer_ticks(void)
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

#if defined(TP_FALLBACK_TIMER_SYSTICK)
/* SysTick (Armv6-M/v7-M/v8-M architecture manuals, "SysTick timer"): CSR at
 * +0x0, RVR +0x4, CVR +0x8; a 24-bit down counter.  CLKSOURCE stays 0, the
 * external reference clock, whose rate the platform file gives: Renode counts
 * at its NVIC's systickFrequency whatever CLKSOURCE says. */
#define SYST(offset) (*(volatile uint32_t *)(TP_FALLBACK_TIMER_BASE + (offset)))
#define SYSTICK_MASK 0x00FFFFFFu

static int board_timer_missing;
static uint32_t systick_last;
static uint64_t systick_elapsed;

static void systick_start(void)
{
    SYST(0x4) = SYSTICK_MASK; /* RVR: the longest period */
    SYST(0x8) = 0u;           /* CVR: any write reloads it */
    SYST(0x0) = 1u;           /* CSR: ENABLE, no interrupt */
    systick_last = SYST(0x8) & SYSTICK_MASK;
}

static uint64_t systick_ticks(void)
{
    uint32_t now = SYST(0x8) & SYSTICK_MASK;
    systick_elapsed += (systick_last - now) & SYSTICK_MASK;
    systick_last = now;
    return systick_elapsed;
}
#endif

void timer_init(void)
{
    board_timer_start();
#if defined(TP_FALLBACK_TIMER_SYSTICK)
    /* Both board timers keep their enable bit in bit 0 of the register at +0. */
    board_timer_missing = (REG(0x0) & 1u) == 0u;
    if (board_timer_missing)
        systick_start();
#endif
}

uint32_t bsp_time_us(void)
{
#if defined(TP_FALLBACK_TIMER_SYSTICK)
    if (board_timer_missing)
        return (uint32_t)(systick_ticks() * TP_FALLBACK_TIMER_US_PER_TICK);
#endif
    return (uint32_t)(board_timer_ticks() / TP_TIMER_TICKS_PER_US);
}
