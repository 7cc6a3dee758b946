/* AVERAGE_POOL_2D, int8. Optimized for the Armv7E-M / Armv8-M DSP extension.
 *
 * Four channels at a time: SXTAB16 adds channels (0, 2) and, on the word
 * rotated by 8, channels (1, 3) of each input word into two 16-bit lane
 * pairs, so one load and two additions cover four inputs. A lane holds a
 * sum of at most 255 int8 values (|sum| <= 255 * 128 < 2^15), so the lanes
 * cannot overflow; larger windows and channel counts that are not a
 * multiple of 4 take the reference kernel. The division (round half away
 * from zero over the in-bounds taps) is the reference's, done as a
 * multiplication by a reciprocal that is exact in this range. */
#include "tp_opt.h"

#if !TP_OPT_SIMD

#include "../avgpool2d_s8.c"

#else

#define tp_avgpool2d_s8 tp_avgpool2d_s8_ref
#include "../avgpool2d_s8.c"
#undef tp_avgpool2d_s8

#define POOL_MAX_TAPS 255

/* ceil(2^32 / count) for count >= 2: then (n * R) >> 32 == n / count for
 * every n <= 2^15, which covers a rounded lane sum (|sum| <= 255 * 128,
 * plus count / 2); checked for all counts 2 .. 255 and all such n. */
static inline uint32_t pool_reciprocal(int32_t count)
{
    return 0xFFFFFFFFu / (uint32_t)count + 1u;
}

/* The reference's average: round half away from zero, by a multiply. */
static inline int32_t pool_average(int32_t acc, int32_t count, uint32_t recip)
{
    const uint32_t n = (uint32_t)(acc < 0 ? -acc : acc) + (uint32_t)(count / 2);
    const int32_t q = count == 1 ? (int32_t)n : (int32_t)(((uint64_t)n * recip) >> 32);
    return acc > 0 ? q : -q;
}

void tp_avgpool2d_s8(const tp_avgpool2d_s8_params_t *p, const int8_t *input, int8_t *output)
{
    const int32_t ch = p->ch;
    if ((ch & 3) != 0 || p->k_h * p->k_w > POOL_MAX_TAPS) {
        tp_avgpool2d_s8_ref(p, input, output);
        return;
    }
    const size_t row = (size_t)p->in_w * ch;
    const int full = p->act_min <= -128 && p->act_max >= 127;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + (size_t)b * p->in_h * row;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_top;
            int32_t ky0, ky1;
            tp_pool_span(iy0, p->k_h, p->in_h, &ky0, &ky1);   /* from the reference file */
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t ix0 = ox * p->stride_w - p->pad_left;
                int32_t kx0, kx1;
                tp_pool_span(ix0, p->k_w, p->in_w, &kx0, &kx1);
                const int32_t count = (ky1 - ky0) * (kx1 - kx0);
                const int32_t n = count > 0 ? count : 1;   /* an empty window sums to 0 */
                const uint32_t recip = n > 1 ? pool_reciprocal(n) : 0;
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
                    int32_t v[4] = {pool_average((int16_t)even, n, recip),
                                    pool_average((int16_t)odd, n, recip),
                                    pool_average((int16_t)(even >> 16), n, recip),
                                    pool_average((int16_t)(odd >> 16), n, recip)};
                    if (!full) {   /* an average of int8 values is an int8 */
                        for (int j = 0; j < 4; ++j) {
                            v[j] = tp_clamp(v[j], p->act_min, p->act_max);
                        }
                    }
                    const uint32_t word = (uint32_t)(uint8_t)v[0] | (uint32_t)(uint8_t)v[1] << 8
                                          | (uint32_t)(uint8_t)v[2] << 16 | (uint32_t)v[3] << 24;
                    __builtin_memcpy(output + c, &word, 4);
                }
                output += ch;
            }
        }
    }
}

#endif
