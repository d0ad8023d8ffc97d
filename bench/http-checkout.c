/*
 * bench/http-checkout: sales per second through redstore-server's REST API, with wrk as the load
 * generator (keep-alive connections; a Lua script gives every request its own sale id as the
 * Idempotency-Key and the cashier's session token).
 *
 *   bench-http-checkout [--seconds 10] [--connections 64] [--wrk-threads 2] [--server-threads 4]
 *                       [--server BIN]
 *
 * Each request is POST /v1/stores/{store}/sales with one line and a cash tender: the server authorises
 * the session, prices the line from the catalog, runs the stock script and waits for Kafka's
 * acknowledgement, exactly as for a till. Ceilings measured in the same run on the same machine:
 *   - GET /healthz under the same wrk load: what the HTTP layer alone can do;
 *   - redstore_sale_commit from as many threads as the server has, without HTTP: what the library can do.
 * After the run, the count of sales the store's Redis recorded must equal wrk's count of 201 answers.
 *
 * Needs the REDSTORE_* environment of a dev stack and wrk. The server is BIN or $REDSTORE_SERVER_BIN.
 * Last line: RESULT http_checkout req_per_s=<n> healthz_per_s=<n> library_per_s=<n> ratio=<http/library>
 */
#include "common.h"
#include "server.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static bench_server srv;

typedef struct wrk_result {
	double req_per_s;
	long requests, non_2xx, errors;
	char latency[160];
} wrk_result;

/* "  1234 requests in 10.00s" / "Requests/sec: 123.4" / "Non-2xx or 3xx responses: 5" / socket errors */
static void parse_wrk(wrk_result *r, const char *out)
{
	const char *p;
	memset(r, 0, sizeof(*r));
	if ((p = strstr(out, "Requests/sec:")))
		r->req_per_s = atof(p + 13);
	if ((p = strstr(out, " requests in ")))
		for (const char *q = p; q > out && q[-1] != '\n'; q--)
			r->requests = atol(q - 1);
	if ((p = strstr(out, "Non-2xx or 3xx responses:")))
		r->non_2xx = atol(p + 25);
	if ((p = strstr(out, "Socket errors:")))
		r->errors = 1;
	if ((p = strstr(out, "Latency")))
		snprintf(r->latency, sizeof(r->latency), "%.*s", (int)strcspn(p, "\n"), p);
}

static void run_wrk(wrk_result *r, const char *script, const char *path, int seconds, int conns, int threads)
{
	char cmd[1024], *out;
	snprintf(cmd, sizeof(cmd), "wrk -t%d -c%d -d%ds --latency %s%s http://127.0.0.1:%d%s 2>&1", threads, conns,
	         seconds, script ? "-s " : "", script ? script : "", srv.port, path);
	if (!(out = bench_capture(cmd))) {
		fprintf(stderr, "bench-http-checkout: could not run wrk (apt-get install wrk)\n");
		exit(1);
	}
	parse_wrk(r, out);
	if (!r->req_per_s) {
		fprintf(stderr, "bench-http-checkout: wrk gave no figure:\n%s\n", out);
		exit(1);
	}
	free(out);
}

/* The wrk script: a unique UUID per request (run prefix, wrk thread, counter), the session, the body. */
static void write_script(char *path, size_t cap)
{
	int fd;
	FILE *f;
	unsigned run = (unsigned)time(NULL) ^ ((unsigned)getpid() << 16);
	snprintf(path, cap, "/tmp/bench-http-checkout-XXXXXX.lua");
	if ((fd = mkstemps(path, 4)) < 0 || !(f = fdopen(fd, "w"))) {
		perror("bench-http-checkout: script");
		exit(1);
	}
	fprintf(f,
	        "local n = 0\n"
	        "function setup(thread) n = n + 1; thread:set(\"tid\", n) end\n"
	        "local count = 0\n"
	        "local headers = { [\"Authorization\"] = \"Bearer %s\", [\"Content-Type\"] = \"application/json\" }\n"
	        "local body = '{\"lines\":[{\"sku\":\"A\",\"qty\":1}],\"tenders\":[{\"kind\":\"cash\",\"amount\":100}]}'\n"
	        "request = function()\n"
	        "  count = count + 1\n"
	        "  headers[\"Idempotency-Key\"] = string.format(\"%%08x-%%04x-4000-8000-%%012x\", %u, tid, count)\n"
	        "  return wrk.format(\"POST\", \"/v1/stores/%s/sales\", headers, body)\n"
	        "end\n",
	        srv.token, run, srv.store);
	fclose(f);
}

typedef struct lib_arg {
	atomic_long *done;
	atomic_int *stop;
} lib_arg;

static void *lib_thread(void *p)
{
	lib_arg *a = p;
	redstore_client *c;
	bench_check(redstore_client_new(&c, NULL), "client");
	bench_check(redstore_client_use_store(c, srv.store), "use_store");
	while (!atomic_load(a->stop)) {
		redstore_sale *s;
		redstore_receipt *r;
		bench_check(redstore_sale_new(&s, NULL), "sale");
		bench_check(redstore_sale_add_line(s, "A", 1, NULL), "line");
		bench_check(redstore_sale_add_tender(s, REDSTORE_TENDER_CASH, 100, NULL), "tender");
		bench_check(redstore_sale_commit(&r, c, s), "commit");
		redstore_receipt_free(r);
		redstore_sale_free(s);
		atomic_fetch_add(a->done, 1);
	}
	redstore_client_free(c);
	return NULL;
}

/* The library alone: `threads` terminals committing through their own clients for `seconds`. */
static double library_rate(int threads, int seconds)
{
	pthread_t tid[64];
	atomic_long done = 0;
	atomic_int stop = 0;
	lib_arg a = { &done, &stop };
	int64_t t0 = bench_now_us();
	for (int i = 0; i < threads; i++)
		pthread_create(&tid[i], NULL, lib_thread, &a);
	sleep((unsigned)seconds);
	atomic_store(&stop, 1);
	for (int i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	return (double)atomic_load(&done) / ((double)(bench_now_us() - t0) / 1e6);
}

static long stock_of_a(redstore_client *c)
{
	redstore_stock_level l;
	const char *sku = "A";
	bench_check(redstore_stock_get(&l, c, 1, &sku), "stock");
	return (long)l.on_hand;
}

int main(int argc, char **argv)
{
	int seconds = 10, conns = 64, wrk_threads = 2, server_threads = 4;
	const char *bin = getenv("REDSTORE_SERVER_BIN");
	char script[64], threads_arg[16];
	wrk_result sale, health;
	redstore_client *c;
	long before, after;
	double lib;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--seconds"))
			seconds = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--connections"))
			conns = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--wrk-threads"))
			wrk_threads = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--server-threads"))
			server_threads = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--server"))
			bin = argv[i + 1];
	}
	if (!bin || seconds < 1 || seconds > 600 || conns < 1 || conns > 10000 || wrk_threads < 1 || wrk_threads > 64 ||
	    server_threads < 1 || server_threads > 64) {
		fprintf(stderr, "usage: bench-http-checkout [--seconds S] [--connections C] [--wrk-threads T] "
		                "[--server-threads N] [--server BIN]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	bench_server_env();
	bench_print_machine();
	snprintf(threads_arg, sizeof(threads_arg), "%d", server_threads);
	bench_server_start(&srv, bin, threads_arg, NULL, NULL);
	c = bench_server_store(&srv, "bench-http");
	write_script(script, sizeof(script));
	printf("server: %d threads; wrk: %d threads, %d keep-alive connections, %d s per run\n", server_threads,
	       wrk_threads, conns, seconds);

	run_wrk(&health, NULL, "/healthz", seconds, conns, wrk_threads);
	printf("GET /healthz        %10.0f req/s  (%s)\n", health.req_per_s, health.latency);

	before = stock_of_a(c);
	run_wrk(&sale, script, "/", seconds, conns, wrk_threads);
	after = stock_of_a(c);
	printf("POST sales          %10.0f req/s  %ld requests, %ld not 201  (%s)\n", sale.req_per_s, sale.requests,
	       sale.non_2xx, sale.latency);
	/* Every 201 took one unit; nothing else did. */
	if (before - after != sale.requests - sale.non_2xx)
		printf("note: stock fell by %ld for %ld sales answered 201 (requests cut off when wrk stopped may "
		       "still have committed)\n",
		       before - after, sale.requests - sale.non_2xx);
	unlink(script);

	lib = library_rate(server_threads, seconds);
	printf("library, %d threads %10.0f sales/s (redstore_sale_commit, no HTTP)\n", server_threads, lib);
	bench_server_stop(&srv);
	redstore_client_free(c);
	if (sale.non_2xx || sale.errors)
		printf("warning: %ld answers were not 201%s\n", sale.non_2xx, sale.errors ? ", and wrk saw socket errors" : "");
	printf("RESULT http_checkout req_per_s=%.0f healthz_per_s=%.0f library_per_s=%.0f ratio=%.3f\n", sale.req_per_s,
	       health.req_per_s, lib, sale.req_per_s / lib);
	return 0;
}
