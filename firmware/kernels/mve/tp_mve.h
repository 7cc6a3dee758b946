/*
 * tinyperf Helium (MVE) kernels: shared helpers.
 *
 * The MVE kernels fold the input offset into the bias (sum((x + off) * w) =
 * sum(x * w) + off * sum(w)) and requantise four int32 lanes at once in
 * tp_opt.h's tier 2 form: VQRDMULH of (acc << lsh) by the multiplier is the
 * SMMULR step whenever tier 2 holds, then the rounding shift with the output
 * offset folded in, then the clamp.
 */
#ifndef TP_MVE_H
#define TP_MVE_H

#include <arm_mve.h>

#include "../opt/tp_opt.h"

#define TP_MVE_CMAX 256    /* channels */

/* Per-channel vector requantisation constants, as arrays so that four
 * consecutive channels are one load. A constant channel is mult 0, shift 0
 * and rnd = its output. */
typedef struct {
    int32_t lsh[TP_MVE_CMAX], mult[TP_MVE_CMAX], rnd[TP_MVE_CMAX], neg_e[TP_MVE_CMAX];
} tp_mve_rq_t;

/* Fills r for channels 0..n-1 from their tp_rq_t (q, already prepared);
 * returns 0 if some channel is neither tier 2 nor constant (taps, offsets,
 * bias, multipliers and range are what tp_constant_output needs). */
static inline int tp_mve_rq_prepare(tp_mve_rq_t *r, const tp_rq_t *q, int32_t n, int32_t taps,
                                    int32_t input_offset, const int32_t *bias,
                                    const int32_t *out_mult, const int32_t *out_shift,
                                    int32_t output_offset, int32_t act_min, int32_t act_max)
{
    for (int32_t c = 0; c < n; ++c) {
        int32_t constant;
        if (q[c].tier == 2) {
            r->lsh[c] = q[c].lsh1 - 1;
            r->mult[c] = q[c].mult;
            r->rnd[c] = q[c].rnd;
            r->neg_e[c] = -q[c].e;
        } else if (tp_constant_output(taps, input_offset, bias ? bias[c] : 0, out_mult[c],
                                      out_shift[c], output_offset, act_min, act_max, &constant)) {
            r->lsh[c] = 0;
            r->mult[c] = 0;
            r->rnd[c] = constant;
            r->neg_e[c] = 0;
        } else {
            return 0;
        }
    }
    return 1;
}

/* Four accumulators requantised, offset added and clamped to [lo, hi]. */
static inline int32x4_t tp_mve_requantize(int32x4_t acc, int32x4_t lsh, int32x4_t mult,
                                          int32x4_t rnd, int32x4_t neg_e, int32x4_t lo,
                                          int32x4_t hi)
{
    int32x4_t o = vqrdmulhq_s32(vshlq_s32(acc, lsh), mult);
    o = vaddq_s32(vaddq_s32(o, rnd), vshrq_n_s32(o, 31));   /* round half away from zero */
    return vminq_s32(vmaxq_s32(vshlq_s32(o, neg_e), lo), hi);
}

/* n bytes from src to dst, and n copies of v: 16 per predicated step. */
static inline void tp_mve_copy8(int8_t *dst, const int8_t *src, int32_t n)
{
    for (int32_t c = 0; c < n; c += 16) {
        const mve_pred16_t pr = vctp8q((uint32_t)(n - c));
        vstrbq_p_s8(dst + c, vldrbq_z_s8(src + c, pr), pr);
    }
}

static inline void tp_mve_fill8(int8_t *dst, int8_t v, int32_t n)
{
    const int8x16_t d = vdupq_n_s8(v);
    for (int32_t c = 0; c < n; c += 16) {
        vstrbq_p_s8(dst + c, d, vctp8q((uint32_t)(n - c)));
    }
}

#endif
