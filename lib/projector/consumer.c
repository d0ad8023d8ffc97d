/* The consumer: a group member reading libredstore's topics by pattern, handing decoded events to
 * handlers, storing offsets only after success, dead-lettering poison events (see events.h). */
#include "engines/engines_int.h"
#include "events/events_int.h"

#include <stdio.h>

#define MAX_HANDLERS 64

typedef struct handler {
	char type[64];
	redstore_event_cb cb;
	void *payload;
} handler;

struct redstore_consumer {
	redstore_client *client;       /* its configuration and its producer (for dead letters) */
	rd_kafka_t *rk;
	rd_kafka_queue_t *queue;
	char dlq[160];
	handler handlers[MAX_HANDLERS];
	size_t nhandlers;
	redstore_batch_cb batch_cb;
	void *batch_payload;
	size_t batch_max;
	int max_attempts;
	uint64_t dead;
	bool closing; /* redstore_consumer_free: offsets are committed, nothing more is handled */
};

static void quiet_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
}

/* Commits what was handled before partitions go to another member, so none is handled twice. */
static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts, void *opaque)
{
	redstore_consumer *k = opaque;
	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS && !k->closing) {
		rd_kafka_assign(rk, parts);
	} else {
		if (!k->closing)
			rd_kafka_commit(rk, NULL, 0);
		rd_kafka_assign(rk, NULL);
	}
}

static int set(rd_kafka_conf_t *conf, const char *key, const char *value)
{
	char err[256];
	if (rd_kafka_conf_set(conf, key, value, err, sizeof(err)) != RD_KAFKA_CONF_OK)
		return redstore__fail(REDSTORE_EINVALID, "consumer: %s=%s: %s", key, value, err);
	return 0;
}

/* "^" + the prefix with regex metacharacters escaped + ".*" */
static void default_pattern(char *buf, size_t cap, const char *prefix)
{
	size_t n = 0;
	buf[n++] = '^';
	for (const char *p = prefix; *p && n + 4 < cap; p++) {
		if (strchr(".[]()*+?{}|^$\\", *p))
			buf[n++] = '\\';
		buf[n++] = *p;
	}
	snprintf(buf + n, cap - n, ".*");
}

int redstore_consumer_new(redstore_consumer **out, const redstore_client *client, const redstore_consumer_options *o)
{
	redstore_consumer *k;
	rd_kafka_conf_t *conf = NULL;
	rd_kafka_topic_partition_list_t *sub;
	char pattern[256], refresh[24], err[512];
	int rc;

	*out = NULL;
	if (!o || !o->group_id || !*o->group_id || strlen(o->group_id) > 200)
		return redstore__fail(REDSTORE_EINVALID, "consumer: a group id (1-200 characters) is required");
	if (o->batch_max > 100000 || o->max_attempts < 0 || o->max_attempts > 1000)
		return redstore__fail(REDSTORE_EINVALID, "consumer: batch_max 1..100000, max_attempts 1..1000");
	if (!(k = calloc(1, sizeof(*k))))
		return redstore__fail(REDSTORE_ENOMEM, "consumer: out of memory");
	k->batch_max = o->batch_max ? o->batch_max : 500;
	k->max_attempts = o->max_attempts ? o->max_attempts : 5;
	if ((rc = redstore_client_new(&k->client, client->cfg)))
		goto fail;
	redstore__kafka_topic(k->dlq, sizeof(k->dlq), &k->client->set, "deadletter");
	if (o->pattern)
		snprintf(pattern, sizeof(pattern), "%s", o->pattern);
	else
		default_pattern(pattern, sizeof(pattern), k->client->set.kafka_topic_prefix);
	if (pattern[0] != '^') {
		rc = redstore__fail(REDSTORE_EINVALID, "consumer: pattern \"%.100s\" must start with ^ (a regex)", pattern);
		goto fail;
	}
	snprintf(refresh, sizeof(refresh), "%lld",
	         (long long)k->client->set.kafka_metadata_refresh_ms);
	if ((rc = redstore__kafka_conf(&conf, k->client->cfg)) || (rc = set(conf, "group.id", o->group_id)) ||
	    (rc = set(conf, "enable.auto.commit", "false")) || (rc = set(conf, "enable.auto.offset.store", "false")) ||
	    (rc = set(conf, "auto.offset.reset", "earliest")) || (rc = set(conf, "topic.metadata.refresh.interval.ms", refresh)) ||
	    /* A member that dies is replaced within seconds, not the default 45 s. */
	    (rc = set(conf, "session.timeout.ms", "10000")) || (rc = set(conf, "heartbeat.interval.ms", "1000")))
		goto fail;
	rd_kafka_conf_set_log_cb(conf, quiet_log);
	rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
	rd_kafka_conf_set_opaque(conf, k);
	if (!(k->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err)))) {
		rc = redstore__fail(REDSTORE_EKAFKA, "consumer: %s", err);
		goto fail;
	}
	conf = NULL;
	rd_kafka_poll_set_consumer(k->rk);
	k->queue = rd_kafka_queue_get_consumer(k->rk);
	sub = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(sub, pattern, RD_KAFKA_PARTITION_UA);
	rc = rd_kafka_subscribe(k->rk, sub) ? redstore__fail(REDSTORE_EKAFKA, "consumer: cannot subscribe to %s", pattern) : 0;
	rd_kafka_topic_partition_list_destroy(sub);
	if (rc)
		goto fail;
	*out = k;
	return 0;
fail:
	if (conf)
		rd_kafka_conf_destroy(conf);
	redstore_consumer_free(k);
	return rc;
}

int redstore_consumer_on(redstore_consumer *k, const char *type, redstore_event_cb cb, void *payload)
{
	if (!type || !cb || strlen(type) >= sizeof(k->handlers[0].type))
		return redstore__fail(REDSTORE_EINVALID, "consumer_on: a type (or \"*\") and a callback are required");
	if (k->nhandlers == MAX_HANDLERS)
		return redstore__fail(REDSTORE_ELIMIT, "consumer_on: more than %d handlers", MAX_HANDLERS);
	snprintf(k->handlers[k->nhandlers].type, sizeof(k->handlers[0].type), "%s", type);
	k->handlers[k->nhandlers].cb = cb;
	k->handlers[k->nhandlers].payload = payload;
	k->nhandlers++;
	return 0;
}

int redstore_consumer_on_batch(redstore_consumer *k, redstore_batch_cb cb, void *payload)
{
	if (k->batch_cb)
		return redstore__fail(REDSTORE_EINVALID, "consumer_on_batch: a batch handler is set already");
	k->batch_cb = cb;
	k->batch_payload = payload;
	return 0;
}

/* Sends a message to the dead-letter topic with why, and waits for the acknowledgement. */
static int dead_letter(redstore_consumer *k, const rd_kafka_message_t *m, const char *why)
{
	rd_kafka_headers_t *h = rd_kafka_headers_new(4);
	char part[16], off[24];
	int rc;
	snprintf(part, sizeof(part), "%d", (int)m->partition);
	snprintf(off, sizeof(off), "%lld", (long long)m->offset);
	rd_kafka_header_add(h, "redstore-error", -1, why, -1);
	rd_kafka_header_add(h, "redstore-source-topic", -1, rd_kafka_topic_name(m->rkt), -1);
	rd_kafka_header_add(h, "redstore-source-partition", -1, part, -1);
	rd_kafka_header_add(h, "redstore-source-offset", -1, off, -1);
	rc = redstore__kafka_produce_with(k->client, k->dlq, m->key, m->key_len, m->payload, m->len, h, NULL);
	if (!rc)
		k->dead++;
	return rc;
}

static void store_offset(redstore_consumer *k, const rd_kafka_message_t *m)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(l, rd_kafka_topic_name(m->rkt), m->partition)->offset = m->offset + 1;
	rd_kafka_offsets_store(k->rk, l);
	rd_kafka_topic_partition_list_destroy(l);
}

static void seek_back(redstore_consumer *k, const rd_kafka_message_t *m)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
	rd_kafka_error_t *e;
	rd_kafka_topic_partition_list_add(l, rd_kafka_topic_name(m->rkt), m->partition)->offset = m->offset;
	if ((e = rd_kafka_seek_partitions(k->rk, l, 5000)))
		rd_kafka_error_destroy(e);
	rd_kafka_topic_partition_list_destroy(l);
}

static int run_handlers(redstore_consumer *k, const redstore_event *e, char *why, size_t cap)
{
	for (size_t i = 0; i < k->nhandlers; i++) {
		int rc;
		if (strcmp(k->handlers[i].type, "*") && strcmp(k->handlers[i].type, e->type))
			continue;
		if ((rc = k->handlers[i].cb(e, k->handlers[i].payload))) {
			snprintf(why, cap, "handler for %s failed: %s: %.150s", e->type, redstore_err_name(rc),
			         redstore_error_last());
			return rc;
		}
	}
	return 0;
}

/* Handles one event: the batch handler (when `with_batch`) then the type handlers, up to max_attempts
 * times. Returns 0 when handled, 1 when dead-lettered, or a retriable error: the caller stops its
 * partition there and seeks back, so the event comes again on a later poll. */
static int handle_one(redstore_consumer *k, const redstore_event *e, const rd_kafka_message_t *m, bool with_batch)
{
	char why[256] = "";
	for (int attempt = 1;; attempt++) {
		int rc = with_batch ? k->batch_cb(&e, 1, k->batch_payload) : 0;
		if (rc)
			snprintf(why, sizeof(why), "batch handler failed: %s: %.150s", redstore_err_name(rc), redstore_error_last());
		else
			rc = run_handlers(k, e, why, sizeof(why));
		if (!rc)
			return 0;
		if (redstore_err_is_retriable(rc))
			return rc; /* the engine behind the handler is down: not the event's fault */
		if (attempt >= k->max_attempts) {
			char full[300];
			snprintf(full, sizeof(full), "%s (after %d attempts)", why, attempt);
			if ((rc = dead_letter(k, m, full)))
				return rc;
			return 1;
		}
	}
}

int redstore_consumer_poll(redstore_consumer *k, int timeout_ms, size_t *handled)
{
	size_t want = k->batch_max, n, ne = 0, done = 0;
	rd_kafka_message_t **msgs = calloc(want, sizeof(*msgs));
	redstore_event **ev = calloc(want, sizeof(*ev));
	const rd_kafka_message_t **src = calloc(want, sizeof(*src));
	bool *stopped = calloc(want, sizeof(*stopped));
	bool batch_ok = true;
	char why[256];
	ssize_t got = 0;
	int rc = 0;

	if (handled)
		*handled = 0;
	if (!msgs || !ev || !src || !stopped) {
		rc = redstore__fail(REDSTORE_ENOMEM, "consumer: out of memory");
		goto out;
	}
	got = rd_kafka_consume_batch_queue(k->queue, timeout_ms, msgs, want);
	if (got < 0) {
		rc = redstore__fail(REDSTORE_EKAFKA, "consumer: %s", rd_kafka_err2str(rd_kafka_last_error()));
		got = 0;
		goto out;
	}
	n = (size_t)got;
	/* Decode; what cannot be decoded is poison at once. */
	for (size_t i = 0; i < n; i++) {
		const rd_kafka_message_t *m = msgs[i];
		if (m->err)
			continue; /* partition EOF or a transient consumer error: nothing to handle */
		if (!strcmp(rd_kafka_topic_name(m->rkt), k->dlq)) {
			store_offset(k, m);
			continue;
		}
		if (redstore_event_decode(&ev[ne], m->payload ? m->payload : "", m->len)) {
			snprintf(why, sizeof(why), "undecodable: %.200s", redstore_error_last());
			if ((rc = dead_letter(k, m, why)))
				goto out; /* the dead-letter topic is unreachable: nothing is stored, it comes again */
			store_offset(k, m);
			done++;
			continue;
		}
		src[ne++] = m;
	}
	/* The whole batch at once; if that fails, each event alone finds the one at fault. */
	if (ne && k->batch_cb && k->batch_cb((const redstore_event *const *)ev, ne, k->batch_payload))
		batch_ok = false;
	for (size_t i = 0; i < ne; i++) {
		int one;
		for (size_t j = 0; j < i && !stopped[i]; j++)
			if (stopped[j] && src[j]->rkt == src[i]->rkt && src[j]->partition == src[i]->partition)
				stopped[i] = true; /* an earlier event of this partition must go first */
		if (stopped[i])
			continue;
		one = handle_one(k, ev[i], src[i], !batch_ok && k->batch_cb);
		if (one == 0 || one == 1) {
			store_offset(k, src[i]);
			done++;
		} else {
			stopped[i] = true;
			seek_back(k, src[i]);
			rc = one;
		}
	}
out:
	for (size_t i = 0; ev && i < ne; i++)
		redstore_event_free(ev[i]);
	for (ssize_t i = 0; msgs && i < got; i++)
		rd_kafka_message_destroy(msgs[i]);
	free(msgs);
	free(ev);
	free(src);
	free(stopped);
	if (handled)
		*handled = done;
	return rc;
}

int redstore_consumer_commit(redstore_consumer *k)
{
	rd_kafka_resp_err_t err = rd_kafka_commit(k->rk, NULL, 0);
	if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
		return redstore__fail(redstore__kafka_err(err), "consumer: commit: %s", rd_kafka_err2str(err));
	return 0;
}

int redstore_consumer_lag(redstore_partition_lag *out, size_t cap, size_t *count, redstore_consumer *k)
{
	rd_kafka_topic_partition_list_t *a = NULL;
	rd_kafka_resp_err_t err;
	*count = 0;
	if ((err = rd_kafka_assignment(k->rk, &a)))
		return redstore__fail(REDSTORE_EKAFKA, "consumer: assignment: %s", rd_kafka_err2str(err));
	rd_kafka_position(k->rk, a);
	for (int i = 0; i < a->cnt && *count < cap; i++) {
		redstore_partition_lag *l = &out[(*count)++];
		int64_t lo = -1, hi = -1;
		snprintf(l->topic, sizeof(l->topic), "%s", a->elems[i].topic);
		l->partition = a->elems[i].partition;
		l->position = a->elems[i].offset >= 0 ? a->elems[i].offset : -1;
		rd_kafka_get_watermark_offsets(k->rk, l->topic, l->partition, &lo, &hi);
		l->high = hi;
		l->lag = l->position >= 0 && hi >= l->position ? hi - l->position : 0;
	}
	rd_kafka_topic_partition_list_destroy(a);
	return 0;
}

size_t redstore__consumer_queued(redstore_consumer *k)
{
	return rd_kafka_queue_length(k->queue);
}

uint64_t redstore_consumer_dead_lettered(const redstore_consumer *k)
{
	return k->dead;
}

static bool has_assignment(rd_kafka_t *rk)
{
	rd_kafka_topic_partition_list_t *a = NULL;
	bool any = true;
	if (!rd_kafka_assignment(rk, &a)) {
		any = a->cnt > 0;
		rd_kafka_topic_partition_list_destroy(a);
	}
	return any;
}

/* Gives the partitions back while the group is still running, before rd_kafka_consumer_close().
 * A rebalance that started while the application was not polling (a new topic matching the pattern,
 * another member joining) leaves a revoke waiting in the consumer queue; served by the close itself,
 * its unassign can wait forever in librdkafka 2.0 (as in confluentinc/librdkafka#4884). So: unsubscribe, and
 * serve the queue (our callback unassigns; messages are dropped unhandled, their offsets not stored)
 * until nothing is assigned, for at most the session timeout. */
static void leave_assignment(redstore_consumer *k)
{
	rd_kafka_message_t *msgs[64];
	int64_t deadline = redstore__now_us() + 10 * 1000000;
	rd_kafka_unsubscribe(k->rk);
	while (redstore__now_us() < deadline) {
		ssize_t got = rd_kafka_consume_batch_queue(k->queue, 100, msgs, 64);
		for (ssize_t i = 0; i < got; i++)
			rd_kafka_message_destroy(msgs[i]);
		if (got <= 0 && !has_assignment(k->rk))
			break;
	}
}

void redstore_consumer_free(redstore_consumer *k)
{
	if (!k)
		return;
	if (k->rk) {
		rd_kafka_commit(k->rk, NULL, 0);
		k->closing = true;
		if (k->queue) {
			leave_assignment(k);
			rd_kafka_queue_destroy(k->queue);
		}
		rd_kafka_consumer_close(k->rk);
		rd_kafka_destroy(k->rk);
	}
	redstore_client_free(k->client);
	free(k);
}
