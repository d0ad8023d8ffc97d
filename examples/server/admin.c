/*
 * redstore-server, REST: what managers and admins do besides selling.
 *
 *   POST   /v1/stores/{s}/products                       create a product          REDSTORE_PERM_CATALOG
 *   PUT    /v1/stores/{s}/products/{sku}                 replace its fields        REDSTORE_PERM_CATALOG
 *   DELETE /v1/stores/{s}/products/{sku}                 deactivate it             REDSTORE_PERM_CATALOG
 *   POST   /v1/stores/{s}/transfers                      send stock to a store     REDSTORE_PERM_STOCK
 *   POST   /v1/stores/{s}/transfers/{id}/receipts        receive it there          REDSTORE_PERM_STOCK
 *   POST   /v1/stores/{s}/reservations                   hold stock until a time   REDSTORE_PERM_STOCK
 *   POST   /v1/stores/{s}/reservations/{id}/releases     release (some of) it      REDSTORE_PERM_STOCK
 *   POST   /v1/stores/{s}/employees                      add an employee           REDSTORE_PERM_EMPLOYEES
 *   PATCH  /v1/stores/{s}/employees/{id}                 change role and/or active REDSTORE_PERM_EMPLOYEES
 *   GET    /v1/stores/{s}/terminals                      list the paired terminals REDSTORE_PERM_PAIR
 *   POST   /v1/stores/{s}/terminals/{id}/revoke          revoke one                REDSTORE_PERM_TERMINALS
 *   GET    /v1/stores/{s}/audit/verify                   verify the audit chain    REDSTORE_PERM_REPORTS
 *
 * The route's permission is checked by server_authorize() before these run, and the library checks it
 * again (and audits) through the session attached to the client. Bodies are decoded strictly with
 * api.c's helpers before the library is called, so a bad body gets 400 and changes nothing. Transfers
 * and reservations take their id from the Idempotency-Key header (required: a lost answer is retried
 * with the same key and applies once); receipts and releases take theirs from it when given. No reply
 * ever carries a PIN or its hash.
 */
#include "server.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CUSTOM_JSON 8192
#define MAX_PRICE 1000000000000LL
#define MAX_EPOCH_MS 253402300799999LL /* 9999-12-31 */

/* A path parameter that must be a UUID (transfer, reservation, terminal ids): 400 otherwise. */
static int id_param(server_reply *out, const char *id, const char *what)
{
	if (redstore_id_check(id, what)) {
		httpkit_reply_error(out, 400, "invalid_id", "%s", redstore_error_last());
		return -1;
	}
	return 0;
}

/* A body that may be empty (taken as {}) or else must be a JSON object. */
static cJSON *parse_optional_object(server_reply *out, const server_request *req)
{
	cJSON *o;
	if (req->body_len)
		return srv_parse_object(out, req);
	if (!(o = cJSON_CreateObject()))
		httpkit_reply_error(out, 500, "internal", "out of memory");
	return o;
}

/* ------------------------------------------------------------ catalog writes */

static const char *const PRODUCT_FIELDS[] = { "sku",    "barcode",   "name",  "brand",
	                                          "category", "currency", "tax_class", "custom",
	                                          "price",  "low_stock_threshold", "stock_policy", "active",
	                                          "favourite", NULL };

/* Decodes a product body into p (strings borrowed from root, custom_json malloc'ed into *custom). The
 * SKU comes from the body (create) or the path (update: a body "sku" must be the same). */
static int product_from_body(server_reply *out, const cJSON *root, const char *path_sku, redstore_product *p,
                             char **custom)
{
	const char *policy = "deny";
	const cJSON *cu;
	int active = 1, favourite = 0;
	memset(p, 0, sizeof(*p));
	*custom = NULL;
	if (srv_check_members(out, root, "product", PRODUCT_FIELDS) ||
	    srv_get_str(out, root, "product", "sku", !path_sku, 64, &p->sku) ||
	    srv_get_str(out, root, "product", "barcode", 0, 64, &p->barcode) ||
	    srv_get_str(out, root, "product", "name", 1, 200, &p->name) ||
	    srv_get_str(out, root, "product", "brand", 0, 100, &p->brand) ||
	    srv_get_str(out, root, "product", "category", 0, 100, &p->category) ||
	    srv_get_str(out, root, "product", "currency", 0, 3, &p->currency) ||
	    srv_get_str(out, root, "product", "tax_class", 0, 32, &p->tax_class) ||
	    srv_get_int(out, root, "product", "price", 1, 0, MAX_PRICE, &p->price) ||
	    srv_get_int(out, root, "product", "low_stock_threshold", 0, 0, 1000000000, &p->low_stock_threshold) ||
	    srv_get_str(out, root, "product", "stock_policy", 0, 8, &policy) ||
	    srv_get_bool(out, root, "product", "active", &active) || srv_get_bool(out, root, "product", "favourite", &favourite))
		return -1;
	if (path_sku) {
		if (p->sku && strcmp(p->sku, path_sku)) {
			httpkit_reply_error(out, 400, "invalid_body", "product: \"sku\" differs from the path's SKU");
			return -1;
		}
		p->sku = path_sku;
	}
	if (!strcmp(policy, "deny")) {
		p->stock_policy = REDSTORE_STOCK_DENY;
	} else if (!strcmp(policy, "allow")) {
		p->stock_policy = REDSTORE_STOCK_ALLOW;
	} else {
		httpkit_reply_error(out, 400, "invalid_body", "product: \"stock_policy\" must be allow or deny");
		return -1;
	}
	p->active = active;
	p->favourite = favourite;
	if ((cu = cJSON_GetObjectItemCaseSensitive(root, "custom"))) {
		if (!cJSON_IsObject(cu)) {
			httpkit_reply_error(out, 400, "invalid_body", "product: \"custom\" must be an object");
			return -1;
		}
		if (!(*custom = cJSON_PrintUnformatted(cu))) {
			httpkit_reply_error(out, 500, "internal", "out of memory");
			return -1;
		}
		if (strlen(*custom) > MAX_CUSTOM_JSON) {
			httpkit_reply_error(out, 400, "invalid_body", "product: \"custom\" is larger than %d bytes",
			                   MAX_CUSTOM_JSON);
			free(*custom);
			*custom = NULL;
			return -1;
		}
		p->custom_json = *custom;
	}
	return 0;
}

/* The product as stored now, with `status`. */
static void reply_stored_product(server_reply *out, redstore_client *c, const char *sku, unsigned status)
{
	redstore_product *p = NULL;
	int rc = redstore_product_get(&p, c, sku);
	if (rc) {
		server_reply_lib_error(out, rc);
		return;
	}
	httpkit_reply_json(out, status, srv_print(api_product_json(p)));
	redstore_product_free(p);
}

/* Create (path_sku NULL) or replace. */
static void product_write(server_reply *out, const server_request *req, redstore_client *c, const char *path_sku)
{
	redstore_product p;
	char *custom = NULL;
	cJSON *root = srv_parse_object(out, req);
	int rc;
	if (!root)
		return;
	if (product_from_body(out, root, path_sku, &p, &custom) == 0) {
		rc = path_sku ? redstore_product_update(c, &p) : redstore_product_create(c, &p);
		if (rc)
			server_reply_lib_error(out, rc);
		else
			reply_stored_product(out, c, p.sku, path_sku ? 200 : 201);
	}
	free(custom);
	cJSON_Delete(root);
}

void api_product_create(server_reply *out, const server_request *req, redstore_client *c)
{
	product_write(out, req, c, NULL);
}

void api_product_update(server_reply *out, const server_request *req, redstore_client *c)
{
	product_write(out, req, c, req->params[1]);
}

/* DELETE: deactivates (the product stays in the catalog and its history); answers the product. */
void api_product_deactivate(server_reply *out, const server_request *req, redstore_client *c)
{
	int rc;
	if (req->body_len) {
		httpkit_reply_error(out, 400, "invalid_body", "DELETE takes no body");
		return;
	}
	if ((rc = redstore_product_deactivate(c, req->params[1]))) {
		server_reply_lib_error(out, rc);
		return;
	}
	reply_stored_product(out, c, req->params[1], 200);
}

/* ------------------------------------------------------------ transfers and reservations */

/* The answer to a stock operation, or the library's error. Frees *r. (Takes r's address: the call that
 * fills it is an argument too, and C leaves the order of argument evaluation unspecified.) */
static void reply_stock(server_reply *out, int rc, redstore_stock_result **rp)
{
	redstore_stock_result *r = *rp;
	if (rc) {
		server_reply_lib_error(out, rc);
		return;
	}
	srv_reply_stock_result(out, r);
	redstore_stock_result_free(r);
}

/* POST /transfers {"to_store", "lines"}; Idempotency-Key = the transfer id. */
void api_transfer_send(server_reply *out, const server_request *req, redstore_client *c)
{
	static const char *const fields[] = { "to_store", "lines", NULL };
	const char *key, *to = NULL;
	redstore_stock_line *lines = NULL;
	redstore_stock_result *r = NULL;
	cJSON *root;
	size_t n;
	if (srv_idempotency_key(out, req, 1, &key) || !(root = srv_parse_object(out, req)))
		return;
	if (!srv_check_members(out, root, "transfer", fields) && !srv_get_str(out, root, "transfer", "to_store", 1, 64, &to) &&
	    (lines = srv_stock_lines(out, root, 1, 0, &n)))
		reply_stock(out, redstore_transfer_send(&r, c, key, to, n, lines), &r);
	free(lines);
	cJSON_Delete(root);
}

/* POST /transfers/{id}/receipts {"lines"} at the destination; Idempotency-Key = the receipt id. */
void api_transfer_receive(server_reply *out, const server_request *req, redstore_client *c)
{
	static const char *const fields[] = { "lines", NULL };
	const char *key;
	redstore_stock_line *lines = NULL;
	redstore_stock_result *r = NULL;
	cJSON *root;
	size_t n;
	if (id_param(out, req->params[1], "transfer id") || srv_idempotency_key(out, req, 0, &key) ||
	    !(root = srv_parse_object(out, req)))
		return;
	if (!srv_check_members(out, root, "transfer receipt", fields) && (lines = srv_stock_lines(out, root, 1, 0, &n)))
		reply_stock(out, redstore_transfer_receive(&r, c, key, req->params[1], n, lines), &r);
	free(lines);
	cJSON_Delete(root);
}

/* POST /reservations {"expires_at_ms", "lines"}; Idempotency-Key = the reservation id. */
void api_reservation_create(server_reply *out, const server_request *req, redstore_client *c)
{
	static const char *const fields[] = { "expires_at_ms", "lines", NULL };
	const char *key;
	redstore_stock_line *lines = NULL;
	redstore_stock_result *r = NULL;
	int64_t expires = 0;
	cJSON *root;
	size_t n;
	if (srv_idempotency_key(out, req, 1, &key) || !(root = srv_parse_object(out, req)))
		return;
	if (!srv_check_members(out, root, "reservation", fields) &&
	    !srv_get_int(out, root, "reservation", "expires_at_ms", 1, 1, MAX_EPOCH_MS, &expires) &&
	    (lines = srv_stock_lines(out, root, 1, 0, &n)))
		reply_stock(out, redstore_reservation_create(&r, c, key, expires, n, lines), &r);
	free(lines);
	cJSON_Delete(root);
}

/* POST /reservations/{id}/releases {"lines"?} (no lines, or no body: everything it still holds);
 * Idempotency-Key = the release id. */
void api_reservation_release(server_reply *out, const server_request *req, redstore_client *c)
{
	static const char *const fields[] = { "lines", NULL };
	const char *key;
	redstore_stock_line *lines = NULL;
	redstore_stock_result *r = NULL;
	cJSON *root;
	size_t n = 0;
	if (id_param(out, req->params[1], "reservation id") || srv_idempotency_key(out, req, 0, &key) ||
	    !(root = parse_optional_object(out, req)))
		return;
	if (!srv_check_members(out, root, "release", fields) &&
	    (!cJSON_GetObjectItemCaseSensitive(root, "lines") || (lines = srv_stock_lines(out, root, 1, 0, &n))))
		reply_stock(out, redstore_reservation_release(&r, c, key, req->params[1], n, lines), &r);
	free(lines);
	cJSON_Delete(root);
}

/* ------------------------------------------------------------ employees */

static int role_member(server_reply *out, const cJSON *root, const char *where, int required, int *set,
                       redstore_role *role)
{
	const char *name = NULL;
	*set = 0;
	if (srv_get_str(out, root, where, "role", required, 16, &name))
		return -1;
	if (!name)
		return 0;
	if (redstore_role_parse(role, name)) {
		httpkit_reply_error(out, 400, "invalid_body", "%s: \"role\" must be cashier, supervisor, manager or admin",
		                   where);
		return -1;
	}
	*set = 1;
	return 0;
}

static cJSON *employee_json(const char *id, const char *name, int role_set, redstore_role role, int active_set,
                            int active)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "employee_id", id);
	if (name)
		cJSON_AddStringToObject(o, "name", name);
	if (role_set)
		cJSON_AddStringToObject(o, "role", redstore_role_name(role));
	if (active_set)
		cJSON_AddBoolToObject(o, "active", active);
	return o;
}

/* POST /employees {"employee_id", "name", "role", "pin"}: 201 with everything but the PIN. */
void api_employee_add(server_reply *out, const server_request *req, redstore_client *c)
{
	static const char *const fields[] = { "employee_id", "name", "role", "pin", NULL };
	const char *id = NULL, *name = NULL, *pin = NULL;
	redstore_role role = REDSTORE_ROLE_CASHIER;
	cJSON *root = srv_parse_object(out, req);
	int set, rc;
	if (!root)
		return;
	if (srv_check_members(out, root, "employee", fields) || srv_get_str(out, root, "employee", "employee_id", 1, 64, &id) ||
	    srv_get_str(out, root, "employee", "name", 1, 100, &name) || role_member(out, root, "employee", 1, &set, &role) ||
	    srv_get_str(out, root, "employee", "pin", 1, 12, &pin))
		goto done;
	if ((rc = redstore_auth_employee_add(c, id, name, role, pin)))
		server_reply_lib_error(out, rc);
	else
		httpkit_reply_json(out, 201, srv_print(employee_json(id, name, 1, role, 1, 1)));
done:
	cJSON_Delete(root);
}

/* PATCH /employees/{id} {"role"?, "active"?} (at least one): 200 with what was set. Both are checked
 * before either is changed; each change is idempotent, so a retry after a failure finishes the job. */
void api_employee_change(server_reply *out, const server_request *req, redstore_client *c)
{
	static const char *const fields[] = { "role", "active", NULL };
	const char *id = req->params[1];
	redstore_role role = REDSTORE_ROLE_CASHIER;
	cJSON *root = srv_parse_object(out, req);
	int role_set, active = -1, rc = 0;
	if (!root)
		return;
	if (srv_check_members(out, root, "employee", fields) || role_member(out, root, "employee", 0, &role_set, &role) ||
	    srv_get_bool(out, root, "employee", "active", &active))
		goto done;
	if (!role_set && active < 0) {
		httpkit_reply_error(out, 400, "invalid_body", "employee: \"role\" or \"active\" is required");
		goto done;
	}
	if (role_set)
		rc = redstore_auth_employee_set_role(c, id, role);
	if (!rc && active >= 0)
		rc = redstore_auth_employee_set_active(c, id, active);
	if (rc)
		server_reply_lib_error(out, rc);
	else
		httpkit_reply_json(out, 200, srv_print(employee_json(id, NULL, role_set, role, active >= 0, active > 0)));
done:
	cJSON_Delete(root);
}

/* ------------------------------------------------------------ terminals */

static cJSON *terminal_json(const redstore_terminal_info *t)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "terminal_id", t->terminal_id);
	cJSON_AddStringToObject(o, "name", t->name);
	cJSON_AddStringToObject(o, "paired_by", t->paired_by);
	cJSON_AddNumberToObject(o, "paired_at_ms", (double)t->paired_at_ms);
	cJSON_AddBoolToObject(o, "revoked", t->revoked);
	return o;
}

/* GET /terminals: {"terminals": [...]}, oldest first. */
void api_terminal_list(server_reply *out, const server_request *req, redstore_client *c)
{
	redstore_terminal_info *t = NULL;
	size_t n = 0;
	cJSON *o, *arr;
	int rc = redstore_auth_terminal_list(&t, &n, c);
	(void)req;
	if (rc) {
		server_reply_lib_error(out, rc);
		return;
	}
	o = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(o, "terminals");
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, terminal_json(&t[i]));
	redstore_free(t);
	httpkit_reply_json(out, 200, srv_print(o));
}

/* POST /terminals/{id}/revoke (no body, or {}): 200 with the terminal, revoked. Revoking a revoked
 * terminal answers the same (a retry of a lost answer); an unknown one is 404. */
void api_terminal_revoke(server_reply *out, const server_request *req, redstore_client *c)
{
	static const char *const fields[] = { NULL };
	const char *id = req->params[1];
	redstore_terminal_info *t = NULL;
	size_t n = 0;
	cJSON *root;
	int rc;
	if (id_param(out, id, "terminal id") || !(root = parse_optional_object(out, req)))
		return;
	rc = srv_check_members(out, root, "revoke", fields);
	cJSON_Delete(root);
	if (rc)
		return;
	rc = redstore_auth_terminal_revoke(c, id);
	if (rc && rc != REDSTORE_ENOTFOUND) {
		server_reply_lib_error(out, rc);
		return;
	}
	if (redstore_auth_terminal_list(&t, &n, c)) {
		server_reply_lib_error(out, redstore_error_last_code());
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (!strcmp(t[i].terminal_id, id) && t[i].revoked) {
			httpkit_reply_json(out, 200, srv_print(terminal_json(&t[i])));
			redstore_free(t);
			return;
		}
	redstore_free(t);
	httpkit_reply_error(out, 404, "not_found", "no terminal %s in this store", id);
}

/* ------------------------------------------------------------ audit */

/* GET /audit/verify: {"entries", "ok", "bad_seq", "problem"}; a broken chain is still 200 (ok false). */
void api_audit_verify(server_reply *out, const server_request *req, redstore_client *c)
{
	redstore_audit_report a;
	cJSON *o;
	int rc = redstore_audit_verify(&a, c);
	(void)req;
	if (rc) {
		server_reply_lib_error(out, rc);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "entries", (double)a.entries);
	cJSON_AddBoolToObject(o, "ok", a.ok);
	cJSON_AddNumberToObject(o, "bad_seq", (double)a.bad_seq);
	cJSON_AddStringToObject(o, "problem", a.problem);
	httpkit_reply_json(out, 200, srv_print(o));
}
