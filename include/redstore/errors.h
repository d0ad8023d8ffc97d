/**
 * @file
 * libredstore: error codes and the last-error message.
 *
 * Every function that can fail returns 0 (`REDSTORE_OK`) or a negative `redstore_err`. When it fails it
 * also sets a thread-local message that names the thing that failed (a key, a host, a SKU...), readable
 * with `redstore_error_last()` until the next failing call on the same thread.
 */
#ifndef REDSTORE_ERRORS_H
#define REDSTORE_ERRORS_H

#include "common.h"

REDSTORE_BEGIN_DECLS
REDSTORE_ASSUME_NONNULL_BEGIN

/**
 * Error codes. This list is append-only: a code is never renumbered or reused, so a value logged by one
 * release means the same thing to every later release.
 */
typedef enum redstore_err {
	REDSTORE_OK = 0,               /**< success */
	REDSTORE_ERROR = -1,           /**< an unexpected internal failure */
	REDSTORE_EINVALID = -2,        /**< an argument or a configuration value is malformed */
	REDSTORE_EUNKNOWN_KEY = -3,    /**< a configuration key that does not exist */
	REDSTORE_ENOMEM = -4,          /**< out of memory */
	REDSTORE_ECONNECT = -5,        /**< an engine could not be reached (retriable) */
	REDSTORE_ETIMEOUT = -6,        /**< an engine did not answer in time (retriable) */
	REDSTORE_EREDIS = -7,          /**< Redis answered with an error */
	REDSTORE_EDB = -8,             /**< PostgreSQL answered with an error */
	REDSTORE_EKAFKA = -9,          /**< Kafka refused a request permanently */
	REDSTORE_ENOTFOUND = -10,      /**< the named thing does not exist */
	REDSTORE_EEXISTS = -11,        /**< the named thing exists already */
	REDSTORE_EOUT_OF_STOCK = -12,  /**< a sale or a reservation asked for more than is available */
	REDSTORE_ECONFLICT = -13,      /**< the request conflicts with the current state */
	REDSTORE_EUNAVAILABLE = -14,   /**< an engine is temporarily unable to serve (retriable) */
	REDSTORE_EIO = -15,            /**< a local file could not be read or written */
	REDSTORE_EPERM = -16,          /**< the caller's role does not allow this */
	REDSTORE_EAUTH = -17,          /**< missing, forged, expired or revoked credentials */
	REDSTORE_ELOCKED = -18,        /**< locked out for a while after failed attempts (retriable later) */
	REDSTORE_ELIMIT = -19,         /**< a size or count limit was exceeded */
	REDSTORE_EINACTIVE = -20,      /**< the product, store or employee is deactivated */
	REDSTORE_ESCHEMA = -21,        /**< the database schema is missing or newer than this library */
	REDSTORE_EDECODE = -22         /**< an event or a request body could not be decoded */
} redstore_err;

/**
 * The stable name of an error code, e.g. "REDSTORE_EOUT_OF_STOCK". Unknown codes give
 * "REDSTORE_UNKNOWN_ERROR". The string is static.
 *
 * Thread rule: thread-safe.
 */
REDSTORE_EXTERN(const char *) redstore_err_name(int code);

/**
 * Returns 1 when retrying the same call later may succeed (connection, timeout, unavailable, locked),
 * 0 otherwise.
 *
 * Thread rule: thread-safe.
 */
REDSTORE_EXTERN(int) redstore_err_is_retriable(int code);

/**
 * The message of the last failure on this thread, or "" when none. The pointer is valid until the next
 * libredstore call on this thread.
 *
 * Thread rule: thread-safe (the message is thread-local).
 */
REDSTORE_EXTERN(const char *) redstore_error_last(void);

/**
 * The code of the last failure on this thread, or 0.
 *
 * Thread rule: thread-safe.
 */
REDSTORE_EXTERN(int) redstore_error_last_code(void);

/**
 * Forgets the last failure of this thread.
 *
 * Thread rule: thread-safe.
 */
REDSTORE_EXTERN(void) redstore_error_clear(void);

REDSTORE_ASSUME_NONNULL_END
REDSTORE_END_DECLS

#endif
