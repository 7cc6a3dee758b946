/* TRANSPOSE_CONV, int8 activations, per-channel int8 weights [out_c][k_h][k_w][in_c],
 * optional int32 bias.
 *
 * TFLM scatters: every input pixel times the filter is added into an int32
 * scratch copy of the output (input pixel (iy, ix) lands on output rows
 * iy * stride_h - pad_top + ky), which is then biased, requantised and clamped.
 * Here each output gathers the same products itself: the sums are exact
 * integer sums, so their order does not matter, and no output-sized scratch
 * buffer is needed. */
#include "tp_kernels.h"
#include "requantize.h"

/* The input positions i with out = i * stride + k - pad for some tap
 * 0 <= k < taps, inside [0, in_size): [*first, *last]; empty when first > last. */
static void tconv_sources(int32_t out, int32_t pad, int32_t stride, int32_t taps, int32_t in_size,
                          int32_t *first, int32_t *last)
{
    const int32_t t = out + pad;     /* i * stride + k; >= 0 as pad >= 0 */
    const int32_t lo = t - (taps - 1);
    *first = lo <= 0 ? 0 : (lo + stride - 1) / stride;
    *last = t / stride < in_size - 1 ? t / stride : in_size - 1;
}

void tp_transpose_conv2d_s8(const tp_transpose_conv2d_s8_params_t *p, const int8_t *input,
                            const int8_t *filter, const int32_t *bias, int8_t *output)
{
    const int32_t in_c = p->in_c;

    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + (size_t)b * p->in_h * p->in_w * in_c;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            int32_t iy0, iy1;
            tconv_sources(oy, p->pad_top, p->stride_h, p->k_h, p->in_h, &iy0, &iy1);
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                int32_t ix0, ix1;
                tconv_sources(ox, p->pad_left, p->stride_w, p->k_w, p->in_w, &ix0, &ix1);
                for (int32_t oc = 0; oc < p->out_c; ++oc) {
                    const int8_t *f_oc = filter + (size_t)oc * p->k_h * p->k_w * in_c;
                    int32_t acc = 0;
                    for (int32_t iy = iy0; iy <= iy1; ++iy) {
                        const int32_t ky = oy + p->pad_top - iy * p->stride_h;
                        for (int32_t ix = ix0; ix <= ix1; ++ix) {
                            const int32_t kx = ox + p->pad_left - ix * p->stride_w;
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
                    acc = tp_requantize(acc, p->out_mult[oc], p->out_shift[oc]) + p->output_offset;
                    *output++ = (int8_t)tp_clamp(acc, p->act_min, p->act_max);
                }
            }
        }
    }
}
