/*
 * lib/core: errors, configuration, small utilities, UUIDs, the version. The ground floor: it includes
 * only the public headers and the C library, and every other area may include this face.
 * Internal declarations shared by the library's source files. Nothing here is public API: every symbol
 * is hidden (compiled with -fvisibility=hidden) and carries the `redstore__` prefix.
 */
#ifndef REDSTORE_CORE_INT_H
#define REDSTORE_CORE_INT_H

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

/* ------------------------------------------------------------ configuration (lib/core/config.c) */
typedef enum redstore__config_id {
#define REDSTORE_CONFIG_PROPERTY(ID, key, type, def, range, check, secret, doc) REDSTORE_CFG_##ID,
#include "core/config_props.h"
#undef REDSTORE_CONFIG_PROPERTY
	REDSTORE_CFG__COUNT
} redstore__config_id;

const char *redstore__config_str(const redstore_config *cfg, redstore__config_id id);
int64_t redstore__config_int(const redstore_config *cfg, redstore__config_id id);
bool redstore__config_bool(const redstore_config *cfg, redstore__config_id id);

/* Parsed forms shared by the engine clients. */
typedef struct redstore__redis_url {
	char host[256];
	int port;
	char path[512];      /* unix socket path, or "" for TCP */
	char user[128];
	char password[256];
	int db;
} redstore__redis_url;

int redstore__redis_url_parse(redstore__redis_url *out, const char *url);

/* Validates a store id: 1-64 of [A-Za-z0-9_-]. Returns 0 or REDSTORE_EINVALID naming `what`. */
int redstore__check_store_id(const char *id, const char *what);

#endif
