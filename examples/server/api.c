/*
 * redstore-server, REST: catalog, stock, stock operations, sales, voids and refunds.
 *
 * Request bodies are decoded strictly before anything is called: the body must be one JSON object with
 * no trailing text, no repeated and no unknown fields, every field of its type, integers integral and in
 * range, strings within their length. A body that fails gets 400 and the library is never called, so a
 * bad request changes nothing. Idempotency keys (the Idempotency-Key header) are the operations' ids.
 *
 * Handlers run after server_authorize(): the client they get carries the caller's session, so the
 * library checks and audits the privileged calls (voids, refunds and their limits, stock operations) too.
 */
#include "server.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LINES 1000
#define MAX_FIELDS 32

/* ------------------------------------------------------------ strict decoding */

/* Parses the body into an object; 400 on anything else. */
cJSON *srv_parse_object(server_reply *out, const server_request *req)
{
	const char *end = NULL;
	cJSON *root;
	if (req->body_len == 0) {
		httpkit_reply_error(out, 400, "malformed_json", "a JSON object body is required");
		return NULL;
	}
	if (memchr(req->body, '\0', req->body_len)) {
		httpkit_reply_error(out, 400, "malformed_json", "the body contains a NUL byte");
		return NULL;
	}
	root = cJSON_ParseWithLengthOpts(req->body, req->body_len, &end, 0);
	if (root) {
		while (end < req->body + req->body_len && strchr(" \t\r\n", *end))
			end++;
		if (end != req->body + req->body_len) {
			cJSON_Delete(root);
			httpkit_reply_error(out, 400, "malformed_json", "trailing text after the JSON value at byte %zu",
			                   (size_t)(end - req->body));
			return NULL;
		}
	}
	if (!root) {
		const char *at = cJSON_GetErrorPtr();
		httpkit_reply_error(out, 400, "malformed_json", "the body is not valid JSON (near byte %zu)",
		                   at && at >= req->body ? (size_t)(at - req->body) : (size_t)0);
		return NULL;
	}
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		httpkit_reply_error(out, 400, "malformed_json", "the body must be a JSON object");
		return NULL;
	}
	return root;
}

/* Refuses repeated and unknown members of obj. `allowed` ends with NULL. */
int srv_check_members(server_reply *out, const cJSON *obj, const char *where, const char *const *allowed)
{
	const cJSON *a, *b;
	int n = 0;
	cJSON_ArrayForEach(a, obj) {
		int ok = 0;
		if (++n > MAX_FIELDS) {
			httpkit_reply_error(out, 400, "invalid_body", "%s: more than %d fields", where, MAX_FIELDS);
			return -1;
		}
		for (const char *const *f = allowed; *f && !ok; f++)
			ok = !strcmp(a->string, *f);
		if (!ok) {
			httpkit_reply_error(out, 400, "invalid_body", "%s: unknown field \"%.40s\"", where, a->string);
			return -1;
		}
		for (b = obj->child; b != a; b = b->next)
			if (!strcmp(a->string, b->string)) {
				httpkit_reply_error(out, 400, "invalid_body", "%s: field \"%s\" repeated", where, a->string);
				return -1;
			}
	}
	return 0;
}

/* An integer member in [min, max]; absent: *v untouched and 0 unless required. */
int srv_get_int(server_reply *out, const cJSON *obj, const char *where, const char *name, int required,
            int64_t min, int64_t max, int64_t *v)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(obj, name);
	double d;
	if (!x) {
		if (required) {
			httpkit_reply_error(out, 400, "invalid_body", "%s: \"%s\" is required", where, name);
			return -1;
		}
		return 0;
	}
	d = x->valuedouble;
	if (!cJSON_IsNumber(x) || d != floor(d) || d < (double)min || d > (double)max || fabs(d) > 9007199254740992.0) {
		httpkit_reply_error(out, 400, "invalid_body", "%s: \"%s\" must be an integer in %lld..%lld", where, name,
		                   (long long)min, (long long)max);
		return -1;
	}
	*v = (int64_t)d;
	return 0;
}

/* A string member of at most maxlen bytes; absent: *v untouched. */
int srv_get_str(server_reply *out, const cJSON *obj, const char *where, const char *name, int required,
            size_t maxlen, const char **v)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(obj, name);
	if (!x) {
		if (required) {
			httpkit_reply_error(out, 400, "invalid_body", "%s: \"%s\" is required", where, name);
			return -1;
		}
		return 0;
	}
	if (!cJSON_IsString(x) || strlen(x->valuestring) > maxlen) {
		httpkit_reply_error(out, 400, "invalid_body", "%s: \"%s\" must be a string of at most %zu bytes", where,
		                   name, maxlen);
		return -1;
	}
	*v = x->valuestring;
	return 0;
}

int srv_get_bool(server_reply *out, const cJSON *obj, const char *where, const char *name, int *v)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(obj, name);
	if (!x)
		return 0;
	if (!cJSON_IsBool(x)) {
		httpkit_reply_error(out, 400, "invalid_body", "%s: \"%s\" must be true or false", where, name);
		return -1;
	}
	*v = cJSON_IsTrue(x);
	return 0;
}

/* An array member of 1..max elements. */
const cJSON *srv_get_array(server_reply *out, const cJSON *obj, const char *name, int max)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(obj, name);
	int n = cJSON_GetArraySize(x);
	if (!cJSON_IsArray(x) || n < 1 || n > max) {
		httpkit_reply_error(out, 400, "invalid_body", "\"%s\" must be an array of 1..%d items", name, max);
		return NULL;
	}
	return x;
}

static int tender_parse(redstore_tender_kind *k, const char *s)
{
	if (!strcmp(s, "cash"))
		*k = REDSTORE_TENDER_CASH;
	else if (!strcmp(s, "card"))
		*k = REDSTORE_TENDER_CARD;
	else if (!strcmp(s, "other"))
		*k = REDSTORE_TENDER_OTHER;
	else
		return -1;
	return 0;
}

/* The Idempotency-Key header: a UUID, or NULL when absent (and not required). */
int srv_idempotency_key(server_reply *out, const server_request *req, int required, const char **key)
{
	const char *k = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Idempotency-Key");
	*key = NULL;
	if (!k) {
		if (required) {
			httpkit_reply_error(out, 400, "idempotency_key_required",
			                   "the Idempotency-Key header (a UUID, the operation's id) is required");
			return -1;
		}
		return 0;
	}
	if (redstore_id_check(k, "Idempotency-Key")) {
		httpkit_reply_error(out, 400, "invalid_idempotency_key", "%s", redstore_error_last());
		return -1;
	}
	*key = k;
	return 0;
}

/* ------------------------------------------------------------ encoding */

char *srv_print(cJSON *root)
{
	char *s = root ? cJSON_PrintUnformatted(root) : NULL;
	cJSON_Delete(root);
	return s;
}

cJSON *api_product_json(const redstore_product *p)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "sku", p->sku);
	cJSON_AddStringToObject(o, "barcode", p->barcode);
	cJSON_AddStringToObject(o, "name", p->name);
	cJSON_AddStringToObject(o, "brand", p->brand);
	cJSON_AddStringToObject(o, "category", p->category);
	cJSON_AddStringToObject(o, "currency", p->currency);
	cJSON_AddStringToObject(o, "tax_class", p->tax_class);
	cJSON_AddNumberToObject(o, "price", (double)p->price);
	cJSON_AddNumberToObject(o, "low_stock_threshold", (double)p->low_stock_threshold);
	cJSON_AddStringToObject(o, "stock_policy", p->stock_policy == REDSTORE_STOCK_ALLOW ? "allow" : "deny");
	cJSON_AddBoolToObject(o, "active", p->active);
	cJSON_AddBoolToObject(o, "favourite", p->favourite);
	cJSON_AddNumberToObject(o, "version", (double)p->version);
	cJSON_AddItemToObject(o, "custom", cJSON_Parse(p->custom_json && *p->custom_json ? p->custom_json : "{}"));
	return o;
}

static cJSON *level_json(const redstore_stock_level *l)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "sku", l->sku);
	cJSON_AddNumberToObject(o, "on_hand", (double)l->on_hand);
	cJSON_AddNumberToObject(o, "reserved", (double)l->reserved);
	cJSON_AddNumberToObject(o, "available", (double)l->available);
	cJSON_AddBoolToObject(o, "low_stock", l->low_stock);
	return o;
}

void srv_reply_stock_result(server_reply *out, const redstore_stock_result *r)
{
	cJSON *o = cJSON_CreateObject(), *levels = cJSON_AddArrayToObject(o, "levels");
	cJSON_AddStringToObject(o, "op_id", r->op_id);
	cJSON_AddStringToObject(o, "stream_id", r->stream_id);
	cJSON_AddBoolToObject(o, "duplicate", r->duplicate);
	for (size_t i = 0; i < r->count; i++) {
		cJSON *l = level_json(&r->levels[i]);
		cJSON_AddNumberToObject(l, "delta", (double)r->levels[i].delta);
		cJSON_AddItemToArray(levels, l);
	}
	httpkit_reply_json(out, r->duplicate ? 200 : 201, srv_print(o));
}

static void reply_receipt(server_reply *out, const redstore_receipt *r, unsigned created)
{
	char *json = NULL;
	if (redstore_receipt_to_json(&json, r)) {
		server_reply_lib_error(out, redstore_error_last_code());
		return;
	}
	/* the library's buffer is freed with redstore_free: hand the reply a malloc'ed copy */
	httpkit_reply_json(out, r->duplicate ? 200 : created, strdup(json));
	redstore_free(json);
}

/* ------------------------------------------------------------ catalog and stock */

/* The answer to a product lookup: the product (freed here) or the library's error. */
static void reply_product(server_reply *out, int rc, redstore_product *p)
{
	if (rc) {
		server_reply_lib_error(out, rc);
		return;
	}
	httpkit_reply_json(out, 200, srv_print(api_product_json(p)));
	redstore_product_free(p);
}

void api_product_by_sku(server_reply *out, const server_request *req, redstore_client *c)
{
	redstore_product *p = NULL;
	int rc = redstore_product_get(&p, c, req->params[1]);
	reply_product(out, rc, p);
}

void api_product_by_barcode(server_reply *out, const server_request *req, redstore_client *c)
{
	redstore_product *p = NULL;
	int rc = redstore_product_get_by_barcode(&p, c, req->params[1]);
	reply_product(out, rc, p);
}

void api_stock_get(server_reply *out, const server_request *req, redstore_client *c)
{
	redstore_stock_level l;
	const char *sku = req->params[1];
	int rc = redstore_stock_get(&l, c, 1, &sku);
	if (rc) {
		server_reply_lib_error(out, rc);
		return;
	}
	httpkit_reply_json(out, 200, srv_print(level_json(&l)));
}

void api_snapshot(server_reply *out, const server_request *req, redstore_client *c)
{
	redstore_snapshot *s;
	cJSON *o, *arr;
	int rc = redstore_sync_snapshot(&s, c);
	(void)req;
	if (rc) {
		server_reply_lib_error(out, rc);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "stream_id", s->stream_id);
	arr = cJSON_AddArrayToObject(o, "stock");
	for (size_t i = 0; i < s->count; i++) {
		cJSON *l = cJSON_CreateObject();
		cJSON_AddStringToObject(l, "sku", s->lines[i].sku);
		cJSON_AddNumberToObject(l, "on_hand", (double)s->lines[i].on_hand);
		cJSON_AddNumberToObject(l, "reserved", (double)s->lines[i].reserved);
		cJSON_AddItemToArray(arr, l);
	}
	redstore_snapshot_free(s);
	httpkit_reply_json(out, 200, srv_print(o));
}

/* ------------------------------------------------------------ sales */

/* The sale of a request body (redstore_sale_from_request: strict, every field checked; `sale_id` the
 * Idempotency-Key or a new id); 400 malformed_json / invalid_body (nothing built) when it is not one. */
static redstore_sale *sale_from_body(server_reply *out, const server_request *req, const char *sale_id)
{
	redstore_sale *sale;
	cJSON *root;
	int rc;
	if (!(root = srv_parse_object(out, req)))
		return NULL;
	cJSON_Delete(root);
	if ((rc = redstore_sale_from_request(&sale, req->body, req->body_len, sale_id))) {
		if (rc == REDSTORE_EDECODE)
			httpkit_reply_error(out, 400, "invalid_body", "%s", redstore_error_last());
		else
			server_reply_lib_error(out, rc);
		return NULL;
	}
	return sale;
}

void api_sale_create(server_reply *out, const server_request *req, redstore_client *c)
{
	const char *key;
	redstore_sale *sale;
	redstore_receipt *r;
	int rc;
	if (srv_idempotency_key(out, req, 1, &key) || !(sale = sale_from_body(out, req, key)))
		return;
	rc = redstore_sale_commit(&r, c, sale);
	redstore_sale_free(sale);
	if (rc) {
		server_reply_lib_error(out, rc);
		return;
	}
	reply_receipt(out, r, 201);
	redstore_receipt_free(r);
}

/* POST /v1/stores/{store}/sales/quote: the sale priced as a commit would price it, nothing written (the
 * terminal's screen shows the total due before the tenders). */
void api_sale_quote(server_reply *out, const server_request *req, redstore_client *c)
{
	redstore_sale *sale;
	redstore_receipt *r;
	int rc;
	if (!(sale = sale_from_body(out, req, NULL)))
		return;
	rc = redstore_sale_quote(&r, c, sale);
	redstore_sale_free(sale);
	if (rc) {
		server_reply_lib_error(out, rc);
		return;
	}
	reply_receipt(out, r, 200);
	redstore_receipt_free(r);
}

void api_sale_get(server_reply *out, const server_request *req, redstore_client *c)
{
	redstore_receipt *r;
	int rc;
	if (redstore_id_check(req->params[1], "sale id")) {
		httpkit_reply_error(out, 400, "invalid_id", "%s", redstore_error_last());
		return;
	}
	if ((rc = redstore_receipt_get(&r, c, req->params[1]))) {
		server_reply_lib_error(out, rc);
		return;
	}
	reply_receipt(out, r, 200);
	redstore_receipt_free(r);
}

void api_sale_void(server_reply *out, const server_request *req, redstore_client *c)
{
	static const char *const fields[] = { "reason", NULL };
	const char *key, *reason = NULL;
	cJSON *root;
	redstore_receipt *r = NULL;
	int rc;
	if (srv_idempotency_key(out, req, 0, &key) || !(root = srv_parse_object(out, req)))
		return;
	if (srv_check_members(out, root, "void", fields) || srv_get_str(out, root, "void", "reason", 1, 500, &reason)) {
		cJSON_Delete(root);
		return;
	}
	rc = redstore_sale_void(&r, c, key, req->params[1], reason);
	cJSON_Delete(root);
	if (rc) {
		server_reply_lib_error(out, rc);
		return;
	}
	reply_receipt(out, r, 201);
	redstore_receipt_free(r);
}

void api_sale_refund(server_reply *out, const server_request *req, redstore_client *c)
{
	static const char *const fields[] = { "lines", "restock", "tender", "reference", NULL };
	static const char *const line_fields[] = { "line", "qty", NULL };
	const char *key, *tender = "cash", *ref = NULL;
	const cJSON *lines, *x;
	cJSON *root;
	redstore_refund_line *rl = NULL;
	redstore_receipt *r = NULL;
	redstore_tender_kind kind;
	int restock = 1, rc;
	size_t n = 0;
	char where[32];
	if (srv_idempotency_key(out, req, 0, &key) || !(root = srv_parse_object(out, req)))
		return;
	if (srv_check_members(out, root, "refund", fields) || !(lines = srv_get_array(out, root, "lines", MAX_LINES)) ||
	    srv_get_bool(out, root, "refund", "restock", &restock) || srv_get_str(out, root, "refund", "tender", 0, 8, &tender) ||
	    srv_get_str(out, root, "refund", "reference", 0, 64, &ref))
		goto done;
	if (tender_parse(&kind, tender)) {
		httpkit_reply_error(out, 400, "invalid_body", "refund: \"tender\" must be cash, card or other");
		goto done;
	}
	if (!(rl = calloc((size_t)cJSON_GetArraySize(lines), sizeof(*rl)))) {
		httpkit_reply_error(out, 500, "internal", "out of memory");
		goto done;
	}
	cJSON_ArrayForEach(x, lines) {
		int64_t line = 0, qty = 0;
		snprintf(where, sizeof(where), "lines[%zu]", n);
		if (!cJSON_IsObject(x)) {
			httpkit_reply_error(out, 400, "invalid_body", "%s must be an object", where);
			goto done;
		}
		if (srv_check_members(out, x, where, line_fields) || srv_get_int(out, x, where, "line", 1, 0, 9999, &line) ||
		    srv_get_int(out, x, where, "qty", 1, 1, 1000000, &qty))
			goto done;
		rl[n].line = (size_t)line;
		rl[n].qty = qty;
		n++;
	}
	if ((rc = redstore_sale_refund(&r, c, key, req->params[1], n, rl, restock, kind, ref))) {
		server_reply_lib_error(out, rc);
		goto done;
	}
	reply_receipt(out, r, 201);
	redstore_receipt_free(r);
done:
	free(rl);
	cJSON_Delete(root);
}

/* ------------------------------------------------------------ stock operations */

/* Decodes "lines": [{"sku", "qty", "unit_cost"?}] into lines (borrowing the body's strings). */
redstore_stock_line *srv_stock_lines(server_reply *out, const cJSON *root, int64_t min_qty, int with_cost,
                                 size_t *n)
{
	static const char *const fields_cost[] = { "sku", "qty", "unit_cost", NULL };
	static const char *const fields[] = { "sku", "qty", NULL };
	const cJSON *lines = srv_get_array(out, root, "lines", MAX_LINES), *x;
	redstore_stock_line *v;
	char where[32];
	*n = 0;
	if (!lines)
		return NULL;
	if (!(v = calloc((size_t)cJSON_GetArraySize(lines), sizeof(*v)))) {
		httpkit_reply_error(out, 500, "internal", "out of memory");
		return NULL;
	}
	cJSON_ArrayForEach(x, lines) {
		redstore_stock_line *l = &v[*n];
		snprintf(where, sizeof(where), "lines[%zu]", *n);
		if (!cJSON_IsObject(x)) {
			httpkit_reply_error(out, 400, "invalid_body", "%s must be an object", where);
			goto bad;
		}
		if (srv_check_members(out, x, where, with_cost ? fields_cost : fields) ||
		    srv_get_str(out, x, where, "sku", 1, 64, &l->sku) ||
		    srv_get_int(out, x, where, "qty", 1, min_qty, 1000000000, &l->qty) ||
		    srv_get_int(out, x, where, "unit_cost", 0, 0, 1000000000000LL, &l->unit_cost))
			goto bad;
		(*n)++;
	}
	return v;
bad:
	free(v);
	return NULL;
}

void api_stock_receive(server_reply *out, const server_request *req, redstore_client *c)
{
	static const char *const fields[] = { "lines", "supplier_ref", NULL };
	const char *key, *ref = NULL;
	cJSON *root;
	redstore_stock_line *lines = NULL;
	redstore_stock_result *r;
	size_t n;
	int rc;
	if (srv_idempotency_key(out, req, 0, &key) || !(root = srv_parse_object(out, req)))
		return;
	if (!srv_check_members(out, root, "receipt", fields) &&
	    !srv_get_str(out, root, "receipt", "supplier_ref", 0, 100, &ref) &&
	    (lines = srv_stock_lines(out, root, 1, 1, &n))) {
		if ((rc = redstore_stock_receive(&r, c, key, ref, n, lines))) {
			server_reply_lib_error(out, rc);
		} else {
			srv_reply_stock_result(out, r);
			redstore_stock_result_free(r);
		}
	}
	free(lines);
	cJSON_Delete(root);
}

void api_stock_adjust(server_reply *out, const server_request *req, redstore_client *c)
{
	static const char *const fields[] = { "sku", "delta", "reason", "note", NULL };
	static const char *const reasons[] = { "damage", "theft", "expiry", "correction", "other" };
	const char *key, *sku = NULL, *reason = NULL, *note = NULL;
	cJSON *root;
	redstore_stock_result *r;
	int64_t delta = 0;
	int k = -1, rc;
	if (srv_idempotency_key(out, req, 0, &key) || !(root = srv_parse_object(out, req)))
		return;
	if (srv_check_members(out, root, "adjustment", fields) || srv_get_str(out, root, "adjustment", "sku", 1, 64, &sku) ||
	    srv_get_int(out, root, "adjustment", "delta", 1, -1000000000, 1000000000, &delta) ||
	    srv_get_str(out, root, "adjustment", "reason", 1, 16, &reason) ||
	    srv_get_str(out, root, "adjustment", "note", 0, 500, &note))
		goto done;
	for (int i = 0; i < 5; i++)
		if (!strcmp(reason, reasons[i]))
			k = i;
	if (k < 0) {
		httpkit_reply_error(out, 400, "invalid_body",
		                   "adjustment: \"reason\" must be damage, theft, expiry, correction or other");
		goto done;
	}
	if ((rc = redstore_stock_adjust(&r, c, key, sku, delta, (redstore_adjust_reason)k, note))) {
		server_reply_lib_error(out, rc);
		goto done;
	}
	srv_reply_stock_result(out, r);
	redstore_stock_result_free(r);
done:
	cJSON_Delete(root);
}

void api_stock_count(server_reply *out, const server_request *req, redstore_client *c)
{
	static const char *const fields[] = { "lines", NULL };
	const char *key;
	cJSON *root;
	redstore_stock_line *lines = NULL;
	redstore_stock_result *r;
	size_t n;
	int rc;
	if (srv_idempotency_key(out, req, 0, &key) || !(root = srv_parse_object(out, req)))
		return;
	if (!srv_check_members(out, root, "count", fields) && (lines = srv_stock_lines(out, root, 0, 0, &n))) {
		if ((rc = redstore_stock_count(&r, c, key, n, lines))) {
			server_reply_lib_error(out, rc);
		} else {
			srv_reply_stock_result(out, r);
			redstore_stock_result_free(r);
		}
	}
	free(lines);
	cJSON_Delete(root);
}

/* ------------------------------------------------------------ pairing and login */

/* POST /v1/pair {"code"}: a terminal exchanges a one-time pairing code for its device token. */
void api_pair(server_reply *out, const server_request *req, redstore_client *c)
{
	static const char *const fields[] = { "code", NULL };
	const char *code = NULL;
	char token[REDSTORE_DEVICE_TOKEN_SIZE], terminal[REDSTORE_ID_SIZE];
	cJSON *root = srv_parse_object(out, req), *o;
	int rc;
	if (!root)
		return;
	if (srv_check_members(out, root, "pairing", fields) || srv_get_str(out, root, "pairing", "code", 1, 32, &code))
		goto done;
	if ((rc = redstore_auth_pair(token, terminal, c, code))) {
		server_reply_lib_error(out, rc);
		goto done;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "device_token", token);
	cJSON_AddStringToObject(o, "terminal_id", terminal);
	httpkit_reply_json(out, 201, srv_print(o));
	memset(token, 0, sizeof(token)); /* best effort: the reply holds its own copy */
done:
	cJSON_Delete(root);
}

/* POST /v1/sessions {"device_token", "employee_id", "pin"}: an employee logs in on a paired terminal. */
void api_login(server_reply *out, const server_request *req, redstore_client *c)
{
	static const char *const fields[] = { "device_token", "employee_id", "pin", NULL };
	const char *device = NULL, *employee = NULL, *pin = NULL;
	char *token = NULL;
	cJSON *root = srv_parse_object(out, req), *o;
	int rc;
	if (!root)
		return;
	if (srv_check_members(out, root, "login", fields) ||
	    srv_get_str(out, root, "login", "device_token", 1, REDSTORE_DEVICE_TOKEN_SIZE, &device) ||
	    srv_get_str(out, root, "login", "employee_id", 1, 64, &employee) || srv_get_str(out, root, "login", "pin", 1, 12, &pin))
		goto done;
	if ((rc = redstore_auth_login(&token, c, device, employee, pin))) {
		server_reply_lib_error(out, rc);
		goto done;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "session_token", token);
	httpkit_reply_json(out, 201, srv_print(o));
	redstore_free(token);
done:
	cJSON_Delete(root);
}

/* POST /v1/stores/{store}/pairing-codes {"name"}: a manager issues a code for a new terminal. */
void api_pairing_code(server_reply *out, const server_request *req, redstore_client *c)
{
	static const char *const fields[] = { "name", NULL };
	const char *name = NULL;
	char code[REDSTORE_PAIRING_CODE_SIZE];
	cJSON *root = srv_parse_object(out, req), *o;
	int rc;
	if (!root)
		return;
	if (srv_check_members(out, root, "pairing code", fields) || srv_get_str(out, root, "pairing code", "name", 1, 100, &name))
		goto done;
	if ((rc = redstore_auth_pairing_code_new(code, c, name))) {
		server_reply_lib_error(out, rc);
		goto done;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "code", code);
	httpkit_reply_json(out, 201, srv_print(o));
done:
	cJSON_Delete(root);
}
