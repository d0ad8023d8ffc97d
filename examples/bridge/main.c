/*
 * redstore-bridge: the in-store bridge. The store's terminals talk to it on the LAN; it forwards to the
 * central redstore-server through the terminal client (redstore/terminal.h), keeps accepting sales into
 * its journal while the uplink is down, replays them in order when it is back, and re-serves the store's
 * event stream to every local terminal from one upstream connection. See docs/bridge.md.
 *
 *   redstore-bridge --upstream URL --store ID [--listen ADDR:PORT] [--token T] [--local-token T]
 *                   [--journal PATH] [--port-file PATH] [--ring-events N] [--client-buffer-kib N]
 *                   [--heartbeat-ms MS] [--upstream-timeout-ms MS] [--retry-max-ms MS] [--max-body BYTES]
 *                   [--max-connections N] [--sndbuf BYTES]
 *
 * Every flag sets a configuration key (bridge.*, store.id) over its REDSTORE_* environment variable and is
 * validated by the library's property table. Tokens are better given in the environment
 * (REDSTORE_BRIDGE_TOKEN, REDSTORE_BRIDGE_LOCAL_TOKEN): a command line is visible to every local user.
 * SIGINT/SIGTERM stop it: the streams end, then the listener, then the replay thread.
 */
#include "bridge.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

bridge_options g_opt;

/* Each connection's memory for the request line and headers (and response buffers): larger headers get
 * 431 from libmicrohttpd. Bodies are limited apart (bridge.max_body). */
#define HEADER_LIMIT (32 * 1024)

int64_t bridge_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct timespec bridge_deadline(int64_t ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

static const struct flag {
	const char *name, *key;
} flags[] = {
	{ "--listen", "bridge.listen" },
	{ "--upstream", "bridge.upstream" },
	{ "--token", "bridge.token" },
	{ "--local-token", "bridge.local_token" },
	{ "--journal", "bridge.journal" },
	{ "--store", "store.id" },
	{ "--ring-events", "bridge.ring_events" },
	{ "--client-buffer-kib", "bridge.client_buffer_kib" },
	{ "--heartbeat-ms", "bridge.heartbeat_ms" },
	{ "--upstream-timeout-ms", "bridge.upstream_timeout_ms" },
	{ "--retry-max-ms", "bridge.retry_max_ms" },
	{ "--max-body", "bridge.max_body" },
	{ "--max-connections", "bridge.max_connections" },
};

static void usage(void)
{
	fprintf(stderr, "usage: redstore-bridge --upstream URL --store ID [--listen ADDR:PORT] [--port-file PATH]\n"
	                "                       [--token T] [--local-token T] [--journal PATH] [--ring-events N]\n"
	                "                       [--client-buffer-kib N] [--heartbeat-ms MS] [--upstream-timeout-ms MS]\n"
	                "                       [--retry-max-ms MS] [--max-body BYTES] [--max-connections N]\n"
	                "                       [--sndbuf BYTES]\n"
	                "Each flag overrides its configuration key (bridge.*, store.id; see docs/CONFIGURATION.md).\n");
}

static const char *get(const redstore_config *cfg, const char *key)
{
	const char *v = NULL;
	return redstore_config_get(&v, cfg, key) || !v ? "" : v;
}

static long get_int(const redstore_config *cfg, const char *key)
{
	return strtol(get(cfg, key), NULL, 10);
}

/* The options from the configuration; 0 or -1 with a message. */
static int load_options(const redstore_config *cfg)
{
	static const char *const required[][2] = { { "bridge.upstream", "--upstream" },
		                                        { "store.id", "--store" },
		                                        { "bridge.token", "--token" },
		                                        { "bridge.local_token", "--local-token" } };
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		if (!get(cfg, required[i][0])[0]) {
			fprintf(stderr, "redstore-bridge: %s is required (%s, or REDSTORE_", required[i][0], required[i][1]);
			for (const char *k = required[i][0]; *k; k++)
				fputc(*k == '.' ? '_' : *k >= 'a' && *k <= 'z' ? *k - 32 : *k, stderr);
			fprintf(stderr, ")\n");
			return -1;
		}
	}
	/* a.b.c.d:port, as the configuration's validator checked it */
	if (sscanf(get(cfg, "bridge.listen"), "%63[0-9.]:%d", g_opt.listen_addr, &g_opt.listen_port) != 2) {
		fprintf(stderr, "redstore-bridge: bridge.listen: expected IPv4-address:port\n");
		return -1;
	}
	g_opt.upstream = get(cfg, "bridge.upstream");
	g_opt.token = get(cfg, "bridge.token");
	g_opt.local_token = get(cfg, "bridge.local_token");
	g_opt.journal = get(cfg, "bridge.journal");
	g_opt.store = get(cfg, "store.id");
	g_opt.ring_events = (size_t)get_int(cfg, "bridge.ring_events");
	g_opt.client_buffer = (size_t)get_int(cfg, "bridge.client_buffer_kib") * 1024;
	g_opt.heartbeat_ms = (int)get_int(cfg, "bridge.heartbeat_ms");
	g_opt.upstream_timeout_ms = (int)get_int(cfg, "bridge.upstream_timeout_ms");
	g_opt.retry_max_ms = (int)get_int(cfg, "bridge.retry_max_ms");
	g_opt.max_body = (size_t)get_int(cfg, "bridge.max_body");
	g_opt.max_connections = (unsigned)get_int(cfg, "bridge.max_connections");
	return 0;
}

int main(int argc, char **argv)
{
	redstore_config *cfg = NULL;
	struct MHD_Daemon *d = NULL;
	struct sockaddr_in addr;
	const union MHD_DaemonInfo *info;
	unsigned timeout_s;
	int port, rc = 1;

	if (redstore_config_new(&cfg) || redstore_config_load_env(cfg)) {
		fprintf(stderr, "redstore-bridge: configuration: %s\n", redstore_error_last());
		redstore_config_free(cfg);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		size_t f = 0;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage();
			redstore_config_free(cfg);
			return 0;
		}
		if (!val) {
			usage();
			redstore_config_free(cfg);
			return 2;
		}
		i++;
		if (!strcmp(a, "--port-file")) {
			g_opt.port_file = val;
			continue;
		}
		if (!strcmp(a, "--sndbuf")) {
			char *end;
			long v = strtol(val, &end, 10);
			if (*end || end == val || v < 1024 || v > 64L * 1024 * 1024) {
				fprintf(stderr, "redstore-bridge: --sndbuf %s (expected bytes in 1024..67108864)\n", val);
				redstore_config_free(cfg);
				return 2;
			}
			httpkit_sndbuf = (int)v;
			continue;
		}
		while (f < sizeof(flags) / sizeof(flags[0]) && strcmp(flags[f].name, a))
			f++;
		if (f == sizeof(flags) / sizeof(flags[0])) {
			fprintf(stderr, "redstore-bridge: unknown option %s\n", a);
			usage();
			redstore_config_free(cfg);
			return 2;
		}
		if (redstore_config_set(cfg, flags[f].key, val)) {
			fprintf(stderr, "redstore-bridge: %s: %s\n", a, redstore_error_last());
			redstore_config_free(cfg);
			return 2;
		}
	}
	if (load_options(cfg)) {
		redstore_config_free(cfg);
		return 2;
	}
	httpkit_stop_signals(); /* before any thread starts */

	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)g_opt.listen_port);
	inet_pton(AF_INET, g_opt.listen_addr, &addr.sin_addr); /* checked by the configuration's validator */
	if (uplink_start() || upstream_start_events())
		goto out;
	/* a stream writes at least a heartbeat per heartbeat_ms: only a dead connection outlives this */
	timeout_s = (unsigned)(g_opt.heartbeat_ms / 1000) * 3 + 60;
	d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL, 0, NULL,
	                     NULL, bridge_access, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
	                     MHD_OPTION_NOTIFY_COMPLETED, httpkit_completed, NULL,
	                     MHD_OPTION_NOTIFY_CONNECTION, httpkit_on_connection, NULL,
	                     MHD_OPTION_CONNECTION_LIMIT, g_opt.max_connections,
	                     MHD_OPTION_CONNECTION_TIMEOUT, timeout_s,
	                     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HEADER_LIMIT, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "redstore-bridge: cannot listen on %s:%d\n", g_opt.listen_addr, g_opt.listen_port);
		goto out;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	port = info ? info->port : g_opt.listen_port;
	printf("redstore-bridge: store %s, listening on %s:%d, upstream %s\n", g_opt.store, g_opt.listen_addr, port,
	       g_opt.upstream);
	fflush(stdout);
	if (g_opt.port_file && httpkit_write_port_file(g_opt.port_file, port)) {
		fprintf(stderr, "redstore-bridge: cannot write %s\n", g_opt.port_file);
		goto out;
	}
	httpkit_wait_for_stop();
	fprintf(stderr, "redstore-bridge: stopping\n");
	rc = 0;
out:
	upstream_stop_events();
	if (d)
		MHD_stop_daemon(d);
	upstream_free_events();
	uplink_stop();
	redstore_config_free(cfg);
	return rc;
}
