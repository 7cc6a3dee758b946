/*
 * tinyperf int8 kernels: portable scalar reference set.
 *
 * Layout conventions: activations NHWC, conv and transpose conv filters OHWI,
 * depthwise filters 1HWC (C = in_c * depth_multiplier), fully connected
 * filters [out][in].
 * Offsets follow the TFLM convention: input_offset = -input_zero_point,
 * output_offset = +output_zero_point. Requantisation uses TFLM's "double
 * rounding" (see requantize.h) so results are bit-exact with TFLM.
 */
#ifndef TP_KERNELS_H
#define TP_KERNELS_H

#include <stdint.h>
#include <stddef.h>

typedef struct {
    int32_t batches;
    int32_t in_h, in_w, in_c;
    int32_t out_h, out_w, out_c;
    int32_t k_h, k_w;
    int32_t stride_h, stride_w;
    int32_t dil_h, dil_w;
    int32_t pad_top, pad_left;       /* bottom/right padding is implied by out_h/out_w */
    int32_t input_offset;
    int32_t output_offset;
    int32_t act_min, act_max;
    const int32_t *out_mult;         /* per output channel */
    const int32_t *out_shift;        /* per output channel, >0 = left */
    int32_t *work;                   /* RAM for tp_conv2d_s8_prepare (tp_prepare.h), or NULL */
} tp_conv2d_s8_params_t;

typedef struct {
    int32_t batches;
    int32_t in_h, in_w, in_c;
    int32_t out_h, out_w, out_c;     /* out_c = in_c * depth_multiplier */
    int32_t depth_multiplier;
    int32_t k_h, k_w;
    int32_t stride_h, stride_w;
    int32_t dil_h, dil_w;
    int32_t pad_top, pad_left;
    int32_t input_offset;
    int32_t output_offset;
    int32_t act_min, act_max;
    const int32_t *out_mult;
    const int32_t *out_shift;
    uint32_t *prepared;              /* the layer's words for tp_depthwise_conv2d_s8_prepare */
    int32_t prepared_words;
} tp_depthwise_conv2d_s8_params_t;

/* Once-per-model preparation (TFLM's Prepare), outside the timed inference:
 * the optimized kernel folds biases, builds requantisation tables, picks
 * its path and lays out its weights in p->prepared (zeroed memory of
 * TP_DEPTHWISE_CONV2D_S8_PREPARED_WORDS(out_c, k_h * k_w) words; the layout
 * is in kernels/opt/depthwise_conv2d_s8/dw_s8.h). A layer called before
 * it is prepared on that call. The reference kernel needs nothing (one word). */
void tp_depthwise_conv2d_s8_prepare(const tp_depthwise_conv2d_s8_params_t *p, const int8_t *filter,
                                    const int32_t *bias);
#if defined(TP_OPT_EMULATE) || (defined(TP_KERNELS_OPT) && defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP)
#define TP_DW_MAX_(a, b) ((a) > (b) ? (a) : (b))
#define TP_DEPTHWISE_CONV2D_S8_PREPARED_WORDS(C, T)                            \
    (8 + 5 * (C) + 21 + ((C) + 3) / 4                                           \
     + TP_DW_MAX_(13 * ((C) & ~3), (((T) + 1) >> 1) * (C)))
#else
#define TP_DEPTHWISE_CONV2D_S8_PREPARED_WORDS(C, T) 1
#endif

/* TRANSPOSE_CONV: filter [out_c][k_h][k_w][in_c]; output row oy takes input
 * row iy through tap ky = oy + pad_top - iy * stride_h (likewise columns). */
typedef struct {
    int32_t batches;
    int32_t in_h, in_w, in_c;
    int32_t out_h, out_w, out_c;
    int32_t k_h, k_w;
    int32_t stride_h, stride_w;
    int32_t pad_top, pad_left;
    int32_t input_offset;
    int32_t output_offset;
    int32_t act_min, act_max;
    const int32_t *out_mult;         /* per output channel */
    const int32_t *out_shift;
} tp_transpose_conv2d_s8_params_t;

typedef struct {
    int32_t batches;
    int32_t in_depth;                /* accumulation depth */
    int32_t out_depth;
    int32_t input_offset;
    int32_t filter_offset;
    int32_t output_offset;
    int32_t out_mult;                /* per tensor */
    int32_t out_shift;
    int32_t act_min, act_max;
} tp_fully_connected_s8_params_t;

typedef struct {
    int32_t batches;
    int32_t in_h, in_w, ch;
    int32_t out_h, out_w;
    int32_t k_h, k_w;
    int32_t stride_h, stride_w;
    int32_t pad_top, pad_left;
    int32_t act_min, act_max;
} tp_avgpool2d_s8_params_t;

/* MAX_POOL_2D: the same geometry as AVERAGE_POOL_2D. */
typedef tp_avgpool2d_s8_params_t tp_maxpool2d_s8_params_t;

typedef struct {
    const int32_t *in_shape;         /* 4-D, leading 1s added */
    const int32_t *out_shape;
    const int32_t *before;           /* padding before each dimension */
    int32_t pad_value;
} tp_pad_s8_params_t;

typedef struct {
    int32_t outer;                   /* product of the dimensions before the axis */
    int32_t n_inputs;
    const int32_t *slice_bytes;      /* per input: axis size * inner size */
} tp_concatenation_s8_params_t;

typedef struct {
    int32_t size;
    float scale;                     /* of the int8 output */
    int32_t zero_point;
} tp_quantize_f32_s8_params_t;

typedef struct {
    int32_t size;
    float scale;                     /* of the int8 input */
    int32_t zero_point;
} tp_dequantize_s8_f32_params_t;

typedef struct {
    int32_t size;
    int32_t input_unsigned;          /* 1: the input bytes are uint8 */
    int32_t input_offset;            /* -input zero point */
    int32_t out_mult, out_shift;     /* input scale / output scale */
    int32_t output_offset;
    int32_t out_min, out_max;        /* -128..127, or 0..255 for a uint8 output */
} tp_quantize_s8_params_t;

typedef struct {
    int32_t size;
    int32_t input_offset;            /* -input zero point */
    int32_t identity_mult, identity_shift;   /* input scale / output scale */
    int32_t alpha_mult, alpha_shift;         /* alpha * input scale / output scale */
    int32_t output_offset;
} tp_leaky_relu_s8_params_t;

/* LOGISTIC and TANH: the input rescaled into Q4.27 where it is inside the
 * range radius; outside it the output saturates. */
typedef struct {
    int32_t size;
    int32_t input_offset;            /* -input zero point */
    int32_t input_range_radius;      /* |x - zero point| >= radius saturates */
    int32_t input_mult, input_shift; /* input scale * 2^27, shift > 0 = left */
} tp_logistic_s8_params_t;

typedef tp_logistic_s8_params_t tp_tanh_s8_params_t;

typedef struct {
    int32_t size;
    int32_t input_offset;            /* -input zero point */
    int32_t output_offset;           /* output zero point */
    int32_t output_mult;             /* Q0.15: (input scale / 128) / output scale */
    int32_t output_shift;            /* right shift after it, >= 0 */
    int32_t reluish_mult;            /* Q0.15: (input scale / 128) / (3 / 32768) */
    int32_t reluish_exponent;        /* > 0 left, < 0 right */
} tp_hard_swish_s8_params_t;

typedef struct {
    int32_t size;                    /* element count, both inputs same shape */
    int32_t left_shift;
    int32_t in1_offset, in1_mult, in1_shift;
    int32_t in2_offset, in2_mult, in2_shift;
    int32_t output_offset, out_mult, out_shift;
    int32_t act_min, act_max;
} tp_add_s8_params_t;

typedef struct {
    const int32_t *in_shape;         /* 4-D, leading 1s added */
    int32_t axes_mask;               /* bit k: dimension k is reduced */
    int32_t sum_offset;              /* -count * input zero point */
    int32_t out_mult, out_shift;     /* (input scale / output scale) / count */
    int32_t output_offset;
} tp_mean_s8_params_t;

typedef struct {
    const int32_t *in_shape;         /* 4-D, leading 1s added */
    const int32_t *out_shape;        /* 4-D: elements taken per dimension */
    const int32_t *start;            /* first index per dimension */
    const int32_t *stride;           /* step per dimension (may be negative) */
} tp_strided_slice_s8_params_t;

/* SUB: ADD's parameters. */
typedef tp_add_s8_params_t tp_sub_s8_params_t;

typedef struct {
    int32_t size;                    /* element count, both inputs same shape */
    int32_t in1_offset, in2_offset;  /* -zero points */
    int32_t output_offset, out_mult, out_shift;   /* scale1 * scale2 / output scale */
    int32_t act_min, act_max;
} tp_mul_s8_params_t;

/* ADD, SUB and MUL of inputs that broadcast against each other (different
 * shapes): the element arithmetic of the same-shape kernel (op.size unused)
 * and the walk over the 4-D output (leading 1s added). */
typedef struct {
    tp_add_s8_params_t op;
    const int32_t *out_shape;        /* 4-D */
    const int32_t *in1_stride;       /* input1 elements per step of each output dimension, 0: broadcast */
    const int32_t *in2_stride;
} tp_add_broadcast_s8_params_t;

typedef tp_add_broadcast_s8_params_t tp_sub_broadcast_s8_params_t;

typedef struct {
    tp_mul_s8_params_t op;
    const int32_t *out_shape;
    const int32_t *in1_stride;
    const int32_t *in2_stride;
} tp_mul_broadcast_s8_params_t;

typedef struct {
    int32_t outer;                   /* number of rows */
    int32_t depth;                   /* row length */
    int32_t input_multiplier;
    int32_t input_left_shift;
    int32_t diff_min;
} tp_softmax_s8_params_t;

void tp_conv2d_s8(const tp_conv2d_s8_params_t *p, const int8_t *input,
                  const int8_t *filter, const int32_t *bias, int8_t *output);
void tp_depthwise_conv2d_s8(const tp_depthwise_conv2d_s8_params_t *p,
                            const int8_t *input, const int8_t *filter,
                            const int32_t *bias, int8_t *output);
void tp_transpose_conv2d_s8(const tp_transpose_conv2d_s8_params_t *p, const int8_t *input,
                            const int8_t *filter, const int32_t *bias, int8_t *output);
void tp_fully_connected_s8(const tp_fully_connected_s8_params_t *p,
                           const int8_t *input, const int8_t *filter,
                           const int32_t *bias, int8_t *output);
void tp_avgpool2d_s8(const tp_avgpool2d_s8_params_t *p, const int8_t *input,
                     int8_t *output);
void tp_maxpool2d_s8(const tp_maxpool2d_s8_params_t *p, const int8_t *input,
                     int8_t *output);
void tp_pad_s8(const tp_pad_s8_params_t *p, const int8_t *input, int8_t *output);
void tp_concatenation_s8(const tp_concatenation_s8_params_t *p, const int8_t *const *inputs,
                         int8_t *output);
void tp_quantize_f32_s8(const tp_quantize_f32_s8_params_t *p, const float *input, int8_t *output);
void tp_dequantize_s8_f32(const tp_dequantize_s8_f32_params_t *p, const int8_t *input, float *output);
void tp_quantize_s8(const tp_quantize_s8_params_t *p, const int8_t *input, int8_t *output);
void tp_leaky_relu_s8(const tp_leaky_relu_s8_params_t *p, const int8_t *input, int8_t *output);
void tp_logistic_s8(const tp_logistic_s8_params_t *p, const int8_t *input, int8_t *output);
void tp_tanh_s8(const tp_tanh_s8_params_t *p, const int8_t *input, int8_t *output);
void tp_hard_swish_s8(const tp_hard_swish_s8_params_t *p, const int8_t *input, int8_t *output);
void tp_add_s8(const tp_add_s8_params_t *p, const int8_t *input1,
               const int8_t *input2, int8_t *output);
void tp_sub_s8(const tp_sub_s8_params_t *p, const int8_t *input1,
               const int8_t *input2, int8_t *output);
void tp_mul_s8(const tp_mul_s8_params_t *p, const int8_t *input1,
               const int8_t *input2, int8_t *output);
void tp_add_broadcast_s8(const tp_add_broadcast_s8_params_t *p, const int8_t *input1,
                         const int8_t *input2, int8_t *output);
void tp_sub_broadcast_s8(const tp_sub_broadcast_s8_params_t *p, const int8_t *input1,
                         const int8_t *input2, int8_t *output);
void tp_mul_broadcast_s8(const tp_mul_broadcast_s8_params_t *p, const int8_t *input1,
                         const int8_t *input2, int8_t *output);
void tp_mean_s8(const tp_mean_s8_params_t *p, const int8_t *input, int8_t *output);
void tp_strided_slice_s8(const tp_strided_slice_s8_params_t *p, const int8_t *input, int8_t *output);
void tp_softmax_s8(const tp_softmax_s8_params_t *p, const int8_t *input,
                   int8_t *output);

#endif
