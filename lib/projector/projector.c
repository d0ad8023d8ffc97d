/*
 * The projection of events into PostgreSQL: one transaction per batch, idempotent by event id.
 *
 * A batch costs a fixed number of round trips whatever its size: every row the batch produces is
 * streamed with COPY into session-local staging tables, then ONE statement (a chain of data-modifying
 * CTEs) records the event ids in processed_events and, for the ids that were new, moves the staged rows
 * into the history tables and adds the batch's deltas to stock_levels and sales_hourly. An event seen
 * before (a replay, a second projector after a rebalance) finds its id in processed_events and adds
 * nothing. Per-row INSERTs cost ~15 round trips per 3-line sale; this costs 8 per batch.
 */
#include "events/events_int.h"
#include "sale/sale_int.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <time.h>

/* --------------------------------------------------------------------------------- COPY buffers */

/* One staging table's rows in COPY text format. A failed allocation is sticky and reported once. */
typedef struct copybuf {
	char *p;
	size_t len, cap;
	bool oom;
	bool first; /* no field written yet on the current row */
} copybuf;

static void put(copybuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;
		while (cap < b->len + n + 1)
			cap *= 2;
		if (!(p = realloc(b->p, cap))) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void sep(copybuf *b)
{
	if (!b->first)
		put(b, "\t", 1);
	b->first = false;
}

/* A text field, escaped for COPY's text format (backslash, tab, newline, carriage return). */
static void field(copybuf *b, const char *s)
{
	const char *run = s;
	sep(b);
	for (; *s; s++) {
		const char *esc = *s == '\\' ? "\\\\" : *s == '\t' ? "\\t" : *s == '\n' ? "\\n" : *s == '\r' ? "\\r" : NULL;
		if (!esc)
			continue;
		put(b, run, (size_t)(s - run));
		put(b, esc, 2);
		run = s + 1;
	}
	put(b, run, (size_t)(s - run));
}

static void field_null(copybuf *b)
{
	sep(b);
	put(b, "\\N", 2);
}

static void field_int(copybuf *b, int64_t v)
{
	char n[24];
	sep(b);
	put(b, n, (size_t)snprintf(n, sizeof(n), "%lld", (long long)v));
}

/* Milliseconds since the epoch as RFC 3339 text, which timestamptz reads. */
static void field_time(copybuf *b, int64_t ms)
{
	char t[40];
	field(b, redstore__rfc3339(t, sizeof(t), ms));
}

static void end_row(copybuf *b)
{
	put(b, "\n", 1);
	b->first = true;
}

/* ----------------------------------------------------------------------------- staging a batch */

enum { ST_EVENTS, ST_SALES, ST_LINES, ST_TENDERS, ST_MOVES, ST_COUNT };

typedef struct stage {
	copybuf t[ST_COUNT];
	int64_t seq; /* keeps the ledger in event order */
} stage;

/* One stock movement: a ledger row when on-hand changes, and the deltas stock_levels adds up. */
static void move(stage *s, const redstore_event *e, const char *sku, int64_t delta, int64_t reserved, const char *reason,
                 const char *reference)
{
	copybuf *b = &s->t[ST_MOVES];
	if (delta == 0 && reserved == 0)
		return;
	field_int(b, s->seq++);
	field(b, e->id);
	field(b, e->store_id);
	field(b, e->type);
	field(b, sku);
	field_int(b, delta);
	field_int(b, reserved);
	field(b, reason);
	field(b, reference);
	field_time(b, e->occurred_at_ms);
	end_row(b);
}

static int stage_sale(stage *s, const redstore_event *e)
{
	redstore_receipt *r = NULL;
	copybuf *b = &s->t[ST_SALES];
	bool sale;
	int rc;

	if ((rc = redstore__receipt_from_json(&r, e->payload_json)))
		return redstore__fail_wrap(rc, "event %s (%s)", e->id, e->type);
	sale = !strcmp(r->kind, "sale");
	field(b, e->id);
	field(b, e->store_id);
	field(b, r->sale_id);
	field(b, r->kind);
	if (r->ref_sale_id[0])
		field(b, r->ref_sale_id);
	else
		field_null(b);
	field(b, r->terminal_id);
	field(b, r->employee_id);
	field_time(b, e->occurred_at_ms);
	field_time(b, e->recorded_at_ms);
	field(b, r->currency);
	field_int(b, r->gross);
	field_int(b, r->discount);
	field_int(b, r->tax);
	field_int(b, r->total);
	field_int(b, r->tendered);
	field_int(b, r->change_due);
	field(b, r->customer_ref);
	field(b, r->note);
	field(b, e->payload_json); /* the receipt as issued: reprints, and rebuilding idempotency records */
	end_row(b);
	for (size_t i = 0; i < r->line_count; i++) {
		const redstore_receipt_line *l = &r->lines[i];
		b = &s->t[ST_LINES];
		field(b, e->id);
		field(b, e->store_id);
		field(b, r->sale_id);
		field_int(b, (int64_t)i);
		field_time(b, e->occurred_at_ms);
		field(b, r->kind);
		field(b, l->sku);
		field(b, l->name);
		field_int(b, l->qty);
		field_int(b, l->unit_price);
		field_int(b, l->gross);
		field_int(b, l->discount);
		field_int(b, l->net);
		field_int(b, l->tax);
		field_int(b, l->total);
		field(b, l->tax_class);
		field_int(b, l->tax_rate_ppm);
		end_row(b);
		if (sale)
			move(s, e, l->sku, -l->qty, 0, "sale", r->sale_id);
		else if (r->restocked)
			move(s, e, l->sku, l->qty, 0, r->kind, r->ref_sale_id);
	}
	for (size_t i = 0; i < r->tender_count; i++) {
		const redstore_receipt_tender *t = &r->tenders[i];
		b = &s->t[ST_TENDERS];
		field(b, e->id);
		field(b, e->store_id);
		field(b, r->sale_id);
		field_int(b, (int64_t)i);
		field_time(b, e->occurred_at_ms);
		field(b, redstore_tender_kind_name(t->kind));
		field_int(b, t->amount);
		field(b, t->reference);
		end_row(b);
	}
	redstore_receipt_free(r);
	return 0;
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : "";
}

static int stage_inventory(stage *s, const redstore_event *e)
{
	cJSON *p;
	const cJSON *lines, *l;
	const char *t = e->type + strlen("inventory.");
	int rc = 0;

	if (!strcmp(t, "low_stock") || !strcmp(t, "transfer_registered"))
		return 0; /* no stock moves: alerts and the inbound side of a transfer being announced */
	p = cJSON_Parse(e->payload_json);
	lines = cJSON_GetObjectItemCaseSensitive(p, "lines");
	if (!cJSON_IsArray(lines)) {
		cJSON_Delete(p);
		return redstore__fail(REDSTORE_EDECODE, "event %s (%s): payload has no lines", e->id, e->type);
	}
	cJSON_ArrayForEach(l, lines) {
		const char *sku = jstr(l, "sku");
		const cJSON *q = cJSON_GetObjectItemCaseSensitive(l, "qty");
		int64_t qty;
		if (!sku[0] || !cJSON_IsNumber(q)) {
			rc = redstore__fail(REDSTORE_EDECODE, "event %s (%s): a line lacks sku or qty", e->id, e->type);
			break;
		}
		qty = (int64_t)q->valuedouble;
		if (!strcmp(t, "received"))
			move(s, e, sku, qty, 0, "received", jstr(p, "supplier_ref"));
		else if (!strcmp(t, "adjusted"))
			move(s, e, sku, qty, 0, jstr(p, "reason"), jstr(p, "note"));
		else if (!strcmp(t, "transfer_sent"))
			move(s, e, sku, -qty, 0, "transfer_out", jstr(p, "transfer_id"));
		else if (!strcmp(t, "transfer_received"))
			move(s, e, sku, qty, 0, "transfer_in", jstr(p, "transfer_id"));
		else if (!strcmp(t, "reserved"))
			move(s, e, sku, 0, qty, "", "");
		else if (!strcmp(t, "released"))
			move(s, e, sku, 0, -qty, "", "");
		/* "counted": the deltas come with the event's "changes" (below) */
	}
	if (!rc && !strcmp(t, "counted")) {
		/* A count sets stock absolutely; Redis computed each delta atomically and wrote it into the
		 * event, so the ledger never depends on the order of events across topics. */
		const cJSON *ch = cJSON_GetObjectItemCaseSensitive(p, "changes"), *x;
		if (!cJSON_IsArray(ch))
			rc = redstore__fail(REDSTORE_EDECODE, "event %s (%s): payload has no changes", e->id, e->type);
		cJSON_ArrayForEach(x, ch) {
			const cJSON *sku = cJSON_GetArrayItem(x, 0), *delta = cJSON_GetArrayItem(x, 3);
			if (rc)
				break;
			if (!cJSON_IsString(sku) || !cJSON_IsNumber(delta))
				rc = redstore__fail(REDSTORE_EDECODE, "event %s (%s): malformed change", e->id, e->type);
			else
				move(s, e, sku->valuestring, (int64_t)delta->valuedouble, 0, "count", "");
		}
	}
	cJSON_Delete(p);
	return rc;
}

/* ------------------------------------------------------------------------------------ the batch */

/* Session-local staging tables, emptied by every commit. */
static const char staging_sql[] =
	"CREATE TEMP TABLE IF NOT EXISTS rs_stage_events (seq bigint, event_id uuid, store_id text, event_type text)"
	" ON COMMIT DELETE ROWS;"
	"CREATE TEMP TABLE IF NOT EXISTS rs_stage_sales (event_id uuid, store_id text, sale_id uuid, kind text,"
	" ref_sale_id uuid, terminal_id text, employee_id text, occurred_at timestamptz, recorded_at timestamptz,"
	" currency text, gross bigint, discount bigint, tax bigint, total bigint, tendered bigint, change_due bigint,"
	" customer_ref text, note text, receipt text) ON COMMIT DELETE ROWS;"
	"CREATE TEMP TABLE IF NOT EXISTS rs_stage_lines (event_id uuid, store_id text, sale_id uuid, line_no integer,"
	" occurred_at timestamptz, kind text, sku text, name text, qty bigint, unit_price bigint, gross bigint,"
	" discount bigint, net bigint, tax bigint, total bigint, tax_class text, tax_rate_ppm bigint)"
	" ON COMMIT DELETE ROWS;"
	"CREATE TEMP TABLE IF NOT EXISTS rs_stage_tenders (event_id uuid, store_id text, sale_id uuid,"
	" tender_no integer, occurred_at timestamptz, kind text, amount bigint, reference text) ON COMMIT DELETE ROWS;"
	"CREATE TEMP TABLE IF NOT EXISTS rs_stage_moves (seq bigint, event_id uuid, store_id text, event_type text,"
	" sku text, delta bigint, reserved bigint, reason text, reference text, occurred_at timestamptz)"
	" ON COMMIT DELETE ROWS;"
	"BEGIN";

static const char *const copy_sql[ST_COUNT] = {
	"COPY rs_stage_events FROM STDIN",  "COPY rs_stage_sales FROM STDIN", "COPY rs_stage_lines FROM STDIN",
	"COPY rs_stage_tenders FROM STDIN", "COPY rs_stage_moves FROM STDIN",
};

/* The events of the batch projected before (a replay, or a second projector after a rebalance) leave
 * the staging tables first: an index probe per event, and nothing else to do in the usual batch. */
static const char replays_sql[] = "DELETE FROM rs_stage_events s USING processed_events p WHERE p.event_id = s.event_id";
static const char drop_replays_sql[] =
	"DELETE FROM rs_stage_sales WHERE event_id NOT IN (SELECT event_id FROM rs_stage_events);"
	"DELETE FROM rs_stage_lines WHERE event_id NOT IN (SELECT event_id FROM rs_stage_events);"
	"DELETE FROM rs_stage_tenders WHERE event_id NOT IN (SELECT event_id FROM rs_stage_events);"
	"DELETE FROM rs_stage_moves WHERE event_id NOT IN (SELECT event_id FROM rs_stage_events)";

/* Everything else, in one statement (the CTEs all see one snapshot). `fresh` counts the ids recorded
 * now: fewer than were staged means another projector recorded some since the check above, and the
 * caller rolls the whole batch back. Rows are locked in (store, key) order so projectors never deadlock. */
static const char apply_sql[] =
	"WITH fresh AS ("
	"  INSERT INTO processed_events (event_id, store_id, event_type)"
	"  SELECT event_id, store_id, event_type FROM rs_stage_events ORDER BY seq"
	"  ON CONFLICT (event_id) DO NOTHING RETURNING event_id),"
	" s AS (INSERT INTO sales (store_id, sale_id, kind, ref_sale_id, event_id, terminal_id, employee_id,"
	"  occurred_at, recorded_at, currency, gross, discount, tax, total, tendered, change_due, customer_ref, note,"
	"  receipt)"
	"  SELECT store_id, sale_id, kind, ref_sale_id, event_id, terminal_id, employee_id, occurred_at, recorded_at,"
	"  currency, gross, discount, tax, total, tendered, change_due, customer_ref, note, receipt FROM rs_stage_sales),"
	" l AS (INSERT INTO sale_lines (store_id, sale_id, line_no, occurred_at, kind, sku, name, qty, unit_price,"
	"  gross, discount, net, tax, total, tax_class, tax_rate_ppm)"
	"  SELECT store_id, sale_id, line_no, occurred_at, kind, sku, name, qty, unit_price, gross, discount, net, tax,"
	"  total, tax_class, tax_rate_ppm FROM rs_stage_lines),"
	" t AS (INSERT INTO sale_tenders (store_id, sale_id, tender_no, occurred_at, kind, amount, reference)"
	"  SELECT store_id, sale_id, tender_no, occurred_at, kind, amount, reference FROM rs_stage_tenders),"
	" g AS (INSERT INTO stock_ledger (store_id, event_id, event_type, sku, delta, reason, reference, occurred_at)"
	"  SELECT store_id, event_id, event_type, sku, delta, reason, reference, occurred_at"
	"  FROM rs_stage_moves WHERE delta <> 0 ORDER BY seq),"
	" v AS (INSERT INTO stock_levels AS x (store_id, sku, on_hand, reserved)"
	"  SELECT store_id, sku, sum(delta), sum(reserved) FROM rs_stage_moves"
	"  GROUP BY store_id, sku ORDER BY store_id, sku"
	"  ON CONFLICT (store_id, sku) DO UPDATE SET on_hand = x.on_hand + EXCLUDED.on_hand,"
	"  reserved = x.reserved + EXCLUDED.reserved, updated_at = now()),"
	" h AS (INSERT INTO sales_hourly AS x (store_id, hour, sku, units, refunded_units, gross, discount, tax, total,"
	"  refunds, lines)"
	"  SELECT store_id, date_trunc('hour', occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS hr, sku,"
	"  sum(CASE WHEN kind = 'sale' THEN qty ELSE 0 END), sum(CASE WHEN kind = 'sale' THEN 0 ELSE qty END),"
	"  sum(CASE WHEN kind = 'sale' THEN gross ELSE 0 END), sum(CASE WHEN kind = 'sale' THEN discount ELSE 0 END),"
	"  sum(CASE WHEN kind = 'sale' THEN tax ELSE 0 END), sum(CASE WHEN kind = 'sale' THEN total ELSE 0 END),"
	"  sum(CASE WHEN kind = 'sale' THEN 0 ELSE total END), count(*)"
	"  FROM rs_stage_lines GROUP BY store_id, hr, sku ORDER BY store_id, hr, sku"
	"  ON CONFLICT (store_id, hour, sku) DO UPDATE SET units = x.units + EXCLUDED.units,"
	"  refunded_units = x.refunded_units + EXCLUDED.refunded_units, gross = x.gross + EXCLUDED.gross,"
	"  discount = x.discount + EXCLUDED.discount, tax = x.tax + EXCLUDED.tax, total = x.total + EXCLUDED.total,"
	"  refunds = x.refunds + EXCLUDED.refunds, lines = x.lines + EXCLUDED.lines)"
	","
	" ht AS (INSERT INTO sales_hourly_totals AS x (store_id, hour, units, refunded_units, gross, discount, tax, total,"
	"  refunds, lines)"
	"  SELECT store_id, date_trunc('hour', occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS hr,"
	"  sum(CASE WHEN kind = 'sale' THEN qty ELSE 0 END), sum(CASE WHEN kind = 'sale' THEN 0 ELSE qty END),"
	"  sum(CASE WHEN kind = 'sale' THEN gross ELSE 0 END), sum(CASE WHEN kind = 'sale' THEN discount ELSE 0 END),"
	"  sum(CASE WHEN kind = 'sale' THEN tax ELSE 0 END), sum(CASE WHEN kind = 'sale' THEN total ELSE 0 END),"
	"  sum(CASE WHEN kind = 'sale' THEN 0 ELSE total END), count(*)"
	"  FROM rs_stage_lines GROUP BY store_id, hr ORDER BY store_id, hr"
	"  ON CONFLICT (store_id, hour) DO UPDATE SET units = x.units + EXCLUDED.units,"
	"  refunded_units = x.refunded_units + EXCLUDED.refunded_units, gross = x.gross + EXCLUDED.gross,"
	"  discount = x.discount + EXCLUDED.discount, tax = x.tax + EXCLUDED.tax, total = x.total + EXCLUDED.total,"
	"  refunds = x.refunds + EXCLUDED.refunds, lines = x.lines + EXCLUDED.lines)"
	" SELECT count(*) FROM fresh";

/* The event ids of a batch, so an id that comes twice (a producer retry delivered it twice) is staged
 * once, wherever the two copies are: open addressing over 2n slots. */
typedef struct idset {
	const char **slot;
	size_t cap;
} idset;

static uint32_t id_hash(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* Adds `id`; false when it was there already. */
static bool idset_add(idset *set, const char *id)
{
	size_t i = id_hash(id) % set->cap;
	while (set->slot[i]) {
		if (!strcmp(set->slot[i], id))
			return false;
		i = (i + 1) % set->cap;
	}
	set->slot[i] = id;
	return true;
}

static void stage_free(stage *s)
{
	for (int i = 0; i < ST_COUNT; i++)
		free(s->t[i].p);
}

int redstore_projector_apply(redstore_client *c, const redstore_event *const *events, size_t n, size_t *applied)
{
	stage s;
	idset ids = { NULL, 2 * n };
	PGresult *res = NULL;
	size_t staged = 0, replays = 0;
	int rc = 0;

	if (applied)
		*applied = 0;
	if (n == 0)
		return 0;
	memset(&s, 0, sizeof(s));
	for (int i = 0; i < ST_COUNT; i++)
		s.t[i].first = true;
	if (!(ids.slot = calloc(ids.cap, sizeof(*ids.slot))))
		return redstore__fail(REDSTORE_ENOMEM, "projector: out of memory for a batch of %zu events", n);
	for (size_t i = 0; i < n && !rc; i++) {
		const redstore_event *e = events[i];
		if (!idset_add(&ids, e->id))
			continue;
		staged++;
		field_int(&s.t[ST_EVENTS], (int64_t)i);
		field(&s.t[ST_EVENTS], e->id);
		field(&s.t[ST_EVENTS], e->store_id);
		field(&s.t[ST_EVENTS], e->type);
		end_row(&s.t[ST_EVENTS]);
		if (!strncmp(e->type, "sale.", 5))
			rc = stage_sale(&s, e);
		else if (!strncmp(e->type, "inventory.", 10))
			rc = stage_inventory(&s, e);
	}
	for (int i = 0; i < ST_COUNT && !rc; i++)
		if (s.t[i].oom)
			rc = redstore__fail(REDSTORE_ENOMEM, "projector: out of memory staging %zu events", n);
	free(ids.slot);
	if (rc) {
		stage_free(&s);
		return rc;
	}
	if ((rc = redstore__pg_script(c, staging_sql)))
		goto done;
	for (int i = 0; i < ST_COUNT && !rc; i++)
		if (s.t[i].len)
			rc = redstore__pg_copy_in(c, copy_sql[i], s.t[i].p, s.t[i].len);
	if (!rc && !(rc = redstore__pg_exec(&res, c, replays_sql, 0, NULL))) {
		replays = (size_t)strtoull(PQcmdTuples(res), NULL, 10);
		PQclear(res);
		if (replays)
			rc = redstore__pg_script(c, drop_replays_sql);
	}
	if (!rc && !(rc = redstore__pg_exec(&res, c, apply_sql, 0, NULL))) {
		size_t fresh = (size_t)strtoull(PQgetvalue(res, 0, 0), NULL, 10);
		PQclear(res);
		if (fresh != staged - replays)
			rc = redstore__fail(REDSTORE_EUNAVAILABLE,
			                    "projector: %zu of %zu events were recorded meanwhile by another projector;"
			                    " the batch is rolled back and comes again",
			                    staged - replays - fresh, staged - replays);
		else if (!(rc = redstore__pg_exec(NULL, c, "COMMIT", 0, NULL)) && applied)
			*applied = fresh;
	}
done:
	if (rc && c->pg) {
		char saved[512];
		snprintf(saved, sizeof(saved), "%s", redstore_error_last());
		redstore__pg_exec(NULL, c, "ROLLBACK", 0, NULL);
		rc = redstore__fail(rc, "%s", saved);
	}
	stage_free(&s);
	return rc;
}

int redstore_projector_prepare(redstore_client *c, int months_ahead)
{
	char m[16];
	const char *p[1] = { m };
	if (months_ahead < 0 || months_ahead > 120)
		return redstore__fail(REDSTORE_EINVALID, "projector: months_ahead %d (0..120)", months_ahead);
	snprintf(m, sizeof(m), "%d", months_ahead + 1);
	return redstore__pg_exec(NULL, c, "SELECT redstore_ensure_month_partitions(now(), $1::int)", 1, p);
}
