/* Shifts and the cash drawer, X and Z reports (include/redstore/shift.h). Each write is one transaction:
 * the shift row locked, the role checked, the change and its audit entry written, then COMMIT; any
 * failure rolls everything back. The rules that must hold whatever the code does live in the database
 * (lib/engines/sql/0009_shifts.sql). */
#include "security/security_int.h"
#include "events/events_int.h"
#include "maintenance/maintenance_int.h"

#include <stdio.h>
#include <strings.h>
#include <time.h>

#define REASON_MAX 200
#define SETTLE_MARGIN_MS 1000
#define TENDER_KINDS 3

/* Milliseconds since the epoch as a timestamptz, exactly (no floating point), and back. */
#define TS(n) "(timestamptz 'epoch' + $" #n "::bigint * interval '1 millisecond')"
#define MS(col) "(extract(epoch FROM " col ") * 1000)::bigint"

/* The columns that fill a redstore_shift_info (fill_shift), from shifts aliased s. */
#define SHIFT_COLS                                                                                               \
	"s.shift_id, s.store_id, s.terminal_id, s.opened_by, " MS("s.opened_at") ", s.opening_float,"              \
	" s.closed_at IS NOT NULL, coalesce(s.closed_by, ''), coalesce(" MS("s.closed_at") ", 0),"                \
	" coalesce(s.counted_cash, 0), coalesce((SELECT z.z_number FROM shift_z_reports z"                         \
	" WHERE z.store_id = s.store_id AND z.shift_id = s.shift_id), 0)"
#define SHIFT_NCOLS 11

static const char *const move_names[] = { "paid_in", "paid_out" };

const char *redstore_cash_move_name(redstore_cash_move kind)
{
	return (unsigned)kind < REDSTORE_ARRAY_SIZE(move_names) ? move_names[kind] : "unknown";
}

static cJSON *shift_json(const redstore_shift_info *s);
static cJSON *report_cjson(const redstore_shift_report *r);

/* ------------------------------------------------------------ helpers */

static void fill_shift(redstore_shift_info *o, const PGresult *res, int row, int col)
{
	memset(o, 0, sizeof(*o));
	snprintf(o->shift_id, sizeof(o->shift_id), "%s", PQgetvalue(res, row, col));
	snprintf(o->store_id, sizeof(o->store_id), "%s", PQgetvalue(res, row, col + 1));
	snprintf(o->terminal_id, sizeof(o->terminal_id), "%s", PQgetvalue(res, row, col + 2));
	snprintf(o->opened_by, sizeof(o->opened_by), "%s", PQgetvalue(res, row, col + 3));
	o->opened_at_ms = redstore__pg_int(res, row, col + 4);
	o->opening_float = redstore__pg_int(res, row, col + 5);
	o->closed = PQgetvalue(res, row, col + 6)[0] == 't';
	snprintf(o->closed_by, sizeof(o->closed_by), "%s", PQgetvalue(res, row, col + 7));
	o->closed_at_ms = redstore__pg_int(res, row, col + 8);
	o->counted_cash = redstore__pg_int(res, row, col + 9);
	o->z_number = redstore__pg_int(res, row, col + 10);
}

/* Terminal and employee ids follow redstore_client_set_actor's rule: 1-64 characters, no control or
 * quote characters. */
static int check_name(const char *v, const char *field, const char *what)
{
	size_t n = v ? strlen(v) : 0;
	if (n == 0 || n > 64)
		return redstore__fail(REDSTORE_EINVALID, "%s: %s must be 1-64 characters", what, field);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f || v[i] == '"' || v[i] == '\\')
			return redstore__fail(REDSTORE_EINVALID, "%s: %s has a control or quote character", what, field);
	return 0;
}

static int check_amount(int64_t amount, int64_t min, redstore_client *c, const char *field, const char *what)
{
	int64_t max = c->set.shift_max_amount;
	if (amount < min)
		return redstore__fail(REDSTORE_EINVALID, "%s: %s %lld must be at least %lld (minor units)", what, field,
		                      (long long)amount, (long long)min);
	if (amount > max)
		return redstore__fail(REDSTORE_ELIMIT, "%s: %s %lld is over shift.max_amount (%lld)", what, field,
		                      (long long)amount, (long long)max);
	return 0;
}

/* Who acts: the session's employee, or the service's actor (required: a shift names a person). */
static int need_employee(redstore_client *c, const char *what)
{
	if (!c->employee[0])
		return redstore__fail(REDSTORE_EINVALID, "%s: no employee: the service names one with "
		                                         "redstore_client_set_actor()", what);
	return 0;
}

static int begin(redstore_client *c, const char *what)
{
	int rc = redstore__pg_exec(NULL, c, "BEGIN", 0, NULL);
	return rc ? redstore__fail_wrap(rc, "%s", what) : 0;
}

/* Rolls back and returns rc with the failure's message kept. */
static int rollback(redstore_client *c, int rc)
{
	char saved[512];
	int code = redstore_error_last_code();
	snprintf(saved, sizeof(saved), "%s", redstore_error_last());
	if (c->pg)
		redstore__pg_exec(NULL, c, "ROLLBACK", 0, NULL);
	if (rc)
		redstore__fail(code ? code : rc, "%s", saved);
	return rc;
}

static int commit(redstore_client *c, const char *what)
{
	int rc = redstore__pg_exec(NULL, c, "COMMIT", 0, NULL);
	if (rc) {
		redstore__fail_wrap(rc, "%s: commit", what);
		return rollback(c, rc);
	}
	return 0;
}

/* Appends the action to the store's audit log (in the caller's transaction). Takes `details`. */
static int audit(redstore_client *c, const char *store, const char *action, const char *shift_id, cJSON *details,
                 const char *what)
{
	int rc;
	if (!details)
		return redstore__fail(REDSTORE_ENOMEM, "%s: out of memory", what);
	if (c->auth)
		rc = redstore__auth_audit_action(c, action, shift_id, details);
	else
		rc = redstore__audit_append(c, store, action, NULL, NULL, NULL, shift_id, details);
	cJSON_Delete(details);
	return rc;
}

/* Produces a `shift.*` event to <prefix>shifts (in the caller's transaction: before its COMMIT). Takes
 * `payload`. */
static int emit(redstore_client *c, const char *type, cJSON *payload, const char *what)
{
	char id[REDSTORE_ID_SIZE];
	int rc;
	if (!payload)
		return redstore__fail(REDSTORE_ENOMEM, "%s: out of memory", what);
	if (!(rc = redstore_id_new(id)))
		rc = redstore__event_emit(c, REDSTORE_DOMAIN_SHIFTS, id, type, payload);
	cJSON_Delete(payload);
	return rc ? redstore__fail_wrap(rc, "%s", what) : 0;
}

/* Audit details: the terminal and up to two numbers (a NULL key is left out); NULL on out of memory. */
static cJSON *details(const char *terminal, const char *k1, int64_t v1, const char *k2, int64_t v2)
{
	cJSON *d = cJSON_CreateObject();
	if (!d || !cJSON_AddStringToObject(d, "terminal_id", terminal) ||
	    (k1 && !cJSON_AddNumberToObject(d, k1, (double)v1)) || (k2 && !cJSON_AddNumberToObject(d, k2, (double)v2))) {
		cJSON_Delete(d);
		return NULL;
	}
	return d;
}

/* Reads a shift of the store, locked FOR UPDATE when `lock` (inside a transaction). */
static int load_shift(redstore_shift_info *out, redstore_client *c, const char *store, const char *shift_id, bool lock,
                      const char *what)
{
	const char *p[2] = { store, shift_id };
	PGresult *res;
	int rc = redstore__pg_exec(&res, c,
	                           lock ? "SELECT " SHIFT_COLS " FROM shifts s WHERE s.store_id = $1 AND s.shift_id = $2::uuid"
	                                  " FOR UPDATE OF s"
	                                : "SELECT " SHIFT_COLS " FROM shifts s WHERE s.store_id = $1 AND s.shift_id = $2::uuid",
	                           2, p);
	if (rc)
		return redstore__fail_wrap(rc, "%s", what);
	if (PQntuples(res) == 0) {
		PQclear(res);
		return redstore__fail(REDSTORE_ENOTFOUND, "%s: no shift %s in store %s", what, shift_id, store);
	}
	fill_shift(out, res, 0, 0);
	PQclear(res);
	return 0;
}

/* May the client act on `sh`? Its own shift (the session's terminal, opened by the session's employee)
 * needs a login; any other needs `perm`. The service may do anything. */
static int may_act(redstore_client *c, const redstore_shift_info *sh, redstore_permission perm, const char *what)
{
	char ctx[256];
	if (!c->auth)
		return 0;
	if (!strcmp(sh->terminal_id, c->auth->info.terminal_id) && !strcmp(sh->opened_by, c->auth->info.employee_id))
		return redstore__auth_require(c, REDSTORE_PERM_SELL, 0, what);
	snprintf(ctx, sizeof(ctx), "%s on shift %s (terminal %s, opened by %s)", what, sh->shift_id, sh->terminal_id,
	         sh->opened_by);
	return redstore__auth_require(c, perm, 0, ctx);
}

static int prologue(const char **store, redstore_client *c, const char *shift_id, const char *what)
{
	int rc;
	if ((rc = redstore__need_store(store, c, what)))
		return rc;
	if (!shift_id || (rc = redstore_id_check(shift_id, "shift id")))
		return redstore__fail(REDSTORE_EINVALID, "%s: the shift id must be a UUID", what);
	return 0;
}

/* ------------------------------------------------------------ open, read, move cash, close */

int redstore_shift_open(redstore_shift_info *out, redstore_client *c, const char *shift_id, const char *terminal_id,
                        int64_t opening_float)
{
	static const char *what = "redstore_shift_open";
	static const char insert_sql[] =
		"INSERT INTO shifts (store_id, shift_id, terminal_id, opened_by, opened_at, opening_float)"
		" SELECT $1, $2::uuid, $3, $4, GREATEST(" TS(5) ", (SELECT max(closed_at) FROM shifts"
		" WHERE store_id = $1 AND terminal_id = $3)), $6::bigint ON CONFLICT DO NOTHING RETURNING shift_id";
	static const char open_sql[] = "SELECT " SHIFT_COLS " FROM shifts s WHERE s.store_id = $1 AND s.terminal_id = $2"
	                               " AND s.closed_at IS NULL";
	char id[REDSTORE_ID_SIZE], now[24], amount[24];
	const char *store, *terminal, *p[6];
	PGresult *res;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = redstore__need_store(&store, c, what)))
		return rc;
	if (shift_id) {
		if (redstore_id_check(shift_id, "shift id"))
			return redstore__fail(REDSTORE_EINVALID, "%s: the shift id must be a UUID", what);
		snprintf(id, sizeof(id), "%s", shift_id);
	} else if ((rc = redstore_id_new(id))) {
		return rc;
	}
	terminal = terminal_id ? terminal_id : c->terminal;
	if (!terminal_id && !terminal[0])
		return redstore__fail(REDSTORE_EINVALID, "%s: no terminal: name one, or set the actor with "
		                                         "redstore_client_set_actor()", what);
	if ((rc = check_name(terminal, "terminal id", what)) || (rc = need_employee(c, what)) ||
	    (rc = check_amount(opening_float, 0, c, "opening float", what)))
		return rc;
	/* Opening a shift on one's own terminal is part of selling; on another terminal it is a manager's. */
	if (c->auth && (rc = redstore__auth_require(c, strcmp(terminal, c->auth->info.terminal_id) ? REDSTORE_PERM_SHIFTS
	                                                                                            : REDSTORE_PERM_SELL,
	                                            0, what)))
		return rc;
	snprintf(now, sizeof(now), "%lld", (long long)redstore__wall_ms());
	snprintf(amount, sizeof(amount), "%lld", (long long)opening_float);
	p[0] = store;
	p[1] = id;
	p[2] = terminal;
	p[3] = c->employee;
	p[4] = now;
	p[5] = amount;
	if ((rc = begin(c, what)))
		return rc;
	if ((rc = redstore__pg_exec(&res, c, insert_sql, 6, p))) {
		redstore__fail_wrap(rc, "%s", what);
		return rollback(c, rc);
	}
	if (PQntuples(res) == 0) {
		/* A retry of this id, or another shift is open on the terminal. */
		redstore_shift_info sh;
		PQclear(res);
		if (!(rc = load_shift(&sh, c, store, id, false, what))) {
			if (!strcmp(sh.terminal_id, terminal) && sh.opening_float == opening_float) {
				*out = sh;
				out->duplicate = 1;
				rollback(c, 0);
				return 0;
			}
			rc = redstore__fail(REDSTORE_EEXISTS, "%s: shift id %s names another shift (terminal %s, float %lld)",
			                    what, id, sh.terminal_id, (long long)sh.opening_float);
			return rollback(c, rc);
		}
		if (rc != REDSTORE_ENOTFOUND)
			return rollback(c, rc);
		p[1] = terminal;
		if ((rc = redstore__pg_exec(&res, c, open_sql, 2, p))) {
			redstore__fail_wrap(rc, "%s", what);
			return rollback(c, rc);
		}
		if (PQntuples(res) > 0) {
			fill_shift(&sh, res, 0, 0);
			rc = redstore__fail(REDSTORE_ECONFLICT, "%s: terminal %s has an open shift %s (opened by %s): close it first",
			                    what, terminal, sh.shift_id, sh.opened_by);
		} else {
			rc = redstore__fail(REDSTORE_ECONFLICT, "%s: terminal %s: a shift was opened and closed meanwhile; try again",
			                    what, terminal);
		}
		PQclear(res);
		return rollback(c, rc);
	}
	PQclear(res);
	if ((rc = load_shift(out, c, store, id, false, what)) ||
	    (rc = audit(c, store, "shift.opened", id, details(terminal, "opening_float", opening_float, NULL, 0), what)) ||
	    (rc = emit(c, "shift.opened", shift_json(out), what)) || (rc = commit(c, what))) {
		memset(out, 0, sizeof(*out));
		return rc == REDSTORE_OK ? rc : rollback(c, rc);
	}
	return 0;
}

int redstore_shift_get(redstore_shift_info *out, redstore_client *c, const char *shift_id)
{
	static const char *what = "redstore_shift_get";
	const char *store;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = prologue(&store, c, shift_id, what)) || (rc = load_shift(out, c, store, shift_id, false, what)))
		return rc;
	if ((rc = may_act(c, out, REDSTORE_PERM_REPORTS, what)))
		memset(out, 0, sizeof(*out));
	return rc;
}

int redstore_shift_current(redstore_shift_info *out, redstore_client *c, const char *terminal_id)
{
	static const char *what = "redstore_shift_current";
	static const char sql[] = "SELECT " SHIFT_COLS " FROM shifts s WHERE s.store_id = $1 AND s.terminal_id = $2"
	                          " AND s.closed_at IS NULL";
	const char *store, *terminal = terminal_id ? terminal_id : c->terminal, *p[2];
	PGresult *res;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = redstore__need_store(&store, c, what)) || (rc = check_name(terminal, "terminal id", what)))
		return rc;
	if (c->auth && strcmp(terminal, c->auth->info.terminal_id) &&
	    (rc = redstore__auth_require(c, REDSTORE_PERM_REPORTS, 0, what)))
		return rc;
	p[0] = store;
	p[1] = terminal;
	if ((rc = redstore__pg_exec(&res, c, sql, 2, p)))
		return redstore__fail_wrap(rc, "%s", what);
	if (PQntuples(res) == 0) {
		PQclear(res);
		return redstore__fail(REDSTORE_ENOTFOUND, "%s: no shift is open on terminal %s", what, terminal);
	}
	fill_shift(out, res, 0, 0);
	PQclear(res);
	return 0;
}

int redstore_shift_cash_move(redstore_client *c, const char *shift_id, const char *movement_id, redstore_cash_move kind,
                             int64_t amount, const char *reason)
{
	static const char *what = "redstore_shift_cash_move";
	static const char seen_sql[] = "SELECT shift_id, kind, amount, reason FROM shift_cash_movements"
	                               " WHERE store_id = $1 AND movement_id = $2::uuid";
	static const char insert_sql[] = "INSERT INTO shift_cash_movements (store_id, movement_id, shift_id, kind, amount,"
	                                 " reason, employee_id, occurred_at) VALUES ($1, $2::uuid, $3::uuid, $4, $5::bigint,"
	                                 " $6, $7, " TS(8) ")";
	char id[REDSTORE_ID_SIZE], amt[24], now[24], action[32];
	const char *store, *p[8];
	redstore_shift_info sh;
	PGresult *res;
	size_t n;
	cJSON *d;
	int rc;

	if ((rc = prologue(&store, c, shift_id, what)))
		return rc;
	if ((unsigned)kind >= REDSTORE_ARRAY_SIZE(move_names))
		return redstore__fail(REDSTORE_EINVALID, "%s: unknown movement kind %d (paid_in or paid_out)", what, (int)kind);
	if ((rc = check_amount(amount, 1, c, redstore_cash_move_name(kind), what)))
		return rc;
	n = reason ? strlen(reason) : 0;
	if (n == 0)
		return redstore__fail(REDSTORE_EINVALID, "%s: a reason is required for a %s", what, redstore_cash_move_name(kind));
	if (n > REASON_MAX)
		return redstore__fail(REDSTORE_EINVALID, "%s: the reason is %zu bytes (at most %d)", what, n, REASON_MAX);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)reason[i] < 0x20 || reason[i] == 0x7f)
			return redstore__fail(REDSTORE_EINVALID, "%s: the reason has a control character", what);
	if (movement_id) {
		if (redstore_id_check(movement_id, "movement id"))
			return redstore__fail(REDSTORE_EINVALID, "%s: the movement id must be a UUID", what);
		snprintf(id, sizeof(id), "%s", movement_id);
	} else if ((rc = redstore_id_new(id))) {
		return rc;
	}
	if ((rc = need_employee(c, what)) || (rc = begin(c, what)))
		return rc;
	if ((rc = load_shift(&sh, c, store, shift_id, true, what)) || (rc = may_act(c, &sh, REDSTORE_PERM_SHIFTS, what)))
		return rollback(c, rc);
	p[0] = store;
	p[1] = id;
	if ((rc = redstore__pg_exec(&res, c, seen_sql, 2, p))) {
		redstore__fail_wrap(rc, "%s", what);
		return rollback(c, rc);
	}
	if (PQntuples(res) > 0) {
		bool same = !strcasecmp(PQgetvalue(res, 0, 0), shift_id) &&
		            !strcmp(PQgetvalue(res, 0, 1), redstore_cash_move_name(kind)) && redstore__pg_int(res, 0, 2) == amount &&
		            !strcmp(PQgetvalue(res, 0, 3), reason);
		PQclear(res);
		if (same) /* a retry: recorded once already */
			return rollback(c, 0);
		rc = redstore__fail(REDSTORE_EEXISTS, "%s: movement id %s names another movement", what, id);
		return rollback(c, rc);
	}
	PQclear(res);
	if (sh.closed) {
		rc = redstore__fail(REDSTORE_ECONFLICT, "%s: shift %s is closed (by %s): no %s into it", what, shift_id,
		                    sh.closed_by, redstore_cash_move_name(kind));
		return rollback(c, rc);
	}
	snprintf(amt, sizeof(amt), "%lld", (long long)amount);
	snprintf(now, sizeof(now), "%lld", (long long)redstore__wall_ms());
	p[2] = shift_id;
	p[3] = redstore_cash_move_name(kind);
	p[4] = amt;
	p[5] = reason;
	p[6] = c->employee;
	p[7] = now;
	snprintf(action, sizeof(action), "shift.%s", redstore_cash_move_name(kind));
	if ((rc = redstore__pg_exec(NULL, c, insert_sql, 8, p))) {
		redstore__fail_wrap(rc, "%s", what);
		return rollback(c, rc);
	}
	d = details(sh.terminal_id, "amount", amount, NULL, 0);
	if (d && (!cJSON_AddStringToObject(d, "reason", reason) || !cJSON_AddStringToObject(d, "movement_id", id))) {
		cJSON_Delete(d);
		d = NULL;
	}
	if ((rc = audit(c, store, action, shift_id, d, what)))
		return rollback(c, rc);
	d = details(sh.terminal_id, "amount", amount, NULL, 0);
	if (d && (!cJSON_AddStringToObject(d, "shift_id", shift_id) || !cJSON_AddStringToObject(d, "reason", reason) ||
	          !cJSON_AddStringToObject(d, "movement_id", id) || !cJSON_AddStringToObject(d, "employee_id", c->employee))) {
		cJSON_Delete(d);
		d = NULL;
	}
	if ((rc = emit(c, action, d, what)) || (rc = commit(c, what)))
		return rollback(c, rc);
	return 0;
}

int redstore_shift_close(redstore_shift_info *out, redstore_client *c, const char *shift_id, int64_t counted_cash)
{
	static const char *what = "redstore_shift_close";
	static const char sql[] = "UPDATE shifts SET closed_by = $3, closed_at = GREATEST(" TS(4) ", opened_at),"
	                          " counted_cash = $5::bigint WHERE store_id = $1 AND shift_id = $2::uuid AND closed_at IS NULL";
	char now[24], counted[24];
	const char *store, *p[5];
	redstore_shift_info sh;
	PGresult *res;
	int rc;

	if (out)
		memset(out, 0, sizeof(*out));
	if ((rc = prologue(&store, c, shift_id, what)) || (rc = check_amount(counted_cash, 0, c, "counted cash", what)) ||
	    (rc = need_employee(c, what)) || (rc = begin(c, what)))
		return rc;
	if ((rc = load_shift(&sh, c, store, shift_id, true, what)) || (rc = may_act(c, &sh, REDSTORE_PERM_SHIFTS, what)))
		return rollback(c, rc);
	if (sh.closed) {
		rc = redstore__fail(REDSTORE_ECONFLICT, "%s: shift %s was closed already (by %s, counted %lld)", what,
		                    shift_id, sh.closed_by, (long long)sh.counted_cash);
		return rollback(c, rc);
	}
	snprintf(now, sizeof(now), "%lld", (long long)redstore__wall_ms());
	snprintf(counted, sizeof(counted), "%lld", (long long)counted_cash);
	p[0] = store;
	p[1] = shift_id;
	p[2] = c->employee;
	p[3] = now;
	p[4] = counted;
	if ((rc = redstore__pg_exec(&res, c, sql, 5, p))) {
		redstore__fail_wrap(rc, "%s", what);
		return rollback(c, rc);
	}
	PQclear(res);
	if ((rc = load_shift(&sh, c, store, shift_id, false, what)) ||
	    (rc = audit(c, store, "shift.closed", shift_id, details(sh.terminal_id, "counted_cash", counted_cash, NULL, 0),
	                what)) ||
	    (rc = emit(c, "shift.closed", shift_json(&sh), what)) || (rc = commit(c, what)))
		return rc == REDSTORE_OK ? rc : rollback(c, rc);
	if (out)
		*out = sh;
	return 0;
}

/* ------------------------------------------------------------ reports */

static int tender_index(const char *name)
{
	for (int k = 0; k < TENDER_KINDS; k++)
		if (!strcmp(name, redstore_tender_kind_name((redstore_tender_kind)k)))
			return k;
	return REDSTORE_TENDER_OTHER;
}

static int report_new(redstore_shift_report **out, const redstore_shift_info *sh, const char *what)
{
	redstore_shift_report *r = calloc(1, sizeof(*r));
	if (!r || !(r->tenders = calloc(TENDER_KINDS, sizeof(*r->tenders)))) {
		free(r);
		return redstore__fail(REDSTORE_ENOMEM, "%s: out of memory", what);
	}
	r->tender_count = TENDER_KINDS;
	for (int k = 0; k < TENDER_KINDS; k++)
		r->tenders[k].kind = (redstore_tender_kind)k;
	r->shift = *sh;
	r->opening_float = sh->opening_float;
	*out = r;
	return 0;
}

/* The shift's figures from the sales its terminal recorded in [opened_at, to_ms) (to_ms 0: up to now,
 * the shift being open) and its cash movements, in one statement (one snapshot). */
static int figures(redstore_shift_report *r, redstore_client *c, const redstore_shift_info *sh, int64_t to_ms,
                   const char *what)
{
	static const char sql[] =
		"WITH s AS (SELECT sale_id, kind, total, change_due, occurred_at FROM sales WHERE store_id = $1"
		" AND terminal_id = $2 AND recorded_at >= " TS(3) " AND ($4::bigint IS NULL OR recorded_at < " TS(4) "))"
		" SELECT 's', kind, '', count(*), coalesce(sum(total), 0), coalesce(sum(change_due), 0) FROM s GROUP BY kind"
		" UNION ALL SELECT 't', s.kind, t.kind, count(DISTINCT s.sale_id), sum(t.amount), 0 FROM s"
		" JOIN sale_tenders t ON t.store_id = $1 AND t.sale_id = s.sale_id AND t.occurred_at = s.occurred_at"
		" GROUP BY s.kind, t.kind"
		" UNION ALL SELECT 'm', kind, '', count(*), sum(amount), 0 FROM shift_cash_movements"
		" WHERE store_id = $1 AND shift_id = $5::uuid GROUP BY kind";
	char from[24], to[24];
	const char *p[5] = { sh->store_id, sh->terminal_id, from, to_ms ? to : NULL, sh->shift_id };
	int64_t change = 0;
	PGresult *res;
	int rc;

	snprintf(from, sizeof(from), "%lld", (long long)sh->opened_at_ms);
	snprintf(to, sizeof(to), "%lld", (long long)to_ms);
	if ((rc = redstore__pg_exec(&res, c, sql, 5, p)))
		return redstore__fail_wrap(rc, "%s: the shift's figures", what);
	for (int i = 0; i < PQntuples(res); i++) {
		const char *src = PQgetvalue(res, i, 0), *kind = PQgetvalue(res, i, 1);
		int64_t count = redstore__pg_int(res, i, 3), amount = redstore__pg_int(res, i, 4);
		bool sale = !strcmp(kind, "sale");
		if (src[0] == 's' && sale) {
			r->sales_count += count;
			r->sales_total += amount;
			change += redstore__pg_int(res, i, 5);
		} else if (src[0] == 's') {
			*(!strcmp(kind, "void") ? &r->voids_count : &r->refunds_count) += count;
			*(!strcmp(kind, "void") ? &r->voids_total : &r->refunds_total) += amount;
		} else if (src[0] == 't') {
			redstore_shift_tender_total *t = &r->tenders[tender_index(PQgetvalue(res, i, 2))];
			*(sale ? &t->sales_count : &t->refunds_count) += count;
			*(sale ? &t->sales_amount : &t->refunds_amount) += amount;
		} else if (!strcmp(kind, "paid_in")) {
			r->paid_in_count += count;
			r->paid_in += amount;
		} else {
			r->paid_out_count += count;
			r->paid_out += amount;
		}
	}
	PQclear(res);
	/* Change is given from cash only. */
	r->tenders[REDSTORE_TENDER_CASH].sales_amount -= change;
	r->cash_sales = r->tenders[REDSTORE_TENDER_CASH].sales_amount;
	r->cash_refunds = r->tenders[REDSTORE_TENDER_CASH].refunds_amount;
	r->expected_cash = r->opening_float + r->cash_sales - r->cash_refunds + r->paid_in - r->paid_out;
	r->window_to_ms = to_ms ? to_ms : redstore__wall_ms();
	if (sh->closed) {
		r->counted = 1;
		r->counted_cash = sh->counted_cash;
		r->difference = r->counted_cash - r->expected_cash;
	}
	return 0;
}

void redstore_shift_report_free(redstore_shift_report *r)
{
	if (!r)
		return;
	free(r->tenders);
	free(r);
}

static cJSON *audit_figures(const redstore_shift_report *r)
{
	cJSON *d = details(r->shift.terminal_id, "expected_cash", r->expected_cash, r->counted ? "difference" : NULL,
	                   r->difference);
	if (d && r->is_final && !cJSON_AddNumberToObject(d, "z_number", (double)r->z_number)) {
		cJSON_Delete(d);
		return NULL;
	}
	return d;
}

int redstore_shift_x_report(redstore_shift_report **out, redstore_client *c, const char *shift_id)
{
	static const char *what = "redstore_shift_x_report";
	redstore_shift_report *r = NULL;
	redstore_shift_info sh;
	const char *store;
	int rc;

	*out = NULL;
	if ((rc = prologue(&store, c, shift_id, what)) || (rc = begin(c, what)))
		return rc;
	if ((rc = load_shift(&sh, c, store, shift_id, false, what)) || (rc = may_act(c, &sh, REDSTORE_PERM_REPORTS, what)) ||
	    (rc = report_new(&r, &sh, what)) || (rc = figures(r, c, &sh, sh.closed ? sh.closed_at_ms : 0, what)))
		goto fail;
	r->issued_at_ms = redstore__wall_ms();
	snprintf(r->issued_by, sizeof(r->issued_by), "%s", c->employee);
	if ((rc = audit(c, store, "shift.x_report", shift_id, audit_figures(r), what)) || (rc = commit(c, what)))
		goto fail;
	*out = r;
	return 0;
fail:
	redstore_shift_report_free(r);
	return rc == REDSTORE_OK ? rc : rollback(c, rc);
}

/* The stored Z report of a shift (ENOTFOUND when none). */
static int load_z(redstore_shift_report **out, redstore_client *c, const char *store, const char *shift_id,
                  const char *what)
{
	static const char sql[] =
		"SELECT " SHIFT_COLS ", z.z_number, " MS("z.issued_at") ", z.issued_by, z.opening_float, z.cash_sales,"
		" z.cash_refunds, z.paid_in, z.paid_out, z.expected_cash, z.counted_cash, z.difference, z.sales_count,"
		" z.sales_total, z.refunds_count, z.refunds_total, z.voids_count, z.voids_total, z.paid_in_count,"
		" z.paid_out_count, z.tenders FROM shift_z_reports z JOIN shifts s ON s.store_id = z.store_id"
		" AND s.shift_id = z.shift_id WHERE z.store_id = $1 AND z.shift_id = $2::uuid";
	const char *p[2] = { store, shift_id };
	redstore_shift_info sh;
	redstore_shift_report *r;
	cJSON *tenders, *t;
	PGresult *res;
	int rc, k = SHIFT_NCOLS;

	if ((rc = redstore__pg_exec(&res, c, sql, 2, p)))
		return redstore__fail_wrap(rc, "%s: reading the Z report", what);
	if (PQntuples(res) == 0) {
		PQclear(res);
		return redstore__fail(REDSTORE_ENOTFOUND, "%s: shift %s has no Z report", what, shift_id);
	}
	fill_shift(&sh, res, 0, 0);
	if ((rc = report_new(&r, &sh, what))) {
		PQclear(res);
		return rc;
	}
	r->is_final = 1;
	r->z_number = redstore__pg_int(res, 0, k++);
	r->issued_at_ms = redstore__pg_int(res, 0, k++);
	snprintf(r->issued_by, sizeof(r->issued_by), "%s", PQgetvalue(res, 0, k++));
	r->window_to_ms = sh.closed_at_ms;
	r->opening_float = redstore__pg_int(res, 0, k++);
	r->cash_sales = redstore__pg_int(res, 0, k++);
	r->cash_refunds = redstore__pg_int(res, 0, k++);
	r->paid_in = redstore__pg_int(res, 0, k++);
	r->paid_out = redstore__pg_int(res, 0, k++);
	r->expected_cash = redstore__pg_int(res, 0, k++);
	r->counted = 1;
	r->counted_cash = redstore__pg_int(res, 0, k++);
	r->difference = redstore__pg_int(res, 0, k++);
	r->sales_count = redstore__pg_int(res, 0, k++);
	r->sales_total = redstore__pg_int(res, 0, k++);
	r->refunds_count = redstore__pg_int(res, 0, k++);
	r->refunds_total = redstore__pg_int(res, 0, k++);
	r->voids_count = redstore__pg_int(res, 0, k++);
	r->voids_total = redstore__pg_int(res, 0, k++);
	r->paid_in_count = redstore__pg_int(res, 0, k++);
	r->paid_out_count = redstore__pg_int(res, 0, k++);
	tenders = cJSON_Parse(PQgetvalue(res, 0, k));
	PQclear(res);
	if (!cJSON_IsArray(tenders)) {
		cJSON_Delete(tenders);
		redstore_shift_report_free(r);
		return redstore__fail(REDSTORE_ERROR, "%s: the Z report of shift %s has malformed tender totals", what, shift_id);
	}
	cJSON_ArrayForEach(t, tenders)
	{
		const cJSON *kind = cJSON_GetObjectItemCaseSensitive(t, "kind");
		redstore_shift_tender_total *x;
		if (!cJSON_IsString(kind))
			continue;
		x = &r->tenders[tender_index(kind->valuestring)];
		x->sales_count = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(t, "sales_count"));
		x->sales_amount = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(t, "sales_amount"));
		x->refunds_count = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(t, "refunds_count"));
		x->refunds_amount = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(t, "refunds_amount"));
	}
	cJSON_Delete(tenders);
	*out = r;
	return 0;
}

static cJSON *tenders_json(const redstore_shift_report *r)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; a && i < r->tender_count; i++) {
		const redstore_shift_tender_total *t = &r->tenders[i];
		cJSON *o = cJSON_CreateObject();
		if (!o || !cJSON_AddItemToArray(a, o) || !cJSON_AddStringToObject(o, "kind", redstore_tender_kind_name(t->kind)) ||
		    !cJSON_AddNumberToObject(o, "sales_count", (double)t->sales_count) ||
		    !cJSON_AddNumberToObject(o, "sales_amount", (double)t->sales_amount) ||
		    !cJSON_AddNumberToObject(o, "refunds_count", (double)t->refunds_count) ||
		    !cJSON_AddNumberToObject(o, "refunds_amount", (double)t->refunds_amount)) {
			if (o && !cJSON_GetArraySize(a))
				cJSON_Delete(o);
			cJSON_Delete(a);
			return NULL;
		}
	}
	return a;
}

/* Issues the Z report in the caller's transaction, the shift row locked. */
static int issue_z(redstore_shift_report **out, redstore_client *c, const redstore_shift_info *sh, const char *what)
{
	static const char sql[] =
		"INSERT INTO shift_z_reports (store_id, terminal_id, z_number, shift_id, issued_at, issued_by, opening_float,"
		" cash_sales, cash_refunds, paid_in, paid_out, expected_cash, counted_cash, difference, sales_count,"
		" sales_total, refunds_count, refunds_total, voids_count, voids_total, paid_in_count, paid_out_count, tenders)"
		" VALUES ($1, $2, 0, $3::uuid, " TS(4) ", $5, $6::bigint, $7::bigint, $8::bigint, $9::bigint, $10::bigint,"
		" $11::bigint, $12::bigint, $13::bigint, $14::bigint, $15::bigint, $16::bigint, $17::bigint, $18::bigint,"
		" $19::bigint, $20::bigint, $21::bigint, $22)";
	redstore_shift_report *r = NULL;
	char v[17][24], *tenders = NULL;
	const char *p[22];
	cJSON *a;
	int rc;

	if ((rc = report_new(&r, sh, what)) || (rc = figures(r, c, sh, sh->closed_at_ms, what)))
		goto done;
	if (!(a = tenders_json(r)) || !(tenders = cJSON_PrintUnformatted(a))) {
		cJSON_Delete(a);
		rc = redstore__fail(REDSTORE_ENOMEM, "%s: out of memory", what);
		goto done;
	}
	cJSON_Delete(a);
	{
		const int64_t vals[17] = { redstore__wall_ms(), r->opening_float, r->cash_sales, r->cash_refunds, r->paid_in,
			                       r->paid_out, r->expected_cash, r->counted_cash, r->difference, r->sales_count,
			                       r->sales_total, r->refunds_count, r->refunds_total, r->voids_count, r->voids_total,
			                       r->paid_in_count, r->paid_out_count };
		for (int i = 0; i < 17; i++)
			snprintf(v[i], sizeof(v[i]), "%lld", (long long)vals[i]);
	}
	p[0] = sh->store_id;
	p[1] = sh->terminal_id;
	p[2] = sh->shift_id;
	p[3] = v[0];
	p[4] = c->employee;
	for (int i = 1; i < 17; i++)
		p[4 + i] = v[i];
	p[21] = tenders;
	if ((rc = redstore__pg_exec(NULL, c, sql, 22, p))) {
		redstore__fail_wrap(rc, "%s: writing the Z report", what);
		goto done;
	}
	/* What the database holds is what every later call returns. */
	redstore_shift_report_free(r);
	r = NULL;
	if ((rc = load_z(&r, c, sh->store_id, sh->shift_id, what)))
		goto done;
	*out = r;
	r = NULL;
done:
	free(tenders);
	redstore_shift_report_free(r);
	return rc;
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0)
		;
}

int redstore_shift_z_report(redstore_shift_report **out, redstore_client *c, const char *shift_id,
                            const redstore_maintenance_options *options)
{
	static const char *what = "redstore_shift_z_report";
	redstore_maintenance_options wo = { NULL, 0 };
	redstore_shift_report *r = NULL;
	redstore_shift_info sh;
	const char *store;
	int64_t deadline_ms, settle_ms, now;
	redstore__mopts mo;
	bool reprint = false;
	int rc;

	*out = NULL;
	if ((rc = prologue(&store, c, shift_id, what)) || (rc = redstore__mopts_resolve(&mo, options, what)))
		return rc;
	deadline_ms = redstore__wall_ms() + mo.wait_ms;
	if ((rc = load_shift(&sh, c, store, shift_id, false, what)) || (rc = may_act(c, &sh, REDSTORE_PERM_REPORTS, what)))
		return rc;
	if (!sh.closed)
		return redstore__fail(REDSTORE_ECONFLICT, "%s: shift %s is open: close it first (an X report shows it now)",
		                      what, shift_id);
	if (!sh.z_number) {
		/* 1. Settled: every commit that stamped its event before the close has returned. */
		settle_ms = sh.closed_at_ms + c->set.kafka_delivery_timeout_ms +
		            SETTLE_MARGIN_MS;
		if ((now = redstore__wall_ms()) < settle_ms) {
			if (settle_ms > deadline_ms)
				return redstore__fail(REDSTORE_ETIMEOUT,
				                      "%s: shift %s closed %lld ms ago; its Z report can be issued %lld ms after the "
				                      "close (kafka.delivery_timeout_ms + 1 s), when the sales in flight at the close "
				                      "have settled",
				                      what, shift_id, (long long)(now - sh.closed_at_ms),
				                      (long long)(settle_ms - sh.closed_at_ms));
			sleep_ms(settle_ms - now);
		}
		/* 2. The projector has written every acknowledged event. */
		wo.group_id = mo.group;
		wo.wait_ms = (int)(deadline_ms - redstore__wall_ms());
		if (wo.wait_ms < 1)
			wo.wait_ms = 1;
		if ((rc = redstore_projector_wait(NULL, c, &wo)))
			return redstore__fail_wrap(rc, "%s: shift %s: waiting for the projector (group %s)", what, shift_id,
			                           mo.group);
	}
	if ((rc = begin(c, what)))
		return rc;
	if ((rc = load_shift(&sh, c, store, shift_id, true, what)))
		goto fail;
	if (sh.z_number) { /* issued before, or by a concurrent call we waited for */
		reprint = true;
		rc = load_z(&r, c, store, shift_id, what);
	} else {
		rc = issue_z(&r, c, &sh, what);
	}
	if (rc)
		goto fail;
	{
		cJSON *d = audit_figures(r);
		if (d && reprint && !cJSON_AddTrueToObject(d, "reprint")) {
			cJSON_Delete(d);
			d = NULL;
		}
		if ((rc = audit(c, store, reprint ? "shift.z_reprint" : "shift.z_report", shift_id, d, what)) ||
		    (!reprint && (rc = emit(c, "shift.z_issued", report_cjson(r), what))) || (rc = commit(c, what)))
			goto fail;
	}
	*out = r;
	return 0;
fail:
	redstore_shift_report_free(r);
	return rc == REDSTORE_OK ? rc : rollback(c, rc);
}

/* ------------------------------------------------------------ JSON */

static cJSON *shift_json(const redstore_shift_info *s)
{
	cJSON *o = cJSON_CreateObject();
	if (!o || !cJSON_AddStringToObject(o, "shift_id", s->shift_id) || !cJSON_AddStringToObject(o, "store_id", s->store_id) ||
	    !cJSON_AddStringToObject(o, "terminal_id", s->terminal_id) ||
	    !cJSON_AddStringToObject(o, "opened_by", s->opened_by) ||
	    !cJSON_AddNumberToObject(o, "opened_at_ms", (double)s->opened_at_ms) ||
	    !cJSON_AddNumberToObject(o, "opening_float", (double)s->opening_float) ||
	    !cJSON_AddBoolToObject(o, "closed", s->closed) || !cJSON_AddStringToObject(o, "closed_by", s->closed_by) ||
	    !cJSON_AddNumberToObject(o, "closed_at_ms", (double)s->closed_at_ms) ||
	    !cJSON_AddNumberToObject(o, "counted_cash", (double)s->counted_cash) ||
	    !cJSON_AddNumberToObject(o, "z_number", (double)s->z_number)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static cJSON *report_cjson(const redstore_shift_report *r)
{
	const struct {
		const char *key;
		int64_t v;
	} f[] = { { "z_number", r->z_number },         { "issued_at_ms", r->issued_at_ms },
		      { "window_from_ms", r->shift.opened_at_ms }, { "window_to_ms", r->window_to_ms },
		      { "opening_float", r->opening_float }, { "cash_sales", r->cash_sales },
		      { "cash_refunds", r->cash_refunds },   { "paid_in", r->paid_in },
		      { "paid_out", r->paid_out },           { "expected_cash", r->expected_cash },
		      { "sales_count", r->sales_count },     { "sales_total", r->sales_total },
		      { "refunds_count", r->refunds_count }, { "refunds_total", r->refunds_total },
		      { "voids_count", r->voids_count },     { "voids_total", r->voids_total },
		      { "paid_in_count", r->paid_in_count }, { "paid_out_count", r->paid_out_count } };
	cJSON *o = cJSON_CreateObject(), *s = NULL, *t = NULL;
	bool ok = o && cJSON_AddStringToObject(o, "report", r->is_final ? "Z" : "X") &&
	          cJSON_AddStringToObject(o, "issued_by", r->issued_by);

	for (size_t i = 0; ok && i < REDSTORE_ARRAY_SIZE(f); i++)
		ok = cJSON_AddNumberToObject(o, f[i].key, (double)f[i].v) != NULL;
	ok = ok && (r->counted ? cJSON_AddNumberToObject(o, "counted_cash", (double)r->counted_cash) &&
	                             cJSON_AddNumberToObject(o, "difference", (double)r->difference)
	                       : cJSON_AddNullToObject(o, "counted_cash") && cJSON_AddNullToObject(o, "difference"));
	ok = ok && (s = shift_json(&r->shift)) && cJSON_AddItemToObject(o, "shift", s);
	if (ok)
		s = NULL;
	ok = ok && (t = tenders_json(r)) && cJSON_AddItemToObject(o, "tenders", t);
	if (ok)
		t = NULL;
	cJSON_Delete(s);
	cJSON_Delete(t);
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

int redstore_shift_report_to_json(char **out, const redstore_shift_report *r)
{
	cJSON *o = report_cjson(r);
	*out = o ? cJSON_PrintUnformatted(o) : NULL;
	cJSON_Delete(o);
	return *out ? 0 : redstore__fail(REDSTORE_ENOMEM, "redstore_shift_report_to_json: out of memory");
}
