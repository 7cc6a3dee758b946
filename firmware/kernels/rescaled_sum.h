/* ADD and SUB, int8, as TFLM computes them: both inputs lifted by
 * 2^left_shift and rescaled to a common grid (twice the larger input scale),
 * added or subtracted, then scaled once to the output. */
#ifndef TP_RESCALED_SUM_H
#define TP_RESCALED_SUM_H

#include "requantize.h"
#include "tp_kernels.h"

/* One element; inlined with a constant `sign` (+1 ADD, -1 SUB). */
static inline __attribute__((always_inline)) int8_t
tp_rescaled_sum_element(const tp_add_s8_params_t *p, int32_t x1, int32_t x2, int32_t sign)
{
    /* The lift keeps ~20 bits of fraction through the rescale. */
    const int32_t a = (x1 + p->in1_offset) * (1 << p->left_shift);
    const int32_t b = (x2 + p->in2_offset) * (1 << p->left_shift);
    const int32_t sa = tp_requantize(a, p->in1_mult, p->in1_shift);
    const int32_t sb = tp_requantize(b, p->in2_mult, p->in2_shift);
    const int32_t out = tp_requantize(sign > 0 ? sa + sb : sa - sb, p->out_mult, p->out_shift) + p->output_offset;
    return (int8_t)tp_clamp(out, p->act_min, p->act_max);
}

/* Same-shape inputs, element by element. */
static inline __attribute__((always_inline)) void
tp_rescaled_sum_s8(const tp_add_s8_params_t *p, const int8_t *input1, const int8_t *input2, int8_t *output,
                   int32_t sign)
{
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = tp_rescaled_sum_element(p, input1[i], input2[i], sign);
    }
}

#endif
