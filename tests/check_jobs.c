/* Job queues, the worker and webhooks against the real Redis (and PostgreSQL for the day's CSV): leases
 * that survive a killed worker, backoff, dead letters, delays, idempotent ids, signed webhooks. */
#include "testutil.h"
#include "engines/engines_int.h"

#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


/* Takes one job, polling every 5 ms until one comes or deadline_ms passes; returns 1 when taken. */
static int take_within(redstore_job *j, redstore_client *c, const char *q, int64_t lease_ms, int deadline_ms)
{
	int64_t end = now_ms() + deadline_ms;
	do {
		size_t n = 0;
		RS_OK(redstore_job_take(j, 1, &n, c, q, lease_ms));
		if (n == 1)
			return 1;
		rs_test_pause_ms(5);
	} while (now_ms() < end);
	return 0;
}

static redstore_queue_counts counts(redstore_client *c, const char *q)
{
	redstore_queue_counts k;
	RS_OK(redstore_queue_counts_get(&k, c, q));
	return k;
}

START_TEST(job_duplicate_id_is_added_once)
{
	redstore_client *c = rs_test_client();
	redstore_job_spec s = { 0 };
	redstore_job j;
	char q[65], id[REDSTORE_JOB_ID_SIZE];
	int added = -1;
	size_t n = 0;
	rs_test_unique(q, sizeof(q), "dup");
	s.id = "order-42";
	s.payload = "{\"n\":1}";
	RS_OK(redstore_job_add(id, c, q, &s, &added));
	ck_assert_int_eq(added, 1);
	ck_assert_str_eq(id, "order-42");
	s.payload = "{\"n\":2}";
	RS_OK(redstore_job_add(id, c, q, &s, &added));
	ck_assert_int_eq(added, 0);
	ck_assert_int_eq(counts(c, q).waiting, 1);
	RS_OK(redstore_job_take(&j, 4, &n, c, q, 1000));
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(j.payload, "{\"n\":1}");
	RS_OK(redstore_job_finish(c, &j, REDSTORE_JOB_DONE, NULL));
	redstore_job_clear(&j);
	/* still a no-op once completed: the id is remembered while the job is retained */
	RS_OK(redstore_job_add(NULL, c, q, &s, &added));
	ck_assert_int_eq(added, 0);
	ck_assert_int_eq(counts(c, q).waiting, 0);
	ck_assert_int_eq(counts(c, q).completed, 1);
	{
		/* many at once: duplicates inside the batch and against the queue */
		redstore_job_spec many[3] = { { 0 }, { 0 }, { 0 } };
		int ad[3];
		many[0].id = "a";
		many[1].id = "a";
		many[2].id = "order-42";
		RS_OK(redstore_job_add_many(c, q, many, 3, ad));
		ck_assert_int_eq(ad[0], 1);
		ck_assert_int_eq(ad[1], 0);
		ck_assert_int_eq(ad[2], 0);
	}
	redstore_client_free(c);
}
END_TEST

START_TEST(job_delayed_is_not_run_early)
{
	redstore_client *c = rs_test_client();
	redstore_job_spec s = { 0 };
	redstore_job_info info;
	redstore_job j;
	char q[65], id[REDSTORE_JOB_ID_SIZE];
	size_t n = 9;
	int64_t t0 = now_ms(), got;
	rs_test_unique(q, sizeof(q), "delay");
	s.delay_ms = 700;
	RS_OK(redstore_job_add(id, c, q, &s, NULL));
	ck_assert_uint_eq(strlen(id), 36); /* a UUID when no id is given */
	RS_OK(redstore_job_get(&info, c, q, id));
	ck_assert_str_eq(info.state, "delayed");
	ck_assert_int_ge(info.due_ms, t0 + 690);
	ck_assert_int_eq(counts(c, q).delayed, 1);
	RS_OK(redstore_job_take(&j, 1, &n, c, q, 1000));
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(take_within(&j, c, q, 1000, 20000), 1);
	got = now_ms();
	ck_assert_int_ge(got - t0, 700);
	ck_assert_str_eq(j.id, id);
	ck_assert_int_eq(j.attempt, 1);
	RS_OK(redstore_job_finish(c, &j, REDSTORE_JOB_DONE, NULL));
	redstore_job_clear(&j);
	{
		/* run_at: an absolute time */
		redstore_job_spec a = { 0 };
		a.run_at_ms = now_ms() + 400;
		RS_OK(redstore_job_add(id, c, q, &a, NULL));
		ck_assert_int_eq(take_within(&j, c, q, 1000, 20000), 1);
		ck_assert_int_ge(now_ms(), a.run_at_ms);
		redstore_job_clear(&j);
	}
	redstore_client_free(c);
}
END_TEST

START_TEST(job_priority_and_pause)
{
	redstore_client *c = rs_test_client();
	redstore_job_spec s[3] = { { 0 }, { 0 }, { 0 } };
	redstore_job j[3];
	char q[65];
	size_t n = 9;
	rs_test_unique(q, sizeof(q), "prio");
	s[0].id = "low";
	s[1].id = "high";
	s[1].priority = 10;
	s[2].id = "mid";
	s[2].priority = 5;
	RS_OK(redstore_queue_pause(c, q, 1));
	RS_OK(redstore_job_add_many(c, q, s, 3, NULL));
	ck_assert_int_eq(counts(c, q).paused, 1);
	RS_OK(redstore_job_take(j, 3, &n, c, q, 1000));
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(counts(c, q).waiting, 3);
	RS_OK(redstore_queue_pause(c, q, 0));
	RS_OK(redstore_job_take(j, 3, &n, c, q, 1000));
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(j[0].id, "high");
	ck_assert_str_eq(j[1].id, "mid");
	ck_assert_str_eq(j[2].id, "low");
	ck_assert_int_eq(counts(c, q).active, 3);
	for (int i = 0; i < 3; i++) {
		RS_OK(redstore_job_finish(c, &j[i], i == 2 ? REDSTORE_JOB_FAIL : REDSTORE_JOB_DONE, "bad payload"));
		redstore_job_clear(&j[i]);
	}
	{
		redstore_queue_counts k = counts(c, q);
		ck_assert_int_eq(k.completed, 2);
		ck_assert_int_eq(k.failed, 1);
		ck_assert_int_eq(k.active + k.waiting + k.delayed + k.dead, 0);
	}
	redstore_client_free(c);
}
END_TEST

START_TEST(job_backoff_schedule_is_observed)
{
	/* exponential from 200 ms without jitter: attempts 2, 3, 4 wait 200, 400, 800 ms */
	redstore_client *c = rs_test_client();
	redstore_job_spec s = { 0 };
	redstore_job_info info;
	redstore_job j;
	char q[65];
	int64_t finished = 0, waits[3] = { 200, 400, 800 };
	rs_test_unique(q, sizeof(q), "backoff");
	s.id = "flaky";
	s.max_attempts = 4;
	s.backoff = REDSTORE_BACKOFF_EXPONENTIAL;
	s.backoff_ms = 200;
	RS_OK(redstore_job_add(NULL, c, q, &s, NULL));
	for (int attempt = 1; attempt <= 4; attempt++) {
		char err[32];
		ck_assert_int_eq(take_within(&j, c, q, 5000, 20000), 1);
		ck_assert_int_eq(j.attempt, attempt);
		ck_assert_int_eq(j.max_attempts, 4);
		if (attempt > 1)
			ck_assert_int_ge(now_ms() - finished, waits[attempt - 2]);
		snprintf(err, sizeof(err), "boom %d", attempt);
		finished = now_ms();
		RS_OK(redstore_job_finish(c, &j, REDSTORE_JOB_RETRY, err));
		redstore_job_clear(&j);
		RS_OK(redstore_job_get(&info, c, q, "flaky"));
		if (attempt < 4) {
			ck_assert_str_eq(info.state, "delayed");
			/* the stored due time is the finish time plus exactly the scheduled wait */
			ck_assert_int_ge(info.due_ms - finished, waits[attempt - 1] - 5);
			ck_assert_int_le(info.due_ms - finished, waits[attempt - 1] + 1000);
			ck_assert_str_eq(info.last_error, err);
		}
	}
	ck_assert_str_eq(info.state, "dead");
	ck_assert_str_eq(info.last_error, "boom 4");
	redstore_client_free(c);
}
END_TEST

START_TEST(job_backoff_fixed_with_jitter_stays_in_range)
{
	redstore_client *c = rs_test_client();
	redstore_job_spec s = { 0 };
	redstore_job_info info;
	redstore_job j;
	char q[65];
	rs_test_unique(q, sizeof(q), "jitter");
	s.id = "j";
	s.max_attempts = 2;
	s.backoff_ms = 5000;
	s.jitter_pct = 50;
	RS_OK(redstore_job_add(NULL, c, q, &s, NULL));
	ck_assert_int_eq(take_within(&j, c, q, 5000, 5000), 1);
	{
		int64_t t = now_ms();
		RS_OK(redstore_job_finish(c, &j, REDSTORE_JOB_RETRY, "x"));
		RS_OK(redstore_job_get(&info, c, q, "j"));
		ck_assert_int_ge(info.due_ms - t, 2500 - 5);
		ck_assert_int_le(info.due_ms - t, 5000 + 1000);
	}
	redstore_job_clear(&j);
	redstore_client_free(c);
}
END_TEST

START_TEST(job_dead_letter_after_max_attempts_then_retry_and_purge)
{
	redstore_client *c = rs_test_client();
	redstore_job_spec s = { 0 };
	redstore_job_info info;
	redstore_job j;
	char q[65];
	int64_t moved = 0;
	rs_test_unique(q, sizeof(q), "dead");
	s.id = "poison";
	s.max_attempts = 2;
	s.backoff_ms = 50;
	RS_OK(redstore_job_add(NULL, c, q, &s, NULL));
	for (int i = 1; i <= 2; i++) {
		ck_assert_int_eq(take_within(&j, c, q, 5000, 20000), 1);
		RS_OK(redstore_job_finish(c, &j, REDSTORE_JOB_RETRY, i == 1 ? "first" : "receiver down"));
		redstore_job_clear(&j);
	}
	RS_OK(redstore_job_get(&info, c, q, "poison"));
	ck_assert_str_eq(info.state, "dead");
	ck_assert_int_eq(info.attempts, 2);
	ck_assert_str_eq(info.last_error, "receiver down");
	ck_assert_int_eq(counts(c, q).dead, 1);
	ck_assert_int_eq(counts(c, q).delayed + counts(c, q).waiting, 0);
	RS_FAILS(REDSTORE_ENOTFOUND, redstore_queue_retry_dead(c, q, "nope", &moved));
	RS_OK(redstore_queue_retry_dead(c, q, "poison", &moved));
	ck_assert_int_eq(moved, 1);
	ck_assert_int_eq(counts(c, q).dead, 0);
	ck_assert_int_eq(take_within(&j, c, q, 5000, 5000), 1);
	ck_assert_int_eq(j.attempt, 1); /* fresh attempts */
	RS_OK(redstore_job_finish(c, &j, REDSTORE_JOB_RETRY, "again"));
	redstore_job_clear(&j);
	ck_assert_int_eq(take_within(&j, c, q, 5000, 20000), 1);
	RS_OK(redstore_job_finish(c, &j, REDSTORE_JOB_RETRY, "again"));
	redstore_job_clear(&j);
	ck_assert_int_eq(counts(c, q).dead, 1);
	RS_OK(redstore_queue_purge_dead(c, q, NULL, &moved));
	ck_assert_int_eq(moved, 1);
	ck_assert_int_eq(counts(c, q).dead, 0);
	RS_FAILS(REDSTORE_ENOTFOUND, redstore_job_get(&info, c, q, "poison"));
	redstore_client_free(c);
}
END_TEST

START_TEST(job_ttl_expires_unstarted_job)
{
	redstore_client *c = rs_test_client();
	redstore_job_spec s = { 0 };
	redstore_job_info info;
	redstore_job j;
	char q[65];
	size_t n = 9;
	int64_t t0 = now_ms();
	rs_test_unique(q, sizeof(q), "ttl");
	s.id = "stale";
	s.ttl_ms = 100;
	RS_OK(redstore_job_add(NULL, c, q, &s, NULL));
	while (now_ms() < t0 + 150)
		rs_test_pause_ms(10);
	RS_OK(redstore_job_take(&j, 1, &n, c, q, 1000));
	ck_assert_uint_eq(n, 0);
	RS_OK(redstore_job_get(&info, c, q, "stale"));
	ck_assert_str_eq(info.state, "failed");
	ck_assert_ptr_nonnull(strstr(info.last_error, "expired"));
	ck_assert_int_eq(counts(c, q).failed, 1);
	redstore_client_free(c);
}
END_TEST

START_TEST(job_retention_trims_completed)
{
	redstore_client *c = rs_test_client();
	redstore_job_spec s[5];
	redstore_job j[5];
	redstore_job_info info;
	char q[65], ids[5][8];
	size_t n = 0;
	int added = 0;
	rs_test_unique(q, sizeof(q), "keep");
	memset(s, 0, sizeof(s));
	for (int i = 0; i < 5; i++) {
		snprintf(ids[i], sizeof(ids[i]), "k%d", i);
		s[i].id = ids[i];
	}
	RS_OK(redstore_queue_set_retention(c, q, 2, 0));
	RS_FAILS(REDSTORE_EINVALID, redstore_queue_set_retention(c, q, -1, 0));
	RS_OK(redstore_job_add_many(c, q, s, 5, NULL));
	RS_OK(redstore_job_take(j, 5, &n, c, q, 1000));
	ck_assert_uint_eq(n, 5);
	for (int i = 0; i < 5; i++) {
		RS_OK(redstore_job_finish(c, &j[i], REDSTORE_JOB_DONE, NULL));
		redstore_job_clear(&j[i]);
	}
	ck_assert_int_eq(counts(c, q).completed, 2);
	RS_FAILS(REDSTORE_ENOTFOUND, redstore_job_get(&info, c, q, "k0"));
	RS_OK(redstore_job_get(&info, c, q, "k4"));
	ck_assert_str_eq(info.state, "completed");
	/* a trimmed id is free again */
	RS_OK(redstore_job_add(NULL, c, q, &s[0], &added));
	ck_assert_int_eq(added, 1);
	redstore_client_free(c);
}
END_TEST

START_TEST(job_lost_lease_cannot_finish)
{
	redstore_client *c = rs_test_client();
	redstore_job_spec s = { 0 };
	redstore_job a, b;
	char q[65];
	rs_test_unique(q, sizeof(q), "lease");
	s.id = "x";
	RS_OK(redstore_job_add(NULL, c, q, &s, NULL));
	ck_assert_int_eq(take_within(&a, c, q, 150, 5000), 1);
	RS_OK(redstore_job_extend(c, &a, 150));
	/* not renewed again: the lease expires and the next take reclaims the job */
	ck_assert_int_eq(take_within(&b, c, q, 5000, 20000), 1);
	ck_assert_str_eq(b.id, "x");
	ck_assert_int_eq(b.attempt, 2);
	RS_FAILS(REDSTORE_ECONFLICT, redstore_job_finish(c, &a, REDSTORE_JOB_DONE, NULL));
	RS_FAILS(REDSTORE_ECONFLICT, redstore_job_extend(c, &a, 1000));
	RS_OK(redstore_job_finish(c, &b, REDSTORE_JOB_DONE, NULL));
	RS_FAILS(REDSTORE_ECONFLICT, redstore_job_finish(c, &b, REDSTORE_JOB_DONE, NULL));
	ck_assert_int_eq(counts(c, q).completed, 1);
	redstore_job_clear(&a);
	redstore_job_clear(&b);
	redstore_client_free(c);
}
END_TEST

/* ---------------------------------------------------------------- worker */

typedef struct runs {
	pthread_mutex_t mu;
	char queue[65];
	int total;
	char ids[64][REDSTORE_JOB_ID_SIZE];
	int attempt[64];
	int calls[64];
	int n;
} runs;

static redstore_job_outcome count_handler(const redstore_job *job, redstore_client *client, char *error,
                                          size_t error_cap, void *payload)
{
	runs *r = payload;
	char key[200];
	pthread_mutex_lock(&r->mu);
	r->total++;
	{
		int i;
		for (i = 0; i < r->n && strcmp(r->ids[i], job->id); i++)
			;
		if (i == r->n && r->n < 64)
			snprintf(r->ids[r->n++], REDSTORE_JOB_ID_SIZE, "%s", job->id);
		if (i < 64) {
			r->calls[i]++;
			r->attempt[i] = job->attempt;
		}
	}
	pthread_mutex_unlock(&r->mu);
	/* a side effect in Redis too, counted per job */
	snprintf(key, sizeof(key), "rs:{q:%s}:test-effects", r->queue);
	if (redstore__redis_cmd(NULL, client, "HINCRBY %s %s 1", key, job->id)) {
		snprintf(error, error_cap, "%s", redstore_error_last());
		return REDSTORE_JOB_RETRY;
	}
	return REDSTORE_JOB_DONE;
}

static void *worker_thread(void *arg)
{
	int rc = redstore_worker_run(arg);
	ck_assert_msg(rc == 0, "worker: %s", redstore_error_last());
	return NULL;
}

START_TEST(job_killed_worker_job_completes_once_elsewhere)
{
	redstore_client *c = rs_test_client();
	redstore_job_spec s[10];
	char q[65], ids[10][8], line[256] = "";
	int fds[2];
	pid_t pid;
	runs r;
	redstore_worker *w;
	redstore_worker_options o = { 0 };
	redstore_config *cfg = rs_test_config();
	pthread_t th;
	int64_t end;

	memset(&r, 0, sizeof(r));
	pthread_mutex_init(&r.mu, NULL);
	rs_test_unique(q, sizeof(q), "kill");
	snprintf(r.queue, sizeof(r.queue), "%s", q);
	memset(s, 0, sizeof(s));
	for (int i = 0; i < 10; i++) {
		snprintf(ids[i], sizeof(ids[i]), "k%d", i);
		s[i].id = ids[i];
		s[i].max_attempts = 3;
	}
	RS_OK(redstore_job_add_many(c, q, s, 10, NULL));
	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* The doomed worker: takes 4 jobs under a 600 ms lease, says which, and hangs "mid-job". */
		redstore_client *cc;
		redstore_job j[4];
		size_t n = 0;
		char msg[256] = "";
		close(fds[0]);
		if (redstore_client_new(&cc, cfg) || redstore_job_take(j, 4, &n, cc, q, 600))
			_exit(3);
		for (size_t i = 0; i < n; i++)
			snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg), "%s %s\n", j[i].id, j[i].token);
		if (write(fds[1], msg, strlen(msg)) < 0)
			_exit(4);
		for (;;)
			pause();
	}
	close(fds[1]);
	{
		ssize_t got = read(fds[0], line, sizeof(line) - 1);
		ck_assert_int_gt(got, 0);
		line[got] = '\0';
	}
	close(fds[0]);
	ck_assert_int_eq(counts(c, q).active, 4);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);

	o.concurrency = 3;
	o.lease_ms = 2000;
	o.batch = 2;
	o.idle_ms = 10;
	RS_OK(redstore_worker_new(&w, cfg, &o));
	RS_OK(redstore_worker_on(w, q, count_handler, &r));
	ck_assert_int_eq(pthread_create(&th, NULL, worker_thread, w), 0);
	end = now_ms() + 60000;
	while (counts(c, q).completed < 10 && now_ms() < end)
		rs_test_pause_ms(20);
	redstore_worker_stop(w);
	pthread_join(th, NULL);
	ck_assert_int_eq(counts(c, q).completed, 10);
	ck_assert_int_eq(counts(c, q).active + counts(c, q).waiting + counts(c, q).dead, 0);
	ck_assert_int_eq(r.total, 10);
	ck_assert_int_eq(r.n, 10);
	ck_assert_uint_eq(redstore_worker_processed(w), 10);
	{
		/* exactly once per job; the 4 the killed worker held ran as their second attempt */
		int second = 0;
		char key[200];
		redisReply *rep;
		for (int i = 0; i < 10; i++) {
			ck_assert_int_eq(r.calls[i], 1);
			if (strstr(line, r.ids[i])) {
				ck_assert_int_eq(r.attempt[i], 2);
				second++;
			} else {
				ck_assert_int_eq(r.attempt[i], 1);
			}
		}
		ck_assert_int_eq(second, 4);
		snprintf(key, sizeof(key), "rs:{q:%s}:test-effects", q);
		RS_OK(redstore__redis_cmd(&rep, c, "HVALS %s", key));
		ck_assert_uint_eq(rep->elements, 10);
		for (size_t i = 0; i < rep->elements; i++)
			ck_assert_str_eq(rep->element[i]->str, "1");
		freeReplyObject(rep);
	}
	{
		/* the dead worker's token cannot complete its job a second time */
		redstore_job ghost;
		memset(&ghost, 0, sizeof(ghost));
		snprintf(ghost.queue, sizeof(ghost.queue), "%s", q);
		ck_assert_int_eq(sscanf(line, "%128s %47s", ghost.id, ghost.token), 2);
		RS_FAILS(REDSTORE_ECONFLICT, redstore_job_finish(c, &ghost, REDSTORE_JOB_DONE, NULL));
		ck_assert_int_eq(counts(c, q).completed, 10);
	}
	redstore_worker_free(w);
	redstore_config_free(cfg);
	pthread_mutex_destroy(&r.mu);
	redstore_client_free(c);
}
END_TEST

START_TEST(job_repeat_every_second_runs_twice)
{
	redstore_client *c = rs_test_client();
	redstore_config *cfg = rs_test_config();
	redstore_worker *w;
	redstore_worker_options o = { 0 };
	redstore_job_spec s = { 0 };
	char q[65];
	runs r;
	pthread_t th;
	int64_t end;

	memset(&r, 0, sizeof(r));
	pthread_mutex_init(&r.mu, NULL);
	rs_test_unique(q, sizeof(q), "rep");
	snprintf(r.queue, sizeof(r.queue), "%s", q);
	s.payload = "{\"what\":\"tick\"}";
	RS_FAILS(REDSTORE_EINVALID, redstore_job_repeat_every(c, q, "tick", 0, &s));
	RS_FAILS(REDSTORE_EINVALID, redstore_job_repeat_every(c, q, "bad name", 1, &s));
	RS_OK(redstore_job_repeat_every(c, q, "tick", 1, &s));
	ck_assert_int_eq(counts(c, q).delayed, 1);
	o.idle_ms = 10;
	RS_OK(redstore_worker_new(&w, cfg, &o));
	RS_OK(redstore_worker_on(w, q, count_handler, &r));
	ck_assert_int_eq(pthread_create(&th, NULL, worker_thread, w), 0);
	end = now_ms() + 30000;
	for (;;) {
		int n;
		pthread_mutex_lock(&r.mu);
		n = r.n;
		pthread_mutex_unlock(&r.mu);
		if (n >= 2 || now_ms() > end)
			break;
		rs_test_pause_ms(20);
	}
	redstore_worker_stop(w);
	pthread_join(th, NULL);
	ck_assert_int_ge(r.n, 2);
	ck_assert_ptr_nonnull(strstr(r.ids[0], "rep.tick."));
	ck_assert_str_ne(r.ids[0], r.ids[1]);
	/* occurrences are one second apart, on second boundaries */
	ck_assert_int_eq(atoll(r.ids[1] + 9) - atoll(r.ids[0] + 9), 1000);
	ck_assert_int_eq(atoll(r.ids[0] + 9) % 1000, 0);
	RS_OK(redstore_job_repeat_remove(c, q, "tick"));
	RS_FAILS(REDSTORE_ENOTFOUND, redstore_job_repeat_remove(c, q, "tick"));
	redstore_worker_free(w);
	redstore_config_free(cfg);
	pthread_mutex_destroy(&r.mu);
	redstore_client_free(c);
}
END_TEST

START_TEST(job_next_daily_follows_the_zone)
{
	int64_t t;
	/* 2026-01-15 12:00 UTC; Paris is UTC+1 in winter, UTC+2 in summer */
	RS_OK(redstore_next_daily_ms(&t, INT64_C(1768478400000), "09:00", "Europe/Paris"));
	ck_assert_int_eq(t, INT64_C(1768550400000)); /* 2026-01-16 08:00 UTC */
	RS_OK(redstore_next_daily_ms(&t, INT64_C(1768478400000), "23:55", "Europe/Paris"));
	ck_assert_int_eq(t, INT64_C(1768517700000)); /* 2026-01-15 22:55 UTC */
	/* 2026-07-15 12:00 UTC */
	RS_OK(redstore_next_daily_ms(&t, INT64_C(1784116800000), "13:30", "Europe/Paris"));
	ck_assert_int_eq(t, INT64_C(1784115000000) + 86400000); /* 11:30 UTC has passed: the next day */
	RS_OK(redstore_next_daily_ms(&t, INT64_C(1784116800000), "18:00", "America/New_York"));
	ck_assert_int_eq(t, INT64_C(1784152800000)); /* 22:00 UTC (EDT, UTC-4) */
	RS_OK(redstore_next_daily_ms(&t, INT64_C(1784116800000), "12:00", "UTC"));
	ck_assert_int_eq(t, INT64_C(1784116800000) + 86400000);
	/* spring forward (2026-03-29 in Paris): 02:30 does not exist and runs at 03:30 CEST, 01:30 UTC */
	RS_OK(redstore_next_daily_ms(&t, INT64_C(1774699200000), "02:30", "Europe/Paris"));
	ck_assert_int_eq(t, INT64_C(1774747800000));
	/* fall back (2026-10-25): 02:30 happens twice; it runs once, at one of them, and the next run is a day on */
	RS_OK(redstore_next_daily_ms(&t, INT64_C(1792843200000), "02:30", "Europe/Paris"));
	ck_assert(t == INT64_C(1792888200000) || t == INT64_C(1792891800000));
	{
		int64_t t2;
		RS_OK(redstore_next_daily_ms(&t2, t, "02:30", "Europe/Paris"));
		ck_assert_int_ge(t2 - t, INT64_C(86400000));
	}
	RS_FAILS(REDSTORE_EINVALID, redstore_next_daily_ms(&t, 0, "24:00", "UTC"));
	RS_FAILS(REDSTORE_EINVALID, redstore_next_daily_ms(&t, 0, "9:00", "UTC"));
	RS_FAILS(REDSTORE_EINVALID, redstore_next_daily_ms(&t, 0, "09:00", "Mars/Olympus"));
	RS_FAILS(REDSTORE_EINVALID, redstore_next_daily_ms(&t, 0, "09:00", "../etc/passwd"));
}
END_TEST

START_TEST(job_bad_input_adds_nothing)
{
	redstore_client *c = rs_test_client();
	redstore_job_spec s = { 0 }, many[2] = { { 0 }, { 0 } };
	redstore_job j;
	char q[65], *big;
	size_t n;
	rs_test_unique(q, sizeof(q), "bad");
	RS_FAILS(REDSTORE_EINVALID, redstore_job_add(NULL, c, "has space", &s, NULL));
	RS_FAILS(REDSTORE_EINVALID, redstore_job_add(NULL, c, "{q:x}", &s, NULL));
	RS_FAILS(REDSTORE_EINVALID, redstore_job_add(NULL, c, NULL, &s, NULL));
	s.payload = "{not json";
	RS_FAILS(REDSTORE_EINVALID, redstore_job_add(NULL, c, q, &s, NULL));
	ck_assert_ptr_nonnull(strstr(redstore_error_last(), "not JSON"));
	s.payload = NULL;
	s.priority = 1001;
	RS_FAILS(REDSTORE_EINVALID, redstore_job_add(NULL, c, q, &s, NULL));
	ck_assert_ptr_nonnull(strstr(redstore_error_last(), "priority"));
	s.priority = 0;
	s.id = "white space";
	RS_FAILS(REDSTORE_EINVALID, redstore_job_add(NULL, c, q, &s, NULL));
	s.id = NULL;
	s.max_attempts = -1;
	RS_FAILS(REDSTORE_EINVALID, redstore_job_add(NULL, c, q, &s, NULL));
	s.max_attempts = 0;
	s.backoff = (redstore_backoff)7;
	RS_FAILS(REDSTORE_EINVALID, redstore_job_add(NULL, c, q, &s, NULL));
	big = malloc(REDSTORE_JOB_MAX_PAYLOAD + 16);
	memset(big, ' ', REDSTORE_JOB_MAX_PAYLOAD + 15);
	big[0] = '1';
	big[REDSTORE_JOB_MAX_PAYLOAD + 15] = '\0';
	many[1].payload = big;
	RS_FAILS(REDSTORE_ELIMIT, redstore_job_add_many(c, q, many, 2, NULL));
	ck_assert_ptr_nonnull(strstr(redstore_error_last(), "job 1"));
	free(big);
	ck_assert_int_eq(counts(c, q).waiting + counts(c, q).delayed, 0);
	RS_FAILS(REDSTORE_EINVALID, redstore_job_take(&j, 1, &n, c, q, 10));
	RS_FAILS(REDSTORE_EINVALID, redstore_job_take(&j, 0, &n, c, q, 1000));
	{
		redstore_worker *w = NULL;
		redstore_worker_options o = { 0 };
		o.concurrency = 1000;
		RS_FAILS(REDSTORE_EINVALID, redstore_worker_new(&w, NULL, &o));
		ck_assert_ptr_null(w);
		o.concurrency = 1;
		RS_OK(redstore_worker_new(&w, NULL, &o));
		RS_FAILS(REDSTORE_EINVALID, redstore_worker_run(w));
		redstore_worker_free(w);
	}
	redstore_client_free(c);
}
END_TEST

/* ---------------------------------------------------------------- webhooks */

typedef struct receiver {
	pthread_mutex_t mu;
	struct MHD_Daemon *d;
	int port;
	int fail_first;          /* /flaky answers 500 this many times */
	int hits_flaky, hits_down;
	char body[2][4096];
	char ts[2][32], sig[2][100], delivery[2][200], event[2][64];
} receiver;

typedef struct request {
	char data[8192];
	size_t len;
} request;

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **state)
{
	receiver *rv = cls;
	request *rq = *state;
	struct MHD_Response *resp;
	unsigned status = 200;
	enum MHD_Result ret;
	(void)version;
	if (!rq) {
		if (!(rq = calloc(1, sizeof(*rq))))
			return MHD_NO;
		*state = rq;
		return MHD_YES;
	}
	if (*upload_size) {
		size_t take = *upload_size < sizeof(rq->data) - 1 - rq->len ? *upload_size : sizeof(rq->data) - 1 - rq->len;
		memcpy(rq->data + rq->len, upload, take);
		rq->len += take;
		*upload_size = 0;
		return MHD_YES;
	}
	pthread_mutex_lock(&rv->mu);
	if (strcmp(method, "POST")) {
		status = 405;
	} else if (!strcmp(url, "/flaky")) {
		int i = rv->hits_flaky < 2 ? rv->hits_flaky : 1;
		const char *h;
		snprintf(rv->body[i], sizeof(rv->body[i]), "%.*s", (int)rq->len, rq->data);
		h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Redstore-Timestamp");
		snprintf(rv->ts[i], sizeof(rv->ts[i]), "%s", h ? h : "");
		h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Redstore-Signature");
		snprintf(rv->sig[i], sizeof(rv->sig[i]), "%s", h ? h : "");
		h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Redstore-Delivery");
		snprintf(rv->delivery[i], sizeof(rv->delivery[i]), "%s", h ? h : "");
		h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Redstore-Event");
		snprintf(rv->event[i], sizeof(rv->event[i]), "%s", h ? h : "");
		status = rv->hits_flaky < rv->fail_first ? 500 : 200;
		rv->hits_flaky++;
	} else {
		rv->hits_down++;
		status = 500;
	}
	pthread_mutex_unlock(&rv->mu);
	resp = MHD_create_response_from_buffer(2, (void *)"ok", MHD_RESPMEM_PERSISTENT);
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **state, enum MHD_RequestTerminationCode code)
{
	(void)cls;
	(void)conn;
	(void)code;
	free(*state);
	*state = NULL;
}

static void receiver_start(receiver *rv)
{
	struct sockaddr_in a;
	const union MHD_DaemonInfo *info;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = 0;
	pthread_mutex_init(&rv->mu, NULL);
	rv->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, on_request, rv, MHD_OPTION_SOCK_ADDR, &a,
	                         MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END);
	ck_assert_ptr_nonnull(rv->d);
	info = MHD_get_daemon_info(rv->d, MHD_DAEMON_INFO_BIND_PORT);
	ck_assert_ptr_nonnull(info);
	rv->port = info->port;
	ck_assert_int_gt(rv->port, 0);
}

static void event_json(char *buf, size_t cap, char *id, const char *store, const char *type)
{
	RS_OK(redstore_id_new(id));
	snprintf(buf, cap,
	         "{\"id\":\"%s\",\"type\":\"%s\",\"schema_version\":1,\"store_id\":\"%s\",\"terminal_id\":\"t1\","
	         "\"employee_id\":\"e1\",\"occurred_at\":\"2026-03-01T10:00:00.000Z\","
	         "\"recorded_at\":\"2026-03-01T10:00:00.100Z\",\"payload\":{\"total\":1250}}",
	         id, type, store);
}

START_TEST(webhook_delivered_signed_and_retried_after_500)
{
	redstore_client *c = rs_test_client();
	redstore_config *cfg = rs_test_config();
	redstore_worker *w;
	redstore_worker_options o = { 0 };
	redstore_job_spec policy = { 0 };
	redstore_job_info info;
	receiver rv;
	char store[65], url[128], ev[1024], ev_id[REDSTORE_ID_SIZE], other[1024], other_id[REDSTORE_ID_SIZE];
	char flaky_job[200], down_job[200];
	const char *secret = "s3cret-s3cret-s3cret-s3cret";
	int queued = 0;
	pthread_t th;
	int64_t end;

	memset(&rv, 0, sizeof(rv));
	rv.fail_first = 1;
	receiver_start(&rv);
	rs_test_unique(store, sizeof(store), "hook");
	RS_OK(redstore_client_use_store(c, store));
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/flaky", rv.port);
	RS_FAILS(REDSTORE_EINVALID, redstore_webhook_set(c, "h1", "ftp://x.example/", secret, "*"));
	RS_FAILS(REDSTORE_EINVALID, redstore_webhook_set(c, "h1", url, "short", "*"));
	RS_FAILS(REDSTORE_EINVALID, redstore_webhook_set(c, "h 1", url, secret, "*"));
	RS_OK(redstore_webhook_set(c, "flaky", url, secret, "sale.completed,inventory.low_stock"));
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/down", rv.port);
	RS_OK(redstore_webhook_set(c, "down", url, secret, "sale.completed"));

	policy.max_attempts = 3;
	policy.backoff = REDSTORE_BACKOFF_FIXED;
	policy.backoff_ms = 100;
	event_json(ev, sizeof(ev), ev_id, store, "sale.completed");
	RS_OK(redstore_webhook_dispatch(c, ev, strlen(ev), &policy, &queued));
	ck_assert_int_eq(queued, 2);
	RS_OK(redstore_webhook_dispatch(c, ev, strlen(ev), &policy, &queued));
	ck_assert_int_eq(queued, 0); /* the same event is queued once */
	event_json(other, sizeof(other), other_id, store, "catalog.updated");
	RS_OK(redstore_webhook_dispatch(c, other, strlen(other), &policy, &queued));
	ck_assert_int_eq(queued, 0); /* nobody wants it */
	snprintf(flaky_job, sizeof(flaky_job), "%s.flaky", ev_id);
	snprintf(down_job, sizeof(down_job), "%s.down", ev_id);

	o.concurrency = 2;
	o.idle_ms = 10;
	o.lease_ms = 5000;
	RS_OK(redstore_worker_new(&w, cfg, &o));
	RS_OK(redstore_worker_on(w, REDSTORE_WEBHOOK_QUEUE, redstore_webhook_handler, NULL));
	ck_assert_int_eq(pthread_create(&th, NULL, worker_thread, w), 0);
	end = now_ms() + 60000;
	for (;;) {
		redstore_job_info a, b;
		RS_OK(redstore_job_get(&a, c, REDSTORE_WEBHOOK_QUEUE, flaky_job));
		RS_OK(redstore_job_get(&b, c, REDSTORE_WEBHOOK_QUEUE, down_job));
		if ((!strcmp(a.state, "completed") && !strcmp(b.state, "dead")) || now_ms() > end)
			break;
		rs_test_pause_ms(20);
	}
	redstore_worker_stop(w);
	pthread_join(th, NULL);
	MHD_stop_daemon(rv.d);

	RS_OK(redstore_job_get(&info, c, REDSTORE_WEBHOOK_QUEUE, flaky_job));
	ck_assert_str_eq(info.state, "completed");
	ck_assert_int_eq(info.attempts, 2);
	ck_assert_int_eq(rv.hits_flaky, 2);
	RS_OK(redstore_job_get(&info, c, REDSTORE_WEBHOOK_QUEUE, down_job));
	ck_assert_str_eq(info.state, "dead");
	ck_assert_int_eq(info.attempts, 3);
	ck_assert_ptr_nonnull(strstr(info.last_error, "HTTP 500"));
	ck_assert_int_eq(rv.hits_down, 3);
	for (int i = 0; i < 2; i++) {
		/* verified with libsodium directly: HMAC-SHA256(secret, "<timestamp>.<body>") */
		unsigned char mac[crypto_auth_hmacsha256_BYTES], want[crypto_auth_hmacsha256_BYTES];
		crypto_auth_hmacsha256_state st;
		size_t maclen = 0;
		long long ts = atoll(rv.ts[i]);
		ck_assert_str_eq(rv.body[i], ev);
		ck_assert_str_eq(rv.delivery[i], flaky_job);
		ck_assert_str_eq(rv.event[i], "sale.completed");
		ck_assert_int_lt(llabs(ts - now_ms() / 1000), 120);
		ck_assert_int_eq(strncmp(rv.sig[i], "v1=", 3), 0);
		ck_assert_int_eq(sodium_hex2bin(mac, sizeof(mac), rv.sig[i] + 3, strlen(rv.sig[i] + 3), NULL, &maclen, NULL), 0);
		ck_assert_uint_eq(maclen, sizeof(mac));
		ck_assert_int_ge(sodium_init(), 0);
		crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
		crypto_auth_hmacsha256_update(&st, (const unsigned char *)rv.ts[i], strlen(rv.ts[i]));
		crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
		crypto_auth_hmacsha256_update(&st, (const unsigned char *)rv.body[i], strlen(rv.body[i]));
		crypto_auth_hmacsha256_final(&st, want);
		ck_assert_int_eq(sodium_memcmp(mac, want, sizeof(mac)), 0);
		/* and a tampered body does not verify */
		{
			char hex[65];
			RS_OK(redstore_webhook_sign(hex, secret, ts, "{}", 2));
			ck_assert_str_ne(hex, rv.sig[i] + 3);
		}
	}
	RS_OK(redstore_webhook_remove(c, "down"));
	RS_FAILS(REDSTORE_ENOTFOUND, redstore_webhook_remove(c, "down"));
	redstore_worker_free(w);
	redstore_config_free(cfg);
	pthread_mutex_destroy(&rv.mu);
	redstore_client_free(c);
}
END_TEST

/* ---------------------------------------------------------------- end of day */

START_TEST(sales_day_csv_sums_the_local_day)
{
	redstore_client *c = rs_test_client();
	char store[65], *csv = NULL;
	char id1[REDSTORE_ID_SIZE], id2[REDSTORE_ID_SIZE], id3[REDSTORE_ID_SIZE];
	static const char *ins =
		"INSERT INTO sale_lines (store_id, sale_id, line_no, occurred_at, kind, sku, name, qty, unit_price, gross, "
		"discount, net, tax, total) VALUES ($1, $2, 1, $3, $4, $5, $6, $7, 100, $8, 0, $8, 0, $8)";
	rs_test_store(c, "eod", store, 0); /* Europe/Paris */
	RS_OK(redstore_id_new(id1));
	RS_OK(redstore_id_new(id2));
	RS_OK(redstore_id_new(id3));
	{
		/* 2026-02-10 local (UTC+1): 00:30 local is 2026-02-09 23:30 UTC; 2026-02-11 00:30 local is not */
		const char *a[8] = { store, id1, "2026-02-09T23:30:00Z", "sale", "ESP", "Espresso, double", "2", "400" };
		const char *b[8] = { store, id2, "2026-02-10T18:00:00Z", "sale", "ESP", "Espresso, double", "1", "200" };
		const char *d[8] = { store, id3, "2026-02-10T23:30:00Z", "sale", "ESP", "Espresso, double", "5", "1000" };
		RS_OK(redstore__pg_exec(NULL, c, ins, 8, a));
		RS_OK(redstore__pg_exec(NULL, c, ins, 8, b));
		RS_OK(redstore__pg_exec(NULL, c, ins, 8, d));
	}
	RS_FAILS(REDSTORE_EINVALID, redstore_sales_day_csv(&csv, c, "2026-02-30x"));
	RS_OK(redstore_sales_day_csv(&csv, c, "2026-02-10"));
	{
		char want[1024];
		snprintf(want, sizeof(want),
		         "store,date,kind,sku,name,units,gross,discount,tax,total\r\n"
		         "%s,2026-02-10,sale,ESP,\"Espresso, double\",3,600,0,0,600\r\n"
		         "%s,2026-02-10,sale,TOTAL,,3,600,0,0,600\r\n",
		         store, store);
		ck_assert_str_eq(csv, want);
	}
	redstore_free(csv);
	RS_OK(redstore_sales_day_csv(&csv, c, "2026-01-01"));
	ck_assert_str_eq(csv, "store,date,kind,sku,name,units,gross,discount,tax,total\r\n");
	redstore_free(csv);
	RS_OK(redstore_client_use_store(c, "no-such-store-jobs"));
	RS_FAILS(REDSTORE_ENOTFOUND, redstore_sales_day_csv(&csv, c, "2026-02-10"));
	redstore_client_free(c);
}
END_TEST

START_TEST(eod_job_writes_the_day_csv_and_is_scheduled_daily)
{
	redstore_client *c = rs_test_client();
	char store[65], dir[] = "/tmp/rs-eod-XXXXXX", path[300], payload[400], err[256] = "", got[2048];
	char id[REDSTORE_ID_SIZE], rep_id[200];
	static const char *ins =
		"INSERT INTO sale_lines (store_id, sale_id, line_no, occurred_at, kind, sku, name, qty, unit_price, gross, "
		"discount, net, tax, total) VALUES ($1, $2, 1, '2026-02-10T12:00:00Z', 'sale', 'TEA', 'Tea', 2, 150, 300, "
		"0, 250, 50, 300)";
	redstore_job job;
	redstore_job_info info;
	int64_t next;
	FILE *f;
	size_t n;
	rs_test_store(c, "eodjob", store, 0);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	RS_OK(redstore_id_new(id));
	{
		const char *params[2] = { store, id };
		RS_OK(redstore__pg_exec(NULL, c, ins, 2, params));
	}
	/* scheduled: the next 23:55 in Paris, as a delayed occurrence with an idempotent id */
	RS_FAILS(REDSTORE_EINVALID, redstore_eod_schedule(c, "25:00", dir));
	RS_OK(redstore_eod_schedule(c, "23:55", dir));
	RS_OK(redstore_next_daily_ms(&next, now_ms(), "23:55", "Europe/Paris"));
	snprintf(rep_id, sizeof(rep_id), "rep.eod.%s.%lld", store, (long long)next);
	RS_OK(redstore_job_get(&info, c, REDSTORE_EOD_QUEUE, rep_id));
	ck_assert_str_eq(info.state, "delayed");
	ck_assert_int_eq(info.due_ms, next);
	{
		char name[80];
		snprintf(name, sizeof(name), "eod.%s", store);
		RS_OK(redstore_job_repeat_remove(c, REDSTORE_EOD_QUEUE, name));
	}
	/* the run due 2026-02-10 23:55 Paris time (22:55 UTC) reports 2026-02-10 */
	memset(&job, 0, sizeof(job));
	snprintf(job.queue, sizeof(job.queue), "%s", REDSTORE_EOD_QUEUE);
	snprintf(job.id, sizeof(job.id), "eod-test");
	snprintf(payload, sizeof(payload), "{\"store\":\"%s\",\"tz\":\"Europe/Paris\",\"dir\":\"%s\"}", store, dir);
	job.payload = payload;
	job.run_at_ms = INT64_C(1770764100000);
	ck_assert_int_eq(redstore_eod_handler(&job, c, err, sizeof(err), NULL), REDSTORE_JOB_DONE);
	snprintf(path, sizeof(path), "%s/%s-2026-02-10.csv", dir, store);
	ck_assert_ptr_nonnull(f = fopen(path, "rb"));
	n = fread(got, 1, sizeof(got) - 1, f);
	got[n] = '\0';
	fclose(f);
	ck_assert_ptr_nonnull(strstr(got, ",2026-02-10,sale,TEA,Tea,2,300,0,50,300\r\n"));
	ck_assert_ptr_nonnull(strstr(got, ",2026-02-10,sale,TOTAL,,2,300,0,50,300\r\n"));
	remove(path);
	/* 00:30 the next morning reports the day that ended too */
	job.run_at_ms = INT64_C(1770764100000) + 35 * 60000;
	ck_assert_int_eq(redstore_eod_handler(&job, c, err, sizeof(err), NULL), REDSTORE_JOB_DONE);
	ck_assert_ptr_nonnull(f = fopen(path, "rb"));
	fclose(f);
	remove(path);
	rmdir(dir);
	job.payload = (char *)"{\"store\":1}";
	ck_assert_int_eq(redstore_eod_handler(&job, c, err, sizeof(err), NULL), REDSTORE_JOB_FAIL);
	redstore_client_free(c);
}
END_TEST

START_TEST(webhook_dispatch_of_a_decoded_event)
{
	redstore_client *c = rs_test_client();
	redstore_event *ev;
	redstore_job j;
	char store[65], json[1024], id[REDSTORE_ID_SIZE], job_id[200];
	redstore_job_info info;
	int queued = 0;
	rs_test_unique(store, sizeof(store), "hookev");
	RS_OK(redstore_client_use_store(c, store));
	RS_OK(redstore_webhook_set(c, "all", "http://127.0.0.1:9/never", "0123456789abcdef", "*"));
	event_json(json, sizeof(json), id, store, "inventory.low_stock");
	RS_OK(redstore_event_decode(&ev, json, strlen(json)));
	RS_OK(redstore_webhook_dispatch_event(c, ev, NULL, &queued));
	ck_assert_int_eq(queued, 1);
	RS_OK(redstore_webhook_dispatch_event(c, ev, NULL, &queued));
	ck_assert_int_eq(queued, 0);
	redstore_event_free(ev);
	snprintf(job_id, sizeof(job_id), "%s.all", id);
	RS_OK(redstore_job_get(&info, c, REDSTORE_WEBHOOK_QUEUE, job_id));
	ck_assert_int_eq(info.max_attempts, 8);
	/* the delivery's body decodes to the same event */
	{
		redisReply *r;
		char key[300];
		snprintf(key, sizeof(key), "rs:{q:%s}:j:%s", REDSTORE_WEBHOOK_QUEUE, job_id);
		RS_OK(redstore__redis_cmd(&r, c, "HGET %s payload", key));
		ck_assert_ptr_nonnull(strstr(r->str, "\\\"type\\\":\\\"inventory.low_stock\\\""));
		freeReplyObject(r);
	}
	/* a removed hook fails its pending delivery for good */
	RS_OK(redstore_webhook_remove(c, "all"));
	memset(&j, 0, sizeof(j));
	snprintf(j.queue, sizeof(j.queue), "%s", REDSTORE_WEBHOOK_QUEUE);
	snprintf(j.id, sizeof(j.id), "%.100s", job_id);
	{
		char payload[400], err[256] = "";
		snprintf(payload, sizeof(payload), "{\"store\":\"%s\",\"hook\":\"all\",\"type\":\"x.y\",\"body\":\"{}\"}", store);
		j.payload = payload;
		ck_assert_int_eq(redstore_webhook_handler(&j, c, err, sizeof(err), NULL), REDSTORE_JOB_FAIL);
		ck_assert_ptr_nonnull(strstr(err, "removed"));
	}
	redstore_client_free(c);
}
END_TEST

static Suite *jobs_suite(void)
{
	Suite *s = suite_create("jobs");
	TCase *tc = tcase_create("queue");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, job_duplicate_id_is_added_once);
	tcase_add_test(tc, job_delayed_is_not_run_early);
	tcase_add_test(tc, job_priority_and_pause);
	tcase_add_test(tc, job_backoff_fixed_with_jitter_stays_in_range);
	tcase_add_test(tc, job_dead_letter_after_max_attempts_then_retry_and_purge);
	tcase_add_test(tc, job_ttl_expires_unstarted_job);
	tcase_add_test(tc, job_retention_trims_completed);
	tcase_add_test(tc, job_next_daily_follows_the_zone);
	tcase_add_test(tc, job_bad_input_adds_nothing);
	tcase_add_test(tc, job_killed_worker_job_completes_once_elsewhere);
	tcase_add_test(tc, webhook_delivered_signed_and_retried_after_500);
	tcase_add_test(tc, sales_day_csv_sums_the_local_day);
	tcase_add_test(tc, eod_job_writes_the_day_csv_and_is_scheduled_daily);
	tcase_add_test(tc, webhook_dispatch_of_a_decoded_event);
	suite_add_tcase(s, tc);
	tc = tcase_create("timing");
	tcase_set_tags(tc, "timing");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, job_backoff_schedule_is_observed);
	tcase_add_test(tc, job_lost_lease_cannot_finish);
	tcase_add_test(tc, job_repeat_every_second_runs_twice);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return rs_test_run(jobs_suite());
}
