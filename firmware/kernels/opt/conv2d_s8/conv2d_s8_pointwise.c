/* CONV_2D int8, DSP set: 1x1 stride-1 layers whose output is the input's
 * size (CONV_PATH_POINTWISE). Output pixel i reads input pixel i, so a
 * pair's fields are adjacent and need no geometry: without flagged blocks
 * one asm pass runs every pixel pair of a batch, expanding the next pair's
 * pixels itself (conv2d_s8_blocks4.h). */
#include "conv2d_s8_blocks4.h"

#if TP_OPT_SIMD

void conv2d_s8_pointwise(const tp_conv2d_s8_params_t *p, const conv_prep_t *prep,
                         const int8_t *input, int8_t *output)
{
    conv4_t c;
    conv4_setup(&c, p, prep);
    conv_run_t *const run = &c.run;
    uint32_t *const col = conv4_col(prep->kf);
    const uint32_t off2 = tp_dup16(p->input_offset);
    const int32_t npix = p->out_h * p->out_w;
    const int32_t in_c = p->in_c, out_c = p->out_c;
    /* Whole pairs in one asm call when no block is flagged. */
    const int32_t pw = c.redo ? 0 : npix >> 1;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + (size_t)b * npix * in_c;
        int8_t *out_b = output + (size_t)b * npix * out_c;
        if (pw > 0) {
            expand_pair(col, in_b, in_b + in_c, in_c >> 2, off2);
            run->w = conv_wexp;
            run->outA = out_b;
            run->outB = out_b + out_c;
            run->src = in_b + 2 * in_c;
            run->npair = pw;
            run->in_c = in_c;
            run->ostep = 2 * out_c;
            run->off2 = off2;
            if (run->end != conv_wexp) {
                c.pairs(run);
            }
            for (int32_t pix = 0; pix < 2 * pw && conv_ncblk > 0; ++pix) {
                conv4_const(out_b + (size_t)pix * out_c);
            }
        }
        for (int32_t pix = 2 * pw; pix < npix; pix += 2) {
            const int8_t *srcA = in_b + (size_t)pix * in_c;
            const int8_t *srcB = srcA + in_c;
            int8_t *outA = out_b + (size_t)pix * out_c;
            int8_t *outB = outA + out_c;
            if (pix + 1 == npix) {
                srcB = srcA;   /* odd pixel out: twice, one copy kept */
                outB = conv_dummy;
            }
            expand_pair(col, srcA, srcB, in_c >> 2, off2);
            conv4_pair(&c, prep->fq, out_c, outA, outB);
        }
    }
}

#endif
