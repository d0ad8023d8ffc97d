/* redstore_sales_hourly against the real PostgreSQL: sales projected into the hourly rollup come back
 * summed per hour of the store-local day (Europe/Paris, UTC+2 in June), day boundaries in local time. */
#include "testutil.h"
#include "client.h"
#include "synth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 2026-06-15T00:00:00Z in ms. */
#define JUNE_15_UTC 1781481600000LL
#define HOUR_MS 3600000LL

/* Projects one synthetic sale of `store` that occurred at `ms`; adds its total and units to the sums. */
static void project_sale(redstore_client *c, const char *store, int i, int64_t ms, int64_t *total, int64_t *units)
{
	redstore_event *ev = NULL;
	const redstore_event *evs[1];
	size_t applied = 0;
	char *json = rs_synth_sale_event(c, store, i, ms, total);
	ck_assert_ptr_nonnull(json);
	RS_OK(redstore_event_decode(&ev, json, strlen(json)));
	evs[0] = ev;
	RS_OK(redstore_projector_apply(c, evs, 1, &applied));
	ck_assert_uint_eq(applied, 1);
	for (int l = 0; l < 3; l++)
		*units += 1 + (i + l) % 3; /* the quantities rs_synth_sale_event gives its lines */
	redstore_event_free(ev);
	free(json);
}

START_TEST(sales_hourly_sums_the_rollup_per_hour_of_the_store_local_day)
{
	redstore_client *c = rs_test_client();
	redstore_sales_hour h[REDSTORE_SALES_DAY_HOURS];
	int64_t t0 = 0, u0 = 0, t11 = 0, u11 = 0, t23 = 0, u23 = 0, other = 0, ignored = 0;
	char store[65];
	size_t n = 99;

	rs_test_store(c, "hourly", store, 0);
	/* Local 00:30 on the 15th is 22:30Z on the 14th: the first hour of the local day. */
	project_sale(c, store, 0, JUNE_15_UTC - 2 * HOUR_MS + 30 * 60000, &t0, &u0);
	/* Two sales in local 11:00-12:00 (09:xxZ) add up in one entry. */
	project_sale(c, store, 1, JUNE_15_UTC + 9 * HOUR_MS + 10 * 60000, &t11, &u11);
	project_sale(c, store, 2, JUNE_15_UTC + 9 * HOUR_MS + 50 * 60000, &t11, &u11);
	/* Local 23:59 is the last hour of the day. */
	project_sale(c, store, 3, JUNE_15_UTC + 21 * HOUR_MS + 59 * 60000, &t23, &u23);
	/* Local 23:59 on the 14th and 00:00 on the 16th belong to other days. */
	project_sale(c, store, 4, JUNE_15_UTC - 2 * HOUR_MS - 60000, &other, &ignored);
	project_sale(c, store, 5, JUNE_15_UTC + 22 * HOUR_MS, &other, &ignored);

	RS_OK(redstore_sales_hourly(h, REDSTORE_SALES_DAY_HOURS, &n, c, "2026-06-15"));
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(h[0].hour_ms, JUNE_15_UTC - 2 * HOUR_MS);
	ck_assert_str_eq(h[0].local, "00:00");
	ck_assert_int_eq(h[0].total, t0);
	ck_assert_int_eq(h[0].units, u0);
	ck_assert_int_eq(h[0].lines, 3);
	ck_assert_int_eq(h[1].hour_ms, JUNE_15_UTC + 9 * HOUR_MS);
	ck_assert_str_eq(h[1].local, "11:00");
	ck_assert_int_eq(h[1].total, t11);
	ck_assert_int_eq(h[1].units, u11);
	ck_assert_int_eq(h[1].lines, 6);
	ck_assert_int_eq(h[1].gross + h[1].tax - h[1].discount, t11); /* the synthetic lines add tax */
	ck_assert_str_eq(h[2].local, "23:00");
	ck_assert_int_eq(h[2].total, t23);
	ck_assert_int_eq(h[2].units, u23);

	/* The neighbouring days see only their own sale. */
	RS_OK(redstore_sales_hourly(h, REDSTORE_SALES_DAY_HOURS, &n, c, "2026-06-14"));
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(h[0].local, "23:00");
	other -= h[0].total;
	RS_OK(redstore_sales_hourly(h, REDSTORE_SALES_DAY_HOURS, &n, c, "2026-06-16"));
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(h[0].local, "00:00");
	ck_assert_int_eq(h[0].total, other); /* the two days' totals are the two other sales' */
	/* A day without sales is empty, not an error. */
	RS_OK(redstore_sales_hourly(h, REDSTORE_SALES_DAY_HOURS, &n, c, "2026-06-20"));
	ck_assert_uint_eq(n, 0);
	redstore_client_free(c);
}
END_TEST

START_TEST(sales_hourly_rejects_bad_input_with_a_clear_error)
{
	redstore_client *c = rs_test_client();
	redstore_sales_hour h[2];
	char store[65];
	size_t n = 99;

	RS_FAILS(REDSTORE_EINVALID, redstore_sales_hourly(h, 2, &n, c, "2026-13-01"));
	ck_assert_uint_eq(n, 0);
	RS_FAILS(REDSTORE_EINVALID, redstore_sales_hourly(h, 2, &n, c, "2026-06-15'; DROP TABLE x; --"));
	RS_FAILS(REDSTORE_EINVALID, redstore_sales_hourly(h, 2, &n, c, NULL));
	RS_FAILS(REDSTORE_EINVALID, redstore_sales_hourly(h, 2, NULL, c, "2026-06-15"));
	/* A store that was never created. */
	RS_OK(redstore_client_use_store(c, rs_test_unique(store, sizeof(store), "nostore")));
	RS_FAILS(REDSTORE_ENOTFOUND, redstore_sales_hourly(h, 2, &n, c, "2026-06-15"));
	ck_assert_ptr_nonnull(strstr(redstore_error_last(), store));

	/* Three hours do not fit in two entries: ELIMIT, nothing filled. */
	rs_test_store(c, "hourlim", store, 0);
	for (int i = 0; i < 3; i++) {
		int64_t t = 0, u = 0;
		project_sale(c, store, i, JUNE_15_UTC + (8 + i) * HOUR_MS, &t, &u);
	}
	RS_FAILS(REDSTORE_ELIMIT, redstore_sales_hourly(h, 2, &n, c, "2026-06-15"));
	ck_assert_uint_eq(n, 0);
	RS_OK(redstore_sales_hourly(h, 0, &n, c, "2026-06-16"));
	ck_assert_uint_eq(n, 0);
	redstore_client_free(c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("report");
	TCase *tc = tcase_create("hourly");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, sales_hourly_sums_the_rollup_per_hour_of_the_store_local_day);
	tcase_add_test(tc, sales_hourly_rejects_bad_input_with_a_clear_error);
	suite_add_tcase(s, tc);
	return rs_test_run(s);
}
