// Stand-in for a third-party submission: the submitter side of the MLPerf
// Tiny API (function names and signatures as in the official
// benchmark/api/submitter_implemented.h; this file is tinyperf's own).
// Compiled as C++, as every TFLM-based submission compiles the API.
#ifndef EXAMPLE_SUBMITTER_IMPLEMENTED_H
#define EXAMPLE_SUBMITTER_IMPLEMENTED_H

#include <cstdarg>
#include <cstddef>
#include <cstdint>

extern "C" {
#include "bench.h"  // tinyperf's per-benchmark facts: model id, input layout, result format
}

#define TH_VENDOR_NAME_STRING "tinyperf-port-example"
#define TH_MODEL_VERSION BENCH_MODEL_ID

// The model: implemented by the submission.
void th_load_tensor();
void th_results();
void th_infer();
void th_final_initialize();
void th_pre();
void th_post();

// The board: the port kit's th_port.c provides these (weak).
void th_serialport_initialize();
void th_timestamp_initialize();
void th_timestamp();
void th_printf(const char *format, ...);
char th_getchar();
void th_command_ready(char volatile *command);
int th_strncmp(const char *a, const char *b, size_t n);
size_t th_strnlen(const char *s, size_t maxlen);
char *th_strtok(char *s, const char *separators);
int th_atoi(const char *s);

#endif
