/* ADD, int8, same-shape inputs with independent scales and zero points.
 * Optimized for the Armv7E-M / Armv8-M DSP extension: the three
 * requantisations per element use the SMMULR form of tp_opt.h when its
 * bounds hold for the layer (they always do for left_shift 20 and the usual
 * multipliers), else the exact reference routine. */
#include "tp_opt.h"

#if !TP_OPT_SIMD

#include "../add_s8.c"

#else

#define tp_add_s8 tp_add_s8_ref
#include "../add_s8.c"
#undef tp_add_s8

/* Bound on |requantize(x, q)| given |x| <= b: the multiplier is below 1 and
 * the left shift is at most q's, so |result| <= (b << lsh) + 1. */
static uint32_t rq_out_bound(uint32_t b, const tp_rq_t *q)
{
    uint64_t v = ((uint64_t)b << (q->lsh1 - 1)) + 1u;
    return v > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)v;
}

void tp_add_s8(const tp_add_s8_params_t *p, const int8_t *input1,
               const int8_t *input2, int8_t *output)
{
    if (p->left_shift < 0 || p->left_shift > 22) {
        tp_add_s8_ref(p, input1, input2, output);
        return;
    }
    tp_rq_t q1, q2, qo;
    const uint32_t b1 = (uint32_t)(p->in1_offset >= 0 ? 127 + p->in1_offset : 128 - p->in1_offset)
                        << p->left_shift;
    const uint32_t b2 = (uint32_t)(p->in2_offset >= 0 ? 127 + p->in2_offset : 128 - p->in2_offset)
                        << p->left_shift;
    tp_rq_prepare(&q1, p->in1_mult, p->in1_shift, b1, 0);
    tp_rq_prepare(&q2, p->in2_mult, p->in2_shift, b2, 0);
    const uint64_t bs = (uint64_t)rq_out_bound(b1, &q1) + rq_out_bound(b2, &q2);
    tp_rq_prepare(&qo, p->out_mult, p->out_shift, bs > 0x7FFFFFFFu ? 0xFFFFFFFFu : (uint32_t)bs,
                  p->output_offset);
    if (!(q1.tier == 2 && q2.tier == 2 && qo.tier == 2)) {
        tp_add_s8_ref(p, input1, input2, output);
        return;
    }
    const int32_t o1 = p->in1_offset, o2 = p->in2_offset, ls = p->left_shift;
    const int32_t lo = p->act_min, hi = p->act_max;
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t a = ((int32_t)input1[i] + o1) * (1 << ls);
        const int32_t b = ((int32_t)input2[i] + o2) * (1 << ls);
        const int32_t s = tp_rq2(a, &q1) + tp_rq2(b, &q2);
        output[i] = tp_clamp8(tp_rq2(s, &qo), lo, hi);
    }
}

#endif
