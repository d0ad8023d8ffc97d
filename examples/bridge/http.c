/*
 * redstore-bridge, HTTP: the local API the store's terminals use (the server's paths, so a terminal can
 * point at either).
 *
 *   GET  /healthz                              open: the bridge, its uplink, its journal and its streams
 *   GET  /v1/stores/{store}/events             the store's events (SSE, Last-Event-ID) from the hub
 *   POST /v1/stores/{store}/sales              Idempotency-Key: <sale id>; journaled, then forwarded:
 *                                              201 + receipt, 202 + journal entry (pending), or the
 *                                              server's refusal (rejected, with the reason)
 *   GET  /v1/stores/{store}/sales/{id}         forwarded; a sale the server does not have yet: 202 + entry
 *   GET  /v1/stores/{store}/stock/{sku}, /products/{sku}, /barcodes/{code}, /snapshot    forwarded
 *   GET  /v1/bridge/journal[?state=&after_seq=&limit=]   the journal's entries and counts
 *   PUT  /v1/bridge/token {"token":"..."}      a new upstream session token
 *   POST /v1/pair, /v1/sessions                passed through (pairing a till, an employee's login)
 *   any other /v1/stores/{store}/...           passed through while the uplink is up (voids, refunds,
 *                                              stock operations, reports, ...): 503 uplink_down otherwise
 *
 * Every route but /healthz needs "Authorization: Bearer <bridge.local_token>" (or ?access_token=).
 * What is forwarded acts for the bridge's session, unless the request names the session of the employee
 * at the till with "X-Redstore-Session: <session token>" (from a login through the bridge): then the
 * server authorizes that employee, and its 401/403 come back as they are. Only sales are journaled:
 * everything else needs the server there and then.
 */
#include "bridge.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef httpkit_request breq;

typedef void (*handler)(httpkit_reply *out, const breq *req);

/* ------------------------------------------------------------ JSON */

static cJSON *entry_json(const redstore_journal_entry *e)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "seq", (double)e->seq);
	cJSON_AddStringToObject(o, "sale_id", e->sale_id);
	cJSON_AddStringToObject(o, "state", redstore_journal_state_name(e->state));
	cJSON_AddNumberToObject(o, "attempts", e->attempts);
	cJSON_AddNumberToObject(o, "http_status", (double)e->http_status);
	cJSON_AddStringToObject(o, "reason", e->reason);
	cJSON_AddNumberToObject(o, "created_at_ms", (double)e->created_at_ms);
	return o;
}

/* Prints and frees root into the reply. */
static void reply_cjson(httpkit_reply *out, unsigned status, cJSON *root)
{
	httpkit_reply_json(out, status, root ? cJSON_PrintUnformatted(root) : NULL);
	cJSON_Delete(root);
}

/* The journal entry of a sale: 1 found, 0 not journaled, -1 the journal failed. */
static int journal_find(redstore_journal_entry *out, const char *sale_id)
{
	redstore_journal_entry *v;
	size_t n;
	int found = 0;
	if (uplink_journal(&v, &n))
		return -1;
	for (size_t i = n; i-- > 0 && !found;) {
		if (!strcmp(v[i].sale_id, sale_id)) {
			*out = v[i];
			found = 1;
		}
	}
	redstore_free(v);
	return found;
}

/* A journaled sale the server has no receipt of (yet): {"journal":{...},"uplink":...}. Pending is 202
 * (accepted, safe in the journal); rejected is the server's refusal (its status, e.g. 409, and its error
 * code, e.g. out_of_stock, parsed from the reason "409 out_of_stock: ..."). */
static void reply_entry(httpkit_reply *out, const redstore_journal_entry *e)
{
	cJSON *root = cJSON_CreateObject();
	cJSON_AddItemToObject(root, "journal", entry_json(e));
	cJSON_AddStringToObject(root, "uplink", uplink_state_name(uplink_current()));
	if (e->state == REDSTORE_JOURNAL_REJECTED) {
		cJSON *err = cJSON_AddObjectToObject(root, "error");
		char code[64] = "rejected";
		const char *sp = strchr(e->reason, ' '), *colon = sp ? strchr(sp + 1, ':') : NULL;
		if (sp && colon && colon > sp + 1 && (size_t)(colon - sp - 1) < sizeof(code))
			snprintf(code, sizeof(code), "%.*s", (int)(colon - sp - 1), sp + 1);
		cJSON_AddStringToObject(err, "code", code);
		cJSON_AddStringToObject(err, "message", e->reason);
		reply_cjson(out, e->http_status >= 400 && e->http_status < 500 ? (unsigned)e->http_status : 409, root);
		return;
	}
	reply_cjson(out, e->state == REDSTORE_JOURNAL_PENDING ? 202 : 200, root);
}

/* ------------------------------------------------------------ forwarding */

/* An URL being built into a fixed buffer; `bad` once it did not fit. */
typedef struct urlbuf {
	char *out;
	size_t n, cap;
	int bad;
} urlbuf;

/* Appends s percent-encoded, but for unreserved characters and those of `keep`; keep NULL: as it is. */
static void url_put(urlbuf *u, const char *s, const char *keep)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p && !u->bad; p++) {
		if (u->n + 4 > u->cap) {
			u->bad = 1;
		} else if (!keep || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		           strchr("-._~", *p) || (*p && strchr(keep, *p))) {
			u->out[u->n++] = (char)*p;
		} else {
			u->out[u->n++] = '%';
			u->out[u->n++] = hex[*p >> 4];
			u->out[u->n++] = hex[*p & 15];
		}
	}
	u->out[u->n] = '\0';
}

/* The request's path with each segment percent-encoded again (libmicrohttpd decoded it). */
static int upstream_path(char *out, size_t cap, const char *path)
{
	urlbuf u = { out, 0, cap, 0 };
	url_put(&u, path, "/");
	return u.bad ? -1 : 0;
}

/* The server's answer as it is, except a refusal of the bridge's own token: that is not the local
 * terminal's fault, so it becomes 502 uplink_unauthorized. Takes resp. */
static void pass_on(httpkit_reply *out, long status, char *resp)
{
	if (status == 401) {
		free(resp);
		httpkit_reply_error(out, 502, "uplink_unauthorized",
		                    "the server refused the bridge's session token: set a new one (PUT /v1/bridge/token)");
		return;
	}
	httpkit_reply_json(out, (unsigned)status, resp ? resp : strdup("{}"));
}

static void uplink_error(httpkit_reply *out)
{
	httpkit_reply_error(out, 503, "uplink_down", "the server cannot be reached: %s", redstore_error_last());
	out->retry_after = 1;
}

/* GET forwarded with the bridge's token; the server's status and body go back as they are. */
static void h_forward(httpkit_reply *out, const breq *req)
{
	char path[4096], *resp = NULL;
	long status = 0;
	if (upstream_path(path, sizeof(path), req->path)) {
		httpkit_reply_error(out, 414, "uri_too_long", "the path is too long");
		return;
	}
	if (uplink_get(&resp, &status, path)) {
		free(resp);
		uplink_error(out);
		return;
	}
	pass_on(out, status, resp);
}

/* ------------------------------------------------------------ passed through */

/* Each query argument again, after '?' or '&'. */
static MHD_RESULT query_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	urlbuf *q = cls;
	(void)kind;
	if (!strcmp(key, "access_token"))
		return MHD_YES; /* the local token stays here */
	url_put(q, q->out[q->n - 1] == '?' ? "" : "&", NULL);
	url_put(q, key, "");
	if (value) {
		url_put(q, "=", NULL);
		url_put(q, value, "");
	}
	return q->bad ? MHD_NO : MHD_YES;
}

/* A request the bridge does not handle itself, sent on to the server as it came (path and query, body,
 * Idempotency-Key); `open`: a route of the server that takes no session (pairing, login). */
static void pass_through(httpkit_reply *out, const breq *req, int open)
{
	static const char *const methods[] = { "GET", "POST", "PUT", "PATCH", "DELETE", NULL };
	const char *session = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "X-Redstore-Session");
	const char *key = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Idempotency-Key");
	char path[4096], *resp = NULL;
	urlbuf q = { path, 0, sizeof(path), 0 };
	long status = 0;
	int known = 0, as = open || session;
	for (const char *const *m = methods; *m; m++)
		known |= !strcmp(*m, req->method);
	if (!known) {
		httpkit_reply_error(out, 405, "method_not_allowed", "%s is not forwarded", req->method);
		return;
	}
	if (key && (!*key || strlen(key) > 64)) {
		httpkit_reply_error(out, 400, "invalid_idempotency_key", "Idempotency-Key: 1-64 characters");
		return;
	}
	if (session && (!*session || strlen(session) > 2048)) {
		httpkit_reply_error(out, 400, "invalid_session", "X-Redstore-Session: 1-2048 characters");
		return;
	}
	if (strlen(req->body) != req->body_len) {
		httpkit_reply_error(out, 400, "malformed_json", "the body contains a NUL byte");
		return;
	}
	if (upstream_path(path, sizeof(path) - 1, req->path)) {
		httpkit_reply_error(out, 414, "uri_too_long", "the path is too long");
		return;
	}
	q.n = strlen(path);
	path[q.n++] = '?';
	path[q.n] = '\0';
	MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, query_arg, &q);
	if (q.bad) {
		httpkit_reply_error(out, 414, "uri_too_long", "the query is too long");
		return;
	}
	if (path[q.n - 1] == '?')
		path[q.n - 1] = '\0';
	if (uplink_request(&resp, &status, req->method, path, key, req->body_len ? req->body : NULL, as,
	                   open ? NULL : session)) {
		free(resp);
		uplink_error(out);
		return;
	}
	if (!as)
		pass_on(out, status, resp); /* the bridge's own session: a 401 is the bridge's problem */
	else
		httpkit_reply_json(out, (unsigned)status, resp ? resp : strdup("{}"));
}

static void h_open(httpkit_reply *out, const breq *req)
{
	pass_through(out, req, 1);
}

/* ------------------------------------------------------------ sales */

static void h_sale(httpkit_reply *out, const breq *req)
{
	const char *key = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Idempotency-Key");
	redstore_journal_state state;
	redstore_journal_entry e;
	char *receipt = NULL;
	cJSON *root;
	int rc, found;
	if (!key) {
		httpkit_reply_error(out, 400, "idempotency_key_required",
		                    "the Idempotency-Key header (a UUID, the sale's id) is required");
		return;
	}
	if (redstore_id_check(key, "Idempotency-Key")) {
		httpkit_reply_error(out, 400, "invalid_idempotency_key", "%s", redstore_error_last());
		return;
	}
	if (strlen(req->body) != req->body_len) {
		httpkit_reply_error(out, 400, "malformed_json", "the body contains a NUL byte");
		return;
	}
	root = cJSON_ParseWithOpts(req->body, NULL, 1);
	rc = cJSON_IsObject(root);
	cJSON_Delete(root);
	if (!rc) {
		httpkit_reply_error(out, 400, "malformed_json", "the body must be one JSON object");
		return;
	}
	/* journaled (durably) before anything is sent: from here on the sale is never lost */
	if ((rc = uplink_sell(&state, &receipt, key, req->body))) {
		if (rc == REDSTORE_EEXISTS)
			httpkit_reply_error(out, 409, "conflict", "%s", redstore_error_last());
		else if (rc == REDSTORE_EINVALID)
			httpkit_reply_error(out, 400, "invalid_body", "%s", redstore_error_last());
		else
			httpkit_reply_error(out, 500, "journal_error", "the sale was not journaled: %s", redstore_error_last());
		return;
	}
	if (state == REDSTORE_JOURNAL_SYNCED) {
		if (receipt) {
			httpkit_reply_json(out, 201, receipt);
			return;
		}
		/* a retry of a sale the server had already: its receipt, as the server answers a retry */
		char path[256], *resp = NULL;
		long status = 0;
		snprintf(path, sizeof(path), "/v1/stores/%s/sales/%s", g_opt.store, key);
		if (uplink_get(&resp, &status, path) == 0 && status == 200) {
			httpkit_reply_json(out, 200, resp);
			return;
		}
		free(resp);
	}
	found = journal_find(&e, key);
	if (found <= 0) {
		httpkit_reply_error(out, 500, "journal_error", "sale %s: the journal cannot be read back", key);
		return;
	}
	reply_entry(out, &e);
}

static void h_sale_get(httpkit_reply *out, const breq *req)
{
	char path[4096], *resp = NULL;
	long status = 0;
	redstore_journal_entry e;
	int rc, found;
	if (redstore_id_check(req->params[1], "sale id")) {
		httpkit_reply_error(out, 400, "invalid_id", "%s", redstore_error_last());
		return;
	}
	snprintf(path, sizeof(path), "/v1/stores/%s/sales/%s", req->params[0], req->params[1]);
	rc = uplink_get(&resp, &status, path);
	if (rc == 0 && status != 404) {
		pass_on(out, status, resp);
		return;
	}
	/* the server does not have it (yet): the journal may */
	found = journal_find(&e, req->params[1]);
	if (found == 1) {
		free(resp);
		reply_entry(out, &e);
	} else if (rc == 0) {
		pass_on(out, status, resp);
	} else {
		free(resp);
		uplink_error(out);
	}
}

/* ------------------------------------------------------------ the bridge's own routes */

static int query_long(httpkit_reply *out, const breq *req, const char *name, long min, long max, long *v)
{
	const char *s = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
	char *end;
	if (!s)
		return 0;
	errno = 0;
	*v = strtol(s, &end, 10);
	if (errno || end == s || *end || *v < min || *v > max) {
		httpkit_reply_error(out, 400, "invalid_query", "%s=\"%.40s\" (expected an integer in %ld..%ld)", name, s, min,
		                    max);
		return -1;
	}
	return 0;
}

static void h_journal(httpkit_reply *out, const breq *req)
{
	const char *want = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, "state");
	long after = 0, limit = 1000, counts[3] = { 0, 0, 0 };
	redstore_journal_entry *v;
	size_t n, shown = 0;
	int64_t last_seq = -1;
	cJSON *root, *arr, *c;
	int filter = -1;
	if (want) {
		for (int s = 0; s < 3; s++)
			if (!strcmp(want, redstore_journal_state_name((redstore_journal_state)s)))
				filter = s;
		if (filter < 0) {
			httpkit_reply_error(out, 400, "invalid_query", "state=\"%.40s\" (expected pending, synced or rejected)",
			                    want);
			return;
		}
	}
	if (query_long(out, req, "after_seq", 0, 0x7fffffffL, &after) ||
	    query_long(out, req, "limit", 1, 10000, &limit))
		return;
	if (uplink_journal(&v, &n)) {
		httpkit_reply_error(out, 500, "journal_error", "%s", redstore_error_last());
		return;
	}
	root = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(root, "entries");
	for (size_t i = 0; i < n; i++) {
		if ((int)v[i].state >= 0 && (int)v[i].state < 3)
			counts[v[i].state]++;
		if (v[i].seq <= after || (filter >= 0 && (int)v[i].state != filter) || shown == (size_t)limit)
			continue;
		cJSON_AddItemToArray(arr, entry_json(&v[i]));
		shown++;
		last_seq = v[i].seq;
	}
	redstore_free(v);
	c = cJSON_AddObjectToObject(root, "counts");
	for (int s = 0; s < 3; s++)
		cJSON_AddNumberToObject(c, redstore_journal_state_name((redstore_journal_state)s), (double)counts[s]);
	if (shown == (size_t)limit)
		cJSON_AddNumberToObject(root, "next_after_seq", (double)last_seq);
	else
		cJSON_AddNullToObject(root, "next_after_seq");
	reply_cjson(out, 200, root);
}

static void h_token(httpkit_reply *out, const breq *req)
{
	cJSON *root = cJSON_ParseWithOpts(req->body, NULL, 1);
	const cJSON *tok = cJSON_GetObjectItemCaseSensitive(root, "token");
	redstore_config *cfg = NULL;
	if (!cJSON_IsObject(root) || !cJSON_IsString(tok) || cJSON_GetArraySize(root) != 1) {
		cJSON_Delete(root);
		httpkit_reply_error(out, 400, "invalid_body", "expected {\"token\":\"<session token>\"}");
		return;
	}
	/* the same rule as bridge.token; the value is never echoed */
	if (redstore_config_new(&cfg) || redstore_config_set(cfg, "bridge.token", tok->valuestring) ||
	    !tok->valuestring[0]) {
		httpkit_reply_error(out, 422, "invalid", "the token must be 1-2048 printable characters");
	} else if (uplink_set_token(tok->valuestring)) {
		httpkit_reply_error(out, 500, "internal", "out of memory");
	} else {
		upstream_restart();
		httpkit_reply_json(out, 200, strdup("{\"status\":\"ok\"}"));
	}
	redstore_config_free(cfg);
	cJSON_Delete(root);
}

/* A local event stream: libmicrohttpd gives each connection a thread, so the content reader simply
 * blocks until the hub makes the stream ready (heartbeats included). */
typedef struct lstream {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int woken;
	redstore_hub_conn *hc;
} lstream;

static void ls_ready(void *payload)
{
	lstream *s = payload;
	pthread_mutex_lock(&s->mu);
	s->woken = 1;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

/* Called by the hub before its pull says WAIT: the ready() that follows sets woken again. */
static void ls_wait(void *payload)
{
	lstream *s = payload;
	pthread_mutex_lock(&s->mu);
	s->woken = 0;
	pthread_mutex_unlock(&s->mu);
}

static ssize_t ls_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	lstream *s = cls;
	size_t n;
	(void)pos;
	for (;;) {
		redstore_hub_pulled p = redstore_hub_pull(&n, s->hc, buf, max);
		if (p == REDSTORE_HUB_BYTES)
			return (ssize_t)n;
		if (p == REDSTORE_HUB_END)
			return MHD_CONTENT_READER_END_OF_STREAM;
		pthread_mutex_lock(&s->mu);
		while (!s->woken)
			pthread_cond_wait(&s->cv, &s->mu);
		pthread_mutex_unlock(&s->mu);
	}
}

static void ls_free(void *cls)
{
	lstream *s = cls;
	redstore_hub_close(s->hc);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s);
}

static void h_events(httpkit_reply *out, const breq *req)
{
	const char *last = httpkit_last_event_id(req->conn);
	redstore_hub_io io = { .ready = ls_ready, .wait = ls_wait };
	struct MHD_Response *resp;
	lstream *s;
	int rc;
	if (last && !httpkit_stream_id_valid(last)) {
		httpkit_reply_error(out, 400, "invalid_last_event_id", "Last-Event-ID \"%.60s\" is not a stream id (<ms>-<seq>)",
		                    last);
		return;
	}
	if (!(s = calloc(1, sizeof(*s)))) {
		httpkit_reply_error(out, 500, "internal", "out of memory");
		return;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	io.payload = s;
	if ((rc = redstore_hub_open(&s->hc, upstream_hub(), g_opt.store, last, &io))) {
		httpkit_reply_error(out, rc == REDSTORE_ELIMIT ? 503 : 500, rc == REDSTORE_ELIMIT ? "unavailable" : "internal",
		                    "%s", redstore_error_last());
		ls_free(s);
		return;
	}
	if (!(resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, ls_read, s, ls_free))) {
		ls_free(s);
		httpkit_reply_error(out, 500, "internal", "out of memory");
		return;
	}
	httpkit_sse_headers(resp);
	out->status = 200;
	out->response = resp;
}

static void health(httpkit_reply *out)
{
	redstore_journal_entry *v;
	size_t n;
	long counts[3] = { 0, 0, 0 }, replayed, attempts;
	redstore_hub_stats st;
	char last[HTTPKIT_STREAM_ID_SIZE];
	int streaming;
	cJSON *root = cJSON_CreateObject(), *j, *ev;
	if (uplink_journal(&v, &n)) {
		cJSON_Delete(root);
		httpkit_reply_error(out, 503, "journal_error", "%s", redstore_error_last());
		return;
	}
	for (size_t i = 0; i < n; i++)
		if ((int)v[i].state >= 0 && (int)v[i].state < 3)
			counts[v[i].state]++;
	redstore_free(v);
	redstore_hub_get_stats(&st, upstream_hub());
	upstream_status(last, &streaming);
	uplink_counts(&replayed, &attempts);
	cJSON_AddStringToObject(root, "status", "ok");
	cJSON_AddStringToObject(root, "store", g_opt.store);
	cJSON_AddStringToObject(root, "uplink", uplink_state_name(uplink_current()));
	j = cJSON_AddObjectToObject(root, "journal");
	for (int s = 0; s < 3; s++)
		cJSON_AddNumberToObject(j, redstore_journal_state_name((redstore_journal_state)s), (double)counts[s]);
	cJSON_AddNumberToObject(j, "replayed", (double)replayed);
	cJSON_AddNumberToObject(j, "replay_attempts", (double)attempts);
	ev = cJSON_AddObjectToObject(root, "events");
	cJSON_AddBoolToObject(ev, "upstream", streaming);
	cJSON_AddStringToObject(ev, "last_id", last);
	cJSON_AddNumberToObject(ev, "ring", (double)st.ring_events);
	cJSON_AddNumberToObject(ev, "clients", (double)st.streams);
	cJSON_AddNumberToObject(ev, "resyncs", (double)st.resyncs);
	reply_cjson(out, 200, root);
}

/* ------------------------------------------------------------ routes */

typedef struct route {
	const char *method;
	const char *pattern; /* "*" segments are parameters; the first of a /v1/stores route is the store */
	handler fn;
} route;

static const route routes[] = {
	{ "GET", "/v1/bridge/journal", h_journal },
	{ "PUT", "/v1/bridge/token", h_token },
	{ "GET", "/v1/stores/*/events", h_events },
	{ "POST", "/v1/stores/*/sales", h_sale },
	{ "GET", "/v1/stores/*/sales/*", h_sale_get },
	{ "GET", "/v1/stores/*/stock/*", h_forward },
	{ "GET", "/v1/stores/*/products/*", h_forward },
	{ "GET", "/v1/stores/*/barcodes/*", h_forward },
	{ "GET", "/v1/stores/*/snapshot", h_forward },
	{ "POST", "/v1/pair", h_open },
	{ "POST", "/v1/sessions", h_open },
};

static void dispatch(httpkit_reply *out, breq *req)
{
	char buf[1024];
	const char *token;
	int path_known = 0;
	if (strlen(req->path) >= sizeof(buf)) {
		httpkit_reply_error(out, 414, "uri_too_long", "the path is longer than %zu bytes", sizeof(buf) - 1);
		return;
	}
	if (!strcmp(req->path, "/healthz")) {
		if (strcmp(req->method, "GET") && strcmp(req->method, "HEAD"))
			httpkit_reply_error(out, 405, "method_not_allowed", "%s /healthz: only GET", req->method);
		else
			health(out);
		return;
	}
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const route *rt = &routes[i];
		if (!httpkit_match(rt->pattern, req->path, buf, sizeof(buf), req->params, &req->n_params))
			continue;
		path_known = 1;
		if (strcmp(rt->method, req->method))
			continue;
		if (!(token = httpkit_bearer(req->conn)) || !httpkit_token_equal(token, g_opt.local_token)) {
			httpkit_reply_error(out, 401, "unauthenticated",
			                    "the bridge's local token is required (Authorization: Bearer)");
			return;
		}
		if (!strncmp(rt->pattern, "/v1/stores/", 11) && strcmp(req->params[0], g_opt.store)) {
			httpkit_reply_error(out, 403, "forbidden", "this bridge serves store \"%s\", not \"%.64s\"", g_opt.store,
			                    req->params[0]);
			return;
		}
		rt->fn(out, req);
		redstore_error_clear();
		return;
	}
	if (!strncmp(req->path, "/v1/stores/", 11)) {
		/* the server's other store routes (or other methods on the paths above, e.g. POST
		 * .../stock/receipts beside GET .../stock/{sku}): passed through, for this bridge's store only */
		size_t n = strlen(g_opt.store);
		if (!(token = httpkit_bearer(req->conn)) || !httpkit_token_equal(token, g_opt.local_token)) {
			httpkit_reply_error(out, 401, "unauthenticated",
			                    "the bridge's local token is required (Authorization: Bearer)");
		} else if (strncmp(req->path + 11, g_opt.store, n) || (req->path[11 + n] != '/' && req->path[11 + n])) {
			httpkit_reply_error(out, 403, "forbidden", "this bridge serves store \"%s\" only", g_opt.store);
		} else {
			pass_through(out, req, 0);
			redstore_error_clear();
		}
		return;
	}
	if (path_known)
		httpkit_reply_error(out, 405, "method_not_allowed", "%s is not allowed on %s", req->method, req->path);
	else
		httpkit_reply_error(out, 404, "no_route", "no route for %s %.200s", req->method, req->path);
}

MHD_RESULT bridge_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                         const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	(void)cls;
	(void)version;
	return httpkit_serve(conn, url, method, upload_data, upload_data_size, con_cls, g_opt.max_body, dispatch, NULL);
}
