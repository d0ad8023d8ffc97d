/**
 * @file
 * libredstore - the fan-out hub: one process's Server-Sent Events streams of store changes.
 *
 * A hub serves any number of event streams (one per connected terminal) from ONE source per process:
 *  - a Redis hub (redstore_hub_new) holds one subscription of its own to every store's change channel
 *    and reads each store's new changes once (redstore_sync_read) whatever the number of streams;
 *  - a fed hub (redstore_hub_new_fed) is given its events by the program (redstore_hub_publish), e.g. a
 *    store bridge that relays one upstream stream to its local terminals.
 *
 * Each event is serialised once as SSE text ("id: <stream id>\nevent: <name>\ndata: <json>\n\n") into
 * its store's ring (the last `ring_events`), then one wakeup appends it to the output buffer of every
 * live stream of the store and notifies the streams that were waiting, once each: no work per event per
 * stream besides a copy. A stream opened with a Last-Event-ID gets exactly the events after it (from the
 * ring, else read from the Redis stream a page at a time), or `event: resync` (data {"reason":"too_old"})
 * when the id is older than the source keeps. A stream whose buffer would exceed `conn_buffer_bytes` is
 * cut off with `event: resync` (reason "slow_client") after the bytes it holds: it never delays another
 * stream and memory never grows with a slow reader. An idle stream gets `: heartbeat` every
 * `heartbeat_ms`. Every stream starts with "retry: 1000".
 *
 * The I/O interface is HTTP-server-neutral. The server opens a stream per request
 * (redstore_hub_open), and its response body callback calls redstore_hub_pull(), which copies pending
 * bytes, or says REDSTORE_HUB_WAIT after calling the stream's `wait` callback (e.g.
 * MHD_suspend_connection) under the stream's lock, or REDSTORE_HUB_END. When bytes arrive for a waiting
 * stream the hub calls its `ready` callback (e.g. MHD_resume_connection), always after `wait` returned,
 * once per WAIT. The server closes the stream when its connection ends (redstore_hub_close).
 *
 * Lifecycle:
 *  1. redstore_hub_new() / redstore_hub_new_fed() start the hub's thread (subscription, heartbeats).
 *  2. redstore_hub_open() / pull / close per stream, from any threads.
 *  3. redstore_hub_stop() ends every stream (each waiting one is made ready, its next pull says END) and
 *     stops the thread; no callback is called after it returns except from redstore_hub_pull itself.
 *  4. redstore_hub_free() releases the caller's reference; the memory goes when the last stream is
 *     closed too, so streams may be closed after it (e.g. by MHD_stop_daemon).
 *
 * Thread rule: thread-safe; one stream is pulled by one thread at a time.
 */
#ifndef REDSTORE_HUB_H
#define REDSTORE_HUB_H

#include "common.h"
#include "config.h"

#include <stddef.h>
#include <stdint.h>

REDSTORE_BEGIN_DECLS
REDSTORE_ASSUME_NONNULL_BEGIN

/** A hub. Thread-safe. */
typedef struct redstore_hub redstore_hub;

/** One event stream of a hub. Pulled by one thread at a time; its other calls are thread-safe. */
typedef struct redstore_hub_conn redstore_hub_conn;

/** A hub's limits and timers. Fill with redstore_hub_options_init(), then change what you need. */
typedef struct redstore_hub_options {
	size_t ring_events;       /**< events kept per store for resuming streams (16..1000000; 4096) */
	size_t conn_buffer_bytes; /**< bytes one stream may hold unsent before it is cut off (4096..67108864; 262144) */
	int heartbeat_ms;         /**< an idle stream gets a comment line this often (50..3600000; 15000) */
	int check_ms;             /**< each stream's `check` callback runs this often (0: only at check_at_ms; 0..86400000; 0) */
	size_t max_streams;       /**< streams open at once; more are refused with REDSTORE_ELIMIT (1..10000000; 100000) */
} redstore_hub_options;

/** Sets every option to its default. */
REDSTORE_EXTERN(void) redstore_hub_options_init(redstore_hub_options *opt);

/**
 * Creates a Redis hub: its thread opens one Redis connection of its own from `cfg` (redis.url, with
 * AUTH and the timeouts), subscribes to every store's change channel, reconnects with backoff after a
 * loss (then reads every store with streams again, so nothing announced meanwhile is missed), and reads
 * with its own client of `cfg`. Nothing is connected before the call returns.
 *
 * @param out  receives the hub; release it with redstore_hub_free()
 * @param cfg  copied; NULL: the defaults overridden by the REDSTORE_* environment
 * @param opt  NULL: the defaults
 * @return 0, REDSTORE_EINVALID (an option out of range, a bad redis.url) or REDSTORE_ENOMEM
 */
REDSTORE_EXTERN(int) redstore_hub_new(redstore_hub *REDSTORE_NULLABLE *REDSTORE_NONNULL out,
                                      const redstore_config *REDSTORE_NULLABLE cfg,
                                      const redstore_hub_options *REDSTORE_NULLABLE opt);

/**
 * Creates a fed hub: its events come from redstore_hub_publish(), its ring's beginning from
 * redstore_hub_reset(). Streams opened for a store before its beginning is known wait for it.
 *
 * @return 0, REDSTORE_EINVALID (an option out of range) or REDSTORE_ENOMEM
 */
REDSTORE_EXTERN(int) redstore_hub_new_fed(redstore_hub *REDSTORE_NULLABLE *REDSTORE_NONNULL out,
                                          const redstore_hub_options *REDSTORE_NULLABLE opt);

/**
 * Fed hub: appends one event of `store` and delivers it to the store's streams. An event whose id is
 * not after the newest one kept is a repeat and is dropped (returns 0). Before the store's beginning is
 * known, the first event sets it (a Last-Event-ID before it gets resync).
 *
 * @param event  the SSE event name (1..47 bytes of [a-z0-9_.-])
 * @param id     its stream id (`MS-SEQ`: milliseconds, a dash, a sequence number)
 * @param data   one line of data (no CR or LF), at most 1 MiB
 * @return 0, REDSTORE_EINVALID (a bad store, name, id or data; not a fed hub) or REDSTORE_ENOMEM
 */
REDSTORE_EXTERN(int) redstore_hub_publish(redstore_hub *hub, const char *store, const char *event, const char *id,
                                          const char *data);

/**
 * Fed hub: what the hub keeps of `store` no longer continues (the upstream said resync). Every live
 * stream of the store gets `event: resync` (reason "upstream_resync") and ends; the ring is emptied.
 * With `base_id`, the store's source begins after that id (a snapshot's id): waiting streams are placed,
 * a Last-Event-ID before it gets resync. With NULL, the beginning is unknown until the next reset or
 * publish. Calling it with a base_id when nothing was lost (the first snapshot) only sets the beginning.
 *
 * @param lost  1: the kept events no longer continue (resync the live streams); 0: just set the beginning
 * @return 0, REDSTORE_EINVALID (bad store or id; not a fed hub) or REDSTORE_ENOMEM
 */
REDSTORE_EXTERN(int) redstore_hub_reset(redstore_hub *hub, const char *store,
                                        const char *REDSTORE_NULLABLE base_id, int lost);

/** Ends every stream (see the lifecycle) and stops the hub's thread. Idempotent; NULL is a no-op. */
REDSTORE_EXTERN(void) redstore_hub_stop(redstore_hub *REDSTORE_NULLABLE hub);

/** Stops the hub if needed and releases the caller's reference; NULL is a no-op. */
REDSTORE_EXTERN(void) redstore_hub_free(redstore_hub *REDSTORE_NULLABLE hub);

/** What a hub has done so far. */
typedef struct redstore_hub_stats {
	int connected;      /**< Redis hub: 1 while it holds its subscription; fed hub: 1 */
	long streams;       /**< streams open */
	long events_sent;   /**< events appended to streams' buffers */
	long resyncs;       /**< resync events sent (too old, slow client, gap, upstream) */
	long heartbeats;    /**< heartbeats sent */
	long reads;         /**< Redis hub: redstore_sync_read calls of its thread */
	long events_read;   /**< events entering the rings (each once, whatever the number of streams) */
	size_t ring_events; /**< events held in all rings */
	char last_id[48];   /**< the newest event id seen (any store), "" before the first */
} redstore_hub_stats;

/** Fills *out with the hub's counters. Thread-safe. */
REDSTORE_EXTERN(void) redstore_hub_get_stats(redstore_hub_stats *out, redstore_hub *hub);

/** What a server gives a stream: its callbacks and when to check it. */
typedef struct redstore_hub_io {
	/** Called when a stream whose last pull said WAIT has something (bytes or its end), on the hub's
	 *  thread or a publisher's, never under the hub's locks, always after `wait` returned. Required. */
	void (*ready)(void *REDSTORE_NULLABLE payload);
	/** Called by redstore_hub_pull under the stream's lock just before it says WAIT (suspend the
	 *  connection here); it must not call into the hub. NULL: nothing. */
	void (*REDSTORE_NULLABLE wait)(void *REDSTORE_NULLABLE payload);
	/** Called by redstore_hub_pull, on the puller's thread and under no lock, every check_ms and once
	 *  at check_at_ms: e.g. verify the session again and end the stream with redstore_hub_end(). */
	void (*REDSTORE_NULLABLE check)(redstore_hub_conn *conn, void *REDSTORE_NULLABLE payload);
	int64_t check_at_ms;  /**< wall clock (ms since the epoch) of one extra check (a session's expiry), 0: none */
	void *REDSTORE_NULLABLE payload; /**< passed to the callbacks */
} redstore_hub_io;

/**
 * Opens a stream of `store`'s events. Without a Last-Event-ID it starts at the present (a Redis hub
 * asks Redis for the stream's last id when no other stream of the store is open: one round trip on the
 * calling thread); with one it starts right after it. On failure no callback is ever called.
 *
 * @param out             receives the stream; close it with redstore_hub_close()
 * @param store           the store id (1..64 of [A-Za-z0-9_-]); the caller has authorised it
 * @param last_event_id   NULL or "": none; else a stream id (`MS-SEQ`: milliseconds, a dash, a
 *                        sequence number)
 * @param io              copied
 * @return 0, REDSTORE_EINVALID (bad store or id, no ready callback, hub stopped), REDSTORE_ELIMIT
 *         (max_streams), REDSTORE_ENOMEM, or a Redis error (finding the present)
 */
REDSTORE_EXTERN(int) redstore_hub_open(redstore_hub_conn *REDSTORE_NULLABLE *REDSTORE_NONNULL out,
                                       redstore_hub *hub, const char *store,
                                       const char *REDSTORE_NULLABLE last_event_id, const redstore_hub_io *io);

/** What redstore_hub_pull() did. */
typedef enum redstore_hub_pulled {
	REDSTORE_HUB_BYTES = 0, /**< *out bytes were copied into buf: send them */
	REDSTORE_HUB_WAIT = 1,  /**< nothing now: `wait` was called, `ready` will follow */
	REDSTORE_HUB_END = 2    /**< the stream is over (resync, redstore_hub_end, stop): finish the response */
} redstore_hub_pulled;

/**
 * Copies up to `cap` pending bytes of the stream into `buf` (the body callback of an HTTP response).
 * Runs the stream's `check` first when it is due.
 *
 * @param out  receives the number of bytes copied (0 unless REDSTORE_HUB_BYTES)
 * @return REDSTORE_HUB_BYTES, REDSTORE_HUB_WAIT or REDSTORE_HUB_END
 */
REDSTORE_EXTERN(redstore_hub_pulled) redstore_hub_pull(size_t *out, redstore_hub_conn *conn, char *buf, size_t cap);

/**
 * Ends a stream with one last event: "event: <event>\ndata: <data>\n\n" follows what it holds, then
 * pulls say END. Nothing else is appended after it. A stream that has ended already is left as it is.
 *
 * @return 0, REDSTORE_EINVALID (bad event name, data with CR/LF or over 64 KiB) or REDSTORE_ENOMEM
 */
REDSTORE_EXTERN(int) redstore_hub_end(redstore_hub_conn *conn, const char *event, const char *data);

/** The store a stream serves, borrowed from the stream. */
REDSTORE_EXTERN(const char *) redstore_hub_conn_store(const redstore_hub_conn *conn);

/**
 * Closes a stream (its connection is gone); no callback of it is called after this returns. NULL is a
 * no-op. Must not be called while another thread is inside redstore_hub_pull() for it.
 */
REDSTORE_EXTERN(void) redstore_hub_close(redstore_hub_conn *REDSTORE_NULLABLE conn);

REDSTORE_ASSUME_NONNULL_END
REDSTORE_END_DECLS

#endif
