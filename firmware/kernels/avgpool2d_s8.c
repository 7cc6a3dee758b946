/* AVERAGE_POOL_2D, int8. */
#include "tp_kernels.h"
#include "pool_window.h"

/* The mean of the in-bounds taps (TFLM semantics: edge windows average fewer
 * values), rounded half away from zero; C division truncates. */
static inline int32_t average(const int8_t *first, size_t row_stride, int32_t rows, int32_t cols, int32_t ch)
{
    int32_t acc = 0;
    for (int32_t y = 0; y < rows; ++y) {
        for (int32_t x = 0; x < cols; ++x) {
            acc += first[(size_t)y * row_stride + (size_t)x * ch];
        }
    }
    const int32_t count = rows * cols;
    if (count > 0) {
        acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
    }
    return acc;
}

void tp_avgpool2d_s8(const tp_avgpool2d_s8_params_t *p, const int8_t *input,
                     int8_t *output)
{
    tp_pool2d(p, input, output, average);
}
