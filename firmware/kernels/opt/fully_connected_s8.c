/* FULLY_CONNECTED, int8, per-tensor weights, int32 bias.
 * Optimized for the Armv7E-M / Armv8-M DSP extension.
 *
 * The input row is expanded once into 16-bit (x + input_offset) values in
 * the lane order of SXTB16 / SXTB16 ROR #8 (per group of four: (x0, x2),
 * (x1, x3)); the weights are sign-extended with the filter offset added
 * (SXTAB16) as they are read, four rows at a time, and each SMLAD does two
 * multiply-accumulates. Accumulation is exact int32. */
#include "tp_opt.h"

#if !TP_OPT_SIMD

#include "../fully_connected_s8.c"

#else

#define tp_fully_connected_s8 tp_fully_connected_s8_ref
#include "../fully_connected_s8.c"
#undef tp_fully_connected_s8

#define FC_DMAX 2048       /* accumulation depth */

static uint32_t fc_in[FC_DMAX / 2 + 4];

/* Four rows w, w+K, w+2K, w+3K over g >= 1 groups of four. */
static inline void dot_4rows(const uint32_t *x, const int8_t *w, int32_t K, int32_t g, uint32_t woff2,
                             int32_t *p0, int32_t *p1, int32_t *p2, int32_t *p3)
{
    int32_t a0 = *p0, a1 = *p1, a2 = *p2, a3 = *p3;
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    if (woff2 == 0) {
        const int8_t *wa = w, *wb = w + 2 * K;
        uint32_t xe, xo, v, t;
        __asm__ volatile(
            "1:\n\t"
            "ldrd    %[xe], %[xo], [%[x]], #8\n\t"
            "ldr     %[v], [%[wa], %[K]]\n\t"
            "sxtb16  %[t], %[v]\n\t"
            "smlad   %[a1], %[xe], %[t], %[a1]\n\t"
            "sxtb16  %[v], %[v], ror #8\n\t"
            "smlad   %[a1], %[xo], %[v], %[a1]\n\t"
            "ldr     %[v], [%[wa]], #4\n\t"
            "sxtb16  %[t], %[v]\n\t"
            "smlad   %[a0], %[xe], %[t], %[a0]\n\t"
            "sxtb16  %[v], %[v], ror #8\n\t"
            "smlad   %[a0], %[xo], %[v], %[a0]\n\t"
            "ldr     %[v], [%[wb], %[K]]\n\t"
            "sxtb16  %[t], %[v]\n\t"
            "smlad   %[a3], %[xe], %[t], %[a3]\n\t"
            "sxtb16  %[v], %[v], ror #8\n\t"
            "smlad   %[a3], %[xo], %[v], %[a3]\n\t"
            "ldr     %[v], [%[wb]], #4\n\t"
            "sxtb16  %[t], %[v]\n\t"
            "smlad   %[a2], %[xe], %[t], %[a2]\n\t"
            "sxtb16  %[v], %[v], ror #8\n\t"
            "smlad   %[a2], %[xo], %[v], %[a2]\n\t"
            "subs    %[g], %[g], #1\n\t"
            "bne     1b\n\t"
            : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3),
              [x] "+r"(x), [wa] "+r"(wa), [wb] "+r"(wb), [g] "+r"(g),
              [xe] "=&r"(xe), [xo] "=&r"(xo), [v] "=&r"(v), [t] "=&r"(t)
            : [K] "r"(K)
            : "cc", "memory");
        g = 0;
    }
#endif
    const int8_t *w1 = w + K, *w2 = w + 2 * K, *w3 = w + 3 * K;
    for (; g > 0; --g) {
        const uint32_t xe = x[0], xo = x[1];
        x += 2;
        uint32_t v = tp_ld32(w);
        a0 = tp_smlad(xe, tp_sxtab16(woff2, v), a0);
        a0 = tp_smlad(xo, tp_sxtab16_ror8(woff2, v), a0);
        v = tp_ld32(w1);
        a1 = tp_smlad(xe, tp_sxtab16(woff2, v), a1);
        a1 = tp_smlad(xo, tp_sxtab16_ror8(woff2, v), a1);
        v = tp_ld32(w2);
        a2 = tp_smlad(xe, tp_sxtab16(woff2, v), a2);
        a2 = tp_smlad(xo, tp_sxtab16_ror8(woff2, v), a2);
        v = tp_ld32(w3);
        a3 = tp_smlad(xe, tp_sxtab16(woff2, v), a3);
        a3 = tp_smlad(xo, tp_sxtab16_ror8(woff2, v), a3);
        w += 4;
        w1 += 4;
        w2 += 4;
        w3 += 4;
    }
    *p0 = a0;
    *p1 = a1;
    *p2 = a2;
    *p3 = a3;
}

static inline int32_t dot_1row(const uint32_t *x, const int8_t *w, int32_t g, uint32_t woff2, int32_t a)
{
    for (; g > 0; --g) {
        const uint32_t v = tp_ld32(w);
        w += 4;
        a = tp_smlad(x[0], tp_sxtab16(woff2, v), a);
        a = tp_smlad(x[1], tp_sxtab16_ror8(woff2, v), a);
        x += 2;
    }
    return a;
}

void tp_fully_connected_s8(const tp_fully_connected_s8_params_t *p,
                           const int8_t *input, const int8_t *filter,
                           const int32_t *bias, int8_t *output)
{
    const int32_t K = p->in_depth;
    if (K > FC_DMAX || K <= 0) {
        tp_fully_connected_s8_ref(p, input, filter, bias, output);
        return;
    }
    const int32_t G = K >> 2, T = K & 3;
    const int32_t N = p->out_depth;
    const uint32_t off2 = tp_dup16(p->input_offset);
    const uint32_t woff2 = tp_dup16(p->filter_offset);
    const int32_t woff = p->filter_offset;
    const int32_t lo = p->act_min, hi = p->act_max;
    const uint32_t bound = tp_dot_bound(K, p->input_offset, p->filter_offset);
    /* One multiplier for the layer; the bound covers every bias. */
    uint32_t max_bias = 0;
    if (bias) {
        for (int32_t o = 0; o < N; ++o) {
            const uint32_t a = bias[o] < 0 ? (uint32_t)0 - (uint32_t)bias[o] : (uint32_t)bias[o];
            max_bias = a > max_bias ? a : max_bias;
        }
    }
    tp_rq_t q;
    tp_rq_prepare(&q, p->out_mult, p->out_shift,
                  max_bias > 0x7FFFFFFFu ? 0xFFFFFFFFu : tp_add_bound(bound, (int32_t)max_bias),
                  p->output_offset);
    const int fast = q.tier == 2;
    int16_t *tail = (int16_t *)(fc_in + 2 * G);

    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + (size_t)b * K;
        for (int32_t g = 0; g < G; ++g) {
            const uint32_t v = tp_ld32(in_b + 4 * g);
            fc_in[2 * g] = tp_sxtab16(off2, v);
            fc_in[2 * g + 1] = tp_sxtab16_ror8(off2, v);
        }
        for (int32_t t = 0; t < T; ++t) {
            tail[t] = (int16_t)(in_b[4 * G + t] + p->input_offset);
        }
        int32_t o = 0;
        for (; o + 3 < N; o += 4) {
            const int8_t *w = filter + (size_t)o * K;
            int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
            if (bias) {
                a0 = bias[o];
                a1 = bias[o + 1];
                a2 = bias[o + 2];
                a3 = bias[o + 3];
            }
            if (G > 0) {
                dot_4rows(fc_in, w, K, G, woff2, &a0, &a1, &a2, &a3);
            }
            if (T > 0) {
                const int8_t *wt = w + 4 * G;
                for (int32_t t = 0; t < T; ++t, ++wt) {
                    const int32_t x = tail[t];
                    a0 += x * ((int32_t)wt[0] + woff);
                    a1 += x * ((int32_t)wt[K] + woff);
                    a2 += x * ((int32_t)wt[2 * K] + woff);
                    a3 += x * ((int32_t)wt[3 * K] + woff);
                }
            }
            if (fast) {
                output[o] = tp_clamp8(tp_rq2(a0, &q), lo, hi);
                output[o + 1] = tp_clamp8(tp_rq2(a1, &q), lo, hi);
                output[o + 2] = tp_clamp8(tp_rq2(a2, &q), lo, hi);
                output[o + 3] = tp_clamp8(tp_rq2(a3, &q), lo, hi);
            } else {
                output[o] = tp_clamp8(tp_rq(a0, &q), lo, hi);
                output[o + 1] = tp_clamp8(tp_rq(a1, &q), lo, hi);
                output[o + 2] = tp_clamp8(tp_rq(a2, &q), lo, hi);
                output[o + 3] = tp_clamp8(tp_rq(a3, &q), lo, hi);
            }
        }
        for (; o < N; ++o) {
            const int8_t *w = filter + (size_t)o * K;
            int32_t acc = dot_1row(fc_in, w, G, woff2, bias ? bias[o] : 0);
            for (int32_t t = 0; t < T; ++t) {
                acc += tail[t] * ((int32_t)w[4 * G + t] + woff);
            }
            output[o] = tp_clamp8(tp_rq(acc, &q), lo, hi);
        }
        output += N;
    }
}

#endif
