/* Sales history for the report suites (see history.h). */
#include "history.h"
#include "synth.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rs_history_store(redstore_client *c, const char *tz, char *store, int n, int days, int64_t end_ms,
                      unsigned seed)
{
	redstore_store_info info = { NULL, "Analytics", "EUR", tz, 1 };
	static const char *const categories[] = { "coffee", "tea", "bakery", "" };
	static const char *const brands[] = { "Acme", "Bean", "" };
	char **json = calloc((size_t)n, sizeof(*json));
	ck_assert_ptr_nonnull(json);
	rs_test_unique(store, 65, "an");
	info.store_id = store;
	RS_OK(redstore_store_create(c, &info));
	RS_OK(redstore_client_use_store(c, store));
	for (int i = 0; i < 20; i++) {
		redstore_product p;
		char sku[16];
		memset(&p, 0, sizeof(p));
		snprintf(sku, sizeof(sku), "SKU-%05d", i * 7); /* some of the SKUs the sales use; the rest are unknown */
		p.sku = sku;
		p.name = sku;
		p.price = 100;
		p.tax_class = "";
		p.category = categories[i % 4];
		p.brand = brands[i % 3];
		p.active = 1;
		RS_OK(redstore_product_create(c, &p));
	}
	for (int i = 0; i < n; i++) {
		int64_t when = end_ms - (int64_t)(rand_r(&seed) % (unsigned)(days * 24 * 60)) * 60000 -
		               (int64_t)(rand_r(&seed) % 60000);
		json[i] = rand_r(&seed) % 10 == 0 ? rs_synth_refund_event(c, store, i, when, NULL)
		                                    : rs_synth_sale_event(c, store, i, when, NULL);
	}
	rs_history_project(c, json, n);
}

void rs_history_project(redstore_client *c, char **json, int n)
{
	redstore_event **ev = calloc((size_t)n, sizeof(*ev));
	size_t applied;
	ck_assert_ptr_nonnull(ev);
	for (int i = 0; i < n; i++) {
		ck_assert_ptr_nonnull(json[i]);
		RS_OK(redstore_event_decode(&ev[i], json[i], strlen(json[i])));
		free(json[i]);
	}
	free(json);
	RS_OK(redstore_projector_apply(c, (const redstore_event *const *)ev, (size_t)n, &applied));
	ck_assert_uint_eq(applied, (size_t)n);
	for (int i = 0; i < n; i++)
		redstore_event_free(ev[i]);
	free(ev);
}

void rs_same_rows(const redstore_sales_report *a, const redstore_sales_report *b, const char *what)
{
	ck_assert_msg(a->count == b->count, "%s: %zu rows from rollups, %zu raw", what, a->count, b->count);
	for (size_t i = 0; i < a->count; i++) {
		const redstore_sales_row *x = &a->rows[i], *y = &b->rows[i];
		ck_assert_msg(!strcmp(x->bucket, y->bucket) && !strcmp(x->key, y->key), "%s row %zu: %s/%s vs %s/%s", what, i,
		              x->bucket, x->key, y->bucket, y->key);
		ck_assert_msg(x->units == y->units && x->gross == y->gross && x->discount == y->discount && x->tax == y->tax &&
		                  x->total == y->total && x->refunded_units == y->refunded_units && x->refunds == y->refunds &&
		                  x->lines == y->lines,
		              "%s row %zu (%s %s): sums differ (units %lld/%lld total %lld/%lld refunds %lld/%lld)", what, i,
		              x->bucket, x->key, (long long)x->units, (long long)y->units, (long long)x->total,
		              (long long)y->total, (long long)x->refunds, (long long)y->refunds);
	}
}
