/* CONV_2D, int8 activations, per-channel int8 weights, int32 bias.
 * Optimized for the Armv7E-M / Armv8-M DSP extension.
 *
 * conv_plan picks one path per layer from its shape (conv2d_s8/
 * conv2d_s8_plan.c, each condition a named predicate); each path is one
 * file in conv2d_s8/ (conv2d_s8_paths.h describes what they share). This
 * function prepares what the paths read (per-channel requantisation
 * constants, the filter in the row order) and calls the path. */
#include "tp_opt.h"

#if !TP_OPT_SIMD

#include "../conv2d_s8.c"

#else

#include "conv2d_s8/conv2d_s8_paths.h"

#define tp_conv2d_s8 tp_conv2d_s8_ref
#include "../conv2d_s8.c"
#undef tp_conv2d_s8

static tp_rq_t conv_rq[CONV_CMAX];
static conv_fq_t conv_fq[CONV_CMAX];

void tp_conv2d_s8(const tp_conv2d_s8_params_t *p, const int8_t *input,
                  const int8_t *filter, const int32_t *bias, int8_t *output)
{
    const conv_path_t path = conv_plan(p);
    if (path == CONV_PATH_PORTABLE) {
        tp_conv2d_s8_ref(p, input, filter, bias, output);
        return;
    }
    const int32_t K = p->k_h * p->k_w * p->in_c;
    conv_prep_t prep = {conv_rq, conv_fq, filter, K};
    conv_prepare_rq(conv_rq, p, bias, K);
    if (path == CONV_PATH_GENERIC) {
        conv2d_s8_generic(p, &prep, input, bias, output);
        return;
    }
    if (conv_path_row_order(path)) {
        prep.kf = conv_filter_row_taps(p);
        prep.filter = conv_wpad;
        conv_rows_filter(p, filter, K, prep.kf);
    }
    conv_prepare_fq(conv_fq, conv_rq, p, bias, K);
    switch (path) {
    case CONV_PATH_PAIRS:
        conv2d_s8_pairs(p, &prep, input, output);
        break;
    case CONV_PATH_PAIRS_ROWS:
        conv2d_s8_pairs_rows(p, &prep, input, output);
        break;
    case CONV_PATH_BLOCKS4:
        conv2d_s8_blocks4(p, &prep, input, output);
        break;
    case CONV_PATH_BLOCKS4_ROWS:
        conv2d_s8_blocks4_rows(p, &prep, input, output);
        break;
    case CONV_PATH_BLOCKS4_ROWS1:
        conv2d_s8_blocks4_rows1(p, &prep, input, output);
        break;
    case CONV_PATH_POINTWISE:
        conv2d_s8_pointwise(p, &prep, input, output);
        break;
    default:
        break;
    }
}

#endif
