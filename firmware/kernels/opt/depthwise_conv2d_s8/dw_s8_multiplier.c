/* DEPTHWISE_CONV_2D int8, optimized path DW_PATH_MULTIPLIER: depth
 * multiplier above 1 (any kernel of up to DW_TMAX taps, stride, dilation
 * and padding).
 *
 * Output channel ic * dm + m reads input channel ic, so the dm outputs of
 * one input channel share its inputs: per pixel and input channel the taps'
 * inputs are packed once into 16-bit lane pairs (tap 2j low, 2j + 1 high),
 * and each of the dm output channels takes them with SMLAD against its own
 * weight pairs, prepared in the stream as (w[2j], w[2j + 1]) per channel
 * (a zero weight after an odd last tap). The input offset is in the folded
 * bias and a padded tap reads the zero-point row, as in the generic path
 * (dw_s8_generic.c); the requantisation is each channel's dw_fq entry. */
#include "dw_s8.h"

#if TP_OPT_SIMD

void dw_multiplier_stream(const tp_depthwise_conv2d_s8_params_t *p, const int8_t *filter, const dw_layer_t *l)
{
    const int32_t C = p->out_c;
    const int32_t T = p->k_h * p->k_w;
    uint32_t *w = l->stream;
    for (int32_t c = 0; c < C; ++c) {
        for (int32_t t = 0; t < T; t += 2) {
            const int32_t lo = filter[(size_t)t * C + c];
            const int32_t hi = t + 1 < T ? filter[(size_t)(t + 1) * C + c] : 0;
            *w++ = ((uint32_t)lo & 0xFFFFu) | ((uint32_t)hi << 16);
        }
    }
}

/* J: the tap pairs, a literal 5 for 3x3 kernels (the pair loops then
 * unroll and the pairs stay in registers). */
static inline __attribute__((always_inline)) void
dw_multiplier_impl(const tp_depthwise_conv2d_s8_params_t *p, const int8_t *input, int8_t *output,
                   const dw_layer_t *l, const int full, const int32_t J)
{
    const int32_t IC = p->in_c, dm = p->depth_multiplier;
    const int32_t lo = p->act_min, hi = p->act_max;
    const int8_t *taps[DW_TMAX + 1];
    uint32_t x[DW_TMAX / 2] = {0};   /* (zeroed: GCC cannot see J bounds the reads) */

    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + (size_t)b * p->in_h * p->in_w * IC;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                dw_tap_table(p, in_b, IC, oy, ox, l->zp_row, taps);
                const uint32_t *w = l->stream;
                const int32_t *bias = l->bias;
                const dw_fq_t *q = l->fq;
                for (int32_t ic = 0; ic < IC; ++ic) {
#pragma GCC unroll 16
                    for (int32_t j = 0; j < J; ++j) {
                        x[j] = ((uint32_t)taps[2 * j][ic] & 0xFFFFu) | ((uint32_t)taps[2 * j + 1][ic] << 16);
                    }
                    for (int32_t m = 0; m < dm; ++m, ++bias, ++q, w += J) {
                        int32_t acc = *bias;
#pragma GCC unroll 16
                        for (int32_t j = 0; j < J; ++j) {
                            acc = tp_smlad(x[j], w[j], acc);
                        }
                        const int32_t v = dw_fq_any(acc, q);
                        *output++ = full ? tp_sat8(v) : tp_clamp8(v, lo, hi);
                    }
                }
            }
        }
    }
}

void dw_multiplier_run(const tp_depthwise_conv2d_s8_params_t *p, const int8_t *input, int8_t *output,
                       const dw_layer_t *l)
{
    const int32_t J = (p->k_h * p->k_w + 1) >> 1;
    const int full = l->head->prep.full;
    if (J == 5) {
        if (full) {
            dw_multiplier_impl(p, input, output, l, 1, 5);
        } else {
            dw_multiplier_impl(p, input, output, l, 0, 5);
        }
    } else if (full) {
        dw_multiplier_impl(p, input, output, l, 1, J);
    } else {
        dw_multiplier_impl(p, input, output, l, 0, J);
    }
}

#endif
