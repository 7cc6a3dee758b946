/* SUB, int8, same-shape inputs with independent scales and zero points:
 * ADD's arithmetic with the second rescaled input subtracted. */
#include "tp_kernels.h"
#include "rescaled_sum.h"

void tp_sub_s8(const tp_sub_s8_params_t *p, const int8_t *input1,
               const int8_t *input2, int8_t *output)
{
    tp_rescaled_sum_s8(p, input1, input2, output, -1);
}
