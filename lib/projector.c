/* The projection of events into PostgreSQL: one transaction per batch, idempotent by event id. */
#include "event.h"
#include "receipt.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <time.h>

/* PostgreSQL reads RFC 3339 text as timestamptz. */
#define TS(ms, buf) redstore__rfc3339(buf, sizeof(buf), ms)

static const char *num(char *buf, int64_t v)
{
	snprintf(buf, 24, "%lld", (long long)v);
	return buf;
}

/* One stock movement: the ledger row and the projected level. */
static int move(redstore_client *c, const redstore_event *e, const char *sku, int64_t delta, const char *reason,
                const char *reference)
{
	char d[24], when[40];
	const char *ledger[8] = { e->store_id, e->id, e->type, sku, num(d, delta), reason, reference,
		                      TS(e->occurred_at_ms, when) };
	const char *level[3] = { e->store_id, sku, d };
	int rc;
	if (delta == 0)
		return 0;
	if ((rc = redstore__pg_exec(NULL, c,
	                            "INSERT INTO stock_ledger (store_id, event_id, event_type, sku, delta, reason, reference,"
	                            " occurred_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
	                            8, ledger)))
		return rc;
	return redstore__pg_exec(NULL, c,
	                         "INSERT INTO stock_levels (store_id, sku, on_hand) VALUES ($1, $2, $3)"
	                         " ON CONFLICT (store_id, sku) DO UPDATE SET on_hand = stock_levels.on_hand + EXCLUDED.on_hand,"
	                         " updated_at = now()",
	                         3, level);
}

static int reserve(redstore_client *c, const redstore_event *e, const char *sku, int64_t delta)
{
	char d[24];
	const char *p[3] = { e->store_id, sku, num(d, delta) };
	return redstore__pg_exec(NULL, c,
	                         "INSERT INTO stock_levels (store_id, sku, reserved) VALUES ($1, $2, $3)"
	                         " ON CONFLICT (store_id, sku) DO UPDATE SET reserved = stock_levels.reserved + EXCLUDED.reserved,"
	                         " updated_at = now()",
	                         3, p);
}

static int project_sale(redstore_client *c, const redstore_event *e)
{
	redstore_receipt *r = NULL;
	char when[40], rec[40], n[16][24];
	bool sale;
	int rc;

	if ((rc = redstore__receipt_from_json(&r, e->payload_json)))
		return redstore__fail_wrap(rc, "event %s (%s)", e->id, e->type);
	sale = !strcmp(r->kind, "sale");
	TS(e->occurred_at_ms, when);
	TS(e->recorded_at_ms, rec);
	{
		const char *p[18] = { e->store_id, r->sale_id, r->kind, r->ref_sale_id[0] ? r->ref_sale_id : NULL, e->id,
			                  r->terminal_id, r->employee_id, when, rec, r->currency, num(n[0], r->gross),
			                  num(n[1], r->discount), num(n[2], r->tax), num(n[3], r->total), num(n[4], r->tendered),
			                  num(n[5], r->change_due), r->customer_ref, r->note };
		if ((rc = redstore__pg_exec(NULL, c,
		                            "INSERT INTO sales (store_id, sale_id, kind, ref_sale_id, event_id, terminal_id,"
		                            " employee_id, occurred_at, recorded_at, currency, gross, discount, tax, total,"
		                            " tendered, change_due, customer_ref, note) VALUES ($1, $2, $3, $4, $5, $6, $7, $8,"
		                            " $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
		                            18, p)))
			goto done;
	}
	for (size_t i = 0; i < r->line_count; i++) {
		const redstore_receipt_line *l = &r->lines[i];
		const char *p[16] = { e->store_id, r->sale_id, num(n[0], (int64_t)i), when, r->kind, l->sku, l->name,
			                  num(n[1], l->qty), num(n[2], l->unit_price), num(n[3], l->gross), num(n[4], l->discount),
			                  num(n[5], l->net), num(n[6], l->tax), num(n[7], l->total), l->tax_class,
			                  num(n[8], l->tax_rate_ppm) };
		const char *h[9] = { e->store_id, when, l->sku, num(n[9], sale ? l->qty : 0), num(n[10], sale ? 0 : l->qty),
			                 num(n[11], sale ? l->gross : 0), num(n[12], sale ? l->discount : 0),
			                 num(n[13], sale ? l->tax : 0), num(n[14], sale ? l->total : 0) };
		const char *refunds = sale ? "0" : n[7];
		const char *hp[10] = { h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8], refunds };
		if ((rc = redstore__pg_exec(NULL, c,
		                            "INSERT INTO sale_lines (store_id, sale_id, line_no, occurred_at, kind, sku, name, qty,"
		                            " unit_price, gross, discount, net, tax, total, tax_class, tax_rate_ppm) VALUES"
		                            " ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
		                            16, p)) ||
		    (rc = redstore__pg_exec(NULL, c,
		                            "INSERT INTO sales_hourly AS s (store_id, hour, sku, units, refunded_units, gross,"
		                            " discount, tax, total, refunds, lines) VALUES ($1, date_trunc('hour', $2::timestamptz"
		                            " AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', $3, $4, $5, $6, $7, $8, $9, $10, 1)"
		                            " ON CONFLICT (store_id, hour, sku) DO UPDATE SET units = s.units + EXCLUDED.units,"
		                            " refunded_units = s.refunded_units + EXCLUDED.refunded_units,"
		                            " gross = s.gross + EXCLUDED.gross, discount = s.discount + EXCLUDED.discount,"
		                            " tax = s.tax + EXCLUDED.tax, total = s.total + EXCLUDED.total,"
		                            " refunds = s.refunds + EXCLUDED.refunds, lines = s.lines + 1",
		                            10, hp)))
			goto done;
		if (sale)
			rc = move(c, e, l->sku, -l->qty, "sale", r->sale_id);
		else if (r->restocked)
			rc = move(c, e, l->sku, l->qty, r->kind, r->ref_sale_id);
		if (rc)
			goto done;
	}
	for (size_t i = 0; i < r->tender_count; i++) {
		const redstore_receipt_tender *t = &r->tenders[i];
		const char *p[7] = { e->store_id, r->sale_id, num(n[0], (int64_t)i), when,
			                 redstore_tender_kind_name(t->kind), num(n[1], t->amount), t->reference };
		if ((rc = redstore__pg_exec(NULL, c,
		                            "INSERT INTO sale_tenders (store_id, sale_id, tender_no, occurred_at, kind, amount,"
		                            " reference) VALUES ($1, $2, $3, $4, $5, $6, $7)",
		                            7, p)))
			goto done;
	}
done:
	redstore_receipt_free(r);
	return rc;
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : "";
}

static int project_inventory(redstore_client *c, const redstore_event *e)
{
	cJSON *p = cJSON_Parse(e->payload_json);
	const cJSON *lines = cJSON_GetObjectItemCaseSensitive(p, "lines"), *l;
	const char *t = e->type + strlen("inventory.");
	int rc = 0;

	if (!strcmp(t, "low_stock") || !strcmp(t, "transfer_registered")) {
		cJSON_Delete(p);
		return 0;
	}
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
			rc = move(c, e, sku, qty, "received", jstr(p, "supplier_ref"));
		else if (!strcmp(t, "adjusted"))
			rc = move(c, e, sku, qty, jstr(p, "reason"), jstr(p, "note"));
		else if (!strcmp(t, "transfer_sent"))
			rc = move(c, e, sku, -qty, "transfer_out", jstr(p, "transfer_id"));
		else if (!strcmp(t, "transfer_received"))
			rc = move(c, e, sku, qty, "transfer_in", jstr(p, "transfer_id"));
		else if (!strcmp(t, "reserved"))
			rc = reserve(c, e, sku, qty);
		else if (!strcmp(t, "released"))
			rc = reserve(c, e, sku, -qty);
		else if (!strcmp(t, "counted"))
			rc = 0; /* the deltas come with the event's "changes" (below) */
		if (rc)
			break;
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
				rc = move(c, e, sku->valuestring, (int64_t)delta->valuedouble, "count", "");
		}
	}
	cJSON_Delete(p);
	return rc;
}

int redstore_projector_apply(redstore_client *c, const redstore_event *const *events, size_t n, size_t *applied)
{
	size_t fresh = 0;
	int rc;

	if (applied)
		*applied = 0;
	if (n == 0)
		return 0;
	if ((rc = redstore__pg_exec(NULL, c, "BEGIN", 0, NULL)))
		return rc;
	for (size_t i = 0; i < n; i++) {
		const redstore_event *e = events[i];
		const char *p[3] = { e->id, e->store_id, e->type };
		PGresult *res;
		bool is_new;
		if ((rc = redstore__pg_exec(&res, c,
		                            "INSERT INTO processed_events (event_id, store_id, event_type) VALUES ($1, $2, $3)"
		                            " ON CONFLICT (event_id) DO NOTHING",
		                            3, p)))
			goto fail;
		is_new = !strcmp(PQcmdTuples(res), "1");
		PQclear(res);
		if (!is_new)
			continue;
		fresh++;
		if (!strncmp(e->type, "sale.", 5))
			rc = project_sale(c, e);
		else if (!strncmp(e->type, "inventory.", 10))
			rc = project_inventory(c, e);
		if (rc)
			goto fail;
	}
	if ((rc = redstore__pg_exec(NULL, c, "COMMIT", 0, NULL)))
		return rc;
	if (applied)
		*applied = fresh;
	return 0;
fail:
	{
		char saved[512];
		snprintf(saved, sizeof(saved), "%s", redstore_error_last());
		if (c->pg)
			redstore__pg_exec(NULL, c, "ROLLBACK", 0, NULL);
		return redstore__fail(rc, "%s", saved);
	}
}
