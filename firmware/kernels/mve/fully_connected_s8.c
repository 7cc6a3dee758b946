/* FULLY_CONNECTED, int8, per-tensor weights (zero point 0), int32 bias.
 * For Armv8.1-M with Helium (MVE integer), e.g. Cortex-M55.
 *
 * sum((x + off) * w) = sum(x * w) + off * sum(w): the dot product runs on
 * raw int8 with VMLADAVA.S8 and, in the same pass, VADDVA.S8 sums the
 * weights (each weight is read once per call, so a separate pass for the
 * sums would cost as much again). A filter zero point other than 0 takes
 * the reference kernel. */
#include "tp_mve.h"

#define tp_fully_connected_s8 tp_fully_connected_s8_ref
#include "../fully_connected_s8.c"
#undef tp_fully_connected_s8

/* Rows w0 and w1 against x over n > 0 values: acc = {x.w0, x.w1, sum w0,
 * sum w1} added to acc's contents. A tail-predicated loop (DLSTP/LETP) of
 * 16 bytes per pass; VMLADAVA and VADDVA accumulate into even registers. */
static inline void dot_2rows(const int8_t *x, const int8_t *w0, const int8_t *w1, int32_t n,
                             int32_t *acc)
{
    register int32_t a0 __asm__("r0") = acc[0];
    register int32_t a1 __asm__("r2") = acc[1];
    register int32_t s0 __asm__("r4") = acc[2];
    register int32_t s1 __asm__("r6") = acc[3];
    __asm__ volatile(
        "dlstp.8 lr, %[n]\n"
        "1:\n\t"
        "vldrb.8 q0, [%[x]], #16\n\t"
        "vldrb.8 q1, [%[w0]], #16\n\t"
        "vldrb.8 q2, [%[w1]], #16\n\t"
        "vmladava.s8 %[a0], q0, q1\n\t"
        "vaddva.s8 %[s0], q1\n\t"
        "vmladava.s8 %[a1], q0, q2\n\t"
        "vaddva.s8 %[s1], q2\n\t"
        "letp lr, 1b"
        : [a0] "+r"(a0), [a1] "+r"(a1), [s0] "+r"(s0), [s1] "+r"(s1),
          [x] "+r"(x), [w0] "+r"(w0), [w1] "+r"(w1)
        : [n] "r"(n)
        : "lr", "q0", "q1", "q2", "memory");
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = s0;
    acc[3] = s1;
}

void tp_fully_connected_s8(const tp_fully_connected_s8_params_t *p, const int8_t *input,
                           const int8_t *filter, const int32_t *bias, int8_t *output)
{
    const int32_t n = p->in_depth, rows = p->out_depth;
    if (p->filter_offset != 0 || n <= 0) {
        tp_fully_connected_s8_ref(p, input, filter, bias, output);
        return;
    }
    /* One requantisation for all rows when it holds for the largest bias
     * (its bound only grows with |bias|); else one per row. */
    const uint32_t bound = tp_dot_bound(n, p->input_offset, 0);
    uint32_t worst = bound;
    for (int32_t o = 0; bias && o < rows; ++o) {
        const uint32_t r = tp_add_bound(bound, bias[o]);
        worst = r > worst ? r : worst;
    }
    tp_rq_t q_all;
    tp_rq_prepare(&q_all, p->out_mult, p->out_shift, worst, p->output_offset);
    const uint32_t off = (uint32_t)p->input_offset;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *x = input + (size_t)b * n;
        for (int32_t o = 0; o < rows; o += 2) {
            /* an odd last row runs twice into the same output */
            const int32_t o1 = o + 1 < rows ? o + 1 : o;
            int32_t acc[4] = {0, 0, 0, 0};
            dot_2rows(x, filter + (size_t)o * n, filter + (size_t)o1 * n, n, acc);
            const int32_t rows2[2] = {o, o1};
            for (int j = 0; j < 2; ++j) {
                const int32_t bias_j = bias ? bias[rows2[j]] : 0;
                const int32_t a = (int32_t)((uint32_t)acc[j] + off * (uint32_t)acc[2 + j] + (uint32_t)bias_j);
                tp_rq_t q = q_all;
                if (q_all.tier != 2) {
                    tp_rq_prepare(&q, p->out_mult, p->out_shift, tp_add_bound(bound, bias_j),
                                  p->output_offset);
                }
                output[rows2[j]] = tp_clamp8(tp_rq(a, &q), p->act_min, p->act_max);
            }
        }
        output += rows;
    }
}
