/*
 * bench/jobs: enqueue and complete no-op jobs through the C API against the dev stack: one producer thread
 * adds the jobs (redstore_job_add_many, 1,000 per call) while a redstore_worker with 8 threads takes them
 * in batches under a lease and finishes each batch in one script call. Timed from the first add to the
 * last completion; three runs, median.
 *
 * The same run's ceiling: the Redis CPU time the job scripts used (INFO commandstats, evalsha usec) per
 * job, i.e. how many jobs/s one Redis core could do if nothing else cost anything; plus the add step
 * alone under redis-benchmark (pipelined, 8 connections) for reference.
 *
 *   bench-jobs [--jobs N] [--workers W] [--batch B]
 *
 * Needs the REDSTORE_* environment of a dev stack and redis-benchmark.
 * Last line: RESULT jobs per_s=<median> ceiling_per_s=<n> ratio=<x>
 */
#include "common.h"
#include "engines/engines_int.h"
#include "core/core_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int opt_jobs = 100000, opt_workers = 8, opt_batch = 50;

static redstore_job_outcome noop(const redstore_job *job, redstore_client *client, char *error, size_t error_cap,
                                 void *payload)
{
	(void)job;
	(void)client;
	(void)error;
	(void)error_cap;
	(void)payload;
	return REDSTORE_JOB_DONE;
}

typedef struct producer {
	const redstore_config *cfg;
	const char *queue;
	int64_t done_us;
} producer;

static void *producer_main(void *arg)
{
	producer *p = arg;
	redstore_client *c;
	redstore_job_spec *specs = calloc(1000, sizeof(*specs));
	char (*ids)[24] = calloc(1000, sizeof(*ids));
	bench_check(!specs || !ids ? REDSTORE_ENOMEM : 0, "memory");
	bench_check(redstore_client_new(&c, p->cfg), "producer client");
	for (int from = 0; from < opt_jobs; from += 1000) {
		int n = opt_jobs - from < 1000 ? opt_jobs - from : 1000;
		for (int i = 0; i < n; i++) {
			snprintf(ids[i], sizeof(ids[i]), "j%d", from + i);
			specs[i].id = ids[i];
			specs[i].payload = "{\"n\":1}";
		}
		bench_check(redstore_job_add_many(c, p->queue, specs, (size_t)n, NULL), "add_many");
	}
	p->done_us = bench_now_us();
	redstore_client_free(c);
	free(specs);
	free(ids);
	return NULL;
}

typedef struct worker_arg {
	redstore_worker *w;
} worker_arg;

static void *worker_main(void *arg)
{
	bench_check(redstore_worker_run(arg), "worker");
	return NULL;
}

/* Sum of usec and calls of EVALSHA in INFO commandstats. */
static void evalsha_stats(redstore_client *c, double *usec, double *calls)
{
	redisReply *r;
	const char *p;
	*usec = *calls = 0;
	bench_check(redstore__redis_cmd(&r, c, "INFO commandstats"), "INFO");
	if ((p = strstr(r->str, "cmdstat_evalsha:calls="))) {
		*calls = atof(p + strlen("cmdstat_evalsha:calls="));
		if ((p = strstr(p, "usec=")))
			*usec = atof(p + 5);
	}
	freeReplyObject(r);
}

static void drop_queue(redstore_client *c, const char *queue)
{
	char pattern[160];
	redisReply *r;
	long long cursor = 0;
	snprintf(pattern, sizeof(pattern), "rs:{q:%s}:*", queue);
	do {
		bench_check(redstore__redis_cmd(&r, c, "SCAN %lld MATCH %s COUNT 1000", cursor, pattern), "SCAN");
		cursor = atoll(r->element[0]->str);
		for (size_t i = 0; i < r->element[1]->elements; i++)
			bench_check(redstore__redis_cmd(NULL, c, "UNLINK %s", r->element[1]->element[i]->str), "UNLINK");
		freeReplyObject(r);
	} while (cursor != 0);
}

static double run(const redstore_config *cfg, redstore_client *c, int index, double *redis_us_per_job,
                  double *enqueue_per_s)
{
	redstore_worker *w;
	redstore_worker_options o;
	producer p;
	pthread_t pt, wt;
	char queue[64];
	int64_t t0, t1;
	double u0, c0, u1, c1;
	redstore_queue_counts k;

	memset(&o, 0, sizeof(o));
	o.concurrency = opt_workers;
	o.batch = opt_batch;
	o.lease_ms = 30000;
	o.idle_ms = 1;
	snprintf(queue, sizeof(queue), "bench-%ld-%d", (long)time(NULL), index);
	bench_check(redstore_worker_new(&w, cfg, &o), "worker");
	bench_check(redstore_worker_on(w, queue, noop, NULL), "worker_on");
	p.cfg = cfg;
	p.queue = queue;
	evalsha_stats(c, &u0, &c0);
	t0 = bench_now_us();
	if (pthread_create(&wt, NULL, worker_main, w) || pthread_create(&pt, NULL, producer_main, &p))
		bench_check(REDSTORE_ERROR, "threads");
	while (redstore_worker_processed(w) < (uint64_t)opt_jobs) {
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	t1 = bench_now_us();
	redstore_worker_stop(w);
	pthread_join(pt, NULL);
	pthread_join(wt, NULL);
	evalsha_stats(c, &u1, &c1);
	bench_check(redstore_queue_counts_get(&k, c, queue), "counts");
	if (k.waiting || k.active || k.delayed || k.dead || k.failed) {
		fprintf(stderr, "bench: queue not drained: %lld waiting %lld active\n", (long long)k.waiting,
		        (long long)k.active);
		exit(1);
	}
	*redis_us_per_job = (u1 - u0) / opt_jobs;
	*enqueue_per_s = opt_jobs / ((double)(p.done_us - t0) / 1e6);
	printf("run %d: %d jobs in %.2f s: %.0f jobs/s (enqueue alone finished after %.2f s: %.0f adds/s); "
	       "%.0f script calls, Redis script time %.2f us/job\n",
	       index, opt_jobs, (double)(t1 - t0) / 1e6, opt_jobs / ((double)(t1 - t0) / 1e6),
	       (double)(p.done_us - t0) / 1e6, *enqueue_per_s, c1 - c0, *redis_us_per_job);
	redstore_worker_free(w);
	drop_queue(c, queue);
	return opt_jobs / ((double)(t1 - t0) / 1e6);
}

/* The add step alone under redis-benchmark: one job per call, fresh ids, pipelined. */
static double add_ceiling(redstore_client *c)
{
	redstore__redis_url u;
	redisReply *r;
	const char *text = NULL;
	char sha[41], cmd[2048], q[64];
	double v = 0;
	for (int i = 0; i < redstore__lua_script_count; i++)
		if (!strcmp(redstore__lua_scripts[i].name, "job_add"))
			text = redstore__lua_scripts[i].text;
	bench_check(redstore__redis_cmd(&r, c, "SCRIPT LOAD %s", text), "SCRIPT LOAD");
	snprintf(sha, sizeof(sha), "%s", r->str);
	freeReplyObject(r);
	snprintf(q, sizeof(q), "bench-ceil-%ld", (long)time(NULL));
	redstore__redis_url_parse(&u, redstore__config_str(redstore_client_config(c), REDSTORE_CFG_REDIS_URL));
	snprintf(cmd, sizeof(cmd),
	         "redis-benchmark -h %s -p %d -n 200000 -c 8 -P 32 -r 1000000000 -q EVALSHA %s 7 "
	         "'rs:{q:%s}:wait' 'rs:{q:%s}:delayed' 'rs:{q:%s}:active' 'rs:{q:%s}:completed' 'rs:{q:%s}:failed' "
	         "'rs:{q:%s}:dead' 'rs:{q:%s}:meta' 'rs:{q:%s}:j:' 1 j__rand_int__ '{\"n\":1}' 0 3 fixed 1000 3600000 0 0 0 0 '' "
	         "2>&1",
	         u.host, u.port, sha, q, q, q, q, q, q, q, q);
	v = bench_redis_benchmark(cmd);
	drop_queue(c, q);
	return v;
}

int main(int argc, char **argv)
{
	redstore_config *cfg;
	redstore_client *c;
	double rates[3], us[3], enq[3], med, med_us, ceil, add_ceil;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--jobs") && i + 1 < argc)
			opt_jobs = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--workers") && i + 1 < argc)
			opt_workers = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
			opt_batch = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: %s [--jobs N] [--workers W] [--batch B]\n", argv[0]);
			return 2;
		}
	}
	if (opt_jobs < 1000 || opt_workers < 1 || opt_workers > 256 || opt_batch < 1 || opt_batch > 1000)
		return 2;
	bench_print_machine();
	bench_check(redstore_config_new(&cfg), "config");
	bench_check(redstore_config_load_env(cfg), "config from environment");
	bench_check(redstore_client_new(&c, cfg), "client");
	printf("%d no-op jobs, %d worker threads taking up to %d jobs per round trip\n", opt_jobs, opt_workers, opt_batch);
	for (int i = 0; i < 3; i++)
		rates[i] = run(cfg, c, i + 1, &us[i], &enq[i]);
	med = bench_median(rates, 3);
	med_us = bench_median(us, 3);
	ceil = 1e6 / med_us;
	add_ceil = add_ceiling(c);
	printf("ceiling: Redis script time %.2f us/job (median) -> %.0f jobs/s on one Redis core\n", med_us, ceil);
	printf("reference: the add step alone (1 job per call) under redis-benchmark -P 32 -c 8: %.0f calls/s\n",
	       add_ceil);
	printf("summary: %.0f jobs/s enqueued and completed (median of 3), enqueue %.0f adds/s; ceiling %.0f jobs/s\n", med,
	       bench_median(enq, 3), ceil);
	printf("RESULT jobs per_s=%.0f ceiling_per_s=%.0f ratio=%.3f\n", med, ceil, med / ceil);
	redstore_client_free(c);
	redstore_config_free(cfg);
	return 0;
}
