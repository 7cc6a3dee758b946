/* HARD_SWISH, int8: x * relu6(x + 3) / 6 in TFLM's 16-bit fixed point.
 * x - input zero point is put on a "hires" scale (x 128); one int16
 * multiplier takes it to the output scale (before the output shift), another
 * to the "reluish" scale where 3.0 is 32768, which is clamped to [-1, 1] and
 * mapped to [0, 1]; their product, right-shifted and offset by the output
 * zero point, is the output. modelc computes both multipliers and exponents
 * (the output exponent is never positive). Every intermediate is an int16
 * as in TFLM, so saturation and rounding match it bit for bit. */
#include "tp_kernels.h"
#include "requantize.h"

/* v * 2^amount saturated to int16, 0 <= amount <= 30. */
static int32_t sat_shift_left_s16(int32_t v, int32_t amount)
{
    const int64_t r = (int64_t)v * ((int64_t)1 << amount);
    return r > INT16_MAX ? INT16_MAX : (r < INT16_MIN ? INT16_MIN : (int32_t)r);
}

/* round(2 * a * b / 2^16), saturating -1 * -1 (ARM's SQRDMULH on int16). */
static int32_t sat_round_doubling_high_mul_s16(int32_t a, int32_t b)
{
    if (a == INT16_MIN && b == INT16_MIN) {
        return INT16_MAX;
    }
    const int32_t ab = a * b;
    return (ab + (ab >= 0 ? (1 << 14) : 1 - (1 << 14))) / (1 << 15);
}

/* 2 * a * b / 2^16 truncated toward zero (SQDMULH): TFLM uses it for the
 * last product so its rounding bias cancels the earlier ones'. */
static int32_t sat_doubling_high_mul_s16(int32_t a, int32_t b)
{
    if (a == INT16_MIN && b == INT16_MIN) {
        return INT16_MAX;
    }
    return a * b / (1 << 15);
}

/* x / 2^exponent rounded half away from zero on an int16, 0 <= exponent <= 31.
 * TFLM builds the remainder mask as an int16, so from exponent 16 on the
 * mask is all ones and the result is 1 for x >= 0 and -1 for x < 0. */
static int32_t rounding_divide_by_pot_s16(int32_t x, int32_t exponent)
{
    const int32_t mask = exponent >= 16 ? -1 : (1 << exponent) - 1;
    const int32_t threshold = (exponent >= 16 ? -1 : mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + ((x & mask) > threshold ? 1 : 0);
}

void tp_hard_swish_s8(const tp_hard_swish_s8_params_t *p, const int8_t *input, int8_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t hires = (input[i] + p->input_offset) * 128;
        const int32_t preshift_out = sat_round_doubling_high_mul_s16(hires, p->output_mult);
        int32_t reluish = hires;
        /* Left shifts: all but one bit before the multiply, the last after,
         * so only the final shift can saturate. */
        if (p->reluish_exponent > 0) {
            reluish = sat_shift_left_s16(reluish, p->reluish_exponent - 1);
        }
        reluish = sat_round_doubling_high_mul_s16(reluish, p->reluish_mult);
        if (p->reluish_exponent > 0) {
            reluish = sat_shift_left_s16(reluish, 1);
        } else if (p->reluish_exponent < 0) {
            reluish = rounding_divide_by_pot_s16(reluish, -p->reluish_exponent);
        }
        reluish = (reluish + (1 << 15)) >> 1;   /* [-1, 1] -> [0, 1] */
        const int32_t out = rounding_divide_by_pot_s16(sat_doubling_high_mul_s16(reluish, preshift_out),
                                                       p->output_shift);
        output[i] = (int8_t)tp_clamp(out + p->output_offset, -128, 127);
    }
}
