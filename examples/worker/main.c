/*
 * redstore-worker: runs libredstore's job queues.
 *
 *   redstore-worker [--concurrency N] [--store ID]... [--eod-at HH:MM] [--eod-dir DIR]
 *                   [--alerts-file PATH] [--no-events]
 *
 *  - webhooks: a consumer group "webhooks" hands every event to redstore_webhook_dispatch_event, which
 *    queues one signed delivery per configured webhook of the event's store (redstore_webhook_set);
 *  - low-stock alerts: a consumer group "alerts" turns each inventory.low_stock event into a job of the
 *    "alerts" queue (job id = event id, so a redelivered event alerts once); the job appends one JSON line
 *    per alert to --alerts-file (default: standard output);
 *  - end of day: each --store (default: store.id) gets a daily job at --eod-at (default 23:55) in the
 *    store's time zone writing <eod-dir>/<store>-<date>.csv (the day's sales summary from PostgreSQL).
 *
 * Several workers may run at once: jobs are leased, and a worker that dies loses its jobs to the others
 * when the leases expire. SIGINT/SIGTERM stop it after the running jobs. Configuration from REDSTORE_*.
 */
#include <redstore.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ALERTS_QUEUE "alerts"

static redstore_worker *the_worker;
static volatile sig_atomic_t stop;
static FILE *alerts_out;
static pthread_mutex_t alerts_mu = PTHREAD_MUTEX_INITIALIZER;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
	redstore_worker_stop(the_worker);
}

static void die(const char *what)
{
	fprintf(stderr, "redstore-worker: %s: %s (%s)\n", what, redstore_error_last(),
	        redstore_err_name(redstore_error_last_code()));
}

/* ------------------------------------------------------------ alerts */

static int on_low_stock(const redstore_event *ev, void *payload)
{
	redstore_client *c = payload;
	redstore_job_spec s;
	char *body;
	size_t len = strlen(ev->payload_json) + 256;
	int rc;
	memset(&s, 0, sizeof(s));
	if (!(body = malloc(len)))
		return -1;
	/* store and event ids are [A-Za-z0-9_-] and UUIDs: nothing to escape */
	snprintf(body, len, "{\"store\":\"%s\",\"event_id\":\"%s\",\"low_stock\":%s}", ev->store_id, ev->id,
	         ev->payload_json);
	s.id = ev->id;
	s.payload = body;
	s.max_attempts = 5;
	s.backoff = REDSTORE_BACKOFF_EXPONENTIAL;
	s.backoff_ms = 1000;
	rc = redstore_job_add(NULL, c, ALERTS_QUEUE, &s, NULL);
	if (rc)
		die("queueing a low-stock alert");
	free(body);
	return rc;
}

static redstore_job_outcome alert_handler(const redstore_job *job, redstore_client *client, char *error,
                                          size_t error_cap, void *payload)
{
	time_t now = time(NULL);
	struct tm tm;
	char at[32];
	int ok;
	(void)client;
	(void)payload;
	gmtime_r(&now, &tm);
	strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);
	pthread_mutex_lock(&alerts_mu);
	ok = fprintf(alerts_out, "{\"alert\":\"low_stock\",\"at\":\"%s\",\"job\":\"%s\",\"detail\":%s}\n", at, job->id,
	             job->payload) > 0 &&
	     fflush(alerts_out) == 0;
	pthread_mutex_unlock(&alerts_mu);
	if (!ok) {
		snprintf(error, error_cap, "cannot write the alert");
		return REDSTORE_JOB_RETRY;
	}
	return REDSTORE_JOB_DONE;
}

/* ------------------------------------------------------------ webhooks */

static int on_any_event(const redstore_event *ev, void *payload)
{
	int rc = redstore_webhook_dispatch_event(payload, ev, NULL, NULL);
	if (rc)
		die("queueing webhook deliveries");
	return rc;
}

/* ------------------------------------------------------------ consumers */

typedef struct consumer_arg {
	const char *group;
	int webhooks;            /* 1: every event to webhooks; 0: low-stock events to alerts */
} consumer_arg;

static void *consumer_main(void *arg)
{
	consumer_arg *a = arg;
	redstore_consumer_options o;
	redstore_consumer *k = NULL;
	redstore_client *c = NULL;
	memset(&o, 0, sizeof(o));
	o.group_id = a->group;
	if (redstore_client_new(&c, NULL) || redstore_consumer_new(&k, c, &o) ||
	    (a->webhooks ? redstore_consumer_on(k, "*", on_any_event, c)
	                 : redstore_consumer_on(k, "inventory.low_stock", on_low_stock, c))) {
		die(a->group);
		stop = 1;
		redstore_worker_stop(the_worker);
		goto out;
	}
	while (!stop)
		if (redstore_consumer_poll(k, 500, NULL))
			die(a->group);
out:
	redstore_consumer_free(k);
	redstore_client_free(c);
	return NULL;
}

int main(int argc, char **argv)
{
	redstore_worker_options o;
	redstore_client *c = NULL;
	const char *stores[64], *eod_at = "23:55", *eod_dir = ".", *alerts_path = NULL;
	int nstores = 0, events = 1, rc = 1, nthreads = 0;
	consumer_arg cargs[2] = { { "alerts", 0 }, { "webhooks", 1 } };
	pthread_t th[2];
	struct sigaction sa;

	memset(&o, 0, sizeof(o));
	o.concurrency = 4;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--concurrency") && i + 1 < argc)
			o.concurrency = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--store") && i + 1 < argc && nstores < 64)
			stores[nstores++] = argv[++i];
		else if (!strcmp(argv[i], "--eod-at") && i + 1 < argc)
			eod_at = argv[++i];
		else if (!strcmp(argv[i], "--eod-dir") && i + 1 < argc)
			eod_dir = argv[++i];
		else if (!strcmp(argv[i], "--alerts-file") && i + 1 < argc)
			alerts_path = argv[++i];
		else if (!strcmp(argv[i], "--no-events"))
			events = 0;
		else {
			fprintf(stderr,
			        "usage: %s [--concurrency N] [--store ID]... [--eod-at HH:MM] [--eod-dir DIR]\n"
			        "          [--alerts-file PATH] [--no-events]\n",
			        argv[0]);
			return 2;
		}
	}
	alerts_out = alerts_path ? fopen(alerts_path, "a") : stdout;
	if (!alerts_out) {
		fprintf(stderr, "redstore-worker: cannot open %s\n", alerts_path);
		return 1;
	}
	if (redstore_client_new(&c, NULL) || redstore_db_migrate(c, NULL)) {
		die("starting");
		goto out;
	}
	if (!nstores && redstore_client_store(c)[0])
		stores[nstores++] = redstore_client_store(c);
	for (int i = 0; i < nstores; i++) {
		if (redstore_client_use_store(c, stores[i]) || redstore_eod_schedule(c, eod_at, eod_dir)) {
			die("scheduling the end-of-day report");
			goto out;
		}
		fprintf(stderr, "redstore-worker: end of day of store %s at %s (store time) into %s\n", stores[i], eod_at,
		        eod_dir);
	}
	if (redstore_worker_new(&the_worker, NULL, &o) ||
	    redstore_worker_on(the_worker, REDSTORE_WEBHOOK_QUEUE, redstore_webhook_handler, NULL) ||
	    redstore_worker_on(the_worker, ALERTS_QUEUE, alert_handler, NULL) ||
	    redstore_worker_on(the_worker, REDSTORE_EOD_QUEUE, redstore_eod_handler, NULL)) {
		die("creating the worker");
		goto out;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (events)
		for (; nthreads < 2; nthreads++)
			if (pthread_create(&th[nthreads], NULL, consumer_main, &cargs[nthreads])) {
				fprintf(stderr, "redstore-worker: cannot start a consumer thread\n");
				stop = 1;
				break;
			}
	fprintf(stderr, "redstore-worker: %d threads on queues %s, %s, %s%s\n", o.concurrency, REDSTORE_WEBHOOK_QUEUE,
	        ALERTS_QUEUE, REDSTORE_EOD_QUEUE, events ? "; consumer groups alerts and webhooks" : "");
	rc = stop ? 1 : redstore_worker_run(the_worker);
	if (rc)
		die("running");
	stop = 1;
	for (int i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	fprintf(stderr, "redstore-worker: stopped after %llu jobs\n",
	        (unsigned long long)redstore_worker_processed(the_worker));
out:
	redstore_worker_free(the_worker);
	redstore_client_free(c);
	if (alerts_out && alerts_out != stdout)
		fclose(alerts_out);
	return rc ? 1 : 0;
}
