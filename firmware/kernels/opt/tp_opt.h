/*
 * tinyperf optimized kernels: shared helpers.
 *
 * TP_OPT_SIMD is 1 when the packed 16-bit DSP instructions can be used:
 *   - on Cortex-M cores with the DSP extension (__ARM_FEATURE_DSP: M4, M7,
 *     M33, M55), through ACLE intrinsics and a few one-instruction asm
 *     helpers for forms ACLE does not spell (rotated SXTB16, SMMULR);
 *   - on the host when TP_OPT_EMULATE is defined, with plain C models of the
 *     same instructions, so the kernel logic can be tested natively.
 * Otherwise every opt/ file compiles the reference kernel of the same name.
 *
 * Requantisation ("fast" form, see tp_rq_prepare): TFLM computes
 *     o = SRDHM(acc << lsh, mult) = floor((a * mult + 2^30) / 2^31)
 *     r = round_half_away(o / 2^e)
 * The first step equals SMMULR(a << 1, mult) = floor((2a * mult + 2^31) / 2^32)
 * whenever 2a fits in 32 bits, and the second is (o + 2^(e-1) + (o < 0 ? -1 : 0)) >> e
 * whenever that sum does not overflow, which holds since |o| < 2^30 there.
 * A channel whose accumulator bound does not guarantee |2a| < 2^31, or
 * whose right shift is 0 with a nonzero multiplier, is requantised by the
 * exact reference routine instead.
 */
#ifndef TP_OPT_H
#define TP_OPT_H

#include <stdint.h>
#include <string.h>

#include "tp_kernels.h"
#include "requantize.h"

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#define TP_OPT_SIMD 1
#include <arm_acle.h>

static inline uint32_t tp_sxtb16(uint32_t x) { return (uint32_t)__sxtb16((int32_t)x); }
static inline uint32_t tp_sxtab16(uint32_t a, uint32_t x)
{
    return (uint32_t)__sxtab16((int32_t)a, (int32_t)x);
}
static inline uint32_t tp_sxtb16_ror8(uint32_t x)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}
static inline uint32_t tp_sxtab16_ror8(uint32_t a, uint32_t x)
{
    uint32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(x));
    return r;
}
static inline int32_t tp_smlad(uint32_t a, uint32_t b, int32_t acc)
{
    return __smlad((int32_t)a, (int32_t)b, acc);
}
/* (a * b + 2^31) >> 32 */
static inline int32_t tp_smmulr(int32_t a, int32_t b)
{
    int32_t r;
    __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
}
/* low half of a, low half of b in the top */
static inline uint32_t tp_pkhbt(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(a), "r"(b));
    return r;
}
/* high half of b in the top, high half of a at the bottom */
static inline uint32_t tp_pkhtb(uint32_t b, uint32_t a)
{
    uint32_t r;
    __asm__("pkhtb %0, %1, %2, asr #16" : "=r"(r) : "r"(b), "r"(a));
    return r;
}

#elif defined(TP_OPT_EMULATE)
#define TP_OPT_SIMD 1

static inline uint32_t tp_lanes(int32_t lo, int32_t hi)
{
    return ((uint32_t)lo & 0xFFFFu) | ((uint32_t)hi << 16);
}
static inline int32_t tp_lo(uint32_t x) { return (int16_t)(x & 0xFFFFu); }
static inline int32_t tp_hi(uint32_t x) { return (int16_t)(x >> 16); }
static inline uint32_t tp_sxtb16(uint32_t x) { return tp_lanes((int8_t)x, (int8_t)(x >> 16)); }
static inline uint32_t tp_sxtb16_ror8(uint32_t x) { return tp_sxtb16((x >> 8) | (x << 24)); }
static inline uint32_t tp_sxtab16(uint32_t a, uint32_t x)
{
    return tp_lanes(tp_lo(a) + (int8_t)x, tp_hi(a) + (int8_t)(x >> 16));
}
static inline uint32_t tp_sxtab16_ror8(uint32_t a, uint32_t x)
{
    return tp_sxtab16(a, (x >> 8) | (x << 24));
}
static inline int32_t tp_smlad(uint32_t a, uint32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(tp_lo(a) * tp_lo(b)) + (uint32_t)(tp_hi(a) * tp_hi(b)));
}
static inline int32_t tp_smmulr(int32_t a, int32_t b)
{
    return (int32_t)(((int64_t)a * b + ((int64_t)1 << 31)) >> 32);
}
static inline uint32_t tp_pkhbt(uint32_t a, uint32_t b) { return (a & 0xFFFFu) | (b << 16); }
static inline uint32_t tp_pkhtb(uint32_t b, uint32_t a) { return (b & 0xFFFF0000u) | (a >> 16); }

#else
#define TP_OPT_SIMD 0
#endif

#if TP_OPT_SIMD

/* Unaligned 32-bit load / store (LDR/STR on v7-M and later). */
static inline uint32_t tp_ld32(const void *p)
{
    uint32_t v;
    __builtin_memcpy(&v, p, 4);   /* inline even under -ffreestanding */
    return v;
}

/* Both 16-bit lanes set to v. */
static inline uint32_t tp_dup16(int32_t v)
{
    return ((uint32_t)v & 0xFFFFu) | ((uint32_t)v << 16);
}

/* Per-channel requantisation constants, output offset included. */
typedef struct {
    int32_t mult;
    int32_t rnd;    /* tier 2: 2^(e-1) + output_offset * 2^e; tier 1: 2^(e-1) */
    int32_t e;      /* right shift */
    int32_t lsh1;   /* left shift + 1 (the doubling of SMMULR) */
    int32_t tier;   /* 2: fast, offset folded; 1: fast; 0: exact reference */
    int32_t shift;  /* original shift, for the exact path */
    int32_t ooff;   /* output offset, for tiers 1 and 0 */
} tp_rq_t;

/* max_abs: bound on |accumulator| (bias included) the kernel can produce.
 *
 * Tier 1 needs |acc << (lsh + 1)| < 2^31, i.e. max_abs < 2^(30 - lsh); then
 * |o| <= (max_abs << lsh) + 1 < 2^30 and o + 2^(e-1) cannot overflow. Tier 2
 * adds output_offset * 2^e before the shift (the shift is a floor division,
 * so a multiple of 2^e passes through exactly); it needs that sum to fit
 * too. A zero multiplier gives o = 0, where e = 0 is fine as well. */
static inline void tp_rq_prepare(tp_rq_t *q, int32_t mult, int32_t shift, uint32_t max_abs,
                                 int32_t ooff)
{
    const int32_t lsh = shift > 0 ? (shift > 31 ? 31 : shift) : 0;
    const int32_t e = shift > 0 ? 0 : -shift;
    q->mult = mult;
    q->e = e;
    q->lsh1 = lsh + 1;
    q->shift = shift;
    q->ooff = ooff;
    q->tier = 0;
    q->rnd = 0;
    /* The usual channel in 32-bit arithmetic: a positive multiplier, a
     * right shift of 1 .. 22, max_abs < 2^29 and |output_offset| <= 128 give
     * |o| <= 2^29, 2^(e-1) <= 2^21 and |output_offset| * 2^e <= 2^29, whose
     * sum is under 2^31: tier 2, the result of the general checks below. */
    if (mult > 0 && shift <= -1 && shift >= -22 && max_abs < (1u << 29) && ooff >= -128
        && ooff <= 128) {
        q->tier = 2;
        q->rnd = (1 << (e - 1)) + ooff * (1 << e);
        return;
    }
    if (e > 31 || lsh > 29 || (mult != 0 && e == 0)) {
        return;
    }
    const int64_t half = e >= 1 ? ((int64_t)1 << (e - 1)) : 0;
    int64_t omax = 0;
    if (mult != 0) {
        if ((uint64_t)max_abs >= ((uint64_t)1 << (30 - lsh))) {
            return;
        }
        omax = ((int64_t)max_abs << lsh) + 1;
    }
    q->tier = 1;
    q->rnd = (int32_t)half;
    const int64_t folded = half + (int64_t)ooff * ((int64_t)1 << e);
    const int64_t aoff = (int64_t)(ooff < 0 ? -ooff : ooff) * ((int64_t)1 << e);
    if (omax + half + aoff + 1 < ((int64_t)1 << 31)) {
        q->tier = 2;
        q->rnd = (int32_t)folded;
    }
}

/* Tier 2: requantised value with the output offset added. */
static inline int32_t tp_rq2(int32_t acc, const tp_rq_t *q)
{
    int32_t o = tp_smmulr((int32_t)((uint32_t)acc << q->lsh1), q->mult);
    return (o + q->rnd + (o >> 31)) >> q->e;
}

/* Any tier: requantised value with the output offset added. */
static inline int32_t tp_rq(int32_t acc, const tp_rq_t *q)
{
    if (q->tier == 2) {
        return tp_rq2(acc, q);
    }
    if (q->tier == 1) {
        int32_t o = tp_smmulr((int32_t)((uint32_t)acc << q->lsh1), q->mult);
        return ((o + q->rnd + (o >> 31)) >> q->e) + q->ooff;
    }
    return tp_requantize(acc, q->mult, q->shift) + q->ooff;
}

/* Clamp to [lo, hi] (a sub-range of int8). */
static inline int8_t tp_clamp8(int32_t v, int32_t lo, int32_t hi)
{
    v = v < lo ? lo : v;
    v = v > hi ? hi : v;
    return (int8_t)v;
}

/* Clamp to the whole int8 range. */
static inline int8_t tp_sat8(int32_t v)
{
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    return (int8_t)__ssat(v, 8);
#else
    return (int8_t)(v < -128 ? -128 : (v > 127 ? 127 : v));
#endif
}

/* Bound on |sum of n products (x + in_off) * (w + w_off)|. */
/* Largest |v + off| over int8 v: the larger of |127 + off| and |-128 + off|
 * (128 at off = 0: an int8 of -128 is possible in both inputs and weights). */
static inline int32_t tp_int8_span(int32_t off)
{
    int32_t hi = 127 + off < 0 ? -(127 + off) : 127 + off;
    int32_t lo = off - 128 < 0 ? 128 - off : off - 128;
    return hi > lo ? hi : lo;
}

/* Whether a channel gives one output for every accumulator it can reach
 * (e.g. a bias near +-2^30 that saturates it), and that output.  The
 * accumulator lies in bias +- taps * span(input offset) * 128 (int8 weights,
 * zero point 0); the requantisation is monotone in it while x << left_shift
 * cannot wrap, so equal outputs at both ends of that range mean a constant. */
static inline int tp_constant_output(int32_t taps, int32_t input_offset, int32_t bias, int32_t mult,
                                     int32_t shift, int32_t output_offset, int32_t act_min,
                                     int32_t act_max, int32_t *value)
{
    const int64_t reach = (int64_t)taps * tp_int8_span(input_offset) * 128;
    const int64_t lo = bias - reach, hi = bias + reach;
    const int32_t left = shift > 0 ? (shift > 31 ? 31 : shift) : 0;
    const int64_t limit = ((int64_t)1 << 31) >> left;
    if (mult < 0 || lo <= -limit || hi >= limit) {
        return 0;
    }
    const int32_t vlo = tp_clamp(tp_requantize((int32_t)lo, mult, shift) + output_offset, act_min, act_max);
    const int32_t vhi = tp_clamp(tp_requantize((int32_t)hi, mult, shift) + output_offset, act_min, act_max);
    *value = vlo;
    return vlo == vhi;
}

static inline uint32_t tp_dot_bound(int32_t n, int32_t in_off, int32_t w_off)
{
    int32_t xa = tp_int8_span(in_off);
    int32_t wa = tp_int8_span(w_off);
    uint64_t b = (uint64_t)(uint32_t)n * (uint64_t)xa * (uint64_t)wa;
    return b > 0x7FFFFFFFu ? 0xFFFFFFFFu : (uint32_t)b;
}

static inline uint32_t tp_add_bound(uint32_t a, int32_t b)
{
    uint64_t s = (uint64_t)a + (uint64_t)(b < 0 ? -(int64_t)b : (int64_t)b);
    return s > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)s;
}

#endif /* TP_OPT_SIMD */

#endif
