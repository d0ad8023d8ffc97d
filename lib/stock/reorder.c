/* The reorder report: products at or below their low-stock threshold, with stock from Redis and the
 * units sold over a window from the per-hour rollups. */
#include "engines/engines_int.h"

#include <stdio.h>

#define PAGE 500 /* also the LIMIT of the query; at most what redstore_stock_get reads at once (500) */
#define DAY_MS 86400000LL

static int row_cmp(const void *a, const void *b)
{
	const redstore_reorder_row *x = a, *y = b;
	int64_t dx = x->available - x->threshold, dy = y->available - y->threshold;
	if (dx != dy)
		return dx < dy ? -1 : 1;
	return strcmp(x->sku, y->sku);
}

/* Appends the rows of one page of candidates (sku, name, threshold, sold) whose stock is low. */
static int take_page(redstore_reorder_report *r, size_t *cap, redstore_client *c, PGresult *res)
{
	int n = PQntuples(res);
	const char **skus = calloc((size_t)n, sizeof(*skus));
	redstore_stock_level *lv = calloc((size_t)n, sizeof(*lv));
	int rc = 0;
	if (!skus || !lv) {
		rc = redstore__fail(REDSTORE_ENOMEM, "report_reorder: out of memory");
		goto done;
	}
	for (int i = 0; i < n; i++)
		skus[i] = PQgetvalue(res, i, 0);
	if ((rc = redstore_stock_get(lv, c, (size_t)n, skus)))
		goto done;
	for (int i = 0; i < n; i++) {
		redstore_reorder_row *row;
		int64_t threshold = strtoll(PQgetvalue(res, i, 2), NULL, 10), sold = strtoll(PQgetvalue(res, i, 3), NULL, 10);
		if (lv[i].available > threshold)
			continue;
		if (r->count == *cap) {
			size_t nc = *cap ? *cap * 2 : 16;
			redstore_reorder_row *p = realloc(r->rows, nc * sizeof(*p));
			if (!p) {
				rc = redstore__fail(REDSTORE_ENOMEM, "report_reorder: out of memory");
				goto done;
			}
			r->rows = p;
			*cap = nc;
		}
		row = &r->rows[r->count++];
		memset(row, 0, sizeof(*row));
		snprintf(row->sku, sizeof(row->sku), "%s", skus[i]);
		snprintf(row->name, sizeof(row->name), "%s", PQgetvalue(res, i, 1));
		row->on_hand = lv[i].on_hand;
		row->available = lv[i].available;
		row->threshold = threshold;
		row->sold = sold;
		row->suggested = (sold > threshold ? sold : threshold) + threshold - lv[i].available;
		if (row->suggested < 1)
			row->suggested = 1;
	}
done:
	free(skus);
	free(lv);
	return rc;
}

int redstore_report_reorder(redstore_reorder_report **out, redstore_client *c, int64_t now_ms, int window_days,
                            size_t limit)
{
	/* One page of candidates, then their units sold in one range scan of the window's rollups. */
	static const char sql[] =
		"WITH p AS (SELECT sku, name, low_stock_threshold AS threshold FROM products WHERE store_id = $1 AND active"
		" AND low_stock_threshold > 0 AND sku > $2 COLLATE \"C\" ORDER BY sku COLLATE \"C\" LIMIT 500)"
		" SELECT p.sku, p.name, p.threshold, coalesce(s.units, 0) FROM p LEFT JOIN (SELECT h.sku, sum(h.units) AS units"
		" FROM sales_hourly h WHERE h.store_id = $1 AND h.hour >= to_timestamp($3::bigint / 1000.0)"
		" AND h.hour < to_timestamp($4::bigint / 1000.0) AND h.sku IN (SELECT sku FROM p) GROUP BY h.sku) s"
		" ON s.sku = p.sku ORDER BY p.sku COLLATE \"C\"";
	redstore_reorder_report *r;
	char after[65] = "", from[24], to[24];
	const char *store, *p[4];
	size_t cap = 0;
	int rc;

	*out = NULL;
	if ((rc = redstore__need_store(&store, c, "report_reorder")))
		return rc;
	if (window_days < 1 || window_days > 366 || limit < 1 || limit > 1000 || now_ms < window_days * DAY_MS)
		return redstore__fail(REDSTORE_EINVALID,
		                      "report_reorder: window %d days (1..366), limit %zu (1..1000) or now %lld out of range",
		                      window_days, limit, (long long)now_ms);
	if (!(r = calloc(1, sizeof(*r))))
		return redstore__fail(REDSTORE_ENOMEM, "report_reorder: out of memory");
	snprintf(from, sizeof(from), "%lld", (long long)(now_ms - window_days * DAY_MS));
	snprintf(to, sizeof(to), "%lld", (long long)now_ms);
	p[0] = store;
	p[1] = after;
	p[2] = from;
	p[3] = to;
	for (;;) {
		PGresult *res;
		int n;
		if ((rc = redstore__pg_exec(&res, c, sql, 4, p))) {
			rc = redstore__fail_wrap(rc, "report_reorder");
			break;
		}
		n = PQntuples(res);
		rc = n ? take_page(r, &cap, c, res) : 0;
		if (n)
			snprintf(after, sizeof(after), "%s", PQgetvalue(res, n - 1, 0));
		PQclear(res);
		if (rc || n < PAGE)
			break;
	}
	if (rc) {
		redstore_reorder_report_free(r);
		return rc;
	}
	if (r->count)
		qsort(r->rows, r->count, sizeof(*r->rows), row_cmp);
	if (r->count > limit)
		r->count = limit;
	*out = r;
	return 0;
}

void redstore_reorder_report_free(redstore_reorder_report *report)
{
	if (!report)
		return;
	free(report->rows);
	free(report);
}
