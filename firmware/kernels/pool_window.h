/* The window walk shared by the pooling kernels: for every output pixel and
 * channel, the in-bounds taps of its window (padding is never a tap) reduced
 * by the kernel's function, clamped to the fused activation range. */
#ifndef TP_POOL_WINDOW_H
#define TP_POOL_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#include "requantize.h"
#include "tp_kernels.h"

/* The taps [*k0, *k1) of a k-tap window starting at input index i0 that
 * fall inside an input of n (an empty range when none does). */
static inline void tp_pool_span(int32_t i0, int32_t k, int32_t n, int32_t *k0, int32_t *k1)
{
    *k0 = i0 < 0 ? -i0 : 0;
    *k1 = n - i0 < k ? n - i0 : k;
}

/* rows x cols taps of one channel, the first at `first`, rows `row_stride`
 * bytes apart and taps `ch` bytes apart. */
typedef int32_t (*tp_pool_reduce_fn)(const int8_t *first, size_t row_stride, int32_t rows, int32_t cols,
                                     int32_t ch);

/* Inlined with a constant `reduce`, so each kernel gets its own loop. */
static inline __attribute__((always_inline)) void
tp_pool2d(const tp_avgpool2d_s8_params_t *p, const int8_t *input, int8_t *output, tp_pool_reduce_fn reduce)
{
    const int32_t ch = p->ch;
    const size_t row_stride = (size_t)p->in_w * ch;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + (size_t)b * p->in_h * row_stride;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_top;
            int32_t ky0, ky1;
            tp_pool_span(iy0, p->k_h, p->in_h, &ky0, &ky1);
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t ix0 = ox * p->stride_w - p->pad_left;
                int32_t kx0, kx1;
                tp_pool_span(ix0, p->k_w, p->in_w, &kx0, &kx1);
                const int8_t *first = in_b + ((size_t)(iy0 + ky0) * p->in_w + (ix0 + kx0)) * ch;
                for (int32_t c = 0; c < ch; ++c) {
                    const int32_t v = reduce(first + c, row_stride, ky1 - ky0, kx1 - kx0, ch);
                    *output++ = (int8_t)tp_clamp(v, p->act_min, p->act_max);
                }
            }
        }
    }
}

#endif
