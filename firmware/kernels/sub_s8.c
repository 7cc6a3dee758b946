/* SUB, int8, inputs with independent scales and zero points, same shapes or
 * broadcast: ADD's arithmetic with the second rescaled input subtracted. */
#include "tp_kernels.h"
#include "broadcast.h"
#include "rescaled_sum.h"

void tp_sub_s8(const tp_sub_s8_params_t *p, const int8_t *input1,
               const int8_t *input2, int8_t *output)
{
    tp_rescaled_sum_s8(p, input1, input2, output, -1);
}

static int8_t sub_element(const void *p, int32_t x1, int32_t x2)
{
    return tp_rescaled_sum_element(p, x1, x2, -1);
}

void tp_sub_broadcast_s8(const tp_sub_broadcast_s8_params_t *p, const int8_t *input1,
                         const int8_t *input2, int8_t *output)
{
    tp_broadcast_binary_s8(p->out_shape, p->in1_stride, p->in2_stride, &p->op, input1, input2, output,
                           sub_element);
}
