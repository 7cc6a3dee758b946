/* CONV_2D int8, DSP set: what the paths read that depends only on the
 * layer (its path, per-channel requantisation constants, the filter in the
 * row order), into its work area once per model. */
#include "conv2d_s8_paths.h"

#if TP_OPT_SIMD

static void conv_prepare_rq(tp_rq_t *rq, const tp_conv2d_s8_params_t *p, const int32_t *bias, int32_t K)
{
    const uint32_t bound = tp_dot_bound(K, p->input_offset, 0);
    for (int32_t oc = 0; oc < p->out_c; ++oc) {
        tp_rq_prepare(&rq[oc], p->out_mult[oc], p->out_shift[oc],
                      tp_add_bound(bound, bias ? bias[oc] : 0), p->output_offset);
    }
}

static void conv_prepare_fq(conv_fq_t *fq, const tp_conv2d_s8_params_t *p, const int32_t *bias,
                            int32_t K)
{
    const uint32_t bound = tp_dot_bound(K, p->input_offset, 0);
    for (int32_t oc = 0; oc < p->out_c; ++oc) {
        tp_rq_t rq;
        const tp_rq_t *q = &rq;
        tp_rq_prepare(&rq, p->out_mult[oc], p->out_shift[oc],
                      tp_add_bound(bound, bias ? bias[oc] : 0), p->output_offset);
        fq[oc].bias = bias ? bias[oc] : 0;
        fq[oc].mult = q->mult;
        fq[oc].rnd = q->rnd;
        fq[oc].lsh1 = q->lsh1;
        fq[oc].e = q->e;
        if (q->tier == 2) {
            continue;
        }
        /* A channel outside the fast form may still be a constant: then
         * the fast form with mult 0 (o = 0), e 0 and rnd = that output. */
        int32_t constant;
        if (tp_constant_output(K, p->input_offset, bias ? bias[oc] : 0, p->out_mult[oc],
                               p->out_shift[oc], p->output_offset, p->act_min, p->act_max,
                               &constant)) {
            fq[oc].mult = 0;
            fq[oc].rnd = constant;
            fq[oc].lsh1 = 1;
            fq[oc].e = 0;
            continue;
        }
        /* Otherwise the exact routine, for this channel only. */
        fq[oc].mult = p->out_mult[oc];
        fq[oc].lsh1 = p->out_shift[oc];
        fq[oc].rnd = p->output_offset;
        fq[oc].e = -1;
    }
}

/* Each filter row in the row order (conv2d_s8_columns.h), zero-padded to Kp
 * taps, into wpad. */
static void conv_rows_filter(const tp_conv2d_s8_params_t *p, const int8_t *filter, int32_t K,
                             int32_t Kp, int8_t *wpad)
{
    const int32_t R = p->k_w * p->in_c;
    const int32_t body = R & ~3, tr = R & 3;
    for (int32_t oc = 0; oc < p->out_c; ++oc) {
        const int8_t *f = filter + (size_t)oc * K;
        int8_t *d = wpad + (size_t)oc * Kp;
        for (int32_t ky = 0; ky < p->k_h; ++ky) {
            for (int32_t k = 0; k < body; ++k) {
                *d++ = f[ky * R + k];
            }
        }
        for (int32_t ky = 0; ky < p->k_h; ++ky) {
            for (int32_t t = 0; t < tr; ++t) {
                *d++ = f[ky * R + body + t];
            }
        }
        for (int32_t k = K; k < Kp; ++k) {
            *d++ = 0;
        }
    }
}

/* Doubled weights (conv2d_s8_block_engine.c) need every channel in the
 * fast form with the doubling as its whole left shift, or constant. */
static int32_t doubling_allowed(const conv_fq_t *fq, int32_t out_c)
{
    for (int32_t oc = 0; oc < out_c; ++oc) {
        const conv_fq_t *q = &fq[oc];
        if (!(q->e >= 0 && q->mult >= 0 && (q->mult == 0 || q->lsh1 == 1))) {
            return 0;
        }
    }
    return 1;
}

void conv_prepare(int32_t *work, const tp_conv2d_s8_params_t *p, const int8_t *filter,
                  const int32_t *bias)
{
    conv_work_t *const w = (conv_work_t *)work;
    const conv_path_t path = conv_plan(p);
    const int32_t K = p->k_h * p->k_w * p->in_c;
    w->path = path;
    w->kf = K;
    w->dbl_ok = 0;
    if (path == CONV_PATH_GENERIC) {
        conv_prepare_rq(conv_work_rq(work), p, bias, K);
    } else if (path != CONV_PATH_PORTABLE) {
        conv_prepare_fq(conv_work_fq(work), p, bias, K);
        w->dbl_ok = doubling_allowed(conv_work_fq(work), p->out_c);
        if (conv_path_row_order(path)) {
            w->kf = conv_filter_row_taps(p);
            conv_rows_filter(p, filter, K, w->kf, conv_work_rows(work, p->out_c));
        }
    }
    w->ready = CONV_WORK_READY;
}

#endif
