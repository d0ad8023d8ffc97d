/*
 * bench/analytics: report latency on a realistic history. Generates 10 million sale lines over 90 days
 * for 50 stores (in a scratch database, dropped at the end), builds the per-hour rollups from them as
 * the projector would, then times, median of 9 runs after a warm-up:
 *   - the hourly sales report of one store over 30 days (redstore_report_sales, from the rollups),
 *   - the top-10 products of one store for a month (redstore_report_top_products),
 *   - the same hourly report from the raw lines (force_raw), for comparison.
 *
 *   bench-analytics [--lines N] [--stores S] [--days D]
 *
 * Needs the REDSTORE_* environment of a dev stack, including REDSTORE_ADMIN_DATABASE_URL (to create and
 * drop the scratch database). Last line:
 *   RESULT analytics hourly_ms=<x> top10_ms=<x> raw_hourly_ms=<x>
 */
#include "common.h"
#include "engines/engines_int.h"
#include "core/core_int.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static long opt_lines = 10000000;
static int opt_stores = 50, opt_days = 90;

static void exec_sql(redstore_client *c, const char *sql)
{
	bench_check(redstore__pg_script(c, sql), sql);
}

/* The database URL with its database name replaced by `db`. */
static void url_with_db(char *out, size_t cap, const char *url, const char *db)
{
	const char *q = strchr(url, '?'), *slash = NULL;
	for (const char *p = strstr(url, "://") ? strstr(url, "://") + 3 : url; *p && p != q; p++)
		if (*p == '/')
			slash = p;
	if (!slash)
		snprintf(out, cap, "%s/%s%s", url, db, q ? q : "");
	else
		snprintf(out, cap, "%.*s/%s%s", (int)(slash - url), url, db, q ? q : "");
}

static double time_ms(redstore_client *c, int which, int64_t from, int64_t to, int *rollups)
{
	redstore_sales_report *r;
	redstore_report_options o = { REDSTORE_BUCKET_HOUR, REDSTORE_GROUP_NONE, which == 2 };
	int64_t t0 = bench_now_us();
	if (which == 1)
		bench_check(redstore_report_top_products(&r, c, from, to, REDSTORE_RANK_REVENUE, 0, 10), "top 10");
	else
		bench_check(redstore_report_sales(&r, c, from, to, &o), "hourly report");
	*rollups = r->from_rollups;
	redstore_sales_report_free(r);
	return (double)(bench_now_us() - t0) / 1000.0;
}

int main(int argc, char **argv)
{
	redstore_config *cfg, *admin_cfg;
	redstore_client *admin, *c;
	const char *admin_url = getenv("REDSTORE_ADMIN_DATABASE_URL"), *url;
	char db[64], scratch[512], sql[2048];
	const char *names[3] = { "hourly (rollups)", "top 10 (rollups)", "hourly (raw lines)" };
	double med[3];
	int64_t t0, hour = 3600000, to, from;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--lines") && i + 1 < argc)
			opt_lines = atol(argv[++i]);
		else if (!strcmp(argv[i], "--stores") && i + 1 < argc)
			opt_stores = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--days") && i + 1 < argc)
			opt_days = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: %s [--lines N] [--stores S] [--days D]\n", argv[0]);
			return 2;
		}
	}
	if (opt_lines < 1000 || opt_lines > 200000000 || opt_stores < 1 || opt_stores > 10000 || opt_days < 31 ||
	    opt_days > 1000) {
		fprintf(stderr, "bench-analytics: --lines 1000..2e8, --stores 1..10000, --days 31..1000\n");
		return 2;
	}
	if (!admin_url) {
		fprintf(stderr, "bench-analytics: REDSTORE_ADMIN_DATABASE_URL is needed (a scratch database)\n");
		return 2;
	}
	bench_print_machine();
	bench_check(redstore_config_new(&cfg), "config");
	bench_check(redstore_config_load_env(cfg), "config from environment");
	bench_check(redstore_config_new(&admin_cfg), "config");
	bench_check(redstore_config_load_env(admin_cfg), "config from environment");
	bench_check(redstore_config_set(admin_cfg, "database.url", admin_url), "admin url");
	bench_check(redstore_config_set(admin_cfg, "database.command_timeout_ms", "3600000"), "timeout");
	bench_check(redstore_config_set(cfg, "database.command_timeout_ms", "3600000"), "timeout");
	bench_check(redstore_client_new(&admin, admin_cfg), "admin client");
	snprintf(db, sizeof(db), "redstore_bench_analytics_%d", (int)getpid());
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s OWNER redstore", db);
	exec_sql(admin, sql);
	url = redstore__config_str(cfg, REDSTORE_CFG_DATABASE_URL);
	url_with_db(scratch, sizeof(scratch), url, db);
	bench_check(redstore_config_set(cfg, "database.url", scratch), "scratch url");
	bench_check(redstore_client_new(&c, cfg), "client");
	bench_check(redstore_db_migrate(c, NULL), "migrate");

	t0 = bench_now_us();
	snprintf(sql, sizeof(sql),
	         "INSERT INTO stores (store_id, name, timezone) SELECT 'st' || s, 'Store ' || s, 'Europe/Paris'"
	         " FROM generate_series(0, %d) s;"
	         "SELECT redstore_ensure_month_partitions(now() - interval '%d days', %d);"
	         "INSERT INTO sale_lines (store_id, sale_id, line_no, occurred_at, kind, sku, name, qty, unit_price, gross,"
	         " discount, net, tax, total, tax_class, tax_rate_ppm)"
	         " SELECT 'st' || (g %% %d), md5(g::text)::uuid, 0, now() - random() * interval '%d days',"
	         " CASE WHEN g %% 25 = 0 THEN 'refund' ELSE 'sale' END, 'SKU-' || lpad((g * 7 %% 1000)::text, 5, '0'),"
	         " 'Product', q, p, q * p, 0, q * p, q * p / 5, q * p + q * p / 5, 'standard', 200000"
	         " FROM generate_series(1, %ld) g, LATERAL (SELECT 1 + g %% 3 AS q, 100 + g %% 900 AS p) x",
	         opt_stores - 1, opt_days + 31, opt_days / 30 + 3, opt_stores, opt_days, opt_lines);
	exec_sql(c, sql);
	printf("generated %ld sale lines over %d days for %d stores in %.1f s\n", opt_lines, opt_days, opt_stores,
	       (double)(bench_now_us() - t0) / 1e6);
	t0 = bench_now_us();
	exec_sql(c, "INSERT INTO sales_hourly (store_id, hour, sku, units, refunded_units, gross, discount, tax, total,"
	            " refunds, lines) SELECT store_id, date_trunc('hour', occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',"
	            " sku, sum(CASE WHEN kind = 'sale' THEN qty ELSE 0 END), sum(CASE WHEN kind = 'sale' THEN 0 ELSE qty END),"
	            " sum(CASE WHEN kind = 'sale' THEN gross ELSE 0 END), sum(CASE WHEN kind = 'sale' THEN discount ELSE 0 END),"
	            " sum(CASE WHEN kind = 'sale' THEN tax ELSE 0 END), sum(CASE WHEN kind = 'sale' THEN total ELSE 0 END),"
	            " sum(CASE WHEN kind = 'sale' THEN 0 ELSE total END), count(*) FROM sale_lines GROUP BY 1, 2, 3");
	exec_sql(c, "INSERT INTO sales_hourly_totals (store_id, hour, units, refunded_units, gross, discount, tax, total,"
	            " refunds, lines) SELECT store_id, hour, sum(units), sum(refunded_units), sum(gross), sum(discount),"
	            " sum(tax), sum(total), sum(refunds), sum(lines) FROM sales_hourly GROUP BY store_id, hour");
	exec_sql(c, "VACUUM ANALYZE sale_lines"); /* one statement each: VACUUM runs outside a transaction */
	exec_sql(c, "VACUUM ANALYZE sales_hourly_totals");
	exec_sql(c, "VACUUM ANALYZE sales_hourly");
	printf("rollups built and analysed in %.1f s\n", (double)(bench_now_us() - t0) / 1e6);

	bench_check(redstore_client_use_store(c, "st7"), "store");
	to = (redstore__wall_ms() / hour) * hour;
	from = to - 30 * 24 * hour;
	for (int which = 0; which < 3; which++) {
		double runs[9];
		int rollups = 0;
		time_ms(c, which, from, to, &rollups); /* warm-up */
		for (int i = 0; i < 9; i++)
			runs[i] = time_ms(c, which, from, to, &rollups);
		med[which] = bench_median(runs, 9);
		printf("%-20s median %.2f ms (min %.2f, max %.2f) over 9 runs; answered from %s\n", names[which], med[which],
		       runs[0], runs[8], rollups ? "the rollups" : "raw lines");
	}
	redstore_client_free(c);
	snprintf(sql, sizeof(sql), "DROP DATABASE %s", db);
	exec_sql(admin, sql);
	redstore_client_free(admin);
	redstore_config_free(admin_cfg);
	redstore_config_free(cfg);
	printf("RESULT analytics hourly_ms=%.2f top10_ms=%.2f raw_hourly_ms=%.2f\n", med[0], med[1], med[2]);
	return 0;
}
