/* CONCATENATION, int8, inputs sharing the output's scale and zero point
 * (modelc checks): each of `outer` slices of the output is, in input order,
 * one slice of `slice_bytes[i]` bytes from every input i. */
#include <string.h>

#include "tp_kernels.h"

void tp_concatenation_s8(const tp_concatenation_s8_params_t *p, const int8_t *const *inputs,
                         int8_t *output)
{
    for (int32_t o = 0; o < p->outer; ++o) {
        for (int32_t i = 0; i < p->n_inputs; ++i) {
            const size_t n = (size_t)p->slice_bytes[i];
            memcpy(output, inputs[i] + (size_t)o * n, n);
            output += n;
        }
    }
}
