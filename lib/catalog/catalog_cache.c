/*
 * The catalog's Redis cache (lib/engines/engines_int.h): product hashes, the barcode index, tax rates and store
 * settings; the write path's lookups (redstore__catalog_resolve, redstore__store_meta_get) and
 * redstore_catalog_warm. PostgreSQL is the system of record: every miss is read there and written back.
 *
 * Every product write goes through lib/engines/lua/catalog_put.lua, which refuses to replace a cached version
 * with an older one, so a slow cache refill never overwrites a newer change.
 */
#include "catalog/catalog_priv.h"
#include "engines/engines_int.h"

#include <inttypes.h>
#include <stdio.h>

/* ------------------------------------------------------------ events */

int redstore__catalog_emit(redstore_client *c, const char *store, const char *type, const cJSON *payload)
{
	char id[REDSTORE_ID_SIZE];
	int rc;

	if ((rc = redstore_id_new(id)))
		return rc;
	/* The envelope and the message key carry the store the change belongs to. */
	return redstore__event_emit_for(c, store, REDSTORE_DOMAIN_CATALOG, id, type, payload);
}

/* ------------------------------------------------------------ cache writes */

static int put_script_index(void)
{
	for (int i = 0; i < redstore__lua_script_count; i++)
		if (!strcmp(redstore__lua_scripts[i].name, "catalog_put"))
			return i;
	return -1;
}

/* Makes sure the client knows the SHA1 of catalog_put (SCRIPT LOAD once per client). */
static int put_script_sha(const char **out, redstore_client *c, bool reload)
{
	int idx = put_script_index(), rc;
	redisReply *r;

	if (idx < 0)
		return redstore__fail(REDSTORE_ERROR, "redis: no embedded Lua script named catalog_put");
	if (reload || !c->script_sha[idx][0]) {
		if ((rc = redstore__redis_cmd(&r, c, "SCRIPT LOAD %s", redstore__lua_scripts[idx].text)))
			return redstore__fail_wrap(rc, "loading Lua script catalog_put");
		if (r->type != REDIS_REPLY_STRING || r->len != 40) {
			freeReplyObject(r);
			return redstore__fail(REDSTORE_EREDIS, "redis: SCRIPT LOAD catalog_put gave no SHA1");
		}
		memcpy(c->script_sha[idx], r->str, 41);
		freeReplyObject(r);
	}
	*out = c->script_sha[idx];
	return 0;
}

#define PUT_ARGC (3 + 2 + 4 + 2 * REDSTORE__PRODUCT_HASH_NFIELDS)

static int append_put(redstore_client *c, const char *sha, const char *store, const redstore__prow *r,
                      const char *old_barcode)
{
	char pkey[REDSTORE_KEY_MAX], bckey[REDSTORE_KEY_MAX], num[6][24];
	const char *argv[PUT_ARGC];
	const char *val[REDSTORE__PRODUCT_HASH_NFIELDS];
	int n = 0;

	snprintf(num[0], sizeof(num[0]), "%" PRId64, r->price);
	snprintf(num[1], sizeof(num[1]), "%" PRId64, r->low);
	snprintf(num[2], sizeof(num[2]), "%d", r->active ? 1 : 0);
	snprintf(num[3], sizeof(num[3]), "%d", r->favourite ? 1 : 0);
	snprintf(num[4], sizeof(num[4]), "%" PRId64, r->version);
	snprintf(num[5], sizeof(num[5]), "%" PRId64, r->updated_ms);
	val[0] = r->str[REDSTORE__PF_SKU];
	val[1] = r->str[REDSTORE__PF_BARCODE];
	val[2] = r->str[REDSTORE__PF_NAME];
	val[3] = r->str[REDSTORE__PF_BRAND];
	val[4] = r->str[REDSTORE__PF_CATEGORY];
	val[5] = num[0];
	val[6] = r->str[REDSTORE__PF_CURRENCY];
	val[7] = r->str[REDSTORE__PF_TAX];
	val[8] = redstore__stock_policy_name(r->policy);
	val[9] = num[1];
	val[10] = num[2];
	val[11] = num[3];
	val[12] = r->str[REDSTORE__PF_CUSTOM];
	val[13] = num[4];
	val[14] = num[5];

	argv[n++] = "EVALSHA";
	argv[n++] = sha;
	argv[n++] = "2";
	argv[n++] = redstore__key_id(pkey, store, "p", r->str[REDSTORE__PF_SKU]);
	argv[n++] = redstore__key(bckey, store, "bc");
	argv[n++] = r->str[REDSTORE__PF_SKU];
	argv[n++] = num[4];
	argv[n++] = r->str[REDSTORE__PF_BARCODE];
	argv[n++] = old_barcode ? old_barcode : "";
	for (size_t f = 0; f < REDSTORE__PRODUCT_HASH_NFIELDS; f++) {
		argv[n++] = redstore__product_hash_fields[f];
		argv[n++] = val[f];
	}
	return redstore__redis_append_argv(c, n, argv, NULL);
}

/* Reads `n` pipelined replies, all of them even after an error reply, so the connection stays in step.
 * *noscript is set when the script was unknown to the server (flushed, or another server). */
static int drain(redstore_client *c, size_t n, bool *noscript, const char *what)
{
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		redisReply *r;
		int e = redstore__redis_read(&r, c);
		if (e)
			return e; /* the connection was dropped: nothing left to read */
		if (r->type == REDIS_REPLY_ERROR && !rc) {
			if (noscript && !strncmp(r->str, "NOSCRIPT", 8))
				*noscript = true;
			else
				rc = redstore__fail(REDSTORE_EREDIS, "redis %s: %s", what, r->str);
		}
		freeReplyObject(r);
	}
	return rc;
}

int redstore__catalog_cache_put(redstore_client *c, const char *store, const redstore__prow *rows, size_t n,
                                const char *const *old_barcodes)
{
	for (size_t at = 0; at < n; at += REDSTORE__PG_CHUNK) {
		size_t batch = n - at < REDSTORE__PG_CHUNK ? n - at : REDSTORE__PG_CHUNK;
		for (int attempt = 0;; attempt++) {
			bool noscript = false;
			const char *sha = NULL;
			int rc;
			if ((rc = put_script_sha(&sha, c, attempt > 0)))
				return rc;
			for (size_t i = 0; i < batch; i++)
				if ((rc = append_put(c, sha, store, &rows[at + i], old_barcodes ? old_barcodes[at + i] : NULL))) {
					redstore__redis_drop(c); /* half a pipeline is buffered: start afresh */
					return rc;
				}
			if ((rc = drain(c, batch, &noscript, "catalog_put")))
				return rc;
			if (!noscript)
				break;
			if (attempt > 0)
				return redstore__fail(REDSTORE_EREDIS, "redis: script catalog_put could not be loaded");
			/* The script is idempotent: the batch runs again once it is loaded. */
		}
	}
	return 0;
}

int redstore__catalog_cache_put_result(redstore_client *c, const char *store, const PGresult *res)
{
	int n = PQntuples(res), rc;
	redstore__prow *rows;

	if (n == 0)
		return 0;
	if (!(rows = calloc((size_t)n, sizeof(*rows))))
		return redstore__fail(REDSTORE_ENOMEM, "catalog cache: out of memory");
	for (int i = 0; i < n; i++)
		redstore__prow_from_pg(&rows[i], res, i, 0);
	rc = redstore__catalog_cache_put(c, store, rows, (size_t)n, NULL);
	free(rows);
	return rc;
}

void redstore__catalog_cache_forget(redstore_client *c, const char *store, const char *const *skus, size_t n)
{
	char saved[512];
	int code = redstore_error_last_code();

	snprintf(saved, sizeof(saved), "%s", redstore_error_last());
	for (size_t at = 0; at < n; at += REDSTORE__PG_CHUNK) {
		size_t batch = n - at < REDSTORE__PG_CHUNK ? n - at : REDSTORE__PG_CHUNK;
		bool failed = false;
		for (size_t i = 0; i < batch && !failed; i++) {
			char key[REDSTORE_KEY_MAX];
			const char *argv[2] = { "DEL", redstore__key_id(key, store, "p", skus[at + i]) };
			if (redstore__redis_append_argv(c, 2, argv, NULL)) {
				redstore__redis_drop(c);
				failed = true;
			}
		}
		if (failed || drain(c, batch, NULL, "DEL"))
			break;
	}
	redstore__fail(code, "%s", saved);
}

int redstore__catalog_cache_meta(redstore_client *c, const char *store, const redstore__store_meta *m)
{
	char key[REDSTORE_KEY_MAX];
	const char *argv[] = { "HSET", redstore__key(key, store, "meta"), "name", m->name, "currency", m->currency,
		                   "tz", m->timezone, "incl", m->prices_include_tax ? "1" : "0" };
	return redstore__redis_argv(NULL, c, (int)REDSTORE_ARRAY_SIZE(argv), argv, NULL);
}

/* ------------------------------------------------------------ store settings */

static int meta_from_hash(redstore__store_meta *out, const redisReply *r)
{
	const char *name = NULL, *cur = NULL, *tz = NULL, *incl = NULL;
	if (!r || r->type != REDIS_REPLY_ARRAY)
		return 0;
	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		const redisReply *k = r->element[i], *v = r->element[i + 1];
		if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
			return 0;
		if (!strcmp(k->str, "name"))
			name = v->str;
		else if (!strcmp(k->str, "currency"))
			cur = v->str;
		else if (!strcmp(k->str, "tz"))
			tz = v->str;
		else if (!strcmp(k->str, "incl"))
			incl = v->str;
	}
	if (!name || !cur || !tz || !incl || strlen(cur) != 3)
		return 0;
	snprintf(out->name, sizeof(out->name), "%s", name);
	snprintf(out->currency, sizeof(out->currency), "%s", cur);
	snprintf(out->timezone, sizeof(out->timezone), "%s", tz);
	out->prices_include_tax = incl[0] == '1';
	return 1;
}

/* Reads the settings of `store` from PostgreSQL; REDSTORE_ENOTFOUND when there is no such store. */
static int meta_from_pg(redstore__store_meta *out, redstore_client *c, const char *store)
{
	const char *params[1] = { store };
	PGresult *res;
	int rc = redstore__pg_exec(&res, c,
	                           "SELECT name, currency, timezone, prices_include_tax FROM stores WHERE store_id = $1",
	                           1, params);
	if (rc)
		return rc;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return redstore__fail(REDSTORE_ENOTFOUND, "store \"%s\" does not exist", store);
	}
	snprintf(out->name, sizeof(out->name), "%s", PQgetvalue(res, 0, 0));
	snprintf(out->currency, sizeof(out->currency), "%s", PQgetvalue(res, 0, 1));
	snprintf(out->timezone, sizeof(out->timezone), "%s", PQgetvalue(res, 0, 2));
	out->prices_include_tax = PQgetvalue(res, 0, 3)[0] == 't';
	PQclear(res);
	return 0;
}

int redstore__store_meta_get(redstore__store_meta *out, redstore_client *c)
{
	char key[REDSTORE_KEY_MAX];
	const char *store;
	redisReply *r;
	int rc, hit;

	memset(out, 0, sizeof(*out));
	if ((rc = redstore__need_store(&store, c, "store settings")))
		return rc;
	if ((rc = redstore__redis_cmd(&r, c, "HGETALL %s", redstore__key(key, store, "meta"))))
		return rc;
	hit = meta_from_hash(out, r);
	freeReplyObject(r);
	if (hit)
		return 0;
	if ((rc = meta_from_pg(out, c, store)))
		return rc;
	return redstore__catalog_cache_meta(c, store, out);
}

/* ------------------------------------------------------------ tax rates */

typedef struct tax_rates {
	size_t n;
	char (*code)[33];
	int64_t *rate;
} tax_rates;

static void tax_rates_free(tax_rates *t)
{
	free(t->code);
	free(t->rate);
	memset(t, 0, sizeof(*t));
}

static int tax_rates_add(tax_rates *t, const char *code, const char *rate)
{
	int64_t v;
	void *p;
	if (strlen(code) > 32 || !redstore__catalog_parse_i64(&v, rate))
		return 0; /* not ours: ignored */
	if (!(p = realloc(t->code, (t->n + 1) * sizeof(*t->code))))
		return redstore__fail(REDSTORE_ENOMEM, "tax classes: out of memory");
	t->code = p;
	if (!(p = realloc(t->rate, (t->n + 1) * sizeof(*t->rate))))
		return redstore__fail(REDSTORE_ENOMEM, "tax classes: out of memory");
	t->rate = p;
	snprintf(t->code[t->n], sizeof(t->code[t->n]), "%s", code);
	t->rate[t->n++] = v;
	return 0;
}

static const int64_t *tax_rates_find(const tax_rates *t, const char *code)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->code[i], code))
			return &t->rate[i];
	return NULL;
}

static int tax_rates_from_hash(tax_rates *t, const redisReply *r)
{
	int rc;
	if (!r || r->type != REDIS_REPLY_ARRAY)
		return 0;
	for (size_t i = 0; i + 1 < r->elements; i += 2)
		if (r->element[i]->type == REDIS_REPLY_STRING && r->element[i + 1]->type == REDIS_REPLY_STRING &&
		    (rc = tax_rates_add(t, r->element[i]->str, r->element[i + 1]->str)))
			return rc;
	return 0;
}

/* Loads every tax class of the store from PostgreSQL and rewrites rs:{s:S}:tax with them. */
static int tax_rates_reload(tax_rates *t, redstore_client *c, const char *store)
{
	const char *params[1] = { store };
	char key[REDSTORE_KEY_MAX];
	PGresult *res;
	int rc, n;
	const char **argv = NULL;

	tax_rates_free(t);
	if ((rc = redstore__pg_exec(&res, c, "SELECT code, rate_ppm FROM tax_classes WHERE store_id = $1", 1, params)))
		return rc;
	n = PQntuples(res);
	for (int i = 0; i < n; i++)
		if ((rc = tax_rates_add(t, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1))))
			goto done;
	/* MULTI/EXEC: readers see the old hash or the new one, never an empty one in between. */
	if (!(argv = malloc(sizeof(*argv) * (size_t)(2 + 2 * n)))) {
		rc = redstore__fail(REDSTORE_ENOMEM, "tax classes: out of memory");
		goto done;
	}
	redstore__key(key, store, "tax");
	{
		const char *multi[1] = { "MULTI" }, *exec[1] = { "EXEC" }, *del[2] = { "DEL", key };
		argv[0] = "HSET";
		argv[1] = key;
		for (int i = 0; i < n; i++) {
			argv[2 + 2 * i] = PQgetvalue(res, i, 0);
			argv[3 + 2 * i] = PQgetvalue(res, i, 1);
		}
		if ((rc = redstore__redis_append_argv(c, 1, multi, NULL)) ||
		    (rc = redstore__redis_append_argv(c, 2, del, NULL)) ||
		    (n && (rc = redstore__redis_append_argv(c, 2 + 2 * n, argv, NULL))) ||
		    (rc = redstore__redis_append_argv(c, 1, exec, NULL))) {
			redstore__redis_drop(c);
			goto done;
		}
		rc = drain(c, (size_t)(n ? 4 : 3), NULL, "tax classes");
	}
done:
	free(argv);
	PQclear(res);
	return rc;
}

/* ------------------------------------------------------------ resolve */

static void copy_utf8(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);
	if (n >= cap) {
		n = cap - 1;
		while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
			n--; /* do not cut a character in two */
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void item_from_row(redstore__item *it, const redstore__prow *r)
{
	memset(it, 0, sizeof(*it));
	snprintf(it->sku, sizeof(it->sku), "%s", r->str[REDSTORE__PF_SKU]);
	snprintf(it->barcode, sizeof(it->barcode), "%s", r->str[REDSTORE__PF_BARCODE]);
	copy_utf8(it->name, sizeof(it->name), r->str[REDSTORE__PF_NAME]);
	it->price = r->price;
	snprintf(it->tax_class, sizeof(it->tax_class), "%s", r->str[REDSTORE__PF_TAX]);
	it->policy = r->policy;
	it->low_stock_threshold = r->low;
	it->active = r->active;
}

typedef struct resolve_state {
	size_t n;
	const char *const *codes;
	const bool *by_barcode;
	redisReply **hash;    /* per code: its product's HGETALL reply */
	const char **sku;     /* per barcode code: the SKU the barcode index gave (borrowed from bc_reply) */
	bool *found;
	redisReply *bc_reply, *tax_reply;
} resolve_state;

static bool is_bc(const resolve_state *s, size_t i)
{
	return s->by_barcode && s->by_barcode[i];
}

static void resolve_free(resolve_state *s)
{
	if (s->hash)
		for (size_t i = 0; i < s->n; i++)
			freeReplyObject(s->hash[i]);
	free(s->hash);
	free(s->sku);
	free(s->found);
	freeReplyObject(s->bc_reply);
	freeReplyObject(s->tax_reply);
}

/* Round trip 1: HMGET of every barcode, HGETALL of every SKU, HGETALL of the tax rates. Round trip 2 (only
 * when barcodes were asked): HGETALL of the products the barcode index named. */
static int resolve_cache(resolve_state *s, redstore_client *c, const char *store)
{
	char key[REDSTORE_KEY_MAX];
	size_t nbc = 0, second = 0;
	const char **argv;
	int rc = 0;

	for (size_t i = 0; i < s->n; i++)
		nbc += is_bc(s, i);
	if (!(argv = malloc(sizeof(*argv) * (nbc + 2))))
		return redstore__fail(REDSTORE_ENOMEM, "catalog resolve: out of memory");
	if (nbc) {
		size_t k = 2;
		argv[0] = "HMGET";
		argv[1] = redstore__key(key, store, "bc");
		for (size_t i = 0; i < s->n; i++)
			if (is_bc(s, i))
				argv[k++] = s->codes[i];
		rc = redstore__redis_append_argv(c, (int)k, argv, NULL);
	}
	for (size_t i = 0; i < s->n && !rc; i++)
		if (!is_bc(s, i)) {
			const char *hg[2] = { "HGETALL", redstore__key_id(key, store, "p", s->codes[i]) };
			rc = redstore__redis_append_argv(c, 2, hg, NULL);
		}
	if (!rc) {
		const char *hg[2] = { "HGETALL", redstore__key(key, store, "tax") };
		rc = redstore__redis_append_argv(c, 2, hg, NULL);
	}
	free(argv);
	if (rc) {
		redstore__redis_drop(c);
		return rc;
	}
	/* Every reply is read before any is judged, so the pipeline stays in step. */
	if (nbc && (rc = redstore__redis_read(&s->bc_reply, c)))
		return rc;
	for (size_t i = 0; i < s->n; i++)
		if (!is_bc(s, i) && (rc = redstore__redis_read(&s->hash[i], c)))
			return rc;
	if ((rc = redstore__redis_read(&s->tax_reply, c)))
		return rc;
	if (s->bc_reply && (s->bc_reply->type != REDIS_REPLY_ARRAY || s->bc_reply->elements != nbc))
		return redstore__fail(REDSTORE_EREDIS, "redis HMGET %s: %s", key,
		                      s->bc_reply->type == REDIS_REPLY_ERROR ? s->bc_reply->str : "unexpected reply");
	if (s->tax_reply->type == REDIS_REPLY_ERROR)
		return redstore__fail(REDSTORE_EREDIS, "redis HGETALL tax: %s", s->tax_reply->str);
	for (size_t i = 0, k = 0; i < s->n; i++) {
		if (!is_bc(s, i))
			continue;
		if (s->bc_reply->element[k]->type == REDIS_REPLY_STRING) {
			const char *hg[2] = { "HGETALL", redstore__key_id(key, store, "p", s->bc_reply->element[k]->str) };
			s->sku[i] = s->bc_reply->element[k]->str;
			if ((rc = redstore__redis_append_argv(c, 2, hg, NULL))) {
				redstore__redis_drop(c);
				return rc;
			}
			second++;
		}
		k++;
	}
	for (size_t i = 0; i < s->n && second; i++)
		if (s->sku[i] && (rc = redstore__redis_read(&s->hash[i], c)))
			return rc;
	return 0;
}

/* Reads the products the cache did not have from PostgreSQL, in one statement, and caches them. */
static int resolve_pg(resolve_state *s, redstore__item *items, redstore_client *c, const char *store)
{
	const char **skus = NULL, **bcs = NULL;
	char *sku_arr = NULL, *bc_arr = NULL;
	size_t ns = 0, nb = 0;
	PGresult *res = NULL;
	int rc = 0;

	if (!(skus = malloc(sizeof(*skus) * s->n)) || !(bcs = malloc(sizeof(*bcs) * s->n))) {
		rc = redstore__fail(REDSTORE_ENOMEM, "catalog resolve: out of memory");
		goto done;
	}
	for (size_t i = 0; i < s->n; i++)
		if (!s->found[i]) {
			if (is_bc(s, i))
				bcs[nb++] = s->codes[i];
			else
				skus[ns++] = s->codes[i];
		}
	if (!(sku_arr = redstore__pg_text_array(skus, ns)) || !(bc_arr = redstore__pg_text_array(bcs, nb))) {
		rc = REDSTORE_ENOMEM;
		goto done;
	}
	{
		const char *params[3] = { store, sku_arr, bc_arr };
		/* One index probe per code, whatever the statistics say about the store (OFFSET 0 keeps each
		 * LATERAL subquery from being flattened into a scan of the whole store). */
		if ((rc = redstore__pg_exec(&res, c,
		                            "SELECT " REDSTORE__PRODUCT_COLS " FROM unnest($2::text[]) AS u(code),"
		                            " LATERAL (SELECT * FROM products WHERE store_id = $1 AND sku = u.code OFFSET 0) AS p"
		                            " UNION ALL"
		                            " SELECT " REDSTORE__PRODUCT_COLS " FROM unnest($3::text[]) AS u(code),"
		                            " LATERAL (SELECT * FROM products WHERE store_id = $1 AND barcode = u.code OFFSET 0) AS p",
		                            3, params)))
			goto done;
	}
	for (int row = 0; row < PQntuples(res); row++) {
		redstore__prow r;
		redstore__prow_from_pg(&r, res, row, 0);
		for (size_t i = 0; i < s->n; i++) {
			if (s->found[i])
				continue;
			if (!strcmp(s->codes[i], is_bc(s, i) ? r.str[REDSTORE__PF_BARCODE] : r.str[REDSTORE__PF_SKU])) {
				item_from_row(&items[i], &r);
				s->found[i] = true;
			}
		}
	}
	rc = redstore__catalog_cache_put_result(c, store, res);
done:
	PQclear(res);
	free(sku_arr);
	free(bc_arr);
	free(skus);
	free(bcs);
	return rc;
}

int redstore__catalog_resolve(redstore__item *items, redstore_client *c, size_t n, const char *const *codes,
                              const bool *by_barcode)
{
	resolve_state s = { n, codes, by_barcode, NULL, NULL, NULL, NULL, NULL };
	tax_rates rates = { 0, NULL, NULL };
	const char *store;
	bool misses = false, reloaded = false;
	int rc;

	if ((rc = redstore__need_store(&store, c, "catalog resolve")))
		return rc;
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char msg[200];
		bool bc = by_barcode && by_barcode[i];
		if (!codes[i] || !codes[i][0])
			return redstore__fail(REDSTORE_EINVALID, "catalog resolve: code %zu is empty (expected a %s)", i,
			                      bc ? "barcode" : "SKU");
		if (bc ? redstore__catalog_check_barcode(msg, sizeof(msg), codes[i])
		       : redstore__catalog_check_sku(msg, sizeof(msg), codes[i]))
			return redstore__fail(REDSTORE_EINVALID, "catalog resolve: code %zu: %s %s", i, bc ? "barcode" : "sku", msg);
	}
	if (!(s.hash = calloc(n, sizeof(*s.hash))) || !(s.sku = calloc(n, sizeof(*s.sku))) ||
	    !(s.found = calloc(n, sizeof(*s.found)))) {
		rc = redstore__fail(REDSTORE_ENOMEM, "catalog resolve: out of memory");
		goto done;
	}
	if ((rc = resolve_cache(&s, c, store)))
		goto done;
	for (size_t i = 0; i < n; i++) {
		redstore__prow r;
		/* A barcode hit counts only if the product still has that barcode (the index may lag). */
		if (redstore__prow_from_hash(&r, s.hash[i]) &&
		    (!is_bc(&s, i) || !strcmp(r.str[REDSTORE__PF_BARCODE], codes[i]))) {
			item_from_row(&items[i], &r);
			s.found[i] = true;
		} else {
			misses = true;
		}
	}
	if (misses && (rc = resolve_pg(&s, items, c, store)))
		goto done;
	for (size_t i = 0; i < n; i++)
		if (!s.found[i]) {
			rc = redstore__fail(REDSTORE_ENOTFOUND, "%s \"%.64s\" not found in store %s",
			                    is_bc(&s, i) ? "barcode" : "product", codes[i], store);
			goto done;
		}
	if ((rc = tax_rates_from_hash(&rates, s.tax_reply)))
		goto done;
	for (size_t i = 0; i < n; i++) {
		const int64_t *rate;
		if (!items[i].tax_class[0])
			continue;
		if (!(rate = tax_rates_find(&rates, items[i].tax_class)) && !reloaded) {
			if ((rc = tax_rates_reload(&rates, c, store)))
				goto done;
			reloaded = true;
			rate = tax_rates_find(&rates, items[i].tax_class);
		}
		if (!rate) {
			rc = redstore__fail(REDSTORE_ENOTFOUND, "product \"%s\": tax class \"%s\" not found in store %s",
			                    items[i].sku, items[i].tax_class, store);
			goto done;
		}
		items[i].tax_rate_ppm = *rate;
	}
done:
	tax_rates_free(&rates);
	resolve_free(&s);
	return rc;
}

/* ------------------------------------------------------------ warm */

int redstore_catalog_warm(redstore_client *c, size_t *loaded)
{
	static const char sql[] = "SELECT " REDSTORE__PRODUCT_COLS " FROM products p WHERE p.store_id = $1"
	                          " AND p.sku > $2 COLLATE \"C\" ORDER BY p.sku LIMIT 1000";
	redstore__store_meta meta;
	tax_rates rates = { 0, NULL, NULL };
	const char *store;
	char *after;
	size_t count = 0;
	int rc;

	if (loaded)
		*loaded = 0;
	if ((rc = redstore__need_store(&store, c, "redstore_catalog_warm")))
		return rc;
	if ((rc = meta_from_pg(&meta, c, store)) || (rc = redstore__catalog_cache_meta(c, store, &meta)) ||
	    (rc = tax_rates_reload(&rates, c, store)))
		goto out;
	if (!(after = redstore__strdup(""))) {
		rc = redstore__fail(REDSTORE_ENOMEM, "redstore_catalog_warm: out of memory");
		goto out;
	}
	for (;;) {
		const char *params[2] = { store, after };
		PGresult *res;
		int n;
		if ((rc = redstore__pg_exec(&res, c, sql, 2, params)))
			break;
		n = PQntuples(res);
		if (n > 0 && !(rc = redstore__catalog_cache_put_result(c, store, res))) {
			free(after);
			if (!(after = redstore__strdup(PQgetvalue(res, n - 1, 0))))
				rc = redstore__fail(REDSTORE_ENOMEM, "redstore_catalog_warm: out of memory");
		}
		PQclear(res);
		if (rc || n < 1000) {
			count += rc ? 0 : (size_t)n;
			break;
		}
		count += (size_t)n;
	}
	free(after);
	if (rc)
		redstore__fail_wrap(rc, "redstore_catalog_warm: store %s", store);
	else if (loaded)
		*loaded = count;
out:
	tax_rates_free(&rates);
	return rc;
}
