/* CONV_2D int8, DSP set: staging of receptive fields that reach into the
 * padding, for the row-order fills. */
#include "conv2d_s8_columns.h"

#if TP_OPT_SIMD

uint32_t conv_col[CONV_KMAX + 4];
int8_t conv_dummy[CONV_CMAX];
int8_t conv_zp[CONV_KMAX];
int8_t conv_stage[CONV_KMAX + 4], conv_stageB[CONV_KMAX + 4];
int8_t conv_tailA[CONV_KMAX + 4], conv_tailB[CONV_KMAX + 4];

/* n bytes, in words (unaligned LDR/STR) while eight remain, then by size:
 * a kernel row is short (9 bytes for 3 x 3 taps), so no loop per byte. */
static inline void copy_bytes(int8_t *dst, const int8_t *src, int32_t n)
{
    for (; n >= 8; n -= 8, src += 8, dst += 8) {
        const uint32_t w0 = tp_ld32(src), w1 = tp_ld32(src + 4);
        __builtin_memcpy(dst, &w0, 4);
        __builtin_memcpy(dst + 4, &w1, 4);
    }
    if (n & 4) {
        const uint32_t w = tp_ld32(src);
        __builtin_memcpy(dst, &w, 4);
        src += 4;
        dst += 4;
    }
    if (n & 2) {
        const uint16_t h = (uint16_t)((uint8_t)src[0] | ((uint32_t)(uint8_t)src[1] << 8));
        __builtin_memcpy(dst, &h, 2);
        src += 2;
        dst += 2;
    }
    if (n & 1) {
        *dst = *src;
    }
}

__attribute__((noinline)) void stage_field(const tp_conv2d_s8_params_t *p, const int8_t *in_b,
                                           int32_t oy, int32_t ox, int8_t *st)
{
    const int32_t in_c = p->in_c;
    const int32_t row = p->k_w * in_c;
    const int32_t iy0 = oy * p->stride_h - p->pad_top;
    const int32_t ix0 = ox * p->stride_w - p->pad_left;
    const int8_t zp = (int8_t)(-p->input_offset);
    const int cols_in = p->dil_w == 1 && ix0 >= 0 && ix0 + p->k_w <= p->in_w;
    for (int32_t ky = 0; ky < p->k_h; ++ky, st += row) {
        const int32_t iy = iy0 + ky * p->dil_h;
        const int row_ok = iy >= 0 && iy < p->in_h;
        if (row_ok && cols_in) {
            copy_bytes(st, in_b + ((size_t)iy * p->in_w + ix0) * in_c, row);
            continue;
        }
        for (int32_t kx = 0; kx < p->k_w; ++kx) {
            const int32_t ix = ix0 + kx * p->dil_w;
            if (row_ok && ix >= 0 && ix < p->in_w) {
                copy_bytes(st + kx * in_c, in_b + ((size_t)iy * p->in_w + ix) * in_c, in_c);
            } else {
                memset(st + kx * in_c, zp, (size_t)in_c);
            }
        }
    }
}

#endif
