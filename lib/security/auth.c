/* Terminals, employees, sessions and permission checks (include/redstore/auth.h). */
#include "security/security_int.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>

#define TOKEN_MAX 512
#define MAC_HEX 64

/* ------------------------------------------------------------ names and permissions */

static const char *const role_names[] = { "cashier", "supervisor", "manager", "admin" };
static const char *const perm_names[] = { "sell",    "void",    "refund",    "price_override",
	                                      "stock",   "catalog", "shifts",    "reports",
	                                      "employees", "pair",  "terminals", "stores" };
/* The lowest role holding each permission. */
static const redstore_role perm_min_role[] = {
	REDSTORE_ROLE_CASHIER,    REDSTORE_ROLE_SUPERVISOR, REDSTORE_ROLE_SUPERVISOR, REDSTORE_ROLE_SUPERVISOR,
	REDSTORE_ROLE_MANAGER,    REDSTORE_ROLE_MANAGER,    REDSTORE_ROLE_MANAGER,    REDSTORE_ROLE_MANAGER,
	REDSTORE_ROLE_MANAGER,    REDSTORE_ROLE_MANAGER,    REDSTORE_ROLE_ADMIN,      REDSTORE_ROLE_ADMIN
};

const char *redstore_role_name(redstore_role role)
{
	return (unsigned)role < REDSTORE_ARRAY_SIZE(role_names) ? role_names[role] : NULL;
}

int redstore_role_parse(redstore_role *out, const char *name)
{
	for (size_t i = 0; name && i < REDSTORE_ARRAY_SIZE(role_names); i++)
		if (!strcmp(name, role_names[i])) {
			*out = (redstore_role)i;
			return 0;
		}
	return redstore__fail(REDSTORE_EINVALID, "role \"%.32s\" (expected cashier, supervisor, manager or admin)",
	                      name ? name : "(null)");
}

const char *redstore_permission_name(redstore_permission perm)
{
	return (unsigned)perm < REDSTORE_ARRAY_SIZE(perm_names) ? perm_names[perm] : NULL;
}

int redstore_role_allows(redstore_role role, redstore_permission perm)
{
	if ((unsigned)perm >= REDSTORE_ARRAY_SIZE(perm_min_role) || (unsigned)role >= REDSTORE_ARRAY_SIZE(role_names))
		return 0;
	return role >= perm_min_role[perm];
}

/* Within the role's amount limit (only supervisors' refunds have one). */
static bool within_limit(redstore_client *c, redstore_role role, redstore_permission perm, int64_t amount)
{
	return !(perm == REDSTORE_PERM_REFUND && role == REDSTORE_ROLE_SUPERVISOR &&
	         amount > c->set.auth_supervisor_refund_limit);
}

/* ------------------------------------------------------------ helpers */

static int crypto_ready(const char *what)
{
	if (sodium_init() < 0)
		return redstore__fail(REDSTORE_ERROR, "%s: libsodium could not be initialised", what);
	return 0;
}

/* SHA-256 of `domain` + `text`, as 64 hex digits plus NUL. */
static void sha256_hex(char out[65], const char *domain, const char *text)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_state st;
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const unsigned char *)domain, strlen(domain));
	crypto_hash_sha256_update(&st, (const unsigned char *)text, strlen(text));
	crypto_hash_sha256_final(&st, h);
	sodium_bin2hex(out, 65, h, sizeof(h));
}

static int check_employee_id(const char *id, const char *what)
{
	size_t n = id ? strlen(id) : 0;
	if (n < 1 || n > 64)
		return redstore__fail(REDSTORE_EINVALID, "%s: employee id must be 1-64 characters of [A-Za-z0-9_.-]", what);
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)id[i]) && id[i] != '_' && id[i] != '.' && id[i] != '-')
			return redstore__fail(REDSTORE_EINVALID, "%s: employee id \"%.64s\" may only hold [A-Za-z0-9_.-]", what,
			                      id);
	return 0;
}

static int check_name(const char *s, const char *what)
{
	size_t n = s ? strlen(s) : 0;
	if (n < 1 || n > 100)
		return redstore__fail(REDSTORE_EINVALID, "%s: name must be 1-100 characters", what);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return redstore__fail(REDSTORE_EINVALID, "%s: name has a control character", what);
	return 0;
}

static int check_pin_form(const char *pin, const char *what)
{
	size_t n = pin ? strlen(pin) : 0;
	if (n < 4 || n > 12)
		return redstore__fail(REDSTORE_EINVALID, "%s: a PIN is 4-12 digits", what);
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)pin[i]))
			return redstore__fail(REDSTORE_EINVALID, "%s: a PIN is 4-12 digits", what);
	return 0;
}

static const char *secret_of(redstore_client *c)
{
	return c->set.auth_secret;
}

static void mac_hex(char out[MAC_HEX + 1], const char *secret, const char *payload, size_t len)
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)payload, len);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2hex(out, MAC_HEX + 1, mac, sizeof(mac));
	sodium_memzero(&st, sizeof(st));
}

/* Verifies a session token's signature and expiry and parses it. Every failure is REDSTORE_EAUTH with a
 * message that never repeats the token. */
static int token_verify(redstore_session_info *out, redstore_client *c, const char *token)
{
	const char *secret = secret_of(c), *dot;
	char payload[TOKEN_MAX], expect[MAC_HEX + 1], *f[8], *save = NULL, *p;
	unsigned char given[crypto_auth_hmacsha256_BYTES], want[crypto_auth_hmacsha256_BYTES];
	size_t n = token ? strnlen(token, TOKEN_MAX + 1) : 0, plen, k = 0;
	long long exp;
	char *end;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = crypto_ready("session")))
		return rc;
	if (!*secret)
		return redstore__fail(REDSTORE_EINVALID, "session: auth.secret is not set");
	if (n == 0 || n > TOKEN_MAX || !(dot = strrchr(token, '.')) || strlen(dot + 1) != MAC_HEX)
		return redstore__fail(REDSTORE_EAUTH, "session token: malformed");
	plen = (size_t)(dot - token);
	memcpy(payload, token, plen);
	payload[plen] = '\0';
	if (sodium_hex2bin(given, sizeof(given), dot + 1, MAC_HEX, NULL, NULL, NULL) != 0)
		return redstore__fail(REDSTORE_EAUTH, "session token: malformed signature");
	mac_hex(expect, secret, payload, plen);
	sodium_hex2bin(want, sizeof(want), expect, MAC_HEX, NULL, NULL, NULL);
	if (sodium_memcmp(given, want, sizeof(want)) != 0)
		return redstore__fail(REDSTORE_EAUTH, "session token: bad signature (forged, or signed with another secret)");
	for (p = strtok_r(payload, "|", &save); p && k < 8; p = strtok_r(NULL, "|", &save))
		f[k++] = p;
	if (k != 7 || strcmp(f[0], "v1") != 0 || strlen(f[1]) >= sizeof(out->store_id) ||
	    strlen(f[2]) >= sizeof(out->employee_id) || strlen(f[3]) >= sizeof(out->terminal_id))
		return redstore__fail(REDSTORE_EAUTH, "session token: malformed");
	if (redstore_role_parse(&out->role, f[4]))
		return redstore__fail(REDSTORE_EAUTH, "session token: unknown role");
	exp = strtoll(f[5], &end, 10);
	if (*end || exp <= 0)
		return redstore__fail(REDSTORE_EAUTH, "session token: malformed expiry");
	snprintf(out->store_id, sizeof(out->store_id), "%s", f[1]);
	snprintf(out->employee_id, sizeof(out->employee_id), "%s", f[2]);
	snprintf(out->terminal_id, sizeof(out->terminal_id), "%s", f[3]);
	out->expires_at_ms = exp;
	if (exp <= redstore__wall_ms())
		return redstore__fail(REDSTORE_EAUTH, "session of employee %s: expired", out->employee_id);
	return 0;
}

static int token_make(char **out, redstore_client *c, const char *store, const char *employee, const char *terminal,
                      redstore_role role)
{
	unsigned char nonce[12];
	char nonce_hex[25], payload[TOKEN_MAX], mac[MAC_HEX + 1];
	int64_t exp = redstore__wall_ms() + c->set.auth_session_ttl_s * 1000;
	int n;

	randombytes_buf(nonce, sizeof(nonce));
	sodium_bin2hex(nonce_hex, sizeof(nonce_hex), nonce, sizeof(nonce));
	n = snprintf(payload, sizeof(payload), "v1|%s|%s|%s|%s|%lld|%s", store, employee, terminal,
	             redstore_role_name(role), (long long)exp, nonce_hex);
	if (n < 0 || (size_t)n >= sizeof(payload))
		return redstore__fail(REDSTORE_ERROR, "session: token too long");
	mac_hex(mac, secret_of(c), payload, (size_t)n);
	if (!(*out = redstore__sprintf("%s.%s", payload, mac)))
		return redstore__fail(REDSTORE_ENOMEM, "session: out of memory");
	return 0;
}

static cJSON *details_obj(const char *k1, const char *v1, const char *k2, const char *v2)
{
	cJSON *d = cJSON_CreateObject();
	if (d && k1)
		cJSON_AddStringToObject(d, k1, v1);
	if (d && k2)
		cJSON_AddStringToObject(d, k2, v2);
	return d;
}

/* Audits with the client's actor; a failed audit write is the call's failure. */
static int audit(redstore_client *c, const char *store, const char *action, const char *employee,
                 const char *terminal, const char *approved, const char *subject, cJSON *details)
{
	int rc = redstore__audit_append(c, store, action, employee, terminal, approved, subject, details);
	cJSON_Delete(details);
	return rc;
}

/* Checks an employee's PIN with the lockout rules. On success *role receives the role. Every failure is
 * audited (under `action_failed`). */
static int check_pin(redstore_role *role, redstore_client *c, const char *store, const char *employee,
                     const char *terminal, const char *pin, const char *what)
{
	static const char select_sql[] =
		"SELECT pin_hash, role, active,"
		" coalesce(greatest(0, ceil(extract(epoch FROM (locked_until - clock_timestamp())) * 1000)), 0)::bigint"
		" FROM employees WHERE store_id = $1 AND employee_id = $2";
	static const char fail_sql[] =
		"UPDATE employees SET failed_pins = failed_pins + 1, updated_at = now(),"
		" locked_until = CASE WHEN failed_pins + 1 >= $3::int THEN clock_timestamp() + make_interval(secs =>"
		"   least($5::float8, $4::float8 * power(2::float8, least(failed_pins + 1 - $3::int, 40))) / 1000.0)"
		"   ELSE locked_until END"
		" WHERE store_id = $1 AND employee_id = $2"
		" RETURNING failed_pins,"
		" coalesce(greatest(0, ceil(extract(epoch FROM (locked_until - clock_timestamp())) * 1000)), 0)::bigint";
	static const char ok_sql[] =
		"UPDATE employees SET failed_pins = 0, locked_until = NULL WHERE store_id = $1 AND employee_id = $2"
		" AND (failed_pins <> 0 OR locked_until IS NOT NULL)";
	const char *params[5];
	char thr[24], base[24], max[24], left[24], tries[24];
	PGresult *res = NULL;
	int64_t lock_ms;
	int rc, good;

	params[0] = store;
	params[1] = employee;
	if ((rc = redstore__pg_exec(&res, c, select_sql, 2, params)))
		return redstore__fail_wrap(rc, "%s", what);
	if (PQntuples(res) == 0) {
		char dummy[crypto_pwhash_STRBYTES];
		PQclear(res);
		/* Spend what a PIN check costs, so the answer's timing does not tell who exists. */
		if (crypto_pwhash_str(dummy, "0000", 4,
		                      (unsigned long long)c->set.auth_pin_opslimit,
		                      (size_t)c->set.auth_pin_memlimit_kib * 1024) == 0)
			sodium_memzero(dummy, sizeof(dummy));
		if ((rc = audit(c, store, "auth.login_failed", employee, terminal, NULL, employee,
		                details_obj("why", "unknown employee", NULL, NULL))))
			return rc;
		return redstore__fail(REDSTORE_EAUTH, "%s: unknown employee or wrong PIN", what);
	}
	lock_ms = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
	if (lock_ms > 0) {
		PQclear(res);
		snprintf(left, sizeof(left), "%lld", (long long)lock_ms);
		if ((rc = audit(c, store, "auth.login_locked", employee, terminal, NULL, employee,
		                details_obj("locked_ms", left, NULL, NULL))))
			return rc;
		return redstore__fail(REDSTORE_ELOCKED, "%s: employee %s is locked out for %lld ms more", what, employee,
		                      (long long)lock_ms);
	}
	if (PQgetvalue(res, 0, 2)[0] != 't') {
		PQclear(res);
		return redstore__fail(REDSTORE_EINACTIVE, "%s: employee %s is deactivated", what, employee);
	}
	if (redstore_role_parse(role, PQgetvalue(res, 0, 1))) {
		PQclear(res);
		return redstore__fail(REDSTORE_ERROR, "%s: employee %s has an unknown role", what, employee);
	}
	good = check_pin_form(pin, what) == 0 &&
	       crypto_pwhash_str_verify(PQgetvalue(res, 0, 0), pin, strlen(pin)) == 0;
	PQclear(res);
	redstore_error_clear();
	if (good) {
		if ((rc = redstore__pg_exec(NULL, c, ok_sql, 2, params)))
			return redstore__fail_wrap(rc, "%s", what);
		return 0;
	}
	snprintf(thr, sizeof(thr), "%lld", (long long)c->set.auth_lockout_threshold);
	snprintf(base, sizeof(base), "%lld", (long long)c->set.auth_lockout_base_ms);
	snprintf(max, sizeof(max), "%lld", (long long)c->set.auth_lockout_max_ms);
	params[2] = thr;
	params[3] = base;
	params[4] = max;
	if ((rc = redstore__pg_exec(&res, c, fail_sql, 5, params)))
		return redstore__fail_wrap(rc, "%s", what);
	snprintf(tries, sizeof(tries), "%s", PQntuples(res) ? PQgetvalue(res, 0, 0) : "?");
	snprintf(left, sizeof(left), "%s", PQntuples(res) ? PQgetvalue(res, 0, 1) : "0");
	PQclear(res);
	if ((rc = audit(c, store, "auth.login_failed", employee, terminal, NULL, employee,
	                details_obj("failed_pins", tries, "locked_ms", left))))
		return rc;
	return redstore__fail(REDSTORE_EAUTH, "%s: unknown employee or wrong PIN", what);
}

/* ------------------------------------------------------------ sessions */

void redstore__auth_free(redstore__auth *a)
{
	if (!a)
		return;
	if (a->token) {
		sodium_memzero(a->token, strlen(a->token));
		free(a->token);
	}
	free(a);
}

int redstore_auth_login(char **out, redstore_client *c, const char *device_token, const char *employee_id,
                        const char *pin)
{
	static const char device_sql[] = "SELECT store_id, terminal_id::text FROM terminals"
	                                 " WHERE token_hash = decode($1, 'hex') AND revoked_at IS NULL";
	char hash[65], store[65], terminal[REDSTORE_ID_SIZE];
	const char *params[1];
	PGresult *res;
	redstore_role role;
	size_t n = device_token ? strnlen(device_token, 80) : 0;
	int rc;

	*out = NULL;
	if ((rc = crypto_ready("redstore_auth_login")))
		return rc;
	if (!*secret_of(c))
		return redstore__fail(REDSTORE_EINVALID, "redstore_auth_login: auth.secret is not set");
	if ((rc = check_employee_id(employee_id, "redstore_auth_login")))
		return rc;
	if (n != REDSTORE_DEVICE_TOKEN_SIZE - 1 || strncmp(device_token, "rsd_", 4) != 0)
		return redstore__fail(REDSTORE_EAUTH, "redstore_auth_login: unknown or revoked device");
	sha256_hex(hash, "redstore-device:", device_token);
	params[0] = hash;
	if ((rc = redstore__pg_exec(&res, c, device_sql, 1, params)))
		return redstore__fail_wrap(rc, "redstore_auth_login");
	if (PQntuples(res) == 0) {
		PQclear(res);
		return redstore__fail(REDSTORE_EAUTH, "redstore_auth_login: unknown or revoked device");
	}
	snprintf(store, sizeof(store), "%s", PQgetvalue(res, 0, 0));
	snprintf(terminal, sizeof(terminal), "%s", PQgetvalue(res, 0, 1));
	PQclear(res);
	if ((rc = check_pin(&role, c, store, employee_id, terminal, pin, "redstore_auth_login")))
		return rc;
	if ((rc = token_make(out, c, store, employee_id, terminal, role)))
		return rc;
	if ((rc = audit(c, store, "auth.login", employee_id, terminal, NULL, employee_id,
	                details_obj("role", redstore_role_name(role), NULL, NULL)))) {
		redstore_free(*out);
		*out = NULL;
	}
	return rc;
}

void redstore_auth_detach(redstore_client *c)
{
	if (!c || !c->auth)
		return;
	redstore__auth_free(c->auth);
	c->auth = NULL;
	c->auth_free = NULL;
	c->terminal[0] = c->employee[0] = '\0';
	/* The connection runs as redstore_store: the service gets it back unscoped, or not at all. */
	redstore__pg_set_scope(c, NULL);
}

int redstore_auth_attach(redstore_client *c, const char *token)
{
	static const char sql[] =
		"SELECT (SELECT revoked_at IS NULL FROM terminals WHERE store_id = $1 AND terminal_id = $2::uuid),"
		" e.role, e.active FROM employees e WHERE e.store_id = $1 AND e.employee_id = $3";
	redstore_session_info info;
	redstore__auth *a;
	const char *params[3];
	PGresult *res;
	int rc;

	redstore_auth_detach(c);
	if ((rc = token_verify(&info, c, token)))
		return rc;
	if ((rc = redstore_id_check(info.terminal_id, "session terminal")))
		return redstore__fail(REDSTORE_EAUTH, "session token: malformed terminal id");
	params[0] = info.store_id;
	params[1] = info.terminal_id;
	params[2] = info.employee_id;
	if ((rc = redstore__pg_exec(&res, c, sql, 3, params)))
		return redstore__fail_wrap(rc, "redstore_auth_attach");
	if (PQntuples(res) == 0 || PQgetvalue(res, 0, 0)[0] != 't') {
		PQclear(res);
		return redstore__fail(REDSTORE_EAUTH, "redstore_auth_attach: terminal %s is revoked or unknown in store %s",
		                      info.terminal_id, info.store_id);
	}
	if (strcmp(PQgetvalue(res, 0, 1), redstore_role_name(info.role)) != 0) {
		PQclear(res);
		return redstore__fail(REDSTORE_EAUTH, "redstore_auth_attach: employee %s's role changed: log in again",
		                      info.employee_id);
	}
	if (PQgetvalue(res, 0, 2)[0] != 't') {
		PQclear(res);
		return redstore__fail(REDSTORE_EINACTIVE, "redstore_auth_attach: employee %s is deactivated", info.employee_id);
	}
	PQclear(res);
	if (!(a = calloc(1, sizeof(*a))) || !(a->token = redstore__strdup(token))) {
		free(a);
		return redstore__fail(REDSTORE_ENOMEM, "redstore_auth_attach: out of memory");
	}
	a->info = info;
	/* From here the client is the session's: its store, its actor, a store-scoped connection (the open
	 * one is scoped now; a new one is scoped when it connects). */
	c->auth = a;
	c->auth_free = redstore__auth_free;
	redstore__set_store(c, info.store_id);
	snprintf(c->terminal, sizeof(c->terminal), "%s", info.terminal_id);
	snprintf(c->employee, sizeof(c->employee), "%s", info.employee_id);
	redstore__pg_set_scope(c, info.store_id);
	return 0;
}

int redstore_auth_session(redstore_session_info *out, redstore_client *c)
{
	memset(out, 0, sizeof(*out));
	if (!c->auth)
		return redstore__fail(REDSTORE_ENOTFOUND, "redstore_auth_session: no session attached");
	return token_verify(out, c, c->auth->token);
}

int redstore__auth_require(redstore_client *c, redstore_permission perm, int64_t amount, const char *what)
{
	redstore__auth *a = c->auth;
	redstore_session_info info;
	int rc;

	if (!a)
		return 0;
	a->approved_by[0] = '\0';
	if ((rc = token_verify(&info, c, a->token)))
		return redstore__fail_wrap(rc, "%s", what);
	if (redstore_role_allows(info.role, perm) && within_limit(c, info.role, perm, amount))
		return 0;
	if (a->override_armed && a->override_perm == perm && within_limit(c, a->override_role, perm, amount)) {
		snprintf(a->approved_by, sizeof(a->approved_by), "%s", a->override_by);
		return 0;
	}
	if (redstore_role_allows(info.role, perm) || (a->override_armed && a->override_perm == perm))
		return redstore__fail(REDSTORE_EPERM, "%s: %lld is over the supervisor refund limit of %lld", what,
		                      (long long)amount,
		                      (long long)c->set.auth_supervisor_refund_limit);
	return redstore__fail(REDSTORE_EPERM, "%s: employee %s (%s) lacks the permission \"%s\" (a supervisor may approve it)",
	                      what, info.employee_id, redstore_role_name(info.role), redstore_permission_name(perm));
}

int redstore_auth_require(redstore_client *c, redstore_permission perm, int64_t amount)
{
	if (!redstore_permission_name(perm))
		return redstore__fail(REDSTORE_EINVALID, "redstore_auth_require: unknown permission %d", (int)perm);
	return redstore__auth_require(c, perm, amount, "redstore_auth_require");
}

int redstore__auth_audit_action(redstore_client *c, const char *action, const char *subject, const cJSON *details)
{
	redstore__auth *a = c->auth;
	char approved[65];
	if (!a)
		return 0;
	snprintf(approved, sizeof(approved), "%s", a->approved_by);
	if (approved[0]) {
		a->override_armed = false; /* used up by this action */
		a->approved_by[0] = '\0';
	}
	return redstore__audit_append(c, a->info.store_id, action, a->info.employee_id, a->info.terminal_id, approved,
	                              subject, details);
}

int redstore_auth_override(redstore_client *c, redstore_permission perm, const char *approver_id, const char *pin)
{
	static const char *what = "redstore_auth_override";
	redstore_session_info info;
	redstore_role role;
	redstore__auth *a = c->auth;
	int rc;

	if (!a)
		return redstore__fail(REDSTORE_EINVALID, "%s: no session attached", what);
	if (!redstore_permission_name(perm))
		return redstore__fail(REDSTORE_EINVALID, "%s: unknown permission %d", what, (int)perm);
	if ((rc = token_verify(&info, c, a->token)) || (rc = check_employee_id(approver_id, what)))
		return rc;
	if (!strcmp(approver_id, info.employee_id))
		return redstore__fail(REDSTORE_EPERM, "%s: employee %s cannot approve their own action", what, approver_id);
	if ((rc = check_pin(&role, c, info.store_id, approver_id, info.terminal_id, pin, what)))
		return rc;
	if (!redstore_role_allows(role, perm))
		return redstore__fail(REDSTORE_EPERM, "%s: %s (%s) lacks the permission \"%s\"", what, approver_id,
		                      redstore_role_name(role), redstore_permission_name(perm));
	if ((rc = audit(c, info.store_id, "auth.override", info.employee_id, info.terminal_id, approver_id,
	                redstore_permission_name(perm), details_obj("approver_role", redstore_role_name(role), NULL, NULL))))
		return rc;
	a->override_armed = true;
	a->override_perm = perm;
	a->override_role = role;
	snprintf(a->override_by, sizeof(a->override_by), "%s", approver_id);
	return 0;
}

/* ------------------------------------------------------------ terminals */

static const char code_alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"; /* Crockford base32 */

/* Normalises a typed pairing code (case, dashes, spaces, I/L/O) into 8 symbols. */
static int code_normalise(char out[9], const char *code)
{
	size_t k = 0;
	for (const char *p = code; p && *p; p++) {
		char ch = (char)toupper((unsigned char)*p);
		if (ch == '-' || ch == ' ')
			continue;
		if (ch == 'I' || ch == 'L')
			ch = '1';
		else if (ch == 'O')
			ch = '0';
		if (k >= 8 || !strchr(code_alphabet, ch) || !ch)
			return redstore__fail(REDSTORE_EINVALID, "pairing code: expected XXXX-XXXX");
		out[k++] = ch;
	}
	if (k != 8)
		return redstore__fail(REDSTORE_EINVALID, "pairing code: expected XXXX-XXXX");
	out[8] = '\0';
	return 0;
}

int redstore_auth_pairing_code_new(char out[REDSTORE_PAIRING_CODE_SIZE], redstore_client *c, const char *name)
{
	static const char sql[] = "INSERT INTO pairing_codes (store_id, code_hash, name, issued_by, expires_at)"
	                          " VALUES ($1, decode($2, 'hex'), $3, $4, now() + make_interval(secs => $5::int))";
	static const char *what = "redstore_auth_pairing_code_new";
	unsigned char rnd[8];
	char code[9], hash[65], ttl[24];
	const char *store, *params[5];
	int rc;

	out[0] = '\0';
	if ((rc = crypto_ready(what)) || (rc = redstore__need_store(&store, c, what)) || (rc = check_name(name, what)) ||
	    (rc = redstore__auth_require(c, REDSTORE_PERM_PAIR, 0, what)))
		return rc;
	randombytes_buf(rnd, sizeof(rnd));
	for (int i = 0; i < 8; i++)
		code[i] = code_alphabet[rnd[i] & 31];
	code[8] = '\0';
	sodium_memzero(rnd, sizeof(rnd));
	sha256_hex(hash, "redstore-pair:", code);
	snprintf(ttl, sizeof(ttl), "%lld", (long long)c->set.auth_pairing_ttl_s);
	params[0] = store;
	params[1] = hash;
	params[2] = name;
	params[3] = c->employee;
	params[4] = ttl;
	if ((rc = redstore__pg_exec(NULL, c, sql, 5, params)))
		return redstore__fail_wrap(rc, "%s", what);
	if ((rc = audit(c, store, "terminal.pairing_code_issued", NULL, NULL, NULL, name, NULL)))
		return rc;
	snprintf(out, REDSTORE_PAIRING_CODE_SIZE, "%.4s-%.4s", code, code + 4);
	return 0;
}

int redstore_auth_pair(char out[REDSTORE_DEVICE_TOKEN_SIZE], char terminal_id[REDSTORE_ID_SIZE], redstore_client *c,
                       const char *pairing_code)
{
	static const char sql[] =
		"WITH code AS (UPDATE pairing_codes SET used_at = now() WHERE code_hash = decode($1, 'hex')"
		"   AND used_at IS NULL AND expires_at > now() RETURNING store_id, name, issued_by)"
		" INSERT INTO terminals (store_id, terminal_id, name, token_hash, paired_by)"
		" SELECT store_id, $2::uuid, name, decode($3, 'hex'), issued_by FROM code RETURNING store_id, name";
	static const char *what = "redstore_auth_pair";
	unsigned char rnd[32];
	char code[9], code_hash[65], token[REDSTORE_DEVICE_TOKEN_SIZE], token_hash[65], id[REDSTORE_ID_SIZE];
	char store[65], name[101];
	const char *params[3];
	PGresult *res;
	int rc;

	out[0] = terminal_id[0] = '\0';
	if ((rc = crypto_ready(what)) || (rc = code_normalise(code, pairing_code)) || (rc = redstore_id_new(id)))
		return rc;
	randombytes_buf(rnd, sizeof(rnd));
	memcpy(token, "rsd_", 4);
	sodium_bin2hex(token + 4, sizeof(token) - 4, rnd, sizeof(rnd));
	sodium_memzero(rnd, sizeof(rnd));
	sha256_hex(code_hash, "redstore-pair:", code);
	sha256_hex(token_hash, "redstore-device:", token);
	params[0] = code_hash;
	params[1] = id;
	params[2] = token_hash;
	if ((rc = redstore__pg_exec(&res, c, sql, 3, params))) {
		sodium_memzero(token, sizeof(token));
		return redstore__fail_wrap(rc, "%s", what);
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		sodium_memzero(token, sizeof(token));
		return redstore__fail(REDSTORE_EAUTH, "%s: unknown, used or expired pairing code", what);
	}
	snprintf(store, sizeof(store), "%s", PQgetvalue(res, 0, 0));
	snprintf(name, sizeof(name), "%s", PQgetvalue(res, 0, 1));
	PQclear(res);
	if ((rc = audit(c, store, "terminal.paired", "", id, NULL, id, details_obj("name", name, NULL, NULL)))) {
		sodium_memzero(token, sizeof(token));
		return rc;
	}
	memcpy(out, token, sizeof(token));
	sodium_memzero(token, sizeof(token));
	memcpy(terminal_id, id, REDSTORE_ID_SIZE);
	return 0;
}

int redstore_auth_terminal_list(redstore_terminal_info **out, size_t *count, redstore_client *c)
{
	static const char sql[] =
		"SELECT terminal_id::text, name, paired_by, (extract(epoch FROM paired_at) * 1000)::bigint,"
		" revoked_at IS NOT NULL FROM terminals WHERE store_id = $1 ORDER BY paired_at, terminal_id";
	static const char *what = "redstore_auth_terminal_list";
	const char *store;
	PGresult *res;
	int rc, n;

	*out = NULL;
	*count = 0;
	if ((rc = redstore__need_store(&store, c, what)) || (rc = redstore__auth_require(c, REDSTORE_PERM_PAIR, 0, what)))
		return rc;
	if ((rc = redstore__pg_exec(&res, c, sql, 1, &store)))
		return redstore__fail_wrap(rc, "%s", what);
	n = PQntuples(res);
	if (n > 0 && !(*out = calloc((size_t)n, sizeof(**out)))) {
		PQclear(res);
		return redstore__fail(REDSTORE_ENOMEM, "%s: out of memory", what);
	}
	for (int i = 0; i < n; i++) {
		redstore_terminal_info *t = &(*out)[i];
		snprintf(t->terminal_id, sizeof(t->terminal_id), "%s", PQgetvalue(res, i, 0));
		snprintf(t->name, sizeof(t->name), "%s", PQgetvalue(res, i, 1));
		snprintf(t->paired_by, sizeof(t->paired_by), "%s", PQgetvalue(res, i, 2));
		t->paired_at_ms = strtoll(PQgetvalue(res, i, 3), NULL, 10);
		t->revoked = PQgetvalue(res, i, 4)[0] == 't';
	}
	*count = (size_t)n;
	PQclear(res);
	return 0;
}

int redstore_auth_terminal_revoke(redstore_client *c, const char *terminal_id)
{
	static const char sql[] = "UPDATE terminals SET revoked_at = now() WHERE store_id = $1 AND terminal_id = $2::uuid"
	                          " AND revoked_at IS NULL RETURNING name";
	static const char *what = "redstore_auth_terminal_revoke";
	const char *store, *params[2];
	char name[101];
	PGresult *res;
	int rc;

	if ((rc = redstore__need_store(&store, c, what)) || (rc = redstore_id_check(terminal_id, what)) ||
	    (rc = redstore__auth_require(c, REDSTORE_PERM_TERMINALS, 0, what)))
		return rc;
	params[0] = store;
	params[1] = terminal_id;
	if ((rc = redstore__pg_exec(&res, c, sql, 2, params)))
		return redstore__fail_wrap(rc, "%s", what);
	if (PQntuples(res) == 0) {
		PQclear(res);
		return redstore__fail(REDSTORE_ENOTFOUND, "%s: no active terminal %s in store %s", what, terminal_id, store);
	}
	snprintf(name, sizeof(name), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return audit(c, store, "terminal.revoked", NULL, NULL, NULL, terminal_id, details_obj("name", name, NULL, NULL));
}

/* ------------------------------------------------------------ employees */

/* A manager manages roles below manager; an admin any role. */
static int may_manage(redstore_client *c, redstore_role role, const char *what)
{
	int rc = redstore__auth_require(c, REDSTORE_PERM_EMPLOYEES, 0, what);
	if (rc || !c->auth)
		return rc;
	if (c->auth->info.role < REDSTORE_ROLE_ADMIN && role >= REDSTORE_ROLE_MANAGER)
		return redstore__fail(REDSTORE_EPERM, "%s: a %s may only manage cashiers and supervisors", what,
		                      redstore_role_name(c->auth->info.role));
	return 0;
}

int redstore_auth_employee_add(redstore_client *c, const char *employee_id, const char *name, redstore_role role,
                               const char *pin)
{
	static const char sql[] = "INSERT INTO employees (store_id, employee_id, name, role, pin_hash)"
	                          " VALUES ($1, $2, $3, $4, $5)";
	static const char *what = "redstore_auth_employee_add";
	char hash[crypto_pwhash_STRBYTES];
	const char *store, *params[5];
	int rc;

	if ((rc = crypto_ready(what)) || (rc = redstore__need_store(&store, c, what)) ||
	    (rc = check_employee_id(employee_id, what)) || (rc = check_name(name, what)) ||
	    (rc = check_pin_form(pin, what)))
		return rc;
	if (!redstore_role_name(role))
		return redstore__fail(REDSTORE_EINVALID, "%s: unknown role %d", what, (int)role);
	if ((rc = may_manage(c, role, what)))
		return rc;
	if (crypto_pwhash_str(hash, pin, strlen(pin),
	                      (unsigned long long)c->set.auth_pin_opslimit,
	                      (size_t)c->set.auth_pin_memlimit_kib * 1024) != 0)
		return redstore__fail(REDSTORE_ENOMEM, "%s: argon2id could not allocate its memory (auth.pin_memlimit_kib)",
		                      what);
	params[0] = store;
	params[1] = employee_id;
	params[2] = name;
	params[3] = redstore_role_name(role);
	params[4] = hash;
	rc = redstore__pg_exec(NULL, c, sql, 5, params);
	sodium_memzero(hash, sizeof(hash));
	if (rc == REDSTORE_EEXISTS)
		return redstore__fail(REDSTORE_EEXISTS, "%s: employee %s exists already in store %s", what, employee_id, store);
	if (rc)
		return redstore__fail_wrap(rc, "%s %s", what, employee_id);
	return audit(c, store, "employee.added", NULL, NULL, NULL, employee_id,
	             details_obj("role", redstore_role_name(role), NULL, NULL));
}

int redstore_auth_employee_set_role(redstore_client *c, const char *employee_id, redstore_role role)
{
	static const char get_sql[] = "SELECT role FROM employees WHERE store_id = $1 AND employee_id = $2";
	static const char set_sql[] = "UPDATE employees SET role = $3, updated_at = now()"
	                              " WHERE store_id = $1 AND employee_id = $2 AND role = $4";
	static const char *what = "redstore_auth_employee_set_role";
	const char *store, *params[4];
	char old[16];
	redstore_role old_role;
	PGresult *res;
	int rc;

	if ((rc = redstore__need_store(&store, c, what)) || (rc = check_employee_id(employee_id, what)))
		return rc;
	if (!redstore_role_name(role))
		return redstore__fail(REDSTORE_EINVALID, "%s: unknown role %d", what, (int)role);
	if ((rc = may_manage(c, role, what)))
		return rc;
	params[0] = store;
	params[1] = employee_id;
	if ((rc = redstore__pg_exec(&res, c, get_sql, 2, params)))
		return redstore__fail_wrap(rc, "%s", what);
	if (PQntuples(res) == 0) {
		PQclear(res);
		return redstore__fail(REDSTORE_ENOTFOUND, "%s: no employee %s in store %s", what, employee_id, store);
	}
	snprintf(old, sizeof(old), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	if (redstore_role_parse(&old_role, old))
		return REDSTORE_ERROR;
	if ((rc = may_manage(c, old_role, what)))
		return rc;
	params[2] = redstore_role_name(role);
	params[3] = old;
	if ((rc = redstore__pg_exec(&res, c, set_sql, 4, params)))
		return redstore__fail_wrap(rc, "%s", what);
	if (strcmp(PQcmdTuples(res), "1") != 0) {
		PQclear(res);
		return redstore__fail(REDSTORE_ECONFLICT, "%s: %s's role changed meanwhile", what, employee_id);
	}
	PQclear(res);
	return audit(c, store, "employee.role_changed", NULL, NULL, NULL, employee_id,
	             details_obj("from", old, "to", redstore_role_name(role)));
}

/* ------------------------------------------------------------ Redis ACL */

int redstore_auth_redis_acl(char **out, const char *store_id, const char *user, const char *password)
{
	static const char *what = "redstore_auth_redis_acl";
	static const char commands[] = "-@all +@read +@write +@scripting +@connection +@transaction +@pubsub +select"
	                               " -@dangerous -@admin -scan -randomkey -pubsub -function -script|flush"
	                               " -script|kill -move -copy -swapdb";
	char hash[65];
	int rc;

	*out = NULL;
	if ((rc = crypto_ready(what)) || (rc = redstore__check_store_id(store_id, what)))
		return rc;
	if (check_employee_id(user, what))
		return redstore__fail(REDSTORE_EINVALID, "%s: user must be 1-64 characters of [A-Za-z0-9_.-]", what);
	if (!password || strlen(password) < 16)
		return redstore__fail(REDSTORE_EINVALID, "%s: the password must have at least 16 characters", what);
	sha256_hex(hash, "", password);
	if (!(*out = redstore__sprintf("ACL SETUSER %s reset on #%s ~rs:{s:%s}:* &rs:{s:%s}:* %s", user, hash, store_id,
	                               store_id, commands)))
		return redstore__fail(REDSTORE_ENOMEM, "%s: out of memory", what);
	return 0;
}

int redstore_auth_employee_set_active(redstore_client *c, const char *employee_id, int active)
{
	static const char get_sql[] = "SELECT role FROM employees WHERE store_id = $1 AND employee_id = $2";
	static const char set_sql[] = "UPDATE employees SET active = $3::boolean, updated_at = now(),"
	                              " failed_pins = 0, locked_until = NULL WHERE store_id = $1 AND employee_id = $2";
	static const char *what = "redstore_auth_employee_set_active";
	const char *store, *params[3];
	redstore_role role;
	PGresult *res;
	int rc;

	if ((rc = redstore__need_store(&store, c, what)) || (rc = check_employee_id(employee_id, what)))
		return rc;
	params[0] = store;
	params[1] = employee_id;
	params[2] = active ? "true" : "false";
	if ((rc = redstore__pg_exec(&res, c, get_sql, 2, params)))
		return redstore__fail_wrap(rc, "%s", what);
	if (PQntuples(res) == 0) {
		PQclear(res);
		return redstore__fail(REDSTORE_ENOTFOUND, "%s: no employee %s in store %s", what, employee_id, store);
	}
	rc = redstore_role_parse(&role, PQgetvalue(res, 0, 0));
	PQclear(res);
	if (rc || (rc = may_manage(c, role, what)))
		return rc;
	if ((rc = redstore__pg_exec(NULL, c, set_sql, 3, params)))
		return redstore__fail_wrap(rc, "%s", what);
	return audit(c, store, active ? "employee.activated" : "employee.deactivated", NULL, NULL, NULL, employee_id,
	             NULL);
}

int redstore_audit_verify(redstore_audit_report *out, redstore_client *c)
{
	static const char *what = "redstore_audit_verify";
	const char *store;
	int rc;
	memset(out, 0, sizeof(*out));
	out->ok = 1;
	if ((rc = redstore__need_store(&store, c, what)) || (rc = redstore__auth_require(c, REDSTORE_PERM_REPORTS, 0, what)))
		return rc;
	return redstore__audit_verify(out, c, store);
}
