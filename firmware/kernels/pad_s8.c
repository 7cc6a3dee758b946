/* PAD / PADV2, int8, up to four dimensions (modelc pads the shape to 4-D
 * with leading 1s): the input placed at (before_0 .. before_3) in an output
 * filled with pad_value (the output zero point, or PADV2's constant).  Input
 * and output share scale and zero point. */
#include <string.h>

#include "tp_kernels.h"

void tp_pad_s8(const tp_pad_s8_params_t *p, const int8_t *input, int8_t *output)
{
    const int32_t *in = p->in_shape, *out = p->out_shape, *before = p->before;
    const size_t out_row = (size_t)out[3];
    memset(output, p->pad_value, (size_t)out[0] * out[1] * out[2] * out_row);
    for (int32_t i0 = 0; i0 < in[0]; ++i0) {
        for (int32_t i1 = 0; i1 < in[1]; ++i1) {
            for (int32_t i2 = 0; i2 < in[2]; ++i2) {
                size_t o = (((size_t)(i0 + before[0]) * out[1] + (i1 + before[1])) * out[2]
                            + (i2 + before[2])) * out_row + before[3];
                memcpy(output + o, input, (size_t)in[3]);
                input += in[3];
            }
        }
    }
}
