// The port kit's submitter functions compiled as C++, so their names match a
// C++-compiled MLPerf Tiny API (e.g. th_timestamp is _Z12th_timestampv).
#include "th_port.c"
