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

/* The library's configuration resolved once, into typed fields, when a client is created
 * (redstore__settings_resolve): the hot path reads these, never the string-keyed table. Strings are borrowed
 * from the redstore_config they were resolved from (the client's own copy, never changed after). The
 * bridge.* keys are the bridge program's: it reads them through the public API. */
typedef struct redstore__settings {
	const char *store_id;
	redstore__redis_url redis;       /* redis.url, parsed */
	const char *redis_url;
	int64_t redis_connect_timeout_ms;
	int64_t redis_command_timeout_ms;
	const char *database_url;
	int64_t database_connect_timeout_ms;
	int64_t database_command_timeout_ms;
	const char *kafka_brokers;
	const char *kafka_topic_prefix;
	int64_t kafka_partitions;
	int64_t kafka_replication_factor;
	const char *kafka_partition_map;
	int64_t kafka_connect_timeout_ms;
	int64_t kafka_delivery_timeout_ms;
	const char *kafka_client_id;
	int64_t kafka_metadata_refresh_ms;
	int64_t sync_stream_maxlen;
	int64_t sale_max_lines;
	const char *auth_secret;
	int64_t auth_session_ttl_s;
	int64_t auth_pairing_ttl_s;
	int64_t auth_pin_opslimit;
	int64_t auth_pin_memlimit_kib;
	int64_t auth_lockout_threshold;
	int64_t auth_lockout_base_ms;
	int64_t auth_lockout_max_ms;
	int64_t auth_supervisor_refund_limit;
	int64_t jobs_webhook_timeout_ms;
	int64_t shift_max_amount;
} redstore__settings;

/* Fills `out` from `cfg` and checks what the table's per-key checks cannot (a parsed Redis URL). Returns 0
 * or REDSTORE_EINVALID naming the setting. */
int redstore__settings_resolve(redstore__settings *out, const redstore_config *cfg);


/* Validates a store id: 1-64 of [A-Za-z0-9_-]. Returns 0 or REDSTORE_EINVALID naming `what`. */
int redstore__check_store_id(const char *id, const char *what);

#endif
