/*
 * redstore-bridge, fan-out: ONE upstream event stream of the store, re-served to every local terminal.
 *
 * The upstream stream is a terminal client's event thread (redstore_terminal_events_start: reconnect with
 * backoff and Last-Event-ID, resync -> snapshot). It starts after the id of a snapshot of the store, so the
 * bridge knows exactly where its ring begins (`base`: the id just before the oldest event kept). Each
 * change is formatted once as an SSE event and appended to the ring (bridge.ring_events events); each
 * local stream holds only a position in it.
 *
 * A local stream with Last-Event-ID L starts at the first event after L when L is at or after `base`, and
 * never sends an event at or before L; an L older than `base` gets `event: resync` and the stream ends.
 * A stream whose position the ring has overwritten, or that is more than bridge.client_buffer_kib behind
 * the newest event, gets `resync` (slow_client) and ends, so memory never grows with a slow client. An
 * upstream resync (the bridge itself fell out of the server's stream) empties the ring and resyncs every
 * local stream. Idle streams get `: heartbeat` every bridge.heartbeat_ms.
 *
 * Threads: libmicrohttpd gives each connection a thread, and a stream's content reader blocks on fan.cv
 * until it has something to send; the upstream thread and the starter thread append and broadcast. All
 * shared state is under fan.mu.
 */
#include "bridge.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct slot {
	char id[HTTPKIT_STREAM_ID_SIZE];
	char *text;
	size_t len;
	uint64_t start; /* bytes appended before it: the lag of a stream is fan.bytes - its slot's start */
} slot;

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	slot *ring;
	uint64_t head; /* sequence number of the next event; the ring holds [head - count, head) */
	size_t count;
	uint64_t bytes;
	char base[HTTPKIT_STREAM_ID_SIZE];
	int base_known;
	uint64_t epoch; /* bumped by an upstream resync */
	char last_id[HTTPKIT_STREAM_ID_SIZE];
	int stop, streaming;
	long clients, resyncs;
	redstore_terminal *t;
	pthread_t starter;
	int starter_running;
	pthread_mutex_t start_mu; /* serialises starting and restarting the upstream stream */
} fan = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, .start_mu = PTHREAD_MUTEX_INITIALIZER };

/* ------------------------------------------------------------ the ring (fan.mu held) */

static void ring_clear(void)
{
	for (size_t i = 0; i < g_opt.ring_events; i++) {
		free(fan.ring[i].text);
		fan.ring[i].text = NULL;
	}
	fan.count = 0;
}

static void ring_append(const char *id, char *text, size_t len)
{
	slot *s = &fan.ring[fan.head % g_opt.ring_events];
	if (fan.count == g_opt.ring_events) {
		snprintf(fan.base, sizeof(fan.base), "%s", s->id); /* the oldest falls out */
		free(s->text);
	} else {
		fan.count++;
	}
	snprintf(s->id, sizeof(s->id), "%s", id);
	s->text = text;
	s->len = len;
	s->start = fan.bytes;
	fan.bytes += len;
	fan.head++;
	snprintf(fan.last_id, sizeof(fan.last_id), "%s", id);
}

/* ------------------------------------------------------------ the upstream stream */

/* The terminal client's event callback, on its stream thread. */
static void on_upstream(const char *event, const char *id, const char *data, void *payload)
{
	(void)payload;
	pthread_mutex_lock(&fan.mu);
	if (!strcmp(event, "change")) {
		/* a change at or before the newest kept is one the bridge has (a reconnect's overlap) */
		if (!fan.last_id[0] || httpkit_stream_id_cmp(id, fan.last_id) > 0) {
			size_t len;
			char *text = httpkit_sse_event("change", id, data, &len);
			if (!fan.base_known) {
				/* after a resync without a snapshot: the ring begins here, older ids get resync */
				snprintf(fan.base, sizeof(fan.base), "%s", id);
				fan.base_known = 1;
			}
			if (text) {
				ring_append(id, text, len);
			} else {
				/* the ring cannot hold it: it begins after it, and every stream resyncs */
				fprintf(stderr, "redstore-bridge: out of memory: event %s dropped, streams resync\n", id);
				ring_clear();
				snprintf(fan.base, sizeof(fan.base), "%s", id);
				snprintf(fan.last_id, sizeof(fan.last_id), "%s", id);
				fan.epoch++;
			}
		}
	} else if (!strcmp(event, "resync")) {
		/* the bridge fell out of the server's stream: what it keeps no longer continues; a snapshot follows */
		fprintf(stderr, "redstore-bridge: the upstream stream asked for a resync\n");
		ring_clear();
		fan.base_known = 0;
		fan.last_id[0] = '\0';
		fan.epoch++;
	} else if (!strcmp(event, "snapshot")) {
		snprintf(fan.base, sizeof(fan.base), "%s", id);
		snprintf(fan.last_id, sizeof(fan.last_id), "%s", id);
		fan.base_known = 1;
	}
	pthread_cond_broadcast(&fan.cv);
	pthread_mutex_unlock(&fan.mu);
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

/* Starts the upstream stream after `after` with the current token (fan.mu NOT held). */
static int upstream_start(const char *after)
{
	char *tok = uplink_token();
	int rc = redstore_terminal_set_token(fan.t, tok);
	free(tok);
	if (!rc)
		rc = redstore_terminal_events_start(fan.t, after, on_upstream, NULL);
	if (rc)
		fprintf(stderr, "redstore-bridge: upstream event stream: %s\n", redstore_error_last());
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
		pthread_mutex_lock(&fan.mu);
		if (fan.stop) {
			pthread_mutex_unlock(&fan.mu);
			return NULL;
		}
		pthread_mutex_unlock(&fan.mu);
		if (snapshot_id(id) == 0) {
			pthread_mutex_lock(&fan.mu);
			snprintf(fan.base, sizeof(fan.base), "%s", id);
			snprintf(fan.last_id, sizeof(fan.last_id), "%s", id);
			fan.base_known = 1;
			pthread_cond_broadcast(&fan.cv);
			pthread_mutex_unlock(&fan.mu);
			pthread_mutex_lock(&fan.start_mu);
			if (upstream_start(id) == 0) {
				pthread_mutex_lock(&fan.mu);
				fan.streaming = 1;
				pthread_mutex_unlock(&fan.mu);
			}
			pthread_mutex_unlock(&fan.start_mu);
			return NULL;
		}
		ts = bridge_deadline(backoff);
		backoff = backoff * 2 > g_opt.retry_max_ms ? g_opt.retry_max_ms : backoff * 2;
		pthread_mutex_lock(&fan.mu);
		if (!fan.stop)
			pthread_cond_timedwait(&fan.cv, &fan.mu, &ts);
		pthread_mutex_unlock(&fan.mu);
	}
}

int fanout_start(void)
{
	if (!(fan.ring = calloc(g_opt.ring_events, sizeof(*fan.ring))))
		return -1;
	if (redstore_terminal_new(&fan.t, g_opt.upstream, g_opt.store, g_opt.journal) ||
	    redstore_terminal_set_timeout(fan.t, g_opt.upstream_timeout_ms)) {
		fprintf(stderr, "redstore-bridge: %s\n", redstore_error_last());
		return -1;
	}
	if (pthread_create(&fan.starter, NULL, starter_main, NULL)) {
		perror("redstore-bridge: starter thread");
		return -1;
	}
	fan.starter_running = 1;
	return 0;
}

void fanout_restart(void)
{
	char after[HTTPKIT_STREAM_ID_SIZE];
	int streaming;
	pthread_mutex_lock(&fan.start_mu);
	pthread_mutex_lock(&fan.mu);
	streaming = fan.streaming;
	pthread_mutex_unlock(&fan.mu);
	if (streaming) { /* else the starter starts it, with the current token */
		redstore_terminal_events_stop(fan.t); /* after this, nothing is delivered: last_id is final */
		pthread_mutex_lock(&fan.mu);
		snprintf(after, sizeof(after), "%s", fan.last_id);
		pthread_mutex_unlock(&fan.mu);
		if (upstream_start(after[0] ? after : NULL)) {
			pthread_mutex_lock(&fan.mu);
			fan.streaming = 0;
			pthread_mutex_unlock(&fan.mu);
		}
	}
	pthread_mutex_unlock(&fan.start_mu);
}

void fanout_stop(void)
{
	pthread_mutex_lock(&fan.mu);
	fan.stop = 1;
	pthread_cond_broadcast(&fan.cv);
	pthread_mutex_unlock(&fan.mu);
	if (fan.starter_running)
		pthread_join(fan.starter, NULL);
	fan.starter_running = 0;
	pthread_mutex_lock(&fan.start_mu);
	redstore_terminal_events_stop(fan.t);
	pthread_mutex_unlock(&fan.start_mu);
}

void fanout_free(void)
{
	if (fan.ring) {
		ring_clear();
		free(fan.ring);
		fan.ring = NULL;
	}
	redstore_terminal_free(fan.t);
	fan.t = NULL;
}

void fanout_stats(size_t *ring, long *clients, long *resyncs, char last_id[HTTPKIT_STREAM_ID_SIZE], int *streaming)
{
	pthread_mutex_lock(&fan.mu);
	*ring = fan.count;
	*clients = fan.clients;
	*resyncs = fan.resyncs;
	*streaming = fan.streaming;
	snprintf(last_id, HTTPKIT_STREAM_ID_SIZE, "%s", fan.last_id);
	pthread_mutex_unlock(&fan.mu);
}

/* ------------------------------------------------------------ local streams */

typedef struct lstream {
	char after[HTTPKIT_STREAM_ID_SIZE]; /* never send an event at or before this id ("": none) */
	int placed;                         /* seq is set */
	uint64_t seq;                       /* the ring event to send next */
	size_t off;                         /* bytes of it sent */
	uint64_t epoch;
	char pend[160];                     /* private bytes first: retry line, heartbeat, resync */
	size_t pend_len, pend_off;
	int end_after_pend;
	int64_t last_write_ms;
} lstream;

static void pend_set(lstream *s, const char *text)
{
	s->pend_len = (size_t)snprintf(s->pend, sizeof(s->pend), "%s", text);
	s->pend_off = 0;
}

static void resync(lstream *s, const char *reason)
{
	s->pend_len = httpkit_sse_resync(s->pend, sizeof(s->pend), reason);
	s->pend_off = 0;
	s->end_after_pend = 1;
	fan.resyncs++;
}

/* Finds the stream's first event once the ring's beginning is known. */
static void place(lstream *s)
{
	s->epoch = fan.epoch;
	s->placed = 1;
	s->seq = fan.head;
	if (!s->after[0])
		return;
	if (httpkit_stream_id_cmp(s->after, fan.base) < 0) {
		resync(s, "too_old");
		return;
	}
	s->seq = fan.head - fan.count;
	while (s->seq < fan.head && httpkit_stream_id_cmp(fan.ring[s->seq % g_opt.ring_events].id, s->after) <= 0)
		s->seq++;
}

static ssize_t lstream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	lstream *s = cls;
	size_t n = 0;
	(void)pos;
	pthread_mutex_lock(&fan.mu);
	for (;;) {
		int64_t now;
		if (s->pend_off < s->pend_len) {
			n = httpkit_copy_part(buf, max, s->pend, s->pend_len, &s->pend_off);
			break;
		}
		if (s->end_after_pend || fan.stop)
			break;
		if (!s->placed && fan.base_known) {
			place(s);
			continue;
		}
		if (s->placed && s->epoch != fan.epoch) {
			resync(s, "upstream_resync");
			continue;
		}
		/* behind: its next event was overwritten, or more than its buffer waits after the one it is in */
		if (s->placed && s->seq < fan.head &&
		    (s->seq < fan.head - fan.count ||
		     fan.bytes - fan.ring[s->seq % g_opt.ring_events].start - fan.ring[s->seq % g_opt.ring_events].len >
		         g_opt.client_buffer)) {
			resync(s, "slow_client");
			continue;
		}
		while (s->placed && s->seq < fan.head && n < max) {
			slot *e = &fan.ring[s->seq % g_opt.ring_events];
			if (s->off == 0 && s->after[0] && httpkit_stream_id_cmp(e->id, s->after) <= 0) {
				s->seq++;
				continue;
			}
			n += httpkit_copy_part(buf + n, max - n, e->text, e->len, &s->off);
			if (s->off == e->len) {
				s->seq++;
				s->off = 0;
			}
		}
		if (n)
			break;
		now = bridge_now_ms();
		if (now - s->last_write_ms >= g_opt.heartbeat_ms) {
			pend_set(s, ": heartbeat\n\n");
			continue;
		}
		{
			struct timespec ts = bridge_deadline(s->last_write_ms + g_opt.heartbeat_ms - now);
			pthread_cond_timedwait(&fan.cv, &fan.mu, &ts);
		}
	}
	pthread_mutex_unlock(&fan.mu);
	if (!n)
		return MHD_CONTENT_READER_END_OF_STREAM;
	s->last_write_ms = bridge_now_ms();
	return (ssize_t)n;
}

static void lstream_free(void *cls)
{
	pthread_mutex_lock(&fan.mu);
	fan.clients--;
	pthread_mutex_unlock(&fan.mu);
	free(cls);
}

void fanout_open(httpkit_reply *out, struct MHD_Connection *conn)
{
	const char *last = httpkit_last_event_id(conn);
	struct MHD_Response *resp;
	lstream *s;
	if (last && !httpkit_stream_id_valid(last)) {
		httpkit_reply_error(out, 400, "invalid_last_event_id", "Last-Event-ID \"%.60s\" is not a stream id (<ms>-<seq>)",
		                    last);
		return;
	}
	if (!(s = calloc(1, sizeof(*s)))) {
		httpkit_reply_error(out, 500, "internal", "out of memory");
		return;
	}
	snprintf(s->after, sizeof(s->after), "%s", last ? last : "");
	pend_set(s, "retry: 1000\n\n");
	s->last_write_ms = bridge_now_ms();
	pthread_mutex_lock(&fan.mu);
	if (!last && fan.base_known)
		place(s); /* from now on: what arrives after this request */
	fan.clients++;
	pthread_mutex_unlock(&fan.mu);
	if (!(resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, lstream_read, s, lstream_free))) {
		lstream_free(s);
		httpkit_reply_error(out, 500, "internal", "out of memory");
		return;
	}
	httpkit_sse_headers(resp);
	out->status = 200;
	out->response = resp;
}
