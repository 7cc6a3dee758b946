/* ADD, int8, same-shape inputs with independent scales and zero points.
 * Optimized for the Armv7E-M / Armv8-M DSP extension.
 *
 * Each input's rescale depends on its int8 value alone, so it is tabulated
 * once per call: T1[x] = requantize((x + in1_offset) << left_shift, ...),
 * computed with the exact reference routine (so any multiplier / shift is
 * fine), likewise T2. Per element only the output requantisation of
 * T1[a] + T2[b] remains; it uses the SMMULR form of tp_opt.h when its
 * bounds hold for the largest |T1| + |T2|, else the exact routine. With
 * the DSP extension the SMMULR form runs four elements per iteration in
 * assembly (about 15 cycles per element on Cortex-M4, from 33 in C). */
#include "tp_opt.h"

#if !TP_OPT_SIMD

#include "../add_s8.c"

#else

#define tp_add_s8 tp_add_s8_ref
#include "../add_s8.c"
#undef tp_add_s8

static int32_t add_t1[256], add_t2[256];

/* Table of requantize((x + off) << ls) for x = -128..127, index x + 128;
 * returns max |entry|. */
static uint32_t add_table(int32_t *t, int32_t off, int32_t ls, int32_t mult, int32_t shift)
{
    uint32_t m = 0;
    for (int32_t x = -128; x < 128; ++x) {
        const int32_t v = tp_requantize((int32_t)((uint32_t)(x + off) << ls), mult, shift);
        t[x + 128] = v;
        const uint32_t a = v < 0 ? 0u - (uint32_t)v : (uint32_t)v;
        m = a > m ? a : m;
    }
    return m;
}

/* Constants of the element loop; the asm below reads them by offset. */
typedef struct {
    const int32_t *t1, *t2;   /* tables shifted left by lsh1, index x + 128 applied */
    int32_t mult, rnd, e;     /* tier 2 requantisation, output offset in rnd */
    const int8_t *a_end;      /* input1 + a multiple of 4 elements */
    uint32_t lo4, hi4;        /* clamp bounds in every byte */
} add_loop_t;

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
/* One element k (0..3) of the words in r9 (input1) and r10 (input2), left
 * saturated in r12: SXTB picks the byte, the tables give the rescaled
 * inputs, SMMULR and the rounding shift requantise the sum. */
#define ADD_ELEMENT(ROR)                          \
    "sxtb    r12, r9, ror #" ROR "\n\t"           \
    "sxtb    lr, r10, ror #" ROR "\n\t"           \
    "ldr     r12, [r4, r12, lsl #2]\n\t"          \
    "ldr     lr, [r5, lr, lsl #2]\n\t"            \
    "add     r12, r12, lr\n\t"                    \
    "smmulr  r12, r12, r6\n\t"                    \
    "add     lr, r12, r7\n\t"                     \
    "add     r12, lr, r12, asr #31\n\t"           \
    "asr     r12, r12, r8\n\t"                    \
    "ssat    r12, #8, r12\n\t"

/* Four elements per iteration, packed with BFI into one word store; CLAMP
 * narrows every byte to [lo, hi] with SSUB8 + SEL. a (r0), b (r1), out (r2),
 * k (r3); the element count is a nonzero multiple of 4. */
#define ADD_LOOP(CLAMP)                                  \
    __asm__ volatile(                                    \
        "push    {r4-r11, lr}\n\t"                       \
        "ldm     r3, {r4-r8}\n\t"                        \
        "1:\n\t"                                         \
        "ldr     r9, [r0], #4\n\t"                       \
        "ldr     r10, [r1], #4\n\t"                      \
        ADD_ELEMENT("0")                                 \
        "uxtb    r11, r12\n\t"                           \
        ADD_ELEMENT("8")                                 \
        "bfi     r11, r12, #8, #8\n\t"                   \
        ADD_ELEMENT("16")                                \
        "bfi     r11, r12, #16, #8\n\t"                  \
        ADD_ELEMENT("24")                                \
        "bfi     r11, r12, #24, #8\n\t"                  \
        CLAMP                                            \
        "str     r11, [r2], #4\n\t"                      \
        "ldr     r12, [r3, #20]\n\t"                     \
        "cmp     r0, r12\n\t"                            \
        "bne     1b\n\t"                                 \
        "pop     {r4-r11, pc}\n\t")

__attribute__((naked, noinline)) static void add_words(const int8_t *a, const int8_t *b,
                                                      int8_t *out, const add_loop_t *k)
{
    ADD_LOOP("");
}

__attribute__((naked, noinline)) static void add_words_clamp(const int8_t *a, const int8_t *b,
                                                            int8_t *out, const add_loop_t *k)
{
    ADD_LOOP("ldr     r12, [r3, #24]\n\t"
             "ssub8   lr, r11, r12\n\t"
             "sel     r11, r11, r12\n\t"
             "ldr     r12, [r3, #28]\n\t"
             "ssub8   lr, r12, r11\n\t"
             "sel     r11, r11, r12\n\t");
}
#undef ADD_LOOP
#undef ADD_ELEMENT
#endif

/* One element the portable way (tail, and the host build). */
static inline int8_t add_one(int8_t a, int8_t b, const add_loop_t *k, int32_t lo, int32_t hi)
{
    int32_t o = tp_smmulr(k->t1[a] + k->t2[b], k->mult);
    o = (o + k->rnd + (o >> 31)) >> k->e;
    return tp_clamp8(o, lo, hi);
}

void tp_add_s8(const tp_add_s8_params_t *p, const int8_t *input1,
               const int8_t *input2, int8_t *output)
{
    if (p->left_shift < 0 || p->left_shift > 31 || p->size < 16) {
        tp_add_s8_ref(p, input1, input2, output);
        return;
    }
    const uint32_t m1 = add_table(add_t1, p->in1_offset, p->left_shift, p->in1_mult, p->in1_shift);
    const uint32_t m2 = add_table(add_t2, p->in2_offset, p->left_shift, p->in2_mult, p->in2_shift);
    const uint64_t bs = (uint64_t)m1 + m2;
    tp_rq_t qo;
    tp_rq_prepare(&qo, p->out_mult, p->out_shift, bs > 0x7FFFFFFFu ? 0xFFFFFFFFu : (uint32_t)bs,
                  p->output_offset);
    const int32_t *t1 = add_t1 + 128, *t2 = add_t2 + 128;
    const int32_t lo = p->act_min, hi = p->act_max;
    const int32_t n = p->size;
    if (qo.tier != 2) {
        for (int32_t i = 0; i < n; ++i) {
            const int32_t s = t1[input1[i]] + t2[input2[i]];
            output[i] = tp_clamp8(tp_requantize(s, p->out_mult, p->out_shift) + p->output_offset,
                                  lo, hi);
        }
        return;
    }
    /* A left shift is a multiplication by 2^lsh1 modulo 2^32, so it
     * distributes over the sum: shift the 512 entries, not every sum. */
    for (int32_t i = 0; i < 256; ++i) {
        add_t1[i] = (int32_t)((uint32_t)add_t1[i] << qo.lsh1);
        add_t2[i] = (int32_t)((uint32_t)add_t2[i] << qo.lsh1);
    }
    const add_loop_t k = {t1, t2, qo.mult, qo.rnd, qo.e, input1 + (n & ~3),
                          (uint32_t)(uint8_t)lo * 0x01010101u, (uint32_t)(uint8_t)hi * 0x01010101u};
    int32_t i = 0;
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    if (lo <= -128 && hi >= 127) {
        add_words(input1, input2, output, &k);
    } else {
        add_words_clamp(input1, input2, output, &k);
    }
    i = n & ~3;
#endif
    for (; i < n; ++i) {
        output[i] = add_one(input1[i], input2[i], &k, lo, hi);
    }
}

#endif
