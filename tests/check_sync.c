/* Sync: a store's changes read in order from any point, gaps reported as resync, snapshots that say
 * where to continue, and a reader blocked on the stream woken by a sale on another connection. */
#include "testutil.h"
#include "engines/engines_int.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

START_TEST(sync_reads_every_change_in_order_from_any_point)
{
	redstore_client *c = rs_test_client();
	char store[65], ids[10][REDSTORE_STREAM_ID_SIZE];
	redstore_changes *ch;
	rs_test_store(c, "sync", store, 0);
	rs_test_product(c, "A", 100, "standard", REDSTORE_STOCK_DENY, 100);
	rs_test_product(c, "B", 200, "standard", REDSTORE_STOCK_DENY, 100);
	/* the receipts of the fixtures are changes too: start after them */
	RS_OK(redstore_sync_read(&ch, c, "0", 100, 0));
	ck_assert_int_eq(ch->resync, 0);
	ck_assert_uint_eq(ch->count, 2);
	ck_assert_str_eq(ch->items[1].lines[0].sku, "B");
	ck_assert_int_eq(ch->items[1].lines[0].on_hand, 100);
	snprintf(ids[0], sizeof(ids[0]), "%s", ch->last_id);
	redstore_changes_free(ch);
	for (int i = 1; i < 10; i++)
		rs_test_sell(c, i % 2 ? "A" : "B", 1, ids[i]);
	RS_OK(redstore_sync_read(&ch, c, ids[0], 100, 0));
	ck_assert_uint_eq(ch->count, 9);
	for (int i = 0; i < 9; i++) {
		const redstore_change *x = &ch->items[i];
		ck_assert_str_eq(x->id, ids[i + 1]);
		ck_assert_str_eq(x->type, "sale.completed");
		ck_assert_uint_eq(x->line_count, 1);
		ck_assert_int_eq(x->lines[0].delta, -1);
		ck_assert_ptr_nonnull(strstr(x->json, x->id));
	}
	ck_assert_int_eq(ch->items[8].lines[0].on_hand, 95); /* A: sold at 1,3,5,7,9 */
	ck_assert_str_eq(ch->last_id, ids[9]);
	redstore_changes_free(ch);
	/* From the middle, a page at a time. */
	RS_OK(redstore_sync_read(&ch, c, ids[4], 3, 0));
	ck_assert_uint_eq(ch->count, 3);
	ck_assert_str_eq(ch->items[0].id, ids[5]);
	ck_assert_str_eq(ch->last_id, ids[7]);
	redstore_changes_free(ch);
	/* Up to date: nothing, and the same resume point. */
	RS_OK(redstore_sync_read(&ch, c, ids[9], 100, 0));
	ck_assert_uint_eq(ch->count, 0);
	ck_assert_int_eq(ch->resync, 0);
	ck_assert_str_eq(ch->last_id, ids[9]);
	redstore_changes_free(ch);
	redstore_client_free(c);
}
END_TEST

START_TEST(sync_reports_resync_when_the_stream_no_longer_holds_the_point)
{
	redstore_config *cfg = rs_test_config();
	redstore_client *c;
	char store[65], first[REDSTORE_STREAM_ID_SIZE], last[REDSTORE_STREAM_ID_SIZE];
	redstore_changes *ch;
	redstore_snapshot *snap;
	RS_OK(redstore_config_set(cfg, "sync.stream_maxlen", "100"));
	RS_OK(redstore_client_new(&c, cfg));
	rs_test_store(c, "gap", store, 0);
	rs_test_product(c, "A", 100, "standard", REDSTORE_STOCK_DENY, 1000);
	rs_test_sell(c, "A", 1, first);
	/* Far more than the stream keeps (MAXLEN ~ trims whole nodes: go well past it). */
	for (int i = 0; i < 400; i++)
		rs_test_sell(c, "A", 1, last);
	RS_OK(redstore_sync_read(&ch, c, first, 100, 0));
	ck_assert_int_eq(ch->resync, 1);
	ck_assert_uint_eq(ch->count, 0);
	redstore_changes_free(ch);
	/* The snapshot says where to continue, and the stock as of exactly that change. */
	RS_OK(redstore_sync_snapshot(&snap, c));
	ck_assert_str_eq(snap->stream_id, last);
	ck_assert_uint_eq(snap->count, 1);
	ck_assert_str_eq(snap->lines[0].sku, "A");
	ck_assert_int_eq(snap->lines[0].on_hand, 1000 - 401);
	RS_OK(redstore_sync_read(&ch, c, snap->stream_id, 100, 0));
	ck_assert_int_eq(ch->resync, 0);
	ck_assert_uint_eq(ch->count, 0);
	redstore_changes_free(ch);
	redstore_snapshot_free(snap);
	redstore_client_free(c);
	redstore_config_free(cfg);
}
END_TEST

typedef struct waiter {
	const redstore_config *cfg;
	char store[65];
	char after[REDSTORE_STREAM_ID_SIZE];
	redstore_changes *got;
	int rc;
} waiter;

static void *wait_main(void *arg)
{
	waiter *w = arg;
	redstore_client *c;
	if ((w->rc = redstore_client_new(&c, w->cfg)) == 0) {
		redstore_client_use_store(c, w->store);
		w->rc = redstore_sync_read(&w->got, c, w->after, 10, 3000);
		redstore_client_free(c);
	}
	return NULL;
}

START_TEST(sync_a_waiting_reader_is_woken_by_a_sale_on_another_connection)
{
	redstore_config *cfg = rs_test_config();
	redstore_client *c;
	redstore_snapshot *snap;
	waiter w;
	pthread_t t;
	char sold[REDSTORE_STREAM_ID_SIZE];
	memset(&w, 0, sizeof(w));
	RS_OK(redstore_client_new(&c, cfg));
	rs_test_store(c, "wait", w.store, 0);
	rs_test_product(c, "A", 100, "standard", REDSTORE_STOCK_DENY, 10);
	RS_OK(redstore_sync_snapshot(&snap, c));
	snprintf(w.after, sizeof(w.after), "%s", snap->stream_id);
	redstore_snapshot_free(snap);
	w.cfg = cfg;
	ck_assert_int_eq(pthread_create(&t, NULL, wait_main, &w), 0);
	/* Whether the reader is already blocked or not yet reading, the sale is after its point: it gets it. */
	rs_test_sell(c, "A", 2, sold);
	pthread_join(t, NULL);
	RS_OK(w.rc);
	ck_assert_uint_eq(w.got->count, 1);
	ck_assert_str_eq(w.got->items[0].id, sold);
	ck_assert_int_eq(w.got->items[0].lines[0].on_hand, 8);
	redstore_changes_free(w.got);
	redstore_client_free(c);
	redstore_config_free(cfg);
}
END_TEST

START_TEST(sync_bad_arguments_are_refused)
{
	redstore_client *c = rs_test_client();
	char store[65];
	redstore_changes *ch = (redstore_changes *)1;
	RS_FAILS(REDSTORE_EINVALID, redstore_sync_read(&ch, c, "0", 10, 0)); /* no store yet */
	ck_assert_ptr_null(ch);
	rs_test_store(c, "bad", store, 0);
	RS_FAILS(REDSTORE_EINVALID, redstore_sync_read(&ch, c, "12-", 10, 0));
	ck_assert_ptr_nonnull(strstr(redstore_error_last(), "12-"));
	RS_FAILS(REDSTORE_EINVALID, redstore_sync_read(&ch, c, "abc", 10, 0));
	RS_FAILS(REDSTORE_EINVALID, redstore_sync_read(&ch, c, "", 10, 0));
	RS_FAILS(REDSTORE_EINVALID, redstore_sync_read(&ch, c, NULL, 10, 0));
	RS_FAILS(REDSTORE_EINVALID, redstore_sync_read(&ch, c, "0", 0, 0));
	RS_FAILS(REDSTORE_EINVALID, redstore_sync_read(&ch, c, "0", 10001, 0));
	RS_FAILS(REDSTORE_EINVALID, redstore_sync_read(&ch, c, "0", 10, 600000));
	RS_FAILS(REDSTORE_EINVALID, redstore_sync_read(&ch, c, "0", 10, -1));
	/* A store with no changes at all: nothing, no resync. */
	RS_OK(redstore_sync_read(&ch, c, "0", 10, 0));
	ck_assert_uint_eq(ch->count, 0);
	ck_assert_int_eq(ch->resync, 0);
	redstore_changes_free(ch);
	redstore_client_free(c);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("sync");
	TCase *tc = tcase_create("sync");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, sync_reads_every_change_in_order_from_any_point);
	tcase_add_test(tc, sync_reports_resync_when_the_stream_no_longer_holds_the_point);
	tcase_add_test(tc, sync_a_waiting_reader_is_woken_by_a_sale_on_another_connection);
	tcase_add_test(tc, sync_bad_arguments_are_refused);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return rs_test_run(suite());
}
