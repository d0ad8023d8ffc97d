/*
 * bench/auth: what security costs, against the dev stack.
 *
 *  - PIN login (redstore_auth_login) with the production argon2id limits (auth.pin_opslimit 2,
 *    auth.pin_memlimit_kib 65536), and its ceiling: crypto_pwhash_str_verify alone on the same hash.
 *    The ratio (argon2 / login) is the share of a login spent in the deliberate slow hash.
 *  - the check every privileged call makes on an attached session (signature + expiry + role).
 *  - audit appends per second into one store's chain (serialized by design) from 1 and 4 threads.
 *
 * Each figure is the median of 3 runs. Needs the REDSTORE_* environment of a dev stack.
 * Last line: RESULT auth login_ms=<n> argon2_ms=<n> ratio=<x> require_us=<n> audit_per_s=<1 thread>
 *            audit4_per_s=<4 threads>
 */
#include "security/security_int.h"
#include "common.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define SECRET "bench-secret-0123456789-0123456789-abcdef"

static char store[65];

static redstore_client *client(void)
{
	redstore_config *cfg;
	redstore_client *c;
	bench_check(redstore_config_new(&cfg), "config");
	bench_check(redstore_config_load_env(cfg), "environment");
	bench_check(redstore_config_set(cfg, "auth.secret", SECRET), "auth.secret");
	bench_check(redstore_client_new(&c, cfg), "client");
	redstore_config_free(cfg);
	return c;
}

typedef struct appender {
	int n;
} appender;

static void *append(void *arg)
{
	appender *a = arg;
	redstore_client *c = client();
	bench_check(redstore_client_use_store(c, store), "store");
	for (int i = 0; i < a->n; i++)
		bench_check(redstore__audit_append(c, store, "bench.append", "b", "", NULL, "x", NULL), "audit append");
	redstore_client_free(c);
	return NULL;
}

static double audit_rate(int threads, int per_thread)
{
	pthread_t th[16];
	appender a[16];
	int64_t t0 = bench_now_us();
	for (int i = 0; i < threads; i++) {
		a[i].n = per_thread;
		pthread_create(&th[i], NULL, append, &a[i]);
	}
	for (int i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	return (double)threads * per_thread * 1e6 / (double)(bench_now_us() - t0);
}

int main(void)
{
	redstore_client *c = client(), *s;
	redstore_store_info info = { NULL, "Bench", "EUR", "UTC", 1 };
	char code[REDSTORE_PAIRING_CODE_SIZE], device[REDSTORE_DEVICE_TOKEN_SIZE], terminal[REDSTORE_ID_SIZE];
	char *token, hash[crypto_pwhash_STRBYTES];
	double login[3], argon[3], req[3], audit1[3], audit4[3];
	redstore_audit_report rep;
	PGresult *res;
	const char *params[1];
	const int logins = 10, requires = 200000;

	bench_print_machine();
	if (sodium_init() < 0)
		return 1;
	snprintf(store, sizeof(store), "bench-auth-%lld", (long long)bench_now_us());
	info.store_id = store;
	bench_check(redstore_db_migrate(c, NULL), "migrate");
	bench_check(redstore_store_create(c, &info), "store");
	bench_check(redstore_client_use_store(c, store), "store");
	bench_check(redstore_auth_employee_add(c, "m1", "Manager", REDSTORE_ROLE_MANAGER, "482913"), "employee");
	bench_check(redstore_auth_pairing_code_new(code, c, "bench till"), "pairing code");
	bench_check(redstore_auth_pair(device, terminal, c, code), "pair");
	params[0] = store;
	bench_check(redstore__pg_exec(&res, c, "SELECT pin_hash FROM employees WHERE store_id = $1", 1, params), "hash");
	snprintf(hash, sizeof(hash), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	for (int r = 0; r < 3; r++) {
		int64_t t0 = bench_now_us();
		for (int i = 0; i < logins; i++) {
			bench_check(redstore_auth_login(&token, c, device, "m1", "482913"), "login");
			redstore_free(token);
		}
		login[r] = (double)(bench_now_us() - t0) / logins / 1000.0;
		t0 = bench_now_us();
		for (int i = 0; i < logins; i++)
			if (crypto_pwhash_str_verify(hash, "482913", 6) != 0)
				return 1;
		argon[r] = (double)(bench_now_us() - t0) / logins / 1000.0;
		printf("run %d: login %.1f ms, argon2id verify alone %.1f ms\n", r + 1, login[r], argon[r]);
	}
	bench_check(redstore_auth_login(&token, c, device, "m1", "482913"), "login");
	s = client();
	bench_check(redstore_auth_attach(s, token), "attach");
	redstore_free(token);
	for (int r = 0; r < 3; r++) {
		int64_t t0 = bench_now_us();
		for (int i = 0; i < requires; i++)
			bench_check(redstore_auth_require(s, REDSTORE_PERM_STOCK, 0), "require");
		req[r] = (double)(bench_now_us() - t0) / requires;
		printf("run %d: session check %.2f us\n", r + 1, req[r]);
	}
	redstore_client_free(s);
	for (int r = 0; r < 3; r++) {
		audit1[r] = audit_rate(1, 300);
		audit4[r] = audit_rate(4, 150);
		printf("run %d: audit appends, one store: %.0f/s (1 thread), %.0f/s (4 threads)\n", r + 1, audit1[r],
		       audit4[r]);
	}
	bench_check(redstore_audit_verify(&rep, c), "verify");
	printf("audit chain after the runs: %s, %lld entries\n", rep.ok ? "intact" : rep.problem, (long long)rep.entries);
	{
		double lm = bench_median(login, 3), am = bench_median(argon, 3), rm = bench_median(req, 3);
		double a1 = bench_median(audit1, 3), a4 = bench_median(audit4, 3);
		printf("summary (median of 3): login %.1f ms, argon2id ceiling %.1f ms, session check %.2f us, audit %.0f/s"
		       " (1 thread) %.0f/s (4 threads)\n", lm, am, rm, a1, a4);
		printf("RESULT auth login_ms=%.1f argon2_ms=%.1f ratio=%.3f require_us=%.2f audit_per_s=%.0f audit4_per_s=%.0f\n",
		       lm, am, am / lm, rm, a1, a4);
	}
	redstore_client_free(c);
	return rep.ok ? 0 : 1;
}
