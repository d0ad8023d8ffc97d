/* Group commit (redstore/commit.h) against the real engines: many threads through one committer never
 * oversell, duplicates inside and across batches have one effect, an out-of-stock sale is refused alone in
 * its batch, a Kafka outage during a batch leaves every sale retriable with its stock restored.
 *
 * Batches are made deterministic with a gate: a first sale whose completion blocks the committer's only
 * thread until the test has queued everything it wants in the next batch. */
#include "testutil.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------ helpers */

/* Collects the completions of submitted sales. */
typedef struct results {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done, ok, duplicates, out_of_stock, retriable, other;
	int64_t total[64];      /* receipts' totals by slot */
	char sale_id[64][40];   /* receipts' sale ids by slot */
	int rc[64];
	/* the gate: the first completion waits until `open` */
	bool gated, open;
} results;

typedef struct slot {
	results *r;
	int i;
} slot;

static void results_init(results *r)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
}

static void results_destroy(results *r)
{
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
}

static void on_done(int rc, redstore_receipt *receipt, void *payload)
{
	slot *s = payload;
	results *r = s->r;
	pthread_mutex_lock(&r->mu);
	if (s->i >= 0 && s->i < 64) {
		r->rc[s->i] = rc;
		if (receipt) {
			r->total[s->i] = receipt->total;
			snprintf(r->sale_id[s->i], sizeof(r->sale_id[s->i]), "%s", receipt->sale_id);
		}
	}
	if (!rc && receipt->duplicate)
		r->duplicates++;
	else if (!rc)
		r->ok++;
	else if (rc == REDSTORE_EOUT_OF_STOCK)
		r->out_of_stock++;
	else if (redstore_err_is_retriable(rc))
		r->retriable++;
	else
		r->other++;
	ck_assert_msg(rc == 0 || strlen(redstore_error_last()) > 0, "a failed completion without a message");
	r->done++;
	pthread_cond_broadcast(&r->cv);
	if (r->gated)
		while (!r->open)
			pthread_cond_wait(&r->cv, &r->mu);
	pthread_mutex_unlock(&r->mu);
	redstore_receipt_free(receipt);
}

static void wait_done(results *r, int n)
{
	pthread_mutex_lock(&r->mu);
	while (r->done < n)
		pthread_cond_wait(&r->cv, &r->mu);
	pthread_mutex_unlock(&r->mu);
}

static void open_gate(results *r)
{
	pthread_mutex_lock(&r->mu);
	r->open = true;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

static redstore_sale *one_line(const char *id, const char *sku, int64_t qty, int64_t cash)
{
	redstore_sale *s;
	RS_OK(redstore_sale_new(&s, id));
	RS_OK(redstore_sale_add_line(s, sku, qty, NULL));
	RS_OK(redstore_sale_add_tender(s, REDSTORE_TENDER_CASH, cash, NULL));
	return s;
}

static redstore_committer *one_thread_committer(redstore_client *c)
{
	redstore_committer_options o = { .threads = 1 };
	redstore_committer *cm;
	RS_OK(redstore_committer_new(&cm, redstore_client_config(c), &o));
	return cm;
}

/* Submits a gate sale and waits until its completion holds the committer's thread: whatever is submitted
 * next waits together and is taken as one batch when the gate opens. */
static void close_gate(redstore_committer *cm, redstore_client *c, results *r, slot *gs, const char *sku)
{
	redstore_sale *g = one_line(NULL, sku, 1, 1000);
	r->gated = true;
	gs->r = r;
	gs->i = 63;
	RS_OK(redstore_sale_submit(cm, c, g, on_done, gs));
	redstore_sale_free(g);
	wait_done(r, 1);
}

/* ------------------------------------------------------------------ tests */

START_TEST(commit_batches_whatever_waits_and_answers_each_caller)
{
	redstore_client *c = rs_test_client();
	redstore_committer *cm = one_thread_committer(c);
	redstore_committer_stats st;
	results r;
	slot gs, sl[40];
	char store[65];

	results_init(&r);
	rs_test_store(c, "gcb", store, 0);
	rs_test_product(c, "TEA", 300, "", REDSTORE_STOCK_DENY, 100);
	close_gate(cm, c, &r, &gs, "TEA");
	for (int i = 0; i < 40; i++) {
		redstore_sale *s = one_line(NULL, "TEA", 1, 300);
		sl[i].r = &r;
		sl[i].i = i;
		RS_OK(redstore_sale_submit(cm, c, s, on_done, &sl[i]));
		redstore_sale_free(s); /* the committer keeps what it needs */
	}
	redstore_committer_get_stats(&st, cm);
	ck_assert_int_eq(st.waiting, 40);
	open_gate(&r);
	wait_done(&r, 41);
	ck_assert_int_eq(r.ok, 41);
	for (int i = 0; i < 40; i++)
		ck_assert_int_eq(r.total[i], 300);
	redstore_committer_get_stats(&st, cm);
	ck_assert_int_eq(st.operations, 41);
	ck_assert_int_eq(st.max_batch, 40);
	ck_assert_int_eq(st.batches, 2);
	ck_assert_int_eq(rs_test_available(c, "TEA"), 59);
	redstore_committer_free(cm);
	results_destroy(&r);
	redstore_client_free(c);
}
END_TEST

START_TEST(commit_duplicates_inside_and_across_batches_have_one_effect_and_one_receipt)
{
	redstore_client *c = rs_test_client();
	redstore_committer *cm = one_thread_committer(c);
	redstore_sale *s;
	redstore_receipt *again;
	results r;
	slot gs, sl[6];
	char store[65], id[REDSTORE_ID_SIZE];

	results_init(&r);
	rs_test_store(c, "gcd", store, 0);
	rs_test_product(c, "CAKE", 450, "", REDSTORE_STOCK_DENY, 10);
	RS_OK(redstore_id_new(id));
	close_gate(cm, c, &r, &gs, "CAKE");
	s = one_line(id, "CAKE", 2, 900);
	for (int i = 0; i < 6; i++) {
		sl[i].r = &r;
		sl[i].i = i;
		RS_OK(redstore_sale_submit(cm, c, s, on_done, &sl[i]));
	}
	open_gate(&r);
	wait_done(&r, 7);
	/* The gate sale and one of the six are new; the other five are duplicates of that one. */
	ck_assert_int_eq(r.ok, 2);
	ck_assert_int_eq(r.duplicates, 5);
	for (int i = 0; i < 6; i++) {
		ck_assert_int_eq(r.rc[i], 0);
		ck_assert_int_eq(r.total[i], 900);
		ck_assert_str_eq(r.sale_id[i], id);
	}
	ck_assert_int_eq(rs_test_available(c, "CAKE"), 10 - 1 - 2);
	/* Across batches, through a blocking commit on the committer: still the first receipt. */
	redstore_client_set_committer(c, cm);
	RS_OK(redstore_sale_commit(&again, c, s));
	ck_assert_int_eq(again->duplicate, 1);
	ck_assert_int_eq(again->total, 900);
	ck_assert_int_eq(rs_test_available(c, "CAKE"), 7);
	redstore_receipt_free(again);
	redstore_client_set_committer(c, NULL);
	redstore_sale_free(s);
	redstore_committer_free(cm);
	results_destroy(&r);
	redstore_client_free(c);
}
END_TEST

START_TEST(commit_an_out_of_stock_sale_is_refused_alone_in_its_batch)
{
	redstore_client *c = rs_test_client();
	redstore_committer *cm = one_thread_committer(c);
	results r;
	slot gs, sl[6];
	char store[65];

	results_init(&r);
	rs_test_store(c, "gco", store, 0);
	rs_test_product(c, "GATE", 100, "", REDSTORE_STOCK_DENY, 1);
	rs_test_product(c, "LAST", 100, "", REDSTORE_STOCK_DENY, 5);
	close_gate(cm, c, &r, &gs, "GATE");
	for (int i = 0; i < 6; i++) {
		/* 1 + 1 + 10 + 1 + 1 + 1: the third asks for more than there is; the others fit exactly. */
		redstore_sale *s = one_line(NULL, "LAST", i == 2 ? 10 : 1, i == 2 ? 1000 : 100);
		sl[i].r = &r;
		sl[i].i = i;
		RS_OK(redstore_sale_submit(cm, c, s, on_done, &sl[i]));
		redstore_sale_free(s);
	}
	open_gate(&r);
	wait_done(&r, 7);
	ck_assert_int_eq(r.rc[2], REDSTORE_EOUT_OF_STOCK);
	ck_assert_int_eq(r.out_of_stock, 1);
	ck_assert_int_eq(r.ok, 6);
	ck_assert_int_eq(rs_test_available(c, "LAST"), 0);
	redstore_committer_free(cm);
	results_destroy(&r);
	redstore_client_free(c);
}
END_TEST

typedef struct seller {
	redstore_client *c;
	int sold, refused;
} seller;

static void *sell_until_out(void *arg)
{
	seller *me = arg;
	for (;;) {
		redstore_sale *s = one_line(NULL, "HOT", 1, 100);
		redstore_receipt *r = NULL;
		int rc = redstore_sale_commit(&r, me->c, s);
		redstore_sale_free(s);
		redstore_receipt_free(r);
		if (rc == REDSTORE_EOUT_OF_STOCK) {
			me->refused++;
			break;
		}
		ck_assert_msg(rc == 0, "%s: %s", redstore_err_name(rc), redstore_error_last());
		me->sold++;
	}
	return NULL;
}

START_TEST(commit_64_threads_through_one_committer_sell_exactly_the_stock)
{
	redstore_client *c = rs_test_client();
	redstore_committer_options o = { .threads = 2 };
	redstore_committer *cm;
	redstore_committer_stats st;
	pthread_t t[64];
	seller sv[64];
	char store[65];
	int sold = 0;

	rs_test_store(c, "gc64", store, 0);
	rs_test_product(c, "HOT", 100, "", REDSTORE_STOCK_DENY, 500);
	RS_OK(redstore_committer_new(&cm, redstore_client_config(c), &o));
	for (int i = 0; i < 64; i++) {
		memset(&sv[i], 0, sizeof(sv[i]));
		sv[i].c = rs_test_client();
		RS_OK(redstore_client_use_store(sv[i].c, store));
		redstore_client_set_committer(sv[i].c, cm);
		ck_assert_int_eq(pthread_create(&t[i], NULL, sell_until_out, &sv[i]), 0);
	}
	for (int i = 0; i < 64; i++) {
		pthread_join(t[i], NULL);
		sold += sv[i].sold;
		ck_assert_int_eq(sv[i].refused, 1);
		redstore_client_free(sv[i].c);
	}
	ck_assert_int_eq(sold, 500);
	ck_assert_int_eq(rs_test_available(c, "HOT"), 0);
	redstore_committer_get_stats(&st, cm);
	ck_assert_int_eq(st.operations, 500 + 64);
	redstore_committer_free(cm);
	redstore_client_free(c);
}
END_TEST

START_TEST(commit_kafka_down_during_a_batch_leaves_every_sale_retriable_then_once)
{
	rs_test_mock m;
	redstore_committer *cm;
	redstore_sale *s[8];
	results r, r2;
	slot sl[8], sl2[8];
	char store[65];

	results_init(&r);
	results_init(&r2);
	rs_test_mock_start(&m, 1500);
	rs_test_store(m.client, "gck", store, 0);
	rs_test_product(m.client, "K", 100, "", REDSTORE_STOCK_DENY, 20);
	cm = one_thread_committer(m.client);
	rs_test_mock_brokers(&m, 0);
	for (int i = 0; i < 8; i++) {
		s[i] = one_line(NULL, "K", 2, 200);
		sl[i].r = &r;
		sl[i].i = i;
		RS_OK(redstore_sale_submit(cm, m.client, s[i], on_done, &sl[i]));
	}
	wait_done(&r, 8);
	ck_assert_int_eq(r.retriable, 8);
	ck_assert_int_eq(rs_test_available(m.client, "K"), 20);
	rs_test_mock_brokers(&m, 1);
	/* Every terminal retries its sale with the same id until the cluster takes it. */
	for (int round = 0, left = 8; left > 0; round++) {
		ck_assert_int_lt(round, 30);
		results_destroy(&r2);
		results_init(&r2);
		for (int i = 0; i < 8; i++) {
			sl2[i].r = &r2;
			sl2[i].i = i;
			RS_OK(redstore_sale_submit(cm, m.client, s[i], on_done, &sl2[i]));
		}
		wait_done(&r2, 8);
		ck_assert_int_eq(r2.other + r2.out_of_stock, 0);
		left = r2.retriable;
		ck_assert_int_ge(rs_test_available(m.client, "K"), 4);
	}
	ck_assert_int_eq(rs_test_available(m.client, "K"), 4);
	for (int i = 0; i < 8; i++)
		redstore_sale_free(s[i]);
	redstore_committer_free(cm);
	rs_test_mock_stop(&m);
	results_destroy(&r);
	results_destroy(&r2);
}
END_TEST

START_TEST(commit_submit_refuses_a_bad_sale_at_once_and_never_calls_back)
{
	redstore_client *c = rs_test_client();
	redstore_committer *cm = one_thread_committer(c);
	redstore_committer_options bad = { .threads = 65 };
	redstore_committer *none = NULL;
	redstore_sale *s;
	results r;
	slot sl = { &r, 0 };
	char store[65];

	results_init(&r);
	rs_test_store(c, "gcx", store, 0);
	s = one_line(NULL, "NO-SUCH-SKU", 1, 100);
	ck_assert_int_eq(redstore_sale_submit(cm, c, s, on_done, &sl), REDSTORE_ENOTFOUND);
	ck_assert_ptr_nonnull(strstr(redstore_error_last(), "NO-SUCH-SKU"));
	redstore_sale_free(s);
	ck_assert_int_eq(redstore_committer_new(&none, NULL, &bad), REDSTORE_EINVALID);
	ck_assert_ptr_null(none);
	ck_assert_ptr_nonnull(strstr(redstore_error_last(), "threads"));
	redstore_committer_free(cm);
	ck_assert_int_eq(r.done, 0);
	redstore_committer_free(NULL);
	results_destroy(&r);
	redstore_client_free(c);
}
END_TEST

START_TEST(commit_free_finishes_every_submitted_sale)
{
	redstore_client *c = rs_test_client();
	redstore_committer *cm = one_thread_committer(c);
	results r;
	slot sl[50];
	char store[65];

	results_init(&r);
	rs_test_store(c, "gcf", store, 0);
	rs_test_product(c, "BUN", 100, "", REDSTORE_STOCK_DENY, 100);
	for (int i = 0; i < 50; i++) {
		redstore_sale *s = one_line(NULL, "BUN", 1, 100);
		sl[i].r = &r;
		sl[i].i = i;
		RS_OK(redstore_sale_submit(cm, c, s, on_done, &sl[i]));
		redstore_sale_free(s);
	}
	redstore_committer_free(cm);
	ck_assert_int_eq(r.done, 50);
	ck_assert_int_eq(r.ok, 50);
	ck_assert_int_eq(rs_test_available(c, "BUN"), 50);
	results_destroy(&r);
	redstore_client_free(c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("commit");
	TCase *tc = tcase_create("group commit");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, commit_batches_whatever_waits_and_answers_each_caller);
	tcase_add_test(tc, commit_duplicates_inside_and_across_batches_have_one_effect_and_one_receipt);
	tcase_add_test(tc, commit_an_out_of_stock_sale_is_refused_alone_in_its_batch);
	tcase_add_test(tc, commit_64_threads_through_one_committer_sell_exactly_the_stock);
	tcase_add_test(tc, commit_kafka_down_during_a_batch_leaves_every_sale_retriable_then_once);
	tcase_add_test(tc, commit_submit_refuses_a_bad_sale_at_once_and_never_calls_back);
	tcase_add_test(tc, commit_free_finishes_every_submitted_sale);
	suite_add_tcase(s, tc);
	return rs_test_run(s);
}
