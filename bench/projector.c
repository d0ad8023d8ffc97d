/*
 * bench/projector: projects N 3-line sales (default 200,000) from Kafka into PostgreSQL with the
 * projector's consumer group, and in the same run measures the ceiling: a plain COPY of the same rows
 * (sales, sale lines, tenders, ledger) into tables of the same shape, keys and indexes.
 *
 *   bench-projector [--sales N] [--stores S] [--batch B] [--projectors P]
 *
 * The sale events are generated (receipts as redstore_sale_commit writes them) and produced to a
 * topic prefix of this run while the projectors run, at most --window events ahead of them (see
 * produce()); the figure is from the first event produced until every event is in PostgreSQL and
 * committed, with the producer sharing the machine. Each projector is a thread with its own consumer and database
 * connection, as several redstore-projector processes would be.
 *
 * Needs the REDSTORE_* environment of a dev stack (eval "$(scripts/dev-stack env)"); the run leaves its
 * rows in the history tables under stores named bench-<run>-<n> (the ledger is append-only).
 * Last line: RESULT projector events_per_s=<n> ceiling_per_s=<n> ratio=<x>
 */
#include "common.h"
#include "engines/engines_int.h"
#include "core/core_int.h"
#include "events/events_int.h"
#include "sale/sale_int.h"
#include "synth.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static int opt_sales = 200000, opt_stores = 64, opt_batch = 1000, opt_projectors = 2;
static char run_id[40];

static void store_name(char *buf, size_t cap, int i)
{
	snprintf(buf, cap, "bench-%s-%d", run_id, i);
}

static int64_t expected_total;
static int opt_window = 3000;

static struct {
	pthread_mutex_t mu;
	uint64_t applied;
} P = { PTHREAD_MUTEX_INITIALIZER, 0 };

static uint64_t applied_so_far(void)
{
	uint64_t v;
	pthread_mutex_lock(&P.mu);
	v = P.applied;
	pthread_mutex_unlock(&P.mu);
	return v;
}

/* Produces the sale events, asynchronously, never more than --window events ahead of the projection:
 * librdkafka's mock cluster keeps only the last 5 MiB of each partition, so a producer running far
 * ahead would have the oldest events dropped before they were read (a real cluster's retention would do
 * the same, later). Then waits for every acknowledgement. */
static void produce(redstore_client *c)
{
	rd_kafka_t *rk;
	char topic[160], store[64];
	int64_t t0 = bench_now_us(), now_ms = redstore__wall_ms();
	redstore__kafka_topic(topic, sizeof(topic), &c->set, REDSTORE_DOMAIN_SALES);
	bench_check(redstore__kafka_producer(&rk, c), "producer");
	for (int i = 0; i < opt_sales; i++) {
		char *ev;
		rd_kafka_resp_err_t err;
		store_name(store, sizeof(store), i % opt_stores);
		/* spread over hours: several rollup rows */
		if (!(ev = rs_synth_sale_event(c, store, i, now_ms - (int64_t)(opt_sales - i) * 50, &expected_total))) {
			fprintf(stderr, "bench: out of memory encoding sale %d\n", i);
			exit(1);
		}
		while ((err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(store, strlen(store)),
		                                RD_KAFKA_V_VALUE(ev, strlen(ev)), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE),
		                                RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
			rd_kafka_poll(rk, 50);
		if (err) {
			fprintf(stderr, "bench: produce: %s\n", rd_kafka_err2str(err));
			exit(1);
		}
		rd_kafka_poll(rk, 0);
		while ((uint64_t)i + 1 > applied_so_far() + (uint64_t)opt_window)
			rd_kafka_poll(rk, 5);
	}
	if (rd_kafka_flush(rk, 120000)) {
		fprintf(stderr, "bench: not every event was acknowledged within 120 s\n");
		exit(1);
	}
	printf("produced %d sale events to %s in %.1f s\n", opt_sales, topic, (double)(bench_now_us() - t0) / 1e6);
}

typedef struct projector {
	const redstore_config *cfg;
	pthread_t thread;
	uint64_t applied;
	int64_t last_us; /* when this projector last applied something */
	int64_t apply_us; /* time inside redstore_projector_apply */
	uint64_t batches;
} projector;

typedef struct sink {
	redstore_client *db;
	projector *me;
} sink;

static int apply(const redstore_event *const *events, size_t n, void *payload)
{
	sink *s = payload;
	size_t fresh = 0;
	int64_t t0 = bench_now_us();
	int rc = redstore_projector_apply(s->db, events, n, &fresh);
	s->me->apply_us += bench_now_us() - t0;
	s->me->batches++;
	if (rc)
		fprintf(stderr, "bench: a batch of %zu failed: %s\n", n, redstore_error_last());
	if (!rc && fresh) {
		s->me->applied += fresh;
		s->me->last_us = bench_now_us();
		pthread_mutex_lock(&P.mu);
		P.applied += fresh;
		pthread_mutex_unlock(&P.mu);
	}
	return rc;
}

static void *projector_main(void *arg)
{
	projector *me = arg;
	redstore_consumer_options o = { NULL, NULL, (size_t)opt_batch, 3 };
	char group[80];
	redstore_client *c, *db;
	redstore_consumer *k;
	sink s;
	snprintf(group, sizeof(group), "bench-projector-%s", run_id);
	o.group_id = group;
	bench_check(redstore_client_new(&c, me->cfg), "client");
	bench_check(redstore_client_new(&db, me->cfg), "client");
	s.db = db;
	s.me = me;
	bench_check(redstore_consumer_new(&k, c, &o), "consumer");
	bench_check(redstore_consumer_on_batch(k, apply, &s), "consumer_on_batch");
	me->last_us = bench_now_us();
	for (;;) {
		uint64_t done;
		int rc = redstore_consumer_poll(k, 100, NULL);
		if (bench_now_us() - me->last_us > 10000000) {
			/* Ten seconds without progress: say where this member stands. */
			redstore_partition_lag lag[64];
			size_t nlag = 0;
			redstore_consumer_lag(lag, 64, &nlag, k);
			for (size_t i = 0; i < nlag; i++)
				fprintf(stderr, "bench: stalled? %s[%d] position %lld high %lld lag %lld\n", lag[i].topic,
				        lag[i].partition, (long long)lag[i].position, (long long)lag[i].high, (long long)lag[i].lag);
			if (!nlag)
				fprintf(stderr, "bench: stalled? no partitions assigned\n");
			fprintf(stderr, "bench: this member applied %llu, dead-lettered %llu\n", (unsigned long long)me->applied,
			        (unsigned long long)redstore_consumer_dead_lettered(k));
			me->last_us = bench_now_us();
		}
		if (rc && !redstore_err_is_retriable(rc))
			bench_check(rc, "poll");
		redstore_consumer_commit(k);
		pthread_mutex_lock(&P.mu);
		done = P.applied;
		pthread_mutex_unlock(&P.mu);
		if (done >= (uint64_t)opt_sales)
			break;
	}
	redstore_consumer_free(k);
	redstore_client_free(db);
	redstore_client_free(c);
	return NULL;
}

static int64_t scalar(redstore_client *c, const char *sql, const char *arg)
{
	PGresult *res;
	const char *p[1] = { arg };
	int64_t v;
	bench_check(redstore__pg_exec(&res, c, sql, arg ? 1 : 0, p), sql);
	v = PQgetisnull(res, 0, 0) ? 0 : strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return v;
}

/* Reads `COPY (query) TO STDOUT` into memory (the rows the ceiling then writes back). */
static char *copy_out(redstore_client *c, const char *query, size_t *len)
{
	PGresult *res;
	char *buf = NULL, *row;
	size_t cap = 0;
	int n;
	*len = 0;
	bench_check(redstore__pg_connect(c), "postgres");
	res = PQexec(c->pg, query);
	if (PQresultStatus(res) != PGRES_COPY_OUT) {
		fprintf(stderr, "bench: %s: %s\n", query, PQerrorMessage(c->pg));
		exit(1);
	}
	PQclear(res);
	while ((n = PQgetCopyData(c->pg, &row, 0)) > 0) {
		if (*len + (size_t)n > cap) {
			cap = cap ? cap * 2 : 1 << 20;
			while (cap < *len + (size_t)n)
				cap *= 2;
			if (!(buf = realloc(buf, cap))) {
				fprintf(stderr, "bench: out of memory\n");
				exit(1);
			}
		}
		memcpy(buf + *len, row, (size_t)n);
		*len += (size_t)n;
		PQfreemem(row);
	}
	while ((res = PQgetResult(c->pg)))
		PQclear(res);
	return buf;
}

/* The ceiling: the rows the projection wrote, COPY'd into plain tables of the same shape (three runs;
 * the best is the ceiling). Returns sales per second. */
static double ceiling(redstore_client *c)
{
	static const char *const tables[] = { "sales", "sale_lines", "sale_tenders", "stock_ledger" };
	static const char *const columns[] = {
		"store_id, sale_id, kind, ref_sale_id, event_id, terminal_id, employee_id, occurred_at, recorded_at,"
		" currency, gross, discount, tax, total, tendered, change_due, customer_ref, note, receipt",
		"store_id, sale_id, line_no, occurred_at, kind, sku, name, qty, unit_price, gross, discount, net, tax,"
		" total, tax_class, tax_rate_ppm",
		"store_id, sale_id, tender_no, occurred_at, kind, amount, reference",
		"store_id, event_id, event_type, sku, delta, reason, reference, occurred_at",
	};
	char *data[4];
	size_t len[4];
	double best = 0;
	char sql[1024], like[80];

	store_name(like, sizeof(like), 0);
	like[strlen(like) - 1] = '%';
	for (int t = 0; t < 4; t++) {
		snprintf(sql, sizeof(sql), "COPY (SELECT %s FROM %s WHERE store_id LIKE '%s') TO STDOUT", columns[t],
		         tables[t], like);
		data[t] = copy_out(c, sql, &len[t]);
	}
	printf("ceiling rows: %.1f MB of COPY text\n", (double)(len[0] + len[1] + len[2] + len[3]) / 1e6);
	for (int run = 0; run < 3; run++) {
		int64_t t0;
		double secs, v;
		for (int t = 0; t < 4; t++) {
			/* Same columns, keys and indexes; no partitions of our own to keep it plain. */
			snprintf(sql, sizeof(sql),
			         "DROP TABLE IF EXISTS bench_ceiling_%s; CREATE TABLE bench_ceiling_%s (LIKE %s INCLUDING DEFAULTS"
			         " INCLUDING INDEXES)",
			         tables[t], tables[t], tables[t]);
			bench_check(redstore__pg_script(c, sql), "ceiling tables");
		}
		t0 = bench_now_us();
		bench_check(redstore__pg_script(c, "BEGIN"), "BEGIN");
		for (int t = 0; t < 4; t++) {
			snprintf(sql, sizeof(sql), "COPY bench_ceiling_%s (%s) FROM STDIN", tables[t], columns[t]);
			bench_check(redstore__pg_copy_in(c, sql, data[t], len[t]), "COPY");
		}
		bench_check(redstore__pg_script(c, "COMMIT"), "COMMIT");
		secs = (double)(bench_now_us() - t0) / 1e6;
		v = opt_sales / secs;
		printf("ceiling run %d: plain COPY of the same rows: %.2f s, %.0f sales/s\n", run + 1, secs, v);
		if (v > best)
			best = v;
	}
	for (int t = 0; t < 4; t++) {
		snprintf(sql, sizeof(sql), "DROP TABLE bench_ceiling_%s", tables[t]);
		bench_check(redstore__pg_script(c, sql), "drop ceiling tables");
		free(data[t]);
	}
	return best;
}

int main(int argc, char **argv)
{
	redstore_config *cfg;
	redstore_client *c;
	projector *ps;
	char prefix[80], like[80];
	int64_t t0;
	double secs, rate, ceil;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--sales") && i + 1 < argc)
			opt_sales = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--stores") && i + 1 < argc)
			opt_stores = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
			opt_batch = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--projectors") && i + 1 < argc)
			opt_projectors = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--window") && i + 1 < argc)
			opt_window = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: %s [--sales N] [--stores S] [--batch B] [--projectors P] [--window W]\n", argv[0]);
			return 2;
		}
	}
	if (opt_sales < 100 || opt_sales > 10000000 || opt_stores < 1 || opt_stores > 1000 || opt_batch < 1 ||
	    opt_window < 100 || opt_window > 1000000 ||
	    opt_batch > 100000 || opt_projectors < 1 || opt_projectors > 16) {
		fprintf(stderr, "bench-projector: --sales 100..10000000, --stores 1..1000, --batch 1..100000,"
		                " --projectors 1..16\n");
		return 2;
	}
	bench_print_machine();
	bench_check(redstore_id_new(run_id), "id");
	memmove(run_id, run_id + 24, 13); /* the random tail of a UUIDv7 */
	bench_check(redstore_config_new(&cfg), "config");
	bench_check(redstore_config_load_env(cfg), "config from environment");
	snprintf(prefix, sizeof(prefix), "bench%s.", run_id);
	bench_check(redstore_config_set(cfg, "kafka.topic_prefix", prefix), "topic prefix");
	bench_check(redstore_client_new(&c, cfg), "client");
	bench_check(redstore_db_migrate(c, NULL), "migrate");
	bench_check(redstore_projector_prepare(c, 1), "partitions");

	ps = calloc((size_t)opt_projectors, sizeof(*ps));
	t0 = bench_now_us();
	for (int i = 0; i < opt_projectors; i++) {
		ps[i].cfg = cfg;
		pthread_create(&ps[i].thread, NULL, projector_main, &ps[i]);
	}
	produce(c);
	for (int i = 0; i < opt_projectors; i++)
		pthread_join(ps[i].thread, NULL);
	secs = (double)(bench_now_us() - t0) / 1e6;
	rate = opt_sales / secs;
	printf("projected %d sales (%d rows each: sale, 3 lines, tender, 3 ledger) with %d projector(s), batches of"
	       " %d: %.2f s, %.0f events/s\n",
	       opt_sales, 8, opt_projectors, opt_batch, secs, rate);
	for (int i = 0; i < opt_projectors; i++)
		printf("  projector %d applied %llu events in %llu batches, %.2f s inside redstore_projector_apply\n", i + 1,
		       (unsigned long long)ps[i].applied, (unsigned long long)ps[i].batches, (double)ps[i].apply_us / 1e6);
	store_name(like, sizeof(like), 0);
	like[strlen(like) - 1] = '%';
	{
		int64_t n = scalar(c, "SELECT count(*) FROM sales WHERE store_id LIKE $1", like);
		int64_t total = scalar(c, "SELECT sum(total) FROM sales WHERE store_id LIKE $1", like);
		printf("check: %lld sales in PostgreSQL (want %d), total %lld (want %lld)\n", (long long)n, opt_sales,
		       (long long)total, (long long)expected_total);
		if (n != opt_sales || total != expected_total) {
			fprintf(stderr, "bench: the projection is wrong\n");
			return 1;
		}
	}
	ceil = ceiling(c);
	printf("RESULT projector events_per_s=%.0f ceiling_per_s=%.0f ratio=%.3f\n", rate, ceil, rate / ceil);
	free(ps);
	redstore_client_free(c);
	redstore_config_free(cfg);
	return 0;
}
