/*
 * httpkit: the HTTP pieces redstore-server and redstore-bridge share (a static library of the examples).
 *
 *   replies     JSON bodies and {"error":{"code","message"}} errors with stable codes, sent as a response
 *   bodies      a request body read under a size limit (a declared or actual excess gives 413, and the
 *               rest of the body is read and dropped, so memory stays bounded)
 *   routes      "/v1/stores/STAR/stock/STAR" patterns whose STAR segments become parameters
 *   tokens      the request's bearer token (Authorization, or ?access_token= for EventSource)
 *   SSE         stream ids (<ms>-<seq>) compared and validated, events formatted, response headers
 *
 * Every function here is thread-safe (no shared state).
 */
#ifndef REDSTORE_HTTPKIT_H
#define REDSTORE_HTTPKIT_H

#include <microhttpd.h>
#include <stddef.h>

#if MHD_VERSION < 0x00097002
typedef int MHD_RESULT;
#else
typedef enum MHD_Result MHD_RESULT;
#endif

/* ------------------------------------------------------------ replies */

/* What a handler answers: a JSON body, or a ready response (SSE) instead. */
typedef struct httpkit_reply {
	unsigned status;
	char *json;                      /* malloc'ed; httpkit_send takes it */
	struct MHD_Response *response;   /* a ready response instead of json; httpkit_send takes it */
	char retry_after;                /* 1: add Retry-After: 1 */
} httpkit_reply;

/* {"error":{"code":<code>,"message":<message>}}, malloc'ed (NULL: out of memory). */
char *httpkit_error_json(const char *code, const char *message);
/* Takes ownership of json (NULL: out of memory -> 500). */
void httpkit_reply_json(httpkit_reply *r, unsigned status, char *json);
/* Sets an error reply; the message is cut at 511 bytes. */
void httpkit_reply_error(httpkit_reply *r, unsigned status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Queues the reply on the connection (Content-Type, Retry-After, WWW-Authenticate on 401) and releases
 * what it holds (r->json, r->response). */
MHD_RESULT httpkit_send(struct MHD_Connection *conn, httpkit_reply *r);

/* ------------------------------------------------------------ request bodies */

typedef struct httpkit_body {
	char *data; /* NUL-terminated once anything arrived, else NULL */
	size_t len, cap;
	int too_large;
	/* an asynchronous answer (httpkit_suspend, httpkit_complete) */
	struct MHD_Connection *conn;
	int async;                /* 1: the handler suspended the request; 2: httpkit_complete answered it */
	httpkit_reply deferred;   /* that answer */
} httpkit_body;

typedef enum httpkit_body_step {
	HTTPKIT_BODY_MORE,      /* return MHD_YES: more of the request is coming */
	HTTPKIT_BODY_DONE,      /* the whole body is in *ctx: handle the request */
	HTTPKIT_BODY_TOO_LARGE, /* answer 413 */
	HTTPKIT_BODY_FAIL       /* out of memory: return MHD_NO */
} httpkit_body_step;

/* One call of the access handler: *ctx is the connection's con_cls (NULL on the first call). A body
 * longer than max (declared by Content-Length, or as it arrives) gives HTTPKIT_BODY_TOO_LARGE. */
httpkit_body_step httpkit_body_feed(httpkit_body **ctx, struct MHD_Connection *conn, const char *upload_data,
                                    size_t *upload_data_size, size_t max);
/* Frees a body (the completion callback's job); NULL is a no-op. */
void httpkit_body_free(httpkit_body *b);

/* ------------------------------------------------------------ the access handler */

#define HTTPKIT_MAX_PARAMS 4

/* One request, as the handlers see it. */
typedef struct httpkit_request {
	struct MHD_Connection *conn;
	const char *method;
	const char *path;
	const char *body;      /* the whole body, NUL-terminated ("" when none) */
	size_t body_len;
	const char *params[HTTPKIT_MAX_PARAMS]; /* the path's {placeholders}, in order (httpkit_match) */
	int n_params;
	httpkit_body *ctx;     /* the request's state (httpkit_suspend) */
} httpkit_request;

/* A request answered later (httpkit_suspend). */
typedef httpkit_body httpkit_ticket;

/* From a handler: takes the request asynchronously. The connection is suspended (no libmicrohttpd thread
 * waits for the work), the handler returns with its reply untouched, and httpkit_complete() answers once,
 * from any thread (a completion callback). The body stays valid until then; the path parameters do not
 * (copy what the work needs). The daemon needs MHD_ALLOW_SUSPEND_RESUME. A request whose client went away
 * stays until it is completed, so every suspended request must be completed. */
httpkit_ticket *httpkit_suspend(const httpkit_request *req);
/* Answers a suspended request: takes r's contents (as httpkit_send does) and resumes the connection,
 * whose access handler then sends it (counted as any reply). Thread-safe; exactly once per ticket. */
void httpkit_complete(httpkit_ticket *t, httpkit_reply *r);

/* Handles a request whose body was read whole. */
typedef void (*httpkit_handler)(httpkit_reply *out, httpkit_request *req);
/* Called with each reply's status before it is sent (metrics), or NULL. */
typedef void (*httpkit_counter)(unsigned status);

/* The body of a libmicrohttpd access handler: reads the body under max_body (413 body_too_large past it),
 * then calls handle and sends its reply. Pass httpkit_completed as MHD_OPTION_NOTIFY_COMPLETED. */
MHD_RESULT httpkit_serve(struct MHD_Connection *conn, const char *url, const char *method, const char *upload_data,
                         size_t *upload_data_size, void **con_cls, size_t max_body, httpkit_handler handle,
                         httpkit_counter count);
void httpkit_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe);

/* The kernel send buffer (SO_SNDBUF) of each new connection, which bounds what a client that stops
 * reading can hold outside the program's own bounded buffers; 0 (the default): the kernel's. Set before
 * the daemon starts; pass httpkit_on_connection as MHD_OPTION_NOTIFY_CONNECTION. */
extern int httpkit_sndbuf;
void httpkit_on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                           enum MHD_ConnectionNotificationCode code);

/* ------------------------------------------------------------ the process */

/* SIGINT and SIGTERM request a stop; SIGPIPE is ignored. Call in main before any thread starts: the two
 * stop signals stay blocked in every thread and are taken only by httpkit_wait_for_stop(), so a signal
 * can never land between a check and the wait. */
void httpkit_stop_signals(void);
/* Returns once SIGINT or SIGTERM was received (at once if one was already). */
void httpkit_wait_for_stop(void);
/* Writes the port to path (through a temporary file and a rename, so a reader never sees half of it).
 * 0 or -1. */
int httpkit_write_port_file(const char *path, int port);

/* ------------------------------------------------------------ routes */

/* Matches path against pattern ("*" segments are parameters). buf (cap bytes) receives a copy of the
 * path that the parameters point into. Returns 1 on a match, else 0. */
int httpkit_match(const char *pattern, const char *path, char *buf, size_t cap,
                  const char *params[HTTPKIT_MAX_PARAMS], int *n_params);

/* Copies what fits of text[*off, len) into buf (room bytes), advances *off; returns the bytes copied. */
size_t httpkit_copy_part(char *buf, size_t room, const char *text, size_t len, size_t *off);

/* ------------------------------------------------------------ tokens */

/* "Authorization: Bearer <token>", or ?access_token= (EventSource cannot set headers); NULL if none.
 * Borrowed from the connection. */
const char *httpkit_bearer(struct MHD_Connection *conn);
/* 1 when a and b are equal, in time that does not depend on where they differ. */
int httpkit_token_equal(const char *a, const char *b);

/* ------------------------------------------------------------ Server-Sent Events */

#define HTTPKIT_STREAM_ID_SIZE 48 /* = REDSTORE_STREAM_ID_SIZE */

/* Redis stream ids: <ms>-<seq> (or <ms>). Compares numerically: -1, 0, 1. */
int httpkit_stream_id_cmp(const char *a, const char *b);
/* 1 when s is digits or digits-digits and shorter than HTTPKIT_STREAM_ID_SIZE. */
int httpkit_stream_id_valid(const char *s);
/* The Last-Event-ID header, or ?last_event_id=; NULL if none. Borrowed from the connection. */
const char *httpkit_last_event_id(struct MHD_Connection *conn);
/* "id: <id>\nevent: <event>\ndata: <data>\n\n" (no id line when id is NULL or empty), malloc'ed; *len
 * receives its length. NULL: out of memory. data must be one line (JSON as the library prints it). */
char *httpkit_sse_event(const char *event, const char *id, const char *data, size_t *len);
/* "event: resync\ndata: {"reason":"<reason>"}\n\n" into out (cap bytes); returns its length. */
size_t httpkit_sse_resync(char *out, size_t cap, const char *reason);
/* The headers of an event stream: text/event-stream, no caching, no proxy buffering. */
void httpkit_sse_headers(struct MHD_Response *resp);

#endif
