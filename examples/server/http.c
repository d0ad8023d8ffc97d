/*
 * redstore-server, HTTP: request bodies under a size limit, the route table, JSON errors with stable
 * codes, the authenticate+authorise step, /healthz, /metrics and the pool of library clients.
 */
#include "server.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

server_metrics g_metrics;

static server_options g_opt;

void http_set_options(const server_options *opt)
{
	g_opt = *opt;
}

/* ------------------------------------------------------------ client pool */

/* Library clients are one thread at a time: a request takes one, uses it alone and gives it back. The
 * pool grows to the number of requests served at once (at most the worker threads plus SSE catch-ups). */
static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static redstore_client **pool;
static size_t pool_n, pool_cap;

redstore_client *server_client_take(void)
{
	redstore_client *c = NULL;
	pthread_mutex_lock(&pool_mu);
	if (pool_n)
		c = pool[--pool_n];
	pthread_mutex_unlock(&pool_mu);
	if (!c && redstore_client_new(&c, NULL))
		return NULL;
	return c;
}

void server_client_give(redstore_client *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&pool_mu);
	if (pool_n == pool_cap) {
		size_t cap = pool_cap ? pool_cap * 2 : 16;
		redstore_client **p = realloc(pool, cap * sizeof(*p));
		if (!p) {
			pthread_mutex_unlock(&pool_mu);
			redstore_client_free(c);
			return;
		}
		pool = p;
		pool_cap = cap;
	}
	pool[pool_n++] = c;
	pthread_mutex_unlock(&pool_mu);
}

void server_pool_shutdown(void)
{
	pthread_mutex_lock(&pool_mu);
	for (size_t i = 0; i < pool_n; i++)
		redstore_client_free(pool[i]);
	free(pool);
	pool = NULL;
	pool_n = pool_cap = 0;
	pthread_mutex_unlock(&pool_mu);
}

/* ------------------------------------------------------------ replies */

void server_reply_lib_error(server_reply *r, int rc)
{
	unsigned status = 500;
	const char *code = "internal";
	switch (rc) {
	case REDSTORE_EINVALID:
		status = 422, code = "invalid";
		break;
	case REDSTORE_EDECODE:
		status = 400, code = "malformed_request";
		break;
	case REDSTORE_ELIMIT:
		status = 422, code = "limit_exceeded";
		break;
	case REDSTORE_ENOTFOUND:
		status = 404, code = "not_found";
		break;
	case REDSTORE_EEXISTS:
	case REDSTORE_ECONFLICT:
		status = 409, code = "conflict";
		break;
	case REDSTORE_EOUT_OF_STOCK:
		status = 409, code = "out_of_stock";
		break;
	case REDSTORE_EINACTIVE:
		status = 409, code = "inactive";
		break;
	case REDSTORE_EAUTH:
		status = 401, code = "unauthenticated";
		break;
	case REDSTORE_EPERM:
		status = 403, code = "forbidden";
		break;
	case REDSTORE_ELOCKED:
		status = 429, code = "locked";
		break;
	default:
		if (redstore_err_is_retriable(rc)) {
			status = 503, code = "unavailable";
			r->retry_after = 1;
		}
		break;
	}
	httpkit_reply_error(r, status, code, "%s: %s", redstore_err_name(rc), redstore_error_last());
}

/* ------------------------------------------------------------ authentication */

static redstore_permission library_permission(server_permission perm)
{
	switch (perm) {
	case SERVER_PERM_VOID:
		return REDSTORE_PERM_VOID;
	case SERVER_PERM_REFUND:
		return REDSTORE_PERM_REFUND;
	case SERVER_PERM_STOCK:
		return REDSTORE_PERM_STOCK;
	case SERVER_PERM_PAIR:
		return REDSTORE_PERM_PAIR;
	case SERVER_PERM_REPORTS:
		return REDSTORE_PERM_REPORTS;
	case SERVER_PERM_CATALOG:
		return REDSTORE_PERM_CATALOG;
	case SERVER_PERM_EMPLOYEES:
		return REDSTORE_PERM_EMPLOYEES;
	case SERVER_PERM_TERMINALS:
		return REDSTORE_PERM_TERMINALS;
	case SERVER_PERM_SHIFT:
		return REDSTORE_PERM_SELL; /* any role opens and keeps its own drawer; the library checks the rest */
	default:
		return REDSTORE_PERM_SELL; /* reading a store and selling: every role */
	}
}

int server_authorize(server_reply *reply, const server_request *req, redstore_client *client, const char *store,
                     server_permission perm)
{
	if (perm == SERVER_PERM_NONE)
		return 0;
	return server_authorize_token(reply, httpkit_bearer(req->conn), client, store, perm);
}

int server_authorize_token(server_reply *reply, const char *token, redstore_client *client, const char *store,
                           server_permission perm)
{
	redstore_session_info who;
	int rc;
	if (!token || !*token) {
		httpkit_reply_error(reply, 401, "unauthenticated", "a session token is required (Authorization: Bearer)");
		return -1;
	}
	/* Attaching verifies the token (signature, expiry), that the terminal is not revoked and that the
	 * employee is active with the same role; from then on the client acts for the session and every
	 * privileged library call it makes is checked and audited by the library as well. */
	if ((rc = redstore_auth_attach(client, token))) {
		httpkit_reply_error(reply, 401, "unauthenticated", "%s", redstore_error_last());
		return -1;
	}
	if ((rc = redstore_auth_session(&who, client))) {
		server_reply_lib_error(reply, rc);
		return -1;
	}
	if (strcmp(who.store_id, store)) {
		httpkit_reply_error(reply, 403, "forbidden", "the session is not for store \"%.64s\"", store);
		return -1;
	}
	if ((rc = redstore_auth_require(client, library_permission(perm), 0))) {
		server_reply_lib_error(reply, rc);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ routes */

typedef struct route {
	const char *method;
	const char *pattern; /* segments; "*" is a parameter; the first parameter of a /v1/stores route is the store */
	server_permission perm;
	server_handler handler;
} route;

static const route routes[] = {
	{ "POST", "/v1/pair", SERVER_PERM_NONE, api_pair },
	{ "POST", "/v1/sessions", SERVER_PERM_NONE, api_login },
	{ "POST", "/v1/stores/*/pairing-codes", SERVER_PERM_PAIR, api_pairing_code },
	{ "GET", "/v1/stores/*/events", SERVER_PERM_READ, sse_open },
	{ "GET", "/v1/stores/*/products/*", SERVER_PERM_READ, api_product_by_sku },
	{ "GET", "/v1/stores/*/barcodes/*", SERVER_PERM_READ, api_product_by_barcode },
	{ "GET", "/v1/stores/*/stock/*", SERVER_PERM_READ, api_stock_get },
	{ "GET", "/v1/stores/*/snapshot", SERVER_PERM_READ, api_snapshot },
	{ "POST", "/v1/stores/*/sales", SERVER_PERM_SELL, api_sale_create },
	{ "GET", "/v1/stores/*/sales/*", SERVER_PERM_READ, api_sale_get },
	{ "POST", "/v1/stores/*/sales/*/void", SERVER_PERM_VOID, api_sale_void },
	{ "POST", "/v1/stores/*/sales/*/refunds", SERVER_PERM_REFUND, api_sale_refund },
	{ "POST", "/v1/stores/*/stock/receipts", SERVER_PERM_STOCK, api_stock_receive },
	{ "POST", "/v1/stores/*/stock/adjustments", SERVER_PERM_STOCK, api_stock_adjust },
	{ "POST", "/v1/stores/*/stock/counts", SERVER_PERM_STOCK, api_stock_count },
	{ "GET", "/v1/stores/*/products", SERVER_PERM_READ, api_product_list },
	{ "POST", "/v1/stores/*/sales/quote", SERVER_PERM_SELL, api_sale_quote },
	{ "GET", "/v1/stores/*/reports/sales", SERVER_PERM_REPORTS, api_report_sales },
	{ "GET", "/v1/stores/*/reports/top-products", SERVER_PERM_REPORTS, api_report_top_products },
	{ "GET", "/v1/stores/*/reports/reorder", SERVER_PERM_REPORTS, api_report_reorder },
	{ "POST", "/v1/stores/*/products", SERVER_PERM_CATALOG, api_product_create },
	{ "PUT", "/v1/stores/*/products/*", SERVER_PERM_CATALOG, api_product_update },
	{ "DELETE", "/v1/stores/*/products/*", SERVER_PERM_CATALOG, api_product_deactivate },
	{ "POST", "/v1/stores/*/transfers", SERVER_PERM_STOCK, api_transfer_send },
	{ "POST", "/v1/stores/*/transfers/*/receipts", SERVER_PERM_STOCK, api_transfer_receive },
	{ "POST", "/v1/stores/*/reservations", SERVER_PERM_STOCK, api_reservation_create },
	{ "POST", "/v1/stores/*/reservations/*/releases", SERVER_PERM_STOCK, api_reservation_release },
	{ "POST", "/v1/stores/*/employees", SERVER_PERM_EMPLOYEES, api_employee_add },
	{ "PATCH", "/v1/stores/*/employees/*", SERVER_PERM_EMPLOYEES, api_employee_change },
	{ "GET", "/v1/stores/*/terminals", SERVER_PERM_PAIR, api_terminal_list },
	{ "POST", "/v1/stores/*/terminals/*/revoke", SERVER_PERM_TERMINALS, api_terminal_revoke },
	{ "GET", "/v1/stores/*/audit/verify", SERVER_PERM_REPORTS, api_audit_verify },
	{ "GET", "/v1/stores/*/reports/transactions", SERVER_PERM_REPORTS, api_report_transactions },
	{ "GET", "/v1/stores/*/reports/patterns", SERVER_PERM_REPORTS, api_report_patterns },
	{ "GET", "/v1/stores/*/reports/stock-value", SERVER_PERM_REPORTS, api_report_stock_value },
	{ "POST", "/v1/stores/*/shifts", SERVER_PERM_SHIFT, api_shift_open },
	{ "GET", "/v1/stores/*/shifts/current", SERVER_PERM_SHIFT, api_shift_current },
	{ "GET", "/v1/stores/*/shifts/*", SERVER_PERM_SHIFT, api_shift_get },
	{ "POST", "/v1/stores/*/shifts/*/cash-moves", SERVER_PERM_SHIFT, api_shift_cash_move },
	{ "POST", "/v1/stores/*/shifts/*/close", SERVER_PERM_SHIFT, api_shift_close },
	{ "GET", "/v1/stores/*/shifts/*/x-report", SERVER_PERM_SHIFT, api_shift_x_report },
	{ "POST", "/v1/stores/*/shifts/*/z-report", SERVER_PERM_SHIFT, api_shift_z_report },
	{ "GET", "/v1/stores/*/shifts/*/z-report", SERVER_PERM_SHIFT, api_shift_z_report },
};

/* Matches path against pattern; params point into `buf`, a copy of path cut at its slashes. */
/* ------------------------------------------------------------ health and metrics */

/* Healthy while the hub holds its Redis subscription: without it no stream gets live changes. */
static void health(server_reply *out)
{
	redstore_hub_stats st;
	sse_hub_stats(&st);
	if (st.connected)
		httpkit_reply_json(out, 200, strdup("{\"status\":\"ok\",\"sync_hub\":\"subscribed\"}"));
	else
		httpkit_reply_error(out, 503, "unavailable", "the sync hub has no Redis subscription");
}

static void metrics(server_reply *out, struct MHD_Response **resp)
{
	size_t cap = 8192, len = 0;
	char *s = malloc(cap);
	redstore_hub_stats st;
	sse_hub_stats(&st);
	if (!s) {
		out->status = 500;
		return;
	}
#define M(...) len += (size_t)snprintf(s + len, len < cap ? cap - len : 0, __VA_ARGS__)
	M("# HELP redstore_sse_connections Open Server-Sent Events streams.\n# TYPE redstore_sse_connections gauge\n");
	M("redstore_sse_connections %ld\n", st.streams);
	M("# HELP redstore_sse_events_sent_total Change events written to SSE streams.\n"
	  "# TYPE redstore_sse_events_sent_total counter\n");
	M("redstore_sse_events_sent_total %ld\n", st.events_sent);
	M("# TYPE redstore_sse_resyncs_total counter\nredstore_sse_resyncs_total %ld\n",
	  st.resyncs);
	M("# TYPE redstore_sse_heartbeats_total counter\nredstore_sse_heartbeats_total %ld\n",
	  st.heartbeats);
	M("# HELP redstore_hub_events_total Changes read from Redis by the hub (once per change).\n"
	  "# TYPE redstore_hub_events_total counter\nredstore_hub_events_total %ld\n",
	  st.events_read);
	M("# TYPE redstore_hub_reads_total counter\nredstore_hub_reads_total %ld\n", st.reads);
	M("# HELP redstore_http_requests_total HTTP requests by status.\n# TYPE redstore_http_requests_total counter\n");
	for (int code = 100; code < 600 && len < cap - 128; code++) {
		long v = atomic_load(&g_metrics.status[code]);
		if (v)
			M("redstore_http_requests_total{status=\"%d\"} %ld\n", code, v);
	}
#undef M
	if (len >= cap)
		len = cap - 1;
	*resp = MHD_create_response_from_buffer(len, s, MHD_RESPMEM_MUST_FREE);
	if (!*resp) {
		free(s);
		out->status = 500;
		return;
	}
	MHD_add_response_header(*resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; version=0.0.4");
	out->status = 200;
}

/* ------------------------------------------------------------ the access handler */

/* Counts each reply by status. */
static void count_status(unsigned status)
{
	if (status >= 100 && status < 600) {
		atomic_fetch_add(&g_metrics.status[status], 1);
		atomic_fetch_add(&g_metrics.requests[status / 100], 1);
	}
}

static void dispatch(server_reply *out, httpkit_request *req)
{
	char buf[1024];
	int path_known = 0;
	if (strlen(req->path) >= sizeof(buf)) {
		httpkit_reply_error(out, 414, "uri_too_long", "the path is longer than %zu bytes", sizeof(buf) - 1);
		return;
	}
	if (!strcmp(req->path, "/healthz") || !strcmp(req->path, "/metrics")) {
		if (strcmp(req->method, "GET") && strcmp(req->method, "HEAD")) {
			httpkit_reply_error(out, 405, "method_not_allowed", "%s %s: only GET", req->method, req->path);
			return;
		}
		if (!strcmp(req->path, "/healthz"))
			health(out);
		else
			metrics(out, &out->response);
		return;
	}
	if (web_serve(out, req))
		return;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const route *rt = &routes[i];
		redstore_client *c;
		if (!httpkit_match(rt->pattern, req->path, buf, sizeof(buf), req->params, &req->n_params))
			continue;
		path_known = 1;
		if (strcmp(rt->method, req->method))
			continue;
		if (!(c = server_client_take())) {
			httpkit_reply_error(out, 500, "internal", "no library client: %s", redstore_error_last());
			return;
		}
		if (server_authorize(out, req, c, req->n_params ? req->params[0] : "", rt->perm) == 0)
			rt->handler(out, req, c);
		if (rt->perm != SERVER_PERM_NONE)
			redstore_auth_detach(c); /* the pooled client is the service again */
		redstore_error_clear();
		server_client_give(c);
		return;
	}
	if (path_known)
		httpkit_reply_error(out, 405, "method_not_allowed", "%s is not allowed on %s", req->method, req->path);
	else
		httpkit_reply_error(out, 404, "no_route", "no route for %s %s", req->method, req->path);
}

MHD_RESULT http_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                       const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	(void)cls;
	(void)version;
	return httpkit_serve(conn, url, method, upload_data, upload_data_size, con_cls, g_opt.max_body, dispatch,
	                     count_status);
}
