/*
 * redstore-server: the REST + Server-Sent Events server of libredstore.
 *
 *   redstore-server [--port N] [--port-file PATH] [--threads N] [--max-body BYTES]
 *                   [--heartbeat-ms MS] [--sse-buffer EVENTS] [--max-connections N] [--sndbuf BYTES]
 *                   [--sse-reauth-ms MS] [--web-root DIR]
 *
 * --web-root is the directory of the static pages (/terminal/, /dashboard/; docs/web.md). Default: the
 * source tree's examples/server/web when the server runs from its build tree, else the installed
 * <datadir>/redstore/web; "none" serves no pages.
 *
 * --sse-reauth-ms: a live event stream's session is verified again this often (default 60 s): a revoked
 * terminal or a deactivated employee loses its streams within it. A stream whose token expires ends at
 * the expiry. Either way the stream's last event is `event: unauthorized` (data: the JSON error).
 *
 * --sndbuf caps the kernel's send buffer of each connection (SO_SNDBUF), which bounds what a client that
 * stops reading can hold outside the server's own bounded buffers.
 *
 * Listens on 127.0.0.1 (port 0: any free port; the chosen port is printed and written to --port-file).
 * Configuration of the engines from the REDSTORE_* environment. SIGINT/SIGTERM stop it: every SSE stream
 * is ended, then the listener.
 *
 * Routes (JSON unless said otherwise; errors are {"error":{"code","message"}}):
 *   GET  /healthz, /metrics (Prometheus text)
 *   GET  /v1/stores/{store}/events                 Server-Sent Events (Last-Event-ID or ?last_event_id=)
 *   GET  /v1/stores/{store}/snapshot               stock + the stream id it is current to
 *   GET  /v1/stores/{store}/products/{sku}, /barcodes/{barcode}, /stock/{sku}
 *   POST /v1/stores/{store}/sales                  Idempotency-Key: <sale id>
 *   GET  /v1/stores/{store}/sales/{id}
 *   POST /v1/stores/{store}/sales/{id}/void, /sales/{id}/refunds
 *   POST /v1/stores/{store}/stock/receipts, /stock/adjustments, /stock/counts
 *   GET  /v1/stores/{store}/products?q=&limit=&cursor=&favourites=   catalog listing and search
 *   POST /v1/stores/{store}/sales/quote            a sale priced, nothing written
 *   GET  /v1/stores/{store}/reports/sales, /top-products, /reorder, /transactions, /patterns,
 *        /stock-value                                manager role (reports.c)
 *   POST /v1/stores/{store}/products, PUT|DELETE .../products/{sku}, .../transfers, .../reservations,
 *        .../employees, GET .../terminals, .../audit/verify ...    store management (admin.c)
 *   POST /v1/stores/{store}/shifts, .../shifts/{id}/cash-moves, /close, GET /x-report, /z-report (shifts.c)
 *   GET  /terminal/, /dashboard/ and their files                      static pages (web.c)
 * Every route with its body, answer and permission: docs/rest.md.
 */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int parse_num(const char *s, long min, long max, long *out)
{
	char *end;
	long v;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* The default web root: the source tree's pages when this executable lies in the build tree. */
static const char *default_web_root(void)
{
	char *exe = realpath("/proc/self/exe", NULL), *build = realpath(REDSTORE_SERVER_BUILD_DIR, NULL);
	int in_build = exe && build && !strncmp(exe, build, strlen(build)) && exe[strlen(build)] == '/';
	free(exe);
	free(build);
	return in_build ? REDSTORE_SERVER_WEB_SOURCE : REDSTORE_SERVER_WEB_INSTALLED;
}

static void usage(void)
{
	fprintf(stderr, "usage: redstore-server [--port N] [--port-file PATH] [--threads N] [--max-body BYTES]\n"
	                "                       [--heartbeat-ms MS] [--sse-buffer EVENTS] [--max-connections N]\n"
	                "                       [--sndbuf BYTES] [--sse-reauth-ms MS] [--web-root DIR|none]\n"
	                "                       [--projector-group NAME]\n");
}

int main(int argc, char **argv)
{
	server_options opt = { .port = 8080, .threads = 4, .max_body = 64 * 1024, .heartbeat_ms = 15000,
		                   .sse_buffer = 4096, .max_connections = 20000, .reauth_ms = 60000 };
	redstore_config *cfg = NULL;
	struct MHD_Daemon *d;
	struct sockaddr_in addr;
	const union MHD_DaemonInfo *info;
	const char *web_root = NULL;
	int port;

	for (int i = 1; i < argc; i++) {
		long v;
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage();
			return 0;
		}
		if (!val) {
			usage();
			return 2;
		}
		i++;
		if (!strcmp(a, "--port") && !parse_num(val, 0, 65535, &v))
			opt.port = (int)v;
		else if (!strcmp(a, "--port-file"))
			opt.port_file = val;
		else if (!strcmp(a, "--threads") && !parse_num(val, 1, 64, &v))
			opt.threads = (int)v;
		else if (!strcmp(a, "--max-body") && !parse_num(val, 64, 16L * 1024 * 1024, &v))
			opt.max_body = (size_t)v;
		else if (!strcmp(a, "--heartbeat-ms") && !parse_num(val, 100, 3600000, &v))
			opt.heartbeat_ms = (int)v;
		else if (!strcmp(a, "--sse-buffer") && !parse_num(val, 16, 1000000, &v))
			opt.sse_buffer = (size_t)v;
		else if (!strcmp(a, "--max-connections") && !parse_num(val, 16, 1000000, &v))
			opt.max_connections = (unsigned)v;
		else if (!strcmp(a, "--sse-reauth-ms") && !parse_num(val, 100, 3600000, &v))
			opt.reauth_ms = (int)v;
		else if (!strcmp(a, "--sndbuf") && !parse_num(val, 1024, 64L * 1024 * 1024, &v))
			httpkit_sndbuf = (int)v;
		else if (!strcmp(a, "--web-root"))
			web_root = val;
		else if (!strcmp(a, "--projector-group") && *val)
			shifts_set_projector_group(val);
		else {
			fprintf(stderr, "redstore-server: bad option %s %s\n", a, val);
			usage();
			return 2;
		}
	}
	if (!web_root) {
		if (web_set_root(default_web_root()))
			fprintf(stderr, "redstore-server: serving no pages (give --web-root)\n");
	} else if (strcmp(web_root, "none") && web_set_root(web_root)) {
		return 1;
	}
	if (redstore_config_new(&cfg) || redstore_config_load_env(cfg)) {
		fprintf(stderr, "redstore-server: configuration: %s\n", redstore_error_last());
		redstore_config_free(cfg);
		web_free();
		return 1;
	}
	httpkit_stop_signals();

	http_set_options(&opt);
	if (sse_hub_start(&opt, cfg)) {
		redstore_config_free(cfg);
		web_free();
		return 1;
	}
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)opt.port);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME,
	                     0, NULL, NULL, http_access, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
	                     MHD_OPTION_THREAD_POOL_SIZE, (unsigned)opt.threads, MHD_OPTION_NOTIFY_COMPLETED,
	                     httpkit_completed, NULL, MHD_OPTION_NOTIFY_CONNECTION, httpkit_on_connection, NULL, MHD_OPTION_CONNECTION_LIMIT, opt.max_connections,
	                     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	                     (size_t)12 * 1024, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "redstore-server: cannot listen on 127.0.0.1:%d\n", opt.port);
		sse_hub_free();
		redstore_config_free(cfg);
		web_free();
		return 1;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	port = info ? info->port : opt.port;
	printf("redstore-server: listening on 127.0.0.1:%d\n", port);
	fflush(stdout);
	if (opt.port_file && httpkit_write_port_file(opt.port_file, port))
		fprintf(stderr, "redstore-server: cannot write %s\n", opt.port_file);
	else
		httpkit_wait_for_stop();
	fprintf(stderr, "redstore-server: stopping\n");
	sse_hub_stop();
	MHD_stop_daemon(d);
	sse_hub_free();
	server_pool_shutdown();
	redstore_config_free(cfg);
	web_free();
	return 0;
}
