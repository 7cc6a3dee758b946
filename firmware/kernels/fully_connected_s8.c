/* FULLY_CONNECTED, int8, per-tensor weights, int32 bias. */
#include "tp_kernels.h"
#include "requantize.h"

void tp_fully_connected_s8(const tp_fully_connected_s8_params_t *p,
                           const int8_t *input, const int8_t *filter,
                           const int32_t *bias, int8_t *output)
{
    const int32_t depth = p->in_depth;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + (size_t)b * depth;
        for (int32_t o = 0; o < p->out_depth; ++o) {
            const int8_t *f_row = filter + (size_t)o * depth;
            int32_t acc = 0;
            for (int32_t d = 0; d < depth; ++d) {
                acc += ((int32_t)in_b[d] + p->input_offset) * ((int32_t)f_row[d] + p->filter_offset);
            }
            if (bias) {
                acc += bias[o];
            }
            acc = tp_requantize(acc, p->out_mult, p->out_shift);
            acc += p->output_offset;
            *output++ = (int8_t)tp_clamp(acc, p->act_min, p->act_max);
        }
    }
}
