/* CONV_2D, int8 activations, per-channel int8 weights, int32 bias.
 * Optimized for the Armv7E-M / Armv8-M DSP extension.
 *
 * Prepare / Eval as in TFLM: tp_conv2d_s8_prepare runs once per model
 * (model_prepare, before the timed runs) and fills the layer's work area
 * (conv2d_s8/conv2d_s8_prepare.c): the path conv_plan picks from the
 * layer's shape (conv2d_s8/conv2d_s8_plan.c, each condition a named
 * predicate), per-channel requantisation constants and the filter in the
 * row order. tp_conv2d_s8 then only dispatches to the path, one file each
 * in conv2d_s8/ (conv2d_s8_paths.h describes what they share). */
#include "tp_opt.h"

#if !TP_OPT_SIMD

#include "../conv2d_s8.c"

#else

#include "conv2d_s8/conv2d_s8_paths.h"

#define tp_conv2d_s8 tp_conv2d_s8_ref
#define tp_conv2d_s8_prepare tp_conv2d_s8_prepare_ref
#include "../conv2d_s8.c"
#undef tp_conv2d_s8_prepare
#undef tp_conv2d_s8

/* The work area of a layer without one (prepared on every call). */
static int32_t conv_call_work[TP_CONV2D_S8_WORK_WORDS(CONV_CMAX, 1)];

void tp_conv2d_s8_prepare(const tp_conv2d_s8_params_t *p, const int8_t *filter,
                          const int32_t *bias)
{
    if (p->work != NULL) {
        conv_prepare(p->work, p, filter, bias);
    }
}

/* The layer's prepared work area. */
static int32_t *conv_work(const tp_conv2d_s8_params_t *p, const int8_t *filter,
                          const int32_t *bias)
{
    int32_t *work = p->work;
    if (work == NULL) {
        work = conv_call_work;
        conv_prepare(work, p, filter, bias);
    } else if (((const conv_work_t *)work)->ready != CONV_WORK_READY) {
        conv_prepare(work, p, filter, bias);   /* model_prepare() was not called */
    }
    return work;
}

void tp_conv2d_s8(const tp_conv2d_s8_params_t *p, const int8_t *input,
                  const int8_t *filter, const int32_t *bias, int8_t *output)
{
    int32_t *const work = conv_work(p, filter, bias);
    const conv_work_t *const w = (const conv_work_t *)work;
    const conv_path_t path = (conv_path_t)w->path;
    const conv_prep_t prep = {conv_work_rq(work), conv_work_fq(work),
                              conv_path_row_order(path) ? conv_work_rows(work, p->out_c) : filter,
                              w->kf, w->dbl_ok};
    switch (path) {
    case CONV_PATH_PORTABLE:
        tp_conv2d_s8_ref(p, input, filter, bias, output);
        break;
    case CONV_PATH_GENERIC:
        conv2d_s8_generic(p, &prep, input, bias, output);
        break;
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
    }
}

#endif
