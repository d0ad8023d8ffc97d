/* Reconcile and cache rebuild on the real engines: Redis is wiped in the middle of concurrent selling,
 * rebuilt from PostgreSQL plus the unprojected log, selling goes on, and Redis reconciles exactly with
 * the ledger; nothing is ever oversold, a retried sale is a duplicate, a refund stays bounded. Each test
 * has its own topic prefix and consumer group. */
#include "testutil.h"
#include "engines/engines_int.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define SKUS 3
#define SELLERS 4

/* RC sells out while the test runs (every later sale with it is refused: the deny policy at work); RA
 * and RB keep selling. */
static const char *const skus[SKUS] = { "RA", "RB", "RC" };
static const int64_t stock[SKUS] = { 5000, 5000, 20 };

/* A configuration with a topic prefix of its own, so no other run's events or groups are seen. */
static redstore_config *own_config(void)
{
	redstore_config *cfg = rs_test_config();
	char prefix[64];
	rs_test_unique(prefix, sizeof(prefix), "mt");
	for (char *q = prefix; *q; q++)
		if (*q == '-')
			*q = '_';
	strcat(prefix, ".");
	RS_OK(redstore_config_set(cfg, "kafka.topic_prefix", prefix));
	RS_OK(redstore_config_set(cfg, "kafka.metadata_refresh_ms", "1000"));
	/* A rebuild after a loss of Redis waits one delivery timeout for attempts that may still land. */
	RS_OK(redstore_config_set(cfg, "kafka.delivery_timeout_ms", "2000"));
	return cfg;
}

/* ------------------------------------------------------------------ the projector, in a thread */

typedef struct projector {
	const redstore_config *cfg;
	char group[64];
	atomic_int stop;
	pthread_t th;
	int failed;
	char why[256];
} projector;

static int apply(const redstore_event *const *events, size_t n, void *payload)
{
	return redstore_projector_apply(payload, events, n, NULL);
}

static void *projector_main(void *arg)
{
	projector *p = arg;
	redstore_consumer_options o = { p->group, NULL, 500, 5 };
	redstore_client *c = NULL, *db = NULL;
	redstore_consumer *k = NULL;

	if (redstore_client_new(&c, p->cfg) || redstore_client_new(&db, p->cfg) || redstore_consumer_new(&k, c, &o) ||
	    redstore_consumer_on_batch(k, apply, db)) {
		p->failed = 1;
		snprintf(p->why, sizeof(p->why), "%s", redstore_error_last());
	}
	while (!p->failed && !atomic_load(&p->stop)) {
		size_t handled = 0;
		int rc = redstore_consumer_poll(k, 200, &handled);
		if (rc && !redstore_err_is_retriable(rc)) {
			p->failed = 1;
			snprintf(p->why, sizeof(p->why), "%s", redstore_error_last());
		}
		if (handled)
			redstore_consumer_commit(k);
	}
	redstore_consumer_free(k);
	redstore_client_free(db);
	redstore_client_free(c);
	return NULL;
}

static void projector_start(projector *p, const redstore_config *cfg)
{
	memset(p, 0, sizeof(*p));
	p->cfg = cfg;
	rs_test_unique(p->group, sizeof(p->group), "projector");
	ck_assert_int_eq(pthread_create(&p->th, NULL, projector_main, p), 0);
}

static void projector_stop(projector *p)
{
	atomic_store(&p->stop, 1);
	pthread_join(p->th, NULL);
	ck_assert_msg(!p->failed, "projector: %s", p->why);
}

/* ------------------------------------------------------------------ sellers */

typedef struct shop {
	const redstore_config *cfg;
	char store[65];
	atomic_int stop;
	atomic_llong sold[SKUS];       /* units of acknowledged sales */
	atomic_llong acked, refused, busy;
	atomic_int failed;
	char why[256];
} shop;

typedef struct seller {
	shop *shop;
	int index;
	pthread_t th;
} seller;

static void *seller_main(void *arg)
{
	seller *me = arg;
	shop *s = me->shop;
	redstore_client *c = NULL;
	unsigned seed = (unsigned)me->index * 7919u + 17u;

	if (redstore_client_new(&c, s->cfg) || redstore_client_use_store(c, s->store)) {
		atomic_store(&s->failed, 1);
		snprintf(s->why, sizeof(s->why), "seller: %s", redstore_error_last());
		redstore_client_free(c);
		return NULL;
	}
	while (!atomic_load(&s->stop) && !atomic_load(&s->failed)) {
		redstore_sale *sale = NULL;
		int a = (int)(rand_r(&seed) % SKUS), b = (a + 1) % SKUS, two = rand_r(&seed) % 2;
		int64_t qa = 1 + rand_r(&seed) % 3, qb = 1;
		int rc;
		if (redstore_sale_new(&sale, NULL) || redstore_sale_add_line(sale, skus[a], qa, NULL) ||
		    (two && redstore_sale_add_line(sale, skus[b], qb, NULL)) ||
		    redstore_sale_add_tender(sale, REDSTORE_TENDER_CASH, 1000000, NULL)) {
			atomic_store(&s->failed, 1);
			snprintf(s->why, sizeof(s->why), "building a sale: %s", redstore_error_last());
			redstore_sale_free(sale);
			break;
		}
		/* A terminal retries a retriable failure with the same sale id (the rebuild gate answers so). */
		for (;;) {
			redstore_receipt *r = NULL;
			rc = redstore_sale_commit(&r, c, sale);
			redstore_receipt_free(r);
			if (rc == 0) {
				atomic_fetch_add(&s->sold[a], qa);
				if (two)
					atomic_fetch_add(&s->sold[b], qb);
				atomic_fetch_add(&s->acked, 1);
				break;
			}
			if (rc == REDSTORE_EOUT_OF_STOCK) {
				atomic_fetch_add(&s->refused, 1);
				break;
			}
			if (!redstore_err_is_retriable(rc)) {
				atomic_store(&s->failed, 1);
				snprintf(s->why, sizeof(s->why), "sale %s: %s (%s)", redstore_sale_id(sale), redstore_error_last(),
				         redstore_err_name(rc));
				break;
			}
			if (atomic_load(&s->stop))
				break;
			if (rc == REDSTORE_EUNAVAILABLE) {
				/* The store is being rebuilt: back off a little, as a terminal would, then retry. */
				struct timespec ts = { 0, 5 * 1000000L };
				atomic_fetch_add(&s->busy, 1);
				nanosleep(&ts, NULL);
			}
		}
		redstore_sale_free(sale);
	}
	redstore_client_free(c);
	return NULL;
}

/* Deletes every key of the store (SCAN over its hash tag): what a lost Redis looks like to that store,
 * without touching the other suites sharing this Redis. */
static size_t wipe_store(redstore_client *c, const char *store)
{
	char pattern[REDSTORE_KEY_MAX], cursor[32] = "0";
	size_t n = 0;
	snprintf(pattern, sizeof(pattern), "rs:{s:%s}:*", store);
	do {
		redisReply *r;
		RS_OK(redstore__redis_cmd(&r, c, "SCAN %s MATCH %s COUNT 1000", cursor, pattern));
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		for (size_t i = 0; i < r->element[1]->elements; i++) {
			RS_OK(redstore__redis_cmd(NULL, c, "DEL %s", r->element[1]->element[i]->str));
			n++;
		}
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0);
	return n;
}

/* Waits (bounded) until `count` is at least `target`. */
static void wait_count(atomic_llong *count, long long target, shop *s, int seconds)
{
	int64_t deadline = redstore__now_us() + (int64_t)seconds * 1000000;
	while (atomic_load(count) < target) {
		ck_assert_msg(!atomic_load(&s->failed), "%s", s->why);
		ck_assert_msg(redstore__now_us() < deadline, "only %lld of %lld within %d s", (long long)atomic_load(count),
		              target, seconds);
		{
			struct timespec ts = { 0, 10 * 1000000L };
			nanosleep(&ts, NULL);
		}
	}
}

static redstore_receipt *sell(redstore_client *c, const char *id, const char *sku, int64_t qty)
{
	redstore_sale *s;
	redstore_receipt *r;
	RS_OK(redstore_sale_new(&s, id));
	RS_OK(redstore_sale_add_line(s, sku, qty, NULL));
	RS_OK(redstore_sale_add_tender(s, REDSTORE_TENDER_CASH, 1000000, NULL));
	RS_OK(redstore_sale_commit(&r, c, s));
	redstore_sale_free(s);
	return r;
}

START_TEST(rebuild_after_wipe_mid_selling_reconciles_exactly_and_never_oversells)
{
	redstore_config *cfg = own_config();
	redstore_client *c;
	redstore_maintenance_options mo = { NULL, 60000 };
	redstore_reconcile_report *rep = NULL;
	redstore_rebuild_stats st;
	projector pj;
	shop sh;
	seller sellers[SELLERS];
	redstore_receipt *early, *twice, *again;
	redstore_refund_line one = { 0, 1 }, two = { 0, 2 };
	char early_id[REDSTORE_ID_SIZE], twice_id[REDSTORE_ID_SIZE];
	int64_t left[SKUS];

	RS_OK(redstore_client_new(&c, cfg));
	memset(&sh, 0, sizeof(sh));
	sh.cfg = cfg;
	rs_test_store(c, "rebuild", sh.store, 0);
	for (int i = 0; i < SKUS; i++)
		rs_test_product(c, skus[i], 100 * (i + 1), "standard", REDSTORE_STOCK_DENY, stock[i]);
	/* A sale of 2 units refunded once: after the rebuild only 1 unit is left to refund. */
	RS_OK(redstore_id_new(twice_id));
	twice = sell(c, twice_id, "RA", 2);
	{
		redstore_receipt *rf;
		RS_OK(redstore_sale_refund(&rf, c, NULL, twice_id, 1, &one, 1, REDSTORE_TENDER_CASH, NULL));
		redstore_receipt_free(rf);
	}
	projector_start(&pj, cfg);
	mo.group_id = pj.group;
	/* Concurrent selling; Redis loses the store's keys in the middle of it. */
	for (int i = 0; i < SELLERS; i++) {
		sellers[i].shop = &sh;
		sellers[i].index = i;
		ck_assert_int_eq(pthread_create(&sellers[i].th, NULL, seller_main, &sellers[i]), 0);
	}
	wait_count(&sh.acked, 30, &sh, 60);
	RS_OK(redstore_id_new(early_id));
	early = sell(c, early_id, "RB", 1);
	ck_assert_uint_gt(wipe_store(c, sh.store), 0);
	RS_OK(redstore_cache_rebuild(&st, c, &mo));
	ck_assert_uint_ge(st.skus, SKUS);
	ck_assert_uint_ge(st.op_records, 30);
	ck_assert_uint_ge(st.refund_records, 30);
	ck_assert_uint_gt(st.products, 0);
	{
		long long at_rebuild = atomic_load(&sh.acked);
		/* Selling goes on after the rebuild... */
		wait_count(&sh.acked, at_rebuild + 30, &sh, 60);
	}
	/* ...and a second rebuild while selling is as harmless as the first. */
	RS_OK(redstore_cache_rebuild(&st, c, &mo));
	{
		long long at_rebuild = atomic_load(&sh.acked);
		wait_count(&sh.acked, at_rebuild + 15, &sh, 60);
	}
	atomic_store(&sh.stop, 1);
	for (int i = 0; i < SELLERS; i++)
		pthread_join(sellers[i].th, NULL);
	ck_assert_msg(!atomic_load(&sh.failed), "%s", sh.why);

	/* No oversell: what was acknowledged never exceeds the stock, and Redis holds exactly the rest. */
	for (int i = 0; i < SKUS; i++) {
		int64_t sold = atomic_load(&sh.sold[i]) + (i == 0 ? 1 : 0) + (i == 1 ? 1 : 0);
		left[i] = rs_test_available(c, skus[i]);
		ck_assert_int_ge(left[i], 0);
		ck_assert_msg(sold + left[i] == stock[i], "%s: %lld sold + %lld left != %lld", skus[i], (long long)sold,
		              (long long)left[i], (long long)stock[i]);
	}
	/* RC ran out, and sales asking for more than was left were refused. */
	ck_assert_int_lt(left[2], 3);
	ck_assert_int_gt(atomic_load(&sh.refused), 0);
	/* Reconcile: exactly zero differences once the projector has caught up. */
	RS_OK(redstore_reconcile(&rep, c, &mo));
	for (size_t i = 0; i < rep->count; i++)
		fprintf(stderr, "difference: %s redis %lld ledger %lld\n", rep->differences[i].sku,
		        (long long)rep->differences[i].redis_on_hand, (long long)rep->differences[i].ledger_on_hand);
	ck_assert_uint_eq(rep->count, 0);
	ck_assert_uint_ge(rep->skus, SKUS);
	ck_assert_int_eq(rep->progress.behind, 0);
	redstore_reconcile_report_free(rep);

	/* A sale retried after the rebuild is a duplicate with the first receipt; nothing is sold twice. */
	again = sell(c, early_id, "RB", 1);
	ck_assert_int_eq(again->duplicate, 1);
	ck_assert_int_eq(again->total, early->total);
	ck_assert_int_eq(rs_test_available(c, "RB"), left[1]);
	redstore_receipt_free(again);
	/* The refund bound survived: 1 unit of the 2 was refunded before the wipe. */
	{
		redstore_receipt *rf = NULL;
		RS_FAILS(REDSTORE_EINVALID,
		         redstore_sale_refund(&rf, c, NULL, twice_id, 1, &two, 1, REDSTORE_TENDER_CASH, NULL));
		ck_assert_ptr_nonnull(strstr(redstore_error_last(), "1 left to refund"));
		RS_OK(redstore_sale_refund(&rf, c, NULL, twice_id, 1, &one, 1, REDSTORE_TENDER_CASH, NULL));
		redstore_receipt_free(rf);
		RS_FAILS(REDSTORE_ECONFLICT, redstore_sale_void(&rf, c, NULL, twice_id, "nothing left"));
	}

	/* A difference put in on purpose is reported with the SKU and both values. */
	{
		char key[REDSTORE_KEY_MAX];
		int64_t ra = rs_test_available(c, "RA");
		RS_OK(redstore__redis_cmd(NULL, c, "HINCRBY %s RC 5", redstore__key(key, sh.store, "onhand")));
		RS_OK(redstore_reconcile(&rep, c, &mo));
		ck_assert_uint_eq(rep->count, 1);
		ck_assert_str_eq(rep->differences[0].sku, "RC");
		ck_assert_int_eq(rep->differences[0].redis_on_hand, left[2] + 5);
		ck_assert_int_eq(rep->differences[0].ledger_on_hand, left[2]);
		ck_assert_int_eq(rep->differences[0].projected_on_hand, left[2]);
		redstore_reconcile_report_free(rep);
		/* A rebuild repairs it. */
		RS_OK(redstore_cache_rebuild(&st, c, &mo));
		RS_OK(redstore_reconcile(&rep, c, &mo));
		ck_assert_uint_eq(rep->count, 0);
		redstore_reconcile_report_free(rep);
		ck_assert_int_eq(rs_test_available(c, "RC"), left[2]);
		ck_assert_int_eq(rs_test_available(c, "RA"), ra);
	}
	projector_stop(&pj);
	redstore_receipt_free(early);
	redstore_receipt_free(twice);
	redstore_client_free(c);
	redstore_config_free(cfg);
}
END_TEST

START_TEST(rebuild_replays_unprojected_events_and_keeps_duplicates)
{
	/* No projector has run: everything comes from the log. */
	redstore_config *cfg = own_config();
	redstore_client *c;
	redstore_maintenance_options mo = { NULL, 60000 };
	redstore_rebuild_stats st;
	redstore_receipt *r, *again;
	redstore_stock_result *res;
	redstore_stock_line counted = { "UB", 9, 0 }, hold = { "UA", 3, 0 };
	char group[64], store[65], sale_id[REDSTORE_ID_SIZE], resv_id[REDSTORE_ID_SIZE], count_id[REDSTORE_ID_SIZE],
		pair_id[REDSTORE_ID_SIZE];

	RS_OK(redstore_client_new(&c, cfg));
	rs_test_store(c, "replay", store, 0);
	rs_test_product(c, "UA", 250, "standard", REDSTORE_STOCK_DENY, 20);
	rs_test_product(c, "UB", 120, "reduced", REDSTORE_STOCK_DENY, 10);
	RS_OK(redstore_id_new(sale_id));
	r = sell(c, sale_id, "UA", 4);
	RS_OK(redstore_id_new(count_id));
	RS_OK(redstore_stock_count(&res, c, count_id, 1, &counted));
	redstore_stock_result_free(res);
	RS_OK(redstore_id_new(resv_id));
	RS_OK(redstore_reservation_create(&res, c, resv_id, redstore__wall_ms() + 3600000, 1, &hold));
	redstore_stock_result_free(res);
	/* Two lines of one SKU, the second refunded whole (not restocked): the refund tracking must know
	 * which line, not just which SKU. */
	{
		redstore_sale *s;
		redstore_receipt *rf;
		redstore_refund_line second = { 1, 3 };
		RS_OK(redstore_id_new(pair_id));
		RS_OK(redstore_sale_new(&s, pair_id));
		RS_OK(redstore_sale_add_line(s, "UB", 2, NULL));
		RS_OK(redstore_sale_add_line(s, "UB", 3, NULL));
		RS_OK(redstore_sale_add_tender(s, REDSTORE_TENDER_CASH, 100000, NULL));
		RS_OK(redstore_sale_commit(&rf, c, s));
		redstore_receipt_free(rf);
		redstore_sale_free(s);
		RS_OK(redstore_sale_refund(&rf, c, NULL, pair_id, 1, &second, 0, REDSTORE_TENDER_CASH, NULL));
		redstore_receipt_free(rf);
	}
	rs_test_unique(group, sizeof(group), "nobody");
	mo.group_id = group;
	ck_assert_uint_gt(wipe_store(c, store), 0);
	ck_assert_int_eq(rs_test_available(c, "UA"), 0);
	RS_OK(redstore_cache_rebuild(&st, c, &mo));
	/* 2 receipts, 1 count, 1 reservation, 2 sales, 1 refund */
	ck_assert_uint_ge(st.events_replayed, 7);
	/* Terminals reading the sync stream are told to reload. */
	{
		redstore_changes *ch;
		RS_OK(redstore_sync_read(&ch, c, "0", 100, 0));
		ck_assert_uint_eq(ch->count, 1);
		ck_assert_str_eq(ch->items[0].type, "cache.rebuilt");
		ck_assert_uint_eq(ch->items[0].line_count, 0);
		redstore_changes_free(ch);
	}
	{
		redstore_stock_level l[2];
		const char *both[2] = { "UA", "UB" };
		RS_OK(redstore_stock_get(l, c, 2, both));
		ck_assert_int_eq(l[0].on_hand, 16);
		ck_assert_int_eq(l[0].reserved, 3);
		ck_assert_int_eq(l[0].available, 13);
		ck_assert_int_eq(l[1].on_hand, 4);
	}
	{
		redstore_refund_line line1 = { 1, 1 }, line0 = { 0, 2 };
		redstore_receipt *rf = NULL;
		RS_FAILS(REDSTORE_EINVALID,
		         redstore_sale_refund(&rf, c, NULL, pair_id, 1, &line1, 0, REDSTORE_TENDER_CASH, NULL));
		ck_assert_ptr_nonnull(strstr(redstore_error_last(), "0 left to refund"));
		RS_OK(redstore_sale_refund(&rf, c, NULL, pair_id, 1, &line0, 0, REDSTORE_TENDER_CASH, NULL));
		redstore_receipt_free(rf);
		RS_FAILS(REDSTORE_ECONFLICT, redstore_sale_void(&rf, c, NULL, pair_id, "all refunded"));
	}
	again = sell(c, sale_id, "UA", 4);
	ck_assert_int_eq(again->duplicate, 1);
	ck_assert_int_eq(again->total, r->total);
	ck_assert_int_eq(rs_test_available(c, "UA"), 13);
	/* The receipt is readable again too. */
	{
		redstore_receipt *got;
		RS_OK(redstore_receipt_get(&got, c, sale_id));
		ck_assert_int_eq(got->total, r->total);
		redstore_receipt_free(got);
	}
	/* The reservation created in the unprojected log is whole again: releasing it frees its 3 units. */
	ck_assert_uint_eq(st.reservations, 1);
	RS_OK(redstore_reservation_release(&res, c, NULL, resv_id, 0, NULL));
	ck_assert_int_eq(res->levels[0].reserved, 0);
	redstore_stock_result_free(res);
	ck_assert_int_eq(rs_test_available(c, "UA"), 16);
	/* The inventory operation's record too: the count retried with its id is a duplicate. */
	counted.qty = 1;
	RS_OK(redstore_stock_count(&res, c, count_id, 1, &counted));
	ck_assert_int_eq(res->duplicate, 1);
	ck_assert_int_eq(res->levels[0].on_hand, 4);
	redstore_stock_result_free(res);
	redstore_receipt_free(again);
	redstore_receipt_free(r);
	redstore_client_free(c);
	redstore_config_free(cfg);
}
END_TEST

START_TEST(rebuild_gate_refuses_operations_retriably_and_excludes_a_second_rebuild)
{
	redstore_client *c = rs_test_client();
	redstore_maintenance_options mo = { NULL, 5000 };
	redstore_rebuild_stats st;
	redstore_receipt *r = NULL;
	redstore_sale *s;
	char store[65], key[REDSTORE_KEY_MAX];

	rs_test_store(c, "gate", store, 0);
	rs_test_product(c, "GA", 100, "", REDSTORE_STOCK_DENY, 5);
	RS_OK(redstore__redis_cmd(NULL, c, "SET %s someone-else PX 60000", redstore__key(key, store, "rebuild")));
	RS_OK(redstore_sale_new(&s, NULL));
	RS_OK(redstore_sale_add_line(s, "GA", 1, NULL));
	RS_OK(redstore_sale_add_tender(s, REDSTORE_TENDER_CASH, 100, NULL));
	RS_FAILS(REDSTORE_EUNAVAILABLE, redstore_sale_commit(&r, c, s));
	ck_assert_ptr_nonnull(strstr(redstore_error_last(), "being rebuilt"));
	ck_assert(redstore_err_is_retriable(REDSTORE_EUNAVAILABLE));
	ck_assert_int_eq(rs_test_available(c, "GA"), 5);
	RS_FAILS(REDSTORE_ELOCKED, redstore_cache_rebuild(&st, c, &mo));
	ck_assert_ptr_nonnull(strstr(redstore_error_last(), "another rebuild"));
	/* The other holder's gate is untouched by the refused rebuild. */
	{
		redisReply *g;
		RS_OK(redstore__redis_cmd(&g, c, "GET %s", key));
		ck_assert_str_eq(g->str, "someone-else");
		freeReplyObject(g);
	}
	RS_OK(redstore__redis_cmd(NULL, c, "DEL %s", key));
	RS_OK(redstore_sale_commit(&r, c, s));
	ck_assert_int_eq(r->duplicate, 0);
	ck_assert_int_eq(rs_test_available(c, "GA"), 4);
	redstore_receipt_free(r);
	redstore_sale_free(s);
	redstore_client_free(c);
}
END_TEST

START_TEST(maintenance_rejects_bad_options_and_times_out_naming_the_group)
{
	redstore_config *cfg = own_config();
	redstore_client *c, *none;
	redstore_maintenance_options bad_group = { "has space", 1000 }, bad_wait = { NULL, -5 }, lagging = { NULL, 1000 };
	redstore_reconcile_report dummy, *rep = &dummy;
	redstore_projector_progress pr;
	char store[65], group[64];

	RS_OK(redstore_client_new(&c, cfg));
	RS_OK(redstore_client_new(&none, cfg));
	RS_FAILS(REDSTORE_EINVALID, redstore_reconcile(&rep, none, NULL));
	ck_assert_ptr_null(rep);
	ck_assert_ptr_nonnull(strstr(redstore_error_last(), "no store selected"));
	RS_FAILS(REDSTORE_EINVALID, redstore_cache_rebuild(NULL, none, NULL));
	/* A store that does not exist is refused before anything is gated. */
	RS_OK(redstore_client_use_store(none, "no-such-store-for-rebuild"));
	RS_FAILS(REDSTORE_ENOTFOUND, redstore_cache_rebuild(NULL, none, NULL));
	{
		char key[REDSTORE_KEY_MAX];
		redisReply *g;
		RS_OK(redstore__redis_cmd(&g, none, "EXISTS %s", redstore__key(key, "no-such-store-for-rebuild", "rebuild")));
		ck_assert_int_eq(g->integer, 0);
		freeReplyObject(g);
	}
	rs_test_store(c, "opts", store, 0);
	RS_FAILS(REDSTORE_EINVALID, redstore_reconcile(&rep, c, &bad_group));
	ck_assert_ptr_nonnull(strstr(redstore_error_last(), "group id"));
	RS_FAILS(REDSTORE_EINVALID, redstore_projector_wait(NULL, c, &bad_wait));
	RS_FAILS(REDSTORE_EINVALID, redstore_cache_rebuild(NULL, c, &bad_wait));
	/* Nothing produced yet: the log is empty and any group is caught up. */
	RS_OK(redstore_projector_wait(&pr, c, NULL));
	ck_assert_int_eq(pr.behind, 0);
	/* Events, and a group that never consumed them: a bounded wait that names the group. */
	rs_test_product(c, "OA", 100, "", REDSTORE_STOCK_DENY, 5);
	rs_test_unique(group, sizeof(group), "idle");
	lagging.group_id = group;
	RS_FAILS(REDSTORE_ETIMEOUT, redstore_projector_wait(&pr, c, &lagging));
	ck_assert_ptr_nonnull(strstr(redstore_error_last(), group));
	ck_assert_int_ge(pr.behind, 1);
	RS_FAILS(REDSTORE_ETIMEOUT, redstore_reconcile(&rep, c, &lagging));
	ck_assert_ptr_null(rep);
	redstore_client_free(none);
	redstore_client_free(c);
	redstore_config_free(cfg);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("maintenance");
	TCase *tc = tcase_create("maintenance");
	TCase *slow = tcase_create("maintenance_timing");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, rebuild_gate_refuses_operations_retriably_and_excludes_a_second_rebuild);
	tcase_add_test(tc, maintenance_rejects_bad_options_and_times_out_naming_the_group);
	tcase_add_test(tc, rebuild_replays_unprojected_events_and_keeps_duplicates);
	suite_add_tcase(s, tc);
	/* Threads selling while a projector group catches up within wall-clock bounds: not under valgrind. */
	tcase_set_tags(slow, "timing");
	tcase_set_timeout(slow, 240);
	tcase_add_test(slow, rebuild_after_wipe_mid_selling_reconciles_exactly_and_never_oversells);
	suite_add_tcase(s, slow);
	return rs_test_run(s);
}
