/*
 * bench/sync: redstore-server's Server-Sent Events against the dev stack.
 *
 *   bench-sync latency [--clients 1000] [--rate 200] [--seconds 10] [--server BIN]
 *       N SSE clients (curl multi, 4 threads) on one store; one terminal commits 1-line sales at a steady
 *       rate; for every client and every sale: the time from the start of the commit to the event's
 *       arrival at the client. Last line: RESULT sync p50_ms=<x> p99_ms=<x> clients=<n>
 *   bench-sync memory [--clients 10000] [--server BIN]
 *       N idle SSE connections (plain sockets); the server's resident memory before and after.
 *       Last line: RESULT sse_memory kib_per_conn=<x>
 *
 * The server is started here (BIN or $REDSTORE_SERVER_BIN) on a free port with auth.secret set, and a
 * cashier logs in through it. Needs the REDSTORE_* environment of a dev stack.
 */
#include "common.h"
#include "http.h"
#include "server.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *server_bin;
static bench_server srv;

static void current_id(redstore_client *c, char *id)
{
	redstore_snapshot *s;
	bench_check(redstore_sync_snapshot(&s, c), "snapshot");
	snprintf(id, REDSTORE_STREAM_ID_SIZE, "%s", s->stream_id);
	redstore_snapshot_free(s);
}

/* ------------------------------------------------------------ latency */

typedef struct client {
	rs_sse_parser p;
	int64_t now_us;   /* when the bytes being parsed arrived */
	int64_t *recv_us; /* arrival of the k-th change */
	atomic_int count;
	int cap;
} client;

static void client_event(void *ctx, const char *event, const char *id, const char *data)
{
	client *c = ctx;
	int n = atomic_load(&c->count);
	(void)id, (void)data;
	if (!strcmp(event, "change") && n < c->cap) {
		c->recv_us[n] = c->now_us;
		atomic_store(&c->count, n + 1);
	}
}

static size_t client_write(char *data, size_t size, size_t nmemb, void *userdata)
{
	client *c = userdata;
	size_t k = size * nmemb;
	c->now_us = bench_now_us();
	c->p.on_event = client_event;
	c->p.ctx = c;
	rs_sse_feed(&c->p, data, k);
	return k;
}

typedef struct group {
	client *clients;
	int n;
	const char *after;
	atomic_int *stop;
} group;

static void *group_main(void *arg)
{
	group *g = arg;
	CURLM *m = curl_multi_init();
	CURL **h = calloc((size_t)g->n, sizeof(*h));
	struct curl_slist *hdr = NULL;
	char url[256], line[1100];
	int running = 1;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/stores/%s/events", srv.port, srv.store);
	snprintf(line, sizeof(line), "Authorization: Bearer %s", srv.token);
	hdr = curl_slist_append(hdr, line);
	snprintf(line, sizeof(line), "Last-Event-ID: %s", g->after);
	hdr = curl_slist_append(hdr, line);
	for (int i = 0; i < g->n; i++) {
		h[i] = curl_easy_init();
		curl_easy_setopt(h[i], CURLOPT_URL, url);
		curl_easy_setopt(h[i], CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(h[i], CURLOPT_WRITEFUNCTION, client_write);
		curl_easy_setopt(h[i], CURLOPT_WRITEDATA, &g->clients[i]);
		curl_multi_add_handle(m, h[i]);
	}
	while (!atomic_load(g->stop) && running) {
		curl_multi_perform(m, &running);
		curl_multi_poll(m, NULL, 0, 50, NULL);
	}
	for (int i = 0; i < g->n; i++) {
		curl_multi_remove_handle(m, h[i]);
		curl_easy_cleanup(h[i]);
	}
	curl_slist_free_all(hdr);
	curl_multi_cleanup(m);
	free(h);
	return NULL;
}

static int latency(int n_clients, int rate, int seconds)
{
	redstore_client *c;
	char after[REDSTORE_STREAM_ID_SIZE];
	int n_sales = rate * seconds, threads = 4;
	client *cl = calloc((size_t)n_clients, sizeof(*cl));
	int64_t *start = calloc((size_t)n_sales, sizeof(*start)), t0, deadline;
	group g[4];
	pthread_t th[4];
	atomic_int stop = 0;
	double *lat;
	size_t nlat = 0, missing = 0;
	bench_server_start(&srv, server_bin, "2", "--heartbeat-ms", "15000");
	c = bench_server_store(&srv, "bench-sync");
	current_id(c, after);
	for (int i = 0; i < n_clients; i++) {
		cl[i].cap = n_sales;
		cl[i].recv_us = calloc((size_t)n_sales, sizeof(int64_t));
	}
	for (int t = 0; t < threads; t++) {
		int lo = n_clients * t / threads, hi = n_clients * (t + 1) / threads;
		g[t] = (group){ cl + lo, hi - lo, after, &stop };
		pthread_create(&th[t], NULL, group_main, &g[t]);
	}
	deadline = bench_now_us() + 60000000;
	while (bench_server_metric(&srv, "redstore_sse_connections") < n_clients && bench_now_us() < deadline)
		usleep(20000);
	printf("%d SSE clients connected; %d sales at %d/s\n", n_clients, n_sales, rate);
	t0 = bench_now_us();
	for (int k = 0; k < n_sales; k++) {
		redstore_sale *s;
		redstore_receipt *r;
		int64_t due = t0 + (int64_t)k * 1000000 / rate, now = bench_now_us();
		if (due > now)
			usleep((useconds_t)(due - now));
		bench_check(redstore_sale_new(&s, NULL), "sale");
		bench_check(redstore_sale_add_line(s, "A", 1, NULL), "line");
		bench_check(redstore_sale_add_tender(s, REDSTORE_TENDER_CASH, 1000, NULL), "tender");
		start[k] = bench_now_us();
		bench_check(redstore_sale_commit(&r, c, s), "commit");
		redstore_receipt_free(r);
		redstore_sale_free(s);
	}
	deadline = bench_now_us() + 60000000;
	for (int i = 0; i < n_clients; i++)
		while (atomic_load(&cl[i].count) < n_sales && bench_now_us() < deadline)
			usleep(10000);
	atomic_store(&stop, 1);
	for (int t = 0; t < threads; t++)
		pthread_join(th[t], NULL);
	lat = malloc((size_t)n_clients * (size_t)n_sales * sizeof(*lat));
	for (int i = 0; i < n_clients; i++) {
		int got = atomic_load(&cl[i].count);
		missing += (size_t)(n_sales - got);
		if (got < n_sales)
			printf("client %d: %d of %d\n", i, got, n_sales);
		for (int k = 0; k < got; k++)
			lat[nlat++] = (double)(cl[i].recv_us[k] - start[k]) / 1000.0;
		free(cl[i].recv_us);
	}
	{
		double p50 = bench_percentile(lat, nlat, 50), p99 = bench_percentile(lat, nlat, 99),
		       max = bench_percentile(lat, nlat, 100);
		printf("deliveries %zu (missing %zu); commit start -> client: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", nlat,
		       missing, p50, p99, max);
		printf("hub reads %ld for %ld changes; events sent %ld, resyncs %ld, open streams %ld\n",
		       bench_server_metric(&srv, "redstore_hub_reads_total"), bench_server_metric(&srv, "redstore_hub_events_total"),
		       bench_server_metric(&srv, "redstore_sse_events_sent_total"), bench_server_metric(&srv, "redstore_sse_resyncs_total"),
		       bench_server_metric(&srv, "redstore_sse_connections"));
		bench_server_stop(&srv);
		printf("RESULT sync p50_ms=%.2f p99_ms=%.2f max_ms=%.2f clients=%d\n", p50, p99, max, n_clients);
	}
	free(lat);
	free(start);
	free(cl);
	redstore_client_free(c);
	return missing ? 1 : 0;
}

/* ------------------------------------------------------------ memory */

static int memory(int n)
{
	redstore_client *c;
	char after[REDSTORE_STREAM_ID_SIZE], req[2048];
	int *fds = calloc((size_t)n, sizeof(int));
	long before, after_kib;
	int64_t deadline;
	struct sockaddr_in a;
	bench_server_start(&srv, server_bin, "2", "--heartbeat-ms", "15000");
	c = bench_server_store(&srv, "bench-sync");
	current_id(c, after);
	snprintf(req, sizeof(req),
	         "GET /v1/stores/%s/events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: %s\r\nAuthorization: Bearer %s\r\n\r\n",
	         srv.store, after, srv.token);
	/* one stream first, so the store's channel and the pools exist */
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)srv.port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	usleep(200000);
	before = bench_server_rss_kib(&srv);
	for (int i = 0; i < n; i++) {
		if ((fds[i] = socket(AF_INET, SOCK_STREAM, 0)) < 0 || connect(fds[i], (struct sockaddr *)&a, sizeof(a)) ||
		    write(fds[i], req, strlen(req)) != (ssize_t)strlen(req)) {
			fprintf(stderr, "bench-sync: connection %d failed\n", i);
			return 1;
		}
	}
	deadline = bench_now_us() + 120000000;
	while (bench_server_metric(&srv, "redstore_sse_connections") < n && bench_now_us() < deadline)
		usleep(50000);
	usleep(500000);
	after_kib = bench_server_rss_kib(&srv);
	printf("%d idle SSE connections (server reports %ld): RSS %ld KiB -> %ld KiB\n", n,
	       bench_server_metric(&srv, "redstore_sse_connections"), before, after_kib);
	for (int i = 0; i < n; i++)
		close(fds[i]);
	free(fds);
	bench_server_stop(&srv);
	redstore_client_free(c);
	printf("RESULT sse_memory kib_per_conn=%.2f\n", (double)(after_kib - before) / n);
	return 0;
}

int main(int argc, char **argv)
{
	int clients = -1, rate = 200, seconds = 10, rc;
	const char *mode = argc > 1 ? argv[1] : "";
	bench_server_env();
	server_bin = getenv("REDSTORE_SERVER_BIN");
	for (int i = 2; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--clients"))
			clients = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--rate"))
			rate = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--seconds"))
			seconds = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--server"))
			server_bin = argv[i + 1];
	}
	if (!server_bin || (strcmp(mode, "latency") && strcmp(mode, "memory")) || rate < 1 || seconds < 1) {
		fprintf(stderr, "usage: bench-sync latency|memory [--clients N] [--rate R] [--seconds S] [--server BIN]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_ALL);
	bench_print_machine();
	if (!strcmp(mode, "latency"))
		rc = latency(clients > 0 ? clients : 1000, rate, seconds);
	else
		rc = memory(clients > 0 ? clients : 10000);
	curl_global_cleanup();
	return rc;
}
