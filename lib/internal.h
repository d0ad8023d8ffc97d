/*
 * Internal declarations shared by the library's source files. Nothing here is public API: every symbol
 * is hidden (compiled with -fvisibility=hidden) and carries the `redstore__` prefix.
 */
#ifndef REDSTORE_INTERNAL_H
#define REDSTORE_INTERNAL_H

#include "redstore.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__) || defined(__clang__)
#define REDSTORE_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define REDSTORE_PRINTF(a, b)
#endif

#define REDSTORE_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Sets this thread's last error and returns `code`, so a failure reads `return redstore__fail(...)`. */
int redstore__fail(int code, const char *fmt, ...) REDSTORE_PRINTF(2, 3);
int redstore__failv(int code, const char *fmt, va_list ap);
/* Prefixes the current last-error message with context ("loading sku X: <old message>"). */
int redstore__fail_wrap(int code, const char *fmt, ...) REDSTORE_PRINTF(2, 3);

char *redstore__strdup(const char *s);
char *redstore__strndup(const char *s, size_t n);
char *redstore__sprintf(const char *fmt, ...) REDSTORE_PRINTF(1, 2);

/* Monotonic clock in microseconds, wall clock in milliseconds since the epoch. */
int64_t redstore__now_us(void);
int64_t redstore__wall_ms(void);

#endif
