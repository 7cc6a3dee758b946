/* CONV_2D int8, DSP set: column buffers of two output pixels (the fills the
 * pair and four-channel paths share; conv2d_s8_paths.h has the layout). */
#ifndef TP_CONV2D_S8_COLUMNS_H
#define TP_CONV2D_S8_COLUMNS_H

#include "conv2d_s8_paths.h"

#if TP_OPT_SIMD

/* Staging for fields that reach into the padding, and the row order's tails. */
extern int8_t conv_stage[CONV_KMAX + 4], conv_stageB[CONV_KMAX + 4];
extern int8_t conv_tailA[CONV_KMAX + 4], conv_tailB[CONV_KMAX + 4];

/* The field of output pixel (oy, ox) into st as int8, kernel row after
 * kernel row, padded taps as the input zero point (out of line: only fields
 * reaching into the padding are staged). */
void stage_field(const tp_conv2d_s8_params_t *p, const int8_t *in_b, int32_t oy, int32_t ox,
                 int8_t *st);

/* Before fill_pair in a layer: conv_zp, the padding it reads. */
static inline void fill_pair_prepare(const tp_conv2d_s8_params_t *p)
{
    memset(conv_zp, (int8_t)(-p->input_offset), (size_t)p->in_c);
}

/* Column buffer (at dst) for output pixels A (ay, ax) and B (by, bx),
 * in_c % 4 == 0. A padded tap reads zero points (conv_zp), which become 0
 * with the offset. */
static inline void fill_pair(const tp_conv2d_s8_params_t *p, const int8_t *in_b, int32_t ay,
                             int32_t ax, int32_t by, int32_t bx, uint32_t off2, uint32_t *dst)
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

/* Receptive fields of whole taps not whole groups (e.g. a first layer with
 * three input channels). A kernel row of R = k_w * in_c bytes is contiguous
 * in the input, so the taps are taken in the row order: every row's first
 * R & ~3 bytes (whole groups, expanded straight from the row), then every
 * row's last R & 3 bytes gathered, zero-padded to a group (the filter is
 * permuted to match, conv_rows_filter). */
static inline void fill_rows(const tp_conv2d_s8_params_t *p, const int8_t *in_b, int32_t ay,
                             int32_t ax, int32_t by, int32_t bx, uint32_t off2, uint32_t *dst)
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

#endif /* TP_OPT_SIMD */

#endif
