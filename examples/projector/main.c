/*
 * redstore-projector: the consumer group that writes every event to PostgreSQL.
 *
 *   redstore-projector [--group projector] [--batch 1000]
 *
 * Each polled batch is applied in one database transaction (redstore_projector_apply), idempotent by
 * event id; the Kafka offsets are committed only after that transaction committed. Run several: they
 * share the partitions. SIGINT/SIGTERM stop it cleanly (the last batch is finished and committed).
 * Configuration from the REDSTORE_* environment.
 */
#include <redstore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static void pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static int apply(const redstore_event *const *events, size_t n, void *payload)
{
	return redstore_projector_apply(payload, events, n, NULL);
}

int main(int argc, char **argv)
{
	redstore_consumer_options o = { REDSTORE_PROJECTOR_GROUP, NULL, 1000, 5 };
	redstore_client *c = NULL, *db = NULL;
	redstore_consumer *k = NULL;
	struct sigaction sa;
	unsigned long long total = 0;
	long backoff = 100;
	time_t prepared = time(NULL);
	int rc = 1;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--group") && i + 1 < argc)
			o.group_id = argv[++i];
		else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
			o.batch_max = (size_t)strtoul(argv[++i], NULL, 10);
		else {
			fprintf(stderr, "usage: %s [--group ID] [--batch N]\n", argv[0]);
			return 2;
		}
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (redstore_client_new(&c, NULL) || redstore_client_new(&db, NULL) || redstore_db_migrate(db, NULL) ||
	    redstore_projector_prepare(db, 2) || redstore_consumer_new(&k, c, &o) ||
	    redstore_consumer_on_batch(k, apply, db)) {
		fprintf(stderr, "redstore-projector: %s (%s)\n", redstore_error_last(),
		        redstore_err_name(redstore_error_last_code()));
		goto out;
	}
	fprintf(stderr, "redstore-projector: group %s, batches of %zu\n", o.group_id, o.batch_max);
	while (!stop) {
		size_t handled = 0;
		int prc = redstore_consumer_poll(k, 500, &handled);
		if (prc && !redstore_err_is_retriable(prc)) {
			fprintf(stderr, "redstore-projector: %s\n", redstore_error_last());
			goto out;
		}
		if (prc) {
			/* PostgreSQL or Kafka is away: the batch comes again; back off up to 5 s meanwhile. */
			fprintf(stderr, "redstore-projector: %s (retrying in %ld ms)\n", redstore_error_last(), backoff);
			pause_ms(backoff);
			backoff = backoff < 2500 ? backoff * 2 : 5000;
			continue;
		}
		backoff = 100;
		if (time(NULL) - prepared > 3600) {
			/* Partitions for the months ahead, hourly (cheap when they exist). */
			if (redstore_projector_prepare(db, 2) == 0)
				prepared = time(NULL);
		}
		/* Offsets only after the database committed the batch. */
		if (handled && redstore_consumer_commit(k) == 0)
			total += handled;
	}
	rc = 0;
out:
	fprintf(stderr, "redstore-projector: %llu events projected, %llu dead-lettered\n", total,
	        k ? (unsigned long long)redstore_consumer_dead_lettered(k) : 0ULL);
	redstore_consumer_free(k);
	redstore_client_free(db);
	redstore_client_free(c);
	return rc;
}
