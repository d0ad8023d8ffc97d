/*
 * One stock operation: the atomic Redis step (lib/engines/lua/stock_apply.lua), then its event to Kafka, then
 * settling the operation record. Every write-path call (sales, refunds, voids, receipts, adjustments,
 * counts, transfers, reservations) goes through redstore__stock_run, so exactly-once and all-or-nothing
 * are implemented once.
 *
 *  1. apply: if the id was seen, the first result comes back (a pending one re-produces its stored event);
 *     otherwise every item is checked, then all are written, the change is appended to the store's stream
 *     and published, and the record is left "pending" with the exact event text.
 *  2. the event is produced (acks=all) and awaited.
 *  3. acknowledged -> confirm ("done"). Definitely not written -> undo: stock restored, record deleted, a
 *     retriable error returned, so a retry with the same id starts afresh. Ambiguous (may have been
 *     written) -> the record stays pending, marked so that no later attempt can undo it, and a retriable
 *     error is returned: the retry re-produces the same event (same id: consumers deduplicate) and
 *     confirms, whether the result is stored apart or is the event's payload.
 */
#ifndef REDSTORE_LIB_STOCKOP_H
#define REDSTORE_LIB_STOCKOP_H

#include "engines/engines_int.h"

#include <cjson/cJSON.h>

typedef struct redstore__stock_item {
	const char *sku;
	const char *mode;       /* sell add adjust count reserve unreserve none (see stock_apply.lua) */
	int64_t qty;
	bool deny;              /* the product's policy forbids going short */
	int64_t low;            /* low-stock threshold (0 = none) */
	const char *field;      /* aux field (line index for sales, sku for transfers/reservations) */
	/* out, after a first (non-duplicate) run */
	int64_t on_hand, reserved, delta;
	bool low_crossed;       /* available fell to or below the threshold in this operation */
} redstore__stock_item;

typedef struct redstore__stock_op {
	const char *id;         /* idempotency id (UUID); also the event id */
	const char *type;       /* event type, e.g. "sale.completed" */
	const char *domain;     /* event topic domain, or NULL for no event */
	const char *store;      /* store whose keys are used; NULL = the client's */
	const char *aux_kind;   /* aux key kind (keys.h: "xin", "resv", "rf") or NULL */
	const char *aux_id;
	const char *aux_mode;   /* "" or an aux mode of stock_apply.lua */
	int64_t aux_expiry_ms;
	const char *result;     /* stored and returned to duplicates */
	bool result_is_payload; /* result is the event's payload: store it once, inside the event */
	const cJSON *payload;   /* the event's payload */
	int64_t occurred_at_ms; /* the event's occurred_at (e.g. a sale made offline, committed later); 0: now */
} redstore__stock_op;

typedef struct redstore__stock_outcome {
	bool duplicate;         /* the id had been applied before: `result` is the first run's */
	char *result;           /* duplicates: the stored result (free it) */
	char stream_id[48];     /* first run: the stream entry */
} redstore__stock_outcome;

/* Returns 0, REDSTORE_EOUT_OF_STOCK (names the SKU and what is available), REDSTORE_EINVALID (a check of
 * the script failed: names it), or a retriable Redis/Kafka error. On failure nothing changed, except an
 * ambiguous Kafka failure (the operation stays pending until retried: see above). */
int redstore__stock_run(redstore__stock_outcome *out, redstore_client *c, const redstore__stock_op *op,
                        redstore__stock_item *items, size_t n);
void redstore__stock_outcome_clear(redstore__stock_outcome *out);

/* The same for n operations at once: one pipelined round trip of scripts, the events produced together
 * and awaited together, one confirmation call. rcs[i] receives each operation's own result (as
 * redstore__stock_run would return it). Returns 0, or an error that stopped the whole batch (then every
 * rcs[i] holds it too). */
int redstore__stock_run_many(redstore__stock_outcome *outs, int *rcs, redstore_client *c,
                             const redstore__stock_op *ops, redstore__stock_item *const *items, const size_t *counts,
                             size_t n);

/* Idempotency records live this long (seconds): a retry after that is a new operation. */
#define REDSTORE_OP_TTL_S "604800"

#endif
