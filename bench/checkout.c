/*
 * bench/checkout: 3-line sales committed through the C API against the dev stack, at 1, 8 and 64
 * concurrent terminals, and in the same run the ceiling of the same Lua script (stock_apply) under
 * redis-benchmark with pipelining.
 *
 * Terminals are threads that each build a sale and commit it with the blocking redstore_sale_commit,
 * like terminals waiting on a server's HTTP response; their clients go through one library committer
 * (redstore/commit.h: --committers threads, batches of at most --batch), which takes every sale waiting
 * at that moment and commits them together. The ceiling lines are stock_apply.lua under redis-benchmark
 * and, beside it, the reference minimal script of a 3-line sale (check and decrement 3 stock fields,
 * record the sale id, XADD to the store's stream, PUBLISH): how far our Redis step is from the minimum.
 *
 *   bench-checkout [--sales N] [--committers C] [--batch B] [--products P]
 *
 * Needs the REDSTORE_* environment of a dev stack (eval "$(scripts/dev-stack env)") and redis-benchmark.
 * Last line: RESULT checkout sales_per_s=<64 terminals> ceiling_per_s=<n> ratio=<x> minimal_per_s=<n>
 * minimal_ratio=<x> redis_bytes_per_sale=<n>
 */
#include "common.h"
#include "engines/engines_int.h"
#include "core/core_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static int opt_sales = 30000, opt_committers = 2, opt_batch = 512, opt_products = 500;
static char store[65];

/* One terminal: a thread with its own client, its blocking commits going through the shared committer. */
typedef struct terminal {
	const redstore_config *cfg;
	redstore_committer *cm;
	unsigned seed;
	int sales;
	double *lat_ms;
	size_t nlat;
	long failures;
} terminal;

static void sku_name(char *buf, size_t cap, int i)
{
	snprintf(buf, cap, "SKU-%05d", i);
}

static void *terminal_main(void *arg)
{
	terminal *t = arg;
	redstore_client *c;
	bench_check(redstore_client_new(&c, t->cfg), "client");
	bench_check(redstore_client_use_store(c, store), "use_store");
	redstore_client_set_committer(c, t->cm);
	for (int n = 0; n < t->sales; n++) {
		redstore_sale *sale;
		redstore_receipt *r = NULL;
		char sku[32];
		int64_t t0;
		int rc;
		bench_check(redstore_sale_new(&sale, NULL), "sale_new");
		for (int l = 0; l < 3; l++) {
			sku_name(sku, sizeof(sku), (int)(rand_r(&t->seed) % (unsigned)opt_products));
			bench_check(redstore_sale_add_line(sale, sku, 1 + rand_r(&t->seed) % 2, NULL), "add_line");
		}
		bench_check(redstore_sale_add_tender(sale, REDSTORE_TENDER_CARD, 1, "bench"), "tender");
		/* Card for 0.01 never covers the total: use cash large enough for change. */
		bench_check(redstore_sale_add_tender(sale, REDSTORE_TENDER_CASH, 10000000, NULL), "tender");
		t0 = bench_now_us();
		rc = redstore_sale_commit(&r, c, sale);
		t->lat_ms[t->nlat++] = (double)(bench_now_us() - t0) / 1000.0;
		if (rc) {
			fprintf(stderr, "bench: commit: %s: %s\n", redstore_err_name(rc), redstore_error_last());
			t->failures++;
		}
		redstore_receipt_free(r);
		redstore_sale_free(sale);
	}
	redstore_client_free(c);
	return NULL;
}

/* One run: `terminals` terminals, `sales` sales through one committer of `committers` threads. Returns
 * sales per second. */
static double run(const redstore_config *cfg, int terminals, int sales, int committers)
{
	redstore_committer_options o = { (unsigned)committers, (unsigned)opt_batch, 0 };
	redstore_committer_stats st;
	redstore_committer *cm;
	pthread_t tt[64];
	terminal term[64];
	double *all = calloc((size_t)sales + 64, sizeof(*all));
	size_t nall = 0;
	long failures = 0;
	int64_t t0, t1;
	double per_s;

	bench_check(redstore_committer_new(&cm, cfg, &o), "committer");
	t0 = bench_now_us();
	for (int i = 0; i < terminals; i++) {
		memset(&term[i], 0, sizeof(term[i]));
		term[i].cfg = cfg;
		term[i].cm = cm;
		term[i].seed = 7919u * (unsigned)(i + 1);
		term[i].sales = sales / terminals + (i < sales % terminals);
		term[i].lat_ms = calloc((size_t)term[i].sales + 1, sizeof(double));
		pthread_create(&tt[i], NULL, terminal_main, &term[i]);
	}
	for (int i = 0; i < terminals; i++)
		pthread_join(tt[i], NULL);
	t1 = bench_now_us();
	redstore_committer_get_stats(&st, cm);
	redstore_committer_free(cm);
	for (int i = 0; i < terminals; i++) {
		memcpy(all + nall, term[i].lat_ms, term[i].nlat * sizeof(double));
		nall += term[i].nlat;
		failures += term[i].failures;
		free(term[i].lat_ms);
	}
	per_s = (double)sales / ((double)(t1 - t0) / 1e6);
	printf("checkout terminals=%d committers=%d sales=%d seconds=%.2f sales_per_s=%.0f p50_ms=%.2f p99_ms=%.2f "
	       "batches=%llu mean_batch=%.1f max_batch=%llu failures=%ld\n",
	       terminals, committers, sales, (double)(t1 - t0) / 1e6, per_s, bench_percentile(all, nall, 50),
	       bench_percentile(all, nall, 99), (unsigned long long)st.batches,
	       st.batches ? (double)st.operations / (double)st.batches : 0.0, (unsigned long long)st.max_batch, failures);
	fflush(stdout);
	free(all);
	if (failures)
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
	const redstore__redis_url *up = &c->set.redis;
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
	memset(filler, 'x', 600);
	filler[600] = '\0';
	/* Receipt and event of a realistic size (600 bytes each); a fresh op id per call (__rand_int__). */
	snprintf(cmd, sizeof(cmd),
	         "redis-benchmark -h %s -p %d -n 200000 -c 8 -P 32 -r 1000000000 -q EVALSHA %s 7 "
	         "'rs:{s:%s}:onhand' 'rs:{s:%s}:reserved' 'rs:{s:%s}:op:__rand_int__' 'rs:{s:%s}:stream' "
	         "'rs:{s:%s}:rf:__rand_int__' 'rs:{s:%s}:resvexp' 'rs:{s:%s}:rebuild' "
	         "__rand_int__ sale.completed %s %s 604800 100000 "
	         "'rs:{s:%s}:changes' sold 0 3 SKU-00001 sell 1 1 0 0 SKU-00002 sell 1 1 0 1 SKU-00003 sell 1 1 0 2 2>&1",
	         up->host, up->port, sha, store, store, store, store, store, store, store, filler, filler, store);
	for (int i = 0; i < 3; i++) {
		double v = bench_redis_benchmark(cmd);
		printf("ceiling run %d: stock_apply (3 lines) under redis-benchmark -P 32 -c 8: %.0f calls/s\n", i + 1, v);
		if (v > best)
			best = v;
	}
	return best;
}

/* The reference minimum of a 3-line sale's Redis step, measured beside stock_apply: check and decrement
 * three stock fields, record the sale id, XADD the change to the store's stream, PUBLISH its id. */
static const char minimal_lua[] =
	"if redis.call('SET', KEYS[3], '1', 'NX', 'EX', 604800) == false then return 'dup' end "
	"for i = 1, 3 do local v = tonumber(redis.call('HGET', KEYS[1], ARGV[i])) or 0 "
	"if v < 1 then return 'short' end end "
	"for i = 1, 3 do redis.call('HINCRBY', KEYS[1], ARGV[i], -1) end "
	"local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', 100000, '*', 'op', ARGV[4]) "
	"redis.call('PUBLISH', KEYS[4], id) return id";

static double minimal(redstore_client *c)
{
	const redstore__redis_url *u = &c->set.redis;
	redisReply *r;
	char sha[41], cmd[2048];
	double best = 0;
	bench_check(redstore__redis_cmd(&r, c, "SCRIPT LOAD %s", minimal_lua), "SCRIPT LOAD minimal");
	snprintf(sha, sizeof(sha), "%s", r->str);
	freeReplyObject(r);
	snprintf(cmd, sizeof(cmd),
	         "redis-benchmark -h %s -p %d -n 200000 -c 8 -P 32 -r 1000000000 -q EVALSHA %s 4 "
	         "'rs:{s:%s}:onhand' 'rs:{s:%s}:stream' 'rs:{s:%s}:min:__rand_int__' 'rs:{s:%s}:changes' "
	         "SKU-00001 SKU-00002 SKU-00003 __rand_int__ 2>&1",
	         u->host, u->port, sha, store, store, store, store);
	for (int i = 0; i < 3; i++) {
		double v = bench_redis_benchmark(cmd);
		printf("ceiling run %d: the minimal 3-line sale script under redis-benchmark -P 32 -c 8: %.0f calls/s\n", i + 1,
		       v);
		if (v > best)
			best = v;
	}
	return best;
}

/* Redis memory a settled sale keeps: MEMORY USAGE of the idempotency record and the refund tracking of
 * up to 200 sales of the store (the stream is bounded by sync.stream_maxlen and shared, so not counted). */
static double bytes_per_sale(redstore_client *c)
{
	redisReply *r;
	char pattern[128], cursor[32] = "0";
	long long bytes = 0, n = 0;
	snprintf(pattern, sizeof(pattern), "rs:{s:%s}:op:*", store);
	do {
		bench_check(redstore__redis_cmd(&r, c, "SCAN %s MATCH %s COUNT 1000", cursor, pattern), "SCAN");
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		for (size_t i = 0; i < r->element[1]->elements && n < 200; i++) {
			const char *key = r->element[1]->element[i]->str;
			redisReply *m;
			char rf[256];
			bench_check(redstore__redis_cmd(&m, c, "MEMORY USAGE %s", key), "MEMORY USAGE");
			bytes += m->integer;
			freeReplyObject(m);
			/* rs:{s:S}:op:<id> -> rs:{s:S}:rf:<id> */
			snprintf(rf, sizeof(rf), "rs:{s:%s}:rf:%s", store, key + strlen(pattern) - 1);
			bench_check(redstore__redis_cmd(&m, c, "MEMORY USAGE %s", rf), "MEMORY USAGE");
			if (m->type == REDIS_REPLY_INTEGER)
				bytes += m->integer;
			freeReplyObject(m);
			n++;
		}
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0 && n < 200);
	return n ? (double)bytes / (double)n : 0;
}

static long long used_memory(redstore_client *c)
{
	redisReply *r;
	const char *at;
	long long v = 0;
	bench_check(redstore__redis_cmd(&r, c, "INFO memory"), "INFO memory");
	if ((at = strstr(r->str, "used_memory:")))
		v = atoll(at + strlen("used_memory:"));
	freeReplyObject(r);
	return v;
}

int main(int argc, char **argv)
{
	redstore_config *cfg;
	redstore_client *c;
	double r1, r8, r64, r64b[3], ceil, min, per_sale;
	long long mem0, mem1;

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
	mem0 = used_memory(c);
	for (int i = 0; i < 3; i++)
		r64b[i] = run(cfg, 64, opt_sales, opt_committers);
	mem1 = used_memory(c);
	per_sale = bytes_per_sale(c);
	printf("redis memory: used_memory grew %lld bytes over %d sales (%.0f bytes/sale, stream included); "
	       "MEMORY USAGE of a settled sale's records: %.0f bytes\n",
	       mem1 - mem0, 3 * opt_sales, (double)(mem1 - mem0) / (3.0 * opt_sales), per_sale);
	r64 = bench_median(r64b, 3);
	ceil = ceiling(c);
	min = minimal(c);
	printf("summary: 1 terminal %.0f/s, 8 terminals %.0f/s, 64 terminals %.0f/s (median of 3); ceiling %.0f/s\n", r1,
	       r8, r64, ceil);
	printf("RESULT checkout sales_per_s=%.0f ceiling_per_s=%.0f ratio=%.3f minimal_per_s=%.0f minimal_ratio=%.3f "
	       "redis_bytes_per_sale=%.0f\n",
	       r64, ceil, r64 / ceil, min, r64 / min, per_sale);
	redstore_client_free(c);
	redstore_config_free(cfg);
	return 0;
}
