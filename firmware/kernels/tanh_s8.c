/* TANH, int8, TFLM's arithmetic: x - input zero point beyond the range
 * radius saturates; inside it, x is rescaled into Q4.27 and
 * tanh(|x|) = (1 - exp(-2|x|)) / (1 + exp(-2|x|)) is evaluated in fixed
 * point (the doubling is free: the same bits read as Q5.26), with the sign
 * of x. The result is written in 128ths with zero point 0, whatever the
 * output tensor's quantisation says (as TFLM does; converters always give
 * 1/128 and 0). modelc computes the multiplier, shift and radius. */
#include "sigmoid_curve.h"

/* tanh(a) for a in Q4.27, result in Q0.31. */
static int32_t tanh_q4_27(int32_t a)
{
    if (a == 0) {
        return 0;
    }
    const int32_t minus_abs = a > 0 ? -a : a;
    /* -tanh(-|a|) = tanh(|a|); -2|a| in Q5.26 has the raw bits of -|a| in Q4.27. */
    const int32_t t = tp_one_minus_x_over_one_plus_x(tp_exp_on_negative_values(minus_abs, 5));
    return a > 0 ? t : -t;
}

void tp_tanh_s8(const tp_tanh_s8_params_t *p, const int8_t *input, int8_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = tp_sigmoid_curve_s8(p, input[i], tanh_q4_27, 24, 0);  /* 128ths from 0 */
    }
}
