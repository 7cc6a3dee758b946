/* Reset, vector table and fault handling for every Cortex-M platform.
 *
 * No interrupt is ever enabled: the firmware polls, so instruction counts do
 * not depend on host time.  Any fault prints one `e-[fault ...]` line with the
 * faulting PC and ends the run through semihosting with exit code 3. */
#include <stdint.h>
#include <string.h>

#include "board.h"
#include "bsp.h"
#include "bsp_internal.h"

#define TP_FAULT_EXIT_CODE 3

extern uint32_t __data_load[], __data_start[], __data_end[], __bss_start[], __bss_end[];
extern uint32_t __stack_top[];
/* Static constructors (C++ globals, __attribute__((constructor))): the linker
 * script gathers them between these symbols; empty for C firmware. */
extern void (*const __preinit_array_start[])(void), (*const __preinit_array_end[])(void);
extern void (*const __init_array_start[])(void), (*const __init_array_end[])(void);

int main(void);
void reset_handler(void);
void fault_entry(void);

__attribute__((noreturn)) void reset_handler(void)
{
#if defined(__ARM_FP) || defined(__ARM_FEATURE_MVE)
    /* Grant full access to CP10/CP11 (FPU, and MVE on the M55) before any
     * floating-point instruction, which would otherwise fault. */
    volatile uint32_t *cpacr = (volatile uint32_t *)0xE000ED88u;
    *cpacr |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
    memcpy(__data_start, __data_load, (size_t)((char *)__data_end - (char *)__data_start));
    memset(__bss_start, 0, (size_t)((char *)__bss_end - (char *)__bss_start));
    for (void (*const *ctor)(void) = __preinit_array_start; ctor < __preinit_array_end; ctor++)
        (*ctor)();
    for (void (*const *ctor)(void) = __init_array_start; ctor < __init_array_end; ctor++)
        (*ctor)();
    bsp_exit(main());
}

void bsp_init(void)
{
    uart_init();
    timer_init();
}

static void put_hex(uint32_t value)
{
    for (int shift = 28; shift >= 0; shift -= 4) {
        bsp_putc("0123456789abcdef"[(value >> shift) & 0xFu]);
    }
}

/* Called with the exception stack frame; frame[6] is the stacked PC. */
__attribute__((noreturn, used)) static void report_fault(const uint32_t *frame, uint32_t exc_return)
{
    uint32_t ipsr;
    __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
    bsp_puts("e-[fault exception=");
    put_hex(ipsr & 0x1FFu);
    bsp_puts(" pc=0x");
    put_hex(frame[6]);
    bsp_puts(" lr=0x");
    put_hex(frame[5]);
#if defined(__ARM_ARCH_7M__) || defined(__ARM_ARCH_7EM__) || defined(__ARM_ARCH_8M_MAIN__) || \
    defined(__ARM_ARCH_8_1M_MAIN__)
    bsp_puts(" cfsr=0x");
    put_hex(*(volatile uint32_t *)0xE000ED28u);
#endif
    bsp_puts("]\r\n");
    (void)exc_return;
    bsp_exit(TP_FAULT_EXIT_CODE);
}

/* Picks the stack the fault frame was pushed on (bit 2 of EXC_RETURN). */
__attribute__((naked)) void fault_entry(void)
{
    __asm__ volatile(
        "mov r1, lr\n\t"
        "movs r2, #4\n\t"
        "tst r1, r2\n\t"
        "bne 1f\n\t"
        "mrs r0, msp\n\t"
        "b report_fault\n"
        "1:\n\t"
        "mrs r0, psp\n\t"
        "b report_fault\n");
}

/* Exceptions 1..15; external interrupts are never enabled. */
__attribute__((section(".vectors"), used)) static void (*const vector_table[16])(void) = {
    (void (*)(void))__stack_top,
    reset_handler,
    fault_entry, /* NMI */
    fault_entry, /* HardFault */
    fault_entry, /* MemManage */
    fault_entry, /* BusFault */
    fault_entry, /* UsageFault */
    fault_entry, /* SecureFault (v8-M) */
    0, 0, 0,
    fault_entry, /* SVCall */
    fault_entry, /* DebugMonitor */
    0,
    fault_entry, /* PendSV */
    fault_entry, /* SysTick */
};
