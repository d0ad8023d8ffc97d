/* One HTTP request with libcurl, for the server tests and bench-sync (no Check dependency: the bench
 * compiles this file too). */
#ifndef REDSTORE_TEST_HTTP_H
#define REDSTORE_TEST_HTTP_H

#include <curl/curl.h>

/* A growing response body (NUL-terminated) and its libcurl write callback. */
typedef struct rs_http_buf {
	char *p;
	size_t n;
} rs_http_buf;
size_t rs_http_buf_write(char *data, size_t size, size_t nmemb, void *userdata);

/* `method` `path` on http://127.0.0.1:<port>, with a bearer `token`, an Idempotency-Key `idem` and a JSON
 * `body` when not NULL, and a whole-request timeout when timeout_ms > 0. Returns the status (0 when there
 * was no answer; *rc says why), *out (malloc'ed, may be NULL) the response body unless out is NULL. */
long rs_http(int port, const char *token, const char *method, const char *path, const char *idem, const char *body,
             long timeout_ms, char **out, CURLcode *rc);

/* The same with one more header line ("Name: value"), or none (NULL). */
long rs_http_header(int port, const char *token, const char *header, const char *method, const char *path,
                    const char *idem, const char *body, long timeout_ms, char **out, CURLcode *rc);

/* A Server-Sent Events reader for the tests and the benches: feed it what arrives, it calls on_event for
 * each complete event (at its blank line) with its event name, id and data ("" when absent; data is the
 * last data line: the servers send one), and on_comment for each ": ..." line (heartbeats). */
typedef struct rs_sse_parser {
	void (*on_event)(void *ctx, const char *event, const char *id, const char *data);
	void (*on_comment)(void *ctx, const char *text); /* may be NULL */
	void *ctx;
	int overflow;   /* a line was longer than the buffer: the stream is not what the servers send */
	size_t len;
	char line[16384];
	char event[32], id[64];
	char data[16384];
} rs_sse_parser;

/* Feeds n received bytes. Returns 0, or -1 once a line overflowed (set, stays set). */
int rs_sse_feed(rs_sse_parser *p, const char *bytes, size_t n);

#endif
