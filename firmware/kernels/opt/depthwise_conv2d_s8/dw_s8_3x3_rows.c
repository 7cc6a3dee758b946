/* DEPTHWISE_CONV_2D int8, optimized path DW_PATH_3X3_ROWS: 3x3 kernels
 * (any stride and dilation), padded input rows, two outputs per pass.
 *
 * The input rows a window needs are copied into dw_rows, padded left and
 * right (and whole rows above and below the image) with the zero point, so
 * every tap of every output sits at a fixed offset from the output's
 * position: no bounds checks, no per-pixel tap table. Each input row is
 * copied about once (the buffer slides down the image, keeping the rows the
 * next window still needs). Outputs go in vertical pairs (rows oy, oy + 1;
 * pairs across rows suit odd widths like kws's 5). Per group of four
 * channels the stream holds the bias, then per tap the offsets of
 * the tap in both outputs' windows and the two weight words, then per
 * channel the requantisation constants: one weight load serves two
 * outputs, and so does each channel's set of constants.
 *
 * The weights and the bias are scaled by 2^L (L = lsh1, the same for every
 * requantised channel), so the accumulator is already the SMMULR operand;
 * int8 << 8 still fits a 16-bit lane. The requantisation is then
 * (SMMLAR(s, mult, rnd) + (s < 0 ? -1 : 0)) >> e: the rounding correction
 * may take the sign of s instead of the sign of o = SMMULR(s, mult) since
 * mult > 0 gives o of the sign of s or 0, and with o = 0 the correction
 * cannot move (rnd - 1) >> e off rnd >> e (e >= 1, 0 < 2^(e-1) < 2^e).
 * Constant channels are stored as mult 0, e 1, rnd 2 * value + 1, for
 * which both forms give the value. */

#include "dw_s8.h"

#if TP_OPT_SIMD

/* The buffer holds padded rows first .. first + filled - 1 (padded row u is
 * input row u - pad_top). */
typedef struct {
    int32_t pw;        /* pixels per padded row */
    int32_t rb;        /* bytes per padded row */
    int32_t nrows;     /* rows the buffer holds */
    int32_t first, filled;
} dw_rows_t;

/* n bytes (a multiple of 4, dst word-aligned) of zero points: a few words
 * each, cheaper inline than a memset call. */
static inline void dw_fill_zp(int8_t *dst, int32_t n, uint32_t zp4)
{
    int32_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __builtin_memcpy(dst + i, &zp4, 4);
        __builtin_memcpy(dst + i + 4, &zp4, 4);
        __builtin_memcpy(dst + i + 8, &zp4, 4);
        __builtin_memcpy(dst + i + 12, &zp4, 4);
    }
    for (; i < n; i += 4) {
        __builtin_memcpy(dst + i, &zp4, 4);
    }
}

static void dw_fill_row(const tp_depthwise_conv2d_s8_params_t *p, const int8_t *in_b, int32_t u,
                        int8_t *dst, int32_t pw, uint32_t zp4)
{
    const int32_t C = p->out_c;
    const int32_t iy = u - p->pad_top;
    if (iy < 0 || iy >= p->in_h) {
        dw_fill_zp(dst, pw * C, zp4);
        return;
    }
    const int32_t j0 = p->pad_left < pw ? p->pad_left : pw;
    const int32_t j1 = p->pad_left + p->in_w < pw ? p->pad_left + p->in_w : pw;
    dw_fill_zp(dst, j0 * C, zp4);
    memcpy(dst + (size_t)j0 * C, in_b + (size_t)iy * p->in_w * C, (size_t)(j1 - j0) * C);
    dw_fill_zp(dst + (size_t)j1 * C, (pw - j1) * C, zp4);
}

/* Padded rows u0 .. u0 + span - 1, contiguous; returns the first. */
static const int8_t *dw_window(const tp_depthwise_conv2d_s8_params_t *p, const int8_t *in_b,
                               dw_rows_t *r, int32_t u0, int32_t span, uint32_t zp4)
{
    if (u0 + span > r->first + r->nrows) {
        const int32_t keep = r->first + r->filled - u0;
        if (keep > 0) {
            memmove(dw_rows, dw_rows + (size_t)(u0 - r->first) * r->rb, (size_t)keep * r->rb);
        }
        r->filled = keep > 0 ? keep : 0;
        r->first = u0;
    }
    while (r->first + r->filled < u0 + span) {
        dw_fill_row(p, in_b, r->first + r->filled, dw_rows + (size_t)r->filled * r->rb, r->pw, zp4);
        r->filled++;
    }
    return dw_rows + (size_t)(u0 - r->first) * r->rb;
}

/* acc + x * w, wrapping like the MAC instructions. */

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
/* Asm text for the requantisation, operands named by the caller: M, R, E
 * receive one channel's mult, rnd, shift from the stream, T is scratch.
 * DW_RQ_FIRST leaves channel 0's result in A (sign-extended, the output
 * word's low byte); DW_RQ_BFI inserts channel k's into bits 8k .. 8k+7
 * of W. */
#define DW_RQ_LOAD(M, R, E)                                 \
    "ldr     %[" M "], [%[s]], #4\n\t"                      \
    "ldr     %[" R "], [%[s]], #4\n\t"                      \
    "ldr     %[" E "], [%[s]], #4\n\t"
#define DW_RQ_FIRST(A, M, R, E, T)                          \
    "smmlar  %[" T "], %[" A "], %[" M "], %[" R "]\n\t"    \
    "add     %[" T "], %[" T "], %[" A "], asr #31\n\t"     \
    "asr     %[" A "], %[" T "], %[" E "]\n\t"              \
    "ssat    %[" A "], #8, %[" A "]\n\t"
#define DW_RQ_BFI(A, W, K, M, R, E, T)                      \
    "smmlar  %[" T "], %[" A "], %[" M "], %[" R "]\n\t"    \
    "add     %[" T "], %[" T "], %[" A "], asr #31\n\t"     \
    "asr     %[" T "], %[" T "], %[" E "]\n\t"              \
    "ssat    %[" T "], #8, %[" T "]\n\t"                    \
    "bfi     %[" W "], %[" T "], #" K ", #8\n\t"
#endif

/* Channels c0 .. c0+3 of two outputs (rows oy and oy + 1): b is the first
 * output's window at c0, *ps the group's stream (advanced past it); the two
 * packed output words. Bias, taps and requantisation run in one block, so
 * the eight accumulators stay in registers throughout. */
static inline __attribute__((always_inline)) void
dw_pair(const int8_t *b, const uint32_t **ps, uint32_t *w0, uint32_t *w1)
{
    const uint32_t *s = *ps;
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    int32_t a0, a1, a2, a3, a4, a5, a6, a7;
    uint32_t x0, x1, e, w;
    /* Per tap: both offsets, both input words and the even-lane weights load
     * back to back (pipelined); (c0, c2) of both outputs, then (c1, c3).
     * The requantisation reuses x0, x1, w, e for mult, rnd, shift, scratch. */
    __asm__ volatile(
        /* Tap 0, its loads behind the bias loads; the second output's MACs
         * read the bias before the first output's MACs update it. */
        "ldr     %[a0], [%[s]], #4\n\t"
        "ldr     %[a1], [%[s]], #4\n\t"
        "ldr     %[a2], [%[s]], #4\n\t"
        "ldr     %[a3], [%[s]], #4\n\t"
        "ldr     %[x0], [%[s]], #4\n\t"
        "ldr     %[x1], [%[s]], #4\n\t"
        "ldr     %[x0], [%[b], %[x0]]\n\t"
        "ldr     %[x1], [%[b], %[x1]]\n\t"
        "ldr     %[w], [%[s]], #4\n\t"
        "sxtb16  %[e], %[x1]\n\t"
        "smlabb  %[a4], %[e], %[w], %[a0]\n\t"
        "smlatt  %[a6], %[e], %[w], %[a2]\n\t"
        "sxtb16  %[e], %[x0]\n\t"
        "smlabb  %[a0], %[e], %[w], %[a0]\n\t"
        "smlatt  %[a2], %[e], %[w], %[a2]\n\t"
        "ldr     %[w], [%[s]], #4\n\t"
        "sxtb16  %[e], %[x1], ror #8\n\t"
        "smlabb  %[a5], %[e], %[w], %[a1]\n\t"
        "smlatt  %[a7], %[e], %[w], %[a3]\n\t"
        "sxtb16  %[e], %[x0], ror #8\n\t"
        "smlabb  %[a1], %[e], %[w], %[a1]\n\t"
        "smlatt  %[a3], %[e], %[w], %[a3]\n\t"
        ".rept 8\n\t"
        "ldr     %[x0], [%[s]], #4\n\t"
        "ldr     %[x1], [%[s]], #4\n\t"
        "ldr     %[x0], [%[b], %[x0]]\n\t"
        "ldr     %[x1], [%[b], %[x1]]\n\t"
        "ldr     %[w], [%[s]], #4\n\t"
        "sxtb16  %[e], %[x0]\n\t"
        "smlabb  %[a0], %[e], %[w], %[a0]\n\t"
        "smlatt  %[a2], %[e], %[w], %[a2]\n\t"
        "sxtb16  %[e], %[x1]\n\t"
        "smlabb  %[a4], %[e], %[w], %[a4]\n\t"
        "smlatt  %[a6], %[e], %[w], %[a6]\n\t"
        "ldr     %[w], [%[s]], #4\n\t"
        "sxtb16  %[e], %[x0], ror #8\n\t"
        "smlabb  %[a1], %[e], %[w], %[a1]\n\t"
        "smlatt  %[a3], %[e], %[w], %[a3]\n\t"
        "sxtb16  %[e], %[x1], ror #8\n\t"
        "smlabb  %[a5], %[e], %[w], %[a5]\n\t"
        "smlatt  %[a7], %[e], %[w], %[a7]\n\t"
        ".endr\n\t"
        DW_RQ_LOAD("x0", "x1", "w")
        DW_RQ_FIRST("a0", "x0", "x1", "w", "e")
        DW_RQ_FIRST("a4", "x0", "x1", "w", "e")
        DW_RQ_LOAD("x0", "x1", "w")
        DW_RQ_BFI("a1", "a0", "8", "x0", "x1", "w", "e")
        DW_RQ_BFI("a5", "a4", "8", "x0", "x1", "w", "e")
        DW_RQ_LOAD("x0", "x1", "w")
        DW_RQ_BFI("a2", "a0", "16", "x0", "x1", "w", "e")
        DW_RQ_BFI("a6", "a4", "16", "x0", "x1", "w", "e")
        DW_RQ_LOAD("x0", "x1", "w")
        DW_RQ_BFI("a3", "a0", "24", "x0", "x1", "w", "e")
        DW_RQ_BFI("a7", "a4", "24", "x0", "x1", "w", "e")
        : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3),
          [a4] "=&r"(a4), [a5] "=&r"(a5), [a6] "=&r"(a6), [a7] "=&r"(a7),
          [s] "+r"(s), [x0] "=&r"(x0), [x1] "=&r"(x1), [e] "=&r"(e), [w] "=&r"(w)
        : [b] "r"(b)
        : "memory");
    *w0 = (uint32_t)a0;
    *w1 = (uint32_t)a4;
#else
    int32_t a[8];
    for (int32_t k = 0; k < 4; ++k) {
        a[k] = a[k + 4] = (int32_t)s[k];
    }
    s += 4;
    for (int32_t t = 0; t < DW_K * DW_K; ++t, s += 4) {
        const uint32_t x0 = tp_ld32(b + (int32_t)s[0]), x1 = tp_ld32(b + (int32_t)s[1]);
        const uint32_t e0 = tp_sxtb16(x0), d0 = tp_sxtb16_ror8(x0);
        const uint32_t e1 = tp_sxtb16(x1), d1 = tp_sxtb16_ror8(x1);
        a[0] = dw_mla(a[0], tp_lo(e0), tp_lo(s[2]));
        a[2] = dw_mla(a[2], tp_hi(e0), tp_hi(s[2]));
        a[4] = dw_mla(a[4], tp_lo(e1), tp_lo(s[2]));
        a[6] = dw_mla(a[6], tp_hi(e1), tp_hi(s[2]));
        a[1] = dw_mla(a[1], tp_lo(d0), tp_lo(s[3]));
        a[3] = dw_mla(a[3], tp_hi(d0), tp_hi(s[3]));
        a[5] = dw_mla(a[5], tp_lo(d1), tp_lo(s[3]));
        a[7] = dw_mla(a[7], tp_hi(d1), tp_hi(s[3]));
    }
    uint32_t v0 = 0, v1 = 0;
    for (int32_t k = 0; k < 4; ++k, s += 3) {
        v0 |= (uint32_t)(uint8_t)dw_rq_model(a[k], s) << (8 * k);
        v1 |= (uint32_t)(uint8_t)dw_rq_model(a[k + 4], s) << (8 * k);
    }
    *w0 = v0;
    *w1 = v1;
#endif
    *ps = s;
}

/* As dw_pair for one output (the stream's second offsets unused). */
static inline __attribute__((always_inline)) uint32_t dw_single(const int8_t *b, const uint32_t **ps)
{
    const uint32_t *s = *ps;
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    int32_t a0, a1, a2, a3;
    uint32_t x, e, we, wo;
    __asm__ volatile(
        "ldr     %[a0], [%[s]], #4\n\t"
        "ldr     %[a1], [%[s]], #4\n\t"
        "ldr     %[a2], [%[s]], #4\n\t"
        "ldr     %[a3], [%[s]], #4\n\t"
        ".rept 9\n\t"
        "ldr     %[x], [%[s]], #8\n\t"
        "ldr     %[x], [%[b], %[x]]\n\t"
        "ldr     %[we], [%[s]], #4\n\t"
        "ldr     %[wo], [%[s]], #4\n\t"
        DW_TAP4_ASM("x")
        ".endr\n\t"
        /* x, we, wo become shift, mult, rnd */
        DW_RQ_LOAD("we", "wo", "x")
        DW_RQ_FIRST("a0", "we", "wo", "x", "e")
        DW_RQ_LOAD("we", "wo", "x")
        DW_RQ_BFI("a1", "a0", "8", "we", "wo", "x", "e")
        DW_RQ_LOAD("we", "wo", "x")
        DW_RQ_BFI("a2", "a0", "16", "we", "wo", "x", "e")
        DW_RQ_LOAD("we", "wo", "x")
        DW_RQ_BFI("a3", "a0", "24", "we", "wo", "x", "e")
        : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3),
          [s] "+r"(s), [x] "=&r"(x), [e] "=&r"(e), [we] "=&r"(we), [wo] "=&r"(wo)
        : [b] "r"(b)
        : "memory");
    *ps = s;
    return (uint32_t)a0;
#else
    int32_t a[4];
    for (int32_t k = 0; k < 4; ++k) {
        a[k] = (int32_t)s[k];
    }
    s += 4;
    for (int32_t t = 0; t < DW_K * DW_K; ++t, s += 4) {
        const uint32_t x = tp_ld32(b + (int32_t)s[0]);
        const uint32_t e = tp_sxtb16(x), d = tp_sxtb16_ror8(x);
        a[0] = dw_mla(a[0], tp_lo(e), tp_lo(s[2]));
        a[2] = dw_mla(a[2], tp_hi(e), tp_hi(s[2]));
        a[1] = dw_mla(a[1], tp_lo(d), tp_lo(s[3]));
        a[3] = dw_mla(a[3], tp_hi(d), tp_hi(s[3]));
    }
    uint32_t v = 0;
    for (int32_t k = 0; k < 4; ++k, s += 3) {
        v |= (uint32_t)(uint8_t)dw_rq_model(a[k], s) << (8 * k);
    }
    *ps = s;
    return v;
#endif
}

/* Output rows are taken two at a time (oy, oy + 1), so the buffer holds the
 * rows under both windows; an odd last row goes one output at a time. */
static inline __attribute__((always_inline)) void
dw_k3_impl(const tp_depthwise_conv2d_s8_params_t *p, const int8_t *input, int8_t *output,
           const uint32_t *stream, int32_t pw, const int full)
{
    const int32_t C = p->out_c;
    const int32_t OW = p->out_w;
    const int32_t step = p->stride_w * C;           /* bytes between two outputs' windows */
    const int32_t span = 2 * p->dil_h + 1;          /* padded rows under a window */
    const uint32_t zp4 = (uint32_t)(uint8_t)(-p->input_offset) * 0x01010101u;
    const uint32_t lo4 = ((uint32_t)(uint8_t)p->act_min) * 0x01010101u;
    const uint32_t hi4 = ((uint32_t)(uint8_t)p->act_max) * 0x01010101u;

    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + (size_t)b * p->in_h * p->in_w * C;
        dw_rows_t r = {pw, pw * C, DW_RBUF / (pw * C), 0, 0};
        int32_t oy = 0;
        for (; oy + 1 < p->out_h; oy += 2, output += OW * C) {
            const int8_t *win = dw_window(p, in_b, &r, oy * p->stride_h, span + p->stride_h, zp4);
            for (int32_t ox = 0; ox < OW; ++ox, win += step) {
                const uint32_t *s = stream;
                for (int32_t c0 = 0; c0 < C; c0 += 4, output += 4) {
                    uint32_t w0, w1;
                    dw_pair(win + c0, &s, &w0, &w1);
                    if (!full) {
                        w0 = dw_clamp4(w0, lo4, hi4);
                        w1 = dw_clamp4(w1, lo4, hi4);
                    }
                    __builtin_memcpy(output, &w0, 4);
                    __builtin_memcpy(output + OW * C, &w1, 4);
                }
            }
        }
        if (oy < p->out_h) {
            const int8_t *win = dw_window(p, in_b, &r, oy * p->stride_h, span, zp4);
            for (int32_t ox = 0; ox < OW; ++ox, win += step) {
                const uint32_t *s = stream;
                for (int32_t c0 = 0; c0 < C; c0 += 4, output += 4) {
                    uint32_t w0 = dw_single(win + c0, &s);
                    if (!full) {
                        w0 = dw_clamp4(w0, lo4, hi4);
                    }
                    __builtin_memcpy(output, &w0, 4);
                }
            }
        }
    }
}

/* Both 16-bit lanes of v times 2^L (each product fits its lane). */
/* Stream words per group of four channels: biases, 3x3 taps, requantisation. */
#define DW_K3_GROUP_WORDS (4 + DW_K * DW_K * 4 + 4 * 3)
_Static_assert(DW_K3_GROUP_WORDS == 13 * 4, "TP_DEPTHWISE_CONV2D_S8_PREPARED_WORDS: 13 words per channel");
/* Per group of four channels: the scaled bias; per tap, the tap's offset
 * in the window of output row oy and of oy + 1, and the weights scaled by
 * 2^L as (c0, c2), (c1, c3) lanes; per channel mult, rnd, shift. */
static inline __attribute__((always_inline)) void
dw_k3_stream(const tp_depthwise_conv2d_s8_params_t *p, const int8_t *filter, const dw_layer_t *l, int32_t pw,
             int32_t L)
{
    const int32_t C = p->out_c;
    const int32_t down = p->stride_h * pw * C;      /* window of the next output row */
    uint32_t off[2 * DW_K * DW_K];      /* per tap: both outputs' offsets */
    for (int32_t t = 0; t < DW_K * DW_K; ++t) {
        off[2 * t] = (uint32_t)(((t / DW_K) * p->dil_h * pw + (t % DW_K) * p->dil_w) * C);
        off[2 * t + 1] = off[2 * t] + (uint32_t)down;
    }
    uint32_t *s = l->stream;
    /* The inner loops unrolled: their overhead (a spilled bound reloaded
     * per tap) cost about as much as the copying itself. */
    for (int32_t c0 = 0; c0 < C; c0 += 4) {
#pragma GCC unroll 4
        for (int32_t c = c0; c < c0 + 4; ++c) {
            *s++ = (uint32_t)l->bias[c] << L;
        }
        const int8_t *f = filter + c0;
#pragma GCC unroll 9
        for (int32_t t = 0; t < DW_K * DW_K; ++t, f += C, s += 4) {
            s[0] = off[2 * t];
            s[1] = off[2 * t + 1];
            dw_tap_lanes(tp_ld32(f), L, &s[2], &s[3]);
        }
#pragma GCC unroll 4
        for (int32_t c = c0; c < c0 + 4; ++c, s += 3) {
            s[0] = (uint32_t)l->fq[c].mult;
            s[1] = (uint32_t)l->fq[c].rnd;
            s[2] = (uint32_t)l->fq[c].e;
        }
    }
}

/* Pixels per padded row: the windows of one output row. */
static int32_t dw_rows_pixels(const tp_depthwise_conv2d_s8_params_t *p)
{
    return (p->out_w - 1) * p->stride_w + 2 * p->dil_w + 1;
}

int dw_3x3_rows_fits(const tp_depthwise_conv2d_s8_params_t *p)
{
    const int32_t C = p->out_c;
    return (C & 3) == 0 && (2 * p->dil_h + 1 + p->stride_h) * dw_rows_pixels(p) * C <= DW_RBUF;
}

void dw_3x3_rows_stream(const tp_depthwise_conv2d_s8_params_t *p, const int8_t *filter, const dw_layer_t *l)
{
    const int32_t L = l->head->prep.L;
    if (L == 1) {   /* a literal 1: the doubling form of dw_tap_lanes */
        dw_k3_stream(p, filter, l, dw_rows_pixels(p), 1);
    } else {
        dw_k3_stream(p, filter, l, dw_rows_pixels(p), L < 0 ? 0 : L);
    }
}

void dw_3x3_rows_run(const tp_depthwise_conv2d_s8_params_t *p, const int8_t *input, int8_t *output,
                     const dw_layer_t *l)
{
    if (l->head->prep.full) {
        dw_k3_impl(p, input, output, l->stream, dw_rows_pixels(p), 1);
    } else {
        dw_k3_impl(p, input, output, l->stream, dw_rows_pixels(p), 0);
    }
}

#endif
