/*
 * The int8 frame LOGISTIC and TANH share in TFLM: x - input zero point at or
 * beyond the range radius saturates the output; inside it, x is rescaled into
 * Q4.27, the curve is evaluated in Q0.31 and scaled down to the output steps
 * (256ths for LOGISTIC, 128ths for TANH) plus a fixed zero point.
 */
#ifndef TP_SIGMOID_CURVE_H
#define TP_SIGMOID_CURVE_H

#include "tp_kernels.h"
#include "fixedpoint_q31.h"

static inline int8_t tp_sigmoid_curve_s8(const tp_logistic_s8_params_t *p, int8_t input,
                                         int32_t (*curve_q4_27)(int32_t), int out_shift, int32_t out_zero_point)
{
    const int32_t x = input + p->input_offset;
    if (x <= -p->input_range_radius) {
        return -128;
    }
    if (x >= p->input_range_radius) {
        return 127;
    }
    const int32_t y = curve_q4_27(tp_requantize(x, p->input_mult, p->input_shift));
    return (int8_t)tp_clamp(tp_rounding_divide_by_pot(y, out_shift) + out_zero_point, -128, 127);
}

#endif
