/* LEAKY_RELU, int8: x - input zero point, requantised by input scale /
 * output scale when it is not negative and by alpha * input scale / output
 * scale when it is (TFLM's two multipliers), plus the output zero point,
 * clamped to int8. */
#include "tp_kernels.h"
#include "requantize.h"

void tp_leaky_relu_s8(const tp_leaky_relu_s8_params_t *p, const int8_t *input, int8_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t x = input[i] + p->input_offset;
        const int32_t v = x >= 0 ? tp_requantize(x, p->identity_mult, p->identity_shift)
                                 : tp_requantize(x, p->alpha_mult, p->alpha_shift);
        output[i] = (int8_t)tp_clamp(v + p->output_offset, -128, 127);
    }
}
