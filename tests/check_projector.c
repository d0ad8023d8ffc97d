/* The projector: events from the write path land in PostgreSQL exactly once, and the ledger reconciles
 * with Redis. Each test has its own topic prefix. */
#include "testutil.h"
#include "client.h"

#include <stdio.h>
#include <string.h>

static int apply(const redstore_event *const *events, size_t n, void *payload)
{
	return redstore_projector_apply(payload, events, n, NULL);
}

static int64_t scalar(redstore_client *c, const char *sql, const char *store)
{
	PGresult *res;
	int64_t v;
	const char *p[1] = { store };
	RS_OK(redstore__pg_exec(&res, c, sql, 1, p));
	v = PQntuples(res) && !PQgetisnull(res, 0, 0) ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
	PQclear(res);
	return v;
}

START_TEST(projector_writes_sales_ledger_levels_and_rollups_exactly_once_and_reconciles)
{
	static const char *const skus[] = { "P1", "P2", "P3" };
	redstore_config *cfg = rs_test_config();
	redstore_client *c, *db;
	redstore_consumer *k;
	redstore_consumer_options o = { NULL, NULL, 100, 3 };
	char prefix[64], group[64], store[65];
	int64_t deadline, total = 0;
	redstore_receipt *sale0 = NULL;

	rs_test_unique(prefix, sizeof(prefix), "pj");
	for (char *q = prefix; *q; q++)
		if (*q == '-')
			*q = '_';
	strcat(prefix, ".");
	RS_OK(redstore_config_set(cfg, "kafka.topic_prefix", prefix));
	RS_OK(redstore_config_set(cfg, "kafka.metadata_refresh_ms", "1000"));
	RS_OK(redstore_client_new(&c, cfg));
	RS_OK(redstore_client_new(&db, cfg));
	rs_test_store(c, "proj", store, 0);
	for (int i = 0; i < 3; i++)
		rs_test_product(c, skus[i], 100 * (i + 1), "standard", REDSTORE_STOCK_DENY, 50);
	for (int i = 0; i < 20; i++) {
		redstore_sale *s;
		redstore_receipt *r;
		RS_OK(redstore_sale_new(&s, NULL));
		RS_OK(redstore_sale_add_line(s, skus[i % 3], 1 + i % 2, NULL));
		RS_OK(redstore_sale_add_line(s, skus[(i + 1) % 3], 1, NULL));
		RS_OK(redstore_sale_add_tender(s, REDSTORE_TENDER_CASH, 100000, NULL));
		RS_OK(redstore_sale_commit(&r, c, s));
		total += r->total;
		if (i == 0)
			sale0 = r;
		else
			redstore_receipt_free(r);
		redstore_sale_free(s);
	}
	{
		redstore_refund_line one = { 0, 1 };
		redstore_receipt *r;
		redstore_stock_result *res;
		redstore_stock_line counted = { "P3", 7, 0 };
		RS_OK(redstore_sale_refund(&r, c, NULL, sale0->sale_id, 1, &one, 1, REDSTORE_TENDER_CASH, NULL));
		redstore_receipt_free(r);
		RS_OK(redstore_stock_adjust(&res, c, NULL, "P2", -2, REDSTORE_ADJUST_DAMAGE, "crushed"));
		redstore_stock_result_free(res);
		RS_OK(redstore_stock_count(&res, c, NULL, 1, &counted));
		redstore_stock_result_free(res);
	}
	rs_test_unique(group, sizeof(group), "projector");
	o.group_id = group;
	RS_OK(redstore_consumer_new(&k, c, &o));
	RS_OK(redstore_consumer_on_batch(k, apply, db));
	/* Project until PostgreSQL holds what Redis holds for every SKU (bounded). */
	deadline = redstore__now_us() + 60000000;
	for (;;) {
		bool same = scalar(db, "SELECT count(*) FROM sales WHERE store_id = $1", store) == 21;
		for (int i = 0; same && i < 3; i++) {
			char sql[200];
			snprintf(sql, sizeof(sql), "SELECT sum(delta) FROM stock_ledger WHERE store_id = $1 AND sku = '%s'", skus[i]);
			same = scalar(db, sql, store) == rs_test_available(c, skus[i]);
		}
		if (same)
			break;
		ck_assert_msg(redstore__now_us() < deadline, "projection did not catch up within 60 s");
		RS_OK(redstore_consumer_poll(k, 200, NULL));
		RS_OK(redstore_consumer_commit(k));
	}
	/* The projected levels equal the ledger's balance and Redis. */
	for (int i = 0; i < 3; i++) {
		char sql[200];
		snprintf(sql, sizeof(sql), "SELECT on_hand FROM stock_levels WHERE store_id = $1 AND sku = '%s'", skus[i]);
		ck_assert_int_eq(scalar(db, sql, store), rs_test_available(c, skus[i]));
	}
	ck_assert_int_eq(scalar(db, "SELECT sum(total) FROM sales WHERE store_id = $1 AND kind = 'sale'", store), total);
	ck_assert_int_eq(scalar(db, "SELECT count(*) FROM sale_lines WHERE store_id = $1 AND kind = 'sale'", store), 40);
	ck_assert_int_eq(scalar(db, "SELECT count(*) FROM sale_tenders WHERE store_id = $1", store), 21);
	ck_assert_int_eq(scalar(db, "SELECT sum(units) FROM sales_hourly WHERE store_id = $1", store),
	                 scalar(db, "SELECT sum(qty) FROM sale_lines WHERE store_id = $1 AND kind = 'sale'", store));
	ck_assert_int_eq(scalar(db, "SELECT sum(total) FROM sales_hourly WHERE store_id = $1", store), total);
	ck_assert_int_eq(scalar(db, "SELECT count(*) FROM stock_ledger WHERE store_id = $1 AND reason = 'damage'", store), 1);
	redstore_consumer_free(k);
	/* Everything again, from the start, with another group: nothing changes. */
	rs_test_unique(group, sizeof(group), "replay");
	RS_OK(redstore_consumer_new(&k, c, &o));
	RS_OK(redstore_consumer_on_batch(k, apply, db));
	{
		int64_t before = scalar(db, "SELECT count(*) FROM stock_ledger WHERE store_id = $1", store);
		size_t handled = 0, sum = 0;
		deadline = redstore__now_us() + 30000000;
		while (sum < 25 && redstore__now_us() < deadline) {
			RS_OK(redstore_consumer_poll(k, 200, &handled));
			sum += handled;
		}
		ck_assert_uint_ge(sum, 25);
		ck_assert_int_eq(scalar(db, "SELECT count(*) FROM stock_ledger WHERE store_id = $1", store), before);
		ck_assert_int_eq(scalar(db, "SELECT count(*) FROM sales WHERE store_id = $1", store), 21);
	}
	/* The ledger is append-only. */
	RS_FAILS(REDSTORE_EDB, redstore__pg_exec(NULL, db, "DELETE FROM stock_ledger WHERE store_id = 'x'", 0, NULL));
	redstore_consumer_free(k);
	redstore_receipt_free(sale0);
	redstore_client_free(db);
	redstore_client_free(c);
	redstore_config_free(cfg);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("projector");
	TCase *tc = tcase_create("projector");
	/* Waits for a consumer group to catch up within wall-clock bounds: not under valgrind. */
	tcase_set_tags(tc, "timing");
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, projector_writes_sales_ledger_levels_and_rollups_exactly_once_and_reconciles);
	suite_add_tcase(s, tc);
	return rs_test_run(s);
}
