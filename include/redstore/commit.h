/**
 * @file
 * libredstore: the committer, group commit of the write path.
 *
 * A committer is a small pool of threads, each with its own engine connections. Callers submit sales
 * (redstore_sale_submit) and go on; a committer thread takes everything waiting at that moment (up to
 * the batch limit) and commits it together: ONE pipelined Redis round trip applies the operations in
 * order (each still atomic: all its lines or none, exactly once by its id; an out-of-stock sale is
 * refused alone), every event of the batch is produced to Kafka at once, the acknowledged operations
 * are confirmed in one script call per store, and each caller is called back with its own answer.
 * The guarantees are those of redstore_sale_commit(): prices from the catalog, the answer only after
 * Kafka acknowledged, a definite failure compensated (stock restored, retriable), an ambiguous one left
 * pending until a retry with the same id settles it.
 *
 * Lifecycle rules:
 *  1. A committer is created from a configuration (copied) and starts its threads at once; it connects
 *     to Redis and Kafka lazily, on the first batch.
 *  2. Validation, authorisation and pricing run in redstore_sale_submit(), on the caller's thread and
 *     client: what is wrong with a sale is returned there, and then the callback is never called.
 *  3. When redstore_sale_submit() returns 0, the callback is called exactly once, on a committer
 *     thread, after the sale's outcome is known. In the callback redstore_error_last() holds the
 *     message of a failure. The callback must not block for long: it delays the batch's other callers.
 *  4. redstore_client_set_committer() makes a client's blocking redstore_sale_commit() a submit and a
 *     wait, so that blocking callers on many threads are batched together.
 *  5. redstore_committer_free() finishes every submitted operation (their callbacks run), then stops the
 *     threads. No submit may start after it was called; every client that uses it must have been freed
 *     or detached (redstore_client_set_committer(c, NULL)) first.
 *
 * Thread rule: a committer is thread-safe.
 */
#ifndef REDSTORE_COMMIT_H
#define REDSTORE_COMMIT_H

#include "common.h"
#include "client.h"
#include "sale.h"

REDSTORE_BEGIN_DECLS
REDSTORE_ASSUME_NONNULL_BEGIN

/** A pool of committer threads. Thread-safe. */
typedef struct redstore_committer redstore_committer;

/** Options of redstore_committer_new(); zero means the default. */
typedef struct redstore_committer_options {
	unsigned threads;   /**< committer threads, each with its own connections (default 2, at most 64) */
	unsigned batch_max; /**< the most operations one batch takes (default 512, at most 4096) */
	unsigned queue_max; /**< the most operations waiting; past it submit fails retriably (default 65536) */
} redstore_committer_options;

/** What a committer has done so far (redstore_committer_stats()). */
typedef struct redstore_committer_stats {
	uint64_t batches;    /**< batches committed */
	uint64_t operations; /**< operations in them */
	uint64_t max_batch;  /**< the largest batch */
	uint64_t waiting;    /**< operations submitted and not yet taken by a thread */
} redstore_committer_stats;

/**
 * Creates a committer and starts its threads.
 *
 * @param out   receives the committer (free with redstore_committer_free())
 * @param cfg   the configuration of its engine connections (copied); NULL: the environment's
 *              (redstore_config_load_env())
 * @param opts  options, or NULL for the defaults
 * @return 0, REDSTORE_EINVALID (an option out of range, named), REDSTORE_ENOMEM, REDSTORE_ERROR (a thread
 *         could not start)
 */
REDSTORE_EXTERN(int) redstore_committer_new(redstore_committer *REDSTORE_NULLABLE *REDSTORE_NONNULL out,
                                            const redstore_config *REDSTORE_NULLABLE cfg,
                                            const redstore_committer_options *REDSTORE_NULLABLE opts);

/** Finishes every submitted operation, stops the threads and frees the committer. NULL is a no-op. */
REDSTORE_EXTERN(void) redstore_committer_free(redstore_committer *REDSTORE_NULLABLE committer);

/** Reads the committer's counters. */
REDSTORE_EXTERN(void) redstore_committer_get_stats(redstore_committer_stats *out, redstore_committer *committer);

/**
 * Makes the client's blocking redstore_sale_commit() go through `committer` (submit and wait), or
 * through the client's own connections again with NULL. The committer must outlive the client's use of
 * it. One thread at a time per client, as every call on a client.
 */
REDSTORE_EXTERN(void) redstore_client_set_committer(redstore_client *client,
                                                    redstore_committer *REDSTORE_NULLABLE committer);

/**
 * The completion of a submitted sale.
 *
 * @param result   what redstore_sale_commit() would have returned for it
 * @param receipt  the receipt on success (also for a duplicate: the first one's, duplicate = 1), owned by
 *                 the callback (free with redstore_receipt_free()); NULL on failure
 * @param payload  the submitter's pointer
 */
typedef void (*redstore_sale_done_cb)(int result, redstore_receipt *REDSTORE_NULLABLE receipt,
                                      void *REDSTORE_NULLABLE payload);

/**
 * Submits a sale of the client's selected store to the committer, without waiting for it. Validation,
 * the permission check of an attached session and pricing happen now, on this thread and `client`; the
 * commit itself happens in the committer's next batch, and `done` is called then (see the lifecycle
 * rules). The sale is copied: free it whenever you like.
 *
 * @return 0 (done will be called), or what redstore_sale_commit() returns for a sale refused before
 *         anything is written (REDSTORE_EINVALID, REDSTORE_ENOTFOUND, REDSTORE_EINACTIVE, REDSTORE_EPERM...),
 *         REDSTORE_EUNAVAILABLE (retriable: the committer's queue is full, or it is stopping)
 */
REDSTORE_EXTERN(int) redstore_sale_submit(redstore_committer *committer, redstore_client *client,
                                          const redstore_sale *sale, redstore_sale_done_cb done,
                                          void *REDSTORE_NULLABLE payload);

REDSTORE_ASSUME_NONNULL_END
REDSTORE_END_DECLS

#endif
