/* Inventory operations: receive, adjust, count, transfers, reservations. Each is one stock operation
 * (stockop.h) on the selected store's keys. */
#include "security/security_int.h"
#include "catalog/catalog_int.h"
#include "events/events_int.h"
#include "engines/engines_int.h"
#include "stock/stock_int.h"

#include <stdio.h>

#define MAX_LINES 500
#define MAX_QTY 1000000000LL

void redstore_stock_result_free(redstore_stock_result *r)
{
	if (!r)
		return;
	free(r->levels);
	free(r);
}

const char *redstore_adjust_reason_name(redstore_adjust_reason reason)
{
	switch (reason) {
	case REDSTORE_ADJUST_DAMAGE: return "damage";
	case REDSTORE_ADJUST_THEFT: return "theft";
	case REDSTORE_ADJUST_EXPIRY: return "expiry";
	case REDSTORE_ADJUST_CORRECTION: return "correction";
	case REDSTORE_ADJUST_OTHER: return "other";
	}
	return "unknown";
}

static int check_text(const char *s, size_t max, const char *what)
{
	if (s && strlen(s) > max)
		return redstore__fail(REDSTORE_EINVALID, "%s is longer than %zu characters", what, max);
	return 0;
}

/* Validates the id (or makes one) into `id`. */
static int take_id(char id[REDSTORE_ID_SIZE], const char *given, const char *what)
{
	int rc;
	if (!given)
		return redstore_id_new(id);
	if ((rc = redstore_id_check(given, what)))
		return rc;
	snprintf(id, REDSTORE_ID_SIZE, "%s", given);
	return 0;
}

/* Validates lines and resolves their products. min_qty: 1, or 0 for counts. */
static int check_lines(redstore__item **items_out, redstore_client *c, const char *what, size_t n,
                       const redstore_stock_line *lines, int64_t min_qty)
{
	redstore__item *items;
	const char **codes;
	int rc;

	*items_out = NULL;
	if (n < 1 || n > MAX_LINES || !lines)
		return redstore__fail(REDSTORE_EINVALID, "%s: %zu lines (expected 1..%d)", what, n, MAX_LINES);
	for (size_t i = 0; i < n; i++) {
		char line[80];
		snprintf(line, sizeof(line), "%s: line %zu sku", what, i + 1);
		if ((rc = redstore__check_sku(lines[i].sku, line)))
			return rc;
		if (lines[i].qty < min_qty || lines[i].qty > MAX_QTY)
			return redstore__fail(REDSTORE_EINVALID, "%s: line %zu (%s): quantity %lld (expected %lld..%lld)", what,
			                      i + 1, lines[i].sku, (long long)lines[i].qty, (long long)min_qty, MAX_QTY);
		if (lines[i].unit_cost < 0 || lines[i].unit_cost > 1000000000000LL)
			return redstore__fail(REDSTORE_EINVALID, "%s: line %zu (%s): unit cost %lld (expected 0..10^12)", what,
			                      i + 1, lines[i].sku, (long long)lines[i].unit_cost);
	}
	items = calloc(n, sizeof(*items));
	codes = calloc(n, sizeof(*codes));
	if (!items || !codes) {
		free(items);
		free(codes);
		return redstore__fail(REDSTORE_ENOMEM, "%s: out of memory", what);
	}
	for (size_t i = 0; i < n; i++)
		codes[i] = lines[i].sku;
	rc = redstore__catalog_resolve(items, c, n, codes, NULL);
	free(codes);
	if (rc) {
		free(items);
		return redstore__fail_wrap(rc, "%s", what);
	}
	*items_out = items;
	return 0;
}

static cJSON *lines_json(size_t n, const redstore_stock_line *lines, bool with_cost)
{
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; arr && i < n; i++) {
		cJSON *l = cJSON_CreateObject();
		if (!l || !cJSON_AddItemToArray(arr, l) || !cJSON_AddStringToObject(l, "sku", lines[i].sku) ||
		    !cJSON_AddNumberToObject(l, "qty", (double)lines[i].qty) ||
		    (with_cost && !cJSON_AddNumberToObject(l, "unit_cost", (double)lines[i].unit_cost))) {
			cJSON_Delete(arr);
			return NULL;
		}
	}
	return arr;
}

static int make_result(redstore_stock_result **out, const char *id, const redstore__stock_outcome *oc,
                       const redstore__stock_item *it, const redstore__item *prod, size_t n)
{
	redstore_stock_result *r = calloc(1, sizeof(*r));
	if (!r || !(r->levels = calloc(n ? n : 1, sizeof(*r->levels)))) {
		free(r);
		return redstore__fail(REDSTORE_ENOMEM, "out of memory");
	}
	snprintf(r->op_id, sizeof(r->op_id), "%s", id);
	snprintf(r->stream_id, sizeof(r->stream_id), "%s", oc->stream_id);
	r->duplicate = oc->duplicate;
	r->count = n;
	for (size_t i = 0; i < n; i++) {
		redstore_stock_level *l = &r->levels[i];
		snprintf(l->sku, sizeof(l->sku), "%s", it[i].sku);
		l->on_hand = it[i].on_hand;
		l->reserved = it[i].reserved;
		l->available = l->on_hand - l->reserved;
		l->delta = oc->duplicate ? 0 : it[i].delta;
		l->low_stock = prod[i].low_stock_threshold > 0 && l->available <= prod[i].low_stock_threshold;
		l->crossed_low = !oc->duplicate && it[i].low_crossed;
	}
	*out = r;
	return 0;
}

/* Reads on hand / reserved of n SKUs into the items (for duplicates and stock_get). */
static int read_levels(redstore_client *c, const char *store, redstore__stock_item *it, size_t n)
{
	char kon[REDSTORE_KEY_MAX], kres[REDSTORE_KEY_MAX];
	const char **argv = calloc(n + 2, sizeof(*argv));
	redisReply *r;
	int rc = 0;

	if (!argv)
		return redstore__fail(REDSTORE_ENOMEM, "out of memory");
	argv[0] = "HMGET";
	for (size_t i = 0; i < n; i++)
		argv[i + 2] = it[i].sku;
	argv[1] = redstore__key(kon, store, "onhand");
	if ((rc = redstore__redis_append_argv(c, (int)n + 2, argv, NULL)))
		goto done;
	argv[1] = redstore__key(kres, store, "reserved");
	if ((rc = redstore__redis_append_argv(c, (int)n + 2, argv, NULL)))
		goto done;
	for (int k = 0; k < 2; k++) {
		if ((rc = redstore__redis_read(&r, c)))
			goto done;
		if (r->type != REDIS_REPLY_ARRAY || r->elements != n) {
			freeReplyObject(r);
			rc = redstore__fail(REDSTORE_EREDIS, "stock: unexpected HMGET reply");
			goto done;
		}
		for (size_t i = 0; i < n; i++) {
			int64_t v = r->element[i]->type == REDIS_REPLY_STRING ? strtoll(r->element[i]->str, NULL, 10) : 0;
			if (k == 0)
				it[i].on_hand = v;
			else
				it[i].reserved = v;
		}
		freeReplyObject(r);
	}
done:
	free(argv);
	return rc;
}

int redstore_stock_get(redstore_stock_level *out, redstore_client *c, size_t n, const char *const *skus)
{
	redstore__item *prod = NULL;
	redstore__stock_item *it = NULL;
	const char *store;
	int rc;

	if ((rc = redstore__need_store(&store, c, "stock_get")))
		return rc;
	if (n < 1 || n > MAX_LINES)
		return redstore__fail(REDSTORE_EINVALID, "stock_get: %zu SKUs (expected 1..%d)", n, MAX_LINES);
	for (size_t i = 0; i < n; i++)
		if ((rc = redstore__check_sku(skus[i], "stock_get")))
			return rc;
	prod = calloc(n, sizeof(*prod));
	it = calloc(n, sizeof(*it));
	if (!prod || !it) {
		rc = redstore__fail(REDSTORE_ENOMEM, "stock_get: out of memory");
		goto done;
	}
	if ((rc = redstore__catalog_resolve(prod, c, n, skus, NULL)))
		goto done;
	for (size_t i = 0; i < n; i++)
		it[i].sku = prod[i].sku;
	if ((rc = read_levels(c, store, it, n)))
		goto done;
	for (size_t i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		snprintf(out[i].sku, sizeof(out[i].sku), "%s", prod[i].sku);
		out[i].on_hand = it[i].on_hand;
		out[i].reserved = it[i].reserved;
		out[i].available = it[i].on_hand - it[i].reserved;
		out[i].low_stock = prod[i].low_stock_threshold > 0 && out[i].available <= prod[i].low_stock_threshold;
	}
done:
	free(prod);
	free(it);
	return rc;
}

/* The shape shared by every operation here. */
typedef struct inv_op {
	const char *what;          /* for messages: "stock_receive" */
	const char *type;          /* event type */
	const char *mode;          /* item mode */
	bool force_deny;           /* check availability whatever the policy (transfers, reservations) */
	const char *aux_kind, *aux_id, *aux_mode;
	int64_t aux_expiry_ms;
	const char *store;         /* NULL = selected */
	bool no_event;
	int64_t min_qty;           /* smallest accepted quantity: 1; 0 for counts; negative for adjustments */
} inv_op;

static int run_op(redstore_stock_result **out, redstore_client *c, const inv_op *o, const char *op_id,
                  size_t n, const redstore_stock_line *lines, cJSON *payload)
{
	char id[REDSTORE_ID_SIZE];
	const char *store;
	redstore__item *prod = NULL;
	redstore__stock_item *it = NULL;
	redstore__stock_outcome oc;
	redstore__stock_op op;
	char saved[65];
	bool stock_perm = strncmp(o->what, "reservation", 11) != 0; /* reservations are part of selling */
	int rc;

	*out = NULL;
	memset(&oc, 0, sizeof(oc));
	if ((rc = redstore__need_store(&store, c, o->what)) || (rc = take_id(id, op_id, o->what)) ||
	    (rc = redstore__auth_require(c, stock_perm ? REDSTORE_PERM_STOCK : REDSTORE_PERM_SELL, 0, o->what)))
		goto done;
	if (o->store) {
		/* Resolve the products in the store whose keys change. */
		snprintf(saved, sizeof(saved), "%s", c->store);
		redstore__set_store(c, o->store);
		rc = check_lines(&prod, c, o->what, n, lines, o->min_qty);
		redstore__set_store(c, saved);
	} else {
		rc = check_lines(&prod, c, o->what, n, lines, o->min_qty);
	}
	if (rc)
		goto done;
	if (!(it = calloc(n, sizeof(*it)))) {
		rc = redstore__fail(REDSTORE_ENOMEM, "%s: out of memory", o->what);
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		it[i].sku = prod[i].sku;
		it[i].mode = o->mode;
		it[i].qty = lines[i].qty;
		it[i].deny = o->force_deny || prod[i].policy == REDSTORE_STOCK_DENY;
		it[i].low = prod[i].low_stock_threshold;
		it[i].field = prod[i].sku;
	}
	if (payload && !cJSON_AddStringToObject(payload, "op_id", id)) {
		rc = redstore__fail(REDSTORE_ENOMEM, "%s: out of memory", o->what);
		goto done;
	}
	memset(&op, 0, sizeof(op));
	op.id = id;
	op.type = o->type;
	op.domain = o->no_event ? NULL : REDSTORE_DOMAIN_INVENTORY;
	op.store = o->store;
	op.aux_kind = o->aux_kind;
	op.aux_id = o->aux_id;
	op.aux_mode = o->aux_mode;
	op.aux_expiry_ms = o->aux_expiry_ms;
	op.result = id;
	op.payload = payload;
	if ((rc = redstore__stock_run(&oc, c, &op, it, n)))
		goto done;
	if (oc.duplicate && (rc = read_levels(c, o->store ? o->store : store, it, n)))
		goto done;
	if (!oc.duplicate && stock_perm && !o->no_event && (rc = redstore__auth_audit_action(c, o->type, id, payload)))
		goto done;
	rc = make_result(out, id, &oc, it, prod, n);
done:
	redstore__stock_outcome_clear(&oc);
	free(prod);
	free(it);
	return rc;
}

static cJSON *payload_with_lines(size_t n, const redstore_stock_line *lines, bool with_cost)
{
	cJSON *p = cJSON_CreateObject(), *l = lines && n <= MAX_LINES ? lines_json(n, lines, with_cost) : cJSON_CreateArray();
	if (!p || !l || !cJSON_AddItemToObject(p, "lines", l)) {
		cJSON_Delete(p);
		cJSON_Delete(l);
		redstore__fail(REDSTORE_ENOMEM, "out of memory");
		return NULL;
	}
	return p;
}

int redstore_stock_receive(redstore_stock_result **out, redstore_client *c, const char *op_id,
                           const char *supplier_ref, size_t n, const redstore_stock_line *lines)
{
	inv_op o = { .what = "stock_receive", .type = "inventory.received", .mode = "add", .min_qty = 1 };
	cJSON *p;
	int rc;

	*out = NULL;
	if ((rc = check_text(supplier_ref, 100, "stock_receive: supplier reference")))
		return rc;
	if (!(p = payload_with_lines(n, lines, true)))
		return REDSTORE_ENOMEM;
	cJSON_AddStringToObject(p, "supplier_ref", supplier_ref ? supplier_ref : "");
	rc = run_op(out, c, &o, op_id, n, lines, p);
	cJSON_Delete(p);
	return rc;
}

int redstore_stock_adjust(redstore_stock_result **out, redstore_client *c, const char *op_id, const char *sku,
                          int64_t delta, redstore_adjust_reason reason, const char *note)
{
	inv_op o = { .what = "stock_adjust", .type = "inventory.adjusted", .mode = "adjust", .min_qty = -MAX_QTY };
	redstore_stock_line line = { sku, delta, 0 };
	cJSON *p;
	int rc;

	*out = NULL;
	if (!strcmp(redstore_adjust_reason_name(reason), "unknown"))
		return redstore__fail(REDSTORE_EINVALID, "stock_adjust: unknown reason %d", (int)reason);
	if (delta == 0)
		return redstore__fail(REDSTORE_EINVALID, "stock_adjust: %s: quantity 0 (expected a non-zero change)",
		                      sku ? sku : "(null)");
	if ((rc = check_text(note, 500, "stock_adjust: note")))
		return rc;
	if (reason == REDSTORE_ADJUST_OTHER && (!note || !*note))
		return redstore__fail(REDSTORE_EINVALID, "stock_adjust: reason \"other\" needs a note");
	if (!(p = payload_with_lines(1, &line, false)))
		return REDSTORE_ENOMEM;
	cJSON_AddStringToObject(p, "reason", redstore_adjust_reason_name(reason));
	cJSON_AddStringToObject(p, "note", note ? note : "");
	rc = run_op(out, c, &o, op_id, 1, &line, p);
	cJSON_Delete(p);
	return rc;
}

int redstore_stock_count(redstore_stock_result **out, redstore_client *c, const char *op_id, size_t n,
                         const redstore_stock_line *lines)
{
	inv_op o = { .what = "stock_count", .type = "inventory.counted", .mode = "count", .min_qty = 0 };
	cJSON *p;
	int rc;

	*out = NULL;
	for (size_t i = 0; lines && i < n; i++)
		for (size_t j = 0; j < i; j++)
			if (lines[i].sku && lines[j].sku && !strcmp(lines[i].sku, lines[j].sku))
				return redstore__fail(REDSTORE_EINVALID, "stock_count: SKU %s counted twice (lines %zu and %zu)",
				                      lines[i].sku, j + 1, i + 1);
	if (!(p = payload_with_lines(n, lines, false)))
		return REDSTORE_ENOMEM;
	rc = run_op(out, c, &o, op_id, n, lines, p);
	cJSON_Delete(p);
	return rc;
}

/* Checks that a store exists (its settings are readable). */
static int store_exists(redstore_client *c, const char *store, const char *what)
{
	redstore__store_meta meta;
	char saved[65];
	int rc;
	snprintf(saved, sizeof(saved), "%s", c->store);
	redstore__set_store(c, store);
	rc = redstore__store_meta_get(&meta, c);
	redstore__set_store(c, saved);
	if (rc == REDSTORE_ENOTFOUND)
		return redstore__fail(REDSTORE_ENOTFOUND, "%s: store %s does not exist", what, store);
	return rc;
}

int redstore_transfer_send(redstore_stock_result **out, redstore_client *c, const char *transfer_id,
                           const char *to_store, size_t n, const redstore_stock_line *lines)
{
	inv_op send = { .what = "transfer_send", .type = "inventory.transfer_sent", .mode = "sell", .force_deny = true,
		            .min_qty = 1 };
	inv_op reg = { .what = "transfer_send", .type = "inventory.transfer_registered", .mode = "none",
		           .aux_kind = "xin", .aux_mode = "xin_add", .store = to_store, .no_event = true, .min_qty = 1 };
	redstore_stock_result *at_dest = NULL;
	char id[REDSTORE_ID_SIZE];
	const char *store;
	cJSON *p;
	int rc;

	*out = NULL;
	if ((rc = redstore__need_store(&store, c, "transfer_send")) || (rc = take_id(id, transfer_id, "transfer_send")) ||
	    (rc = redstore__check_store_id(to_store, "transfer_send: destination")))
		return rc;
	if (!strcmp(store, to_store))
		return redstore__fail(REDSTORE_EINVALID, "transfer_send: destination %s is the sending store", to_store);
	if ((rc = store_exists(c, to_store, "transfer_send")))
		return rc;
	/* The destination must sell the same SKUs: check before anything moves. */
	reg.aux_id = id;
	{
		redstore__item *dest;
		char saved[65];
		snprintf(saved, sizeof(saved), "%s", c->store);
		redstore__set_store(c, to_store);
		rc = check_lines(&dest, c, "transfer_send: at the destination", n, lines, 1);
		redstore__set_store(c, saved);
		if (rc)
			return rc;
		free(dest);
	}
	if (!(p = payload_with_lines(n, lines, false)))
		return REDSTORE_ENOMEM;
	cJSON_AddStringToObject(p, "transfer_id", id);
	cJSON_AddStringToObject(p, "from_store", store);
	cJSON_AddStringToObject(p, "to_store", to_store);
	rc = run_op(out, c, &send, id, n, lines, p);
	cJSON_Delete(p);
	if (rc)
		return rc;
	/* Step two, on the destination's keys: the units are now in transit to it. Exactly once by the same
	 * id, so retrying a transfer whose second step failed completes it. */
	if ((rc = run_op(&at_dest, c, &reg, id, n, lines, NULL))) {
		redstore_stock_result_free(*out);
		*out = NULL;
		return redstore__fail_wrap(rc, "transfer %s left the sending store but is not yet registered at %s: "
		                           "retry with the same id", id, to_store);
	}
	redstore_stock_result_free(at_dest);
	return 0;
}

int redstore_transfer_receive(redstore_stock_result **out, redstore_client *c, const char *receipt_id,
                              const char *transfer_id, size_t n, const redstore_stock_line *lines)
{
	inv_op o = { .what = "transfer_receive", .type = "inventory.transfer_received", .mode = "add", .aux_kind = "xin",
		         .aux_id = transfer_id, .aux_mode = "xin_take", .min_qty = 1 };
	char key[REDSTORE_KEY_MAX];
	const char *store;
	redisReply *r;
	cJSON *p;
	int rc;

	*out = NULL;
	if ((rc = redstore__need_store(&store, c, "transfer_receive")) ||
	    (rc = redstore_id_check(transfer_id, "transfer_receive: transfer id")))
		return rc;
	if ((rc = redstore__redis_cmd(&r, c, "EXISTS %s", redstore__key_id(key, store, "xin", transfer_id))))
		return rc;
	rc = r->integer ? 0 : redstore__fail(REDSTORE_ENOTFOUND, "transfer_receive: no transfer %s to store %s",
	                                     transfer_id, store);
	freeReplyObject(r);
	if (rc)
		return rc;
	if (!(p = payload_with_lines(n, lines, false)))
		return REDSTORE_ENOMEM;
	cJSON_AddStringToObject(p, "transfer_id", transfer_id);
	cJSON_AddStringToObject(p, "to_store", store);
	rc = run_op(out, c, &o, receipt_id, n, lines, p);
	cJSON_Delete(p);
	return rc;
}

int redstore_reservation_create(redstore_stock_result **out, redstore_client *c, const char *reservation_id,
                                int64_t expires_at_ms, size_t n, const redstore_stock_line *lines)
{
	char id[REDSTORE_ID_SIZE];
	inv_op o = { .what = "reservation_create", .type = "inventory.reserved", .mode = "reserve", .force_deny = true,
		         .aux_kind = "resv", .aux_mode = "resv_add", .aux_expiry_ms = expires_at_ms, .min_qty = 1 };
	cJSON *p;
	int rc;

	*out = NULL;
	if ((rc = take_id(id, reservation_id, "reservation_create")))
		return rc;
	if (expires_at_ms <= redstore__wall_ms())
		return redstore__fail(REDSTORE_EINVALID, "reservation_create: expiry %lld is not in the future",
		                      (long long)expires_at_ms);
	o.aux_id = id;
	if (!(p = payload_with_lines(n, lines, false)))
		return REDSTORE_ENOMEM;
	cJSON_AddStringToObject(p, "reservation_id", id);
	cJSON_AddNumberToObject(p, "expires_at_ms", (double)expires_at_ms);
	rc = run_op(out, c, &o, id, n, lines, p);
	cJSON_Delete(p);
	return rc;
}

/* 1 when the operation `id` has a record in the store (it was applied), 0 when not, or an error. */
static int release_was_applied(redstore_client *c, const char *store, const char *id)
{
	char key[REDSTORE_KEY_MAX];
	redisReply *r;
	int rc;
	if ((rc = redstore_id_check(id, "reservation_release: release id")) ||
	    (rc = redstore__redis_cmd(&r, c, "EXISTS %s", redstore__key_id(key, store, "op", id))))
		return rc;
	rc = r->integer ? 1 : 0;
	freeReplyObject(r);
	return rc;
}

int redstore_reservation_release(redstore_stock_result **out, redstore_client *c, const char *release_id,
                                 const char *reservation_id, size_t n, const redstore_stock_line *lines)
{
	inv_op o = { .what = "reservation_release", .type = "inventory.released", .mode = "unreserve",
		         .aux_kind = "resv", .aux_id = reservation_id, .aux_mode = "resv_take", .min_qty = 1 };
	char key[REDSTORE_KEY_MAX];
	redstore_stock_line *all = NULL;
	const char *store;
	redisReply *r;
	cJSON *p;
	int rc;

	*out = NULL;
	if ((rc = redstore__need_store(&store, c, "reservation_release")) ||
	    (rc = redstore_id_check(reservation_id, "reservation_release: reservation id")))
		return rc;
	if ((rc = redstore__redis_cmd(&r, c, "HGETALL %s", redstore__key_id(key, store, "resv", reservation_id))))
		return rc;
	if (r->elements == 0) {
		freeReplyObject(r);
		return redstore__fail(REDSTORE_ENOTFOUND, "reservation_release: no reservation %s", reservation_id);
	}
	if (n == 0) {
		/* Everything it still holds. */
		all = calloc(r->elements / 2 + 1, sizeof(*all));
		for (size_t i = 0; all && i + 1 < r->elements; i += 2) {
			int64_t q = strtoll(r->element[i + 1]->str, NULL, 10);
			if (r->element[i]->str[0] == '_' || q <= 0)
				continue;
			all[n].sku = r->element[i]->str;
			all[n].qty = q;
			n++;
		}
		if (!all) {
			freeReplyObject(r);
			return redstore__fail(REDSTORE_ENOMEM, "reservation_release: out of memory");
		}
		if (n == 0 && release_id && (rc = release_was_applied(c, store, release_id)) == 1) {
			/* A retry of a release that emptied it: answer from its record (duplicate) with the levels of
			 * every SKU the reservation had. */
			for (size_t i = 0; i + 1 < r->elements; i += 2)
				if (r->element[i]->str[0] != '_') {
					all[n].sku = r->element[i]->str;
					all[n].qty = 1;
					n++;
				}
		}
		if (n == 0) {
			free(all);
			freeReplyObject(r);
			if (rc < 0)
				return rc;
			return redstore__fail(REDSTORE_EINVALID, "reservation_release: reservation %s holds nothing",
			                      reservation_id);
		}
		lines = all;
	}
	if ((p = payload_with_lines(n, lines, false))) {
		cJSON_AddStringToObject(p, "reservation_id", reservation_id);
		rc = run_op(out, c, &o, release_id, n, lines, p);
		cJSON_Delete(p);
	} else {
		rc = REDSTORE_ENOMEM;
	}
	free(all);
	freeReplyObject(r);
	return rc;
}

int redstore_reservation_expire(redstore_client *c, size_t *released)
{
	char key[REDSTORE_KEY_MAX], now[24];
	const char *store;
	redisReply *r;
	int rc;

	if (released)
		*released = 0;
	if ((rc = redstore__need_store(&store, c, "reservation_expire")))
		return rc;
	snprintf(now, sizeof(now), "%lld", (long long)redstore__wall_ms());
	if ((rc = redstore__redis_cmd(&r, c, "ZRANGEBYSCORE %s -inf %s LIMIT 0 1000", redstore__key(key, store, "resvexp"),
	                              now)))
		return rc;
	for (size_t i = 0; i < r->elements; i++) {
		redstore_stock_result *res = NULL;
		const char *id = r->element[i]->str;
		int one = redstore_reservation_release(&res, c, NULL, id, 0, NULL);
		if (one == 0 && released)
			(*released)++;
		redstore_stock_result_free(res);
		if (one && one != REDSTORE_EINVALID && one != REDSTORE_ENOTFOUND) {
			rc = one;
			break;
		}
		/* Released, or already empty: it no longer needs watching. */
		redstore__redis_cmd(NULL, c, "ZREM %s %s", key, id);
	}
	freeReplyObject(r);
	return rc;
}
