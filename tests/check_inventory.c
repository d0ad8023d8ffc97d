/* Inventory operations against the real engines: each one atomic, exactly once, and bad input changes
 * nothing. */
#include "testutil.h"
#include "engines/engines_int.h"

#include <stdio.h>
#include <string.h>

static redstore_client *store_with(char *store, const char *prefix)
{
	redstore_client *c = rs_test_client();
	rs_test_store(c, prefix, store, 0);
	return c;
}

START_TEST(inventory_receive_adds_stock_once_per_operation_id)
{
	char store[65], id[REDSTORE_ID_SIZE];
	redstore_client *c = store_with(store, "recv");
	redstore_stock_line lines[2] = { { "A", 10, 150 }, { "B", 4, 90 } };
	redstore_stock_result *r1, *r2;
	rs_test_product(c, "A", 300, "", REDSTORE_STOCK_DENY, 0);
	rs_test_product(c, "B", 300, "", REDSTORE_STOCK_DENY, 0);
	RS_OK(redstore_id_new(id));
	RS_OK(redstore_stock_receive(&r1, c, id, "DN-1001", 2, lines));
	ck_assert_str_eq(r1->op_id, id);
	ck_assert_int_eq(r1->duplicate, 0);
	ck_assert_int_eq(r1->levels[0].on_hand, 10);
	ck_assert_int_eq(r1->levels[0].delta, 10);
	ck_assert_int_eq(r1->levels[1].available, 4);
	ck_assert_uint_gt(strlen(r1->stream_id), 0);
	RS_OK(redstore_stock_receive(&r2, c, id, "DN-1001", 2, lines));
	ck_assert_int_eq(r2->duplicate, 1);
	ck_assert_int_eq(r2->levels[0].on_hand, 10);
	ck_assert_int_eq(rs_test_available(c, "A"), 10);
	redstore_stock_result_free(r1);
	redstore_stock_result_free(r2);
	redstore_client_free(c);
}
END_TEST

START_TEST(inventory_bad_input_changes_nothing)
{
	char store[65], other[65];
	redstore_client *c = store_with(store, "badinv"), *o = rs_test_client();
	redstore_stock_result *r = NULL;
	redstore_stock_line zero = { "A", 0, 0 }, neg = { "A", -5, 0 }, unknown = { "GHOST", 1, 0 }, good = { "A", 1, 0 };
	redstore_stock_line two[2] = { { "A", 1, 0 }, { "GHOST", 1, 0 } };
	rs_test_product(c, "A", 100, "", REDSTORE_STOCK_DENY, 5);
	RS_FAILS(REDSTORE_EINVALID, redstore_stock_receive(&r, c, NULL, NULL, 1, &zero));
	ck_assert_ptr_nonnull(strstr(redstore_error_last(), "quantity 0"));
	RS_FAILS(REDSTORE_EINVALID, redstore_stock_receive(&r, c, NULL, NULL, 1, &neg));
	RS_FAILS(REDSTORE_ENOTFOUND, redstore_stock_receive(&r, c, NULL, NULL, 1, &unknown));
	ck_assert_ptr_nonnull(strstr(redstore_error_last(), "GHOST"));
	RS_FAILS(REDSTORE_ENOTFOUND, redstore_stock_receive(&r, c, NULL, NULL, 2, two));
	RS_FAILS(REDSTORE_EINVALID, redstore_stock_receive(&r, c, "not-an-id", NULL, 1, &good));
	RS_FAILS(REDSTORE_EINVALID, redstore_stock_receive(&r, c, NULL, NULL, 0, &good));
	RS_FAILS(REDSTORE_EINVALID, redstore_stock_adjust(&r, c, NULL, "A", 0, REDSTORE_ADJUST_DAMAGE, NULL));
	RS_FAILS(REDSTORE_EINVALID, redstore_stock_adjust(&r, c, NULL, "A", -6, REDSTORE_ADJUST_DAMAGE, NULL));
	ck_assert_ptr_nonnull(strstr(redstore_error_last(), "below zero"));
	RS_FAILS(REDSTORE_EINVALID, redstore_stock_adjust(&r, c, NULL, "A", -1, REDSTORE_ADJUST_OTHER, ""));
	RS_FAILS(REDSTORE_EINVALID, redstore_stock_adjust(&r, c, NULL, "A", -1, (redstore_adjust_reason)42, "x"));
	RS_FAILS(REDSTORE_EINVALID, redstore_transfer_send(&r, c, NULL, store, 1, &good));
	ck_assert_ptr_nonnull(strstr(redstore_error_last(), "sending store"));
	RS_FAILS(REDSTORE_ENOTFOUND, redstore_transfer_send(&r, c, NULL, "no-such-store-xyz", 1, &good));
	/* the destination exists but does not sell A */
	rs_test_store(o, "other", other, 0);
	RS_FAILS(REDSTORE_ENOTFOUND, redstore_transfer_send(&r, c, NULL, other, 1, &good));
	ck_assert_ptr_null(r);
	ck_assert_int_eq(rs_test_available(c, "A"), 5);
	{
		redstore_client *none = rs_test_client();
		RS_FAILS(REDSTORE_EINVALID, redstore_stock_receive(&r, none, NULL, NULL, 1, &good));
		ck_assert_ptr_nonnull(strstr(redstore_error_last(), "no store selected"));
		redstore_client_free(none);
	}
	redstore_client_free(o);
	redstore_client_free(c);
}
END_TEST

START_TEST(inventory_adjust_records_reason_and_respects_policy)
{
	char store[65];
	redstore_client *c = store_with(store, "adj");
	redstore_stock_result *r;
	rs_test_product(c, "A", 100, "", REDSTORE_STOCK_DENY, 10);
	rs_test_product(c, "SVC", 100, "", REDSTORE_STOCK_ALLOW, 0);
	RS_OK(redstore_stock_adjust(&r, c, NULL, "A", -3, REDSTORE_ADJUST_DAMAGE, "dropped"));
	ck_assert_int_eq(r->levels[0].on_hand, 7);
	ck_assert_int_eq(r->levels[0].delta, -3);
	redstore_stock_result_free(r);
	RS_OK(redstore_stock_adjust(&r, c, NULL, "SVC", -2, REDSTORE_ADJUST_CORRECTION, NULL));
	ck_assert_int_eq(r->levels[0].on_hand, -2);
	redstore_stock_result_free(r);
	ck_assert_str_eq(redstore_adjust_reason_name(REDSTORE_ADJUST_EXPIRY), "expiry");
	redstore_client_free(c);
}
END_TEST

START_TEST(inventory_count_sets_on_hand_and_reports_the_difference)
{
	char store[65];
	redstore_client *c = store_with(store, "count");
	redstore_stock_line counted[2] = { { "A", 7, 0 }, { "B", 0, 0 } }, twice[2] = { { "A", 1, 0 }, { "A", 2, 0 } };
	redstore_stock_result *r = NULL;
	rs_test_product(c, "A", 100, "", REDSTORE_STOCK_DENY, 10);
	rs_test_product(c, "B", 100, "", REDSTORE_STOCK_DENY, 3);
	RS_OK(redstore_stock_count(&r, c, NULL, 2, counted));
	ck_assert_int_eq(r->levels[0].on_hand, 7);
	ck_assert_int_eq(r->levels[0].delta, -3);
	ck_assert_int_eq(r->levels[1].on_hand, 0);
	ck_assert_int_eq(r->levels[1].delta, -3);
	redstore_stock_result_free(r);
	r = NULL;
	RS_FAILS(REDSTORE_EINVALID, redstore_stock_count(&r, c, NULL, 2, twice));
	redstore_client_free(c);
}
END_TEST

START_TEST(inventory_transfer_goes_out_in_transit_and_in_with_partial_receipts)
{
	char from[65], to[65];
	redstore_client *a = store_with(from, "xfa"), *b = store_with(to, "xfb");
	redstore_stock_line send[2] = { { "A", 6, 0 }, { "B", 2, 0 } };
	redstore_stock_line part1 = { "A", 4, 0 }, part2[2] = { { "A", 2, 0 }, { "B", 2, 0 } }, extra = { "A", 1, 0 };
	redstore_stock_line too_much = { "A", 50, 0 };
	redstore_stock_result *r = NULL, *again;
	char tid[REDSTORE_ID_SIZE];
	rs_test_product(a, "A", 100, "", REDSTORE_STOCK_DENY, 10);
	rs_test_product(a, "B", 100, "", REDSTORE_STOCK_DENY, 2);
	rs_test_product(b, "A", 100, "", REDSTORE_STOCK_DENY, 0);
	rs_test_product(b, "B", 100, "", REDSTORE_STOCK_DENY, 0);
	RS_FAILS(REDSTORE_EOUT_OF_STOCK, redstore_transfer_send(&r, a, NULL, to, 1, &too_much));
	ck_assert_int_eq(rs_test_available(a, "A"), 10);
	RS_OK(redstore_transfer_send(&r, a, NULL, to, 2, send));
	snprintf(tid, sizeof(tid), "%s", r->op_id);
	redstore_stock_result_free(r);
	ck_assert_int_eq(rs_test_available(a, "A"), 4);
	ck_assert_int_eq(rs_test_available(a, "B"), 0);
	ck_assert_int_eq(rs_test_available(b, "A"), 0);
	/* sending again under the same id changes nothing */
	RS_OK(redstore_transfer_send(&again, a, tid, to, 2, send));
	ck_assert_int_eq(again->duplicate, 1);
	redstore_stock_result_free(again);
	ck_assert_int_eq(rs_test_available(a, "A"), 4);
	/* receiving at the sending store: not the destination */
	RS_FAILS(REDSTORE_ENOTFOUND, redstore_transfer_receive(&r, a, NULL, tid, 1, &part1));
	RS_OK(redstore_transfer_receive(&r, b, NULL, tid, 1, &part1));
	ck_assert_int_eq(r->levels[0].on_hand, 4);
	redstore_stock_result_free(r);
	RS_OK(redstore_transfer_receive(&r, b, NULL, tid, 2, part2));
	redstore_stock_result_free(r);
	r = NULL;
	ck_assert_int_eq(rs_test_available(b, "A"), 6);
	ck_assert_int_eq(rs_test_available(b, "B"), 2);
	RS_FAILS(REDSTORE_EINVALID, redstore_transfer_receive(&r, b, NULL, tid, 1, &extra));
	ck_assert_ptr_nonnull(strstr(redstore_error_last(), "in transit"));
	ck_assert_int_eq(rs_test_available(b, "A"), 6);
	redstore_client_free(a);
	redstore_client_free(b);
}
END_TEST

START_TEST(inventory_reservations_hold_stock_until_released_or_expired)
{
	char store[65], rid[REDSTORE_ID_SIZE];
	redstore_client *c = store_with(store, "resv");
	redstore_stock_line hold = { "A", 6, 0 }, part = { "A", 2, 0 }, more = { "A", 5, 0 };
	redstore_stock_result *r = NULL;
	redstore_stock_level l;
	const char *sku = "A";
	size_t released;
	char key[REDSTORE_KEY_MAX];
	rs_test_product(c, "A", 100, "", REDSTORE_STOCK_DENY, 10);
	RS_FAILS(REDSTORE_EINVALID, redstore_reservation_create(&r, c, NULL, 1000, 1, &hold));
	RS_OK(redstore_reservation_create(&r, c, NULL, redstore__wall_ms() + 3600000, 1, &hold));
	snprintf(rid, sizeof(rid), "%s", r->op_id);
	redstore_stock_result_free(r);
	r = NULL;
	RS_OK(redstore_stock_get(&l, c, 1, &sku));
	ck_assert_int_eq(l.on_hand, 10);
	ck_assert_int_eq(l.reserved, 6);
	ck_assert_int_eq(l.available, 4);
	RS_FAILS(REDSTORE_EOUT_OF_STOCK, redstore_reservation_create(&r, c, NULL, redstore__wall_ms() + 3600000, 1, &more));
	RS_OK(redstore_reservation_release(&r, c, NULL, rid, 1, &part));
	ck_assert_int_eq(r->levels[0].reserved, 4);
	redstore_stock_result_free(r);
	r = NULL;
	RS_FAILS(REDSTORE_EINVALID, redstore_reservation_release(&r, c, NULL, rid, 1, &more));
	/* Expire it: move its expiry into the past, as time would. */
	RS_OK(redstore__redis_cmd(NULL, c, "ZADD %s 1 %s", redstore__key(key, store, "resvexp"), rid));
	RS_OK(redstore_reservation_expire(c, &released));
	ck_assert_uint_eq(released, 1);
	RS_OK(redstore_stock_get(&l, c, 1, &sku));
	ck_assert_int_eq(l.reserved, 0);
	ck_assert_int_eq(l.available, 10);
	RS_OK(redstore_reservation_expire(c, &released));
	ck_assert_uint_eq(released, 0);
	redstore_client_free(c);
}
END_TEST

START_TEST(inventory_release_all_retried_with_its_id_answers_the_first_release)
{
	char store[65], rid[REDSTORE_ID_SIZE], lid[REDSTORE_ID_SIZE], other[REDSTORE_ID_SIZE];
	redstore_client *c = store_with(store, "rall");
	redstore_stock_line hold[2] = { { "A", 3, 0 }, { "B", 2, 0 } };
	redstore_stock_result *r = NULL;
	rs_test_product(c, "A", 100, "", REDSTORE_STOCK_DENY, 10);
	rs_test_product(c, "B", 100, "", REDSTORE_STOCK_DENY, 10);
	RS_OK(redstore_reservation_create(&r, c, NULL, redstore__wall_ms() + 3600000, 2, hold));
	snprintf(rid, sizeof(rid), "%s", r->op_id);
	redstore_stock_result_free(r);
	RS_OK(redstore_id_new(lid));
	RS_OK(redstore_reservation_release(&r, c, lid, rid, 0, NULL));
	ck_assert_int_eq(r->duplicate, 0);
	ck_assert_uint_eq(r->count, 2);
	ck_assert_int_eq(r->levels[0].reserved + r->levels[1].reserved, 0);
	redstore_stock_result_free(r);
	/* the same release again (a lost answer): the first one's answer, nothing released twice */
	RS_OK(redstore_reservation_release(&r, c, lid, rid, 0, NULL));
	ck_assert_int_eq(r->duplicate, 1);
	ck_assert_str_eq(r->op_id, lid);
	ck_assert_uint_eq(r->count, 2);
	ck_assert_int_eq(r->levels[0].on_hand, 10);
	ck_assert_int_eq(r->levels[0].reserved, 0);
	redstore_stock_result_free(r);
	/* another release of the empty reservation is still refused */
	RS_OK(redstore_id_new(other));
	RS_FAILS(REDSTORE_EINVALID, redstore_reservation_release(&r, c, other, rid, 0, NULL));
	RS_FAILS(REDSTORE_EINVALID, redstore_reservation_release(&r, c, NULL, rid, 0, NULL));
	ck_assert_int_eq(rs_test_available(c, "A"), 10);
	ck_assert_int_eq(rs_test_available(c, "B"), 10);
	redstore_client_free(c);
}
END_TEST

START_TEST(inventory_low_stock_is_detected_when_available_crosses_the_threshold)
{
	char store[65];
	redstore_client *c = store_with(store, "low");
	redstore_product p;
	redstore_stock_result *r;
	memset(&p, 0, sizeof(p));
	p.sku = "L";
	p.name = "Low";
	p.price = 100;
	p.low_stock_threshold = 5;
	p.active = 1;
	RS_OK(redstore_product_create(c, &p));
	{
		redstore_stock_line in = { "L", 8, 0 };
		RS_OK(redstore_stock_receive(&r, c, NULL, NULL, 1, &in));
		ck_assert_int_eq(r->levels[0].low_stock, 0);
		redstore_stock_result_free(r);
	}
	RS_OK(redstore_stock_adjust(&r, c, NULL, "L", -2, REDSTORE_ADJUST_THEFT, NULL));
	ck_assert_int_eq(r->levels[0].crossed_low, 0);
	redstore_stock_result_free(r);
	RS_OK(redstore_stock_adjust(&r, c, NULL, "L", -1, REDSTORE_ADJUST_THEFT, NULL));
	ck_assert_int_eq(r->levels[0].available, 5);
	ck_assert_int_eq(r->levels[0].crossed_low, 1);
	ck_assert_int_eq(r->levels[0].low_stock, 1);
	redstore_stock_result_free(r);
	RS_OK(redstore_stock_adjust(&r, c, NULL, "L", -1, REDSTORE_ADJUST_THEFT, NULL));
	ck_assert_int_eq(r->levels[0].crossed_low, 0); /* already low: crossed once */
	ck_assert_int_eq(r->levels[0].low_stock, 1);
	redstore_stock_result_free(r);
	redstore_client_free(c);
}
END_TEST

START_TEST(inventory_changes_reach_the_store_stream_and_channel)
{
	char store[65], key[REDSTORE_KEY_MAX];
	redstore_client *c = store_with(store, "stream");
	redstore_stock_line in = { "S", 3, 0 };
	redstore_stock_result *r;
	redisReply *x;
	rs_test_product(c, "S", 100, "", REDSTORE_STOCK_DENY, 0);
	RS_OK(redstore_stock_receive(&r, c, NULL, NULL, 1, &in));
	RS_OK(redstore__redis_cmd(&x, c, "XRANGE %s %s %s", redstore__key(key, store, "stream"), r->stream_id, r->stream_id));
	ck_assert_int_eq(x->elements, 1);
	ck_assert_ptr_nonnull(strstr(x->element[0]->element[1]->element[5]->str, "\"S\""));
	ck_assert_str_eq(x->element[0]->element[1]->element[3]->str, "inventory.received");
	freeReplyObject(x);
	redstore_stock_result_free(r);
	redstore_client_free(c);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("inventory");
	TCase *tc = tcase_create("inventory");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, inventory_receive_adds_stock_once_per_operation_id);
	tcase_add_test(tc, inventory_bad_input_changes_nothing);
	tcase_add_test(tc, inventory_adjust_records_reason_and_respects_policy);
	tcase_add_test(tc, inventory_count_sets_on_hand_and_reports_the_difference);
	tcase_add_test(tc, inventory_transfer_goes_out_in_transit_and_in_with_partial_receipts);
	tcase_add_test(tc, inventory_reservations_hold_stock_until_released_or_expired);
	tcase_add_test(tc, inventory_release_all_retried_with_its_id_answers_the_first_release);
	tcase_add_test(tc, inventory_low_stock_is_detected_when_available_crosses_the_threshold);
	tcase_add_test(tc, inventory_changes_reach_the_store_stream_and_channel);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return rs_test_run(suite());
}
