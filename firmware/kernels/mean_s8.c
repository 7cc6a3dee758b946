/* MEAN, int8, over any of up to four dimensions (modelc pads the shape to
 * 4-D with leading 1s), in TFLM's integer arithmetic: the sum minus count x
 * input zero point, requantised by (input scale / output scale) / count
 * (the 1/count folded into the multiplier by modelc, as TFLM folds it),
 * plus the output zero point, clamped. */
#include "tp_kernels.h"
#include "requantize.h"

void tp_mean_s8(const tp_mean_s8_params_t *p, const int8_t *input, int8_t *output)
{
    const int32_t *d = p->in_shape;
    int32_t keep[4], red[4];
    for (int k = 0; k < 4; ++k) {
        const int reduced = (p->axes_mask >> k) & 1;
        keep[k] = reduced ? 1 : d[k];
        red[k] = reduced ? d[k] : 1;
    }
    for (int32_t a = 0; a < keep[0]; ++a)
    for (int32_t b = 0; b < keep[1]; ++b)
    for (int32_t c = 0; c < keep[2]; ++c)
    for (int32_t e = 0; e < keep[3]; ++e) {
        int32_t sum = 0;
        for (int32_t i = 0; i < red[0]; ++i)
        for (int32_t j = 0; j < red[1]; ++j)
        for (int32_t k = 0; k < red[2]; ++k)
        for (int32_t l = 0; l < red[3]; ++l) {
            sum += input[(((size_t)(a + i) * d[1] + (b + j)) * d[2] + (c + k)) * d[3] + (e + l)];
        }
        const int32_t v = tp_requantize(sum + p->sum_offset, p->out_mult, p->out_shift) + p->output_offset;
        *output++ = (int8_t)tp_clamp(v, -128, 127);
    }
}
