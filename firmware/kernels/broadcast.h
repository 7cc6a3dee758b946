/* Numpy-style broadcasting of a binary int8 operator over up to four
 * dimensions, as TFLM's BroadcastAdd4DSlow/BroadcastMul4DSlow index it: both
 * inputs are read as 4-D (leading 1s added) and a dimension of size 1 is
 * repeated along the output's. modelc turns that into element strides, 0
 * along a broadcast dimension, so the walk below needs no shape checks. */
#ifndef TP_BROADCAST_H
#define TP_BROADCAST_H

#include <stdint.h>

/* The arithmetic of one output element from its two input values. */
typedef int8_t (*tp_binary_element_fn)(const void *params, int32_t x1, int32_t x2);

/* Inlined with a constant `element`, so the call per element disappears. */
static inline __attribute__((always_inline)) void
tp_broadcast_binary_s8(const int32_t *out_shape, const int32_t *in1_stride, const int32_t *in2_stride,
                       const void *params, const int8_t *input1, const int8_t *input2, int8_t *output,
                       tp_binary_element_fn element)
{
    for (int32_t d0 = 0; d0 < out_shape[0]; ++d0) {
        for (int32_t d1 = 0; d1 < out_shape[1]; ++d1) {
            for (int32_t d2 = 0; d2 < out_shape[2]; ++d2) {
                const int8_t *a = input1 + d0 * in1_stride[0] + d1 * in1_stride[1] + d2 * in1_stride[2];
                const int8_t *b = input2 + d0 * in2_stride[0] + d1 * in2_stride[1] + d2 * in2_stride[2];
                for (int32_t d3 = 0; d3 < out_shape[3]; ++d3) {
                    *output++ = element(params, a[d3 * in1_stride[3]], b[d3 * in2_stride[3]]);
                }
            }
        }
    }
}

#endif
