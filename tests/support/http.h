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

#endif
