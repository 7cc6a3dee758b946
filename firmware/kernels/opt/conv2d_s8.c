/* CONV_2D, int8 activations, per-channel int8 weights, int32 bias.
 * Optimized for the Armv7E-M / Armv8-M DSP extension.
 *
 * Two output pixels at a time: their receptive fields are expanded into a
 * small column buffer as 16-bit (x + input_offset) values, so each SMLAD
 * does two multiply-accumulates. Padded taps become 0 there, which adds
 * nothing, exactly like the reference that skips them. The buffer holds,
 * for every group of four taps k..k+3, the words
 *     A(k, k+2)  A(k+1, k+3)  B(k, k+2)  B(k+1, k+3)
 * (stored as A(k,k+2) B(k,k+2) A(k+1,k+3) B(k+1,k+3), so one LDRD fetches
 * both pixels' halves), which is the lane order SXTB16 / SXTB16 ROR #8 give the filter bytes, so
 * the filter needs no reordering: per group and output channel one word of
 * weights feeds four SMLADs (two pixels). The last K % 4 taps are kept as
 * plain int16 after the groups. Accumulation is exact int32 as in the
 * reference; only the order of additions differs.
 *
 * Paths, fastest first (chosen per call in tp_conv2d_s8):
 *   - four channels x two pixels on a filter expanded to 16-bit lanes once
 *     per call (expand_filter4), when every channel requantises in the fast
 *     form, is constant or is flagged for the exact routine, out_c % 4 == 0,
 *     the expansion fits and there are at least 8 output pixels: one asm
 *     pass per pixel pair over all blocks of four channels (conv4_run);
 *   - two channels x two pixels (dot_2x2_u2) with the same requantisation;
 *   - the general two x two path (gemm_pair), any tier per channel.
 * Taps that are not whole groups (in_c % 4 != 0, e.g. a first layer with
 * three channels) are taken in a row order with a permuted, zero-padded
 * filter (fill_rows, conv_wpad) so the fast paths apply. */
#include "tp_opt.h"

#if !TP_OPT_SIMD

#include "../conv2d_s8.c"

#else

#define tp_conv2d_s8 tp_conv2d_s8_ref
#include "../conv2d_s8.c"
#undef tp_conv2d_s8

#define CONV_KMAX 1024     /* taps per output (k_h * k_w * in_c) */
#define CONV_CMAX 256      /* output channels */

static tp_rq_t conv_rq[CONV_CMAX];
static uint32_t conv_col[CONV_KMAX + 4];   /* two pixels of 16-bit values */
static int8_t conv_stage[CONV_KMAX + 4];
static int8_t conv_dummy[CONV_CMAX];

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

static int8_t conv_zp[CONV_KMAX];   /* one input pixel of zero points */

/* n >= 1 groups of four int8 from each of a and b, into conv_col order. */
static inline uint32_t *expand_pair(uint32_t *dst, const int8_t *a, const int8_t *b, int32_t n,
                                    uint32_t off2)
{
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    /* The four words of a group in one STM (1 + 4 cycles, not 4 x 2); two
     * groups per iteration, an odd one first (the flags of LSRS hold). */
    register uint32_t d0 __asm__("r8"), d1 __asm__("r9"), d2 __asm__("r10"), d3 __asm__("r11");
    uint32_t wa, wb;
#define TP_EXPAND_GROUP                                      \
    "ldr     %[wa], [%[a]], #4\n\t"                         \
    "ldr     %[wb], [%[b]], #4\n\t"                         \
    "sxtab16 %[d0], %[off], %[wa]\n\t"                      \
    "sxtab16 %[d1], %[off], %[wb]\n\t"                      \
    "sxtab16 %[d2], %[off], %[wa], ror #8\n\t"              \
    "sxtab16 %[d3], %[off], %[wb], ror #8\n\t"              \
    "stmia   %[dst]!, {%[d0], %[d1], %[d2], %[d3]}\n\t"
    __asm__ volatile("lsrs    %[n], %[n], #1\n\t"
                     "bcc     1f\n\t"
                     TP_EXPAND_GROUP
                     "beq     2f\n\t"
                     "1:\n\t"
                     TP_EXPAND_GROUP
                     TP_EXPAND_GROUP
                     "subs    %[n], %[n], #1\n\t"
                     "bne     1b\n\t"
                     "2:\n\t"
                     : [dst] "+r"(dst), [a] "+r"(a), [b] "+r"(b), [n] "+r"(n), [wa] "=&r"(wa),
                       [wb] "=&r"(wb), [d0] "=&r"(d0), [d1] "=&r"(d1), [d2] "=&r"(d2),
                       [d3] "=&r"(d3)
                     : [off] "r"(off2)
                     : "cc", "memory");
#undef TP_EXPAND_GROUP
    return dst;
#else
    for (; n > 0; --n) {
        const uint32_t wa = tp_ld32(a), wb = tp_ld32(b);
        a += 4;
        b += 4;
        dst[0] = tp_sxtab16(off2, wa);
        dst[1] = tp_sxtab16(off2, wb);
        dst[2] = tp_sxtab16_ror8(off2, wa);
        dst[3] = tp_sxtab16_ror8(off2, wb);
        dst += 4;
    }
    return dst;
#endif
}

/* conv_col for output pixels A (ay, ax) and B (by, bx), in_c % 4 == 0.
 * A padded tap reads zero points, which become 0 with the offset. */
static void fill_pair(const tp_conv2d_s8_params_t *p, const int8_t *in_b, int32_t ay, int32_t ax,
                      int32_t by, int32_t bx, uint32_t off2, uint32_t *dst)
{
    const int32_t in_c = p->in_c;
    const int32_t gpt = in_c >> 2;
    const int32_t in_w = p->in_w, in_h = p->in_h;
    if (p->k_h == 1 && p->k_w == 1) {
        const int32_t iya = ay * p->stride_h - p->pad_top, ixa = ax * p->stride_w - p->pad_left;
        const int32_t iyb = by * p->stride_h - p->pad_top, ixb = bx * p->stride_w - p->pad_left;
        expand_pair(dst, in_b + ((size_t)iya * in_w + ixa) * in_c,
                    in_b + ((size_t)iyb * in_w + ixb) * in_c, gpt, off2);
        return;
    }
    const int32_t iya0 = ay * p->stride_h - p->pad_top, ixa0 = ax * p->stride_w - p->pad_left;
    const int32_t iyb0 = by * p->stride_h - p->pad_top, ixb0 = bx * p->stride_w - p->pad_left;
    /* Both fields' columns inside: a kernel row of each is one run. */
    const int cols_in = p->dil_w == 1 && ixa0 >= 0 && ixa0 + p->k_w <= in_w && ixb0 >= 0
                        && ixb0 + p->k_w <= in_w;
    for (int32_t ky = 0; ky < p->k_h; ++ky) {
        const int32_t iya = iya0 + ky * p->dil_h, iyb = iyb0 + ky * p->dil_h;
        const int rowa = iya >= 0 && iya < in_h, rowb = iyb >= 0 && iyb < in_h;
        if (cols_in && rowa && rowb) {
            dst = expand_pair(dst, in_b + ((size_t)iya * in_w + ixa0) * in_c,
                              in_b + ((size_t)iyb * in_w + ixb0) * in_c, p->k_w * gpt, off2);
            continue;
        }
        for (int32_t kx = 0; kx < p->k_w; ++kx) {
            const int32_t ixa = ixa0 + kx * p->dil_w, ixb = ixb0 + kx * p->dil_w;
            const int8_t *sa = (rowa && ixa >= 0 && ixa < in_w)
                                   ? in_b + ((size_t)iya * in_w + ixa) * in_c : conv_zp;
            const int8_t *sb = (rowb && ixb >= 0 && ixb < in_w)
                                   ? in_b + ((size_t)iyb * in_w + ixb) * in_c : conv_zp;
            dst = expand_pair(dst, sa, sb, gpt, off2);
        }
    }
}

/* Receptive fields of whole taps not whole groups (e.g. a first layer with
 * three input channels). A kernel row of R = k_w * in_c bytes is contiguous
 * in the input, so the taps are taken in the order: every row's first
 * R & ~3 bytes (whole groups, expanded straight from the row), then every
 * row's last R & 3 bytes gathered, zero-padded to a group (the filter is
 * permuted to match, conv_rows_filter). A field reaching into the padding is
 * first staged as int8, padded taps as the input zero point. */
static int8_t conv_stageB[CONV_KMAX + 4];
static int8_t conv_tailA[CONV_KMAX + 4], conv_tailB[CONV_KMAX + 4];
#define CONV_WPADMAX 4096
static int8_t conv_wpad[CONV_WPADMAX];   /* the filter in that order */

/* n bytes, in words (unaligned LDR/STR) while eight remain, then by size:
 * a kernel row is short (9 bytes for 3 x 3 taps), so no loop per byte. */
static inline void copy_bytes(int8_t *dst, const int8_t *src, int32_t n)
{
    for (; n >= 8; n -= 8, src += 8, dst += 8) {
        const uint32_t w0 = tp_ld32(src), w1 = tp_ld32(src + 4);
        __builtin_memcpy(dst, &w0, 4);
        __builtin_memcpy(dst + 4, &w1, 4);
    }
    if (n & 4) {
        const uint32_t w = tp_ld32(src);
        __builtin_memcpy(dst, &w, 4);
        src += 4;
        dst += 4;
    }
    if (n & 2) {
        const uint16_t h = (uint16_t)((uint8_t)src[0] | ((uint32_t)(uint8_t)src[1] << 8));
        __builtin_memcpy(dst, &h, 2);
        src += 2;
        dst += 2;
    }
    if (n & 1) {
        *dst = *src;
    }
}

/* (out of line: only fields reaching into the padding are staged) */
__attribute__((noinline)) static void stage_field(const tp_conv2d_s8_params_t *p,
                                                  const int8_t *in_b, int32_t oy, int32_t ox,
                                                  int8_t *st)
{
    const int32_t in_c = p->in_c;
    const int32_t row = p->k_w * in_c;
    const int32_t iy0 = oy * p->stride_h - p->pad_top;
    const int32_t ix0 = ox * p->stride_w - p->pad_left;
    const int8_t zp = (int8_t)(-p->input_offset);
    const int cols_in = p->dil_w == 1 && ix0 >= 0 && ix0 + p->k_w <= p->in_w;
    for (int32_t ky = 0; ky < p->k_h; ++ky, st += row) {
        const int32_t iy = iy0 + ky * p->dil_h;
        const int row_ok = iy >= 0 && iy < p->in_h;
        if (row_ok && cols_in) {
            copy_bytes(st, in_b + ((size_t)iy * p->in_w + ix0) * in_c, row);
            continue;
        }
        for (int32_t kx = 0; kx < p->k_w; ++kx) {
            const int32_t ix = ix0 + kx * p->dil_w;
            if (row_ok && ix >= 0 && ix < p->in_w) {
                copy_bytes(st + kx * in_c, in_b + ((size_t)iy * p->in_w + ix) * in_c, in_c);
            } else {
                memset(st + kx * in_c, zp, (size_t)in_c);
            }
        }
    }
}

/* Kernel row ky of the field of (oy, ox) is at the result + ky * *step:
 * in the input when the field lies inside, else in st, staged. */
static inline __attribute__((always_inline)) const int8_t *
field_rows(const tp_conv2d_s8_params_t *p, const int8_t *in_b, int32_t oy, int32_t ox, int8_t *st,
           size_t *step)
{
    const int32_t iy0 = oy * p->stride_h - p->pad_top;
    const int32_t ix0 = ox * p->stride_w - p->pad_left;
    if (p->dil_w == 1 && ix0 >= 0 && ix0 + p->k_w <= p->in_w && iy0 >= 0
        && iy0 + (p->k_h - 1) * p->dil_h < p->in_h) {
        *step = (size_t)p->dil_h * p->in_w * p->in_c;
        return in_b + ((size_t)iy0 * p->in_w + ix0) * p->in_c;
    }
    stage_field(p, in_b, oy, ox, st);
    *step = (size_t)p->k_w * p->in_c;
    return st;
}

/* conv_col (at dst) for output pixels A and B in the row order above. */
static void fill_rows(const tp_conv2d_s8_params_t *p, const int8_t *in_b, int32_t ay, int32_t ax,
                      int32_t by, int32_t bx, uint32_t off2, uint32_t *dst)
{
    size_t sa, sb;
    const int8_t *a = field_rows(p, in_b, ay, ax, conv_stage, &sa);
    const int8_t *b = field_rows(p, in_b, by, bx, conv_stageB, &sb);
    const int32_t R = p->k_w * p->in_c;
    const int32_t body = R & ~3, tr = R & 3;
    if (body > 0) {
        const int8_t *ra = a, *rb = b;
        for (int32_t ky = p->k_h; ky > 0; --ky, ra += sa, rb += sb) {
            dst = expand_pair(dst, ra, rb, body >> 2, off2);
        }
    }
    if (tr > 0) {
        /* (past the gathered bytes: stale bytes, met by zero weights) */
        int8_t *ta = conv_tailA, *tb = conv_tailB;
        const int8_t *xa = a + body, *xb = b + body;
        for (int32_t ky = p->k_h; ky > 0; --ky, xa += sa, xb += sb, ta += tr, tb += tr) {
            ta[0] = xa[0];
            tb[0] = xb[0];
            if (tr > 1) {
                ta[1] = xa[1];
                tb[1] = xb[1];
            }
            if (tr > 2) {
                ta[2] = xa[2];
                tb[2] = xb[2];
            }
        }
        expand_pair(dst, conv_tailA, conv_tailB, (p->k_h * tr + 3) >> 2, off2);
    }
}

/* Each filter row in the row order, zero-padded to Kp taps, into conv_wpad. */
static void conv_rows_filter(const tp_conv2d_s8_params_t *p, const int8_t *filter, int32_t K,
                             int32_t Kp)
{
    const int32_t R = p->k_w * p->in_c;
    const int32_t body = R & ~3, tr = R & 3;
    for (int32_t oc = 0; oc < p->out_c; ++oc) {
        const int8_t *f = filter + (size_t)oc * K;
        int8_t *d = conv_wpad + (size_t)oc * Kp;
        for (int32_t ky = 0; ky < p->k_h; ++ky) {
            for (int32_t k = 0; k < body; ++k) {
                *d++ = f[ky * R + k];
            }
        }
        for (int32_t ky = 0; ky < p->k_h; ++ky) {
            for (int32_t t = 0; t < tr; ++t) {
                *d++ = f[ky * R + body + t];
            }
        }
        for (int32_t k = K; k < Kp; ++k) {
            *d++ = 0;
        }
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
    for (; g > 0; --g) {
        const uint32_t w0 = tp_ld32(f0), w1 = tp_ld32(f1);
        f0 += 4;
        f1 += 4;
        uint32_t t = tp_sxtb16(w0);
        a00 = tp_smlad(c[0], t, a00);
        a01 = tp_smlad(c[1], t, a01);
        t = tp_sxtb16(w1);
        a10 = tp_smlad(c[0], t, a10);
        a11 = tp_smlad(c[1], t, a11);
        t = tp_sxtb16_ror8(w0);
        a00 = tp_smlad(c[2], t, a00);
        a01 = tp_smlad(c[3], t, a01);
        t = tp_sxtb16_ror8(w1);
        a10 = tp_smlad(c[2], t, a10);
        a11 = tp_smlad(c[3], t, a11);
        c += 4;
    }
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
               int32_t K, int8_t *outA, int8_t *outB, const int full)
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
        const tp_rq_t *q0 = &conv_rq[oc], *q1 = &conv_rq[oc + 1];
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
        outA[oc] = OUT8(tp_rq(a00, &conv_rq[oc]));
        outB[oc] = OUT8(tp_rq(a01, &conv_rq[oc]));
    }
}

static void gemm_pair(const tp_conv2d_s8_params_t *p, const int8_t *filter, const int32_t *bias,
                      int32_t K, int8_t *outA, int8_t *outB)
{
    if (p->act_min <= -128 && p->act_max >= 127) {
        gemm_pair_impl(p, filter, bias, K, outA, outB, 1);
    } else {
        gemm_pair_impl(p, filter, bias, K, outA, outB, 0);
    }
}

/* ---- Fast path: K % 4 == 0, even out_c, every channel in tier 2. ----
 * Per channel the bias and requantisation constants sit together, and the
 * dot product runs two groups (32 MACs) per loop iteration. */
typedef struct {
    int32_t bias, mult, rnd, lsh1, e;
} conv_fq_t;

static conv_fq_t conv_fq[CONV_CMAX];


/* Like dot_2x2, for g >= 1 groups, two per iteration. */
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
    for (; g > 0; --g) {
        const uint32_t w0 = tp_ld32(f0), w1 = tp_ld32(f1);
        f0 += 4;
        f1 += 4;
        uint32_t t = tp_sxtb16(w0);
        a00 = tp_smlad(c[0], t, a00);
        a01 = tp_smlad(c[1], t, a01);
        t = tp_sxtb16(w1);
        a10 = tp_smlad(c[0], t, a10);
        a11 = tp_smlad(c[1], t, a11);
        t = tp_sxtb16_ror8(w0);
        a00 = tp_smlad(c[2], t, a00);
        a01 = tp_smlad(c[3], t, a01);
        t = tp_sxtb16_ror8(w1);
        a10 = tp_smlad(c[2], t, a10);
        a11 = tp_smlad(c[3], t, a11);
        c += 4;
    }
#endif
    *p00 = a00;
    *p01 = a01;
    *p10 = a10;
    *p11 = a11;
}

static inline int32_t fq_rq(int32_t acc, const conv_fq_t *q)
{
    int32_t o = tp_smmulr((int32_t)((uint32_t)acc << q->lsh1), q->mult);
    return (o + q->rnd + (o >> 31)) >> q->e;
}

static int32_t fq_rq_any(int32_t acc, const conv_fq_t *q)
{
    if (q->e < 0) {
        return tp_requantize(acc, q->mult, q->lsh1) + q->rnd;
    }
    return fq_rq(acc, q);
}

static inline __attribute__((always_inline)) void
gemm_fast_impl(const int8_t *filter, int32_t K, int32_t out_c, int8_t *outA, int8_t *outB,
               int32_t lo, int32_t hi, const int full)
{
    const int32_t G = K >> 2;
    const conv_fq_t *q = conv_fq;
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

static void gemm_fast_full(const int8_t *filter, int32_t K, int32_t out_c, int8_t *outA,
                           int8_t *outB)
{
    gemm_fast_impl(filter, K, out_c, outA, outB, -128, 127, 1);
}

static void gemm_fast_clamp(const int8_t *filter, int32_t K, int32_t out_c, int8_t *outA,
                            int8_t *outB, int32_t lo, int32_t hi)
{
    gemm_fast_impl(filter, K, out_c, outA, outB, lo, hi, 0);
}

/* ---- Four output channels x two pixels ----
 * The filter is expanded once per call to 16-bit lanes, four channels
 * interleaved: per block of four channels and group of four taps the words
 *     c0(k,k+2) c1(k,k+2) c2(k,k+2) c3(k,k+2) c0(k+1,k+3) ... c3(k+1,k+3)
 * so the inner loop only loads and multiplies. The column buffer ends on a
 * 4 KiB boundary, which ends the loop without a counter. */
#define CONV_WEMAX 32768   /* words of expanded weights: out_c * K / 2 (256 x 256) */
static uint32_t conv_wexp[CONV_WEMAX];
static uint32_t conv_col4[CONV_KMAX] __attribute__((aligned(4096)));

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
/* conv_wexp (d) from nblk >= 1 blocks of four filter rows of K = 4 * G taps,
 * G >= 1: per group four loads, and each half of the eight words in one
 * STM (1 + 4 cycles, not 4 x 2). */
__attribute__((naked, noinline)) static void expand4(const int8_t *filter, int32_t K,
                                                    int32_t nblk, uint32_t *d)
{
    __asm__ volatile(
        "push    {r1, r2, r4-r11, lr}\n\t"
        "1:\n\t"
        "ldr     r1, [sp]\n\t"               /* K */
        "mov     r4, r0\n\t"                 /* the four rows */
        "add     r5, r4, r1\n\t"
        "add     r6, r5, r1\n\t"
        "add     r7, r6, r1\n\t"
        "lsr     lr, r1, #2\n\t"             /* groups */
        "2:\n\t"
        "ldr     r8, [r4], #4\n\t"
        "ldr     r9, [r5], #4\n\t"
        "ldr     r10, [r6], #4\n\t"
        "ldr     r11, [r7], #4\n\t"
        "sxtb16  r0, r8\n\t"
        "sxtb16  r1, r9\n\t"
        "sxtb16  r2, r10\n\t"
        "sxtb16  r12, r11\n\t"
        "stmia   r3!, {r0, r1, r2, r12}\n\t"
        "sxtb16  r0, r8, ror #8\n\t"
        "sxtb16  r1, r9, ror #8\n\t"
        "sxtb16  r2, r10, ror #8\n\t"
        "sxtb16  r12, r11, ror #8\n\t"
        "stmia   r3!, {r0, r1, r2, r12}\n\t"
        "subs    lr, lr, #1\n\t"
        "bne     2b\n\t"
        "mov     r0, r7\n\t"                 /* the next block's first row */
        "ldr     r2, [sp, #4]\n\t"
        "subs    r2, r2, #1\n\t"
        "str     r2, [sp, #4]\n\t"
        "bne     1b\n\t"
        "pop     {r1, r2, r4-r11, pc}\n\t");
}

static void expand_filter4(const int8_t *filter, int32_t K, int32_t out_c)
{
    expand4(filter, K, out_c >> 2, conv_wexp);
}
#else
static void expand_filter4(const int8_t *filter, int32_t K, int32_t out_c)
{
    const int32_t G = K >> 2;
    uint32_t *d = conv_wexp;
    for (int32_t oc = 0; oc < out_c; oc += 4) {
        const int8_t *f0 = filter + (size_t)oc * K;
        const int8_t *f1 = f0 + K, *f2 = f1 + K, *f3 = f2 + K;
        for (int32_t g = 0; g < G; ++g) {
            const uint32_t w0 = tp_ld32(f0), w1 = tp_ld32(f1), w2 = tp_ld32(f2), w3 = tp_ld32(f3);
            f0 += 4;
            f1 += 4;
            f2 += 4;
            f3 += 4;
            d[0] = tp_sxtb16(w0);
            d[1] = tp_sxtb16(w1);
            d[2] = tp_sxtb16(w2);
            d[3] = tp_sxtb16(w3);
            d[4] = tp_sxtb16_ror8(w0);
            d[5] = tp_sxtb16_ror8(w1);
            d[6] = tp_sxtb16_ror8(w2);
            d[7] = tp_sxtb16_ror8(w3);
            d += 8;
        }
    }
}
#endif

/* Per block of four channels: each bias twice (pixels A and B), then per
 * channel the fast-form requantisation constants. A block with a channel
 * for the exact routine is flagged: its accumulators are kept in acc, and
 * its outputs are redone in C (offsets used by the asm). */
typedef struct {
    int32_t bias[8];    /*   0 */
    int32_t rq[4][4];   /*  32: mult, rnd, lsh1, e */
    int32_t exact;      /*  96 */
    int32_t acc[8];     /* 100 */
} conv_blk_t;

static conv_blk_t conv_blk[CONV_CMAX / 4];

/* State of one pixel pair's pass over the blocks (offsets used by the asm). */
typedef struct {
    const uint32_t *col;     /*  0: column buffer, ends on the 4 KiB boundary */
    const uint32_t *w;       /*  4: expanded weights of the next block */
    conv_blk_t *blk;         /*  8: next block */
    conv_blk_t *end;         /* 12 */
    int8_t *outA, *outB;     /* 16, 20: next output bytes of pixels A and B */
    uint32_t lo4, hi4;       /* 24, 28: activation range in every byte */
} conv_run_t;

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
/* Two groups of four taps for 4 channels x 2 pixels: accumulators r2..r9
 * (c0 A, c0 B, ..., c3 B), column words from r0, weights from r1. */
#define CONV4_HALF                          \
    "ldr     r10, [r0], #4\n\t"            \
    "ldr     r11, [r0], #4\n\t"            \
    "ldr     r12, [r1], #4\n\t"            \
    "ldr     lr, [r1], #4\n\t"             \
    "smlad   r2, r10, r12, r2\n\t"         \
    "smlad   r3, r11, r12, r3\n\t"         \
    "smlad   r4, r10, lr, r4\n\t"          \
    "smlad   r5, r11, lr, r5\n\t"          \
    "ldr     r12, [r1], #4\n\t"            \
    "ldr     lr, [r1], #4\n\t"             \
    "smlad   r6, r10, r12, r6\n\t"         \
    "smlad   r7, r11, r12, r7\n\t"         \
    "smlad   r8, r10, lr, r8\n\t"          \
    "smlad   r9, r11, lr, r9\n\t"
#define CONV4_GROUP CONV4_HALF CONV4_HALF
/* One channel's two accumulators a, b to saturated int8 (constants from r12
 * onwards: mult r0, rnd r1, lsh1 r10, e r11; lr is scratch). SMMLAR adds
 * rnd to SMMULR's result; the rounding's -1 for a negative product takes
 * the sign of the shifted accumulator, the same for mult > 0 except when
 * the product rounds to 0, where rnd (an odd multiple of 2^(e-1), e >= 1)
 * keeps the -1 from crossing a multiple of 2^e. A zero mult comes with
 * lsh1 32, which shifts the accumulator to 0. */
#define CONV4_RQ(a, b)                                \
    "ldm     r12!, {r0, r1, r10, r11}\n\t"           \
    "lsl     " a ", " a ", r10\n\t"                  \
    "lsl     " b ", " b ", r10\n\t"                  \
    "smmlar  lr, " a ", r0, r1\n\t"                  \
    "add     " a ", lr, " a ", asr #31\n\t"          \
    "smmlar  lr, " b ", r0, r1\n\t"                  \
    "add     " b ", lr, " b ", asr #31\n\t"          \
    "asr     " a ", " a ", r11\n\t"                  \
    "asr     " b ", " b ", r11\n\t"                  \
    "ssat    " a ", #8, " a "\n\t"                   \
    "ssat    " b ", #8, " b "\n\t"
/* Clamp the packed outputs r2 (A) and r3 (B) to [lo4, hi4] per byte. */
#define CONV4_CLAMP                                   \
    "ldrd    r0, r1, [sp, #24]\n\t"                  \
    "ssub8   r4, r2, r0\n\t"                         \
    "sel     r2, r2, r0\n\t"                         \
    "ssub8   r4, r1, r2\n\t"                         \
    "sel     r2, r2, r1\n\t"                         \
    "ssub8   r4, r3, r0\n\t"                         \
    "sel     r3, r3, r0\n\t"                         \
    "ssub8   r4, r1, r3\n\t"                         \
    "sel     r3, r3, r1\n\t"
/* For every block from run->blk to run->end: accumulators from the biases,
 * the dot products over the column buffer (four groups per iteration; as
 * the buffer ends on the 4 KiB boundary, bits 5:4 of its start are minus
 * the group count mod 4, which picks the entry), requantisation, packing (BFI) and the two word stores
 * (for a flagged block first a copy of the accumulators). Everything stays
 * in registers; a copy of *run on the stack holds the state between blocks. */
#define CONV4_RUN(CLAMP, EXACT_CHECK, EXACT_STUB)        \
    __asm__ volatile(                                     \
        "push    {r4-r11, lr}\n\t"                        \
        "ldm     r0, {r0-r7}\n\t"                         \
        "push    {r0-r7}\n\t"                             \
        "1:\n\t"                                          \
        "ldm     sp, {r0, r1, lr}\n\t"                    \
        "ldm     lr, {r2-r9}\n\t"                         \
        "lsls    r12, r0, #27\n\t"                        \
        "bcs     7f\n\t"                                  \
        "bmi     3f\n\t"                                  \
        "2:\n\t"                                          \
        CONV4_GROUP                                       \
        "3:\n\t"                                          \
        CONV4_GROUP                                       \
        "8:\n\t"                                          \
        CONV4_GROUP                                       \
        "9:\n\t"                                          \
        CONV4_GROUP                                       \
        "lsls    r12, r0, #20\n\t"                        \
        "bne     2b\n\t"                                  \
        "str     r1, [sp, #4]\n\t"                        \
        "ldr     r12, [sp, #8]\n\t"                       \
        EXACT_CHECK                                       \
        "add     r12, r12, #32\n\t"                       \
        CONV4_RQ("r2", "r3")                              \
        CONV4_RQ("r4", "r5")                              \
        CONV4_RQ("r6", "r7")                              \
        CONV4_RQ("r8", "r9")                              \
        "bfi     r2, r4, #8, #8\n\t"                      \
        "bfi     r3, r5, #8, #8\n\t"                      \
        "bfi     r2, r6, #16, #8\n\t"                     \
        "bfi     r3, r7, #16, #8\n\t"                     \
        "bfi     r2, r8, #24, #8\n\t"                     \
        "bfi     r3, r9, #24, #8\n\t"                     \
        CLAMP                                             \
        "ldrd    r0, r1, [sp, #16]\n\t"                   \
        "str     r2, [r0], #4\n\t"                        \
        "str     r3, [r1], #4\n\t"                        \
        "strd    r0, r1, [sp, #16]\n\t"                   \
        "ldr     r0, [sp, #12]\n\t"                       \
        "add     r12, r12, #36\n\t"                       \
        "str     r12, [sp, #8]\n\t"                       \
        "cmp     r12, r0\n\t"                             \
        "bne     1b\n\t"                                  \
        "add     sp, sp, #32\n\t"                         \
        "pop     {r4-r11, pc}\n\t"                        \
        EXACT_STUB                                        \
        "7:\n\t"                                          \
        "bmi     9b\n\t"                                  \
        "b       8b\n\t")
/* A flagged block copies its accumulators to acc first. */
#define CONV4_EXACT_CHECK                                 \
    "ldr     r0, [r12, #96]\n\t"                          \
    "cmp     r0, #0\n\t"                                  \
    "bne     5f\n\t"                                      \
    "4:\n\t"
#define CONV4_EXACT_STUB                                  \
    "5:\n\t"                                              \
    "add     r0, r12, #100\n\t"                           \
    "stm     r0, {r2-r9}\n\t"                             \
    "b       4b\n\t"

__attribute__((naked, noinline)) static void conv4_run_full(conv_run_t *run)
{
    (void)run;
    CONV4_RUN("", "", "");
}

__attribute__((naked, noinline)) static void conv4_run_clamp(conv_run_t *run)
{
    (void)run;
    CONV4_RUN(CONV4_CLAMP, "", "");
}

/* Any range, flagged blocks. */
__attribute__((naked, noinline)) static void conv4_run_exact(conv_run_t *run)
{
    (void)run;
    CONV4_RUN(CONV4_CLAMP, CONV4_EXACT_CHECK, CONV4_EXACT_STUB);
}
#undef CONV4_EXACT_STUB
#undef CONV4_EXACT_CHECK
#undef CONV4_RUN
#undef CONV4_CLAMP
#undef CONV4_RQ
#undef CONV4_GROUP
#undef CONV4_HALF
#else
/* C model of the above (the clamp is a no-op for the full range). */
static void conv4_run_clamp(conv_run_t *run)
{
    const uint32_t *const end = conv_col4 + CONV_KMAX;
    const int32_t lo = (int8_t)run->lo4, hi = (int8_t)run->hi4;
    for (; run->blk != run->end; ++run->blk) {
        int32_t acc[8];
        memcpy(acc, run->blk->bias, sizeof acc);
        for (const uint32_t *c = run->col; c < end; c += 2) {
            for (int j = 0; j < 4; ++j) {
                acc[2 * j] = tp_smlad(c[0], run->w[j], acc[2 * j]);
                acc[2 * j + 1] = tp_smlad(c[1], run->w[j], acc[2 * j + 1]);
            }
            run->w += 4;
        }
        if (run->blk->exact) {
            memcpy(run->blk->acc, acc, sizeof acc);
        }
        for (int j = 0; j < 8 && !run->blk->exact; ++j) {
            const int32_t *q = run->blk->rq[j >> 1];
            const int32_t x = q[2] >= 32 ? 0 : (int32_t)((uint32_t)acc[j] << q[2]);
            const int32_t v = tp_sat8((tp_smmulr(x, q[0]) + q[1] + (x >> 31)) >> q[3]);
            (j & 1 ? run->outB : run->outA)[j >> 1] = tp_clamp8(v, lo, hi);
        }
        run->outA += 4;
        run->outB += 4;
    }
}

static void conv4_run_full(conv_run_t *run)
{
    conv4_run_clamp(run);
}

static void conv4_run_exact(conv_run_t *run)
{
    conv4_run_clamp(run);
}
#endif

/* Outputs of the flagged blocks from their accumulators, any channel's form. */
static void conv4_redo_exact(int32_t out_c, int8_t *outA, int8_t *outB, int32_t lo, int32_t hi)
{
    for (int32_t oc = 0; oc < out_c; oc += 4) {
        const conv_blk_t *bk = &conv_blk[oc >> 2];
        if (!bk->exact) {
            continue;
        }
        for (int j = 0; j < 4; ++j) {
            outA[oc + j] = tp_clamp8(fq_rq_any(bk->acc[2 * j], &conv_fq[oc + j]), lo, hi);
            outB[oc + j] = tp_clamp8(fq_rq_any(bk->acc[2 * j + 1], &conv_fq[oc + j]), lo, hi);
        }
    }
}

/* All four-channel blocks for the pixel pair in the column buffer. */
static inline void conv4_pair(conv_run_t *run, int full, int redo, int32_t out_c, int8_t *outA,
                              int8_t *outB)
{
    run->w = conv_wexp;
    run->blk = conv_blk;
    run->outA = outA;
    run->outB = outB;
    if (redo) {
        conv4_run_exact(run);
        conv4_redo_exact(out_c, outA, outB, (int8_t)run->lo4, (int8_t)run->hi4);
    } else if (full) {
        conv4_run_full(run);
    } else {
        conv4_run_clamp(run);
    }
}

void tp_conv2d_s8(const tp_conv2d_s8_params_t *p, const int8_t *input,
                  const int8_t *filter, const int32_t *bias, int8_t *output)
{
    const int32_t K = p->k_h * p->k_w * p->in_c;
    if (K > CONV_KMAX || p->out_c > CONV_CMAX || K <= 0) {
        tp_conv2d_s8_ref(p, input, filter, bias, output);
        return;
    }
    const uint32_t bound = tp_dot_bound(K, p->input_offset, 0);
    for (int32_t oc = 0; oc < p->out_c; ++oc) {
        tp_rq_prepare(&conv_rq[oc], p->out_mult[oc], p->out_shift[oc],
                      tp_add_bound(bound, bias ? bias[oc] : 0), p->output_offset);
    }
    int fast = (p->out_c & 1) == 0;
    int32_t Kf = K;
    const int8_t *fw = filter;
    if ((p->in_c & 3) != 0 && fast) {
        /* Taps not whole groups: the row order (fill_rows). */
        const int32_t Kp = (K + 3) & ~3;
        if (p->k_h * p->k_w > 1 && Kp <= CONV_KMAX && p->out_c * Kp <= CONV_WPADMAX) {
            conv_rows_filter(p, filter, K, Kp);
            Kf = Kp;
            fw = conv_wpad;
        } else {
            fast = 0;
        }
    }
    for (int32_t oc = 0; oc < p->out_c && fast; ++oc) {
        const tp_rq_t *q = &conv_rq[oc];
        conv_fq[oc].bias = bias ? bias[oc] : 0;
        conv_fq[oc].mult = q->mult;
        conv_fq[oc].rnd = q->rnd;
        conv_fq[oc].lsh1 = q->lsh1;
        conv_fq[oc].e = q->e;
        if (q->tier == 2) {
            continue;
        }
        /* A channel outside the fast form may still be a constant: then
         * the fast form with mult 0 (o = 0), e 0 and rnd = that output. */
        int32_t constant;
        if (tp_constant_output(K, p->input_offset, bias ? bias[oc] : 0, p->out_mult[oc], p->out_shift[oc],
                               p->output_offset, p->act_min, p->act_max, &constant)) {
            conv_fq[oc].mult = 0;
            conv_fq[oc].rnd = constant;
            conv_fq[oc].lsh1 = 1;
            conv_fq[oc].e = 0;
            continue;
        }
        /* Otherwise the exact routine, for this channel only. */
        conv_fq[oc].mult = p->out_mult[oc];
        conv_fq[oc].lsh1 = p->out_shift[oc];
        conv_fq[oc].rnd = p->output_offset;
        conv_fq[oc].e = -1;
    }
    const int full = p->act_min <= -128 && p->act_max >= 127;
    /* Both pixels' fields in one pass when whole taps are whole groups. */
    const int pairfill = fast && (p->in_c & 3) == 0;
    if (pairfill) {
        memset(conv_zp, (int8_t)(-p->input_offset), (size_t)p->in_c);
    }
    /* Four channels at a time when the expanded filter fits (the
     * expansion pays for itself from about eight output pixels). */
    const int use4 = fast && (p->out_c & 3) == 0
                     && (int64_t)p->out_c * Kf / 2 <= CONV_WEMAX
                     && (int64_t)p->batches * p->out_h * p->out_w >= 8;
    conv_run_t run;
    int redo = 0;   /* some block needs its outputs redone in C */
    if (use4) {
        expand_filter4(fw, Kf, p->out_c);
        for (int32_t oc = 0; oc < p->out_c; ++oc) {
            conv_blk_t *bk = &conv_blk[oc >> 2];
            const conv_fq_t *q = &conv_fq[oc];
            bk->bias[2 * (oc & 3)] = bk->bias[2 * (oc & 3) + 1] = q->bias;
            bk->rq[oc & 3][0] = q->mult;
            bk->rq[oc & 3][1] = q->rnd;
            bk->rq[oc & 3][2] = q->mult == 0 ? 32 : q->lsh1;
            bk->rq[oc & 3][3] = q->e;
            /* (the asm's rounding needs mult >= 0) */
            const int32_t ex = q->e < 0 || q->mult < 0;
            bk->exact = (oc & 3) ? bk->exact | ex : ex;
            redo |= ex;
        }
        run.col = conv_col4 + CONV_KMAX - Kf;
        run.end = conv_blk + (p->out_c >> 2);
        run.lo4 = (uint32_t)(uint8_t)p->act_min * 0x01010101u;
        run.hi4 = (uint32_t)(uint8_t)p->act_max * 0x01010101u;
    }
    uint32_t *const fill_dst = use4 ? conv_col4 + CONV_KMAX - Kf : conv_col;
    const uint32_t off2 = tp_dup16(p->input_offset);
    const int32_t npix = p->out_h * p->out_w;
    const int32_t out_c = p->out_c;

    if (use4 && pairfill && p->k_h == 1 && p->k_w == 1 && p->stride_h == 1 && p->stride_w == 1
        && p->pad_top == 0 && p->pad_left == 0 && p->out_h == p->in_h && p->out_w == p->in_w) {
        /* Pointwise, stride 1: output pixel i reads input pixel i, so a
         * pair's fields are adjacent and need no geometry. */
        const int32_t in_c = p->in_c;
        for (int32_t b = 0; b < p->batches; ++b) {
            const int8_t *in_b = input + (size_t)b * npix * in_c;
            int8_t *out_b = output + (size_t)b * npix * out_c;
            for (int32_t pix = 0; pix < npix; pix += 2) {
                const int8_t *srcA = in_b + (size_t)pix * in_c;
                const int8_t *srcB = srcA + in_c;
                int8_t *outA = out_b + (size_t)pix * out_c;
                int8_t *outB = outA + out_c;
                if (pix + 1 == npix) {
                    srcB = srcA;   /* odd pixel out: twice, one copy kept */
                    outB = conv_dummy;
                }
                expand_pair(fill_dst, srcA, srcB, in_c >> 2, off2);
                conv4_pair(&run, full, redo, out_c, outA, outB);
            }
        }
        return;
    }

    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + (size_t)b * p->in_h * p->in_w * p->in_c;
        int8_t *out_b = output + (size_t)b * npix * out_c;
        int32_t oy = 0, ox = 0;
        for (int32_t pix = 0; pix < npix; pix += 2) {
            const int32_t ay = oy, ax = ox;
            int8_t *outA = out_b + (size_t)pix * out_c;
            int8_t *outB = outA + out_c;
            if (++ox == p->out_w) {
                ox = 0;
                ++oy;
            }
            int32_t by = oy, bx = ox;
            if (pix + 1 < npix) {
                if (++ox == p->out_w) {
                    ox = 0;
                    ++oy;
                }
            } else {
                /* Odd pixel out: compute it twice, keep one copy. */
                by = ay;
                bx = ax;
                outB = conv_dummy;
            }
            if (pairfill) {
                fill_pair(p, in_b, ay, ax, by, bx, off2, fill_dst);
            } else if (fast) {
                fill_rows(p, in_b, ay, ax, by, bx, off2, fill_dst);
            } else {
                fill_slot(p, in_b, ay, ax, 0, K, off2, fill_dst);
                fill_slot(p, in_b, by, bx, 1, K, off2, fill_dst);
            }
            if (use4) {
                conv4_pair(&run, full, redo, out_c, outA, outB);
            } else if (!fast) {
                gemm_pair(p, filter, bias, K, outA, outB);
            } else if (full) {
                gemm_fast_full(fw, Kf, out_c, outA, outB);
            } else {
                gemm_fast_clamp(fw, Kf, out_c, outA, outB, p->act_min, p->act_max);
            }
        }
    }
}

#endif
