/* Sales reports from the projected history: per-hour rollups where they answer, raw lines otherwise. */
#include "reports/reports_priv.h"
#include "security/security_int.h"

#include <stdio.h>

#define HOUR_MS 3600000LL
#define MAX_RANGE_MS (3LL * 366 * 24 * HOUR_MS)

/* The bucket of a local timestamp expression `t`, as SQL; on TimescaleDB with time_bucket (its default
 * origin, Monday 2000-01-03, puts weeks on Mondays and 15-minute buckets on the same grid as date_bin). */
static const char *bucket_sql(redstore_bucket b, bool timescale)
{
	if (timescale && b != REDSTORE_BUCKET_ALL) {
		static const char *const tb[] = { "time_bucket('15 minutes', %s)", "time_bucket('1 hour', %s)",
			                              "time_bucket('1 day', %s)", "time_bucket('1 week', %s)",
			                              "time_bucket('1 month', %s)" };
		return (unsigned)b < sizeof(tb) / sizeof(tb[0]) ? tb[b] : NULL;
	}
	switch (b) {
	case REDSTORE_BUCKET_15MIN:
		return "date_bin('15 minutes', %s, TIMESTAMP '2000-01-01')";
	case REDSTORE_BUCKET_HOUR:
		return "date_trunc('hour', %s)";
	case REDSTORE_BUCKET_DAY:
		return "date_trunc('day', %s)";
	case REDSTORE_BUCKET_WEEK:
		return "date_trunc('week', %s)";
	case REDSTORE_BUCKET_MONTH:
		return "date_trunc('month', %s)";
	case REDSTORE_BUCKET_ALL:
		return "CASE WHEN %s IS NULL THEN NULL::timestamp END"; /* one bucket; still names $4 */
	}
	return NULL;
}

static const char *const sums =
	"sum(CASE WHEN kind = 'sale' THEN qty ELSE 0 END), sum(CASE WHEN kind = 'sale' THEN gross ELSE 0 END),"
	" sum(CASE WHEN kind = 'sale' THEN discount ELSE 0 END), sum(CASE WHEN kind = 'sale' THEN tax ELSE 0 END),"
	" sum(CASE WHEN kind = 'sale' THEN total ELSE 0 END), sum(CASE WHEN kind = 'sale' THEN 0 ELSE qty END),"
	" sum(CASE WHEN kind = 'sale' THEN 0 ELSE total END), count(*)";

static const char *const rollup_sums = "sum(units), sum(gross), sum(discount), sum(tax), sum(total),"
                                       " sum(refunded_units), sum(refunds), sum(lines)";

int redstore__report_range_check(const char *what, int64_t from_ms, int64_t to_ms)
{
	if (from_ms < 0 || to_ms <= from_ms || to_ms - from_ms > MAX_RANGE_MS)
		return redstore__fail(REDSTORE_EINVALID, "%s: the range [%lld, %lld) must be non-empty, at most 3 years",
		                      what, (long long)from_ms, (long long)to_ms);
	return 0;
}

/* Which rollups answer the range [$2, $3) now, as one SQL column (lib/engines/sql/0010_timescale_rollups.sql):
 * NULL on plain PostgreSQL, t/f on TimescaleDB (its aggregates exact for the range, or not). */
#define ROLLUPS_SQL "redstore_rollups_current(to_timestamp($2::bigint / 1000.0), to_timestamp($3::bigint / 1000.0))"

/* That column: *timescale = the schema has TimescaleDB's aggregates, *current = they are exact now. */
static void rollups_engine(const PGresult *res, int col, bool *timescale, bool *current)
{
	*timescale = !PQgetisnull(res, 0, col);
	*current = *timescale && !strcmp(PQgetvalue(res, 0, col), "t");
}

/* The store's time zone, whether local hours coincide with UTC hours over the range (every offset
 * a whole number of hours: checked daily and at both ends), whether TimescaleDB answers and whether its
 * aggregates are exact for the range. */
static int store_zone(char *tz, size_t cap, bool *whole_hours, bool *timescale, bool *current, redstore_client *c,
                      const char *store, const char *from, const char *to)
{
	const char *p[3] = { store, from, to };
	PGresult *res;
	int rc = redstore__pg_exec(&res, c,
	                           "SELECT s.timezone, (SELECT bool_and(extract(epoch FROM (t AT TIME ZONE s.timezone)"
	                           " - (t AT TIME ZONE 'UTC'))::bigint % 3600 = 0) FROM (SELECT generate_series("
	                           "to_timestamp($2::bigint / 1000.0), to_timestamp($3::bigint / 1000.0), interval '1 day')"
	                           " UNION ALL SELECT to_timestamp($3::bigint / 1000.0)) g(t)), " ROLLUPS_SQL
	                           " FROM stores s WHERE s.store_id = $1",
	                           3, p);
	if (rc)
		return rc;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return redstore__fail(REDSTORE_ENOTFOUND, "reports: store %s has no row in PostgreSQL", store);
	}
	snprintf(tz, cap, "%s", PQgetvalue(res, 0, 0));
	*whole_hours = !strcmp(PQgetvalue(res, 0, 1), "t");
	rollups_engine(res, 2, timescale, current);
	PQclear(res);
	return 0;
}

/* Rows of (bucket text, key, 8 sums) into a report. */
static int take_rows(redstore_sales_report **out, PGresult *res, bool rollups, bool timescale)
{
	redstore_sales_report *r = calloc(1, sizeof(*r));
	int n = PQntuples(res);
	if (!r || (n && !(r->rows = calloc((size_t)n, sizeof(*r->rows))))) {
		free(r);
		PQclear(res);
		return redstore__fail(REDSTORE_ENOMEM, "reports: out of memory for %d rows", n);
	}
	for (int i = 0; i < n; i++) {
		redstore_sales_row *x = &r->rows[i];
		snprintf(x->bucket, sizeof(x->bucket), "%s", PQgetvalue(res, i, 0));
		snprintf(x->key, sizeof(x->key), "%s", PQgetvalue(res, i, 1));
		x->units = redstore__pg_int(res, i, 2);
		x->gross = redstore__pg_int(res, i, 3);
		x->discount = redstore__pg_int(res, i, 4);
		x->tax = redstore__pg_int(res, i, 5);
		x->total = redstore__pg_int(res, i, 6);
		x->refunded_units = redstore__pg_int(res, i, 7);
		x->refunds = redstore__pg_int(res, i, 8);
		x->lines = redstore__pg_int(res, i, 9);
	}
	r->count = (size_t)n;
	r->from_rollups = rollups;
	r->timescale = timescale;
	PQclear(res);
	*out = r;
	return 0;
}

int redstore_report_sales(redstore_sales_report **out, redstore_client *c, int64_t from_ms, int64_t to_ms,
                          const redstore_report_options *o)
{
	static const redstore_report_options defaults = { REDSTORE_BUCKET_HOUR, REDSTORE_GROUP_NONE, 0 };
	const char *store, *key = "''", *join = "", *bfmt;
	char tz[64], from[24], to[24], bucket[160], sql[2048];
	const char *p[4] = { NULL, from, to, tz };
	bool whole_hours = false, timescale = false, current = false, rollups;
	PGresult *res;
	int rc;

	*out = NULL;
	if (!o)
		o = &defaults;
	if ((rc = redstore__need_store(&store, c, "report_sales")) ||
	    (rc = redstore__auth_require(c, REDSTORE_PERM_REPORTS, 0, "report_sales")) ||
	    (rc = redstore__report_range_check("report_sales", from_ms, to_ms)))
		return rc;
	if (!bucket_sql(o->bucket, false) || o->group_by < REDSTORE_GROUP_NONE || o->group_by > REDSTORE_GROUP_TENDER)
		return redstore__fail(REDSTORE_EINVALID, "report_sales: unknown bucket %d or grouping %d", (int)o->bucket,
		                      (int)o->group_by);
	p[0] = store;
	snprintf(from, sizeof(from), "%lld", (long long)from_ms);
	snprintf(to, sizeof(to), "%lld", (long long)to_ms);
	if ((rc = store_zone(tz, sizeof(tz), &whole_hours, &timescale, &current, c, store, from, to)))
		return rc;
	bfmt = bucket_sql(o->bucket, timescale);
	rollups = !o->force_raw && whole_hours && o->bucket != REDSTORE_BUCKET_15MIN && from_ms % HOUR_MS == 0 &&
	          to_ms % HOUR_MS == 0 && o->group_by <= REDSTORE_GROUP_BRAND && (!timescale || current);
	switch (o->group_by) {
	case REDSTORE_GROUP_NONE:
		key = "''";
		break;
	case REDSTORE_GROUP_PRODUCT:
		key = "x.sku";
		break;
	case REDSTORE_GROUP_CATEGORY:
	case REDSTORE_GROUP_BRAND:
		key = o->group_by == REDSTORE_GROUP_CATEGORY ? "coalesce(p.category, '')" : "coalesce(p.brand, '')";
		join = " LEFT JOIN products p ON p.store_id = x.store_id AND p.sku = x.sku";
		break;
	case REDSTORE_GROUP_TERMINAL:
	case REDSTORE_GROUP_EMPLOYEE:
		key = o->group_by == REDSTORE_GROUP_TERMINAL ? "s.terminal_id" : "s.employee_id";
		join = " JOIN sales s ON s.store_id = x.store_id AND s.sale_id = x.sale_id AND s.occurred_at = x.occurred_at";
		break;
	case REDSTORE_GROUP_TENDER:
		break;
	}
	snprintf(bucket, sizeof(bucket), bfmt, rollups ? "(x.hour AT TIME ZONE $4)" : "(x.occurred_at AT TIME ZONE $4)");
	if (o->group_by == REDSTORE_GROUP_TENDER)
		/* Each sale's tenders of one kind together (x), so its change comes off its cash once. */
		snprintf(sql, sizeof(sql),
		         "SELECT coalesce(to_char(b, 'YYYY-MM-DD HH24:MI'), ''), k, 0, 0, 0, 0, sum(taken), 0, sum(back),"
		         " sum(n) FROM (SELECT %s AS b, x.kind AS k,"
		         " CASE WHEN s.kind = 'sale' THEN x.amount - CASE WHEN x.kind = 'cash' THEN s.change_due ELSE 0 END"
		         " ELSE 0 END AS taken, CASE WHEN s.kind = 'sale' THEN 0 ELSE x.amount END AS back, x.n"
		         " FROM (SELECT sale_id, occurred_at, kind, sum(amount) AS amount, count(*) AS n FROM sale_tenders"
		         " WHERE store_id = $1 AND occurred_at >= to_timestamp($2::bigint / 1000.0)"
		         " AND occurred_at < to_timestamp($3::bigint / 1000.0) GROUP BY sale_id, occurred_at, kind) x"
		         " JOIN sales s ON s.store_id = $1 AND s.sale_id = x.sale_id AND s.occurred_at = x.occurred_at) q"
		         " GROUP BY b, k ORDER BY b, k COLLATE \"C\"",
		         bucket);
	else if (rollups)
		snprintf(sql, sizeof(sql),
		         "SELECT coalesce(to_char(b, 'YYYY-MM-DD HH24:MI'), ''), k, %s FROM (SELECT %s AS b, %s AS k, x.*"
		         " FROM %s x%s WHERE x.store_id = $1 AND x.hour >= to_timestamp($2::bigint / 1000.0)"
		         " AND x.hour < to_timestamp($3::bigint / 1000.0)) q GROUP BY b, k ORDER BY b, k COLLATE \"C\"",
		         rollup_sums, bucket, key,
		         /* all products together: one row an hour; on TimescaleDB its continuous aggregates */
		         o->group_by == REDSTORE_GROUP_NONE ? (timescale ? "sales_hourly_totals_ts" : "sales_hourly_totals")
		                                            : (timescale ? "sales_hourly_ts" : "sales_hourly"),
		         join);
	else
		snprintf(sql, sizeof(sql),
		         "SELECT coalesce(to_char(b, 'YYYY-MM-DD HH24:MI'), ''), k, %s FROM (SELECT %s AS b, %s AS k,"
		         " x.kind, x.qty, x.gross, x.discount, x.tax, x.total FROM sale_lines x%s WHERE x.store_id = $1"
		         " AND x.occurred_at >= to_timestamp($2::bigint / 1000.0)"
		         " AND x.occurred_at < to_timestamp($3::bigint / 1000.0)) q GROUP BY b, k ORDER BY b, k COLLATE \"C\"",
		         sums, bucket, key, join);
	if ((rc = redstore__pg_exec(&res, c, sql, 4, p)))
		return rc;
	return take_rows(out, res, rollups, timescale);
}

int redstore_report_top_products(redstore_sales_report **out, redstore_client *c, int64_t from_ms, int64_t to_ms,
                                 redstore_rank_by by, int bottom, size_t n)
{
	static const char columns[] = "(b, k, units, gross, discount, tax, total, refunded_units, refunds, lines)";
	const char *store, *order;
	char from[24], to[24], limit[24], sql[1024];
	const char *p[4] = { NULL, from, to, limit };
	const char *q[3] = { NULL, from, to };
	bool rollups, timescale, current;
	PGresult *res;
	int rc;

	*out = NULL;
	if ((rc = redstore__need_store(&store, c, "report_top_products")) ||
	    (rc = redstore__auth_require(c, REDSTORE_PERM_REPORTS, 0, "report_top_products")) ||
	    (rc = redstore__report_range_check("report_top_products", from_ms, to_ms)))
		return rc;
	if (n < 1 || n > 1000 || (by != REDSTORE_RANK_UNITS && by != REDSTORE_RANK_REVENUE))
		return redstore__fail(REDSTORE_EINVALID, "report_top_products: n %zu (1..1000) or ranking %d", n, (int)by);
	p[0] = store;
	snprintf(from, sizeof(from), "%lld", (long long)from_ms);
	snprintf(to, sizeof(to), "%lld", (long long)to_ms);
	snprintf(limit, sizeof(limit), "%zu", n);
	/* No local buckets here: the UTC-hour rollups answer any range on whole hours. */
	rollups = from_ms % HOUR_MS == 0 && to_ms % HOUR_MS == 0;
	if ((rc = redstore__pg_exec(&res, c, "SELECT $1::text, " ROLLUPS_SQL, 3, q)))
		return rc;
	rollups_engine(res, 1, &timescale, &current);
	rollups = rollups && (!timescale || current);
	PQclear(res);
	order = by == REDSTORE_RANK_UNITS ? (bottom ? "units ASC" : "units DESC") : (bottom ? "total ASC" : "total DESC");
	if (rollups)
		snprintf(sql, sizeof(sql),
		         "SELECT * FROM (SELECT '', sku, %s FROM %s WHERE store_id = $1"
		         " AND hour >= to_timestamp($2::bigint / 1000.0) AND hour < to_timestamp($3::bigint / 1000.0)"
		         " GROUP BY sku HAVING sum(units) > 0) q %s ORDER BY %s, k COLLATE \"C\" LIMIT $4::int",
		         rollup_sums, timescale ? "sales_hourly_ts" : "sales_hourly", columns, order);
	else
		snprintf(sql, sizeof(sql),
		         "SELECT * FROM (SELECT '', sku, %s FROM sale_lines WHERE store_id = $1"
		         " AND occurred_at >= to_timestamp($2::bigint / 1000.0) AND occurred_at < to_timestamp($3::bigint / 1000.0)"
		         " GROUP BY sku HAVING sum(CASE WHEN kind = 'sale' THEN qty ELSE 0 END) > 0) q %s"
		         " ORDER BY %s, k COLLATE \"C\" LIMIT $4::int",
		         sums, columns, order);
	if ((rc = redstore__pg_exec(&res, c, sql, 4, p)))
		return rc;
	return take_rows(out, res, rollups, timescale);
}

void redstore_sales_report_free(redstore_sales_report *report)
{
	if (!report)
		return;
	free(report->rows);
	free(report);
}
