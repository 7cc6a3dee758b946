/* LOGISTIC, int8 (output scale 1/256, zero point -128), TFLM's arithmetic:
 * x - input zero point beyond the range radius saturates; inside it, x is
 * rescaled into Q4.27 and 1 / (1 + exp(-|x|)) is evaluated in fixed point
 * (exp on a negative argument, then a Newton-Raphson reciprocal), mirrored
 * for negative x as 1 - logistic(|x|). modelc computes the multiplier,
 * shift and radius from the input scale. */
#include "tp_kernels.h"
#include "fixedpoint_q31.h"

/* logistic(a) for a in Q4.27, result in Q0.31. */
static int32_t logistic_q4_27(int32_t a)
{
    if (a == 0) {
        return (int32_t)1 << 30;  /* 1/2 */
    }
    const int32_t minus_abs = a > 0 ? -a : a;
    const int32_t positive = tp_one_over_one_plus_x(
        tp_exp_on_negative_values(minus_abs, 4));
    return a > 0 ? positive : TP_Q31_ONE - positive;
}

void tp_logistic_s8(const tp_logistic_s8_params_t *p, const int8_t *input, int8_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t x = input[i] + p->input_offset;
        if (x <= -p->input_range_radius) {
            output[i] = -128;
        } else if (x >= p->input_range_radius) {
            output[i] = 127;
        } else {
            const int32_t y = logistic_q4_27(tp_requantize(x, p->input_mult, p->input_shift));
            /* Q0.31 -> 256ths, then the output zero point -128. */
            output[i] = (int8_t)tp_clamp(tp_rounding_divide_by_pot(y, 23) - 128, -128, 127);
        }
    }
}
