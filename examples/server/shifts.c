/*
 * redstore-server, shifts and the cash drawer (redstore/shift.h):
 *
 *   POST /v1/stores/{s}/shifts                      open: {"opening_float", "terminal_id"?}; Idempotency-Key = shift id
 *   GET  /v1/stores/{s}/shifts/current?terminal_id= the open shift of a terminal (default: the session's)
 *   GET  /v1/stores/{s}/shifts/{id}                 one shift
 *   POST /v1/stores/{s}/shifts/{id}/cash-moves      {"kind": "paid_in"|"paid_out", "amount", "reason"};
 *                                                   Idempotency-Key = movement id
 *   POST /v1/stores/{s}/shifts/{id}/close           {"counted_cash"}
 *   GET  /v1/stores/{s}/shifts/{id}/x-report        the figures now (not stored)
 *   POST|GET /v1/stores/{s}/shifts/{id}/z-report?wait_ms=  the Z report: issued once, then the same
 *
 * Every route takes any session of the store (SERVER_PERM_SHIFT): the library decides, with the session
 * attached, what the caller may do (its own drawer: any role; another terminal's or employee's shift:
 * REDSTORE_PERM_SHIFTS to change it, REDSTORE_PERM_REPORTS to read it) and audits it. Bodies are decoded
 * strictly (api.c's decoders, shared through server.h): a bad body gets 400 and the library is not called. A Z report waits for
 * the close to settle and the projector group (--projector-group, default "projector") to catch up, at
 * most wait_ms (0..30000, default 10000); not settled in time: 503 with Retry-After, nothing issued.
 */
#include "server.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *g_projector_group = REDSTORE_PROJECTOR_GROUP;

void shifts_set_projector_group(const char *group)
{
	g_projector_group = group && *group ? group : REDSTORE_PROJECTOR_GROUP;
}

/* A shift with the keys of the "shift" member of redstore_shift_report_to_json(), so a client reads one shape. */
static cJSON *shift_json(const redstore_shift_info *sh)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "shift_id", sh->shift_id);
	cJSON_AddStringToObject(o, "store_id", sh->store_id);
	cJSON_AddStringToObject(o, "terminal_id", sh->terminal_id);
	cJSON_AddStringToObject(o, "opened_by", sh->opened_by);
	cJSON_AddNumberToObject(o, "opened_at_ms", (double)sh->opened_at_ms);
	cJSON_AddNumberToObject(o, "opening_float", (double)sh->opening_float);
	cJSON_AddBoolToObject(o, "closed", sh->closed);
	cJSON_AddStringToObject(o, "closed_by", sh->closed_by);        /* "" while open */
	cJSON_AddNumberToObject(o, "closed_at_ms", (double)sh->closed_at_ms); /* 0 while open */
	cJSON_AddNumberToObject(o, "counted_cash", (double)sh->counted_cash); /* 0 while open */
	cJSON_AddNumberToObject(o, "z_number", (double)sh->z_number);         /* 0 until the Z report */
	return o;
}

static void reply_shift(server_reply *out, const redstore_shift_info *sh, unsigned status)
{
	httpkit_reply_json(out, status, srv_print(shift_json(sh)));
}

/* The shift id of the path (params[1]) as a UUID; 400 invalid_id naming it otherwise. */
static int path_shift_id(server_reply *out, const server_request *req)
{
	if (req->n_params < 2 || redstore_id_check(req->params[1], "shift id")) {
		httpkit_reply_error(out, 400, "invalid_id", "%s", redstore_error_last());
		return -1;
	}
	return 0;
}

static const char *const only_token[] = { "access_token", NULL };

void api_shift_open(server_reply *out, const server_request *req, redstore_client *c)
{
	static const char *const fields[] = { "opening_float", "terminal_id", NULL };
	const char *key, *terminal = NULL;
	int64_t opening = 0;
	redstore_shift_info sh;
	cJSON *root;
	int rc;
	if (api_check_query(out, req, only_token) || srv_idempotency_key(out, req, 0, &key) ||
	    !(root = srv_parse_object(out, req)))
		return;
	if (srv_check_members(out, root, "shift", fields) ||
	    srv_get_int(out, root, "shift", "opening_float", 1, 0, INT64_C(1000000000000000), &opening) ||
	    srv_get_str(out, root, "shift", "terminal_id", 0, 64, &terminal)) {
		cJSON_Delete(root);
		return;
	}
	rc = redstore_shift_open(&sh, c, key, terminal, opening);
	cJSON_Delete(root);
	if (rc) {
		server_reply_lib_error(out, rc);
		return;
	}
	{
		cJSON *o = shift_json(&sh);
		cJSON_AddBoolToObject(o, "duplicate", sh.duplicate);
		httpkit_reply_json(out, sh.duplicate ? 200 : 201, srv_print(o));
	}
}

void api_shift_current(server_reply *out, const server_request *req, redstore_client *c)
{
	static const char *const allowed[] = { "terminal_id", "access_token", NULL };
	const char *terminal;
	redstore_shift_info sh;
	int rc;
	if (api_check_query(out, req, allowed))
		return;
	terminal = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, "terminal_id");
	if (terminal && !*terminal) {
		httpkit_reply_error(out, 400, "invalid_parameter", "query parameter \"terminal_id\" is empty");
		return;
	}
	if ((rc = redstore_shift_current(&sh, c, terminal))) {
		if (rc == REDSTORE_EINVALID)
			httpkit_reply_error(out, 400, "invalid_parameter", "query parameter \"terminal_id\": %s",
			                   redstore_error_last());
		else
			server_reply_lib_error(out, rc);
		return;
	}
	reply_shift(out, &sh, 200);
}

void api_shift_get(server_reply *out, const server_request *req, redstore_client *c)
{
	redstore_shift_info sh;
	int rc;
	if (api_check_query(out, req, only_token) || path_shift_id(out, req))
		return;
	if ((rc = redstore_shift_get(&sh, c, req->params[1]))) {
		server_reply_lib_error(out, rc);
		return;
	}
	reply_shift(out, &sh, 200);
}

void api_shift_cash_move(server_reply *out, const server_request *req, redstore_client *c)
{
	static const char *const fields[] = { "kind", "amount", "reason", NULL };
	const char *key, *kind = NULL, *reason = NULL;
	char id[REDSTORE_ID_SIZE];
	redstore_cash_move move;
	int64_t amount = 0;
	cJSON *root, *o;
	int rc;
	if (api_check_query(out, req, only_token) || path_shift_id(out, req) || srv_idempotency_key(out, req, 0, &key) ||
	    !(root = srv_parse_object(out, req)))
		return;
	if (srv_check_members(out, root, "cash move", fields) ||
	    srv_get_str(out, root, "cash move", "kind", 1, 16, &kind) ||
	    srv_get_int(out, root, "cash move", "amount", 1, 1, INT64_C(1000000000000000), &amount) ||
	    srv_get_str(out, root, "cash move", "reason", 1, 200, &reason)) {
		cJSON_Delete(root);
		return;
	}
	if (!strcmp(kind, "paid_in") || !strcmp(kind, "paid_out")) {
		move = !strcmp(kind, "paid_in") ? REDSTORE_PAID_IN : REDSTORE_PAID_OUT;
	} else {
		cJSON_Delete(root);
		httpkit_reply_error(out, 400, "invalid_body", "cash move: \"kind\" must be paid_in or paid_out");
		return;
	}
	/* The movement's id is answered, so a client that sent no key can still name it. */
	if (key)
		snprintf(id, sizeof(id), "%s", key);
	else if ((rc = redstore_id_new(id))) {
		cJSON_Delete(root);
		server_reply_lib_error(out, rc);
		return;
	}
	rc = redstore_shift_cash_move(c, req->params[1], id, move, amount, reason);
	if (rc) {
		cJSON_Delete(root);
		server_reply_lib_error(out, rc);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "movement_id", id);
	cJSON_AddStringToObject(o, "shift_id", req->params[1]);
	cJSON_AddStringToObject(o, "kind", redstore_cash_move_name(move));
	cJSON_AddNumberToObject(o, "amount", (double)amount);
	cJSON_AddStringToObject(o, "reason", reason);
	cJSON_Delete(root);
	httpkit_reply_json(out, 201, srv_print(o));
}

void api_shift_close(server_reply *out, const server_request *req, redstore_client *c)
{
	static const char *const fields[] = { "counted_cash", NULL };
	redstore_shift_info sh;
	int64_t counted = 0;
	cJSON *root;
	int rc;
	if (api_check_query(out, req, only_token) || path_shift_id(out, req) || !(root = srv_parse_object(out, req)))
		return;
	if (srv_check_members(out, root, "close", fields) ||
	    srv_get_int(out, root, "close", "counted_cash", 1, 0, INT64_C(1000000000000000), &counted)) {
		cJSON_Delete(root);
		return;
	}
	cJSON_Delete(root);
	if ((rc = redstore_shift_close(&sh, c, req->params[1], counted))) {
		server_reply_lib_error(out, rc);
		return;
	}
	reply_shift(out, &sh, 200);
}

static void reply_shift_report(server_reply *out, const redstore_shift_report *r)
{
	char *json = NULL;
	int rc = redstore_shift_report_to_json(&json, r);
	if (rc) {
		server_reply_lib_error(out, rc);
		return;
	}
	/* The reply frees its text with free(); the library's buffer goes back with redstore_free(). */
	httpkit_reply_json(out, 200, strdup(json));
	redstore_free(json);
}

void api_shift_x_report(server_reply *out, const server_request *req, redstore_client *c)
{
	redstore_shift_report *r;
	int rc;
	if (api_check_query(out, req, only_token) || path_shift_id(out, req))
		return;
	if ((rc = redstore_shift_x_report(&r, c, req->params[1]))) {
		server_reply_lib_error(out, rc);
		return;
	}
	reply_shift_report(out, r);
	redstore_shift_report_free(r);
}

void api_shift_z_report(server_reply *out, const server_request *req, redstore_client *c)
{
	static const char *const allowed[] = { "wait_ms", "access_token", NULL };
	redstore_maintenance_options o = { g_projector_group, 10000 };
	redstore_shift_report *r;
	const char *w;
	int rc;
	if (api_check_query(out, req, allowed) || path_shift_id(out, req))
		return;
	if ((w = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, "wait_ms"))) {
		char *end;
		long v;
		errno = 0;
		v = strtol(w, &end, 10);
		if (!*w || *end || errno || v < 0 || v > 30000) {
			httpkit_reply_error(out, 400, "invalid_parameter", "query parameter \"wait_ms\" must be an integer in 0..30000");
			return;
		}
		o.wait_ms = (int)v;
	}
	if ((rc = redstore_shift_z_report(&r, c, req->params[1], &o))) {
		server_reply_lib_error(out, rc);
		return;
	}
	reply_shift_report(out, r);
	redstore_shift_report_free(r);
}
