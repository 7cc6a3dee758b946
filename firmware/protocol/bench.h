/* What differs between the four benchmarks, gathered in one place: the
 * model id reported by `profile`, the size and layout of the input file the
 * runner sends with `db`, and how results are printed.  The build selects
 * the benchmark with -DTP_BENCH_kws / _vww / _ic / _ad. */
#ifndef TP_BENCH_H
#define TP_BENCH_H

#include <stdint.h>

#include "model.h"

/* A hand-written model.h (make MODEL_DIR=...) that predates models of several
 * inputs and outputs describes one of each. */
#ifndef MODEL_INPUT_COUNT
#define MODEL_INPUT_COUNT        1
#define MODEL_OUTPUT_COUNT       1
#define MODEL_ALL_INPUTS_BYTES   MODEL_INPUT_BYTES
#define MODEL_ALL_OUTPUTS_BYTES  MODEL_OUTPUT_BYTES
#endif

/* How the bytes of an input file become the model's int8 input tensor. */
#define BENCH_INPUT_INT8       1   /* copied as they are (KWS features) */
#define BENCH_INPUT_UINT8_RGB  2   /* uint8 pixels, device subtracts 128 */
#define BENCH_INPUT_FLOAT32    3   /* float32 LE values, device quantises */

/* How `m-results-[...]` is printed. */
#define BENCH_RESULTS_FIXED3        1   /* "%0.3f" values joined by ',' */
#define BENCH_RESULTS_FIXED3_COMMA  2   /* "%0.3f" values, each followed by ',' */
#define BENCH_RESULTS_TRUNC3        3   /* "0.ddd" values (truncated), joined by ',' */
#define BENCH_RESULTS_MSE           4   /* one "%0.3f": input/output mean squared error */
#define BENCH_RESULTS_COUNT         5   /* one integer: the output byte count (raw) */

#if defined(TP_BENCH_kws)
#define BENCH_MODEL_ID   "kws01"
#define BENCH_DB_BYTES   490u
#define BENCH_INPUT      BENCH_INPUT_INT8
#define BENCH_RESULTS    BENCH_RESULTS_TRUNC3
#elif defined(TP_BENCH_vww)
#define BENCH_MODEL_ID   "vww01"
#define BENCH_DB_BYTES   27648u         /* 96 x 96 x 3 */
#define BENCH_INPUT      BENCH_INPUT_UINT8_RGB
#define BENCH_RESULTS    BENCH_RESULTS_FIXED3_COMMA
#elif defined(TP_BENCH_ic)
#define BENCH_MODEL_ID   "ic01"
#define BENCH_DB_BYTES   3072u          /* 32 x 32 x 3 */
#define BENCH_INPUT      BENCH_INPUT_UINT8_RGB
#define BENCH_RESULTS    BENCH_RESULTS_FIXED3
#elif defined(TP_BENCH_ad)
#define BENCH_MODEL_ID   "ad01"
#define BENCH_DB_BYTES   2560u          /* 640 float32 */
#define BENCH_INPUT      BENCH_INPUT_FLOAT32
#define BENCH_RESULTS    BENCH_RESULTS_MSE
#elif defined(TP_BENCH_raw)
/* Any model (make BENCH=raw MODEL=... or MODEL_DIR=...): the input file is
 * the model's input tensors as they are, concatenated in input order; read
 * the outputs with `outputs`.  m-results is output 0's byte count. */
#define BENCH_MODEL_ID   "raw"
#define BENCH_DB_BYTES   ((uint32_t)MODEL_ALL_INPUTS_BYTES)
#define BENCH_INPUT      BENCH_INPUT_INT8
#define BENCH_RESULTS    BENCH_RESULTS_COUNT
#else
#error "define one of TP_BENCH_kws, TP_BENCH_vww, TP_BENCH_ic, TP_BENCH_ad, TP_BENCH_raw"
#endif

/* Converts a complete input file (BENCH_DB_BYTES bytes) into model_input(). */
void bench_load_input(const uint8_t *file);

/* Prints the whole "m-results-[...]" line for the last inference. */
void bench_print_results(void);

#endif
