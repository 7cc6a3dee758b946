/* CONV_2D int8, DSP set: the four-channel engine the block paths share
 * (conv2d_s8_blocks4.c, _blocks4_rows1.c, _pointwise.c): four output
 * channels x two pixels per asm pass over a stream holding the filter
 * expanded to 16-bit lanes (conv2d_s8_block_engine.c has its layout). */
#ifndef TP_CONV2D_S8_BLOCKS4_H
#define TP_CONV2D_S8_BLOCKS4_H

#include "conv2d_s8_paths.h"

#if TP_OPT_SIMD

/* State of the passes over the blocks (offsets used by the asm). The
 * pointwise pairs run on from one pass to the next (the _pw passes, npair
 * pairs, the first one's column buffer filled): the next pair's pixels are
 * expanded from src in the asm. */
typedef struct {
    const uint32_t *col;     /*  0: column buffer, ends on the 8 KiB boundary */
    int8_t *outA, *outB;     /*  4, 8: outputs of pixels A and B */
    const uint32_t *end;     /* 12: end of the stream */
    uint32_t lo4, hi4;       /* 16, 20: activation range in every byte */
    const uint32_t *w;       /* 24: the stream */
    const int8_t *src;       /* 28: next pair's pixel A (B follows) */
    int32_t npair;           /* 32 */
    int32_t in_c;            /* 36: bytes a pixel, a multiple of 4 */
    int32_t ostep;           /* 40: 2 * out_c */
    uint32_t off2;           /* 44: input offset in both lanes */
} conv_run_t;

typedef void conv4_run_fn(conv_run_t *run);

/* A layer's stream and passes, from conv4_setup. */
typedef struct {
    conv_run_t run;          /* col, end and the range set */
    conv4_run_fn *pair;      /* one pixel pair */
    conv4_run_fn *pairs;     /* run.npair pointwise pairs (no block flagged) */
    int redo;                /* some block needs its outputs redone in C */
} conv4_t;

/* A block of four constant channels: its first channel and output bytes. */
typedef struct {
    int32_t out;
    uint32_t val;
} conv_cblk_t;

extern uint32_t conv_wexp[CONV_WEMAX];
extern uint32_t conv_col4[CONV_KMAX];   /* ends on a CONV_COL4_ALIGN boundary */
extern conv_cblk_t conv_cblk[CONV_CMAX / 4];
extern int32_t conv_ncblk;

/* Builds the stream of the layer from prep (its filter rows and per-channel
 * constants) and picks the passes for its range. */
void conv4_setup(conv4_t *c, const tp_conv2d_s8_params_t *p, const conv_prep_t *prep);

/* Outputs of the flagged blocks from their accumulators, any channel's form. */
void conv4_redo_exact(const conv_fq_t *fq, int32_t out_c, int8_t *outA, int8_t *outB, int32_t lo,
                      int32_t hi);

/* The constant blocks' outputs of one pixel. */
static inline void conv4_const(int8_t *out)
{
    for (int32_t i = 0; i < conv_ncblk; ++i) {
        __builtin_memcpy(out + conv_cblk[i].out, &conv_cblk[i].val, 4);
    }
}

/* All four-channel blocks for the pixel pair in the column buffer. */
static inline void conv4_pair(conv4_t *c, const conv_fq_t *fq, int32_t out_c, int8_t *outA,
                              int8_t *outB)
{
    conv_run_t *run = &c->run;
    run->w = conv_wexp;
    run->outA = outA;
    run->outB = outB;
    if (run->end != conv_wexp) {
        c->pair(run);
    }
    conv4_const(outA);
    conv4_const(outB);
    if (c->redo) {
        conv4_redo_exact(fq, out_c, outA, outB, (int8_t)run->lo4, (int8_t)run->hi4);
    }
}

/* Where the column buffer of a layer of K taps per output starts. */
static inline uint32_t *conv4_col(int32_t K)
{
    return conv_col4 + CONV_KMAX - K;
}

#endif /* TP_OPT_SIMD */

#endif
