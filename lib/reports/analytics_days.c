/* Reports on the raw history that rollups cannot answer: transactions per day with their median, weekday
 * and hour-of-day patterns, and stock worth and velocity from the ledger (see redstore/analytics.h). */
#include "reports/reports_priv.h"
#include "security/security_int.h"

#include <stdio.h>

/* Sales of the store in [$2, $3) ms, voided ones left out, with their local time: the common source. */
#define SALES_IN_RANGE                                                                                       \
	"SELECT s.occurred_at AT TIME ZONE st.timezone AS local, s.total FROM sales s"                             \
	" JOIN stores st ON st.store_id = s.store_id"                                                              \
	" WHERE s.store_id = $1 AND s.kind = 'sale'"                                                               \
	" AND s.occurred_at >= to_timestamp($2::bigint / 1000.0) AND s.occurred_at < to_timestamp($3::bigint / 1000.0)" \
	" AND NOT EXISTS (SELECT 1 FROM sales v WHERE v.store_id = s.store_id AND v.kind = 'void'"                 \
	" AND v.ref_sale_id = s.sale_id)"

static int prepare(const char **store, redstore_client *c, const char *what, int64_t from_ms, int64_t to_ms,
                   char *from, char *to)
{
	int rc;
	if ((rc = redstore__need_store(store, c, what)) || (rc = redstore__report_range_check(what, from_ms, to_ms)))
		return rc;
	snprintf(from, 24, "%lld", (long long)from_ms);
	snprintf(to, 24, "%lld", (long long)to_ms);
	return 0;
}

/* ENOTFOUND when the store has no row (the reports are per store and need its time zone). */
static int need_store_row(redstore_client *c, const char *store, const char *what)
{
	const char *p[1] = { store };
	PGresult *res;
	int rc = redstore__pg_exec(&res, c, "SELECT 1 FROM stores WHERE store_id = $1", 1, p);
	if (rc)
		return rc;
	rc = PQntuples(res) == 1 ? 0 : redstore__fail(REDSTORE_ENOTFOUND, "%s: store %s has no row in PostgreSQL", what, store);
	PQclear(res);
	return rc;
}

int redstore_report_transactions(redstore_transactions_report **out, redstore_client *c, int64_t from_ms,
                                 int64_t to_ms)
{
	static const char sql[] =
		"SELECT to_char(date_trunc('day', local), 'YYYY-MM-DD'), count(*), sum(total), round(avg(total)),"
		" percentile_disc(0.5) WITHIN GROUP (ORDER BY total)"
		" FROM (" SALES_IN_RANGE ") x GROUP BY 1 ORDER BY 1";
	const char *store, *p[3];
	char from[24], to[24];
	redstore_transactions_report *r;
	PGresult *res;
	int rc, n;

	*out = NULL;
	if ((rc = prepare(&store, c, "redstore_report_transactions", from_ms, to_ms, from, to)) ||
	    (rc = redstore__auth_require(c, REDSTORE_PERM_REPORTS, 0, "redstore_report_transactions")) ||
	    (rc = need_store_row(c, store, "redstore_report_transactions")))
		return rc;
	p[0] = store;
	p[1] = from;
	p[2] = to;
	if ((rc = redstore__pg_exec(&res, c, sql, 3, p)))
		return redstore__fail_wrap(rc, "redstore_report_transactions");
	n = PQntuples(res);
	if (!(r = calloc(1, sizeof(*r))) || (n && !(r->rows = calloc((size_t)n, sizeof(*r->rows))))) {
		free(r);
		PQclear(res);
		return redstore__fail(REDSTORE_ENOMEM, "redstore_report_transactions: out of memory for %d rows", n);
	}
	for (int i = 0; i < n; i++) {
		redstore_transactions_row *x = &r->rows[i];
		snprintf(x->day, sizeof(x->day), "%s", PQgetvalue(res, i, 0));
		x->count = redstore__pg_int(res, i, 1);
		x->total = redstore__pg_int(res, i, 2);
		x->average = redstore__pg_int(res, i, 3);
		x->median = redstore__pg_int(res, i, 4);
	}
	r->count = (size_t)n;
	PQclear(res);
	*out = r;
	return 0;
}

void redstore_transactions_report_free(redstore_transactions_report *report)
{
	if (!report)
		return;
	free(report->rows);
	free(report);
}

int redstore_report_patterns(redstore_pattern_report *out, redstore_client *c, int64_t from_ms, int64_t to_ms)
{
	static const char cells_sql[] =
		"SELECT extract(isodow FROM local)::int - 1, extract(hour FROM local)::int, count(*), sum(total)"
		" FROM (" SALES_IN_RANGE ") x GROUP BY 1, 2";
	/* Local days the range touches, by weekday: from the local day of $2 to that of the last instant. */
	static const char days_sql[] =
		"SELECT extract(isodow FROM d)::int - 1, count(*) FROM stores st,"
		" generate_series(date_trunc('day', to_timestamp($2::bigint / 1000.0) AT TIME ZONE st.timezone),"
		" date_trunc('day', to_timestamp(($3::bigint - 1) / 1000.0) AT TIME ZONE st.timezone), interval '1 day') d"
		" WHERE st.store_id = $1 GROUP BY 1";
	const char *store, *p[3];
	char from[24], to[24];
	PGresult *res;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = prepare(&store, c, "redstore_report_patterns", from_ms, to_ms, from, to)) ||
	    (rc = redstore__auth_require(c, REDSTORE_PERM_REPORTS, 0, "redstore_report_patterns")) ||
	    (rc = need_store_row(c, store, "redstore_report_patterns")))
		return rc;
	p[0] = store;
	p[1] = from;
	p[2] = to;
	if ((rc = redstore__pg_exec(&res, c, cells_sql, 3, p)))
		return redstore__fail_wrap(rc, "redstore_report_patterns");
	for (int i = 0; i < PQntuples(res); i++) {
		int64_t w = redstore__pg_int(res, i, 0), h = redstore__pg_int(res, i, 1);
		if (w >= 0 && w < 7 && h >= 0 && h < 24) {
			out->cells[w][h].transactions = redstore__pg_int(res, i, 2);
			out->cells[w][h].total = redstore__pg_int(res, i, 3);
		}
	}
	PQclear(res);
	if ((rc = redstore__pg_exec(&res, c, days_sql, 3, p))) {
		memset(out, 0, sizeof(*out));
		return redstore__fail_wrap(rc, "redstore_report_patterns");
	}
	for (int i = 0; i < PQntuples(res); i++) {
		int64_t w = redstore__pg_int(res, i, 0);
		if (w >= 0 && w < 7)
			out->days[w] = redstore__pg_int(res, i, 1);
	}
	PQclear(res);
	return 0;
}

int redstore_report_stock_value(redstore_stock_value_report **out, redstore_client *c, int64_t at_ms, int window_days)
{
	static const char sql[] =
		"WITH l AS (SELECT sku, sum(delta) AS on_hand FROM stock_ledger"
		"   WHERE store_id = $1 AND occurred_at < to_timestamp($2::bigint / 1000.0) GROUP BY sku),"
		" s AS (SELECT sku, sum(CASE WHEN kind = 'sale' THEN qty ELSE -qty END) AS sold FROM sale_lines"
		"   WHERE store_id = $1 AND occurred_at >= to_timestamp($2::bigint / 1000.0) - make_interval(days => $3::int)"
		"   AND occurred_at < to_timestamp($2::bigint / 1000.0) GROUP BY sku)"
		" SELECT p.sku, p.name, coalesce(l.on_hand, 0), p.price, coalesce(s.sold, 0)"
		" FROM products p LEFT JOIN l ON l.sku = p.sku LEFT JOIN s ON s.sku = p.sku"
		" WHERE p.store_id = $1 AND p.active ORDER BY p.sku";
	const char *store, *p[3];
	char at[24], days[16];
	redstore_stock_value_report *r;
	PGresult *res;
	int rc, n;

	*out = NULL;
	if ((rc = redstore__need_store(&store, c, "redstore_report_stock_value")))
		return rc;
	if (at_ms < 0 || window_days < 1 || window_days > 366)
		return redstore__fail(REDSTORE_EINVALID, "redstore_report_stock_value: at_ms >= 0 and window_days 1..366 (got %lld, %d)",
		                      (long long)at_ms, window_days);
	if ((rc = redstore__auth_require(c, REDSTORE_PERM_REPORTS, 0, "redstore_report_stock_value")))
		return rc;
	snprintf(at, sizeof(at), "%lld", (long long)at_ms);
	snprintf(days, sizeof(days), "%d", window_days);
	p[0] = store;
	p[1] = at;
	p[2] = days;
	if ((rc = redstore__pg_exec(&res, c, sql, 3, p)))
		return redstore__fail_wrap(rc, "redstore_report_stock_value");
	n = PQntuples(res);
	if (!(r = calloc(1, sizeof(*r))) || (n && !(r->rows = calloc((size_t)n, sizeof(*r->rows))))) {
		free(r);
		PQclear(res);
		return redstore__fail(REDSTORE_ENOMEM, "redstore_report_stock_value: out of memory for %d rows", n);
	}
	for (int i = 0; i < n; i++) {
		redstore_stock_value_row *x = &r->rows[i];
		snprintf(x->sku, sizeof(x->sku), "%s", PQgetvalue(res, i, 0));
		snprintf(x->name, sizeof(x->name), "%s", PQgetvalue(res, i, 1));
		x->on_hand = redstore__pg_int(res, i, 2);
		x->price = redstore__pg_int(res, i, 3);
		x->sold = redstore__pg_int(res, i, 4);
		x->worth = x->on_hand > 0 ? x->on_hand * x->price : 0;
		x->cover_days = x->sold > 0 ? (x->on_hand > 0 ? x->on_hand * window_days / x->sold : 0) : -1;
		r->worth += x->worth;
	}
	r->count = (size_t)n;
	PQclear(res);
	*out = r;
	return 0;
}

void redstore_stock_value_report_free(redstore_stock_value_report *report)
{
	if (!report)
		return;
	free(report->rows);
	free(report);
}

/* ------------------------------------------------------------ store-local days */

/* 1 when s is "YYYY-MM-DD", a real date of the years 1970..9999. */
static bool valid_day(const char *s)
{
	static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, m, d;
	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return false;
	y = atoi(s);
	m = atoi(s + 5);
	d = atoi(s + 8);
	if (y < 1970 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return false;
	return !(m == 2 && d == 29 && (y % 4 || (y % 100 == 0 && y % 400)));
}

int redstore_store_day_range(int64_t *from_ms, int64_t *to_ms, redstore_client *c, const char *day, char *resolved)
{
	static const char what[] = "redstore_store_day_range";
	/* The date (given, or the store's local date at $3), then its local midnight and the next one. */
	static const char sql[] =
		"SELECT to_char(d, 'YYYY-MM-DD'), (extract(epoch FROM d::timestamp AT TIME ZONE tz) * 1000)::bigint,"
		" (extract(epoch FROM (d + 1)::timestamp AT TIME ZONE tz) * 1000)::bigint"
		" FROM (SELECT s.timezone AS tz, coalesce($2::date, (to_timestamp($3::bigint / 1000.0) AT TIME ZONE"
		" s.timezone)::date) AS d FROM stores s WHERE s.store_id = $1) x";
	const char *store, *p[3];
	char now[24];
	PGresult *res;
	int rc;

	*from_ms = *to_ms = 0;
	if (resolved)
		resolved[0] = '\0';
	if ((rc = redstore__need_store(&store, c, what)))
		return rc;
	if (day && !strcmp(day, "today"))
		day = NULL;
	if (day && !valid_day(day))
		return redstore__fail(REDSTORE_EINVALID, "%s: day \"%.40s\" is not a date (expected YYYY-MM-DD, 1970..9999, or today)",
		                      what, day);
	snprintf(now, sizeof(now), "%lld", (long long)redstore__wall_ms());
	p[0] = store;
	p[1] = day;
	p[2] = now;
	if ((rc = redstore__pg_exec(&res, c, sql, 3, p)))
		return redstore__fail_wrap(rc, "%s", what);
	if (PQntuples(res) != 1) {
		PQclear(res);
		return redstore__fail(REDSTORE_ENOTFOUND, "%s: store %s has no row in PostgreSQL", what, store);
	}
	if (resolved)
		snprintf(resolved, 11, "%s", PQgetvalue(res, 0, 0));
	*from_ms = redstore__pg_int(res, 0, 1);
	*to_ms = redstore__pg_int(res, 0, 2);
	PQclear(res);
	return 0;
}
