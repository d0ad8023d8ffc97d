/*
 * redstore-server, sync: the hub and the Server-Sent Events streams.
 *
 * The hub is one thread with one Redis connection of its own, subscribed to every store's change channel
 * (PSUBSCRIBE rs:{s:*}:changes). A notification marks the store's channel dirty; the hub then reads the
 * store's new changes ONCE with redstore_sync_read, formats each as an SSE event, and appends it to the
 * channel's ring: a bounded buffer shared by every stream of the store. Each stream only holds a position
 * in that ring, so memory does not grow with the number of streams or with a slow reader: a stream whose
 * position the ring has overwritten is sent `event: resync` and closed.
 *
 * A stream starts in catch-up: it reads the changes after its Last-Event-ID from Redis itself, a page at a
 * time (or gets `event: resync` when the stream no longer holds that id), until it reaches the channel's
 * position, then joins the ring. A stream with nothing to send is suspended (MHD_suspend_connection) and
 * resumed by the hub when an event or a heartbeat is due: no thread polls.
 *
 * A stream's session stays checked while it lives: it ends at the token's expiry, and the token is
 * verified again every --sse-reauth-ms (terminal revoked, employee deactivated or demoted). Either ends
 * the stream with `event: unauthorized` (data: the JSON error), which a client answers by logging in
 * again and reconnecting with its Last-Event-ID: nothing is missed.
 *
 * Locking: hub.mu guards the channels, their rings and every stream's position and flags. Connections are
 * resumed after hub.mu is released; a suspended connection cannot be closed by libmicrohttpd, so the
 * pointer stays valid until it is resumed.
 */
#include "server.h"

#include "core/core_int.h" /* redstore__redis_url_parse: the hub connects to the configured Redis itself */

#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CATCHUP_PAGE 256
#define HUB_PAGE 1000

typedef struct ring_ev {
	char id[REDSTORE_STREAM_ID_SIZE];
	char *text;
	size_t len;
} ring_ev;

typedef struct channel {
	char store[65];
	char last_id[REDSTORE_STREAM_ID_SIZE];  /* the hub has read up to here */
	char first_prev[REDSTORE_STREAM_ID_SIZE]; /* the id just before the oldest event in the ring */
	ring_ev *ring;
	uint64_t head;  /* sequence number of the next event; the ring holds [head - count, head) */
	size_t count;
	size_t streams;
	int dirty, broken;
	struct channel *next;
} channel;

typedef struct stream {
	struct MHD_Connection *conn;
	char store[65];
	channel *ch;                              /* NULL while catching up */
	char cursor[REDSTORE_STREAM_ID_SIZE];     /* catch-up: the last id sent */
	char skip_to[REDSTORE_STREAM_ID_SIZE];    /* live: ring events up to this id were sent in catch-up */
	uint64_t seq;                             /* live: the ring event to send next */
	size_t off;                               /* bytes of it already sent */
	char *pend;                               /* private bytes to send first (catch-up page, heartbeat...) */
	size_t pend_len, pend_off;
	int suspended, end_after_pend, want_hb;
	int want_auth;                            /* the session must be verified before anything else is sent */
	char *token;                              /* the session token the stream was opened with */
	int64_t expires_at_ms;                    /* its expiry (wall clock, ms since the epoch) */
	int64_t next_auth_ms;                     /* when to verify it again (monotonic) */
	int64_t last_write_ms;
	struct stream *prev, *next;
} stream;

static struct {
	pthread_mutex_t mu;
	pthread_t thread;
	int started;
	int stop;
	int wake[2];
	server_options opt;
	redstore_config *cfg;
	channel *channels;
	stream *streams;
	int connected;
} hub = { .mu = PTHREAD_MUTEX_INITIALIZER, .wake = { -1, -1 } };

static int64_t clock_ms(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t now_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

/* ------------------------------------------------------------ formatting */

static char *format_change(const redstore_change *c, size_t *len)
{
	return httpkit_sse_event("change", c->id, c->json, len);
}

/* Replaces the stream's private bytes (they must have been sent). */
static void pend_set(stream *s, char *bytes, size_t len)
{
	free(s->pend);
	s->pend = bytes;
	s->pend_len = len;
	s->pend_off = 0;
}

static void pend_text(stream *s, const char *text)
{
	char *b = strdup(text);
	pend_set(s, b, b ? strlen(b) : 0);
}

static void send_resync(stream *s, const char *reason)
{
	char text[160];
	httpkit_sse_resync(text, sizeof(text), reason);
	pend_text(s, text);
	s->end_after_pend = 1;
	atomic_fetch_add(&g_metrics.sse_resyncs, 1);
}

/* Verifies the stream's session again (hub.mu NOT held). 0: still good; -1: pend holds the stream's
 * last event, `unauthorized`. */
static int verify_session(stream *s)
{
	redstore_client *c = server_client_take();
	server_reply r = { 0 };
	size_t len = 0;
	char *ev = NULL;
	int rc = -1;
	if (c) {
		rc = server_authorize_token(&r, s->token, c, s->store, SERVER_PERM_READ);
		redstore_auth_detach(c);
		redstore_error_clear();
		server_client_give(c);
	} else {
		httpkit_reply_error(&r, 503, "unavailable", "no client to verify the session with");
	}
	if (rc && r.status >= 500) {
		/* the engines cannot say now: keep the stream, try again at the next check */
		free(r.json);
		return 0;
	}
	if (rc)
		ev = httpkit_sse_event("unauthorized", NULL, r.json ? r.json : "{}", &len);
	free(r.json);
	if (!rc)
		return 0;
	pthread_mutex_lock(&hub.mu);
	if (ev)
		pend_set(s, ev, len);
	s->end_after_pend = 1;
	pthread_mutex_unlock(&hub.mu);
	return -1;
}

/* ------------------------------------------------------------ channels (hub.mu held) */

static channel *channel_find(const char *store)
{
	for (channel *c = hub.channels; c; c = c->next)
		if (!c->broken && !strcmp(c->store, store))
			return c;
	return NULL;
}

static channel *channel_new(const char *store, const char *last_id)
{
	channel *c = calloc(1, sizeof(*c));
	if (!c || !(c->ring = calloc(hub.opt.sse_buffer, sizeof(*c->ring)))) {
		free(c);
		return NULL;
	}
	snprintf(c->store, sizeof(c->store), "%s", store);
	snprintf(c->last_id, sizeof(c->last_id), "%s", last_id);
	snprintf(c->first_prev, sizeof(c->first_prev), "%s", last_id);
	c->next = hub.channels;
	hub.channels = c;
	return c;
}

static void channel_free(channel *c)
{
	for (size_t i = 0; i < hub.opt.sse_buffer; i++)
		free(c->ring[i].text);
	free(c->ring);
	free(c);
}

static void channel_append(channel *c, const redstore_change *x, char *text, size_t len)
{
	ring_ev *slot = &c->ring[c->head % hub.opt.sse_buffer];
	if (c->count == hub.opt.sse_buffer) {
		snprintf(c->first_prev, sizeof(c->first_prev), "%s", slot->id);
		free(slot->text);
	} else {
		c->count++;
	}
	snprintf(slot->id, sizeof(slot->id), "%s", x->id);
	slot->text = text;
	slot->len = len;
	c->head++;
	snprintf(c->last_id, sizeof(c->last_id), "%s", x->id);
}

/* Places a caught-up stream (its cursor is current as of a read that found nothing newer) on its
 * store's channel. Returns 1 when it joined, 0 when the ring does not reach back to the cursor (read on). */
static int stream_join(stream *s)
{
	channel *c = channel_find(s->store);
	if (!c) {
		if (!(c = channel_new(s->store, s->cursor)))
			return 0;
		/* a change may have been announced before the channel existed: the hub reads once now */
		c->dirty = 1;
		if (write(hub.wake[1], "j", 1) < 0) {
			/* the pipe is full: the hub is awake already */
		}
	}
	if (httpkit_stream_id_cmp(s->cursor, c->last_id) >= 0) {
		s->seq = c->head;
		snprintf(s->skip_to, sizeof(s->skip_to), "%s", s->cursor);
	} else if (httpkit_stream_id_cmp(s->cursor, c->first_prev) >= 0) {
		uint64_t q = c->head - c->count;
		while (q < c->head && httpkit_stream_id_cmp(c->ring[q % hub.opt.sse_buffer].id, s->cursor) <= 0)
			q++;
		s->seq = q;
		s->skip_to[0] = '\0';
	} else {
		return 0;
	}
	s->ch = c;
	s->off = 0;
	c->streams++;
	return 1;
}

/* ------------------------------------------------------------ the content reader */

/* Reads the next page after the stream's cursor from Redis (hub.mu NOT held). Fills pend, or joins the
 * channel when there is nothing newer. Returns -1 when the stream must close. */
static int catch_up(stream *s)
{
	redstore_client *c = server_client_take();
	redstore_changes *chs = NULL;
	int rc = -1;
	if (!c)
		return -1;
	if (redstore_client_use_store(c, s->store) || redstore_sync_read(&chs, c, s->cursor, CATCHUP_PAGE, 0)) {
		fprintf(stderr, "redstore-server: catch-up of %s after %s: %s\n", s->store, s->cursor, redstore_error_last());
		goto out;
	}
	pthread_mutex_lock(&hub.mu);
	if (chs->resync) {
		send_resync(s, "too_old");
	} else if (chs->count) {
		size_t total = 0, len;
		char *buf, *t;
		for (size_t i = 0; i < chs->count; i++)
			total += strlen(chs->items[i].id) + strlen(chs->items[i].json) + 40;
		if ((buf = malloc(total + 1))) {
			size_t n = 0;
			for (size_t i = 0; i < chs->count; i++) {
				if (!(t = format_change(&chs->items[i], &len)))
					break;
				memcpy(buf + n, t, len);
				n += len;
				free(t);
			}
			pend_set(s, buf, n);
			snprintf(s->cursor, sizeof(s->cursor), "%s", chs->last_id);
			atomic_fetch_add(&g_metrics.sse_events_sent, (long)chs->count);
		}
	} else if (!stream_join(s)) {
		/* the hub moved on meanwhile: read again */
	}
	pthread_mutex_unlock(&hub.mu);
	rc = 0;
out:
	redstore_changes_free(chs);
	redstore_error_clear();
	server_client_give(c);
	return rc;
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	stream *s = cls;
	size_t n = 0;
	ssize_t ret;
	(void)pos;
	pthread_mutex_lock(&hub.mu);
	for (;;) {
		if (s->pend_off < s->pend_len) {
			n += httpkit_copy_part(buf + n, max - n, s->pend, s->pend_len, &s->pend_off);
			break;
		}
		if (s->end_after_pend || __atomic_load_n(&hub.stop, __ATOMIC_ACQUIRE))
			break;
		if (s->want_auth) {
			s->want_auth = 0;
			pthread_mutex_unlock(&hub.mu);
			verify_session(s);
			pthread_mutex_lock(&hub.mu);
			s->next_auth_ms = now_ms() + hub.opt.reauth_ms;
			continue;
		}
		if (!s->ch) {
			int rc;
			pthread_mutex_unlock(&hub.mu);
			rc = catch_up(s);
			pthread_mutex_lock(&hub.mu);
			if (rc) {
				s->end_after_pend = 1;
				break;
			}
			continue;
		}
		channel *c = s->ch;
		if (c->broken) {
			send_resync(s, "gap");
			continue;
		}
		if (s->seq < c->head - c->count) {
			send_resync(s, "slow_client");
			continue;
		}
		while (s->seq < c->head && n < max) {
			ring_ev *e = &c->ring[s->seq % hub.opt.sse_buffer];
			if (s->off == 0 && s->skip_to[0] && httpkit_stream_id_cmp(e->id, s->skip_to) <= 0) {
				s->seq++;
				continue;
			}
			n += httpkit_copy_part(buf + n, max - n, e->text, e->len, &s->off);
			if (s->off == e->len) {
				s->seq++;
				s->off = 0;
				atomic_fetch_add(&g_metrics.sse_events_sent, 1);
			}
		}
		if (n)
			break;
		if (s->want_hb) {
			s->want_hb = 0;
			pend_text(s, ": heartbeat\n\n");
			atomic_fetch_add(&g_metrics.sse_heartbeats, 1);
			continue;
		}
		/* nothing to send: sleep until the hub has something (it resumes us after setting suspended = 0) */
		s->suspended = 1;
		MHD_suspend_connection(s->conn);
		break;
	}
	if (n) {
		s->want_hb = 0;
		s->last_write_ms = now_ms();
		ret = (ssize_t)n;
	} else {
		/* decided under the lock: once it is released the hub may already have resumed this stream */
		ret = s->suspended ? 0 : MHD_CONTENT_READER_END_OF_STREAM;
	}
	pthread_mutex_unlock(&hub.mu);
	return ret;
}

static void sse_free(void *cls)
{
	stream *s = cls;
	pthread_mutex_lock(&hub.mu);
	if (s->ch)
		s->ch->streams--;
	if (s->prev)
		s->prev->next = s->next;
	else
		hub.streams = s->next;
	if (s->next)
		s->next->prev = s->prev;
	pthread_mutex_unlock(&hub.mu);
	atomic_fetch_sub(&g_metrics.sse_connections, 1);
	free(s->pend);
	free(s->token);
	free(s);
}

/* ------------------------------------------------------------ opening a stream */

void sse_open(server_reply *out, const server_request *req, redstore_client *c)
{
	const char *last = httpkit_last_event_id(req->conn), *token = httpkit_bearer(req->conn);
	redstore_session_info who;
	stream *s;
	struct MHD_Response *resp;
	int rc;
	if ((rc = redstore_auth_session(&who, c))) {
		server_reply_lib_error(out, rc);
		return;
	}
	if (last && !httpkit_stream_id_valid(last)) {
		httpkit_reply_error(out, 400, "invalid_last_event_id",
		                   "Last-Event-ID \"%.60s\" is not a stream id (<ms>-<seq>)", last);
		return;
	}
	if (!(s = calloc(1, sizeof(*s))) || !token || !(s->token = strdup(token))) {
		free(s);
		httpkit_reply_error(out, 500, "internal", "out of memory");
		return;
	}
	s->expires_at_ms = who.expires_at_ms;
	s->next_auth_ms = now_ms() + hub.opt.reauth_ms;
	s->conn = req->conn;
	snprintf(s->store, sizeof(s->store), "%s", req->params[0]);
	pend_text(s, "retry: 1000\n\n");
	s->last_write_ms = now_ms();
	if (last) {
		snprintf(s->cursor, sizeof(s->cursor), "%s", last);
	} else {
		/* No resume point: start at the present. A live channel knows it; otherwise a snapshot does. */
		channel *ch;
		pthread_mutex_lock(&hub.mu);
		ch = channel_find(s->store);
		if (ch) {
			snprintf(s->cursor, sizeof(s->cursor), "%s", ch->last_id);
			stream_join(s);
		}
		pthread_mutex_unlock(&hub.mu);
		if (!ch) {
			redstore_snapshot *snap;
			if ((rc = redstore_sync_snapshot(&snap, c))) {
				free(s->pend);
				free(s->token);
				free(s);
				server_reply_lib_error(out, rc);
				return;
			}
			snprintf(s->cursor, sizeof(s->cursor), "%s", snap->stream_id[0] ? snap->stream_id : "0");
			redstore_snapshot_free(snap);
		}
	}
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 2048, sse_read, s, sse_free);
	if (!resp) {
		pthread_mutex_lock(&hub.mu);
		if (s->ch)
			s->ch->streams--;
		pthread_mutex_unlock(&hub.mu);
		free(s->pend);
		free(s->token);
		free(s);
		httpkit_reply_error(out, 500, "internal", "out of memory");
		return;
	}
	httpkit_sse_headers(resp);
	pthread_mutex_lock(&hub.mu);
	s->next = hub.streams;
	if (hub.streams)
		hub.streams->prev = s;
	hub.streams = s;
	pthread_mutex_unlock(&hub.mu);
	atomic_fetch_add(&g_metrics.sse_connections, 1);
	out->status = 200;
	out->response = resp;
}

/* ------------------------------------------------------------ the hub thread */

/* Resumes the given connections (collected under hub.mu, resumed without it). */
static void resume_all(struct MHD_Connection **conns, size_t n)
{
	for (size_t i = 0; i < n; i++)
		MHD_resume_connection(conns[i]);
}

/* Collects the suspended streams matching ch (NULL: all that want a heartbeat or must end). hub.mu held. */
static struct MHD_Connection **collect(channel *ch, size_t *n, int all)
{
	size_t cap = 0;
	struct MHD_Connection **v;
	*n = 0;
	for (stream *s = hub.streams; s; s = s->next)
		cap++;
	if (!(v = malloc((cap + 1) * sizeof(*v))))
		return NULL;
	for (stream *s = hub.streams; s; s = s->next) {
		if (!s->suspended)
			continue;
		if (all || (ch && s->ch == ch) || (!ch && (s->want_hb || s->want_auth))) {
			s->suspended = 0;
			v[(*n)++] = s->conn;
		}
	}
	return v;
}

static redisContext *hub_connect(void)
{
	redstore__redis_url u;
	struct timeval tv = { 2, 0 };
	redisContext *r;
	redisReply *rep;
	const char *url = NULL;
	if (redstore_config_get(&url, hub.cfg, "redis.url") || redstore__redis_url_parse(&u, url))
		return NULL;
	r = u.path[0] ? redisConnectUnixWithTimeout(u.path, tv) : redisConnectWithTimeout(u.host, u.port, tv);
	if (!r || r->err) {
		if (r)
			redisFree(r);
		return NULL;
	}
	if (u.password[0]) {
		rep = u.user[0] ? redisCommand(r, "AUTH %s %s", u.user, u.password) : redisCommand(r, "AUTH %s", u.password);
		if (!rep || rep->type == REDIS_REPLY_ERROR) {
			if (rep)
				freeReplyObject(rep);
			redisFree(r);
			return NULL;
		}
		freeReplyObject(rep);
	}
	rep = redisCommand(r, "PSUBSCRIBE %s", "rs:{s:*}:changes");
	if (!rep || rep->type == REDIS_REPLY_ERROR) {
		if (rep)
			freeReplyObject(rep);
		redisFree(r);
		return NULL;
	}
	freeReplyObject(rep);
	return r;
}

/* A pmessage [pmessage, pattern, channel, id]: marks the store's channel dirty. */
static void on_message(redisReply *m)
{
	const char *ch, *end;
	char store[65];
	size_t n;
	if (m->type != REDIS_REPLY_ARRAY || m->elements != 4 || m->element[2]->type != REDIS_REPLY_STRING)
		return;
	ch = m->element[2]->str;
	if (strncmp(ch, "rs:{s:", 6) || !(end = strstr(ch + 6, "}:changes")) || end[9])
		return;
	n = (size_t)(end - (ch + 6));
	if (n == 0 || n >= sizeof(store))
		return;
	memcpy(store, ch + 6, n);
	store[n] = '\0';
	pthread_mutex_lock(&hub.mu);
	channel *c = channel_find(store);
	if (c)
		c->dirty = 1;
	pthread_mutex_unlock(&hub.mu);
}

/* Reads every dirty channel's new changes once and wakes its streams. */
static void read_dirty(redstore_client *client)
{
	for (;;) {
		channel *c = NULL;
		char store[65], after[REDSTORE_STREAM_ID_SIZE];
		redstore_changes *chs = NULL;
		struct MHD_Connection **v;
		size_t n;
		int rc;
		pthread_mutex_lock(&hub.mu);
		for (channel *x = hub.channels; x && !c; x = x->next)
			if (x->dirty && !x->broken)
				c = x;
		if (c) {
			c->dirty = 0;
			snprintf(store, sizeof(store), "%s", c->store);
			snprintf(after, sizeof(after), "%s", c->last_id);
		}
		pthread_mutex_unlock(&hub.mu);
		if (!c)
			return;
		/* only the hub frees channels, so c stays valid while the lock is released */
		rc = redstore_client_use_store(client, store);
		if (!rc)
			rc = redstore_sync_read(&chs, client, after, HUB_PAGE, 0);
		atomic_fetch_add(&g_metrics.hub_reads, 1);
		pthread_mutex_lock(&hub.mu);
		if (rc) {
			fprintf(stderr, "redstore-server: hub read of %s: %s\n", store, redstore_error_last());
			c->dirty = 1; /* try again on the next round */
			pthread_mutex_unlock(&hub.mu);
			return;
		}
		if (chs->resync) {
			c->broken = 1; /* the hub fell behind the stream: every stream of the store must resync */
		} else {
			for (size_t i = 0; i < chs->count; i++) {
				size_t len;
				char *t = format_change(&chs->items[i], &len);
				if (!t) {
					c->broken = 1;
					break;
				}
				channel_append(c, &chs->items[i], t, len);
			}
			atomic_fetch_add(&g_metrics.hub_events, (long)chs->count);
			if (chs->count == HUB_PAGE)
				c->dirty = 1;
		}
		v = collect(c, &n, 0);
		pthread_mutex_unlock(&hub.mu);
		redstore_changes_free(chs);
		if (v) {
			resume_all(v, n);
			free(v);
		}
	}
}

/* Heartbeats and session checks due, channels nobody listens to any more. */
static void tick(void)
{
	int64_t now = now_ms(), wall = clock_ms(CLOCK_REALTIME);
	struct MHD_Connection **v;
	size_t n;
	pthread_mutex_lock(&hub.mu);
	for (stream *s = hub.streams; s; s = s->next) {
		if (now - s->last_write_ms >= hub.opt.heartbeat_ms)
			s->want_hb = 1;
		if (!s->end_after_pend && (wall >= s->expires_at_ms || now >= s->next_auth_ms))
			s->want_auth = 1;
	}
	for (channel **pc = &hub.channels; *pc;) {
		channel *c = *pc;
		if (c->streams == 0) {
			int used = 0;
			for (stream *s = hub.streams; s && !used; s = s->next)
				used = s->ch == c;
			if (!used) {
				*pc = c->next;
				channel_free(c);
				continue;
			}
		}
		pc = &c->next;
	}
	v = collect(NULL, &n, 0);
	pthread_mutex_unlock(&hub.mu);
	if (v) {
		resume_all(v, n);
		free(v);
	}
}

static void *hub_main(void *arg)
{
	redstore_client *client = NULL;
	redisContext *r = NULL;
	int64_t next_tick = now_ms(), backoff = 100;
	int tick_ms = hub.opt.heartbeat_ms / 4 > 50 ? hub.opt.heartbeat_ms / 4 : 50;
	(void)arg;
	if (redstore_client_new(&client, hub.cfg)) {
		fprintf(stderr, "redstore-server: hub client: %s\n", redstore_error_last());
		return NULL;
	}
	while (!__atomic_load_n(&hub.stop, __ATOMIC_ACQUIRE)) {
		struct pollfd p[2] = { { hub.wake[0], POLLIN, 0 }, { -1, POLLIN, 0 } };
		int64_t now = now_ms(), wait;
		if (!r) {
			if ((r = hub_connect())) {
				backoff = 100;
				pthread_mutex_lock(&hub.mu);
				hub.connected = 1;
				for (channel *c = hub.channels; c; c = c->next)
					c->dirty = 1; /* notifications may have been missed while disconnected */
				pthread_mutex_unlock(&hub.mu);
			} else {
				struct pollfd w = { hub.wake[0], POLLIN, 0 };
				fprintf(stderr, "redstore-server: the hub cannot reach Redis; retrying in %lld ms\n",
				        (long long)backoff);
				poll(&w, 1, (int)backoff);
				backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
				tick();
				continue;
			}
		}
		p[1].fd = r->fd;
		wait = next_tick - now;
		if (wait < 0)
			wait = 0;
		if (poll(p, 2, (int)wait) < 0 && errno != EINTR)
			break;
		if (p[0].revents & POLLIN) {
			char drain[64];
			while (read(hub.wake[0], drain, sizeof(drain)) > 0) {
			}
		}
		if (p[1].revents & (POLLIN | POLLERR | POLLHUP)) {
			void *reply = NULL;
			if (redisBufferRead(r) != REDIS_OK) {
				fprintf(stderr, "redstore-server: the hub lost Redis: %s\n", r->errstr);
				redisFree(r);
				r = NULL;
				pthread_mutex_lock(&hub.mu);
				hub.connected = 0;
				pthread_mutex_unlock(&hub.mu);
				continue;
			}
			while (redisGetReplyFromReader(r, &reply) == REDIS_OK && reply) {
				on_message(reply);
				freeReplyObject(reply);
				reply = NULL;
			}
		}
		read_dirty(client);
		if (now_ms() >= next_tick) {
			tick();
			next_tick = now_ms() + tick_ms;
		}
	}
	/* stopping: wake every stream so it ends */
	{
		struct MHD_Connection **v;
		size_t n;
		pthread_mutex_lock(&hub.mu);
		v = collect(NULL, &n, 1);
		pthread_mutex_unlock(&hub.mu);
		if (v) {
			resume_all(v, n);
			free(v);
		}
	}
	if (r)
		redisFree(r);
	redstore_client_free(client);
	return NULL;
}

int sse_hub_start(const server_options *opt, const redstore_config *cfg)
{
	hub.opt = *opt;
	if (redstore_config_dup(&hub.cfg, cfg)) {
		fprintf(stderr, "redstore-server: %s\n", redstore_error_last());
		return -1;
	}
	if (pipe(hub.wake) || fcntl(hub.wake[0], F_SETFL, O_NONBLOCK) || fcntl(hub.wake[1], F_SETFL, O_NONBLOCK)) {
		perror("redstore-server: pipe");
		return -1;
	}
	if (pthread_create(&hub.thread, NULL, hub_main, NULL)) {
		perror("redstore-server: hub thread");
		return -1;
	}
	hub.started = 1;
	return 0;
}

int sse_hub_connected(void)
{
	int c;
	pthread_mutex_lock(&hub.mu);
	c = hub.connected;
	pthread_mutex_unlock(&hub.mu);
	return c;
}

void sse_hub_stop(void)
{
	__atomic_store_n(&hub.stop, 1, __ATOMIC_RELEASE);
	if (hub.wake[1] >= 0 && write(hub.wake[1], "s", 1) < 0) {
		/* full: the hub wakes anyway */
	}
}

void sse_hub_join(void)
{
	if (hub.started)
		pthread_join(hub.thread, NULL);
	hub.started = 0;
}

void sse_hub_free(void)
{
	while (hub.channels) {
		channel *c = hub.channels;
		hub.channels = c->next;
		channel_free(c);
	}
	if (hub.wake[0] >= 0) {
		close(hub.wake[0]);
		close(hub.wake[1]);
		hub.wake[0] = hub.wake[1] = -1;
	}
	redstore_config_free(hub.cfg);
	hub.cfg = NULL;
}
