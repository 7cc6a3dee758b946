/* ADD, int8, inputs with independent scales and zero points: same shapes,
 * or broadcast against each other (broadcast.h). */
#include "tp_kernels.h"
#include "broadcast.h"
#include "rescaled_sum.h"

void tp_add_s8(const tp_add_s8_params_t *p, const int8_t *input1,
               const int8_t *input2, int8_t *output)
{
    tp_rescaled_sum_s8(p, input1, input2, output, 1);
}

static int8_t add_element(const void *p, int32_t x1, int32_t x2)
{
    return tp_rescaled_sum_element(p, x1, x2, 1);
}

void tp_add_broadcast_s8(const tp_add_broadcast_s8_params_t *p, const int8_t *input1,
                         const int8_t *input2, int8_t *output)
{
    tp_broadcast_binary_s8(p->out_shape, p->in1_stride, p->in2_stride, &p->op, input1, input2, output,
                           add_element);
}
