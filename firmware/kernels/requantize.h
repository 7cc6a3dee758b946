/*
 * Fixed-point requantisation with TFLM's "double rounding":
 *   round_half_away(high32(2 * a * b)) followed by a rounding shift right.
 * Two roundings differ from one exact rounding in rare ties; TFLM uses two,
 * so we must too.
 */
#ifndef TP_REQUANTIZE_H
#define TP_REQUANTIZE_H

#include <stdint.h>

/* High 32 bits of 2*a*b, rounded half away from zero. The only overflowing
 * input pair is INT32_MIN * INT32_MIN, which saturates. */
static inline int32_t tp_sat_round_doubling_high_mul(int32_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
    int64_t ab = (int64_t)a * (int64_t)b;
    int64_t nudged = ab + (ab >= 0 ? (int64_t)(1 << 30) : (int64_t)(1 - (1 << 30)));
    /* The reference divides by 2^31 truncating toward zero; an arithmetic
     * shift floors, so bias negative values first (no 64-bit division, which
     * would pull a libgcc helper into the hot loop on Cortex-M). */
    if (nudged < 0) {
        nudged += (int64_t)0x7FFFFFFF;
    }
    return (int32_t)(nudged >> 31);
}

/* x / 2^exponent rounded half away from zero, exponent >= 0. */
static inline int32_t tp_rounding_divide_by_pot(int32_t x, int exponent)
{
    if (exponent <= 0) {
        return x;
    }
    if (exponent > 31) {
        /* |x| <= 2^31 so |x / 2^e| <= 1/2; only -2^31 / 2^32 is a tie that
         * rounds away from zero. Handled here so no 32-bit value is ever
         * shifted by more than 31. */
        return (exponent == 32 && x == INT32_MIN) ? -1 : 0;
    }
    int32_t mask = (int32_t)(((uint32_t)1 << exponent) - 1u);
    int32_t remainder = x & mask;
    int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* x * multiplier * 2^shift with multiplier a Q0.31 value in [0.5, 1). */
static inline int32_t tp_requantize(int32_t x, int32_t multiplier, int32_t shift)
{
    int32_t left = shift > 0 ? (shift > 31 ? 31 : shift) : 0;
    int32_t right = shift > 0 ? 0 : -shift;
    /* Shift as unsigned: TFLM's int multiply wraps in practice; in C signed
     * overflow would be undefined. */
    int32_t shifted = (int32_t)((uint32_t)x << left);
    return tp_rounding_divide_by_pot(tp_sat_round_doubling_high_mul(shifted, multiplier), right);
}

static inline int32_t tp_clamp(int32_t v, int32_t lo, int32_t hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

#endif
