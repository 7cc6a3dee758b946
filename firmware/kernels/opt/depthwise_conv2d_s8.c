/* DEPTHWISE_CONV_2D, int8 activations, per-channel int8 weights, int32 bias.
 * Optimized for the Armv7E-M / Armv8-M DSP extension.
 *
 * This file is the plan and the dispatch. Once per model
 * (tp_depthwise_conv2d_s8_prepare) the layer is prepared
 * (depthwise_conv2d_s8/dw_s8_prepare.c), dw_plan picks one path by named
 * predicates, and that path (one per file in depthwise_conv2d_s8/, listed
 * in dw_s8.h) lays out its weights, all in the layer's prepared words;
 * every call then runs that path. */
#include "depthwise_conv2d_s8/dw_s8.h"

#if !TP_OPT_SIMD

#include "../depthwise_conv2d_s8.c"

#else

#define tp_depthwise_conv2d_s8 tp_depthwise_conv2d_s8_ref
#define tp_depthwise_conv2d_s8_prepare tp_depthwise_conv2d_s8_prepare_ref
#include "../depthwise_conv2d_s8.c"
#undef tp_depthwise_conv2d_s8
#undef tp_depthwise_conv2d_s8_prepare

/* The 3x3 paths scale weights and bias by 2^L so that the accumulator is
 * already the SMMULR operand: every channel of the groups of four must use
 * the fast requantisation, all with one left shift, and int8 << L must fit
 * a 16-bit lane. */
static int dw_requant_scales_weights(const dw_prep_t *prep)
{
    return !prep->ex && prep->one_l && prep->L <= 8;
}

static int dw_is_3x3(const tp_depthwise_conv2d_s8_params_t *p)
{
    return p->k_h == DW_K && p->k_w == DW_K;
}

static int dw_has_multiplier(const tp_depthwise_conv2d_s8_params_t *p)
{
    return p->depth_multiplier != 1;
}

dw_path_t dw_plan(const tp_depthwise_conv2d_s8_params_t *p, const dw_prep_t *prep)
{
    if (dw_has_multiplier(p)) {
        return DW_PATH_MULTIPLIER;
    }
    if (dw_is_3x3(p) && dw_requant_scales_weights(prep)) {
        if (dw_3x3_planes_fits(p)) {
            return DW_PATH_3X3_PLANES;
        }
        if (dw_3x3_rows_fits(p)) {
            return DW_PATH_3X3_ROWS;
        }
    }
    return DW_PATH_GENERIC;
}

void tp_depthwise_conv2d_s8_prepare(const tp_depthwise_conv2d_s8_params_t *p, const int8_t *filter,
                                    const int32_t *bias)
{
    if (dw_portable(p)) {   /* before dw_layer: the words may be too few */
        if (p->prepared_words > 0) {
            p->prepared[0] = DW_PATH_PORTABLE;
        }
        return;
    }
    const dw_layer_t l = dw_layer(p);
    l.head->prep = dw_prepare(p, filter, bias, &l);
    const dw_path_t path = dw_plan(p, &l.head->prep);
    switch (path) {
    case DW_PATH_3X3_PLANES:
        dw_3x3_planes_stream(p, filter, &l);
        break;
    case DW_PATH_3X3_ROWS:
        dw_3x3_rows_stream(p, filter, &l);
        break;
    case DW_PATH_MULTIPLIER:
        dw_multiplier_stream(p, filter, &l);
        break;
    default:
        dw_generic_stream(p, filter, &l);
        break;
    }
    l.head->path = path;
}

void tp_depthwise_conv2d_s8(const tp_depthwise_conv2d_s8_params_t *p,
                            const int8_t *input, const int8_t *filter,
                            const int32_t *bias, int8_t *output)
{
    if (p->prepared_words <= 0) {   /* no words to prepare into (params not from modelc) */
        tp_depthwise_conv2d_s8_ref(p, input, filter, bias, output);
        return;
    }
    if (p->prepared[0] == DW_PATH_UNPREPARED) {
        tp_depthwise_conv2d_s8_prepare(p, filter, bias);
    }
    const dw_layer_t l = dw_layer(p);
    switch ((dw_path_t)p->prepared[0]) {
    case DW_PATH_3X3_PLANES:
        dw_3x3_planes_run(p, input, output, &l);
        break;
    case DW_PATH_3X3_ROWS:
        dw_3x3_rows_run(p, input, output, &l);
        break;
    case DW_PATH_GENERIC:
        dw_generic_run(p, input, filter, bias, output, &l);
        break;
    case DW_PATH_MULTIPLIER:
        dw_multiplier_run(p, input, output, &l);
        break;
    default:
        tp_depthwise_conv2d_s8_ref(p, input, filter, bias, output);
        break;
    }
}

#endif
