/* CONV_2D int8, DSP set: the generic path (CONV_PATH_GENERIC), for layers
 * the fast paths do not take (an odd channel count; taps not whole groups
 * that the row order cannot take). Two channels x two pixels, each pixel's
 * field expanded on its own (fill_slot) with the last K % 4 taps as plain
 * int16, and every channel requantised in its own tier. */
#include "conv2d_s8_columns.h"

#if TP_OPT_SIMD

/* n groups of 4 int8 -> words at dst[0], dst[2], dst[4], dst[6], ... */
static inline void expand_groups(uint32_t *dst, const int8_t *src, int32_t n, uint32_t off2)
{
    for (; n > 0; --n) {
        uint32_t w = tp_ld32(src);
        src += 4;
        dst[0] = tp_sxtab16(off2, w);
        dst[2] = tp_sxtab16_ror8(off2, w);
        dst += 4;
    }
}

static inline void zero_groups(uint32_t *dst, int32_t n)
{
    for (; n > 0; --n) {
        dst[0] = 0;
        dst[2] = 0;
        dst += 4;
    }
}

/* Fills slot (0 = A, 1 = B) of conv_col with the receptive field of output
 * pixel (oy, ox). */
static void fill_slot(const tp_conv2d_s8_params_t *p, const int8_t *in_b, int32_t oy, int32_t ox,
                      int slot, int32_t K, uint32_t off2, uint32_t *base)
{
    const int32_t in_c = p->in_c;
    const int32_t G = K >> 2;
    const int32_t T = K & 3;
    uint32_t *dst = base + slot;
    int16_t *tail = (int16_t *)(base + 4 * G) + 4 * slot;
    const int32_t iy0 = oy * p->stride_h - p->pad_top;
    const int32_t ix0 = ox * p->stride_w - p->pad_left;

    if (p->k_h == 1 && p->k_w == 1) {
        /* Pointwise: the field is one input pixel, always inside. */
        const int8_t *src = in_b + ((size_t)iy0 * p->in_w + ix0) * in_c;
        expand_groups(dst, src, G, off2);
        for (int32_t t = 0; t < T; ++t) {
            tail[t] = (int16_t)(src[4 * G + t] + p->input_offset);
        }
        return;
    }
    if ((in_c & 3) == 0) {
        /* Whole taps are whole groups: expand straight from the input. */
        const int32_t gpt = in_c >> 2;
        for (int32_t ky = 0; ky < p->k_h; ++ky) {
            const int32_t iy = iy0 + ky * p->dil_h;
            const int row_ok = iy >= 0 && iy < p->in_h;
            for (int32_t kx = 0; kx < p->k_w; ++kx) {
                const int32_t ix = ix0 + kx * p->dil_w;
                if (row_ok && ix >= 0 && ix < p->in_w) {
                    expand_groups(dst, in_b + ((size_t)iy * p->in_w + ix) * in_c, gpt, off2);
                } else {
                    zero_groups(dst, gpt);
                }
                dst += 4 * gpt;
            }
        }
        return;
    }
    /* General case: gather int8 taps (padding as the input zero point, which
     * becomes 0 once the offset is added), then expand. */
    const int8_t zp = (int8_t)(-p->input_offset);
    int8_t *st = conv_stage;
    for (int32_t ky = 0; ky < p->k_h; ++ky) {
        const int32_t iy = iy0 + ky * p->dil_h;
        const int row_ok = iy >= 0 && iy < p->in_h;
        for (int32_t kx = 0; kx < p->k_w; ++kx) {
            const int32_t ix = ix0 + kx * p->dil_w;
            if (row_ok && ix >= 0 && ix < p->in_w) {
                const int8_t *src = in_b + ((size_t)iy * p->in_w + ix) * in_c;
                for (int32_t c = 0; c < in_c; ++c) {
                    st[c] = src[c];
                }
            } else {
                for (int32_t c = 0; c < in_c; ++c) {
                    st[c] = zp;
                }
            }
            st += in_c;
        }
    }
    expand_groups(dst, conv_stage, G, off2);
    for (int32_t t = 0; t < T; ++t) {
        tail[t] = (int16_t)(conv_stage[4 * G + t] + p->input_offset);
    }
}

/* Two pixels (column buffer c) x two output channels (filter rows f0, f1)
 * over g >= 1 groups of four taps. */
static inline void dot_2x2(const uint32_t *c, const int8_t *f0, const int8_t *f1, int32_t g,
                           int32_t *p00, int32_t *p01, int32_t *p10, int32_t *p11)
{
    int32_t a00 = *p00, a01 = *p01, a10 = *p10, a11 = *p11;
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    uint32_t w0, w1, t, xa, xb;
    __asm__ volatile(
        "1:\n\t"
        "ldr     %[w0], [%[f0]], #4\n\t"
        "ldr     %[w1], [%[f1]], #4\n\t"
        "ldrd    %[xa], %[xb], [%[c]], #8\n\t"
        "sxtb16  %[t], %[w0]\n\t"
        "smlad   %[a00], %[xa], %[t], %[a00]\n\t"
        "smlad   %[a01], %[xb], %[t], %[a01]\n\t"
        "sxtb16  %[t], %[w1]\n\t"
        "smlad   %[a10], %[xa], %[t], %[a10]\n\t"
        "smlad   %[a11], %[xb], %[t], %[a11]\n\t"
        "ldrd    %[xa], %[xb], [%[c]], #8\n\t"
        "sxtb16  %[t], %[w0], ror #8\n\t"
        "smlad   %[a00], %[xa], %[t], %[a00]\n\t"
        "smlad   %[a01], %[xb], %[t], %[a01]\n\t"
        "sxtb16  %[t], %[w1], ror #8\n\t"
        "smlad   %[a10], %[xa], %[t], %[a10]\n\t"
        "smlad   %[a11], %[xb], %[t], %[a11]\n\t"
        "subs    %[g], %[g], #1\n\t"
        "bne     1b\n\t"
        : [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11),
          [c] "+r"(c), [f0] "+r"(f0), [f1] "+r"(f1), [g] "+r"(g),
          [w0] "=&r"(w0), [w1] "=&r"(w1), [t] "=&r"(t), [xa] "=&r"(xa), [xb] "=&r"(xb)
        :
        : "cc", "memory");
#else
    dot_2x2_model(c, f0, f1, g, &a00, &a01, &a10, &a11);
#endif
    *p00 = a00;
    *p01 = a01;
    *p10 = a10;
    *p11 = a11;
}

#define OUT8(v) (full ? tp_sat8(v) : tp_clamp8((v), lo, hi))

/* Output channels for the two pixels in conv_col; full: the activation
 * range is all of int8. */
static inline __attribute__((always_inline)) void
gemm_pair_impl(const tp_conv2d_s8_params_t *p, const int8_t *filter, const int32_t *bias,
               int32_t K, const tp_rq_t *rq, int8_t *outA, int8_t *outB, const int full)
{
    const int32_t out_c = p->out_c;
    const int32_t G = K >> 2;
    const int32_t T = K & 3;
    const int16_t *tail = (const int16_t *)(conv_col + 4 * G);
    const int32_t lo = p->act_min, hi = p->act_max;
    int32_t oc = 0;

    for (; oc + 1 < out_c; oc += 2) {
        const int8_t *f0 = filter + (size_t)oc * K;
        const int8_t *f1 = f0 + K;
        const int32_t b0 = bias ? bias[oc] : 0;
        const int32_t b1 = bias ? bias[oc + 1] : 0;
        int32_t a00 = b0, a01 = b0, a10 = b1, a11 = b1;
        if (G > 0) {
            dot_2x2(conv_col, f0, f1, G, &a00, &a01, &a10, &a11);
            f0 += 4 * G;
            f1 += 4 * G;
        }
        for (int32_t t = 0; t < T; ++t) {
            const int32_t xa = tail[t], xb = tail[4 + t];
            a00 += xa * f0[t];
            a01 += xb * f0[t];
            a10 += xa * f1[t];
            a11 += xb * f1[t];
        }
        const tp_rq_t *q0 = &rq[oc], *q1 = &rq[oc + 1];
        if ((q0->tier & q1->tier) == 2) {
            outA[oc] = OUT8(tp_rq2(a00, q0));
            outB[oc] = OUT8(tp_rq2(a01, q0));
            outA[oc + 1] = OUT8(tp_rq2(a10, q1));
            outB[oc + 1] = OUT8(tp_rq2(a11, q1));
        } else {
            outA[oc] = OUT8(tp_rq(a00, q0));
            outB[oc] = OUT8(tp_rq(a01, q0));
            outA[oc + 1] = OUT8(tp_rq(a10, q1));
            outB[oc + 1] = OUT8(tp_rq(a11, q1));
        }
    }
    if (oc < out_c) {
        const int8_t *f0 = filter + (size_t)oc * K;
        const int32_t b0 = bias ? bias[oc] : 0;
        int32_t a00 = b0, a01 = b0;
        const uint32_t *c = conv_col;
        for (int32_t g = G; g > 0; --g) {
            const uint32_t w = tp_ld32(f0);
            f0 += 4;
            const uint32_t we = tp_sxtb16(w), wo = tp_sxtb16_ror8(w);
            a00 = tp_smlad(c[0], we, a00);
            a01 = tp_smlad(c[1], we, a01);
            a00 = tp_smlad(c[2], wo, a00);
            a01 = tp_smlad(c[3], wo, a01);
            c += 4;
        }
        for (int32_t t = 0; t < T; ++t) {
            a00 += tail[t] * f0[t];
            a01 += tail[4 + t] * f0[t];
        }
        outA[oc] = OUT8(tp_rq(a00, &rq[oc]));
        outB[oc] = OUT8(tp_rq(a01, &rq[oc]));
    }
}

static void gemm_pair(const tp_conv2d_s8_params_t *p, const int8_t *filter, const int32_t *bias,
                      int32_t K, const tp_rq_t *rq, int8_t *outA, int8_t *outB)
{
    if (conv_full_range(p)) {
        gemm_pair_impl(p, filter, bias, K, rq, outA, outB, 1);
    } else {
        gemm_pair_impl(p, filter, bias, K, rq, outA, outB, 0);
    }
}

typedef struct {
    const conv_prep_t *prep;
    const int32_t *bias;
    uint32_t off2;
    int32_t K;
} generic_ctx_t;

static void generic_fill(const tp_conv2d_s8_params_t *p, const int8_t *in_b, int32_t ay,
                         int32_t ax, int32_t by, int32_t bx, void *ctx)
{
    const generic_ctx_t *c = ctx;
    fill_slot(p, in_b, ay, ax, 0, c->K, c->off2, conv_col);
    fill_slot(p, in_b, by, bx, 1, c->K, c->off2, conv_col);
}

static void generic_compute(const tp_conv2d_s8_params_t *p, void *ctx, int8_t *outA,
                            int8_t *outB)
{
    const generic_ctx_t *c = ctx;
    gemm_pair(p, c->prep->filter, c->bias, c->K, c->prep->rq, outA, outB);
}

void conv2d_s8_generic(const tp_conv2d_s8_params_t *p, const conv_prep_t *prep,
                       const int8_t *input, const int32_t *bias, int8_t *output)
{
    generic_ctx_t ctx = {prep, bias, tp_dup16(p->input_offset), prep->kf};
    conv_pixel_pairs(p, input, output, generic_fill, generic_compute, &ctx);
}

#endif
