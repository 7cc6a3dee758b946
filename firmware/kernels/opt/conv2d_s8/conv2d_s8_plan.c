/* CONV_2D int8, DSP set: which path a layer takes (conv2d_s8_paths.h),
 * from its shape alone, each condition a named predicate. The
 * requantisation of each channel (fast, constant or exact) is chosen per
 * channel inside the paths (conv2d_s8_prepare.c), so it does not change
 * the path. */
#include "conv2d_s8_paths.h"

#if TP_OPT_SIMD

static int32_t taps(const tp_conv2d_s8_params_t *p)
{
    return p->k_h * p->k_w * p->in_c;
}

/* The column buffers hold a field of K taps and the per-channel tables
 * CONV_CMAX channels; beyond that only the reference kernel runs. */
static int fits_the_buffers(const tp_conv2d_s8_params_t *p)
{
    return taps(p) > 0 && taps(p) <= CONV_KMAX && p->out_c <= CONV_CMAX;
}

/* The fast paths compute channels in pairs. */
static int has_even_channels(const tp_conv2d_s8_params_t *p)
{
    return (p->out_c & 1) == 0;
}

/* Every tap is whole groups of four input channels: fields expand straight
 * from the input. */
static int taps_are_whole_groups(const tp_conv2d_s8_params_t *p)
{
    return (p->in_c & 3) == 0;
}

/* Otherwise the taps go in the row order (conv2d_s8_columns.h), with the
 * filter permuted and padded in the work area: a kernel of more than one tap
 * whose padded filter fits there. */
static int row_order_fits(const tp_conv2d_s8_params_t *p)
{
    const int32_t kp = conv_filter_row_taps(p);
    return p->k_h * p->k_w > 1 && kp <= CONV_KMAX && p->out_c * kp <= CONV_WPADMAX;
}

/* Four channels at a time when the channels come in fours, the expanded
 * filter fits the stream, and there are enough output pixels (about eight)
 * to pay for the expansion. */
static int fits_four_channel_blocks(const tp_conv2d_s8_params_t *p)
{
    return (p->out_c & 3) == 0
           && (int64_t)(p->out_c >> 2) * (2 * conv_filter_row_taps(p) + CONV_BLKX) <= CONV_WEMAX
           && (int64_t)p->batches * p->out_h * p->out_w >= 8;
}

/* 1x1, stride 1, no padding, output the input's size: output pixel i reads
 * input pixel i. */
static int is_pointwise_same_size(const tp_conv2d_s8_params_t *p)
{
    return p->k_h == 1 && p->k_w == 1 && p->stride_h == 1 && p->stride_w == 1 && p->pad_top == 0
           && p->pad_left == 0 && p->out_h == p->in_h && p->out_w == p->in_w;
}

/* A kernel row (k_w * in_c bytes) is whole groups and one tap, and there are
 * at most four rows: the tails of all rows make one group (fill_rows1). */
static int rows_have_one_tap_past_groups(const tp_conv2d_s8_params_t *p)
{
    const int32_t row = p->k_w * p->in_c;
    return (row & 3) == 1 && row > 4 && p->k_h <= 4;
}

conv_path_t conv_plan(const tp_conv2d_s8_params_t *p)
{
    if (!fits_the_buffers(p)) {
        return CONV_PATH_PORTABLE;
    }
    const int groups = taps_are_whole_groups(p);
    if (!has_even_channels(p) || !(groups || row_order_fits(p))) {
        return CONV_PATH_GENERIC;
    }
    if (!fits_four_channel_blocks(p)) {
        return groups ? CONV_PATH_PAIRS : CONV_PATH_PAIRS_ROWS;
    }
    if (groups) {
        return is_pointwise_same_size(p) ? CONV_PATH_POINTWISE : CONV_PATH_BLOCKS4;
    }
    return rows_have_one_tap_past_groups(p) ? CONV_PATH_BLOCKS4_ROWS1 : CONV_PATH_BLOCKS4_ROWS;
}

const char *conv_path_name(conv_path_t path)
{
    static const char *const names[] = {
        [CONV_PATH_PORTABLE] = "portable",
        [CONV_PATH_GENERIC] = "generic",
        [CONV_PATH_PAIRS] = "pairs",
        [CONV_PATH_PAIRS_ROWS] = "pairs_rows",
        [CONV_PATH_BLOCKS4] = "blocks4",
        [CONV_PATH_BLOCKS4_ROWS] = "blocks4_rows",
        [CONV_PATH_BLOCKS4_ROWS1] = "blocks4_rows1",
        [CONV_PATH_POINTWISE] = "pointwise",
    };
    return names[path];
}

#endif
