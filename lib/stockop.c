/* The shared write path of every stock operation (see stockop.h). */
#include "stockop.h"
#include "event.h"
#include "keys.h"

#include <stdio.h>

void redstore__stock_outcome_clear(redstore__stock_outcome *out)
{
	free(out->result);
	memset(out, 0, sizeof(*out));
}

typedef struct op_keys {
	char onhand[REDSTORE_KEY_MAX], reserved[REDSTORE_KEY_MAX], op[REDSTORE_KEY_MAX], stream[REDSTORE_KEY_MAX],
		aux[REDSTORE_KEY_MAX], resvexp[REDSTORE_KEY_MAX], channel[REDSTORE_KEY_MAX];
} op_keys;

static void build_keys(op_keys *k, const char *store, const redstore__stock_op *op)
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
}

/* Settles this attempt: "confirm", "undo" or "abandon" (see stock_settle.lua). */
static int settle(redstore_client *c, const op_keys *k, const redstore__stock_op *op, const char *how)
{
	char maxlen[24];
	const char *argv[10] = { k->onhand, k->reserved, k->op, k->stream, k->aux, k->resvexp, op->id, how, maxlen,
		                     k->channel };
	snprintf(maxlen, sizeof(maxlen), "%lld", (long long)redstore__config_int(c->cfg, REDSTORE_CFG_SYNC_STREAM_MAXLEN));
	return redstore__redis_script(NULL, c, "stock_settle", 6, 10, argv, NULL);
}

/* Produces the operation's event text and settles the record accordingly. */
static int publish(redstore_client *c, const op_keys *k, const redstore__stock_op *op, const char *store,
                   const char *event, size_t len)
{
	char topic[160], saved[512];
	bool maybe_written = false;
	int rc, code;

	if (!op->domain || !event || !len)
		return settle(c, k, op, "confirm"), 0;
	redstore__kafka_topic(topic, sizeof(topic), c->cfg, op->domain);
	rc = redstore__kafka_produce_sync2(c, topic, store, event, len, &maybe_written);
	if (!rc) {
		/* The event is durable: the operation happened, even if recording "done" fails now (a retry
		 * would find it pending, re-produce the same event and confirm). */
		settle(c, k, op, "confirm");
		return 0;
	}
	code = rc;
	snprintf(saved, sizeof(saved), "%s", redstore_error_last());
	if (settle(c, k, op, maybe_written ? "abandon" : "undo") == 0)
		return redstore__fail(code, "%s %s: %s; %s", op->type, op->id, saved,
		                      maybe_written ? "the operation is pending: retry with the same id"
		                                    : "nothing was changed: retry with the same id");
	return redstore__fail(code, "%s %s: %s; the operation is pending: retry with the same id", op->type, op->id,
	                      saved);
}

static long long reply_int(const redisReply *r)
{
	if (r->type == REDIS_REPLY_INTEGER)
		return r->integer;
	if (r->type == REDIS_REPLY_STRING)
		return strtoll(r->str, NULL, 10);
	return 0;
}

int redstore__stock_run(redstore__stock_outcome *out, redstore_client *c, const redstore__stock_op *op,
                        redstore__stock_item *items, size_t n)
{
	const char *store = op->store ? op->store : c->store;
	op_keys k;
	char *event = NULL, ttl[] = REDSTORE_OP_TTL_S, maxlen[24], expiry[24], count[24];
	char (*nums)[2][24] = NULL;
	const char **argv = NULL;
	size_t argc = 0;
	redisReply *r = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!store[0])
		return redstore__fail(REDSTORE_EINVALID, "%s: no store selected", op->type);
	if (n > 500)
		return redstore__fail(REDSTORE_ELIMIT, "%s: %zu items (max 500)", op->type, n);
	build_keys(&k, store, op);
	if (op->domain) {
		char saved[65];
		/* The envelope names the store whose stock changed. */
		snprintf(saved, sizeof(saved), "%s", c->store);
		snprintf(c->store, sizeof(c->store), "%s", store);
		event = redstore__event_encode(c, op->id, op->type, redstore__wall_ms(), op->payload);
		snprintf(c->store, sizeof(c->store), "%s", saved);
		if (!event)
			return REDSTORE_ENOMEM;
	}
	argv = calloc(16 + 6 * n, sizeof(*argv));
	nums = calloc(n ? n : 1, sizeof(*nums));
	if (!argv || !nums) {
		rc = redstore__fail(REDSTORE_ENOMEM, "%s: out of memory", op->type);
		goto done;
	}
	snprintf(maxlen, sizeof(maxlen), "%lld", (long long)redstore__config_int(c->cfg, REDSTORE_CFG_SYNC_STREAM_MAXLEN));
	snprintf(expiry, sizeof(expiry), "%lld", (long long)op->aux_expiry_ms);
	snprintf(count, sizeof(count), "%zu", n);
	argv[argc++] = k.onhand;
	argv[argc++] = k.reserved;
	argv[argc++] = k.op;
	argv[argc++] = k.stream;
	argv[argc++] = k.aux;
	argv[argc++] = k.resvexp;
	argv[argc++] = op->id;
	argv[argc++] = op->type;
	argv[argc++] = op->result ? op->result : "";
	argv[argc++] = event ? event : "";
	argv[argc++] = ttl;
	argv[argc++] = maxlen;
	argv[argc++] = k.channel;
	argv[argc++] = op->aux_mode ? op->aux_mode : "";
	argv[argc++] = expiry;
	argv[argc++] = count;
	for (size_t i = 0; i < n; i++) {
		snprintf(nums[i][0], sizeof(nums[i][0]), "%lld", (long long)items[i].qty);
		snprintf(nums[i][1], sizeof(nums[i][1]), "%lld", (long long)items[i].low);
		argv[argc++] = items[i].sku;
		argv[argc++] = items[i].mode;
		argv[argc++] = nums[i][0];
		argv[argc++] = items[i].deny ? "1" : "0";
		argv[argc++] = nums[i][1];
		argv[argc++] = items[i].field ? items[i].field : "";
	}
	if ((rc = redstore__redis_script(&r, c, "stock_apply", 6, (int)argc, argv, NULL)))
		goto done;
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 || r->element[0]->type != REDIS_REPLY_STRING) {
		rc = redstore__fail(REDSTORE_EREDIS, "%s: unexpected reply from stock_apply", op->type);
		goto done;
	}
	if (!strcmp(r->element[0]->str, "short")) {
		rc = redstore__fail(REDSTORE_EOUT_OF_STOCK, "out of stock: SKU %s has %s available", r->element[1]->str,
		                    r->elements > 2 ? r->element[2]->str : "?");
	} else if (!strcmp(r->element[0]->str, "bad")) {
		rc = redstore__fail(REDSTORE_EINVALID, "%s: %s", op->type, r->element[1]->str);
	} else if (!strcmp(r->element[0]->str, "dup")) {
		const redisReply *state = r->element[1];
		const redisReply *result = r->elements > 2 ? r->element[2] : NULL;
		const redisReply *ev = r->elements > 3 ? r->element[3] : NULL;
		out->duplicate = true;
		out->result = redstore__strndup(result && result->type == REDIS_REPLY_STRING ? result->str : "",
		                                result && result->type == REDIS_REPLY_STRING ? result->len : 0);
		if (!out->result) {
			rc = redstore__fail(REDSTORE_ENOMEM, "%s: out of memory", op->type);
		} else if (state->type == REDIS_REPLY_STRING && !strcmp(state->str, "pending")) {
			/* An earlier attempt may or may not have reached Kafka: produce the very same event again. */
			rc = publish(c, &k, op, store, ev && ev->type == REDIS_REPLY_STRING ? ev->str : NULL,
			             ev && ev->type == REDIS_REPLY_STRING ? ev->len : 0);
			if (rc)
				redstore__stock_outcome_clear(out);
		}
	} else if (!strcmp(r->element[0]->str, "ok") && r->elements == 2 + 4 * n) {
		snprintf(out->stream_id, sizeof(out->stream_id), "%s",
		         r->element[1]->type == REDIS_REPLY_STRING ? r->element[1]->str : "");
		for (size_t i = 0; i < n; i++) {
			items[i].on_hand = reply_int(r->element[2 + 4 * i]);
			items[i].reserved = reply_int(r->element[3 + 4 * i]);
			items[i].delta = reply_int(r->element[4 + 4 * i]);
			items[i].low_crossed = reply_int(r->element[5 + 4 * i]) != 0;
		}
		rc = publish(c, &k, op, store, event, event ? strlen(event) : 0);
	} else {
		rc = redstore__fail(REDSTORE_EREDIS, "%s: unexpected reply from stock_apply", op->type);
	}
done:
	if (r)
		freeReplyObject(r);
	free(event);
	free(argv);
	free(nums);
	return rc;
}
