/*
 * redstore-server, catalog listing and reports:
 *
 *   GET /v1/stores/{s}/products?q=&limit=&cursor=&favourites=1       any session of the store
 *   GET /v1/stores/{s}/reports/sales?from=&to=&bucket=&group_by=     manager (REDSTORE_PERM_REPORTS)
 *   GET /v1/stores/{s}/reports/top-products?from=&to=&by=&order=&n=  manager
 *   GET /v1/stores/{s}/reports/reorder?window_days=&limit=           manager
 *   GET /v1/stores/{s}/reports/transactions?from=&to=                manager
 *   GET /v1/stores/{s}/reports/patterns?from=&to=                    manager
 *   GET /v1/stores/{s}/reports/stock-value?at=&window_days=          manager
 *
 * Query parameters are checked before the library is called: an unknown parameter, a value that is not
 * what it should be, or one the library refuses as invalid gets 400 "invalid_parameter" naming it.
 * from/to are milliseconds since the epoch; the report's buckets are in the store's time zone. Instead
 * of from/to, day=YYYY-MM-DD or day=today asks for one local day of the store (its time zone, resolved by
 * redstore_store_day_range): the answer then names the "day" and the from/to it stands for.
 */
#include "server.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_PARAM 256

typedef struct query_check {
	server_reply *out;
	const char *const *allowed;
	int bad;
} query_check;

static MHD_RESULT check_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	query_check *q = cls;
	int ok = 0;
	(void)kind;
	if (q->bad)
		return MHD_NO;
	for (const char *const *a = q->allowed; *a && !ok; a++)
		ok = !strcmp(key, *a);
	if (!ok) {
		httpkit_reply_error(q->out, 400, "invalid_parameter", "unknown query parameter \"%.40s\"", key);
		q->bad = 1;
	} else if (value && strlen(value) > MAX_PARAM) {
		httpkit_reply_error(q->out, 400, "invalid_parameter", "query parameter \"%s\" is longer than %d bytes", key,
		                   MAX_PARAM);
		q->bad = 1;
	}
	return q->bad ? MHD_NO : MHD_YES;
}

/* Refuses unknown and oversized query parameters. access_token is everyone's. */
int api_check_query(server_reply *out, const server_request *req, const char *const *allowed)
{
	query_check q = { out, allowed, 0 };
	MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, check_arg, &q);
	return q.bad ? -1 : 0;
}

static const char *arg(const server_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

/* An integer parameter in [min, max]; absent: *v = dflt, or 400 when dflt is not allowed (required). */
static int int_arg(server_reply *out, const server_request *req, const char *name, int required, int64_t dflt,
                   int64_t min, int64_t max, int64_t *v)
{
	const char *s = arg(req, name);
	char *end;
	long long x;
	if (!s) {
		if (required) {
			httpkit_reply_error(out, 400, "invalid_parameter", "query parameter \"%s\" is required", name);
			return -1;
		}
		*v = dflt;
		return 0;
	}
	errno = 0;
	x = strtoll(s, &end, 10);
	if (!*s || *end || errno || x < min || x > max) {
		httpkit_reply_error(out, 400, "invalid_parameter", "query parameter \"%s\" must be an integer in %lld..%lld",
		                   name, (long long)min, (long long)max);
		return -1;
	}
	*v = x;
	return 0;
}

/* One of `names` (index into *v); absent: dflt. */
static int enum_arg(server_reply *out, const server_request *req, const char *name, const char *const *names,
                    int dflt, int *v)
{
	const char *s = arg(req, name);
	char list[200] = "";
	size_t len = 0;
	*v = dflt;
	if (!s)
		return 0;
	for (int i = 0; names[i]; i++) {
		if (!strcmp(s, names[i])) {
			*v = i;
			return 0;
		}
		len += (size_t)snprintf(list + len, len < sizeof(list) ? sizeof(list) - len : 0, "%s%s", i ? ", " : "",
		                        names[i]);
		if (len >= sizeof(list))
			len = sizeof(list) - 1;
	}
	httpkit_reply_error(out, 400, "invalid_parameter", "query parameter \"%s\" must be one of %s", name, list);
	return -1;
}

static void reply_lib(server_reply *out, int rc)
{
	if (rc == REDSTORE_EINVALID)
		httpkit_reply_error(out, 400, "invalid_parameter", "%s", redstore_error_last());
	else
		server_reply_lib_error(out, rc);
}

/* ------------------------------------------------------------ products */

void api_product_list(server_reply *out, const server_request *req, redstore_client *c)
{
	static const char *const allowed[] = { "q", "limit", "cursor", "favourites", "access_token", NULL };
	static const char *const yesno[] = { "0", "1", NULL };
	redstore_product_page *page;
	int64_t limit;
	int fav;
	cJSON *o, *arr;
	int rc;
	if (api_check_query(out, req, allowed) || int_arg(out, req, "limit", 0, 50, 1, 200, &limit) ||
	    enum_arg(out, req, "favourites", yesno, 0, &fav))
		return;
	rc = redstore_product_search(&page, c, arg(req, "q"), arg(req, "cursor"), (size_t)limit,
	                             fav ? REDSTORE_LIST_FAVOURITES_ONLY : 0);
	if (rc) {
		reply_lib(out, rc);
		return;
	}
	o = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(o, "products");
	for (size_t i = 0; i < page->count; i++)
		cJSON_AddItemToArray(arr, api_product_json(page->items[i]));
	if (page->next_cursor)
		cJSON_AddStringToObject(o, "next_cursor", page->next_cursor);
	else
		cJSON_AddNullToObject(o, "next_cursor");
	redstore_product_page_free(page);
	httpkit_reply_json(out, 200, srv_print(o));
}

/* ------------------------------------------------------------ reports */

static cJSON *row_json(const redstore_sales_row *r)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "bucket", r->bucket);
	cJSON_AddStringToObject(o, "key", r->key);
	cJSON_AddNumberToObject(o, "units", (double)r->units);
	cJSON_AddNumberToObject(o, "gross", (double)r->gross);
	cJSON_AddNumberToObject(o, "discount", (double)r->discount);
	cJSON_AddNumberToObject(o, "tax", (double)r->tax);
	cJSON_AddNumberToObject(o, "total", (double)r->total);
	cJSON_AddNumberToObject(o, "refunded_units", (double)r->refunded_units);
	cJSON_AddNumberToObject(o, "refunds", (double)r->refunds);
	cJSON_AddNumberToObject(o, "lines", (double)r->lines);
	return o;
}

/* {"from", "to"[, "day"]} of a range report. */
static cJSON *range_json(int64_t from, int64_t to, const char *day)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "from", (double)from);
	cJSON_AddNumberToObject(o, "to", (double)to);
	if (day[0])
		cJSON_AddStringToObject(o, "day", day);
	return o;
}

static void reply_report(server_reply *out, const redstore_sales_report *r, int64_t from, int64_t to, const char *day)
{
	cJSON *o = range_json(from, to, day), *rows;
	cJSON_AddBoolToObject(o, "from_rollups", r->from_rollups);
	rows = cJSON_AddArrayToObject(o, "rows");
	for (size_t i = 0; i < r->count; i++)
		cJSON_AddItemToArray(rows, row_json(&r->rows[i]));
	httpkit_reply_json(out, 200, srv_print(o));
}

/* from and to, both required, to > from; or day (a local day of the store) instead of both: `day`
 * receives the date answered ("" for from/to). */
static int range_args(server_reply *out, const server_request *req, redstore_client *c, int64_t *from, int64_t *to,
                      char day[11])
{
	const int64_t max = 253402300799999LL; /* 9999-12-31 */
	const char *d = arg(req, "day");
	int rc;
	day[0] = '\0';
	if (d) {
		if (arg(req, "from") || arg(req, "to")) {
			httpkit_reply_error(out, 400, "invalid_parameter",
			                   "query parameter \"day\" replaces \"from\" and \"to\": give one or the other");
			return -1;
		}
		if ((rc = redstore_store_day_range(from, to, c, d, day))) {
			if (rc == REDSTORE_EINVALID)
				httpkit_reply_error(out, 400, "invalid_parameter", "query parameter \"day\": %s", redstore_error_last());
			else
				server_reply_lib_error(out, rc);
			return -1;
		}
		return 0;
	}
	if (int_arg(out, req, "from", 1, 0, 0, max, from) || int_arg(out, req, "to", 1, 0, 0, max, to))
		return -1;
	if (*to <= *from) {
		httpkit_reply_error(out, 400, "invalid_parameter", "\"to\" (%lld) must be after \"from\" (%lld)",
		                   (long long)*to, (long long)*from);
		return -1;
	}
	return 0;
}

void api_report_sales(server_reply *out, const server_request *req, redstore_client *c)
{
	static const char *const allowed[] = { "from", "to", "day", "bucket", "group_by", "access_token", NULL };
	static const char *const buckets[] = { "15min", "hour", "day", "week", "month", "all", NULL };
	static const char *const groups[] = { "none",     "product",  "category", "brand",
		                                   "terminal", "employee", "tender",   NULL };
	redstore_report_options opt = { 0 };
	redstore_sales_report *r;
	int64_t from, to;
	char day[11];
	int bucket, group, rc;
	if (api_check_query(out, req, allowed) || range_args(out, req, c, &from, &to, day) ||
	    enum_arg(out, req, "bucket", buckets, REDSTORE_BUCKET_HOUR, &bucket) ||
	    enum_arg(out, req, "group_by", groups, REDSTORE_GROUP_NONE, &group))
		return;
	opt.bucket = (redstore_bucket)bucket;
	opt.group_by = (redstore_group_by)group;
	if ((rc = redstore_report_sales(&r, c, from, to, &opt))) {
		reply_lib(out, rc);
		return;
	}
	reply_report(out, r, from, to, day);
	redstore_sales_report_free(r);
}

void api_report_top_products(server_reply *out, const server_request *req, redstore_client *c)
{
	static const char *const allowed[] = { "from", "to", "day", "by", "order", "n", "access_token", NULL };
	static const char *const bys[] = { "units", "revenue", NULL };
	static const char *const orders[] = { "top", "bottom", NULL };
	redstore_sales_report *r;
	int64_t from, to, n;
	char day[11];
	int by, bottom, rc;
	if (api_check_query(out, req, allowed) || range_args(out, req, c, &from, &to, day) ||
	    enum_arg(out, req, "by", bys, REDSTORE_RANK_UNITS, &by) || enum_arg(out, req, "order", orders, 0, &bottom) ||
	    int_arg(out, req, "n", 0, 10, 1, 1000, &n))
		return;
	if ((rc = redstore_report_top_products(&r, c, from, to, (redstore_rank_by)by, bottom, (size_t)n))) {
		reply_lib(out, rc);
		return;
	}
	reply_report(out, r, from, to, day);
	redstore_sales_report_free(r);
}

void api_report_reorder(server_reply *out, const server_request *req, redstore_client *c)
{
	static const char *const allowed[] = { "window_days", "limit", "access_token", NULL };
	redstore_reorder_report *r;
	struct timespec ts;
	int64_t days, limit, now;
	cJSON *o, *rows;
	int rc;
	if (api_check_query(out, req, allowed) || int_arg(out, req, "window_days", 0, 14, 1, 366, &days) ||
	    int_arg(out, req, "limit", 0, 100, 1, 1000, &limit))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if ((rc = redstore_report_reorder(&r, c, now, (int)days, (size_t)limit))) {
		reply_lib(out, rc);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "window_days", (double)days);
	rows = cJSON_AddArrayToObject(o, "rows");
	for (size_t i = 0; i < r->count; i++) {
		const redstore_reorder_row *x = &r->rows[i];
		cJSON *row = cJSON_CreateObject();
		cJSON_AddStringToObject(row, "sku", x->sku);
		cJSON_AddStringToObject(row, "name", x->name);
		cJSON_AddNumberToObject(row, "on_hand", (double)x->on_hand);
		cJSON_AddNumberToObject(row, "available", (double)x->available);
		cJSON_AddNumberToObject(row, "threshold", (double)x->threshold);
		cJSON_AddNumberToObject(row, "sold", (double)x->sold);
		cJSON_AddNumberToObject(row, "suggested", (double)x->suggested);
		cJSON_AddItemToArray(rows, row);
	}
	redstore_reorder_report_free(r);
	httpkit_reply_json(out, 200, srv_print(o));
}

void api_report_transactions(server_reply *out, const server_request *req, redstore_client *c)
{
	static const char *const allowed[] = { "from", "to", "day", "access_token", NULL };
	redstore_transactions_report *r;
	int64_t from, to;
	char day[11];
	cJSON *o, *rows;
	int rc;
	if (api_check_query(out, req, allowed) || range_args(out, req, c, &from, &to, day))
		return;
	if ((rc = redstore_report_transactions(&r, c, from, to))) {
		reply_lib(out, rc);
		return;
	}
	o = range_json(from, to, day);
	rows = cJSON_AddArrayToObject(o, "rows");
	for (size_t i = 0; i < r->count; i++) {
		const redstore_transactions_row *x = &r->rows[i];
		cJSON *row = cJSON_CreateObject();
		cJSON_AddStringToObject(row, "day", x->day);
		cJSON_AddNumberToObject(row, "count", (double)x->count);
		cJSON_AddNumberToObject(row, "total", (double)x->total);
		cJSON_AddNumberToObject(row, "average", (double)x->average);
		cJSON_AddNumberToObject(row, "median", (double)x->median);
		cJSON_AddItemToArray(rows, row);
	}
	redstore_transactions_report_free(r);
	httpkit_reply_json(out, 200, srv_print(o));
}

/* "cells": 7 weekdays (Monday first) of 24 hours of {transactions, total}; "days": local days of each weekday. */
void api_report_patterns(server_reply *out, const server_request *req, redstore_client *c)
{
	static const char *const allowed[] = { "from", "to", "day", "access_token", NULL };
	redstore_pattern_report *r;
	int64_t from, to;
	char day[11];
	cJSON *o, *cells, *days;
	int rc;
	if (api_check_query(out, req, allowed) || range_args(out, req, c, &from, &to, day))
		return;
	if (!(r = malloc(sizeof(*r)))) {
		httpkit_reply_error(out, 500, "internal", "out of memory");
		return;
	}
	if ((rc = redstore_report_patterns(r, c, from, to))) {
		free(r);
		reply_lib(out, rc);
		return;
	}
	o = range_json(from, to, day);
	cells = cJSON_AddArrayToObject(o, "cells");
	days = cJSON_AddArrayToObject(o, "days");
	for (int w = 0; w < 7; w++) {
		cJSON *hours = cJSON_CreateArray();
		for (int h = 0; h < 24; h++) {
			cJSON *cell = cJSON_CreateObject();
			cJSON_AddNumberToObject(cell, "transactions", (double)r->cells[w][h].transactions);
			cJSON_AddNumberToObject(cell, "total", (double)r->cells[w][h].total);
			cJSON_AddItemToArray(hours, cell);
		}
		cJSON_AddItemToArray(cells, hours);
		cJSON_AddItemToArray(days, cJSON_CreateNumber((double)r->days[w]));
	}
	free(r);
	httpkit_reply_json(out, 200, srv_print(o));
}

/* at: ms since the epoch (default now); window_days 1..366 (default 30). */
void api_report_stock_value(server_reply *out, const server_request *req, redstore_client *c)
{
	static const char *const allowed[] = { "at", "window_days", "access_token", NULL };
	const int64_t max = 253402300799999LL; /* 9999-12-31 */
	redstore_stock_value_report *r;
	struct timespec ts;
	int64_t at, days;
	cJSON *o, *rows;
	int rc;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (api_check_query(out, req, allowed) ||
	    int_arg(out, req, "at", 0, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, 0, max, &at) ||
	    int_arg(out, req, "window_days", 0, 30, 1, 366, &days))
		return;
	if ((rc = redstore_report_stock_value(&r, c, at, (int)days))) {
		reply_lib(out, rc);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "at", (double)at);
	cJSON_AddNumberToObject(o, "window_days", (double)days);
	cJSON_AddNumberToObject(o, "worth", (double)r->worth);
	rows = cJSON_AddArrayToObject(o, "rows");
	for (size_t i = 0; i < r->count; i++) {
		const redstore_stock_value_row *x = &r->rows[i];
		cJSON *row = cJSON_CreateObject();
		cJSON_AddStringToObject(row, "sku", x->sku);
		cJSON_AddStringToObject(row, "name", x->name);
		cJSON_AddNumberToObject(row, "on_hand", (double)x->on_hand);
		cJSON_AddNumberToObject(row, "price", (double)x->price);
		cJSON_AddNumberToObject(row, "worth", (double)x->worth);
		cJSON_AddNumberToObject(row, "sold", (double)x->sold);
		cJSON_AddNumberToObject(row, "cover_days", (double)x->cover_days);
		cJSON_AddItemToArray(rows, row);
	}
	redstore_stock_value_report_free(r);
	httpkit_reply_json(out, 200, srv_print(o));
}
