/**
 * @file
 * libredstore: the client, which owns the connections to the three engines.
 *
 * A client owns one Redis connection (hiredis), one PostgreSQL connection (libpq) and one Kafka producer
 * (librdkafka). Each is created lazily by the first call that needs it, with the connect and command
 * timeouts of the configuration. After a connection fails, the next call reconnects. An engine that
 * cannot be reached gives REDSTORE_ECONNECT (retriable) within its connect timeout, never a hang.
 *
 * Lifecycle:
 *  1. redstore_client_new() copies the configuration and connects to nothing.
 *  2. Calls on the client connect what they need, on the calling thread.
 *  3. redstore_client_free() flushes the Kafka producer (bounded by kafka.delivery_timeout_ms), then closes
 *     every connection.
 *
 * Thread rule: one thread at a time. A program with several threads gives each its own client
 * (connections are cheap); the Kafka producer of each client is internally thread-safe but is not shared.
 */
#ifndef REDSTORE_CLIENT_H
#define REDSTORE_CLIENT_H

#include "common.h"
#include "config.h"

REDSTORE_BEGIN_DECLS
REDSTORE_ASSUME_NONNULL_BEGIN

/** A client: the connections to Redis, PostgreSQL and Kafka. One thread at a time. */
typedef struct redstore_client redstore_client;

/**
 * Creates a client. The configuration is copied; nothing is connected yet.
 *
 * @param out  receives the client; free it with redstore_client_free()
 * @param cfg  the configuration, or NULL for the defaults overridden by the REDSTORE_* environment
 * @return 0, REDSTORE_ENOMEM, or REDSTORE_EINVALID (a bad REDSTORE_* variable when cfg is NULL)
 */
REDSTORE_EXTERN(int) redstore_client_new(redstore_client *REDSTORE_NULLABLE *REDSTORE_NONNULL out,
                                         const redstore_config *REDSTORE_NULLABLE cfg);

/** Flushes pending Kafka messages (bounded) and frees the client; NULL is a no-op. */
REDSTORE_EXTERN(void) redstore_client_free(redstore_client *REDSTORE_NULLABLE client);

/**
 * The client's own copy of the configuration, borrowed from the client.
 */
REDSTORE_EXTERN(const redstore_config *) redstore_client_config(const redstore_client *client);

/** The engines a client talks to. */
typedef enum redstore_engine {
	REDSTORE_ENGINE_REDIS = 0,
	REDSTORE_ENGINE_POSTGRES = 1,
	REDSTORE_ENGINE_KAFKA = 2
} redstore_engine;

/** The number of engines (entries of redstore_client_health()). */
#define REDSTORE_ENGINE_COUNT 3

/** The state of one engine as seen by redstore_client_health(). */
typedef struct redstore_engine_health {
	redstore_engine engine; /**< which engine */
	int ok;                /**< 1 when the engine answered */
	int error;             /**< 0, or the redstore_err of the failed check */
	int64_t latency_us;    /**< round trip of the check (PING, SELECT 1, metadata), -1 when it failed */
	char version[64];      /**< the server's version when known, e.g. "7.0.15" */
	char detail[192];      /**< the failure message, or where it is (host:port) */
} redstore_engine_health;

/**
 * Checks every engine: Redis PING, PostgreSQL SELECT 1, Kafka metadata. Connects what is not connected.
 * One engine's failure does not stop the others' checks.
 *
 * @param out  an array of REDSTORE_ENGINE_COUNT entries, indexed by redstore_engine
 * @return 0 when every engine answered, else the first failing engine's code
 *         (REDSTORE_ECONNECT, REDSTORE_ETIMEOUT...)
 */
REDSTORE_EXTERN(int) redstore_client_health(redstore_engine_health *out, redstore_client *client);

/** The engine's name: "redis", "postgres" or "kafka". Static string. Thread-safe. */
REDSTORE_EXTERN(const char *) redstore_engine_name(redstore_engine engine);

/**
 * Selects the store that the client's store-scoped calls (catalog, inventory, sales) act on. Initially
 * the configuration's `store.id`. Store-scoped calls never take the store from their own arguments.
 *
 * @return 0, REDSTORE_EINVALID (malformed store id) or REDSTORE_EPERM (an attached session, redstore/auth.h,
 *         is bound to another store)
 */
REDSTORE_EXTERN(int) redstore_client_use_store(redstore_client *client, const char *store_id);

/** The selected store, borrowed from the client, or "" when none is selected. */
REDSTORE_EXTERN(const char *) redstore_client_store(const redstore_client *client);

/**
 * Names the terminal and the employee acting through this client; both are recorded in every event the
 * client produces. NULL or "" clears a field. The strings are copied.
 *
 * @return 0, REDSTORE_EINVALID (longer than 64 characters or not printable), REDSTORE_EPERM (a session is
 *         attached: it names the actor)
 */
REDSTORE_EXTERN(int) redstore_client_set_actor(redstore_client *client,
                                               const char *REDSTORE_NULLABLE terminal_id,
                                               const char *REDSTORE_NULLABLE employee_id);

/** Size of a textual UUID plus its NUL: "0190a6f2-7c3e-7b1a-9f00-1234567890ab". */
#define REDSTORE_ID_SIZE 37

/**
 * Writes a new UUIDv7 (time-ordered, 74 random bits) in its canonical lower-case form. Terminals use it
 * for sale ids and every other idempotency key.
 *
 * @param out  a buffer of REDSTORE_ID_SIZE bytes
 * @return 0, or REDSTORE_EIO when the system has no randomness to give
 * Thread rule: thread-safe.
 */
REDSTORE_EXTERN(int) redstore_id_new(char out[REDSTORE_NONNULL REDSTORE_ID_SIZE]);

/**
 * Checks that `id` is a canonical UUID (any version, lower or upper case hex).
 *
 * @return 0 or REDSTORE_EINVALID naming `what`
 * Thread rule: thread-safe.
 */
REDSTORE_EXTERN(int) redstore_id_check(const char *id, const char *what);

/**
 * Drops every connection; the next call reconnects. Useful after a fork() in the child.
 */
REDSTORE_EXTERN(void) redstore_client_disconnect(redstore_client *client);

REDSTORE_ASSUME_NONNULL_END
REDSTORE_END_DECLS

#endif
