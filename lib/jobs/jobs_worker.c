/*
 * redstore_worker: handler threads that take jobs in batches, a renewer thread that keeps their leases,
 * and the finish of each batch in one script call.
 */
#include "core/core_int.h"
#include "jobs/jobs_priv.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define MAX_QUEUES 32

typedef struct held {
	int queue;               /* index, -1 = free slot */
	char id[REDSTORE_JOB_ID_SIZE];
	char token[48];
} held;

struct redstore_worker {
	redstore_config *cfg;
	redstore_worker_options o;
	struct {
		char name[65];
		redstore_job_cb cb;
		void *payload;
	} q[MAX_QUEUES];
	int nq;
	atomic_int stop;
	atomic_uint_least64_t processed;
	int running;
	pthread_mutex_t mu;      /* guards held */
	held *held;              /* concurrency * batch slots */
};

typedef struct thread_arg {
	redstore_worker *w;
	int index;
} thread_arg;

int redstore_worker_new(redstore_worker **out, const redstore_config *cfg, const redstore_worker_options *options)
{
	redstore_worker_options o = { 0 };
	redstore_worker *w;
	int rc;

	if (!out)
		return redstore__fail(REDSTORE_EINVALID, "redstore_worker_new: out is NULL");
	*out = NULL;
	if (options)
		o = *options;
	if (!o.concurrency)
		o.concurrency = 1;
	if (!o.lease_ms)
		o.lease_ms = 30000;
	if (!o.batch)
		o.batch = 1;
	if (!o.idle_ms)
		o.idle_ms = 100;
	if (o.concurrency < 1 || o.concurrency > 256)
		return redstore__fail(REDSTORE_EINVALID, "worker: concurrency %d out of range 1..256", o.concurrency);
	if (o.lease_ms < 100 || o.lease_ms > 86400000)
		return redstore__fail(REDSTORE_EINVALID, "worker: lease_ms %lld out of range 100..86400000",
		                      (long long)o.lease_ms);
	if (o.batch < 1 || o.batch > 1000)
		return redstore__fail(REDSTORE_EINVALID, "worker: batch %d out of range 1..1000", o.batch);
	if (o.idle_ms < 1 || o.idle_ms > 60000)
		return redstore__fail(REDSTORE_EINVALID, "worker: idle_ms %lld out of range 1..60000", (long long)o.idle_ms);
	if (!(w = calloc(1, sizeof(*w))))
		return redstore__fail(REDSTORE_ENOMEM, "worker: out of memory");
	w->o = o;
	if (cfg)
		rc = redstore_config_dup(&w->cfg, cfg);
	else if (!(rc = redstore_config_new(&w->cfg)))
		rc = redstore_config_load_env(w->cfg);
	if (rc) {
		free(w);
		return rc;
	}
	if (!(w->held = malloc((size_t)o.concurrency * (size_t)o.batch * sizeof(*w->held)))) {
		redstore_config_free(w->cfg);
		free(w);
		return redstore__fail(REDSTORE_ENOMEM, "worker: out of memory");
	}
	for (int i = 0; i < o.concurrency * o.batch; i++)
		w->held[i].queue = -1;
	pthread_mutex_init(&w->mu, NULL);
	atomic_init(&w->stop, 0);
	atomic_init(&w->processed, 0);
	*out = w;
	return 0;
}

int redstore_worker_on(redstore_worker *w, const char *queue, redstore_job_cb cb, void *payload)
{
	int rc;
	if (!w || !cb)
		return redstore__fail(REDSTORE_EINVALID, "redstore_worker_on: worker or handler is NULL");
	if ((rc = redstore__queue_check(queue)))
		return rc;
	if (w->running)
		return redstore__fail(REDSTORE_EINVALID, "worker: cannot add queue %s while running", queue);
	if (w->nq == MAX_QUEUES)
		return redstore__fail(REDSTORE_ELIMIT, "worker: more than %d queues", MAX_QUEUES);
	snprintf(w->q[w->nq].name, sizeof(w->q[w->nq].name), "%s", queue);
	w->q[w->nq].cb = cb;
	w->q[w->nq].payload = payload;
	w->nq++;
	return 0;
}

void redstore_worker_stop(redstore_worker *w)
{
	if (w)
		atomic_store(&w->stop, 1);
}

uint64_t redstore_worker_processed(const redstore_worker *w)
{
	return w ? atomic_load(&((redstore_worker *)w)->processed) : 0;
}

/* Sleeps up to ms, waking early when the worker is stopped. */
static void nap(redstore_worker *w, int64_t ms)
{
	while (ms > 0 && !atomic_load(&w->stop)) {
		int64_t step = ms < 20 ? ms : 20;
		struct timespec ts = { 0, (long)step * 1000000L };
		nanosleep(&ts, NULL);
		ms -= step;
	}
}

static void hold(redstore_worker *w, int slot0, int queue, const redstore_job *jobs, size_t n)
{
	pthread_mutex_lock(&w->mu);
	for (size_t i = 0; i < n; i++) {
		held *h = &w->held[slot0 + (int)i];
		h->queue = queue;
		memcpy(h->id, jobs[i].id, sizeof(h->id));
		memcpy(h->token, jobs[i].token, sizeof(h->token));
	}
	pthread_mutex_unlock(&w->mu);
}

static void release(redstore_worker *w, int slot0, size_t n)
{
	pthread_mutex_lock(&w->mu);
	for (size_t i = 0; i < n; i++)
		w->held[slot0 + (int)i].queue = -1;
	pthread_mutex_unlock(&w->mu);
}

static void *handler_main(void *arg)
{
	thread_arg *ta = arg;
	redstore_worker *w = ta->w;
	int batch = w->o.batch, slot0 = ta->index * batch, next_q = 0;
	redstore_client *c = NULL;
	redstore_job *jobs = calloc((size_t)batch, sizeof(*jobs));
	const redstore_job **ptrs = calloc((size_t)batch, sizeof(*ptrs));
	redstore_job_outcome *outs = calloc((size_t)batch, sizeof(*outs));
	char (*errs)[1024] = calloc((size_t)batch, sizeof(*errs));
	const char **errp = calloc((size_t)batch, sizeof(*errp));
	int *rcs = calloc((size_t)batch, sizeof(*rcs));
	char taker[48];

	snprintf(taker, sizeof(taker), "w%ld-%d", (long)getpid(), ta->index);
	if (!jobs || !ptrs || !outs || !errs || !errp || !rcs || redstore_client_new(&c, w->cfg)) {
		fprintf(stderr, "redstore worker: thread %d cannot start: %s\n", ta->index, redstore_error_last());
		atomic_store(&w->stop, 1);
		goto out;
	}
	while (!atomic_load(&w->stop)) {
		size_t n = 0, ran = 0;
		int qi = -1, rc = 0;
		for (int k = 0; k < w->nq && n == 0; k++) {
			qi = (next_q + k) % w->nq;
			rc = redstore__job_take_as(jobs, (size_t)batch, &n, c, w->q[qi].name, w->o.lease_ms, taker);
			if (rc)
				fprintf(stderr, "redstore worker: %s\n", redstore_error_last());
		}
		next_q = (next_q + 1) % (w->nq ? w->nq : 1);
		if (n == 0) {
			nap(w, rc ? 1000 : w->o.idle_ms);
			continue;
		}
		hold(w, slot0, qi, jobs, n);
		for (size_t i = 0; i < n && !atomic_load(&w->stop); i++, ran++) {
			errs[i][0] = '\0';
			if (jobs[i].repeat[0] && redstore_job_repeat_next(c, &jobs[i]))
				fprintf(stderr, "redstore worker: next occurrence of %s: %s\n", jobs[i].repeat, redstore_error_last());
			outs[i] = w->q[qi].cb(&jobs[i], c, errs[i], sizeof(errs[i]), w->q[qi].payload);
			if (outs[i] != REDSTORE_JOB_DONE && outs[i] != REDSTORE_JOB_RETRY && outs[i] != REDSTORE_JOB_FAIL) {
				snprintf(errs[i], sizeof(errs[i]), "handler returned %d (not a redstore_job_outcome)", (int)outs[i]);
				outs[i] = REDSTORE_JOB_RETRY;
			}
			if (outs[i] != REDSTORE_JOB_DONE && !errs[i][0])
				snprintf(errs[i], sizeof(errs[i]), "%s", outs[i] == REDSTORE_JOB_FAIL ? "failed" : "retry requested");
			ptrs[i] = &jobs[i];
			errp[i] = errs[i];
		}
		/* Jobs taken but not run (stopping) keep their lease until it expires: they run again later. */
		if (ran) {
			rc = redstore__job_finish_many(rcs, c, ptrs, outs, errp, ran);
			if (rc)
				fprintf(stderr, "redstore worker: %s\n", redstore_error_last());
			else
				for (size_t i = 0; i < ran; i++)
					if (rcs[i])
						fprintf(stderr, "redstore worker: job %s of %s: lease lost before it finished\n", jobs[i].id,
						        jobs[i].queue);
			atomic_fetch_add(&w->processed, (uint64_t)ran);
		}
		release(w, slot0, n);
		for (size_t i = 0; i < n; i++)
			redstore_job_clear(&jobs[i]);
	}
out:
	redstore_client_free(c);
	free(jobs);
	free(ptrs);
	free(outs);
	free(errs);
	free(errp);
	free(rcs);
	return NULL;
}

static void *renewer_main(void *arg)
{
	redstore_worker *w = arg;
	int slots = w->o.concurrency * w->o.batch;
	redstore_client *c = NULL;
	held *copy = malloc((size_t)slots * sizeof(*copy));
	const char **ids = malloc((size_t)slots * sizeof(*ids)), **toks = malloc((size_t)slots * sizeof(*toks));

	if (!copy || !ids || !toks || redstore_client_new(&c, w->cfg)) {
		fprintf(stderr, "redstore worker: lease renewer cannot start: %s\n", redstore_error_last());
		atomic_store(&w->stop, 1);
		goto out;
	}
	while (!atomic_load(&w->stop)) {
		nap(w, w->o.lease_ms / 3);
		pthread_mutex_lock(&w->mu);
		memcpy(copy, w->held, (size_t)slots * sizeof(*copy));
		pthread_mutex_unlock(&w->mu);
		for (int q = 0; q < w->nq; q++) {
			size_t n = 0;
			for (int i = 0; i < slots; i++)
				if (copy[i].queue == q) {
					ids[n] = copy[i].id;
					toks[n++] = copy[i].token;
				}
			if (n && redstore__job_extend_many(NULL, c, w->q[q].name, ids, toks, n, w->o.lease_ms))
				fprintf(stderr, "redstore worker: %s\n", redstore_error_last());
		}
	}
out:
	redstore_client_free(c);
	free(copy);
	free(ids);
	free(toks);
	return NULL;
}

int redstore_worker_run(redstore_worker *w)
{
	pthread_t *th, renewer;
	thread_arg *args;
	int started = 0, rc = 0;

	if (!w)
		return redstore__fail(REDSTORE_EINVALID, "redstore_worker_run: worker is NULL");
	if (w->nq == 0)
		return redstore__fail(REDSTORE_EINVALID, "worker: no queue to run (call redstore_worker_on first)");
	th = calloc((size_t)w->o.concurrency, sizeof(*th));
	args = calloc((size_t)w->o.concurrency, sizeof(*args));
	if (!th || !args) {
		free(th);
		free(args);
		return redstore__fail(REDSTORE_ENOMEM, "worker: out of memory");
	}
	w->running = 1;
	if (pthread_create(&renewer, NULL, renewer_main, w)) {
		rc = redstore__fail(REDSTORE_ERROR, "worker: cannot start the lease renewer thread");
		goto out;
	}
	for (; started < w->o.concurrency; started++) {
		args[started].w = w;
		args[started].index = started;
		if (pthread_create(&th[started], NULL, handler_main, &args[started])) {
			rc = redstore__fail(REDSTORE_ERROR, "worker: cannot start handler thread %d", started);
			atomic_store(&w->stop, 1);
			break;
		}
	}
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	atomic_store(&w->stop, 1);
	pthread_join(renewer, NULL);
out:
	w->running = 0;
	free(th);
	free(args);
	return rc;
}

void redstore_worker_free(redstore_worker *w)
{
	if (!w)
		return;
	pthread_mutex_destroy(&w->mu);
	redstore_config_free(w->cfg);
	free(w->held);
	free(w);
}
