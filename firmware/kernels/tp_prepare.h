/*
 * Once-per-model preparation (TFLM's Prepare / Eval split).
 *
 * What a kernel computes from a layer's constants alone (which path it
 * takes, per-channel requantisation constants, biases with the input
 * offset folded in, a filter in the order a path reads it) is computed once
 * by tp_*_prepare into the layer's work area, before the timed runs, and
 * read on every call. modelc gives each such layer a work area of the size
 * below (.work in its parameters) and calls the prepare functions from
 * model_prepare(). A kernel whose work area is not prepared yet prepares
 * it on its first call, and one without a work area (NULL) on every call,
 * so a caller that skips model_prepare() gets the same outputs, later.
 * The reference kernels prepare nothing.
 */
#ifndef TP_PREPARE_H
#define TP_PREPARE_H

#include "tp_kernels.h"

/* CONV_2D: words of work: a header, eight words per output channel (the
 * requantisation constants of the DSP or the Helium set, and the Helium
 * set's folded bias), and for input channels not a multiple of four the
 * filter in the DSP set's row order (at most 4 KiB). */
#define TP_CONV2D_S8_WORK_WORDS(out_c, in_c) (4 + 8 * (out_c) + ((in_c) % 4 != 0 ? 1024 : 0))

void tp_conv2d_s8_prepare(const tp_conv2d_s8_params_t *p, const int8_t *filter,
                          const int32_t *bias);

#endif
