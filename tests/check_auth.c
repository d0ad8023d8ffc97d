/* Security against the real engines: pairing, device and session tokens, PIN lockout, roles and the
 * manager override, store isolation (library, PostgreSQL row-level security, Redis ACL). The audit chain
 * has its own suite, check_audit. */
#include "authfx.h"

#include <ctype.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

static char *craft_token(const char *secret, const char *store, const char *employee, const char *terminal,
                         const char *role, long long exp_ms)
{
	char payload[400], hex[65], *tok;
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;
	int n = snprintf(payload, sizeof(payload), "v1|%s|%s|%s|%s|%lld|00112233445566778899aabb", store, employee,
	                 terminal, role, exp_ms);
	ck_assert_int_ge(sodium_init(), 0);
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)payload, (size_t)n);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
	tok = malloc((size_t)n + 66);
	sprintf(tok, "%s.%s", payload, hex);
	return tok;
}

/* ------------------------------------------------------------ terminals and tokens */

START_TEST(auth_pairing_code_works_once_and_only_the_token_hash_is_stored)
{
	fx f;
	char code[REDSTORE_PAIRING_CODE_SIZE], tok[REDSTORE_DEVICE_TOKEN_SIZE], id[REDSTORE_ID_SIZE];
	char lower[REDSTORE_PAIRING_CODE_SIZE];
	redstore_terminal_info *list;
	size_t n;
	fx_setup(&f, "pair");
	RS_OK(redstore_auth_pairing_code_new(code, f.svc, "till 2"));
	ck_assert_int_eq(strlen(code), 9);
	ck_assert_int_eq(code[4], '-');
	/* Typed in lower case: still the code. */
	for (size_t i = 0; i < sizeof(code); i++)
		lower[i] = (char)tolower((unsigned char)code[i]);
	RS_OK(redstore_auth_pair(tok, id, f.svc, lower));
	ck_assert_int_eq(strncmp(tok, "rsd_", 4), 0);
	ck_assert_int_eq(strlen(tok), 68);
	{
		char tok2[REDSTORE_DEVICE_TOKEN_SIZE], id2[REDSTORE_ID_SIZE];
		RS_FAILS(REDSTORE_EAUTH, redstore_auth_pair(tok2, id2, f.svc, code));
		ck_assert_str_eq(tok2, "");
		RS_FAILS(REDSTORE_EINVALID, redstore_auth_pair(tok2, id2, f.svc, "nope"));
	}
	/* Neither the token nor the code is in the database; the hash is. */
	ck_assert_int_eq(sql_count(f.svc, "SELECT count(*) FROM terminals WHERE store_id = $1 AND octet_length(token_hash) = 32",
	                           f.store, NULL), 2);
	ck_assert_int_eq(sql_count(f.svc, "SELECT count(*) FROM terminals WHERE position(convert_to($1, 'UTF8') IN token_hash) > 0",
	                           f.device, NULL), 0);
	RS_OK(redstore_auth_terminal_list(&list, &n, f.svc));
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(list[0].name, "till 1");
	ck_assert_str_eq(list[1].terminal_id, id);
	redstore_free(list);
	fx_teardown(&f);
}
END_TEST

typedef struct pairer {
	const char *code;
	int rc;
} pairer;

static void *pair_once(void *arg)
{
	pairer *p = arg;
	redstore_client *c = auth_client();
	char tok[REDSTORE_DEVICE_TOKEN_SIZE], id[REDSTORE_ID_SIZE];
	p->rc = redstore_auth_pair(tok, id, c, p->code);
	redstore_client_free(c);
	return NULL;
}

START_TEST(auth_pairing_code_redeemed_concurrently_pairs_one_terminal)
{
	fx f;
	char code[REDSTORE_PAIRING_CODE_SIZE];
	pthread_t th[4];
	pairer p[4];
	int ok = 0;
	fx_setup(&f, "pairrace");
	RS_OK(redstore_auth_pairing_code_new(code, f.svc, "till race"));
	for (int i = 0; i < 4; i++) {
		p[i].code = code;
		ck_assert_int_eq(pthread_create(&th[i], NULL, pair_once, &p[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		ck_assert_msg(p[i].rc == 0 || p[i].rc == REDSTORE_EAUTH, "pairer %d: %s", i, redstore_err_name(p[i].rc));
		ok += p[i].rc == 0;
	}
	ck_assert_int_eq(ok, 1);
	ck_assert_int_eq(sql_count(f.svc, "SELECT count(*) FROM terminals WHERE store_id = $1 AND name = 'till race'",
	                           f.store, NULL), 1);
	fx_teardown(&f);
}
END_TEST

START_TEST(auth_expired_pairing_code_is_rejected)
{
	fx f;
	char code[REDSTORE_PAIRING_CODE_SIZE], tok[REDSTORE_DEVICE_TOKEN_SIZE], id[REDSTORE_ID_SIZE];
	fx_setup(&f, "pairexp");
	RS_OK(redstore_auth_pairing_code_new(code, f.svc, "till 3"));
	ck_assert_int_eq(sql_count(f.svc, "WITH u AS (UPDATE pairing_codes SET expires_at = now() - interval '1 second'"
	                                  " WHERE store_id = $1 AND used_at IS NULL RETURNING 1) SELECT count(*) FROM u",
	                           f.store, NULL), 1);
	RS_FAILS(REDSTORE_EAUTH, redstore_auth_pair(tok, id, f.svc, code));
	fx_teardown(&f);
}
END_TEST

START_TEST(auth_forged_tokens_are_rejected)
{
	fx f;
	redstore_client *c = auth_client(), *other;
	redstore_config *cfg;
	char *token, *forged;
	fx_setup(&f, "forge");
	RS_OK(redstore_auth_login(&token, f.svc, f.device, "cash1", "1111"));
	RS_OK(redstore_auth_attach(c, token));
	/* Promote oneself: the signature no longer matches. */
	forged = redstore__strdup(token);
	memcpy(strstr(forged, "|cashier|"), "|manager|", 9);
	RS_FAILS(REDSTORE_EAUTH, redstore_auth_attach(c, forged));
	ck_assert_ptr_null(strstr(redstore_error_last(), "manager")); /* the message never echoes the token */
	/* The right shape, signed with another secret. */
	free(forged);
	forged = craft_token("another-secret-0123456789-0123456789", f.store, "cash1", f.terminal, "admin",
	                     (long long)redstore__wall_ms() + 60000);
	RS_FAILS(REDSTORE_EAUTH, redstore_auth_attach(c, forged));
	/* A flipped signature digit, a truncated token, garbage, NULL. */
	free(forged);
	forged = redstore__strdup(token);
	forged[strlen(forged) - 1] = forged[strlen(forged) - 1] == '0' ? '1' : '0';
	RS_FAILS(REDSTORE_EAUTH, redstore_auth_attach(c, forged));
	forged[strlen(forged) - 10] = '\0';
	RS_FAILS(REDSTORE_EAUTH, redstore_auth_attach(c, forged));
	RS_FAILS(REDSTORE_EAUTH, redstore_auth_attach(c, "v1|x.y"));
	RS_FAILS(REDSTORE_EAUTH, redstore_auth_attach(c, NULL));
	/* A failed attach leaves the client without a session: the service again. */
	RS_FAILS(REDSTORE_ENOTFOUND, redstore_auth_session(&(redstore_session_info){ 0 }, c));
	/* A process with another secret refuses a genuine token. */
	cfg = auth_config();
	RS_OK(redstore_config_set(cfg, "auth.secret", "a-different-server-secret-0123456789abcdef"));
	RS_OK(redstore_client_new(&other, cfg));
	RS_FAILS(REDSTORE_EAUTH, redstore_auth_attach(other, token));
	/* A device token that was never issued. */
	redstore_free(token);
	RS_FAILS(REDSTORE_EAUTH, redstore_auth_login(&token, f.svc,
	                                              "rsd_00000000000000000000000000000000000000000000000000000000000000ff",
	                                              "cash1", "1111"));
	free(forged);
	redstore_config_free(cfg);
	redstore_client_free(other);
	redstore_client_free(c);
	fx_teardown(&f);
}
END_TEST

START_TEST(auth_expired_tokens_are_rejected_on_attach_and_on_every_use)
{
	fx f;
	redstore_client *c = auth_client();
	redstore_session_info info;
	char *tok;
	int64_t deadline;
	int rc;
	fx_setup(&f, "expire");
	tok = craft_token(SECRET, f.store, "man1", f.terminal, "manager", (long long)redstore__wall_ms() - 1);
	RS_FAILS(REDSTORE_EAUTH, redstore_auth_attach(c, tok));
	ck_assert_ptr_nonnull(strstr(redstore_error_last(), "expired"));
	free(tok);
	/* Valid for 1.5 s: accepted, then refused by the very next check once it expires. */
	tok = craft_token(SECRET, f.store, "man1", f.terminal, "manager", (long long)redstore__wall_ms() + 1500);
	RS_OK(redstore_auth_attach(c, tok));
	RS_OK(redstore_auth_require(c, REDSTORE_PERM_STOCK, 0));
	RS_OK(redstore_auth_session(&info, c));
	ck_assert_str_eq(info.employee_id, "man1");
	deadline = redstore__wall_ms() + 10000;
	while ((rc = redstore_auth_require(c, REDSTORE_PERM_STOCK, 0)) == 0 && redstore__wall_ms() < deadline)
		;
	ck_assert_int_eq(rc, REDSTORE_EAUTH);
	ck_assert_int_ge(redstore__wall_ms(), info.expires_at_ms);
	free(tok);
	redstore_client_free(c);
	fx_teardown(&f);
}
END_TEST

START_TEST(auth_revoked_terminal_cannot_log_in_or_attach)
{
	fx f;
	redstore_client *c = auth_client(), *cash;
	char *token;
	fx_setup(&f, "revoke");
	RS_OK(redstore_auth_login(&token, f.svc, f.device, "cash1", "1111"));
	/* A cashier may not revoke; an admin may. */
	cash = session_client(&f, "cash1", "1111");
	RS_FAILS(REDSTORE_EPERM, redstore_auth_terminal_revoke(cash, f.terminal));
	redstore_client_free(cash);
	RS_OK(redstore_auth_terminal_revoke(f.svc, f.terminal));
	RS_FAILS(REDSTORE_ENOTFOUND, redstore_auth_terminal_revoke(f.svc, f.terminal));
	RS_FAILS(REDSTORE_EAUTH, redstore_auth_attach(c, token));
	redstore_free(token);
	RS_FAILS(REDSTORE_EAUTH, redstore_auth_login(&token, f.svc, f.device, "cash1", "1111"));
	ck_assert_ptr_null(token);
	redstore_client_free(c);
	fx_teardown(&f);
}
END_TEST

START_TEST(auth_role_change_ends_sessions_with_the_old_role)
{
	fx f;
	redstore_client *c = auth_client(), *man;
	char *token;
	fx_setup(&f, "rolechg");
	RS_OK(redstore_auth_login(&token, f.svc, f.device, "sup1", "2222"));
	man = session_client(&f, "man1", "3333");
	/* A manager may demote a supervisor, not promote anyone to manager. */
	RS_FAILS(REDSTORE_EPERM, redstore_auth_employee_set_role(man, "sup1", REDSTORE_ROLE_MANAGER));
	RS_OK(redstore_auth_employee_set_role(man, "sup1", REDSTORE_ROLE_CASHIER));
	RS_FAILS(REDSTORE_EAUTH, redstore_auth_attach(c, token));
	ck_assert_int_eq(sql_count(f.svc, "SELECT count(*) FROM audit_log WHERE store_id = $1 AND action = 'employee.role_changed'"
	                                  " AND employee_id = 'man1' AND subject = 'sup1'",
	                           f.store, NULL), 1);
	redstore_free(token);
	redstore_client_free(man);
	redstore_client_free(c);
	fx_teardown(&f);
}
END_TEST

/* ------------------------------------------------------------ roles and overrides */

/* Sells `qty` units at 1000 each with the given client and returns the sale id (37 bytes). */
static void sell(redstore_client *c, const char *sku, int64_t qty, char *sale_id)
{
	redstore_sale *s;
	redstore_receipt *r;
	RS_OK(redstore_sale_new(&s, NULL));
	RS_OK(redstore_sale_add_line(s, sku, qty, NULL));
	RS_OK(redstore_sale_add_tender(s, REDSTORE_TENDER_CASH, 1000 * qty, NULL));
	RS_OK(redstore_sale_commit(&r, c, s));
	snprintf(sale_id, REDSTORE_ID_SIZE, "%s", r->sale_id);
	redstore_receipt_free(r);
	redstore_sale_free(s);
}

START_TEST(auth_cashier_refund_needs_a_supervisor_override)
{
	fx f;
	redstore_client *cash;
	redstore_receipt *r = NULL;
	redstore_refund_line one = { 0, 1 };
	char sale[REDSTORE_ID_SIZE];
	fx_setup(&f, "override");
	rs_test_product(f.svc, "MUG", 1000, "standard", REDSTORE_STOCK_DENY, 10);
	cash = session_client(&f, "cash1", "1111");
	sell(cash, "MUG", 3, sale);
	/* Without an override: refused before anything changes. */
	RS_FAILS(REDSTORE_EPERM, redstore_sale_refund(&r, cash, NULL, sale, 1, &one, 1, REDSTORE_TENDER_CASH, NULL));
	ck_assert_ptr_nonnull(strstr(redstore_error_last(), "refund"));
	ck_assert_int_eq(rs_test_available(f.svc, "MUG"), 7);
	RS_FAILS(REDSTORE_EPERM, redstore_sale_void(&r, cash, NULL, sale, "customer changed mind"));
	/* Approving oneself, a wrong PIN, a cashier approver: all refused. */
	RS_FAILS(REDSTORE_EPERM, redstore_auth_override(cash, REDSTORE_PERM_REFUND, "cash1", "1111"));
	RS_FAILS(REDSTORE_EAUTH, redstore_auth_override(cash, REDSTORE_PERM_REFUND, "sup1", "9999"));
	RS_OK(redstore_auth_employee_add(f.svc, "cash2", "Chris", REDSTORE_ROLE_CASHIER, "5555"));
	RS_FAILS(REDSTORE_EPERM, redstore_auth_override(cash, REDSTORE_PERM_REFUND, "cash2", "5555"));
	/* The supervisor approves one refund. */
	RS_OK(redstore_auth_override(cash, REDSTORE_PERM_REFUND, "sup1", "2222"));
	RS_OK(redstore_sale_refund(&r, cash, NULL, sale, 1, &one, 1, REDSTORE_TENDER_CASH, NULL));
	ck_assert_int_eq(r->total, 1000);
	ck_assert_str_eq(r->employee_id, "cash1");
	ck_assert_int_eq(rs_test_available(f.svc, "MUG"), 8);
	ck_assert_int_eq(sql_count(f.svc, "SELECT count(*) FROM audit_log WHERE store_id = $1 AND action = 'sale.refunded'"
	                                  " AND employee_id = 'cash1' AND approved_by = 'sup1' AND subject = $2",
	                           f.store, r->sale_id), 1);
	ck_assert_int_eq(sql_count(f.svc, "SELECT count(*) FROM audit_log WHERE store_id = $1 AND action = 'auth.override'"
	                                  " AND approved_by = 'sup1' AND subject = 'refund'",
	                           f.store, NULL), 1);
	redstore_receipt_free(r);
	/* One action only: the next refund needs a new approval. */
	RS_FAILS(REDSTORE_EPERM, redstore_sale_refund(&r, cash, NULL, sale, 1, &one, 1, REDSTORE_TENDER_CASH, NULL));
	redstore_client_free(cash);
	fx_teardown(&f);
}
END_TEST

START_TEST(auth_supervisor_refund_limit_applies_and_manager_has_none)
{
	fx f;
	redstore_client *sup, *man;
	redstore_receipt *r = NULL;
	redstore_refund_line one = { 0, 1 }, two = { 0, 2 };
	char sale[REDSTORE_ID_SIZE];
	fx_setup(&f, "limit");
	rs_test_product(f.svc, "LAMP", 1000, "standard", REDSTORE_STOCK_DENY, 10);
	sup = session_client(&f, "sup1", "2222");
	sell(sup, "LAMP", 4, sale);
	/* Limit 1500: one unit (1000) yes, two (2000) no. */
	RS_FAILS(REDSTORE_EPERM, redstore_sale_refund(&r, sup, NULL, sale, 1, &two, 1, REDSTORE_TENDER_CASH, NULL));
	ck_assert_ptr_nonnull(strstr(redstore_error_last(), "limit"));
	RS_OK(redstore_sale_refund(&r, sup, NULL, sale, 1, &one, 1, REDSTORE_TENDER_CASH, NULL));
	redstore_receipt_free(r);
	man = session_client(&f, "man1", "3333");
	RS_OK(redstore_sale_refund(&r, man, NULL, sale, 1, &two, 1, REDSTORE_TENDER_CASH, NULL));
	ck_assert_int_eq(r->total, 2000);
	redstore_receipt_free(r);
	redstore_client_free(man);
	redstore_client_free(sup);
	fx_teardown(&f);
}
END_TEST

START_TEST(auth_stock_and_price_changes_need_a_manager)
{
	fx f;
	redstore_client *cash, *man;
	redstore_stock_result *res = NULL;
	redstore_product p;
	fx_setup(&f, "stockperm");
	rs_test_product(f.svc, "PEN", 250, "standard", REDSTORE_STOCK_DENY, 5);
	memset(&p, 0, sizeof(p));
	p.sku = "PEN";
	p.name = "Pen";
	p.price = 1;
	p.tax_class = "standard";
	p.active = 1;
	cash = session_client(&f, "cash1", "1111");
	RS_FAILS(REDSTORE_EPERM, redstore_stock_adjust(&res, cash, NULL, "PEN", -5, REDSTORE_ADJUST_THEFT, NULL));
	RS_FAILS(REDSTORE_EPERM, redstore_product_update(cash, &p));
	ck_assert_int_eq(rs_test_available(f.svc, "PEN"), 5);
	man = session_client(&f, "man1", "3333");
	RS_OK(redstore_stock_adjust(&res, man, NULL, "PEN", -1, REDSTORE_ADJUST_DAMAGE, NULL));
	redstore_stock_result_free(res);
	RS_OK(redstore_product_update(man, &p));
	ck_assert_int_eq(sql_count(f.svc, "SELECT count(*) FROM audit_log WHERE store_id = $1 AND employee_id = 'man1'"
	                                  " AND action IN ('inventory.adjusted', 'product.updated')",
	                           f.store, NULL), 2);
	ck_assert_int_eq(sql_count(f.svc, "SELECT count(*) FROM audit_log WHERE store_id = $1 AND action = 'product.updated'"
	                                  " AND details::jsonb ->> 'price' = '1'",
	                           f.store, NULL), 1);
	redstore_client_free(man);
	redstore_client_free(cash);
	fx_teardown(&f);
}
END_TEST

START_TEST(auth_cashier_discount_is_a_price_override)
{
	fx f;
	redstore_client *cash;
	redstore_sale *s;
	redstore_receipt *r = NULL;
	fx_setup(&f, "discount");
	rs_test_product(f.svc, "TEA", 1000, "standard", REDSTORE_STOCK_DENY, 10);
	cash = session_client(&f, "cash1", "1111");
	RS_OK(redstore_sale_new(&s, NULL));
	RS_OK(redstore_sale_add_line(s, "TEA", 1, NULL));
	RS_OK(redstore_sale_line_discount_percent(s, 0, 5000));
	RS_OK(redstore_sale_add_tender(s, REDSTORE_TENDER_CASH, 500, NULL));
	RS_FAILS(REDSTORE_EPERM, redstore_sale_commit(&r, cash, s));
	ck_assert_int_eq(rs_test_available(f.svc, "TEA"), 10);
	/* The actor cannot be changed under a session either. */
	RS_FAILS(REDSTORE_EPERM, redstore_client_set_actor(cash, "t", "man1"));
	RS_OK(redstore_auth_override(cash, REDSTORE_PERM_PRICE_OVERRIDE, "sup1", "2222"));
	RS_OK(redstore_sale_commit(&r, cash, s));
	ck_assert_int_eq(r->total, 500);
	ck_assert_int_eq(rs_test_available(f.svc, "TEA"), 9);
	ck_assert_int_eq(sql_count(f.svc, "SELECT count(*) FROM audit_log WHERE store_id = $1 AND action = 'sale.price_override'"
	                                  " AND approved_by = 'sup1' AND subject = $2",
	                           f.store, r->sale_id), 1);
	redstore_receipt_free(r);
	redstore_sale_free(s);
	redstore_client_free(cash);
	fx_teardown(&f);
}
END_TEST

START_TEST(auth_deactivated_employee_cannot_log_in_or_attach)
{
	fx f;
	redstore_client *c = auth_client(), *man;
	char *token, *again = NULL;
	fx_setup(&f, "deact");
	RS_OK(redstore_auth_login(&token, f.svc, f.device, "cash1", "1111"));
	man = session_client(&f, "man1", "3333");
	RS_FAILS(REDSTORE_EPERM, redstore_auth_employee_set_active(man, "adm1", 0));
	RS_OK(redstore_auth_employee_set_active(man, "cash1", 0));
	RS_FAILS(REDSTORE_EINACTIVE, redstore_auth_attach(c, token));
	RS_FAILS(REDSTORE_EINACTIVE, redstore_auth_login(&again, f.svc, f.device, "cash1", "1111"));
	RS_OK(redstore_auth_employee_set_active(man, "cash1", 1));
	RS_OK(redstore_auth_attach(c, token));
	redstore_free(token);
	redstore_client_free(man);
	redstore_client_free(c);
	fx_teardown(&f);
}
END_TEST

/* ------------------------------------------------------------ isolation */

START_TEST(auth_session_is_bound_to_its_store_in_the_library)
{
	fx a, b;
	redstore_client *c;
	redstore_session_info info;
	char *token;
	fx_setup(&a, "bindA");
	fx_setup(&b, "bindB");
	/* An employee of store B cannot log in on store A's terminal. */
	RS_FAILS(REDSTORE_EAUTH, redstore_auth_login(&token, a.svc, a.device, "nobody-here", "1111"));
	c = session_client(&a, "man1", "3333");
	RS_OK(redstore_auth_session(&info, c));
	ck_assert_str_eq(info.store_id, a.store);
	ck_assert_str_eq(redstore_client_store(c), a.store);
	RS_FAILS(REDSTORE_EPERM, redstore_client_use_store(c, b.store));
	ck_assert_str_eq(redstore_client_store(c), a.store);
	RS_OK(redstore_client_use_store(c, a.store));
	/* A token that names store B but signed for nothing in B: the terminal is A's, so attach fails. */
	token = craft_token(SECRET, b.store, "man1", a.terminal, "manager", (long long)redstore__wall_ms() + 60000);
	RS_FAILS(REDSTORE_EAUTH, redstore_auth_attach(c, token));
	free(token);
	redstore_client_free(c);
	fx_teardown(&b);
	fx_teardown(&a);
}
END_TEST

START_TEST(auth_rls_store_a_session_reads_and_writes_nothing_of_store_b)
{
	fx a, b;
	redstore_client *c;
	const char *p[2];
	PGresult *res;
	fx_setup(&a, "rlsA");
	fx_setup(&b, "rlsB");
	rs_test_product(a.svc, "A-ONLY", 100, "standard", REDSTORE_STOCK_DENY, 0);
	rs_test_product(b.svc, "B-ONLY", 100, "standard", REDSTORE_STOCK_DENY, 0);
	/* History rows of both stores, written by the service (the projector's role). */
	p[0] = a.store;
	p[1] = b.store;
	RS_OK(redstore__pg_exec(NULL, a.svc, "INSERT INTO stock_ledger (store_id, event_id, event_type, sku, delta, occurred_at)"
	                                     " VALUES ($1, gen_random_uuid(), 't', 'x', 1, now()),"
	                                     " ($2, gen_random_uuid(), 't', 'x', 1, now())", 2, p));
	c = session_client(&a, "man1", "3333");
	/* The session's connection runs as redstore_store for store A. */
	RS_OK(redstore__pg_exec(&res, c, "SELECT current_user, current_setting('redstore.store_id', true)", 0, NULL));
	ck_assert_str_eq(PQgetvalue(res, 0, 0), "redstore_store");
	ck_assert_str_eq(PQgetvalue(res, 0, 1), a.store);
	PQclear(res);
	/* Reads: nothing of B, even when asked by name. */
	ck_assert_int_eq(sql_count(c, "SELECT count(*) FROM products WHERE store_id = $1", b.store, NULL), 0);
	ck_assert_int_eq(sql_count(c, "SELECT count(*) FROM products WHERE store_id = $1", a.store, NULL), 1);
	ck_assert_int_eq(sql_count(c, "SELECT count(DISTINCT store_id) FROM products", NULL, NULL), 1);
	ck_assert_int_eq(sql_count(c, "SELECT count(*) FROM stores WHERE store_id = $1", b.store, NULL), 0);
	ck_assert_int_eq(sql_count(c, "SELECT count(*) FROM employees WHERE store_id = $1", b.store, NULL), 0);
	ck_assert_int_eq(sql_count(c, "SELECT count(*) FROM terminals WHERE store_id = $1", b.store, NULL), 0);
	ck_assert_int_eq(sql_count(c, "SELECT count(*) FROM audit_log WHERE store_id = $1", b.store, NULL), 0);
	ck_assert_int_eq(sql_count(c, "SELECT count(*) FROM stock_ledger WHERE store_id = $1", b.store, NULL), 0);
	ck_assert_int_eq(sql_count(c, "SELECT count(*) FROM stock_ledger WHERE store_id = $1", a.store, NULL), 1);
	/* Writes: B's rows are invisible to UPDATE and DELETE; an INSERT for B violates the policy. */
	ck_assert_int_eq(sql_count(c, "WITH u AS (UPDATE products SET name = 'pwned' WHERE store_id = $1 RETURNING 1)"
	                              " SELECT count(*) FROM u", b.store, NULL), 0);
	ck_assert_int_eq(sql_count(c, "WITH d AS (DELETE FROM products WHERE store_id = $1 RETURNING 1)"
	                              " SELECT count(*) FROM d", b.store, NULL), 0);
	ck_assert_int_eq(sql_count(c, "WITH u AS (UPDATE employees SET role = 'admin' WHERE store_id = $1 RETURNING 1)"
	                              " SELECT count(*) FROM u", b.store, NULL), 0);
	p[0] = b.store;
	RS_FAILS(REDSTORE_EPERM, redstore__pg_exec(NULL, c, "INSERT INTO products (store_id, sku, name, price, currency)"
	                                                    " VALUES ($1, 'EVIL', 'evil', 1, 'EUR')", 1, p));
	RS_FAILS(REDSTORE_EPERM, redstore__pg_exec(NULL, c, "INSERT INTO stock_ledger (store_id, event_id, event_type, sku,"
	                                                    " delta, occurred_at) VALUES ($1, gen_random_uuid(), 't', 'x', 1,"
	                                                    " now())", 1, p));
	/* Moving a row of A into B is refused too (WITH CHECK). */
	p[0] = a.store;
	p[1] = b.store;
	RS_FAILS(REDSTORE_EPERM, redstore__pg_exec(NULL, c, "UPDATE products SET store_id = $2 WHERE store_id = $1", 2, p));
	/* Partitions cannot be reached around the parent's policies; neither can the audit log be edited. */
	RS_FAILS(REDSTORE_EPERM, redstore__pg_exec(NULL, c, "SELECT count(*) FROM sales_default", 0, NULL));
	RS_FAILS(REDSTORE_EPERM, redstore__pg_exec(NULL, c, "DELETE FROM audit_log", 0, NULL));
	RS_FAILS(REDSTORE_EPERM, redstore__pg_exec(NULL, c, "DELETE FROM stock_ledger", 0, NULL));
	/* Store B is untouched. */
	ck_assert_int_eq(sql_count(b.svc, "SELECT count(*) FROM products WHERE store_id = $1 AND name = 'B-ONLY'", b.store,
	                           NULL), 1);
	ck_assert_int_eq(sql_count(b.svc, "SELECT count(*) FROM products WHERE sku = 'EVIL'", NULL, NULL), 0);
	/* Detached, the client is the service again. */
	redstore_auth_detach(c);
	ck_assert_int_eq(sql_count(c, "SELECT count(*) FROM products WHERE store_id = $1", b.store, NULL), 1);
	redstore_client_free(c);
	fx_teardown(&b);
	fx_teardown(&a);
}
END_TEST

START_TEST(auth_every_store_table_has_forced_rls_and_no_partition_is_reachable)
{
	redstore_client *c = auth_client();
	PGresult *res;
	RS_OK(redstore_db_migrate(c, NULL));
	/* Every table with a store_id (partitions aside): RLS enabled and forced, both policies. */
	RS_OK(redstore__pg_exec(&res, c,
	                        "SELECT string_agg(c.relname, ', ') FROM pg_class c"
	                        " JOIN pg_namespace n ON n.oid = c.relnamespace"
	                        " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'store_id' AND NOT a.attisdropped"
	                        " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
	                        " AND NOT (c.relrowsecurity AND c.relforcerowsecurity"
	                        "  AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid"
	                        "              AND p.polname = 'redstore_store_isolation')"
	                        "  AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = 'redstore_service'))",
	                        0, NULL));
	ck_assert_msg(PQgetisnull(res, 0, 0), "store-scoped tables without forced RLS: %s", PQgetvalue(res, 0, 0));
	PQclear(res);
	ck_assert_int_ge(sql_count(c, "SELECT count(*) FROM pg_class WHERE relispartition", NULL, NULL), 3);
	ck_assert_int_eq(sql_count(c, "SELECT count(*) FROM pg_class WHERE relispartition AND"
	                              " (has_table_privilege('redstore_store', oid, 'SELECT')"
	                              "  OR has_table_privilege('redstore_store', oid, 'INSERT')"
	                              "  OR has_table_privilege('redstore_store', oid, 'UPDATE')"
	                              "  OR has_table_privilege('redstore_store', oid, 'DELETE'))",
	                           NULL, NULL),
	                 0);
	redstore_client_free(c);
}
END_TEST

/* Runs one command as a Redis user; returns 1 when Redis refused it with NOPERM. */
static int redis_noperm(redisContext *rc, int argc, const char **argv)
{
	redisReply *r = redisCommandArgv(rc, argc, argv, NULL);
	int denied;
	ck_assert_ptr_nonnull(r);
	denied = r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOPERM", 6) == 0;
	ck_assert_msg(denied || r->type != REDIS_REPLY_ERROR, "%s: unexpected error %s", argv[0], r->str);
	freeReplyObject(r);
	return denied;
}

START_TEST(auth_redis_acl_confines_a_store_user_to_its_keys)
{
	fx a, b;
	redstore_client *admin_redis = rs_test_client();
	redstore_client *as_a;
	redstore_config *cfg;
	redstore_stock_result *res;
	redstore_stock_line line = { "CUP", 3, 10 };
	redstore__redis_url u;
	redisReply *r;
	redisContext *rc;
	char user[80], url[600], key_b[200], key_a[200], *acl, *save = NULL, *tok;
	const char *argv[64];
	const char *pw = "store-password-0123456789";
	int argc = 0;
	fx_setup(&a, "aclA");
	fx_setup(&b, "aclB");
	rs_test_product(a.svc, "CUP", 300, "standard", REDSTORE_STOCK_DENY, 2);
	rs_test_product(b.svc, "CUP", 300, "standard", REDSTORE_STOCK_DENY, 2);
	rs_test_unique(user, sizeof(user), "acl-user");
	RS_OK(redstore_auth_redis_acl(&acl, a.store, user, pw));
	ck_assert_ptr_null(strstr(acl, pw));
	for (tok = strtok_r(acl, " ", &save); tok && argc < 64; tok = strtok_r(NULL, " ", &save))
		argv[argc++] = tok;
	RS_OK(redstore__redis_argv(&r, admin_redis, argc, argv, NULL));
	freeReplyObject(r);
	/* Store A's own work as that user, through the library: reads, EVALSHA of the stock script. */
	RS_OK(redstore__redis_url_parse(&u, rs_test_env("REDSTORE_REDIS_URL")));
	snprintf(url, sizeof(url), "redis://%s:%s@%s:%d/%d", user, pw, u.host, u.port, u.db);
	cfg = auth_config();
	RS_OK(redstore_config_set(cfg, "redis.url", url));
	RS_OK(redstore_config_set(cfg, "store.id", a.store));
	RS_OK(redstore_client_new(&as_a, cfg));
	RS_OK(redstore_stock_receive(&res, as_a, NULL, "acl", 1, &line));
	ck_assert_int_eq(res->levels[0].on_hand, 5);
	redstore_stock_result_free(res);
	ck_assert_int_eq(rs_test_available(as_a, "CUP"), 5);
	/* Store B's keys and channel, key enumeration, admin commands: NOPERM. */
	rc = redisConnect(u.host, u.port);
	ck_assert_ptr_nonnull(rc);
	r = redisCommand(rc, "AUTH %s %s", user, pw);
	ck_assert_int_eq(r->type, REDIS_REPLY_STATUS);
	freeReplyObject(r);
	snprintf(key_b, sizeof(key_b), "rs:{s:%s}:onhand", b.store);
	snprintf(key_a, sizeof(key_a), "rs:{s:%s}:onhand", a.store);
	ck_assert(!redis_noperm(rc, 3, (const char *[]){ "HGET", key_a, "CUP" }));
	ck_assert(redis_noperm(rc, 3, (const char *[]){ "HGET", key_b, "CUP" }));
	ck_assert(redis_noperm(rc, 4, (const char *[]){ "HSET", key_b, "CUP", "999" }));
	ck_assert(redis_noperm(rc, 2, (const char *[]){ "DEL", key_b }));
	ck_assert(redis_noperm(rc, 4, (const char *[]){ "EVAL", "return redis.call('HGET', KEYS[1], 'CUP')", "1", key_b }));
	ck_assert(redis_noperm(rc, 2, (const char *[]){ "KEYS", "*" }));
	ck_assert(redis_noperm(rc, 2, (const char *[]){ "SCAN", "0" }));
	ck_assert(redis_noperm(rc, 1, (const char *[]){ "FLUSHALL" }));
	ck_assert(redis_noperm(rc, 3, (const char *[]){ "CONFIG", "GET", "*" }));
	snprintf(key_b, sizeof(key_b), "rs:{s:%s}:changes", b.store);
	ck_assert(redis_noperm(rc, 3, (const char *[]){ "PUBLISH", key_b, "x" }));
	ck_assert(redis_noperm(rc, 2, (const char *[]){ "SUBSCRIBE", key_b }));
	redisFree(rc);
	ck_assert_int_eq(rs_test_available(b.svc, "CUP"), 2);
	r = NULL;
	RS_OK(redstore__redis_cmd(&r, admin_redis, "ACL DELUSER %s", user));
	freeReplyObject(r);
	redstore_free(acl);
	redstore_config_free(cfg);
	redstore_client_free(as_a);
	redstore_client_free(admin_redis);
	fx_teardown(&b);
	fx_teardown(&a);
}
END_TEST

/* ------------------------------------------------------------ lockout */

static long long locked_ms(fx *f, const char *employee)
{
	return sql_count(f->svc, "SELECT coalesce(greatest(0, ceil(extract(epoch FROM (locked_until - clock_timestamp()))"
	                         " * 1000)), 0)::bigint FROM employees WHERE store_id = $1 AND employee_id = $2",
	                 f->store, employee);
}

static void wait_unlocked(fx *f, const char *employee)
{
	int64_t deadline = redstore__wall_ms() + 15000;
	while (locked_ms(f, employee) > 0 && redstore__wall_ms() < deadline)
		;
	ck_assert_int_eq(locked_ms(f, employee), 0);
}

START_TEST(auth_wrong_pins_lock_out_for_a_growing_delay)
{
	fx f;
	char *token = NULL;
	long long first, second;
	int64_t t0;
	fx_setup(&f, "lock");
	/* Threshold 2, base 400 ms. One wrong PIN: not locked yet. */
	RS_FAILS(REDSTORE_EAUTH, redstore_auth_login(&token, f.svc, f.device, "cash1", "0000"));
	ck_assert_int_eq(locked_ms(&f, "cash1"), 0);
	RS_FAILS(REDSTORE_EAUTH, redstore_auth_login(&token, f.svc, f.device, "cash1", "0000"));
	t0 = redstore__wall_ms();
	first = locked_ms(&f, "cash1");
	ck_assert_int_gt(first, 200);
	ck_assert_int_le(first, 400);
	/* Locked: even the right PIN is refused, and the message says for how long. */
	RS_FAILS(REDSTORE_ELOCKED, redstore_auth_login(&token, f.svc, f.device, "cash1", "1111"));
	ck_assert(redstore_err_is_retriable(REDSTORE_ELOCKED));
	ck_assert_ptr_nonnull(strstr(redstore_error_last(), "locked out for"));
	wait_unlocked(&f, "cash1");
	ck_assert_int_ge(redstore__wall_ms() - t0, first - 50);
	/* The next wrong PIN doubles the delay. */
	RS_FAILS(REDSTORE_EAUTH, redstore_auth_login(&token, f.svc, f.device, "cash1", "0000"));
	second = locked_ms(&f, "cash1");
	ck_assert_int_gt(second, 600);
	ck_assert_int_le(second, 800);
	ck_assert_int_gt(second, first + 250);
	wait_unlocked(&f, "cash1");
	/* The right PIN after the lock: in, and the counter starts again. */
	RS_OK(redstore_auth_login(&token, f.svc, f.device, "cash1", "1111"));
	redstore_free(token);
	ck_assert_int_eq(sql_count(f.svc, "SELECT failed_pins FROM employees WHERE store_id = $1 AND employee_id = $2",
	                           f.store, "cash1"), 0);
	ck_assert_int_eq(sql_count(f.svc, "SELECT count(*) FROM audit_log WHERE store_id = $1 AND subject = $2"
	                                  " AND action IN ('auth.login_failed', 'auth.login_locked')",
	                           f.store, "cash1"), 4);
	fx_teardown(&f);
}
END_TEST

typedef struct pin_thread {
	fx *f;
	int failures;
} pin_thread;

static void *wrong_pins(void *arg)
{
	pin_thread *t = arg;
	redstore_config *cfg = auth_config();
	redstore_client *c;
	char *token;
	/* A high threshold, so every attempt is checked and counted. */
	RS_OK(redstore_config_set(cfg, "auth.lockout_threshold", "100"));
	RS_OK(redstore_client_new(&c, cfg));
	redstore_config_free(cfg);
	for (int i = 0; i < 3; i++)
		if (redstore_auth_login(&token, c, t->f->device, "sup1", "0000") == REDSTORE_EAUTH)
			t->failures++;
	redstore_client_free(c);
	return NULL;
}

START_TEST(auth_wrong_pins_on_concurrent_terminals_all_count)
{
	fx f;
	pthread_t th[4];
	pin_thread t[4];
	fx_setup(&f, "lockconc");
	for (int i = 0; i < 4; i++) {
		t[i].f = &f;
		t[i].failures = 0;
		ck_assert_int_eq(pthread_create(&th[i], NULL, wrong_pins, &t[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	/* 4 terminals x 3 wrong PINs at once: every one counted (one atomic UPDATE each, no lost update). */
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(t[i].failures, 3);
	ck_assert_int_eq(sql_count(f.svc, "SELECT failed_pins FROM employees WHERE store_id = $1 AND employee_id = $2",
	                           f.store, "sup1"), 12);
	fx_teardown(&f);
}
END_TEST

/* ------------------------------------------------------------ audit */

START_TEST(auth_role_table_matches_the_documentation)
{
	redstore_role r;
	ck_assert(redstore_role_allows(REDSTORE_ROLE_CASHIER, REDSTORE_PERM_SELL));
	ck_assert(!redstore_role_allows(REDSTORE_ROLE_CASHIER, REDSTORE_PERM_REFUND));
	ck_assert(redstore_role_allows(REDSTORE_ROLE_SUPERVISOR, REDSTORE_PERM_VOID));
	ck_assert(redstore_role_allows(REDSTORE_ROLE_SUPERVISOR, REDSTORE_PERM_PRICE_OVERRIDE));
	ck_assert(!redstore_role_allows(REDSTORE_ROLE_SUPERVISOR, REDSTORE_PERM_STOCK));
	ck_assert(redstore_role_allows(REDSTORE_ROLE_MANAGER, REDSTORE_PERM_EMPLOYEES));
	ck_assert(!redstore_role_allows(REDSTORE_ROLE_MANAGER, REDSTORE_PERM_STORES));
	ck_assert(redstore_role_allows(REDSTORE_ROLE_ADMIN, REDSTORE_PERM_TERMINALS));
	ck_assert(!redstore_role_allows((redstore_role)9, REDSTORE_PERM_SELL));
	ck_assert(!redstore_role_allows(REDSTORE_ROLE_ADMIN, (redstore_permission)99));
	RS_OK(redstore_role_parse(&r, "supervisor"));
	ck_assert_int_eq(r, REDSTORE_ROLE_SUPERVISOR);
	RS_FAILS(REDSTORE_EINVALID, redstore_role_parse(&r, "root"));
	ck_assert_str_eq(redstore_permission_name(REDSTORE_PERM_PRICE_OVERRIDE), "price_override");
	ck_assert_ptr_null(redstore_role_name((redstore_role)7));
}
END_TEST

static Suite *auth_suite(void)
{
	Suite *s = suite_create("auth");
	TCase *tc = tcase_create("auth");
	TCase *timing = tcase_create("timing");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, auth_role_table_matches_the_documentation);
	tcase_add_test(tc, auth_pairing_code_works_once_and_only_the_token_hash_is_stored);
	tcase_add_test(tc, auth_expired_pairing_code_is_rejected);
	tcase_add_test(tc, auth_pairing_code_redeemed_concurrently_pairs_one_terminal);
	tcase_add_test(tc, auth_forged_tokens_are_rejected);
	tcase_add_test(tc, auth_revoked_terminal_cannot_log_in_or_attach);
	tcase_add_test(tc, auth_role_change_ends_sessions_with_the_old_role);
	tcase_add_test(tc, auth_cashier_refund_needs_a_supervisor_override);
	tcase_add_test(tc, auth_supervisor_refund_limit_applies_and_manager_has_none);
	tcase_add_test(tc, auth_stock_and_price_changes_need_a_manager);
	tcase_add_test(tc, auth_cashier_discount_is_a_price_override);
	tcase_add_test(tc, auth_deactivated_employee_cannot_log_in_or_attach);
	tcase_add_test(tc, auth_session_is_bound_to_its_store_in_the_library);
	tcase_add_test(tc, auth_rls_store_a_session_reads_and_writes_nothing_of_store_b);
	tcase_add_test(tc, auth_every_store_table_has_forced_rls_and_no_partition_is_reachable);
	tcase_add_test(tc, auth_redis_acl_confines_a_store_user_to_its_keys);
	tcase_add_test(tc, auth_wrong_pins_on_concurrent_terminals_all_count);
	suite_add_tcase(s, tc);
	/* Wall-clock bounds: not under valgrind. */
	tcase_set_tags(timing, "timing");
	tcase_set_timeout(timing, 120);
	tcase_add_test(timing, auth_expired_tokens_are_rejected_on_attach_and_on_every_use);
	tcase_add_test(timing, auth_wrong_pins_lock_out_for_a_growing_delay);
	suite_add_tcase(s, timing);
	return s;
}

int main(void)
{
	return rs_test_run(auth_suite());
}

