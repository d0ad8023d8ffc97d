/**
 * @file
 * libredstore: business events on Kafka.
 *
 * Every event travels in one JSON envelope: {id, type, schema_version, store_id, terminal_id,
 * employee_id, occurred_at, recorded_at, payload}. Topics are one per domain (<kafka.topic_prefix>sales,
 * inventory, catalog, shifts, audit) and the message key is the store id, so one store's events are
 * totally ordered. The partition of a store is Java-compatible murmur2 of its id (any Java, kafkajs or
 * kcat producer agrees), unless `kafka.partition.map` pins the store to a partition.
 *
 * Thread rule: the functions here are thread-safe; an event object is used by one thread at a time.
 */
#ifndef REDSTORE_EVENTS_H
#define REDSTORE_EVENTS_H

#include "common.h"
#include "client.h"
#include "config.h"

REDSTORE_BEGIN_DECLS
REDSTORE_ASSUME_NONNULL_BEGIN

/** The envelope schema version this library writes and the only one it reads. */
#define REDSTORE_EVENT_SCHEMA 1

/** The largest event the decoder accepts, in bytes. */
#define REDSTORE_EVENT_MAX_BYTES (1024 * 1024)

/**
 * Kafka's murmur2 hash exactly as the Java client computes it (seed 0x9747b28c), as a signed 32-bit
 * value: redstore_murmur2("21", 2) == -973932308.
 */
REDSTORE_EXTERN(int32_t) redstore_murmur2(const void *data, size_t len);

/**
 * The partition a store's events go to: the partition pinned by `kafka.partition.map` when that names
 * the store and the partition exists, else (murmur2(store id) & 0x7fffffff) % partition_count — what
 * Kafka's Java DefaultPartitioner does for a keyed record.
 *
 * @param cfg  the configuration holding kafka.partition.map (NULL: no map)
 * @return 0, or REDSTORE_EINVALID (bad store id, partition_count < 1)
 */
REDSTORE_EXTERN(int) redstore_store_partition(int32_t *out, const redstore_config *REDSTORE_NULLABLE cfg,
                                              const char *store_id, int32_t partition_count);

/** A decoded event. Strings are NUL-terminated; payload_json is the payload object as compact JSON. */
typedef struct redstore_event {
	char id[37];              /**< the event id (a UUID): its idempotency key */
	char type[64];            /**< "<domain>.<what>", e.g. "sale.completed" */
	int schema_version;       /**< REDSTORE_EVENT_SCHEMA */
	char store_id[65];        /**< the store, also the Kafka message key */
	char terminal_id[65];     /**< the terminal that acted, or "" */
	char employee_id[65];     /**< the employee that acted, or "" */
	int64_t occurred_at_ms;   /**< the terminal's clock */
	int64_t recorded_at_ms;   /**< the server's clock */
	char *payload_json;       /**< owned by the event */
} redstore_event;

/**
 * Decodes one envelope, strictly: every field present with its type, nothing else at the top level, a
 * UUID id, a known schema version, a valid store id, RFC 3339 UTC times, an object payload. Nothing is
 * returned for an event that fails any check.
 *
 * @param out  receives the event (free with redstore_event_free), or NULL on failure
 * @return 0, REDSTORE_EDECODE (the message names the field and the reason), REDSTORE_ELIMIT (larger
 *         than REDSTORE_EVENT_MAX_BYTES)
 */
REDSTORE_EXTERN(int) redstore_event_decode(redstore_event *REDSTORE_NULLABLE *REDSTORE_NONNULL out, const void *data,
                                           size_t len);

/** Frees a decoded event; NULL is a no-op. */
REDSTORE_EXTERN(void) redstore_event_free(redstore_event *REDSTORE_NULLABLE event);

/**
 * Projects a batch of events into PostgreSQL in ONE transaction, each event exactly once (by event id,
 * through the processed_events table): sales, refunds and voids with their lines and tenders, the
 * append-only stock ledger (one row per movement, with reason and reference), the projected stock
 * levels and the per-hour sales rollups. Events of other types are recorded as processed. On any error
 * nothing of the batch is written.
 *
 * @param applied  optional: how many events were new (the others had been projected before)
 * @return 0, REDSTORE_EDECODE (an event's payload is malformed: names it), or a PostgreSQL error
 *         (REDSTORE_ECONNECT / REDSTORE_ETIMEOUT / REDSTORE_EUNAVAILABLE are retriable)
 * Thread rule: as the client.
 */
REDSTORE_EXTERN(int) redstore_projector_apply(redstore_client *client,
                                              const redstore_event *const REDSTORE_NONNULL *REDSTORE_NONNULL events,
                                              size_t n, size_t *REDSTORE_NULLABLE applied);

/**
 * Creates the monthly partitions of the sales history from this month to `months_ahead` months ahead
 * (idempotent; nothing to do on TimescaleDB, whose hypertables make their own chunks). A projector
 * calls it at start and daily, so rows land in their month's partition rather than the DEFAULT one.
 *
 * @return 0, REDSTORE_EINVALID (months_ahead outside 0..120) or a PostgreSQL error
 */
REDSTORE_EXTERN(int) redstore_projector_prepare(redstore_client *client, int months_ahead);

/** The topics of libredstore: `<prefix>sales`, inventory, catalog, shifts, audit, deadletter. */
#define REDSTORE_TOPIC_COUNT 6

/** What redstore_events_ensure_topics() found or did for one topic. */
typedef struct redstore_topic_status {
	char name[160];       /**< the topic, with kafka.topic_prefix */
	int existed;          /**< 1: the topic was there already */
	int created;          /**< 1: this call created it */
	int partitions;       /**< its partitions as the cluster reports them (0 when unknown) */
	char warning[240];    /**< "" or what is wrong (fewer partitions than configured, creation refused or
	                           unanswered...) */
} redstore_topic_status;

/**
 * Makes sure every libredstore topic exists: reads the cluster's metadata, creates the missing topics
 * with kafka.partitions and kafka.replication_factor (Kafka admin API), and checks the existing ones.
 * A cluster that refuses or never answers CreateTopics (librdkafka 2.0's mock cluster does not answer
 * it) does not make this fail: the call ends within `timeout_ms` and says so in the topic's warning.
 *
 * @param out         an array of REDSTORE_TOPIC_COUNT entries
 * @param timeout_ms  the bound on the whole call (1000..600000)
 * @return 0 (look at the warnings), REDSTORE_ECONNECT (no metadata: the brokers cannot be reached),
 *         REDSTORE_EINVALID
 * Thread rule: as the client.
 */
REDSTORE_EXTERN(int) redstore_events_ensure_topics(redstore_topic_status *out, redstore_client *client,
                                                   int timeout_ms);

/**
 * A consumer group member that reads libredstore's topics and hands decoded events to handlers.
 *
 * Lifecycle:
 *  1. redstore_consumer_new() joins nothing yet; register handlers with redstore_consumer_on() and/or
 *     redstore_consumer_on_batch().
 *  2. Each redstore_consumer_poll() call (from one thread) fetches up to batch_max events, decodes them
 *     and runs the handlers. The offsets of events whose handlers succeeded are stored, and committed by
 *     redstore_consumer_commit(), at every rebalance (before partitions are given up) and at close.
 *  3. A failing batch handler makes the batch run again one event at a time; an event whose handlers keep
 *     failing goes to the dead-letter topic (`<prefix>deadletter`) with the error after max_attempts, and its
 *     partition moves on. An event that cannot be decoded goes there at once. Nothing is dropped silently.
 *  4. redstore_consumer_free() commits what was processed and leaves the group cleanly.
 *
 * Thread rule: one thread at a time (the polling thread); handlers run on that thread.
 */
typedef struct redstore_consumer redstore_consumer;

/** Options of a consumer; zero fields take the defaults. Strings are copied. */
typedef struct redstore_consumer_options {
	const char *group_id;     /**< required: one group per downstream concern ("projector", "alerts"...) */
	const char *REDSTORE_NULLABLE pattern;      /**< topic regex; NULL: "^" + escaped kafka.topic_prefix + ".*" */
	size_t batch_max;         /**< events per poll, default 500 (1..100000) */
	int max_attempts;         /**< attempts before dead-lettering, default 5 (1..1000) */
} redstore_consumer_options;

/** Handles one event; returns 0, or a non-zero code to have it retried (then dead-lettered). */
typedef int (*redstore_event_cb)(const redstore_event *event, void *REDSTORE_NULLABLE payload);
/** Handles a batch (in partition order per partition); 0, or non-zero to retry event by event. */
typedef int (*redstore_batch_cb)(const redstore_event *const REDSTORE_NONNULL *REDSTORE_NONNULL events, size_t n,
                                 void *REDSTORE_NULLABLE payload);

/**
 * Creates a consumer from the client's configuration (brokers, prefix). The client is only read here.
 *
 * @return 0, REDSTORE_EINVALID (no group id, bad options, no brokers), REDSTORE_EKAFKA
 */
REDSTORE_EXTERN(int) redstore_consumer_new(redstore_consumer *REDSTORE_NULLABLE *REDSTORE_NONNULL out,
                                           const redstore_client *client, const redstore_consumer_options *options);

/** Runs `cb` for every event whose type equals `type` ("*": every type). Up to 64 handlers. */
REDSTORE_EXTERN(int) redstore_consumer_on(redstore_consumer *consumer, const char *type, redstore_event_cb cb,
                                          void *REDSTORE_NULLABLE payload);

/** Runs `cb` once per polled batch, before the per-type handlers. One batch handler at most. */
REDSTORE_EXTERN(int) redstore_consumer_on_batch(redstore_consumer *consumer, redstore_batch_cb cb,
                                                void *REDSTORE_NULLABLE payload);

/**
 * Fetches and handles one batch, waiting at most timeout_ms for the first event.
 *
 * @param handled  optional: events handled (successfully or dead-lettered) by this call
 * @return 0, or REDSTORE_EKAFKA / REDSTORE_EUNAVAILABLE for a consumer-level failure
 */
REDSTORE_EXTERN(int) redstore_consumer_poll(redstore_consumer *consumer, int timeout_ms,
                                            size_t *REDSTORE_NULLABLE handled);

/**
 * Commits the offsets of every handled event now (synchronously).
 *
 * @return 0, or REDSTORE_EUNAVAILABLE (retriable) when the group is rebalancing or its coordinator is
 *         away: the offsets stay stored and go with the next commit (or the one made at the rebalance)
 */
REDSTORE_EXTERN(int) redstore_consumer_commit(redstore_consumer *consumer);

/** The lag of one assigned partition. */
typedef struct redstore_partition_lag {
	char topic[160];     /**< the topic */
	int32_t partition;   /**< the partition of the topic */
	int64_t position;    /**< next offset this member will handle (-1 when unknown) */
	int64_t high;        /**< the partition's end offset as last seen */
	int64_t lag;         /**< high - position (0 when unknown) */
} redstore_partition_lag;

/**
 * The lag of each partition assigned to this member.
 *
 * @param out  an array of `cap` entries; *count receives how many were filled
 */
REDSTORE_EXTERN(int) redstore_consumer_lag(redstore_partition_lag *out, size_t cap, size_t *count,
                                           redstore_consumer *consumer);

/** Events dead-lettered by this consumer since it was created. */
REDSTORE_EXTERN(uint64_t) redstore_consumer_dead_lettered(const redstore_consumer *consumer);

/** Commits, leaves the group and frees the consumer; NULL is a no-op. */
REDSTORE_EXTERN(void) redstore_consumer_free(redstore_consumer *REDSTORE_NULLABLE consumer);

REDSTORE_ASSUME_NONNULL_END
REDSTORE_END_DECLS

#endif
