/**
 * @file
 * libredstore: per-store stock.
 *
 * Stock lives in Redis (the hot state), one counter of units on hand and one of units reserved per SKU;
 * available = on hand - reserved. Every operation here is ONE atomic Redis step on the selected store's
 * keys (a Lua script): it checks everything first and then writes everything, or writes nothing. Each
 * operation is exactly-once by its id (pass NULL to get a fresh UUIDv7; pass the same id again to retry
 * safely), appends the change to the store's sync stream, and emits an `inventory.*` event to Kafka
 * (inventory.received, inventory.adjusted, inventory.counted, inventory.transfer_sent,
 * inventory.transfer_received, inventory.reserved, inventory.released) before returning.
 *
 * If Kafka cannot take the event, the call returns a retriable error and the stock is restored (or, when
 * the event may have been written, the operation stays pending until it is retried with the same id).
 *
 * Thread rule: as the client (one thread at a time per client). Result objects: one thread at a time.
 */
#ifndef REDSTORE_INVENTORY_H
#define REDSTORE_INVENTORY_H

#include "common.h"
#include "client.h"

REDSTORE_BEGIN_DECLS
REDSTORE_ASSUME_NONNULL_BEGIN

/** The stock of one SKU. */
typedef struct redstore_stock_level {
	char sku[65];          /**< the SKU */
	int64_t on_hand;       /**< units in the store */
	int64_t reserved;      /**< units held by reservations */
	int64_t available;     /**< on_hand - reserved */
	int64_t delta;         /**< in an operation's result: how much on_hand changed */
	int low_stock;         /**< 1 when available <= the product's threshold (threshold > 0) */
	int crossed_low;       /**< in an operation's result: this operation took it to low stock */
} redstore_stock_level;

/** One line of a stock operation. */
typedef struct redstore_stock_line {
	const char *sku;       /**< the SKU (copied) */
	int64_t qty;           /**< units, > 0 (count: the counted quantity, >= 0) */
	int64_t unit_cost;     /**< receive only: cost per unit in minor units (>= 0), for valuation */
} redstore_stock_line;

/** What a stock operation did. */
typedef struct redstore_stock_result {
	char op_id[REDSTORE_ID_SIZE]; /**< the operation's id (the one given, or the new one) */
	char stream_id[48];    /**< the store's sync stream entry ("" for a duplicate) */
	int duplicate;         /**< 1: this id was applied before; nothing changed now (levels are current) */
	size_t count;          /**< entries of `levels` */
	redstore_stock_level *REDSTORE_NULLABLE levels;  /**< one per line, in line order, after the operation */
} redstore_stock_result;

/** Frees a result; NULL is a no-op. */
REDSTORE_EXTERN(void) redstore_stock_result_free(redstore_stock_result *REDSTORE_NULLABLE result);

/**
 * Reads the stock of n SKUs of the selected store in one round trip.
 *
 * @param out  an array of n levels, filled in order
 * @return 0, REDSTORE_ENOTFOUND (names the first unknown SKU), REDSTORE_ECONNECT
 */
REDSTORE_EXTERN(int) redstore_stock_get(redstore_stock_level *out, redstore_client *client, size_t n,
                                        const char *const REDSTORE_NONNULL *REDSTORE_NONNULL skus);

/**
 * Receives goods from a supplier: on hand += qty for every line.
 *
 * @param op_id         the operation's idempotency id, or NULL for a new one
 * @param supplier_ref  the supplier's delivery note or invoice number (0-100 characters)
 * @return 0, REDSTORE_EINVALID (names the line and field), REDSTORE_ENOTFOUND (unknown SKU), retriable
 *         engine errors
 */
REDSTORE_EXTERN(int) redstore_stock_receive(redstore_stock_result *REDSTORE_NULLABLE *REDSTORE_NONNULL out,
                                            redstore_client *client, const char *REDSTORE_NULLABLE op_id,
                                            const char *REDSTORE_NULLABLE supplier_ref, size_t n,
                                            const redstore_stock_line *lines);

/** Why stock is adjusted. */
typedef enum redstore_adjust_reason {
	REDSTORE_ADJUST_DAMAGE = 0,
	REDSTORE_ADJUST_THEFT = 1,
	REDSTORE_ADJUST_EXPIRY = 2,
	REDSTORE_ADJUST_CORRECTION = 3,
	REDSTORE_ADJUST_OTHER = 4     /**< needs a note */
} redstore_adjust_reason;

/**
 * The reason's name: "damage", "theft", "expiry", "correction", "other" ("unknown" for any other value).
 * Static. Thread-safe.
 */
REDSTORE_EXTERN(const char *) redstore_adjust_reason_name(redstore_adjust_reason reason);

/**
 * Adjusts one SKU's on-hand stock by `delta` (non-zero; negative removes units). For a product with the
 * deny policy, on hand may not go below zero.
 *
 * @param note  free text (0-500 characters); required for REDSTORE_ADJUST_OTHER
 * @return 0, REDSTORE_EINVALID, REDSTORE_ENOTFOUND, retriable engine errors
 */
REDSTORE_EXTERN(int) redstore_stock_adjust(redstore_stock_result *REDSTORE_NULLABLE *REDSTORE_NONNULL out,
                                           redstore_client *client, const char *REDSTORE_NULLABLE op_id,
                                           const char *sku, int64_t delta, redstore_adjust_reason reason,
                                           const char *REDSTORE_NULLABLE note);

/**
 * Records a cycle count: on hand := the counted qty of each line (qty >= 0); each level's delta is the
 * difference the ledger records.
 */
REDSTORE_EXTERN(int) redstore_stock_count(redstore_stock_result *REDSTORE_NULLABLE *REDSTORE_NONNULL out,
                                          redstore_client *client, const char *REDSTORE_NULLABLE op_id, size_t n,
                                          const redstore_stock_line *lines);

/**
 * Sends stock from the selected store to another store: on hand here -= qty (available must cover it,
 * whatever the policy), and the units are registered as in transit to `to_store` under `transfer_id`.
 *
 * @param transfer_id  the transfer's id (NULL: a new one, returned in (*out)->op_id)
 * @return 0, REDSTORE_EINVALID (same store, bad line), REDSTORE_ENOTFOUND (store or SKU),
 *         REDSTORE_EOUT_OF_STOCK, retriable engine errors
 */
REDSTORE_EXTERN(int) redstore_transfer_send(redstore_stock_result *REDSTORE_NULLABLE *REDSTORE_NONNULL out,
                                            redstore_client *client, const char *REDSTORE_NULLABLE transfer_id,
                                            const char *to_store, size_t n, const redstore_stock_line *lines);

/**
 * Receives (part of) a transfer at the selected store, which must be the destination: on hand += qty.
 * Receiving more of a SKU than is still in transit is refused. Several partial receipts are allowed,
 * each with its own receipt_id (NULL: new).
 *
 * @return 0, REDSTORE_EINVALID (more than in transit: names the SKU), REDSTORE_ENOTFOUND
 */
REDSTORE_EXTERN(int) redstore_transfer_receive(redstore_stock_result *REDSTORE_NULLABLE *REDSTORE_NONNULL out,
                                               redstore_client *client, const char *REDSTORE_NULLABLE receipt_id,
                                               const char *transfer_id, size_t n, const redstore_stock_line *lines);

/**
 * Holds units for a layaway or a scheduled promotion until `expires_at_ms` (ms since the epoch, in the
 * future): reserved += qty; available must cover it.
 *
 * @return 0, REDSTORE_EOUT_OF_STOCK, REDSTORE_EINVALID, REDSTORE_EEXISTS (id used by another operation)
 */
REDSTORE_EXTERN(int) redstore_reservation_create(redstore_stock_result *REDSTORE_NULLABLE *REDSTORE_NONNULL out,
                                                 redstore_client *client, const char *REDSTORE_NULLABLE reservation_id,
                                                 int64_t expires_at_ms, size_t n, const redstore_stock_line *lines);

/**
 * Releases units of a reservation (n = 0: everything it still holds): reserved -= qty. A retry with the
 * same release_id answers the first release (duplicate), also when that release emptied the reservation.
 *
 * @param release_id  this release's idempotency id (NULL: new)
 * @return 0, REDSTORE_EINVALID (more than held), REDSTORE_ENOTFOUND (no such reservation)
 */
REDSTORE_EXTERN(int) redstore_reservation_release(redstore_stock_result *REDSTORE_NULLABLE *REDSTORE_NONNULL out,
                                                  redstore_client *client, const char *REDSTORE_NULLABLE release_id,
                                                  const char *reservation_id, size_t n,
                                                  const redstore_stock_line *REDSTORE_NULLABLE lines);

/**
 * Releases every reservation of the selected store whose expiry has passed.
 *
 * @param released  optional: the number of reservations released
 */
REDSTORE_EXTERN(int) redstore_reservation_expire(redstore_client *client, size_t *REDSTORE_NULLABLE released);

REDSTORE_ASSUME_NONNULL_END
REDSTORE_END_DECLS

#endif
