/**
 * @file
 * libredstore: reconciling Redis with PostgreSQL, and rebuilding a store's Redis state.
 *
 * Redis holds the hot state of a store (stock counters, idempotency records); PostgreSQL holds what the
 * projector (a Kafka consumer group, see events.h) made of the event log. Once the projector has caught
 * up, Redis stock equals the PostgreSQL ledger balance. redstore_reconcile() checks that and lists every
 * difference; redstore_cache_rebuild() rebuilds the store's Redis state from PostgreSQL plus the events
 * the projector has not projected yet.
 *
 * Both act on the client's selected store (redstore_client_use_store). Only that store's partition of
 * the sales and inventory topics is read (redstore_store_partition), with a consumer that carries the
 * projector's group id but never joins the group: it only reads the group's committed offsets, so the
 * running projector is never disturbed.
 *
 * Thread rule: as the client (one thread at a time per client). Result objects: one thread at a time.
 */
#ifndef REDSTORE_MAINTENANCE_H
#define REDSTORE_MAINTENANCE_H

#include "common.h"
#include "client.h"

REDSTORE_BEGIN_DECLS
REDSTORE_ASSUME_NONNULL_BEGIN

/** The projector's default consumer group id (what redstore-projector uses without --group). */
#define REDSTORE_PROJECTOR_GROUP "projector"

/** Options of the maintenance calls; zero fields take the defaults. Strings are copied. */
typedef struct redstore_maintenance_options {
	const char *REDSTORE_NULLABLE group_id; /**< the projector's consumer group; NULL: REDSTORE_PROJECTOR_GROUP */
	int wait_ms;            /**< bound on waiting for the projector (reconcile) or for the log and the
	                             in-flight operations (rebuild); 0: 30000 (1..3600000) */
} redstore_maintenance_options;

/** How far the projector group is behind on the selected store's partitions. */
typedef struct redstore_projector_progress {
	int32_t partition;       /**< the store's partition (the same number in every topic) */
	int64_t sales_committed; /**< the group's committed offset on the prefix's sales topic (-1: none yet) */
	int64_t sales_high;      /**< the sales partition's high watermark */
	int64_t inventory_committed; /**< the group's committed offset on the inventory topic (-1: none yet) */
	int64_t inventory_high;  /**< the inventory partition's high watermark */
	int64_t behind;          /**< events not yet committed by the group on both partitions */
} redstore_projector_progress;

/**
 * Waits until the projector group's committed offsets on the selected store's partitions of the sales
 * and inventory topics reach the high watermarks as they were when this call began (or later), so every
 * event acknowledged before the call is in PostgreSQL.
 *
 * @param out       optional: the last progress seen (also on REDSTORE_ETIMEOUT)
 * @param options   may be NULL (defaults)
 * @return 0, REDSTORE_ETIMEOUT (names the group and how many events it is behind), REDSTORE_EINVALID
 *         (no store selected, bad options, no Kafka brokers), REDSTORE_ECONNECT / REDSTORE_EKAFKA
 */
REDSTORE_EXTERN(int) redstore_projector_wait(redstore_projector_progress *REDSTORE_NULLABLE out,
                                             redstore_client *client,
                                             const redstore_maintenance_options *REDSTORE_NULLABLE options);

/** One SKU whose stock differs between Redis and PostgreSQL. */
typedef struct redstore_stock_difference {
	char sku[65];                /**< the SKU */
	int64_t redis_on_hand;       /**< rs:{s:S}:onhand (0 when absent) */
	int64_t ledger_on_hand;      /**< SUM(delta) of the SKU's stock_ledger rows */
	int64_t projected_on_hand;   /**< stock_levels.on_hand */
	int64_t redis_reserved;      /**< rs:{s:S}:reserved (0 when absent) */
	int64_t projected_reserved;  /**< stock_levels.reserved */
} redstore_stock_difference;

/** What redstore_reconcile() found. */
typedef struct redstore_reconcile_report {
	char store_id[65];                        /**< the store compared */
	size_t skus;                              /**< SKUs compared (known to Redis or PostgreSQL) */
	size_t count;                             /**< SKUs that differ */
	redstore_stock_difference *REDSTORE_NULLABLE differences; /**< `count` entries, ordered by SKU; owned by the report */
	redstore_projector_progress progress;     /**< the projector's position when PostgreSQL was read */
} redstore_reconcile_report;

/**
 * Compares the selected store's Redis stock with PostgreSQL after the projector has caught up: reads
 * Redis on hand and reserved (one atomic read), waits (redstore_projector_wait) until the projector group
 * has committed every event acknowledged by then, then reads, in one PostgreSQL snapshot, the ledger
 * balance (SUM(delta) per SKU) and stock_levels. A SKU differs when Redis on hand, the ledger balance and
 * the projected on hand are not all equal, or Redis reserved differs from the projected reserved.
 *
 * Stock operations that run while this call works may show up as differences that a second run no
 * longer reports: run it when the store is quiet, or run it again before acting on a difference.
 *
 * @param out  receives the report (free with redstore_reconcile_report_free), also when differences
 *             are found; NULL on failure
 * @return 0 (look at (*out)->count), REDSTORE_ETIMEOUT (the projector did not catch up within wait_ms),
 *         REDSTORE_EINVALID, engine errors
 */
REDSTORE_EXTERN(int) redstore_reconcile(redstore_reconcile_report *REDSTORE_NULLABLE *REDSTORE_NONNULL out,
                                        redstore_client *client,
                                        const redstore_maintenance_options *REDSTORE_NULLABLE options);

/** Frees a report; NULL is a no-op. */
REDSTORE_EXTERN(void) redstore_reconcile_report_free(redstore_reconcile_report *REDSTORE_NULLABLE report);

/** What redstore_cache_rebuild() did. */
typedef struct redstore_rebuild_stats {
	size_t skus;              /**< SKUs whose on hand / reserved were written */
	size_t events_replayed;   /**< unprojected events of the store read from Kafka and applied */
	size_t op_records;        /**< idempotency records written or confirmed (sales, refunds, voids,
	                               inventory operations within the record lifetime) */
	size_t refund_records;    /**< per-sale refund tracking hashes written */
	size_t dropped_pending;   /**< pending records dropped: their event is not in the log */
	size_t reservations;      /**< reservation holdings restored (created in the unprojected log) */
	size_t products;          /**< products loaded into the catalog cache */
	int64_t gate_ms;          /**< how long stock operations of the store were refused */
} redstore_rebuild_stats;

/**
 * Rebuilds the selected store's Redis state from PostgreSQL plus the events not yet projected:
 *
 *  1. Takes the store's rebuild gate (rs:{s:S}:rebuild, a lease): from then on every stock operation of
 *     the store (sales, refunds, voids, inventory) fails with the retriable REDSTORE_EUNAVAILABLE, so a
 *     terminal retries it with the same id after the rebuild. Reads are not gated.
 *  2. Waits until the attempts that started before the gate have settled, so every event that will ever
 *     reach Kafka from them is in the log: at most kafka.delivery_timeout_ms + 1 s, and that whole time
 *     when the store's sync stream cannot show them (after a loss of Redis; see docs/maintenance.md).
 *  3. Reads the projector group's committed offsets on the store's partitions, then one PostgreSQL
 *     snapshot (stock_levels, the sales of the idempotency window with their receipts, processed events),
 *     then the store's events from the committed offsets to the high watermarks, skipping those the
 *     snapshot has projected already.
 *  4. Computes on hand and reserved per SKU, the idempotency record of every sale, refund, void and
 *     inventory operation younger than the record lifetime (7 days; the same expiry as the original),
 *     and each sale's refund tracking (units sold and refunded per line), so that a retried sale is
 *     answered as a duplicate and a refund can never exceed what was sold. Records still pending whose
 *     event is not in the log are dropped: a retry with the same id applies the operation afresh.
 *  5. Reloads the catalog cache (redstore_catalog_warm).
 *  6. Writes the counters into temporary keys with the store's hash tag and, in ONE Lua step, renames them
 *     over the live counters and releases the gate (only if it still holds the lease), and appends a
 *     "cache.rebuilt" entry to the store's sync stream so terminals resync.
 *
 * What cannot be rebuilt, because PostgreSQL keeps only the per-SKU total reserved (no reservation ids,
 * holdings or expiry) and the sender's ledger does not name a transfer's destination: the holdings of
 * reservations created before the unprojected part of the log (rs:{s:S}:resv:ID and their resvexp
 * entries; those created in it are restored), and inbound transfers (rs:{s:S}:xin:ID, registered by
 * the sender without an event of this store). Live keys of both are kept as they are; after a loss of
 * Redis the lost ones stay lost while the reserved counters are rebuilt (see docs/maintenance.md).
 *
 * Safe to run twice and safe to run again after a failure; two rebuilds of one store at once: the second
 * gets REDSTORE_ELOCKED.
 *
 * @param out      optional: what was done
 * @param options  may be NULL (defaults)
 * @return 0, REDSTORE_ENOTFOUND (no such store: nothing was gated), REDSTORE_ELOCKED (another rebuild
 *         holds the gate), REDSTORE_ETIMEOUT (the log could not be read up to the watermarks within
 *         wait_ms), REDSTORE_ECONFLICT (the lease expired before the swap), REDSTORE_EINVALID, engine
 *         errors. On failure the live counters are unchanged and the gate is released (idempotency and
 *         refund records written before the failure hold what the log says already). Events that cannot
 *         be decoded are skipped, as the projector dead-letters them.
 */
REDSTORE_EXTERN(int) redstore_cache_rebuild(redstore_rebuild_stats *REDSTORE_NULLABLE out, redstore_client *client,
                                            const redstore_maintenance_options *REDSTORE_NULLABLE options);

REDSTORE_ASSUME_NONNULL_END
REDSTORE_END_DECLS

#endif
