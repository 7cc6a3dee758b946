/* ADD, int8, same-shape inputs with independent scales and zero points. */
#include "tp_kernels.h"
#include "requantize.h"

void tp_add_s8(const tp_add_s8_params_t *p, const int8_t *input1,
               const int8_t *input2, int8_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        /* Both inputs are lifted by 2^left_shift before scaling so the
         * rescale to the common (2 * max input scale) grid keeps ~20 bits of
         * fraction; the sum is then scaled once to the output. */
        const int32_t a = ((int32_t)input1[i] + p->in1_offset) * (1 << p->left_shift);
        const int32_t b = ((int32_t)input2[i] + p->in2_offset) * (1 << p->left_shift);
        const int32_t sa = tp_requantize(a, p->in1_mult, p->in1_shift);
        const int32_t sb = tp_requantize(b, p->in2_mult, p->in2_shift);
        int32_t out = tp_requantize(sa + sb, p->out_mult, p->out_shift) + p->output_offset;
        output[i] = (int8_t)tp_clamp(out, p->act_min, p->act_max);
    }
}
