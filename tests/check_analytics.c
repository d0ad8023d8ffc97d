/* Sales reports: the rollup path and the raw path give the same rows on random data, in a whole-hour
 * zone and a half-hour one; a small case checked by hand; money by tender kind (split tenders, change,
 * refunds, voids) checked by hand; store-local day ranges; bad arguments refused. */
#include "testutil.h"
#include "engines/engines_int.h"
#include "events/events_int.h"
#include "history.h"
#include "sale/sale_int.h"
#include "synth.h"

#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

#define HOUR_MS 3600000LL
#define DAY_MS (24 * HOUR_MS)

START_TEST(analytics_rollups_and_raw_lines_give_the_same_rows_on_random_data)
{
	redstore_client *c = rs_test_client();
	char store[65];
	int64_t end = (redstore__wall_ms() / HOUR_MS) * HOUR_MS, from = end - 40 * DAY_MS;
	static const redstore_bucket buckets[] = { REDSTORE_BUCKET_HOUR, REDSTORE_BUCKET_DAY, REDSTORE_BUCKET_WEEK,
		                                       REDSTORE_BUCKET_MONTH, REDSTORE_BUCKET_ALL };
	int64_t sum_rollup = 0;
	/* Paris: whole-hour offsets and two DST changes a year; 40 days cover months and weeks */
	rs_history_store(c, "Europe/Paris", store, 600, 38, end, 7);
	for (size_t b = 0; b < sizeof(buckets) / sizeof(buckets[0]); b++)
		for (int g = REDSTORE_GROUP_NONE; g <= REDSTORE_GROUP_BRAND; g++) {
			redstore_report_options o = { buckets[b], (redstore_group_by)g, 0 };
			redstore_sales_report *a, *r;
			char what[64];
			RS_OK(redstore_report_sales(&a, c, from, end, &o));
			o.force_raw = 1;
			RS_OK(redstore_report_sales(&r, c, from, end, &o));
			ck_assert_int_eq(a->from_rollups, 1);
			ck_assert_int_eq(r->from_rollups, 0);
			ck_assert_uint_gt(a->count, 0);
			snprintf(what, sizeof(what), "bucket %d group %d", (int)buckets[b], g);
			rs_same_rows(a, r, what);
			if (buckets[b] == REDSTORE_BUCKET_ALL && g == REDSTORE_GROUP_NONE) {
				ck_assert_uint_eq(a->count, 1);
				sum_rollup = a->rows[0].total;
			}
			redstore_sales_report_free(a);
			redstore_sales_report_free(r);
		}
	/* The grand total is what the sales table says. */
	{
		PGresult *res;
		const char *p[1] = { store };
		RS_OK(redstore__pg_exec(&res, c, "SELECT sum(total) FROM sales WHERE store_id = $1 AND kind = 'sale'", 1, p));
		ck_assert_int_eq(strtoll(PQgetvalue(res, 0, 0), NULL, 10), sum_rollup);
		PQclear(res);
	}
	/* Top and bottom products agree between paths (a range off the hour goes raw). */
	{
		redstore_sales_report *a, *r;
		RS_OK(redstore_report_top_products(&a, c, from, end, REDSTORE_RANK_REVENUE, 0, 10));
		RS_OK(redstore_report_top_products(&r, c, from, end - 1, REDSTORE_RANK_REVENUE, 0, 10));
		ck_assert_int_eq(a->from_rollups, 1);
		ck_assert_int_eq(r->from_rollups, 0);
		ck_assert_uint_eq(a->count, 10);
		rs_same_rows(a, r, "top 10 by revenue");
		for (size_t i = 1; i < a->count; i++)
			ck_assert_int_ge(a->rows[i - 1].total, a->rows[i].total);
		redstore_sales_report_free(a);
		redstore_sales_report_free(r);
		RS_OK(redstore_report_top_products(&a, c, from, end, REDSTORE_RANK_UNITS, 1, 5));
		for (size_t i = 1; i < a->count; i++)
			ck_assert_int_le(a->rows[i - 1].units, a->rows[i].units);
		redstore_sales_report_free(a);
	}
	redstore_client_free(c);
}
END_TEST

START_TEST(analytics_a_half_hour_zone_is_answered_from_raw_lines_in_local_time)
{
	redstore_client *c = rs_test_client();
	char store[65];
	int64_t end = (redstore__wall_ms() / DAY_MS) * DAY_MS; /* midnight UTC = 05:30 in Kolkata */
	redstore_report_options o = { REDSTORE_BUCKET_DAY, REDSTORE_GROUP_NONE, 0 };
	redstore_sales_report *r;
	char *json;
	redstore_event *ev[2];
	size_t applied;
	rs_test_unique(store, sizeof(store), "ist");
	{
		redstore_store_info info = { store, "Kolkata", "INR", "Asia/Kolkata", 1 };
		RS_OK(redstore_store_create(c, &info));
		RS_OK(redstore_client_use_store(c, store));
	}
	/* 18:29 and 18:31 UTC the day before: 23:59 and 00:01 local, two different local days */
	json = rs_synth_sale_event(c, store, 1, end - 5 * HOUR_MS - 31 * 60000, NULL);
	RS_OK(redstore_event_decode(&ev[0], json, strlen(json)));
	free(json);
	json = rs_synth_sale_event(c, store, 2, end - 5 * HOUR_MS - 29 * 60000, NULL);
	RS_OK(redstore_event_decode(&ev[1], json, strlen(json)));
	free(json);
	RS_OK(redstore_projector_apply(c, (const redstore_event *const *)ev, 2, &applied));
	RS_OK(redstore_report_sales(&r, c, end - 3 * DAY_MS, end, &o));
	ck_assert_int_eq(r->from_rollups, 0);
	ck_assert_uint_eq(r->count, 2);
	ck_assert_ptr_nonnull(strstr(r->rows[0].bucket, "00:00"));
	ck_assert_str_ne(r->rows[0].bucket, r->rows[1].bucket);
	/* synth's line l of sale i has 1 + (i + l) % 3 units: 2+3+1 for sale 1, 3+1+2 for sale 2 */
	ck_assert_int_eq(r->rows[0].units, 6);
	ck_assert_int_eq(r->rows[1].units, 6);
	redstore_sales_report_free(r);
	/* 15-minute buckets: one each. */
	o.bucket = REDSTORE_BUCKET_15MIN;
	RS_OK(redstore_report_sales(&r, c, end - 3 * DAY_MS, end, &o));
	ck_assert_uint_eq(r->count, 2);
	ck_assert_ptr_nonnull(strstr(r->rows[0].bucket, "23:45"));
	ck_assert_ptr_nonnull(strstr(r->rows[1].bucket, "00:00"));
	redstore_sales_report_free(r);
	redstore_event_free(ev[0]);
	redstore_event_free(ev[1]);
	redstore_client_free(c);
}
END_TEST

START_TEST(analytics_bad_arguments_are_refused)
{
	redstore_client *c = rs_test_client();
	redstore_sales_report *r = (redstore_sales_report *)1;
	redstore_report_options o = { (redstore_bucket)42, REDSTORE_GROUP_NONE, 0 };
	char store[65];
	RS_FAILS(REDSTORE_EINVALID, redstore_report_sales(&r, c, 0, HOUR_MS, NULL)); /* no store */
	ck_assert_ptr_null(r);
	rs_test_store(c, "anbad", store, 0);
	RS_FAILS(REDSTORE_EINVALID, redstore_report_sales(&r, c, HOUR_MS, HOUR_MS, NULL));
	RS_FAILS(REDSTORE_EINVALID, redstore_report_sales(&r, c, 2 * HOUR_MS, HOUR_MS, NULL));
	RS_FAILS(REDSTORE_EINVALID, redstore_report_sales(&r, c, 0, 4 * 366 * DAY_MS, NULL));
	RS_FAILS(REDSTORE_EINVALID, redstore_report_sales(&r, c, 0, HOUR_MS, &o));
	o.bucket = REDSTORE_BUCKET_HOUR;
	o.group_by = (redstore_group_by)(REDSTORE_GROUP_TENDER + 1);
	RS_FAILS(REDSTORE_EINVALID, redstore_report_sales(&r, c, 0, HOUR_MS, &o));
	RS_FAILS(REDSTORE_EINVALID, redstore_report_top_products(&r, c, 0, HOUR_MS, REDSTORE_RANK_UNITS, 0, 0));
	RS_FAILS(REDSTORE_EINVALID, redstore_report_top_products(&r, c, 0, HOUR_MS, REDSTORE_RANK_UNITS, 0, 1001));
	/* An empty store: no rows, not an error. */
	RS_OK(redstore_report_sales(&r, c, 0, HOUR_MS, NULL));
	ck_assert_uint_eq(r->count, 0);
	redstore_sales_report_free(r);
	redstore_client_free(c);
}
END_TEST

/* The local date, weekday (0 = Monday) and hour of `ms` in the zone set by TZ. */
static void local_of(int64_t ms, char *day, size_t cap, int *wday, int *hour)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(day, cap, "%Y-%m-%d", &tm);
	if (wday)
		*wday = (tm.tm_wday + 6) % 7;
	if (hour)
		*hour = tm.tm_hour;
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

#define TX_N 240
#define TX_SKUS 30

/* Transactions per day (count, total, average, median), weekday x hour patterns and stock worth and
 * velocity at a past moment, against the same figures computed here from the generated sales. */
START_TEST(analytics_transactions_patterns_and_stock_value_match_a_computation_by_hand)
{
	redstore_client *c = rs_test_client();
	redstore_store_info info = { NULL, "Patterns", "EUR", "Europe/Paris", 1 };
	const int64_t end = 1795089600000LL; /* 2026-11-20 12:00 UTC */
	const int64_t from = end - 8 * DAY_MS, at = end - 2 * DAY_MS;
	static int64_t when[TX_N], total[TX_N], sorted[TX_N];
	redstore_event *ev[TX_N];
	redstore_transactions_report *tr;
	redstore_stock_value_report *sv;
	static redstore_pattern_report pr, want;
	int64_t on_hand[TX_SKUS], sold[TX_SKUS], worth = 0;
	char store[65], prev_tz[64] = "";
	const char *tz0 = getenv("TZ");
	unsigned seed = 7;
	size_t applied, row = 0;

	if (tz0)
		snprintf(prev_tz, sizeof(prev_tz), "%s", tz0);
	rs_test_unique(store, sizeof(store), "antx");
	info.store_id = store;
	RS_OK(redstore_store_create(c, &info));
	RS_OK(redstore_client_use_store(c, store));
	for (int k = 0; k < TX_SKUS; k++) {
		redstore_product p;
		char sku[16], sql[256];
		const char *params[2] = { store, sku };
		memset(&p, 0, sizeof(p));
		snprintf(sku, sizeof(sku), "SKU-%05d", k);
		p.sku = sku;
		p.name = sku;
		p.price = 100 + k;
		p.tax_class = "";
		p.active = 1;
		RS_OK(redstore_product_create(c, &p));
		/* Opening stock long before: 1,000 each, straight into the ledger the report reads. */
		snprintf(sql, sizeof(sql), "INSERT INTO stock_ledger (store_id, event_id, event_type, sku, delta, occurred_at)"
		                           " VALUES ($1, gen_random_uuid(), 'inventory.received', $2, 1000, '2020-01-01')");
		RS_OK(redstore__pg_exec(NULL, c, sql, 2, params));
		on_hand[k] = 1000;
		sold[k] = 0;
	}
	for (int i = 0; i < TX_N; i++) {
		char *json;
		when[i] = from + (int64_t)(rand_r(&seed) % (unsigned)(8 * 24 * 60)) * 60000 + (int64_t)(rand_r(&seed) % 60000);
		total[i] = 0;
		ck_assert_ptr_nonnull(json = rs_synth_sale_event(c, store, i, when[i], &total[i]));
		RS_OK(redstore_event_decode(&ev[i], json, strlen(json)));
		free(json);
		/* The synthetic sale's lines (see synth.c): SKU-(i*7 + l*131) % 500, qty 1 + (i + l) % 3. */
		for (int l = 0; l < 3; l++) {
			int k = (i * 7 + l * 131) % 500, qty = 1 + (i + l) % 3;
			if (k >= TX_SKUS)
				continue;
			if (when[i] < at)
				on_hand[k] -= qty;
			if (when[i] >= at - 3 * DAY_MS && when[i] < at)
				sold[k] += qty;
		}
	}
	RS_OK(redstore_projector_apply(c, (const redstore_event *const *)ev, TX_N, &applied));
	ck_assert_uint_eq(applied, TX_N);
	for (int i = 0; i < TX_N; i++)
		redstore_event_free(ev[i]);

	setenv("TZ", "Europe/Paris", 1);
	tzset();
	/* Transactions per day. */
	RS_OK(redstore_report_transactions(&tr, c, from, end));
	for (int64_t d = from - DAY_MS; d <= end + DAY_MS; d += HOUR_MS) {
		char day[16], seen[16] = "";
		int64_t n = 0, sum = 0;
		local_of(d, day, sizeof(day), NULL, NULL);
		if (d > from - DAY_MS) {
			local_of(d - HOUR_MS, seen, sizeof(seen), NULL, NULL);
			if (!strcmp(seen, day))
				continue; /* each local day once */
		}
		for (int i = 0; i < TX_N; i++) {
			char di[16];
			local_of(when[i], di, sizeof(di), NULL, NULL);
			if (!strcmp(di, day)) {
				sorted[n++] = total[i];
				sum += total[i];
			}
		}
		if (!n)
			continue;
		qsort(sorted, (size_t)n, sizeof(sorted[0]), cmp64);
		ck_assert_uint_lt(row, tr->count);
		ck_assert_str_eq(tr->rows[row].day, day);
		ck_assert_int_eq(tr->rows[row].count, n);
		ck_assert_int_eq(tr->rows[row].total, sum);
		ck_assert_int_eq(tr->rows[row].average, (2 * sum + n) / (2 * n));
		ck_assert_int_eq(tr->rows[row].median, sorted[(n - 1) / 2]);
		row++;
	}
	ck_assert_uint_eq(row, tr->count);
	ck_assert_uint_ge(tr->count, 8); /* 8 days of sales, in local days */
	redstore_transactions_report_free(tr);

	/* Weekday x hour, and how many of each weekday the range covers. */
	memset(&want, 0, sizeof(want));
	for (int i = 0; i < TX_N; i++) {
		char day[16];
		int w, h;
		local_of(when[i], day, sizeof(day), &w, &h);
		want.cells[w][h].transactions++;
		want.cells[w][h].total += total[i];
	}
	for (int64_t d = from;; d += HOUR_MS) {
		char day[16], next[16];
		int w;
		if (d >= end) {
			local_of(end - 1, day, sizeof(day), &w, NULL);
			break;
		}
		local_of(d, day, sizeof(day), &w, NULL);
		local_of(d + HOUR_MS < end ? d + HOUR_MS : end - 1, next, sizeof(next), NULL, NULL);
		if (strcmp(day, next) || d + HOUR_MS >= end)
			want.days[w]++; /* the last hour of this local day in the range */
	}
	RS_OK(redstore_report_patterns(&pr, c, from, end));
	for (int w = 0; w < 7; w++) {
		ck_assert_int_eq(pr.days[w], want.days[w]);
		for (int h = 0; h < 24; h++) {
			ck_assert_int_eq(pr.cells[w][h].transactions, want.cells[w][h].transactions);
			ck_assert_int_eq(pr.cells[w][h].total, want.cells[w][h].total);
		}
	}
	if (prev_tz[0])
		setenv("TZ", prev_tz, 1);
	else
		unsetenv("TZ");
	tzset();

	/* Stock at `at` from the ledger, worth at today's prices, velocity over 3 days before it. */
	RS_OK(redstore_report_stock_value(&sv, c, at, 3));
	ck_assert_uint_eq(sv->count, TX_SKUS);
	for (int k = 0; k < TX_SKUS; k++) {
		redstore_stock_value_row *x = &sv->rows[k];
		char sku[16];
		snprintf(sku, sizeof(sku), "SKU-%05d", k);
		ck_assert_str_eq(x->sku, sku);
		ck_assert_int_eq(x->on_hand, on_hand[k]);
		ck_assert_int_eq(x->price, 100 + k);
		ck_assert_int_eq(x->worth, on_hand[k] * (100 + k));
		ck_assert_int_eq(x->sold, sold[k]);
		ck_assert_int_eq(x->cover_days, sold[k] ? on_hand[k] * 3 / sold[k] : -1);
		worth += x->worth;
	}
	ck_assert_int_eq(sv->worth, worth);
	redstore_stock_value_report_free(sv);
	/* Before the opening stock: nothing on hand, nothing worth anything. */
	RS_OK(redstore_report_stock_value(&sv, c, 1000, 1));
	ck_assert_int_eq(sv->worth, 0);
	ck_assert_int_eq(sv->rows[0].on_hand, 0);
	redstore_stock_value_report_free(sv);
	RS_FAILS(REDSTORE_EINVALID, redstore_report_stock_value(&sv, c, at, 0));
	RS_FAILS(REDSTORE_EINVALID, redstore_report_transactions(&tr, c, end, from));
	RS_FAILS(REDSTORE_EINVALID, redstore_report_patterns(&pr, c, 0, 4 * 366 * DAY_MS));
	redstore_client_free(c);
}
END_TEST

/* ------------------------------------------------------------ by tender, store-local days */

typedef struct tender_spec {
	redstore_tender_kind kind;
	int64_t amount;
} tender_spec;

/* Projects one sale, refund or void (kind) of `total` with its tenders, as the write path records it:
 * one line, change_due = tendered - total when over. Returns the id. */
static void project_op(redstore_client *c, const char *store, const char *kind, int64_t when, int64_t total,
                       size_t nt, const tender_spec *t, char *id)
{
	redstore_receipt r;
	redstore_receipt_line line;
	redstore_receipt_tender tenders[4];
	redstore_event *ev;
	cJSON *payload;
	char *json;
	size_t applied;
	memset(&r, 0, sizeof(r));
	memset(&line, 0, sizeof(line));
	memset(tenders, 0, sizeof(tenders));
	RS_OK(redstore_id_new(r.sale_id));
	snprintf(id, REDSTORE_ID_SIZE, "%s", r.sale_id);
	snprintf(r.kind, sizeof(r.kind), "%s", kind);
	if (strcmp(kind, "sale"))
		RS_OK(redstore_id_new(r.ref_sale_id));
	snprintf(r.store_id, sizeof(r.store_id), "%s", store);
	snprintf(r.terminal_id, sizeof(r.terminal_id), "T1");
	snprintf(r.employee_id, sizeof(r.employee_id), "E1");
	snprintf(r.currency, sizeof(r.currency), "EUR");
	r.occurred_at_ms = when;
	snprintf(line.sku, sizeof(line.sku), "TND-1");
	snprintf(line.name, sizeof(line.name), "Tender test");
	line.qty = 1;
	line.unit_price = line.gross = line.net = line.total = total;
	r.line_count = 1;
	r.lines = &line;
	for (size_t i = 0; i < nt; i++) {
		tenders[i].kind = t[i].kind;
		tenders[i].amount = t[i].amount;
		r.tendered += t[i].amount;
	}
	r.tender_count = nt;
	r.tenders = tenders;
	r.gross = r.total = total;
	r.change_due = r.tendered > total ? r.tendered - total : 0;
	ck_assert_ptr_nonnull(payload = redstore__receipt_to_cjson(&r));
	json = redstore__event_encode(c, store, r.sale_id,
	                              !strcmp(kind, "sale") ? "sale.completed" : !strcmp(kind, "void") ? "sale.voided" : "sale.refunded",
	                              when, payload);
	cJSON_Delete(payload);
	ck_assert_ptr_nonnull(json);
	RS_OK(redstore_event_decode(&ev, json, strlen(json)));
	free(json);
	RS_OK(redstore_projector_apply(c, (const redstore_event *const *)&ev, 1, &applied));
	ck_assert_uint_eq(applied, 1);
	redstore_event_free(ev);
}

static const redstore_sales_row *find_row(const redstore_sales_report *r, const char *bucket, const char *key)
{
	for (size_t i = 0; i < r->count; i++)
		if (!strcmp(r->rows[i].bucket, bucket) && !strcmp(r->rows[i].key, key))
			return &r->rows[i];
	ck_abort_msg("no row %s/%s", bucket, key);
	return NULL;
}

static void tender_row(const redstore_sales_report *r, const char *bucket, const char *key, int64_t total,
                       int64_t refunds, int64_t lines)
{
	const redstore_sales_row *x = find_row(r, bucket, key);
	ck_assert_msg(x->total == total && x->refunds == refunds && x->lines == lines,
	              "%s %s: total %lld refunds %lld lines %lld (expected %lld %lld %lld)", bucket, key,
	              (long long)x->total, (long long)x->refunds, (long long)x->lines, (long long)total,
	              (long long)refunds, (long long)lines);
	ck_assert_int_eq(x->units, 0);
	ck_assert_int_eq(x->gross, 0);
	ck_assert_int_eq(x->refunded_units, 0);
}

/* Split tenders, cash with change (one cash tender and two), a cash refund and a void paid back by the
 * voided sale's first tender (a voucher), on two local days of a store in Paris: every figure by hand. */
START_TEST(analytics_sales_by_tender_net_of_change_with_refunds_and_voids)
{
	redstore_client *c = rs_test_client();
	redstore_store_info info = { NULL, "Tenders", "EUR", "Europe/Paris", 1 };
	const int64_t d1 = 1794909600000LL; /* 2026-11-17 10:00 UTC = 11:00 in Paris */
	const int64_t d2 = d1 + DAY_MS;
	const tender_spec s1[] = { { REDSTORE_TENDER_CASH, 2000 } };                            /* 500: change 1500 */
	const tender_spec s2[] = { { REDSTORE_TENDER_CARD, 500 }, { REDSTORE_TENDER_CASH, 300 } }; /* 750: change 50 */
	const tender_spec s3[] = { { REDSTORE_TENDER_OTHER, 600 }, { REDSTORE_TENDER_CARD, 400 } }; /* 1000 */
	const tender_spec s4[] = { { REDSTORE_TENDER_CASH, 700 }, { REDSTORE_TENDER_CASH, 600 } };  /* 1200: change 100 */
	const tender_spec r1[] = { { REDSTORE_TENDER_CASH, 250 } };
	const tender_spec v3[] = { { REDSTORE_TENDER_OTHER, 1000 } };
	const tender_spec s5[] = { { REDSTORE_TENDER_CARD, 900 } };
	const tender_spec r2[] = { { REDSTORE_TENDER_CARD, 300 } };
	redstore_report_options o = { REDSTORE_BUCKET_DAY, REDSTORE_GROUP_TENDER, 0 };
	redstore_sales_report *r, *all, *none;
	char store[65], id[REDSTORE_ID_SIZE];
	int64_t sum_total = 0, sum_refunds = 0;

	rs_test_unique(store, sizeof(store), "antd");
	info.store_id = store;
	RS_OK(redstore_store_create(c, &info));
	RS_OK(redstore_client_use_store(c, store));
	project_op(c, store, "sale", d1, 500, 1, s1, id);
	project_op(c, store, "sale", d1 + 60000, 750, 2, s2, id);
	project_op(c, store, "sale", d1 + 120000, 1000, 2, s3, id);
	project_op(c, store, "sale", d1 + 180000, 1200, 2, s4, id);
	project_op(c, store, "refund", d1 + 240000, 250, 1, r1, id);
	project_op(c, store, "void", d1 + 300000, 1000, 1, v3, id);
	project_op(c, store, "sale", d2, 900, 1, s5, id);
	project_op(c, store, "refund", d2 + 60000, 300, 1, r2, id);

	/* Whole hours in a whole-hour zone: tenders are still read raw. */
	RS_OK(redstore_report_sales(&r, c, d1 - 10 * HOUR_MS, d2 + 10 * HOUR_MS, &o));
	ck_assert_int_eq(r->from_rollups, 0);
	ck_assert_uint_eq(r->count, 4);
	/* Ordered by bucket then key. */
	ck_assert_str_eq(r->rows[0].key, "card");
	ck_assert_str_eq(r->rows[1].key, "cash");
	ck_assert_str_eq(r->rows[2].key, "other");
	ck_assert_str_eq(r->rows[3].bucket, "2026-11-18 00:00");
	/* cash: 500 + (300 - 50) + (700 + 600 - 100); back 250; tenders S1, S2, S4 twice, R1 */
	tender_row(r, "2026-11-17 00:00", "cash", 1950, 250, 5);
	/* card: 500 + 400; tenders S2, S3 */
	tender_row(r, "2026-11-17 00:00", "card", 900, 0, 2);
	/* other: the voucher of S3, paid back by the void */
	tender_row(r, "2026-11-17 00:00", "other", 600, 1000, 2);
	tender_row(r, "2026-11-18 00:00", "card", 900, 300, 2);
	redstore_sales_report_free(r);

	/* Over the kinds, the same money as the ungrouped report. */
	o.bucket = REDSTORE_BUCKET_ALL;
	RS_OK(redstore_report_sales(&all, c, d1 - HOUR_MS, d2 + HOUR_MS, &o));
	o.group_by = REDSTORE_GROUP_NONE;
	RS_OK(redstore_report_sales(&none, c, d1 - HOUR_MS, d2 + HOUR_MS, &o));
	ck_assert_uint_eq(all->count, 3);
	for (size_t i = 0; i < all->count; i++) {
		sum_total += all->rows[i].total;
		sum_refunds += all->rows[i].refunds;
	}
	ck_assert_uint_eq(none->count, 1);
	ck_assert_int_eq(sum_total, 500 + 750 + 1000 + 1200 + 900);
	ck_assert_int_eq(sum_total, none->rows[0].total);
	ck_assert_int_eq(sum_refunds, 250 + 1000 + 300);
	ck_assert_int_eq(sum_refunds, none->rows[0].refunds);
	tender_row(all, "", "card", 1800, 300, 4);
	redstore_sales_report_free(all);
	redstore_sales_report_free(none);

	/* A range that leaves out the second day. */
	o.group_by = REDSTORE_GROUP_TENDER;
	RS_OK(redstore_report_sales(&r, c, d1, d2, &o));
	tender_row(r, "", "card", 900, 0, 2);
	redstore_sales_report_free(r);
#ifdef REDSTORE_CLI
	/* redstore-cli report sales --group tender: the same rows, and the store's day by --day. */
	{
		char cmd[800], out[2048];
		size_t got;
		FILE *p;
		snprintf(cmd, sizeof(cmd),
		         "'%s' report sales --store '%s' --from %lld --to %lld --bucket day --group tender --format csv 2>&1",
		         REDSTORE_CLI, store, (long long)(d1 - 10 * HOUR_MS), (long long)(d2 + 10 * HOUR_MS));
		ck_assert_ptr_nonnull(p = popen(cmd, "r"));
		got = fread(out, 1, sizeof(out) - 1, p);
		out[got] = '\0';
		ck_assert_int_eq(WEXITSTATUS(pclose(p)), 0);
		ck_assert_msg(strstr(out, "2026-11-17 00:00,cash,0,0,0,0,1950,0,250,5\n") &&
		                  strstr(out, "2026-11-17 00:00,card,0,0,0,0,900,0,0,2\n") &&
		                  strstr(out, "2026-11-17 00:00,other,0,0,0,0,600,0,1000,2\n") &&
		                  strstr(out, "2026-11-18 00:00,card,0,0,0,0,900,0,300,2\n"),
		              "redstore-cli report --group tender:\n%s", out);
		snprintf(cmd, sizeof(cmd),
		         "'%s' report sales --store '%s' --day 2026-11-18 --bucket all --group tender --format csv 2>&1",
		         REDSTORE_CLI, store);
		ck_assert_ptr_nonnull(p = popen(cmd, "r"));
		got = fread(out, 1, sizeof(out) - 1, p);
		out[got] = '\0';
		ck_assert_int_eq(WEXITSTATUS(pclose(p)), 0);
		ck_assert_msg(strstr(out, ",card,0,0,0,0,900,0,300,2\n") && !strstr(out, "cash"), "--day 2026-11-18:\n%s", out);
	}
#endif
	redstore_client_free(c);
}
END_TEST

/* A store's local day: from its local midnight to the next, 23 or 25 hours on DST days, "today" in the
 * store's zone; malformed and impossible dates refused. */
START_TEST(analytics_store_day_range_is_the_local_day_of_the_store)
{
	redstore_client *c = rs_test_client();
	redstore_store_info info = { NULL, "Days", "EUR", "Europe/Paris", 1 };
	char store[65], kiri[65], day[11];
	int64_t from, to, now;
	static const char *const bad[] = { "2026-13-01", "2026-02-29", "2026-2-01", "20261201", "1969-12-31",
		                               "2026-12-01x", "", "yesterday", "2026-04-31" };

	RS_FAILS(REDSTORE_EINVALID, redstore_store_day_range(&from, &to, c, "2026-12-01", NULL)); /* no store */
	rs_test_unique(store, sizeof(store), "andy");
	info.store_id = store;
	RS_OK(redstore_store_create(c, &info));
	rs_test_unique(kiri, sizeof(kiri), "andk");
	info.store_id = kiri;
	info.timezone = "Pacific/Kiritimati";
	RS_OK(redstore_store_create(c, &info));

	RS_OK(redstore_client_use_store(c, store));
	RS_OK(redstore_store_day_range(&from, &to, c, "2026-12-01", day));
	ck_assert_int_eq(from, 1796079600000LL); /* 2026-11-30 23:00 UTC */
	ck_assert_int_eq(to - from, DAY_MS);
	ck_assert_str_eq(day, "2026-12-01");
	RS_OK(redstore_store_day_range(&from, &to, c, "2026-03-29", NULL)); /* spring forward: 23 hours */
	ck_assert_int_eq(from, 1774738800000LL);                          /* 2026-03-28 23:00 UTC */
	ck_assert_int_eq(to - from, 23 * HOUR_MS);
	RS_OK(redstore_store_day_range(&from, &to, c, "2026-10-25", NULL)); /* fall back: 25 hours */
	ck_assert_int_eq(to - from, 25 * HOUR_MS);
	RS_OK(redstore_store_day_range(&from, &to, c, "2024-02-29", NULL));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		RS_FAILS(REDSTORE_EINVALID, redstore_store_day_range(&from, &to, c, bad[i], day));
		ck_assert_int_eq(from, 0);
		ck_assert_str_eq(day, "");
	}

	/* UTC+14: its day starts at 10:00 UTC the day before, and "today" holds now. */
	RS_OK(redstore_client_use_store(c, kiri));
	RS_OK(redstore_store_day_range(&from, &to, c, "2026-12-01", NULL));
	ck_assert_int_eq(from, 1796032800000LL); /* 2026-11-30 10:00 UTC */
	now = redstore__wall_ms();
	RS_OK(redstore_store_day_range(&from, &to, c, NULL, day));
	ck_assert_int_le(from, now);
	ck_assert_int_gt(to, now);
	ck_assert_int_eq(to - from, DAY_MS);
	ck_assert_int_eq((from / 1000) % 86400, 10 * 3600);
	{
		time_t t = (time_t)(now / 1000 + 14 * 3600);
		struct tm tm;
		char want[16];
		gmtime_r(&t, &tm);
		strftime(want, sizeof(want), "%Y-%m-%d", &tm);
		ck_assert_str_eq(day, want);
	}
	RS_OK(redstore_store_day_range(&from, &to, c, "today", day));
	ck_assert_int_le(from, now);
	ck_assert_int_gt(to, now);
	redstore_client_free(c);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("analytics");
	TCase *tc = tcase_create("analytics");
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, analytics_rollups_and_raw_lines_give_the_same_rows_on_random_data);
	tcase_add_test(tc, analytics_a_half_hour_zone_is_answered_from_raw_lines_in_local_time);
	tcase_add_test(tc, analytics_bad_arguments_are_refused);
	tcase_add_test(tc, analytics_transactions_patterns_and_stock_value_match_a_computation_by_hand);
	tcase_add_test(tc, analytics_sales_by_tender_net_of_change_with_refunds_and_voids);
	tcase_add_test(tc, analytics_store_day_range_is_the_local_day_of_the_store);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return rs_test_run(suite());
}
