/* DEPTHWISE_CONV_2D int8, optimized: what the public function
 * (../depthwise_conv2d_s8.c) and its paths (one per file in this folder)
 * share. Like TFLM's Prepare and Eval: once per model
 * (tp_depthwise_conv2d_s8_prepare, outside the timed inference) the layer
 * is prepared into its words p->prepared (dw_s8_prepare.c: folded biases,
 * requantisation constants), dw_plan picks one path by named predicates
 * (like CMSIS-NN's wrapper choosing among its depthwise kernels) and that
 * path lays out its weight stream there; every call then runs that path.
 *
 * The paths, fastest first (each takes only layers its predicate admits):
 *   DW_PATH_3X3_PLANES  3x3, stride 1, dilation 1, wide rows: per channel
 *                       planes of int16 columns, SMLAD over two taps;
 *   DW_PATH_3X3_ROWS    3x3: zero-point-padded input rows, two output rows
 *                       per pass;
 *   DW_PATH_GENERIC     any kernel up to DW_TMAX taps, four channels per
 *                       pass through a per-pixel tap table;
 *   DW_PATH_MULTIPLIER  depth multiplier above 1, any kernel up to DW_TMAX
 *                       taps: SMLAD over tap pairs shared by the outputs of
 *                       one input channel;
 *   DW_PATH_PORTABLE    the reference kernel, for shapes outside all of
 *                       them (dw_portable). */
#ifndef DW_S8_H
#define DW_S8_H

#include "../tp_opt.h"

#if TP_OPT_SIMD

/* Inline-asm text: one tap of four channels. X names the operand holding the
 * four int8 inputs (destroyed); we and wo hold the tap's weights of the even
 * and odd channels as 16-bit lanes; a0..a3 accumulate; e is scratch. */
#define DW_TAP4_ASM(X)                                   \
    "sxtb16  %[e], %[" X "]\n\t"                          \
    "sxtb16  %[" X "], %[" X "], ror #8\n\t"               \
    "smlabb  %[a0], %[e], %[we], %[a0]\n\t"               \
    "smlatt  %[a2], %[e], %[we], %[a2]\n\t"               \
    "smlabb  %[a1], %[" X "], %[wo], %[a1]\n\t"           \
    "smlatt  %[a3], %[" X "], %[wo], %[a3]\n\t"

#define DW_TMAX 32         /* taps (k_h * k_w): the generic and multiplier paths' tap tables */
#define DW_K 3             /* kernel side of the 3x3 paths */
#define DW_RBUF 8192       /* bytes of padded input rows (planes, rows paths) */

typedef enum {
    DW_PATH_UNPREPARED,    /* zeroed words: not prepared yet */
    DW_PATH_PORTABLE,
    DW_PATH_3X3_PLANES,
    DW_PATH_3X3_ROWS,
    DW_PATH_GENERIC,
    DW_PATH_MULTIPLIER,
} dw_path_t;

/* Per channel, for the fast requantisation (as in conv2d_s8.c): the
 * tier 2 form (mult > 0), a constant output (mult 0, e 1, rnd = 2 * output
 * + 1), or e < 0 for the exact routine (shift in lsh1, offset in rnd). */
typedef struct {
    int32_t mult, rnd, lsh1, e;
} dw_fq_t;

/* What preparation found, for the plan and the paths. */
typedef struct {
    int32_t ex;    /* some channel of the groups of four needs the exact routine */
    int32_t one_l; /* the requantised channels of those groups share one left shift */
    int32_t L;     /* that shift (lsh1), -1 when no channel is requantised */
    int32_t full;  /* the activation range is all of int8 (no clamp) */
} dw_prep_t;

/* The prepared words of a layer, in order (word counts as in
 * TP_DEPTHWISE_CONV2D_S8_PREPARED_WORDS, tp_kernels.h): */
typedef struct {
    int32_t path;          /* dw_path_t */
    dw_prep_t prep;
    int32_t reserved[3];
} dw_head_t;               /* 8 words */
typedef struct {
    dw_head_t *head;
    int32_t *bias;         /* C: bias + input_offset * (sum of the channel's weights) */
    dw_fq_t *fq;           /* C: the channels in groups of four use theirs */
    tp_rq_t *rq;           /* 3: the channels after the last group of four */
    int8_t *zp_row;        /* C bytes of the input zero point (generic path) */
    uint32_t *stream;      /* the path's weight stream */
} dw_layer_t;

static inline dw_layer_t dw_layer(const tp_depthwise_conv2d_s8_params_t *p)
{
    _Static_assert(sizeof(dw_head_t) == 8 * 4 && sizeof(dw_fq_t) == 4 * 4 && sizeof(tp_rq_t) == 7 * 4,
                   "the word counts of TP_DEPTHWISE_CONV2D_S8_PREPARED_WORDS");
    const int32_t C = p->out_c;
    uint32_t *w = p->prepared;
    dw_layer_t l;
    l.head = (dw_head_t *)(void *)w;
    l.bias = (int32_t *)(void *)(w + 8);
    l.fq = (dw_fq_t *)(void *)(w + 8 + C);
    l.rq = (tp_rq_t *)(void *)(w + 8 + 5 * C);
    l.zp_row = (int8_t *)(void *)(w + 8 + 5 * C + 21);
    l.stream = w + 8 + 5 * C + 21 + (C + 3) / 4;
    return l;
}

/* The padded input rows of the 3x3 paths (scratch of one call). */
extern int8_t dw_rows[DW_RBUF];

/* Whether the shape is outside every DSP path (dw_s8_prepare.c). */
int dw_portable(const tp_depthwise_conv2d_s8_params_t *p);
/* l's bias, fq, rq, zp_row and the summary (dw_s8_prepare.c). */
dw_prep_t dw_prepare(const tp_depthwise_conv2d_s8_params_t *p, const int8_t *filter, const int32_t *bias,
                     const dw_layer_t *l);
/* The one DSP path for a prepared layer (../depthwise_conv2d_s8.c). */
dw_path_t dw_plan(const tp_depthwise_conv2d_s8_params_t *p, const dw_prep_t *prep);

/* Per path: whether it takes the layer (the plan's predicates), its weight
 * stream into l->stream (from l's bias and fq), and the run. */
int dw_3x3_planes_fits(const tp_depthwise_conv2d_s8_params_t *p);
void dw_3x3_planes_stream(const tp_depthwise_conv2d_s8_params_t *p, const int8_t *filter, const dw_layer_t *l);
void dw_3x3_planes_run(const tp_depthwise_conv2d_s8_params_t *p, const int8_t *input, int8_t *output,
                       const dw_layer_t *l);

int dw_3x3_rows_fits(const tp_depthwise_conv2d_s8_params_t *p);
void dw_3x3_rows_stream(const tp_depthwise_conv2d_s8_params_t *p, const int8_t *filter, const dw_layer_t *l);
void dw_3x3_rows_run(const tp_depthwise_conv2d_s8_params_t *p, const int8_t *input, int8_t *output,
                     const dw_layer_t *l);

void dw_multiplier_stream(const tp_depthwise_conv2d_s8_params_t *p, const int8_t *filter, const dw_layer_t *l);
void dw_multiplier_run(const tp_depthwise_conv2d_s8_params_t *p, const int8_t *input, int8_t *output,
                       const dw_layer_t *l);

void dw_generic_stream(const tp_depthwise_conv2d_s8_params_t *p, const int8_t *filter, const dw_layer_t *l);
void dw_generic_run(const tp_depthwise_conv2d_s8_params_t *p, const int8_t *input, const int8_t *filter,
                    const int32_t *bias, int8_t *output, const dw_layer_t *l);

/* Any dw_fq entry's requantised value, output offset included (generic and
 * multiplier paths). */
static inline int32_t dw_fq_any(int32_t acc, const dw_fq_t *q)
{
    if (q->e < 0) {
        return tp_requantize(acc, q->mult, q->lsh1) + q->rnd;
    }
    int32_t o = tp_smmulr((int32_t)((uint32_t)acc << q->lsh1), q->mult);
    return (o + q->rnd + (o >> 31)) >> q->e;
}

/* The tap table of output (oy, ox) in batch image in_b (pixels of IC
 * bytes): per tap its pixel, or zp_row where the tap is in the padding;
 * one more zp_row entry after the last tap (an odd count's pair). */
static inline __attribute__((always_inline)) void
dw_tap_table(const tp_depthwise_conv2d_s8_params_t *p, const int8_t *in_b, int32_t IC, int32_t oy, int32_t ox,
             const int8_t *zp_row, const int8_t **taps)
{
    const int32_t iy0 = oy * p->stride_h - p->pad_top;
    const int32_t ix0 = ox * p->stride_w - p->pad_left;
    int32_t t = 0;
    for (int32_t ky = 0; ky < p->k_h; ++ky) {
        const int32_t iy = iy0 + ky * p->dil_h;
        const int row_ok = iy >= 0 && iy < p->in_h;
        for (int32_t kx = 0; kx < p->k_w; ++kx, ++t) {
            const int32_t ix = ix0 + kx * p->dil_w;
            taps[t] = (row_ok && ix >= 0 && ix < p->in_w) ? in_b + ((size_t)iy * p->in_w + ix) * IC : zp_row;
        }
    }
    taps[t] = zp_row;
}

/* ---- helpers of the 3x3 paths ----------------------------------------- */

/* acc + x * w, wrapping like the MAC instructions. */
static inline int32_t dw_mla(int32_t acc, int32_t x, int32_t w)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(x * w));
}

/* One channel's requantised value, saturated to int8 (s already scaled;
 * q: mult, rnd, e). */
static inline int32_t dw_rq_model(int32_t s, const uint32_t *q)
{
    const int32_t r = (int32_t)(q[1] + (uint32_t)tp_smmulr(s, (int32_t)q[0]));
    return tp_sat8((r + (s >> 31)) >> (int32_t)q[2]);
}

/* Per-byte clamp of four outputs to [lo, hi] (the range narrower than int8). */
static inline __attribute__((always_inline)) uint32_t dw_clamp4(uint32_t word, uint32_t lo4, uint32_t hi4)
{
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    uint32_t t;
    __asm__("ssub8 %1, %0, %2\n\t"
            "sel   %0, %0, %2\n\t"
            "ssub8 %1, %3, %0\n\t"
            "sel   %0, %0, %3"
            : "+r"(word), "=&r"(t) : "r"(lo4), "r"(hi4) : "cc");
    return word;
#else
    uint32_t out = 0;
    for (int32_t i = 0; i < 32; i += 8) {
        out |= (uint32_t)(uint8_t)tp_clamp8((int8_t)(word >> i), (int8_t)lo4, (int8_t)hi4) << i;
    }
    return out;
#endif
}

/* Both 16-bit lanes of v times 2^L (each product fits its lane). */
static inline uint32_t dw_scale_lanes(uint32_t v, int32_t L)
{
    return ((v << L) & 0xFFFFu) | ((v & 0xFFFF0000u) << L);
}

/* The tap's weight word w as (c0, c2), (c1, c3) lanes times 2^L. L is 1
 * for the usual channel (tier 2 with lsh1 1): callers pass a literal 1
 * then, and the doubling is SXTAB16 adding the same bytes again, one
 * instruction per word instead of dw_scale_lanes' masks and shifts. */
static inline __attribute__((always_inline)) void dw_tap_lanes(uint32_t w, int32_t L, uint32_t *e,
                                                               uint32_t *o)
{
    const uint32_t se = tp_sxtb16(w), so = tp_sxtb16_ror8(w);
    if (L == 1) {
        *e = tp_sxtab16(se, w);
        *o = tp_sxtab16_ror8(so, w);
    } else {
        *e = dw_scale_lanes(se, L);
        *o = dw_scale_lanes(so, L);
    }
}

#endif /* TP_OPT_SIMD */

#endif
