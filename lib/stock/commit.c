/*
 * The committer (include/redstore/commit.h): a queue of prepared stock jobs and a few threads, each with
 * its own client, that take everything waiting (up to batch_max) and run it as one batch through
 * redstore__stock_execute. Completions are called on the thread that ran the batch.
 */
#include "stock/stock_int.h"

#include <pthread.h>
#include <stdio.h>

#define DEFAULT_THREADS 2
#define DEFAULT_BATCH 512
#define DEFAULT_QUEUE 65536

typedef struct worker {
	struct redstore_committer *cm;
	redstore_client *client;
	redstore__stock_job **jobs; /* batch_max slots */
	pthread_t thread;
	bool started;
} worker;

struct redstore_committer {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	redstore__stock_job *head, *tail;
	size_t waiting;
	bool stopping;
	unsigned batch_max, queue_max, nthreads;
	worker *workers;
	redstore_committer_stats stats;
};

/* Takes up to batch_max waiting jobs into `jobs`; 0 when stopping with nothing left. */
static size_t take(redstore_committer *cm, redstore__stock_job **jobs)
{
	size_t k = 0;
	pthread_mutex_lock(&cm->mu);
	while (!cm->head && !cm->stopping)
		pthread_cond_wait(&cm->cv, &cm->mu);
	while (cm->head && k < cm->batch_max) {
		jobs[k++] = cm->head;
		cm->head = cm->head->next;
	}
	if (!cm->head)
		cm->tail = NULL;
	cm->waiting -= k;
	if (k) {
		cm->stats.batches++;
		cm->stats.operations += k;
		if (k > cm->stats.max_batch)
			cm->stats.max_batch = k;
	}
	pthread_mutex_unlock(&cm->mu);
	return k;
}

static void *run(void *arg)
{
	worker *w = arg;
	redstore_committer *cm = w->cm;
	redstore__stock_job **jobs = w->jobs;
	size_t k;

	while ((k = take(cm, jobs)) > 0) {
		redstore__stock_execute(w->client, jobs, k);
		for (size_t i = 0; i < k; i++) {
			redstore__stock_job *j = jobs[i];
			if (j->rc)
				redstore__fail(j->rc, "%s", j->message);
			else
				redstore_error_clear();
			j->next = NULL;
			j->done(j, j->done_payload);
		}
	}
	return NULL;
}

static int check_option(unsigned v, unsigned max, const char *name)
{
	if (v > max)
		return redstore__fail(REDSTORE_EINVALID, "redstore_committer_new: %s %u (expected 0..%u)", name, v, max);
	return 0;
}

int redstore_committer_new(redstore_committer **out, const redstore_config *cfg, const redstore_committer_options *opts)
{
	redstore_committer_options o = { 0 };
	redstore_committer *cm;
	int rc;

	*out = NULL;
	if (opts)
		o = *opts;
	if ((rc = check_option(o.threads, 64, "threads")) || (rc = check_option(o.batch_max, 4096, "batch_max")) ||
	    (rc = check_option(o.queue_max, 1u << 24, "queue_max")))
		return rc;
	if (!(cm = calloc(1, sizeof(*cm))))
		return redstore__fail(REDSTORE_ENOMEM, "redstore_committer_new: out of memory");
	cm->nthreads = o.threads ? o.threads : DEFAULT_THREADS;
	cm->batch_max = o.batch_max ? o.batch_max : DEFAULT_BATCH;
	cm->queue_max = o.queue_max ? o.queue_max : DEFAULT_QUEUE;
	pthread_mutex_init(&cm->mu, NULL);
	pthread_cond_init(&cm->cv, NULL);
	if (!(cm->workers = calloc(cm->nthreads, sizeof(*cm->workers)))) {
		redstore_committer_free(cm);
		return redstore__fail(REDSTORE_ENOMEM, "redstore_committer_new: out of memory");
	}
	for (unsigned i = 0; i < cm->nthreads; i++) {
		worker *w = &cm->workers[i];
		w->cm = cm;
		if (!(w->jobs = calloc(cm->batch_max, sizeof(*w->jobs)))) {
			redstore_committer_free(cm);
			return redstore__fail(REDSTORE_ENOMEM, "redstore_committer_new: out of memory");
		}
		if ((rc = redstore_client_new(&w->client, cfg))) {
			redstore_committer_free(cm);
			return redstore__fail_wrap(rc, "redstore_committer_new");
		}
	}
	for (unsigned i = 0; i < cm->nthreads; i++) {
		worker *w = &cm->workers[i];
		if (pthread_create(&w->thread, NULL, run, w) != 0) {
			redstore_committer_free(cm);
			return redstore__fail(REDSTORE_ERROR, "redstore_committer_new: cannot start thread %u", i);
		}
		w->started = true;
	}
	*out = cm;
	return 0;
}

void redstore_committer_free(redstore_committer *cm)
{
	if (!cm)
		return;
	pthread_mutex_lock(&cm->mu);
	cm->stopping = true;
	pthread_cond_broadcast(&cm->cv);
	pthread_mutex_unlock(&cm->mu);
	for (unsigned i = 0; cm->workers && i < cm->nthreads; i++) {
		if (cm->workers[i].started)
			pthread_join(cm->workers[i].thread, NULL);
		redstore_client_free(cm->workers[i].client);
		free(cm->workers[i].jobs);
	}
	free(cm->workers);
	pthread_cond_destroy(&cm->cv);
	pthread_mutex_destroy(&cm->mu);
	free(cm);
}

void redstore_committer_get_stats(redstore_committer_stats *out, redstore_committer *cm)
{
	pthread_mutex_lock(&cm->mu);
	*out = cm->stats;
	out->waiting = cm->waiting;
	pthread_mutex_unlock(&cm->mu);
}

void redstore_client_set_committer(redstore_client *c, redstore_committer *cm)
{
	c->committer = cm;
}

int redstore__committer_submit(redstore_committer *cm, redstore__stock_job *job,
                               void (*done)(redstore__stock_job *job, void *payload), void *payload)
{
	pthread_mutex_lock(&cm->mu);
	if (cm->stopping || cm->waiting >= cm->queue_max) {
		bool stopping = cm->stopping;
		size_t waiting = cm->waiting;
		pthread_mutex_unlock(&cm->mu);
		if (stopping)
			return redstore__fail(REDSTORE_EUNAVAILABLE, "%s %s: the committer is stopping", job->op->type,
			                      job->op->id);
		return redstore__fail(REDSTORE_EUNAVAILABLE, "%s %s: the committer's queue is full (%zu waiting): retry",
		                      job->op->type, job->op->id, waiting);
	}
	job->next = NULL;
	job->done = done;
	job->done_payload = payload;
	if (cm->tail)
		cm->tail->next = job;
	else
		cm->head = job;
	cm->tail = job;
	cm->waiting++;
	pthread_cond_signal(&cm->cv);
	pthread_mutex_unlock(&cm->mu);
	return 0;
}
