/* CONV_2D, int8 activations, per-channel int8 weights, int32 bias.
 * For Armv8.1-M with Helium (MVE integer), e.g. Cortex-M55.
 *
 * The input offset leaves the inner loop: sum((x + off) * w) equals
 * sum(x * w) + off * sum(w), so the effective bias of each channel takes
 * off * sum(w) once per model (tp_conv2d_s8_prepare, into the layer's work
 * area) and the dot products run on raw int8 with
 * VMLADAVA.S8 (sixteen multiply-accumulates into a scalar per instruction).
 * A padded tap holds the input zero point, x = -off, and adds
 * (x + off) * w = 0, as the reference's skipped tap does. All sums are
 * int32 modulo 2^32 like the reference's; only the order differs.
 *
 * The receptive field of each output pixel is gathered once into a column
 * (a 1x1 layer reads the input pixel in place); pixels go in pairs and
 * channels in pairs, so each 16-byte load feeds two VMLADAVAs, and the
 * tail of K is handled by predication (DLSTP/VCTP), not by a scalar loop.
 * Requantisation runs on four outputs at once (VQRDMULH and a rounding
 * shift, tp_opt.h's tier 2 form) when every channel allows it, else
 * tp_opt.h's per-channel routine (any tier). */
#include "tp_mve.h"
#include "tp_prepare.h"

#define tp_conv2d_s8 tp_conv2d_s8_ref
#define tp_conv2d_s8_prepare tp_conv2d_s8_prepare_ref
#include "../conv2d_s8.c"
#undef tp_conv2d_s8_prepare
#undef tp_conv2d_s8

#define MVE_KMAX 4608      /* taps per output (k_h * k_w * in_c): up to 3x3x512 */
#define MVE_CMAX TP_MVE_CMAX

static int8_t mve_col[2 * MVE_KMAX];   /* two pixels' fields */
static int8_t mve_scratch[MVE_CMAX];   /* the odd pixel's second copy */

/* A layer's work area (tp_prepare.h), filled once by mve_prepare: this
 * header, then per channel the bias with the input offset folded in
 * (bias + input_offset * sum of the channel's weights), then either the
 * four arrays of the vector requantisation (when every channel allows it)
 * or a tp_rq_t per channel. */
typedef struct {
    int32_t ready;          /* MVE_WORK_READY once prepared */
    int32_t runs;           /* 0: the shape is out of range, the reference kernel runs */
    int32_t vector_rq;
    int32_t reserved;
} mve_work_t;

#define MVE_WORK_READY 0x6d766563   /* "mvec" */
#define MVE_WORK_HEAD 4             /* words */
_Static_assert(sizeof(mve_work_t) == 4 * MVE_WORK_HEAD, "work header");
_Static_assert(TP_CONV2D_S8_WORK_WORDS(1, 4) >= MVE_WORK_HEAD + 1 + sizeof(tp_rq_t) / 4
               && TP_CONV2D_S8_WORK_WORDS(1, 4) >= MVE_WORK_HEAD + 1 + 4,
               "tp_prepare.h leaves room for the bias and either requantisation per channel");

/* What pixel_pair reads, from the work area. */
typedef struct {
    const int32_t *bias;
    const tp_rq_t *rq;                              /* vector_rq 0 */
    const int32_t *lsh, *mult, *rnd, *neg_e;        /* vector_rq 1 */
    int32_t vector_rq;
} mve_prep_t;

static int32_t mve_call_work[TP_CONV2D_S8_WORK_WORDS(MVE_CMAX, 4)];
static tp_mve_rq_t mve_vrq;   /* the vector constants while preparing */

static int32_t weight_sum(const int8_t *w, int32_t K)
{
    int32_t s = 0;
    for (int32_t k = 0; k < K; k += 16) {
        const mve_pred16_t pr = vctp8q((uint32_t)(K - k));
        s = vaddvaq_p_s8(s, vldrbq_z_s8(w + k, pr), pr);
    }
    return s;
}

/* The receptive field of output pixel (oy, ox) in dst, padding as the zero
 * point; a 1x1 layer's field is the input pixel itself. */
static const int8_t *gather(const tp_conv2d_s8_params_t *p, const int8_t *in_b, int32_t oy,
                            int32_t ox, int8_t *dst)
{
    const int32_t in_c = p->in_c;
    const int32_t iy0 = oy * p->stride_h - p->pad_top;
    const int32_t ix0 = ox * p->stride_w - p->pad_left;
    if (p->k_h == 1 && p->k_w == 1) {
        return in_b + ((size_t)iy0 * p->in_w + ix0) * in_c;   /* always inside */
    }
    const int8_t zp = (int8_t)(-p->input_offset);
    int8_t *const col = dst;
    const int32_t row_bytes = p->k_w * in_c;
    const int whole_rows = p->dil_w == 1 && ix0 >= 0 && ix0 + p->k_w <= p->in_w;
    for (int32_t ky = 0; ky < p->k_h; ++ky) {
        const int32_t iy = iy0 + ky * p->dil_h;
        const int row_ok = iy >= 0 && iy < p->in_h;
        if (row_ok && whole_rows) {
            /* the kernel row's taps are adjacent input pixels */
            tp_mve_copy8(dst, in_b + ((size_t)iy * p->in_w + ix0) * in_c, row_bytes);
            dst += row_bytes;
            continue;
        }
        for (int32_t kx = 0; kx < p->k_w; ++kx, dst += in_c) {
            const int32_t ix = ix0 + kx * p->dil_w;
            if (row_ok && ix >= 0 && ix < p->in_w) {
                tp_mve_copy8(dst, in_b + ((size_t)iy * p->in_w + ix) * in_c, in_c);
            } else {
                tp_mve_fill8(dst, zp, in_c);
            }
        }
    }
    return col;
}

static inline int8_t out8(int32_t acc, const tp_rq_t *q, int32_t lo, int32_t hi)
{
    return tp_clamp8(tp_rq(acc, q), lo, hi);
}

/* Two output channels (filter rows f0, f1) x two pixels (columns x, y)
 * over K taps: a tail-predicated low-overhead loop (DLSTP/LETP) of 16 taps
 * per pass, each weight load feeding both pixels. VMLADAVA accumulates into
 * an even-numbered register, hence the fixed registers. */
static inline void dot_2x2(const int8_t *x, const int8_t *y, const int8_t *f0, const int8_t *f1,
                           int32_t K, int32_t *acc)
{
    register int32_t a0 __asm__("r0") = acc[0];
    register int32_t a1 __asm__("r2") = acc[1];
    register int32_t b0 __asm__("r4") = acc[2];
    register int32_t b1 __asm__("r6") = acc[3];
    __asm__ volatile(
        "dlstp.8 lr, %[k]\n"
        "1:\n\t"
        "vldrb.8 q0, [%[x]], #16\n\t"
        "vldrb.8 q1, [%[y]], #16\n\t"
        "vldrb.8 q2, [%[f0]], #16\n\t"
        "vmladava.s8 %[a0], q0, q2\n\t"
        "vmladava.s8 %[b0], q1, q2\n\t"
        "vldrb.8 q2, [%[f1]], #16\n\t"
        "vmladava.s8 %[a1], q0, q2\n\t"
        "vmladava.s8 %[b1], q1, q2\n\t"
        "letp lr, 1b"
        : [a0] "+r"(a0), [a1] "+r"(a1), [b0] "+r"(b0), [b1] "+r"(b1),
          [x] "+r"(x), [y] "+r"(y), [f0] "+r"(f0), [f1] "+r"(f1)
        : [k] "r"(K)
        : "lr", "q0", "q1", "q2", "memory");
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = b0;
    acc[3] = b1;
}

/* All output channels of two pixels from their columns x and y (y may be
 * x again for an odd pixel out, with outB a scratch row). */
static void pixel_pair(const int8_t *x, const int8_t *y, const int8_t *filter, int32_t K,
                       int32_t out_c, int8_t *outA, int8_t *outB, int32_t lo, int32_t hi,
                       const mve_prep_t *prep)
{
    const int32_t *const bias = prep->bias;
    const tp_rq_t *const rq = prep->rq;
    /* The four requantised bytes go to outA[oc], outA[oc + 1], outB[oc],
     * outB[oc + 1]. */
    const uint32_t d = (uint32_t)(outB - outA);
    const uint32_t pair4[4] = {0, 1, 0, 1};
    const uint32x4_t pair = vldrwq_u32(pair4);
    const uint32_t off4[4] = {0, 1, d, d + 1};
    const uint32x4_t offsets = vldrwq_u32(off4);
    const int32x4_t lo4 = vdupq_n_s32(lo), hi4 = vdupq_n_s32(hi);
    int32_t oc = 0;
    for (; oc + 2 <= out_c; oc += 2) {
        const int8_t *f0 = filter + (size_t)oc * K;
        int32_t acc[4] = {bias[oc], bias[oc + 1], bias[oc], bias[oc + 1]};
        dot_2x2(x, y, f0, f0 + K, K, acc);
        if (prep->vector_rq) {
            /* lanes (A c, A c+1, B c, B c+1): constants of c, c+1 twice */
            const int32x4_t v = tp_mve_requantize(
                vldrwq_s32(acc), vldrwq_gather_shifted_offset_s32(&prep->lsh[oc], pair),
                vldrwq_gather_shifted_offset_s32(&prep->mult[oc], pair),
                vldrwq_gather_shifted_offset_s32(&prep->rnd[oc], pair),
                vldrwq_gather_shifted_offset_s32(&prep->neg_e[oc], pair), lo4, hi4);
            vstrbq_scatter_offset_s32(outA + oc, offsets, v);
            continue;
        }
        outA[oc] = out8(acc[0], &rq[oc], lo, hi);
        outA[oc + 1] = out8(acc[1], &rq[oc + 1], lo, hi);
        outB[oc] = out8(acc[2], &rq[oc], lo, hi);
        outB[oc + 1] = out8(acc[3], &rq[oc + 1], lo, hi);
    }
    if (oc < out_c) {
        const int8_t *f = filter + (size_t)oc * K;
        int32_t a = bias[oc], b = a;
        for (int32_t k = 0; k < K; k += 16) {
            const mve_pred16_t pr = vctp8q((uint32_t)(K - k));
            const int8x16_t w = vldrbq_z_s8(f + k, pr);
            a = vmladavaq_p_s8(a, vldrbq_z_s8(x + k, pr), w, pr);
            b = vmladavaq_p_s8(b, vldrbq_z_s8(y + k, pr), w, pr);
        }
        outA[oc] = out8(a, &rq[oc], lo, hi);
        outB[oc] = out8(b, &rq[oc], lo, hi);
    }
}

/* The kernel's buffers hold the layer. */
static int fits_the_buffers(const tp_conv2d_s8_params_t *p)
{
    const int32_t K = p->k_h * p->k_w * p->in_c;
    return K > 0 && K <= MVE_KMAX && p->out_c <= MVE_CMAX;
}

static void mve_prepare(int32_t *work, const tp_conv2d_s8_params_t *p, const int8_t *filter,
                        const int32_t *bias)
{
    mve_work_t *const w = (mve_work_t *)work;
    w->runs = fits_the_buffers(p);
    w->vector_rq = 0;
    if (w->runs) {
        const int32_t K = p->k_h * p->k_w * p->in_c, n = p->out_c;
        int32_t *const folded = work + MVE_WORK_HEAD;
        tp_rq_t *const rq = (tp_rq_t *)(folded + n);
        const uint32_t bound = tp_dot_bound(K, p->input_offset, 0);
        for (int32_t oc = 0; oc < n; ++oc) {
            const int32_t b = bias ? bias[oc] : 0;
            const int8_t *f = filter + (size_t)oc * K;
            folded[oc] = (int32_t)((uint32_t)b + (uint32_t)p->input_offset * (uint32_t)weight_sum(f, K));
            tp_rq_prepare(&rq[oc], p->out_mult[oc], p->out_shift[oc], tp_add_bound(bound, b),
                          p->output_offset);
        }
        w->vector_rq = (n & 1) == 0
            && tp_mve_rq_prepare(&mve_vrq, rq, n, K, p->input_offset, bias, p->out_mult,
                                 p->out_shift, p->output_offset, p->act_min, p->act_max);
        if (w->vector_rq) {   /* the four arrays in place of the tp_rq_t */
            int32_t *v = folded + n;
            memcpy(v, mve_vrq.lsh, (size_t)n * 4);
            memcpy(v + n, mve_vrq.mult, (size_t)n * 4);
            memcpy(v + 2 * n, mve_vrq.rnd, (size_t)n * 4);
            memcpy(v + 3 * n, mve_vrq.neg_e, (size_t)n * 4);
        }
    }
    w->ready = MVE_WORK_READY;
}

void tp_conv2d_s8_prepare(const tp_conv2d_s8_params_t *p, const int8_t *filter,
                          const int32_t *bias)
{
    if (p->work != NULL) {
        mve_prepare(p->work, p, filter, bias);
    }
}

/* The layer's prepared work area (as the DSP set's conv_work). */
static int32_t *mve_work(const tp_conv2d_s8_params_t *p, const int8_t *filter, const int32_t *bias)
{
    int32_t *work = p->work;
    if (work == NULL) {
        work = mve_call_work;
        mve_prepare(work, p, filter, bias);
    } else if (((const mve_work_t *)work)->ready != MVE_WORK_READY) {
        mve_prepare(work, p, filter, bias);   /* model_prepare() was not called */
    }
    return work;
}

void tp_conv2d_s8(const tp_conv2d_s8_params_t *p, const int8_t *input,
                  const int8_t *filter, const int32_t *bias, int8_t *output)
{
    int32_t *const work = mve_work(p, filter, bias);
    const mve_work_t *const w = (const mve_work_t *)work;
    if (!w->runs) {
        tp_conv2d_s8_ref(p, input, filter, bias, output);
        return;
    }
    const int32_t K = p->k_h * p->k_w * p->in_c, n = p->out_c;
    const int32_t *const folded = work + MVE_WORK_HEAD;
    const int32_t *const v = folded + n;
    const mve_prep_t prep = {folded, (const tp_rq_t *)v, v, v + n, v + 2 * n, v + 3 * n, w->vector_rq};
    const size_t in_size = (size_t)p->in_h * p->in_w * p->in_c;
    const int32_t npix = p->out_h * p->out_w;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + (size_t)b * in_size;
        int8_t *out_b = output + (size_t)b * npix * p->out_c;
        for (int32_t i = 0; i < npix; i += 2) {
            const int32_t j = i + 1 < npix ? i + 1 : i;
            const int8_t *x = gather(p, in_b, i / p->out_w, i % p->out_w, mve_col);
            const int8_t *y = j > i ? gather(p, in_b, j / p->out_w, j % p->out_w, mve_col + K) : x;
            int8_t *outA = out_b + (size_t)i * p->out_c;
            pixel_pair(x, y, filter, K, p->out_c, outA, j > i ? outA + p->out_c : mve_scratch,
                       p->act_min, p->act_max, &prep);
        }
    }
}
