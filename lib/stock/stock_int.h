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
#include "redstore/commit.h"

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

typedef struct redstore__stock_keys {
	char onhand[REDSTORE_KEY_MAX], reserved[REDSTORE_KEY_MAX], op[REDSTORE_KEY_MAX], stream[REDSTORE_KEY_MAX],
		aux[REDSTORE_KEY_MAX], resvexp[REDSTORE_KEY_MAX], channel[REDSTORE_KEY_MAX], gate[REDSTORE_KEY_MAX];
} redstore__stock_keys;

/* One stock operation prepared for a batch: everything it needs while in flight. Prepared on the caller's
 * client (its actor goes into the event), executed on any client (the caller's, or a committer's:
 * lib/stock/commit.c). `op` and `items` are borrowed until the job is cleared. */
typedef struct redstore__stock_job {
	const redstore__stock_op *op;
	redstore__stock_item *items;
	size_t n;
	char store[65];           /* whose keys are used */
	char terminal[65], employee[65]; /* the actor of the caller who prepared it */
	redstore__stock_keys k;
	char *event;              /* the envelope this run produced, or NULL */
	const char *to_produce;   /* the event to produce now (own or stored), or NULL */
	size_t to_produce_len;
	redisReply *reply;        /* the apply reply (owns to_produce when stored) */
	const char **argv;
	char (*nums)[2][24];
	size_t argc;
	bool produce;             /* produce to_produce, then settle */
	redstore__delivery dr;    /* the event's delivery report */
	char maxlen[24], expiry[24], count[24];
	/* out, after redstore__stock_execute */
	int rc;                   /* as redstore__stock_run would return it */
	char message[512];        /* the failure's message (the batch runs on one thread for many callers) */
	redstore__stock_outcome out;
	/* a committer's queue (lib/stock/commit.c) */
	struct redstore__stock_job *next;
	void (*done)(struct redstore__stock_job *job, void *payload);
	void *done_payload;
} redstore__stock_job;

/* Prepares one operation on the caller's client (no I/O): checks it, encodes its event, builds the script
 * arguments. Returns 0 or REDSTORE_EINVALID / REDSTORE_ELIMIT / REDSTORE_ENOMEM. Clear the job afterwards
 * in every case. */
int redstore__stock_prepare(redstore__stock_job *job, redstore_client *c, const redstore__stock_op *op,
                            redstore__stock_item *items, size_t n);
/* Executes n prepared jobs as one batch on client `c`: one pipelined Redis round trip applies them in
 * order, their events are produced together and awaited together, the acknowledged ones are confirmed in
 * one script call per store, the others undone or abandoned. Sets each job's rc, message and outcome; a
 * job whose rc is already set (a failed prepare) is skipped. One thread at a time per client. */
void redstore__stock_execute(redstore_client *c, redstore__stock_job *const *jobs, size_t n);
/* Frees what the job holds (NULL-safe for a zeroed job). */
void redstore__stock_job_clear(redstore__stock_job *job);

/* Queues a prepared job on the committer (redstore/commit.h). On 0, `done` is called exactly once on a
 * committer thread when the job's rc and outcome are set (this thread's last error then holds its
 * message); the job and what it borrows must live until then. REDSTORE_EUNAVAILABLE (retriable: the
 * queue is full or the committer is stopping) and `done` is never called. */
int redstore__committer_submit(redstore_committer *cm, redstore__stock_job *job,
                               void (*done)(redstore__stock_job *job, void *payload), void *payload);

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
