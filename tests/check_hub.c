/* The fan-out hub (redstore/hub.h) against the dev stack's Redis: resume from a Last-Event-ID exactly,
 * resync for an id older than the stream keeps, a slow stream cut off while a fast one gets every event,
 * heartbeats, each event read once for many streams, limits and bad input; and the fed hub (the bridge's):
 * its beginning, repeats, an upstream resync. Readers are real threads woken by the hub's callbacks. */
#include "testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------ a reader: pulls a stream into a string */

typedef struct reader {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int woken;
	redstore_hub_conn *conn;
	char *text;
	size_t len, cap;
	int ended;
} reader;

static void on_ready(void *payload)
{
	reader *r = payload;
	pthread_mutex_lock(&r->mu);
	r->woken = 1;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

/* Called by the hub under the stream's lock before it says WAIT: ready() comes after it. */
static void on_wait(void *payload)
{
	reader *r = payload;
	pthread_mutex_lock(&r->mu);
	r->woken = 0;
	pthread_mutex_unlock(&r->mu);
}

static void reader_init(reader *r)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
}

static int reader_open(reader *r, redstore_hub *hub, const char *store, const char *last)
{
	redstore_hub_io io = { .ready = on_ready, .wait = on_wait, .payload = r };
	reader_init(r);
	return redstore_hub_open(&r->conn, hub, store, last, &io);
}

static void reader_close(reader *r)
{
	redstore_hub_close(r->conn);
	free(r->text);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv);
}

static int count_of(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay ? strstr(hay, needle) : NULL; p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* Pulls until `needle` occurs `times` times, the stream ends, or timeout_ms passes (1: found). */
static int reader_until(reader *r, const char *needle, int times, int timeout_ms)
{
	int64_t deadline = rs_test_now_ms() + timeout_ms;
	for (;;) {
		char buf[1500];
		size_t n;
		redstore_hub_pulled p;
		if (needle && count_of(r->text, needle) >= times)
			return 1;
		if (r->ended)
			return !needle;
		p = redstore_hub_pull(&n, r->conn, buf, sizeof(buf));
		if (p == REDSTORE_HUB_BYTES) {
			if (r->len + n + 1 > r->cap) {
				r->cap = (r->len + n + 1) * 2;
				ck_assert_ptr_nonnull(r->text = realloc(r->text, r->cap));
			}
			memcpy(r->text + r->len, buf, n);
			r->len += n;
			r->text[r->len] = '\0';
		} else if (p == REDSTORE_HUB_END) {
			r->ended = 1;
		} else {
			struct timespec ts;
			int64_t left = deadline - rs_test_now_ms();
			if (left <= 0)
				return 0;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += left / 1000;
			ts.tv_nsec += (left % 1000) * 1000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_mutex_lock(&r->mu);
			while (!r->woken && rs_test_now_ms() < deadline)
				pthread_cond_timedwait(&r->cv, &r->mu, &ts);
			pthread_mutex_unlock(&r->mu);
		}
	}
}

/* The ids of the events the reader got, in order, as "a,b,c". */
static void ids_of(const reader *r, char *out, size_t cap)
{
	size_t n = 0;
	out[0] = '\0';
	for (const char *p = r->text ? strstr(r->text, "id: ") : NULL; p; p = strstr(p + 1, "\nid: ")) {
		const char *s = p[0] == '\n' ? p + 5 : p + 4;
		size_t l = strcspn(s, "\n");
		n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "%s%.*s", n ? "," : "", (int)l, s);
	}
}

static void join_ids(char *out, size_t cap, char ids[][REDSTORE_STREAM_ID_SIZE], int from, int to)
{
	size_t n = 0;
	out[0] = '\0';
	for (int i = from; i < to; i++)
		n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "%s%s", n ? "," : "", ids[i]);
}

static redstore_hub *redis_hub(const redstore_hub_options *opt)
{
	redstore_config *cfg = rs_test_config();
	redstore_hub *hub;
	redstore_hub_stats st;
	int64_t deadline = rs_test_now_ms() + 10000;
	RS_OK(redstore_hub_new(&hub, cfg, opt));
	redstore_config_free(cfg);
	/* the subscription is the hub's thread's first act; nothing to wait on but its state */
	for (redstore_hub_get_stats(&st, hub); !st.connected && rs_test_now_ms() < deadline;
	     redstore_hub_get_stats(&st, hub))
		rs_test_pause_ms(10);
	ck_assert_int_eq(st.connected, 1);
	return hub;
}

/* ------------------------------------------------------------ Redis hub */

START_TEST(hub_resumes_exactly_after_the_last_event_id)
{
	redstore_client *c = rs_test_client();
	redstore_hub *hub = redis_hub(NULL);
	char store[65], ids[8][REDSTORE_STREAM_ID_SIZE], got[512], want[512];
	reader a, b, now;
	rs_test_store(c, "hubres", store, 0);
	rs_test_product(c, "A", 100, "standard", REDSTORE_STOCK_DENY, 100);
	for (int i = 0; i < 5; i++)
		rs_test_sell(c, "A", 1, ids[i]);
	/* no stream of the store yet: catch-up from the Redis stream, exactly after ids[1] */
	RS_OK(reader_open(&a, hub, store, ids[1]));
	ck_assert(reader_until(&a, "event: change", 3, 10000));
	ids_of(&a, got, sizeof(got));
	join_ids(want, sizeof(want), ids, 2, 5);
	ck_assert_str_eq(got, want);
	ck_assert_ptr_nonnull(strstr(a.text, "retry: 1000\n\n"));
	/* without a Last-Event-ID: from the present on */
	RS_OK(reader_open(&now, hub, store, NULL));
	rs_test_sell(c, "A", 1, ids[5]);
	rs_test_sell(c, "A", 1, ids[6]);
	ck_assert(reader_until(&a, "event: change", 5, 10000));
	ids_of(&a, got, sizeof(got));
	join_ids(want, sizeof(want), ids, 2, 7);
	ck_assert_str_eq(got, want);
	ck_assert(reader_until(&now, "event: change", 2, 10000));
	ids_of(&now, got, sizeof(got));
	join_ids(want, sizeof(want), ids, 5, 7);
	ck_assert_str_eq(got, want);
	/* the store's ring holds the recent ones: a resume from ids[4] gets ids[5], ids[6] and then the live ones */
	RS_OK(reader_open(&b, hub, store, ids[4]));
	ck_assert(reader_until(&b, "event: change", 2, 10000));
	rs_test_sell(c, "A", 1, ids[7]);
	ck_assert(reader_until(&b, "event: change", 3, 10000));
	ids_of(&b, got, sizeof(got));
	join_ids(want, sizeof(want), ids, 5, 8);
	ck_assert_str_eq(got, want);
	ck_assert_ptr_null(strstr(b.text, "resync"));
	reader_close(&a);
	reader_close(&b);
	reader_close(&now);
	redstore_hub_free(hub);
	redstore_client_free(c);
}
END_TEST

START_TEST(hub_sends_resync_when_the_id_is_older_than_the_stream_keeps)
{
	redstore_config *cfg = rs_test_config();
	redstore_client *c;
	redstore_hub *hub = redis_hub(NULL);
	char store[65], first[REDSTORE_STREAM_ID_SIZE], last[REDSTORE_STREAM_ID_SIZE];
	reader r;
	RS_OK(redstore_config_set(cfg, "sync.stream_maxlen", "100"));
	RS_OK(redstore_client_new(&c, cfg));
	rs_test_store(c, "hubold", store, 0);
	rs_test_product(c, "A", 100, "standard", REDSTORE_STOCK_DENY, 1000);
	rs_test_sell(c, "A", 1, first);
	for (int i = 0; i < 400; i++)
		rs_test_sell(c, "A", 1, last);
	RS_OK(reader_open(&r, hub, store, first));
	ck_assert(reader_until(&r, NULL, 0, 10000)); /* it ends */
	ck_assert_ptr_nonnull(strstr(r.text, "event: resync\ndata: {\"reason\":\"too_old\"}\n\n"));
	ck_assert_int_eq(count_of(r.text, "event: change"), 0);
	reader_close(&r);
	redstore_hub_free(hub);
	redstore_client_free(c);
	redstore_config_free(cfg);
}
END_TEST

typedef struct fast_arg {
	reader *r;
	int want;
	int ok;
} fast_arg;

static void *fast_main(void *p)
{
	fast_arg *a = p;
	a->ok = reader_until(a->r, "event: change", a->want, 60000);
	return NULL;
}

START_TEST(hub_cuts_off_a_slow_stream_while_a_fast_one_gets_every_event)
{
	enum { SALES = 150 };
	redstore_client *c = rs_test_client();
	redstore_hub_options opt;
	redstore_hub *hub;
	char store[65], ids[SALES][REDSTORE_STREAM_ID_SIZE], got[SALES * 24], want[SALES * 24];
	reader fast, slow;
	fast_arg fa = { &fast, SALES, 0 };
	pthread_t th;
	redstore_hub_stats st;
	redstore_hub_options_init(&opt);
	opt.conn_buffer_bytes = 16384;
	hub = redis_hub(&opt);
	rs_test_store(c, "hubslow", store, 0);
	rs_test_product(c, "A", 100, "standard", REDSTORE_STOCK_DENY, 1000);
	RS_OK(reader_open(&fast, hub, store, NULL));
	RS_OK(reader_open(&slow, hub, store, NULL));
	ck_assert_int_eq(pthread_create(&th, NULL, fast_main, &fa), 0);
	for (int i = 0; i < SALES; i++)
		rs_test_sell(c, "A", 1, ids[i]); /* ~200 bytes each: far more than the slow one may hold */
	pthread_join(th, NULL);
	ck_assert(fa.ok);
	ids_of(&fast, got, sizeof(got));
	join_ids(want, sizeof(want), ids, 0, SALES);
	ck_assert_str_eq(got, want);
	ck_assert_ptr_null(strstr(fast.text, "resync"));
	/* the slow one never read: what it held, then resync, then the end; never more than its limit */
	ck_assert(reader_until(&slow, NULL, 0, 10000));
	ck_assert_ptr_nonnull(strstr(slow.text, "event: resync\ndata: {\"reason\":\"slow_client\"}\n\n"));
	ck_assert_uint_le(slow.len, opt.conn_buffer_bytes + 200);
	ck_assert_int_lt(count_of(slow.text, "event: change"), SALES);
	redstore_hub_get_stats(&st, hub);
	ck_assert_int_ge(st.resyncs, 1);
	reader_close(&fast);
	reader_close(&slow);
	redstore_hub_free(hub);
	redstore_client_free(c);
}
END_TEST

START_TEST(hub_reads_each_event_once_for_many_streams)
{
	enum { STREAMS = 20, SALES = 5 };
	redstore_client *c = rs_test_client();
	redstore_hub *hub = redis_hub(NULL);
	char store[65], ids[SALES][REDSTORE_STREAM_ID_SIZE], got[512], want[512];
	reader r[STREAMS];
	redstore_hub_stats before, after;
	rs_test_store(c, "hubmany", store, 0);
	rs_test_product(c, "A", 100, "standard", REDSTORE_STOCK_DENY, 100);
	for (int i = 0; i < STREAMS; i++)
		RS_OK(reader_open(&r[i], hub, store, NULL));
	redstore_hub_get_stats(&before, hub);
	ck_assert_int_eq(before.streams, STREAMS);
	for (int i = 0; i < SALES; i++)
		rs_test_sell(c, "A", 1, ids[i]);
	join_ids(want, sizeof(want), ids, 0, SALES);
	for (int i = 0; i < STREAMS; i++) {
		ck_assert(reader_until(&r[i], "event: change", SALES, 10000));
		ids_of(&r[i], got, sizeof(got));
		ck_assert_str_eq(got, want);
	}
	redstore_hub_get_stats(&after, hub);
	ck_assert_int_eq(after.events_read - before.events_read, SALES);
	ck_assert_int_eq(after.events_sent - before.events_sent, SALES * STREAMS);
	ck_assert_str_eq(after.last_id, ids[SALES - 1]);
	for (int i = 0; i < STREAMS; i++)
		reader_close(&r[i]);
	redstore_hub_get_stats(&after, hub);
	ck_assert_int_eq(after.streams, 0);
	redstore_hub_free(hub);
	redstore_client_free(c);
}
END_TEST

START_TEST(hub_heartbeats_an_idle_stream_and_stop_ends_it)
{
	redstore_client *c = rs_test_client();
	redstore_hub_options opt;
	redstore_hub *hub;
	char store[65];
	reader r;
	redstore_hub_options_init(&opt);
	opt.heartbeat_ms = 100;
	hub = redis_hub(&opt);
	rs_test_store(c, "hubhb", store, 0);
	RS_OK(reader_open(&r, hub, store, NULL));
	ck_assert(reader_until(&r, ": heartbeat\n\n", 3, 10000));
	ck_assert(!r.ended);
	/* a stop wakes the waiting stream, whose next pull says END; the stream may be closed after the free */
	redstore_hub_stop(hub);
	ck_assert(reader_until(&r, NULL, 0, 5000));
	redstore_hub_free(hub);
	reader_close(&r);
	redstore_client_free(c);
}
END_TEST

static int check_calls;

static void checked_end(redstore_hub_conn *conn, void *payload)
{
	(void)payload;
	check_calls++;
	ck_assert_int_eq(redstore_hub_end(conn, "unauthorized", "{\"error\":{\"code\":\"unauthenticated\"}}"), 0);
}

static void nop_ready(void *payload)
{
	(void)payload;
}

START_TEST(hub_runs_the_check_and_ends_the_stream_with_its_event)
{
	redstore_client *c = rs_test_client();
	redstore_hub_options opt;
	redstore_hub *hub;
	char store[65];
	reader r;
	redstore_hub_io io = { .ready = on_ready, .wait = on_wait, .check = checked_end, .payload = &r };
	redstore_hub_options_init(&opt);
	opt.check_ms = 50;
	hub = redis_hub(&opt);
	rs_test_store(c, "hubchk", store, 0);
	reader_init(&r);
	check_calls = 0;
	RS_OK(redstore_hub_open(&r.conn, hub, store, NULL, &io));
	ck_assert_str_eq(redstore_hub_conn_store(r.conn), store);
	/* the hub makes the waiting stream ready when its check is due; the pull runs it, it ends the stream */
	ck_assert(reader_until(&r, NULL, 0, 10000));
	ck_assert_int_eq(check_calls, 1);
	ck_assert_ptr_nonnull(strstr(r.text, "event: unauthorized\ndata: {\"error\":{\"code\":\"unauthenticated\"}}\n\n"));
	reader_close(&r);
	redstore_hub_free(hub);
	redstore_client_free(c);
}
END_TEST

START_TEST(hub_refuses_bad_input_and_enforces_its_limits)
{
	redstore_hub_options opt;
	redstore_hub *hub = NULL;
	redstore_hub_io io = { .ready = nop_ready };
	redstore_hub_io no_ready = { 0 };
	redstore_hub_conn *a = NULL, *b = NULL, *x = NULL;
	redstore_config *cfg = rs_test_config();
	redstore_hub_options_init(&opt);
	opt.ring_events = 3;
	RS_FAILS(REDSTORE_EINVALID, redstore_hub_new(&hub, cfg, &opt));
	ck_assert_ptr_null(hub);
	ck_assert_ptr_nonnull(strstr(redstore_error_last(), "ring_events"));
	redstore_hub_options_init(&opt);
	opt.conn_buffer_bytes = 10;
	RS_FAILS(REDSTORE_EINVALID, redstore_hub_new_fed(&hub, &opt));
	redstore_config_free(cfg);

	redstore_hub_options_init(&opt);
	opt.max_streams = 2;
	RS_OK(redstore_hub_new_fed(&hub, &opt));
	RS_FAILS(REDSTORE_EINVALID, redstore_hub_open(&x, hub, "bad store!", NULL, &io));
	RS_FAILS(REDSTORE_EINVALID, redstore_hub_open(&x, hub, "s1", "12-x", &io));
	ck_assert_ptr_nonnull(strstr(redstore_error_last(), "Last-Event-ID"));
	RS_FAILS(REDSTORE_EINVALID, redstore_hub_open(&x, hub, "s1", NULL, &no_ready));
	ck_assert_ptr_null(x);
	RS_OK(redstore_hub_open(&a, hub, "s1", NULL, &io));
	RS_OK(redstore_hub_open(&b, hub, "s1", "5-0", &io));
	RS_FAILS(REDSTORE_ELIMIT, redstore_hub_open(&x, hub, "s1", NULL, &io));
	RS_FAILS(REDSTORE_EINVALID, redstore_hub_publish(hub, "s1", "change", "7-0", "two\nlines"));
	RS_FAILS(REDSTORE_EINVALID, redstore_hub_publish(hub, "s1", "Bad Name", "7-0", "{}"));
	RS_FAILS(REDSTORE_EINVALID, redstore_hub_publish(hub, "s1", "change", "seven", "{}"));
	RS_FAILS(REDSTORE_EINVALID, redstore_hub_reset(hub, "s1", "x-1", 0));
	RS_FAILS(REDSTORE_EINVALID, redstore_hub_end(a, "unauthorized", "a\rb"));
	redstore_hub_close(a);
	RS_OK(redstore_hub_open(&a, hub, "s1", NULL, &io)); /* room again */
	redstore_hub_close(a);
	redstore_hub_close(b);
	redstore_hub_close(NULL);
	redstore_hub_free(hub);
	redstore_hub_free(NULL);

	/* a Redis hub is not fed */
	hub = redis_hub(NULL);
	RS_FAILS(REDSTORE_EINVALID, redstore_hub_publish(hub, "s1", "change", "7-0", "{}"));
	redstore_hub_stop(hub);
	RS_FAILS(REDSTORE_EINVALID, redstore_hub_open(&x, hub, "s1", NULL, &io));
	redstore_hub_free(hub);
}
END_TEST

/* ------------------------------------------------------------ fed hub */

START_TEST(fed_hub_starts_at_its_base_resumes_drops_repeats_and_resyncs)
{
	redstore_hub *hub;
	reader early, mid, old, late;
	char got[256];
	size_t n;
	char buf[64];
	RS_OK(redstore_hub_new_fed(&hub, NULL));
	/* before the beginning is known, a stream waits */
	RS_OK(reader_open(&early, hub, "st1", NULL));
	ck_assert(reader_until(&early, "retry: 1000", 1, 1000));
	ck_assert_int_eq(redstore_hub_pull(&n, early.conn, buf, sizeof(buf)), REDSTORE_HUB_WAIT);
	RS_OK(redstore_hub_reset(hub, "st1", "10-0", 0));
	RS_OK(redstore_hub_publish(hub, "st1", "change", "11-0", "{\"n\":11}"));
	RS_OK(redstore_hub_publish(hub, "st1", "change", "12-0", "{\"n\":12}"));
	RS_OK(redstore_hub_publish(hub, "st1", "change", "12-0", "{\"n\":12}")); /* a repeat: dropped */
	RS_OK(redstore_hub_publish(hub, "st1", "change", "11-5", "{\"n\":11}")); /* older: dropped */
	RS_OK(redstore_hub_publish(hub, "st1", "change", "13-0", "{\"n\":13}"));
	ck_assert(reader_until(&early, "event: change", 3, 5000));
	ids_of(&early, got, sizeof(got));
	ck_assert_str_eq(got, "11-0,12-0,13-0");
	ck_assert_ptr_nonnull(strstr(early.text, "id: 12-0\nevent: change\ndata: {\"n\":12}\n\n"));
	/* from the ring, exactly after the id */
	RS_OK(reader_open(&mid, hub, "st1", "11-0"));
	ck_assert(reader_until(&mid, "event: change", 2, 5000));
	ids_of(&mid, got, sizeof(got));
	ck_assert_str_eq(got, "12-0,13-0");
	/* before the beginning: resync */
	RS_OK(reader_open(&old, hub, "st1", "9-0"));
	ck_assert(reader_until(&old, NULL, 0, 5000));
	ck_assert_ptr_nonnull(strstr(old.text, "\"reason\":\"too_old\""));
	/* the upstream lost its place: every live stream resyncs and ends; a new stream waits for the base */
	RS_OK(redstore_hub_reset(hub, "st1", NULL, 1));
	ck_assert(reader_until(&early, NULL, 0, 5000));
	ck_assert_ptr_nonnull(strstr(early.text, "\"reason\":\"upstream_resync\""));
	ck_assert(reader_until(&mid, NULL, 0, 5000));
	ck_assert_ptr_nonnull(strstr(mid.text, "\"reason\":\"upstream_resync\""));
	RS_OK(reader_open(&late, hub, "st1", NULL));
	ck_assert(reader_until(&late, "retry: 1000", 1, 1000));
	RS_OK(redstore_hub_reset(hub, "st1", "20-0", 0));
	RS_OK(redstore_hub_publish(hub, "st1", "change", "21-0", "{\"n\":21}"));
	ck_assert(reader_until(&late, "event: change", 1, 5000));
	ids_of(&late, got, sizeof(got));
	ck_assert_str_eq(got, "21-0");
	reader_close(&early);
	reader_close(&mid);
	reader_close(&old);
	redstore_hub_free(hub); /* late is closed after the free, as a server's stop does it */
	reader_close(&late);
}
END_TEST

START_TEST(fed_hub_pages_a_long_resume_through_a_small_buffer)
{
	redstore_hub_options opt;
	redstore_hub *hub;
	reader r;
	char id[32], data[600];
	redstore_hub_options_init(&opt);
	opt.conn_buffer_bytes = 4096;
	opt.ring_events = 1000;
	RS_OK(redstore_hub_new_fed(&hub, &opt));
	RS_OK(redstore_hub_reset(hub, "st2", "1-0", 0));
	memset(data, 'x', sizeof(data) - 1);
	data[0] = '"';
	data[sizeof(data) - 2] = '"';
	data[sizeof(data) - 1] = '\0';
	for (int i = 2; i < 202; i++) {
		snprintf(id, sizeof(id), "%d-0", i);
		RS_OK(redstore_hub_publish(hub, "st2", "change", id, data));
	}
	/* 200 events of ~620 bytes, 30 times the buffer: paged from the ring as the reader drains it */
	RS_OK(reader_open(&r, hub, "st2", "1-0"));
	ck_assert(reader_until(&r, "event: change", 200, 20000));
	ck_assert_ptr_null(strstr(r.text, "resync"));
	ck_assert_ptr_nonnull(strstr(r.text, "id: 201-0\n"));
	ck_assert_int_eq(count_of(r.text, "event: change"), 200);
	reader_close(&r);
	redstore_hub_free(hub);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("hub");
	TCase *redis = tcase_create("redis"), *fed = tcase_create("fed");
	tcase_set_timeout(redis, 120);
	tcase_add_test(redis, hub_resumes_exactly_after_the_last_event_id);
	tcase_add_test(redis, hub_sends_resync_when_the_id_is_older_than_the_stream_keeps);
	tcase_add_test(redis, hub_cuts_off_a_slow_stream_while_a_fast_one_gets_every_event);
	tcase_add_test(redis, hub_reads_each_event_once_for_many_streams);
	tcase_add_test(redis, hub_heartbeats_an_idle_stream_and_stop_ends_it);
	tcase_add_test(redis, hub_runs_the_check_and_ends_the_stream_with_its_event);
	tcase_add_test(redis, hub_refuses_bad_input_and_enforces_its_limits);
	tcase_add_test(fed, fed_hub_starts_at_its_base_resumes_drops_repeats_and_resyncs);
	tcase_add_test(fed, fed_hub_pages_a_long_resume_through_a_small_buffer);
	suite_add_tcase(s, redis);
	suite_add_tcase(s, fed);
	return s;
}

int main(void)
{
	return rs_test_run(suite());
}
