// Stand-in for a third-party submission: the MLPerf Tiny protocol loop as the
// official API structures it (command assembly, name/timestamp/profile/db/
// infer/results, the ee_infer timing loop).  tinyperf's own code, written
// from the protocol's description; it knows nothing of tinyperf.
#include "api/internally_implemented.h"

#include <cstdlib>
#include <cstring>

#include "api/submitter_implemented.h"

namespace {
char command_buffer[EE_CMD_SIZE + 1];
size_t command_length = 0;
uint8_t db_buffer[MAX_DB_INPUT_SIZE];
size_t db_expected = 0;
size_t db_received = 0;
bool parser_enabled = false;
}  // namespace

void ee_serial_callback(char c) {
  if (c == EE_CMD_TERMINATOR) {
    command_buffer[command_length] = '\0';
    th_command_ready(command_buffer);
    command_length = 0;
  } else if (command_length < EE_CMD_SIZE) {
    command_buffer[command_length++] = c;
  }
}

void ee_serial_command_parser_callback(char *command) {
  if (!parser_enabled) return;
  char *token = th_strtok(command, EE_CMD_DELIMITER);
  if (token == nullptr) token = command;
  if (th_strncmp(token, "name", EE_CMD_SIZE) == 0) {
    th_printf("m-name-dut-[%s]\r\n", TH_VENDOR_NAME_STRING);
  } else if (th_strncmp(token, "timestamp", EE_CMD_SIZE) == 0) {
    th_timestamp();
  } else if (ee_profile_parse(token) == EE_ARG_UNCLAIMED) {
    th_printf("e-[Unknown command: %s]\r\n", token);
  }
  th_printf("m-ready\r\n");
}

void ee_benchmark_initialize() {
  th_serialport_initialize();
  th_timestamp_initialize();
  th_final_initialize();
  th_printf("m-init-done\r\n");
  parser_enabled = true;
  th_printf("m-ready\r\n");
}

arg_claimed_t ee_profile_parse(char *command) {
  if (th_strncmp(command, "profile", EE_CMD_SIZE) == 0) {
    th_printf("m-profile-[%s]\r\n", EE_FW_VERSION);
    th_printf("m-model-[%s]\r\n", TH_MODEL_VERSION);
  } else if (ee_buffer_parse(command) == EE_ARG_CLAIMED) {
  } else if (th_strncmp(command, "infer", EE_CMD_SIZE) == 0) {
    int runs = 1, warmups = 10;
    if (char *arg = th_strtok(nullptr, EE_CMD_DELIMITER)) {
      runs = th_atoi(arg);
      if (runs <= 0) {
        th_printf("e-[Inference iterations must be >0]\r\n");
        return EE_ARG_CLAIMED;
      }
      if (char *warm = th_strtok(nullptr, EE_CMD_DELIMITER)) {
        warmups = th_atoi(warm);
        if (warmups < 0) {
          th_printf("e-[Inference warmup must be >=0]\r\n");
          return EE_ARG_CLAIMED;
        }
      }
    }
    ee_infer(static_cast<size_t>(runs), static_cast<size_t>(warmups));
  } else if (th_strncmp(command, "results", EE_CMD_SIZE) == 0) {
    th_results();
  } else {
    return EE_ARG_UNCLAIMED;
  }
  return EE_ARG_CLAIMED;
}

// Only th_pre, the N th_infer calls and th_post lie between the timestamps.
void ee_infer(size_t n, size_t n_warmup) {
  th_load_tensor();
  th_printf("m-warmup-start-%d\r\n", static_cast<int>(n_warmup));
  for (size_t i = 0; i < n_warmup; i++) th_infer();
  th_printf("m-warmup-done\r\n");
  th_printf("m-infer-start-%d\r\n", static_cast<int>(n));
  th_timestamp();
  th_pre();
  for (size_t i = 0; i < n; i++) th_infer();
  th_post();
  th_timestamp();
  th_printf("m-infer-done\r\n");
  th_results();
}

arg_claimed_t ee_buffer_parse(char *command) {
  if (th_strncmp(command, "db", EE_CMD_SIZE) != 0) return EE_ARG_UNCLAIMED;
  char *sub = th_strtok(nullptr, EE_CMD_DELIMITER);
  if (sub == nullptr) {
    th_printf("e-[Command 'db' requires a subcommand]\r\n");
  } else if (th_strncmp(sub, "load", EE_CMD_SIZE) == 0) {
    char *count = th_strtok(nullptr, EE_CMD_DELIMITER);
    db_expected = count ? static_cast<size_t>(th_atoi(count)) : 0;
    db_received = 0;
    if (db_expected == 0) {
      th_printf("e-[Command 'db load' must be >0 bytes]\r\n");
    } else if (db_expected > MAX_DB_INPUT_SIZE) {
      th_printf("e-[Supplied buffer size %d exceeds maximum of %d]\r\n", static_cast<int>(db_expected),
                static_cast<int>(MAX_DB_INPUT_SIZE));
      db_expected = 0;
    } else {
      th_printf("m-[Expecting %d bytes]\r\n", static_cast<int>(db_expected));
    }
  } else if (th_strncmp(sub, "print", EE_CMD_SIZE) == 0) {
    for (size_t i = 0; i < db_received; i++) {
      th_printf(i % 8 == 0 ? "m-buffer-%02x" : "-%02x", db_buffer[i]);
      if (i % 8 == 7 || i + 1 == db_received) th_printf("\r\n");
    }
  } else {
    size_t digits = th_strnlen(sub, EE_CMD_SIZE);
    if (digits % 2 != 0) {
      th_printf("e-[Insufficent number of hex digits]\r\n");
      return EE_ARG_CLAIMED;
    }
    for (size_t i = 0; i < digits && db_received < db_expected; i += 2) {
      char pair[3] = {sub[i], sub[i + 1], '\0'};
      long value = ee_hexdec(pair);
      if (value < 0) {
        th_printf("e-[Invalid hex digit '%s']\r\n", pair);
        return EE_ARG_CLAIMED;
      }
      db_buffer[db_received++] = static_cast<uint8_t>(value);
      if (db_received == db_expected) th_printf("m-load-done\r\n");
    }
  }
  return EE_ARG_CLAIMED;
}

long ee_hexdec(const char *hex) {
  long value = 0;
  for (; *hex; hex++) {
    char c = *hex;
    int digit = (c >= '0' && c <= '9') ? c - '0'
              : (c >= 'a' && c <= 'f') ? c - 'a' + 10
              : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

size_t ee_get_buffer(uint8_t *buffer, size_t max_len) {
  size_t n = db_received < max_len ? db_received : max_len;
  if (buffer != nullptr) std::memcpy(buffer, db_buffer, n);
  return n;
}

uint8_t *ee_get_buffer_pointer() { return db_buffer; }
