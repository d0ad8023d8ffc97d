/**
 * @file
 * libredstore - real-time sync: reading a store's changes.
 *
 * Every stock change of a store (sales, refunds, voids, receipts, adjustments, counts, transfers,
 * reservations, and the undoing of an operation Kafka refused) is appended by the same atomic Redis step
 * to the store's sync stream, a bounded Redis stream (`sync.stream_maxlen` entries), and announced on the
 * store's pub/sub channel. A terminal keeps the id of the last change it applied and reads what came
 * after it; when that id is older than the stream keeps, it is told to resync: load a snapshot (which
 * carries the id to continue from) and read on from there. Nothing in between is ever skipped silently.
 *
 * The store is the client's selected store (redstore_client_use_store / `store.id`).
 */
#ifndef REDSTORE_SYNC_H
#define REDSTORE_SYNC_H

#include "client.h"
#include "common.h"

REDSTORE_BEGIN_DECLS
REDSTORE_ASSUME_NONNULL_BEGIN

/** Room for a stream id ("1733050000000-12"), with its terminating NUL. */
#define REDSTORE_STREAM_ID_SIZE 48

/** One SKU in a change: the values after it, and the change of on-hand. */
typedef struct redstore_change_line {
	char sku[65];     /**< the SKU */
	int64_t on_hand;  /**< units on hand after the change */
	int64_t reserved; /**< units reserved after the change */
	int64_t delta; /**< on_hand after minus before */
} redstore_change_line;

/** One change of a store's stock. */
typedef struct redstore_change {
	char id[REDSTORE_STREAM_ID_SIZE]; /**< its stream id: the SSE `id:` and the resume point */
	char op_id[65];                   /**< the operation (a sale id, a receipt id...) */
	char type[48];                    /**< the operation's event type (sale.completed, inventory.received...) or "undo." + that type */
	size_t line_count;                 /**< entries of `lines` */
	redstore_change_line *REDSTORE_NULLABLE lines; /**< one per SKU the change touched */
	char *json; /**< {"id","op","type","changes":[[sku,on_hand,reserved,delta]...]}: ready for an SSE data line */
} redstore_change;

/** What redstore_sync_read() found. Owned by the caller: free with redstore_changes_free(). */
typedef struct redstore_changes {
	size_t count;           /**< entries of `items` */
	redstore_change *REDSTORE_NULLABLE items; /**< in stream order */
	int resync;             /**< 1: `after_id` is older than the stream keeps; take a snapshot */
	char last_id[REDSTORE_STREAM_ID_SIZE]; /**< read after this next time (`after_id` when nothing came) */
} redstore_changes;

/**
 * Reads up to `max` changes after `after_id` ("0": from the oldest kept).
 *
 * @param wait_ms  when nothing is there yet, wait up to this long for a change (0: return at once);
 *                 at most redis.command_timeout_ms minus one second
 * @return 0 (with (*out)->resync set when the caller must resync), REDSTORE_EINVALID (malformed id,
 *         max outside 1..10000, wait_ms out of range, no store selected), REDSTORE_EDECODE (a stream
 *         entry not written by this library), or a Redis error
 */
REDSTORE_EXTERN(int) redstore_sync_read(redstore_changes *REDSTORE_NULLABLE *REDSTORE_NONNULL out,
                                        redstore_client *client, const char *after_id, size_t max, int wait_ms);

/** Frees what redstore_sync_read() returned; NULL is a no-op. */
REDSTORE_EXTERN(void) redstore_changes_free(redstore_changes *REDSTORE_NULLABLE changes);

/** One SKU of a snapshot. */
typedef struct redstore_snapshot_line {
	char sku[65];     /**< the SKU */
	int64_t on_hand;  /**< units on hand */
	int64_t reserved; /**< units reserved */
} redstore_snapshot_line;

/** A store's stock at one instant and the id of the last change it includes. Owned by the caller. */
typedef struct redstore_snapshot {
	char stream_id[REDSTORE_STREAM_ID_SIZE]; /**< continue with redstore_sync_read(after_id = this) */
	size_t count;                    /**< entries of `lines` */
	redstore_snapshot_line *REDSTORE_NULLABLE lines; /**< sorted by SKU */
} redstore_snapshot;

/**
 * Takes a snapshot of the selected store's stock, atomically with the stream's last id.
 *
 * @return 0, REDSTORE_EINVALID (no store selected) or a Redis error
 */
REDSTORE_EXTERN(int) redstore_sync_snapshot(redstore_snapshot *REDSTORE_NULLABLE *REDSTORE_NONNULL out,
                                            redstore_client *client);

/** Frees a snapshot; NULL is a no-op. */
REDSTORE_EXTERN(void) redstore_snapshot_free(redstore_snapshot *REDSTORE_NULLABLE snapshot);

REDSTORE_ASSUME_NONNULL_END
REDSTORE_END_DECLS

#endif
