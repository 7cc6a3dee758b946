/* QUANTIZE, float32 -> int8 (a model's float input): round(x / scale) + zero
 * point, clamped.  As TFLM: the division is float32 and rounds halves away
 * from zero.  TFLM converts the quotient to int32 unchecked (undefined
 * beyond the int32 range); here it is first clamped to +-2^20, which gives
 * the clamped result TFLM gives for every quotient inside that range, and
 * NaN maps to the lower bound. */
#include "tp_kernels.h"
#include "requantize.h"

#define QUANTIZE_LIMIT 1048576.0f   /* 2^20: |q| beyond it clamps anyway */

static int32_t round_half_away_f32(float t)
{
    int32_t whole = (int32_t)t;     /* truncates toward zero; |t| <= 2^20 */
    float frac = t - (float)whole;  /* exact: |t| < 2^23 */
    if (frac >= 0.5f) {
        whole++;
    } else if (frac <= -0.5f) {
        whole--;
    }
    return whole;
}

void tp_quantize_f32_s8(const tp_quantize_f32_s8_params_t *p, const float *input, int8_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        float t = input[i] / p->scale;
        if (!(t >= -QUANTIZE_LIMIT)) {
            t = -QUANTIZE_LIMIT;
        }
        if (t > QUANTIZE_LIMIT) {
            t = QUANTIZE_LIMIT;
        }
        output[i] = (int8_t)tp_clamp(round_half_away_f32(t) + p->zero_point, -128, 127);
    }
}
