/* The strict decoder of a sale request body (JSON), as a REST server receives it from a terminal. */
#include "core/core_int.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>

#define BODY_MAX (1024 * 1024)
#define LINES_MAX 10000
#define TENDERS_MAX 16

static int bad(const char *where, const char *why)
{
	return redstore__fail(REDSTORE_EDECODE, "sale request: %s %s", where, why);
}

/* Every key of `o` is one of `allowed` and appears once. */
static int keys_ok(const cJSON *o, const char *where, const char *const *allowed, size_t n)
{
	for (const cJSON *k = o->child; k; k = k->next) {
		bool known = false;
		for (size_t i = 0; i < n && !known; i++)
			known = k->string && !strcmp(k->string, allowed[i]);
		if (!known)
			return redstore__fail(REDSTORE_EDECODE, "sale request: %s: unknown field \"%.40s\"", where,
			                      k->string ? k->string : "");
		for (const cJSON *j = k->next; j; j = j->next)
			if (j->string && !strcmp(j->string, k->string))
				return redstore__fail(REDSTORE_EDECODE, "sale request: %s: field \"%s\" appears twice", where, k->string);
	}
	return 0;
}

/* An integer field in min..max (JSON numbers are doubles: only exact integers up to 2^53 are accepted). */
static int int_field(int64_t *out, bool *present, const cJSON *o, const char *k, int64_t min, int64_t max,
                     const char *where)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	char w[96];
	*present = v != NULL;
	if (!v)
		return 0;
	snprintf(w, sizeof(w), "%s.%s", where, k);
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble != floor(v->valuedouble) ||
	    v->valuedouble < (double)min || v->valuedouble > (double)max)
		return redstore__fail(REDSTORE_EDECODE, "sale request: %s: expected an integer in %lld..%lld", w,
		                      (long long)min, (long long)max);
	*out = (int64_t)v->valuedouble;
	return 0;
}

static int str_field(const char **out, const cJSON *o, const char *k, const char *where)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	*out = NULL;
	if (!v)
		return 0;
	if (!cJSON_IsString(v) || !v->valuestring) {
		char w[96];
		snprintf(w, sizeof(w), "%s.%s", where, k);
		return bad(w, "is not a string");
	}
	*out = v->valuestring;
	return 0;
}

static int decode_line(redstore_sale *s, const cJSON *l, size_t i)
{
	static const char *const keys[] = { "sku", "barcode", "qty", "discount_percent_bp", "discount_amount" };
	char where[40];
	const char *sku, *barcode;
	int64_t qty = 0, pct = 0, amt = 0;
	bool has_qty, has_pct, has_amt;
	size_t idx;
	int rc;

	snprintf(where, sizeof(where), "lines[%zu]", i);
	if (!cJSON_IsObject(l))
		return bad(where, "is not an object");
	if ((rc = keys_ok(l, where, keys, REDSTORE_ARRAY_SIZE(keys))) || (rc = str_field(&sku, l, "sku", where)) ||
	    (rc = str_field(&barcode, l, "barcode", where)) ||
	    (rc = int_field(&qty, &has_qty, l, "qty", 1, 1000000, where)) ||
	    (rc = int_field(&pct, &has_pct, l, "discount_percent_bp", 0, 10000, where)) ||
	    (rc = int_field(&amt, &has_amt, l, "discount_amount", 0, INT64_C(1) << 53, where)))
		return rc;
	if (!sku == !barcode)
		return bad(where, "needs exactly one of sku and barcode");
	if (!has_qty)
		return bad(where, "has no qty");
	if (has_pct && has_amt)
		return bad(where, "has two discounts (percent and amount)");
	if ((rc = sku ? redstore_sale_add_line(s, sku, qty, &idx) : redstore_sale_add_barcode(s, barcode, qty, &idx)) ||
	    (has_pct && (rc = redstore_sale_line_discount_percent(s, idx, pct))) ||
	    (has_amt && (rc = redstore_sale_line_discount_amount(s, idx, amt))))
		return redstore__fail_wrap(REDSTORE_EDECODE, "sale request: %s", where);
	return 0;
}

static int decode_tender(redstore_sale *s, const cJSON *t, size_t i)
{
	static const char *const keys[] = { "kind", "amount", "reference" };
	char where[40];
	const char *kind, *ref;
	int64_t amount = 0;
	bool has_amount;
	redstore_tender_kind k;
	int rc;

	snprintf(where, sizeof(where), "tenders[%zu]", i);
	if (!cJSON_IsObject(t))
		return bad(where, "is not an object");
	if ((rc = keys_ok(t, where, keys, REDSTORE_ARRAY_SIZE(keys))) || (rc = str_field(&kind, t, "kind", where)) ||
	    (rc = str_field(&ref, t, "reference", where)) ||
	    (rc = int_field(&amount, &has_amount, t, "amount", 1, INT64_C(1) << 53, where)))
		return rc;
	if (!kind || !has_amount)
		return bad(where, "needs kind and amount");
	if (!strcmp(kind, "cash"))
		k = REDSTORE_TENDER_CASH;
	else if (!strcmp(kind, "card"))
		k = REDSTORE_TENDER_CARD;
	else if (!strcmp(kind, "other"))
		k = REDSTORE_TENDER_OTHER;
	else
		return bad(where, "kind is not cash, card or other");
	if ((rc = redstore_sale_add_tender(s, k, amount, ref)))
		return redstore__fail_wrap(REDSTORE_EDECODE, "sale request: %s", where);
	return 0;
}

static int decode(redstore_sale **out, const cJSON *o, const char *request_id)
{
	static const char *const keys[] = { "sale_id", "lines", "tenders", "order_discount_percent_bp",
		                                "order_discount_amount", "customer_ref", "note", "occurred_at_ms" };
	const cJSON *lines, *tenders, *v;
	const char *id, *customer, *note;
	int64_t pct = 0, amt = 0, at = 0;
	bool has_pct, has_amt, has_at;
	redstore_sale *s = NULL;
	size_t i = 0;
	int rc;

	if (!cJSON_IsObject(o))
		return bad("the body", "is not a JSON object");
	if ((rc = keys_ok(o, "the body", keys, REDSTORE_ARRAY_SIZE(keys))) || (rc = str_field(&id, o, "sale_id", "body")) ||
	    (rc = str_field(&customer, o, "customer_ref", "body")) || (rc = str_field(&note, o, "note", "body")) ||
	    (rc = int_field(&pct, &has_pct, o, "order_discount_percent_bp", 0, 10000, "body")) ||
	    (rc = int_field(&amt, &has_amt, o, "order_discount_amount", 0, INT64_C(1) << 53, "body")) ||
	    (rc = int_field(&at, &has_at, o, "occurred_at_ms", 1, INT64_C(1) << 53, "body")))
		return rc;
	lines = cJSON_GetObjectItemCaseSensitive(o, "lines");
	tenders = cJSON_GetObjectItemCaseSensitive(o, "tenders");
	if (!cJSON_IsArray(lines))
		return bad("lines", "is missing or not an array");
	if (cJSON_GetArraySize(lines) < 1 || cJSON_GetArraySize(lines) > LINES_MAX)
		return redstore__fail(REDSTORE_EDECODE, "sale request: lines: expected 1..%d lines", LINES_MAX);
	if (tenders && (!cJSON_IsArray(tenders) || cJSON_GetArraySize(tenders) > TENDERS_MAX))
		return redstore__fail(REDSTORE_EDECODE, "sale request: tenders: expected an array of at most %d", TENDERS_MAX);
	if (has_pct && has_amt)
		return bad("the body", "has two order discounts (percent and amount)");
	if (id && redstore_id_check(id, "sale request sale_id"))
		return redstore__fail_wrap(REDSTORE_EDECODE, "sale request");
	if (id && request_id && strcmp(id, request_id))
		return bad("sale_id", "differs from the request's id (Idempotency-Key)");
	if (!id && request_id && redstore_id_check(request_id, "sale request id"))
		return redstore__fail_wrap(REDSTORE_EDECODE, "sale request");
	if (!id)
		id = request_id;
	if ((rc = redstore_sale_new(&s, id)))
		return rc;
	cJSON_ArrayForEach(v, lines)
	{
		if ((rc = decode_line(s, v, i++)))
			goto fail;
	}
	i = 0;
	cJSON_ArrayForEach(v, tenders)
	{
		if ((rc = decode_tender(s, v, i++)))
			goto fail;
	}
	if ((has_pct && (rc = redstore_sale_order_discount_percent(s, pct))) ||
	    (has_amt && (rc = redstore_sale_order_discount_amount(s, amt))) ||
	    (customer && (rc = redstore_sale_set_customer(s, customer))) ||
	    (note && (rc = redstore_sale_set_note(s, note))) || (has_at && (rc = redstore_sale_set_occurred_at(s, at)))) {
		rc = redstore__fail_wrap(REDSTORE_EDECODE, "sale request");
		goto fail;
	}
	*out = s;
	return 0;
fail:
	redstore_sale_free(s);
	return rc == REDSTORE_ENOMEM ? rc : REDSTORE_EDECODE;
}

int redstore_sale_from_json(redstore_sale **out, const void *data, size_t len)
{
	return redstore_sale_from_request(out, data, len, NULL);
}

int redstore_sale_from_request(redstore_sale **out, const void *data, size_t len, const char *sale_id)
{
	const char *end = NULL;
	cJSON *o;
	int rc;

	*out = NULL;
	if (!data)
		return redstore__fail(REDSTORE_EINVALID, "sale request: data is NULL");
	if (len > BODY_MAX)
		return redstore__fail(REDSTORE_ELIMIT, "sale request: %zu bytes (the limit is %d)", len, BODY_MAX);
	if (memchr(data, '\0', len))
		return bad("the body", "contains a NUL byte");
	if (!(o = cJSON_ParseWithLengthOpts(data, len, &end, false)))
		return bad("the body", "is not valid JSON");
	for (; end && (size_t)(end - (const char *)data) < len; end++)
		if (*end != ' ' && *end != '\t' && *end != '\r' && *end != '\n') {
			cJSON_Delete(o);
			return bad("the body", "has text after the JSON value");
		}
	rc = decode(out, o, sale_id);
	cJSON_Delete(o);
	return rc;
}
