/*
 * The fan-out hub (redstore/hub.h): one source of store changes per process, served to any number of
 * Server-Sent Events streams.
 *
 * Each store with streams has a channel: a ring of its last events, each serialised ONCE as SSE text,
 * and the list of its live streams. A batch of new events (one Redis read, or one publish) goes into the
 * ring, then each live stream's output buffer gets a copy of the batch in one step and, if it was
 * waiting, one `ready` call after the locks are released. A stream that would hold more than its byte
 * limit is cut off with a resync; nobody else waits for it.
 *
 * A stream opened with a Last-Event-ID starts in catch-up: it reads from the ring when the ring reaches
 * back to its id, else (Redis hub) the hub's thread reads the Redis stream after its id a page at a time
 * while the stream's buffer has room, until it reaches the channel and joins it. All Redis I/O is on the
 * hub's thread (besides the one "present" look-up of an open), so the channel's position and a joining
 * stream's cursor are always compared under one lock.
 *
 * Locks: hub->mu guards the channels, the stream lists, each stream's state, cursor and channel, and the
 * counters. conn->mu guards a stream's buffer and flags. Order: hub->mu, then conn->mu. `ready` and
 * `check` are called under neither; `wait` under conn->mu only. conn->holds counts the hub's uses of a
 * stream outside the locks (a `ready` call, a catch-up read): close waits for it to drop to zero.
 */
#include "engines/engines_int.h"

#include "redstore/hub.h"
#include "redstore/sync.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ID_SIZE REDSTORE_STREAM_ID_SIZE
#define CATCHUP_PAGE 256
#define HUB_PAGE 1000
#define MAX_DATA (1024 * 1024)
#define MAX_END_DATA (64 * 1024)

typedef struct hub_ev {
	char id[ID_SIZE];
	char *text;
	size_t len;
} hub_ev;

typedef struct channel {
	char store[65];
	char last_id[ID_SIZE];    /* the newest event of the ring, or where the source was read up to */
	char first_prev[ID_SIZE]; /* the id just before the oldest event kept: the ring covers (first_prev, last_id] */
	int based;                /* the beginning is known (always for a Redis hub) */
	int dirty;                /* Redis hub: new changes were announced */
	hub_ev *ring;
	uint64_t head;            /* sequence of the next event; the ring holds [head - count, head) */
	size_t count;
	struct redstore_hub_conn *live; /* its live streams */
	struct channel *next;
} channel;

enum { ST_CATCHUP, ST_LIVE, ST_WAITBASE, ST_DONE };

struct redstore_hub_conn {
	redstore_hub *hub;
	char store[65];
	redstore_hub_io io;
	/* hub->mu */
	int state;
	channel *ch;                 /* ST_LIVE */
	char cursor[ID_SIZE];        /* catch-up: the last id given; "" (waiting for a base): the present */
	char skip_to[ID_SIZE];       /* live: channel events up to this id were given in catch-up */
	struct redstore_hub_conn *next, *prev, *cnext, *cprev;
	/* conn->mu */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char *buf;
	size_t off, len, cap;
	int waiting, ended, closed, holds, check_due, want_more;
	int64_t next_check_ms;       /* monotonic */
	int64_t last_sent_ms;        /* monotonic: bytes last went out, or the stream opened */
};

typedef struct notes {
	redstore_hub_conn **v;
	size_t n, cap;
} notes;

struct redstore_hub {
	pthread_mutex_t mu;
	redstore_hub_options opt;
	int fed;
	int refs;
	int stopping, stopped;
	int wake[2];
	pthread_t thread;
	int thread_started;
	redstore_config *cfg;
	channel *channels;
	redstore_hub_conn *conns;
	size_t nconns;
	/* the look-up of the present for an open (Redis hub) */
	pthread_mutex_t present_mu;
	redstore_client *present;
	/* counters (hub->mu) */
	int connected;
	long events_sent, resyncs, heartbeats, reads, events_read;
	char last_id[ID_SIZE];
};

/* ------------------------------------------------------------ small helpers */

static int64_t clock_ms(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

/* <ms> or <ms>-<seq>, shorter than ID_SIZE. */
static int id_valid(const char *s)
{
	size_t n = 0, digits = 0;
	int dash = 0;
	for (const char *p = s; *p; p++, n++) {
		if (*p >= '0' && *p <= '9')
			digits++;
		else if (*p == '-' && !dash && digits && p[1])
			dash = 1;
		else
			return 0;
	}
	return n > 0 && n < ID_SIZE;
}

/* Compares two stream ids numerically ("" is before everything). */
static int id_cmp(const char *a, const char *b)
{
	unsigned long long am = strtoull(a, NULL, 10), bm = strtoull(b, NULL, 10), as = 0, bs = 0;
	const char *d;
	if (!*a || !*b)
		return (*a != 0) - (*b != 0);
	if (am != bm)
		return am < bm ? -1 : 1;
	if ((d = strchr(a, '-')))
		as = strtoull(d + 1, NULL, 10);
	if ((d = strchr(b, '-')))
		bs = strtoull(d + 1, NULL, 10);
	return as < bs ? -1 : as > bs;
}

static int event_name_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 47)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' || *s == '-'))
			return 0;
	return 1;
}

static int data_valid(const char *s, size_t max)
{
	size_t n = strcspn(s, "\r\n");
	return !s[n] && n <= max;
}

/* "id: <id>\nevent: <event>\ndata: <data>\n\n" (no id line for NULL), malloc'ed. */
static char *sse_text(const char *event, const char *id, const char *data, size_t *len)
{
	size_t n = (id ? strlen(id) + 5 : 0) + strlen(event) + strlen(data) + 24;
	char *t = malloc(n);
	int w;
	if (!t)
		return NULL;
	w = id ? snprintf(t, n, "id: %s\nevent: %s\ndata: %s\n\n", id, event, data)
	       : snprintf(t, n, "event: %s\ndata: %s\n\n", event, data);
	*len = (size_t)w;
	return t;
}

static void wake(redstore_hub *h)
{
	if (write(h->wake[1], "w", 1) < 0) {
		/* the pipe is full: the thread is awake already */
	}
}

/* ------------------------------------------------------------ a stream's buffer (conn->mu held) */

static size_t pending(const redstore_hub_conn *c)
{
	return c->len - c->off;
}

/* Appends bytes; 0 or -1 (out of memory). */
static int put(redstore_hub_conn *c, const char *bytes, size_t n)
{
	if (c->off && c->off == c->len)
		c->off = c->len = 0;
	if (c->len + n > c->cap) {
		if (c->off) { /* move what is left to the front first */
			memmove(c->buf, c->buf + c->off, c->len - c->off);
			c->len -= c->off;
			c->off = 0;
		}
		if (c->len + n > c->cap) {
			size_t cap = c->cap ? c->cap : 4096;
			char *b;
			while (cap < c->len + n)
				cap *= 2;
			if (!(b = realloc(c->buf, cap)))
				return -1;
			c->buf = b;
			c->cap = cap;
		}
	}
	memcpy(c->buf + c->len, bytes, n);
	c->len += n;
	return 0;
}

/* Would n more bytes exceed the stream's limit? A stream holding nothing always takes one event. */
static int fits(const redstore_hub_conn *c, size_t n)
{
	return pending(c) == 0 || pending(c) + n <= c->hub->opt.conn_buffer_bytes;
}

/* Ends the stream after a resync event (hub->mu and conn->mu held). */
static void cut(redstore_hub_conn *c, const char *reason)
{
	char text[128];
	int n;
	if (c->ended)
		return;
	n = snprintf(text, sizeof(text), "event: resync\ndata: {\"reason\":\"%s\"}\n\n", reason);
	if (put(c, text, (size_t)n)) {
		/* out of memory: end without it; the client reconnects with its Last-Event-ID */
	}
	c->ended = 1;
	c->hub->resyncs++;
}

/* Queues a waiting stream's `ready` (conn->mu held). */
static void mark_ready(notes *ns, redstore_hub_conn *c)
{
	if (!c->waiting || c->closed)
		return;
	if (ns->n == ns->cap) {
		size_t cap = ns->cap ? ns->cap * 2 : 64;
		redstore_hub_conn **v = realloc(ns->v, cap * sizeof(*v));
		if (!v)
			return; /* stays waiting: the next tick makes it ready */
		ns->v = v;
		ns->cap = cap;
	}
	c->waiting = 0;
	c->holds++;
	ns->v[ns->n++] = c;
}

static void release_hold(redstore_hub_conn *c)
{
	pthread_mutex_lock(&c->mu);
	if (--c->holds == 0 && c->closed)
		pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

/* Calls the queued `ready`s (no lock held). */
static void notify(notes *ns)
{
	for (size_t i = 0; i < ns->n; i++) {
		redstore_hub_conn *c = ns->v[i];
		c->io.ready(c->io.payload);
		release_hold(c);
	}
	free(ns->v);
	ns->v = NULL;
	ns->n = ns->cap = 0;
}

/* ------------------------------------------------------------ channels (hub->mu held) */

static channel *channel_find(redstore_hub *h, const char *store)
{
	for (channel *c = h->channels; c; c = c->next)
		if (!strcmp(c->store, store))
			return c;
	return NULL;
}

static channel *channel_new(redstore_hub *h, const char *store, const char *last_id)
{
	channel *c = calloc(1, sizeof(*c));
	if (!c || !(c->ring = calloc(h->opt.ring_events, sizeof(*c->ring)))) {
		free(c);
		return NULL;
	}
	snprintf(c->store, sizeof(c->store), "%s", store);
	snprintf(c->last_id, sizeof(c->last_id), "%s", last_id);
	snprintf(c->first_prev, sizeof(c->first_prev), "%s", last_id);
	c->based = !h->fed;
	c->next = h->channels;
	h->channels = c;
	return c;
}

static void ring_clear(redstore_hub *h, channel *c)
{
	for (size_t i = 0; i < h->opt.ring_events; i++) {
		free(c->ring[i].text);
		c->ring[i].text = NULL;
	}
	c->count = 0;
}

static void channel_unlink_live(redstore_hub_conn *s)
{
	channel *c = s->ch;
	if (!c)
		return;
	if (s->cprev)
		s->cprev->cnext = s->cnext;
	else
		c->live = s->cnext;
	if (s->cnext)
		s->cnext->cprev = s->cprev;
	s->cnext = s->cprev = NULL;
	s->ch = NULL;
}

/* Ends every live stream of the channel with a resync and empties its ring. */
static void channel_break(redstore_hub *h, channel *c, const char *reason, notes *ns)
{
	while (c->live) {
		redstore_hub_conn *s = c->live;
		pthread_mutex_lock(&s->mu);
		cut(s, reason);
		mark_ready(ns, s);
		pthread_mutex_unlock(&s->mu);
		channel_unlink_live(s);
		s->state = ST_DONE;
	}
	ring_clear(h, c);
}

static void channel_free(redstore_hub *h, channel *c)
{
	ring_clear(h, c);
	free(c->ring);
	free(c);
}

/* Takes `text` (the serialised event) into the ring. */
static void ring_append(redstore_hub *h, channel *c, const char *id, char *text, size_t len)
{
	hub_ev *e = &c->ring[c->head % h->opt.ring_events];
	if (c->count == h->opt.ring_events) {
		snprintf(c->first_prev, sizeof(c->first_prev), "%s", e->id); /* the oldest falls out */
		free(e->text);
	} else {
		c->count++;
	}
	snprintf(e->id, sizeof(e->id), "%s", id);
	e->text = text;
	e->len = len;
	c->head++;
	snprintf(c->last_id, sizeof(c->last_id), "%s", id);
	snprintf(h->last_id, sizeof(h->last_id), "%s", id);
	h->events_read++;
}

/* Gives the ring events [from, head) to every live stream of the channel: one copy each, one `ready`. */
static void channel_deliver(redstore_hub *h, channel *c, uint64_t from, notes *ns)
{
	redstore_hub_conn *s = c->live, *next;
	if (from < c->head - c->count)
		from = c->head - c->count;
	for (; s; s = next) {
		int ended;
		next = s->cnext;
		pthread_mutex_lock(&s->mu);
		for (uint64_t q = from; q < c->head && !s->ended; q++) {
			const hub_ev *e = &c->ring[q % h->opt.ring_events];
			if (s->skip_to[0]) {
				if (id_cmp(e->id, s->skip_to) <= 0)
					continue;
				s->skip_to[0] = '\0';
			}
			if (!fits(s, e->len) || put(s, e->text, e->len))
				cut(s, "slow_client");
			else
				h->events_sent++;
		}
		mark_ready(ns, s);
		ended = s->ended;
		pthread_mutex_unlock(&s->mu);
		if (ended) {
			channel_unlink_live(s);
			s->state = ST_DONE;
		}
	}
}

/* ------------------------------------------------------------ catch-up (hub->mu held) */

static void join(redstore_hub_conn *s, channel *c)
{
	s->state = ST_LIVE;
	s->ch = c;
	if (s->cursor[0] && id_cmp(s->cursor, c->last_id) > 0)
		snprintf(s->skip_to, sizeof(s->skip_to), "%s", s->cursor);
	else
		s->skip_to[0] = '\0';
	s->cprev = NULL;
	s->cnext = c->live;
	if (c->live)
		c->live->cprev = s;
	c->live = s;
}

/* One step of a stream's catch-up from what the hub holds. Returns 1 when it needs a Redis read. */
static int catchup_step(redstore_hub *h, redstore_hub_conn *s, notes *ns)
{
	channel *c = channel_find(h, s->store);
	if (!c || !c->based) {
		if (h->fed) {
			s->state = ST_WAITBASE;
			return 0;
		}
		return 1;
	}
	if (!s->cursor[0]) { /* placed after a wait for the base: the present */
		join(s, c);
		return 0;
	}
	if (id_cmp(s->cursor, c->last_id) >= 0) {
		join(s, c);
		return 0;
	}
	if (id_cmp(s->cursor, c->first_prev) >= 0) {
		int done = 1;
		pthread_mutex_lock(&s->mu);
		for (uint64_t q = c->head - c->count; q < c->head; q++) {
			const hub_ev *e = &c->ring[q % h->opt.ring_events];
			if (id_cmp(e->id, s->cursor) <= 0)
				continue;
			if (!fits(s, e->len)) {
				s->want_more = 1; /* the puller wakes the hub when the buffer drained */
				done = 0;
				break;
			}
			if (put(s, e->text, e->len)) {
				s->ended = 1; /* out of memory: end; the client resumes with its Last-Event-ID */
				done = 0;
				break;
			}
			h->events_sent++;
			snprintf(s->cursor, sizeof(s->cursor), "%s", e->id);
		}
		mark_ready(ns, s);
		if (s->ended)
			s->state = ST_DONE;
		pthread_mutex_unlock(&s->mu);
		if (done)
			join(s, c);
		return 0;
	}
	if (h->fed) {
		pthread_mutex_lock(&s->mu);
		cut(s, "too_old");
		mark_ready(ns, s);
		pthread_mutex_unlock(&s->mu);
		s->state = ST_DONE;
		return 0;
	}
	return 1;
}

/* Streams of `store` waiting for its beginning: placed now. */
static void place_waiting(redstore_hub *h, const char *store, notes *ns)
{
	for (redstore_hub_conn *s = h->conns; s; s = s->next)
		if (s->state == ST_WAITBASE && !strcmp(s->store, store)) {
			s->state = ST_CATCHUP;
			catchup_step(h, s, ns);
		}
}

/* ------------------------------------------------------------ the Redis side (the hub's thread) */

static redisContext *subscribe(redstore_hub *h)
{
	redstore__redis_url u;
	int64_t ms = redstore__config_int(h->cfg, REDSTORE_CFG_REDIS_CONNECT_TIMEOUT_MS);
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
	char pattern[REDSTORE_KEY_MAX];
	redisContext *r;
	redisReply *rep = NULL;
	if (redstore__redis_url_parse(&u, redstore__config_str(h->cfg, REDSTORE_CFG_REDIS_URL)))
		return NULL;
	r = u.path[0] ? redisConnectUnixWithTimeout(u.path, tv) : redisConnectWithTimeout(u.host, u.port, tv);
	if (!r || r->err)
		goto fail;
	if (u.password[0]) {
		rep = u.user[0] ? redisCommand(r, "AUTH %s %s", u.user, u.password) : redisCommand(r, "AUTH %s", u.password);
		if (!rep || rep->type == REDIS_REPLY_ERROR)
			goto fail;
		freeReplyObject(rep);
	}
	rep = redisCommand(r, "PSUBSCRIBE %s", redstore__key(pattern, "*", "changes"));
	if (!rep || rep->type == REDIS_REPLY_ERROR)
		goto fail;
	freeReplyObject(rep);
	return r;
fail:
	if (rep)
		freeReplyObject(rep);
	if (r)
		redisFree(r);
	return NULL;
}

/* A pmessage [pmessage, pattern, rs:{s:<store>}:changes, id]: marks the store's channel dirty. */
static void on_message(redstore_hub *h, const redisReply *m)
{
	const char *name, *end;
	char store[65];
	size_t n;
	channel *c;
	if (m->type != REDIS_REPLY_ARRAY || m->elements != 4 || m->element[2]->type != REDIS_REPLY_STRING)
		return;
	name = m->element[2]->str;
	if (strncmp(name, "rs:{s:", 6) || !(end = strstr(name + 6, "}:changes")) || end[9])
		return;
	n = (size_t)(end - (name + 6));
	if (n == 0 || n >= sizeof(store))
		return;
	memcpy(store, name + 6, n);
	store[n] = '\0';
	pthread_mutex_lock(&h->mu);
	if ((c = channel_find(h, store)))
		c->dirty = 1;
	pthread_mutex_unlock(&h->mu);
}

/* The id of the store's last change in Redis ("0": none). */
static int last_stream_id(redstore_client *client, const char *store, char out[ID_SIZE])
{
	char key[REDSTORE_KEY_MAX];
	redisReply *r = NULL;
	int rc = redstore__redis_cmd(&r, client, "XREVRANGE %s + - COUNT 1", redstore__key(key, store, "stream"));
	if (rc)
		return rc;
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 && r->element[0]->type == REDIS_REPLY_ARRAY &&
	    r->element[0]->elements >= 1 && r->element[0]->element[0]->type == REDIS_REPLY_STRING &&
	    id_valid(r->element[0]->element[0]->str))
		snprintf(out, ID_SIZE, "%s", r->element[0]->element[0]->str);
	else
		snprintf(out, ID_SIZE, "0");
	freeReplyObject(r);
	return 0;
}

/* Reads every dirty channel's new changes once, serialises each once and delivers the batch. */
static void read_dirty(redstore_hub *h, redstore_client *client)
{
	for (;;) {
		channel *c = NULL;
		char store[65], after[ID_SIZE];
		redstore_changes *chs = NULL;
		notes ns = { 0 };
		int rc;
		pthread_mutex_lock(&h->mu);
		for (channel *x = h->channels; x && !c; x = x->next)
			if (x->dirty)
				c = x;
		if (c) {
			c->dirty = 0;
			snprintf(store, sizeof(store), "%s", c->store);
			snprintf(after, sizeof(after), "%s", c->last_id);
		}
		pthread_mutex_unlock(&h->mu);
		if (!c)
			return;
		/* only this thread frees channels: c stays valid while the lock is released */
		rc = redstore_client_use_store(client, store);
		if (!rc)
			rc = redstore_sync_read(&chs, client, after, HUB_PAGE, 0);
		pthread_mutex_lock(&h->mu);
		h->reads++;
		if (rc) {
			c->dirty = 1; /* again after the next tick */
			pthread_mutex_unlock(&h->mu);
			redstore_error_clear();
			return;
		}
		if (chs->resync) {
			/* the hub fell behind what the stream keeps: every live stream of the store resyncs, and the
			 * channel starts again at the present (new streams of the store catch up from Redis) */
			char now_id[ID_SIZE] = "";
			channel_break(h, c, "gap", &ns);
			pthread_mutex_unlock(&h->mu);
			rc = last_stream_id(client, store, now_id);
			pthread_mutex_lock(&h->mu);
			channel_break(h, c, "gap", &ns); /* any stream that joined meanwhile */
			snprintf(c->last_id, sizeof(c->last_id), "%s", rc ? after : now_id);
			snprintf(c->first_prev, sizeof(c->first_prev), "%s", c->last_id);
			c->dirty = 1;
		} else if (chs->count) {
			uint64_t from = c->head;
			for (size_t i = 0; i < chs->count; i++) {
				size_t len;
				char *t = sse_text("change", chs->items[i].id, chs->items[i].json, &len);
				if (!t) {
					channel_break(h, c, "gap", &ns);
					from = c->head;
					break;
				}
				ring_append(h, c, chs->items[i].id, t, len);
			}
			snprintf(c->last_id, sizeof(c->last_id), "%s", chs->last_id);
			channel_deliver(h, c, from, &ns);
			if (chs->count == HUB_PAGE)
				c->dirty = 1;
		}
		pthread_mutex_unlock(&h->mu);
		redstore_changes_free(chs);
		notify(&ns);
	}
}

/* Catch-up of the streams that need it: from the ring, or one Redis page each. */
static void catch_up(redstore_hub *h, redstore_client *client)
{
	for (int rounds = 0; rounds < 64; rounds++) {
		redstore_hub_conn *s = NULL;
		char store[65], after[ID_SIZE];
		redstore_changes *chs = NULL;
		notes ns = { 0 };
		int rc;
		pthread_mutex_lock(&h->mu);
		for (redstore_hub_conn *x = h->conns; x && !s; x = x->next) {
			int room;
			if (x->state != ST_CATCHUP)
				continue;
			pthread_mutex_lock(&x->mu);
			room = !x->ended && pending(x) <= h->opt.conn_buffer_bytes / 2;
			if (room)
				x->want_more = 0;
			pthread_mutex_unlock(&x->mu);
			if (room && catchup_step(h, x, &ns) && client)
				s = x;
		}
		if (s) {
			pthread_mutex_lock(&s->mu);
			s->holds++;
			pthread_mutex_unlock(&s->mu);
			snprintf(store, sizeof(store), "%s", s->store);
			snprintf(after, sizeof(after), "%s", s->cursor);
		}
		pthread_mutex_unlock(&h->mu);
		notify(&ns);
		if (!s)
			return;
		rc = redstore_client_use_store(client, store);
		if (!rc)
			rc = redstore_sync_read(&chs, client, after, CATCHUP_PAGE, 0);
		pthread_mutex_lock(&h->mu);
		h->reads++;
		pthread_mutex_lock(&s->mu);
		if (s->closed || s->state != ST_CATCHUP) {
			/* closed meanwhile */
		} else if (rc) {
			s->ended = 1; /* Redis failed: end; the client resumes with its Last-Event-ID */
			s->state = ST_DONE;
		} else if (chs->resync) {
			cut(s, "too_old");
			s->state = ST_DONE;
		} else {
			for (size_t i = 0; i < chs->count && !s->ended; i++) {
				size_t len;
				char *t = sse_text("change", chs->items[i].id, chs->items[i].json, &len);
				if (!t || put(s, t, len)) {
					s->ended = 1;
					s->state = ST_DONE;
				} else {
					h->events_sent++;
					snprintf(s->cursor, sizeof(s->cursor), "%s", chs->items[i].id);
				}
				free(t);
			}
		}
		mark_ready(&ns, s);
		pthread_mutex_unlock(&s->mu);
		if (!rc && !s->closed && s->state == ST_CATCHUP && chs->count < CATCHUP_PAGE && !channel_find(h, s->store)) {
			/* at the end of the stream and nobody else listens to the store: its channel starts here */
			channel *c = channel_new(h, s->store, s->cursor[0] ? s->cursor : "0");
			if (c) {
				c->dirty = 1; /* a change may have been announced before the channel existed */
				join(s, c);
			}
		}
		pthread_mutex_unlock(&h->mu);
		redstore_changes_free(chs);
		redstore_error_clear();
		release_hold(s);
		notify(&ns);
	}
	wake(h); /* more to do: the next round comes at once, after the other work of the thread */
}

/* Heartbeats and checks due, streams to make ready again, channels nobody listens to. */
static void tick(redstore_hub *h)
{
	int64_t now = mono_ms(), wall = clock_ms(CLOCK_REALTIME);
	notes ns = { 0 };
	static const char hb[] = ": heartbeat\n\n";
	pthread_mutex_lock(&h->mu);
	for (redstore_hub_conn *s = h->conns; s; s = s->next) {
		pthread_mutex_lock(&s->mu);
		if (!s->ended && pending(s) == 0 && now - s->last_sent_ms >= h->opt.heartbeat_ms &&
		    put(s, hb, sizeof(hb) - 1) == 0)
			h->heartbeats++;
		if (!s->ended && s->io.check &&
		    ((h->opt.check_ms && now >= s->next_check_ms) || (s->io.check_at_ms && wall >= s->io.check_at_ms)))
			s->check_due = 1;
		if (pending(s) || s->ended || s->check_due)
			mark_ready(&ns, s);
		pthread_mutex_unlock(&s->mu);
	}
	if (!h->fed) {
		for (channel **pc = &h->channels; *pc;) {
			channel *c = *pc;
			if (!c->live) {
				*pc = c->next;
				channel_free(h, c);
				continue;
			}
			pc = &c->next;
		}
	}
	pthread_mutex_unlock(&h->mu);
	notify(&ns);
}

static int tick_ms(const redstore_hub *h)
{
	int t = h->opt.heartbeat_ms;
	if (h->opt.check_ms && h->opt.check_ms < t)
		t = h->opt.check_ms;
	t /= 4;
	return t < 10 ? 10 : t > 1000 ? 1000 : t;
}

static void *hub_main(void *arg)
{
	redstore_hub *h = arg;
	redstore_client *client = NULL;
	redisContext *r = NULL;
	int64_t next_tick = mono_ms(), backoff = 100, retry_at = 0;
	if (!h->fed && redstore_client_new(&client, h->cfg))
		client = NULL; /* out of memory: it tries again below */
	while (!__atomic_load_n(&h->stopping, __ATOMIC_ACQUIRE)) {
		struct pollfd p[2] = { { h->wake[0], POLLIN, 0 }, { -1, POLLIN, 0 } };
		int64_t now = mono_ms(), wait;
		if (!h->fed && !client && redstore_client_new(&client, h->cfg))
			client = NULL;
		if (!h->fed && !r && now >= retry_at) {
			if ((r = subscribe(h))) {
				backoff = 100;
				pthread_mutex_lock(&h->mu);
				h->connected = 1;
				for (channel *c = h->channels; c; c = c->next)
					c->dirty = 1; /* announcements may have been missed while disconnected */
				pthread_mutex_unlock(&h->mu);
			} else {
				retry_at = now + backoff;
				backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
			}
		}
		p[1].fd = r ? r->fd : -1;
		wait = next_tick - now;
		if (!h->fed && !r && retry_at - now < wait)
			wait = retry_at - now;
		if (wait < 0)
			wait = 0;
		if (poll(p, 2, (int)wait) < 0 && errno != EINTR)
			break;
		if (p[0].revents & POLLIN) {
			char drain[64];
			while (read(h->wake[0], drain, sizeof(drain)) > 0) {
			}
		}
		if (r && (p[1].revents & (POLLIN | POLLERR | POLLHUP))) {
			void *reply = NULL;
			if (redisBufferRead(r) != REDIS_OK) {
				redisFree(r);
				r = NULL;
				retry_at = 0;
				pthread_mutex_lock(&h->mu);
				h->connected = 0;
				pthread_mutex_unlock(&h->mu);
			} else {
				while (redisGetReplyFromReader(r, &reply) == REDIS_OK && reply) {
					on_message(h, reply);
					freeReplyObject(reply);
					reply = NULL;
				}
			}
		}
		if (client)
			read_dirty(h, client);
		catch_up(h, client);
		if (mono_ms() >= next_tick) {
			tick(h);
			next_tick = mono_ms() + tick_ms(h);
		}
	}
	if (r)
		redisFree(r);
	redstore_client_free(client);
	return NULL;
}

/* ------------------------------------------------------------ creating and stopping */

void redstore_hub_options_init(redstore_hub_options *opt)
{
	if (!opt)
		return;
	opt->ring_events = 4096;
	opt->conn_buffer_bytes = 262144;
	opt->heartbeat_ms = 15000;
	opt->check_ms = 0;
	opt->max_streams = 100000;
}

static int check_options(const redstore_hub_options *o)
{
	if (o->ring_events < 16 || o->ring_events > 1000000)
		return redstore__fail(REDSTORE_EINVALID, "hub: ring_events %zu is outside 16..1000000", o->ring_events);
	if (o->conn_buffer_bytes < 4096 || o->conn_buffer_bytes > 67108864)
		return redstore__fail(REDSTORE_EINVALID, "hub: conn_buffer_bytes %zu is outside 4096..67108864",
		                      o->conn_buffer_bytes);
	if (o->heartbeat_ms < 50 || o->heartbeat_ms > 3600000)
		return redstore__fail(REDSTORE_EINVALID, "hub: heartbeat_ms %d is outside 50..3600000", o->heartbeat_ms);
	if (o->check_ms < 0 || o->check_ms > 86400000)
		return redstore__fail(REDSTORE_EINVALID, "hub: check_ms %d is outside 0..86400000", o->check_ms);
	if (o->max_streams < 1 || o->max_streams > 10000000)
		return redstore__fail(REDSTORE_EINVALID, "hub: max_streams %zu is outside 1..10000000", o->max_streams);
	return 0;
}

static void hub_destroy(redstore_hub *h)
{
	while (h->channels) {
		channel *c = h->channels;
		h->channels = c->next;
		channel_free(h, c);
	}
	if (h->wake[0] >= 0) {
		close(h->wake[0]);
		close(h->wake[1]);
	}
	redstore_client_free(h->present);
	redstore_config_free(h->cfg);
	pthread_mutex_destroy(&h->present_mu);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

static int hub_create(redstore_hub **out, const redstore_config *cfg, const redstore_hub_options *opt, int fed)
{
	redstore_hub *h;
	int rc;
	*out = NULL;
	if (!(h = calloc(1, sizeof(*h))))
		return redstore__fail(REDSTORE_ENOMEM, "hub: out of memory");
	h->wake[0] = h->wake[1] = -1;
	pthread_mutex_init(&h->mu, NULL);
	pthread_mutex_init(&h->present_mu, NULL);
	h->fed = fed;
	h->refs = 1;
	h->connected = fed;
	if (opt)
		h->opt = *opt;
	else
		redstore_hub_options_init(&h->opt);
	if ((rc = check_options(&h->opt)))
		goto fail;
	if (!fed) {
		redstore__redis_url u;
		if (cfg)
			rc = redstore_config_dup(&h->cfg, cfg);
		else if (!(rc = redstore_client_new(&h->present, NULL)))
			rc = redstore_config_dup(&h->cfg, redstore_client_config(h->present));
		if (rc || (rc = redstore__redis_url_parse(&u, redstore__config_str(h->cfg, REDSTORE_CFG_REDIS_URL))))
			goto fail;
		if (!h->present && (rc = redstore_client_new(&h->present, h->cfg)))
			goto fail;
	}
	if (pipe(h->wake) || fcntl(h->wake[0], F_SETFL, O_NONBLOCK) || fcntl(h->wake[1], F_SETFL, O_NONBLOCK)) {
		rc = redstore__fail(REDSTORE_ERROR, "hub: pipe: %s", strerror(errno));
		goto fail;
	}
	if (pthread_create(&h->thread, NULL, hub_main, h)) {
		rc = redstore__fail(REDSTORE_ENOMEM, "hub: cannot start its thread");
		goto fail;
	}
	h->thread_started = 1;
	*out = h;
	return 0;
fail:
	hub_destroy(h);
	return rc;
}

int redstore_hub_new(redstore_hub **out, const redstore_config *cfg, const redstore_hub_options *opt)
{
	return hub_create(out, cfg, opt, 0);
}

int redstore_hub_new_fed(redstore_hub **out, const redstore_hub_options *opt)
{
	return hub_create(out, NULL, opt, 1);
}

void redstore_hub_stop(redstore_hub *h)
{
	notes ns = { 0 };
	if (!h)
		return;
	pthread_mutex_lock(&h->mu);
	if (h->stopping) {
		pthread_mutex_unlock(&h->mu);
		return;
	}
	__atomic_store_n(&h->stopping, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&h->mu);
	wake(h);
	if (h->thread_started)
		pthread_join(h->thread, NULL);
	h->thread_started = 0;
	pthread_mutex_lock(&h->mu);
	for (redstore_hub_conn *s = h->conns; s; s = s->next) {
		pthread_mutex_lock(&s->mu);
		s->ended = 1;
		mark_ready(&ns, s);
		pthread_mutex_unlock(&s->mu);
		channel_unlink_live(s);
		s->state = ST_DONE;
	}
	h->connected = 0;
	h->stopped = 1;
	pthread_mutex_unlock(&h->mu);
	notify(&ns);
}

static void hub_unref(redstore_hub *h)
{
	int last;
	pthread_mutex_lock(&h->mu);
	last = --h->refs == 0;
	pthread_mutex_unlock(&h->mu);
	if (last)
		hub_destroy(h);
}

void redstore_hub_free(redstore_hub *h)
{
	if (!h)
		return;
	redstore_hub_stop(h);
	hub_unref(h);
}

void redstore_hub_get_stats(redstore_hub_stats *out, redstore_hub *h)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&h->mu);
	out->connected = h->connected;
	out->streams = (long)h->nconns;
	out->events_sent = h->events_sent;
	out->resyncs = h->resyncs;
	out->heartbeats = h->heartbeats;
	out->reads = h->reads;
	out->events_read = h->events_read;
	for (channel *c = h->channels; c; c = c->next)
		out->ring_events += c->count;
	snprintf(out->last_id, sizeof(out->last_id), "%s", h->last_id);
	pthread_mutex_unlock(&h->mu);
}

/* ------------------------------------------------------------ feeding (fed hub) */

int redstore_hub_publish(redstore_hub *h, const char *store, const char *event, const char *id, const char *data)
{
	notes ns = { 0 };
	channel *c;
	char *text;
	size_t len;
	int rc;
	if (!h->fed)
		return redstore__fail(REDSTORE_EINVALID, "hub: publish is for a fed hub (redstore_hub_new_fed)");
	if ((rc = redstore__check_store_id(store, "hub: store")))
		return rc;
	if (!event_name_valid(event))
		return redstore__fail(REDSTORE_EINVALID, "hub: \"%.60s\" is not an event name (1..47 of [a-z0-9_.-])", event);
	if (!id_valid(id))
		return redstore__fail(REDSTORE_EINVALID, "hub: \"%.60s\" is not a stream id (<ms>-<seq>)", id);
	if (!data_valid(data, MAX_DATA))
		return redstore__fail(REDSTORE_EINVALID, "hub: event data must be one line of at most %d bytes", MAX_DATA);
	pthread_mutex_lock(&h->mu);
	if (h->stopping) {
		pthread_mutex_unlock(&h->mu);
		return redstore__fail(REDSTORE_EINVALID, "hub: stopped");
	}
	if (!(c = channel_find(h, store)) && !(c = channel_new(h, store, ""))) {
		pthread_mutex_unlock(&h->mu);
		return redstore__fail(REDSTORE_ENOMEM, "hub: out of memory");
	}
	if (c->based && c->last_id[0] && id_cmp(id, c->last_id) <= 0) {
		pthread_mutex_unlock(&h->mu); /* a repeat (an upstream reconnect's overlap) */
		return 0;
	}
	if (!(text = sse_text(event, id, data, &len))) {
		/* the ring cannot hold it: it begins after it, and every live stream resyncs */
		channel_break(h, c, "gap", &ns);
		snprintf(c->first_prev, sizeof(c->first_prev), "%s", id);
		snprintf(c->last_id, sizeof(c->last_id), "%s", id);
		pthread_mutex_unlock(&h->mu);
		notify(&ns);
		return redstore__fail(REDSTORE_ENOMEM, "hub: out of memory: event %s dropped, streams resync", id);
	}
	if (!c->based) {
		/* the beginning was unknown: the ring begins here, an older Last-Event-ID gets resync */
		snprintf(c->first_prev, sizeof(c->first_prev), "%s", id);
		snprintf(c->last_id, sizeof(c->last_id), "%s", id);
		c->based = 1;
		place_waiting(h, store, &ns);
	}
	ring_append(h, c, id, text, len);
	channel_deliver(h, c, c->head - 1, &ns);
	pthread_mutex_unlock(&h->mu);
	notify(&ns);
	return 0;
}

int redstore_hub_reset(redstore_hub *h, const char *store, const char *base_id, int lost)
{
	notes ns = { 0 };
	channel *c;
	int rc;
	if (!h->fed)
		return redstore__fail(REDSTORE_EINVALID, "hub: reset is for a fed hub (redstore_hub_new_fed)");
	if ((rc = redstore__check_store_id(store, "hub: store")))
		return rc;
	if (base_id && !id_valid(base_id))
		return redstore__fail(REDSTORE_EINVALID, "hub: \"%.60s\" is not a stream id (<ms>-<seq>)", base_id);
	pthread_mutex_lock(&h->mu);
	if (!(c = channel_find(h, store)) && !(c = channel_new(h, store, ""))) {
		pthread_mutex_unlock(&h->mu);
		return redstore__fail(REDSTORE_ENOMEM, "hub: out of memory");
	}
	if (lost) {
		channel_break(h, c, "upstream_resync", &ns);
		/* streams catching up from the old ring cannot continue either */
		for (redstore_hub_conn *s = h->conns; s; s = s->next)
			if (s->state == ST_CATCHUP && !strcmp(s->store, store)) {
				pthread_mutex_lock(&s->mu);
				cut(s, "upstream_resync");
				mark_ready(&ns, s);
				pthread_mutex_unlock(&s->mu);
				s->state = ST_DONE;
			}
		c->based = 0;
		c->first_prev[0] = c->last_id[0] = '\0';
	}
	if (base_id && (lost || !c->based || c->count == 0)) {
		snprintf(c->first_prev, sizeof(c->first_prev), "%s", base_id);
		snprintf(c->last_id, sizeof(c->last_id), "%s", base_id);
		c->based = 1;
		place_waiting(h, store, &ns);
	}
	pthread_mutex_unlock(&h->mu);
	notify(&ns);
	return 0;
}

/* ------------------------------------------------------------ streams */

/* The id of the store's last change in Redis ("0": none), for a stream without a Last-Event-ID. */
static int present_id(redstore_hub *h, const char *store, char out[ID_SIZE])
{
	int rc;
	pthread_mutex_lock(&h->present_mu);
	rc = last_stream_id(h->present, store, out);
	pthread_mutex_unlock(&h->present_mu);
	return rc;
}

static void conn_free(redstore_hub_conn *s)
{
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s->buf);
	free(s);
}

int redstore_hub_open(redstore_hub_conn **out, redstore_hub *h, const char *store, const char *last_event_id,
                      const redstore_hub_io *io)
{
	static const char retry[] = "retry: 1000\n\n";
	redstore_hub_conn *s;
	notes ns = { 0 };
	char present[ID_SIZE] = "";
	int rc, need_redis = 0;
	*out = NULL;
	if ((rc = redstore__check_store_id(store, "hub: store")))
		return rc;
	if (last_event_id && !*last_event_id)
		last_event_id = NULL;
	if (last_event_id && !id_valid(last_event_id))
		return redstore__fail(REDSTORE_EINVALID, "hub: Last-Event-ID \"%.60s\" is not a stream id (<ms>-<seq>)",
		                      last_event_id);
	if (!io || !io->ready)
		return redstore__fail(REDSTORE_EINVALID, "hub: a stream needs a ready callback");
	if (!(s = calloc(1, sizeof(*s))))
		return redstore__fail(REDSTORE_ENOMEM, "hub: out of memory");
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->hub = h;
	s->io = *io;
	snprintf(s->store, sizeof(s->store), "%s", store);
	s->last_sent_ms = mono_ms();
	s->next_check_ms = s->last_sent_ms + h->opt.check_ms;
	if (put(s, retry, sizeof(retry) - 1)) {
		conn_free(s);
		return redstore__fail(REDSTORE_ENOMEM, "hub: out of memory");
	}
	if (!last_event_id && !h->fed) {
		int known;
		pthread_mutex_lock(&h->mu);
		known = channel_find(h, store) != NULL;
		pthread_mutex_unlock(&h->mu);
		if (!known && (rc = present_id(h, store, present))) {
			conn_free(s);
			return rc;
		}
	}
	pthread_mutex_lock(&h->mu);
	if (h->stopping || h->nconns >= h->opt.max_streams) {
		int stopped = h->stopping;
		pthread_mutex_unlock(&h->mu);
		conn_free(s);
		return stopped ? redstore__fail(REDSTORE_EINVALID, "hub: stopped")
		               : redstore__fail(REDSTORE_ELIMIT, "hub: %zu streams are open already", h->opt.max_streams);
	}
	s->next = h->conns;
	if (h->conns)
		h->conns->prev = s;
	h->conns = s;
	h->nconns++;
	h->refs++;
	s->state = ST_CATCHUP;
	if (last_event_id) {
		snprintf(s->cursor, sizeof(s->cursor), "%s", last_event_id);
		need_redis = catchup_step(h, s, &ns);
	} else {
		channel *c = channel_find(h, store);
		if (c && c->based) {
			snprintf(s->cursor, sizeof(s->cursor), "%s", c->last_id);
			join(s, c);
		} else if (h->fed) {
			s->state = ST_WAITBASE;
		} else if (c) { /* created while we asked Redis: catch up from the present we found */
			snprintf(s->cursor, sizeof(s->cursor), "%s", present);
			need_redis = catchup_step(h, s, &ns);
		} else if ((c = channel_new(h, store, present))) {
			snprintf(s->cursor, sizeof(s->cursor), "%s", present);
			c->dirty = 1; /* a change may have been announced before the channel existed */
			join(s, c);
			need_redis = 1;
		} else {
			snprintf(s->cursor, sizeof(s->cursor), "%s", present);
			need_redis = 1; /* out of memory for the channel now: the hub's thread tries again */
		}
	}
	pthread_mutex_unlock(&h->mu);
	notify(&ns);
	if (need_redis)
		wake(h);
	*out = s;
	return 0;
}

redstore_hub_pulled redstore_hub_pull(size_t *out, redstore_hub_conn *s, char *buf, size_t cap)
{
	*out = 0;
	pthread_mutex_lock(&s->mu);
	for (;;) {
		if (pending(s) && cap) {
			size_t n = pending(s) < cap ? pending(s) : cap;
			int more;
			memcpy(buf, s->buf + s->off, n);
			s->off += n;
			if (s->off == s->len)
				s->off = s->len = 0;
			s->last_sent_ms = mono_ms();
			more = s->want_more && pending(s) <= s->hub->opt.conn_buffer_bytes / 2;
			if (more)
				s->want_more = 0;
			pthread_mutex_unlock(&s->mu);
			if (more)
				wake(s->hub);
			*out = n;
			return REDSTORE_HUB_BYTES;
		}
		if (s->ended) {
			pthread_mutex_unlock(&s->mu);
			return REDSTORE_HUB_END;
		}
		if (s->check_due) {
			int64_t wall = clock_ms(CLOCK_REALTIME);
			s->check_due = 0;
			s->next_check_ms = mono_ms() + s->hub->opt.check_ms;
			if (s->io.check_at_ms && wall >= s->io.check_at_ms)
				s->io.check_at_ms = 0; /* once */
			pthread_mutex_unlock(&s->mu);
			s->io.check(s, s->io.payload);
			pthread_mutex_lock(&s->mu);
			continue;
		}
		if (s->want_more) {
			/* catch-up paused for room that is there now: ask the hub for more, and wait for it */
			s->want_more = 0;
			wake(s->hub);
		}
		s->waiting = 1;
		if (s->io.wait)
			s->io.wait(s->io.payload);
		pthread_mutex_unlock(&s->mu);
		return REDSTORE_HUB_WAIT;
	}
}

int redstore_hub_end(redstore_hub_conn *s, const char *event, const char *data)
{
	char *text;
	size_t len;
	int rc = 0, call = 0;
	if (!event_name_valid(event))
		return redstore__fail(REDSTORE_EINVALID, "hub: \"%.60s\" is not an event name (1..47 of [a-z0-9_.-])", event);
	if (!data_valid(data, MAX_END_DATA))
		return redstore__fail(REDSTORE_EINVALID, "hub: event data must be one line of at most %d bytes",
		                      MAX_END_DATA);
	if (!(text = sse_text(event, NULL, data, &len)))
		return redstore__fail(REDSTORE_ENOMEM, "hub: out of memory");
	pthread_mutex_lock(&s->mu);
	if (!s->ended) {
		if (put(s, text, len))
			rc = redstore__fail(REDSTORE_ENOMEM, "hub: out of memory");
		s->ended = 1;
		if (s->waiting && !s->closed) {
			s->waiting = 0;
			s->holds++;
			call = 1;
		}
	}
	pthread_mutex_unlock(&s->mu);
	free(text);
	if (call) {
		s->io.ready(s->io.payload);
		release_hold(s);
	}
	return rc;
}

const char *redstore_hub_conn_store(const redstore_hub_conn *s)
{
	return s->store;
}

void redstore_hub_close(redstore_hub_conn *s)
{
	redstore_hub *h;
	if (!s)
		return;
	h = s->hub;
	pthread_mutex_lock(&h->mu);
	channel_unlink_live(s);
	s->state = ST_DONE; /* a catch-up read in flight drops what it read */
	if (s->prev)
		s->prev->next = s->next;
	else
		h->conns = s->next;
	if (s->next)
		s->next->prev = s->prev;
	h->nconns--;
	pthread_mutex_unlock(&h->mu);
	pthread_mutex_lock(&s->mu);
	s->closed = 1;
	while (s->holds)
		pthread_cond_wait(&s->cv, &s->mu);
	pthread_mutex_unlock(&s->mu);
	conn_free(s);
	hub_unref(h);
}
