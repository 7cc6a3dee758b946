/* Stand-in for the generated model API (modelc output), for protocol tests.
 * Same declarations and macros; the quantisation parameters are those of the
 * real models.  The "inference" copies the first MODEL_OUTPUT_BYTES input
 * values to the output, so a test can see exactly what the glue loaded.
 * tests/test_protocol_host.py repeats these numbers; keep them in step. */
#ifndef TP_FAKE_MODEL_H
#define TP_FAKE_MODEL_H

#include <stdint.h>

#if defined(TP_BENCH_kws)
#define MODEL_NAME "kws_ref_model"
#define MODEL_INPUT_BYTES 490
#define MODEL_OUTPUT_BYTES 12
#define MODEL_INPUT_SCALE 0.5847f
#define MODEL_INPUT_ZERO_POINT 83
#elif defined(TP_BENCH_vww)
#define MODEL_NAME "vww_96_int8"
#define MODEL_INPUT_BYTES 27648
#define MODEL_OUTPUT_BYTES 2
#define MODEL_INPUT_SCALE 0.003921569f
#define MODEL_INPUT_ZERO_POINT (-128)
#elif defined(TP_BENCH_ic)
#define MODEL_NAME "pretrainedResnet_quant"
#define MODEL_INPUT_BYTES 3072
#define MODEL_OUTPUT_BYTES 10
#define MODEL_INPUT_SCALE 1.0f
#define MODEL_INPUT_ZERO_POINT (-128)
#elif defined(TP_BENCH_ad)
#define MODEL_NAME "ad01_int8"
#define MODEL_INPUT_BYTES 640
#define MODEL_OUTPUT_BYTES 640
#define MODEL_INPUT_SCALE 0.3910f
#define MODEL_INPUT_ZERO_POINT 89
#define MODEL_OUTPUT_SCALE 0.3645f
#define MODEL_OUTPUT_ZERO_POINT 96
#endif

#ifndef MODEL_OUTPUT_SCALE
#define MODEL_OUTPUT_SCALE 0.00390625f
#define MODEL_OUTPUT_ZERO_POINT (-128)
#endif

#define MODEL_ARENA_BYTES (MODEL_INPUT_BYTES + MODEL_OUTPUT_BYTES)
#define MODEL_MACS 0
#define MODEL_LAYER_COUNT 1

int8_t *model_input(void);
int8_t *model_output(void);
void model_prepare(void);
void model_invoke(void);

#endif
