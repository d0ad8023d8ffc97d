/* Internal catalog access for the write path (sale pricing, inventory checks). */
#ifndef REDSTORE_LIB_CATALOG_H
#define REDSTORE_LIB_CATALOG_H

#include "engines/engines_int.h"

/* A product as the write path needs it, read from the Redis cache (PostgreSQL on a miss). */
typedef struct redstore__item {
	char sku[65];
	char barcode[65];
	char name[201];
	int64_t price;
	char tax_class[33];
	int64_t tax_rate_ppm;      /* resolved from the store's tax classes; 0 when untaxed */
	redstore_stock_policy policy;
	int64_t low_stock_threshold;
	int active;
} redstore__item;

/* A store's settings as the write path needs them. */
typedef struct redstore__store_meta {
	char name[201];
	char currency[4];
	char timezone[64];
	int prices_include_tax;
} redstore__store_meta;

/* Resolves n product codes of the selected store in one pipelined round trip (cache misses are read
 * from PostgreSQL and cached). codes[i] is a SKU, or a barcode when by_barcode[i] is true (by_barcode
 * may be NULL). Fills items[i]. Returns 0, or REDSTORE_ENOTFOUND naming the first unknown code.
 * Inactive products are returned with active = 0 (the caller decides). */
int redstore__catalog_resolve(redstore__item *items, redstore_client *c, size_t n, const char *const *codes,
                              const bool *by_barcode);

/* Reads the selected store's settings (cache, then PostgreSQL). REDSTORE_ENOTFOUND if no such store. */
int redstore__store_meta_get(redstore__store_meta *out, redstore_client *c);

/* Checks a SKU: 1-64 printable non-space characters. Returns 0 or REDSTORE_EINVALID naming `what`. */
int redstore__check_sku(const char *sku, const char *what);

#endif
