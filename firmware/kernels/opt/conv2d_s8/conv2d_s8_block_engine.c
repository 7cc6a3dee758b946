/* CONV_2D int8, DSP set: the four-channel engine (conv2d_s8_blocks4.h).
 *
 * Everything a pass over the blocks reads is one stream, walked by one
 * pointer: per block of four channels
 *     bias[8]      each channel's bias twice (pixels A and B)
 *     weights      the filter expanded to 16-bit lanes, four channels
 *                  interleaved: per group of four taps the words
 *                  c0(k,k+2) c1(k,k+2) c2(k,k+2) c3(k,k+2) c0(k+1,k+3) ... c3(k+1,k+3)
 *     acc          where a flagged block keeps its accumulators, else 0
 *     rq[4][4]     per channel mult, lsh1, e, rnd (the fast form)
 *     out          the block's first channel (byte offset in a pixel's output)
 * so the inner loop only loads and multiplies, and no block pointer needs
 * to be kept between blocks. When every channel's left shift is the
 * doubling alone (lsh1 1) and there are enough pixels to pay for it, the
 * weights and biases are stored doubled: the accumulators then come out
 * shifted (mod 2^32, as the shift would leave them) and the requantisation
 * skips its two shifts per channel; a zero-multiplier channel gets zero
 * weights and bias, so its accumulators are 0 as the shift by 32 makes them.
 * A block of four constant channels (whose outputs do not depend on the
 * input) is left out of the stream: its four output bytes are stored per
 * pixel as one word (conv_cblk). The column buffer (CONV_KMAX words, 8 KiB)
 * ends on an 8 KiB boundary, which ends the loop without a counter. */
#include "conv2d_s8_blocks4.h"

#if TP_OPT_SIMD

uint32_t conv_wexp[CONV_WEMAX];
_Static_assert(CONV_BLKX == 26, "expand4 steps over the block's other words with #4 * 26");
_Static_assert(CONV_KMAX * 4 == CONV_COL4_ALIGN, "the column buffer must fill its alignment block");
/* (the "lsls #19" end test below) */
uint32_t conv_col4[CONV_KMAX] __attribute__((aligned(CONV_COL4_ALIGN)));

/* A block with a channel for the exact routine is flagged: its
 * accumulators are kept in acc and its outputs are redone in C. */
typedef struct {
    int32_t exact;
    int32_t acc[8];
} conv_blk_t;

static conv_blk_t conv_blk[CONV_CMAX / 4];

conv_cblk_t conv_cblk[CONV_CMAX / 4];
int32_t conv_ncblk;

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
/* The weights of nblk >= 1 blocks of four filter rows of K = 4 * G taps,
 * G >= 1, into the stream (d: the first block's weights): per group four
 * loads, and each half of the eight words in one STM (1 + 4 cycles, not
 * 4 x 2). */
#define EXPAND4(DBL)                                 \
    __asm__ volatile(                                \
        "push    {r1, r2, r4-r11, lr}\n\t"       \
        "1:\n\t"                                 \
        "ldr     r1, [sp]\n\t"               /* K */ \
        "mov     r4, r0\n\t"                 /* the four rows */ \
        "add     r5, r4, r1\n\t"                 \
        "add     r6, r5, r1\n\t"                 \
        "add     r7, r6, r1\n\t"                 \
        "lsr     lr, r1, #2\n\t"             /* groups */ \
        "2:\n\t"                                 \
        "ldr     r8, [r4], #4\n\t"               \
        "ldr     r9, [r5], #4\n\t"               \
        "ldr     r10, [r6], #4\n\t"              \
        "ldr     r11, [r7], #4\n\t"              \
        "sxtb16  r0, r8\n\t"                     \
        "sxtb16  r1, r9\n\t"                     \
        "sxtb16  r2, r10\n\t"                    \
        "sxtb16  r12, r11\n\t"                   \
        DBL                                      \
        "stmia   r3!, {r0, r1, r2, r12}\n\t"     \
        "sxtb16  r0, r8, ror #8\n\t"             \
        "sxtb16  r1, r9, ror #8\n\t"             \
        "sxtb16  r2, r10, ror #8\n\t"            \
        "sxtb16  r12, r11, ror #8\n\t"           \
        DBL                                      \
        "stmia   r3!, {r0, r1, r2, r12}\n\t"     \
        "subs    lr, lr, #1\n\t"                 \
        "bne     2b\n\t"                         \
        "add     r3, r3, #4 * 26\n\t"        /* CONV_BLKX: to the next block's weights */ \
        "mov     r0, r7\n\t"                 /* the next block's first row */ \
        "ldr     r2, [sp, #4]\n\t"               \
        "subs    r2, r2, #1\n\t"                 \
        "str     r2, [sp, #4]\n\t"               \
        "bne     1b\n\t"                         \
        "pop     {r1, r2, r4-r11, pc}\n\t")
#define EXPAND4_DBL                                  \
    "sadd16  r0, r0, r0\n\t"                       \
    "sadd16  r1, r1, r1\n\t"                       \
    "sadd16  r2, r2, r2\n\t"                       \
    "sadd16  r12, r12, r12\n\t"

__attribute__((naked, noinline)) static void expand4(const int8_t *filter, int32_t K,
                                                    int32_t nblk, uint32_t *d)
{
    EXPAND4("");
}

/* The same, doubled. */
__attribute__((naked, noinline)) static void expand4_dbl(const int8_t *filter, int32_t K,
                                                        int32_t nblk, uint32_t *d)
{
    EXPAND4(EXPAND4_DBL);
}
#undef EXPAND4_DBL
#undef EXPAND4

static void expand_filter4(const int8_t *filter, int32_t K, int32_t out_c, int dbl, uint32_t *d)
{
    (dbl ? expand4_dbl : expand4)(filter, K, out_c >> 2, d);
}
#else
/* Both 16-bit lanes doubled (SADD16 of x and x). */
static inline uint32_t dbl16(uint32_t x)
{
    return (x << 1) & 0xFFFEFFFFu;
}

static void expand_filter4(const int8_t *filter, int32_t K, int32_t out_c, int dbl, uint32_t *d)
{
    const int32_t G = K >> 2;
    for (int32_t oc = 0; oc < out_c; oc += 4) {
        const int8_t *f0 = filter + (size_t)oc * K;
        const int8_t *f1 = f0 + K, *f2 = f1 + K, *f3 = f2 + K;
        for (int32_t g = 0; g < G; ++g) {
            const uint32_t w0 = tp_ld32(f0), w1 = tp_ld32(f1), w2 = tp_ld32(f2), w3 = tp_ld32(f3);
            f0 += 4;
            f1 += 4;
            f2 += 4;
            f3 += 4;
            d[0] = tp_sxtb16(w0);
            d[1] = tp_sxtb16(w1);
            d[2] = tp_sxtb16(w2);
            d[3] = tp_sxtb16(w3);
            d[4] = tp_sxtb16_ror8(w0);
            d[5] = tp_sxtb16_ror8(w1);
            d[6] = tp_sxtb16_ror8(w2);
            d[7] = tp_sxtb16_ror8(w3);
            for (int j = 0; j < 8 && dbl; ++j) {
                d[j] = dbl16(d[j]);
            }
            d += 8;
        }
        d += CONV_BLKX;
    }
}
#endif


#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
/* Two groups of four taps for 4 channels x 2 pixels: accumulators r2..r9
 * (c0 A, c0 B, ..., c3 B), column words from r0, weights from r1. */
#define CONV4_HALF                          \
    "ldr     r10, [r0], #4\n\t"            \
    "ldr     r11, [r0], #4\n\t"            \
    "ldr     r12, [r1], #4\n\t"            \
    "ldr     lr, [r1], #4\n\t"             \
    "smlad   r2, r10, r12, r2\n\t"         \
    "smlad   r3, r11, r12, r3\n\t"         \
    "smlad   r4, r10, lr, r4\n\t"          \
    "smlad   r5, r11, lr, r5\n\t"          \
    "ldr     r12, [r1], #4\n\t"            \
    "ldr     lr, [r1], #4\n\t"             \
    "smlad   r6, r10, r12, r6\n\t"         \
    "smlad   r7, r11, r12, r7\n\t"         \
    "smlad   r8, r10, lr, r8\n\t"          \
    "smlad   r9, r11, lr, r9\n\t"
#define CONV4_GROUP CONV4_HALF CONV4_HALF
/* One channel's two accumulators a, b to saturated int8 (constants from the
 * stream: mult r0, lsh1 r10, e r11, rnd r12; lr is scratch). SMMLAR adds
 * rnd to SMMULR's result; the rounding's -1 for a negative product takes
 * the sign of the shifted accumulator, the same for mult > 0 except when
 * the product rounds to 0, where rnd (an odd multiple of 2^(e-1), e >= 1)
 * keeps the -1 from crossing a multiple of 2^e. A zero mult comes with
 * lsh1 32, which shifts the accumulator to 0. */
#define CONV4_RQ(a, b)                                \
    "ldm     r1!, {r0, r10, r11, r12}\n\t"           \
    "lsl     " a ", " a ", r10\n\t"                  \
    "lsl     " b ", " b ", r10\n\t"                  \
    CONV4_RQ_SHIFTED(a, b)
/* The same for doubled weights: no shifts. */
#define CONV4_RQ_DBL(a, b)                            \
    "ldm     r1!, {r0, r10, r11, r12}\n\t"           \
    CONV4_RQ_SHIFTED(a, b)
/* (both: from the shifted accumulators on) */
#define CONV4_RQ_SHIFTED(a, b)                        \
    "smmlar  lr, " a ", r0, r12\n\t"                 \
    "add     " a ", lr, " a ", asr #31\n\t"          \
    "smmlar  lr, " b ", r0, r12\n\t"                 \
    "add     " b ", lr, " b ", asr #31\n\t"          \
    "asr     " a ", " a ", r11\n\t"                  \
    "asr     " b ", " b ", r11\n\t"                  \
    "ssat    " a ", #8, " a "\n\t"                   \
    "ssat    " b ", #8, " b "\n\t"
/* Clamp the packed outputs r2 (A) and r3 (B) to [lo4, hi4] per byte. */
#define CONV4_CLAMP                                   \
    "ldrd    r0, r12, [sp, #16]\n\t"                 \
    "ssub8   lr, r2, r0\n\t"                         \
    "sel     r2, r2, r0\n\t"                         \
    "ssub8   lr, r12, r2\n\t"                        \
    "sel     r2, r2, r12\n\t"                        \
    "ssub8   lr, r3, r0\n\t"                         \
    "sel     r3, r3, r0\n\t"                         \
    "ssub8   lr, r12, r3\n\t"                        \
    "sel     r3, r3, r12\n\t"
/* For every block of the stream: accumulators from the biases, the dot
 * products over the column buffer (four groups per iteration; as the buffer
 * ends on the 8 KiB boundary, bits 5:4 of its start are minus the group
 * count mod 4, which picks the entry), the acc word (EXACT), requantisation,
 * packing (BFI) and the two word stores at the block's channels. The
 * stream pointer stays in r1; the stack starts with the first six words of
 * the state (ENTRY), and NEXT follows the last block. */
#define CONV4_RUN(ENTRY, NEXT, RQ, CLAMP, EXACT_CHECK, EXACT_STUB) \
    __asm__ volatile(                                     \
        "push    {r4-r11, lr}\n\t"                        \
        ENTRY                                             \
        "1:\n\t"                                          \
        "ldr     r0, [sp]\n\t"                            \
        "ldm     r1!, {r2-r9}\n\t"                        \
        "lsls    r12, r0, #27\n\t"                        \
        "bcs     7f\n\t"                                  \
        "bmi     3f\n\t"                                  \
        "2:\n\t"                                          \
        CONV4_GROUP                                       \
        "3:\n\t"                                          \
        CONV4_GROUP                                       \
        "8:\n\t"                                          \
        CONV4_GROUP                                       \
        "9:\n\t"                                          \
        CONV4_GROUP                                       \
        "lsls    r12, r0, #19\n\t"                        \
        "bne     2b\n\t"                                  \
        EXACT_CHECK                                       \
        RQ("r2", "r3")                                    \
        RQ("r4", "r5")                                    \
        RQ("r6", "r7")                                    \
        RQ("r8", "r9")                                    \
        "bfi     r2, r4, #8, #8\n\t"                      \
        "bfi     r3, r5, #8, #8\n\t"                      \
        "bfi     r2, r6, #16, #8\n\t"                     \
        "bfi     r3, r7, #16, #8\n\t"                     \
        "bfi     r2, r8, #24, #8\n\t"                     \
        "bfi     r3, r9, #24, #8\n\t"                     \
        CLAMP                                             \
        "ldrd    r0, r12, [sp, #4]\n\t"                   \
        "ldr     lr, [r1], #4\n\t"                        \
        "str     r2, [r0, lr]\n\t"                        \
        "str     r3, [r12, lr]\n\t"                       \
        "ldr     r0, [sp, #12]\n\t"                       \
        "cmp     r1, r0\n\t"                              \
        "bne     1b\n\t"                                  \
        NEXT                                              \
        EXACT_STUB                                        \
        "7:\n\t"                                          \
        "bmi     9b\n\t"                                  \
        "b       8b\n\t")
/* One pixel pair. */
#define CONV4_ONE_ENTRY                                   \
    "ldr     r1, [r0, #24]\n\t"                           \
    "ldm     r0, {r2-r7}\n\t"                             \
    "push    {r2-r7}\n\t"
#define CONV4_ONE_NEXT                                    \
    "add     sp, sp, #24\n\t"                             \
    "pop     {r4-r11, pc}\n\t"
/* Pointwise pairs: the whole state on the stack; between pairs the outputs
 * step on and the next pair's pixels are expanded (as expand_pair). */
#define CONV4_PW_ENTRY                                    \
    "ldm     r0, {r1-r12}\n\t"                            \
    "push    {r1-r12}\n\t"                                \
    "ldr     r1, [sp, #24]\n\t"
#define CONV4_PW_NEXT                                     \
    "ldr     r0, [sp, #32]\n\t"                           \
    "subs    r0, r0, #1\n\t"                              \
    "beq     6f\n\t"                                      \
    "str     r0, [sp, #32]\n\t"                           \
    "ldrd    r2, r3, [sp, #4]\n\t"                        \
    "ldr     r4, [sp, #40]\n\t"                           \
    "add     r2, r2, r4\n\t"                              \
    "add     r3, r3, r4\n\t"                              \
    "strd    r2, r3, [sp, #4]\n\t"                        \
    "ldr     r2, [sp, #28]\n\t"                           \
    "ldr     r5, [sp, #36]\n\t"                           \
    "add     r3, r2, r5\n\t"                              \
    "add     r4, r3, r5\n\t"                              \
    "str     r4, [sp, #28]\n\t"                           \
    "ldr     r0, [sp]\n\t"                                \
    "ldr     r12, [sp, #44]\n\t"                          \
    "lsr     r5, r5, #2\n\t"                              \
    "10:\n\t"                                             \
    "ldr     r6, [r2], #4\n\t"                            \
    "ldr     r7, [r3], #4\n\t"                            \
    "sxtab16 r8, r12, r6\n\t"                             \
    "sxtab16 r9, r12, r7\n\t"                             \
    "sxtab16 r10, r12, r6, ror #8\n\t"                    \
    "sxtab16 r11, r12, r7, ror #8\n\t"                    \
    "stmia   r0!, {r8-r11}\n\t"                           \
    "subs    r5, r5, #1\n\t"                              \
    "bne     10b\n\t"                                     \
    "ldr     r1, [sp, #24]\n\t"                           \
    "b       1b\n\t"                                      \
    "6:\n\t"                                              \
    "add     sp, sp, #48\n\t"                             \
    "pop     {r4-r11, pc}\n\t"
/* Without flagged blocks the acc word is skipped. */
#define CONV4_SKIP_ACC "add     r1, r1, #4\n\t"
/* A flagged block copies its accumulators to acc first. */
#define CONV4_EXACT_CHECK                                 \
    "ldr     r12, [r1], #4\n\t"                           \
    "cmp     r12, #0\n\t"                                 \
    "bne     5f\n\t"                                      \
    "4:\n\t"
#define CONV4_EXACT_STUB                                  \
    "5:\n\t"                                              \
    "stm     r12, {r2-r9}\n\t"                            \
    "b       4b\n\t"

/* One naked routine per combination of entry (any layer / pointwise pass),
 * requantisation (plain / doubled weights) and range (full / clamped). */
#define CONV4_VARIANT(name, entry, next, rq, clamp)                            \
    __attribute__((naked, noinline)) static void name(conv_run_t *run)      \
    {                                                                        \
        (void)run;                                                           \
        CONV4_RUN(entry, next, rq, clamp, CONV4_SKIP_ACC, "");               \
    }
CONV4_VARIANT(conv4_run_full, CONV4_ONE_ENTRY, CONV4_ONE_NEXT, CONV4_RQ, "")
CONV4_VARIANT(conv4_pw_full, CONV4_PW_ENTRY, CONV4_PW_NEXT, CONV4_RQ, "")
CONV4_VARIANT(conv4_run_clamp, CONV4_ONE_ENTRY, CONV4_ONE_NEXT, CONV4_RQ, CONV4_CLAMP)
CONV4_VARIANT(conv4_pw_clamp, CONV4_PW_ENTRY, CONV4_PW_NEXT, CONV4_RQ, CONV4_CLAMP)
CONV4_VARIANT(conv4_run_full_dbl, CONV4_ONE_ENTRY, CONV4_ONE_NEXT, CONV4_RQ_DBL, "")
CONV4_VARIANT(conv4_pw_full_dbl, CONV4_PW_ENTRY, CONV4_PW_NEXT, CONV4_RQ_DBL, "")
CONV4_VARIANT(conv4_run_clamp_dbl, CONV4_ONE_ENTRY, CONV4_ONE_NEXT, CONV4_RQ_DBL, CONV4_CLAMP)
CONV4_VARIANT(conv4_pw_clamp_dbl, CONV4_PW_ENTRY, CONV4_PW_NEXT, CONV4_RQ_DBL, CONV4_CLAMP)
#undef CONV4_VARIANT

/* Any range, flagged blocks. */
__attribute__((naked, noinline)) static void conv4_run_exact(conv_run_t *run)
{
    (void)run;
    CONV4_RUN(CONV4_ONE_ENTRY, CONV4_ONE_NEXT, CONV4_RQ, CONV4_CLAMP, CONV4_EXACT_CHECK,
              CONV4_EXACT_STUB);
}
#undef CONV4_EXACT_STUB
#undef CONV4_EXACT_CHECK
#undef CONV4_SKIP_ACC
#undef CONV4_PW_NEXT
#undef CONV4_PW_ENTRY
#undef CONV4_ONE_NEXT
#undef CONV4_ONE_ENTRY
#undef CONV4_RUN
#undef CONV4_CLAMP
#undef CONV4_RQ_DBL
#undef CONV4_RQ_SHIFTED
#undef CONV4_RQ
#undef CONV4_GROUP
#undef CONV4_HALF
#else
/* C model of the above (the clamp is a no-op for the full range; doubled
 * weights come with lsh1 0 in the stream). */
static void conv4_run_clamp(conv_run_t *run)
{
    const uint32_t *const end = conv_col4 + CONV_KMAX;
    const int32_t lo = (int8_t)run->lo4, hi = (int8_t)run->hi4;
    const uint32_t *w = run->w;
    while (w != run->end) {
        conv_blk_t *const bk = &conv_blk[w[8 + 2 * (end - run->col) + 17] >> 2];
        int32_t acc[8];
        memcpy(acc, w, sizeof acc);
        w += 8;
        for (const uint32_t *c = run->col; c < end; c += 2) {
            for (int j = 0; j < 4; ++j) {
                acc[2 * j] = tp_smlad(c[0], w[j], acc[2 * j]);
                acc[2 * j + 1] = tp_smlad(c[1], w[j], acc[2 * j + 1]);
            }
            w += 4;
        }
        if (bk->exact) {   /* (the acc word is an address only on the target) */
            memcpy(bk->acc, acc, sizeof acc);
        }
        ++w;
        for (int j = 0; j < 8 && !bk->exact; ++j) {
            const int32_t *q = (const int32_t *)w + 4 * (j >> 1);
            const int32_t x = q[1] >= 32 ? 0 : (int32_t)((uint32_t)acc[j] << q[1]);
            const int32_t v = tp_sat8((tp_smmulr(x, q[0]) + q[3] + (x >> 31)) >> q[2]);
            (j & 1 ? run->outB : run->outA)[w[16] + (j >> 1)] = tp_clamp8(v, lo, hi);
        }
        w += 17;
    }
}

static void conv4_pw_clamp(conv_run_t *run)
{
    for (;;) {
        conv4_run_clamp(run);
        if (--run->npair == 0) {
            return;
        }
        run->outA += run->ostep;
        run->outB += run->ostep;
        expand_pair(conv_col4 + CONV_KMAX - run->in_c, run->src, run->src + run->in_c,
                    run->in_c >> 2, run->off2);
        run->src += 2 * run->in_c;
    }
}

/* Every variant of the model is the same routine. */
#define conv4_run_full conv4_run_clamp
#define conv4_run_exact conv4_run_clamp
#define conv4_run_full_dbl conv4_run_clamp
#define conv4_run_clamp_dbl conv4_run_clamp
#define conv4_pw_full conv4_pw_clamp
#define conv4_pw_full_dbl conv4_pw_clamp
#define conv4_pw_clamp_dbl conv4_pw_clamp
#endif

/* The stream from the filter (K taps a row) and conv_fq, dbl as above,
 * and the constant blocks (outputs clamped to [lo, hi]); returns the end of
 * the stream, *redo whether a block is flagged. */
static uint32_t *conv4_build(const conv_fq_t *fq, const int8_t *filter, int32_t K, int32_t out_c,
                             int dbl, int32_t lo, int32_t hi, int *redo)
{
    uint32_t *s = conv_wexp;
    *redo = 0;
    conv_ncblk = 0;
    for (int32_t oc = 0; oc < out_c; oc += 4) {
        const conv_fq_t *const q = &fq[oc];
        conv_blk_t *bk = &conv_blk[oc >> 2];
        bk->exact = 0;
        if ((q[0].mult | q[1].mult | q[2].mult | q[3].mult) == 0
            && (q[0].e | q[1].e | q[2].e | q[3].e) >= 0) {
            /* the asm's result for mult 0 */
            uint32_t v = 0;
            for (int j = 0; j < 4; ++j) {
                v |= (uint32_t)(uint8_t)tp_clamp8(tp_sat8(q[j].rnd >> q[j].e), lo, hi) << (8 * j);
            }
            conv_cblk[conv_ncblk].out = oc;
            conv_cblk[conv_ncblk].val = v;
            ++conv_ncblk;
            continue;
        }
        expand_filter4(filter + (size_t)oc * K, K, 4, dbl, s + 8);
        for (int j = 0; j < 4; ++j) {
            int32_t *rq = (int32_t *)s + 9 + 2 * K + 4 * j;
            s[2 * j] = s[2 * j + 1] = (uint32_t)q[j].bias << dbl;
            rq[0] = q[j].mult;
            rq[1] = q[j].mult == 0 ? 32 : q[j].lsh1 - dbl;
            if (dbl && q[j].mult == 0) {
                s[2 * j] = s[2 * j + 1] = 0;
                for (int32_t k = 0; k < 2 * K; k += 4) {
                    s[8 + k + j] = 0;
                }
            }
            rq[2] = q[j].e;
            rq[3] = q[j].rnd;
            /* (the asm's rounding needs mult >= 0) */
            bk->exact |= q[j].e < 0 || q[j].mult < 0;
        }
        s[8 + 2 * K] = bk->exact ? (uint32_t)(uintptr_t)bk->acc : 0;
        s[25 + 2 * K] = (uint32_t)oc;
        *redo |= bk->exact;
        s += 2 * K + CONV_BLKX;
    }
    return s;
}

/* Outputs of the flagged blocks from their accumulators, any channel's form. */
void conv4_redo_exact(const conv_fq_t *fq, int32_t out_c, int8_t *outA, int8_t *outB, int32_t lo,
                      int32_t hi)
{
    for (int32_t oc = 0; oc < out_c; oc += 4) {
        const conv_blk_t *bk = &conv_blk[oc >> 2];
        if (!bk->exact) {
            continue;
        }
        for (int j = 0; j < 4; ++j) {
            outA[oc + j] = tp_clamp8(fq_rq_any(bk->acc[2 * j], &fq[oc + j]), lo, hi);
            outB[oc + j] = tp_clamp8(fq_rq_any(bk->acc[2 * j + 1], &fq[oc + j]), lo, hi);
        }
    }
}

/* Doubled weights when every channel allows them and their extra expansion
 * cost (a cycle per word) is below the shifts saved (two per channel and
 * pixel pair). */
static int doubling_pays(const tp_conv2d_s8_params_t *p, const conv_prep_t *prep)
{
    return prep->dbl_ok && (int64_t)p->batches * p->out_h * p->out_w > prep->kf / 2;
}

/* The pass: with the exact routine's redo when some block has a channel
 * outside the fast form, else by weights (doubled or not) and activation
 * range (saturating or clamped). */
void conv4_setup(conv4_t *c, const tp_conv2d_s8_params_t *p, const conv_prep_t *prep)
{
    const int32_t Kf = prep->kf;
    const int full = conv_full_range(p);
    const int dbl = doubling_pays(p, prep);
    c->run.end = conv4_build(prep->fq, prep->filter, Kf, p->out_c, dbl, p->act_min, p->act_max,
                             &c->redo);
    c->pair = c->redo ? conv4_run_exact
              : dbl   ? (full ? conv4_run_full_dbl : conv4_run_clamp_dbl)
                      : (full ? conv4_run_full : conv4_run_clamp);
    c->pairs = dbl ? (full ? conv4_pw_full_dbl : conv4_pw_clamp_dbl)
                   : (full ? conv4_pw_full : conv4_pw_clamp);
    c->run.col = conv4_col(Kf);
    c->run.lo4 = (uint32_t)(uint8_t)p->act_min * 0x01010101u;
    c->run.hi4 = (uint32_t)(uint8_t)p->act_max * 0x01010101u;
}

#endif
