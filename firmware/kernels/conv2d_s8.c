/* CONV_2D, int8 activations, per-channel int8 weights, int32 bias. */
#include "tp_kernels.h"
#include "tp_prepare.h"
#include "requantize.h"

/* The reference kernel computes everything on every call. */
void tp_conv2d_s8_prepare(const tp_conv2d_s8_params_t *p, const int8_t *filter,
                          const int32_t *bias)
{
    (void)p;
    (void)filter;
    (void)bias;
}

void tp_conv2d_s8(const tp_conv2d_s8_params_t *p, const int8_t *input,
                  const int8_t *filter, const int32_t *bias, int8_t *output)
{
    const int32_t in_c = p->in_c;
    const int32_t filter_oc_stride = p->k_h * p->k_w * in_c;

    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + (size_t)b * p->in_h * p->in_w * in_c;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_top;
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t ix0 = ox * p->stride_w - p->pad_left;
                for (int32_t oc = 0; oc < p->out_c; ++oc) {
                    const int8_t *f_oc = filter + (size_t)oc * filter_oc_stride;
                    int32_t acc = 0;
                    for (int32_t ky = 0; ky < p->k_h; ++ky) {
                        const int32_t iy = iy0 + ky * p->dil_h;
                        /* Padded taps are skipped rather than read as 0: with a
                         * nonzero input zero point, "0" is not the padding value
                         * TFLM uses, and TFLM leaves them out of the sum. */
                        if (iy < 0 || iy >= p->in_h) {
                            continue;
                        }
                        for (int32_t kx = 0; kx < p->k_w; ++kx) {
                            const int32_t ix = ix0 + kx * p->dil_w;
                            if (ix < 0 || ix >= p->in_w) {
                                continue;
                            }
                            const int8_t *in_px = in_b + ((size_t)iy * p->in_w + ix) * in_c;
                            const int8_t *f_px = f_oc + ((size_t)ky * p->k_w + kx) * in_c;
                            for (int32_t ic = 0; ic < in_c; ++ic) {
                                acc += ((int32_t)in_px[ic] + p->input_offset) * (int32_t)f_px[ic];
                            }
                        }
                    }
                    if (bias) {
                        acc += bias[oc];
                    }
                    acc = tp_requantize(acc, p->out_mult[oc], p->out_shift[oc]);
                    acc += p->output_offset;
                    *output++ = (int8_t)tp_clamp(acc, p->act_min, p->act_max);
                }
            }
        }
    }
}
