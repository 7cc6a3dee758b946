/*
 * 32-bit fixed-point transcendental helpers shared by SOFTMAX, LOGISTIC and
 * TANH, with the arithmetic TFLM's int8 kernels use (gemmlowp's fixed-point
 * library): every product is a rounding doubling high multiply, every
 * widening shift saturates, so results match TFLM bit for bit.
 *
 * Qm.n below: a signed 32-bit value with m integer bits and n = 31 - m
 * fractional bits; Q0.31 "one" is INT32_MAX, the closest it gets.
 */
#ifndef TP_FIXEDPOINT_Q31_H
#define TP_FIXEDPOINT_Q31_H

#include <stdint.h>

#include "requantize.h"

#define TP_Q31_ONE INT32_MAX

static inline int32_t tp_q_mul(int32_t a, int32_t b)
{
    return tp_sat_round_doubling_high_mul(a, b);
}

/* x * 2^exponent, saturating to the int32 range, 0 < exponent < 31. */
static inline int32_t tp_sat_shift_left(int32_t x, int exponent)
{
    const int32_t threshold = (int32_t)((1u << (31 - exponent)) - 1u);
    if (x > threshold) {
        return INT32_MAX;
    }
    if (x < -threshold) {
        return INT32_MIN;
    }
    return (int32_t)((uint32_t)x << exponent);
}

/* (a + b) / 2 rounded half away from zero, without overflow. */
static inline int32_t tp_rounding_half_sum(int32_t a, int32_t b)
{
    const int64_t s = (int64_t)a + (int64_t)b;
    if (s >= 0) {
        return (int32_t)((s + 1) >> 1);
    }
    return (int32_t)-((1 - s) >> 1);
}

/* exp(a) for a in [-1/4, 0), a and result in Q0.31: Taylor series around
 * -1/8 to fourth order. */
static inline int32_t tp_exp_quarter_interval(int32_t a)
{
    const int32_t exp_minus_1_8 = 1895147668;  /* exp(-1/8) in Q0.31 */
    const int32_t one_third = 715827883;       /* 1/3 in Q0.31 */
    const int32_t x = a + (1 << 28);           /* a + 1/8 */
    const int32_t x2 = tp_q_mul(x, x);
    const int32_t x3 = tp_q_mul(x2, x);
    const int32_t x4 = tp_q_mul(x2, x2);
    const int32_t x4_4 = tp_rounding_divide_by_pot(x4, 2);
    const int32_t poly = tp_rounding_divide_by_pot(tp_q_mul(x4_4 + x3, one_third) + x2, 1);
    return exp_minus_1_8 + tp_q_mul(exp_minus_1_8, x + poly);
}

/* exp(a) for a <= 0 in Q(integer_bits).(31 - integer_bits), integer_bits
 * 1..5; result in Q0.31. The input splits into its fraction of a quarter
 * (evaluated by the series) and whole quarters, one exp(-2^k) factor per set
 * bit. Callers pass a constant integer_bits, so this inlines to straight
 * code. (gemmlowp also clamps inputs below -32 to 0 for more than 5 integer
 * bits; nothing here uses that many.) */
static inline int32_t tp_exp_on_negative_values(int32_t a, int integer_bits)
{
    const int frac_bits = 31 - integer_bits;
    const int32_t quarter = (int32_t)1 << (frac_bits - 2);
    const int32_t a_mod_quarter_minus_quarter = (a & (quarter - 1)) - quarter;
    /* A value in [-1/4, 0) widened to Q0.31 cannot saturate. */
    int32_t result = tp_exp_quarter_interval(tp_sat_shift_left(a_mod_quarter_minus_quarter, integer_bits));
    const int32_t remainder = a_mod_quarter_minus_quarter - a;
    /* exp(-2^k) in Q0.31 for k = -2 .. 4. */
    static const int32_t factors[7] = {
        1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242
    };
    for (int k = 0; k < integer_bits + 2; ++k) {
        if (remainder & ((int32_t)1 << (frac_bits - 2 + k))) {
            result = tp_q_mul(result, factors[k]);
        }
    }
    if (a == 0) {
        result = TP_Q31_ONE;
    }
    return result;
}

/* 2 / (1 + x) in Q2.29 for x in [0, 1) given in Q0.31: three Newton-Raphson
 * steps for 1 / half_denominator from the 48/17 - 32/17 * d estimate. */
static inline int32_t tp_two_over_one_plus_x_q2_29(int32_t x)
{
    const int32_t half_denom = tp_rounding_half_sum(x, TP_Q31_ONE);  /* Q0.31 */
    const int32_t c48_17 = 1515870810;      /* 48/17 in Q2.29 */
    const int32_t cm32_17 = -1010580540;    /* -32/17 in Q2.29 */
    const int32_t one_q2_29 = (int32_t)1 << 29;
    int32_t r = c48_17 + tp_q_mul(half_denom, cm32_17);
    for (int i = 0; i < 3; ++i) {
        const int32_t e = one_q2_29 - tp_q_mul(half_denom, r);
        /* r * e is Q4.27; bring it back to Q2.29. */
        r = r + tp_sat_shift_left(tp_q_mul(r, e), 2);
    }
    return r;
}

/* 1 / (1 + x) for x in [0, 1), Q0.31 in and out: half of 2 / (1 + x), read
 * as Q1.30 and widened. */
static inline int32_t tp_one_over_one_plus_x(int32_t x)
{
    return tp_sat_shift_left(tp_two_over_one_plus_x_q2_29(x), 1);
}

/* (1 - x) / (1 + x) for x in [0, 1), Q0.31 in and out: 2 / (1 + x) - 1. */
static inline int32_t tp_one_minus_x_over_one_plus_x(int32_t x)
{
    return tp_sat_shift_left(tp_two_over_one_plus_x_q2_29(x) - ((int32_t)1 << 29), 2);
}

#endif
