/* LOGISTIC, int8 (output scale 1/256, zero point -128), TFLM's arithmetic:
 * x - input zero point beyond the range radius saturates; inside it, x is
 * rescaled into Q4.27 and 1 / (1 + exp(-|x|)) is evaluated in fixed point
 * (exp on a negative argument, then a Newton-Raphson reciprocal), mirrored
 * for negative x as 1 - logistic(|x|). modelc computes the multiplier,
 * shift and radius from the input scale. */
#include "sigmoid_curve.h"

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
        output[i] = tp_sigmoid_curve_s8(p, input[i], logistic_q4_27, 23, -128);  /* 256ths from -128 */
    }
}
