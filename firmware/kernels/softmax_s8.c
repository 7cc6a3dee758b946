/*
 * SOFTMAX, int8 in, int8 out (output scale 1/256, zero point -128).
 *
 * Integer algorithm matching TFLM: differences to the row maximum are scaled
 * into Q5.26, exp() is evaluated in fixed point (polynomial on [-1/4, 0) plus
 * a product of exp(-2^k) constants for the integer bits), the sum is kept in
 * Q12.19, and 1/sum comes from Newton-Raphson in Q2.29.
 */
#include "tp_kernels.h"
#include "fixedpoint_q31.h"

/* exp of a difference to the row maximum (Q5.26); one out-of-line copy for
 * both passes. */
__attribute__((noinline)) static int32_t exp_negative_q5_26(int32_t a)
{
    return tp_exp_on_negative_values(a, 5);
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
        const int32_t recip = tp_one_over_one_plus_x(x);

        for (int32_t c = 0; c < depth; ++c) {
            const int32_t diff = (int32_t)in[c] - max_v;
            if (diff >= p->diff_min) {
                const int32_t scaled = tp_sat_round_doubling_high_mul(
                    (int32_t)((uint32_t)diff << p->input_left_shift), p->input_multiplier);
                const int32_t e = exp_negative_q5_26(scaled);
                const int32_t v = tp_rounding_divide_by_pot(tp_q_mul(recip, e), bits_over_unit + 31 - 8);
                out[c] = (int8_t)tp_clamp(v - 128, -128, 127);
            } else {
                out[c] = -128;
            }
        }
    }
}
