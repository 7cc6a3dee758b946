/* CONV_2D int8, DSP set: the four-channel paths for any geometry
 * (CONV_PATH_BLOCKS4 over whole groups of taps, CONV_PATH_BLOCKS4_ROWS in
 * the row order): per pixel pair the column buffer is filled, then one asm
 * pass runs every block of four channels (conv2d_s8_blocks4.h). */
#include "conv2d_s8_blocks4.h"
#include "conv2d_s8_columns.h"

#if TP_OPT_SIMD

typedef struct {
    conv4_t c;
    const conv_fq_t *fq;
    uint32_t *col;
    uint32_t off2;
} blocks4_ctx_t;

static void blocks4_fill_groups(const tp_conv2d_s8_params_t *p, const int8_t *in_b, int32_t ay,
                                int32_t ax, int32_t by, int32_t bx, void *ctx)
{
    const blocks4_ctx_t *c = ctx;
    fill_pair(p, in_b, ay, ax, by, bx, c->off2, c->col);
}

static void blocks4_fill_rows(const tp_conv2d_s8_params_t *p, const int8_t *in_b, int32_t ay,
                              int32_t ax, int32_t by, int32_t bx, void *ctx)
{
    const blocks4_ctx_t *c = ctx;
    fill_rows(p, in_b, ay, ax, by, bx, c->off2, c->col);
}

static void blocks4_compute(const tp_conv2d_s8_params_t *p, void *ctx, int8_t *outA, int8_t *outB)
{
    blocks4_ctx_t *c = ctx;
    conv4_pair(&c->c, c->fq, p->out_c, outA, outB);
}

static inline __attribute__((always_inline)) void
blocks4_run(const tp_conv2d_s8_params_t *p, const conv_prep_t *prep, const int8_t *input,
            int8_t *output, conv_fill_fn *fill)
{
    blocks4_ctx_t ctx;
    conv4_setup(&ctx.c, p, prep);
    ctx.fq = prep->fq;
    ctx.col = conv4_col(prep->kf);
    ctx.off2 = tp_dup16(p->input_offset);
    conv_pixel_pairs(p, input, output, fill, blocks4_compute, &ctx);
}

void conv2d_s8_blocks4(const tp_conv2d_s8_params_t *p, const conv_prep_t *prep,
                       const int8_t *input, int8_t *output)
{
    fill_pair_prepare(p);
    blocks4_run(p, prep, input, output, blocks4_fill_groups);
}

void conv2d_s8_blocks4_rows(const tp_conv2d_s8_params_t *p, const conv_prep_t *prep,
                            const int8_t *input, int8_t *output)
{
    blocks4_run(p, prep, input, output, blocks4_fill_rows);
}

#endif
