/* Receipts: JSON in both directions, and the plain-text rendering for receipt printers. */
#include "sale/pricing_priv.h"
#include "sale/sale_int.h"

#include <stdio.h>
#include <time.h>

const char *redstore_tender_kind_name(redstore_tender_kind kind)
{
	switch (kind) {
	case REDSTORE_TENDER_CASH: return "cash";
	case REDSTORE_TENDER_CARD: return "card";
	case REDSTORE_TENDER_OTHER: return "other";
	}
	return "unknown";
}

void redstore_receipt_free(redstore_receipt *r)
{
	if (!r)
		return;
	free(r->lines);
	free(r->tenders);
	free(r);
}

static bool add_int(cJSON *o, const char *k, int64_t v)
{
	/* Money and counts stay below 2^53, where a JSON number is exact. */
	return cJSON_AddNumberToObject(o, k, (double)v) != NULL;
}

cJSON *redstore__receipt_to_cjson(const redstore_receipt *r)
{
	cJSON *o = cJSON_CreateObject(), *lines, *tenders;
	bool ok = o != NULL;

	ok = ok && cJSON_AddStringToObject(o, "id", r->sale_id) && cJSON_AddStringToObject(o, "kind", r->kind) &&
	     cJSON_AddStringToObject(o, "ref_sale_id", r->ref_sale_id) &&
	     cJSON_AddStringToObject(o, "store_id", r->store_id) && cJSON_AddStringToObject(o, "store_name", r->store_name) &&
	     cJSON_AddStringToObject(o, "terminal_id", r->terminal_id) &&
	     cJSON_AddStringToObject(o, "employee_id", r->employee_id) &&
	     cJSON_AddStringToObject(o, "currency", r->currency) &&
	     cJSON_AddBoolToObject(o, "prices_include_tax", r->prices_include_tax) &&
	     cJSON_AddBoolToObject(o, "restock", r->restocked) &&
	     add_int(o, "occurred_at_ms", r->occurred_at_ms) && add_int(o, "gross", r->gross) &&
	     add_int(o, "discount", r->discount) && add_int(o, "tax", r->tax) && add_int(o, "total", r->total) &&
	     add_int(o, "tendered", r->tendered) && add_int(o, "change_due", r->change_due) &&
	     cJSON_AddStringToObject(o, "customer_ref", r->customer_ref) && cJSON_AddStringToObject(o, "note", r->note) &&
	     (lines = cJSON_AddArrayToObject(o, "lines")) && (tenders = cJSON_AddArrayToObject(o, "tenders"));
	for (size_t i = 0; ok && i < r->line_count; i++) {
		const redstore_receipt_line *l = &r->lines[i];
		cJSON *j = cJSON_CreateObject();
		ok = j && cJSON_AddItemToArray(lines, j) && cJSON_AddStringToObject(j, "sku", l->sku) &&
		     cJSON_AddStringToObject(j, "name", l->name) && add_int(j, "qty", l->qty) &&
		     add_int(j, "unit_price", l->unit_price) && add_int(j, "gross", l->gross) &&
		     add_int(j, "discount", l->discount) && add_int(j, "net", l->net) && add_int(j, "tax", l->tax) &&
		     add_int(j, "total", l->total) && cJSON_AddStringToObject(j, "tax_class", l->tax_class) &&
		     add_int(j, "tax_rate_ppm", l->tax_rate_ppm);
	}
	for (size_t i = 0; ok && i < r->tender_count; i++) {
		const redstore_receipt_tender *t = &r->tenders[i];
		cJSON *j = cJSON_CreateObject();
		ok = j && cJSON_AddItemToArray(tenders, j) &&
		     cJSON_AddStringToObject(j, "kind", redstore_tender_kind_name(t->kind)) && add_int(j, "amount", t->amount) &&
		     cJSON_AddStringToObject(j, "reference", t->reference);
	}
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

int redstore_receipt_to_json(char **out, const redstore_receipt *r)
{
	cJSON *o = redstore__receipt_to_cjson(r);
	*out = o ? cJSON_PrintUnformatted(o) : NULL;
	cJSON_Delete(o);
	return *out ? 0 : redstore__fail(REDSTORE_ENOMEM, "receipt: out of memory");
}

/* Strict field readers: a missing or mistyped field is a decode error naming it. */
static int get_str(char *dst, size_t cap, const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	if (!cJSON_IsString(v) || strlen(v->valuestring) >= cap)
		return redstore__fail(REDSTORE_EDECODE, "receipt: field %s is missing or not a string of < %zu bytes", k, cap);
	memcpy(dst, v->valuestring, strlen(v->valuestring) + 1);
	return 0;
}

static int get_int(int64_t *dst, const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	if (!cJSON_IsNumber(v) || v->valuedouble != (double)(int64_t)v->valuedouble || v->valuedouble > 9.0e15 ||
	    v->valuedouble < -9.0e15)
		return redstore__fail(REDSTORE_EDECODE, "receipt: field %s is missing or not an integer", k);
	*dst = (int64_t)v->valuedouble;
	return 0;
}

static int tender_kind(redstore_tender_kind *out, const char *name)
{
	for (int k = REDSTORE_TENDER_CASH; k <= REDSTORE_TENDER_OTHER; k++)
		if (!strcmp(redstore_tender_kind_name((redstore_tender_kind)k), name)) {
			*out = (redstore_tender_kind)k;
			return 0;
		}
	return redstore__fail(REDSTORE_EDECODE, "receipt: unknown tender kind \"%.20s\"", name);
}

int redstore__receipt_from_json(redstore_receipt **out, const char *json)
{
	cJSON *o = cJSON_Parse(json);
	const cJSON *lines, *tenders, *incl;
	redstore_receipt *r = NULL;
	int rc = 0;

	*out = NULL;
	if (!o || !cJSON_IsObject(o)) {
		rc = redstore__fail(REDSTORE_EDECODE, "receipt: not a JSON object");
		goto done;
	}
	lines = cJSON_GetObjectItemCaseSensitive(o, "lines");
	tenders = cJSON_GetObjectItemCaseSensitive(o, "tenders");
	incl = cJSON_GetObjectItemCaseSensitive(o, "prices_include_tax");
	if (!cJSON_IsArray(lines) || !cJSON_IsArray(tenders) || !cJSON_IsBool(incl)) {
		rc = redstore__fail(REDSTORE_EDECODE, "receipt: lines, tenders or prices_include_tax missing");
		goto done;
	}
	if (!(r = calloc(1, sizeof(*r))) ||
	    !(r->lines = calloc((size_t)cJSON_GetArraySize(lines) + 1, sizeof(*r->lines))) ||
	    !(r->tenders = calloc((size_t)cJSON_GetArraySize(tenders) + 1, sizeof(*r->tenders)))) {
		rc = redstore__fail(REDSTORE_ENOMEM, "receipt: out of memory");
		goto done;
	}
	r->prices_include_tax = cJSON_IsTrue(incl);
	/* absent in receipts of sales: false */
	r->restocked = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "restock"));
	if ((rc = get_str(r->sale_id, sizeof(r->sale_id), o, "id")) || (rc = get_str(r->kind, sizeof(r->kind), o, "kind")) ||
	    (rc = get_str(r->ref_sale_id, sizeof(r->ref_sale_id), o, "ref_sale_id")) ||
	    (rc = get_str(r->store_id, sizeof(r->store_id), o, "store_id")) ||
	    (rc = get_str(r->store_name, sizeof(r->store_name), o, "store_name")) ||
	    (rc = get_str(r->terminal_id, sizeof(r->terminal_id), o, "terminal_id")) ||
	    (rc = get_str(r->employee_id, sizeof(r->employee_id), o, "employee_id")) ||
	    (rc = get_str(r->currency, sizeof(r->currency), o, "currency")) ||
	    (rc = get_str(r->customer_ref, sizeof(r->customer_ref), o, "customer_ref")) ||
	    (rc = get_str(r->note, sizeof(r->note), o, "note")) || (rc = get_int(&r->occurred_at_ms, o, "occurred_at_ms")) ||
	    (rc = get_int(&r->gross, o, "gross")) || (rc = get_int(&r->discount, o, "discount")) ||
	    (rc = get_int(&r->tax, o, "tax")) || (rc = get_int(&r->total, o, "total")) ||
	    (rc = get_int(&r->tendered, o, "tendered")) || (rc = get_int(&r->change_due, o, "change_due")))
		goto done;
	for (const cJSON *j = lines->child; j; j = j->next) {
		redstore_receipt_line *l = &r->lines[r->line_count++];
		if ((rc = get_str(l->sku, sizeof(l->sku), j, "sku")) || (rc = get_str(l->name, sizeof(l->name), j, "name")) ||
		    (rc = get_int(&l->qty, j, "qty")) || (rc = get_int(&l->unit_price, j, "unit_price")) ||
		    (rc = get_int(&l->gross, j, "gross")) || (rc = get_int(&l->discount, j, "discount")) ||
		    (rc = get_int(&l->net, j, "net")) || (rc = get_int(&l->tax, j, "tax")) ||
		    (rc = get_int(&l->total, j, "total")) || (rc = get_str(l->tax_class, sizeof(l->tax_class), j, "tax_class")) ||
		    (rc = get_int(&l->tax_rate_ppm, j, "tax_rate_ppm")))
			goto done;
	}
	for (const cJSON *j = tenders->child; j; j = j->next) {
		redstore_receipt_tender *t = &r->tenders[r->tender_count++];
		char kind[16];
		if ((rc = get_str(kind, sizeof(kind), j, "kind")) || (rc = tender_kind(&t->kind, kind)) ||
		    (rc = get_int(&t->amount, j, "amount")) || (rc = get_str(t->reference, sizeof(t->reference), j, "reference")))
			goto done;
	}
	*out = r;
	r = NULL;
done:
	redstore_receipt_free(r);
	cJSON_Delete(o);
	return rc;
}

/* ------------------------------------------------------------------ text */

typedef struct text {
	FILE *f;
	int width;
	int exponent;
} text;

/* "left ......... right" on one line of the receipt's width. */
static void row(text *t, const char *left, const char *right)
{
	int lw = (int)strlen(left), rw = (int)strlen(right);
	int room = rw ? t->width - rw - 1 : t->width;
	if (lw > room)
		lw = room > 0 ? room : 0;
	if (!rw)
		fprintf(t->f, "%.*s\n", lw, left);
	else
		fprintf(t->f, "%.*s%*s%s\n", lw, left, t->width - lw - rw, "", right);
}

static void center(text *t, const char *s)
{
	int n = (int)strlen(s);
	if (n > t->width)
		n = t->width;
	fprintf(t->f, "%*s%.*s\n", (t->width - n) / 2, "", n, s);
}

static void rule(text *t, char ch)
{
	for (int i = 0; i < t->width; i++)
		fputc(ch, t->f);
	fputc('\n', t->f);
}

static const char *money(char *buf, const text *t, int64_t v)
{
	return redstore__money_format(buf, REDSTORE__MONEY_BUF, v, t->exponent);
}

/* A rate in parts per million as a percentage without trailing zeros: 200000 -> "20", 55000 -> "5.5". */
static const char *percent(char *buf, int64_t ppm)
{
	int frac = (int)(ppm % 10000), digits = 4;
	if (!frac) {
		snprintf(buf, 24, "%lld", (long long)(ppm / 10000));
		return buf;
	}
	while (frac % 10 == 0) {
		frac /= 10;
		digits--;
	}
	snprintf(buf, 24, "%lld.%0*d", (long long)(ppm / 10000), digits, frac);
	return buf;
}

int redstore_receipt_render_text(char **out, const redstore_receipt *r, int width)
{
	char pct[24];
	char *buf = NULL, a[REDSTORE__MONEY_BUF], b[REDSTORE__MONEY_BUF], line[256], when[32];
	size_t len = 0;
	text t;
	time_t secs = (time_t)(r->occurred_at_ms / 1000);
	struct tm tm;

	*out = NULL;
	if (width < 24 || width > 120)
		return redstore__fail(REDSTORE_EINVALID, "receipt width %d (expected 24..120)", width);
	if (!(t.f = open_memstream(&buf, &len)))
		return redstore__fail(REDSTORE_ENOMEM, "receipt: out of memory");
	t.width = width;
	t.exponent = redstore__currency_exponent(r->currency);
	gmtime_r(&secs, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);

	center(&t, r->store_name[0] ? r->store_name : r->store_id);
	if (strcmp(r->kind, "sale") != 0) {
		snprintf(line, sizeof(line), "*** %s ***", !strcmp(r->kind, "void") ? "VOID" : "REFUND");
		center(&t, line);
	}
	row(&t, when, r->terminal_id);
	if (r->employee_id[0]) {
		snprintf(line, sizeof(line), "Served by %s", r->employee_id);
		row(&t, line, "");
	}
	rule(&t, '-');
	for (size_t i = 0; i < r->line_count; i++) {
		const redstore_receipt_line *l = &r->lines[i];
		row(&t, l->name[0] ? l->name : l->sku, money(a, &t, l->gross));
		if (l->qty != 1) {
			snprintf(line, sizeof(line), "  %lld x %s", (long long)l->qty, money(b, &t, l->unit_price));
			row(&t, line, "");
		}
		if (l->discount) {
			char d[REDSTORE__MONEY_BUF + 1];
			snprintf(d, sizeof(d), "-%s", money(b, &t, l->discount));
			row(&t, "  discount", d);
		}
	}
	rule(&t, '-');
	if (r->discount) {
		char d[REDSTORE__MONEY_BUF + 1];
		row(&t, "Subtotal", money(a, &t, r->gross));
		snprintf(d, sizeof(d), "-%s", money(b, &t, r->discount));
		row(&t, "Discounts", d);
	}
	if (!r->prices_include_tax)
		row(&t, "Tax", money(a, &t, r->tax));
	snprintf(line, sizeof(line), "TOTAL %s", r->currency);
	row(&t, line, money(a, &t, r->total));
	/* Taxes by class, the way tax authorities want them printed. */
	for (size_t i = 0; i < r->line_count; i++) {
		int64_t base = 0, tax = 0;
		bool seen = false;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(r->lines[j].tax_class, r->lines[i].tax_class))
				seen = true;
		if (seen || !r->lines[i].tax_class[0])
			continue;
		for (size_t j = i; j < r->line_count; j++)
			if (!strcmp(r->lines[j].tax_class, r->lines[i].tax_class)) {
				base += r->lines[j].net - (r->prices_include_tax ? r->lines[j].tax : 0);
				tax += r->lines[j].tax;
			}
		snprintf(line, sizeof(line), "  %s %s%% on %s%s", r->lines[i].tax_class, percent(pct, r->lines[i].tax_rate_ppm),
		         money(b, &t, base), r->prices_include_tax ? " (incl.)" : "");
		row(&t, line, money(a, &t, tax));
	}
	rule(&t, '-');
	for (size_t i = 0; i < r->tender_count; i++) {
		const redstore_receipt_tender *tn = &r->tenders[i];
		snprintf(line, sizeof(line), "%s%s%s", redstore_tender_kind_name(tn->kind), tn->reference[0] ? " " : "",
		         tn->reference);
		row(&t, line, money(a, &t, tn->amount));
	}
	if (r->change_due)
		row(&t, "Change", money(a, &t, r->change_due));
	if (r->customer_ref[0]) {
		snprintf(line, sizeof(line), "Customer %s", r->customer_ref);
		row(&t, line, "");
	}
	if (r->note[0])
		fprintf(t.f, "%.*s\n", width, r->note);
	if (r->ref_sale_id[0]) {
		snprintf(line, sizeof(line), "Original sale %s", r->ref_sale_id);
		fprintf(t.f, "%.*s\n", width, line);
	}
	rule(&t, '=');
	fprintf(t.f, "%.*s\n", width, r->sale_id);
	if (fclose(t.f) != 0 || !buf) {
		free(buf);
		return redstore__fail(REDSTORE_ENOMEM, "receipt: out of memory");
	}
	*out = buf;
	return 0;
}
