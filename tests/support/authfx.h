/* The store, terminal and employees that check_auth and check_audit start from (header-only). */
#ifndef REDSTORE_TEST_AUTHFX_H
#define REDSTORE_TEST_AUTHFX_H

#include "security/security_int.h"
#include "testutil.h"

#include <stdlib.h>

#define SECRET "test-secret-0123456789-abcdefghijklmnop"

/* A configuration with a session secret, the cheapest argon2id limits (valgrind) and short lockouts. */
static inline redstore_config *auth_config(void)
{
	redstore_config *cfg = rs_test_config();
	RS_OK(redstore_config_set(cfg, "auth.secret", SECRET));
	RS_OK(redstore_config_set(cfg, "auth.pin_opslimit", "1"));
	RS_OK(redstore_config_set(cfg, "auth.pin_memlimit_kib", "8"));
	RS_OK(redstore_config_set(cfg, "auth.lockout_threshold", "2"));
	RS_OK(redstore_config_set(cfg, "auth.lockout_base_ms", "400"));
	RS_OK(redstore_config_set(cfg, "auth.lockout_max_ms", "5000"));
	RS_OK(redstore_config_set(cfg, "auth.supervisor_refund_limit", "1500"));
	return cfg;
}

static inline redstore_client *auth_client(void)
{
	redstore_config *cfg = auth_config();
	redstore_client *c;
	RS_OK(redstore_client_new(&c, cfg));
	redstore_config_free(cfg);
	return c;
}

/* A store with a paired terminal and four employees: cash1 (1111), sup1 (2222), man1 (3333), adm1 (4444). */
typedef struct fx {
	redstore_client *svc;   /* the service: no session */
	char store[65];
	char device[REDSTORE_DEVICE_TOKEN_SIZE];
	char terminal[REDSTORE_ID_SIZE];
} fx;

static inline void fx_setup(fx *f, const char *prefix)
{
	char code[REDSTORE_PAIRING_CODE_SIZE];
	f->svc = auth_client();
	RS_OK(redstore_db_migrate(f->svc, NULL));
	rs_test_store(f->svc, prefix, f->store, 0);
	RS_OK(redstore_auth_employee_add(f->svc, "cash1", "Casey", REDSTORE_ROLE_CASHIER, "1111"));
	RS_OK(redstore_auth_employee_add(f->svc, "sup1", "Sam", REDSTORE_ROLE_SUPERVISOR, "2222"));
	RS_OK(redstore_auth_employee_add(f->svc, "man1", "Morgan", REDSTORE_ROLE_MANAGER, "3333"));
	RS_OK(redstore_auth_employee_add(f->svc, "adm1", "Alex", REDSTORE_ROLE_ADMIN, "4444"));
	RS_OK(redstore_auth_pairing_code_new(code, f->svc, "till 1"));
	RS_OK(redstore_auth_pair(f->device, f->terminal, f->svc, code));
}

static inline void fx_teardown(fx *f)
{
	redstore_client_free(f->svc);
}

/* A new client with `employee` logged in on the fixture's terminal. */
static inline redstore_client *session_client(fx *f, const char *employee, const char *pin)
{
	redstore_client *c = auth_client();
	char *token;
	RS_OK(redstore_auth_login(&token, f->svc, f->device, employee, pin));
	RS_OK(redstore_auth_attach(c, token));
	redstore_free(token);
	return c;
}

static inline long long sql_count(redstore_client *c, const char *sql, const char *p1, const char *p2)
{
	const char *params[2] = { p1, p2 };
	PGresult *res;
	long long n;
	RS_OK(redstore__pg_exec(&res, c, sql, p2 ? 2 : p1 ? 1 : 0, params));
	n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return n;
}

/* A token with any fields, signed with `secret` the way the library signs. */

#endif
