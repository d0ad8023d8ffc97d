/*
 * Stores, tax classes and products: validation, writes (PostgreSQL, then the Redis cache, then the
 * catalog event), lookups and listing. The cache itself is lib/catalog/catalog_cache.c, CSV import
 * lib/catalog/catalog_csv.c.
 *
 * When a write's event cannot be produced, the call returns the producer's error (retriable:
 * REDSTORE_ETIMEOUT, REDSTORE_EUNAVAILABLE...) although the change is already in PostgreSQL and in the
 * cache. The caller may retry: redstore_product_update, redstore_product_deactivate,
 * redstore_store_create and redstore_store_set_tax_class are idempotent (an update with the same fields
 * only bumps the version), and a retried redstore_product_create that gives REDSTORE_EEXISTS is retried
 * as redstore_product_update.
 */
#include "security/security_int.h"
#include "catalog/catalog_priv.h"
#include "engines/engines_int.h"

#include <inttypes.h>
#include <stdio.h>

/* A product's fields as SQL parameters ($2..$14 of the write statements). */
typedef struct pin {
	const char *v[13];
	char price[24], low[24];
} pin;

static const char *nz(const char *s)
{
	return s ? s : "";
}

static int bad_field(const char *op, const char *field, const char *msg)
{
	return redstore__fail(REDSTORE_EINVALID, "%s: %s: %s", op, field, msg);
}

/* Checks every field of p (no I/O). */
static int product_check(pin *out, const redstore_product *p, const char *op)
{
	char msg[256];
	if (!p)
		return redstore__fail(REDSTORE_EINVALID, "%s: product is NULL", op);
	if (redstore__catalog_check_sku(msg, sizeof(msg), p->sku))
		return bad_field(op, "sku", msg);
	if (redstore__catalog_check_barcode(msg, sizeof(msg), p->barcode))
		return bad_field(op, "barcode", msg);
	if (redstore__catalog_check_text(msg, sizeof(msg), p->name, 1, REDSTORE__NAME_MAX))
		return bad_field(op, "name", msg);
	if (redstore__catalog_check_text(msg, sizeof(msg), p->brand, 0, REDSTORE__TEXT_MAX))
		return bad_field(op, "brand", msg);
	if (redstore__catalog_check_text(msg, sizeof(msg), p->category, 0, REDSTORE__TEXT_MAX))
		return bad_field(op, "category", msg);
	if (redstore__catalog_check_tax_code(msg, sizeof(msg), p->tax_class, true))
		return bad_field(op, "tax_class", msg);
	if (redstore__catalog_check_custom(msg, sizeof(msg), p->custom_json ? p->custom_json : "{}"))
		return bad_field(op, "custom_json", msg);
	if (redstore__catalog_check_range(msg, sizeof(msg), p->price, 0, REDSTORE__PRICE_MAX, "minor units"))
		return bad_field(op, "price", msg);
	if (redstore__catalog_check_range(msg, sizeof(msg), p->low_stock_threshold, 0, REDSTORE__LOW_MAX, NULL))
		return bad_field(op, "low_stock_threshold", msg);
	if (p->stock_policy != REDSTORE_STOCK_DENY && p->stock_policy != REDSTORE_STOCK_ALLOW) {
		snprintf(msg, sizeof(msg), "%d is invalid (expected REDSTORE_STOCK_DENY or REDSTORE_STOCK_ALLOW)",
		         (int)p->stock_policy);
		return bad_field(op, "stock_policy", msg);
	}
	snprintf(out->price, sizeof(out->price), "%" PRId64, p->price);
	snprintf(out->low, sizeof(out->low), "%" PRId64, p->low_stock_threshold);
	out->v[0] = p->sku;
	out->v[1] = nz(p->barcode);
	out->v[2] = p->name;
	out->v[3] = nz(p->brand);
	out->v[4] = nz(p->category);
	out->v[5] = out->price;
	out->v[6] = NULL; /* currency: the store's */
	out->v[7] = nz(p->tax_class);
	out->v[8] = p->stock_policy == REDSTORE_STOCK_ALLOW ? "allow" : "deny";
	out->v[9] = out->low;
	out->v[10] = p->active ? "true" : "false";
	out->v[11] = p->favourite ? "true" : "false";
	out->v[12] = p->custom_json ? p->custom_json : "{}";
	return 0;
}

/* The product's currency must be the store's. */
static int check_currency(pin *in, const redstore_product *p, const redstore__store_meta *meta, const char *op)
{
	char q[128], msg[256];
	if (p->currency && p->currency[0] && strcmp(p->currency, meta->currency)) {
		snprintf(msg, sizeof(msg), "\"%s\" is not the store's currency (expected \"%s\", or empty)",
		         redstore__catalog_quote(q, sizeof(q), p->currency), meta->currency);
		return bad_field(op, "currency", msg);
	}
	in->v[6] = meta->currency;
	return 0;
}

/* Turns a failed product write into the caller's terms: which sku or barcode exists, which tax class is
 * missing. */
static int map_write_error(int rc, redstore_client *c, const char *store, const char *op, const pin *in)
{
	const char *last = redstore_error_last();
	if (rc == REDSTORE_EEXISTS && strstr(last, "products_barcode_unique")) {
		const char *params[2] = { store, in->v[1] };
		char owner[80] = "another product";
		PGresult *res;
		if (!redstore__pg_exec(&res, c, "SELECT sku FROM products WHERE store_id = $1 AND barcode = $2", 2, params)) {
			if (PQntuples(res) == 1)
				snprintf(owner, sizeof(owner), "product \"%.64s\"", PQgetvalue(res, 0, 0));
			PQclear(res);
		}
		return redstore__fail(REDSTORE_EEXISTS, "%s: barcode \"%s\" is already used by %s in store %s", op, in->v[1],
		                      owner, store);
	}
	if (rc == REDSTORE_EEXISTS)
		return redstore__fail(REDSTORE_EEXISTS, "%s: sku \"%s\" already exists in store %s", op, in->v[0], store);
	if (strstr(last, "products_tax_class_fk"))
		return redstore__fail(REDSTORE_ENOTFOUND, "%s: tax_class \"%s\" does not exist in store %s", op, in->v[7],
		                      store);
	if (strstr(last, "products_store_fk"))
		return redstore__fail(REDSTORE_ENOTFOUND, "%s: store \"%s\" does not exist", op, store);
	return redstore__fail_wrap(rc, "%s \"%s\"", op, in->v[0]);
}

/* After the PostgreSQL write: the cache, then the event. */
static int product_publish(redstore_client *c, const char *store, const PGresult *res, const char *type,
                           const char *old_barcode)
{
	redstore__prow row;
	cJSON *payload;
	int rc;

	redstore__prow_from_pg(&row, res, 0, 0);
	if ((rc = redstore__catalog_cache_put(c, store, &row, 1, &old_barcode))) {
		const char *sku = row.str[REDSTORE__PF_SKU];
		redstore__catalog_cache_forget(c, store, &sku, 1);
		return redstore__fail_wrap(rc, "product \"%s\" saved, but its cache entry could not be written", sku);
	}
	if (!(payload = redstore__prow_json(&row)))
		return REDSTORE_ENOMEM;
	rc = redstore__catalog_emit(c, store, type, payload);
	cJSON_Delete(payload);
	return rc;
}

static int product_write(redstore_client *c, const redstore_product *p, bool create)
{
	static const char insert_sql[] =
		"INSERT INTO products AS p (store_id, sku, barcode, name, brand, category, price, currency, tax_class,"
		" stock_policy, low_stock_threshold, active, favourite, custom)"
		" VALUES ($1, $2, nullif($3, ''), $4, $5, $6, $7::bigint, $8, nullif($9, ''), $10, $11::bigint,"
		" $12::boolean, $13::boolean, $14::jsonb)"
		" RETURNING " REDSTORE__PRODUCT_COLS ", ''";
	static const char update_sql[] =
		"UPDATE products AS p SET barcode = nullif($3, ''), name = $4, brand = $5, category = $6,"
		" price = $7::bigint, currency = $8, tax_class = nullif($9, ''), stock_policy = $10,"
		" low_stock_threshold = $11::bigint, active = $12::boolean, favourite = $13::boolean,"
		" custom = $14::jsonb, version = p.version + 1, updated_at = now()"
		" FROM (SELECT coalesce(barcode, '') AS barcode FROM products"
		"       WHERE store_id = $1 AND sku = $2 FOR UPDATE) AS old"
		" WHERE p.store_id = $1 AND p.sku = $2"
		" RETURNING " REDSTORE__PRODUCT_COLS ", old.barcode";
	const char *op = create ? "redstore_product_create" : "redstore_product_update";
	const char *store, *params[14];
	redstore__store_meta meta;
	PGresult *res;
	pin in;
	int rc;

	if ((rc = redstore__need_store(&store, c, op)) || (rc = product_check(&in, p, op)) ||
	    (rc = redstore__auth_require(c, REDSTORE_PERM_CATALOG, 0, op)))
		return rc;
	if ((rc = redstore__store_meta_get(&meta, c)))
		return redstore__fail_wrap(rc, "%s", op);
	if ((rc = check_currency(&in, p, &meta, op)))
		return rc;
	params[0] = store;
	memcpy(params + 1, in.v, sizeof(in.v));
	if ((rc = redstore__pg_exec(&res, c, create ? insert_sql : update_sql, 14, params)))
		return map_write_error(rc, c, store, op, &in);
	if (PQntuples(res) == 0) {
		PQclear(res);
		return redstore__fail(REDSTORE_ENOTFOUND, "%s: product \"%s\" not found in store %s", op, in.v[0], store);
	}
	rc = product_publish(c, store, res, create ? "product.created" : "product.updated",
	                     PQgetvalue(res, 0, REDSTORE__PRODUCT_NCOLS));
	PQclear(res);
	if (!rc && c->auth) { /* price changes and the rest, for the audit log */
		cJSON *d = cJSON_CreateObject();
		cJSON_AddStringToObject(d, "price", in.price);
		rc = redstore__auth_audit_action(c, create ? "product.created" : "product.updated", in.v[0], d);
		cJSON_Delete(d);
	}
	return rc;
}

int redstore_product_create(redstore_client *c, const redstore_product *p)
{
	return product_write(c, p, true);
}

int redstore_product_update(redstore_client *c, const redstore_product *p)
{
	return product_write(c, p, false);
}

int redstore_product_deactivate(redstore_client *c, const char *sku)
{
	/* Deactivating an inactive product changes nothing, but still refreshes the cache and emits the
	 * event, so a retry after a failed event completes the operation. */
	static const char sql[] = "UPDATE products AS p SET active = false,"
	                          " version = p.version + CASE WHEN p.active THEN 1 ELSE 0 END,"
	                          " updated_at = CASE WHEN p.active THEN now() ELSE p.updated_at END"
	                          " WHERE p.store_id = $1 AND p.sku = $2 RETURNING " REDSTORE__PRODUCT_COLS;
	const char *store, *params[2];
	PGresult *res;
	int rc;

	if ((rc = redstore__need_store(&store, c, "redstore_product_deactivate")) ||
	    (rc = redstore__check_sku(sku, "redstore_product_deactivate")) ||
	    (rc = redstore__auth_require(c, REDSTORE_PERM_CATALOG, 0, "redstore_product_deactivate")))
		return rc;
	params[0] = store;
	params[1] = sku;
	if ((rc = redstore__pg_exec(&res, c, sql, 2, params)))
		return redstore__fail_wrap(rc, "redstore_product_deactivate \"%s\"", sku);
	if (PQntuples(res) == 0) {
		PQclear(res);
		return redstore__fail(REDSTORE_ENOTFOUND, "redstore_product_deactivate: product \"%s\" not found in store %s",
		                      sku, store);
	}
	rc = product_publish(c, store, res, "product.deactivated", NULL);
	PQclear(res);
	return rc ? rc : redstore__auth_audit_action(c, "product.deactivated", sku, NULL);
}

/* ------------------------------------------------------------ lookups */

static int product_lookup(redstore_product **out, redstore_client *c, const char *code, bool by_barcode,
                          const char *op)
{
	static const char by_sku_sql[] = "SELECT " REDSTORE__PRODUCT_COLS " FROM products p"
	                                 " WHERE p.store_id = $1 AND p.sku = $2";
	static const char by_bc_sql[] = "SELECT " REDSTORE__PRODUCT_COLS " FROM products p"
	                                " WHERE p.store_id = $1 AND p.barcode = $2";
	char key[REDSTORE_KEY_MAX], msg[200];
	const char *store, *params[2];
	redisReply *sku = NULL, *hash = NULL;
	redstore__prow row;
	PGresult *res;
	int rc;

	*out = NULL;
	if ((rc = redstore__need_store(&store, c, op)))
		return rc;
	if (by_barcode && (!code || !*code || redstore__catalog_check_barcode(msg, sizeof(msg), code)))
		return redstore__fail(REDSTORE_EINVALID, "%s: barcode %s", op,
		                      code && *code ? msg : "is empty (expected 1-64 of [0-9A-Za-z-])");
	if (!by_barcode && (rc = redstore__check_sku(code, op)))
		return rc;

	if (by_barcode) {
		if ((rc = redstore__redis_cmd(&sku, c, "HGET %s %s", redstore__key(key, store, "bc"), code)))
			return rc;
	}
	if (!by_barcode || sku->type == REDIS_REPLY_STRING) {
		rc = redstore__redis_cmd(&hash, c, "HGETALL %s",
		                         redstore__key_id(key, store, "p", by_barcode ? sku->str : code));
		/* A barcode hit counts only if the product still has that barcode (the index may lag). */
		if (!rc && redstore__prow_from_hash(&row, hash) &&
		    (!by_barcode || !strcmp(row.str[REDSTORE__PF_BARCODE], code)) &&
		    !(*out = redstore__product_from_row(&row)))
			rc = REDSTORE_ENOMEM;
	}
	freeReplyObject(sku);
	freeReplyObject(hash);
	if (rc || *out)
		return rc;

	/* A miss: PostgreSQL, then refill the cache. */
	params[0] = store;
	params[1] = code;
	if ((rc = redstore__pg_exec(&res, c, by_barcode ? by_bc_sql : by_sku_sql, 2, params)))
		return redstore__fail_wrap(rc, "%s \"%s\"", op, code);
	if (PQntuples(res) == 0) {
		PQclear(res);
		return redstore__fail(REDSTORE_ENOTFOUND, "%s: %s \"%s\" not found in store %s", op,
		                      by_barcode ? "barcode" : "product", code, store);
	}
	redstore__prow_from_pg(&row, res, 0, 0);
	if ((rc = redstore__catalog_cache_put(c, store, &row, 1, NULL)) == 0 && !(*out = redstore__product_from_row(&row)))
		rc = REDSTORE_ENOMEM;
	PQclear(res);
	return rc;
}

int redstore_product_get(redstore_product **out, redstore_client *c, const char *sku)
{
	return product_lookup(out, c, sku, false, "redstore_product_get");
}

int redstore_product_get_by_barcode(redstore_product **out, redstore_client *c, const char *barcode)
{
	return product_lookup(out, c, barcode, true, "redstore_product_get_by_barcode");
}

void redstore_product_free(redstore_product *p)
{
	free(p); /* one allocation: the strings follow the struct */
}

/* ------------------------------------------------------------ listing */

/* The cursor is "k1." followed by the last SKU of the page in lower-case hex. */
#define CURSOR_PREFIX "k1."

static char *cursor_encode(const char *sku)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = strlen(sku), plen = strlen(CURSOR_PREFIX);
	char *out = malloc(plen + 2 * n + 1);
	if (!out)
		return NULL;
	memcpy(out, CURSOR_PREFIX, plen);
	for (size_t i = 0; i < n; i++) {
		out[plen + 2 * i] = hex[(unsigned char)sku[i] >> 4];
		out[plen + 2 * i + 1] = hex[(unsigned char)sku[i] & 15];
	}
	out[plen + 2 * n] = '\0';
	return out;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

/* Decodes a cursor into sku (65 bytes). */
static int cursor_decode(char *sku, const char *cursor)
{
	char msg[200], q[128];
	size_t plen = strlen(CURSOR_PREFIX), n = strlen(cursor);
	bool ok = n > plen && !strncmp(cursor, CURSOR_PREFIX, plen) && (n - plen) % 2 == 0 && (n - plen) / 2 <= 64;
	for (size_t i = 0; ok && i < (n - plen) / 2; i++) {
		int hi = hexval(cursor[plen + 2 * i]), lo = hexval(cursor[plen + 2 * i + 1]);
		ok = hi >= 0 && lo >= 0;
		sku[i] = (char)(hi * 16 + lo);
		sku[i + 1] = '\0';
	}
	if (!ok || redstore__catalog_check_sku(msg, sizeof(msg), sku))
		return redstore__fail(REDSTORE_EINVALID,
		                      "redstore_product_list: cursor \"%s\" is malformed (expected the next_cursor of a page)",
		                      redstore__catalog_quote(q, sizeof(q), cursor));
	return 0;
}

/* Escapes LIKE's wildcards and its escape character in q (at most 100 bytes) into a "%q%" pattern. */
static void like_pattern(char *pat, const char *q)
{
	size_t j = 0;
	pat[j++] = '%';
	for (const char *s = q; *s; s++) {
		if (*s == '%' || *s == '_' || *s == '\\')
			pat[j++] = '\\';
		pat[j++] = *s;
	}
	pat[j++] = '%';
	pat[j] = '\0';
}

/* The one listing query of redstore_product_list() and redstore_product_search(); q NULL or "": all. */
static int product_page(redstore_product_page **out, redstore_client *c, const char *what, const char *q,
                        const char *cursor, size_t limit, unsigned flags)
{
	static const char sql[] = "SELECT " REDSTORE__PRODUCT_COLS " FROM products p"
	                          " WHERE p.store_id = $1 AND p.sku > $2 COLLATE \"C\""
	                          " AND ($3::boolean OR p.active) AND (NOT $4::boolean OR p.favourite)"
	                          " AND ($6 = '' OR p.barcode = $6 OR p.sku ILIKE $7 OR p.name ILIKE $7"
	                          " OR p.brand ILIKE $7 OR p.category ILIKE $7)"
	                          " ORDER BY p.sku LIMIT $5::int";
	char after[65] = "", lim[24], pat[2 * 100 + 3], msg[200];
	const char *store, *params[7];
	redstore_product_page *page;
	PGresult *res;
	int rc, n;

	*out = NULL;
	if ((rc = redstore__need_store(&store, c, what)))
		return rc;
	if (limit < 1 || limit > 1000)
		return redstore__fail(REDSTORE_EINVALID, "%s: limit %zu is out of range (expected 1..1000)", what, limit);
	if (flags & ~(REDSTORE_LIST_INCLUDE_INACTIVE | REDSTORE_LIST_FAVOURITES_ONLY))
		return redstore__fail(REDSTORE_EINVALID, "%s: unknown flags 0x%x", what, flags);
	if (!q)
		q = "";
	if (strlen(q) > 100 || (*q && redstore__catalog_check_text(msg, sizeof(msg), q, 1, 100)))
		return redstore__fail(REDSTORE_EINVALID, "%s: query: %s", what,
		                      strlen(q) > 100 ? "longer than 100 bytes" : msg);
	if (cursor && (rc = cursor_decode(after, cursor)))
		return rc;
	like_pattern(pat, q);
	snprintf(lim, sizeof(lim), "%zu", limit + 1); /* one more, to know whether a next page exists */
	params[0] = store;
	params[1] = after;
	params[2] = flags & REDSTORE_LIST_INCLUDE_INACTIVE ? "true" : "false";
	params[3] = flags & REDSTORE_LIST_FAVOURITES_ONLY ? "true" : "false";
	params[4] = lim;
	params[5] = q;
	params[6] = pat;
	if ((rc = redstore__pg_exec(&res, c, sql, 7, params)))
		return redstore__fail_wrap(rc, "%s", what);
	n = PQntuples(res);
	if (!(page = calloc(1, sizeof(*page))) || !(page->items = calloc((size_t)n + 1, sizeof(*page->items)))) {
		free(page);
		PQclear(res);
		return redstore__fail(REDSTORE_ENOMEM, "%s: out of memory", what);
	}
	for (int i = 0; i < n && (size_t)i < limit; i++) {
		redstore__prow row;
		redstore__prow_from_pg(&row, res, i, 0);
		if (!(page->items[i] = redstore__product_from_row(&row))) {
			rc = REDSTORE_ENOMEM;
			break;
		}
		page->count++;
	}
	if (!rc && (size_t)n > limit && !(page->next_cursor = cursor_encode(page->items[limit - 1]->sku)))
		rc = redstore__fail(REDSTORE_ENOMEM, "%s: out of memory", what);
	PQclear(res);
	if (rc) {
		redstore_product_page_free(page);
		return rc;
	}
	*out = page;
	return 0;
}

int redstore_product_list(redstore_product_page **out, redstore_client *c, const char *cursor, size_t limit,
                          unsigned flags)
{
	return product_page(out, c, "redstore_product_list", NULL, cursor, limit, flags);
}

int redstore_product_search(redstore_product_page **out, redstore_client *c, const char *query, const char *cursor,
                            size_t limit, unsigned flags)
{
	return product_page(out, c, "redstore_product_search", query, cursor, limit, flags);
}

void redstore_product_page_free(redstore_product_page *page)
{
	if (!page)
		return;
	for (size_t i = 0; i < page->count; i++)
		redstore_product_free(page->items[i]);
	free(page->items);
	free(page->next_cursor);
	free(page);
}

/* ------------------------------------------------------------ stores and tax classes */

static bool is_upper(char ch)
{
	return ch >= 'A' && ch <= 'Z';
}

/* Deletes a cache key after a failed cache write, keeping the write's error. */
static void forget_key(redstore_client *c, const char *key)
{
	char saved[512];
	int code = redstore_error_last_code();
	snprintf(saved, sizeof(saved), "%s", redstore_error_last());
	redstore__redis_cmd(NULL, c, "DEL %s", key);
	redstore__fail(code, "%s", saved);
}

static int check_timezone(redstore_client *c, const char *tz)
{
	const char *params[1] = { tz };
	char q[128];
	PGresult *res;
	size_t n = strlen(tz);
	bool ok = n >= 1 && n <= 63;
	int rc;

	for (size_t i = 0; i < n && ok; i++)
		ok = (tz[i] >= '0' && tz[i] <= '9') || (tz[i] >= 'A' && tz[i] <= 'Z') || (tz[i] >= 'a' && tz[i] <= 'z') ||
		     strchr("_+-/", tz[i]);
	if (ok) {
		if ((rc = redstore__pg_exec(&res, c, "SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = $1)", 1,
		                            params)))
			return redstore__fail_wrap(rc, "redstore_store_create: checking the timezone");
		ok = PQgetvalue(res, 0, 0)[0] == 't';
		PQclear(res);
	}
	if (!ok)
		return redstore__fail(REDSTORE_EINVALID,
		                      "redstore_store_create: timezone: \"%s\" is not a known IANA time zone"
		                      " (expected e.g. \"Europe/Paris\", or NULL for \"UTC\")",
		                      redstore__catalog_quote(q, sizeof(q), tz));
	return 0;
}

int redstore_store_create(redstore_client *c, const redstore_store_info *info)
{
	static const char sql[] =
		"INSERT INTO stores AS s (store_id, name, currency, timezone, prices_include_tax)"
		" VALUES ($1, $2, $3, $4, $5::boolean)"
		" ON CONFLICT (store_id) DO UPDATE SET name = EXCLUDED.name, currency = EXCLUDED.currency,"
		" timezone = EXCLUDED.timezone, prices_include_tax = EXCLUDED.prices_include_tax"
		" WHERE s.currency = EXCLUDED.currency OR NOT EXISTS (SELECT 1 FROM products WHERE store_id = $1)"
		" RETURNING s.currency";
	const char *op = "redstore_store_create", *params[5];
	redstore__store_meta meta;
	char msg[256], q[128];
	cJSON *payload;
	PGresult *res;
	int rc;

	if (!info)
		return redstore__fail(REDSTORE_EINVALID, "%s: info is NULL", op);
	if ((rc = redstore__check_store_id(info->store_id, op)))
		return rc;
	if (redstore__catalog_check_text(msg, sizeof(msg), info->name, 1, REDSTORE__NAME_MAX))
		return bad_field(op, "name", msg);
	if (!info->currency || strlen(info->currency) != 3 || !is_upper(info->currency[0]) ||
	    !is_upper(info->currency[1]) || !is_upper(info->currency[2])) {
		snprintf(msg, sizeof(msg), "\"%s\" is invalid (expected an ISO 4217 code of 3 capital letters, e.g. \"EUR\")",
		         redstore__catalog_quote(q, sizeof(q), nz(info->currency)));
		return bad_field(op, "currency", msg);
	}
	if ((rc = check_timezone(c, info->timezone ? info->timezone : "UTC")))
		return rc;

	snprintf(meta.name, sizeof(meta.name), "%s", info->name);
	snprintf(meta.currency, sizeof(meta.currency), "%s", info->currency);
	snprintf(meta.timezone, sizeof(meta.timezone), "%s", info->timezone ? info->timezone : "UTC");
	meta.prices_include_tax = info->prices_include_tax ? 1 : 0;
	params[0] = info->store_id;
	params[1] = meta.name;
	params[2] = meta.currency;
	params[3] = meta.timezone;
	params[4] = meta.prices_include_tax ? "true" : "false";
	if ((rc = redstore__pg_exec(&res, c, sql, 5, params)))
		return redstore__fail_wrap(rc, "%s \"%s\"", op, info->store_id);
	if (PQntuples(res) == 0) {
		PQclear(res);
		snprintf(msg, sizeof(msg), "\"%s\" cannot replace the currency of store %s, which has products priced in it",
		         meta.currency, info->store_id);
		return bad_field(op, "currency", msg);
	}
	PQclear(res);
	if ((rc = redstore__catalog_cache_meta(c, info->store_id, &meta))) {
		char key[REDSTORE_KEY_MAX];
		forget_key(c, redstore__key(key, info->store_id, "meta"));
		return redstore__fail_wrap(rc, "%s \"%s\": saved, but the cache could not be written", op, info->store_id);
	}
	payload = cJSON_CreateObject();
	if (!payload || !cJSON_AddStringToObject(payload, "store_id", info->store_id) ||
	    !cJSON_AddStringToObject(payload, "name", meta.name) ||
	    !cJSON_AddStringToObject(payload, "currency", meta.currency) ||
	    !cJSON_AddStringToObject(payload, "timezone", meta.timezone) ||
	    !cJSON_AddBoolToObject(payload, "prices_include_tax", meta.prices_include_tax)) {
		cJSON_Delete(payload);
		return redstore__fail(REDSTORE_ENOMEM, "%s: out of memory", op);
	}
	rc = redstore__catalog_emit(c, info->store_id, "store.upserted", payload);
	cJSON_Delete(payload);
	return rc;
}

int redstore_store_set_tax_class(redstore_client *c, const char *code, int64_t rate_ppm)
{
	static const char sql[] =
		"INSERT INTO tax_classes (store_id, code, rate_ppm)"
		" SELECT $1, $2, $3::bigint WHERE EXISTS (SELECT 1 FROM stores WHERE store_id = $1)"
		" ON CONFLICT (store_id, code) DO UPDATE SET rate_ppm = EXCLUDED.rate_ppm, updated_at = now()"
		" RETURNING code";
	const char *op = "redstore_store_set_tax_class", *store, *params[3];
	char msg[256], rate[24], key[REDSTORE_KEY_MAX];
	cJSON *payload;
	PGresult *res;
	int rc;

	if ((rc = redstore__need_store(&store, c, op)))
		return rc;
	if (redstore__catalog_check_tax_code(msg, sizeof(msg), code, false))
		return bad_field(op, "code", msg);
	if (redstore__catalog_check_range(msg, sizeof(msg), rate_ppm, 0, 1000000, "parts per million"))
		return bad_field(op, "rate_ppm", msg);
	snprintf(rate, sizeof(rate), "%" PRId64, rate_ppm);
	params[0] = store;
	params[1] = code;
	params[2] = rate;
	if ((rc = redstore__pg_exec(&res, c, sql, 3, params)))
		return redstore__fail_wrap(rc, "%s \"%s\"", op, code);
	if (PQntuples(res) == 0) {
		PQclear(res);
		return redstore__fail(REDSTORE_ENOTFOUND, "%s: store \"%s\" does not exist", op, store);
	}
	PQclear(res);
	if ((rc = redstore__redis_cmd(NULL, c, "HSET %s %s %s", redstore__key(key, store, "tax"), code, rate))) {
		/* Without the hash, the next lookup reloads every class from PostgreSQL. */
		forget_key(c, key);
		return redstore__fail_wrap(rc, "%s \"%s\": saved, but the cache could not be written", op, code);
	}
	payload = cJSON_CreateObject();
	if (!payload || !cJSON_AddStringToObject(payload, "code", code) ||
	    !cJSON_AddNumberToObject(payload, "rate_ppm", (double)rate_ppm)) {
		cJSON_Delete(payload);
		return redstore__fail(REDSTORE_ENOMEM, "%s: out of memory", op);
	}
	rc = redstore__catalog_emit(c, store, "tax_class.set", payload);
	cJSON_Delete(payload);
	return rc;
}
