/* The reports on TimescaleDB (ctest timescale_reports, run by tests/timescale/run.sh): migration 0010
 * turns the sales tables into hypertables with two real-time continuous aggregates, the reports bucket
 * with time_bucket and read those aggregates, and every report gives the same rows as plain PostgreSQL
 * (the dev stack's) on the same random history. A store-scoped session reads only its own store's
 * aggregate rows.
 *
 * REDSTORE_TIMESCALE_URL names the TimescaleDB server (run.sh starts one of its own). The history is
 * projected into the dev stack's PostgreSQL, then its rows are copied with INSERTs: that server (PGlite's
 * build, see run.sh) cannot take COPY FROM STDIN over the wire, which the projector uses. */
#include "history.h"
#include "synth.h"
#include "testutil.h"
#include "engines/engines_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOUR_MS 3600000LL
#define DAY_MS (24 * HOUR_MS)

static redstore_client *timescale_client(void)
{
	redstore_config *cfg = rs_test_config();
	redstore_client *c;
	RS_OK(redstore_config_set(cfg, "database.url", rs_test_env("REDSTORE_TIMESCALE_URL")));
	RS_OK(redstore_client_new(&c, cfg));
	redstore_config_free(cfg);
	RS_OK(redstore_db_migrate(c, NULL));
	return c;
}

static const char *const store_tables[] = { "stores", "tax_classes", "products", "sales", "sale_lines",
	                                          "sale_tenders", NULL };

/* Copies the rows of `tables` (NULL-terminated) matching `where` ($1 = store, $2 = arg) between databases. */
static void copy_rows(redstore_client *from, redstore_client *to, const char *const *tables, const char *where,
                      const char *store, const char *arg)
{
	const char *p[2] = { store, arg };
	for (size_t t = 0; tables[t]; t++) {
		char sql[4096];
		PGresult *res;
		size_t len;
		int cols;
		snprintf(sql, sizeof(sql), "SELECT * FROM %s WHERE %s", tables[t], where);
		RS_OK(redstore__pg_exec(&res, from, sql, arg ? 2 : 1, p));
		cols = PQnfields(res);
		ck_assert_int_le(cols, 64);
		len = (size_t)snprintf(sql, sizeof(sql), "INSERT INTO %s (", tables[t]);
		for (int j = 0; j < cols; j++)
			len += (size_t)snprintf(sql + len, sizeof(sql) - len, "%s%s", j ? ", " : "", PQfname(res, j));
		len += (size_t)snprintf(sql + len, sizeof(sql) - len, ") VALUES (");
		for (int j = 0; j < cols; j++)
			len += (size_t)snprintf(sql + len, sizeof(sql) - len, "%s$%d", j ? ", " : "", j + 1);
		snprintf(sql + len, sizeof(sql) - len, ")");
		ck_assert_uint_lt(len + 2, sizeof(sql));
		for (int i = 0; i < PQntuples(res); i++) {
			const char *v[64];
			for (int j = 0; j < cols; j++)
				v[j] = PQgetisnull(res, i, j) ? NULL : PQgetvalue(res, i, j);
			RS_OK(redstore__pg_exec(NULL, to, sql, cols, v));
		}
		PQclear(res);
	}
}

/* A store's rows (the store, its tax classes and products, its sales history). */
static void copy_store(redstore_client *from, redstore_client *to, const char *store)
{
	copy_rows(from, to, store_tables, "store_id = $1", store, NULL);
}

/* Projects one more sale of the selected store at `when_ms` (whole seconds) into `pg` and copies its
 * rows to `ts`. */
static void late_sale(redstore_client *pg, redstore_client *ts, const char *store, int i, int64_t when_ms)
{
	static const char *const history[] = { "sales", "sale_lines", "sale_tenders", NULL };
	redstore_event *ev;
	char *json = rs_synth_sale_event(pg, store, i, when_ms, NULL), at[24];
	size_t applied;
	ck_assert_ptr_nonnull(json);
	RS_OK(redstore_event_decode(&ev, json, strlen(json)));
	free(json);
	RS_OK(redstore_projector_apply(pg, (const redstore_event *const *)&ev, 1, &applied));
	ck_assert_uint_eq(applied, 1);
	redstore_event_free(ev);
	snprintf(at, sizeof(at), "%lld", (long long)(when_ms / 1000));
	copy_rows(pg, ts, history, "store_id = $1 AND occurred_at = to_timestamp($2::bigint)", store, at);
}

/* Sales by hour and by product over [from, to) on both engines: the same rows; *rollups: whether
 * TimescaleDB's aggregates answered (both reports agree on it). */
static void compare(redstore_client *pg, redstore_client *ts, int64_t from, int64_t to, const char *what, int *rollups)
{
	for (int g = REDSTORE_GROUP_NONE; g <= REDSTORE_GROUP_PRODUCT; g++) {
		redstore_report_options o = { REDSTORE_BUCKET_HOUR, (redstore_group_by)g, 0 };
		redstore_sales_report *a, *p;
		RS_OK(redstore_report_sales(&a, ts, from, to, &o));
		RS_OK(redstore_report_sales(&p, pg, from, to, &o));
		ck_assert_int_eq(a->timescale, 1);
		rs_same_rows(a, p, what);
		if (g == REDSTORE_GROUP_NONE)
			*rollups = a->from_rollups;
		ck_assert_int_eq(a->from_rollups, *rollups);
		redstore_sales_report_free(a);
		redstore_sales_report_free(p);
	}
}

static void refresh(redstore_client *ts)
{
	RS_OK(redstore__pg_exec(NULL, ts, "CALL refresh_continuous_aggregate('sales_hourly_cagg', NULL, NULL)", 0, NULL));
	RS_OK(redstore__pg_exec(NULL, ts, "CALL refresh_continuous_aggregate('sales_hourly_totals_cagg', NULL, NULL)", 0,
	                        NULL));
}

static long long scalar(redstore_client *c, const char *sql)
{
	PGresult *res;
	long long v;
	RS_OK(redstore__pg_exec(&res, c, sql, 0, NULL));
	v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return v;
}

START_TEST(timescale_reports_use_time_bucket_and_continuous_aggregates_with_the_same_rows_as_postgresql)
{
	redstore_client *pg = rs_test_client(), *ts = timescale_client();
	char store[65];
	int64_t end = (redstore__wall_ms() / HOUR_MS) * HOUR_MS, from = end - 40 * DAY_MS;
	static const redstore_bucket buckets[] = { REDSTORE_BUCKET_15MIN, REDSTORE_BUCKET_HOUR, REDSTORE_BUCKET_DAY,
		                                       REDSTORE_BUCKET_WEEK, REDSTORE_BUCKET_MONTH, REDSTORE_BUCKET_ALL };
	/* the schema on TimescaleDB: three hypertables, two continuous aggregates */
	ck_assert_int_eq(scalar(ts, "SELECT count(*) FROM timescaledb_information.hypertables WHERE hypertable_name"
	                            " IN ('sales', 'sale_lines', 'sale_tenders')"), 3);
	ck_assert_int_eq(scalar(ts, "SELECT count(*) FROM timescaledb_information.continuous_aggregates WHERE view_name"
	                            " IN ('sales_hourly_cagg', 'sales_hourly_totals_cagg') AND NOT materialized_only"), 2);
	/* the same history (same seed) in both; Paris: whole-hour offsets and a DST change in 40 days at most */
	rs_history_store(pg, "Europe/Paris", store, 500, 38, end, 11);
	copy_store(pg, ts, store);
	RS_OK(redstore_client_use_store(ts, store));
	for (size_t b = 0; b < sizeof(buckets) / sizeof(buckets[0]); b++)
		for (int g = REDSTORE_GROUP_NONE; g <= REDSTORE_GROUP_TENDER; g++) {
			redstore_report_options o = { buckets[b], (redstore_group_by)g, 0 };
			redstore_sales_report *a, *r, *p;
			char what[64];
			RS_OK(redstore_report_sales(&a, ts, from, end, &o));
			RS_OK(redstore_report_sales(&p, pg, from, end, &o));
			o.force_raw = 1;
			RS_OK(redstore_report_sales(&r, ts, from, end, &o));
			ck_assert_int_eq(a->timescale, 1);
			ck_assert_int_eq(r->timescale, 1);
			ck_assert_int_eq(p->timescale, 0);
			/* the aggregates answer exactly where the projector's rollups do */
			ck_assert_int_eq(a->from_rollups, p->from_rollups);
			ck_assert_uint_gt(a->count, 0);
			snprintf(what, sizeof(what), "bucket %d group %d: TimescaleDB vs PostgreSQL", (int)buckets[b], g);
			rs_same_rows(a, p, what);
			snprintf(what, sizeof(what), "bucket %d group %d: aggregates vs raw", (int)buckets[b], g);
			rs_same_rows(a, r, what);
			redstore_sales_report_free(a);
			redstore_sales_report_free(r);
			redstore_sales_report_free(p);
		}
	for (int by = REDSTORE_RANK_UNITS; by <= REDSTORE_RANK_REVENUE; by++) {
		redstore_sales_report *a, *p;
		RS_OK(redstore_report_top_products(&a, ts, from, end, (redstore_rank_by)by, 0, 10));
		RS_OK(redstore_report_top_products(&p, pg, from, end, (redstore_rank_by)by, 0, 10));
		ck_assert_int_eq(a->timescale, 1);
		ck_assert_int_eq(a->from_rollups, 1);
		ck_assert_uint_eq(a->count, 10);
		rs_same_rows(a, p, "top 10");
		redstore_sales_report_free(a);
		redstore_sales_report_free(p);
	}
	/* materialized or not, the answer is the same: refresh (the aggregates now hold every hour), ask again */
	{
		int rollups;
		refresh(ts);
		ck_assert_int_gt(scalar(ts, "SELECT count(*) FROM _timescaledb_catalog.continuous_aggs_watermark"), 0);
		compare(pg, ts, from, end, "after a refresh", &rollups);
		ck_assert_int_eq(rollups, 1);
	}
	/* A sale written late, below the watermark (an offline till's, say): TimescaleDB would leave it out
	 * of the materialized hour until the next refresh, so the reports over that hour read the raw lines
	 * meanwhile; ranges it does not touch still come from the aggregates; after a refresh, them again. */
	{
		int64_t late = ((end - 10 * DAY_MS) / 1000 + 1234) * 1000;
		int rollups;
		late_sale(pg, ts, store, 100000, late);
		compare(pg, ts, from, end, "a late sale, before the refresh", &rollups);
		ck_assert_int_eq(rollups, 0);
		compare(pg, ts, end - 5 * DAY_MS, end, "a range the late sale does not touch", &rollups);
		ck_assert_int_eq(rollups, 1);
		refresh(ts);
		compare(pg, ts, from, end, "a late sale, after the refresh", &rollups);
		ck_assert_int_eq(rollups, 1);
	}
	redstore_client_free(pg);
	redstore_client_free(ts);
}
END_TEST

START_TEST(timescale_a_store_scoped_session_reads_only_its_store_from_the_aggregates)
{
	redstore_client *pg = rs_test_client(), *ts = timescale_client();
	char a[65], b[65];
	const char *p[1];
	PGresult *res;
	int64_t end = (redstore__wall_ms() / HOUR_MS) * HOUR_MS;
	rs_history_store(pg, "UTC", a, 40, 3, end, 3);
	rs_history_store(pg, "UTC", b, 40, 3, end, 4);
	copy_store(pg, ts, a);
	copy_store(pg, ts, b);
	refresh(ts); /* the views read the aggregates as they are: materialize what is below the watermark */
	/* as the service: both stores */
	{
		const char *two[2] = { a, b };
		RS_OK(redstore__pg_exec(&res, ts, "SELECT count(DISTINCT store_id) FROM sales_hourly_totals_ts"
		                                  " WHERE store_id IN ($1, $2)", 2, two));
		ck_assert_str_eq(PQgetvalue(res, 0, 0), "2");
		PQclear(res);
	}
	p[0] = a;
	/* as redstore_store in store a: a's rows only, and no way around the views */
	RS_OK(redstore__pg_exec(NULL, ts, "SELECT set_config('redstore.store_id', $1, false)", 1, p));
	RS_OK(redstore__pg_exec(NULL, ts, "SET ROLE redstore_store", 0, NULL));
	ck_assert_int_eq(scalar(ts, "SELECT count(DISTINCT store_id) FROM sales_hourly_ts"), 1);
	ck_assert_int_eq(scalar(ts, "SELECT count(DISTINCT store_id) FROM sales_hourly_totals_ts"), 1);
	RS_OK(redstore__pg_exec(&res, ts, "SELECT min(store_id) FROM sales_hourly_ts", 0, NULL));
	ck_assert_str_eq(PQgetvalue(res, 0, 0), a);
	PQclear(res);
	RS_FAILS(REDSTORE_EPERM, redstore__pg_exec(NULL, ts, "SELECT count(*) FROM sales_hourly_cagg", 0, NULL));
	RS_OK(redstore__pg_exec(NULL, ts, "RESET ROLE", 0, NULL));
	RS_OK(redstore__pg_exec(NULL, ts, "RESET redstore.store_id", 0, NULL));
	/* the service again: b's rows are there */
	p[0] = b;
	RS_OK(redstore__pg_exec(&res, ts, "SELECT count(*) FROM sales_hourly_ts WHERE store_id = $1", 1, p));
	ck_assert_int_gt(strtoll(PQgetvalue(res, 0, 0), NULL, 10), 0);
	PQclear(res);
	redstore_client_free(pg);
	redstore_client_free(ts);
}
END_TEST

static Suite *timescale_suite(void)
{
	Suite *s = suite_create("timescale");
	TCase *t = tcase_create("timescale");
	tcase_set_timeout(t, 300);
	tcase_add_test(t, timescale_reports_use_time_bucket_and_continuous_aggregates_with_the_same_rows_as_postgresql);
	tcase_add_test(t, timescale_a_store_scoped_session_reads_only_its_store_from_the_aggregates);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	return rs_test_run(timescale_suite());
}
