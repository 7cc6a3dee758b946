/* DEPTHWISE_CONV_2D int8, optimized path DW_PATH_3X3_PLANES: 3x3 kernels,
 * dilation 1, stride 1, wide rows: channel planes.
 *
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
 * Per channel, a record in the stream: the bias, mult, rnd, e of the
 * requantisation (as in the padded-rows path: weights and bias scaled by
 * 2^L) and per kernel row (w0, w1), (w1, w2). The sweep writes its output
 * bytes to a per-channel row (dw_orow); the four channels' rows are then
 * interleaved into the output, four bytes per store. Sweeps run past the
 * row end to whole pairs or quads of outputs (the padded planes are wide
 * enough); the extra outputs are not copied out. */

#include "dw_s8.h"

#if TP_OPT_SIMD

#define DW_PC 64           /* int16 columns per plane row */
#define DW_PRB (2 * DW_PC) /* bytes per plane row */
#define DW_PR (DW_RBUF / (4 * DW_PRB))   /* rows per plane (16) */
#define DW_PB (DW_PR * DW_PRB)           /* bytes per plane */
#define DW_REC 10          /* words per channel record */
_Static_assert(DW_REC <= 13, "TP_DEPTHWISE_CONV2D_S8_PREPARED_WORDS: at most 13 words per channel");

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
               const uint32_t *stream, const int full)
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
            const uint32_t *rec = stream + c0 * DW_REC;
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

/* Dilation 1, stride 1, a left pad of at most one column, channels in
 * fours, rows wide enough to pay for the rearranging and narrow enough for
 * the planes. */
int dw_3x3_planes_fits(const tp_depthwise_conv2d_s8_params_t *p)
{
    const int32_t nq = dw_sweep_quads(p->out_w);
    const int32_t ncol = 4 * nq + 2 * (4 * nq < p->out_w) + 2;
    return p->dil_w == 1 && p->dil_h == 1 && p->stride_w == 1 && p->stride_h == 1 && p->pad_left <= 1
           && (p->out_c & 3) == 0 && p->out_w >= DW_PLANES_MIN_W
           && ncol <= DW_PC;
}

/* The channel records (layout above), weights and bias scaled by 2^L. */
static inline __attribute__((always_inline)) void
dw_planes_records(const tp_depthwise_conv2d_s8_params_t *p, const int8_t *filter, const dw_layer_t *l,
                  int32_t L)
{
    const int32_t C = p->out_c;
    for (int32_t c0 = 0; c0 < C; c0 += 4) {
        uint32_t *r = l->stream + c0 * DW_REC;
        for (int32_t k = 0; k < 4; ++k) {
            const dw_fq_t *q = &l->fq[c0 + k];
            r[k * DW_REC] = (uint32_t)l->bias[c0 + k] << L;
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

void dw_3x3_planes_stream(const tp_depthwise_conv2d_s8_params_t *p, const int8_t *filter, const dw_layer_t *l)
{
    const int32_t L = l->head->prep.L;
    if (L == 1) {   /* a literal 1: the doubling form of dw_tap_lanes */
        dw_planes_records(p, filter, l, 1);
    } else {
        dw_planes_records(p, filter, l, L < 0 ? 0 : L);
    }
}

void dw_3x3_planes_run(const tp_depthwise_conv2d_s8_params_t *p, const int8_t *input, int8_t *output,
                       const dw_layer_t *l)
{
    if (l->head->prep.full) {
        dw_planes_impl(p, input, output, l->stream, 1);
    } else {
        dw_planes_impl(p, input, output, l->stream, 0);
    }
}

#endif
