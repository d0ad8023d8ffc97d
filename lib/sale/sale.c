/* Sales: the builder, pricing from the catalog, commit (one stock operation), voids and refunds. */
#include "security/security_int.h"
#include "catalog/catalog_int.h"
#include "events/events_int.h"
#include "engines/engines_int.h"
#include "sale/pricing_priv.h"
#include "sale/sale_int.h"
#include "stock/stock_int.h"

#include <pthread.h>
#include <stdio.h>

#define SALE_MAX_LINES 10000
#define SALE_MAX_TENDERS 16
#define SALE_MAX_QTY 1000000
#define SALE_MAX_AMOUNT 1000000000000000LL /* 10^15 minor units */

typedef struct sale_line {
	char code[65];
	bool by_barcode;
	int64_t qty;
	redstore__disc_kind disc_kind;
	int64_t disc_value;
} sale_line;

struct redstore_sale {
	char id[REDSTORE_ID_SIZE];
	sale_line *lines;
	size_t nlines, cap;
	redstore__disc_kind disc_kind;
	int64_t disc_value;
	redstore_receipt_tender tenders[SALE_MAX_TENDERS];
	size_t ntenders;
	char customer[65];
	char note[501];
	int64_t occurred_at_ms;
};

int redstore_sale_new(redstore_sale **out, const char *sale_id)
{
	redstore_sale *s;
	int rc;

	*out = NULL;
	if (sale_id && (rc = redstore_id_check(sale_id, "redstore_sale_new")))
		return rc;
	if (!(s = calloc(1, sizeof(*s))))
		return redstore__fail(REDSTORE_ENOMEM, "redstore_sale_new: out of memory");
	if (sale_id)
		snprintf(s->id, sizeof(s->id), "%s", sale_id);
	else if ((rc = redstore_id_new(s->id))) {
		free(s);
		return rc;
	}
	s->occurred_at_ms = redstore__wall_ms();
	*out = s;
	return 0;
}

void redstore_sale_free(redstore_sale *s)
{
	if (!s)
		return;
	free(s->lines);
	free(s);
}

const char *redstore_sale_id(const redstore_sale *s)
{
	return s->id;
}

static int add_line(redstore_sale *s, const char *code, bool by_barcode, int64_t qty, size_t *line)
{
	int rc;
	if ((rc = redstore__check_sku(code, by_barcode ? "sale line barcode" : "sale line sku")))
		return rc;
	if (qty < 1 || qty > SALE_MAX_QTY)
		return redstore__fail(REDSTORE_EINVALID, "sale line %s: quantity %lld (expected 1..%d)", code, (long long)qty,
		                      SALE_MAX_QTY);
	if (s->nlines >= SALE_MAX_LINES)
		return redstore__fail(REDSTORE_ELIMIT, "sale %s: more than %d lines", s->id, SALE_MAX_LINES);
	if (s->nlines == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		sale_line *l = realloc(s->lines, cap * sizeof(*l));
		if (!l)
			return redstore__fail(REDSTORE_ENOMEM, "sale: out of memory");
		s->lines = l;
		s->cap = cap;
	}
	memset(&s->lines[s->nlines], 0, sizeof(s->lines[0]));
	snprintf(s->lines[s->nlines].code, sizeof(s->lines[0].code), "%s", code);
	s->lines[s->nlines].by_barcode = by_barcode;
	s->lines[s->nlines].qty = qty;
	if (line)
		*line = s->nlines;
	s->nlines++;
	return 0;
}

int redstore_sale_add_line(redstore_sale *s, const char *sku, int64_t qty, size_t *line)
{
	return add_line(s, sku, false, qty, line);
}

int redstore_sale_add_barcode(redstore_sale *s, const char *barcode, int64_t qty, size_t *line)
{
	return add_line(s, barcode, true, qty, line);
}

static int line_discount(redstore_sale *s, size_t line, redstore__disc_kind kind, int64_t value)
{
	if (line >= s->nlines)
		return redstore__fail(REDSTORE_EINVALID, "sale discount: no line %zu (the sale has %zu)", line, s->nlines);
	if (value < 0 || (kind == REDSTORE__DISC_PERCENT && value > 10000) || value > SALE_MAX_AMOUNT)
		return redstore__fail(REDSTORE_EINVALID, "sale line %zu discount: %lld (expected %s)", line, (long long)value,
		                      kind == REDSTORE__DISC_PERCENT ? "0..10000 basis points" : "an amount >= 0");
	s->lines[line].disc_kind = kind;
	s->lines[line].disc_value = value;
	return 0;
}

int redstore_sale_line_discount_percent(redstore_sale *s, size_t line, int64_t bp)
{
	return line_discount(s, line, REDSTORE__DISC_PERCENT, bp);
}

int redstore_sale_line_discount_amount(redstore_sale *s, size_t line, int64_t amount)
{
	return line_discount(s, line, REDSTORE__DISC_AMOUNT, amount);
}

static int order_discount(redstore_sale *s, redstore__disc_kind kind, int64_t value)
{
	if (value < 0 || (kind == REDSTORE__DISC_PERCENT && value > 10000) || value > SALE_MAX_AMOUNT)
		return redstore__fail(REDSTORE_EINVALID, "sale order discount: %lld (expected %s)", (long long)value,
		                      kind == REDSTORE__DISC_PERCENT ? "0..10000 basis points" : "an amount >= 0");
	s->disc_kind = kind;
	s->disc_value = value;
	return 0;
}

int redstore_sale_order_discount_percent(redstore_sale *s, int64_t bp)
{
	return order_discount(s, REDSTORE__DISC_PERCENT, bp);
}

int redstore_sale_order_discount_amount(redstore_sale *s, int64_t amount)
{
	return order_discount(s, REDSTORE__DISC_AMOUNT, amount);
}

static int check_free_text(const char *s, size_t max, const char *what)
{
	if (!s)
		return 0;
	if (strlen(s) > max)
		return redstore__fail(REDSTORE_EINVALID, "%s is longer than %zu characters", what, max);
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 && *p != '\n' && *p != '\t')
			return redstore__fail(REDSTORE_EINVALID, "%s contains a control character", what);
	return 0;
}

int redstore_sale_add_tender(redstore_sale *s, redstore_tender_kind kind, int64_t amount, const char *reference)
{
	int rc;
	if (!strcmp(redstore_tender_kind_name(kind), "unknown"))
		return redstore__fail(REDSTORE_EINVALID, "sale tender: unknown kind %d", (int)kind);
	if (amount <= 0 || amount > SALE_MAX_AMOUNT)
		return redstore__fail(REDSTORE_EINVALID, "sale tender: amount %lld (expected 1..10^15 minor units)",
		                      (long long)amount);
	if ((rc = check_free_text(reference, 64, "sale tender reference")))
		return rc;
	if (s->ntenders >= SALE_MAX_TENDERS)
		return redstore__fail(REDSTORE_ELIMIT, "sale %s: more than %d tenders", s->id, SALE_MAX_TENDERS);
	s->tenders[s->ntenders].kind = kind;
	s->tenders[s->ntenders].amount = amount;
	snprintf(s->tenders[s->ntenders].reference, sizeof(s->tenders[0].reference), "%s", reference ? reference : "");
	s->ntenders++;
	return 0;
}

int redstore_sale_set_customer(redstore_sale *s, const char *customer_ref)
{
	int rc = check_free_text(customer_ref, 64, "sale customer reference");
	if (!rc)
		snprintf(s->customer, sizeof(s->customer), "%s", customer_ref ? customer_ref : "");
	return rc;
}

int redstore_sale_set_note(redstore_sale *s, const char *note)
{
	int rc = check_free_text(note, 500, "sale note");
	if (!rc)
		snprintf(s->note, sizeof(s->note), "%s", note ? note : "");
	return rc;
}

int redstore_sale_set_occurred_at(redstore_sale *s, int64_t ms)
{
	/* 2000-01-01 .. 2200-01-01: anything else is a broken terminal clock. */
	if (ms < 946684800000LL || ms > 7258118400000LL)
		return redstore__fail(REDSTORE_EINVALID, "sale occurred_at %lld is not a plausible time", (long long)ms);
	s->occurred_at_ms = ms;
	return 0;
}

/* ------------------------------------------------------------------ pricing */

/* Prices a sale whose products were resolved already (items[i] for line i): no I/O. */
static int price_resolved(redstore_receipt **out, redstore_client *c, const redstore_sale *s,
                          const redstore__store_meta *meta, const redstore__item *items)
{
	redstore__price_line *pl = NULL;
	redstore__price_order po;
	redstore_receipt *r = NULL;
	int64_t other = 0;
	int rc = 0;

	*out = NULL;
	pl = calloc(s->nlines, sizeof(*pl));
	r = calloc(1, sizeof(*r));
	if (!pl || !r || !(r->lines = calloc(s->nlines, sizeof(*r->lines))) ||
	    !(r->tenders = calloc(s->ntenders + 1, sizeof(*r->tenders)))) {
		rc = redstore__fail(REDSTORE_ENOMEM, "sale: out of memory");
		goto done;
	}
	for (size_t i = 0; i < s->nlines; i++) {
		if (!items[i].active) {
			rc = redstore__fail(REDSTORE_EINACTIVE, "sale line %zu: product %s is deactivated", i + 1, items[i].sku);
			goto done;
		}
		pl[i].unit_price = items[i].price;
		pl[i].qty = s->lines[i].qty;
		pl[i].disc_kind = s->lines[i].disc_kind;
		pl[i].disc_value = s->lines[i].disc_value;
		pl[i].tax_rate_ppm = items[i].tax_rate_ppm;
	}
	memset(&po, 0, sizeof(po));
	po.disc_kind = s->disc_kind;
	po.disc_value = s->disc_value;
	po.prices_include_tax = meta->prices_include_tax ? 1 : 0;
	if ((rc = redstore__price(&po, pl, s->nlines)))
		goto done;

	snprintf(r->sale_id, sizeof(r->sale_id), "%s", s->id);
	snprintf(r->kind, sizeof(r->kind), "sale");
	snprintf(r->store_id, sizeof(r->store_id), "%s", c->store);
	snprintf(r->store_name, sizeof(r->store_name), "%s", meta->name);
	snprintf(r->terminal_id, sizeof(r->terminal_id), "%s", c->terminal);
	snprintf(r->employee_id, sizeof(r->employee_id), "%s", c->employee);
	snprintf(r->currency, sizeof(r->currency), "%s", meta->currency);
	snprintf(r->customer_ref, sizeof(r->customer_ref), "%s", s->customer);
	snprintf(r->note, sizeof(r->note), "%s", s->note);
	r->prices_include_tax = meta->prices_include_tax;
	r->occurred_at_ms = s->occurred_at_ms;
	r->line_count = s->nlines;
	for (size_t i = 0; i < s->nlines; i++) {
		redstore_receipt_line *l = &r->lines[i];
		snprintf(l->sku, sizeof(l->sku), "%s", items[i].sku);
		snprintf(l->name, sizeof(l->name), "%s", items[i].name);
		snprintf(l->tax_class, sizeof(l->tax_class), "%s", items[i].tax_class);
		l->qty = pl[i].qty;
		l->unit_price = pl[i].unit_price;
		l->gross = pl[i].gross;
		l->discount = pl[i].line_discount + pl[i].order_discount;
		l->net = pl[i].net;
		l->tax = pl[i].tax;
		l->total = pl[i].total;
		l->tax_rate_ppm = pl[i].tax_rate_ppm;
	}
	r->gross = po.gross;
	r->discount = po.discount;
	r->tax = po.tax;
	r->total = po.total;
	r->tender_count = s->ntenders;
	for (size_t i = 0; i < s->ntenders; i++) {
		r->tenders[i] = s->tenders[i];
		r->tendered += s->tenders[i].amount;
		if (s->tenders[i].kind != REDSTORE_TENDER_CASH)
			other += s->tenders[i].amount;
	}
	if (other > r->total) {
		rc = redstore__fail(REDSTORE_EINVALID, "sale %s: card and other tenders (%lld) exceed the total (%lld): only "
		                    "cash can give change", s->id, (long long)other, (long long)r->total);
		goto done;
	}
	r->change_due = r->tendered > r->total ? r->tendered - r->total : 0;
	*out = r;
	r = NULL;
done:
	redstore_receipt_free(r);
	free(pl);
	return rc;
}

static int check_sale_shape(redstore_client *c, const redstore_sale *s)
{
	if (s->nlines == 0)
		return redstore__fail(REDSTORE_EINVALID, "sale %s has no lines", s->id);
	if ((int64_t)s->nlines > c->set.sale_max_lines)
		return redstore__fail(REDSTORE_ELIMIT, "sale %s has %zu lines (sale.max_lines is %lld)", s->id, s->nlines,
		                      (long long)c->set.sale_max_lines);
	return 0;
}

/* Resolves the products of n sales in one round trip into items (sum of lines). */
static int resolve_sales(redstore__item *items, redstore_client *c, const redstore_sale *const *sales, size_t n)
{
	size_t total = 0, k = 0;
	const char **codes;
	bool *by_barcode;
	int rc;

	for (size_t i = 0; i < n; i++)
		total += sales[i]->nlines;
	codes = calloc(total ? total : 1, sizeof(*codes));
	by_barcode = calloc(total ? total : 1, sizeof(*by_barcode));
	if (!codes || !by_barcode) {
		free(codes);
		free(by_barcode);
		return redstore__fail(REDSTORE_ENOMEM, "sale: out of memory");
	}
	for (size_t i = 0; i < n; i++)
		for (size_t l = 0; l < sales[i]->nlines; l++, k++) {
			codes[k] = sales[i]->lines[l].code;
			by_barcode[k] = sales[i]->lines[l].by_barcode;
		}
	rc = redstore__catalog_resolve(items, c, total, codes, by_barcode);
	free(codes);
	free(by_barcode);
	return rc;
}

int redstore_sale_quote(redstore_receipt **out, redstore_client *c, const redstore_sale *s)
{
	redstore__store_meta meta;
	redstore__item *items;
	const char *store;
	int rc;

	*out = NULL;
	if ((rc = redstore__need_store(&store, c, "sale")) || (rc = check_sale_shape(c, s)) ||
	    (rc = redstore__store_meta_get(&meta, c)))
		return rc;
	if (!(items = calloc(s->nlines, sizeof(*items))))
		return redstore__fail(REDSTORE_ENOMEM, "sale: out of memory");
	if (!(rc = resolve_sales(items, c, &s, 1)))
		rc = price_resolved(out, c, s, &meta, items);
	free(items);
	return rc;
}

/* Takes the stored result of a duplicate operation as the receipt to return. */
static int receipt_of_duplicate(redstore_receipt **out, const char *json)
{
	int rc = redstore__receipt_from_json(out, json);
	if (!rc)
		(*out)->duplicate = 1;
	return rc;
}

/* One sale of a batch on its way through the stock operation. */
typedef struct pending_sale {
	const redstore_sale *s;
	redstore__item *items;       /* borrowed from the batch's array */
	redstore_receipt *receipt;
	redstore__stock_item *it;
	char (*fields)[24];
	cJSON *payload;
	char *json;
} pending_sale;

static int prepare_sale(pending_sale *p, redstore__stock_op *op, redstore_client *c, const redstore__store_meta *meta)
{
	const redstore_sale *s = p->s;
	int rc;

	if ((rc = price_resolved(&p->receipt, c, s, meta, p->items)))
		return rc;
	if (p->receipt->tendered < p->receipt->total)
		return redstore__fail(REDSTORE_EINVALID, "sale %s: tenders (%lld) do not cover the total (%lld)", s->id,
		                      (long long)p->receipt->tendered, (long long)p->receipt->total);
	if (!(p->payload = redstore__receipt_to_cjson(p->receipt)) || !(p->json = cJSON_PrintUnformatted(p->payload)) ||
	    !(p->it = calloc(s->nlines, sizeof(*p->it))) || !(p->fields = calloc(s->nlines, sizeof(*p->fields))))
		return redstore__fail(REDSTORE_ENOMEM, "sale %s: out of memory", s->id);
	for (size_t i = 0; i < s->nlines; i++) {
		snprintf(p->fields[i], sizeof(p->fields[i]), "%zu", i);
		p->it[i].sku = p->items[i].sku;
		p->it[i].mode = "sell";
		p->it[i].qty = s->lines[i].qty;
		p->it[i].deny = p->items[i].policy == REDSTORE_STOCK_DENY;
		p->it[i].low = p->items[i].low_stock_threshold;
		p->it[i].field = p->fields[i];
	}
	memset(op, 0, sizeof(*op));
	op->id = s->id;
	op->type = "sale.completed";
	op->domain = REDSTORE_DOMAIN_SALES;
	op->aux_kind = "rf";
	op->aux_id = s->id;
	op->aux_mode = "sold";
	op->result = p->json;
	op->result_is_payload = true;
	op->payload = p->payload;
	op->occurred_at_ms = s->occurred_at_ms; /* the history puts the sale when it was made */
	return 0;
}

/* With a session attached, a manual discount is a price override: the role (supervisor and up) or an
 * approval must allow it, and it is audited before the sale is applied (p->receipt is priced). */
static int discount_check(redstore_client *c, const redstore_sale *s, const pending_sale *p)
{
	bool any = s->disc_kind != REDSTORE__DISC_NONE;
	cJSON *d;
	int rc;
	for (size_t i = 0; i < s->nlines && !any; i++)
		any = s->lines[i].disc_kind != REDSTORE__DISC_NONE;
	if (!c->auth || !any)
		return 0;
	if ((rc = redstore__auth_require(c, REDSTORE_PERM_PRICE_OVERRIDE, 0, "sale discount")))
		return rc;
	if (!(d = cJSON_CreateObject()) || !cJSON_AddNumberToObject(d, "discount", (double)p->receipt->discount)) {
		cJSON_Delete(d);
		return redstore__fail(REDSTORE_ENOMEM, "sale %s: out of memory", s->id);
	}
	rc = redstore__auth_audit_action(c, "sale.price_override", s->id, d);
	cJSON_Delete(d);
	return rc;
}

int redstore_sale_commit_many(redstore_receipt **out, int *results, redstore_client *c, size_t n,
                              const redstore_sale *const *sales)
{
	redstore__store_meta meta;
	redstore__item *items = NULL;
	pending_sale *ps = NULL;
	redstore__stock_op *ops = NULL;
	redstore__stock_item **its = NULL;
	redstore__stock_outcome *outs = NULL;
	size_t *counts = NULL, *slot = NULL, total = 0, k = 0, ready = 0;
	int *rcs = NULL;
	const char *store;
	int rc;

	for (size_t i = 0; i < n; i++) {
		out[i] = NULL;
		results[i] = 0;
	}
	if (n == 0)
		return 0;
	if (n > 4096)
		return redstore__fail(REDSTORE_ELIMIT, "sale_commit_many: %zu sales (max 4096)", n);
	if ((rc = redstore__need_store(&store, c, "sale")) || (rc = redstore__auth_require(c, REDSTORE_PERM_SELL, 0, "sale")) ||
	    (rc = redstore__store_meta_get(&meta, c)))
		goto fail_all;
	for (size_t i = 0; i < n; i++)
		total += sales[i]->nlines;
	items = calloc(total ? total : 1, sizeof(*items));
	ps = calloc(n, sizeof(*ps));
	ops = calloc(n, sizeof(*ops));
	its = calloc(n, sizeof(*its));
	outs = calloc(n, sizeof(*outs));
	counts = calloc(n, sizeof(*counts));
	slot = calloc(n, sizeof(*slot));
	rcs = calloc(n, sizeof(*rcs));
	if (!items || !ps || !ops || !its || !outs || !counts || !slot || !rcs) {
		rc = redstore__fail(REDSTORE_ENOMEM, "sale_commit_many: out of memory");
		goto fail_all;
	}
	/* One round trip for every product of every sale; an unknown code sends that batch the slow way. */
	if ((rc = resolve_sales(items, c, sales, n)) == REDSTORE_ENOTFOUND) {
		for (size_t i = 0, at = 0; i < n; at += sales[i]->nlines, i++)
			if ((results[i] = check_sale_shape(c, sales[i])) == 0)
				results[i] = resolve_sales(items + at, c, &sales[i], 1);
		rc = 0;
	} else if (rc) {
		goto fail_all;
	}
	for (size_t i = 0; i < n; k += sales[i]->nlines, i++) {
		ps[i].s = sales[i];
		ps[i].items = items + k;
		if (results[i] || (results[i] = check_sale_shape(c, sales[i])) ||
		    (results[i] = prepare_sale(&ps[i], &ops[ready], c, &meta)) ||
		    (results[i] = discount_check(c, sales[i], &ps[i])))
			continue;
		its[ready] = ps[i].it;
		counts[ready] = sales[i]->nlines;
		slot[ready] = i;
		ready++;
	}
	if (ready && (rc = redstore__stock_run_many(outs, rcs, c, ops, its, counts, ready)))
		goto fail_all;
	for (size_t j = 0; j < ready; j++) {
		size_t i = slot[j];
		if ((results[i] = rcs[j]))
			continue;
		if (outs[j].duplicate) {
			results[i] = receipt_of_duplicate(&out[i], outs[j].result);
		} else {
			snprintf(ps[i].receipt->stream_id, sizeof(ps[i].receipt->stream_id), "%s", outs[j].stream_id);
			out[i] = ps[i].receipt;
			ps[i].receipt = NULL;
		}
	}
	goto done;
fail_all:
	for (size_t i = 0; i < n; i++)
		results[i] = rc;
done:
	for (size_t i = 0; ps && i < n; i++) {
		redstore_receipt_free(ps[i].receipt);
		cJSON_Delete(ps[i].payload);
		free(ps[i].json);
		free(ps[i].it);
		free(ps[i].fields);
	}
	for (size_t j = 0; outs && j < ready; j++)
		redstore__stock_outcome_clear(&outs[j]);
	free(items);
	free(ps);
	free(ops);
	free(its);
	free(outs);
	free(counts);
	free(slot);
	free(rcs);
	return rc;
}

/* ------------------------------------------------------------------ through a committer */

/* One sale on its way through a committer: everything it needs, owned (the caller's sale is not kept). */
typedef struct sale_task {
	pending_sale p;
	redstore__item *items;
	redstore__stock_op op;
	redstore__stock_job job;
	char id[REDSTORE_ID_SIZE];
	redstore_sale_done_cb done;
	void *payload;
} sale_task;

static void sale_task_free(sale_task *t)
{
	if (!t)
		return;
	redstore__stock_job_clear(&t->job);
	redstore_receipt_free(t->p.receipt);
	cJSON_Delete(t->p.payload);
	free(t->p.json);
	free(t->p.it);
	free(t->p.fields);
	free(t->items);
	free(t);
}

/* Validates, authorises and prices one sale on the caller's client, and prepares its stock job. */
static int sale_task_new(sale_task **out, redstore_client *c, const redstore_sale *s)
{
	redstore__store_meta meta;
	const char *store;
	sale_task *t;
	int rc;

	*out = NULL;
	if ((rc = redstore__need_store(&store, c, "sale")) || (rc = redstore__auth_require(c, REDSTORE_PERM_SELL, 0, "sale")) ||
	    (rc = check_sale_shape(c, s)) || (rc = redstore__store_meta_get(&meta, c)))
		return rc;
	if (!(t = calloc(1, sizeof(*t))) || !(t->items = calloc(s->nlines, sizeof(*t->items)))) {
		free(t);
		return redstore__fail(REDSTORE_ENOMEM, "sale %s: out of memory", s->id);
	}
	snprintf(t->id, sizeof(t->id), "%s", s->id);
	t->p.s = s;
	t->p.items = t->items;
	if ((rc = resolve_sales(t->items, c, &s, 1)) || (rc = prepare_sale(&t->p, &t->op, c, &meta)) ||
	    (rc = discount_check(c, s, &t->p))) {
		sale_task_free(t);
		return rc;
	}
	t->op.id = t->id;
	t->p.s = NULL; /* the caller's sale is not used after this */
	if ((rc = redstore__stock_prepare(&t->job, c, &t->op, t->p.it, s->nlines))) {
		sale_task_free(t);
		return rc;
	}
	*out = t;
	return 0;
}

/* The sale's answer once its job ran: the receipt, the first receipt of a duplicate, or the error. */
static int sale_task_result(redstore_receipt **out, sale_task *t)
{
	int rc;
	*out = NULL;
	if ((rc = t->job.rc)) {
		if (rc == REDSTORE_EOUT_OF_STOCK)
			redstore__fail(rc, "sale %s: %s", t->id, t->job.message);
		else
			redstore__fail(rc, "%s", t->job.message);
		return rc;
	}
	if (t->job.out.duplicate)
		return receipt_of_duplicate(out, t->job.out.result);
	snprintf(t->p.receipt->stream_id, sizeof(t->p.receipt->stream_id), "%s", t->job.out.stream_id);
	*out = t->p.receipt;
	t->p.receipt = NULL;
	return 0;
}

static void sale_task_done(redstore__stock_job *job, void *payload)
{
	sale_task *t = payload;
	redstore_receipt *r;
	int rc = sale_task_result(&r, t);
	(void)job;
	t->done(rc, r, t->payload);
	sale_task_free(t);
}

int redstore_sale_submit(redstore_committer *cm, redstore_client *c, const redstore_sale *s, redstore_sale_done_cb done,
                         void *payload)
{
	sale_task *t;
	int rc;
	if ((rc = sale_task_new(&t, c, s)))
		return rc;
	t->done = done;
	t->payload = payload;
	if ((rc = redstore__committer_submit(cm, &t->job, sale_task_done, t)))
		sale_task_free(t);
	return rc;
}

/* A blocking commit's wait for its committer. */
typedef struct sale_wait {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
	int rc;
	redstore_receipt *receipt;
	char message[512];
} sale_wait;

static void sale_wake(int rc, redstore_receipt *r, void *payload)
{
	sale_wait *w = payload;
	pthread_mutex_lock(&w->mu);
	w->rc = rc;
	w->receipt = r;
	if (rc)
		snprintf(w->message, sizeof(w->message), "%s", redstore_error_last());
	w->done = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

static int commit_through(redstore_receipt **out, redstore_client *c, const redstore_sale *s)
{
	sale_wait w;
	int rc;
	memset(&w, 0, sizeof(w));
	pthread_mutex_init(&w.mu, NULL);
	pthread_cond_init(&w.cv, NULL);
	if (!(rc = redstore_sale_submit(c->committer, c, s, sale_wake, &w))) {
		pthread_mutex_lock(&w.mu);
		while (!w.done)
			pthread_cond_wait(&w.cv, &w.mu);
		pthread_mutex_unlock(&w.mu);
		*out = w.receipt;
		if ((rc = w.rc))
			redstore__fail(rc, "%s", w.message);
	}
	pthread_cond_destroy(&w.cv);
	pthread_mutex_destroy(&w.mu);
	return rc;
}

int redstore_sale_commit(redstore_receipt **out, redstore_client *c, const redstore_sale *s)
{
	int one = 0, rc;
	*out = NULL;
	if (c->committer)
		return commit_through(out, c, s);
	rc = redstore_sale_commit_many(out, &one, c, 1, &s);
	if (!rc && one == REDSTORE_EOUT_OF_STOCK)
		redstore__fail_wrap(one, "sale %s", s->id);
	return rc ? rc : one;
}

/* ------------------------------------------------------------------ voids and refunds */

int redstore_receipt_get(redstore_receipt **out, redstore_client *c, const char *sale_id)
{
	char key[REDSTORE_KEY_MAX];
	const char *store;
	redisReply *r;
	cJSON *env = NULL;
	char *json = NULL;
	int rc;

	*out = NULL;
	if ((rc = redstore__need_store(&store, c, "receipt_get")) || (rc = redstore_id_check(sale_id, "receipt_get")))
		return rc;
	if ((rc = redstore__redis_cmd(&r, c, "HMGET %s type event", redstore__key_id(key, store, "op", sale_id))))
		return rc;
	if (r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_STRING ||
	    strncmp(r->element[0]->str, "sale.", 5) != 0) {
		rc = redstore__fail(REDSTORE_ENOTFOUND, "receipt_get: no sale %s in store %s", sale_id, store);
	} else {
		/* The receipt is the payload of the operation's event. */
		env = cJSON_ParseWithLength(r->element[1]->str, r->element[1]->len);
		json = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(env, "payload"));
		rc = json ? redstore__receipt_from_json(out, json)
		          : redstore__fail(REDSTORE_EDECODE, "receipt_get: sale %s: stored event has no payload", sale_id);
	}
	free(json);
	cJSON_Delete(env);
	freeReplyObject(r);
	return rc;
}

/* Units of each line already refunded (rf:<sale> hash, field = line index). */
static int refunded_so_far(int64_t *done, redstore_client *c, const char *store, const char *sale_id, size_t n)
{
	char key[REDSTORE_KEY_MAX];
	redisReply *r;
	int rc;

	memset(done, 0, n * sizeof(*done));
	if ((rc = redstore__redis_cmd(&r, c, "HGETALL %s", redstore__key_id(key, store, "rf", sale_id))))
		return rc;
	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		const char *f = r->element[i]->str;
		char *end;
		unsigned long idx;
		if (f[0] < '0' || f[0] > '9')
			continue;
		idx = strtoul(f, &end, 10);
		if (!*end && idx < n)
			done[idx] = strtoll(r->element[i + 1]->str, NULL, 10);
	}
	freeReplyObject(r);
	return 0;
}

/* The share of `amount` for units (before, before + q] of qty: spread so that every unit of the line
 * together returns exactly `amount`. */
static int64_t share(int64_t amount, int64_t before, int64_t q, int64_t qty)
{
	return redstore__div_round_half_even((redstore__int128)amount * (before + q), qty) -
	       redstore__div_round_half_even((redstore__int128)amount * before, qty);
}

typedef struct undo_req {
	const char *what;        /* "refund" or "void" */
	const char *type;        /* event type */
	const char *id;          /* may be NULL */
	const char *sale_id;
	size_t n;
	const redstore_refund_line *lines;  /* NULL: every remaining unit */
	bool restock;
	redstore_tender_kind tender;
	const char *reference;
	const char *reason;
} undo_req;

static int undo_sale(redstore_receipt **out, redstore_client *c, const undo_req *q)
{
	redstore_receipt *sale = NULL, *r = NULL;
	redstore__item *prods = NULL;
	redstore__stock_item *it = NULL;
	char (*fields)[24] = NULL;
	int64_t *done = NULL;
	redstore__stock_outcome oc;
	redstore__stock_op op;
	char id[REDSTORE_ID_SIZE];
	cJSON *payload = NULL;
	char *json = NULL;
	const char *store;
	size_t k = 0;
	int rc;

	*out = NULL;
	memset(&oc, 0, sizeof(oc));
	if ((rc = redstore__need_store(&store, c, q->what)) || (rc = redstore_id_check(q->sale_id, q->what)))
		return rc;
	if (q->id) {
		if ((rc = redstore_id_check(q->id, q->what)))
			return rc;
		snprintf(id, sizeof(id), "%s", q->id);
	} else if ((rc = redstore_id_new(id))) {
		return rc;
	}
	if (!strcmp(redstore_tender_kind_name(q->tender), "unknown"))
		return redstore__fail(REDSTORE_EINVALID, "%s: unknown tender kind %d", q->what, (int)q->tender);
	if ((rc = check_free_text(q->reference, 64, "refund tender reference")) ||
	    (rc = check_free_text(q->reason, 500, "void reason")))
		return rc;
	/* A retry of an operation that exists answers from its record, whatever is left to refund now. */
	if (q->id) {
		char key[REDSTORE_KEY_MAX];
		redisReply *ex;
		if ((rc = redstore__redis_cmd(&ex, c, "EXISTS %s", redstore__key_id(key, store, "op", id))))
			return rc;
		rc = ex->integer ? 1 : 0;
		freeReplyObject(ex);
		if (rc) {
			redstore__stock_item none = { .sku = "-", .mode = "none", .qty = 1, .field = "-" };
			memset(&op, 0, sizeof(op));
			op.id = id;
			op.type = q->type;
			op.domain = REDSTORE_DOMAIN_SALES;
			op.aux_kind = "rf";
			op.aux_id = q->sale_id;
			op.aux_mode = "dup_only";
			if ((rc = redstore__stock_run(&oc, c, &op, &none, 1)))
				return rc;
			rc = oc.duplicate ? receipt_of_duplicate(out, oc.result)
			                  : redstore__fail(REDSTORE_ERROR, "%s %s: record vanished", q->what, id);
			redstore__stock_outcome_clear(&oc);
			return rc;
		}
	}
	if ((rc = redstore_receipt_get(&sale, c, q->sale_id)))
		return rc;
	if (strcmp(sale->kind, "sale") != 0) {
		rc = redstore__fail(REDSTORE_EINVALID, "%s: %s is a %s, not a sale", q->what, q->sale_id, sale->kind);
		goto done;
	}
	if (!(done = calloc(sale->line_count, sizeof(*done))) || !(r = calloc(1, sizeof(*r))) ||
	    !(r->lines = calloc(sale->line_count, sizeof(*r->lines))) || !(r->tenders = calloc(1, sizeof(*r->tenders))) ||
	    !(it = calloc(sale->line_count, sizeof(*it))) || !(fields = calloc(sale->line_count, sizeof(*fields))) ||
	    !(prods = calloc(sale->line_count, sizeof(*prods)))) {
		rc = redstore__fail(REDSTORE_ENOMEM, "%s: out of memory", q->what);
		goto done;
	}
	if ((rc = refunded_so_far(done, c, store, q->sale_id, sale->line_count)))
		goto done;
	if (q->lines) {
		if (q->n < 1 || q->n > sale->line_count) {
			rc = redstore__fail(REDSTORE_EINVALID, "%s: %zu lines (the sale has %zu)", q->what, q->n, sale->line_count);
			goto done;
		}
		for (size_t i = 0; i < q->n; i++) {
			size_t L = q->lines[i].line;
			if (L >= sale->line_count) {
				rc = redstore__fail(REDSTORE_EINVALID, "%s: sale %s has no line %zu", q->what, q->sale_id, L);
				goto done;
			}
			for (size_t j = 0; j < i; j++)
				if (q->lines[j].line == L) {
					rc = redstore__fail(REDSTORE_EINVALID, "%s: line %zu named twice", q->what, L);
					goto done;
				}
			if (q->lines[i].qty < 1 || q->lines[i].qty > sale->lines[L].qty - done[L]) {
				rc = redstore__fail(REDSTORE_EINVALID, "%s: line %zu (%s): %lld left to refund, asked %lld", q->what, L,
				                    sale->lines[L].sku, (long long)(sale->lines[L].qty - done[L]),
				                    (long long)q->lines[i].qty);
				goto done;
			}
		}
	}
	/* Build the undo receipt (the sale's header, this operation's lines) and the stock items. */
	{
		redstore_receipt_line *lines = r->lines;
		redstore_receipt_tender *tenders = r->tenders;
		memcpy(r, sale, sizeof(*r));
		r->lines = lines;
		r->tenders = tenders;
	}
	snprintf(r->sale_id, sizeof(r->sale_id), "%s", id);
	snprintf(r->kind, sizeof(r->kind), "%s", q->what);
	snprintf(r->ref_sale_id, sizeof(r->ref_sale_id), "%s", q->sale_id);
	snprintf(r->terminal_id, sizeof(r->terminal_id), "%s", c->terminal);
	snprintf(r->employee_id, sizeof(r->employee_id), "%s", c->employee);
	snprintf(r->note, sizeof(r->note), "%s", q->reason ? q->reason : "");
	r->occurred_at_ms = redstore__wall_ms();
	r->gross = r->discount = r->tax = r->total = r->tendered = r->change_due = 0;
	r->duplicate = 0;
	r->stream_id[0] = '\0';
	r->restocked = q->restock;
	for (size_t i = 0; i < (q->lines ? q->n : sale->line_count); i++) {
		size_t L = q->lines ? q->lines[i].line : i;
		int64_t qty = q->lines ? q->lines[i].qty : sale->lines[L].qty - done[L];
		const redstore_receipt_line *sl = &sale->lines[L];
		redstore_receipt_line *l = &r->lines[k];
		if (qty <= 0)
			continue;
		*l = *sl;
		l->qty = qty;
		l->gross = share(sl->gross, done[L], qty, sl->qty);
		l->discount = share(sl->discount, done[L], qty, sl->qty);
		l->net = share(sl->net, done[L], qty, sl->qty);
		l->tax = share(sl->tax, done[L], qty, sl->qty);
		l->total = share(sl->total, done[L], qty, sl->qty);
		r->gross += l->gross;
		r->discount += l->discount;
		r->tax += l->tax;
		r->total += l->total;
		snprintf(fields[k], sizeof(fields[k]), "%zu", L);
		it[k].sku = sl->sku;
		it[k].mode = q->restock ? "add" : "none";
		it[k].qty = qty;
		it[k].field = fields[k];
		k++;
	}
	if (k == 0) {
		rc = redstore__fail(REDSTORE_ECONFLICT, "%s: sale %s is already fully refunded or voided", q->what, q->sale_id);
		goto done;
	}
	r->line_count = k;
	r->tender_count = 1;
	r->tenders[0].kind = q->tender;
	r->tenders[0].amount = r->total;
	snprintf(r->tenders[0].reference, sizeof(r->tenders[0].reference), "%s", q->reference ? q->reference : "");
	r->tendered = r->total;
	/* Low-stock thresholds do not apply to stock coming back; the policy does not either. */
	if (!(payload = redstore__receipt_to_cjson(r))) {
		rc = redstore__fail(REDSTORE_ENOMEM, "%s: out of memory", q->what);
		goto done;
	}
	/* Each line names the sale line it undoes, so the refund tracking can be rebuilt from the events
	 * (redstore_cache_rebuild) even when a sale has several lines of one SKU. */
	{
		cJSON *l = cJSON_GetObjectItemCaseSensitive(payload, "lines")->child;
		for (size_t i = 0; l && i < k; i++, l = l->next)
			if (!cJSON_AddNumberToObject(l, "sale_line", (double)strtoul(fields[i], NULL, 10)))
				break;
	}
	if (!(json = cJSON_PrintUnformatted(payload))) {
		rc = redstore__fail(REDSTORE_ENOMEM, "%s: out of memory", q->what);
		goto done;
	}
	memset(&op, 0, sizeof(op));
	op.id = id;
	op.type = q->type;
	op.domain = REDSTORE_DOMAIN_SALES;
	op.aux_kind = "rf";
	op.aux_id = q->sale_id;
	op.aux_mode = "refund";
	op.result = json;
	op.result_is_payload = true;
	op.payload = payload;
	/* With a session attached: the role (or an approval) must allow this void or refund of r->total. */
	if ((rc = redstore__auth_require(c, q->what[0] == 'v' ? REDSTORE_PERM_VOID : REDSTORE_PERM_REFUND, r->total,
	                                 q->what)))
		goto done;
	if ((rc = redstore__stock_run(&oc, c, &op, it, k))) {
		/* A concurrent refund or void took the units first. */
		if (rc == REDSTORE_EINVALID && !strcmp(q->what, "void"))
			rc = redstore__fail_wrap(REDSTORE_ECONFLICT, "void of sale %s", q->sale_id);
		goto done;
	}
	if (oc.duplicate) {
		rc = receipt_of_duplicate(out, oc.result);
		goto done;
	}
	snprintf(r->stream_id, sizeof(r->stream_id), "%s", oc.stream_id);
	if ((rc = redstore__auth_audit_action(c, q->type, id, payload)))
		goto done;
	*out = r;
	r = NULL;
done:
	redstore__stock_outcome_clear(&oc);
	redstore_receipt_free(sale);
	redstore_receipt_free(r);
	cJSON_Delete(payload);
	free(json);
	free(done);
	free(it);
	free(fields);
	free(prods);
	return rc;
}

int redstore_sale_void(redstore_receipt **out, redstore_client *c, const char *void_id, const char *sale_id,
                       const char *reason)
{
	undo_req q = { .what = "void", .type = "sale.voided", .id = void_id, .sale_id = sale_id, .restock = true,
		           .tender = REDSTORE_TENDER_CASH, .reason = reason };
	redstore_receipt *sale = NULL;

	*out = NULL;
	if (!reason || !*reason)
		return redstore__fail(REDSTORE_EINVALID, "void of sale %s: a reason is required", sale_id ? sale_id : "?");
	/* The money goes back the way it came: the sale's first tender kind. */
	if (sale_id && !redstore_id_check(sale_id, "void") && !redstore_receipt_get(&sale, c, sale_id) &&
	    sale->tender_count > 0)
		q.tender = sale->tenders[0].kind;
	redstore_receipt_free(sale);
	return undo_sale(out, c, &q);
}

int redstore_sale_refund(redstore_receipt **out, redstore_client *c, const char *refund_id, const char *sale_id,
                         size_t n, const redstore_refund_line *lines, int restock, redstore_tender_kind tender,
                         const char *reference)
{
	undo_req q = { .what = "refund", .type = "sale.refunded", .id = refund_id, .sale_id = sale_id, .n = n,
		           .lines = lines, .restock = restock != 0, .tender = tender, .reference = reference };
	*out = NULL;
	if (!lines || n == 0)
		return redstore__fail(REDSTORE_EINVALID, "refund of sale %s: no lines", sale_id ? sale_id : "?");
	return undo_sale(out, c, &q);
}
