/* The catalog against the dev stack: stores, tax classes, products (PostgreSQL, the Redis cache, the
 * catalog events on Kafka), lookups, listing, CSV import and cache warming. Every test works in a store of
 * its own (rs_test_unique), so tests never collide and may run again on the same stack. */
#include "testutil.h"
#include "catalog/catalog_priv.h"
#include "engines/engines_int.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define DATA REDSTORE_SOURCE_DIR "/tests/data/catalog/"

/* ------------------------------------------------------------ helpers */

/* A client on a new store (EUR, Europe/Paris, prices include tax) with tax classes standard (20 %) and
 * reduced (5.5 %), selected. */
static redstore_client *new_store(char *store, size_t cap)
{
	redstore_client *c = rs_test_client();
	redstore_store_info info = { rs_test_unique(store, cap, "cat"), "Test Store", "EUR", "Europe/Paris", 1 };
	RS_OK(redstore_store_create(c, &info));
	RS_OK(redstore_client_use_store(c, store));
	RS_OK(redstore_store_set_tax_class(c, "standard", 200000));
	RS_OK(redstore_store_set_tax_class(c, "reduced", 55000));
	return c;
}

static redstore_product sample(const char *sku, const char *barcode)
{
	redstore_product p;
	memset(&p, 0, sizeof(p));
	p.sku = sku;
	p.barcode = barcode;
	p.name = "Espresso";
	p.brand = "House";
	p.category = "Coffee";
	p.currency = "EUR";
	p.tax_class = "standard";
	p.custom_json = "{\"size\": \"single\", \"hot\": true}";
	p.price = 250;
	p.low_stock_threshold = 5;
	p.stock_policy = REDSTORE_STOCK_DENY;
	p.active = 1;
	p.favourite = 1;
	return p;
}

/* The first column of the first row of a query with up to two text parameters, as a number. */
static long long pg_num(redstore_client *c, const char *sql, const char *a, const char *b)
{
	const char *params[2] = { a, b };
	PGresult *res;
	long long v;
	RS_OK(redstore__pg_exec(&res, c, sql, b ? 2 : 1, params));
	ck_assert_int_eq(PQntuples(res), 1);
	v = atoll(PQgetvalue(res, 0, 0));
	PQclear(res);
	return v;
}

static long long product_rows(redstore_client *c, const char *store)
{
	return pg_num(c, "SELECT count(*) FROM products WHERE store_id = $1", store, NULL);
}

/* The number of the store's product hashes in Redis. */
static long long cached_products(redstore_client *c, const char *store)
{
	char pattern[REDSTORE_KEY_MAX];
	redisReply *r;
	long long n;
	RS_OK(redstore__redis_cmd(&r, c, "KEYS %s", redstore__key_id(pattern, store, "p", "*")));
	n = (long long)r->elements;
	freeReplyObject(r);
	return n;
}

/* HGET of a store key; "" when absent. Writes into buf. */
static const char *hget(char *buf, size_t cap, redstore_client *c, const char *store, const char *suffix,
                        const char *field)
{
	char key[REDSTORE_KEY_MAX];
	redisReply *r;
	RS_OK(redstore__redis_cmd(&r, c, "HGET %s %s", redstore__key(key, store, suffix), field));
	snprintf(buf, cap, "%s", r->type == REDIS_REPLY_STRING ? r->str : "");
	freeReplyObject(r);
	return buf;
}

static long long key_exists(redstore_client *c, const char *store, const char *suffix)
{
	char key[REDSTORE_KEY_MAX];
	redisReply *r;
	long long n;
	RS_OK(redstore__redis_cmd(&r, c, "EXISTS %s", redstore__key(key, store, suffix)));
	n = r->integer;
	freeReplyObject(r);
	return n;
}

static void del_key(redstore_client *c, const char *store, const char *suffix)
{
	char key[REDSTORE_KEY_MAX];
	RS_OK(redstore__redis_cmd(NULL, c, "DEL %s", redstore__key(key, store, suffix)));
}

static void assert_json_eq(const char *got, const char *want)
{
	cJSON *a = cJSON_Parse(got), *b = cJSON_Parse(want);
	ck_assert_msg(a && b && cJSON_Compare(a, b, 1), "JSON %s, expected %s", got, want);
	cJSON_Delete(a);
	cJSON_Delete(b);
}

static void assert_error_has(const char *part)
{
	ck_assert_msg(strstr(redstore_error_last(), part), "error \"%s\" does not mention \"%s\"", redstore_error_last(),
	              part);
}

/* Every field of got equals p's (outputs aside). */
static void assert_product_eq(const redstore_product *got, const redstore_product *p)
{
	ck_assert_str_eq(got->sku, p->sku);
	ck_assert_str_eq(got->barcode, p->barcode ? p->barcode : "");
	ck_assert_str_eq(got->name, p->name);
	ck_assert_str_eq(got->brand, p->brand ? p->brand : "");
	ck_assert_str_eq(got->category, p->category ? p->category : "");
	ck_assert_str_eq(got->currency, "EUR");
	ck_assert_str_eq(got->tax_class, p->tax_class ? p->tax_class : "");
	assert_json_eq(got->custom_json, p->custom_json ? p->custom_json : "{}");
	ck_assert_int_eq(got->price, p->price);
	ck_assert_int_eq(got->low_stock_threshold, p->low_stock_threshold);
	ck_assert_int_eq(got->stock_policy, p->stock_policy);
	ck_assert_int_eq(got->active, p->active ? 1 : 0);
	ck_assert_int_eq(got->favourite, p->favourite ? 1 : 0);
}

/* Writes text to a new temporary file; path receives its name. */
static void temp_csv(char *path, size_t cap, const char *text)
{
	int fd;
	snprintf(path, cap, "/tmp/redstore-catalog-XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static const redstore_import_error *error_at(const redstore_import_report *rep, size_t line)
{
	for (size_t i = 0; i < rep->error_count; i++)
		if (rep->errors[i].line == line)
			return &rep->errors[i];
	ck_abort_msg("no error reported at line %zu", line);
	return NULL;
}

/* ------------------------------------------------------------ stores and tax classes */

START_TEST(catalog_store_create_writes_postgres_and_the_settings_cache)
{
	char store[64], buf[64];
	redstore_client *c = new_store(store, sizeof(store));
	redstore__store_meta meta;

	ck_assert_int_eq(pg_num(c, "SELECT count(*) FROM stores WHERE store_id = $1 AND prices_include_tax"
	                           " AND currency = 'EUR' AND timezone = 'Europe/Paris'", store, NULL), 1);
	ck_assert_str_eq(hget(buf, sizeof(buf), c, store, "meta", "name"), "Test Store");
	ck_assert_str_eq(hget(buf, sizeof(buf), c, store, "meta", "currency"), "EUR");
	ck_assert_str_eq(hget(buf, sizeof(buf), c, store, "meta", "tz"), "Europe/Paris");
	ck_assert_str_eq(hget(buf, sizeof(buf), c, store, "meta", "incl"), "1");
	ck_assert_str_eq(hget(buf, sizeof(buf), c, store, "tax", "standard"), "200000");
	ck_assert_str_eq(hget(buf, sizeof(buf), c, store, "tax", "reduced"), "55000");

	/* Settings come from PostgreSQL when the cache lost them, and go back to the cache. */
	del_key(c, store, "meta");
	RS_OK(redstore__store_meta_get(&meta, c));
	ck_assert_str_eq(meta.name, "Test Store");
	ck_assert_str_eq(meta.currency, "EUR");
	ck_assert_str_eq(meta.timezone, "Europe/Paris");
	ck_assert_int_eq(meta.prices_include_tax, 1);
	ck_assert_int_eq(key_exists(c, store, "meta"), 1);
	redstore_client_free(c);
}
END_TEST

START_TEST(catalog_store_create_again_updates_the_settings)
{
	char store[64];
	redstore_client *c = new_store(store, sizeof(store));
	redstore_store_info info = { store, "Renamed", "USD", NULL, 0 };
	redstore__store_meta meta;
	RS_OK(redstore_store_create(c, &info));
	RS_OK(redstore__store_meta_get(&meta, c));
	ck_assert_str_eq(meta.name, "Renamed");
	ck_assert_str_eq(meta.currency, "USD");
	ck_assert_str_eq(meta.timezone, "UTC");
	ck_assert_int_eq(meta.prices_include_tax, 0);
	redstore_client_free(c);
}
END_TEST

START_TEST(catalog_store_create_rejects_bad_settings_naming_the_field)
{
	char store[64];
	redstore_client *c = rs_test_client();
	redstore_store_info info = { rs_test_unique(store, sizeof(store), "cat"), "Shop", "EUR", "Europe/Paris", 1 };
	redstore_store_info bad;

	bad = info;
	bad.currency = "eur";
	RS_FAILS(REDSTORE_EINVALID, redstore_store_create(c, &bad));
	assert_error_has("currency: \"eur\" is invalid");
	bad = info;
	bad.timezone = "Mars/Olympus_Mons";
	RS_FAILS(REDSTORE_EINVALID, redstore_store_create(c, &bad));
	assert_error_has("timezone: \"Mars/Olympus_Mons\" is not a known IANA time zone");
	bad = info;
	bad.name = "";
	RS_FAILS(REDSTORE_EINVALID, redstore_store_create(c, &bad));
	assert_error_has("name: is empty (expected 1-200 characters)");
	bad = info;
	bad.store_id = "no spaces";
	RS_FAILS(REDSTORE_EINVALID, redstore_store_create(c, &bad));
	ck_assert_int_eq(pg_num(c, "SELECT count(*) FROM stores WHERE store_id = $1", store, NULL), 0);
	redstore_client_free(c);
}
END_TEST

START_TEST(catalog_store_currency_cannot_change_once_products_use_it)
{
	char store[64];
	redstore_client *c = new_store(store, sizeof(store));
	redstore_product p = sample("CUR-1", "");
	redstore_store_info info = { store, "Test Store", "USD", "Europe/Paris", 1 };
	RS_OK(redstore_product_create(c, &p));
	RS_FAILS(REDSTORE_EINVALID, redstore_store_create(c, &info));
	assert_error_has("currency: \"USD\" cannot replace the currency");
	ck_assert_int_eq(pg_num(c, "SELECT count(*) FROM stores WHERE store_id = $1 AND currency = 'EUR'", store, NULL), 1);
	redstore_client_free(c);
}
END_TEST

START_TEST(catalog_tax_class_checks_code_rate_and_store)
{
	char store[64], other[64];
	redstore_client *c = new_store(store, sizeof(store));
	RS_FAILS(REDSTORE_EINVALID, redstore_store_set_tax_class(c, "bad code", 1000));
	assert_error_has("code: \"bad code\" is invalid");
	RS_FAILS(REDSTORE_EINVALID, redstore_store_set_tax_class(c, "zero", 1000001));
	assert_error_has("rate_ppm: 1000001 is out of range (expected 0..1000000 parts per million)");
	RS_FAILS(REDSTORE_EINVALID, redstore_store_set_tax_class(c, "zero", -1));
	RS_OK(redstore_store_set_tax_class(c, "standard", 210000));
	ck_assert_int_eq(pg_num(c, "SELECT rate_ppm FROM tax_classes WHERE store_id = $1 AND code = 'standard'", store,
	                        NULL), 210000);
	RS_OK(redstore_client_use_store(c, rs_test_unique(other, sizeof(other), "nostore")));
	RS_FAILS(REDSTORE_ENOTFOUND, redstore_store_set_tax_class(c, "standard", 200000));
	assert_error_has(other);
	redstore_client_free(c);
}
END_TEST

/* ------------------------------------------------------------ products */

START_TEST(catalog_product_create_then_get_round_trips_every_field)
{
	char store[64], buf[64];
	redstore_client *c = new_store(store, sizeof(store));
	redstore_product p = sample("ESP-001", "2000000000015"), *got;
	int64_t before = redstore__wall_ms();

	p.name = "Café crème";
	p.brand = "Maison Dupont";
	p.category = "Hot drinks";
	p.tax_class = "reduced";
	p.price = 1234567;
	p.low_stock_threshold = 12;
	p.stock_policy = REDSTORE_STOCK_ALLOW;
	p.favourite = 1;
	p.custom_json = "{\"origin\": \"Éthiopie\", \"shots\": [1, 2], \"decaf\": false, \"note\": null}";
	RS_OK(redstore_product_create(c, &p));
	RS_OK(redstore_product_get(&got, c, "ESP-001"));
	assert_product_eq(got, &p);
	ck_assert_int_eq(got->version, 1);
	ck_assert_int_ge(got->updated_at_ms, before - 2000);
	ck_assert_int_le(got->updated_at_ms, redstore__wall_ms() + 2000);
	redstore_product_free(got);

	/* The same from PostgreSQL, with no cache in between. */
	ck_assert_int_eq(pg_num(c, "SELECT count(*) FROM products WHERE store_id = $1 AND sku = 'ESP-001'"
	                           " AND barcode = '2000000000015' AND name = 'Café crème' AND brand = 'Maison Dupont'"
	                           " AND category = 'Hot drinks' AND price = 1234567 AND currency = 'EUR'"
	                           " AND tax_class = 'reduced' AND stock_policy = 'allow' AND low_stock_threshold = 12"
	                           " AND active AND favourite AND custom->>'origin' = 'Éthiopie' AND version = 1",
	                        store, NULL), 1);
	ck_assert_str_eq(hget(buf, sizeof(buf), c, store, "p:ESP-001", "price"), "1234567");
	ck_assert_str_eq(hget(buf, sizeof(buf), c, store, "p:ESP-001", "policy"), "allow");
	ck_assert_str_eq(hget(buf, sizeof(buf), c, store, "bc", "2000000000015"), "ESP-001");

	/* Defaults: NULL strings are "", NULL custom_json is {}, an empty currency is the store's. */
	memset(&p, 0, sizeof(p));
	p.sku = "MIN-1";
	p.name = "Minimal";
	p.active = 1;
	RS_OK(redstore_product_create(c, &p));
	RS_OK(redstore_product_get(&got, c, "MIN-1"));
	assert_product_eq(got, &p);
	redstore_product_free(got);
	redstore_product_free(NULL);
	redstore_client_free(c);
}
END_TEST

START_TEST(catalog_product_get_by_barcode_finds_the_product)
{
	char store[64];
	redstore_client *c = new_store(store, sizeof(store));
	redstore_product p = sample("CRS-001", "2000000000022"), *got;
	RS_OK(redstore_product_create(c, &p));
	RS_OK(redstore_product_get_by_barcode(&got, c, "2000000000022"));
	assert_product_eq(got, &p);
	redstore_product_free(got);
	RS_FAILS(REDSTORE_ENOTFOUND, redstore_product_get_by_barcode(&got, c, "2000000000039"));
	assert_error_has("barcode \"2000000000039\" not found");
	ck_assert_ptr_null(got);
	RS_FAILS(REDSTORE_EINVALID, redstore_product_get_by_barcode(&got, c, ""));
	redstore_client_free(c);
}
END_TEST

START_TEST(catalog_product_get_unknown_sku_gives_enotfound_naming_it)
{
	char store[64];
	redstore_client *c = new_store(store, sizeof(store));
	redstore_product *got = (redstore_product *)1;
	RS_FAILS(REDSTORE_ENOTFOUND, redstore_product_get(&got, c, "NOPE-42"));
	assert_error_has("product \"NOPE-42\" not found");
	ck_assert_ptr_null(got);
	RS_FAILS(REDSTORE_EINVALID, redstore_product_get(&got, c, "has space"));
	redstore_client_free(c);
}
END_TEST

START_TEST(catalog_product_update_changes_cache_and_postgres_and_bumps_version)
{
	char store[64], buf[64];
	redstore_client *c = new_store(store, sizeof(store));
	redstore_product p = sample("UPD-1", "2000000000015"), *got;
	RS_OK(redstore_product_create(c, &p));
	p.name = "Double espresso";
	p.price = 390;
	p.tax_class = "";
	p.favourite = 0;
	p.custom_json = "{\"size\": \"double\"}";
	RS_OK(redstore_product_update(c, &p));
	RS_OK(redstore_product_get(&got, c, "UPD-1"));
	assert_product_eq(got, &p);
	ck_assert_int_eq(got->version, 2);
	redstore_product_free(got);
	ck_assert_str_eq(hget(buf, sizeof(buf), c, store, "p:UPD-1", "ver"), "2");
	ck_assert_str_eq(hget(buf, sizeof(buf), c, store, "p:UPD-1", "name"), "Double espresso");
	ck_assert_int_eq(pg_num(c, "SELECT count(*) FROM products WHERE store_id = $1 AND sku = 'UPD-1' AND price = 390"
	                           " AND tax_class IS NULL AND NOT favourite AND version = 2", store, NULL), 1);
	/* The same fields again: still a change (idempotent content), the version moves on. */
	RS_OK(redstore_product_update(c, &p));
	ck_assert_str_eq(hget(buf, sizeof(buf), c, store, "p:UPD-1", "ver"), "3");
	redstore_client_free(c);
}
END_TEST

START_TEST(catalog_product_update_moves_the_barcode_index)
{
	char store[64], buf[64];
	redstore_client *c = new_store(store, sizeof(store));
	redstore_product p = sample("MOVE-1", "2000000000015"), q = sample("MOVE-2", ""), *got;
	RS_OK(redstore_product_create(c, &p));
	RS_OK(redstore_product_create(c, &q));
	p.barcode = "2000000000022";
	RS_OK(redstore_product_update(c, &p));
	ck_assert_str_eq(hget(buf, sizeof(buf), c, store, "bc", "2000000000015"), "");
	ck_assert_str_eq(hget(buf, sizeof(buf), c, store, "bc", "2000000000022"), "MOVE-1");
	RS_FAILS(REDSTORE_ENOTFOUND, redstore_product_get_by_barcode(&got, c, "2000000000015"));
	/* The freed barcode can go to another product. */
	q.barcode = "2000000000015";
	RS_OK(redstore_product_update(c, &q));
	RS_OK(redstore_product_get_by_barcode(&got, c, "2000000000015"));
	ck_assert_str_eq(got->sku, "MOVE-2");
	redstore_product_free(got);
	redstore_client_free(c);
}
END_TEST

START_TEST(catalog_product_update_of_an_unknown_sku_gives_enotfound)
{
	char store[64];
	redstore_client *c = new_store(store, sizeof(store));
	redstore_product p = sample("GHOST-1", "");
	RS_FAILS(REDSTORE_ENOTFOUND, redstore_product_update(c, &p));
	assert_error_has("product \"GHOST-1\" not found");
	ck_assert_int_eq(product_rows(c, store), 0);
	redstore_client_free(c);
}
END_TEST

START_TEST(catalog_product_deactivate_keeps_it_but_marks_it_inactive)
{
	char store[64], buf[64];
	redstore_client *c = new_store(store, sizeof(store));
	redstore_product p = sample("DEACT-1", ""), *got;
	redstore_product_page *page;
	redstore__item item;
	const char *code = "DEACT-1";

	RS_OK(redstore_product_create(c, &p));
	RS_OK(redstore_product_deactivate(c, "DEACT-1"));
	RS_OK(redstore_product_get(&got, c, "DEACT-1"));
	ck_assert_int_eq(got->active, 0);
	ck_assert_int_eq(got->version, 2);
	redstore_product_free(got);
	ck_assert_str_eq(hget(buf, sizeof(buf), c, store, "p:DEACT-1", "active"), "0");
	ck_assert_int_eq(pg_num(c, "SELECT count(*) FROM products WHERE store_id = $1 AND NOT active", store, NULL), 1);
	/* Again: nothing changes, no error. */
	RS_OK(redstore_product_deactivate(c, "DEACT-1"));
	ck_assert_str_eq(hget(buf, sizeof(buf), c, store, "p:DEACT-1", "ver"), "2");
	/* Listed only on request; resolved with active = 0 for the write path to refuse. */
	RS_OK(redstore_product_list(&page, c, NULL, 10, 0));
	ck_assert_uint_eq(page->count, 0);
	redstore_product_page_free(page);
	RS_OK(redstore_product_list(&page, c, NULL, 10, REDSTORE_LIST_INCLUDE_INACTIVE));
	ck_assert_uint_eq(page->count, 1);
	redstore_product_page_free(page);
	RS_OK(redstore__catalog_resolve(&item, c, 1, &code, NULL));
	ck_assert_int_eq(item.active, 0);
	RS_FAILS(REDSTORE_ENOTFOUND, redstore_product_deactivate(c, "NOPE-1"));
	redstore_client_free(c);
}
END_TEST

START_TEST(catalog_product_create_duplicate_sku_gives_eexists_naming_it_and_changes_nothing)
{
	char store[64], buf[64];
	redstore_client *c = new_store(store, sizeof(store));
	redstore_product p = sample("DUP-1", "2000000000015"), again = sample("DUP-1", "2000000000022");
	RS_OK(redstore_product_create(c, &p));
	again.price = 999;
	RS_FAILS(REDSTORE_EEXISTS, redstore_product_create(c, &again));
	assert_error_has("sku \"DUP-1\" already exists");
	ck_assert_int_eq(pg_num(c, "SELECT price FROM products WHERE store_id = $1 AND sku = 'DUP-1'", store, NULL), 250);
	ck_assert_str_eq(hget(buf, sizeof(buf), c, store, "p:DUP-1", "price"), "250");
	ck_assert_str_eq(hget(buf, sizeof(buf), c, store, "bc", "2000000000022"), "");
	ck_assert_int_eq(product_rows(c, store), 1);
	redstore_client_free(c);
}
END_TEST

START_TEST(catalog_product_create_duplicate_barcode_gives_eexists_naming_it_and_changes_nothing)
{
	char store[64], buf[64];
	redstore_client *c = new_store(store, sizeof(store));
	redstore_product p = sample("BC-1", "2000000000015"), q = sample("BC-2", "2000000000015");
	RS_OK(redstore_product_create(c, &p));
	RS_FAILS(REDSTORE_EEXISTS, redstore_product_create(c, &q));
	assert_error_has("barcode \"2000000000015\" is already used by product \"BC-1\"");
	ck_assert_int_eq(product_rows(c, store), 1);
	ck_assert_int_eq(cached_products(c, store), 1);
	ck_assert_str_eq(hget(buf, sizeof(buf), c, store, "bc", "2000000000015"), "BC-1");
	/* Through an update too. */
	q.barcode = "";
	RS_OK(redstore_product_create(c, &q));
	q.barcode = "2000000000015";
	RS_FAILS(REDSTORE_EEXISTS, redstore_product_update(c, &q));
	assert_error_has("barcode \"2000000000015\" is already used by product \"BC-1\"");
	ck_assert_str_eq(hget(buf, sizeof(buf), c, store, "p:BC-2", "barcode"), "");
	redstore_client_free(c);
}
END_TEST

START_TEST(catalog_product_invalid_fields_give_einvalid_naming_the_field_and_write_nothing)
{
	static char long_name[202], long_brand[102], long_sku[66], big_json[9000];
	char store[64];
	redstore_client *c = new_store(store, sizeof(store));
	struct {
		const char *field, *message;
		redstore_product p;
	} cases[20];
	size_t n = 0;

	memset(long_name, 'n', sizeof(long_name) - 1);
	memset(long_brand, 'b', sizeof(long_brand) - 1);
	memset(long_sku, 's', sizeof(long_sku) - 1);
	memset(big_json, ' ', sizeof(big_json) - 1);
	big_json[0] = '{';
	big_json[sizeof(big_json) - 2] = '}';
#define CASE(f, msg, stmt)                                                                                   \
	do {                                                                                                     \
		redstore_product *p_ = &cases[n].p;                                                                  \
		*p_ = sample("VALID-1", "");                                                                         \
		stmt;                                                                                                \
		cases[n].field = f;                                                                                  \
		cases[n].message = msg;                                                                              \
		n++;                                                                                                 \
	} while (0)
	CASE("sku", "sku: is empty (expected 1-64 printable ASCII characters, no spaces)", p_->sku = "");
	CASE("sku", "sku: \"a b\" is invalid (expected 1-64 printable ASCII characters, no spaces)", p_->sku = "a b");
	CASE("sku", "(expected 1-64 printable ASCII characters, no spaces)", p_->sku = long_sku);
	CASE("barcode", "barcode: \"12 34\" is invalid (expected empty or 1-64 of [0-9A-Za-z-])", p_->barcode = "12 34");
	CASE("name", "name: is empty (expected 1-200 characters)", p_->name = "");
	CASE("name", "name: has 201 characters (expected 1-200)", p_->name = long_name);
	CASE("name", "name: is not valid UTF-8", p_->name = "bad \xff byte");
	CASE("brand", "brand: has 101 characters (expected 0-100)", p_->brand = long_brand);
	CASE("category", "category: contains a control character", p_->category = "Hot\tdrinks");
	CASE("price", "price: -1 is out of range (expected 0..1000000000000 minor units)", p_->price = -1);
	CASE("price", "price: 1000000000001 is out of range", p_->price = 1000000000001LL);
	CASE("low_stock_threshold", "low_stock_threshold: -5 is out of range (expected 0..1000000000)",
	     p_->low_stock_threshold = -5);
	CASE("stock_policy", "stock_policy: 7 is invalid", p_->stock_policy = (redstore_stock_policy)7);
	CASE("tax_class", "tax_class: \"bad code\" is invalid (expected empty or 1-32 of [A-Za-z0-9_-])",
	     p_->tax_class = "bad code");
	CASE("custom_json", "custom_json: is not a JSON object", p_->custom_json = "[1, 2]");
	CASE("custom_json", "custom_json: is not valid JSON", p_->custom_json = "{\"a\": ");
	CASE("custom_json", "custom_json: is 8999 bytes (expected a JSON object of at most 8192 bytes)",
	     p_->custom_json = big_json);
	CASE("currency", "currency: \"USD\" is not the store's currency (expected \"EUR\", or empty)",
	     p_->currency = "USD");
#undef CASE
	for (size_t i = 0; i < n; i++) {
		RS_FAILS(REDSTORE_EINVALID, redstore_product_create(c, &cases[i].p));
		ck_assert_msg(strstr(redstore_error_last(), cases[i].message), "case %zu (%s): \"%s\" lacks \"%s\"", i,
		              cases[i].field, redstore_error_last(), cases[i].message);
		ck_assert_ptr_nonnull(strstr(redstore_error_last(), "redstore_product_create"));
	}
	ck_assert_int_eq(product_rows(c, store), 0);
	ck_assert_int_eq(cached_products(c, store), 0);

	/* An update with a bad field changes nothing either. */
	{
		redstore_product ok = sample("VALID-1", ""), *got;
		RS_OK(redstore_product_create(c, &ok));
		for (size_t i = 3; i < n; i++)
			RS_FAILS(REDSTORE_EINVALID, redstore_product_update(c, &cases[i].p));
		RS_OK(redstore_product_get(&got, c, "VALID-1"));
		assert_product_eq(got, &ok);
		ck_assert_int_eq(got->version, 1);
		redstore_product_free(got);
	}
	RS_FAILS(REDSTORE_EINVALID, redstore_product_create(c, NULL));
	redstore_client_free(c);
}
END_TEST

START_TEST(catalog_product_unknown_tax_class_gives_enotfound)
{
	char store[64];
	redstore_client *c = new_store(store, sizeof(store));
	redstore_product p = sample("TAX-1", "");
	p.tax_class = "luxury";
	RS_FAILS(REDSTORE_ENOTFOUND, redstore_product_create(c, &p));
	assert_error_has("tax_class \"luxury\" does not exist");
	ck_assert_int_eq(product_rows(c, store), 0);
	ck_assert_int_eq(cached_products(c, store), 0);
	redstore_client_free(c);
}
END_TEST

START_TEST(catalog_product_get_refills_the_cache_after_a_miss)
{
	char store[64], buf[64];
	redstore_client *c = new_store(store, sizeof(store));
	redstore_product p = sample("MISS-1", "2000000000015"), *got;
	RS_OK(redstore_product_create(c, &p));
	del_key(c, store, "p:MISS-1");
	ck_assert_int_eq(key_exists(c, store, "p:MISS-1"), 0);
	RS_OK(redstore_product_get(&got, c, "MISS-1"));
	assert_product_eq(got, &p);
	redstore_product_free(got);
	ck_assert_int_eq(key_exists(c, store, "p:MISS-1"), 1);
	ck_assert_str_eq(hget(buf, sizeof(buf), c, store, "p:MISS-1", "ver"), "1");

	/* By barcode, with both the index and the hash gone. */
	del_key(c, store, "p:MISS-1");
	del_key(c, store, "bc");
	RS_OK(redstore_product_get_by_barcode(&got, c, "2000000000015"));
	ck_assert_str_eq(got->sku, "MISS-1");
	redstore_product_free(got);
	ck_assert_str_eq(hget(buf, sizeof(buf), c, store, "bc", "2000000000015"), "MISS-1");
	ck_assert_int_eq(key_exists(c, store, "p:MISS-1"), 1);

	/* A malformed hash counts as a miss too. */
	RS_OK(redstore__redis_cmd(NULL, c, "HDEL rs:{s:%s}:p:MISS-1 price", store));
	RS_OK(redstore_product_get(&got, c, "MISS-1"));
	ck_assert_int_eq(got->price, 250);
	redstore_product_free(got);
	redstore_client_free(c);
}
END_TEST

START_TEST(catalog_cache_never_takes_an_older_version)
{
	char store[64], buf[64];
	redstore_client *c = new_store(store, sizeof(store));
	redstore_product p = sample("VER-1", "2000000000015"), *got;
	redstore__prow old;

	RS_OK(redstore_product_create(c, &p));
	p.price = 300;
	RS_OK(redstore_product_update(c, &p));
	/* A slow refill that read version 1 arrives after the update: it must not win. */
	memset(&old, 0, sizeof(old));
	old.str[REDSTORE__PF_SKU] = "VER-1";
	old.str[REDSTORE__PF_BARCODE] = "2000000000099";
	old.str[REDSTORE__PF_NAME] = "Stale";
	old.str[REDSTORE__PF_BRAND] = old.str[REDSTORE__PF_CATEGORY] = old.str[REDSTORE__PF_TAX] = "";
	old.str[REDSTORE__PF_CURRENCY] = "EUR";
	old.str[REDSTORE__PF_CUSTOM] = "{}";
	old.price = 250;
	old.version = 1;
	old.active = 1;
	RS_OK(redstore__catalog_cache_put(c, store, &old, 1, NULL));
	ck_assert_str_eq(hget(buf, sizeof(buf), c, store, "p:VER-1", "ver"), "2");
	ck_assert_str_eq(hget(buf, sizeof(buf), c, store, "bc", "2000000000099"), "");
	RS_OK(redstore_product_get(&got, c, "VER-1"));
	ck_assert_int_eq(got->price, 300);
	redstore_product_free(got);
	/* And a script flush on the server is survived (the script loads again). */
	RS_OK(redstore__redis_cmd(NULL, c, "SCRIPT FLUSH"));
	p.price = 310;
	RS_OK(redstore_product_update(c, &p));
	ck_assert_str_eq(hget(buf, sizeof(buf), c, store, "p:VER-1", "price"), "310");
	redstore_client_free(c);
}
END_TEST

START_TEST(catalog_cache_write_failure_after_postgres_drops_the_cache_entry)
{
	char store[64], key[REDSTORE_KEY_MAX];
	redstore_client *c = new_store(store, sizeof(store));
	redstore_product p = sample("CF-1", "2000000000015"), *got;

	RS_OK(redstore_product_create(c, &p));
	/* The barcode index with the wrong type: the cache write of the next change fails. */
	del_key(c, store, "bc");
	RS_OK(redstore__redis_cmd(NULL, c, "SET %s oops", redstore__key(key, store, "bc")));
	p.price = 999;
	RS_FAILS(REDSTORE_EREDIS, redstore_product_update(c, &p));
	assert_error_has("could not be written");
	ck_assert_int_eq(pg_num(c, "SELECT price FROM products WHERE store_id = $1 AND sku = 'CF-1'", store, NULL), 999);
	ck_assert_int_eq(key_exists(c, store, "p:CF-1"), 0); /* no stale price left behind */
	del_key(c, store, "bc");
	RS_OK(redstore_product_get(&got, c, "CF-1"));
	ck_assert_int_eq(got->price, 999);
	ck_assert_int_eq(got->version, 2);
	redstore_product_free(got);
	redstore_client_free(c);
}
END_TEST

START_TEST(catalog_event_failure_is_retriable_and_the_change_is_saved)
{
	char store[64], brokers[64];
	redstore_client *c = new_store(store, sizeof(store)), *nokafka;
	redstore_config *cfg = rs_test_config();
	redstore_product p = sample("EF-1", ""), *got;
	int rc;

	snprintf(brokers, sizeof(brokers), "127.0.0.1:%d", rs_test_free_port());
	RS_OK(redstore_config_set(cfg, "kafka.brokers", brokers));
	RS_OK(redstore_config_set(cfg, "kafka.delivery_timeout_ms", "1000"));
	RS_OK(redstore_config_set(cfg, "kafka.connect_timeout_ms", "1000"));
	RS_OK(redstore_client_new(&nokafka, cfg));
	redstore_config_free(cfg);
	RS_OK(redstore_client_use_store(nokafka, store));
	rc = redstore_product_create(nokafka, &p);
	ck_assert_msg(rc != 0 && redstore_err_is_retriable(rc), "create without Kafka gave %s (%s)", redstore_err_name(rc),
	              redstore_error_last());
	assert_error_has("product.created");
	/* Saved and cached all the same; the retry (an update) emits. */
	ck_assert_int_eq(product_rows(c, store), 1);
	ck_assert_int_eq(key_exists(c, store, "p:EF-1"), 1);
	RS_FAILS(REDSTORE_EEXISTS, redstore_product_create(c, &p));
	RS_OK(redstore_product_update(c, &p));
	RS_OK(redstore_product_get(&got, c, "EF-1"));
	ck_assert_int_eq(got->version, 2);
	redstore_product_free(got);
	redstore_client_free(nokafka);
	redstore_client_free(c);
}
END_TEST

/* ------------------------------------------------------------ resolve */

START_TEST(catalog_resolve_mixes_skus_and_barcodes_with_their_tax_rates)
{
	char store[64];
	redstore_client *c = new_store(store, sizeof(store));
	redstore_product a = sample("RES-A", "2000000000015"), b = sample("RES-B", "2000000000022"),
	                 d = sample("RES-D", "");
	const char *codes[4] = { "RES-A", "2000000000022", "RES-D", "RES-A" };
	const bool by_barcode[4] = { false, true, false, false };
	redstore__item items[4];

	b.tax_class = "reduced";
	b.price = 120;
	b.name = "Croissant";
	b.stock_policy = REDSTORE_STOCK_ALLOW;
	d.tax_class = "";
	RS_OK(redstore_product_create(c, &a));
	RS_OK(redstore_product_create(c, &b));
	RS_OK(redstore_product_create(c, &d));
	RS_OK(redstore__catalog_resolve(items, c, 4, codes, by_barcode));
	ck_assert_str_eq(items[0].sku, "RES-A");
	ck_assert_str_eq(items[0].barcode, "2000000000015");
	ck_assert_int_eq(items[0].tax_rate_ppm, 200000);
	ck_assert_int_eq(items[0].price, 250);
	ck_assert_int_eq(items[0].active, 1);
	ck_assert_int_eq(items[0].low_stock_threshold, 5);
	ck_assert_str_eq(items[1].sku, "RES-B");
	ck_assert_str_eq(items[1].name, "Croissant");
	ck_assert_str_eq(items[1].tax_class, "reduced");
	ck_assert_int_eq(items[1].tax_rate_ppm, 55000);
	ck_assert_int_eq(items[1].policy, REDSTORE_STOCK_ALLOW);
	ck_assert_str_eq(items[2].sku, "RES-D");
	ck_assert_int_eq(items[2].tax_rate_ppm, 0);
	ck_assert_str_eq(items[3].sku, "RES-A");
	RS_OK(redstore__catalog_resolve(items, c, 0, codes, NULL));
	redstore_client_free(c);
}
END_TEST

START_TEST(catalog_resolve_unknown_code_gives_enotfound_naming_it)
{
	char store[64];
	redstore_client *c = new_store(store, sizeof(store));
	redstore_product a = sample("RES-A", "2000000000015");
	const char *codes[3] = { "RES-A", "2000000000077", "NOPE" };
	const bool by_barcode[3] = { false, true, false };
	redstore__item items[3];
	RS_OK(redstore_product_create(c, &a));
	RS_FAILS(REDSTORE_ENOTFOUND, redstore__catalog_resolve(items, c, 3, codes, by_barcode));
	assert_error_has("barcode \"2000000000077\" not found");
	RS_FAILS(REDSTORE_ENOTFOUND, redstore__catalog_resolve(items, c, 1, codes + 2, NULL));
	assert_error_has("product \"NOPE\" not found");
	codes[0] = "not a sku";
	RS_FAILS(REDSTORE_EINVALID, redstore__catalog_resolve(items, c, 1, codes, NULL));
	assert_error_has("code 0: sku \"not a sku\" is invalid");
	redstore_client_free(c);
}
END_TEST

START_TEST(catalog_resolve_reads_postgres_on_misses_and_refills_the_cache)
{
	char store[64], buf[64], key[REDSTORE_KEY_MAX];
	redstore_client *c = new_store(store, sizeof(store));
	redstore_product a = sample("RES-A", "2000000000015"), b = sample("RES-B", "2000000000022");
	const char *codes[2] = { "RES-A", "2000000000022" };
	const bool by_barcode[2] = { false, true };
	redstore__item items[2];

	b.tax_class = "reduced";
	RS_OK(redstore_product_create(c, &a));
	RS_OK(redstore_product_create(c, &b));
	RS_OK(redstore__redis_cmd(NULL, c, "DEL %s", redstore__key_id(key, store, "p", "RES-A")));
	RS_OK(redstore__redis_cmd(NULL, c, "DEL %s", redstore__key_id(key, store, "p", "RES-B")));
	del_key(c, store, "bc");
	del_key(c, store, "tax");
	RS_OK(redstore__catalog_resolve(items, c, 2, codes, by_barcode));
	ck_assert_str_eq(items[0].sku, "RES-A");
	ck_assert_int_eq(items[0].tax_rate_ppm, 200000);
	ck_assert_str_eq(items[1].sku, "RES-B");
	ck_assert_int_eq(items[1].tax_rate_ppm, 55000);
	ck_assert_int_eq(cached_products(c, store), 2);
	ck_assert_str_eq(hget(buf, sizeof(buf), c, store, "bc", "2000000000022"), "RES-B");
	ck_assert_str_eq(hget(buf, sizeof(buf), c, store, "tax", "reduced"), "55000");

	/* A stale index entry (the barcode now belongs to nobody) is not believed. */
	RS_OK(redstore__redis_cmd(NULL, c, "HSET %s 2000000000077 RES-A", redstore__key(key, store, "bc")));
	codes[1] = "2000000000077";
	RS_FAILS(REDSTORE_ENOTFOUND, redstore__catalog_resolve(items, c, 2, codes, by_barcode));
	redstore_client_free(c);
}
END_TEST

/* ------------------------------------------------------------ listing */

/* Imports n products P-0000.. in a scrambled order; every third is a favourite. */
static void import_many(redstore_client *c, int n)
{
	size_t cap = (size_t)n * 48 + 64, len = 0;
	char *text = malloc(cap), path[64];
	redstore_import_report *rep;
	len += (size_t)snprintf(text + len, cap - len, "sku,name,price,favourite\n");
	for (int i = 0; i < n; i++) {
		int k = (i * 7919) % n; /* 7919 is prime: a permutation when n is not a multiple */
		len += (size_t)snprintf(text + len, cap - len, "P-%04d,Product %d,%d,%d\n", k, k, 100 + k, k % 3 == 0);
	}
	temp_csv(path, sizeof(path), text);
	free(text);
	RS_OK(redstore_catalog_import_csv(&rep, c, path, 0));
	ck_assert_uint_eq(rep->created, (size_t)n);
	redstore_import_report_free(rep);
	unlink(path);
}

START_TEST(catalog_list_pages_through_250_products_in_order_exactly_once)
{
	char store[64], last[65] = "";
	redstore_client *c = new_store(store, sizeof(store));
	char *cursor = NULL;
	int seen = 0, pages = 0;

	import_many(c, 250);
	do {
		redstore_product_page *page;
		RS_OK(redstore_product_list(&page, c, cursor, 100, 0));
		free(cursor);
		cursor = page->next_cursor ? strdup(page->next_cursor) : NULL;
		for (size_t i = 0; i < page->count; i++) {
			char want[16];
			snprintf(want, sizeof(want), "P-%04d", seen);
			ck_assert_str_eq(page->items[i]->sku, want);
			ck_assert_int_gt(strcmp(page->items[i]->sku, last), 0);
			ck_assert_int_eq(page->items[i]->price, 100 + seen);
			snprintf(last, sizeof(last), "%s", page->items[i]->sku);
			seen++;
		}
		ck_assert_uint_eq(page->count, pages < 2 ? 100 : 50);
		pages++;
		redstore_product_page_free(page);
	} while (cursor);
	ck_assert_int_eq(seen, 250);
	ck_assert_int_eq(pages, 3);
	redstore_product_page_free(NULL);
	redstore_client_free(c);
}
END_TEST

START_TEST(catalog_list_rejects_malformed_cursors_and_bad_limits)
{
	char store[64];
	redstore_client *c = new_store(store, sizeof(store));
	redstore_product_page *page = (redstore_product_page *)1;
	const char *bad[] = { "", "garbage", "k1.", "k1.4", "k1.zz", "k1.2041", "k2.41" };
	for (size_t i = 0; i < REDSTORE_ARRAY_SIZE(bad); i++) {
		RS_FAILS(REDSTORE_EINVALID, redstore_product_list(&page, c, bad[i], 10, 0));
		assert_error_has("cursor");
		ck_assert_ptr_null(page);
	}
	RS_FAILS(REDSTORE_EINVALID, redstore_product_list(&page, c, NULL, 0, 0));
	assert_error_has("limit 0 is out of range (expected 1..1000)");
	RS_FAILS(REDSTORE_EINVALID, redstore_product_list(&page, c, NULL, 1001, 0));
	RS_FAILS(REDSTORE_EINVALID, redstore_product_list(&page, c, NULL, 10, 0x80));
	/* A well formed cursor after the last SKU gives an empty last page. */
	RS_OK(redstore_product_list(&page, c, "k1.7a7a", 10, 0));
	ck_assert_uint_eq(page->count, 0);
	ck_assert_ptr_null(page->next_cursor);
	redstore_product_page_free(page);
	redstore_client_free(c);
}
END_TEST

START_TEST(catalog_list_favourites_only_gives_the_favourites)
{
	char store[64];
	redstore_client *c = new_store(store, sizeof(store));
	redstore_product_page *page;
	import_many(c, 30);
	RS_OK(redstore_product_deactivate(c, "P-0003"));
	RS_OK(redstore_product_list(&page, c, NULL, 1000, REDSTORE_LIST_FAVOURITES_ONLY));
	ck_assert_uint_eq(page->count, 9); /* 0, 3, 6 ... 27: ten favourites, P-0003 inactive */
	for (size_t i = 0; i < page->count; i++)
		ck_assert_int_eq(page->items[i]->favourite, 1);
	ck_assert_ptr_null(page->next_cursor);
	redstore_product_page_free(page);
	RS_OK(redstore_product_list(&page, c, NULL, 1000,
	                            REDSTORE_LIST_FAVOURITES_ONLY | REDSTORE_LIST_INCLUDE_INACTIVE));
	ck_assert_uint_eq(page->count, 10);
	redstore_product_page_free(page);
	redstore_client_free(c);
}
END_TEST

/* ------------------------------------------------------------ CSV import */

START_TEST(catalog_import_csv_good_file_creates_then_updates)
{
	char store[64], buf[64];
	redstore_client *c = new_store(store, sizeof(store));
	redstore_import_report *rep;
	redstore_product *got;

	RS_OK(redstore_catalog_import_csv(&rep, c, DATA "good.csv", 0));
	ck_assert_uint_eq(rep->rows, 4);
	ck_assert_uint_eq(rep->created, 4);
	ck_assert_uint_eq(rep->updated, 0);
	ck_assert_uint_eq(rep->error_count, 0);
	ck_assert_int_eq(rep->applied, 1);
	redstore_import_report_free(rep);
	ck_assert_int_eq(product_rows(c, store), 4);
	ck_assert_int_eq(cached_products(c, store), 4);

	RS_OK(redstore_product_get_by_barcode(&got, c, "2000000000015"));
	ck_assert_str_eq(got->sku, "ESP-001");
	ck_assert_str_eq(got->brand, "House");
	ck_assert_str_eq(got->tax_class, "standard");
	ck_assert_int_eq(got->stock_policy, REDSTORE_STOCK_ALLOW);
	ck_assert_int_eq(got->favourite, 1);
	assert_json_eq(got->custom_json, "{\"size\": \"single\"}");
	redstore_product_free(got);
	RS_OK(redstore_product_get(&got, c, "MLK-001"));
	ck_assert_str_eq(got->brand, "Lait d'ici");
	ck_assert_int_eq(got->low_stock_threshold, 5);
	ck_assert_int_eq(got->favourite, 0);
	assert_json_eq(got->custom_json, "{}");
	redstore_product_free(got);
	/* Empty cells take the column's default. */
	RS_OK(redstore_product_get(&got, c, "TEA-001"));
	ck_assert_str_eq(got->tax_class, "");
	ck_assert_int_eq(got->stock_policy, REDSTORE_STOCK_DENY);
	ck_assert_int_eq(got->low_stock_threshold, 0);
	ck_assert_int_eq(got->active, 0);
	redstore_product_free(got);

	/* A file with fewer columns: existing products keep the others. */
	RS_OK(redstore_catalog_import_csv(&rep, c, DATA "good_update.csv", 0));
	ck_assert_uint_eq(rep->created, 1);
	ck_assert_uint_eq(rep->updated, 1);
	redstore_import_report_free(rep);
	RS_OK(redstore_product_get(&got, c, "ESP-001"));
	ck_assert_str_eq(got->name, "Espresso (double)");
	ck_assert_int_eq(got->price, 350);
	ck_assert_str_eq(got->barcode, "2000000000015");
	ck_assert_str_eq(got->tax_class, "standard");
	ck_assert_int_eq(got->favourite, 1);
	ck_assert_int_eq(got->version, 2);
	assert_json_eq(got->custom_json, "{\"size\": \"single\"}");
	redstore_product_free(got);
	ck_assert_str_eq(hget(buf, sizeof(buf), c, store, "p:ESP-001", "price"), "350");
	RS_OK(redstore_product_get(&got, c, "NEW-001"));
	ck_assert_int_eq(got->price, 0);
	ck_assert_int_eq(got->active, 1);
	redstore_product_free(got);
	redstore_client_free(c);
}
END_TEST

static void assert_bad_rows_report(const redstore_import_report *rep, const char *store)
{
	char tax[160];
	ck_assert_uint_eq(rep->rows, 12);
	ck_assert_uint_eq(rep->error_count, 9);
	snprintf(tax, sizeof(tax), "column tax_class: \"luxury\" is not a tax class of store %s", store);
	ck_assert_str_eq(error_at(rep, 3)->message,
	                 "column price: \"12.50\" is not an integer (expected 0..1000000000000 minor units)");
	ck_assert_str_eq(error_at(rep, 5)->message,
	                 "column sku: \"BAD SKU\" is invalid (expected 1-64 printable ASCII characters, no spaces)");
	ck_assert_str_eq(error_at(rep, 6)->message, tax);
	ck_assert_str_eq(error_at(rep, 7)->message, "column sku: \"GOOD-1\" is repeated (first on line 2)");
	ck_assert_str_eq(error_at(rep, 8)->message, "column barcode: \"2000000000015\" is repeated (first on line 2)");
	ck_assert_str_eq(error_at(rep, 9)->message, "column stock_policy: \"maybe\" is invalid (expected deny or allow)");
	ck_assert_str_eq(error_at(rep, 10)->message, "expected 7 fields (the header's columns), found 3");
	ck_assert_str_eq(error_at(rep, 11)->message,
	                 "column name: a quote inside an unquoted field (quote the whole field and write a quote as \"\")");
	ck_assert_str_eq(error_at(rep, 12)->message,
	                 "column name: contains a control character (expected 1-200 printable characters)");
	/* In line order. */
	for (size_t i = 1; i < rep->error_count; i++)
		ck_assert_uint_gt(rep->errors[i].line, rep->errors[i - 1].line);
}

START_TEST(catalog_import_csv_bad_rows_are_reported_by_line_and_nothing_is_written)
{
	char store[64];
	redstore_client *c = new_store(store, sizeof(store));
	redstore_import_report *rep = NULL;
	RS_FAILS(REDSTORE_EINVALID, redstore_catalog_import_csv(&rep, c, DATA "bad_rows.csv", 0));
	assert_error_has("9 bad rows (first on line 3");
	ck_assert_ptr_nonnull(rep);
	assert_bad_rows_report(rep, store);
	ck_assert_uint_eq(rep->created, 0);
	ck_assert_int_eq(rep->applied, 0);
	redstore_import_report_free(rep);
	ck_assert_int_eq(product_rows(c, store), 0);
	ck_assert_int_eq(cached_products(c, store), 0);
	redstore_client_free(c);
}
END_TEST

START_TEST(catalog_import_csv_skip_flag_writes_only_the_good_rows)
{
	char store[64];
	redstore_client *c = new_store(store, sizeof(store));
	redstore_import_report *rep;
	redstore_product *got;
	RS_OK(redstore_catalog_import_csv(&rep, c, DATA "bad_rows.csv", REDSTORE_IMPORT_SKIP_BAD_ROWS));
	assert_bad_rows_report(rep, store);
	ck_assert_uint_eq(rep->created, 3);
	ck_assert_uint_eq(rep->updated, 0);
	ck_assert_int_eq(rep->applied, 1);
	redstore_import_report_free(rep);
	ck_assert_int_eq(product_rows(c, store), 3);
	RS_OK(redstore_product_get(&got, c, "GOOD-1"));
	ck_assert_str_eq(got->name, "Espresso"); /* the first line, not the repeated one */
	ck_assert_str_eq(got->barcode, "2000000000015");
	redstore_product_free(got);
	RS_OK(redstore_product_get(&got, c, "AFTER-ML"));
	redstore_product_free(got);
	RS_FAILS(REDSTORE_ENOTFOUND, redstore_product_get(&got, c, "BAD-PRICE"));
	redstore_client_free(c);
}
END_TEST

START_TEST(catalog_import_csv_quoted_fields_keep_commas_newlines_and_quotes)
{
	char store[64];
	redstore_client *c = new_store(store, sizeof(store));
	redstore_import_report *rep;
	redstore_product *got;
	RS_OK(redstore_catalog_import_csv(&rep, c, DATA "quoted.csv", 0));
	ck_assert_uint_eq(rep->rows, 2);
	ck_assert_uint_eq(rep->created, 2);
	redstore_import_report_free(rep);
	RS_OK(redstore_product_get(&got, c, "Q-1"));
	ck_assert_str_eq(got->name, "Pain, chocolat");
	ck_assert_str_eq(got->brand, "Maison \"Dupont\"");
	assert_json_eq(got->custom_json, "{\"note\": \"line one, with a comma\", \"quote\": \"say \\\"hi\\\"\"}");
	redstore_product_free(got);
	RS_OK(redstore_product_get(&got, c, "Q-2"));
	ck_assert_str_eq(got->name, "Plain");
	redstore_product_free(got);
	redstore_client_free(c);
}
END_TEST

START_TEST(catalog_import_csv_accepts_crlf_and_a_byte_order_mark)
{
	char store[64];
	redstore_client *c = new_store(store, sizeof(store));
	redstore_import_report *rep;
	redstore_product *got;
	RS_OK(redstore_catalog_import_csv(&rep, c, DATA "crlf_bom.csv", REDSTORE_IMPORT_SKIP_BAD_ROWS));
	ck_assert_uint_eq(rep->rows, 3);
	ck_assert_uint_eq(rep->created, 2);
	ck_assert_uint_eq(rep->error_count, 1);
	/* BOM-1 spans lines 2-4, line 5 is blank: BOM-2 starts on line 6. */
	ck_assert_uint_eq(rep->errors[0].line, 6);
	ck_assert_str_eq(rep->errors[0].message,
	                 "column price: \"abc\" is not an integer (expected 0..1000000000000 minor units)");
	redstore_import_report_free(rep);
	RS_OK(redstore_product_get(&got, c, "BOM-1"));
	ck_assert_str_eq(got->name, "Café crème");
	assert_json_eq(got->custom_json, "{\"milk\": true}");
	redstore_product_free(got);
	RS_OK(redstore_product_get(&got, c, "BOM-3")); /* the last line has no line end */
	ck_assert_int_eq(got->price, 200);
	redstore_product_free(got);
	redstore_client_free(c);
}
END_TEST

START_TEST(catalog_import_csv_unknown_column_is_reported_at_line_1)
{
	char store[64], path[64];
	redstore_client *c = new_store(store, sizeof(store));
	redstore_import_report *rep = NULL;
	RS_FAILS(REDSTORE_EINVALID, redstore_catalog_import_csv(&rep, c, DATA "unknown_column.csv", REDSTORE_IMPORT_SKIP_BAD_ROWS));
	ck_assert_uint_eq(rep->error_count, 1);
	ck_assert_uint_eq(rep->errors[0].line, 1);
	ck_assert_str_eq(rep->errors[0].message,
	                 "unknown column \"colour\" (expected sku, name, price, barcode, brand, category, tax_class,"
	                 " stock_policy, low_stock_threshold, active, favourite, custom_json)");
	ck_assert_int_eq(rep->applied, 0);
	redstore_import_report_free(rep);

	temp_csv(path, sizeof(path), "sku,name\nA,B\n");
	RS_FAILS(REDSTORE_EINVALID, redstore_catalog_import_csv(&rep, c, path, 0));
	ck_assert_str_eq(rep->errors[0].message, "the header has no price column (sku, name and price are required)");
	redstore_import_report_free(rep);
	unlink(path);
	temp_csv(path, sizeof(path), "sku,name,price,SKU\n");
	RS_FAILS(REDSTORE_EINVALID, redstore_catalog_import_csv(&rep, c, path, 0));
	ck_assert_str_eq(rep->errors[0].message, "column sku appears twice");
	redstore_import_report_free(rep);
	unlink(path);
	temp_csv(path, sizeof(path), "");
	RS_FAILS(REDSTORE_EINVALID, redstore_catalog_import_csv(&rep, c, path, 0));
	ck_assert_uint_eq(rep->errors[0].line, 1);
	redstore_import_report_free(rep);
	unlink(path);
	ck_assert_int_eq(product_rows(c, store), 0);
	redstore_client_free(c);
}
END_TEST

START_TEST(catalog_import_csv_unterminated_quote_is_reported_where_its_row_starts)
{
	char store[64], path[64];
	redstore_client *c = new_store(store, sizeof(store));
	redstore_import_report *rep = NULL;
	temp_csv(path, sizeof(path), "sku,name,price\nOK-1,Fine,1\nOPEN-1,\"never\nclosed,2\nOK-2,x,3\n");
	RS_FAILS(REDSTORE_EINVALID, redstore_catalog_import_csv(&rep, c, path, 0));
	ck_assert_uint_eq(rep->error_count, 1);
	ck_assert_uint_eq(rep->errors[0].line, 3);
	ck_assert_str_eq(rep->errors[0].message, "column name: the quoted field opened on line 3 is never closed");
	redstore_import_report_free(rep);
	unlink(path);
	ck_assert_int_eq(product_rows(c, store), 0);
	redstore_client_free(c);
}
END_TEST

START_TEST(catalog_import_csv_barcode_of_another_product_is_reported_by_line)
{
	char store[64];
	redstore_client *c = new_store(store, sizeof(store));
	redstore_product own1 = sample("OWN-1", "2000000000039"), own2 = sample("OWN-2", "2000000000046"), *got;
	redstore_import_report *rep = NULL;

	RS_OK(redstore_product_create(c, &own1));
	RS_OK(redstore_product_create(c, &own2));
	RS_FAILS(REDSTORE_EINVALID, redstore_catalog_import_csv(&rep, c, DATA "barcode_taken.csv", 0));
	ck_assert_uint_eq(rep->error_count, 1);
	ck_assert_uint_eq(rep->errors[0].line, 2);
	ck_assert_str_eq(rep->errors[0].message, "column barcode: \"2000000000039\" is already used by product \"OWN-1\"");
	redstore_import_report_free(rep);
	ck_assert_int_eq(product_rows(c, store), 2);

	/* With the skip flag: OWN-2 moves to a new barcode and NEW-2 takes its old one, in one transaction. */
	RS_OK(redstore_catalog_import_csv(&rep, c, DATA "barcode_taken.csv", REDSTORE_IMPORT_SKIP_BAD_ROWS));
	ck_assert_uint_eq(rep->created, 1);
	ck_assert_uint_eq(rep->updated, 1);
	redstore_import_report_free(rep);
	RS_OK(redstore_product_get_by_barcode(&got, c, "2000000000046"));
	ck_assert_str_eq(got->sku, "NEW-2");
	redstore_product_free(got);
	RS_OK(redstore_product_get_by_barcode(&got, c, "2000000000060"));
	ck_assert_str_eq(got->sku, "OWN-2");
	redstore_product_free(got);
	RS_OK(redstore_product_get_by_barcode(&got, c, "2000000000039"));
	ck_assert_str_eq(got->sku, "OWN-1");
	redstore_product_free(got);
	redstore_client_free(c);
}
END_TEST

START_TEST(catalog_import_csv_barcode_moves_fail_in_cascade_when_a_row_is_skipped)
{
	char store[64], path[64];
	redstore_client *c = new_store(store, sizeof(store));
	redstore_product x1 = sample("X1", "2000000000015"), x2 = sample("X2", "2000000000022");
	redstore_import_report *rep = NULL;

	RS_OK(redstore_product_create(c, &x1));
	RS_OK(redstore_product_create(c, &x2));
	/* X2's row is bad, so X2 keeps its barcode, so X1 cannot take it and keeps its own, so NEW-1 cannot
	 * take X1's: three bad rows, found whatever their order. */
	temp_csv(path, sizeof(path),
	         "sku,name,price,barcode\n"
	         "NEW-1,Takes X1's,100,2000000000015\n"
	         "X1,Takes X2's,100,2000000000022\n"
	         "X2,Bad price,abc,2000000000039\n");
	RS_OK(redstore_catalog_import_csv(&rep, c, path, REDSTORE_IMPORT_SKIP_BAD_ROWS));
	ck_assert_uint_eq(rep->error_count, 3);
	ck_assert_str_eq(error_at(rep, 2)->message, "column barcode: \"2000000000015\" is already used by product \"X1\"");
	ck_assert_str_eq(error_at(rep, 3)->message, "column barcode: \"2000000000022\" is already used by product \"X2\"");
	ck_assert_str_eq(error_at(rep, 4)->message,
	                 "column price: \"abc\" is not an integer (expected 0..1000000000000 minor units)");
	ck_assert_int_eq(rep->applied, 0);
	ck_assert_uint_eq(rep->created + rep->updated, 0);
	redstore_import_report_free(rep);
	unlink(path);
	ck_assert_int_eq(product_rows(c, store), 2);
	ck_assert_int_eq(pg_num(c, "SELECT version FROM products WHERE store_id = $1 AND sku = 'X1'", store, NULL), 1);
	redstore_client_free(c);
}
END_TEST

START_TEST(catalog_import_csv_limits_give_elimit_and_a_missing_file_eio)
{
	char store[64], path[64];
	redstore_client *c = new_store(store, sizeof(store));
	redstore_import_report *rep = (redstore_import_report *)1;
	FILE *f;
	int fd;

	RS_FAILS(REDSTORE_EIO, redstore_catalog_import_csv(&rep, c, "/nonexistent/catalog.csv", 0));
	ck_assert_ptr_null(rep);
	/* 64 MiB + 1 byte (sparse: nothing is really written). */
	temp_csv(path, sizeof(path), "sku,name,price\n");
	fd = open(path, O_WRONLY);
	ck_assert_int_eq(ftruncate(fd, 64L * 1024 * 1024 + 1), 0);
	close(fd);
	RS_FAILS(REDSTORE_ELIMIT, redstore_catalog_import_csv(&rep, c, path, 0));
	assert_error_has("64 MiB");
	unlink(path);
	/* 1,000,001 rows (short ones: about 11 MB). */
	temp_csv(path, sizeof(path), "sku,name,price\n");
	f = fopen(path, "a");
	for (int i = 0; i <= 1000000; i++)
		fprintf(f, "S%d,n,1\n", i);
	fclose(f);
	RS_FAILS(REDSTORE_ELIMIT, redstore_catalog_import_csv(&rep, c, path, REDSTORE_IMPORT_SKIP_BAD_ROWS));
	assert_error_has("more than 1000000 rows");
	ck_assert_ptr_null(rep);
	unlink(path);
	ck_assert_int_eq(product_rows(c, store), 0);
	redstore_client_free(c);
}
END_TEST

/* ------------------------------------------------------------ warm */

START_TEST(catalog_warm_loads_products_tax_classes_and_settings)
{
	char store[64], buf[64], key[REDSTORE_KEY_MAX];
	redstore_client *c = new_store(store, sizeof(store));
	redisReply *r;
	size_t loaded = 0;

	import_many(c, 1500);
	RS_OK(redstore__redis_cmd(&r, c, "KEYS %s", redstore__key(key, store, "*")));
	for (size_t i = 0; i < r->elements; i++)
		RS_OK(redstore__redis_cmd(NULL, c, "DEL %s", r->element[i]->str));
	freeReplyObject(r);
	ck_assert_int_eq(cached_products(c, store), 0);
	RS_OK(redstore_catalog_warm(c, &loaded));
	ck_assert_uint_eq(loaded, 1500);
	ck_assert_int_eq(cached_products(c, store), 1500);
	ck_assert_str_eq(hget(buf, sizeof(buf), c, store, "tax", "reduced"), "55000");
	ck_assert_str_eq(hget(buf, sizeof(buf), c, store, "meta", "currency"), "EUR");
	ck_assert_str_eq(hget(buf, sizeof(buf), c, store, "p:P-1499", "price"), "1599");
	RS_OK(redstore_catalog_warm(c, NULL));
	redstore_client_free(c);
}
END_TEST

/* ------------------------------------------------------------ events */

START_TEST(catalog_events_reach_kafka_with_their_type_and_store)
{
	char store[64], topic[128], group[64], errstr[256];
	redstore_client *c = new_store(store, sizeof(store));
	redstore_product p = sample("EVT-1", "");
	redstore_import_report *rep;
	rd_kafka_conf_t *conf;
	rd_kafka_t *consumer;
	rd_kafka_topic_partition_list_t *topics;
	const char *want[] = { "store.upserted", "tax_class.set", "product.created", "product.updated",
		                   "product.deactivated", "catalog.imported" };
	bool found[6] = { false };
	int64_t deadline;
	size_t nfound = 0;

	RS_OK(redstore_product_create(c, &p));
	p.price = 260;
	RS_OK(redstore_product_update(c, &p));
	RS_OK(redstore_product_deactivate(c, "EVT-1"));
	RS_OK(redstore_catalog_import_csv(&rep, c, DATA "quoted.csv", 0));
	redstore_import_report_free(rep);

	redstore__kafka_topic(topic, sizeof(topic), &c->set, REDSTORE_DOMAIN_CATALOG);
	RS_OK(redstore__kafka_conf(&conf, redstore_client_config(c)));
	rs_test_unique(group, sizeof(group), "g");
	ck_assert_int_eq(rd_kafka_conf_set(conf, "group.id", group, errstr, sizeof(errstr)), RD_KAFKA_CONF_OK);
	ck_assert_int_eq(rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", errstr, sizeof(errstr)), RD_KAFKA_CONF_OK);
	consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
	ck_assert_msg(consumer != NULL, "%s", errstr);
	rd_kafka_poll_set_consumer(consumer);
	topics = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(topics, topic, RD_KAFKA_PARTITION_UA);
	ck_assert_int_eq(rd_kafka_subscribe(consumer, topics), 0);
	rd_kafka_topic_partition_list_destroy(topics);
	deadline = redstore__now_us() + 30 * 1000000LL;
	while (nfound < REDSTORE_ARRAY_SIZE(want) && redstore__now_us() < deadline) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(consumer, 200);
		cJSON *env;
		if (!m)
			continue;
		if (!m->err && m->key_len == strlen(store) && !memcmp(m->key, store, m->key_len) &&
		    (env = cJSON_ParseWithLength(m->payload, m->len))) {
			const cJSON *type = cJSON_GetObjectItem(env, "type"), *id = cJSON_GetObjectItem(env, "id"),
			            *sid = cJSON_GetObjectItem(env, "store_id"), *payload = cJSON_GetObjectItem(env, "payload");
			ck_assert(cJSON_IsString(type) && cJSON_IsString(id) && cJSON_IsString(sid) && cJSON_IsObject(payload));
			ck_assert_str_eq(sid->valuestring, store);
			RS_OK(redstore_id_check(id->valuestring, "event id"));
			for (size_t i = 0; i < REDSTORE_ARRAY_SIZE(want); i++)
				if (!found[i] && !strcmp(type->valuestring, want[i])) {
					found[i] = true;
					nfound++;
					if (!strcmp(want[i], "product.updated"))
						ck_assert_int_eq(cJSON_GetObjectItem(payload, "price")->valueint, 260);
					if (!strcmp(want[i], "product.created"))
						ck_assert_str_eq(cJSON_GetObjectItem(payload, "sku")->valuestring, "EVT-1");
					if (!strcmp(want[i], "catalog.imported"))
						ck_assert_int_eq(cJSON_GetObjectItem(payload, "created")->valueint, 2);
				}
			cJSON_Delete(env);
		}
		rd_kafka_message_destroy(m);
	}
	rd_kafka_consumer_close(consumer);
	rd_kafka_destroy(consumer);
	for (size_t i = 0; i < REDSTORE_ARRAY_SIZE(want); i++)
		ck_assert_msg(found[i], "no %s event of store %s within 30 s", want[i], store);
	redstore_client_free(c);
}
END_TEST

/* ------------------------------------------------------------ store scoping */

START_TEST(catalog_calls_without_a_selected_store_give_einvalid)
{
	redstore_config *cfg = rs_test_config();
	redstore_client *c;
	redstore_product p = sample("NS-1", ""), *got;
	redstore_product_page *page;
	redstore_import_report *rep;
	redstore__store_meta meta;
	redstore__item item;
	const char *code = "NS-1";

	RS_OK(redstore_config_set(cfg, "store.id", ""));
	RS_OK(redstore_client_new(&c, cfg));
	redstore_config_free(cfg);
	ck_assert_str_eq(redstore_client_store(c), "");
#define NO_STORE(expr)                                                                                       \
	do {                                                                                                     \
		RS_FAILS(REDSTORE_EINVALID, expr);                                                                   \
		assert_error_has("no store selected");                                                               \
	} while (0)
	NO_STORE(redstore_store_set_tax_class(c, "standard", 1));
	NO_STORE(redstore_product_create(c, &p));
	NO_STORE(redstore_product_update(c, &p));
	NO_STORE(redstore_product_deactivate(c, "NS-1"));
	NO_STORE(redstore_product_get(&got, c, "NS-1"));
	NO_STORE(redstore_product_get_by_barcode(&got, c, "123"));
	NO_STORE(redstore_product_list(&page, c, NULL, 10, 0));
	NO_STORE(redstore_catalog_import_csv(&rep, c, DATA "good.csv", 0));
	NO_STORE(redstore_catalog_warm(c, NULL));
	NO_STORE(redstore__catalog_resolve(&item, c, 1, &code, NULL));
	NO_STORE(redstore__store_meta_get(&meta, c));
#undef NO_STORE
	redstore_client_free(c);
}
END_TEST

START_TEST(catalog_products_are_isolated_per_store)
{
	char a[64], b[64];
	redstore_client *c = new_store(a, sizeof(a)), *other = new_store(b, sizeof(b));
	redstore_product p = sample("ISO-1", "2000000000015"), *got;
	redstore_product_page *page;
	redstore__item item;
	const char *code = "ISO-1";

	redstore_client_free(other);
	RS_OK(redstore_product_create(c, &p));
	RS_OK(redstore_client_use_store(c, b));
	RS_FAILS(REDSTORE_ENOTFOUND, redstore_product_get(&got, c, "ISO-1"));
	assert_error_has(b);
	RS_FAILS(REDSTORE_ENOTFOUND, redstore_product_get_by_barcode(&got, c, "2000000000015"));
	RS_FAILS(REDSTORE_ENOTFOUND, redstore__catalog_resolve(&item, c, 1, &code, NULL));
	RS_FAILS(REDSTORE_ENOTFOUND, redstore_product_deactivate(c, "ISO-1"));
	RS_OK(redstore_product_list(&page, c, NULL, 10, REDSTORE_LIST_INCLUDE_INACTIVE));
	ck_assert_uint_eq(page->count, 0);
	redstore_product_page_free(page);
	/* The same SKU and barcode may exist in both stores. */
	RS_OK(redstore_product_create(c, &p));
	RS_OK(redstore_client_use_store(c, a));
	RS_OK(redstore_product_get(&got, c, "ISO-1"));
	ck_assert_int_eq(got->version, 1);
	redstore_product_free(got);
	redstore_client_free(c);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("catalog");
	TCase *tc = tcase_create("catalog");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, catalog_store_create_writes_postgres_and_the_settings_cache);
	tcase_add_test(tc, catalog_store_create_again_updates_the_settings);
	tcase_add_test(tc, catalog_store_create_rejects_bad_settings_naming_the_field);
	tcase_add_test(tc, catalog_store_currency_cannot_change_once_products_use_it);
	tcase_add_test(tc, catalog_tax_class_checks_code_rate_and_store);
	tcase_add_test(tc, catalog_product_create_then_get_round_trips_every_field);
	tcase_add_test(tc, catalog_product_get_by_barcode_finds_the_product);
	tcase_add_test(tc, catalog_product_get_unknown_sku_gives_enotfound_naming_it);
	tcase_add_test(tc, catalog_product_update_changes_cache_and_postgres_and_bumps_version);
	tcase_add_test(tc, catalog_product_update_moves_the_barcode_index);
	tcase_add_test(tc, catalog_product_update_of_an_unknown_sku_gives_enotfound);
	tcase_add_test(tc, catalog_product_deactivate_keeps_it_but_marks_it_inactive);
	tcase_add_test(tc, catalog_product_create_duplicate_sku_gives_eexists_naming_it_and_changes_nothing);
	tcase_add_test(tc, catalog_product_create_duplicate_barcode_gives_eexists_naming_it_and_changes_nothing);
	tcase_add_test(tc, catalog_product_invalid_fields_give_einvalid_naming_the_field_and_write_nothing);
	tcase_add_test(tc, catalog_product_unknown_tax_class_gives_enotfound);
	tcase_add_test(tc, catalog_product_get_refills_the_cache_after_a_miss);
	tcase_add_test(tc, catalog_cache_never_takes_an_older_version);
	tcase_add_test(tc, catalog_cache_write_failure_after_postgres_drops_the_cache_entry);
	tcase_add_test(tc, catalog_event_failure_is_retriable_and_the_change_is_saved);
	tcase_add_test(tc, catalog_resolve_mixes_skus_and_barcodes_with_their_tax_rates);
	tcase_add_test(tc, catalog_resolve_unknown_code_gives_enotfound_naming_it);
	tcase_add_test(tc, catalog_resolve_reads_postgres_on_misses_and_refills_the_cache);
	tcase_add_test(tc, catalog_list_pages_through_250_products_in_order_exactly_once);
	tcase_add_test(tc, catalog_list_rejects_malformed_cursors_and_bad_limits);
	tcase_add_test(tc, catalog_list_favourites_only_gives_the_favourites);
	tcase_add_test(tc, catalog_import_csv_good_file_creates_then_updates);
	tcase_add_test(tc, catalog_import_csv_bad_rows_are_reported_by_line_and_nothing_is_written);
	tcase_add_test(tc, catalog_import_csv_skip_flag_writes_only_the_good_rows);
	tcase_add_test(tc, catalog_import_csv_quoted_fields_keep_commas_newlines_and_quotes);
	tcase_add_test(tc, catalog_import_csv_accepts_crlf_and_a_byte_order_mark);
	tcase_add_test(tc, catalog_import_csv_unknown_column_is_reported_at_line_1);
	tcase_add_test(tc, catalog_import_csv_unterminated_quote_is_reported_where_its_row_starts);
	tcase_add_test(tc, catalog_import_csv_barcode_of_another_product_is_reported_by_line);
	tcase_add_test(tc, catalog_import_csv_barcode_moves_fail_in_cascade_when_a_row_is_skipped);
	tcase_add_test(tc, catalog_import_csv_limits_give_elimit_and_a_missing_file_eio);
	tcase_add_test(tc, catalog_warm_loads_products_tax_classes_and_settings);
	tcase_add_test(tc, catalog_events_reach_kafka_with_their_type_and_store);
	tcase_add_test(tc, catalog_calls_without_a_selected_store_give_einvalid);
	tcase_add_test(tc, catalog_products_are_isolated_per_store);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return rs_test_run(suite());
}
