/*
 * redstore-bridge: declarations shared by its parts.
 *
 *   uplink.c  the terminal clients (redstore/terminal.h) that talk to the central server: one owns the
 *             journal and sends sales (one thread at a time, under a mutex), a pool serves reads; the
 *             replay thread sends pending sales again, with backoff, until the server has settled them;
 *             and ONE upstream event stream of the store feeding the library's fan-out hub (redstore/hub.h),
 *             which re-serves it to every local terminal (Last-Event-ID from its ring, or resync;
 *             heartbeats; a client further behind than its buffer is cut off with resync)
 *   http.c    the local HTTP API (libmicrohttpd, a thread per connection): local authentication, routes,
 *             sales into the journal, reads forwarded, the journal, health
 *   main.c    options (flags over the bridge.* configuration keys), start and stop
 */
#ifndef REDSTORE_BRIDGE_H
#define REDSTORE_BRIDGE_H

#include <redstore.h>

#include "httpkit.h"

#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef struct bridge_options {
	char listen_addr[64]; /* IPv4 address */
	int listen_port;      /* 0: any free port */
	const char *port_file;
	const char *upstream;    /* http[s]://host:port of redstore-server */
	const char *token;       /* the upstream session token */
	const char *local_token; /* what local terminals present */
	const char *journal;
	const char *store;
	size_t ring_events;
	size_t client_buffer;    /* bytes */
	int heartbeat_ms;
	int upstream_timeout_ms;
	int retry_max_ms;
	size_t max_body;
	unsigned max_connections;
} bridge_options;

extern bridge_options g_opt;

/* CLOCK_MONOTONIC in ms; an absolute CLOCK_REALTIME time ms from now, for pthread_cond_timedwait (main.c). */
int64_t bridge_now_ms(void);
struct timespec bridge_deadline(int64_t ms);

/* ------------------------------------------------------------ uplink.c */

typedef enum uplink_state {
	UPLINK_UNKNOWN = 0, /* nothing sent yet */
	UPLINK_UP,          /* the last request was answered */
	UPLINK_DOWN,        /* the server could not be reached */
	UPLINK_UNAVAILABLE, /* it answered 5xx / 429 */
	UPLINK_UNAUTHORIZED /* it refused the bridge's token (401): PUT /v1/bridge/token */
} uplink_state;

const char *uplink_state_name(uplink_state s);

/* Opens the journal and the clients, starts the replay thread. 0 or -1 with a message on stderr. */
int uplink_start(void);
/* Stops the replay thread and frees the clients. */
void uplink_stop(void);

/* Journals a sale and sends what is pending (redstore_terminal_sell), or only journals it while the uplink
 * is down or busy; *receipt (malloc'ed, or NULL) when synced now. */
int uplink_sell(redstore_journal_state *state, char **receipt, const char *sale_id, const char *body);
/* A GET of the server (path), with the bridge's token. 0 when it answered (*status, *out: malloc'ed, may
 * be NULL), else the terminal client's error (the uplink is then down). */
int uplink_get(char **out, long *status, const char *path);
/* Any request of the server (path with its query), with the bridge's token (as = 0) or with `token`
 * (as = 1; NULL: none), and an Idempotency-Key and a JSON body when not NULL. As uplink_get(); a 401
 * for another token than the bridge's says nothing of the uplink. */
int uplink_request(char **out, long *status, const char *method, const char *path, const char *idempotency_key,
                   const char *body, int as, const char *token);
/* The journal, oldest first (redstore_free). */
int uplink_journal(redstore_journal_entry **out, size_t *count);
/* Replaces the upstream token (copied): new requests and the event stream use it. */
int uplink_set_token(const char *token);
/* A copy of the current token (free()), or NULL. */
char *uplink_token(void);
/* Wakes the replay thread (a sale stayed pending). */
void uplink_kick(void);
uplink_state uplink_current(void);
/* Counters for /healthz. */
void uplink_counts(long *replayed, long *replay_attempts);

/* The upstream event stream and the hub of the local streams (uplink.c). */
/* Creates the hub and starts the upstream stream (its own terminal client). 0 or -1. */
int upstream_start_events(void);
/* Ends every local stream (they get nothing more) and stops the upstream stream. */
void upstream_stop_events(void);
/* Releases the hub (kept until the last local stream closes) and the upstream client. */
void upstream_free_events(void);
/* Restarts the upstream stream with the current token, continuing after the last event. */
void upstream_restart(void);
/* The hub the local streams are opened on. */
redstore_hub *upstream_hub(void);
/* For /healthz: the last upstream id, and whether the upstream stream was started (after the first
 * snapshot). */
void upstream_status(char last_id[HTTPKIT_STREAM_ID_SIZE], int *streaming);

/* ------------------------------------------------------------ http.c */

MHD_RESULT bridge_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                         const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls);

#endif
