/* Self-test windows whose instruction counts are known on paper.
 *
 * Each function is called with r0 = n >= 1 and runs one measurement window:
 * from the entry of st_mark_open to the entry of st_mark_close.  Counting
 * every instruction in between gives the paper counts the tests check:
 *   st_window_alu   2n + 2   (bx lr of st_mark_open, n x {subs, bne}, bl)
 *   st_window_mmio  3n + 2   (a UART STATE register read in every pass)
 *   st_window_call  4n + 2   (bl + bx lr of a leaf function in every pass)
 * Only ARMv6-M instructions are used, so the same file builds for every core. */
    .syntax unified
    .thumb
    .text

    .global st_mark_open
    .thumb_func
    .type st_mark_open, %function
st_mark_open:
    bx lr
    .size st_mark_open, . - st_mark_open

    .global st_mark_close
    .thumb_func
    .type st_mark_close, %function
st_mark_close:
    bx lr
    .size st_mark_close, . - st_mark_close

    .thumb_func
    .type st_leaf, %function
st_leaf:
    bx lr
    .size st_leaf, . - st_leaf

    .global st_window_alu
    .thumb_func
    .type st_window_alu, %function
st_window_alu:
    push {r4, lr}
    bl st_mark_open
1:  subs r0, #1
    bne 1b
    bl st_mark_close
    pop {r4, pc}
    .size st_window_alu, . - st_window_alu

    .global st_window_mmio
    .thumb_func
    .type st_window_mmio, %function
st_window_mmio:                 /* r1 = UART base */
    push {r4, lr}
    bl st_mark_open
1:  ldr r2, [r1, #4]
    subs r0, #1
    bne 1b
    bl st_mark_close
    pop {r4, pc}
    .size st_window_mmio, . - st_window_mmio

    .global st_window_call
    .thumb_func
    .type st_window_call, %function
st_window_call:
    push {r4, lr}
    bl st_mark_open
1:  bl st_leaf
    subs r0, #1
    bne 1b
    bl st_mark_close
    pop {r4, pc}
    .size st_window_call, . - st_window_call

    /* An undefined instruction, to exercise the fault handlers. */
    .global st_fault
    .thumb_func
    .type st_fault, %function
st_fault:
    nop
    udf #0
    bx lr
    .size st_fault, . - st_fault
