/* DEPTHWISE_CONV_2D, int8 activations, per-channel int8 weights, int32 bias.
 * Optimized for the Armv7E-M / Armv8-M DSP extension (depth multiplier 1).
 *
 * Channels are contiguous in both input and filter, so four channels are
 * processed together: per call the
 * filter is rearranged once into 16-bit lanes, (c0, c2) and (c1, c3) per
 * tap, the order SXTB16 / SXTB16 ROR #8 give the input bytes, and SMLABB /
 * SMLATT accumulate each lane. The input offset enters once per channel as
 * input_offset * (sum of its weights), folded into the bias. A padded tap
 * reads a row of input zero points, so its x * w is exactly cancelled by
 * its share of that correction: the sum equals the reference's, which skips
 * the tap. An odd tap count gets one more such tap with zero weights.
 * Accumulation is exact int32 (mod 2^32, like the reference).
 *
 * 3x3 kernels with channels in fours (nearly every depthwise layer) take
 * a faster path (section "3x3 kernels" below): zero-point-padded copies of the
 * input rows, two output rows per pass. */
#include "tp_opt.h"

#if !TP_OPT_SIMD

#include "../depthwise_conv2d_s8.c"

#else

#define tp_depthwise_conv2d_s8 tp_depthwise_conv2d_s8_ref
#include "../depthwise_conv2d_s8.c"
#undef tp_depthwise_conv2d_s8

#define DW_CMAX 1024       /* channels (MobileNetV2 expansions reach 960) */
#define DW_TMAX 32         /* taps (k_h * k_w) */
#define DW_WMAX 5120       /* words of weights: 2 per (group of 4 channels, tap), e.g.
                              3x3 over 1,024 channels; the 3x3 and planes paths need
                              more per group and take fewer channels (checked) */

static tp_rq_t dw_rq[DW_CMAX];
static uint32_t dw_w[DW_WMAX];
static int8_t dw_zp_row[DW_CMAX];
static int32_t dw_bias[DW_CMAX];   /* bias + input_offset * (sum of the channel's weights) */

/* Per channel, for the fast requantisation (as in conv2d_s8.c): the
 * tier 2 form (mult > 0), a constant output (mult 0, e 1, rnd = 2 * output
 * + 1), or e < 0 for the exact routine (shift in lsh1, offset in rnd). */
typedef struct {
    int32_t mult, rnd, lsh1, e;
} dw_fq_t;
static dw_fq_t dw_fq[DW_CMAX];

static int32_t dw_fq_any(int32_t acc, const dw_fq_t *q)
{
    if (q->e < 0) {
        return tp_requantize(acc, q->mult, q->lsh1) + q->rnd;
    }
    int32_t o = tp_smmulr((int32_t)((uint32_t)acc << q->lsh1), q->mult);
    return (o + q->rnd + (o >> 31)) >> q->e;
}

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
/* Fast requantisation of one channel (tier 2 or constant entry), saturated
 * to int8 and sign-extended. */
static inline __attribute__((always_inline)) int32_t dw_rq_asm(int32_t a, const dw_fq_t *q)
{
    int32_t m, r, l, e;
    __asm__("ldr     %[m], [%[q]]\n\t"
            "ldr     %[r], [%[q], #4]\n\t"
            "ldr     %[l], [%[q], #8]\n\t"
            "ldr     %[e], [%[q], #12]\n\t"
            "lsl     %[a], %[a], %[l]\n\t"
            "smmulr  %[a], %[a], %[m]\n\t"
            "add     %[r], %[r], %[a]\n\t"
            "add     %[r], %[r], %[a], asr #31\n\t"
            "asr     %[a], %[r], %[e]\n\t"
            "ssat    %[a], #8, %[a]"
            : [a] "+r"(a), [m] "=&r"(m), [r] "=&r"(r), [l] "=&r"(l), [e] "=&r"(e)
            : [q] "r"(q), "m"(*q));
    return a;
}
#endif

/* Accumulates x * w over taps t = 0 .. 2n-1 of channels c0 .. c0+3:
 * taps[t] + c0 are the four input bytes, w two words per tap:
 * (w[t][c0], w[t][c0+2]) and (w[t][c0+1], w[t][c0+3]) as 16-bit lanes. */
static inline void dw_group(const int8_t *const *taps, const uint32_t *w, int32_t c0, int32_t n,
                            int32_t *p0, int32_t *p1_out, int32_t *p2, int32_t *p3)
{
    int32_t a0 = *p0, a1 = *p1_out, a2 = *p2, a3 = *p3;
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    uint32_t x, e, we, wo;
    if (n == 5) {
        /* 3x3 (ten taps with the padding one), fully unrolled; both tap
         * pointers, then both input words, load back to back. */
        uint32_t p1;
        __asm__ volatile(
            ".rept 5\n\t"
            "ldr     %[x], [%[tp]], #4\n\t"
            "ldr     %[p1], [%[tp]], #4\n\t"
            "ldr     %[x], [%[x], %[c0]]\n\t"
            "ldr     %[p1], [%[p1], %[c0]]\n\t"
            "ldr     %[we], [%[w]], #4\n\t"
            "ldr     %[wo], [%[w]], #4\n\t"
            "sxtb16  %[e], %[x]\n\t"
            "sxtb16  %[x], %[x], ror #8\n\t"
            "smlabb  %[a0], %[e], %[we], %[a0]\n\t"
            "smlatt  %[a2], %[e], %[we], %[a2]\n\t"
            "smlabb  %[a1], %[x], %[wo], %[a1]\n\t"
            "smlatt  %[a3], %[x], %[wo], %[a3]\n\t"
            "ldr     %[we], [%[w]], #4\n\t"
            "ldr     %[wo], [%[w]], #4\n\t"
            "sxtb16  %[e], %[p1]\n\t"
            "sxtb16  %[p1], %[p1], ror #8\n\t"
            "smlabb  %[a0], %[e], %[we], %[a0]\n\t"
            "smlatt  %[a2], %[e], %[we], %[a2]\n\t"
            "smlabb  %[a1], %[p1], %[wo], %[a1]\n\t"
            "smlatt  %[a3], %[p1], %[wo], %[a3]\n\t"
            ".endr\n\t"
            : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3),
              [tp] "+r"(taps), [w] "+r"(w),
              [x] "=&r"(x), [p1] "=&r"(p1), [e] "=&r"(e), [we] "=&r"(we), [wo] "=&r"(wo)
            : [c0] "r"(c0)
            : "memory");
        *p0 = a0;
        *p1_out = a1;
        *p2 = a2;
        *p3 = a3;
        return;
    }
    __asm__ volatile(
        "1:\n\t"
        ".rept 2\n\t"   /* two taps per iteration */
        "ldr     %[x], [%[tp]], #4\n\t"
        "ldr     %[x], [%[x], %[c0]]\n\t"
        "ldrd    %[we], %[wo], [%[w]], #8\n\t"
        "sxtb16  %[e], %[x]\n\t"
        "sxtb16  %[x], %[x], ror #8\n\t"
        "smlabb  %[a0], %[e], %[we], %[a0]\n\t"
        "smlatt  %[a2], %[e], %[we], %[a2]\n\t"
        "smlabb  %[a1], %[x], %[wo], %[a1]\n\t"
        "smlatt  %[a3], %[x], %[wo], %[a3]\n\t"
        ".endr\n\t"
        "subs    %[n], %[n], #1\n\t"
        "bne     1b\n\t"
        : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3),
          [tp] "+r"(taps), [w] "+r"(w), [n] "+r"(n),
          [x] "=&r"(x), [e] "=&r"(e), [we] "=&r"(we), [wo] "=&r"(wo)
        : [c0] "r"(c0)
        : "cc", "memory");
#else
    for (int32_t t = 0; t < 2 * n; ++t) {
        const uint32_t x = tp_ld32(taps[t] + c0);
        const uint32_t e = tp_sxtb16(x), o = tp_sxtb16_ror8(x);
        const uint32_t we = w[0], wo = w[1];
        w += 2;
        a0 += tp_lo(e) * tp_lo(we);
        a2 += tp_hi(e) * tp_hi(we);
        a1 += tp_lo(o) * tp_lo(wo);
        a3 += tp_hi(o) * tp_hi(wo);
    }
#endif
    *p0 = a0;
    *p1_out = a1;
    *p2 = a2;
    *p3 = a3;
}

#define OUT8(v) (full ? tp_sat8(v) : tp_clamp8((v), lo, hi))

static inline __attribute__((always_inline)) void
dw_impl(const tp_depthwise_conv2d_s8_params_t *p, const int8_t *input, const int8_t *filter,
        const int32_t *bias, int8_t *output, const int full, const int n5, const int ex)
{
    const int32_t C = p->out_c;
    const int32_t T = p->k_h * p->k_w;
    const int32_t T2 = (T + 1) & ~1;         /* taps rounded up to even */
    const int32_t G = C >> 2;                /* groups of four channels */
    const int32_t lo = p->act_min, hi = p->act_max;
    const int32_t in_w = p->in_w, in_h = p->in_h;
    const int8_t *taps[DW_TMAX + 1];
    const uint32_t lo4 = ((uint32_t)(uint8_t)lo) * 0x01010101u;
    const uint32_t hi4 = ((uint32_t)(uint8_t)hi) * 0x01010101u;
    (void)lo4;
    (void)hi4;

    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + (size_t)b * in_h * in_w * C;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_top;
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t ix0 = ox * p->stride_w - p->pad_left;
                {
                    int32_t t = 0;
                    for (int32_t ky = 0; ky < p->k_h; ++ky) {
                        const int32_t iy = iy0 + ky * p->dil_h;
                        const int row_ok = iy >= 0 && iy < in_h;
                        for (int32_t kx = 0; kx < p->k_w; ++kx, ++t) {
                            const int32_t ix = ix0 + kx * p->dil_w;
                            taps[t] = (row_ok && ix >= 0 && ix < in_w)
                                          ? in_b + ((size_t)iy * in_w + ix) * C
                                          : dw_zp_row;
                        }
                    }
                    taps[T] = dw_zp_row;
                }
                const uint32_t *w = dw_w;
                for (int32_t g = 0; g < G; ++g) {
                    const int32_t c0 = 4 * g;
                    int32_t a0 = dw_bias[c0], a1 = dw_bias[c0 + 1];
                    int32_t a2 = dw_bias[c0 + 2], a3 = dw_bias[c0 + 3];
                    dw_group(taps, w, c0, n5 ? 5 : T2 >> 1, &a0, &a1, &a2, &a3);
                    w += 2 * T2;
                    const dw_fq_t *q = &dw_fq[c0];
                    if (ex) {
                        output[c0] = OUT8(dw_fq_any(a0, &q[0]));
                        output[c0 + 1] = OUT8(dw_fq_any(a1, &q[1]));
                        output[c0 + 2] = OUT8(dw_fq_any(a2, &q[2]));
                        output[c0 + 3] = OUT8(dw_fq_any(a3, &q[3]));
                        continue;
                    }
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
                    {
                        /* Each channel's four constants load back to back
                         * (pipelined), then SSAT, BFI packing and, for a
                         * narrower range, a per-byte clamp (SSUB8 + SEL). */
                        a0 = dw_rq_asm(a0, &q[0]);
                        a1 = dw_rq_asm(a1, &q[1]);
                        a2 = dw_rq_asm(a2, &q[2]);
                        a3 = dw_rq_asm(a3, &q[3]);
                        uint32_t word = (uint32_t)a0;
                        __asm__("bfi %0, %1, #8, #8\n\t"
                                "bfi %0, %2, #16, #8\n\t"
                                "bfi %0, %3, #24, #8"
                                : "+r"(word) : "r"(a1), "r"(a2), "r"(a3));
                        if (!full) {
                            uint32_t t;
                            __asm__ volatile("ssub8 %1, %0, %2\n\t"
                                             "sel   %0, %0, %2\n\t"
                                             "ssub8 %1, %3, %0\n\t"
                                             "sel   %0, %0, %3"
                                             : "+r"(word), "=&r"(t) : "r"(lo4), "r"(hi4) : "cc");
                        }
                        __builtin_memcpy(output + c0, &word, 4);
                    }
#else
                    /* All constants read before the store (int8 may alias). */
                    /* All constants read before the store (int8 may alias). */
                    int32_t o0 = tp_smmulr((int32_t)((uint32_t)a0 << q[0].lsh1), q[0].mult);
                    int32_t o1 = tp_smmulr((int32_t)((uint32_t)a1 << q[1].lsh1), q[1].mult);
                    int32_t o2 = tp_smmulr((int32_t)((uint32_t)a2 << q[2].lsh1), q[2].mult);
                    int32_t o3 = tp_smmulr((int32_t)((uint32_t)a3 << q[3].lsh1), q[3].mult);
                    o0 = OUT8((o0 + q[0].rnd + (o0 >> 31)) >> q[0].e);
                    o1 = OUT8((o1 + q[1].rnd + (o1 >> 31)) >> q[1].e);
                    o2 = OUT8((o2 + q[2].rnd + (o2 >> 31)) >> q[2].e);
                    o3 = OUT8((o3 + q[3].rnd + (o3 >> 31)) >> q[3].e);
                    const uint32_t word = (uint32_t)(uint8_t)o0 | ((uint32_t)(uint8_t)o1 << 8)
                                          | ((uint32_t)(uint8_t)o2 << 16) | ((uint32_t)(uint8_t)o3 << 24);
                    __builtin_memcpy(output + c0, &word, 4);
#endif
                }
                for (int32_t c = 4 * G; c < C; ++c) {
                    int32_t acc = bias ? bias[c] : 0;
                    for (int32_t t = 0; t < T; ++t) {
                        acc += ((int32_t)taps[t][c] + p->input_offset) * (int32_t)filter[(size_t)t * C + c];
                    }
                    output[c] = OUT8(tp_rq(acc, &dw_rq[c]));
                }
                output += C;
            }
        }
    }
}

/* ---- 3x3 kernels: padded input rows, two outputs per pass --------------
 *
 * The input rows a window needs are copied into dw_rows, padded left and
 * right (and whole rows above and below the image) with the zero point, so
 * every tap of every output sits at a fixed offset from the output's
 * position: no bounds checks, no per-pixel tap table. Each input row is
 * copied about once (the buffer slides down the image, keeping the rows the
 * next window still needs). Outputs go in vertical pairs (rows oy, oy + 1;
 * pairs across rows suit odd widths like kws's 5). Per group of four
 * channels the stream (dw_w) holds the bias, then per tap the offsets of
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

#define DW_K 3             /* kernel side of this path */
#define DW_RBUF 8192       /* bytes of padded input rows */

static int8_t dw_rows[DW_RBUF] __attribute__((aligned(4)));

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
        "sxtb16  %[e], %[x]\n\t"
        "sxtb16  %[x], %[x], ror #8\n\t"
        "smlabb  %[a0], %[e], %[we], %[a0]\n\t"
        "smlatt  %[a2], %[e], %[we], %[a2]\n\t"
        "smlabb  %[a1], %[x], %[wo], %[a1]\n\t"
        "smlatt  %[a3], %[x], %[wo], %[a3]\n\t"
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
dw_k3_impl(const tp_depthwise_conv2d_s8_params_t *p, const int8_t *input, int8_t *output, int32_t pw,
           const int full)
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
                const uint32_t *s = dw_w;
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
                const uint32_t *s = dw_w;
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

/* Stream words per group of four channels: biases, 3x3 taps, requantisation. */
#define DW_K3_GROUP_WORDS (4 + DW_K * DW_K * 4 + 4 * 3)
/* Per group of four channels: the scaled bias; per tap, the tap's offset
 * in the window of output row oy and of oy + 1, and the weights scaled by
 * 2^L as (c0, c2), (c1, c3) lanes; per channel mult, rnd, shift. */
static inline __attribute__((always_inline)) void
dw_k3_stream(const tp_depthwise_conv2d_s8_params_t *p, const int8_t *filter, int32_t pw, int32_t L)
{
    const int32_t C = p->out_c;
    const int32_t down = p->stride_h * pw * C;      /* window of the next output row */
    uint32_t off[2 * DW_K * DW_K];      /* per tap: both outputs' offsets */
    for (int32_t t = 0; t < DW_K * DW_K; ++t) {
        off[2 * t] = (uint32_t)(((t / DW_K) * p->dil_h * pw + (t % DW_K) * p->dil_w) * C);
        off[2 * t + 1] = off[2 * t] + (uint32_t)down;
    }
    uint32_t *s = dw_w;
    /* The inner loops unrolled: their overhead (a spilled bound reloaded
     * per tap) cost about as much as the copying itself. */
    for (int32_t c0 = 0; c0 < C; c0 += 4) {
#pragma GCC unroll 4
        for (int32_t c = c0; c < c0 + 4; ++c) {
            *s++ = (uint32_t)dw_bias[c] << L;
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
            s[0] = (uint32_t)dw_fq[c].mult;
            s[1] = (uint32_t)dw_fq[c].rnd;
            s[2] = (uint32_t)dw_fq[c].e;
        }
    }
}

/* ---- 3x3 kernels, dilation 1, stride 1, wide rows: channel planes ------
 *
 * Per group of four channels, the padded input rows are rearranged into
 * four planes (one per channel) of int16 columns, so one word load gives
 * two horizontally adjacent inputs of one channel and SMLAD takes two taps
 * at once. One channel's output row is then a sweep of four outputs per
 * pass: per kernel row, three input words and the weight words (w0, w1),
 * (w1, w2) give the twelve products in eight MACs; for output k,
 * (x[k], x[k+1]) . (w0, w1) + x[k+2] * w2 (SMLAD + SMLABT), and for the
 * output after it x[k+1] * w0 (SMLATB) + (x[k+2], x[k+3]) . (w1, w2).
 * Each input is rearranged once per band of output rows (the two rows
 * bands share twice) and then read by the outputs that use it. The
 * rearranging and the per-row work are paid per row of four channels, so
 * narrow rows (and stride 2, which reads each input by fewer outputs)
 * stay with the padded-rows path.
 *
 * Per channel, a record in dw_w: the bias, mult, rnd, e of the
 * requantisation (as in the padded-rows path: weights and bias scaled by
 * 2^L) and per kernel row (w0, w1), (w1, w2). The sweep writes its output
 * bytes to a per-channel row (dw_orow); the four channels' rows are then
 * interleaved into the output, four bytes per store. Sweeps run past the
 * row end to whole pairs or quads of outputs (the padded planes are wide
 * enough); the extra outputs are not copied out. */

#define DW_PC 64           /* int16 columns per plane row */
#define DW_PRB (2 * DW_PC) /* bytes per plane row */
#define DW_PR (DW_RBUF / (4 * DW_PRB))   /* rows per plane (16) */
#define DW_PB (DW_PR * DW_PRB)           /* bytes per plane */
#define DW_REC 10          /* words per channel record */

static int8_t dw_orow[4][DW_PC] __attribute__((aligned(4)));

static inline void dw_st32(void *p, uint32_t v)
{
    __builtin_memcpy(p, &v, 4);
}

/* Columns j, j + 1 of the four planes from the two pixels' channel words. */
static inline __attribute__((always_inline)) void dw_plane_pair(int8_t *d, uint32_t x0, uint32_t x1)
{
    const uint32_t e0 = tp_sxtb16(x0), o0 = tp_sxtb16_ror8(x0);
    const uint32_t e1 = tp_sxtb16(x1), o1 = tp_sxtb16_ror8(x1);
    dw_st32(d, tp_pkhbt(e0, e1));
    dw_st32(d + DW_PB, tp_pkhbt(o0, o1));
    dw_st32(d + 2 * DW_PB, tp_pkhtb(e1, e0));
    dw_st32(d + 3 * DW_PB, tp_pkhtb(o1, o0));
}

/* Padded rows u0 .. u0 + n - 1 of channels c0 .. c0+3 into plane rows
 * 0 .. n - 1, columns 0 .. ncol - 1 (ncol even, pad_left 0 or 1); columns
 * outside the image hold the zero point. */
static void dw_plane_fill(const tp_depthwise_conv2d_s8_params_t *p, const int8_t *in_b, int32_t c0,
                          int32_t u0, int32_t n, int32_t ncol, uint32_t zp4)
{
    const int32_t C = p->out_c, pl = p->pad_left;
    /* Per image row: a pair (zero point, pixel 0) if pl, nmid pairs of
     * pixels, a pair (last pixel, zero point) if odd, then zero points. */
    const int32_t npix = p->in_w < ncol - pl ? p->in_w : ncol - pl;
    const int32_t nmid = (npix - pl) >> 1, odd = (npix - pl) & 1;
    const uint32_t z = tp_sxtb16(zp4);   /* a zero-point column pair, every plane */
    int8_t *row = dw_rows;
    for (int32_t i = 0; i < n; ++i, row += DW_PRB) {
        const int32_t iy = u0 + i - p->pad_top;
        int8_t *d = row;
        if (iy >= 0 && iy < p->in_h) {
            const int8_t *x = in_b + (size_t)iy * p->in_w * C + c0;
            if (pl) {
                dw_plane_pair(d, zp4, tp_ld32(x));
                d += 4;
                x += C;
            }
            for (int8_t *const e = d + 4 * nmid; d < e; d += 4, x += 2 * C) {
                dw_plane_pair(d, tp_ld32(x), tp_ld32(x + C));
            }
            if (odd) {
                dw_plane_pair(d, tp_ld32(x), zp4);
                d += 4;
            }
        }
        for (; d < row + 2 * ncol; d += 4) {
            dw_st32(d, z);
            dw_st32(d + DW_PB, z);
            dw_st32(d + 2 * DW_PB, z);
            dw_st32(d + 3 * DW_PB, z);
        }
    }
}

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
/* Asm text: one kernel row of a quad (Q0 loads q0; the other inputs at
 * RO + 4, RO + 8 from in, the weight words at WO, WO + 4 from r), adding
 * to A0 .. A3 (the bias for the first row). */
#define DW_SW_ROW(Q0, RO, WO, A0, A1, A2, A3)                   \
    "ldr     %[w01], [%[r], #" WO "]\n\t"                       \
    "ldr     %[w12], [%[r], #" WO "+4]\n\t"                     \
    Q0                                                          \
    "ldr     %[q2], [%[in], #" RO "+4]\n\t"                     \
    "ldr     %[q4], [%[in], #" RO "+8]\n\t"                     \
    "smlad   %[a0], %[q0], %[w01], %[" A0 "]\n\t"               \
    "smlabt  %[a0], %[q2], %[w12], %[a0]\n\t"                   \
    "smlatb  %[a1], %[q0], %[w01], %[" A1 "]\n\t"               \
    "smlad   %[a1], %[q2], %[w12], %[a1]\n\t"                   \
    "smlad   %[a2], %[q2], %[w01], %[" A2 "]\n\t"               \
    "smlabt  %[a2], %[q4], %[w12], %[a2]\n\t"                   \
    "smlatb  %[a3], %[q2], %[w01], %[" A3 "]\n\t"               \
    "smlad   %[a3], %[q4], %[w12], %[a3]\n\t"
/* Requantisation of accumulator A with mult in w01, rnd in w12, the shift
 * in the low byte of ec; the result in D (saturated, sign-extended). */
#define DW_SW_RQ(A, D)                                          \
    "smmlar  %[q0], %[" A "], %[w01], %[w12]\n\t"               \
    "add     %[q0], %[q0], %[" A "], asr #31\n\t"               \
    "asr     %[q0], %[q0], %[ec]\n\t"                           \
    "ssat    %[" D "], #8, %[q0]\n\t"
#define DW_SW_RQ_BFI(A, K)                                      \
    DW_SW_RQ(A, "q0")                                           \
    "bfi     %[a0], %[q0], #" K ", #8\n\t"
/* A pair (a row's last two outputs) needs q0, q2 only. */
#define DW_SW_PROW(RO, WO, A0, A1)                              \
    "ldr     %[w01], [%[r], #" WO "]\n\t"                       \
    "ldr     %[w12], [%[r], #" WO "+4]\n\t"                     \
    "ldr     %[q0], [%[in], #" RO "]\n\t"                       \
    "ldr     %[q2], [%[in], #" RO "+4]\n\t"                     \
    "smlad   %[a0], %[q0], %[w01], %[" A0 "]\n\t"               \
    "smlabt  %[a0], %[q2], %[w12], %[a0]\n\t"                   \
    "smlatb  %[a1], %[q0], %[w01], %[" A1 "]\n\t"               \
    "smlad   %[a1], %[q2], %[w12], %[a1]\n\t"
#define DW_SW_PAIR                                              \
    DW_SW_PROW("0", "16", "b", "b")                             \
    DW_SW_PROW("128", "24", "a0", "a1")                         \
    DW_SW_PROW("256", "32", "a0", "a1")                         \
    "ldr     %[w01], [%[r], #4]\n\t"                            \
    "ldr     %[w12], [%[r], #8]\n\t"                            \
    DW_SW_RQ("a0", "a0")                                        \
    DW_SW_RQ_BFI("a1", "8")                                     \
    "strh    %[a0], [%[out]]\n\t"
/* The quad loop; its first load steps in on to the next quad's window
 * (the later offsets are relative to that). */
#define DW_SW_QUAD                                              \
    "1:\n\t"                                                    \
    DW_SW_ROW("ldr     %[q0], [%[in]], #8\n\t", "-8", "16", "b", "b", "b", "b") \
    DW_SW_ROW("ldr     %[q0], [%[in], #120]\n\t", "120", "24", "a0", "a1", "a2", "a3") \
    DW_SW_ROW("ldr     %[q0], [%[in], #248]\n\t", "248", "32", "a0", "a1", "a2", "a3") \
    "ldr     %[w01], [%[r], #4]\n\t"                            \
    "ldr     %[w12], [%[r], #8]\n\t"                            \
    DW_SW_RQ("a0", "a0")                                        \
    DW_SW_RQ_BFI("a1", "8")                                     \
    DW_SW_RQ_BFI("a2", "16")                                    \
    DW_SW_RQ_BFI("a3", "24")                                    \
    "str     %[a0], [%[out]], #4\n\t"                           \
    "adds    %[ec], %[ec], #256\n\t"                            \
    "bmi     1b\n\t"
#endif

/* One channel's output row: nq quads, then a pair if pair. in:
 * the plane at the row's first window, r: the channel record, out: bytes. */
static inline __attribute__((always_inline)) void
dw_sweep(const int8_t *in, const uint32_t *r, int8_t *out, int32_t nq, int pair)
{
    _Static_assert(DW_PRB == 128, "the asm's kernel rows are 128 bytes apart");
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    int32_t a0, a1, a2, a3;
    uint32_t q0, q2, q4, w01, w12;
    const int32_t bias = (int32_t)r[0];
    if (nq > 0) {
        /* ec: the shift in the low byte (ASR reads only that), -quads above */
        int32_t ec = (int32_t)(((uint32_t)-nq << 8) | r[3]);
        __asm__ volatile(DW_SW_QUAD
                         : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3),
                           [q0] "=&r"(q0), [q2] "=&r"(q2), [q4] "=&r"(q4), [w01] "=&r"(w01),
                           [w12] "=&r"(w12), [in] "+r"(in), [out] "+r"(out), [ec] "+r"(ec)
                         : [r] "r"(r), [b] "r"(bias)
                         : "cc", "memory");
    }
    if (pair) {
        /* The same for two outputs, stored as a halfword. */
        const uint32_t e = r[3];
        __asm__ volatile(DW_SW_PAIR
                         : [a0] "=&r"(a0), [a1] "=&r"(a1), [q0] "=&r"(q0), [q2] "=&r"(q2),
                           [w01] "=&r"(w01), [w12] "=&r"(w12)
                         : [in] "r"(in), [out] "r"(out), [ec] "r"(e), [r] "r"(r), [b] "r"(bias)
                         : "memory");
    }
#else
    const int32_t n = 4 * nq + 2 * (pair != 0);
    for (int32_t k = 0; k < n; ++k, in += 2) {
        int32_t a = (int32_t)r[0];
        for (int32_t ky = 0; ky < DW_K; ++ky) {
            int16_t x[3];
            __builtin_memcpy(x, in + ky * DW_PRB, sizeof x);
            const uint32_t w01 = r[4 + 2 * ky], w12 = r[5 + 2 * ky];
            a = dw_mla(a, x[0], tp_lo(w01));
            a = dw_mla(a, x[1], tp_hi(w01));
            a = dw_mla(a, x[2], tp_hi(w12));
        }
        out[k] = (int8_t)dw_rq_model(a, r + 1);
    }
#endif
}

/* The four channels' output rows of a row without a closing pair (nq > 0):
 * dw_sweep's quad loop, and the step to the next channel's plane, record
 * and output row, in one asm block (the per-channel values live in
 * memory: all registers are taken). */
static inline __attribute__((always_inline)) void dw_sweep4(const int8_t *in, const uint32_t *rec, int32_t nq)
{
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    _Static_assert(DW_REC == 10, "the asm steps 40 bytes per record");
    int32_t a0, a1, a2, a3, b, ec;
    uint32_t q0, q2, q4, w01, w12;
    int8_t *out = dw_orow[0];
    const uint32_t *r = rec;
    const uint32_t negq = (uint32_t)-nq << 8;          /* the quad count above the shift */
    const int32_t instep = DW_PB - 8 * nq, outstep = DW_PC - 4 * nq;
    const uint32_t *const rend = rec + 4 * DW_REC;
    __asm__ volatile("2:\n\t"
                     "ldr     %[b], [%[r]]\n\t"
                     "ldr     %[ec], [%[r], #12]\n\t"
                     "ldr     %[q0], %[negq]\n\t"
                     "orr     %[ec], %[ec], %[q0]\n\t"
                     DW_SW_QUAD
                     "ldr     %[q0], %[instep]\n\t"
                     "ldr     %[q2], %[outstep]\n\t"
                     "ldr     %[q4], %[rend]\n\t"
                     "add     %[r], %[r], #40\n\t"
                     "add     %[in], %[in], %[q0]\n\t"
                     "add     %[out], %[out], %[q2]\n\t"
                     "cmp     %[r], %[q4]\n\t"
                     "bne     2b\n\t"
                     : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3),
                       [q0] "=&r"(q0), [q2] "=&r"(q2), [q4] "=&r"(q4), [w01] "=&r"(w01),
                       [w12] "=&r"(w12), [in] "+r"(in), [out] "+r"(out), [ec] "=&r"(ec), [r] "+r"(r),
                       [b] "=&r"(b)
                     : [negq] "m"(negq), [instep] "m"(instep), [outstep] "m"(outstep), [rend] "m"(rend)
                     : "cc", "memory");
#else
    for (int32_t k = 0; k < 4; ++k) {
        dw_sweep(in + k * DW_PB, rec + k * DW_REC, dw_orow[k], nq, 0);
    }
#endif
}

/* Output row from the four channels' rows: four pixels (sixteen bytes) per
 * step as a 4x4 byte transpose, the last few pixels one word each. */
static inline __attribute__((always_inline)) void
dw_emit_row(int8_t *out, int32_t OW, int32_t C, const int full, uint32_t lo4, uint32_t hi4)
{
    int32_t ox = 0;
    for (; ox + 4 <= OW; ox += 4, out += 4 * C) {
        const uint32_t r0 = tp_ld32(dw_orow[0] + ox), r1 = tp_ld32(dw_orow[1] + ox);
        const uint32_t r2 = tp_ld32(dw_orow[2] + ox), r3 = tp_ld32(dw_orow[3] + ox);
        /* (c0, c2) and (c1, c3) of pixels 0, 1, then of pixels 2, 3 */
        const uint32_t e01 = tp_pkhbt(r0, r2), o01 = tp_pkhbt(r1, r3);
        const uint32_t e23 = tp_pkhtb(r2, r0), o23 = tp_pkhtb(r3, r1);
        const uint32_t v0 = (e01 & 0x00FF00FFu) | ((o01 & 0x00FF00FFu) << 8);
        const uint32_t v1 = ((e01 >> 8) & 0x00FF00FFu) | (o01 & 0xFF00FF00u);
        const uint32_t v2 = (e23 & 0x00FF00FFu) | ((o23 & 0x00FF00FFu) << 8);
        const uint32_t v3 = ((e23 >> 8) & 0x00FF00FFu) | (o23 & 0xFF00FF00u);
        dw_st32(out, full ? v0 : dw_clamp4(v0, lo4, hi4));
        dw_st32(out + C, full ? v1 : dw_clamp4(v1, lo4, hi4));
        dw_st32(out + 2 * C, full ? v2 : dw_clamp4(v2, lo4, hi4));
        dw_st32(out + 3 * C, full ? v3 : dw_clamp4(v3, lo4, hi4));
    }
    for (; ox < OW; ++ox, out += C) {
        const uint32_t v = (uint32_t)(uint8_t)dw_orow[0][ox] | ((uint32_t)(uint8_t)dw_orow[1][ox] << 8)
                           | ((uint32_t)(uint8_t)dw_orow[2][ox] << 16)
                           | ((uint32_t)(uint8_t)dw_orow[3][ox] << 24);
        dw_st32(out, full ? v : dw_clamp4(v, lo4, hi4));
    }
}

/* Computed outputs per row: whole quads, and a pair for a remainder of 1 or
 * 2 (a remainder of 3 takes one more quad). */
static inline int32_t dw_sweep_quads(int32_t OW)
{
    return (OW + 1) / 4;
}

static inline __attribute__((always_inline)) void
dw_planes_impl(const tp_depthwise_conv2d_s8_params_t *p, const int8_t *input, int8_t *output,
               const int full)
{
    const int32_t C = p->out_c;
    const int32_t OW = p->out_w, OH = p->out_h;
    const int32_t nq = dw_sweep_quads(OW);
    const int pair = 4 * nq < OW;
    const int32_t ncol = 4 * nq + 2 * pair + 2;   /* columns the sweeps read */
    const int32_t band = DW_PR - DW_K + 1;        /* output rows per plane fill */
    const uint32_t zp4 = (uint32_t)(uint8_t)(-p->input_offset) * 0x01010101u;
    const uint32_t lo4 = ((uint32_t)(uint8_t)p->act_min) * 0x01010101u;
    const uint32_t hi4 = ((uint32_t)(uint8_t)p->act_max) * 0x01010101u;

    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + (size_t)b * p->in_h * p->in_w * C;
        int8_t *out_b = output + (size_t)b * OH * OW * C;
        for (int32_t c0 = 0; c0 < C; c0 += 4) {
            const uint32_t *rec = dw_w + c0 * DW_REC;
            for (int32_t oy0 = 0; oy0 < OH; oy0 += band) {
                const int32_t nr = OH - oy0 < band ? OH - oy0 : band;
                dw_plane_fill(p, in_b, c0, oy0, nr - 1 + DW_K, ncol, zp4);
                for (int32_t oy = 0; oy < nr; ++oy) {
                    const int8_t *in = dw_rows + oy * DW_PRB;
                    if (!pair) {
                        dw_sweep4(in, rec, nq);
                    } else {
                        for (int32_t k = 0; k < 4; ++k) {
                            dw_sweep(in + k * DW_PB, rec + k * DW_REC, dw_orow[k], nq, pair);
                        }
                    }
                    dw_emit_row(out_b + ((size_t)(oy0 + oy) * OW) * C + c0, OW, C, full, lo4, hi4);
                }
            }
        }
    }
}

#define DW_PLANES_MIN_W 12 /* narrower rows: the padded-rows path is faster */

/* Whether the planes path takes the layer (3x3 and the shared-shift
 * requantisation already checked): dilation 1, stride 1, a left pad of at
 * most one column, channels in fours, rows wide enough to pay for the
 * rearranging and narrow enough for the planes. */
static int dw_planes_fit(const tp_depthwise_conv2d_s8_params_t *p)
{
    const int32_t nq = dw_sweep_quads(p->out_w);
    const int32_t ncol = 4 * nq + 2 * (4 * nq < p->out_w) + 2;
    return p->dil_w == 1 && p->dil_h == 1 && p->stride_w == 1 && p->stride_h == 1 && p->pad_left <= 1
           && (p->out_c & 3) == 0 && p->out_c * DW_REC <= DW_WMAX && p->out_w >= DW_PLANES_MIN_W
           && ncol <= DW_PC;
}

/* The channel records (layout above), weights and bias scaled by 2^L. */
static inline __attribute__((always_inline)) void
dw_planes_records(const tp_depthwise_conv2d_s8_params_t *p, const int8_t *filter, int32_t L)
{
    const int32_t C = p->out_c;
    for (int32_t c0 = 0; c0 < C; c0 += 4) {
        uint32_t *r = dw_w + c0 * DW_REC;
        for (int32_t k = 0; k < 4; ++k) {
            const dw_fq_t *q = &dw_fq[c0 + k];
            r[k * DW_REC] = (uint32_t)dw_bias[c0 + k] << L;
            r[k * DW_REC + 1] = (uint32_t)q->mult;
            r[k * DW_REC + 2] = (uint32_t)q->rnd;
            r[k * DW_REC + 3] = (uint32_t)q->e;
        }
        const int8_t *f = filter + c0;
        for (int32_t ky = 0; ky < DW_K; ++ky, f += DW_K * C) {
            uint32_t e[DW_K], o[DW_K];   /* per tap: (c0, c2), (c1, c3) */
            for (int32_t kx = 0; kx < DW_K; ++kx) {
                dw_tap_lanes(tp_ld32(f + kx * C), L, &e[kx], &o[kx]);
            }
            uint32_t *rw = r + 4 + 2 * ky;
            for (int32_t j = 0; j < 2; ++j) {   /* (w0, w1), then (w1, w2) */
                rw[j] = tp_pkhbt(e[j], e[j + 1]);
                rw[DW_REC + j] = tp_pkhbt(o[j], o[j + 1]);
                rw[2 * DW_REC + j] = tp_pkhtb(e[j + 1], e[j]);
                rw[3 * DW_REC + j] = tp_pkhtb(o[j + 1], o[j]);
            }
        }
    }
}

/* dw_bias = bias + input_offset * (sum of the channel's weights): the
 * input offset of every tap, padded ones included (a padded tap reads the
 * zero point zp = -input_offset, and zp * w cancels). Four channels per
 * word with SXTAB16: a sum of at most DW_TMAX int8 fits a 16-bit lane. */
static void dw_fold_bias(const tp_depthwise_conv2d_s8_params_t *p, const int8_t *filter,
                         const int32_t *bias, int32_t C, int32_t T)
{
    int32_t c = 0;
    for (; c + 4 <= C; c += 4) {
        uint32_t se = 0, so = 0;
        const int8_t *f = filter + c;
        for (int32_t t = 0; t < T; ++t, f += C) {
            const uint32_t w = tp_ld32(f);
            se = tp_sxtab16(se, w);
            so = tp_sxtab16_ror8(so, w);
        }
        const int32_t sum[4] = {(int16_t)(se & 0xFFFFu), (int16_t)(so & 0xFFFFu), (int16_t)(se >> 16),
                                (int16_t)(so >> 16)};
        for (int32_t k = 0; k < 4; ++k) {
            dw_bias[c + k] = (int32_t)((uint32_t)(bias ? bias[c + k] : 0)
                                       + (uint32_t)p->input_offset * (uint32_t)sum[k]);
        }
    }
    for (; c < C; ++c) {
        uint32_t wsum = 0;
        for (int32_t t = 0; t < T; ++t) {
            wsum += (uint32_t)(int32_t)filter[(size_t)t * C + c];
        }
        dw_bias[c] = (int32_t)((uint32_t)(bias ? bias[c] : 0) + (uint32_t)p->input_offset * wsum);
    }
}

/* Requantisation entry of channel c: dw_fq, from dw_rq (which a channel
 * outside the groups of four uses as it is). tp_rq_prepare decides the
 * usual channel in 32-bit arithmetic. */
static void dw_prepare_channel(const tp_depthwise_conv2d_s8_params_t *p, int32_t c, int32_t T,
                               uint32_t bound, int32_t bias_c)
{
    const int32_t mult = p->out_mult[c], shift = p->out_shift[c];
    dw_fq_t *f = &dw_fq[c];
    tp_rq_prepare(&dw_rq[c], mult, shift, tp_add_bound(bound, bias_c), p->output_offset);
    const tp_rq_t *q = &dw_rq[c];
    if (q->tier == 2 && q->mult > 0) {
        f->mult = q->mult;
        f->rnd = q->rnd;
        f->lsh1 = q->lsh1;
        f->e = q->e;
        return;
    }
    /* One output for the whole accumulator range: a constant (a zero
     * multiplier gives rnd >> e). Stored as mult 0, e 1, rnd 2v + 1,
     * which both requantisation forms map to v whatever the sign
     * correction. */
    int32_t constant;
    if ((q->tier == 2 && q->mult == 0)
        || tp_constant_output(T, p->input_offset, bias_c, mult, shift, p->output_offset, p->act_min,
                              p->act_max, &constant)) {
        if (q->tier == 2) {
            constant = tp_clamp(q->rnd >> q->e, -128, 127);
        }
        f->mult = 0;
        f->rnd = 2 * constant + 1;
        f->lsh1 = 1;
        f->e = 1;
        return;
    }
    f->mult = mult;
    f->lsh1 = shift;
    f->rnd = p->output_offset;
    f->e = -1;
}

void tp_depthwise_conv2d_s8(const tp_depthwise_conv2d_s8_params_t *p,
                            const int8_t *input, const int8_t *filter,
                            const int32_t *bias, int8_t *output)
{
    const int32_t C = p->out_c;
    const int32_t T = p->k_h * p->k_w;
    const int32_t T2 = (T + 1) & ~1;
    const int32_t G = C >> 2;
    if (p->depth_multiplier != 1 || C > DW_CMAX || T > DW_TMAX || T <= 0
        || (int32_t)G * T2 * 2 > DW_WMAX) {
        tp_depthwise_conv2d_s8_ref(p, input, filter, bias, output);
        return;
    }
    dw_fold_bias(p, filter, bias, C, T);
    const uint32_t bound = tp_dot_bound(T, p->input_offset, 0);
    for (int32_t c = 0; c < C; ++c) {
        dw_prepare_channel(p, c, T, bound, bias ? bias[c] : 0);
    }
    /* Whether some channel needs the exact routine, and the left shift L
     * (lsh1) if all requantised channels share it. */
    int ex = 0, L = -1, one_l = 1;
    for (int32_t c = 0; c < 4 * G; ++c) {
        ex |= dw_fq[c].e < 0;
        if (dw_fq[c].mult != 0) {
            one_l &= L < 0 || dw_fq[c].lsh1 == L;
            L = dw_fq[c].lsh1;
        }
    }
    const int full = p->act_min <= -128 && p->act_max >= 127;
    const int32_t pw = (p->out_w - 1) * p->stride_w + 2 * p->dil_w + 1;
    const int k3 = !ex && one_l && L <= 8 && p->k_h == DW_K && p->k_w == DW_K;
    if (k3 && dw_planes_fit(p)) {
        if (L == 1) {   /* a literal 1: the doubling form of dw_tap_lanes */
            dw_planes_records(p, filter, 1);
        } else {
            dw_planes_records(p, filter, L < 0 ? 0 : L);
        }
        if (full) {
            dw_planes_impl(p, input, output, 1);
        } else {
            dw_planes_impl(p, input, output, 0);
        }
        return;
    }
    if (k3 && (C & 3) == 0 && (2 * p->dil_h + 1 + p->stride_h) * pw * C <= DW_RBUF
        && G * DW_K3_GROUP_WORDS <= DW_WMAX) {
        if (L == 1) {   /* a literal 1: the doubling form of dw_tap_lanes */
            dw_k3_stream(p, filter, pw, 1);
        } else {
            dw_k3_stream(p, filter, pw, L < 0 ? 0 : L);
        }
        if (full) {
            dw_k3_impl(p, input, output, pw, 1);
        } else {
            dw_k3_impl(p, input, output, pw, 0);
        }
        return;
    }
    memset(dw_zp_row, (uint8_t)(-p->input_offset), (size_t)C);
    /* Weights per group of four channels, per tap: (c0, c2), (c1, c3). */
    {
        uint32_t *w = dw_w;
        for (int32_t g = 0; g < G; ++g) {
            const int8_t *f = filter + 4 * g;
            for (int32_t t = 0; t < T2; ++t, f += C) {
                if (t < T) {
                    w[0] = ((uint32_t)f[0] & 0xFFFFu) | ((uint32_t)f[2] << 16);
                    w[1] = ((uint32_t)f[1] & 0xFFFFu) | ((uint32_t)f[3] << 16);
                } else {
                    w[0] = 0;
                    w[1] = 0;
                }
                w += 2;
            }
        }
    }
    if (ex) {
        if (full) {
            dw_impl(p, input, filter, bias, output, 1, 0, 1);
        } else {
            dw_impl(p, input, filter, bias, output, 0, 0, 1);
        }
    } else if (T2 == 10) {
        if (full) {
            dw_impl(p, input, filter, bias, output, 1, 1, 0);
        } else {
            dw_impl(p, input, filter, bias, output, 0, 1, 0);
        }
    } else {
        if (full) {
            dw_impl(p, input, filter, bias, output, 1, 0, 0);
        } else {
            dw_impl(p, input, filter, bias, output, 0, 0, 0);
        }
    }
}

#endif
