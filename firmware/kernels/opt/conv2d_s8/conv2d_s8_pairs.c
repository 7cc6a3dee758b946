/* CONV_2D int8, DSP set: the two-channel fast paths (CONV_PATH_PAIRS over
 * whole groups of taps, CONV_PATH_PAIRS_ROWS in the row order), for an even
 * channel count when the four-channel paths do not apply. Per channel the
 * bias and the fast requantisation constants sit together (conv_fq_t), and
 * the dot product runs two groups (32 MACs) per loop iteration. */
#include "conv2d_s8_columns.h"

#if TP_OPT_SIMD

/* Two pixels (the column buffer c) x two output channels (filter rows f0,
 * f1) over g >= 1 groups of four taps, two groups per iteration. */
static inline void dot_2x2_u2(const uint32_t *c, const int8_t *f0, const int8_t *f1, int32_t g,
                              int32_t *p00, int32_t *p01, int32_t *p10, int32_t *p11)
{
    int32_t a00 = *p00, a01 = *p01, a10 = *p10, a11 = *p11;
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    uint32_t w0, w1, t, xa, xb;
#define TP_DOT_GROUP                                 \
        "ldr     %[w0], [%[f0]], #4\n\t"            \
        "ldr     %[w1], [%[f1]], #4\n\t"            \
        "ldr     %[xa], [%[c]], #4\n\t"             \
        "ldr     %[xb], [%[c]], #4\n\t"             \
        "sxtb16  %[t], %[w0]\n\t"                   \
        "smlad   %[a00], %[xa], %[t], %[a00]\n\t"   \
        "smlad   %[a01], %[xb], %[t], %[a01]\n\t"   \
        "sxtb16  %[t], %[w1]\n\t"                   \
        "smlad   %[a10], %[xa], %[t], %[a10]\n\t"   \
        "smlad   %[a11], %[xb], %[t], %[a11]\n\t"   \
        "ldr     %[xa], [%[c]], #4\n\t"             \
        "ldr     %[xb], [%[c]], #4\n\t"             \
        "sxtb16  %[w0], %[w0], ror #8\n\t"          \
        "sxtb16  %[w1], %[w1], ror #8\n\t"          \
        "smlad   %[a00], %[xa], %[w0], %[a00]\n\t"  \
        "smlad   %[a01], %[xb], %[w0], %[a01]\n\t"  \
        "smlad   %[a10], %[xa], %[w1], %[a10]\n\t"  \
        "smlad   %[a11], %[xb], %[w1], %[a11]\n\t"
    __asm__ volatile(
        "lsrs    %[g], %[g], #1\n\t"
        "bcc     2f\n\t"
        TP_DOT_GROUP
        "cmp     %[g], #0\n\t"
        "beq     3f\n\t"
        "2:\n\t"
        TP_DOT_GROUP
        TP_DOT_GROUP
        "subs    %[g], %[g], #1\n\t"
        "bne     2b\n\t"
        "3:\n\t"
        : [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11),
          [c] "+r"(c), [f0] "+r"(f0), [f1] "+r"(f1), [g] "+r"(g),
          [w0] "=&r"(w0), [w1] "=&r"(w1), [t] "=&r"(t), [xa] "=&r"(xa), [xb] "=&r"(xb)
        :
        : "cc", "memory");
#undef TP_DOT_GROUP
#else
    dot_2x2_model(c, f0, f1, g, &a00, &a01, &a10, &a11);
#endif
    *p00 = a00;
    *p01 = a01;
    *p10 = a10;
    *p11 = a11;
}

/* full: the activation range is all of int8. */
#define OUT8(v) (full ? tp_sat8(v) : tp_clamp8((v), lo, hi))

static inline __attribute__((always_inline)) void
gemm_fast_impl(const conv_fq_t *fq, const int8_t *filter, int32_t K, int32_t out_c, int8_t *outA,
               int8_t *outB, int32_t lo, int32_t hi, const int full)
{
    const int32_t G = K >> 2;
    const conv_fq_t *q = fq;
    const int8_t *f = filter;
    for (int32_t oc = 0; oc < out_c; oc += 2, q += 2, f += 2 * K) {
        int32_t a00 = q[0].bias, a01 = a00, a10 = q[1].bias, a11 = a10;
        dot_2x2_u2(conv_col, f, f + K, G, &a00, &a01, &a10, &a11);
        if (__builtin_expect((q[0].e | q[1].e) < 0, 0)) {
            /* e < 0: exact routine (mult, shift in lsh1, offset in rnd). */
            outA[oc] = OUT8(fq_rq_any(a00, &q[0]));
            outB[oc] = OUT8(fq_rq_any(a01, &q[0]));
            outA[oc + 1] = OUT8(fq_rq_any(a10, &q[1]));
            outB[oc + 1] = OUT8(fq_rq_any(a11, &q[1]));
            continue;
        }
        /* All constants read before any int8 store (which may alias). */
        const int32_t m0 = q[0].mult, r0 = q[0].rnd, l0 = q[0].lsh1, e0 = q[0].e;
        const int32_t m1 = q[1].mult, r1 = q[1].rnd, l1 = q[1].lsh1, e1 = q[1].e;
        int32_t o00 = tp_smmulr((int32_t)((uint32_t)a00 << l0), m0);
        int32_t o01 = tp_smmulr((int32_t)((uint32_t)a01 << l0), m0);
        int32_t o10 = tp_smmulr((int32_t)((uint32_t)a10 << l1), m1);
        int32_t o11 = tp_smmulr((int32_t)((uint32_t)a11 << l1), m1);
        o00 = OUT8((o00 + r0 + (o00 >> 31)) >> e0);
        o01 = OUT8((o01 + r0 + (o01 >> 31)) >> e0);
        o10 = OUT8((o10 + r1 + (o10 >> 31)) >> e1);
        o11 = OUT8((o11 + r1 + (o11 >> 31)) >> e1);
        const uint16_t hA = (uint16_t)((uint8_t)o00 | ((uint32_t)(uint8_t)o10 << 8));
        const uint16_t hB = (uint16_t)((uint8_t)o01 | ((uint32_t)(uint8_t)o11 << 8));
        __builtin_memcpy(outA + oc, &hA, 2);
        __builtin_memcpy(outB + oc, &hB, 2);
    }
}

static void gemm_fast_full(const conv_fq_t *fq, const int8_t *filter, int32_t K, int32_t out_c,
                           int8_t *outA, int8_t *outB)
{
    gemm_fast_impl(fq, filter, K, out_c, outA, outB, -128, 127, 1);
}

static void gemm_fast_clamp(const conv_fq_t *fq, const int8_t *filter, int32_t K, int32_t out_c,
                            int8_t *outA, int8_t *outB, int32_t lo, int32_t hi)
{
    gemm_fast_impl(fq, filter, K, out_c, outA, outB, lo, hi, 0);
}

typedef struct {
    const conv_prep_t *prep;
    uint32_t off2;
} pairs_ctx_t;

static void pairs_fill_groups(const tp_conv2d_s8_params_t *p, const int8_t *in_b, int32_t ay,
                              int32_t ax, int32_t by, int32_t bx, void *ctx)
{
    fill_pair(p, in_b, ay, ax, by, bx, ((const pairs_ctx_t *)ctx)->off2, conv_col);
}

static void pairs_fill_rows(const tp_conv2d_s8_params_t *p, const int8_t *in_b, int32_t ay,
                            int32_t ax, int32_t by, int32_t bx, void *ctx)
{
    fill_rows(p, in_b, ay, ax, by, bx, ((const pairs_ctx_t *)ctx)->off2, conv_col);
}

static void pairs_full(const tp_conv2d_s8_params_t *p, void *ctx, int8_t *outA, int8_t *outB)
{
    const conv_prep_t *prep = ((const pairs_ctx_t *)ctx)->prep;
    gemm_fast_full(prep->fq, prep->filter, prep->kf, p->out_c, outA, outB);
}

static void pairs_clamp(const tp_conv2d_s8_params_t *p, void *ctx, int8_t *outA,
                        int8_t *outB)
{
    const conv_prep_t *prep = ((const pairs_ctx_t *)ctx)->prep;
    gemm_fast_clamp(prep->fq, prep->filter, prep->kf, p->out_c, outA, outB, p->act_min, p->act_max);
}

static inline __attribute__((always_inline)) void
pairs_run(const tp_conv2d_s8_params_t *p, const conv_prep_t *prep, const int8_t *input,
          int8_t *output, conv_fill_fn *fill)
{
    pairs_ctx_t ctx = {prep, tp_dup16(p->input_offset)};
    if (conv_full_range(p)) {
        conv_pixel_pairs(p, input, output, fill, pairs_full, &ctx);
    } else {
        conv_pixel_pairs(p, input, output, fill, pairs_clamp, &ctx);
    }
}

void conv2d_s8_pairs(const tp_conv2d_s8_params_t *p, const conv_prep_t *prep,
                     const int8_t *input, int8_t *output)
{
    fill_pair_prepare(p);
    pairs_run(p, prep, input, output, pairs_fill_groups);
}

void conv2d_s8_pairs_rows(const tp_conv2d_s8_params_t *p, const conv_prep_t *prep,
                          const int8_t *input, int8_t *output)
{
    pairs_run(p, prep, input, output, pairs_fill_rows);
}

#endif
