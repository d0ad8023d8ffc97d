/* Internals shared by the report files (lib/analytics*.c). */
#ifndef REDSTORE_LIB_ANALYTICS_IMPL_H
#define REDSTORE_LIB_ANALYTICS_IMPL_H

#include "engines/engines_int.h"

/* REDSTORE_EINVALID naming `what` unless [from_ms, to_ms) is non-empty, from 0 on, at most 3 years. */
int redstore__report_range_check(const char *what, int64_t from_ms, int64_t to_ms);

#endif
