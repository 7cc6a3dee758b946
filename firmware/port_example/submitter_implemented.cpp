// Stand-in for a third-party submission: the model side of the MLPerf Tiny
// API on tinyperf's int8 engine (firmware/modelc's generated model.c).  The
// board side (UART, timer, th_printf, th_timestamp, ...) comes from the port
// kit.  Results are printed the way the reference submissions print them.
#include "api/submitter_implemented.h"

#include "api/internally_implemented.h"

extern "C" {
#include "model.h"
}

void th_load_tensor() {
  if (ee_get_buffer(nullptr, MAX_DB_INPUT_SIZE) != BENCH_DB_BYTES) {
    th_printf("Input db has %d bytes, expected %d\r\n", static_cast<int>(ee_get_buffer(nullptr, MAX_DB_INPUT_SIZE)),
              static_cast<int>(BENCH_DB_BYTES));
    return;
  }
  bench_load_input(ee_get_buffer_pointer());  // tinyperf's conversion (uint8 - 128, float quantisation, ...)
}

void th_infer() { model_invoke(); }

#if BENCH_RESULTS == BENCH_RESULTS_MSE
void th_results() {
  bench_print_results();  // the AD score needs the float window the conversion kept
}
#else
// Dequantised output value, in float32 as the reference firmware computes it.
static float output_value(size_t i) {
  return static_cast<float>(model_output()[i] - MODEL_OUTPUT_ZERO_POINT) * static_cast<float>(MODEL_OUTPUT_SCALE);
}

void th_results() {
  th_printf("m-results-[");
  for (size_t i = 0; i < MODEL_OUTPUT_BYTES; i++) {
    float value = output_value(i);
#if BENCH_RESULTS == BENCH_RESULTS_TRUNC3
    // The KWS reference avoids float printf: truncated digits.
    th_printf("0.%d", static_cast<int>(value * 10));
    th_printf("%d", static_cast<int>(value * 100) % 10);
    th_printf("%d", static_cast<int>(value * 1000) % 10);
#else
    th_printf("%0.3f", static_cast<double>(value));
#endif
#if BENCH_RESULTS == BENCH_RESULTS_FIXED3_COMMA
    th_printf(",");
#else
    if (i + 1 < MODEL_OUTPUT_BYTES) th_printf(",");
#endif
  }
  th_printf("]\r\n");
}
#endif

void th_final_initialize() { model_prepare(); }  // the kernels' per-model preparation, before any timing
void th_pre() {}
void th_post() {}

#ifdef EXAMPLE_OUTPUTS
// Opting in to tinyperf's byte-exact verify: hand the kit the raw output tensor.
int tp_port_output_tensor(const int8_t **data, size_t *bytes) {
  *data = model_output();
  *bytes = MODEL_OUTPUT_BYTES;
  return 1;
}
#endif
