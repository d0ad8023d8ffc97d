/* Shifts and the cash drawer: sales sold through the real write path and projected from Kafka give the
 * right expected cash, X and Z reports; a Z report waits for the projector and misses nothing; one open
 * shift per terminal and gap-free Z numbers under real concurrency; the database refuses to change what
 * is issued; roles; bad input writes nothing. The tests that need the projector use this run's own topics,
 * each with its own projector group. */
#include "authfx.h"
#include "projector.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#if defined(__GNUC__) || defined(__clang__)
#define REDSTORE_TEST_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define REDSTORE_TEST_PRINTF(a, b)
#endif

/* ------------------------------------------------------------ fixtures */

/* This run's own topics (chosen in main, before the tests fork): a projector group reads only this run's
 * events, and the topics are created once for the tests that share them. */
static char topic_prefix[64];

/* A configuration on this run's topics whose commits settle fast (the Z report waits
 * kafka.delivery_timeout_ms + 1 s after a close). */
static redstore_config *own_topics_config(void)
{
	redstore_config *cfg = auth_config();
	RS_OK(redstore_config_set(cfg, "kafka.topic_prefix", topic_prefix));
	RS_OK(redstore_config_set(cfg, "kafka.metadata_refresh_ms", "1000"));
	RS_OK(redstore_config_set(cfg, "kafka.delivery_timeout_ms", "3000"));
	return cfg;
}

static redstore_maintenance_options wait_opts(const rs_test_projector *p, int wait_ms)
{
	redstore_maintenance_options o = { p->group, wait_ms };
	return o;
}

/* Commits a sale of `qty` units of `sku` paid with up to two tenders; returns the receipt. */
static redstore_receipt *sell(redstore_client *c, const char *sku, int64_t qty, redstore_tender_kind k1, int64_t a1,
                              redstore_tender_kind k2, int64_t a2)
{
	redstore_sale *s;
	redstore_receipt *r;
	RS_OK(redstore_sale_new(&s, NULL));
	RS_OK(redstore_sale_add_line(s, sku, qty, NULL));
	RS_OK(redstore_sale_add_tender(s, k1, a1, NULL));
	if (a2)
		RS_OK(redstore_sale_add_tender(s, k2, a2, NULL));
	RS_OK(redstore_sale_commit(&r, c, s));
	redstore_sale_free(s);
	return r;
}

/* ------------------------------------------------------------ figures */

START_TEST(shift_expected_cash_and_reports_count_projected_cash_sales_refunds_and_movements)
{
	redstore_config *cfg = own_topics_config();
	redstore_client *c, *other;
	redstore_receipt *s1, *s2, *s3, *s5, *x;
	redstore_shift_info sh, closed;
	redstore_shift_report *xr, *z, *z2;
	redstore_maintenance_options wo;
	char store[65], *json;
	rs_test_watch *watch;
	rs_test_projector p;

	RS_OK(redstore_client_new(&c, cfg));
	RS_OK(redstore_client_new(&other, cfg));
	RS_OK(redstore_db_migrate(c, NULL));
	rs_test_store(c, "shf", store, 0);
	RS_OK(redstore_client_use_store(other, store));
	rs_test_product(c, "P1", 250, "standard", REDSTORE_STOCK_DENY, 100);
	rs_test_product(c, "P2", 400, "standard", REDSTORE_STOCK_DENY, 100);
	RS_OK(redstore_client_set_actor(c, "till-A", "cash1"));
	RS_OK(redstore_client_set_actor(other, "till-B", "cash2"));

	/* Before the shift: not counted. */
	redstore_receipt_free(sell(c, "P1", 1, REDSTORE_TENDER_CASH, 250, 0, 0));
	RS_OK(redstore_shift_open(&sh, c, NULL, NULL, 10000));
	/* Every topic exists now: the projector's pattern subscription finds them all at once. */
	rs_test_projector_start(&p, cfg, NULL);
	ck_assert_str_eq(sh.terminal_id, "till-A");
	ck_assert_str_eq(sh.opened_by, "cash1");
	ck_assert_int_eq(sh.closed, 0);

	/* S1: 500 paid 2000 cash (change 1500). S2: 400 by card. S3: 750 = 500 card + 300 cash (change 50). */
	s1 = sell(c, "P1", 2, REDSTORE_TENDER_CASH, 2000, 0, 0);
	s2 = sell(c, "P2", 1, REDSTORE_TENDER_CARD, 400, 0, 0);
	s3 = sell(c, "P1", 3, REDSTORE_TENDER_CARD, 500, REDSTORE_TENDER_CASH, 300);
	ck_assert_int_eq(s1->change_due, 1500);
	ck_assert_int_eq(s3->change_due, 50);
	/* A cash refund of one unit of S1, a void of S2 (paid back by card), paid-in and paid-out. */
	{
		redstore_refund_line one = { 0, 1 };
		RS_OK(redstore_sale_refund(&x, c, NULL, s1->sale_id, 1, &one, 1, REDSTORE_TENDER_CASH, NULL));
		ck_assert_int_eq(x->total, 250);
		redstore_receipt_free(x);
		RS_OK(redstore_sale_void(&x, c, NULL, s2->sale_id, "wrong item"));
		redstore_receipt_free(x);
	}
	RS_OK(redstore_shift_cash_move(c, sh.shift_id, NULL, REDSTORE_PAID_IN, 1000, "change from the bank"));
	RS_OK(redstore_shift_cash_move(c, sh.shift_id, NULL, REDSTORE_PAID_OUT, 300, "window cleaner"));
	/* Another terminal's cash sale is not this drawer's. */
	redstore_receipt_free(sell(other, "P1", 1, REDSTORE_TENDER_CASH, 250, 0, 0));

	/* X report once everything is projected. */
	wo = wait_opts(&p, 60000);
	RS_OK(redstore_projector_wait(NULL, c, &wo));
	RS_OK(redstore_shift_x_report(&xr, c, sh.shift_id));
	ck_assert_int_eq(xr->is_final, 0);
	ck_assert_int_eq(xr->opening_float, 10000);
	ck_assert_int_eq(xr->cash_sales, 500 + 250);
	ck_assert_int_eq(xr->cash_refunds, 250);
	ck_assert_int_eq(xr->paid_in, 1000);
	ck_assert_int_eq(xr->paid_out, 300);
	ck_assert_int_eq(xr->expected_cash, 10000 + 750 - 250 + 1000 - 300);
	ck_assert_int_eq(xr->counted, 0);
	ck_assert_int_eq(xr->sales_count, 3);
	ck_assert_int_eq(xr->sales_total, s1->total + s2->total + s3->total);
	ck_assert_int_eq(xr->refunds_count, 1);
	ck_assert_int_eq(xr->refunds_total, 250);
	ck_assert_int_eq(xr->voids_count, 1);
	ck_assert_int_eq(xr->voids_total, 400);
	ck_assert_int_eq(xr->paid_in_count, 1);
	ck_assert_int_eq(xr->paid_out_count, 1);
	ck_assert_uint_eq(xr->tender_count, 3);
	ck_assert_int_eq(xr->tenders[REDSTORE_TENDER_CASH].sales_count, 2);
	ck_assert_int_eq(xr->tenders[REDSTORE_TENDER_CASH].sales_amount, 750);
	ck_assert_int_eq(xr->tenders[REDSTORE_TENDER_CASH].refunds_count, 1);
	ck_assert_int_eq(xr->tenders[REDSTORE_TENDER_CARD].sales_count, 2);
	ck_assert_int_eq(xr->tenders[REDSTORE_TENDER_CARD].sales_amount, 900);
	ck_assert_int_eq(xr->tenders[REDSTORE_TENDER_CARD].refunds_amount, 400);
	ck_assert_int_eq(xr->tenders[REDSTORE_TENDER_OTHER].sales_count, 0);
	redstore_shift_report_free(xr);

	/* Hold the projector back: S5 (cash 250, exact) is acknowledged by Kafka but not in PostgreSQL at
	 * the close. */
	rs_test_projector_pause(&p, true);
	s5 = sell(c, "P1", 1, REDSTORE_TENDER_CASH, 250, 0, 0);
	watch = rs_test_watch_start(cfg, "shifts");
	RS_OK(redstore_shift_close(&closed, c, sh.shift_id, 11400));
	ck_assert_msg(rs_test_watch_find(watch, "\"shift.closed\"", sh.shift_id, 30000),
	              "no shift.closed event on the shifts topic");
	ck_assert_int_eq(closed.closed, 1);
	ck_assert_int_eq(closed.counted_cash, 11400);
	ck_assert_int_ge(closed.closed_at_ms, closed.opened_at_ms);
	/* After the close: the next shift's, not this one's. */
	redstore_receipt_free(sell(c, "P1", 1, REDSTORE_TENDER_CASH, 250, 0, 0));
	/* Too early to settle, then the projector behind: no Z report, and nothing written. */
	wo = wait_opts(&p, 100);
	RS_FAILS(REDSTORE_ETIMEOUT, redstore_shift_z_report(&z, c, sh.shift_id, &wo));
	ck_assert_ptr_null(z);
	ck_assert_ptr_nonnull(strstr(redstore_error_last(), "settled"));
	wo = wait_opts(&p, 4300); /* settles at 4 s: the projector then gets what is left */
	RS_FAILS(REDSTORE_ETIMEOUT, redstore_shift_z_report(&z, c, sh.shift_id, &wo));
	ck_assert_ptr_nonnull(strstr(redstore_error_last(), "projector"));
	ck_assert_int_eq(sql_count(c, "SELECT count(*) FROM shift_z_reports WHERE store_id = $1", store, NULL), 0);

	/* The projector catches up: the Z report has S5 and not the sale after the close. */
	rs_test_projector_pause(&p, false);
	wo = wait_opts(&p, 60000);
	RS_OK(redstore_shift_z_report(&z, c, sh.shift_id, &wo));
	ck_assert_int_eq(z->is_final, 1);
	ck_assert_int_eq(z->z_number, 1);
	ck_assert_int_eq(z->shift.z_number, 1);
	ck_assert_int_eq(z->cash_sales, 750 + 250);
	ck_assert_int_eq(z->sales_count, 4);
	ck_assert_int_eq(z->expected_cash, 11450);
	ck_assert_int_eq(z->counted, 1);
	ck_assert_int_eq(z->counted_cash, 11400);
	ck_assert_int_eq(z->difference, -50);
	ck_assert_int_eq(z->tenders[REDSTORE_TENDER_CASH].sales_amount, 1000);
	ck_assert_int_eq(z->tenders[REDSTORE_TENDER_CARD].refunds_count, 1);
	ck_assert_str_eq(z->issued_by, "cash1");
	ck_assert_int_eq(z->window_to_ms, closed.closed_at_ms);
	/* Issued once: a second call returns the same report. */
	RS_OK(redstore_shift_z_report(&z2, c, sh.shift_id, &wo));
	ck_assert_int_eq(z2->z_number, 1);
	ck_assert_int_eq(z2->issued_at_ms, z->issued_at_ms);
	ck_assert_int_eq(z2->expected_cash, z->expected_cash);
	ck_assert_int_eq(z2->tenders[REDSTORE_TENDER_CARD].sales_amount, 900);
	/* An X report of the closed shift reads the same window. */
	RS_OK(redstore_shift_x_report(&xr, c, sh.shift_id));
	ck_assert_int_eq(xr->expected_cash, z->expected_cash);
	ck_assert_int_eq(xr->difference, z->difference);
	redstore_shift_report_free(xr);
	RS_OK(redstore_shift_report_to_json(&json, z));
	ck_assert_ptr_nonnull(strstr(json, "\"report\":\"Z\""));
	ck_assert_ptr_nonnull(strstr(json, "\"expected_cash\":11450"));
	ck_assert_ptr_nonnull(strstr(json, "\"difference\":-50"));
	redstore_free(json);
	ck_assert_int_eq(sql_count(c, "SELECT count(*) FROM shift_z_reports WHERE store_id = $1", store, NULL), 1);
	ck_assert_int_eq(sql_count(c, "SELECT count(*) FROM audit_log WHERE store_id = $1 AND action = 'shift.z_report'",
	                           store, NULL),
	                 1);
	ck_assert_int_eq(sql_count(c, "SELECT count(*) FROM audit_log WHERE store_id = $1 AND action = 'shift.z_reprint'",
	                           store, NULL),
	                 1);

	redstore_shift_report_free(z);
	redstore_shift_report_free(z2);
	redstore_receipt_free(s1);
	redstore_receipt_free(s2);
	redstore_receipt_free(s3);
	redstore_receipt_free(s5);
	rs_test_projector_stop(&p);
	redstore_client_free(other);
	redstore_client_free(c);
	redstore_config_free(cfg);
}
END_TEST

/* ------------------------------------------------------------ concurrency */

#define OPENERS 8

typedef struct opener {
	const redstore_config *cfg;
	const char *store;
	const char *terminal;
	pthread_barrier_t *go;
	int index;
	int rc;
	char shift_id[REDSTORE_ID_SIZE];
} opener;

static void *open_main(void *arg)
{
	opener *o = arg;
	redstore_client *c;
	redstore_shift_info sh;
	char employee[16];
	o->rc = REDSTORE_ERROR;
	snprintf(employee, sizeof(employee), "emp%d", o->index);
	if (redstore_client_new(&c, o->cfg))
		return NULL;
	if (!redstore_client_use_store(c, o->store) && !redstore_client_set_actor(c, o->terminal, employee)) {
		pthread_barrier_wait(o->go);
		o->rc = redstore_shift_open(&sh, c, NULL, NULL, 100 * o->index);
		if (!o->rc)
			snprintf(o->shift_id, sizeof(o->shift_id), "%s", sh.shift_id);
	}
	redstore_client_free(c);
	return NULL;
}

START_TEST(shift_concurrent_opens_on_one_terminal_exactly_one_succeeds)
{
	redstore_config *cfg = auth_config();
	redstore_client *c;
	char store[65];

	RS_OK(redstore_client_new(&c, cfg));
	RS_OK(redstore_db_migrate(c, NULL));
	rs_test_store(c, "sho", store, 0);
	RS_OK(redstore_client_set_actor(c, "till-1", "boss"));
	for (int round = 0; round < 3; round++) {
		pthread_t th[OPENERS];
		opener o[OPENERS];
		pthread_barrier_t go;
		int won = -1;
		pthread_barrier_init(&go, NULL, OPENERS);
		for (int i = 0; i < OPENERS; i++) {
			o[i] = (opener){ cfg, store, "till-1", &go, i, 0, "" };
			ck_assert_int_eq(pthread_create(&th[i], NULL, open_main, &o[i]), 0);
		}
		for (int i = 0; i < OPENERS; i++)
			ck_assert_int_eq(pthread_join(th[i], NULL), 0);
		pthread_barrier_destroy(&go);
		for (int i = 0; i < OPENERS; i++) {
			if (o[i].rc == 0) {
				ck_assert_msg(won < 0, "round %d: openers %d and %d both opened a shift", round, won, i);
				won = i;
			} else {
				ck_assert_msg(o[i].rc == REDSTORE_ECONFLICT, "round %d opener %d: %s", round, i,
				              redstore_err_name(o[i].rc));
			}
		}
		ck_assert_msg(won >= 0, "round %d: no opener succeeded", round);
		ck_assert_int_eq(sql_count(c, "SELECT count(*) FROM shifts WHERE store_id = $1 AND terminal_id = 'till-1'"
		                              " AND closed_at IS NULL",
		                           store, NULL),
		                 1);
		RS_OK(redstore_shift_close(NULL, c, o[won].shift_id, 0));
	}
	ck_assert_int_eq(sql_count(c, "SELECT count(*) FROM shifts WHERE store_id = $1", store, NULL), 3);
	/* The database refuses a second open shift even to a statement that skips the library. */
	{
		redstore_shift_info sh;
		const char *params[1] = { store };
		RS_OK(redstore_shift_open(&sh, c, NULL, NULL, 0));
		RS_FAILS(REDSTORE_EEXISTS, redstore__pg_exec(NULL, c,
		                                             "INSERT INTO shifts (store_id, shift_id, terminal_id, opened_by,"
		                                             " opened_at, opening_float) VALUES ($1, gen_random_uuid(), 'till-1',"
		                                             " 'x', now(), 0)",
		                                             1, params));
	}
	redstore_client_free(c);
	redstore_config_free(cfg);
}
END_TEST

#define Z_SHIFTS_A 6
#define Z_SHIFTS_B 3

typedef struct issuer {
	const redstore_config *cfg;
	const char *store;
	const char *shift_id;
	const char *group;
	pthread_barrier_t *go;
	int rc;
	int64_t number[2];
	char error[256];
} issuer;

static void *issue_main(void *arg)
{
	issuer *z = arg;
	redstore_client *c;
	redstore_maintenance_options wo = { z->group, 60000 };
	z->rc = REDSTORE_ERROR;
	if (redstore_client_new(&c, z->cfg))
		return NULL;
	if (!redstore_client_use_store(c, z->store) && !redstore_client_set_actor(c, NULL, "manager")) {
		pthread_barrier_wait(z->go);
		for (int k = 0; k < 2; k++) {
			redstore_shift_report *r;
			if ((z->rc = redstore_shift_z_report(&r, c, z->shift_id, &wo))) {
				snprintf(z->error, sizeof(z->error), "%s", redstore_error_last());
				break;
			}
			z->number[k] = r->z_number;
			redstore_shift_report_free(r);
		}
	}
	redstore_client_free(c);
	return NULL;
}

START_TEST(shift_z_numbers_are_gap_free_per_terminal_under_concurrency_and_immutable)
{
	redstore_config *cfg = own_topics_config();
	enum { N = Z_SHIFTS_A + Z_SHIFTS_B };
	char ids[N][REDSTORE_ID_SIZE], store[65];
	redstore_client *c;
	pthread_barrier_t go;
	pthread_t th[N];
	issuer z[N];
	rs_test_projector p;
	bool seen_a[Z_SHIFTS_A + 1] = { false }, seen_b[Z_SHIFTS_B + 1] = { false };

	RS_OK(redstore_client_new(&c, cfg));
	RS_OK(redstore_db_migrate(c, NULL));
	rs_test_store(c, "shz", store, 0);
	rs_test_product(c, "P1", 250, "standard", REDSTORE_STOCK_DENY, 10);
	for (int i = 0; i < N; i++) {
		redstore_shift_info sh;
		RS_OK(redstore_client_set_actor(c, i < Z_SHIFTS_A ? "till-A" : "till-B", "cash1"));
		RS_OK(redstore_shift_open(&sh, c, NULL, NULL, 100 * i));
		if (i == 0)
			rs_test_sell(c, "P1", 1, NULL);
		RS_OK(redstore_shift_close(NULL, c, sh.shift_id, 100 * i));
		snprintf(ids[i], sizeof(ids[i]), "%s", sh.shift_id);
	}
	rs_test_projector_start(&p, cfg, NULL); /* after every topic exists (see above) */
	pthread_barrier_init(&go, NULL, N);
	for (int i = 0; i < N; i++) {
		z[i] = (issuer){ cfg, store, ids[i], p.group, &go, 0, { 0, 0 }, "" };
		ck_assert_int_eq(pthread_create(&th[i], NULL, issue_main, &z[i]), 0);
	}
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
	pthread_barrier_destroy(&go);
	for (int i = 0; i < N; i++) {
		bool *seen = i < Z_SHIFTS_A ? seen_a : seen_b;
		int64_t max = i < Z_SHIFTS_A ? Z_SHIFTS_A : Z_SHIFTS_B;
		ck_assert_msg(z[i].rc == 0, "issuer %d: %s (%s)", i, redstore_err_name(z[i].rc), z[i].error);
		ck_assert_msg(z[i].number[0] == z[i].number[1], "shift %d: Z %lld, then %lld", i, (long long)z[i].number[0],
		              (long long)z[i].number[1]);
		ck_assert_msg(z[i].number[0] >= 1 && z[i].number[0] <= max, "shift %d: Z number %lld", i,
		              (long long)z[i].number[0]);
		ck_assert_msg(!seen[z[i].number[0]], "Z number %lld given twice", (long long)z[i].number[0]);
		seen[z[i].number[0]] = true;
	}
	ck_assert_int_eq(sql_count(c, "SELECT max(z_number) FROM shift_z_reports WHERE store_id = $1 AND terminal_id = $2",
	                           store, "till-A"),
	                 Z_SHIFTS_A);
	ck_assert_int_eq(sql_count(c, "SELECT count(*) FROM shift_z_reports WHERE store_id = $1 AND terminal_id = $2",
	                           store, "till-B"),
	                 Z_SHIFTS_B);

	/* The database refuses to change or remove what was issued, even to a statement that skips the
	 * library, and numbers a Z report itself. */
	{
		static const char *const refused[] = {
			"UPDATE shift_z_reports SET counted_cash = counted_cash + 1, difference = difference + 1 WHERE store_id = $1",
			"DELETE FROM shift_z_reports WHERE store_id = $1",
			"UPDATE shifts SET counted_cash = 1 WHERE store_id = $1",
			"DELETE FROM shifts WHERE store_id = $1",
			"UPDATE shift_z_counters SET last_z = 0 WHERE store_id = $1",
			"DELETE FROM shift_z_counters WHERE store_id = $1",
			"INSERT INTO shift_cash_movements (store_id, movement_id, shift_id, kind, amount, reason, occurred_at)"
			" SELECT store_id, gen_random_uuid(), shift_id, 'paid_out', 5, 'late', now() FROM shifts"
			" WHERE store_id = $1 LIMIT 1",
		};
		const char *params[1] = { store };
		for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
			int rc = redstore__pg_exec(NULL, c, refused[i], 1, params);
			ck_assert_msg(rc == REDSTORE_EDB, "%s gave %s", refused[i], redstore_err_name(rc));
		}
		RS_FAILS(REDSTORE_EDB, redstore__pg_exec(NULL, c, "TRUNCATE shift_z_reports", 0, NULL));
		ck_assert_int_eq(sql_count(c, "SELECT sum(counted_cash) FROM shift_z_reports WHERE store_id = $1", store, NULL),
		                 100 * (N - 1) * N / 2);
	}
	rs_test_projector_stop(&p);
	redstore_client_free(c);
	redstore_config_free(cfg);
}
END_TEST

/* ------------------------------------------------------------ roles */

/* authfx's store (a paired terminal; cash1 1111, sup1 2222, man1 3333, adm1 4444) on this test's topics. */
static void roles_setup(fx *f, const redstore_config *cfg)
{
	char code[REDSTORE_PAIRING_CODE_SIZE];
	RS_OK(redstore_client_new(&f->svc, cfg));
	RS_OK(redstore_db_migrate(f->svc, NULL));
	rs_test_store(f->svc, "shr", f->store, 0);
	RS_OK(redstore_auth_employee_add(f->svc, "cash1", "Casey", REDSTORE_ROLE_CASHIER, "1111"));
	RS_OK(redstore_auth_employee_add(f->svc, "cash2", "Charlie", REDSTORE_ROLE_CASHIER, "5555"));
	RS_OK(redstore_auth_employee_add(f->svc, "sup1", "Sam", REDSTORE_ROLE_SUPERVISOR, "2222"));
	RS_OK(redstore_auth_employee_add(f->svc, "man1", "Morgan", REDSTORE_ROLE_MANAGER, "3333"));
	RS_OK(redstore_auth_pairing_code_new(code, f->svc, "till 1"));
	RS_OK(redstore_auth_pair(f->device, f->terminal, f->svc, code));
	rs_test_product(f->svc, "P1", 250, "standard", REDSTORE_STOCK_DENY, 10);
}

static redstore_client *session_on(fx *f, const redstore_config *cfg, const char *employee, const char *pin)
{
	redstore_client *c;
	char *token;
	RS_OK(redstore_client_new(&c, cfg));
	RS_OK(redstore_auth_login(&token, f->svc, f->device, employee, pin));
	RS_OK(redstore_auth_attach(c, token));
	redstore_free(token);
	return c;
}

START_TEST(shift_cashier_acts_on_own_shift_manager_on_others_and_every_action_is_audited)
{
	redstore_config *cfg = own_topics_config();
	fx f;
	redstore_client *cash, *cash2, *man;
	redstore_shift_info sh, got;
	redstore_shift_report *r, *z;
	redstore_sales_report *sr;
	redstore_audit_report ar;
	redstore_maintenance_options wo;
	int64_t now = redstore__wall_ms();
	rs_test_projector p;

	roles_setup(&f, cfg);
	cash = session_on(&f, cfg, "cash1", "1111");
	cash2 = session_on(&f, cfg, "cash2", "5555");
	man = session_on(&f, cfg, "man1", "3333");

	/* A cashier opens a shift on their own terminal, not on another. */
	RS_OK(redstore_shift_open(&sh, cash, NULL, NULL, 5000));
	ck_assert_str_eq(sh.terminal_id, f.terminal);
	ck_assert_str_eq(sh.opened_by, "cash1");
	RS_FAILS(REDSTORE_EPERM, redstore_shift_open(&got, cash, NULL, "till-9", 5000));
	ck_assert_int_eq(sql_count(f.svc, "SELECT count(*) FROM shifts WHERE store_id = $1 AND terminal_id = 'till-9'",
	                           f.store, NULL),
	                 0);
	RS_OK(redstore_shift_cash_move(cash, sh.shift_id, NULL, REDSTORE_PAID_IN, 200, "coins"));
	RS_OK(redstore_shift_x_report(&r, cash, sh.shift_id));
	ck_assert_int_eq(r->expected_cash, 5200);
	redstore_shift_report_free(r);
	RS_OK(redstore_shift_current(&got, cash, NULL));
	ck_assert_str_eq(got.shift_id, sh.shift_id);
	/* The cashier sells on the session (its terminal): a cash sale of 250. */
	redstore_receipt_free(sell(cash, "P1", 1, REDSTORE_TENDER_CASH, 250, 0, 0));

	/* Another cashier on the same terminal: not their shift. */
	RS_FAILS(REDSTORE_EPERM, redstore_shift_x_report(&r, cash2, sh.shift_id));
	ck_assert_ptr_null(r);
	RS_FAILS(REDSTORE_EPERM, redstore_shift_get(&got, cash2, sh.shift_id));
	RS_FAILS(REDSTORE_EPERM, redstore_shift_cash_move(cash2, sh.shift_id, NULL, REDSTORE_PAID_OUT, 100, "lunch"));
	RS_FAILS(REDSTORE_EPERM, redstore_shift_close(NULL, cash2, sh.shift_id, 0));
	RS_FAILS(REDSTORE_EPERM, redstore_shift_z_report(&r, cash2, sh.shift_id, NULL));
	/* ... unless a manager approves that one action at the terminal. */
	RS_OK(redstore_auth_override(cash2, REDSTORE_PERM_SHIFTS, "man1", "3333"));
	RS_OK(redstore_shift_cash_move(cash2, sh.shift_id, NULL, REDSTORE_PAID_OUT, 100, "milk for the staff room"));
	RS_FAILS(REDSTORE_EPERM, redstore_shift_cash_move(cash2, sh.shift_id, NULL, REDSTORE_PAID_OUT, 100, "again"));

	/* A manager reads anyone's shift; sales reports need the manager too. */
	RS_OK(redstore_shift_x_report(&r, man, sh.shift_id));
	ck_assert_str_eq(r->issued_by, "man1");
	redstore_shift_report_free(r);
	RS_OK(redstore_shift_get(&got, man, sh.shift_id));
	RS_FAILS(REDSTORE_EPERM, redstore_report_sales(&sr, cash, now - 3600000, now + 3600000, NULL));
	RS_FAILS(REDSTORE_EPERM, redstore_report_top_products(&sr, cash, now - 3600000, now + 3600000,
	                                                      REDSTORE_RANK_UNITS, 0, 5));
	RS_OK(redstore_report_sales(&sr, man, now - 3600000, now + 3600000, NULL));
	redstore_sales_report_free(sr);
	{
		char *csv = NULL;
		RS_FAILS(REDSTORE_EPERM, redstore_sales_day_csv(&csv, cash, "2026-12-01"));
		ck_assert_ptr_null(csv);
		RS_OK(redstore_sales_day_csv(&csv, man, "2026-12-01"));
		redstore_free(csv);
	}

	/* The cashier closes their own shift and issues its Z report, through the store-scoped connection
	 * (row-level security): 5000 + 200 - 100 + 250 counted exactly. */
	RS_OK(redstore_shift_close(&got, cash, sh.shift_id, 5350));
	ck_assert_str_eq(got.closed_by, "cash1");
	rs_test_projector_start(&p, cfg, NULL); /* every topic exists now */
	wo = wait_opts(&p, 60000);
	RS_OK(redstore_shift_z_report(&z, cash, sh.shift_id, &wo));
	ck_assert_int_eq(z->z_number, 1);
	ck_assert_int_eq(z->cash_sales, 250);
	ck_assert_int_eq(z->expected_cash, 5350);
	ck_assert_int_eq(z->difference, 0);
	ck_assert_str_eq(z->issued_by, "cash1");
	redstore_shift_report_free(z);
	RS_FAILS(REDSTORE_EPERM, redstore_shift_z_report(&z, cash2, sh.shift_id, &wo));
	RS_OK(redstore_shift_z_report(&z, man, sh.shift_id, &wo));
	ck_assert_int_eq(z->z_number, 1);
	ck_assert_str_eq(z->issued_by, "cash1");
	redstore_shift_report_free(z);

	/* Every action is in the audit log, with who did it and who approved it; the chain holds. */
	ck_assert_int_eq(sql_count(f.svc, "SELECT count(*) FROM audit_log WHERE store_id = $1 AND action LIKE 'shift.%'",
	                           f.store, NULL),
	                 8);
	ck_assert_int_eq(sql_count(f.svc, "SELECT count(*) FROM audit_log WHERE store_id = $1 AND action = 'shift.paid_out'"
	                                  " AND employee_id = 'cash2' AND approved_by = 'man1'",
	                           f.store, NULL),
	                 1);
	ck_assert_int_eq(sql_count(f.svc, "SELECT count(*) FROM audit_log WHERE store_id = $1 AND subject = $2"
	                                  " AND action IN ('shift.opened', 'shift.closed', 'shift.z_report')"
	                                  " AND employee_id = 'cash1'",
	                           f.store, sh.shift_id),
	                 3);
	RS_OK(redstore_audit_verify(&ar, f.svc));
	ck_assert_msg(ar.ok, "audit chain: %s", ar.problem);

	rs_test_projector_stop(&p);
	redstore_client_free(man);
	redstore_client_free(cash2);
	redstore_client_free(cash);
	fx_teardown(&f);
	redstore_config_free(cfg);
}
END_TEST

/* ------------------------------------------------------------ bad input */

START_TEST(shift_bad_input_is_refused_with_nothing_written)
{
	static const char sid[] = "0190a6f2-7c3e-7b1a-9f00-1234567890ab", mid[] = "0190a6f2-7c3e-7b1a-9f00-00000000000c";
	redstore_config *cfg = auth_config();
	redstore_client *c, *anon;
	redstore_shift_info sh;
	redstore_shift_report *r;
	redstore_maintenance_options bad = { NULL, -1 };
	char store[65], long_reason[260];

	RS_OK(redstore_client_new(&c, cfg));
	RS_OK(redstore_client_new(&anon, cfg));
	RS_OK(redstore_db_migrate(c, NULL));
	rs_test_store(c, "shb", store, 0);
	RS_OK(redstore_client_use_store(anon, store));
	RS_OK(redstore_client_set_actor(c, "till-X", "emp1"));

	RS_FAILS(REDSTORE_EINVALID, redstore_shift_open(&sh, c, NULL, NULL, -1));
	RS_FAILS(REDSTORE_ELIMIT, redstore_shift_open(&sh, c, NULL, NULL, 10000001));
	RS_FAILS(REDSTORE_EINVALID, redstore_shift_open(&sh, c, "not-a-uuid", NULL, 0));
	RS_FAILS(REDSTORE_EINVALID, redstore_shift_open(&sh, c, NULL, "", 0));
	RS_FAILS(REDSTORE_EINVALID, redstore_shift_open(&sh, c, NULL, "till\n", 0));
	RS_FAILS(REDSTORE_EINVALID, redstore_shift_open(&sh, anon, NULL, "till-X", 0)); /* no employee */
	ck_assert_int_eq(sql_count(c, "SELECT count(*) FROM shifts WHERE store_id = $1", store, NULL), 0);

	/* Opening is idempotent by id; the id cannot name another shift; one open shift per terminal. */
	RS_OK(redstore_shift_open(&sh, c, sid, NULL, 2500));
	ck_assert_int_eq(sh.duplicate, 0);
	RS_OK(redstore_shift_open(&sh, c, sid, NULL, 2500));
	ck_assert_int_eq(sh.duplicate, 1);
	RS_FAILS(REDSTORE_EEXISTS, redstore_shift_open(&sh, c, sid, NULL, 2600));
	RS_FAILS(REDSTORE_ECONFLICT, redstore_shift_open(&sh, c, NULL, NULL, 2500));
	ck_assert_ptr_nonnull(strstr(redstore_error_last(), sid));

	RS_FAILS(REDSTORE_EINVALID, redstore_shift_cash_move(c, sid, NULL, REDSTORE_PAID_IN, 0, "zero"));
	RS_FAILS(REDSTORE_EINVALID, redstore_shift_cash_move(c, sid, NULL, REDSTORE_PAID_OUT, -5, "negative"));
	RS_FAILS(REDSTORE_ELIMIT, redstore_shift_cash_move(c, sid, NULL, REDSTORE_PAID_OUT, 10000001, "too much"));
	RS_FAILS(REDSTORE_EINVALID, redstore_shift_cash_move(c, sid, NULL, REDSTORE_PAID_IN, 100, ""));
	memset(long_reason, 'r', 201);
	long_reason[201] = '\0';
	RS_FAILS(REDSTORE_EINVALID, redstore_shift_cash_move(c, sid, NULL, REDSTORE_PAID_IN, 100, long_reason));
	RS_FAILS(REDSTORE_EINVALID, redstore_shift_cash_move(c, sid, NULL, REDSTORE_PAID_IN, 100, "two\nlines"));
	RS_FAILS(REDSTORE_EINVALID, redstore_shift_cash_move(c, sid, NULL, (redstore_cash_move)7, 100, "kind"));
	RS_FAILS(REDSTORE_EINVALID, redstore_shift_cash_move(c, "shift-1", NULL, REDSTORE_PAID_IN, 100, "id"));
	RS_FAILS(REDSTORE_ENOTFOUND,
	         redstore_shift_cash_move(c, "0190a6f2-7c3e-7b1a-9f00-ffffffffffff", NULL, REDSTORE_PAID_IN, 100, "who"));
	ck_assert_int_eq(sql_count(c, "SELECT count(*) FROM shift_cash_movements WHERE store_id = $1", store, NULL), 0);
	/* A movement retried with its id is recorded once; the id cannot name another movement. */
	RS_OK(redstore_shift_cash_move(c, sid, mid, REDSTORE_PAID_IN, 100, "float top-up"));
	RS_OK(redstore_shift_cash_move(c, sid, mid, REDSTORE_PAID_IN, 100, "float top-up"));
	RS_FAILS(REDSTORE_EEXISTS, redstore_shift_cash_move(c, sid, mid, REDSTORE_PAID_IN, 200, "float top-up"));
	ck_assert_int_eq(sql_count(c, "SELECT count(*) FROM shift_cash_movements WHERE store_id = $1", store, NULL), 1);

	RS_FAILS(REDSTORE_ECONFLICT, redstore_shift_z_report(&r, c, sid, NULL)); /* still open */
	RS_FAILS(REDSTORE_EINVALID, redstore_shift_z_report(&r, c, sid, &bad));
	RS_FAILS(REDSTORE_EINVALID, redstore_shift_close(NULL, c, sid, -1));
	RS_FAILS(REDSTORE_ELIMIT, redstore_shift_close(NULL, c, sid, 10000001));
	RS_FAILS(REDSTORE_EINVALID, redstore_shift_close(NULL, anon, sid, 100)); /* no employee */
	RS_OK(redstore_shift_close(NULL, c, sid, 2600));
	RS_FAILS(REDSTORE_ECONFLICT, redstore_shift_close(NULL, c, sid, 9999));
	RS_FAILS(REDSTORE_ECONFLICT, redstore_shift_cash_move(c, sid, NULL, REDSTORE_PAID_OUT, 100, "after the close"));
	RS_OK(redstore_shift_get(&sh, c, sid));
	ck_assert_int_eq(sh.closed, 1);
	ck_assert_int_eq(sh.counted_cash, 2600);
	RS_FAILS(REDSTORE_ENOTFOUND, redstore_shift_current(&sh, c, NULL));

	/* What was written: one shift, one movement, and their three audit entries. */
	ck_assert_int_eq(sql_count(c, "SELECT count(*) FROM shifts WHERE store_id = $1", store, NULL), 1);
	ck_assert_int_eq(sql_count(c, "SELECT count(*) FROM shift_cash_movements WHERE store_id = $1", store, NULL), 1);
	ck_assert_int_eq(sql_count(c, "SELECT count(*) FROM audit_log WHERE store_id = $1 AND action LIKE 'shift.%'",
	                           store, NULL),
	                 3);
	redstore_client_free(anon);
	redstore_client_free(c);
	redstore_config_free(cfg);
}
END_TEST

/* ------------------------------------------------------------ Kafka down */

START_TEST(shift_open_with_kafka_down_writes_nothing_and_the_retry_opens_once)
{
	rs_test_mock m;
	redstore_shift_info sh;
	char store[65], id[REDSTORE_ID_SIZE];
	int rc;

	rs_test_mock_start(&m, 1500);
	ck_assert_int_eq(rd_kafka_mock_topic_create(m.mc, "redstore.audit", 4, 3), 0);
	ck_assert_int_eq(rd_kafka_mock_topic_create(m.mc, "redstore.shifts", 4, 3), 0);
	RS_OK(redstore_db_migrate(m.client, NULL));
	rs_test_store(m.client, "shk", store, 0);
	RS_OK(redstore_client_set_actor(m.client, "till-K", "emp1"));
	RS_OK(redstore_id_new(id));
	/* The audit entry and the event cannot be acknowledged: the shift is not opened either. */
	rs_test_mock_brokers(&m, 0);
	rc = redstore_shift_open(&sh, m.client, id, NULL, 1000);
	ck_assert_msg(rc != 0 && redstore_err_is_retriable(rc), "%s: %s", redstore_err_name(rc), redstore_error_last());
	ck_assert_int_eq(sql_count(m.client, "SELECT count(*) FROM shifts WHERE store_id = $1", store, NULL), 0);
	ck_assert_int_eq(sql_count(m.client, "SELECT count(*) FROM audit_log WHERE store_id = $1", store, NULL), 0);
	/* The terminal retries with the same id until the cluster is back: one shift. */
	rs_test_mock_brokers(&m, 1);
	for (int i = 0; (rc = redstore_shift_open(&sh, m.client, id, NULL, 1000)) != 0; i++)
		ck_assert_msg(redstore_err_is_retriable(rc) && i < 30, "%s: %s", redstore_err_name(rc), redstore_error_last());
	ck_assert_int_eq(sh.duplicate, 0);
	RS_OK(redstore_shift_open(&sh, m.client, id, NULL, 1000));
	ck_assert_int_eq(sh.duplicate, 1);
	ck_assert_int_eq(sql_count(m.client, "SELECT count(*) FROM shifts WHERE store_id = $1", store, NULL), 1);
	ck_assert_int_eq(sql_count(m.client, "SELECT count(*) FROM audit_log WHERE store_id = $1 AND action = 'shift.opened'",
	                           store, NULL),
	                 1);
	rs_test_mock_stop(&m);
}
END_TEST

/* ------------------------------------------------------------ redstore-cli shift */

#ifdef REDSTORE_CLI
/* Runs redstore-cli on this run's topics; returns its exit status, its output (stdout and stderr) in out. */
static int cli(char *out, size_t cap, const char *fmt, ...) REDSTORE_TEST_PRINTF(3, 4);
static int cli(char *out, size_t cap, const char *fmt, ...)
{
	char args[1000], cmd[1400];
	va_list ap;
	size_t got;
	FILE *p;
	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "REDSTORE_KAFKA_TOPIC_PREFIX='%s' '%s' %s 2>&1", topic_prefix, REDSTORE_CLI, args);
	ck_assert_ptr_nonnull(p = popen(cmd, "r"));
	got = fread(out, 1, cap - 1, p);
	out[got] = '\0';
	return WEXITSTATUS(pclose(p));
}

static int64_t json_int(const char *text, const char *key)
{
	cJSON *o = cJSON_Parse(text), *v;
	int64_t n;
	ck_assert_msg(o != NULL, "not JSON: %s", text);
	v = cJSON_GetObjectItemCaseSensitive(o, key);
	ck_assert_msg(cJSON_IsNumber(v), "no number \"%s\" in %s", key, text);
	n = (int64_t)cJSON_GetNumberValue(v);
	cJSON_Delete(o);
	return n;
}

START_TEST(shift_cli_opens_moves_reports_and_closes_a_drawer)
{
	redstore_config *cfg = own_topics_config();
	redstore_client *c;
	char store[65], out[8192], shift[REDSTORE_ID_SIZE];

	RS_OK(redstore_client_new(&c, cfg));
	RS_OK(redstore_db_migrate(c, NULL));
	rs_test_store(c, "shc", store, 0);
	ck_assert_int_eq(cli(out, sizeof(out), "shift open --store '%s' --terminal till-C --employee ann --float 5000"
	                                       " --format json", store),
	                 0);
	{
		cJSON *o = cJSON_Parse(out);
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "shift_id");
		ck_assert_msg(cJSON_IsString(id), "redstore-cli said: %s", out);
		snprintf(shift, sizeof(shift), "%s", id->valuestring);
		cJSON_Delete(o);
	}
	ck_assert_int_eq(cli(out, sizeof(out), "shift paid-in --store '%s' --shift %s --employee ann --amount 1000"
	                                       " --reason 'change from the bank'", store, shift),
	                 0);
	/* Bad input: a usage error (2) or the library's refusal (1), and nothing written. */
	ck_assert_int_eq(cli(out, sizeof(out), "shift paid-out --store '%s' --shift %s --employee ann --amount 100",
	                     store, shift),
	                 2);
	ck_assert_int_eq(cli(out, sizeof(out), "shift paid-out --store '%s' --shift %s --employee ann --amount 0"
	                                       " --reason x", store, shift),
	                 1);
	ck_assert_msg(strstr(out, "REDSTORE_EINVALID"), "redstore-cli said: %s", out);
	ck_assert_int_eq(cli(out, sizeof(out), "shift z --store '%s' --shift %s", store, shift), 1);
	ck_assert_msg(strstr(out, "REDSTORE_ECONFLICT"), "redstore-cli said: %s", out);
	ck_assert_int_eq(cli(out, sizeof(out), "shift x --store '%s' --terminal till-C --format json", store), 0);
	ck_assert_int_eq(json_int(out, "expected_cash"), 6000);
	ck_assert_int_eq(cli(out, sizeof(out), "shift close --store '%s' --shift %s --employee ann --counted 5990", store,
	                     shift),
	                 0);
	ck_assert_int_eq(cli(out, sizeof(out), "shift x --store '%s' --shift %s", store, shift), 0);
	ck_assert_msg(strstr(out, "X REPORT") && strstr(out, "difference") && strstr(out, "-10"), "redstore-cli said: %s",
	              out);
	ck_assert_int_eq(sql_count(c, "SELECT count(*) FROM shift_cash_movements WHERE store_id = $1", store, NULL), 1);
	redstore_client_free(c);
	redstore_config_free(cfg);
}
END_TEST
#endif

int main(void)
{
	Suite *s = suite_create("shift");
	rs_test_unique(topic_prefix, sizeof(topic_prefix) - 1, "shift");
	for (char *q = topic_prefix; *q; q++)
		if (*q == '-')
			*q = '_';
	strcat(topic_prefix, ".");
	TCase *tc = tcase_create("shift");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, shift_expected_cash_and_reports_count_projected_cash_sales_refunds_and_movements);
	tcase_add_test(tc, shift_concurrent_opens_on_one_terminal_exactly_one_succeeds);
	tcase_add_test(tc, shift_z_numbers_are_gap_free_per_terminal_under_concurrency_and_immutable);
	tcase_add_test(tc, shift_cashier_acts_on_own_shift_manager_on_others_and_every_action_is_audited);
	tcase_add_test(tc, shift_bad_input_is_refused_with_nothing_written);
	tcase_add_test(tc, shift_open_with_kafka_down_writes_nothing_and_the_retry_opens_once);
#ifdef REDSTORE_CLI
	tcase_add_test(tc, shift_cli_opens_moves_reports_and_closes_a_drawer);
#endif
	suite_add_tcase(s, tc);
	return rs_test_run(s);
}
