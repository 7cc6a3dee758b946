/* MAX_POOL_2D, int8: the largest in-bounds tap of each window (padding never
 * wins), clamped to the fused activation range.  Input and output share
 * scale and zero point (modelc checks), so no requantisation. */
#include "tp_kernels.h"
#include "requantize.h"
#include "pool_window.h"

void tp_maxpool2d_s8(const tp_maxpool2d_s8_params_t *p, const int8_t *input,
                     int8_t *output)
{
    const int32_t ch = p->ch;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + (size_t)b * p->in_h * p->in_w * ch;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_top;
            int32_t ky0, ky1;
            tp_pool_span(iy0, p->k_h, p->in_h, &ky0, &ky1);
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t ix0 = ox * p->stride_w - p->pad_left;
                int32_t kx0, kx1;
                tp_pool_span(ix0, p->k_w, p->in_w, &kx0, &kx1);
                for (int32_t c = 0; c < ch; ++c) {
                    int32_t best = -128;
                    for (int32_t ky = ky0; ky < ky1; ++ky) {
                        for (int32_t kx = kx0; kx < kx1; ++kx) {
                            int32_t v = in_b[((size_t)(iy0 + ky) * p->in_w + (ix0 + kx)) * ch + c];
                            best = v > best ? v : best;
                        }
                    }
                    *output++ = (int8_t)tp_clamp(best, p->act_min, p->act_max);
                }
            }
        }
    }
}
