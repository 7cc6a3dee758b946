/* CONV_2D int8, DSP set: what the path files (conv2d_s8_*.c here) share.
 *
 * The public tp_conv2d_s8 (../conv2d_s8.c) asks conv_plan (conv2d_s8_plan.c)
 * for one path and calls it. Every path computes two output pixels at a time
 * from a column buffer of their receptive fields as 16-bit (x + input_offset)
 * values, so each SMLAD does two multiply-accumulates. Padded taps become 0
 * there, which adds nothing, exactly like the reference that skips them. The
 * buffer holds, for every group of four taps k..k+3, the words
 *     A(k, k+2)  B(k, k+2)  A(k+1, k+3)  B(k+1, k+3)
 * (one LDRD fetches both pixels' halves), which is the lane order SXTB16 /
 * SXTB16 ROR #8 give the filter bytes, so the filter needs no reordering:
 * per group and output channel one word of weights feeds four SMLADs (two
 * pixels). Accumulation is exact int32 as in the reference; only the order of
 * additions differs. */
#ifndef TP_CONV2D_S8_PATHS_H
#define TP_CONV2D_S8_PATHS_H

#include "../tp_opt.h"
#include "tp_prepare.h"

#if TP_OPT_SIMD

#define CONV_KMAX 2048     /* taps per output (k_h * k_w * in_c); 3x3x160 layers are 1,440 */
#define CONV_CMAX 256      /* output channels */
#define CONV_WPADMAX 4096  /* bytes of a filter permuted to the row order */
#define CONV_BLKX 26       /* words per block of the four-channel stream besides the weights */
#define CONV_WEMAX (32768 + CONV_CMAX / 4 * CONV_BLKX)   /* stream words: out_c * K / 2 <= 256 x 256 */
#define CONV_COL4_ALIGN 8192   /* = sizeof conv_col4: the blocks' end-of-column test */

/* The paths, one file each (conv_plan picks one per layer). */
typedef enum {
    CONV_PATH_PORTABLE,        /* the reference kernel: the shape is out of the buffers' range */
    CONV_PATH_GENERIC,         /* two channels x two pixels, any requantisation per channel */
    CONV_PATH_PAIRS,           /* two channels x two pixels, fast requantisation */
    CONV_PATH_PAIRS_ROWS,      /* the same over a filter permuted to the row order */
    CONV_PATH_BLOCKS4,         /* four channels x two pixels on an expanded filter */
    CONV_PATH_BLOCKS4_ROWS,    /* the same in the row order */
    CONV_PATH_BLOCKS4_ROWS1,   /* the same, all kernel rows in one asm pass (R % 4 == 1) */
    CONV_PATH_POINTWISE,       /* 1x1 stride 1: all pixel pairs in one asm pass */
} conv_path_t;

conv_path_t conv_plan(const tp_conv2d_s8_params_t *p);
const char *conv_path_name(conv_path_t path);

/* Whether a path takes the taps in the row order (conv2d_s8_columns.h). */
static inline int conv_path_row_order(conv_path_t path)
{
    return path == CONV_PATH_PAIRS_ROWS || path == CONV_PATH_BLOCKS4_ROWS
           || path == CONV_PATH_BLOCKS4_ROWS1;
}

/* Taps per filter row as the fast paths read it: K padded to whole groups
 * (K itself when every tap is whole groups). */
static inline int32_t conv_filter_row_taps(const tp_conv2d_s8_params_t *p)
{
    return (p->k_h * p->k_w * p->in_c + 3) & ~3;
}

/* Per channel: the bias and the fast form of the requantisation together.
 * A constant channel is mult 0, lsh1 1, e 0, rnd = its output; a channel
 * for the exact routine is e -1 with the shift in lsh1 and the output
 * offset in rnd. */
typedef struct {
    int32_t bias, mult, rnd, lsh1, e;
} conv_fq_t;

/* A layer's work area (tp_prepare.h), filled once by conv_prepare: this
 * header, then per output channel the constants its path reads (tp_rq_t
 * for the generic path, conv_fq_t for the others), then for the row-order
 * paths the filter in that order. */
typedef struct {
    int32_t ready;             /* CONV_WORK_READY once prepared */
    int32_t path;              /* conv_path_t */
    int32_t kf;                /* taps per filter row as the path reads it */
    int32_t dbl_ok;            /* every channel allows doubled weights (conv4_setup) */
} conv_work_t;

#define CONV_WORK_READY 0x636f6e76   /* "conv" */
#define CONV_WORK_HEAD 4             /* words */
#define CONV_WORK_CHANNEL 8          /* words per output channel */
_Static_assert(sizeof(conv_work_t) == 4 * CONV_WORK_HEAD, "work header");
_Static_assert(sizeof(tp_rq_t) <= 4 * CONV_WORK_CHANNEL && sizeof(conv_fq_t) <= 4 * CONV_WORK_CHANNEL,
               "a channel's constants fit its words of work");
_Static_assert(TP_CONV2D_S8_WORK_WORDS(1, 4) == CONV_WORK_HEAD + CONV_WORK_CHANNEL
               && TP_CONV2D_S8_WORK_WORDS(1, 3) - TP_CONV2D_S8_WORK_WORDS(1, 4) == CONV_WPADMAX / 4,
               "tp_prepare.h sizes the work area as laid out here");

static inline tp_rq_t *conv_work_rq(int32_t *work)
{
    return (tp_rq_t *)(work + CONV_WORK_HEAD);
}

static inline conv_fq_t *conv_work_fq(int32_t *work)
{
    return (conv_fq_t *)(work + CONV_WORK_HEAD);
}

static inline int8_t *conv_work_rows(int32_t *work, int32_t out_c)
{
    return (int8_t *)(work + CONV_WORK_HEAD + CONV_WORK_CHANNEL * out_c);
}

/* Fills a layer's work area (conv2d_s8_prepare.c). */
void conv_prepare(int32_t *work, const tp_conv2d_s8_params_t *p, const int8_t *filter,
                  const int32_t *bias);

/* What the paths read besides the call's arguments, from the work area. */
typedef struct {
    const tp_rq_t *rq;         /* any tier (the generic path) */
    const conv_fq_t *fq;       /* fast form (the other paths) */
    const int8_t *filter;      /* rows of kf taps: the filter, or in the row order */
    int32_t kf;
    int32_t dbl_ok;
} conv_prep_t;

/* Working buffers (one set: a layer runs to the end before the next). */
extern uint32_t conv_col[CONV_KMAX + 4];   /* two pixels of 16-bit values */
extern int8_t conv_dummy[CONV_CMAX];       /* the odd pixel's second copy */
extern int8_t conv_zp[CONV_KMAX];          /* one input pixel of zero points */

/* The paths. */
void conv2d_s8_generic(const tp_conv2d_s8_params_t *p, const conv_prep_t *prep,
                       const int8_t *input, const int32_t *bias, int8_t *output);
void conv2d_s8_pairs(const tp_conv2d_s8_params_t *p, const conv_prep_t *prep,
                     const int8_t *input, int8_t *output);
void conv2d_s8_pairs_rows(const tp_conv2d_s8_params_t *p, const conv_prep_t *prep,
                          const int8_t *input, int8_t *output);
void conv2d_s8_blocks4(const tp_conv2d_s8_params_t *p, const conv_prep_t *prep,
                       const int8_t *input, int8_t *output);
void conv2d_s8_blocks4_rows(const tp_conv2d_s8_params_t *p, const conv_prep_t *prep,
                            const int8_t *input, int8_t *output);
void conv2d_s8_blocks4_rows1(const tp_conv2d_s8_params_t *p, const conv_prep_t *prep,
                             const int8_t *input, int8_t *output);
void conv2d_s8_pointwise(const tp_conv2d_s8_params_t *p, const conv_prep_t *prep,
                         const int8_t *input, int8_t *output);

/* n >= 1 groups of four int8 from each of a and b, into column-buffer order. */
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

static inline int32_t fq_rq(int32_t acc, const conv_fq_t *q)
{
    int32_t o = tp_smmulr((int32_t)((uint32_t)acc << q->lsh1), q->mult);
    return (o + q->rnd + (o >> 31)) >> q->e;
}

/* Any channel's form: e < 0 is the exact routine. */
static inline int32_t fq_rq_any(int32_t acc, const conv_fq_t *q)
{
    if (q->e < 0) {
        return tp_requantize(acc, q->mult, q->lsh1) + q->rnd;
    }
    return fq_rq(acc, q);
}

/* The activation range is all of int8: outputs saturate instead of clamping. */
static inline int conv_full_range(const tp_conv2d_s8_params_t *p)
{
    return p->act_min <= -128 && p->act_max >= 127;
}

#if !(defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP)
/* C model of the asm dot products of two pixels (column buffer c) x two
 * output channels (filter rows f0, f1) over g groups of four taps. */
static inline void dot_2x2_model(const uint32_t *c, const int8_t *f0, const int8_t *f1, int32_t g,
                                 int32_t *p00, int32_t *p01, int32_t *p10, int32_t *p11)
{
    int32_t a00 = *p00, a01 = *p01, a10 = *p10, a11 = *p11;
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
    *p00 = a00;
    *p01 = a01;
    *p10 = a10;
    *p11 = a11;
}
#endif

/* Every output pixel pair of the layer, in order: fill(p, in_b, A, B, ctx)
 * builds the column buffer of pixels A (ay, ax) and B (by, bx), then
 * compute(ctx, outA, outB) writes their outputs. An odd pixel out is
 * computed twice, one copy kept. Always inlined, so a path's constant fill
 * and compute are called directly. */
typedef void conv_fill_fn(const tp_conv2d_s8_params_t *p, const int8_t *in_b, int32_t ay,
                          int32_t ax, int32_t by, int32_t bx, void *ctx);
typedef void conv_compute_fn(const tp_conv2d_s8_params_t *p, void *ctx, int8_t *outA,
                             int8_t *outB);

static inline __attribute__((always_inline)) void
conv_pixel_pairs(const tp_conv2d_s8_params_t *p, const int8_t *input, int8_t *output,
                 conv_fill_fn *fill, conv_compute_fn *compute, void *ctx)
{
    const int32_t npix = p->out_h * p->out_w;
    const int32_t out_c = p->out_c;
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
                by = ay;
                bx = ax;
                outB = conv_dummy;
            }
            fill(p, in_b, ay, ax, by, bx, ctx);
            compute(p, ctx, outA, outB);
        }
    }
}

#endif /* TP_OPT_SIMD */

#endif
