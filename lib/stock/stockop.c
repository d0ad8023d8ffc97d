/* The shared write path of every stock operation (see stockop.h), for one operation or a batch. */
#include "stock/stock_int.h"
#include "events/events_int.h"
#include "engines/engines_int.h"

#include <stdio.h>

#define MAX_ITEMS 500

void redstore__stock_outcome_clear(redstore__stock_outcome *out)
{
	free(out->result);
	memset(out, 0, sizeof(*out));
}

static void build_keys(redstore__stock_keys *k, const char *store, const redstore__stock_op *op)
{
	redstore__key(k->onhand, store, "onhand");
	redstore__key(k->reserved, store, "reserved");
	redstore__key_id(k->op, store, "op", op->id);
	redstore__key(k->stream, store, "stream");
	if (op->aux_kind)
		redstore__key_id(k->aux, store, op->aux_kind, op->aux_id);
	else
		redstore__key(k->aux, store, "none");
	redstore__key(k->resvexp, store, "resvexp");
	redstore__key(k->channel, store, "changes");
	redstore__key(k->gate, store, "rebuild");
}

/* Settles one attempt: "undo" or "abandon" (see stock_settle.lua). Returns 1 when the operation was
 * undone (nothing of it remains), 0 when it stays (pending or done), or an error. */
static int settle(redstore_client *c, const redstore__stock_job *s, const char *how)
{
	const char *argv[10] = { s->k.onhand, s->k.reserved, s->k.op, s->k.stream, s->k.aux, s->k.resvexp, s->op->id, how,
		                     s->maxlen, s->k.channel };
	redisReply *r = NULL;
	int rc = redstore__redis_script(&r, c, "stock_settle", 6, 10, argv, NULL);
	if (!rc)
		rc = r && r->type == REDIS_REPLY_STRING && (!strcmp(r->str, "undone") || !strcmp(r->str, "gone"));
	if (r)
		freeReplyObject(r);
	return rc;
}

static long long reply_int(const redisReply *r)
{
	if (r->type == REDIS_REPLY_INTEGER)
		return r->integer;
	if (r->type == REDIS_REPLY_STRING)
		return strtoll(r->str, NULL, 10);
	return 0;
}

int redstore__stock_prepare(redstore__stock_job *s, redstore_client *c, const redstore__stock_op *op,
                            redstore__stock_item *items, size_t n)
{
	static const char ttl[] = REDSTORE_OP_TTL_S;

	memset(s, 0, sizeof(*s));
	snprintf(s->terminal, sizeof(s->terminal), "%s", c->terminal);
	snprintf(s->employee, sizeof(s->employee), "%s", c->employee);
	s->op = op;
	s->items = items;
	s->n = n;
	snprintf(s->store, sizeof(s->store), "%s", op->store ? op->store : c->store);
	if (!s->store[0])
		return redstore__fail(REDSTORE_EINVALID, "%s: no store selected", op->type);
	if (n < 1 || n > MAX_ITEMS)
		return redstore__fail(REDSTORE_ELIMIT, "%s: %zu items (expected 1..%d)", op->type, n, MAX_ITEMS);
	build_keys(&s->k, s->store, op);
	if (op->domain) {
		/* The envelope names the store whose stock changed. */
		s->event = redstore__event_encode(c, s->store, op->id, op->type,
		                                  op->occurred_at_ms ? op->occurred_at_ms : redstore__wall_ms(), op->payload);
		if (!s->event)
			return REDSTORE_ENOMEM;
	}
	s->argv = calloc(17 + 6 * n, sizeof(*s->argv));
	s->nums = calloc(n, sizeof(*s->nums));
	if (!s->argv || !s->nums)
		return redstore__fail(REDSTORE_ENOMEM, "%s: out of memory", op->type);
	snprintf(s->maxlen, sizeof(s->maxlen), "%lld", (long long)c->set.sync_stream_maxlen);
	snprintf(s->expiry, sizeof(s->expiry), "%lld", (long long)op->aux_expiry_ms);
	snprintf(s->count, sizeof(s->count), "%zu", n);
	s->argv[s->argc++] = s->k.onhand;
	s->argv[s->argc++] = s->k.reserved;
	s->argv[s->argc++] = s->k.op;
	s->argv[s->argc++] = s->k.stream;
	s->argv[s->argc++] = s->k.aux;
	s->argv[s->argc++] = s->k.resvexp;
	s->argv[s->argc++] = s->k.gate;
	s->argv[s->argc++] = op->id;
	s->argv[s->argc++] = op->type;
	/* A result equal to the event's payload is not stored twice (see redstore__stock_op.result). */
	s->argv[s->argc++] = op->result && !op->result_is_payload ? op->result : "";
	s->argv[s->argc++] = s->event ? s->event : "";
	s->argv[s->argc++] = ttl;
	s->argv[s->argc++] = s->maxlen;
	s->argv[s->argc++] = s->k.channel;
	s->argv[s->argc++] = op->aux_mode ? op->aux_mode : "";
	s->argv[s->argc++] = s->expiry;
	s->argv[s->argc++] = s->count;
	for (size_t i = 0; i < n; i++) {
		snprintf(s->nums[i][0], sizeof(s->nums[i][0]), "%lld", (long long)items[i].qty);
		snprintf(s->nums[i][1], sizeof(s->nums[i][1]), "%lld", (long long)items[i].low);
		s->argv[s->argc++] = items[i].sku;
		s->argv[s->argc++] = items[i].mode;
		s->argv[s->argc++] = s->nums[i][0];
		s->argv[s->argc++] = items[i].deny ? "1" : "0";
		s->argv[s->argc++] = s->nums[i][1];
		s->argv[s->argc++] = items[i].field ? items[i].field : "";
	}
	return 0;
}

/* Reads the apply reply of one operation: decides its result or that its event must be produced. */
static void classify(redstore__stock_job *s)

{
	redisReply *r = s->reply;
	const char *type = s->op->type;
	redstore__stock_outcome *out = &s->out;

	if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 || r->element[0]->type != REDIS_REPLY_STRING) {
		s->rc = redstore__fail(REDSTORE_EREDIS, "%s: unexpected reply from stock_apply", type);
	} else if (!strcmp(r->element[0]->str, "busy")) {
		s->rc = redstore__fail(REDSTORE_EUNAVAILABLE, "%s %s: store %s is being rebuilt: retry with the same id", type,
		                       s->op->id, s->store);
	} else if (!strcmp(r->element[0]->str, "gone")) {
		s->rc = redstore__fail(REDSTORE_ENOTFOUND, "%s %s: no such operation", type, s->op->id);
	} else if (r->elements < 2) {
		s->rc = redstore__fail(REDSTORE_EREDIS, "%s: unexpected reply from stock_apply", type);
	} else if (!strcmp(r->element[0]->str, "short")) {
		s->rc = redstore__fail(REDSTORE_EOUT_OF_STOCK, "out of stock: SKU %s has %s available", r->element[1]->str,
		                       r->elements > 2 ? r->element[2]->str : "?");
	} else if (!strcmp(r->element[0]->str, "bad")) {
		s->rc = redstore__fail(REDSTORE_EINVALID, "%s: %s", type, r->element[1]->str);
	} else if (!strcmp(r->element[0]->str, "dup")) {
		const redisReply *state = r->element[1];
		const redisReply *result = r->elements > 2 ? r->element[2] : NULL;
		const redisReply *ev = r->elements > 3 ? r->element[3] : NULL;
		bool has = result && result->type == REDIS_REPLY_STRING && result->len > 0;
		out->duplicate = true;
		if (!has && ev && ev->type == REDIS_REPLY_STRING && ev->len > 0) {
			/* The result was not stored apart: it is the payload of the stored event. */
			cJSON *env = cJSON_ParseWithLength(ev->str, ev->len);
			cJSON *payload = cJSON_GetObjectItemCaseSensitive(env, "payload");
			out->result = payload ? cJSON_PrintUnformatted(payload) : NULL;
			cJSON_Delete(env);
			if (!out->result)
				s->rc = redstore__fail(REDSTORE_EDECODE, "%s %s: stored event has no payload", type, s->op->id);
		} else if (!(out->result = redstore__strndup(has ? result->str : "", has ? result->len : 0))) {
			s->rc = redstore__fail(REDSTORE_ENOMEM, "%s: out of memory", type);
		}
		if (!s->rc && state->type == REDIS_REPLY_STRING && !strcmp(state->str, "pending")) {
			/* An earlier attempt may or may not have reached Kafka: produce the very same event again
			 * (whether the result was stored apart or is the event's payload, as a sale's receipt is). */
			s->produce = true;
			if (ev && ev->type == REDIS_REPLY_STRING && ev->len) {
				s->to_produce = ev->str;
				s->to_produce_len = ev->len;
			}
		}
	} else if (!strcmp(r->element[0]->str, "ok") &&
	           (r->elements == 2 + 4 * s->n || r->elements == 3 + 4 * s->n)) {
		snprintf(out->stream_id, sizeof(out->stream_id), "%s",
		         r->element[1]->type == REDIS_REPLY_STRING ? r->element[1]->str : "");
		for (size_t i = 0; i < s->n; i++) {
			s->items[i].on_hand = reply_int(r->element[2 + 4 * i]);
			s->items[i].reserved = reply_int(r->element[3 + 4 * i]);
			s->items[i].delta = reply_int(r->element[4 + 4 * i]);
			s->items[i].low_crossed = reply_int(r->element[5 + 4 * i]) != 0;
		}
		s->produce = true;
		if (r->elements == 3 + 4 * s->n && r->element[2 + 4 * s->n]->type == REDIS_REPLY_STRING) {
			/* The script completed the event (a count's deltas): produce that one. */
			s->to_produce = r->element[2 + 4 * s->n]->str;
			s->to_produce_len = r->element[2 + 4 * s->n]->len;
		} else if (s->event) {
			s->to_produce = s->event;
			s->to_produce_len = strlen(s->event);
		}
	} else {
		s->rc = redstore__fail(REDSTORE_EREDIS, "%s: unexpected reply from stock_apply", type);
	}
}

/* Produces every pending event asynchronously and waits for all delivery reports (each bounded by
 * kafka.delivery_timeout_ms inside librdkafka). */
static int produce_all(redstore_client *c, redstore__stock_job *const *jobs, size_t n)
{
	rd_kafka_t *rk = NULL;
	size_t waiting = 0;
	int rc = 0;

	for (size_t i = 0; i < n; i++)
		if (!jobs[i]->rc && jobs[i]->produce && jobs[i]->to_produce && jobs[i]->op->domain)
			waiting++;
	if (!waiting)
		return 0;
	if ((rc = redstore__kafka_producer(&rk, c)))
		return rc;
	for (size_t i = 0; i < n; i++) {
		redstore__stock_job *s = jobs[i];
		char topic[160];
		rd_kafka_resp_err_t err;
		if (s->rc || !(s->produce && s->to_produce && s->op->domain))
			continue;
		redstore__kafka_topic(topic, sizeof(topic), &c->set, s->op->domain);
		for (;;) {
			err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(s->store, strlen(s->store)),
			                        RD_KAFKA_V_VALUE((void *)s->to_produce, s->to_produce_len),
			                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(&s->dr), RD_KAFKA_V_END);
			if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
				break;
			rd_kafka_poll(rk, 10);
		}
		if (err) {
			/* Never handed to librdkafka: definitely not written. */
			s->dr.done = true;
			s->dr.err = err;
			s->dr.maybe_written = false;
			waiting--;
		}
	}
	while (waiting) {
		rd_kafka_poll(rk, 100);
		waiting = 0;
		for (size_t i = 0; i < n; i++)
			if (!jobs[i]->rc && jobs[i]->produce && jobs[i]->to_produce && jobs[i]->op->domain && !jobs[i]->dr.done)
				waiting++;
	}
	return 0;
}

static bool acknowledged(const redstore__stock_job *s)
{
	return !s->rc && s->produce && (!s->op->domain || !s->to_produce || !s->dr.err);
}

/* Confirms the acknowledged operations: one script call per run of operations of the same store. */
static void confirm_all(redstore_client *c, redstore__stock_job *const *jobs, size_t n)
{
	const char **keys = calloc(n, sizeof(*keys));
	size_t k = 0;
	const char *store = NULL;

	for (size_t i = 0; i <= n; i++) {
		bool ok = i < n && acknowledged(jobs[i]);
		if (keys && k && (i == n || (ok && strcmp(store, jobs[i]->store) != 0))) {
			/* The event is durable: the operation happened, even if recording "done" fails now (a retry
			 * would find it pending, re-produce the same event and confirm). */
			redstore__redis_script(NULL, c, "stock_confirm", (int)k, (int)k, keys, NULL);
			k = 0;
		}
		if (ok && keys) {
			store = jobs[i]->store;
			keys[k++] = jobs[i]->k.op;
		}
	}
	free(keys);
}

/* Emits one inventory.low_stock event for an operation that took SKUs to their threshold. The operation
 * is already durable; its event id is derived from the operation's so a retry cannot double it. A failure
 * here does not fail the operation: the crossing stays in the stream entry and the caller's result. */
static void emit_low_stock(redstore_client *c, const redstore__stock_job *s)
{
	cJSON *payload = NULL, *skus;
	char id[REDSTORE_ID_SIZE], saved_terminal[sizeof(c->terminal)], saved_employee[sizeof(c->employee)];
	size_t crossed = 0;

	for (size_t i = 0; i < s->n; i++)
		crossed += s->items[i].low_crossed;
	if (!crossed || !(payload = cJSON_CreateObject()) || !(skus = cJSON_AddArrayToObject(payload, "items")))
		goto done;
	cJSON_AddStringToObject(payload, "op_id", s->op->id);
	cJSON_AddStringToObject(payload, "op_type", s->op->type);
	for (size_t i = 0; i < s->n; i++) {
		cJSON *it;
		if (!s->items[i].low_crossed || !(it = cJSON_CreateObject()))
			continue;
		cJSON_AddItemToArray(skus, it);
		cJSON_AddStringToObject(it, "sku", s->items[i].sku);
		cJSON_AddNumberToObject(it, "available", (double)(s->items[i].on_hand - s->items[i].reserved));
		cJSON_AddNumberToObject(it, "threshold", (double)s->items[i].low);
	}
	/* The operation's id with its last hex digit changed: stable across retries, distinct from the op. */
	snprintf(id, sizeof(id), "%s", s->op->id);
	id[35] = id[35] == '0' ? '1' : '0';
	/* The event names the operation's actor: the executing client may be a committer's. */
	memcpy(saved_terminal, c->terminal, sizeof(saved_terminal));
	memcpy(saved_employee, c->employee, sizeof(saved_employee));
	snprintf(c->terminal, sizeof(c->terminal), "%s", s->terminal);
	snprintf(c->employee, sizeof(c->employee), "%s", s->employee);
	redstore__event_emit_for(c, s->store, REDSTORE_DOMAIN_INVENTORY, id, "inventory.low_stock", payload);
	memcpy(c->terminal, saved_terminal, sizeof(saved_terminal));
	memcpy(c->employee, saved_employee, sizeof(saved_employee));
done:
	cJSON_Delete(payload);
}

/* Runs the prepared jobs' scripts in one pipelined round trip and reads their replies. Returns an error
 * that stopped the whole batch (the connection failed), else 0 with each job's own rc set. */
static int apply_all(redstore_client *c, redstore__stock_job *const *jobs, size_t n)
{
	size_t appended = 0;
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		if (jobs[i]->rc)
			continue;
		if ((rc = redstore__redis_script_append(c, "stock_apply", 7, (int)jobs[i]->argc, jobs[i]->argv, NULL))) {
			/* Commands already queued would answer someone else's next call: discard the connection. */
			if (appended)
				redstore__redis_drop(c);
			return rc;
		}
		appended++;
	}
	for (size_t i = 0; i < n; i++) {
		redstore__stock_job *s = jobs[i];
		if (s->rc)
			continue;
		if ((rc = redstore__redis_read(&s->reply, c)))
			return rc;
		if (s->reply->type == REDIS_REPLY_ERROR) {
			if (!strncmp(s->reply->str, "NOSCRIPT", 8)) {
				/* Scripts were flushed between load and run: run this one alone (it reloads). */
				freeReplyObject(s->reply);
				s->reply = NULL;
				if ((s->rc = redstore__redis_script(&s->reply, c, "stock_apply", 7, (int)s->argc, s->argv, NULL)))
					continue;
			} else {
				s->rc = redstore__fail(REDSTORE_EREDIS, "%s: %s", s->op->type, s->reply->str);
				continue;
			}
		}
		classify(s);
	}
	return 0;
}

/* Undoes or abandons the operations whose events Kafka did not acknowledge, one by one. */
static void settle_failed(redstore_client *c, redstore__stock_job *const *jobs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		redstore__stock_job *s = jobs[i];
		int code;
		char saved[512];
		if (s->rc || !s->produce || !s->op->domain || !s->to_produce || !s->dr.err)
			continue;
		code = redstore__kafka_err(s->dr.err);
		snprintf(saved, sizeof(saved), "kafka: not acknowledged: %s", rd_kafka_err2str(s->dr.err));
		if (settle(c, s, s->dr.maybe_written ? "abandon" : "undo") == 1)
			s->rc = redstore__fail(code, "%s %s: %s (definitely not written); nothing was changed: retry with the "
			                       "same id", s->op->type, s->op->id, saved);
		else
			s->rc = redstore__fail(code, "%s %s: %s; the operation is pending: retry with the same id",
			                       s->op->type, s->op->id, saved);
	}
}

/* Keeps each failed job's message: the batch runs on one thread, its callers read their own. */
static void keep_message(redstore__stock_job *s)
{
	if (s->rc && !s->message[0])
		snprintf(s->message, sizeof(s->message), "%s", redstore_error_last());
}

void redstore__stock_execute(redstore_client *c, redstore__stock_job *const *jobs, size_t n)
{
	int rc;

	for (size_t i = 0; i < n; i++)
		keep_message(jobs[i]);
	/* 1. apply: every script in one pipelined round trip. */
	rc = apply_all(c, jobs, n);
	for (size_t i = 0; i < n; i++)
		keep_message(jobs[i]);
	/* 2. produce every event that must go out, and wait for all acknowledgements. */
	if (!rc)
		rc = produce_all(c, jobs, n);
	/* 3. settle: confirm the acknowledged ones together; undo or abandon the others one by one. */
	if (!rc) {
		confirm_all(c, jobs, n);
		for (size_t i = 0; i < n; i++)
			if (acknowledged(jobs[i]) && !jobs[i]->out.duplicate)
				emit_low_stock(c, jobs[i]);
		settle_failed(c, jobs, n);
	}
	for (size_t i = 0; i < n; i++) {
		redstore__stock_job *s = jobs[i];
		if (rc && !s->rc) {
			/* The batch stopped before this job's answer was known: every one of them gets the error. */
			s->rc = rc;
			snprintf(s->message, sizeof(s->message), "%s", redstore_error_last());
		}
		keep_message(s);
		if (s->rc)
			redstore__stock_outcome_clear(&s->out);
	}
}

void redstore__stock_job_clear(redstore__stock_job *s)
{
	if (s->reply)
		freeReplyObject(s->reply);
	free(s->event);
	free(s->argv);
	free(s->nums);
	redstore__stock_outcome_clear(&s->out);
	memset(s, 0, sizeof(*s));
}

int redstore__stock_run_many(redstore__stock_outcome *outs, int *rcs, redstore_client *c,
                             const redstore__stock_op *ops, redstore__stock_item *const *items, const size_t *counts,
                             size_t n)
{
	redstore__stock_job *st = calloc(n ? n : 1, sizeof(*st));
	redstore__stock_job **jobs = calloc(n ? n : 1, sizeof(*jobs));
	char lastmsg[sizeof(st->message)] = "";
	int rc = 0, last = 0;

	for (size_t i = 0; i < n; i++) {
		memset(&outs[i], 0, sizeof(outs[i]));
		rcs[i] = 0;
	}
	if (!st || !jobs) {
		free(st);
		free(jobs);
		rc = redstore__fail(REDSTORE_ENOMEM, "stock operations: out of memory");
		for (size_t i = 0; i < n; i++)
			rcs[i] = rc;
		return rc;
	}
	for (size_t i = 0; i < n; i++) {
		st[i].rc = redstore__stock_prepare(&st[i], c, &ops[i], items[i], counts[i]);
		jobs[i] = &st[i];
	}
	redstore__stock_execute(c, jobs, n);
	for (size_t i = 0; i < n; i++) {
		rcs[i] = st[i].rc;
		if (st[i].rc) {
			last = st[i].rc;
			snprintf(lastmsg, sizeof(lastmsg), "%s", st[i].message);
		} else {
			outs[i] = st[i].out;
			memset(&st[i].out, 0, sizeof(st[i].out));
		}
		redstore__stock_job_clear(&st[i]);
	}
	/* This thread's last error is the last failed operation's message (callers of one operation read it). */
	if (last)
		redstore__fail(last, "%s", lastmsg);
	free(st);
	free(jobs);
	return rc;
}

int redstore__stock_run(redstore__stock_outcome *out, redstore_client *c, const redstore__stock_op *op,
                        redstore__stock_item *items, size_t n)
{
	int one = 0;
	int rc = redstore__stock_run_many(out, &one, c, op, &items, &n, 1);
	return rc ? rc : one;
}
