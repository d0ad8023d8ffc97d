/**
 * @file
 * libredstore: stores, tax classes and the product catalog.
 *
 * PostgreSQL is the catalog's system of record; Redis holds a cache of it (one hash per product, a
 * barcode index) that the write path reads. Every change writes PostgreSQL first, then updates the cache,
 * then emits a `catalog.*` event (store.upserted, tax_class.set, product.created, product.updated,
 * product.deactivated) to Kafka.
 *
 * Products belong to the client's selected store (redstore_client_use_store); no call here takes a
 * store id for product data.
 *
 * When a change is saved but its event cannot be produced, the call returns the producer's retriable
 * error (REDSTORE_ETIMEOUT, REDSTORE_EUNAVAILABLE...): the change is already in PostgreSQL and in the
 * cache. Retrying is safe: store_create, set_tax_class, product_update and product_deactivate are
 * idempotent; a retried product_create gives REDSTORE_EEXISTS, and product_update then emits the event.
 *
 * Thread rule: the functions follow their client's rule (one thread at a time per client). Product
 * objects are plain values: one thread at a time.
 */
#ifndef REDSTORE_CATALOG_H
#define REDSTORE_CATALOG_H

#include "common.h"
#include "client.h"

REDSTORE_BEGIN_DECLS
REDSTORE_ASSUME_NONNULL_BEGIN

/** What a sale may do when a product's available stock is short. */
typedef enum redstore_stock_policy {
	REDSTORE_STOCK_DENY = 0,  /**< refuse the sale (REDSTORE_EOUT_OF_STOCK): never oversell */
	REDSTORE_STOCK_ALLOW = 1  /**< sell anyway; on-hand may go negative (services, made-to-order) */
} redstore_stock_policy;

/** A store's settings. All strings are copied by the calls that take this struct. */
typedef struct redstore_store_info {
	const char *store_id;    /**< 1-64 of [A-Za-z0-9_-] */
	const char *name;        /**< shown on receipts */
	const char *currency;    /**< ISO 4217, e.g. "EUR"; every product of the store uses it */
	const char *REDSTORE_NULLABLE timezone;    /**< IANA name, e.g. "Europe/Paris"; NULL for "UTC" */
	int prices_include_tax;  /**< 1: catalog prices include tax (EU style); 0: tax is added (US style) */
} redstore_store_info;

/**
 * Creates a store, or updates its settings when it exists. Administrative: takes the store id
 * explicitly, and selects nothing.
 *
 * @return 0, REDSTORE_EINVALID (names the bad field), REDSTORE_ECONNECT
 */
REDSTORE_EXTERN(int) redstore_store_create(redstore_client *client, const redstore_store_info *info);

/**
 * Sets the rate of a tax class of the selected store (e.g. "standard" = 200000 ppm for 20 %).
 *
 * @param code      1-32 of [A-Za-z0-9_-]
 * @param rate_ppm  the rate in parts per million, 0..1000000
 * @return 0, REDSTORE_EINVALID, REDSTORE_ENOTFOUND (store does not exist)
 */
REDSTORE_EXTERN(int) redstore_store_set_tax_class(redstore_client *client, const char *code, int64_t rate_ppm);

/**
 * A product. As an input, every string is copied and NULL means "" (custom_json NULL means "{}"). As
 * an output (redstore_product_get...), the strings belong to the product object.
 */
typedef struct redstore_product {
	const char *REDSTORE_NULLABLE sku;          /**< 1-64 printable characters, no spaces; unique per store */
	const char *REDSTORE_NULLABLE barcode;      /**< "" or 1-64 of [0-9A-Za-z-]; unique per store */
	const char *REDSTORE_NULLABLE name;         /**< 1-200 characters */
	const char *REDSTORE_NULLABLE brand;        /**< 0-100 characters */
	const char *REDSTORE_NULLABLE category;     /**< 0-100 characters */
	/** must equal the store's currency; NULL or "" means the store's */
	const char *REDSTORE_NULLABLE currency;
	const char *REDSTORE_NULLABLE tax_class;    /**< a tax class of the store; "" means untaxed */
	const char *REDSTORE_NULLABLE custom_json;  /**< a JSON object of store-defined fields, at most 8 KiB */
	int64_t price;            /**< unit price in minor units (cents), 0..10^12 */
	int64_t low_stock_threshold; /**< low stock when available <= this (0 = never alert) */
	redstore_stock_policy stock_policy; /**< what a sale may do when stock is short */
	int active;               /**< 0: cannot be sold */
	int favourite;            /**< shown on quick-pick screens */
	int64_t version;          /**< output: increments with every change */
	int64_t updated_at_ms;    /**< output: time of the last change */
} redstore_product;

/**
 * Creates a product in the selected store (active unless p->active is 0 — pass 1 for a normal product).
 *
 * @return 0, REDSTORE_EINVALID (names the field), REDSTORE_EEXISTS (sku or barcode taken, named),
 *         REDSTORE_ENOTFOUND (unknown tax class or store)
 */
REDSTORE_EXTERN(int) redstore_product_create(redstore_client *client, const redstore_product *p);

/**
 * Replaces every field of an existing product (looked up by p->sku) with p's.
 *
 * @return 0, REDSTORE_EINVALID, REDSTORE_ENOTFOUND, REDSTORE_EEXISTS (barcode taken by another product)
 */
REDSTORE_EXTERN(int) redstore_product_update(redstore_client *client, const redstore_product *p);

/**
 * Deactivates a product: it stays in the catalog and its history, but cannot be sold.
 *
 * @return 0, REDSTORE_ENOTFOUND
 */
REDSTORE_EXTERN(int) redstore_product_deactivate(redstore_client *client, const char *sku);

/**
 * Looks a product up by SKU (cache first, PostgreSQL on a miss, which refills the cache).
 *
 * @param out  receives a product owned by the caller: free it with redstore_product_free()
 * @return 0, REDSTORE_ENOTFOUND (names the SKU)
 */
REDSTORE_EXTERN(int) redstore_product_get(redstore_product *REDSTORE_NULLABLE *REDSTORE_NONNULL out,
                                          redstore_client *client, const char *sku);

/** Like redstore_product_get(), by barcode. */
REDSTORE_EXTERN(int) redstore_product_get_by_barcode(redstore_product *REDSTORE_NULLABLE *REDSTORE_NONNULL out,
                                                     redstore_client *client, const char *barcode);

/** Frees a product returned by the library; NULL is a no-op. */
REDSTORE_EXTERN(void) redstore_product_free(redstore_product *REDSTORE_NULLABLE p);

/** Flags for redstore_product_list(). */
#define REDSTORE_LIST_INCLUDE_INACTIVE 0x1u /**< also list deactivated products */
#define REDSTORE_LIST_FAVOURITES_ONLY 0x2u  /**< only favourites */

/** One page of products, in SKU order. */
typedef struct redstore_product_page {
	size_t count;       /**< products on this page */
	redstore_product *REDSTORE_NONNULL *REDSTORE_NULLABLE items; /**< count products (NULL when none) */
	char *REDSTORE_NULLABLE next_cursor;  /**< pass to the next call, or NULL on the last page */
} redstore_product_page;

/**
 * Lists the selected store's products in SKU order, `limit` (1..1000) at a time.
 *
 * @param cursor  NULL for the first page, else the previous page's next_cursor
 * @param out     receives a page owned by the caller: free it with redstore_product_page_free()
 * @return 0, REDSTORE_EINVALID (bad limit or cursor)
 */
REDSTORE_EXTERN(int) redstore_product_list(redstore_product_page *REDSTORE_NULLABLE *REDSTORE_NONNULL out,
                                           redstore_client *client, const char *REDSTORE_NULLABLE cursor, size_t limit,
                                           unsigned flags);

/**
 * Like redstore_product_list(), keeping only the products that match `query`: its text appears, ignoring
 * case, in the SKU, name, brand or category, or it equals the barcode. Wildcards have no special meaning.
 * Pages and cursors work as in redstore_product_list().
 *
 * @param query  0-100 bytes of UTF-8 without control characters; NULL or "" lists every product
 * @return 0, REDSTORE_EINVALID (bad query, limit or cursor), or a PostgreSQL error
 */
REDSTORE_EXTERN(int) redstore_product_search(redstore_product_page *REDSTORE_NULLABLE *REDSTORE_NONNULL out,
                                             redstore_client *client, const char *REDSTORE_NULLABLE query,
                                             const char *REDSTORE_NULLABLE cursor, size_t limit, unsigned flags);

/** Frees a page and its products; NULL is a no-op. */
REDSTORE_EXTERN(void) redstore_product_page_free(redstore_product_page *REDSTORE_NULLABLE page);

/** Flags for redstore_catalog_import_csv(). */
#define REDSTORE_IMPORT_SKIP_BAD_ROWS 0x1u /**< import the good rows even when some rows are bad */

/** One bad row of an import. */
typedef struct redstore_import_error {
	size_t line;           /**< 1-based line number in the file (the header is line 1) */
	char message[240];     /**< what is wrong, naming the column */
} redstore_import_error;

/** What an import did. */
typedef struct redstore_import_report {
	size_t rows;           /**< data rows read */
	size_t created;        /**< new products */
	size_t updated;        /**< existing products changed */
	size_t error_count;    /**< bad rows listed in `errors` */
	redstore_import_error *REDSTORE_NULLABLE errors;  /**< error_count entries */
	int applied;           /**< 1 when the good rows were written */
} redstore_import_report;

/**
 * Imports products into the selected store from a CSV file (RFC 4180 quoting, UTF-8, header row). The
 * columns are named by the header: sku and name and price are required; barcode, brand, category,
 * tax_class, stock_policy (deny|allow), low_stock_threshold, active (0|1), favourite (0|1), custom_json
 * are optional. Existing SKUs are updated. The file is applied in one database transaction: with bad
 * rows, nothing changes unless REDSTORE_IMPORT_SKIP_BAD_ROWS is given.
 *
 * Prices are integers in minor units. An empty cell takes the column's default (barcode, brand,
 * category, tax_class: none; stock_policy: deny; low_stock_threshold: 0; active: 1; favourite: 0;
 * custom_json: {}); a column absent from the header keeps its value on existing products. A SKU or
 * barcode repeated in the file makes the later line bad; a barcode may move from one product of the
 * file to another. The report lists the first 1000 bad rows, then one line counting the others. One
 * catalog.imported event is emitted for the whole file.
 *
 * @param out  receives the report (also on REDSTORE_EINVALID, to show the bad rows); free it with
 *             redstore_import_report_free()
 * @return 0, REDSTORE_EINVALID (bad rows and no skip flag: nothing was written), REDSTORE_EIO (file),
 *         REDSTORE_ELIMIT (file larger than 64 MiB or more than 1,000,000 rows)
 */
REDSTORE_EXTERN(int) redstore_catalog_import_csv(redstore_import_report *REDSTORE_NULLABLE *REDSTORE_NONNULL out,
                                                 redstore_client *client, const char *path, unsigned flags);

/** Frees an import report; NULL is a no-op. */
REDSTORE_EXTERN(void) redstore_import_report_free(redstore_import_report *REDSTORE_NULLABLE report);

/**
 * Loads the selected store's whole catalog (products, barcodes, tax classes, settings) from PostgreSQL
 * into the Redis cache with pipelined writes.
 *
 * @param loaded  optional: receives the number of products loaded
 * @return 0, REDSTORE_ECONNECT
 */
REDSTORE_EXTERN(int) redstore_catalog_warm(redstore_client *client, size_t *REDSTORE_NULLABLE loaded);

REDSTORE_ASSUME_NONNULL_END
REDSTORE_END_DECLS

#endif
