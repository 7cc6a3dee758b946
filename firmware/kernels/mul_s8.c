/* MUL, int8, same-shape inputs: (x1 - zp1) * (x2 - zp2) requantised by
 * scale1 * scale2 / output scale, plus the output zero point, clamped to the
 * fused activation range (TFLM's arithmetic). */
#include "tp_kernels.h"
#include "requantize.h"

void tp_mul_s8(const tp_mul_s8_params_t *p, const int8_t *input1,
               const int8_t *input2, int8_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t prod = ((int32_t)input1[i] + p->in1_offset) * ((int32_t)input2[i] + p->in2_offset);
        const int32_t out = tp_requantize(prod, p->out_mult, p->out_shift) + p->output_offset;
        output[i] = (int8_t)tp_clamp(out, p->act_min, p->act_max);
    }
}
