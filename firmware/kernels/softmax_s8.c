/*
 * SOFTMAX, int8 in, int8 out (output scale 1/256, zero point -128).
 *
 * Integer algorithm matching TFLM: differences to the row maximum are scaled
 * into Q5.26, exp() is evaluated in fixed point (polynomial on [-1/4, 0) plus
 * a product of exp(-2^k) constants for the integer bits), the sum is kept in
 * Q12.19, and 1/sum comes from Newton-Raphson in Q2.29.
 */
#include "tp_kernels.h"
#include "requantize.h"

#define TP_Q31_ONE INT32_MAX  /* "1.0" in Q0.31, as close as it gets */

static int32_t q_mul(int32_t a, int32_t b)
{
    return tp_sat_round_doubling_high_mul(a, b);
}

/* x * 2^exponent with saturation, exponent > 0. */
static int32_t sat_shift_left(int32_t x, int exponent)
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
static int32_t rounding_half_sum(int32_t a, int32_t b)
{
    int64_t s = (int64_t)a + (int64_t)b;
    if (s >= 0) {
        return (int32_t)((s + 1) >> 1);
    }
    return (int32_t)-((1 - s) >> 1);
}

/* exp(a) for a in [-1/4, 0), a and result in Q0.31. Taylor series around
 * -1/8 to fourth order. */
static int32_t exp_quarter_interval(int32_t a)
{
    const int32_t exp_minus_1_8 = 1895147668;  /* exp(-1/8) in Q0.31 */
    const int32_t one_third = 715827883;       /* 1/3 in Q0.31 */
    const int32_t x = a + (1 << 28);           /* a + 1/8 */
    const int32_t x2 = q_mul(x, x);
    const int32_t x3 = q_mul(x2, x);
    const int32_t x4 = q_mul(x2, x2);
    const int32_t x4_4 = tp_rounding_divide_by_pot(x4, 2);
    const int32_t poly = tp_rounding_divide_by_pot(q_mul(x4_4 + x3, one_third) + x2, 1);
    return exp_minus_1_8 + q_mul(exp_minus_1_8, x + poly);
}

/* exp(a) for a <= 0 given in Q5.26, result in Q0.31. */
static int32_t exp_negative_q5_26(int32_t a)
{
    const int frac_bits = 26;
    const int32_t quarter = (int32_t)1 << (frac_bits - 2);
    const int32_t a_mod_quarter_minus_quarter = (a & (quarter - 1)) - quarter;
    /* Q5.26 -> Q0.31 of a value in [-1/4, 0) cannot saturate. */
    int32_t result = exp_quarter_interval(sat_shift_left(a_mod_quarter_minus_quarter, 5));
    const int32_t remainder = a_mod_quarter_minus_quarter - a;
    /* exp(-2^k) in Q0.31 for k = -2 .. 4: multiply in one factor per set bit
     * of the (negated) whole-quarters part. */
    static const int32_t factors[7] = {
        1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242
    };
    for (int k = 0; k < 7; ++k) {
        if (remainder & ((int32_t)1 << (frac_bits - 2 + k))) {
            result = q_mul(result, factors[k]);
        }
    }
    if (a == 0) {
        result = TP_Q31_ONE;
    }
    return result;
}

/* 1 / (1 + x) for x in [0, 1), in Q0.31; result is in Q0.31 too. */
static int32_t one_over_one_plus_x(int32_t x)
{
    const int32_t half_denom = rounding_half_sum(x, TP_Q31_ONE);  /* Q0.31 */
    const int32_t c48_17 = 1515870810;      /* 48/17 in Q2.29 */
    const int32_t cm32_17 = -1010580540;    /* -32/17 in Q2.29 */
    const int32_t one_q2_29 = (int32_t)1 << 29;
    int32_t r = c48_17 + q_mul(half_denom, cm32_17);  /* Q2.29 */
    for (int i = 0; i < 3; ++i) {
        const int32_t hd_r = q_mul(half_denom, r);      /* Q2.29 */
        const int32_t e = one_q2_29 - hd_r;             /* Q2.29 */
        /* r*e is Q4.27; bring it back to Q2.29. */
        r = r + sat_shift_left(q_mul(r, e), 2);
    }
    /* r approximates 1/half_denom = 2/(1+x) in Q2.29; reading the same raw
     * bits as Q1.30 halves it, then widen to Q0.31. */
    return sat_shift_left(r, 1);
}

void tp_softmax_s8(const tp_softmax_s8_params_t *p, const int8_t *input,
                   int8_t *output)
{
    const int32_t depth = p->depth;
    for (int32_t r = 0; r < p->outer; ++r) {
        const int8_t *in = input + (size_t)r * depth;
        int8_t *out = output + (size_t)r * depth;

        int32_t max_v = -128;
        for (int32_t c = 0; c < depth; ++c) {
            if (in[c] > max_v) {
                max_v = in[c];
            }
        }

        /* Sum of exps in Q12.19: up to 4096 terms of at most 1.0. */
        int32_t sum = 0;
        for (int32_t c = 0; c < depth; ++c) {
            const int32_t diff = (int32_t)in[c] - max_v;
            if (diff >= p->diff_min) {
                const int32_t scaled = tp_sat_round_doubling_high_mul(
                    (int32_t)((uint32_t)diff << p->input_left_shift), p->input_multiplier);
                sum += tp_rounding_divide_by_pot(exp_negative_q5_26(scaled), 12);
            }
        }

        /* Normalise the sum to [1, 2) as 1 + x, x in Q0.31. */
        int headroom_plus_one = 0;
        while (headroom_plus_one < 32 && !((uint32_t)sum & (0x80000000u >> headroom_plus_one))) {
            ++headroom_plus_one;
        }
        const int bits_over_unit = 12 - headroom_plus_one;
        const int32_t x = (int32_t)(((uint32_t)sum << headroom_plus_one) - 0x80000000u);
        const int32_t recip = one_over_one_plus_x(x);

        for (int32_t c = 0; c < depth; ++c) {
            const int32_t diff = (int32_t)in[c] - max_v;
            if (diff >= p->diff_min) {
                const int32_t scaled = tp_sat_round_doubling_high_mul(
                    (int32_t)((uint32_t)diff << p->input_left_shift), p->input_multiplier);
                const int32_t e = exp_negative_q5_26(scaled);
                const int32_t v = tp_rounding_divide_by_pot(q_mul(recip, e), bits_over_unit + 31 - 8);
                out[c] = (int8_t)tp_clamp(v - 128, -128, 127);
            } else {
                out[c] = -128;
            }
        }
    }
}
