/*
 * redstore-bridge, uplink: the terminal clients that talk to the central server.
 *
 * One terminal client owns the journal's sending: a sale is journaled and sent by redstore_terminal_sell,
 * and the replay thread sends what stayed pending with redstore_terminal_sync, both under sales_mu, so the
 * journal's order is the order sales reach the server and a sale is never sent by two threads at once.
 * Reads (forwarded GETs, journal listings) use a small pool of other clients of the same journal file, so
 * they never wait behind a sale that waits for the server.
 *
 * The replay thread wakes when a sale stayed pending (uplink_kick) and once a second; after a failure it
 * waits 100 ms, doubling to bridge.retry_max_ms, and a kick does not shorten that wait. While the uplink
 * is known to be down (or unavailable, or refusing the token), or the sending client is busy for more
 * than SELL_WAIT_MS, a sale is only journaled (redstore_terminal_journal_add) and the replay thread,
 * which probes the uplink, sends it: a sale never waits for a network timeout then.
 */
#include "bridge.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POOL_MAX 8
#define IDLE_POLL_MS 1000

static struct {
	pthread_mutex_t sales_mu; /* the sending client: one sale or replay at a time */
	redstore_terminal *sales;
	pthread_mutex_t mu; /* everything below */
	pthread_cond_t cv;
	redstore_terminal *pool[POOL_MAX];
	size_t pool_n;
	char *token;
	uplink_state state;
	int kicked, stop, started;
	int64_t next_try_ms; /* the replay thread's earliest next attempt after a failure */
	int64_t backoff_ms;
	pthread_t thread;
	long replayed, attempts;
} up = { .sales_mu = PTHREAD_MUTEX_INITIALIZER, .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

const char *uplink_state_name(uplink_state s)
{
	switch (s) {
	case UPLINK_UP:
		return "up";
	case UPLINK_DOWN:
		return "down";
	case UPLINK_UNAVAILABLE:
		return "unavailable";
	case UPLINK_UNAUTHORIZED:
		return "unauthorized";
	default:
		return "unknown";
	}
}

static void set_state(uplink_state s)
{
	pthread_mutex_lock(&up.mu);
	up.state = s;
	pthread_mutex_unlock(&up.mu);
}

uplink_state uplink_current(void)
{
	uplink_state s;
	pthread_mutex_lock(&up.mu);
	s = up.state;
	pthread_mutex_unlock(&up.mu);
	return s;
}

/* What a terminal client's error says about the uplink. */
static uplink_state state_of(int rc)
{
	switch (rc) {
	case 0:
		return UPLINK_UP;
	case REDSTORE_EAUTH:
		return UPLINK_UNAUTHORIZED;
	case REDSTORE_EUNAVAILABLE:
		return UPLINK_UNAVAILABLE;
	default:
		return UPLINK_DOWN;
	}
}

/* ------------------------------------------------------------ clients */

/* A buffer of the library (redstore_free) as a malloc'ed one the HTTP replies can free(). */
static char *own(char *lib)
{
	char *copy = lib ? strdup(lib) : NULL;
	redstore_free(lib);
	return copy;
}

static redstore_terminal *client_open(void)
{
	redstore_terminal *t = NULL;
	if (redstore_terminal_new(&t, g_opt.upstream, g_opt.store, g_opt.journal) ||
	    redstore_terminal_set_timeout(t, g_opt.upstream_timeout_ms)) {
		fprintf(stderr, "redstore-bridge: %s\n", redstore_error_last());
		redstore_terminal_free(t);
		return NULL;
	}
	return t;
}

/* Gives t the current token. */
static int client_token(redstore_terminal *t)
{
	char *tok = uplink_token();
	int rc = redstore_terminal_set_token(t, tok);
	free(tok);
	return rc;
}

static redstore_terminal *pool_take(void)
{
	redstore_terminal *t = NULL;
	pthread_mutex_lock(&up.mu);
	if (up.pool_n)
		t = up.pool[--up.pool_n];
	pthread_mutex_unlock(&up.mu);
	if (!t && !(t = client_open()))
		return NULL;
	if (client_token(t)) {
		redstore_terminal_free(t);
		return NULL;
	}
	return t;
}

static void pool_give(redstore_terminal *t)
{
	pthread_mutex_lock(&up.mu);
	if (up.pool_n < POOL_MAX) {
		up.pool[up.pool_n++] = t;
		t = NULL;
	}
	pthread_mutex_unlock(&up.mu);
	redstore_terminal_free(t);
}

char *uplink_token(void)
{
	char *t;
	pthread_mutex_lock(&up.mu);
	t = up.token ? strdup(up.token) : NULL;
	pthread_mutex_unlock(&up.mu);
	return t;
}

int uplink_set_token(const char *token)
{
	char *copy = strdup(token);
	if (!copy)
		return -1;
	pthread_mutex_lock(&up.mu);
	free(up.token);
	up.token = copy;
	if (up.state == UPLINK_UNAUTHORIZED) {
		up.state = UPLINK_UNKNOWN; /* the next sale is sent, not only journaled */
		up.next_try_ms = 0;        /* and what is pending goes at once */
	}
	up.kicked = 1;
	pthread_cond_signal(&up.cv);
	pthread_mutex_unlock(&up.mu);
	return 0;
}

/* ------------------------------------------------------------ sales */

/* How long a sale waits for the sending client while another sale or a replay is on the wire. */
#define SELL_WAIT_MS 500

int uplink_sell(redstore_journal_state *state, char **receipt, const char *sale_id, const char *body)
{
	uplink_state now = uplink_current();
	int rc, direct = now == UPLINK_UP || now == UPLINK_UNKNOWN;
	*receipt = NULL;
	if (direct) {
		struct timespec ts = bridge_deadline(SELL_WAIT_MS);
		direct = pthread_mutex_timedlock(&up.sales_mu, &ts) == 0;
	}
	if (direct) {
		rc = client_token(up.sales);
		if (!rc)
			rc = redstore_terminal_sell(state, receipt, up.sales, sale_id, body);
		pthread_mutex_unlock(&up.sales_mu);
	} else {
		/* the uplink is down (or busy with a hung request): journal only, the replay thread sends it */
		redstore_terminal *t = pool_take();
		if (!t)
			return REDSTORE_ERROR;
		rc = redstore_terminal_journal_add(state, t, sale_id, body);
		pool_give(t);
	}
	if (rc)
		return rc;
	*receipt = own(*receipt);
	if (*state == REDSTORE_JOURNAL_PENDING)
		uplink_kick();
	else if (direct)
		set_state(UPLINK_UP);
	return 0;
}

void uplink_kick(void)
{
	pthread_mutex_lock(&up.mu);
	up.kicked = 1;
	pthread_cond_signal(&up.cv);
	pthread_mutex_unlock(&up.mu);
}

static void *replay_main(void *arg)
{
	int64_t idle_at = bridge_now_ms() + IDLE_POLL_MS;
	(void)arg;
	pthread_mutex_lock(&up.mu);
	while (!up.stop) {
		int64_t now = bridge_now_ms(), due = up.kicked ? now : idle_at;
		size_t settled = 0;
		int rc;
		if (due < up.next_try_ms)
			due = up.next_try_ms;
		if (now < due) {
			struct timespec ts = bridge_deadline(due - now);
			pthread_cond_timedwait(&up.cv, &up.mu, &ts);
			continue; /* woken or due: decide again */
		}
		up.kicked = 0;
		idle_at = now + IDLE_POLL_MS;
		pthread_mutex_unlock(&up.mu);
		pthread_mutex_lock(&up.sales_mu);
		rc = client_token(up.sales);
		if (!rc)
			rc = redstore_terminal_sync(up.sales, &settled);
		pthread_mutex_unlock(&up.sales_mu);
		if (rc)
			fprintf(stderr, "redstore-bridge: replay: %s (%s)\n", redstore_err_name(rc), redstore_error_last());
		if (!rc && !settled) {
			/* nothing to send: while the uplink counts as down, ask the server's /healthz (open) so the
			 * next sale is sent at once when it is back, not first journaled */
			uplink_state was = uplink_current();
			if (was == UPLINK_DOWN || was == UPLINK_UNAVAILABLE) {
				char *resp = NULL;
				long status = 0;
				if (uplink_get(&resp, &status, "/healthz") || status != 200)
					rc = status ? REDSTORE_EUNAVAILABLE : REDSTORE_ECONNECT;
				free(resp);
			}
		}
		pthread_mutex_lock(&up.mu);
		up.replayed += (long)settled;
		if (settled || rc)
			up.attempts++;
		if (!rc) {
			if (settled)
				up.state = UPLINK_UP;
			up.backoff_ms = 0;
			up.next_try_ms = 0;
		} else {
			up.state = state_of(rc);
			up.backoff_ms = up.backoff_ms ? up.backoff_ms * 2 : 100;
			if (up.backoff_ms > g_opt.retry_max_ms)
				up.backoff_ms = g_opt.retry_max_ms;
			up.next_try_ms = bridge_now_ms() + up.backoff_ms;
			up.kicked = 1; /* pending: try again when due */
		}
		redstore_error_clear();
	}
	pthread_mutex_unlock(&up.mu);
	return NULL;
}

void uplink_counts(long *replayed, long *replay_attempts)
{
	pthread_mutex_lock(&up.mu);
	*replayed = up.replayed;
	*replay_attempts = up.attempts;
	pthread_mutex_unlock(&up.mu);
}

/* ------------------------------------------------------------ reads */

int uplink_get(char **out, long *status, const char *path)
{
	return uplink_request(out, status, "GET", path, NULL, NULL, 0, NULL);
}

int uplink_request(char **out, long *status, const char *method, const char *path, const char *idempotency_key,
                   const char *body, int as, const char *token)
{
	redstore_terminal *t = pool_take();
	int rc;
	*out = NULL;
	*status = 0;
	if (!t)
		return REDSTORE_ERROR;
	rc = as ? redstore_terminal_request_as(out, status, t, token, method, path, idempotency_key, body)
	        : redstore_terminal_request(out, status, t, method, path, idempotency_key, body);
	pool_give(t);
	*out = own(*out);
	if (rc)
		set_state(UPLINK_DOWN);
	else if (*status == 401 && !as)
		set_state(UPLINK_UNAUTHORIZED);
	else if (*status >= 500 || *status == 429)
		set_state(UPLINK_UNAVAILABLE);
	else
		set_state(UPLINK_UP);
	return rc;
}

int uplink_journal(redstore_journal_entry **out, size_t *count)
{
	redstore_terminal *t = pool_take();
	int rc;
	*out = NULL;
	*count = 0;
	if (!t)
		return REDSTORE_ERROR;
	rc = redstore_terminal_journal(out, count, t);
	pool_give(t);
	return rc;
}

/* ------------------------------------------------------------ start and stop */

int uplink_start(void)
{
	if (!(up.token = strdup(g_opt.token)) || !(up.sales = client_open()))
		return -1;
	up.stop = 0;
	up.kicked = 1; /* sales left pending by an earlier run go first */
	if (pthread_create(&up.thread, NULL, replay_main, NULL)) {
		perror("redstore-bridge: replay thread");
		return -1;
	}
	up.started = 1;
	return 0;
}

void uplink_stop(void)
{
	if (up.started) {
		pthread_mutex_lock(&up.mu);
		up.stop = 1;
		pthread_cond_signal(&up.cv);
		pthread_mutex_unlock(&up.mu);
		pthread_join(up.thread, NULL);
		up.started = 0;
	}
	redstore_terminal_free(up.sales);
	up.sales = NULL;
	while (up.pool_n)
		redstore_terminal_free(up.pool[--up.pool_n]);
	free(up.token);
	up.token = NULL;
}

/* ------------------------------------------------------------ the upstream event stream
 *
 * ONE event stream of the server (a terminal client's event thread: reconnect with backoff and
 * Last-Event-ID, resync -> snapshot) feeds the library's fan-out hub (redstore_hub_new_fed), which serves
 * every local terminal: rings for Last-Event-ID, per-stream buffers of bridge.client_buffer_kib (a slower
 * stream is cut off with resync), heartbeats. The stream starts after the id of a snapshot of the store,
 * so the hub knows where its ring begins; an upstream resync resyncs every local stream. */

static struct {
	pthread_mutex_t mu; /* last_id, streaming, stop */
	pthread_cond_t cv;
	pthread_mutex_t start_mu; /* serialises starting and restarting the upstream stream */
	redstore_hub *hub;
	redstore_terminal *t;
	char last_id[HTTPKIT_STREAM_ID_SIZE];
	int streaming, stop;
	pthread_t starter;
	int starter_running;
} ev = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, .start_mu = PTHREAD_MUTEX_INITIALIZER };

/* The terminal client's event callback, on its stream thread. */
static void on_upstream(const char *event, const char *id, const char *data, void *payload)
{
	int rc = 0;
	(void)payload;
	if (!strcmp(event, "change"))
		rc = redstore_hub_publish(ev.hub, g_opt.store, "change", id, data);
	else if (!strcmp(event, "resync")) /* the bridge fell out of the server's stream; a snapshot follows */
		rc = redstore_hub_reset(ev.hub, g_opt.store, NULL, 1);
	else if (!strcmp(event, "snapshot"))
		rc = redstore_hub_reset(ev.hub, g_opt.store, id, 0);
	else
		return;
	if (rc)
		fprintf(stderr, "redstore-bridge: upstream %s %s: %s\n", event, id ? id : "", redstore_error_last());
	pthread_mutex_lock(&ev.mu);
	snprintf(ev.last_id, sizeof(ev.last_id), "%s", strcmp(event, "resync") && id ? id : "");
	pthread_mutex_unlock(&ev.mu);
}

/* The snapshot's stream id: where the ring begins. 0 or -1 (the server cannot give one now). */
static int snapshot_id(char out[HTTPKIT_STREAM_ID_SIZE])
{
	char path[128], *resp = NULL;
	long status = 0;
	int ok = -1;
	snprintf(path, sizeof(path), "/v1/stores/%s/snapshot", g_opt.store);
	if (uplink_get(&resp, &status, path) == 0 && status == 200) {
		cJSON *root = cJSON_Parse(resp);
		const cJSON *sid = cJSON_GetObjectItemCaseSensitive(root, "stream_id");
		if (cJSON_IsString(sid) && (!sid->valuestring[0] || httpkit_stream_id_valid(sid->valuestring))) {
			snprintf(out, HTTPKIT_STREAM_ID_SIZE, "%s", sid->valuestring[0] ? sid->valuestring : "0");
			ok = 0;
		}
		cJSON_Delete(root);
	}
	if (ok)
		fprintf(stderr, "redstore-bridge: no snapshot from the server yet (HTTP %ld): %s\n", status,
		        redstore_error_last());
	free(resp);
	redstore_error_clear();
	return ok;
}

/* Starts the upstream stream after `after` with the current token (ev.start_mu held). */
static int upstream_start(const char *after)
{
	char *tok = uplink_token();
	int rc = redstore_terminal_set_token(ev.t, tok);
	free(tok);
	if (!rc)
		rc = redstore_terminal_events_start(ev.t, after, on_upstream, NULL);
	if (rc)
		fprintf(stderr, "redstore-bridge: upstream event stream: %s\n", redstore_error_last());
	pthread_mutex_lock(&ev.mu);
	ev.streaming = rc == 0;
	pthread_mutex_unlock(&ev.mu);
	return rc;
}

/* The starter: until the server gives a snapshot (it may be down when the bridge starts), then the
 * upstream stream from the snapshot's id. */
static void *starter_main(void *arg)
{
	int64_t backoff = 100;
	(void)arg;
	for (;;) {
		char id[HTTPKIT_STREAM_ID_SIZE];
		struct timespec ts;
		pthread_mutex_lock(&ev.mu);
		if (ev.stop) {
			pthread_mutex_unlock(&ev.mu);
			return NULL;
		}
		pthread_mutex_unlock(&ev.mu);
		if (snapshot_id(id) == 0) {
			if (redstore_hub_reset(ev.hub, g_opt.store, id, 0))
				fprintf(stderr, "redstore-bridge: %s\n", redstore_error_last());
			pthread_mutex_lock(&ev.mu);
			snprintf(ev.last_id, sizeof(ev.last_id), "%s", id);
			pthread_mutex_unlock(&ev.mu);
			pthread_mutex_lock(&ev.start_mu);
			upstream_start(id);
			pthread_mutex_unlock(&ev.start_mu);
			return NULL;
		}
		ts = bridge_deadline(backoff);
		backoff = backoff * 2 > g_opt.retry_max_ms ? g_opt.retry_max_ms : backoff * 2;
		pthread_mutex_lock(&ev.mu);
		if (!ev.stop)
			pthread_cond_timedwait(&ev.cv, &ev.mu, &ts);
		pthread_mutex_unlock(&ev.mu);
	}
}

int upstream_start_events(void)
{
	redstore_hub_options o;
	redstore_hub_options_init(&o);
	o.ring_events = g_opt.ring_events;
	o.conn_buffer_bytes = g_opt.client_buffer;
	o.heartbeat_ms = g_opt.heartbeat_ms;
	o.max_streams = g_opt.max_connections;
	if (redstore_hub_new_fed(&ev.hub, &o) ||
	    redstore_terminal_new(&ev.t, g_opt.upstream, g_opt.store, g_opt.journal) ||
	    redstore_terminal_set_timeout(ev.t, g_opt.upstream_timeout_ms)) {
		fprintf(stderr, "redstore-bridge: %s\n", redstore_error_last());
		return -1;
	}
	if (pthread_create(&ev.starter, NULL, starter_main, NULL)) {
		perror("redstore-bridge: starter thread");
		return -1;
	}
	ev.starter_running = 1;
	return 0;
}

void upstream_restart(void)
{
	char after[HTTPKIT_STREAM_ID_SIZE];
	int streaming;
	pthread_mutex_lock(&ev.start_mu);
	pthread_mutex_lock(&ev.mu);
	streaming = ev.streaming;
	pthread_mutex_unlock(&ev.mu);
	if (streaming) { /* else the starter starts it, with the current token */
		redstore_terminal_events_stop(ev.t); /* after this, nothing is delivered: last_id is final */
		pthread_mutex_lock(&ev.mu);
		snprintf(after, sizeof(after), "%s", ev.last_id);
		pthread_mutex_unlock(&ev.mu);
		upstream_start(after[0] ? after : NULL);
	}
	pthread_mutex_unlock(&ev.start_mu);
}

void upstream_stop_events(void)
{
	pthread_mutex_lock(&ev.mu);
	ev.stop = 1;
	pthread_cond_broadcast(&ev.cv);
	pthread_mutex_unlock(&ev.mu);
	if (ev.starter_running)
		pthread_join(ev.starter, NULL);
	ev.starter_running = 0;
	pthread_mutex_lock(&ev.start_mu);
	redstore_terminal_events_stop(ev.t);
	pthread_mutex_unlock(&ev.start_mu);
	redstore_hub_stop(ev.hub);
}

void upstream_free_events(void)
{
	redstore_hub_free(ev.hub); /* the local streams still open keep it until they close */
	ev.hub = NULL;
	redstore_terminal_free(ev.t);
	ev.t = NULL;
}

redstore_hub *upstream_hub(void)
{
	return ev.hub;
}

void upstream_status(char last_id[HTTPKIT_STREAM_ID_SIZE], int *streaming)
{
	pthread_mutex_lock(&ev.mu);
	snprintf(last_id, HTTPKIT_STREAM_ID_SIZE, "%s", ev.last_id);
	*streaming = ev.streaming;
	pthread_mutex_unlock(&ev.mu);
}
