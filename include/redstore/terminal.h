/**
 * @file
 * libredstore: the terminal client of redstore-server.
 *
 * What a terminal app (an iPad app through Swift, a kiosk, a script) links to talk to the server: REST
 * calls (libcurl), the store's live event stream with automatic reconnect, and a durable offline journal
 * (SQLite) of the sales it makes, so it keeps selling when the server cannot be reached.
 *
 * Sales and the journal:
 *  1. redstore_terminal_sell() writes the sale to the journal first (a committed SQLite transaction,
 *     synchronous=FULL), then sends the journal's pending sales in the order they were made, each with its
 *     own id as the Idempotency-Key. The server commits a sale id once, so a sale sent twice (a reply lost,
 *     a crash after sending) is recorded once.
 *  2. Each journaled sale has a visible state: pending (not yet answered by the server), synced (the
 *     server committed it), or rejected (the server refused it for good, e.g. out of stock after an
 *     offline period: the reason is kept). A sale is never dropped from the journal.
 *  3. When the server cannot be reached, answers 5xx, 408, 429 or 401 (an expired session: set a new
 *     token), the sale stays pending and sending stops there, so later sales never overtake it;
 *     redstore_terminal_sync() sends again. After the server could not be reached, redstore_terminal_sell()
 *     only journals for a while (1 s, doubling to 30 s; a successful sync resets it), so selling offline
 *     never waits for a network timeout.
 *
 * Live events: redstore_terminal_events_start() runs the stream on its own thread and calls the callback
 * for each event. After a failure it reconnects with backoff (100 ms doubling to 5 s) and Last-Event-ID =
 * the last id delivered, so no change is missed. When the server answers `resync` (the id is older than
 * the store keeps), the thread loads GET /v1/stores/{store}/snapshot, delivers it as an event "snapshot"
 * (data: the snapshot JSON, id: the stream id it is current to), and continues from that id.
 *
 * Thread rule: a redstore_terminal is used by one thread at a time; the event callback runs on the
 * terminal's stream thread, and may not call redstore_terminal_events_stop() or free the terminal.
 */
#ifndef REDSTORE_TERMINAL_H
#define REDSTORE_TERMINAL_H

#include "common.h"
#include "client.h"
#include "sync.h"

REDSTORE_BEGIN_DECLS
REDSTORE_ASSUME_NONNULL_BEGIN

/** A terminal client: the server's URL, the store, the session token, the journal, the event stream. */
typedef struct redstore_terminal redstore_terminal;

/**
 * Opens a terminal client and its journal (created when missing).
 *
 * @param base_url      the server, "http://host:port" or "https://..." (copied)
 * @param store_id      the store the terminal sells for (copied)
 * @param journal_path  the journal's SQLite file (copied)
 * @return 0, REDSTORE_EINVALID (bad URL or store id), REDSTORE_EIO (the journal cannot be opened)
 */
REDSTORE_EXTERN(int) redstore_terminal_new(redstore_terminal *REDSTORE_NULLABLE *REDSTORE_NONNULL out,
                                           const char *base_url, const char *store_id, const char *journal_path);

/** Stops the event stream, closes the journal and frees the terminal; NULL is a no-op. */
REDSTORE_EXTERN(void) redstore_terminal_free(redstore_terminal *REDSTORE_NULLABLE t);

/**
 * Sets the session token sent with every request (Authorization: Bearer), or clears it (NULL). Copied.
 * The event stream uses it from its next connection on; a stream waiting after an `unauthorized` end
 * reconnects with it at once (with its Last-Event-ID: nothing is missed).
 *
 * @return 0, REDSTORE_EINVALID (longer than 2048 characters)
 */
REDSTORE_EXTERN(int) redstore_terminal_set_token(redstore_terminal *t, const char *REDSTORE_NULLABLE token);

/** Sets the timeout of each request, 100..600000 ms (default 5000). @return 0, REDSTORE_EINVALID */
REDSTORE_EXTERN(int) redstore_terminal_set_timeout(redstore_terminal *t, int timeout_ms);

/**
 * One REST call to the server.
 *
 * @param out              receives the response body (NUL-terminated, free with redstore_free), or NULL
 * @param status           receives the HTTP status
 * @param path             e.g. "/v1/stores/demo/stock/A"
 * @param idempotency_key  sent as Idempotency-Key, or NULL
 * @param body             a JSON body (POST), or NULL
 * @return 0 when the server answered (whatever the status), REDSTORE_ECONNECT or REDSTORE_ETIMEOUT when
 *         it could not be reached, REDSTORE_ELIMIT (a response over 16 MiB)
 */
REDSTORE_EXTERN(int) redstore_terminal_request(char *REDSTORE_NULLABLE *REDSTORE_NULLABLE out, long *status,
                                               redstore_terminal *t, const char *method, const char *path,
                                               const char *REDSTORE_NULLABLE idempotency_key,
                                               const char *REDSTORE_NULLABLE body);

/**
 * The same call with another session token than the terminal's (e.g. a proxy such as redstore-bridge
 * forwarding for the employee logged in at a local till), or none (NULL: open routes such as login).
 *
 * @return as redstore_terminal_request(), or REDSTORE_EINVALID (a token over 2048 characters)
 */
REDSTORE_EXTERN(int) redstore_terminal_request_as(char *REDSTORE_NULLABLE *REDSTORE_NULLABLE out, long *status,
                                                  redstore_terminal *t, const char *REDSTORE_NULLABLE token,
                                                  const char *method, const char *path,
                                                  const char *REDSTORE_NULLABLE idempotency_key,
                                                  const char *REDSTORE_NULLABLE body);

/** The state of a journaled sale. */
typedef enum redstore_journal_state {
	REDSTORE_JOURNAL_PENDING = 0,  /**< not yet committed by the server */
	REDSTORE_JOURNAL_SYNCED = 1,   /**< committed by the server */
	REDSTORE_JOURNAL_REJECTED = 2  /**< refused for good; reason says why */
} redstore_journal_state;

/** "pending", "synced", "rejected". Static. Thread-safe. */
REDSTORE_EXTERN(const char *) redstore_journal_state_name(redstore_journal_state state);

/** One sale of the journal. */
typedef struct redstore_journal_entry {
	int64_t seq;                       /**< the journal's order */
	char sale_id[REDSTORE_ID_SIZE];    /**< the sale's id, its Idempotency-Key */
	redstore_journal_state state;      /**< pending, synced or rejected */
	int attempts;                      /**< times it was sent */
	long http_status;                  /**< the server's last answer (0: never reached) */
	char reason[512];                  /**< rejected: the server's error code and message */
	int64_t created_at_ms;             /**< when it was journaled (ms since the epoch) */
} redstore_journal_entry;

/**
 * Sells: journals the sale, then sends every pending sale in order (see the top of this header).
 *
 * @param state    receives this sale's state after the call
 * @param receipt  optional: receives the server's receipt JSON when the sale is synced now (free with
 *                 redstore_free), else NULL
 * @param sale_id  the sale's id (a UUID; the terminal generates it, redstore_id_new)
 * @param body     the sale as POST /v1/stores/{store}/sales takes it (a JSON object, at most 1 MiB)
 * @return 0 (the sale is in the journal: look at *state), REDSTORE_EINVALID (not a UUID, not a JSON
 *         object), REDSTORE_EEXISTS (the id is journaled with another body), REDSTORE_EIO (journal)
 */
REDSTORE_EXTERN(int) redstore_terminal_sell(redstore_journal_state *state,
                                            char *REDSTORE_NULLABLE *REDSTORE_NULLABLE receipt, redstore_terminal *t,
                                            const char *sale_id, const char *body);

/**
 * Journals a sale without sending anything: it stays pending until redstore_terminal_sell() or
 * redstore_terminal_sync() sends the journal (on this terminal or on another one of the same journal
 * file). For a process that sends from another thread and must not wait for the network meanwhile (the
 * in-store bridge while its uplink is down). The same checks as redstore_terminal_sell(); adding a sale
 * again with the same body changes nothing.
 *
 * @param state    receives the sale's state (pending, or what an earlier send settled)
 * @param sale_id  the sale's id (a UUID)
 * @param body     the sale as POST /v1/stores/{store}/sales takes it (a JSON object, at most 1 MiB)
 * @return 0, REDSTORE_EINVALID (not a UUID, not a JSON object), REDSTORE_EEXISTS (the id is journaled
 *         with another body), REDSTORE_EIO (journal)
 */
REDSTORE_EXTERN(int) redstore_terminal_journal_add(redstore_journal_state *state, redstore_terminal *t,
                                                   const char *sale_id, const char *body);

/**
 * Sends the pending sales in journal order, stopping at the first the server does not answer for good.
 *
 * @param settled  optional: receives how many became synced or rejected by this call
 * @return 0 when nothing is pending any more; REDSTORE_ECONNECT, REDSTORE_ETIMEOUT or
 *         REDSTORE_EUNAVAILABLE (retriable: try later), REDSTORE_EAUTH (the session expired: set a new
 *         token), REDSTORE_EIO (journal)
 */
REDSTORE_EXTERN(int) redstore_terminal_sync(redstore_terminal *t, size_t *REDSTORE_NULLABLE settled);

/**
 * Lists the journal, oldest first.
 *
 * @param out    receives an array of *count entries (free with redstore_free; NULL when empty)
 * @return 0, REDSTORE_EIO
 */
REDSTORE_EXTERN(int) redstore_terminal_journal(redstore_journal_entry *REDSTORE_NULLABLE *REDSTORE_NONNULL out,
                                               size_t *count, redstore_terminal *t);

/**
 * Receives an event of the store's stream: `event` is "change", "resync", "snapshot" or "unauthorized";
 * `id` its stream id ("" for resync and unauthorized); `data` its JSON. Runs on the terminal's stream thread.
 *
 * "unauthorized": the server ended the stream or refused it because the session token expired or is no
 * longer valid (terminal revoked, employee deactivated); `data` is the server's JSON error. It comes once
 * per token. The stream keeps retrying with backoff; log in again and give the new token with
 * redstore_terminal_set_token(), and it continues after the last event delivered.
 */
typedef void (*redstore_terminal_event_cb)(const char *event, const char *id, const char *data,
                                           void *REDSTORE_NULLABLE payload);

/**
 * Starts the store's event stream on a new thread (see the top of this header).
 *
 * @param last_event_id  continue after this stream id (a snapshot's), or NULL for from now on
 * @return 0, REDSTORE_EINVALID (a stream is running, malformed id), REDSTORE_ERROR (no thread)
 */
REDSTORE_EXTERN(int) redstore_terminal_events_start(redstore_terminal *t,
                                                    const char *REDSTORE_NULLABLE last_event_id,
                                                    redstore_terminal_event_cb cb, void *REDSTORE_NULLABLE payload);

/** Stops the event stream and waits for its thread; nothing is delivered after it returns. */
REDSTORE_EXTERN(void) redstore_terminal_events_stop(redstore_terminal *t);

/**
 * The id of the last event delivered ("" when none). Thread-safe against the stream thread.
 *
 * @param out  REDSTORE_STREAM_ID_SIZE bytes
 */
REDSTORE_EXTERN(void) redstore_terminal_last_event_id(char out[REDSTORE_NONNULL REDSTORE_STREAM_ID_SIZE],
                                                     redstore_terminal *t);

REDSTORE_ASSUME_NONNULL_END
REDSTORE_END_DECLS

#endif
