/**
 * @file
 * libredstore: job queues on Redis, with delays, priorities, retries with backoff, leases, dead letters,
 * repeatable jobs and a multi-threaded worker; plus signed webhooks and the end-of-day sales CSV that the
 * redstore-worker program runs on them.
 *
 * A queue lives in Redis under keys that carry the hash tag `{q:<queue>}` (one Redis Cluster slot per
 * queue). Every state change of a job is one Lua script, so it is atomic:
 *
 * @verbatim
 *   add ──> delayed ──(due)──> waiting ──(take: attempt + 1, lease)──> active ──> completed
 *                ^                 ^                                    │  │  └──> failed (fail permanently)
 *                └──── retry (backoff) ──────────────────────────────────┘  └────> dead (last attempt)
 *                                  └──── lease expired (the worker died) ─┘
   @endverbatim
 *
 *  1. A job id is the idempotency key: adding an id the queue still holds (in any state, including
 *     completed and failed jobs within the retention limits) adds nothing.
 *  2. A taken job is leased to one taker for `lease_ms`; the worker renews the leases of the jobs it
 *     holds. When a lease expires (the worker was killed), the next take moves the job back to waiting (or
 *     to dead when that was its last attempt). Finishing a job needs the lease token of the take, so a
 *     worker that lost its lease cannot complete the job a second time: REDSTORE_ECONFLICT.
 *  3. A retry waits backoff_ms (fixed) or backoff_ms * 2^(attempt-1) (exponential), capped at
 *     backoff_max_ms, minus a random share of up to jitter_pct percent. After max_attempts attempts the job
 *     goes to the dead-letter set with its last error, where it stays until retried or purged.
 *  4. "failed" holds jobs that ended without success and will not be retried: a handler said
 *     REDSTORE_JOB_FAIL, or the job's time-to-live passed before it started. Completed and failed jobs
 *     are trimmed to the queue's retention limits (oldest first); dead jobs are never trimmed.
 *  5. Times are Redis server time, so the clocks of the workers do not matter.
 *  6. A job's state changes exactly once per attempt, but its handler may run more than once: a worker that
 *     dies after the handler's side effects and before the finish loses the lease, and the job runs again.
 *     Make handlers idempotent; the job id is a natural idempotency key.
 *
 * Thread rule: the functions taking a client are as the client (one thread at a time); the worker object
 * is described below.
 */
#ifndef REDSTORE_JOBS_H
#define REDSTORE_JOBS_H

#include "common.h"
#include "client.h"
#include "config.h"
#include "events.h"

REDSTORE_BEGIN_DECLS
REDSTORE_ASSUME_NONNULL_BEGIN

/** The largest job payload (JSON text) in bytes. */
#define REDSTORE_JOB_MAX_PAYLOAD (512 * 1024)
/** Size of a job id buffer: up to 128 characters of [A-Za-z0-9_.:-] plus the NUL. */
#define REDSTORE_JOB_ID_SIZE 129

/** How a retried job waits. */
typedef enum redstore_backoff {
	REDSTORE_BACKOFF_FIXED = 0,       /**< backoff_ms every time */
	REDSTORE_BACKOFF_EXPONENTIAL = 1  /**< backoff_ms * 2^(attempt-1), capped at backoff_max_ms */
} redstore_backoff;

/** What to add. Zero fields take the defaults; strings are copied. */
typedef struct redstore_job_spec {
	/** idempotency key ([A-Za-z0-9_.:-]{1,128}); NULL or "": a new UUIDv7 */
	const char *REDSTORE_NULLABLE id;
	const char *REDSTORE_NULLABLE payload;     /**< JSON text (object, array, ...); NULL: "{}" */
	int64_t delay_ms;        /**< run no earlier than now + delay_ms (0..10 years) */
	int64_t run_at_ms;       /**< or no earlier than this wall-clock time (ms since the epoch); 0: unused */
	int priority;            /**< 0..1000, higher runs first; same priority: first added runs first */
	int max_attempts;        /**< 1..1000, default 3 */
	redstore_backoff backoff; /**< how the wait grows between attempts (default fixed) */
	int64_t backoff_ms;      /**< base wait before a retry, default 1000 (1..1 day) */
	int64_t backoff_max_ms;  /**< cap of the wait, default 1 hour */
	int jitter_pct;          /**< 0..100: up to this share of the wait is taken off at random */
	int64_t ttl_ms;          /**< 0: none; else a job not started within ttl_ms of its add fails ("expired") */
} redstore_job_spec;

/**
 * Adds a job to `queue` ([A-Za-z0-9_.-]{1,64}).
 *
 * @param out_id  optional: receives the job's id (REDSTORE_JOB_ID_SIZE bytes)
 * @param added   optional: 1 when the job was added, 0 when the id was there already (nothing changed)
 * @return 0, REDSTORE_EINVALID (bad queue, id or option: the message names it; payload not JSON),
 *         REDSTORE_ELIMIT (payload too large), or a Redis error (ECONNECT / ETIMEOUT are retriable)
 */
REDSTORE_EXTERN(int) redstore_job_add(char *REDSTORE_NULLABLE out_id, redstore_client *client, const char *queue,
                                      const redstore_job_spec *REDSTORE_NULLABLE spec, int *REDSTORE_NULLABLE added);

/**
 * Adds n jobs in one round trip (one script call per 256 jobs, pipelined). Every spec is checked first:
 * one bad spec adds nothing.
 *
 * @param added  optional: n entries, each 1 (added) or 0 (the id was there already)
 * @return as redstore_job_add; REDSTORE_EINVALID names the index of the bad spec
 */
REDSTORE_EXTERN(int) redstore_job_add_many(redstore_client *client, const char *queue, const redstore_job_spec *specs,
                                           size_t n, int *REDSTORE_NULLABLE added);

/** A job as a taker sees it. Plain data; the strings belong to the job. */
typedef struct redstore_job {
	char queue[65];          /**< the queue it was taken from */
	char id[REDSTORE_JOB_ID_SIZE]; /**< the job id */
	char token[48];          /**< the lease token of this take */
	char *payload;           /**< JSON text */
	int attempt;             /**< 1 for the first run */
	int max_attempts;        /**< attempts allowed in all */
	int64_t run_at_ms;       /**< when it was due by its delay or run_at (wall clock ms); 0: added without */
	char repeat[65];         /**< the repeatable schedule that made it, or "" */
} redstore_job;

/**
 * Takes up to `max` due jobs (highest priority first) under a lease of lease_ms, in one round trip. Due
 * delayed jobs are promoted and expired leases reclaimed on the way. A paused queue gives none.
 *
 * @param out    an array of `max` jobs; fill count is *count. Free each with redstore_job_clear().
 * @param lease_ms  100..86400000
 * @return 0, REDSTORE_EINVALID, or a Redis error
 */
REDSTORE_EXTERN(int) redstore_job_take(redstore_job *out, size_t max, size_t *count, redstore_client *client,
                                       const char *queue, int64_t lease_ms);

/** Frees what a taken job owns (its payload); the struct itself is the caller's. NULL is a no-op. */
REDSTORE_EXTERN(void) redstore_job_clear(redstore_job *REDSTORE_NULLABLE job);

/** What a handler (or a taker) decides about a job. */
typedef enum redstore_job_outcome {
	REDSTORE_JOB_DONE = 0,   /**< completed */
	REDSTORE_JOB_RETRY = 1,  /**< failed this time: retry after the backoff, or dead after the last attempt */
	REDSTORE_JOB_FAIL = 2    /**< failed for good: to "failed", never retried */
} redstore_job_outcome;

/**
 * Finishes a taken job with an outcome; `error` (may be NULL, cut at 1000 bytes) is kept as its last
 * error for RETRY and FAIL.
 *
 * @return 0, REDSTORE_ECONFLICT (the lease was lost: the job was reclaimed and may run elsewhere; nothing
 *         changed), REDSTORE_EINVALID, or a Redis error
 */
REDSTORE_EXTERN(int) redstore_job_finish(redstore_client *client, const redstore_job *job,
                                         redstore_job_outcome outcome, const char *REDSTORE_NULLABLE error);

/**
 * Renews the lease of a taken job for another lease_ms.
 *
 * @return 0, REDSTORE_ECONFLICT (the lease was lost), or a Redis error
 */
REDSTORE_EXTERN(int) redstore_job_extend(redstore_client *client, const redstore_job *job, int64_t lease_ms);

/** How many jobs a queue holds in each state. */
typedef struct redstore_queue_counts {
	int64_t waiting;   /**< due, waiting to be taken */
	int64_t delayed;   /**< not due yet (delays and retries) */
	int64_t active;    /**< taken, under a lease */
	int64_t completed; /**< done (kept up to the retention limit) */
	int64_t failed;    /**< failed for good (kept up to the retention limit) */
	int64_t dead;      /**< out of attempts: in the dead-letter set */
	int paused;        /**< 1 while the queue is paused */
} redstore_queue_counts;

/** Counts the jobs of a queue in each state, atomically. @return 0, REDSTORE_EINVALID or a Redis error */
REDSTORE_EXTERN(int) redstore_queue_counts_get(redstore_queue_counts *out, redstore_client *client,
                                               const char *queue);

/** Pauses (1) or resumes (0) a queue: takes give nothing while paused; adds go on. */
REDSTORE_EXTERN(int) redstore_queue_pause(redstore_client *client, const char *queue, int paused);

/**
 * Sets how many completed and failed jobs a queue keeps (0..10000000 each; defaults 1000 and 10000).
 * Older ones are deleted as new ones arrive; a deleted job's id can be added again.
 */
REDSTORE_EXTERN(int) redstore_queue_set_retention(redstore_client *client, const char *queue, int64_t keep_completed,
                                                  int64_t keep_failed);

/**
 * Moves dead jobs back to waiting with fresh attempts: the job `id`, or every dead job when id is NULL.
 *
 * @param moved  optional: how many moved
 * @return 0, REDSTORE_ENOTFOUND (id given and not dead), REDSTORE_EINVALID, or a Redis error
 */
REDSTORE_EXTERN(int) redstore_queue_retry_dead(redstore_client *client, const char *queue,
                                               const char *REDSTORE_NULLABLE id, int64_t *REDSTORE_NULLABLE moved);

/** Deletes dead jobs: `id`, or all when id is NULL. Same codes as redstore_queue_retry_dead. */
REDSTORE_EXTERN(int) redstore_queue_purge_dead(redstore_client *client, const char *queue,
                                               const char *REDSTORE_NULLABLE id, int64_t *REDSTORE_NULLABLE purged);

/** One job's state as stored. */
typedef struct redstore_job_info {
	char state[16];          /**< waiting delayed active completed failed dead */
	int attempts;            /**< attempts started so far */
	int max_attempts;        /**< attempts allowed in all */
	int64_t due_ms;          /**< delayed: when it becomes due; active: lease expiry; others: 0 */
	char last_error[1024];   /**< "" when none */
} redstore_job_info;

/** Reads one job. @return 0, REDSTORE_ENOTFOUND, REDSTORE_EINVALID or a Redis error */
REDSTORE_EXTERN(int) redstore_job_get(redstore_job_info *out, redstore_client *client, const char *queue,
                                      const char *id);

/**
 * Makes `name` ([A-Za-z0-9_.-]{1,64}) a repeatable job of `queue` running every `every_s` seconds
 * (1..31622400), at multiples of every_s since the epoch. Each occurrence is a job with the id
 * "rep.<name>.<due ms>" (so several workers never add it twice) built from `spec` (its id, delay and
 * run_at are ignored); the worker adds the next occurrence when it takes one. Replaces a schedule of the
 * same name.
 *
 * @return 0, REDSTORE_EINVALID, or a Redis error
 */
REDSTORE_EXTERN(int) redstore_job_repeat_every(redstore_client *client, const char *queue, const char *name,
                                               int64_t every_s,
                                               const redstore_job_spec *REDSTORE_NULLABLE spec);

/**
 * The same, daily at `hhmm` ("HH:MM") local time in the IANA time zone `tz` ("Europe/Paris"). Local
 * times come from the system's TZif files (/usr/share/zoneinfo, or $TZDIR), read by the library itself:
 * thread-safe, no TZ environment changes. On a day when HH:MM does not exist (spring forward) the job runs
 * as much later as the clocks jumped (a missing 02:30 runs at 03:30); when it exists twice, it runs once.
 * Times after the last transition in the file (2037 for "fat" tzdata such as Debian's) use the last
 * offset.
 *
 * @return 0, REDSTORE_EINVALID (bad time, unknown zone), or a Redis error
 */
REDSTORE_EXTERN(int) redstore_job_repeat_daily(redstore_client *client, const char *queue, const char *name,
                                               const char *hhmm, const char *tz,
                                               const redstore_job_spec *REDSTORE_NULLABLE spec);

/** Removes a repeatable schedule (its already added next occurrence stays). @return 0 or ENOTFOUND */
REDSTORE_EXTERN(int) redstore_job_repeat_remove(redstore_client *client, const char *queue, const char *name);

/**
 * Adds the next occurrence of a repeatable job after the taken occurrence `job` (no-op when job->repeat
 * is "" or the schedule was removed). redstore_worker does this itself; a program with its own take loop
 * calls it after each take.
 */
REDSTORE_EXTERN(int) redstore_job_repeat_next(redstore_client *client, const redstore_job *job);

/**
 * The UTC instant (ms) of local time `hhmm` on the local day that contains `after_ms`, or of the next day
 * when that is not after `after_ms`: the next daily run. Exposed for tests and tools.
 *
 * @return 0 or REDSTORE_EINVALID (bad time, unknown zone)
 * Thread rule: thread-safe.
 */
REDSTORE_EXTERN(int) redstore_next_daily_ms(int64_t *out, int64_t after_ms, const char *hhmm, const char *tz);

/* ---------------------------------------------------------------- worker */

/**
 * Handles one job on a worker thread. `client` is that thread's own client (same configuration as the
 * worker's) for the handler's Redis / PostgreSQL / Kafka work. Write a reason into `error` (error_cap
 * bytes) for RETRY and FAIL. The handler runs while the worker renews the job's lease.
 */
typedef redstore_job_outcome (*redstore_job_cb)(const redstore_job *job, redstore_client *client, char *error,
                                                size_t error_cap, void *REDSTORE_NULLABLE payload);

/** Options of a worker; zero fields take the defaults. */
typedef struct redstore_worker_options {
	int concurrency;         /**< handler threads, default 1 (1..256) */
	int64_t lease_ms;        /**< default 30000 (100..86400000); renewed every lease_ms / 3 */
	int batch;               /**< jobs taken per round trip per thread, default 1 (1..1000) */
	int64_t idle_ms;         /**< wait between takes on an empty queue, default 100 (1..60000) */
} redstore_worker_options;

/**
 * Runs the jobs of several queues on `concurrency` threads, each with its own client.
 *
 * Lifecycle:
 *  1. redstore_worker_new(), then redstore_worker_on() once per queue.
 *  2. redstore_worker_run() blocks: it starts the threads and a lease renewer, and returns after
 *     redstore_worker_stop() once every thread finished the job it was running (jobs taken but not started
 *     are handed back: their leases expire).
 *  3. redstore_worker_free().
 *
 * Thread rule: one thread at a time, except redstore_worker_stop() and redstore_worker_processed(), which
 * any thread (and redstore_worker_stop() a signal handler) may call.
 */
typedef struct redstore_worker redstore_worker;

/** @return 0, REDSTORE_EINVALID (bad options), REDSTORE_ENOMEM. The configuration is copied. */
REDSTORE_EXTERN(int) redstore_worker_new(redstore_worker *REDSTORE_NULLABLE *REDSTORE_NONNULL out,
                                         const redstore_config *cfg,
                                         const redstore_worker_options *REDSTORE_NULLABLE options);
/** Runs `cb` for the jobs of `queue` (up to 32 queues). @return 0, REDSTORE_EINVALID, REDSTORE_ELIMIT */
REDSTORE_EXTERN(int) redstore_worker_on(redstore_worker *worker, const char *queue, redstore_job_cb cb,
                                        void *REDSTORE_NULLABLE payload);
/** Runs until stopped. @return 0, or REDSTORE_EINVALID (no queue), REDSTORE_ERROR (threads) */
REDSTORE_EXTERN(int) redstore_worker_run(redstore_worker *worker);
/** Asks redstore_worker_run() to return. Async-signal-safe. */
REDSTORE_EXTERN(void) redstore_worker_stop(redstore_worker *worker);
/** Jobs finished (any outcome) by this worker so far. */
REDSTORE_EXTERN(uint64_t) redstore_worker_processed(const redstore_worker *worker);
/** Frees a worker that is not running; NULL is a no-op. */
REDSTORE_EXTERN(void) redstore_worker_free(redstore_worker *REDSTORE_NULLABLE worker);

/* ---------------------------------------------------------------- webhooks */

/** The queue webhook deliveries go through. */
#define REDSTORE_WEBHOOK_QUEUE "webhooks"

/**
 * Configures a webhook of the client's store: events whose type is in `events` (comma-separated types,
 * or "*") are POSTed to `url` (http:// or https://, up to 2000 characters), signed with `secret` (16..256
 * bytes). `id` ([A-Za-z0-9_.-]{1,64}) names the hook; setting it again replaces it. Stored in Redis next
 * to the store's other settings (`rs:{s:<store>}:webhooks`).
 *
 * @return 0, REDSTORE_EINVALID (names the field), or a Redis error
 */
REDSTORE_EXTERN(int) redstore_webhook_set(redstore_client *client, const char *id, const char *url,
                                          const char *secret, const char *events);
/** Removes a webhook of the client's store. @return 0, REDSTORE_ENOTFOUND or a Redis error */
REDSTORE_EXTERN(int) redstore_webhook_remove(redstore_client *client, const char *id);

/**
 * Adds one delivery job to REDSTORE_WEBHOOK_QUEUE per webhook of `event`'s store that wants its type; the
 * job id is "<event id>.<hook id>", so a redelivered event is queued once. Deliveries retry with
 * exponential backoff (backoff_ms, 2x, jittered) up to max_attempts and are dead-lettered after it.
 *
 * @param spec    retry policy of the deliveries (id, payload, delays ignored); NULL: 8 attempts from 1 s
 * @param queued  optional: how many deliveries were added
 * @return 0, REDSTORE_EINVALID, or a Redis error
 */
REDSTORE_EXTERN(int) redstore_webhook_dispatch(redstore_client *client, const char *event_json, size_t len,
                                               const redstore_job_spec *REDSTORE_NULLABLE spec,
                                               int *REDSTORE_NULLABLE queued);

/**
 * The same for an event a consumer decoded (redstore_consumer_on): the body is the event's envelope
 * encoded again (the same fields and payload). Same codes as redstore_webhook_dispatch.
 */
REDSTORE_EXTERN(int) redstore_webhook_dispatch_event(redstore_client *client, const redstore_event *event,
                                                     const redstore_job_spec *REDSTORE_NULLABLE spec,
                                                     int *REDSTORE_NULLABLE queued);

/**
 * The job handler of REDSTORE_WEBHOOK_QUEUE: POSTs the event with libcurl, with the headers
 * `X-Redstore-Timestamp: <unix seconds>`, `X-Redstore-Event: <type>`, `X-Redstore-Delivery: <job id>` and
 * `X-Redstore-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`. A 2xx answer completes the
 * job; 410 Gone and a removed hook fail it for good; anything else (5xx, timeout, refused) retries it.
 * The request is bounded by jobs.webhook_timeout_ms. `payload` is unused.
 */
REDSTORE_EXTERN(redstore_job_outcome) redstore_webhook_handler(const redstore_job *job, redstore_client *client,
                                                               char *error, size_t error_cap,
                                                               void *REDSTORE_NULLABLE payload);

/**
 * The signature a receiver checks: hex HMAC-SHA256 with key `secret` over "<timestamp>.<body>".
 *
 * @param out  65 bytes
 * @return 0 or REDSTORE_EINVALID
 * Thread rule: thread-safe.
 */
REDSTORE_EXTERN(int) redstore_webhook_sign(char out[REDSTORE_NONNULL 65], const char *secret, int64_t timestamp,
                                           const void *body, size_t len);

/* ---------------------------------------------------------------- end of day */

/**
 * The day's sales summary of the client's store as CSV: one row per kind (sale, refund, void) and SKU
 * for the store-local calendar day `date` ("YYYY-MM-DD", in the store's time zone from the stores
 * table), with units, gross, discount, tax and total in minor units, and a final TOTAL row per kind.
 * Read from the PostgreSQL history tables that the projector writes. With an employee session attached it
 * needs REDSTORE_PERM_REPORTS (managers).
 *
 * @param out  receives the CSV text (free with redstore_free)
 * @return 0, REDSTORE_EINVALID (bad date, no store selected), REDSTORE_ENOTFOUND (unknown store),
 *         REDSTORE_EPERM (a session without the reports permission), or a PostgreSQL error
 */
REDSTORE_EXTERN(int) redstore_sales_day_csv(char *REDSTORE_NULLABLE *REDSTORE_NONNULL out, redstore_client *client,
                                            const char *date);

/** The queue of the end-of-day jobs. */
#define REDSTORE_EOD_QUEUE "eod"

/**
 * Makes the end-of-day report of the client's store a daily repeatable job ("eod.<store>" on
 * REDSTORE_EOD_QUEUE) at `hhmm` in the store's time zone (from the stores table). Each run writes
 * `<dir>/<store>-<YYYY-MM-DD>.csv` (redstore_sales_day_csv, written to a temporary file then renamed) for
 * the store-local day of its scheduled time, or for the day before when that time is before noon (so
 * "23:55" and "00:30" both report the day that is ending). Scheduling again replaces the schedule.
 *
 * @return 0, REDSTORE_EINVALID (bad time, no store selected, no dir), REDSTORE_ENOTFOUND (unknown store),
 *         or a Redis / PostgreSQL error
 */
REDSTORE_EXTERN(int) redstore_eod_schedule(redstore_client *client, const char *hhmm, const char *dir);

/** The job handler of REDSTORE_EOD_QUEUE (see redstore_eod_schedule). `payload` is unused. */
REDSTORE_EXTERN(redstore_job_outcome) redstore_eod_handler(const redstore_job *job, redstore_client *client,
                                                           char *error, size_t error_cap,
                                                           void *REDSTORE_NULLABLE payload);

REDSTORE_ASSUME_NONNULL_END
REDSTORE_END_DECLS

#endif
