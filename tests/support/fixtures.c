/* Store and product fixtures on the dev stack (a separate object: only suites that use it link it). */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

void rs_test_store(redstore_client *c, const char *prefix, char *store, int exclusive)
{
	redstore_store_info info = { NULL, "Test Store", "EUR", "Europe/Paris", !exclusive };
	rs_test_unique(store, 65, prefix);
	info.store_id = store;
	RS_OK(redstore_store_create(c, &info));
	RS_OK(redstore_client_use_store(c, store));
	RS_OK(redstore_store_set_tax_class(c, "standard", 200000));
	RS_OK(redstore_store_set_tax_class(c, "reduced", 55000));
}

void rs_test_product(redstore_client *c, const char *sku, int64_t price, const char *tax_class,
                     redstore_stock_policy policy, int64_t stock)
{
	redstore_product p;
	memset(&p, 0, sizeof(p));
	p.sku = sku;
	p.name = sku;
	p.price = price;
	p.tax_class = tax_class;
	p.stock_policy = policy;
	p.active = 1;
	RS_OK(redstore_product_create(c, &p));
	if (stock > 0) {
		redstore_stock_line line = { sku, stock, 100 };
		redstore_stock_result *r;
		RS_OK(redstore_stock_receive(&r, c, NULL, "test", 1, &line));
		ck_assert_int_eq(r->levels[0].on_hand, stock);
		redstore_stock_result_free(r);
	}
}

int64_t rs_test_available(redstore_client *c, const char *sku)
{
	redstore_stock_level l;
	RS_OK(redstore_stock_get(&l, c, 1, &sku));
	return l.available;
}


void rs_test_sell(redstore_client *c, const char *sku, int64_t qty, char *stream_id)
{
	redstore_sale *s;
	redstore_receipt *r;
	RS_OK(redstore_sale_new(&s, NULL));
	RS_OK(redstore_sale_add_line(s, sku, qty, NULL));
	RS_OK(redstore_sale_add_tender(s, REDSTORE_TENDER_CASH, 1000000, NULL));
	RS_OK(redstore_sale_commit(&r, c, s));
	if (stream_id)
		snprintf(stream_id, REDSTORE_STREAM_ID_SIZE, "%s", r->stream_id);
	redstore_receipt_free(r);
	redstore_sale_free(s);
}
