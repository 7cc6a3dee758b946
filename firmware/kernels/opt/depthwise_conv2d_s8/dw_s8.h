/* DEPTHWISE_CONV_2D int8, optimized: what the public function
 * (../depthwise_conv2d_s8.c) and its paths (one per file in this folder)
 * share. The public function prepares the layer (dw_s8_prepare.c: folded
 * biases, requantisation constants), asks dw_plan for one path, lets that
 * path lay out its weight stream and runs it, like CMSIS-NN's wrapper
 * choosing among its depthwise kernels.
 *
 * The paths, fastest first (each takes only layers its predicate admits):
 *   DW_PATH_3X3_PLANES  3x3, stride 1, dilation 1, wide rows: per channel
 *                       planes of int16 columns, SMLAD over two taps;
 *   DW_PATH_3X3_ROWS    3x3: zero-point-padded input rows, two output rows
 *                       per pass;
 *   DW_PATH_GENERIC     any kernel up to DW_TMAX taps, four channels per
 *                       pass through a per-pixel tap table;
 * and the reference kernel for shapes outside all of them (dw_portable). */
#ifndef DW_S8_H
#define DW_S8_H

#include "../tp_opt.h"

#if TP_OPT_SIMD

#define DW_CMAX 1024       /* channels (MobileNetV2 expansions reach 960) */
#define DW_TMAX 32         /* taps (k_h * k_w) */
#define DW_WMAX 5120       /* words of weights: 2 per (group of 4 channels, tap), e.g.
                              3x3 over 1,024 channels; the 3x3 and planes paths need
                              more per group and take fewer channels (checked) */
#define DW_K 3             /* kernel side of the 3x3 paths */
#define DW_RBUF 8192       /* bytes of padded input rows (planes, rows paths) */

typedef enum {
    DW_PATH_3X3_PLANES,
    DW_PATH_3X3_ROWS,
    DW_PATH_GENERIC,
} dw_path_t;

/* Per channel, for the fast requantisation (as in conv2d_s8.c): the
 * tier 2 form (mult > 0), a constant output (mult 0, e 1, rnd = 2 * output
 * + 1), or e < 0 for the exact routine (shift in lsh1, offset in rnd). */
typedef struct {
    int32_t mult, rnd, lsh1, e;
} dw_fq_t;

/* What preparation found, for the plan and the paths. */
typedef struct {
    int ex;        /* some channel of the groups of four needs the exact routine */
    int one_l;     /* the requantised channels of those groups share one left shift */
    int32_t L;     /* that shift (lsh1), -1 when no channel is requantised */
    int full;      /* the activation range is all of int8 (no clamp) */
} dw_prep_t;

/* The layer's prepared constants (dw_s8_prepare.c), per channel. */
extern int32_t dw_bias[DW_CMAX];   /* bias + input_offset * (sum of the channel's weights) */
extern dw_fq_t dw_fq[DW_CMAX];     /* channels in the groups of four */
extern tp_rq_t dw_rq[DW_CMAX];     /* channels after them (generic path) */
/* The chosen path's weight stream, and the padded input rows of the 3x3 paths. */
extern uint32_t dw_w[DW_WMAX];
extern int8_t dw_rows[DW_RBUF];

/* Whether the shape is outside every DSP path
 * (dw_s8_prepare.c). */
int dw_portable(const tp_depthwise_conv2d_s8_params_t *p);
/* dw_bias, dw_fq, dw_rq and the summary (dw_s8_prepare.c). */
dw_prep_t dw_prepare(const tp_depthwise_conv2d_s8_params_t *p, const int8_t *filter, const int32_t *bias);
/* The one DSP path for a prepared layer (../depthwise_conv2d_s8.c). */
dw_path_t dw_plan(const tp_depthwise_conv2d_s8_params_t *p, const dw_prep_t *prep);

/* Per path: whether it takes the layer (the plan's predicates), its weight
 * stream into dw_w, and the run. */
int dw_3x3_planes_fits(const tp_depthwise_conv2d_s8_params_t *p);
void dw_3x3_planes_stream(const tp_depthwise_conv2d_s8_params_t *p, const int8_t *filter, const dw_prep_t *prep);
void dw_3x3_planes_run(const tp_depthwise_conv2d_s8_params_t *p, const int8_t *input, int8_t *output,
                       const dw_prep_t *prep);

int dw_3x3_rows_fits(const tp_depthwise_conv2d_s8_params_t *p);
void dw_3x3_rows_stream(const tp_depthwise_conv2d_s8_params_t *p, const int8_t *filter, const dw_prep_t *prep);
void dw_3x3_rows_run(const tp_depthwise_conv2d_s8_params_t *p, const int8_t *input, int8_t *output,
                     const dw_prep_t *prep);

void dw_generic_stream(const tp_depthwise_conv2d_s8_params_t *p, const int8_t *filter);
void dw_generic_run(const tp_depthwise_conv2d_s8_params_t *p, const int8_t *input, const int8_t *filter,
                    const int32_t *bias, int8_t *output, const dw_prep_t *prep);

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

/* Four copies of an int8 in a word. */
static inline uint32_t dw_bytes4(int32_t v)
{
    return ((uint32_t)(uint8_t)v) * 0x01010101u;
}

#endif /* TP_OPT_SIMD */

#endif
