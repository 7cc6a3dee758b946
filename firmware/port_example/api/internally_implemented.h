// Stand-in for a third-party submission: the framework side of the MLPerf
// Tiny API (names as in the official benchmark/api/internally_implemented.h;
// the code is tinyperf's own).
#ifndef EXAMPLE_INTERNALLY_IMPLEMENTED_H
#define EXAMPLE_INTERNALLY_IMPLEMENTED_H

#include <cstddef>
#include <cstdint>

#define EE_CMD_SIZE 80u
#define EE_CMD_DELIMITER " "
#define EE_CMD_TERMINATOR '%'
#define EE_FW_VERSION "ULPMark for tinyML Firmware V0.0.1"
#define MAX_DB_INPUT_SIZE 27648u  // the largest input file (VWW, 96x96x3)

enum arg_claimed_t { EE_ARG_CLAIMED, EE_ARG_UNCLAIMED };

void ee_serial_callback(char c);
void ee_serial_command_parser_callback(char *command);
void ee_benchmark_initialize();
arg_claimed_t ee_profile_parse(char *command);
arg_claimed_t ee_buffer_parse(char *command);
void ee_infer(size_t n, size_t n_warmup);
long ee_hexdec(const char *hex);
size_t ee_get_buffer(uint8_t *buffer, size_t max_len);
uint8_t *ee_get_buffer_pointer();

#endif
