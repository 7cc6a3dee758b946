/* QUANTIZE between 8-bit types (int8 or uint8 in, int8 or uint8 out): a model's
 * uint8 input or output, or a change of scale: clamp(requantize(x - input zero
 * point) + output zero point) with the multiplier of input scale / output
 * scale, TFLM's double rounding (requantize.h). */
#include "tp_kernels.h"
#include "requantize.h"

void tp_quantize_s8(const tp_quantize_s8_params_t *p, const int8_t *input, int8_t *output)
{
    const uint8_t *in_u = (const uint8_t *)input;
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t x = p->input_unsigned ? (int32_t)in_u[i] : (int32_t)input[i];
        const int32_t v = tp_requantize(x + p->input_offset, p->out_mult, p->out_shift) + p->output_offset;
        /* The output byte: int8, or uint8 stored in the same byte. */
        output[i] = (int8_t)(uint8_t)tp_clamp(v, p->out_min, p->out_max);
    }
}
