/*
 * The catalog's shared row code, below both of its users (lib/catalog/catalog.c and
 * lib/catalog/catalog_cache.c) and the CSV import: field checks, a product row read from PostgreSQL or
 * from its cache hash, its public and event forms, and two PostgreSQL helpers. No engine I/O but the
 * rollback.
 */
#include "catalog/catalog_priv.h"

#include <inttypes.h>
#include <stdio.h>

/* ------------------------------------------------------------ field checks */

const char *redstore__catalog_quote(char *buf, size_t cap, const char *s)
{
	size_t n = 0, chars = 0, i = 0;
	/* Whole characters only, at most 40 of them, and room for "..." and the NUL. */
	while (s[i]) {
		size_t len = 1;
		while (((unsigned char)s[i + len] & 0xC0) == 0x80)
			len++;
		if (chars == 40 || n + len + 4 > cap)
			break;
		for (size_t k = 0; k < len; k++, i++) {
			unsigned char ch = (unsigned char)s[i];
			buf[n++] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
		}
		chars++;
	}
	buf[n] = '\0';
	if (s[i])
		memcpy(buf + n, "...", 4);
	return buf;
}

bool redstore__catalog_parse_i64(int64_t *out, const char *s)
{
	bool neg = *s == '-';
	uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	if (neg)
		s++;
	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		if (v > (limit - (uint64_t)(*s - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return true;
}

int redstore__catalog_check_sku(char *msg, size_t cap, const char *s)
{
	char q[128];
	size_t n = s ? strlen(s) : 0;
	if (n == 0) {
		snprintf(msg, cap, "is empty (expected 1-64 printable ASCII characters, no spaces)");
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f || n > 64) {
			snprintf(msg, cap, "\"%s\" is invalid (expected 1-64 printable ASCII characters, no spaces)",
			         redstore__catalog_quote(q, sizeof(q), s));
			return -1;
		}
	return 0;
}

int redstore__check_sku(const char *sku, const char *what)
{
	char msg[200];
	if (redstore__catalog_check_sku(msg, sizeof(msg), sku))
		return redstore__fail(REDSTORE_EINVALID, "%s: sku %s", what, msg);
	return 0;
}

int redstore__catalog_check_barcode(char *msg, size_t cap, const char *s)
{
	char q[128];
	size_t n = s ? strlen(s) : 0;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (n > 64 || !((ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == '-')) {
			snprintf(msg, cap, "\"%s\" is invalid (expected empty or 1-64 of [0-9A-Za-z-])",
			         redstore__catalog_quote(q, sizeof(q), s));
			return -1;
		}
	}
	return 0;
}

/* Length in UTF-8 code points, or -1 for invalid UTF-8, -2 for a control character. */
static long utf8_chars(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	long n = 0;
	while (*p) {
		unsigned cp, need;
		if (*p < 0x80) {
			if (*p < 0x20 || *p == 0x7f)
				return -2;
			p++;
			n++;
			continue;
		}
		if (*p >= 0xC2 && *p <= 0xDF) {
			cp = *p & 0x1Fu;
			need = 1;
		} else if (*p >= 0xE0 && *p <= 0xEF) {
			cp = *p & 0x0Fu;
			need = 2;
		} else if (*p >= 0xF0 && *p <= 0xF4) {
			cp = *p & 0x07u;
			need = 3;
		} else {
			return -1;
		}
		p++;
		for (unsigned i = 0; i < need; i++, p++) {
			if ((*p & 0xC0) != 0x80)
				return -1;
			cp = (cp << 6) | (*p & 0x3Fu);
		}
		if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return -1;
		if (cp >= 0x80 && cp <= 0x9F)
			return -2;
		n++;
	}
	return n;
}

int redstore__catalog_check_text(char *msg, size_t cap, const char *s, size_t min, size_t max)
{
	long n = utf8_chars(s ? s : "");
	if (n == -1)
		snprintf(msg, cap, "is not valid UTF-8");
	else if (n == -2)
		snprintf(msg, cap, "contains a control character (expected %zu-%zu printable characters)", min, max);
	else if ((size_t)n < min)
		snprintf(msg, cap, "is empty (expected %zu-%zu characters)", min, max);
	else if ((size_t)n > max)
		snprintf(msg, cap, "has %ld characters (expected %zu-%zu)", n, min, max);
	else
		return 0;
	return -1;
}

int redstore__catalog_check_tax_code(char *msg, size_t cap, const char *s, bool allow_empty)
{
	char q[128];
	size_t n = s ? strlen(s) : 0;
	bool ok = n <= 32 && (n > 0 || allow_empty);
	for (size_t i = 0; i < n && ok; i++) {
		char ch = s[i];
		ok = (ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == '_' || ch == '-';
	}
	if (ok)
		return 0;
	snprintf(msg, cap, "\"%s\" is invalid (expected %s1-32 of [A-Za-z0-9_-])", redstore__catalog_quote(q, sizeof(q), s ? s : ""),
	         allow_empty ? "empty or " : "");
	return -1;
}

int redstore__catalog_check_custom(char *msg, size_t cap, const char *s)
{
	size_t n = strlen(s);
	const char *end = NULL;
	cJSON *j;

	if (n > REDSTORE__CUSTOM_MAX) {
		snprintf(msg, cap, "is %zu bytes (expected a JSON object of at most %d bytes)", n, REDSTORE__CUSTOM_MAX);
		return -1;
	}
	if (!(j = cJSON_ParseWithOpts(s, &end, 1))) {
		if (end && !*end && !n)
			snprintf(msg, cap, "is empty (expected a JSON object)");
		else
			snprintf(msg, cap, "is not valid JSON (error at byte %zu; expected a JSON object)",
			         end && end >= s ? (size_t)(end - s) : (size_t)0);
		return -1;
	}
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		snprintf(msg, cap, "is not a JSON object (expected {...})");
		return -1;
	}
	cJSON_Delete(j);
	/* PostgreSQL's jsonb has no NUL character. */
	if (strstr(s, "\\u0000")) {
		snprintf(msg, cap, "contains \\u0000, which PostgreSQL cannot store");
		return -1;
	}
	return 0;
}

int redstore__catalog_check_range(char *msg, size_t cap, int64_t v, int64_t min, int64_t max, const char *unit)
{
	if (v >= min && v <= max)
		return 0;
	snprintf(msg, cap, "%" PRId64 " is out of range (expected %" PRId64 "..%" PRId64 "%s%s)", v, min, max,
	         unit ? " " : "", unit ? unit : "");
	return -1;
}

/* ------------------------------------------------------------ product input */

/* ------------------------------------------------------------ product rows */

const char *const redstore__product_hash_fields[REDSTORE__PRODUCT_HASH_NFIELDS] = {
	"sku", "barcode", "name", "brand", "category", "price", "currency", "tax",
	"policy", "low", "active", "fav", "custom", "ver", "upd"
};


const char *redstore__stock_policy_name(redstore_stock_policy p)
{
	return p == REDSTORE_STOCK_ALLOW ? "allow" : "deny";
}

static int parse_policy(redstore_stock_policy *out, const char *s)
{
	if (!strcmp(s, "deny"))
		*out = REDSTORE_STOCK_DENY;
	else if (!strcmp(s, "allow"))
		*out = REDSTORE_STOCK_ALLOW;
	else
		return -1;
	return 0;
}

void redstore__prow_from_pg(redstore__prow *out, const PGresult *res, int row, int col)
{
	static const int str_col[REDSTORE__PF_COUNT] = { 0, 1, 2, 3, 4, 6, 7, 12 };
	int64_t v;
	for (int i = 0; i < REDSTORE__PF_COUNT; i++)
		out->str[i] = PQgetvalue(res, row, col + str_col[i]);
	out->price = redstore__catalog_parse_i64(&v, PQgetvalue(res, row, col + 5)) ? v : 0;
	out->policy = REDSTORE_STOCK_DENY;
	parse_policy(&out->policy, PQgetvalue(res, row, col + 8));
	out->low = redstore__catalog_parse_i64(&v, PQgetvalue(res, row, col + 9)) ? v : 0;
	out->active = PQgetvalue(res, row, col + 10)[0] == 't';
	out->favourite = PQgetvalue(res, row, col + 11)[0] == 't';
	out->version = redstore__catalog_parse_i64(&v, PQgetvalue(res, row, col + 13)) ? v : 0;
	out->updated_ms = redstore__catalog_parse_i64(&v, PQgetvalue(res, row, col + 14)) ? v : 0;
}

int redstore__prow_from_hash(redstore__prow *out, const redisReply *r)
{
	const char *val[REDSTORE__PRODUCT_HASH_NFIELDS] = { 0 };
	int64_t num;

	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 2 * REDSTORE__PRODUCT_HASH_NFIELDS)
		return 0;
	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		const redisReply *k = r->element[i], *v = r->element[i + 1];
		if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
			return 0;
		for (size_t f = 0; f < REDSTORE__PRODUCT_HASH_NFIELDS; f++)
			if (!strcmp(k->str, redstore__product_hash_fields[f]))
				val[f] = v->str;
	}
	for (size_t f = 0; f < REDSTORE__PRODUCT_HASH_NFIELDS; f++)
		if (!val[f])
			return 0;
	out->str[REDSTORE__PF_SKU] = val[0];
	out->str[REDSTORE__PF_BARCODE] = val[1];
	out->str[REDSTORE__PF_NAME] = val[2];
	out->str[REDSTORE__PF_BRAND] = val[3];
	out->str[REDSTORE__PF_CATEGORY] = val[4];
	out->str[REDSTORE__PF_CURRENCY] = val[6];
	out->str[REDSTORE__PF_TAX] = val[7];
	out->str[REDSTORE__PF_CUSTOM] = val[12];
	if (!redstore__catalog_parse_i64(&out->price, val[5]) || parse_policy(&out->policy, val[8]) ||
	    !redstore__catalog_parse_i64(&out->low, val[9]) || !redstore__catalog_parse_i64(&num, val[10]) ||
	    (num != 0 && num != 1))
		return 0;
	out->active = (int)num;
	if (!redstore__catalog_parse_i64(&num, val[11]) || (num != 0 && num != 1))
		return 0;
	out->favourite = (int)num;
	if (!redstore__catalog_parse_i64(&out->version, val[13]) ||
	    !redstore__catalog_parse_i64(&out->updated_ms, val[14]))
		return 0;
	return 1;
}

redstore_product *redstore__product_from_row(const redstore__prow *r)
{
	size_t len[REDSTORE__PF_COUNT], total = sizeof(redstore_product);
	const char **dst[REDSTORE__PF_COUNT];
	redstore_product *p;
	char *s;

	for (int i = 0; i < REDSTORE__PF_COUNT; i++) {
		len[i] = strlen(r->str[i]);
		total += len[i] + 1;
	}
	if (!(p = malloc(total))) {
		redstore__fail(REDSTORE_ENOMEM, "product: out of memory");
		return NULL;
	}
	memset(p, 0, sizeof(*p));
	dst[REDSTORE__PF_SKU] = &p->sku;
	dst[REDSTORE__PF_BARCODE] = &p->barcode;
	dst[REDSTORE__PF_NAME] = &p->name;
	dst[REDSTORE__PF_BRAND] = &p->brand;
	dst[REDSTORE__PF_CATEGORY] = &p->category;
	dst[REDSTORE__PF_CURRENCY] = &p->currency;
	dst[REDSTORE__PF_TAX] = &p->tax_class;
	dst[REDSTORE__PF_CUSTOM] = &p->custom_json;
	s = (char *)(p + 1);
	for (int i = 0; i < REDSTORE__PF_COUNT; i++) {
		memcpy(s, r->str[i], len[i] + 1);
		*dst[i] = s;
		s += len[i] + 1;
	}
	p->price = r->price;
	p->low_stock_threshold = r->low;
	p->stock_policy = r->policy;
	p->active = r->active;
	p->favourite = r->favourite;
	p->version = r->version;
	p->updated_at_ms = r->updated_ms;
	return p;
}

cJSON *redstore__prow_json(const redstore__prow *r)
{
	char when[32];
	cJSON *o = cJSON_CreateObject(), *custom = cJSON_Parse(r->str[REDSTORE__PF_CUSTOM]);

	if (!o || !custom || !cJSON_AddStringToObject(o, "sku", r->str[REDSTORE__PF_SKU]) ||
	    !cJSON_AddStringToObject(o, "barcode", r->str[REDSTORE__PF_BARCODE]) ||
	    !cJSON_AddStringToObject(o, "name", r->str[REDSTORE__PF_NAME]) ||
	    !cJSON_AddStringToObject(o, "brand", r->str[REDSTORE__PF_BRAND]) ||
	    !cJSON_AddStringToObject(o, "category", r->str[REDSTORE__PF_CATEGORY]) ||
	    !cJSON_AddNumberToObject(o, "price", (double)r->price) ||
	    !cJSON_AddStringToObject(o, "currency", r->str[REDSTORE__PF_CURRENCY]) ||
	    !cJSON_AddStringToObject(o, "tax_class", r->str[REDSTORE__PF_TAX]) ||
	    !cJSON_AddStringToObject(o, "stock_policy", redstore__stock_policy_name(r->policy)) ||
	    !cJSON_AddNumberToObject(o, "low_stock_threshold", (double)r->low) ||
	    !cJSON_AddBoolToObject(o, "active", r->active) || !cJSON_AddBoolToObject(o, "favourite", r->favourite) ||
	    !cJSON_AddNumberToObject(o, "version", (double)r->version) ||
	    !cJSON_AddStringToObject(o, "updated_at", redstore__rfc3339(when, sizeof(when), r->updated_ms))) {
		cJSON_Delete(o);
		cJSON_Delete(custom);
		redstore__fail(REDSTORE_ENOMEM, "product %s: out of memory", r->str[REDSTORE__PF_SKU]);
		return NULL;
	}
	cJSON_AddItemToObject(o, "custom", custom);
	return o;
}

/* ------------------------------------------------------------ PostgreSQL helpers */

