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
 *     pass per pixel pair over all blocks of four channels (conv4_run_*,
 *     the stream built by conv4_build; blocks of constant channels are only
 *     stored), for pointwise stride-1 layers one asm pass over all pairs
 *     (conv4_pw_*);
 *   - two channels x two pixels (dot_2x2_u2) with the same requantisation;
 *   - the general two x two path (gemm_pair), any tier per channel.
 * Taps that are not whole groups (in_c % 4 != 0, e.g. a first layer with
 * three channels) are taken in a row order with a permuted, zero-padded
 * filter (fill_rows, conv_wpad) so the fast paths apply; with one tap past
 * each kernel row's groups, all rows in one asm pass (fill_rows1). */
#include "tp_opt.h"

#if !TP_OPT_SIMD

#include "../conv2d_s8.c"

#else

#define tp_conv2d_s8 tp_conv2d_s8_ref
#include "../conv2d_s8.c"
#undef tp_conv2d_s8

#define CONV_KMAX 2048     /* taps per output (k_h * k_w * in_c); 3x3x160 layers are 1,440 */
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

/* One tap past the whole groups of each kernel row (R % 4 == 1, e.g. 3 x 3
 * taps of three channels) and k_h <= 4: all rows of both fields in one asm
 * pass, each row's last byte shifted into a word that becomes the tail
 * group (its unused top bytes are zero, met by zero weights). */
typedef struct {
    uint32_t *dst;          /*  0 */
    const int8_t *a, *b;    /*  4, 8: first kernel rows of the two fields */
    int32_t sa, sb;         /* 12, 16: row steps less the row's groups */
    int32_t rows;           /* 20: k_h */
    uint32_t off2;          /* 24 */
    int32_t nb;             /* 28: whole groups per row, >= 1 */
    int32_t sh;             /* 32: 8 * (4 - rows) */
} conv_rows1_t;

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
__attribute__((naked, noinline)) static void fill_rows1(const conv_rows1_t *r)
{
    (void)r;
    __asm__ volatile(
        "push    {r4-r11, lr}\n\t"
        "ldr     r12, [r0, #28]\n\t"
        "ldr     lr, [r0, #32]\n\t"
        "push    {r12, lr}\n\t"            /* [sp] nb, [sp, #4] sh */
        "ldm     r0, {r1-r7}\n\t"
        "1:\n\t"
        "ldr     r12, [sp]\n\t"
        "2:\n\t"
        "ldr     r9, [r2], #4\n\t"
        "ldr     r10, [r3], #4\n\t"
        "sxtab16 r11, r7, r9, ror #8\n\t"
        "sxtab16 lr, r7, r10, ror #8\n\t"
        "sxtab16 r9, r7, r9\n\t"
        "sxtab16 r10, r7, r10\n\t"
        "stmia   r1!, {r9, r10, r11, lr}\n\t"
        "subs    r12, r12, #1\n\t"
        "bne     2b\n\t"
        "ldrb    r9, [r2]\n\t"             /* the row's last tap */
        "ldrb    r10, [r3]\n\t"
        "add     r2, r2, r4\n\t"
        "add     r3, r3, r5\n\t"
        "lsl     r9, r9, #24\n\t"
        "lsl     r10, r10, #24\n\t"
        "orr     r0, r9, r0, lsr #8\n\t"
        "orr     r8, r10, r8, lsr #8\n\t"
        "subs    r6, r6, #1\n\t"
        "bne     1b\n\t"
        "ldr     r12, [sp, #4]\n\t"        /* row 0's tap to byte 0 */
        "lsr     r0, r0, r12\n\t"
        "lsr     r8, r8, r12\n\t"
        "sxtab16 r11, r7, r0, ror #8\n\t"
        "sxtab16 lr, r7, r8, ror #8\n\t"
        "sxtab16 r9, r7, r0\n\t"
        "sxtab16 r10, r7, r8\n\t"
        "stmia   r1!, {r9, r10, r11, lr}\n\t"
        "add     sp, sp, #8\n\t"
        "pop     {r4-r11, pc}\n\t");
}
#else
static void fill_rows1(const conv_rows1_t *r)
{
    uint32_t *dst = r->dst;
    const int8_t *a = r->a, *b = r->b;
    uint32_t ta = 0, tb = 0;
    for (int32_t ky = 0; ky < r->rows; ++ky) {
        dst = expand_pair(dst, a, b, r->nb, r->off2);
        a += 4 * r->nb;
        b += 4 * r->nb;
        ta = ((uint32_t)(uint8_t)*a << 24) | (ta >> 8);
        tb = ((uint32_t)(uint8_t)*b << 24) | (tb >> 8);
        a += r->sa;
        b += r->sb;
    }
    ta >>= r->sh;
    tb >>= r->sh;
    dst[0] = tp_sxtab16(r->off2, ta);
    dst[1] = tp_sxtab16(r->off2, tb);
    dst[2] = tp_sxtab16_ror8(r->off2, ta);
    dst[3] = tp_sxtab16_ror8(r->off2, tb);
}
#endif

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
 * Everything a pass over the blocks reads is one stream, walked by one
 * pointer: per block of four channels
 *     bias[8]      each channel's bias twice (pixels A and B)
 *     weights      the filter expanded to 16-bit lanes, four channels
 *                  interleaved: per group of four taps the words
 *                  c0(k,k+2) c1(k,k+2) c2(k,k+2) c3(k,k+2) c0(k+1,k+3) ... c3(k+1,k+3)
 *     acc          where a flagged block keeps its accumulators, else 0
 *     rq[4][4]     per channel mult, lsh1, e, rnd (the fast form)
 *     out          the block's first channel (byte offset in a pixel's output)
 * so the inner loop only loads and multiplies, and no block pointer needs
 * to be kept between blocks. When every channel's left shift is the
 * doubling alone (lsh1 1) and there are enough pixels to pay for it, the
 * weights and biases are stored doubled: the accumulators then come out
 * shifted (mod 2^32, as the shift would leave them) and the requantisation
 * skips its two shifts per channel; a zero-multiplier channel gets zero
 * weights and bias, so its accumulators are 0 as the shift by 32 makes them.
 * A block of four constant channels (whose outputs do not depend on the
 * input) is left out of the stream: its four output bytes are stored per
 * pixel as one word (conv_cblk). The column buffer (CONV_KMAX words, 8 KiB)
 * ends on an 8 KiB boundary, which ends the loop without a counter. */
#define CONV_BLKX 26       /* stream words per block besides the weights */
#define CONV_WEMAX (32768 + CONV_CMAX / 4 * CONV_BLKX)   /* out_c * K / 2 <= 256 x 256 */
static uint32_t conv_wexp[CONV_WEMAX];
#define CONV_COL4_ALIGN 8192   /* = sizeof conv_col4: the "lsls #19" end test below */
_Static_assert(CONV_KMAX * 4 == CONV_COL4_ALIGN, "the column buffer must fill its alignment block");
static uint32_t conv_col4[CONV_KMAX] __attribute__((aligned(CONV_COL4_ALIGN)));

/* A block with a channel for the exact routine is flagged: its
 * accumulators are kept in acc and its outputs are redone in C. */
typedef struct {
    int32_t exact;
    int32_t acc[8];
} conv_blk_t;

static conv_blk_t conv_blk[CONV_CMAX / 4];

/* A block of four constant channels: its first channel and output bytes. */
typedef struct {
    int32_t out;
    uint32_t val;
} conv_cblk_t;

static conv_cblk_t conv_cblk[CONV_CMAX / 4];
static int32_t conv_ncblk;

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
/* The weights of nblk >= 1 blocks of four filter rows of K = 4 * G taps,
 * G >= 1, into the stream (d: the first block's weights): per group four
 * loads, and each half of the eight words in one STM (1 + 4 cycles, not
 * 4 x 2). */
#define EXPAND4(DBL)                                 \
    __asm__ volatile(                                \
        "push    {r1, r2, r4-r11, lr}\n\t"       \
        "1:\n\t"                                 \
        "ldr     r1, [sp]\n\t"               /* K */ \
        "mov     r4, r0\n\t"                 /* the four rows */ \
        "add     r5, r4, r1\n\t"                 \
        "add     r6, r5, r1\n\t"                 \
        "add     r7, r6, r1\n\t"                 \
        "lsr     lr, r1, #2\n\t"             /* groups */ \
        "2:\n\t"                                 \
        "ldr     r8, [r4], #4\n\t"               \
        "ldr     r9, [r5], #4\n\t"               \
        "ldr     r10, [r6], #4\n\t"              \
        "ldr     r11, [r7], #4\n\t"              \
        "sxtb16  r0, r8\n\t"                     \
        "sxtb16  r1, r9\n\t"                     \
        "sxtb16  r2, r10\n\t"                    \
        "sxtb16  r12, r11\n\t"                   \
        DBL                                      \
        "stmia   r3!, {r0, r1, r2, r12}\n\t"     \
        "sxtb16  r0, r8, ror #8\n\t"             \
        "sxtb16  r1, r9, ror #8\n\t"             \
        "sxtb16  r2, r10, ror #8\n\t"            \
        "sxtb16  r12, r11, ror #8\n\t"           \
        DBL                                      \
        "stmia   r3!, {r0, r1, r2, r12}\n\t"     \
        "subs    lr, lr, #1\n\t"                 \
        "bne     2b\n\t"                         \
        "add     r3, r3, #4 * 26\n\t"        /* CONV_BLKX: to the next block's weights */ \
        "mov     r0, r7\n\t"                 /* the next block's first row */ \
        "ldr     r2, [sp, #4]\n\t"               \
        "subs    r2, r2, #1\n\t"                 \
        "str     r2, [sp, #4]\n\t"               \
        "bne     1b\n\t"                         \
        "pop     {r1, r2, r4-r11, pc}\n\t")
#define EXPAND4_DBL                                  \
    "sadd16  r0, r0, r0\n\t"                       \
    "sadd16  r1, r1, r1\n\t"                       \
    "sadd16  r2, r2, r2\n\t"                       \
    "sadd16  r12, r12, r12\n\t"

__attribute__((naked, noinline)) static void expand4(const int8_t *filter, int32_t K,
                                                    int32_t nblk, uint32_t *d)
{
    EXPAND4("");
}

/* The same, doubled. */
__attribute__((naked, noinline)) static void expand4_dbl(const int8_t *filter, int32_t K,
                                                        int32_t nblk, uint32_t *d)
{
    EXPAND4(EXPAND4_DBL);
}
#undef EXPAND4_DBL
#undef EXPAND4

static void expand_filter4(const int8_t *filter, int32_t K, int32_t out_c, int dbl, uint32_t *d)
{
    (dbl ? expand4_dbl : expand4)(filter, K, out_c >> 2, d);
}
#else
/* Both 16-bit lanes doubled (SADD16 of x and x). */
static inline uint32_t dbl16(uint32_t x)
{
    return (x << 1) & 0xFFFEFFFFu;
}

static void expand_filter4(const int8_t *filter, int32_t K, int32_t out_c, int dbl, uint32_t *d)
{
    const int32_t G = K >> 2;
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
            for (int j = 0; j < 8 && dbl; ++j) {
                d[j] = dbl16(d[j]);
            }
            d += 8;
        }
        d += CONV_BLKX;
    }
}
#endif

/* State of the passes over the blocks (offsets used by the asm). The
 * pointwise pairs run on from one pass to the next (the _pw passes, npair
 * pairs, the first one's column buffer filled): the next pair's pixels are
 * expanded from src in the asm. */
typedef struct {
    const uint32_t *col;     /*  0: column buffer, ends on the 8 KiB boundary */
    int8_t *outA, *outB;     /*  4, 8: outputs of pixels A and B */
    const uint32_t *end;     /* 12: end of the stream */
    uint32_t lo4, hi4;       /* 16, 20: activation range in every byte */
    const uint32_t *w;       /* 24: the stream */
    const int8_t *src;       /* 28: next pair's pixel A (B follows) */
    int32_t npair;           /* 32 */
    int32_t in_c;            /* 36: bytes a pixel, a multiple of 4 */
    int32_t ostep;           /* 40: 2 * out_c */
    uint32_t off2;           /* 44: input offset in both lanes */
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
/* One channel's two accumulators a, b to saturated int8 (constants from the
 * stream: mult r0, lsh1 r10, e r11, rnd r12; lr is scratch). SMMLAR adds
 * rnd to SMMULR's result; the rounding's -1 for a negative product takes
 * the sign of the shifted accumulator, the same for mult > 0 except when
 * the product rounds to 0, where rnd (an odd multiple of 2^(e-1), e >= 1)
 * keeps the -1 from crossing a multiple of 2^e. A zero mult comes with
 * lsh1 32, which shifts the accumulator to 0. */
#define CONV4_RQ(a, b)                                \
    "ldm     r1!, {r0, r10, r11, r12}\n\t"           \
    "lsl     " a ", " a ", r10\n\t"                  \
    "lsl     " b ", " b ", r10\n\t"                  \
    "smmlar  lr, " a ", r0, r12\n\t"                 \
    "add     " a ", lr, " a ", asr #31\n\t"          \
    "smmlar  lr, " b ", r0, r12\n\t"                 \
    "add     " b ", lr, " b ", asr #31\n\t"          \
    "asr     " a ", " a ", r11\n\t"                  \
    "asr     " b ", " b ", r11\n\t"                  \
    "ssat    " a ", #8, " a "\n\t"                   \
    "ssat    " b ", #8, " b "\n\t"
/* The same for doubled weights: no shifts. */
#define CONV4_RQ_DBL(a, b)                            \
    "ldm     r1!, {r0, r10, r11, r12}\n\t"           \
    "smmlar  lr, " a ", r0, r12\n\t"                 \
    "add     " a ", lr, " a ", asr #31\n\t"          \
    "smmlar  lr, " b ", r0, r12\n\t"                 \
    "add     " b ", lr, " b ", asr #31\n\t"          \
    "asr     " a ", " a ", r11\n\t"                  \
    "asr     " b ", " b ", r11\n\t"                  \
    "ssat    " a ", #8, " a "\n\t"                   \
    "ssat    " b ", #8, " b "\n\t"
/* Clamp the packed outputs r2 (A) and r3 (B) to [lo4, hi4] per byte. */
#define CONV4_CLAMP                                   \
    "ldrd    r0, r12, [sp, #16]\n\t"                 \
    "ssub8   lr, r2, r0\n\t"                         \
    "sel     r2, r2, r0\n\t"                         \
    "ssub8   lr, r12, r2\n\t"                        \
    "sel     r2, r2, r12\n\t"                        \
    "ssub8   lr, r3, r0\n\t"                         \
    "sel     r3, r3, r0\n\t"                         \
    "ssub8   lr, r12, r3\n\t"                        \
    "sel     r3, r3, r12\n\t"
/* For every block of the stream: accumulators from the biases, the dot
 * products over the column buffer (four groups per iteration; as the buffer
 * ends on the 8 KiB boundary, bits 5:4 of its start are minus the group
 * count mod 4, which picks the entry), the acc word (EXACT), requantisation,
 * packing (BFI) and the two word stores at the block's channels. The
 * stream pointer stays in r1; the stack starts with the first six words of
 * the state (ENTRY), and NEXT follows the last block. */
#define CONV4_RUN(ENTRY, NEXT, RQ, CLAMP, EXACT_CHECK, EXACT_STUB) \
    __asm__ volatile(                                     \
        "push    {r4-r11, lr}\n\t"                        \
        ENTRY                                             \
        "1:\n\t"                                          \
        "ldr     r0, [sp]\n\t"                            \
        "ldm     r1!, {r2-r9}\n\t"                        \
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
        "lsls    r12, r0, #19\n\t"                        \
        "bne     2b\n\t"                                  \
        EXACT_CHECK                                       \
        RQ("r2", "r3")                                    \
        RQ("r4", "r5")                                    \
        RQ("r6", "r7")                                    \
        RQ("r8", "r9")                                    \
        "bfi     r2, r4, #8, #8\n\t"                      \
        "bfi     r3, r5, #8, #8\n\t"                      \
        "bfi     r2, r6, #16, #8\n\t"                     \
        "bfi     r3, r7, #16, #8\n\t"                     \
        "bfi     r2, r8, #24, #8\n\t"                     \
        "bfi     r3, r9, #24, #8\n\t"                     \
        CLAMP                                             \
        "ldrd    r0, r12, [sp, #4]\n\t"                   \
        "ldr     lr, [r1], #4\n\t"                        \
        "str     r2, [r0, lr]\n\t"                        \
        "str     r3, [r12, lr]\n\t"                       \
        "ldr     r0, [sp, #12]\n\t"                       \
        "cmp     r1, r0\n\t"                              \
        "bne     1b\n\t"                                  \
        NEXT                                              \
        EXACT_STUB                                        \
        "7:\n\t"                                          \
        "bmi     9b\n\t"                                  \
        "b       8b\n\t")
/* One pixel pair. */
#define CONV4_ONE_ENTRY                                   \
    "ldr     r1, [r0, #24]\n\t"                           \
    "ldm     r0, {r2-r7}\n\t"                             \
    "push    {r2-r7}\n\t"
#define CONV4_ONE_NEXT                                    \
    "add     sp, sp, #24\n\t"                             \
    "pop     {r4-r11, pc}\n\t"
/* Pointwise pairs: the whole state on the stack; between pairs the outputs
 * step on and the next pair's pixels are expanded (as expand_pair). */
#define CONV4_PW_ENTRY                                    \
    "ldm     r0, {r1-r12}\n\t"                            \
    "push    {r1-r12}\n\t"                                \
    "ldr     r1, [sp, #24]\n\t"
#define CONV4_PW_NEXT                                     \
    "ldr     r0, [sp, #32]\n\t"                           \
    "subs    r0, r0, #1\n\t"                              \
    "beq     6f\n\t"                                      \
    "str     r0, [sp, #32]\n\t"                           \
    "ldrd    r2, r3, [sp, #4]\n\t"                        \
    "ldr     r4, [sp, #40]\n\t"                           \
    "add     r2, r2, r4\n\t"                              \
    "add     r3, r3, r4\n\t"                              \
    "strd    r2, r3, [sp, #4]\n\t"                        \
    "ldr     r2, [sp, #28]\n\t"                           \
    "ldr     r5, [sp, #36]\n\t"                           \
    "add     r3, r2, r5\n\t"                              \
    "add     r4, r3, r5\n\t"                              \
    "str     r4, [sp, #28]\n\t"                           \
    "ldr     r0, [sp]\n\t"                                \
    "ldr     r12, [sp, #44]\n\t"                          \
    "lsr     r5, r5, #2\n\t"                              \
    "10:\n\t"                                             \
    "ldr     r6, [r2], #4\n\t"                            \
    "ldr     r7, [r3], #4\n\t"                            \
    "sxtab16 r8, r12, r6\n\t"                             \
    "sxtab16 r9, r12, r7\n\t"                             \
    "sxtab16 r10, r12, r6, ror #8\n\t"                    \
    "sxtab16 r11, r12, r7, ror #8\n\t"                    \
    "stmia   r0!, {r8-r11}\n\t"                           \
    "subs    r5, r5, #1\n\t"                              \
    "bne     10b\n\t"                                     \
    "ldr     r1, [sp, #24]\n\t"                           \
    "b       1b\n\t"                                      \
    "6:\n\t"                                              \
    "add     sp, sp, #48\n\t"                             \
    "pop     {r4-r11, pc}\n\t"
/* Without flagged blocks the acc word is skipped. */
#define CONV4_SKIP_ACC "add     r1, r1, #4\n\t"
/* A flagged block copies its accumulators to acc first. */
#define CONV4_EXACT_CHECK                                 \
    "ldr     r12, [r1], #4\n\t"                           \
    "cmp     r12, #0\n\t"                                 \
    "bne     5f\n\t"                                      \
    "4:\n\t"
#define CONV4_EXACT_STUB                                  \
    "5:\n\t"                                              \
    "stm     r12, {r2-r9}\n\t"                            \
    "b       4b\n\t"

/* One naked routine per combination of entry (any layer / pointwise pass),
 * requantisation (plain / doubled weights) and range (full / clamped). */
#define CONV4_VARIANT(name, entry, next, rq, clamp)                            \
    __attribute__((naked, noinline)) static void name(conv_run_t *run)      \
    {                                                                        \
        (void)run;                                                           \
        CONV4_RUN(entry, next, rq, clamp, CONV4_SKIP_ACC, "");               \
    }
CONV4_VARIANT(conv4_run_full, CONV4_ONE_ENTRY, CONV4_ONE_NEXT, CONV4_RQ, "")
CONV4_VARIANT(conv4_pw_full, CONV4_PW_ENTRY, CONV4_PW_NEXT, CONV4_RQ, "")
CONV4_VARIANT(conv4_run_clamp, CONV4_ONE_ENTRY, CONV4_ONE_NEXT, CONV4_RQ, CONV4_CLAMP)
CONV4_VARIANT(conv4_pw_clamp, CONV4_PW_ENTRY, CONV4_PW_NEXT, CONV4_RQ, CONV4_CLAMP)
CONV4_VARIANT(conv4_run_full_dbl, CONV4_ONE_ENTRY, CONV4_ONE_NEXT, CONV4_RQ_DBL, "")
CONV4_VARIANT(conv4_pw_full_dbl, CONV4_PW_ENTRY, CONV4_PW_NEXT, CONV4_RQ_DBL, "")
CONV4_VARIANT(conv4_run_clamp_dbl, CONV4_ONE_ENTRY, CONV4_ONE_NEXT, CONV4_RQ_DBL, CONV4_CLAMP)
CONV4_VARIANT(conv4_pw_clamp_dbl, CONV4_PW_ENTRY, CONV4_PW_NEXT, CONV4_RQ_DBL, CONV4_CLAMP)
#undef CONV4_VARIANT

/* Any range, flagged blocks. */
__attribute__((naked, noinline)) static void conv4_run_exact(conv_run_t *run)
{
    (void)run;
    CONV4_RUN(CONV4_ONE_ENTRY, CONV4_ONE_NEXT, CONV4_RQ, CONV4_CLAMP, CONV4_EXACT_CHECK,
              CONV4_EXACT_STUB);
}
#undef CONV4_EXACT_STUB
#undef CONV4_EXACT_CHECK
#undef CONV4_SKIP_ACC
#undef CONV4_PW_NEXT
#undef CONV4_PW_ENTRY
#undef CONV4_ONE_NEXT
#undef CONV4_ONE_ENTRY
#undef CONV4_RUN
#undef CONV4_CLAMP
#undef CONV4_RQ_DBL
#undef CONV4_RQ
#undef CONV4_GROUP
#undef CONV4_HALF
#else
/* C model of the above (the clamp is a no-op for the full range; doubled
 * weights come with lsh1 0 in the stream). */
static void conv4_run_clamp(conv_run_t *run)
{
    const uint32_t *const end = conv_col4 + CONV_KMAX;
    const int32_t lo = (int8_t)run->lo4, hi = (int8_t)run->hi4;
    const uint32_t *w = run->w;
    while (w != run->end) {
        conv_blk_t *const bk = &conv_blk[w[8 + 2 * (end - run->col) + 17] >> 2];
        int32_t acc[8];
        memcpy(acc, w, sizeof acc);
        w += 8;
        for (const uint32_t *c = run->col; c < end; c += 2) {
            for (int j = 0; j < 4; ++j) {
                acc[2 * j] = tp_smlad(c[0], w[j], acc[2 * j]);
                acc[2 * j + 1] = tp_smlad(c[1], w[j], acc[2 * j + 1]);
            }
            w += 4;
        }
        if (bk->exact) {   /* (the acc word is an address only on the target) */
            memcpy(bk->acc, acc, sizeof acc);
        }
        ++w;
        for (int j = 0; j < 8 && !bk->exact; ++j) {
            const int32_t *q = (const int32_t *)w + 4 * (j >> 1);
            const int32_t x = q[1] >= 32 ? 0 : (int32_t)((uint32_t)acc[j] << q[1]);
            const int32_t v = tp_sat8((tp_smmulr(x, q[0]) + q[3] + (x >> 31)) >> q[2]);
            (j & 1 ? run->outB : run->outA)[w[16] + (j >> 1)] = tp_clamp8(v, lo, hi);
        }
        w += 17;
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

static void conv4_run_full_dbl(conv_run_t *run)
{
    conv4_run_clamp(run);
}

static void conv4_run_clamp_dbl(conv_run_t *run)
{
    conv4_run_clamp(run);
}

static void conv4_pw_clamp(conv_run_t *run)
{
    for (;;) {
        conv4_run_clamp(run);
        if (--run->npair == 0) {
            return;
        }
        run->outA += run->ostep;
        run->outB += run->ostep;
        expand_pair(conv_col4 + CONV_KMAX - run->in_c, run->src, run->src + run->in_c,
                    run->in_c >> 2, run->off2);
        run->src += 2 * run->in_c;
    }
}

static void conv4_pw_full(conv_run_t *run)
{
    conv4_pw_clamp(run);
}

static void conv4_pw_full_dbl(conv_run_t *run)
{
    conv4_pw_clamp(run);
}

static void conv4_pw_clamp_dbl(conv_run_t *run)
{
    conv4_pw_clamp(run);
}
#endif

/* The stream from the filter (K taps a row) and conv_fq, dbl as above,
 * and the constant blocks (outputs clamped to [lo, hi]); returns the end of
 * the stream, *redo whether a block is flagged. */
static uint32_t *conv4_build(const int8_t *filter, int32_t K, int32_t out_c, int dbl, int32_t lo,
                             int32_t hi, int *redo)
{
    uint32_t *s = conv_wexp;
    *redo = 0;
    conv_ncblk = 0;
    for (int32_t oc = 0; oc < out_c; oc += 4) {
        const conv_fq_t *const q = &conv_fq[oc];
        conv_blk_t *bk = &conv_blk[oc >> 2];
        bk->exact = 0;
        if ((q[0].mult | q[1].mult | q[2].mult | q[3].mult) == 0
            && (q[0].e | q[1].e | q[2].e | q[3].e) >= 0) {
            /* the asm's result for mult 0 */
            uint32_t v = 0;
            for (int j = 0; j < 4; ++j) {
                v |= (uint32_t)(uint8_t)tp_clamp8(tp_sat8(q[j].rnd >> q[j].e), lo, hi) << (8 * j);
            }
            conv_cblk[conv_ncblk].out = oc;
            conv_cblk[conv_ncblk].val = v;
            ++conv_ncblk;
            continue;
        }
        expand_filter4(filter + (size_t)oc * K, K, 4, dbl, s + 8);
        for (int j = 0; j < 4; ++j) {
            int32_t *rq = (int32_t *)s + 9 + 2 * K + 4 * j;
            s[2 * j] = s[2 * j + 1] = (uint32_t)q[j].bias << dbl;
            rq[0] = q[j].mult;
            rq[1] = q[j].mult == 0 ? 32 : q[j].lsh1 - dbl;
            if (dbl && q[j].mult == 0) {
                s[2 * j] = s[2 * j + 1] = 0;
                for (int32_t k = 0; k < 2 * K; k += 4) {
                    s[8 + k + j] = 0;
                }
            }
            rq[2] = q[j].e;
            rq[3] = q[j].rnd;
            /* (the asm's rounding needs mult >= 0) */
            bk->exact |= q[j].e < 0 || q[j].mult < 0;
        }
        s[8 + 2 * K] = bk->exact ? (uint32_t)(uintptr_t)bk->acc : 0;
        s[25 + 2 * K] = (uint32_t)oc;
        *redo |= bk->exact;
        s += 2 * K + CONV_BLKX;
    }
    return s;
}

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

typedef void conv4_run_fn(conv_run_t *run);

/* The constant blocks' outputs of one pixel. */
static inline void conv4_const(int8_t *out)
{
    for (int32_t i = 0; i < conv_ncblk; ++i) {
        __builtin_memcpy(out + conv_cblk[i].out, &conv_cblk[i].val, 4);
    }
}

/* All four-channel blocks for the pixel pair in the column buffer (fn: the
 * pass for the call's range and stream; redo: some block is flagged). */
static inline void conv4_pair(conv_run_t *run, conv4_run_fn *fn, int redo, int32_t out_c,
                              int8_t *outA, int8_t *outB)
{
    run->w = conv_wexp;
    run->outA = outA;
    run->outB = outB;
    if (run->end != conv_wexp) {
        fn(run);
    }
    conv4_const(outA);
    conv4_const(outB);
    if (redo) {
        conv4_redo_exact(out_c, outA, outB, (int8_t)run->lo4, (int8_t)run->hi4);
    }
}

/* Walks the output pixels of one batch in order; in (byte offset of the
 * field's first tap, may be negative) and inside follow each step, so a
 * field is found without geometry per pixel. */
typedef struct {
    int32_t oy, ox, iy0, ix0;
    ptrdiff_t row, off;
} conv_walk_t;

static inline void walk_next(const tp_conv2d_s8_params_t *p, conv_walk_t *w)
{
    w->ix0 += p->stride_w;
    w->off += (ptrdiff_t)p->stride_w * p->in_c;
    if (++w->ox == p->out_w) {
        w->ox = 0;
        ++w->oy;
        w->ix0 = -p->pad_left;
        w->iy0 += p->stride_h;
        w->row += (ptrdiff_t)p->stride_h * p->in_w * p->in_c;
        w->off = w->row;
    }
}

/* The field of the walk's pixel for fill_rows1: in place when inside (row
 * step less the groups in *s), else staged into st. */
static inline const int8_t *walk_field(const tp_conv2d_s8_params_t *p, const int8_t *in_b,
                                       const conv_walk_t *w, int32_t ix_max, int32_t iy_max,
                                       int32_t s_in, int32_t s_st, int8_t *st, int32_t *s)
{
    if (w->ix0 >= 0 && w->ix0 <= ix_max && w->iy0 >= 0 && w->iy0 <= iy_max) {
        *s = s_in;
        return in_b + w->off;
    }
    stage_field(p, in_b, w->oy, w->ox, st);
    *s = s_st;
    return st;
}

/* All pixel pairs of a layer for fill_rows1 (R % 4 == 1, k_h <= 4) and the
 * four-channel blocks. */
static void conv4_rows1(const tp_conv2d_s8_params_t *p, const int8_t *input, int8_t *output,
                        conv_run_t *run, conv4_run_fn *fn, int redo, uint32_t off2,
                        uint32_t *dst)
{
    const int32_t in_c = p->in_c, R = p->k_w * in_c, body = R & ~3;
    const int32_t npix = p->out_h * p->out_w, out_c = p->out_c;
    /* Fields inside: columns ix0 in [0, ix_max], rows iy0 in [0, iy_max]. */
    const int32_t ix_max = p->dil_w == 1 ? p->in_w - p->k_w : -1;
    const int32_t iy_max = p->in_h - 1 - (p->k_h - 1) * p->dil_h;
    const int32_t s_in = p->dil_h * p->in_w * in_c - body, s_st = R - body;
    conv_rows1_t r = {dst, NULL, NULL, 0, 0, p->k_h, off2, body >> 2, 8 * (4 - p->k_h)};
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + (size_t)b * p->in_h * p->in_w * in_c;
        int8_t *out_b = output + (size_t)b * npix * out_c;
        conv_walk_t w = {0, 0, -p->pad_top, -p->pad_left, 0, 0};
        w.row = ((ptrdiff_t)w.iy0 * p->in_w + w.ix0) * in_c;
        w.off = w.row;
        for (int32_t pix = 0; pix < npix; pix += 2) {
            int8_t *outA = out_b + (size_t)pix * out_c;
            int8_t *outB = outA + out_c;
            r.a = walk_field(p, in_b, &w, ix_max, iy_max, s_in, s_st, conv_stage, &r.sa);
            walk_next(p, &w);
            if (pix + 1 < npix) {
                r.b = walk_field(p, in_b, &w, ix_max, iy_max, s_in, s_st, conv_stageB, &r.sb);
                walk_next(p, &w);
            } else {
                /* Odd pixel out: compute it twice, keep one copy. */
                r.b = r.a;
                r.sb = r.sa;
                outB = conv_dummy;
            }
            r.dst = dst;
            fill_rows1(&r);
            conv4_pair(run, fn, redo, out_c, outA, outB);
        }
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
                     && (int64_t)(p->out_c >> 2) * (2 * Kf + CONV_BLKX) <= CONV_WEMAX
                     && (int64_t)p->batches * p->out_h * p->out_w >= 8;
    conv_run_t run;
    int redo = 0;   /* some block needs its outputs redone in C */
    conv4_run_fn *fn = NULL;
    int dbl = 0;
    if (use4) {
        /* Doubled weights when no channel is flagged and their extra
         * expansion cost (a cycle per word) is below the shifts saved (two
         * per channel and pixel pair). */
        dbl = (int64_t)p->batches * p->out_h * p->out_w > Kf / 2;
        for (int32_t oc = 0; oc < p->out_c && dbl; ++oc) {
            const conv_fq_t *q = &conv_fq[oc];
            dbl = q->e >= 0 && q->mult >= 0 && (q->mult == 0 || q->lsh1 == 1);
        }
        run.end = conv4_build(fw, Kf, p->out_c, dbl, p->act_min, p->act_max, &redo);
        fn = redo ? conv4_run_exact
             : dbl ? (full ? conv4_run_full_dbl : conv4_run_clamp_dbl)
             : (full ? conv4_run_full : conv4_run_clamp);
        run.col = conv_col4 + CONV_KMAX - Kf;
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
        /* Whole pairs in one asm call when no block is flagged. */
        const int32_t pw = redo ? 0 : npix >> 1;
        conv4_run_fn *const fpw = dbl ? (full ? conv4_pw_full_dbl : conv4_pw_clamp_dbl)
                                      : (full ? conv4_pw_full : conv4_pw_clamp);
        for (int32_t b = 0; b < p->batches; ++b) {
            const int8_t *in_b = input + (size_t)b * npix * in_c;
            int8_t *out_b = output + (size_t)b * npix * out_c;
            if (pw > 0) {
                expand_pair(fill_dst, in_b, in_b + in_c, in_c >> 2, off2);
                run.w = conv_wexp;
                run.outA = out_b;
                run.outB = out_b + out_c;
                run.src = in_b + 2 * in_c;
                run.npair = pw;
                run.in_c = in_c;
                run.ostep = 2 * out_c;
                run.off2 = off2;
                if (run.end != conv_wexp) {
                    fpw(&run);
                }
                for (int32_t pix = 0; pix < 2 * pw && conv_ncblk > 0; ++pix) {
                    conv4_const(out_b + (size_t)pix * out_c);
                }
            }
            for (int32_t pix = 2 * pw; pix < npix; pix += 2) {
                const int8_t *srcA = in_b + (size_t)pix * in_c;
                const int8_t *srcB = srcA + in_c;
                int8_t *outA = out_b + (size_t)pix * out_c;
                int8_t *outB = outA + out_c;
                if (pix + 1 == npix) {
                    srcB = srcA;   /* odd pixel out: twice, one copy kept */
                    outB = conv_dummy;
                }
                expand_pair(fill_dst, srcA, srcB, in_c >> 2, off2);
                conv4_pair(&run, fn, redo, out_c, outA, outB);
            }
        }
        return;
    }

    const int32_t R = p->k_w * p->in_c;
    if (use4 && fast && !pairfill && (R & 3) == 1 && R > 4 && p->k_h <= 4) {
        conv4_rows1(p, input, output, &run, fn, redo, off2, fill_dst);
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
                conv4_pair(&run, fn, redo, out_c, outA, outB);
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
