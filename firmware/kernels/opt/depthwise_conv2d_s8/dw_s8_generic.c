/* DEPTHWISE_CONV_2D int8, optimized path DW_PATH_GENERIC: any kernel of up
 * to DW_TMAX taps, any stride, dilation and padding.
 *
 * Channels are contiguous in both input and filter, so four channels are
 * processed together: the filter is rearranged into 16-bit lanes, (c0, c2)
 * and (c1, c3) per tap, the order SXTB16 / SXTB16 ROR #8 give the input
 * bytes, and SMLABB / SMLATT accumulate each lane. The input offset enters
 * once per channel through the folded bias (dw_s8_prepare.c). A padded tap
 * reads a row of input zero points, so its x * w is exactly cancelled by
 * its share of that correction: the sum equals the reference's, which skips
 * the tap. An odd tap count gets one more such tap with zero weights.
 * Accumulation is exact int32 (mod 2^32, like the reference). Channels
 * after the last group of four take the scalar loop. */
#include "dw_s8.h"

#if TP_OPT_SIMD

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
            DW_TAP4_ASM("x")
            "ldr     %[we], [%[w]], #4\n\t"
            "ldr     %[wo], [%[w]], #4\n\t"
            DW_TAP4_ASM("p1")
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
        DW_TAP4_ASM("x")
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
        const int32_t *bias, int8_t *output, const dw_layer_t *l, const int full, const int n5, const int ex)
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
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                dw_tap_table(p, in_b, C, oy, ox, l->zp_row, taps);
                const uint32_t *w = l->stream;
                for (int32_t g = 0; g < G; ++g) {
                    const int32_t c0 = 4 * g;
                    int32_t a0 = l->bias[c0], a1 = l->bias[c0 + 1];
                    int32_t a2 = l->bias[c0 + 2], a3 = l->bias[c0 + 3];
                    dw_group(taps, w, c0, n5 ? 5 : T2 >> 1, &a0, &a1, &a2, &a3);
                    w += 2 * T2;
                    const dw_fq_t *q = &l->fq[c0];
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
                    output[c] = OUT8(tp_rq(acc, &l->rq[c - 4 * G]));
                }
                output += C;
            }
        }
    }
}

/* Weights per group of four channels, per tap: (c0, c2), (c1, c3); the tap
 * count rounded up to even with zero weights. */
void dw_generic_stream(const tp_depthwise_conv2d_s8_params_t *p, const int8_t *filter, const dw_layer_t *l)
{
    const int32_t C = p->out_c;
    const int32_t T = p->k_h * p->k_w;
    const int32_t T2 = (T + 1) & ~1;
    uint32_t *w = l->stream;
    for (int32_t g = 0; g < C >> 2; ++g) {
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

/* Specialised on the requantisation (exact routine or not), the 3x3 tap
 * count and the clamp. */
void dw_generic_run(const tp_depthwise_conv2d_s8_params_t *p, const int8_t *input, const int8_t *filter,
                    const int32_t *bias, int8_t *output, const dw_layer_t *l)
{
    const dw_prep_t *prep = &l->head->prep;
    const int32_t T2 = (p->k_h * p->k_w + 1) & ~1;
    if (prep->ex) {
        if (prep->full) {
            dw_impl(p, input, filter, bias, output, l, 1, 0, 1);
        } else {
            dw_impl(p, input, filter, bias, output, l, 0, 0, 1);
        }
    } else if (T2 == 10) {
        if (prep->full) {
            dw_impl(p, input, filter, bias, output, l, 1, 1, 0);
        } else {
            dw_impl(p, input, filter, bias, output, l, 0, 1, 0);
        }
    } else {
        if (prep->full) {
            dw_impl(p, input, filter, bias, output, l, 1, 0, 0);
        } else {
            dw_impl(p, input, filter, bias, output, l, 0, 0, 0);
        }
    }
}

#endif
