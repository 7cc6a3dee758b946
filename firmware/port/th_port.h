/* tinyperf port kit: the MLPerf Tiny submitter functions for a tinyperf board.
 *
 * Signatures follow the official API (benchmark/api/submitter_implemented.h
 * and internally_implemented.h in mlcommons/tiny).  Compile th_port.c in the
 * language the API is compiled in: th_port.cpp (which includes th_port.c) for
 * the usual C++ API, so these functions get the same (mangled) names as the
 * API's calls; th_port.c for a C API.  Every definition is weak: a
 * submission that keeps its own th_printf (or any other) simply wins. */
#ifndef TP_TH_PORT_H
#define TP_TH_PORT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* Provided by the kit (weak). */
void th_serialport_initialize(void);
void th_timestamp_initialize(void);
void th_timestamp(void);
void th_printf(const char *format, ...);
int th_vprintf(const char *format, va_list args);
char th_getchar(void);
void th_command_ready(char volatile *command);
int th_strncmp(const char *a, const char *b, size_t n);
char *th_strncpy(char *dest, const char *src, size_t n);
size_t th_strnlen(const char *s, size_t maxlen);
char *th_strcat(char *dest, const char *src);
char *th_strtok(char *s, const char *separators);
int th_atoi(const char *s);
void *th_memset(void *b, int c, size_t n);
void *th_memcpy(void *dest, const void *src, size_t n);

/* The `outputs%` extension (tinyperf's byte-exact verify).  Define this in
 * the submission to hand out the raw int8 output tensor of the last
 * inference; the kit's default returns 0 (no outputs%: verify then compares
 * the printed m-results instead). */
int tp_port_output_tensor(const int8_t **data, size_t *bytes);

/* Answers `outputs%` with `m-outputs-[<hex>]` and `m-ready`; returns 1 when
 * the command was outputs% and the tensor is available, 0 otherwise (then
 * pass the command on to the API's parser).  The kit's th_command_ready calls
 * it; a submission with its own th_command_ready can call it too. */
int tp_port_outputs_command(const char volatile *command);

/* From the submission's API (internally_implemented). */
void ee_benchmark_initialize(void);
void ee_serial_callback(char c);
void ee_serial_command_parser_callback(char *command);

#endif
