/* MAX_POOL_2D, int8: the largest in-bounds tap of each window (padding never
 * wins), clamped to the fused activation range.  Input and output share
 * scale and zero point (modelc checks), so no requantisation. */
#include "tp_kernels.h"
#include "pool_window.h"

static inline int32_t largest(const int8_t *first, size_t row_stride, int32_t rows, int32_t cols, int32_t ch)
{
    int32_t best = -128;
    for (int32_t y = 0; y < rows; ++y) {
        for (int32_t x = 0; x < cols; ++x) {
            const int32_t v = first[(size_t)y * row_stride + (size_t)x * ch];
            best = v > best ? v : best;
        }
    }
    return best;
}

void tp_maxpool2d_s8(const tp_maxpool2d_s8_params_t *p, const int8_t *input,
                     int8_t *output)
{
    tp_pool2d(p, input, output, largest);
}
