/* STRIDED_SLICE, int8, up to four dimensions (modelc pads to 4-D and resolves
 * begin/end masks, negative indices and shrunk axes into a start and a
 * stride per dimension): output element o is input element start + o *
 * stride in every dimension.  Bytes are copied as they are (input and
 * output share scale and zero point). */
#include "tp_kernels.h"

void tp_strided_slice_s8(const tp_strided_slice_s8_params_t *p, const int8_t *input, int8_t *output)
{
    const int32_t *d = p->in_shape, *n = p->out_shape, *s = p->start, *t = p->stride;
    for (int32_t a = 0; a < n[0]; ++a)
    for (int32_t b = 0; b < n[1]; ++b)
    for (int32_t c = 0; c < n[2]; ++c)
    for (int32_t e = 0; e < n[3]; ++e) {
        const int32_t i0 = s[0] + a * t[0], i1 = s[1] + b * t[1], i2 = s[2] + c * t[2], i3 = s[3] + e * t[3];
        *output++ = input[(((size_t)i0 * d[1] + i1) * d[2] + i2) * d[3] + i3];
    }
}
