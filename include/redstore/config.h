/**
 * @file
 * libredstore: configuration.
 *
 * A `redstore_config` holds string-keyed properties ("redis.url", "kafka.brokers", ...). One table in
 * lib/core/config_props.h defines every key with its type, default and documentation; that table validates
 * every `set` and generates docs/CONFIGURATION.md. Every key can also come from an environment variable
 * named `REDSTORE_` + the key in upper case with '.' replaced by '_' (redis.url -> REDSTORE_REDIS_URL).
 *
 * Thread rule: one thread at a time per object. A client copies the configuration it is given, so a
 * configuration may be changed or freed after the client was created.
 */
#ifndef REDSTORE_CONFIG_H
#define REDSTORE_CONFIG_H

#include "common.h"

REDSTORE_BEGIN_DECLS
REDSTORE_ASSUME_NONNULL_BEGIN

/** A configuration: string-keyed properties. One thread at a time. */
typedef struct redstore_config redstore_config;

/**
 * Creates a configuration holding every key's default value.
 *
 * @param out  receives the new configuration; free it with redstore_config_free()
 * @return 0, or REDSTORE_ENOMEM
 */
REDSTORE_EXTERN(int) redstore_config_new(redstore_config *REDSTORE_NULLABLE *REDSTORE_NONNULL out);

/**
 * Applies every `REDSTORE_<KEY>` environment variable that is set. Stops at the first bad value and
 * leaves the keys applied before it changed.
 *
 * @return 0, or REDSTORE_EINVALID naming the variable, the key and the expected form
 */
REDSTORE_EXTERN(int) redstore_config_load_env(redstore_config *cfg);

/**
 * Sets one key from its string form. The value is validated against the key's type and range; on
 * failure nothing changes. The value is copied.
 *
 * @return 0, REDSTORE_EUNKNOWN_KEY (no such key) or REDSTORE_EINVALID (names the key and expected form)
 */
REDSTORE_EXTERN(int) redstore_config_set(redstore_config *cfg, const char *key, const char *value);

/**
 * Reads one key in its canonical string form.
 *
 * @param out  receives a string borrowed from `cfg`, valid until the key is set again or cfg is freed
 * @return 0 or REDSTORE_EUNKNOWN_KEY
 */
REDSTORE_EXTERN(int) redstore_config_get(const char *REDSTORE_NULLABLE *REDSTORE_NONNULL out,
                                         const redstore_config *cfg, const char *key);

/**
 * Copies a configuration.
 *
 * @return 0 or REDSTORE_ENOMEM
 */
REDSTORE_EXTERN(int) redstore_config_dup(redstore_config *REDSTORE_NULLABLE *REDSTORE_NONNULL out,
                                         const redstore_config *cfg);

/** Frees a configuration; NULL is a no-op. */
REDSTORE_EXTERN(void) redstore_config_free(redstore_config *REDSTORE_NULLABLE cfg);

/** The type of a configuration property. */
typedef enum redstore_config_type {
	REDSTORE_CONFIG_STRING = 0,
	REDSTORE_CONFIG_INT = 1,
	REDSTORE_CONFIG_BOOL = 2,
	REDSTORE_CONFIG_ENUM = 3
} redstore_config_type;

/** The description of one property, as the property table holds it. All strings are static. */
typedef struct redstore_config_property {
	const char *key;            /**< e.g. "redis.url" */
	const char *env;            /**< e.g. "REDSTORE_REDIS_URL" */
	redstore_config_type type;  /**< how the value is checked */
	const char *default_value;  /**< canonical string form */
	const char *range;          /**< expected form, e.g. "1..600000" or "deny|allow" */
	const char *doc;            /**< one paragraph of documentation */
	int secret;                 /**< 1 when the value must never be printed */
} redstore_config_property;

/**
 * The number of configuration properties.
 *
 * Thread rule: thread-safe.
 */
REDSTORE_EXTERN(size_t) redstore_config_property_count(void);

/**
 * The description of property `index` (0 .. count-1), or NULL past the end. The result is static.
 *
 * Thread rule: thread-safe.
 */
REDSTORE_EXTERN(const redstore_config_property *REDSTORE_NULLABLE) redstore_config_property_at(size_t index);

/**
 * Renders the property table as the Markdown of docs/CONFIGURATION.md.
 *
 * @param out  receives a NUL-terminated string; free it with redstore_free()
 * @return 0 or REDSTORE_ENOMEM
 * Thread rule: thread-safe.
 */
REDSTORE_EXTERN(int) redstore_config_describe(char *REDSTORE_NULLABLE *REDSTORE_NONNULL out);

REDSTORE_ASSUME_NONNULL_END
REDSTORE_END_DECLS

#endif
