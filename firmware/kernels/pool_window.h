/* The in-bounds part of a pooling window, shared by the pooling kernels. */
#ifndef TP_POOL_WINDOW_H
#define TP_POOL_WINDOW_H

#include <stdint.h>

/* The taps [*k0, *k1) of a k-tap window starting at input index i0 that
 * fall inside an input of n (an empty range when none does). */
static inline void tp_pool_span(int32_t i0, int32_t k, int32_t n, int32_t *k0, int32_t *k1)
{
    *k0 = i0 < 0 ? -i0 : 0;
    *k1 = n - i0 < k ? n - i0 : k;
}

#endif
