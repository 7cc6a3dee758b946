/* DEPTHWISE_CONV_2D int8, optimized: the layer's preparation, shared by
 * every path (part of TFLM's Prepare, once per model): the input offset
 * folded into the biases, the per-channel requantisation constants, and
 * what the plan needs to know about them. */
#include "dw_s8.h"

#if TP_OPT_SIMD

int8_t dw_rows[DW_RBUF] __attribute__((aligned(4)));

int dw_portable(const tp_depthwise_conv2d_s8_params_t *p)
{
    const int32_t T = p->k_h * p->k_w;
    return T > DW_TMAX || T <= 0
           || p->prepared_words < TP_DEPTHWISE_CONV2D_S8_PREPARED_WORDS(p->out_c, T);
}

/* folded = bias + input_offset * (sum of the channel's weights): the
 * input offset of every tap, padded ones included (a padded tap reads the
 * zero point zp = -input_offset, and zp * w cancels). Four channels per
 * word with SXTAB16: a sum of at most DW_TMAX int8 fits a 16-bit lane. */
static void dw_fold_bias(const tp_depthwise_conv2d_s8_params_t *p, const int8_t *filter,
                         const int32_t *bias, int32_t C, int32_t T, int32_t *folded)
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
            folded[c + k] = (int32_t)((uint32_t)(bias ? bias[c + k] : 0)
                                       + (uint32_t)p->input_offset * (uint32_t)sum[k]);
        }
    }
    for (; c < C; ++c) {
        uint32_t wsum = 0;
        for (int32_t t = 0; t < T; ++t) {
            wsum += (uint32_t)(int32_t)filter[(size_t)t * C + c];
        }
        folded[c] = (int32_t)((uint32_t)(bias ? bias[c] : 0) + (uint32_t)p->input_offset * wsum);
    }
}

/* Requantisation entry of channel c: f, from q (which a channel outside
 * the groups of four uses as it is). tp_rq_prepare decides the usual
 * channel in 32-bit arithmetic. */
static void dw_prepare_channel(const tp_depthwise_conv2d_s8_params_t *p, int32_t c, int32_t T,
                               uint32_t bound, int32_t bias_c, dw_fq_t *f, tp_rq_t *q)
{
    const int32_t mult = p->out_mult[c], shift = p->out_shift[c];
    tp_rq_prepare(q, mult, shift, tp_add_bound(bound, bias_c), p->output_offset);
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

dw_prep_t dw_prepare(const tp_depthwise_conv2d_s8_params_t *p, const int8_t *filter, const int32_t *bias,
                     const dw_layer_t *l)
{
    const int32_t C = p->out_c, C4 = C & ~3;
    const int32_t T = p->k_h * p->k_w;
    dw_fold_bias(p, filter, bias, C, T, l->bias);
    const uint32_t bound = tp_dot_bound(T, p->input_offset, 0);
    for (int32_t c = 0; c < C; ++c) {
        tp_rq_t q;
        dw_prepare_channel(p, c, T, bound, bias ? bias[c] : 0, &l->fq[c], &q);
        if (c >= C4) {
            l->rq[c - C4] = q;
        }
    }
    memset(l->zp_row, (uint8_t)(-p->input_offset), (size_t)C);
    dw_prep_t prep = {0, 1, -1, p->act_min <= -128 && p->act_max >= 127};
    for (int32_t c = 0; c < C4; ++c) {
        prep.ex |= l->fq[c].e < 0;
        if (l->fq[c].mult != 0) {
            prep.one_l &= prep.L < 0 || l->fq[c].lsh1 == prep.L;
            prep.L = l->fq[c].lsh1;
        }
    }
    return prep;
}

#endif
