/* The redstore-server under benchmark: started on a free port, a store with one product and a cashier
 * logged in through it (shared by bench-sync and bench-http-checkout). */
#ifndef REDSTORE_BENCH_SERVER_H
#define REDSTORE_BENCH_SERVER_H

#include <redstore.h>
#include <sys/types.h>

typedef struct bench_server {
	pid_t pid;
	int port;
	char token[1024]; /* the cashier's session */
	char store[65];
} bench_server;

/* Sets auth.secret and cheap PIN hashing in the environment (before any client is made). */
void bench_server_env(void);
/* Starts BIN with `--threads threads` and the extra arguments (NULL-terminated); exits on failure. */
void bench_server_start(bench_server *s, const char *bin, const char *threads, const char *extra1,
                        const char *extra2);
void bench_server_stop(bench_server *s);
/* One request with the cashier's token; returns the status, *out the body (free it) when out. */
long bench_server_http(bench_server *s, const char *method, const char *path, const char *body, char **out);
/* A value of /metrics, or -1. */
long bench_server_metric(bench_server *s, const char *name);
/* The server's resident memory in KiB, or -1. */
long bench_server_rss_kib(const bench_server *s);
/* A store named <prefix>-<pid>-<time> with product A (price 1.00, 100,000,000 in stock), a paired
 * terminal and a cashier logged in through the server (s->token). Returns a client of that store. */
redstore_client *bench_server_store(bench_server *s, const char *prefix);

#endif
