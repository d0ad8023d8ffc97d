/*
 * bench/checkout: 3-line sales committed through the C API against the dev stack, at 1, 8 and 64
 * concurrent terminals, and in the same run the ceiling of the same Lua script (stock_apply) under
 * redis-benchmark with pipelining.
 *
 * Terminals are threads that each build a sale, hand it over and wait for its receipt, like terminals
 * waiting on a server's HTTP response. Committer threads (each with its own client) take every sale
 * waiting at that moment, up to --batch, and commit them with redstore_sale_commit_many: pipelining
 * across terminals, Kafka delivery reports awaited together.
 *
 *   bench-checkout [--sales N] [--committers C] [--batch B] [--products P]
 *
 * Needs the REDSTORE_* environment of a dev stack (eval "$(scripts/dev-stack env)") and redis-benchmark.
 * Last line: RESULT checkout sales_per_s=<64 terminals> ceiling_per_s=<n> ratio=<x>
 */
#include "common.h"
#include "engines/engines_int.h"
#include "core/core_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static int opt_sales = 30000, opt_committers = 2, opt_batch = 64, opt_products = 500;
static char store[65];

typedef struct job {
	redstore_sale *sale;
	int rc;
	int done;
} job;

/* The hand-over queue between terminals and committers. */
static struct {
	pthread_mutex_t mu;
	pthread_cond_t work, finished;
	job **q;
	size_t head, tail, cap;
	int stop;
	long remaining;          /* sales still to start in this run */
	long failures;
} Q = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, 0, 0, 0, 0, 0, 0 };

typedef struct terminal {
	unsigned seed;
	double *lat_ms;
	size_t nlat;
} terminal;

static void sku_name(char *buf, size_t cap, int i)
{
	snprintf(buf, cap, "SKU-%05d", i);
}

static void *terminal_main(void *arg)
{
	terminal *t = arg;
	for (;;) {
		job j = { NULL, 0, 0 };
		char sku[32];
		int64_t t0;
		pthread_mutex_lock(&Q.mu);
		if (Q.remaining <= 0) {
			pthread_mutex_unlock(&Q.mu);
			return NULL;
		}
		Q.remaining--;
		pthread_mutex_unlock(&Q.mu);
		bench_check(redstore_sale_new(&j.sale, NULL), "sale_new");
		for (int l = 0; l < 3; l++) {
			sku_name(sku, sizeof(sku), (int)(rand_r(&t->seed) % (unsigned)opt_products));
			bench_check(redstore_sale_add_line(j.sale, sku, 1 + rand_r(&t->seed) % 2, NULL), "add_line");
		}
		bench_check(redstore_sale_add_tender(j.sale, REDSTORE_TENDER_CARD, 1, "bench"), "tender");
		/* Card for 0.01 never covers the total: use cash large enough for change. */
		bench_check(redstore_sale_add_tender(j.sale, REDSTORE_TENDER_CASH, 10000000, NULL), "tender");
		t0 = bench_now_us();
		pthread_mutex_lock(&Q.mu);
		Q.q[Q.tail++ % Q.cap] = &j;
		pthread_cond_signal(&Q.work);
		while (!j.done)
			pthread_cond_wait(&Q.finished, &Q.mu);
		pthread_mutex_unlock(&Q.mu);
		t->lat_ms[t->nlat++] = (double)(bench_now_us() - t0) / 1000.0;
		if (j.rc) {
			fprintf(stderr, "bench: commit: %s\n", redstore_err_name(j.rc));
			pthread_mutex_lock(&Q.mu);
			Q.failures++;
			pthread_mutex_unlock(&Q.mu);
		}
		redstore_sale_free(j.sale);
	}
}

static void *committer_main(void *arg)
{
	const redstore_config *cfg = arg;
	redstore_client *c;
	job **batch = calloc((size_t)opt_batch, sizeof(*batch));
	const redstore_sale **sales = calloc((size_t)opt_batch, sizeof(*sales));
	redstore_receipt **out = calloc((size_t)opt_batch, sizeof(*out));
	int *rcs = calloc((size_t)opt_batch, sizeof(*rcs));

	bench_check(redstore_client_new(&c, cfg), "client");
	bench_check(redstore_client_use_store(c, store), "use_store");
	for (;;) {
		size_t n = 0;
		pthread_mutex_lock(&Q.mu);
		while (Q.head == Q.tail && !Q.stop)
			pthread_cond_wait(&Q.work, &Q.mu);
		if (Q.head == Q.tail && Q.stop) {
			pthread_mutex_unlock(&Q.mu);
			break;
		}
		while (Q.head != Q.tail && n < (size_t)opt_batch)
			batch[n++] = Q.q[Q.head++ % Q.cap];
		pthread_mutex_unlock(&Q.mu);
		for (size_t i = 0; i < n; i++)
			sales[i] = batch[i]->sale;
		redstore_sale_commit_many(out, rcs, c, n, sales);
		pthread_mutex_lock(&Q.mu);
		for (size_t i = 0; i < n; i++) {
			batch[i]->rc = rcs[i];
			batch[i]->done = 1;
			redstore_receipt_free(out[i]);
		}
		pthread_cond_broadcast(&Q.finished);
		pthread_mutex_unlock(&Q.mu);
	}
	redstore_client_free(c);
	free(batch);
	free(sales);
	free(out);
	free(rcs);
	return NULL;
}

/* One run: `terminals` terminals, `sales` sales. Returns sales per second. */
static double run(const redstore_config *cfg, int terminals, int sales, int committers)
{
	pthread_t tt[64], ct[8];
	terminal term[64];
	double *all = calloc((size_t)sales + 64, sizeof(*all));
	size_t nall = 0;
	int64_t t0, t1;
	double per_s;

	Q.cap = 256;
	Q.q = calloc(Q.cap, sizeof(*Q.q));
	Q.head = Q.tail = 0;
	Q.stop = 0;
	Q.remaining = sales;
	Q.failures = 0;
	for (int i = 0; i < committers; i++)
		pthread_create(&ct[i], NULL, committer_main, (void *)cfg);
	t0 = bench_now_us();
	for (int i = 0; i < terminals; i++) {
		term[i].seed = 7919u * (unsigned)(i + 1);
		term[i].lat_ms = calloc((size_t)sales + 1, sizeof(double));
		term[i].nlat = 0;
		pthread_create(&tt[i], NULL, terminal_main, &term[i]);
	}
	for (int i = 0; i < terminals; i++)
		pthread_join(tt[i], NULL);
	t1 = bench_now_us();
	pthread_mutex_lock(&Q.mu);
	Q.stop = 1;
	pthread_cond_broadcast(&Q.work);
	pthread_mutex_unlock(&Q.mu);
	for (int i = 0; i < committers; i++)
		pthread_join(ct[i], NULL);
	for (int i = 0; i < terminals; i++) {
		memcpy(all + nall, term[i].lat_ms, term[i].nlat * sizeof(double));
		nall += term[i].nlat;
		free(term[i].lat_ms);
	}
	per_s = (double)sales / ((double)(t1 - t0) / 1e6);
	printf("checkout terminals=%d committers=%d sales=%d seconds=%.2f sales_per_s=%.0f p50_ms=%.2f p99_ms=%.2f "
	       "failures=%ld\n",
	       terminals, committers, sales, (double)(t1 - t0) / 1e6, per_s, bench_percentile(all, nall, 50),
	       bench_percentile(all, nall, 99), Q.failures);
	fflush(stdout);
	free(all);
	free(Q.q);
	if (Q.failures)
		exit(1);
	return per_s;
}

static void setup_store(redstore_client *c)
{
	redstore_store_info info = { NULL, "Bench Store", "EUR", "UTC", 1 };
	char sku[32];
	snprintf(store, sizeof(store), "bench-%ld", (long)bench_now_us() % 1000000000L);
	info.store_id = store;
	bench_check(redstore_store_create(c, &info), "store_create");
	bench_check(redstore_client_use_store(c, store), "use_store");
	bench_check(redstore_store_set_tax_class(c, "standard", 200000), "tax class");
	for (int i = 0; i < opt_products; i++) {
		redstore_product p;
		redstore_stock_line line;
		redstore_stock_result *r;
		memset(&p, 0, sizeof(p));
		sku_name(sku, sizeof(sku), i);
		p.sku = sku;
		p.name = sku;
		p.price = 100 + i;
		p.tax_class = "standard";
		p.active = 1;
		bench_check(redstore_product_create(c, &p), "product_create");
		line.sku = sku;
		line.qty = 100000000;
		line.unit_cost = 50;
		bench_check(redstore_stock_receive(&r, c, NULL, "bench", 1, &line), "receive");
		redstore_stock_result_free(r);
	}
}

/* The ceiling: stock_apply for a 3-line sale under redis-benchmark, pipelined, on the same server. */
static double ceiling(redstore_client *c)
{
	redstore__redis_url u;
	redisReply *r;
	char sha[41] = "", cmd[4096], filler[601];
	const char *text = NULL;
	double best = 0;

	for (int i = 0; i < redstore__lua_script_count; i++)
		if (!strcmp(redstore__lua_scripts[i].name, "stock_apply"))
			text = redstore__lua_scripts[i].text;
	bench_check(redstore__redis_cmd(&r, c, "SCRIPT LOAD %s", text), "SCRIPT LOAD");
	snprintf(sha, sizeof(sha), "%s", r->str);
	freeReplyObject(r);
	redstore__redis_url_parse(&u, redstore__config_str(redstore_client_config(c), REDSTORE_CFG_REDIS_URL));
	memset(filler, 'x', 600);
	filler[600] = '\0';
	/* Receipt and event of a realistic size (600 bytes each); a fresh op id per call (__rand_int__). */
	snprintf(cmd, sizeof(cmd),
	         "redis-benchmark -h %s -p %d -n 200000 -c 8 -P 32 -r 1000000000 -q EVALSHA %s 7 "
	         "'rs:{s:%s}:onhand' 'rs:{s:%s}:reserved' 'rs:{s:%s}:op:__rand_int__' 'rs:{s:%s}:stream' "
	         "'rs:{s:%s}:rf:__rand_int__' 'rs:{s:%s}:resvexp' 'rs:{s:%s}:rebuild' "
	         "__rand_int__ sale.completed %s %s 604800 100000 "
	         "'rs:{s:%s}:changes' sold 0 3 SKU-00001 sell 1 1 0 0 SKU-00002 sell 1 1 0 1 SKU-00003 sell 1 1 0 2 2>&1",
	         u.host, u.port, sha, store, store, store, store, store, store, store, filler, filler, store);
	for (int i = 0; i < 3; i++) {
		double v = bench_redis_benchmark(cmd);
		printf("ceiling run %d: stock_apply (3 lines) under redis-benchmark -P 32 -c 8: %.0f calls/s\n", i + 1, v);
		if (v > best)
			best = v;
	}
	return best;
}

int main(int argc, char **argv)
{
	redstore_config *cfg;
	redstore_client *c;
	double r1, r8, r64, r64b[3], ceil;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--sales") && i + 1 < argc)
			opt_sales = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--committers") && i + 1 < argc)
			opt_committers = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
			opt_batch = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--products") && i + 1 < argc)
			opt_products = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: %s [--sales N] [--committers C] [--batch B] [--products P]\n", argv[0]);
			return 2;
		}
	}
	if (opt_committers < 1 || opt_committers > 8 || opt_batch < 1 || opt_batch > 4096 || opt_sales < 100 ||
	    opt_products < 3)
		return 2;
	bench_print_machine();
	bench_check(redstore_config_new(&cfg), "config");
	bench_check(redstore_config_load_env(cfg), "config from environment");
	bench_check(redstore_client_new(&c, cfg), "client");
	setup_store(c);
	printf("store %s: %d products\n", store, opt_products);
	r1 = run(cfg, 1, opt_sales / 10, 1);
	r8 = run(cfg, 8, opt_sales, opt_committers);
	for (int i = 0; i < 3; i++)
		r64b[i] = run(cfg, 64, opt_sales, opt_committers);
	r64 = bench_median(r64b, 3);
	ceil = ceiling(c);
	printf("summary: 1 terminal %.0f/s, 8 terminals %.0f/s, 64 terminals %.0f/s (median of 3); ceiling %.0f/s\n", r1,
	       r8, r64, ceil);
	printf("RESULT checkout sales_per_s=%.0f ceiling_per_s=%.0f ratio=%.3f\n", r64, ceil, r64 / ceil);
	redstore_client_free(c);
	redstore_config_free(cfg);
	return 0;
}
