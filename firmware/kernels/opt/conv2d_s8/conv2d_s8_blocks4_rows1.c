/* CONV_2D int8, DSP set: layers whose kernel row has one tap past its
 * whole groups (R = k_w * in_c, R % 4 == 1, e.g. 3 x 3 taps of three
 * channels) and at most four kernel rows (CONV_PATH_BLOCKS4_ROWS1): the
 * row order of conv2d_s8_columns.h with all rows of both fields expanded in
 * one asm pass, then the four-channel blocks. */
#include "conv2d_s8_blocks4.h"
#include "conv2d_s8_columns.h"

#if TP_OPT_SIMD

/* Both fields' rows in one asm pass, each row's last byte shifted into a
 * word that becomes the tail group (its unused top bytes are zero, met by
 * zero weights). */
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

void conv2d_s8_blocks4_rows1(const tp_conv2d_s8_params_t *p, const conv_prep_t *prep,
                             const int8_t *input, int8_t *output)
{
    conv4_t c;
    conv4_setup(&c, p, prep);
    uint32_t *const dst = conv4_col(prep->kf);
    const uint32_t off2 = tp_dup16(p->input_offset);
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
            conv4_pair(&c, prep->fq, out_c, outA, outB);
        }
    }
}

#endif
