/*
 * Private to lib/catalog (catalog.c, catalog_row.c, catalog_cache.c, catalog_csv.c): field checks and the
 * product row (catalog_row.c, the floor below the others), the Redis cache writes (catalog_cache.c).
 * Other areas include catalog/catalog_int.h, never this.
 */
#ifndef REDSTORE_CATALOG_PRIV_H
#define REDSTORE_CATALOG_PRIV_H

#include "catalog/catalog_int.h"
#include "events/events_int.h"

/* ------------------------------------------------------------ limits (catalog.h documents them) */

#define REDSTORE__PRICE_MAX 1000000000000LL  /* 10^12 minor units */
#define REDSTORE__LOW_MAX 1000000000LL       /* 10^9 units */
#define REDSTORE__NAME_MAX 200
#define REDSTORE__TEXT_MAX 100               /* brand, category */
#define REDSTORE__CUSTOM_MAX 8192            /* custom_json, bytes */
#define REDSTORE__PG_CHUNK 1000              /* rows per PostgreSQL statement or Redis batch */

/* ------------------------------------------------------------ field checks
 * Each writes what is wrong into msg ("\"a b\" is invalid (expected ...)") and returns -1, or returns
 * 0. The caller names the field: "redstore_product_create: price: ..." or "column price: ...". */

int redstore__catalog_check_sku(char *msg, size_t cap, const char *s);
int redstore__catalog_check_barcode(char *msg, size_t cap, const char *s);
/* min..max characters (UTF-8 code points), valid UTF-8, no control characters. */
int redstore__catalog_check_text(char *msg, size_t cap, const char *s, size_t min, size_t max);
int redstore__catalog_check_tax_code(char *msg, size_t cap, const char *s, bool allow_empty);
int redstore__catalog_check_custom(char *msg, size_t cap, const char *s);
int redstore__catalog_check_range(char *msg, size_t cap, int64_t v, int64_t min, int64_t max, const char *unit);
/* Parses a whole string as a decimal integer (optional '-', digits only). */
bool redstore__catalog_parse_i64(int64_t *out, const char *s);
/* Copies s into buf for an error message: at most 40 characters, control characters as '?'. */
const char *redstore__catalog_quote(char *buf, size_t cap, const char *s);

/* ------------------------------------------------------------ a product row */

enum {
	REDSTORE__PF_SKU,
	REDSTORE__PF_BARCODE,
	REDSTORE__PF_NAME,
	REDSTORE__PF_BRAND,
	REDSTORE__PF_CATEGORY,
	REDSTORE__PF_CURRENCY,
	REDSTORE__PF_TAX,
	REDSTORE__PF_CUSTOM,
	REDSTORE__PF_COUNT
};

/* A product as read from PostgreSQL or the cache. The strings are borrowed from the PGresult or the
 * Redis reply it was read from. */
typedef struct redstore__prow {
	const char *str[REDSTORE__PF_COUNT];
	int64_t price, low, version, updated_ms;
	redstore_stock_policy policy;
	int active, favourite;
} redstore__prow;

/* The SELECT list that redstore__prow_from_pg() reads, for a table aliased `p`. */
#define REDSTORE__PRODUCT_COLS                                                                          \
	"p.sku, coalesce(p.barcode, ''), p.name, p.brand, p.category, p.price, p.currency,"                 \
	" coalesce(p.tax_class, ''), p.stock_policy, p.low_stock_threshold, p.active, p.favourite,"         \
	" p.custom::text, p.version, (extract(epoch FROM p.updated_at) * 1000)::bigint"
#define REDSTORE__PRODUCT_NCOLS 15

/* The fields of a product's cache hash rs:{s:S}:p:<sku>, in the order of lib/engines/lua/catalog_put.lua. */
#define REDSTORE__PRODUCT_HASH_NFIELDS 15
extern const char *const redstore__product_hash_fields[REDSTORE__PRODUCT_HASH_NFIELDS];
/* "deny" or "allow", as the cache and the events spell a stock policy. */
const char *redstore__stock_policy_name(redstore_stock_policy p);

/* Reads columns col..col+14 of a row selected with REDSTORE__PRODUCT_COLS. */
void redstore__prow_from_pg(redstore__prow *out, const PGresult *res, int row, int col);
/* Reads an HGETALL reply of a product hash: 1 when complete and well formed, 0 otherwise (a miss). */
int redstore__prow_from_hash(redstore__prow *out, const redisReply *r);
/* A copy owned by the caller (one allocation: free with redstore_product_free), or NULL. */
redstore_product *redstore__product_from_row(const redstore__prow *r);
/* The product as an event payload (NULL when out of memory). */
cJSON *redstore__prow_json(const redstore__prow *r);

/* ------------------------------------------------------------ the Redis cache (lib/catalog/catalog_cache.c) */

/* Writes n products to the cache with the catalog_put script, pipelined in batches. old_barcodes[i] is
 * the barcode row i had before the change ("" or NULL: unknown); old_barcodes may be NULL. */
int redstore__catalog_cache_put(redstore_client *c, const char *store, const redstore__prow *rows, size_t n,
                                const char *const *old_barcodes);
/* Writes every row of a result selected with REDSTORE__PRODUCT_COLS at column 0. */
int redstore__catalog_cache_put_result(redstore_client *c, const char *store, const PGresult *res);
/* Deletes the cache hashes of n products (best effort after a failed cache write): keeps the last error. */
void redstore__catalog_cache_forget(redstore_client *c, const char *store, const char *const *skus, size_t n);
/* Writes the store's settings (rs:{s:S}:meta). */
int redstore__catalog_cache_meta(redstore_client *c, const char *store, const redstore__store_meta *m);

/* Emits a catalog event for `store` (which may differ from the selected one: store administration),
 * with a new UUIDv7 id. */
int redstore__catalog_emit(redstore_client *c, const char *store, const char *type, const cJSON *payload);

/* The parsing and per-row checks of a catalog CSV file, without any engine (the fuzz target's entry):
 * `data` is copied; `tax_classes` (borrowed) are the store's. *out receives the report (rows, errors)
 * also when it fails with REDSTORE_EINVALID (a bad header); other failures leave it NULL. */
int redstore__catalog_csv_parse(redstore_import_report **out, const char *data, size_t len, const char *store,
                                const char *const *tax_classes, size_t ntax);

#endif
