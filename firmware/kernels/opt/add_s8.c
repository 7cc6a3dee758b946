/* ADD, int8, same-shape inputs with independent scales and zero points.
 * Optimized for the Armv7E-M / Armv8-M DSP extension.
 *
 * Each input's rescale depends on its int8 value alone, so it is tabulated
 * once per call: T1[x] = requantize((x + in1_offset) << left_shift, ...),
 * computed with the exact reference routine (so any multiplier / shift is
 * fine), likewise T2. Per element only the output requantisation of
 * T1[a] + T2[b] remains; it uses the SMMULR form of tp_opt.h when its
 * bounds hold for the largest |T1| + |T2|, else the exact routine. */
#include "tp_opt.h"

#if !TP_OPT_SIMD

#include "../add_s8.c"

#else

#define tp_add_s8 tp_add_s8_ref
#include "../add_s8.c"
#undef tp_add_s8

static int32_t add_t1[256], add_t2[256];

/* Table of requantize((x + off) << ls) for x = -128..127, index x + 128;
 * returns max |entry|. */
static uint32_t add_table(int32_t *t, int32_t off, int32_t ls, int32_t mult, int32_t shift)
{
    uint32_t m = 0;
    for (int32_t x = -128; x < 128; ++x) {
        const int32_t v = tp_requantize((int32_t)((uint32_t)(x + off) << ls), mult, shift);
        t[x + 128] = v;
        const uint32_t a = v < 0 ? 0u - (uint32_t)v : (uint32_t)v;
        m = a > m ? a : m;
    }
    return m;
}

void tp_add_s8(const tp_add_s8_params_t *p, const int8_t *input1,
               const int8_t *input2, int8_t *output)
{
    if (p->left_shift < 0 || p->left_shift > 31 || p->size < 16) {
        tp_add_s8_ref(p, input1, input2, output);
        return;
    }
    const uint32_t m1 = add_table(add_t1, p->in1_offset, p->left_shift, p->in1_mult, p->in1_shift);
    const uint32_t m2 = add_table(add_t2, p->in2_offset, p->left_shift, p->in2_mult, p->in2_shift);
    const uint64_t bs = (uint64_t)m1 + m2;
    tp_rq_t qo;
    tp_rq_prepare(&qo, p->out_mult, p->out_shift, bs > 0x7FFFFFFFu ? 0xFFFFFFFFu : (uint32_t)bs,
                  p->output_offset);
    const int32_t *t1 = add_t1 + 128, *t2 = add_t2 + 128;
    const int32_t lo = p->act_min, hi = p->act_max;
    const int32_t n = p->size;
    if (qo.tier != 2) {
        for (int32_t i = 0; i < n; ++i) {
            const int32_t s = t1[input1[i]] + t2[input2[i]];
            output[i] = tp_clamp8(tp_requantize(s, p->out_mult, p->out_shift) + p->output_offset,
                                  lo, hi);
        }
        return;
    }
    const int32_t mult = qo.mult, rnd = qo.rnd, e = qo.e, lsh1 = qo.lsh1;
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const uint32_t x = tp_ld32(input1 + i), y = tp_ld32(input2 + i);
        uint32_t packed = 0;
        for (int k = 0; k < 4; ++k) {
            const int32_t s = t1[(int8_t)(x >> (8 * k))] + t2[(int8_t)(y >> (8 * k))];
            int32_t o = tp_smmulr((int32_t)((uint32_t)s << lsh1), mult);
            o = (o + rnd + (o >> 31)) >> e;
            packed |= ((uint32_t)(uint8_t)tp_clamp8(o, lo, hi)) << (8 * k);
        }
        __builtin_memcpy(output + i, &packed, 4);
    }
    for (; i < n; ++i) {
        const int32_t s = t1[input1[i]] + t2[input2[i]];
        int32_t o = tp_smmulr((int32_t)((uint32_t)s << lsh1), mult);
        o = (o + rnd + (o >> 31)) >> e;
        output[i] = tp_clamp8(o, lo, hi);
    }
}

#endif
