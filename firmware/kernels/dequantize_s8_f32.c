/* DEQUANTIZE, int8 -> float32 (a model's float output): (q - zero point) *
 * scale.  TFLM multiplies in double and rounds to float once; the exact
 * product of a float32 scale and a 9-bit integer fits a double, so that is
 * the float32 product, rounded once: one float multiplication here (no
 * soft double on single-precision FPUs). */
#include "tp_kernels.h"

void tp_dequantize_s8_f32(const tp_dequantize_s8_f32_params_t *p, const int8_t *input, float *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = (float)(input[i] - p->zero_point) * p->scale;
    }
}
