/* DEPTHWISE_CONV_2D, int8 activations, per-channel int8 weights, int32 bias.
 * Optimized for the Armv7E-M / Armv8-M DSP extension (depth multiplier 1).
 *
 * Channels are contiguous in both input and filter, so four channels are
 * processed together and SMLAD pairs two taps of one channel: per call the
 * filter is rearranged once into 16-bit (tap 2j, tap 2j+1) pairs, and per
 * pixel the input words of two taps are sign-extended with the offset added
 * (SXTAB16) and interleaved with PKHBT / PKHTB into the same pairs. A padded
 * tap reads a row of input zero points, which becomes 0 after the offset,
 * exactly like the reference that skips it. An odd last tap is paired with
 * a zero weight. Accumulation is exact int32. */
#include "tp_opt.h"

#if !TP_OPT_SIMD

#include "../depthwise_conv2d_s8.c"

#else

#define tp_depthwise_conv2d_s8 tp_depthwise_conv2d_s8_ref
#include "../depthwise_conv2d_s8.c"
#undef tp_depthwise_conv2d_s8

#define DW_CMAX 512        /* channels */
#define DW_TMAX 32         /* taps (k_h * k_w) */
#define DW_WMAX 4096       /* words of paired weights: ceil(taps / 2) * channels */

static tp_rq_t dw_rq[DW_CMAX];
static uint32_t dw_w[DW_WMAX];
static int8_t dw_zp_row[DW_CMAX];

void tp_depthwise_conv2d_s8(const tp_depthwise_conv2d_s8_params_t *p,
                            const int8_t *input, const int8_t *filter,
                            const int32_t *bias, int8_t *output)
{
    const int32_t C = p->out_c;
    const int32_t T = p->k_h * p->k_w;
    const int32_t P = (T + 1) >> 1;          /* tap pairs */
    const int32_t G = C >> 2;                /* groups of four channels */
    if (p->depth_multiplier != 1 || C > DW_CMAX || T > DW_TMAX || T <= 0
        || (int32_t)G * P * 4 > DW_WMAX) {
        tp_depthwise_conv2d_s8_ref(p, input, filter, bias, output);
        return;
    }

    const uint32_t bound = tp_dot_bound(T, p->input_offset, 0);
    for (int32_t c = 0; c < C; ++c) {
        tp_rq_prepare(&dw_rq[c], p->out_mult[c], p->out_shift[c],
                      tp_add_bound(bound, bias ? bias[c] : 0));
        dw_zp_row[c] = (int8_t)(-p->input_offset);
    }
    /* Paired weights: for group g, pair j: channels 4g+0, 4g+2, 4g+1, 4g+3. */
    {
        static const uint8_t lane_ch[4] = {0, 2, 1, 3};
        uint32_t *w = dw_w;
        for (int32_t g = 0; g < G; ++g) {
            for (int32_t j = 0; j < P; ++j) {
                for (int32_t l = 0; l < 4; ++l) {
                    const int32_t c = 4 * g + lane_ch[l];
                    const int32_t lo = filter[(size_t)(2 * j) * C + c];
                    const int32_t hi = 2 * j + 1 < T ? filter[(size_t)(2 * j + 1) * C + c] : 0;
                    *w++ = ((uint32_t)lo & 0xFFFFu) | ((uint32_t)hi << 16);
                }
            }
        }
    }

    const uint32_t off2 = tp_dup16(p->input_offset);
    const int32_t ooff = p->output_offset, lo = p->act_min, hi = p->act_max;
    const int32_t in_w = p->in_w, in_h = p->in_h;
    const int8_t *taps[DW_TMAX + 1];

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
                    int32_t a0 = bias ? bias[c0] : 0;
                    int32_t a1 = bias ? bias[c0 + 1] : 0;
                    int32_t a2 = bias ? bias[c0 + 2] : 0;
                    int32_t a3 = bias ? bias[c0 + 3] : 0;
                    const int8_t *const *tp = taps;
                    for (int32_t j = 0; j < P; ++j) {
                        const uint32_t xa = tp_ld32(tp[0] + c0);
                        const uint32_t xb = tp_ld32(tp[1] + c0);
                        tp += 2;
                        const uint32_t ea = tp_sxtab16(off2, xa), eb = tp_sxtab16(off2, xb);
                        const uint32_t oa = tp_sxtab16_ror8(off2, xa), ob = tp_sxtab16_ror8(off2, xb);
                        a0 = tp_smlad(tp_pkhbt(ea, eb), w[0], a0);
                        a2 = tp_smlad(tp_pkhtb(eb, ea), w[1], a2);
                        a1 = tp_smlad(tp_pkhbt(oa, ob), w[2], a1);
                        a3 = tp_smlad(tp_pkhtb(ob, oa), w[3], a3);
                        w += 4;
                    }
                    const tp_rq_t *q = &dw_rq[c0];
                    if (q[0].fast && q[1].fast && q[2].fast && q[3].fast) {
                        output[c0] = tp_out8(tp_rq_fast(a0, &q[0]), ooff, lo, hi);
                        output[c0 + 1] = tp_out8(tp_rq_fast(a1, &q[1]), ooff, lo, hi);
                        output[c0 + 2] = tp_out8(tp_rq_fast(a2, &q[2]), ooff, lo, hi);
                        output[c0 + 3] = tp_out8(tp_rq_fast(a3, &q[3]), ooff, lo, hi);
                    } else {
                        output[c0] = tp_out8(tp_rq(a0, &q[0]), ooff, lo, hi);
                        output[c0 + 1] = tp_out8(tp_rq(a1, &q[1]), ooff, lo, hi);
                        output[c0 + 2] = tp_out8(tp_rq(a2, &q[2]), ooff, lo, hi);
                        output[c0 + 3] = tp_out8(tp_rq(a3, &q[3]), ooff, lo, hi);
                    }
                }
                for (int32_t c = 4 * G; c < C; ++c) {
                    int32_t acc = bias ? bias[c] : 0;
                    for (int32_t t = 0; t < T; ++t) {
                        acc += ((int32_t)taps[t][c] + p->input_offset) * (int32_t)filter[(size_t)t * C + c];
                    }
                    output[c] = tp_out8(tp_rq(acc, &dw_rq[c]), ooff, lo, hi);
                }
                output += C;
            }
        }
    }
}

#endif
