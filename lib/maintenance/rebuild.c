/* Rebuilding a store's Redis state from PostgreSQL plus the unprojected events (see maintenance.h). */
#include "maintenance/maintenance_int.h"
#include "catalog/catalog_int.h"
#include "events/events_int.h"
#include "engines/engines_int.h"
#include "sale/sale_int.h"
#include "stock/stock_int.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <time.h>

/* Redis commands sent per pipelined round trip. */
#define PIPE_CHUNK 1000
/* Fields per HSET of a rebuilt counter hash. */
#define HSET_CHUNK 500
/* Recent operations whose in-flight attempts a rebuild watches one by one. */
#define QUIESCE_MAX 100000

/* ------------------------------------------------------------------ what is computed */

typedef struct level {
	char sku[65];
	int64_t on, res;
} level;

/* One idempotency record to (re)create. */
typedef struct oprec {
	char id[REDSTORE_ID_SIZE];
	char type[64];
	char aux_sale[REDSTORE_ID_SIZE];  /* sales, refunds, voids: the sale whose rf hash is the aux key */
	char *event;                      /* sales, refunds, voids: the envelope (its payload is the receipt) */
	bool is_inventory;                /* result = the id (inventory operations answer with their id) */
	int64_t expire_at_ms;
	bool live;                        /* a record exists in Redis already */
} oprec;

/* A sale's lines, for its refund tracking hash. */
typedef struct sold {
	char sale_id[REDSTORE_ID_SIZE];
	size_t n;
	char (*sku)[65];
	int64_t *qty, *refunded;
} sold;

/* A refund or void line: which sale, which line (-1: unknown, matched by SKU), how many. */
typedef struct undo_line {
	char sale_id[REDSTORE_ID_SIZE];
	char sku[65];
	int64_t line, qty;
} undo_line;

/* A reservation line seen in the unprojected log: held (+) or released (-). */
typedef struct resv_line {
	char id[REDSTORE_ID_SIZE];
	char sku[65];
	int64_t qty;
	int64_t expires_at_ms;   /* > 0 on the line of the reservation's creation */
} resv_line;

/* A live op record found in Redis. */
typedef struct live_rec {
	char id[REDSTORE_ID_SIZE];
	bool pending;
	bool is_sale;
} live_rec;

/* A raw event of the store read from Kafka. */
typedef struct raw_event {
	redstore_event *ev;
	char *text;
	bool projected;   /* the PostgreSQL snapshot has it already */
} raw_event;

#define VEC(T)        \
	struct {          \
		T *v;         \
		size_t n, cap; \
	}

typedef struct rebuild {
	redstore_client *c;
	const char *store;
	int64_t now_ms, ttl_ms;
	VEC(level) levels;
	VEC(oprec) ops;
	VEC(sold) sales;
	VEC(undo_line) undos;
	VEC(live_rec) live;
	VEC(raw_event) events;
	VEC(resv_line) resv;
	redstore_rebuild_stats stats;
} rebuild;

static int grow(void **v, size_t *cap, size_t n, size_t size)
{
	size_t c;
	void *p;
	if (n < *cap)
		return 0;
	c = *cap ? *cap * 2 : 64;
	if (!(p = realloc(*v, c * size)))
		return redstore__fail(REDSTORE_ENOMEM, "cache rebuild: out of memory");
	*v = p;
	*cap = c;
	return 0;
}

#define PUSH(vec, out)                                                                                    \
	(grow((void **)&(vec).v, &(vec).cap, (vec).n, sizeof(*(vec).v))                                       \
	     ? REDSTORE_ENOMEM                                                                                \
	     : ((out) = &(vec).v[(vec).n++], memset((out), 0, sizeof(*(out))), 0))

static void rebuild_free(rebuild *b)
{
	for (size_t i = 0; i < b->ops.n; i++)
		free(b->ops.v[i].event);
	for (size_t i = 0; i < b->sales.n; i++) {
		free(b->sales.v[i].sku);
		free(b->sales.v[i].qty);
		free(b->sales.v[i].refunded);
	}
	for (size_t i = 0; i < b->events.n; i++) {
		redstore_event_free(b->events.v[i].ev);
		free(b->events.v[i].text);
	}
	free(b->levels.v);
	free(b->ops.v);
	free(b->sales.v);
	free(b->undos.v);
	free(b->live.v);
	free(b->events.v);
	free(b->resv.v);
}

static int add_level(rebuild *b, const char *sku, int64_t on, int64_t res)
{
	level *l;
	int rc = PUSH(b->levels, l);
	if (!rc)
		snprintf(l->sku, sizeof(l->sku), "%s", sku);
	if (!rc) {
		l->on = on;
		l->res = res;
	}
	return rc;
}

static const char *op_type_of_kind(const char *kind)
{
	if (!strcmp(kind, "sale"))
		return "sale.completed";
	if (!strcmp(kind, "refund"))
		return "sale.refunded";
	if (!strcmp(kind, "void"))
		return "sale.voided";
	return NULL;
}

/* Records what a sale, refund or void receipt means for the rf hashes: the sale's lines, or the undone
 * lines with the sale line each one came from ("sale_line", when the receipt carries it). */
static int note_receipt(rebuild *b, const redstore_receipt *r, const char *json)
{
	int rc = 0;
	if (!strcmp(r->kind, "sale")) {
		sold *s;
		if ((rc = PUSH(b->sales, s)))
			return rc;
		snprintf(s->sale_id, sizeof(s->sale_id), "%s", r->sale_id);
		s->n = r->line_count;
		s->sku = calloc(r->line_count + 1, sizeof(*s->sku));
		s->qty = calloc(r->line_count + 1, sizeof(*s->qty));
		s->refunded = calloc(r->line_count + 1, sizeof(*s->refunded));
		if (!s->sku || !s->qty || !s->refunded)
			return redstore__fail(REDSTORE_ENOMEM, "cache rebuild: out of memory");
		for (size_t i = 0; i < r->line_count; i++) {
			snprintf(s->sku[i], sizeof(s->sku[i]), "%s", r->lines[i].sku);
			s->qty[i] = r->lines[i].qty;
		}
		return 0;
	}
	{
		cJSON *o = cJSON_Parse(json);
		const cJSON *lines = cJSON_GetObjectItemCaseSensitive(o, "lines"), *l = lines ? lines->child : NULL;
		for (size_t i = 0; !rc && i < r->line_count; i++, l = l ? l->next : NULL) {
			const cJSON *sl = l ? cJSON_GetObjectItemCaseSensitive(l, "sale_line") : NULL;
			undo_line *u;
			if ((rc = PUSH(b->undos, u)))
				break;
			snprintf(u->sale_id, sizeof(u->sale_id), "%s", r->ref_sale_id);
			snprintf(u->sku, sizeof(u->sku), "%s", r->lines[i].sku);
			u->line = cJSON_IsNumber(sl) && sl->valuedouble >= 0 ? (int64_t)sl->valuedouble : -1;
			u->qty = r->lines[i].qty;
		}
		cJSON_Delete(o);
	}
	return rc;
}

static int add_op(rebuild *b, const char *id, const char *type, int64_t recorded_ms, const char *aux_sale,
                  char *event, bool is_inventory)
{
	oprec *o;
	int rc;
	if (recorded_ms + b->ttl_ms <= b->now_ms) {
		free(event);
		return 0;   /* its record would have expired by now */
	}
	if ((rc = PUSH(b->ops, o))) {
		free(event);
		return rc;
	}
	snprintf(o->id, sizeof(o->id), "%s", id);
	snprintf(o->type, sizeof(o->type), "%s", type);
	snprintf(o->aux_sale, sizeof(o->aux_sale), "%s", aux_sale ? aux_sale : "");
	o->event = event;
	o->is_inventory = is_inventory;
	o->expire_at_ms = recorded_ms + b->ttl_ms;
	return 0;
}

/* ------------------------------------------------------------------ PostgreSQL */

/* An envelope for a projected sale, refund or void (its payload is the receipt the sale answered with). */
static char *envelope(const char *event_id, const char *type, const char *store, const char *terminal,
                      const char *employee, int64_t occurred_ms, int64_t recorded_ms, const char *receipt)
{
	char occurred[32], recorded[32];
	cJSON *env = cJSON_CreateObject(), *payload = cJSON_Parse(receipt);
	char *text = NULL;
	if (env && payload && cJSON_AddStringToObject(env, "id", event_id) && cJSON_AddStringToObject(env, "type", type) &&
	    cJSON_AddNumberToObject(env, "schema_version", REDSTORE_EVENT_SCHEMA) &&
	    cJSON_AddStringToObject(env, "store_id", store) && cJSON_AddStringToObject(env, "terminal_id", terminal) &&
	    cJSON_AddStringToObject(env, "employee_id", employee) &&
	    cJSON_AddStringToObject(env, "occurred_at", redstore__rfc3339(occurred, sizeof(occurred), occurred_ms)) &&
	    cJSON_AddStringToObject(env, "recorded_at", redstore__rfc3339(recorded, sizeof(recorded), recorded_ms)) &&
	    cJSON_AddItemToObject(env, "payload", payload)) {
		payload = NULL;
		text = cJSON_PrintUnformatted(env);
	}
	cJSON_Delete(payload);
	cJSON_Delete(env);
	return text;
}

static int read_pg(rebuild *b)
{
	static const char levels_sql[] = "SELECT sku, on_hand, reserved FROM stock_levels WHERE store_id = $1";
	static const char sales_sql[] =
		"SELECT sale_id::text, kind, event_id::text, terminal_id, employee_id,"
		" (extract(epoch FROM occurred_at) * 1000)::bigint, (extract(epoch FROM recorded_at) * 1000)::bigint, receipt"
		" FROM sales WHERE store_id = $1 AND recorded_at > now() - make_interval(secs => $2::bigint / 1000)"
		" ORDER BY recorded_at";
	static const char ops_sql[] =
		"SELECT event_id::text, event_type, (extract(epoch FROM processed_at) * 1000)::bigint FROM processed_events"
		" WHERE store_id = $1 AND event_type LIKE 'inventory.%' AND event_type <> 'inventory.low_stock'"
		" AND processed_at > now() - make_interval(secs => $2::bigint / 1000)";
	char ttl[24];
	const char *p[2] = { b->store, ttl };
	PGresult *res = NULL;
	int rc;

	snprintf(ttl, sizeof(ttl), "%lld", (long long)b->ttl_ms);
	if ((rc = redstore__pg_exec(&res, b->c, levels_sql, 1, p)))
		return rc;
	for (int i = 0; !rc && i < PQntuples(res); i++)
		rc = add_level(b, PQgetvalue(res, i, 0), strtoll(PQgetvalue(res, i, 1), NULL, 10),
		               strtoll(PQgetvalue(res, i, 2), NULL, 10));
	PQclear(res);
	if (rc || (rc = redstore__pg_exec(&res, b->c, sales_sql, 2, p)))
		return rc;
	for (int i = 0; !rc && i < PQntuples(res); i++) {
		const char *kind = PQgetvalue(res, i, 1), *type = op_type_of_kind(kind), *json = PQgetvalue(res, i, 7);
		redstore_receipt *r = NULL;
		char *env;
		if (!type || PQgetisnull(res, i, 7) || redstore__receipt_from_json(&r, json)) {
			/* Projected before the receipt was kept: no record can be made for it. */
			redstore_error_clear();
			continue;
		}
		env = envelope(PQgetvalue(res, i, 2), type, b->store, PQgetvalue(res, i, 3), PQgetvalue(res, i, 4),
		               strtoll(PQgetvalue(res, i, 5), NULL, 10), strtoll(PQgetvalue(res, i, 6), NULL, 10), json);
		if (!env)
			rc = redstore__fail(REDSTORE_ENOMEM, "cache rebuild: out of memory");
		else if (!(rc = add_op(b, PQgetvalue(res, i, 2), type, strtoll(PQgetvalue(res, i, 6), NULL, 10),
		                       !strcmp(kind, "sale") ? r->sale_id : r->ref_sale_id, env, false)))
			rc = note_receipt(b, r, json);
		redstore_receipt_free(r);
	}
	PQclear(res);
	if (rc || (rc = redstore__pg_exec(&res, b->c, ops_sql, 2, p)))
		return rc;
	for (int i = 0; !rc && i < PQntuples(res); i++)
		rc = add_op(b, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), strtoll(PQgetvalue(res, i, 2), NULL, 10), NULL,
		            NULL, true);
	PQclear(res);
	return rc;
}

/* Marks the Kafka events that the PostgreSQL snapshot has projected already. */
static int mark_projected(rebuild *b)
{
	const char **ids;
	char *arr;
	PGresult *res = NULL;
	int rc = 0;

	if (!b->events.n)
		return 0;
	if (!(ids = calloc(b->events.n, sizeof(*ids))))
		return redstore__fail(REDSTORE_ENOMEM, "cache rebuild: out of memory");
	for (size_t i = 0; i < b->events.n; i++)
		ids[i] = b->events.v[i].ev->id;
	arr = redstore__pg_text_array(ids, b->events.n);
	free(ids);
	if (!arr)
		return REDSTORE_ENOMEM;
	{
		const char *p[1] = { arr };
		rc = redstore__pg_exec(&res, b->c,
		                       "SELECT event_id::text FROM processed_events WHERE event_id = ANY($1::uuid[])", 1, p);
	}
	free(arr);
	if (rc)
		return rc;
	for (int i = 0; i < PQntuples(res); i++)
		for (size_t k = 0; k < b->events.n; k++)
			if (!strcmp(b->events.v[k].ev->id, PQgetvalue(res, i, 0)))
				b->events.v[k].projected = true;
	PQclear(res);
	return 0;
}

/* ------------------------------------------------------------------ the unprojected events */

typedef struct collect {
	rebuild *b;
	int rc;
} collect;

static int on_message(const void *data, size_t len, void *payload)
{
	collect *col = payload;
	rebuild *b = col->b;
	redstore_event *ev = NULL;
	raw_event *re;
	int rc;

	/* Events that cannot be decoded are dead-lettered by the projector, never projected: skipped here too. */
	if (redstore_event_decode(&ev, data, len)) {
		redstore_error_clear();
		return 0;
	}
	if (strcmp(ev->store_id, b->store) != 0 || !strcmp(ev->type, "inventory.low_stock")) {
		redstore_event_free(ev);
		return 0;
	}
	if ((rc = PUSH(b->events, re))) {
		redstore_event_free(ev);
		return col->rc = rc;
	}
	re->ev = ev;
	if (!(re->text = redstore__strndup(data, len)))
		return col->rc = redstore__fail(REDSTORE_ENOMEM, "cache rebuild: out of memory");
	return 0;
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : "";
}

/* The stock effect of one inventory event, as the projector computes it (lib/projector/projector.c). Returns 0, or
 * REDSTORE_EDECODE for a payload the projector would refuse too (the event is then skipped). */
static int inventory_effects(rebuild *b, const redstore_event *e)
{
	cJSON *p = cJSON_Parse(e->payload_json);
	const cJSON *lines = cJSON_GetObjectItemCaseSensitive(p, "lines"), *l;
	const char *t = e->type + strlen("inventory.");
	size_t mark = b->levels.n, resv_mark = b->resv.n;
	int rc = 0;

	if (!strcmp(t, "transfer_registered")) {
		cJSON_Delete(p);
		return 0;
	}
	if (!cJSON_IsArray(lines))
		rc = REDSTORE_EDECODE;
	if (!rc && !strcmp(t, "counted")) {
		const cJSON *ch = cJSON_GetObjectItemCaseSensitive(p, "changes"), *x;
		if (!cJSON_IsArray(ch))
			rc = REDSTORE_EDECODE;
		cJSON_ArrayForEach(x, ch) {
			const cJSON *sku = cJSON_GetArrayItem(x, 0), *delta = cJSON_GetArrayItem(x, 3);
			if (rc)
				break;
			if (!cJSON_IsString(sku) || !cJSON_IsNumber(delta))
				rc = REDSTORE_EDECODE;
			else
				rc = add_level(b, sku->valuestring, (int64_t)delta->valuedouble, 0);
		}
	} else if (!rc) {
		cJSON_ArrayForEach(l, lines) {
			const char *sku = jstr(l, "sku");
			const cJSON *q = cJSON_GetObjectItemCaseSensitive(l, "qty");
			int64_t qty, on = 0, res = 0;
			if (!sku[0] || !cJSON_IsNumber(q)) {
				rc = REDSTORE_EDECODE;
				break;
			}
			qty = (int64_t)q->valuedouble;
			if (!strcmp(t, "received") || !strcmp(t, "adjusted") || !strcmp(t, "transfer_received"))
				on = qty;
			else if (!strcmp(t, "transfer_sent"))
				on = -qty;
			else if (!strcmp(t, "reserved"))
				res = qty;
			else if (!strcmp(t, "released"))
				res = -qty;
			if ((on || res) && (rc = add_level(b, sku, on, res)))
				break;
			if (res) {
				/* The reservation itself, for its holdings hash (rebuilt when its creation is in the
				 * unprojected log: every later release is then in it too). */
				const cJSON *exp = cJSON_GetObjectItemCaseSensitive(p, "expires_at_ms");
				resv_line *rl;
				if ((rc = PUSH(b->resv, rl)))
					break;
				snprintf(rl->id, sizeof(rl->id), "%s", jstr(p, "reservation_id"));
				snprintf(rl->sku, sizeof(rl->sku), "%s", sku);
				rl->qty = res;
				rl->expires_at_ms = res > 0 && cJSON_IsNumber(exp) ? (int64_t)exp->valuedouble : 0;
			}
		}
	}
	cJSON_Delete(p);
	if (rc) {
		b->levels.n = mark;   /* all of the event or nothing */
		b->resv.n = resv_mark;
	}
	return rc;
}

/* Applies one unprojected event: its stock effect, its idempotency record, its refund tracking. */
static int apply_event(rebuild *b, raw_event *re)
{
	const redstore_event *e = re->ev;
	int rc;

	if (!strncmp(e->type, "sale.", 5)) {
		redstore_receipt *r = NULL;
		const char *type;
		if (redstore__receipt_from_json(&r, e->payload_json) || !(type = op_type_of_kind(r->kind)) ||
		    strcmp(type, e->type) != 0) {
			redstore_receipt_free(r);
			redstore_error_clear();
			return 0;   /* the projector refuses it too */
		}
		rc = 0;
		for (size_t i = 0; !rc && i < r->line_count; i++) {
			if (!strcmp(r->kind, "sale"))
				rc = add_level(b, r->lines[i].sku, -r->lines[i].qty, 0);
			else if (r->restocked)
				rc = add_level(b, r->lines[i].sku, r->lines[i].qty, 0);
		}
		if (!rc) {
			char *text = re->text;
			re->text = NULL;
			rc = add_op(b, e->id, e->type, e->recorded_at_ms, !strcmp(r->kind, "sale") ? r->sale_id : r->ref_sale_id,
			            text, false);
		}
		if (!rc)
			rc = note_receipt(b, r, e->payload_json);
		redstore_receipt_free(r);
		if (!rc)
			b->stats.events_replayed++;
		return rc;
	}
	if (!strncmp(e->type, "inventory.", 10)) {
		if ((rc = inventory_effects(b, e)) == REDSTORE_EDECODE)
			return 0;
		if (!rc && !(rc = add_op(b, e->id, e->type, e->recorded_at_ms, NULL, NULL, true)))
			b->stats.events_replayed++;
		return rc;
	}
	return 0;
}

/* ------------------------------------------------------------------ folding */

static int level_cmp(const void *a, const void *b)
{
	return strcmp(((const level *)a)->sku, ((const level *)b)->sku);
}

static int op_cmp(const void *a, const void *b)
{
	return strcmp(((const oprec *)a)->id, ((const oprec *)b)->id);
}

static int sold_cmp(const void *a, const void *b)
{
	return strcmp(((const sold *)a)->sale_id, ((const sold *)b)->sale_id);
}

static int event_cmp(const void *a, const void *b)
{
	return strcmp(((const raw_event *)a)->ev->id, ((const raw_event *)b)->ev->id);
}

static int live_cmp(const void *a, const void *b)
{
	return strcmp(((const live_rec *)a)->id, ((const live_rec *)b)->id);
}

static void fold(rebuild *b)
{
	size_t n = 0;
	if (b->levels.n)
		qsort(b->levels.v, b->levels.n, sizeof(level), level_cmp);
	for (size_t i = 0; i < b->levels.n; i++) {
		if (n && !strcmp(b->levels.v[n - 1].sku, b->levels.v[i].sku)) {
			b->levels.v[n - 1].on += b->levels.v[i].on;
			b->levels.v[n - 1].res += b->levels.v[i].res;
			continue;
		}
		b->levels.v[n++] = b->levels.v[i];
	}
	b->levels.n = n;
	/* One record per id (a sale seen in PostgreSQL and again in the log keeps the first). */
	n = 0;
	if (b->ops.n)
		qsort(b->ops.v, b->ops.n, sizeof(oprec), op_cmp);
	for (size_t i = 0; i < b->ops.n; i++) {
		if (n && !strcmp(b->ops.v[n - 1].id, b->ops.v[i].id)) {
			free(b->ops.v[i].event);
			continue;
		}
		b->ops.v[n++] = b->ops.v[i];
	}
	b->ops.n = n;
	if (b->sales.n)
		qsort(b->sales.v, b->sales.n, sizeof(sold), sold_cmp);
	/* Each undone line counts against the sale line it came from; older receipts that do not say which
	 * line are matched to the first line of that SKU with units left. */
	for (size_t i = 0; i < b->undos.n; i++) {
		const undo_line *u = &b->undos.v[i];
		sold key, *s;
		memset(&key, 0, sizeof(key));
		snprintf(key.sale_id, sizeof(key.sale_id), "%s", u->sale_id);
		if (!(s = bsearch(&key, b->sales.v, b->sales.n, sizeof(sold), sold_cmp)))
			continue;   /* the sale is older than the records' lifetime: it cannot be refunded anyway */
		if (u->line >= 0 && (size_t)u->line < s->n) {
			s->refunded[u->line] += u->qty;
			continue;
		}
		for (int64_t left = u->qty; left > 0;) {
			size_t k;
			for (k = 0; k < s->n; k++)
				if (!strcmp(s->sku[k], u->sku) && s->refunded[k] < s->qty[k])
					break;
			if (k == s->n)
				break;
			{
				int64_t take = s->qty[k] - s->refunded[k] < left ? s->qty[k] - s->refunded[k] : left;
				s->refunded[k] += take;
				left -= take;
			}
		}
	}
}

/* ------------------------------------------------------------------ Redis */

/* Sends queued commands' replies back in order; fails on the first error reply. */
static int drain(redstore_client *c, size_t n, const char *what)
{
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		redisReply *r = NULL;
		int one = redstore__redis_read(&r, c);
		if (one) {
			/* The connection is gone or out of step: nothing more can be read from it. */
			redstore__redis_drop(c);
			return rc ? rc : one;
		}
		if (r->type == REDIS_REPLY_ERROR && !rc)
			rc = redstore__fail(REDSTORE_EREDIS, "cache rebuild: %s: %s", what, r->str);
		freeReplyObject(r);
	}
	return rc;
}

typedef struct rpipe {
	redstore_client *c;
	size_t queued;
	const char *what;
} rpipe;

static int pipe_cmd(rpipe *p, int argc, const char **argv)
{
	int rc;
	if ((rc = redstore__redis_append_argv(p->c, argc, argv, NULL)))
		return rc;
	if (++p->queued >= PIPE_CHUNK) {
		size_t n = p->queued;
		p->queued = 0;
		return drain(p->c, n, p->what);
	}
	return 0;
}

static int pipe_flush(rpipe *p)
{
	size_t n = p->queued;
	p->queued = 0;
	return n ? drain(p->c, n, p->what) : 0;
}

static int gate(redstore_client *c, const char *key, const char *how, const char *token, int64_t lease_ms, int *ok)
{
	char ms[24];
	const char *argv[4] = { key, how, token, ms };
	redisReply *r = NULL;
	int rc;
	snprintf(ms, sizeof(ms), "%lld", (long long)lease_ms);
	if ((rc = redstore__redis_script(&r, c, "rebuild_gate", 1, 4, argv, NULL)))
		return rc;
	*ok = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
	freeReplyObject(r);
	return 0;
}

/* Waits until the attempts that started before the gate have settled: every operation in the store's
 * stream since (gate - delivery timeout - command timeout) has no attempt in flight. An attempt cannot
 * produce after its delivery timeout, so past gate + that timeout nothing from before can reach Kafka and
 * the wait ends whatever the records say (a crashed client leaves "inflight" behind). When the stream
 * does not reach back to that horizon nor to an earlier rebuild (Redis lost it, or the store is young),
 * only that time bound is safe, and it is waited. */
static int quiesce(rebuild *b, int64_t gate_ms)
{
	int64_t delivery = b->c->set.kafka_delivery_timeout_ms;
	int64_t cmd = b->c->set.redis_command_timeout_ms;
	int64_t until = gate_ms + delivery + 1000;
	char key[REDSTORE_KEY_MAX], since[32];
	VEC(char *) ids = { NULL, 0, 0 };
	redisReply *r = NULL;
	int rc;

	int64_t horizon = gate_ms - delivery - cmd - 1000;
	bool covered = false, rebuilt = false;

	/* The stream shows every attempt since the horizon only if it reaches back that far: after a loss of
	 * Redis (or a trim) it does not, and only the time bound is safe. */
	if ((rc = redstore__redis_cmd(&r, b->c, "XRANGE %s - + COUNT 1", redstore__key(key, b->store, "stream"))))
		return rc;
	covered = r->type == REDIS_REPLY_ARRAY && r->elements == 1 && r->element[0]->type == REDIS_REPLY_ARRAY &&
	          r->element[0]->elements >= 1 && r->element[0]->element[0]->type == REDIS_REPLY_STRING &&
	          strtoll(r->element[0]->element[0]->str, NULL, 10) <= horizon;
	freeReplyObject(r);
	r = NULL;
	snprintf(since, sizeof(since), "%lld", (long long)horizon);
	if ((rc = redstore__redis_cmd(&r, b->c, "XRANGE %s %s + COUNT %d", key, since, QUIESCE_MAX)))
		return rc;
	if (r->type == REDIS_REPLY_ARRAY && r->elements >= QUIESCE_MAX)
		covered = false;   /* more attempts than can be watched one by one: the time bound decides */
	for (size_t i = 0; !rc && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
		const redisReply *e = r->element[i];
		if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 || e->element[1]->type != REDIS_REPLY_ARRAY)
			continue;
		for (size_t f = 0; f + 1 < e->element[1]->elements; f += 2) {
			const redisReply *k = e->element[1]->element[f], *v = e->element[1]->element[f + 1];
			char **slot;
			/* A stream is only ever trimmed from its head: one holding a rebuild's entry has kept every
			 * attempt since, and every attempt before it was settled by that rebuild. */
			if (!strcmp(k->str, "type") && !strcmp(v->str, "cache.rebuilt"))
				rebuilt = true;
			if (strcmp(k->str, "op") != 0 || !v->len)
				continue;
			if ((rc = PUSH(ids, slot)))
				break;
			*slot = v->str;
		}
	}
	/* A retry of an older pending operation re-produces its event without a new stream entry. */
	for (size_t i = 0; !rc && i < b->live.n; i++) {
		char **slot;
		if (b->live.v[i].pending && !(rc = PUSH(ids, slot)))
			*slot = b->live.v[i].id;
	}
	if (rebuilt && r->elements < QUIESCE_MAX)
		covered = true;
	for (;;) {
		size_t busy = 0, sent = 0;
		for (size_t i = 0; !rc && i < ids.n; i++, sent++) {
			const char *argv[3] = { "HGET", redstore__key_id(key, b->store, "op", ids.v[i]), "inflight" };
			rc = redstore__redis_append_argv(b->c, 3, argv, NULL);
		}
		if (rc && sent)
			redstore__redis_drop(b->c);   /* replies queued for nobody */
		for (size_t i = 0; !rc && i < ids.n; i++) {
			redisReply *x = NULL;
			if ((rc = redstore__redis_read(&x, b->c))) {
				redstore__redis_drop(b->c);
				break;
			}
			if (x->type == REDIS_REPLY_STRING && strtoll(x->str, NULL, 10) > 0)
				ids.v[busy++] = ids.v[i];
			freeReplyObject(x);
		}
		ids.n = busy;
		if (rc || (!busy && covered) || redstore__wall_ms() >= until)
			break;
		{
			struct timespec ts = { 0, 50 * 1000000L };
			nanosleep(&ts, NULL);
		}
	}
	free(ids.v);
	freeReplyObject(r);
	return rc;
}

/* Finds the store's live op records (SCAN over the store's hash tag) and their state. Under the gate no
 * record can be created, so every record is seen. */
static int scan_live(rebuild *b)
{
	char pattern[REDSTORE_KEY_MAX + 2], prefix[REDSTORE_KEY_MAX], cursor[32] = "0";
	size_t plen;
	int rc = 0;

	redstore__key(prefix, b->store, "op:");
	plen = strlen(prefix);
	snprintf(pattern, sizeof(pattern), "%s*", prefix);
	do {
		redisReply *r = NULL;
		const redisReply *keys;
		size_t first = b->live.n;
		if ((rc = redstore__redis_cmd(&r, b->c, "SCAN %s MATCH %s COUNT 1000", cursor, pattern)))
			return rc;
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
			freeReplyObject(r);
			return redstore__fail(REDSTORE_EREDIS, "cache rebuild: unexpected SCAN reply");
		}
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		keys = r->element[1];
		for (size_t i = 0; !rc && i < keys->elements; i++) {
			live_rec *l;
			if (keys->element[i]->len <= plen || keys->element[i]->len - plen >= REDSTORE_ID_SIZE)
				continue;
			if (!(rc = PUSH(b->live, l)))
				snprintf(l->id, sizeof(l->id), "%s", keys->element[i]->str + plen);
		}
		freeReplyObject(r);
		/* Their state and type, pipelined. */
		for (size_t i = first; !rc && i < b->live.n; i++) {
			char key[REDSTORE_KEY_MAX];
			const char *argv[4] = { "HMGET", redstore__key_id(key, b->store, "op", b->live.v[i].id), "state", "type" };
			if ((rc = redstore__redis_append_argv(b->c, 4, argv, NULL)) && i > first)
				redstore__redis_drop(b->c);   /* replies queued for nobody */
		}
		for (size_t i = first; !rc && i < b->live.n; i++) {
			redisReply *x = NULL;
			if ((rc = redstore__redis_read(&x, b->c))) {
				redstore__redis_drop(b->c);
				break;
			}
			if (x->type == REDIS_REPLY_ARRAY && x->elements == 2) {
				b->live.v[i].pending =
				    x->element[0]->type == REDIS_REPLY_STRING && !strcmp(x->element[0]->str, "pending");
				b->live.v[i].is_sale = x->element[1]->type == REDIS_REPLY_STRING &&
				                       !strcmp(x->element[1]->str, "sale.completed");
			}
			freeReplyObject(x);
		}
	} while (!rc && strcmp(cursor, "0") != 0);
	if (!rc && b->live.n)
		qsort(b->live.v, b->live.n, sizeof(live_rec), live_cmp);
	return rc;
}

/* Writes the idempotency records and refund tracking hashes (the gate keeps every operation out). */
static int write_records(rebuild *b)
{
	rpipe p = { b->c, 0, "writing idempotency records" };
	char key[REDSTORE_KEY_MAX], aux[REDSTORE_KEY_MAX], at[24];
	int rc = 0;

	for (size_t i = 0; !rc && i < b->ops.n; i++) {
		oprec *o = &b->ops.v[i];
		live_rec lk, *l;
		memset(&lk, 0, sizeof(lk));
		snprintf(lk.id, sizeof(lk.id), "%s", o->id);
		l = b->live.n ? bsearch(&lk, b->live.v, b->live.n, sizeof(live_rec), live_cmp) : NULL;
		redstore__key_id(key, b->store, "op", o->id);
		if (l) {
			/* Its event is in the log: whatever the record said, the operation is done. */
			const char *argv[6] = { "HSET", key, "state", "done", "inflight", "0" };
			o->live = true;
			rc = pipe_cmd(&p, 6, argv);
		} else {
			const char *argv[16] = { "HSET", key, "state", "done", "result", o->is_inventory ? o->id : "",
				                     "event", o->event ? o->event : "", "inflight", "0", "undo", "[]", "aux",
				                     o->aux_sale[0] ? redstore__key_id(aux, b->store, "rf", o->aux_sale)
				                                    : redstore__key(aux, b->store, "none"),
				                     "type", o->type };
			const char *exp[3] = { "PEXPIREAT", key, at };
			snprintf(at, sizeof(at), "%lld", (long long)o->expire_at_ms);
			if (!(rc = pipe_cmd(&p, 16, argv)))
				rc = pipe_cmd(&p, 3, exp);
		}
		if (!rc)
			b->stats.op_records++;
	}
	/* Pending records whose event is not in the log: the operation never happened as far as the log
	 * knows, and a retry with the same id must apply it afresh. */
	for (size_t i = 0; !rc && i < b->live.n; i++) {
		oprec ok, *o;
		if (!b->live.v[i].pending)
			continue;
		memset(&ok, 0, sizeof(ok));
		snprintf(ok.id, sizeof(ok.id), "%s", b->live.v[i].id);
		o = b->ops.n ? bsearch(&ok, b->ops.v, b->ops.n, sizeof(oprec), op_cmp) : NULL;
		if (o)
			continue;
		{
			const char *argv[3] = { "DEL", redstore__key_id(key, b->store, "op", b->live.v[i].id),
				                    redstore__key_id(aux, b->store, "rf", b->live.v[i].id) };
			rc = pipe_cmd(&p, b->live.v[i].is_sale ? 3 : 2, argv);
			b->stats.dropped_pending++;
		}
	}
	/* Each sale's refund tracking: units sold ("s<line>") and refunded ("<line>") per line. */
	for (size_t i = 0; !rc && i < b->sales.n; i++) {
		const sold *s = &b->sales.v[i];
		const char **argv = calloc(2 + 4 * s->n, sizeof(*argv));
		char (*num)[2][24] = calloc(s->n + 1, sizeof(*num));
		size_t argc = 2;
		if (!argv || !num) {
			free(argv);
			free(num);
			rc = redstore__fail(REDSTORE_ENOMEM, "cache rebuild: out of memory");
			break;
		}
		redstore__key_id(key, b->store, "rf", s->sale_id);
		{
			const char *del[2] = { "DEL", key };
			rc = pipe_cmd(&p, 2, del);
		}
		argv[0] = "HSET";
		argv[1] = key;
		for (size_t k = 0; k < s->n; k++) {
			snprintf(num[k][0], sizeof(num[k][0]), "s%zu", k);
			snprintf(num[k][1], sizeof(num[k][1]), "%lld", (long long)s->qty[k]);
			argv[argc++] = num[k][0];
			argv[argc++] = num[k][1];
		}
		/* The refunded counts go in a second HSET (hiredis copied the first at append time). */
		if (!rc && s->n)
			rc = pipe_cmd(&p, (int)argc, argv);
		argc = 2;
		for (size_t k = 0; !rc && k < s->n; k++) {
			if (!s->refunded[k])
				continue;
			snprintf(num[k][0], sizeof(num[k][0]), "%zu", k);
			snprintf(num[k][1], sizeof(num[k][1]), "%lld", (long long)s->refunded[k]);
			argv[argc++] = num[k][0];
			argv[argc++] = num[k][1];
		}
		if (!rc && argc > 2)
			rc = pipe_cmd(&p, (int)argc, argv);
		free(argv);
		free(num);
		if (!rc)
			b->stats.refund_records++;
	}
	if (rc) {
		pipe_flush(&p);
		return rc;
	}
	return pipe_flush(&p);
}

static int resv_cmp(const void *a, const void *b)
{
	const resv_line *x = a, *y = b;
	int c = strcmp(x->id, y->id);
	return c ? c : strcmp(x->sku, y->sku);
}

/* Restores the holdings of the reservations created in the unprojected log whose hash Redis lost (a live
 * hash is kept as it is): sku -> units still held, "_exp", and the expiry index. */
static int write_reservations(rebuild *b)
{
	rpipe p = { b->c, 0, "restoring reservations" };
	char key[REDSTORE_KEY_MAX], kexp[REDSTORE_KEY_MAX];
	int rc = 0;

	if (!b->resv.n)
		return 0;
	qsort(b->resv.v, b->resv.n, sizeof(resv_line), resv_cmp);
	redstore__key(kexp, b->store, "resvexp");
	for (size_t i = 0, j; !rc && i < b->resv.n; i = j) {
		const char **argv;
		char (*num)[24], at[24];
		int64_t exp = 0, held_total = 0;
		size_t argc = 2;
		redisReply *ex = NULL;
		for (j = i; j < b->resv.n && !strcmp(b->resv.v[j].id, b->resv.v[i].id); j++)
			if (b->resv.v[j].expires_at_ms > 0)
				exp = b->resv.v[j].expires_at_ms;
		/* Created before the unprojected part of the log: its holdings cannot be known. */
		if (!exp || redstore_id_check(b->resv.v[i].id, "reservation id")) {
			redstore_error_clear();
			continue;
		}
		redstore__key_id(key, b->store, "resv", b->resv.v[i].id);
		if ((rc = redstore__redis_cmd(&ex, b->c, "EXISTS %s", key)))
			break;
		rc = ex->integer ? 1 : 0;
		freeReplyObject(ex);
		if (rc) {
			rc = 0;
			continue;
		}
		argv = calloc(4 + 2 * (j - i), sizeof(*argv));
		num = calloc(j - i + 1, sizeof(*num));
		if (!argv || !num) {
			free(argv);
			free(num);
			rc = redstore__fail(REDSTORE_ENOMEM, "cache rebuild: out of memory");
			break;
		}
		argv[0] = "HSET";
		argv[1] = key;
		for (size_t k = i, m; k < j; k = m) {
			int64_t held = 0;
			for (m = k; m < j && !strcmp(b->resv.v[m].sku, b->resv.v[k].sku); m++)
				held += b->resv.v[m].qty;
			snprintf(num[k - i], sizeof(num[0]), "%lld", (long long)(held > 0 ? held : 0));
			argv[argc++] = b->resv.v[k].sku;
			argv[argc++] = num[k - i];
			held_total += held > 0 ? held : 0;
		}
		snprintf(at, sizeof(at), "%lld", (long long)exp);
		argv[argc++] = "_exp";
		argv[argc++] = at;
		if (held_total > 0 && !(rc = pipe_cmd(&p, (int)argc, argv))) {
			const char *z[4] = { "ZADD", kexp, at, b->resv.v[i].id };
			if (!(rc = pipe_cmd(&p, 4, z)))
				b->stats.reservations++;
		}
		free(argv);
		free(num);
	}
	if (rc) {
		pipe_flush(&p);
		return rc;
	}
	return pipe_flush(&p);
}

/* Writes the rebuilt counters into the temporary hashes. */
static int write_counters(rebuild *b, const char *tmp_on, const char *tmp_res)
{
	rpipe p = { b->c, 0, "writing the rebuilt counters" };
	const char **argv = calloc(2 + 2 * HSET_CHUNK, sizeof(*argv));
	char (*num)[24] = calloc(HSET_CHUNK, sizeof(*num));
	const char *del[3] = { "DEL", tmp_on, tmp_res };
	int rc = 0;

	if (!argv || !num) {
		free(argv);
		free(num);
		return redstore__fail(REDSTORE_ENOMEM, "cache rebuild: out of memory");
	}
	rc = pipe_cmd(&p, 3, del);
	for (int k = 0; !rc && k < 2; k++) {
		for (size_t i = 0; !rc && i < b->levels.n; i += HSET_CHUNK) {
			size_t argc = 2;
			argv[0] = "HSET";
			argv[1] = k ? tmp_res : tmp_on;
			for (size_t j = i; j < b->levels.n && j < i + HSET_CHUNK; j++) {
				snprintf(num[j - i], sizeof(num[0]), "%lld", (long long)(k ? b->levels.v[j].res : b->levels.v[j].on));
				argv[argc++] = b->levels.v[j].sku;
				argv[argc++] = num[j - i];
			}
			/* hiredis formats a command when it is appended: num may be reused at once. */
			rc = pipe_cmd(&p, (int)argc, argv);
		}
	}
	if (!rc)
		rc = pipe_flush(&p);
	else
		pipe_flush(&p);
	free(argv);
	free(num);
	b->stats.skus = b->levels.n;
	return rc;
}

/* ------------------------------------------------------------------ the whole */

int redstore_cache_rebuild(redstore_rebuild_stats *out, redstore_client *c, const redstore_maintenance_options *options)
{
	char kgate[REDSTORE_KEY_MAX], ton[REDSTORE_KEY_MAX], tres[REDSTORE_KEY_MAX], kon[REDSTORE_KEY_MAX],
		kres[REDSTORE_KEY_MAX], kstream[REDSTORE_KEY_MAX], kchan[REDSTORE_KEY_MAX], token[REDSTORE_ID_SIZE],
		maxlen[24];
	redstore__mopts mo;
	redstore__log_pos pos;
	rd_kafka_t *rk = NULL;
	rebuild b;
	collect col;
	const char *store;
	int64_t lease_ms, gate_ms = 0, started_us;
	bool in_txn = false, gated = false;
	int ok = 0, rc;

	if (out)
		memset(out, 0, sizeof(*out));
	memset(&b, 0, sizeof(b));
	if ((rc = redstore__need_store(&store, c, "cache_rebuild")) ||
	    (rc = redstore__mopts_resolve(&mo, options, "cache_rebuild")) ||
	    (rc = redstore_id_new(token)))
		return rc;
	b.c = c;
	b.store = store;
	b.ttl_ms = strtoll(REDSTORE_OP_TTL_S, NULL, 10) * 1000;
	lease_ms = (int64_t)mo.wait_ms + c->set.kafka_delivery_timeout_ms + 60000;
	redstore__key(kgate, store, "rebuild");
	redstore__key(ton, store, "rb:onhand");
	redstore__key(tres, store, "rb:reserved");
	redstore__key(kon, store, "onhand");
	redstore__key(kres, store, "reserved");
	redstore__key(kstream, store, "stream");
	redstore__key(kchan, store, "changes");
	snprintf(maxlen, sizeof(maxlen), "%lld", (long long)c->set.sync_stream_maxlen);

	{
		/* The store must exist (its settings are readable) before anything is gated. */
		redstore__store_meta meta;
		if ((rc = redstore__store_meta_get(&meta, c)))
			return redstore__fail_wrap(rc, "cache rebuild of store %s", store);
	}
	/* 1. The gate: from now on every stock operation of the store is refused (retriable). */
	if ((rc = gate(c, kgate, "take", token, lease_ms, &ok)))
		goto fail;
	if (!ok) {
		rc = redstore__fail(REDSTORE_ELOCKED, "cache rebuild of store %s: another rebuild holds the gate", store);
		goto fail;
	}
	gated = true;
	started_us = redstore__now_us();
	gate_ms = redstore__wall_ms();
	/* 2. Let the attempts that began before the gate settle. */
	if ((rc = scan_live(&b)) || (rc = quiesce(&b, gate_ms)))
		goto fail;
	/* 3. The group's committed offsets, then one PostgreSQL snapshot, then the log from those offsets. */
	if ((rc = redstore__log_open(&rk, c, mo.group)) ||
	    (rc = redstore__log_positions(&pos, rk, c, store, mo.wait_ms < 10000 ? 10000 : mo.wait_ms)))
		goto fail;
	if ((rc = redstore__pg_exec(NULL, c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL)))
		goto fail;
	in_txn = true;
	b.now_ms = redstore__wall_ms();
	if ((rc = read_pg(&b)))
		goto fail;
	col.b = &b;
	col.rc = 0;
	if ((rc = redstore__log_read(rk, &pos, redstore__now_us() + (int64_t)mo.wait_ms * 1000, on_message, &col)) ||
	    (rc = col.rc) || (rc = mark_projected(&b)))
		goto fail;
	in_txn = false;
	if ((rc = redstore__pg_exec(NULL, c, "COMMIT", 0, NULL)))
		goto fail;
	redstore__log_close(rk);
	rk = NULL;
	/* 4. What Redis must hold. An event re-produced by a retry is in the log twice: it counts once. */
	if (b.events.n)
		qsort(b.events.v, b.events.n, sizeof(raw_event), event_cmp);
	for (size_t i = 1; i < b.events.n; i++)
		if (!strcmp(b.events.v[i - 1].ev->id, b.events.v[i].ev->id))
			b.events.v[i].projected = true;
	for (size_t i = 0; i < b.events.n; i++)
		if (!b.events.v[i].projected && (rc = apply_event(&b, &b.events.v[i])))
			goto fail;
	fold(&b);
	/* 5. The catalog cache, the records, the counters; then the swap. */
	if ((rc = redstore_catalog_warm(c, &b.stats.products)) || (rc = gate(c, kgate, "refresh", token, lease_ms, &ok)))
		goto fail;
	if (!ok) {
		rc = redstore__fail(REDSTORE_ECONFLICT, "cache rebuild of store %s: the gate's lease expired: nothing swapped",
		                    store);
		gated = false;
		goto fail;
	}
	if ((rc = write_records(&b)) || (rc = write_reservations(&b)) ||
	    (rc = write_counters(&b, ton, tres)))
		goto fail;
	{
		const char *argv[9] = { kgate, ton, tres, kon, kres, kstream, token, maxlen, kchan };
		redisReply *r = NULL;
		if ((rc = redstore__redis_script(&r, c, "rebuild_swap", 6, 9, argv, NULL)))
			goto fail;
		ok = r->type == REDIS_REPLY_STRING && r->len > 0;
		freeReplyObject(r);
		if (!ok) {
			gated = false;
			rc = redstore__fail(REDSTORE_ECONFLICT, "cache rebuild of store %s: the gate's lease expired before the "
			                    "swap: nothing swapped", store);
			goto fail;
		}
	}
	b.stats.gate_ms = (redstore__now_us() - started_us) / 1000;
	if (out)
		*out = b.stats;
	rebuild_free(&b);
	return 0;
fail:
	{
		char saved[1024];
		int code = rc;
		snprintf(saved, sizeof(saved), "%s", redstore_error_last());
		if (in_txn && c->pg)
			redstore__pg_exec(NULL, c, "ROLLBACK", 0, NULL);
		redstore__log_close(rk);
		if (gated) {
			redstore__redis_cmd(NULL, c, "DEL %s %s", ton, tres);
			gate(c, kgate, "release", token, 0, &ok);
		}
		rebuild_free(&b);
		return redstore__fail(code, "%s", saved);
	}
}
