/* MUL, int8, same shapes or broadcast (broadcast.h): (x1 - zp1) * (x2 - zp2)
 * requantised by scale1 * scale2 / output scale, plus the output zero point,
 * clamped to the fused activation range (TFLM's arithmetic). */
#include "tp_kernels.h"
#include "broadcast.h"
#include "requantize.h"

static inline __attribute__((always_inline)) int8_t mul_element(const void *params, int32_t x1, int32_t x2)
{
    const tp_mul_s8_params_t *p = params;
    const int32_t prod = (x1 + p->in1_offset) * (x2 + p->in2_offset);
    const int32_t out = tp_requantize(prod, p->out_mult, p->out_shift) + p->output_offset;
    return (int8_t)tp_clamp(out, p->act_min, p->act_max);
}

void tp_mul_s8(const tp_mul_s8_params_t *p, const int8_t *input1,
               const int8_t *input2, int8_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = mul_element(p, input1[i], input2[i]);
    }
}

void tp_mul_broadcast_s8(const tp_mul_broadcast_s8_params_t *p, const int8_t *input1,
                         const int8_t *input2, int8_t *output)
{
    tp_broadcast_binary_s8(p->out_shape, p->in1_stride, p->in2_stride, &p->op, input1, input2, output,
                           mul_element);
}
