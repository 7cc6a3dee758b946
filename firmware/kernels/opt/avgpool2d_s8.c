/* AVERAGE_POOL_2D, int8. Optimized for the Armv7E-M / Armv8-M DSP extension.
 *
 * Four channels at a time: SXTAB16 adds channels (0, 2) and, on the word
 * rotated by 8, channels (1, 3) of each input word into two 16-bit lane
 * pairs, so one load and two additions cover four inputs. A lane holds a
 * sum of at most 255 int8 values (|sum| <= 255 * 128 < 2^15), so the lanes
 * cannot overflow; larger windows and channel counts that are not a
 * multiple of 4 take the reference kernel. The division (round half away
 * from zero over the in-bounds taps) is the reference's. */
#include "tp_opt.h"

#if !TP_OPT_SIMD

#include "../avgpool2d_s8.c"

#else

#define tp_avgpool2d_s8 tp_avgpool2d_s8_ref
#include "../avgpool2d_s8.c"
#undef tp_avgpool2d_s8

#define POOL_MAX_TAPS 255

static inline int8_t pool_average(int32_t acc, int32_t count, int32_t lo, int32_t hi)
{
    acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
    return (int8_t)tp_clamp(acc, lo, hi);
}

void tp_avgpool2d_s8(const tp_avgpool2d_s8_params_t *p, const int8_t *input, int8_t *output)
{
    const int32_t ch = p->ch;
    if ((ch & 3) != 0 || p->k_h * p->k_w > POOL_MAX_TAPS) {
        tp_avgpool2d_s8_ref(p, input, output);
        return;
    }
    const size_t row = (size_t)p->in_w * ch;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + (size_t)b * p->in_h * row;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_top;
            const int32_t ky0 = iy0 < 0 ? -iy0 : 0;
            const int32_t ky1 = p->in_h - iy0 < p->k_h ? p->in_h - iy0 : p->k_h;
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t ix0 = ox * p->stride_w - p->pad_left;
                const int32_t kx0 = ix0 < 0 ? -ix0 : 0;
                const int32_t kx1 = p->in_w - ix0 < p->k_w ? p->in_w - ix0 : p->k_w;
                const int32_t count = (ky1 - ky0) * (kx1 - kx0);
                const int8_t *win = in_b + (size_t)(iy0 + ky0) * row + (size_t)(ix0 + kx0) * ch;
                for (int32_t c = 0; c < ch; c += 4) {
                    uint32_t even = 0, odd = 0;   /* lanes: channels (c, c+2), (c+1, c+3) */
                    const int8_t *r = win + c;
                    for (int32_t ky = ky0; ky < ky1; ++ky, r += row) {
                        const int8_t *x = r;
                        for (int32_t kx = kx0; kx < kx1; ++kx, x += ch) {
                            const uint32_t w = tp_ld32(x);
                            even = tp_sxtab16(even, w);
                            odd = tp_sxtab16_ror8(odd, w);
                        }
                    }
                    /* an empty window sums to 0, which any divisor keeps */
                    const int32_t n = count > 0 ? count : 1;
                    output[c] = pool_average((int16_t)even, n, p->act_min, p->act_max);
                    output[c + 1] = pool_average((int16_t)odd, n, p->act_min, p->act_max);
                    output[c + 2] = pool_average((int16_t)(even >> 16), n, p->act_min, p->act_max);
                    output[c + 3] = pool_average((int16_t)(odd >> 16), n, p->act_min, p->act_max);
                }
                output += ch;
            }
        }
    }
}

#endif
