/* httpkit: the HTTP pieces redstore-server and redstore-bridge share (see httpkit.h). */
#include "httpkit.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* ------------------------------------------------------------ replies */

char *httpkit_error_json(const char *code, const char *message)
{
	cJSON *root = cJSON_CreateObject(), *err = cJSON_AddObjectToObject(root, "error");
	char *s = NULL;
	if (err && cJSON_AddStringToObject(err, "code", code) && cJSON_AddStringToObject(err, "message", message))
		s = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return s;
}

void httpkit_reply_json(httpkit_reply *r, unsigned status, char *json)
{
	free(r->json);
	r->json = json;
	r->status = json ? status : 500;
}

void httpkit_reply_error(httpkit_reply *r, unsigned status, const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	httpkit_reply_json(r, status, httpkit_error_json(code, msg));
}

MHD_RESULT httpkit_send(struct MHD_Connection *conn, httpkit_reply *r)
{
	struct MHD_Response *resp = r->response;
	MHD_RESULT ret;
	r->response = NULL;
	if (!resp) {
		char *json = r->json ? r->json : strdup("{}");
		r->json = NULL;
		if (!json)
			return MHD_NO;
		resp = MHD_create_response_from_buffer(strlen(json), json, MHD_RESPMEM_MUST_FREE);
		if (!resp) {
			free(json);
			return MHD_NO;
		}
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	}
	free(r->json);
	r->json = NULL;
	if (r->retry_after)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
	if (r->status == 401)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	ret = MHD_queue_response(conn, r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* ------------------------------------------------------------ request bodies */

httpkit_body_step httpkit_body_feed(httpkit_body **ctx, struct MHD_Connection *conn, const char *upload_data,
                                    size_t *upload_data_size, size_t max)
{
	httpkit_body *b = *ctx;
	if (!b) {
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (!(b = calloc(1, sizeof(*b))))
			return HTTPKIT_BODY_FAIL;
		*ctx = b;
		/* a declared length over the limit is refused before a byte of the body is read */
		if (cl && strtoull(cl, NULL, 10) > max) {
			b->too_large = 1;
			return HTTPKIT_BODY_TOO_LARGE;
		}
		return HTTPKIT_BODY_MORE;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (b->too_large || b->len + n > max) {
			b->too_large = 1; /* read and drop the rest */
			return HTTPKIT_BODY_MORE;
		}
		if (b->len + n + 1 > b->cap) {
			size_t cap = b->cap ? b->cap : 1024;
			char *p;
			while (cap < b->len + n + 1)
				cap *= 2;
			if (!(p = realloc(b->data, cap)))
				return HTTPKIT_BODY_FAIL;
			b->data = p;
			b->cap = cap;
		}
		memcpy(b->data + b->len, upload_data, n);
		b->len += n;
		b->data[b->len] = '\0';
		return HTTPKIT_BODY_MORE;
	}
	return b->too_large ? HTTPKIT_BODY_TOO_LARGE : HTTPKIT_BODY_DONE;
}

void httpkit_body_free(httpkit_body *b)
{
	if (!b)
		return;
	free(b->data);
	free(b->deferred.json); /* completed, but the connection ended before it was sent */
	if (b->deferred.response)
		MHD_destroy_response(b->deferred.response);
	free(b);
}

/* ------------------------------------------------------------ the access handler */

static MHD_RESULT send_counted(struct MHD_Connection *conn, httpkit_reply *r, httpkit_counter count)
{
	if (count)
		count(r->status);
	return httpkit_send(conn, r);
}

MHD_RESULT httpkit_serve(struct MHD_Connection *conn, const char *url, const char *method, const char *upload_data,
                         size_t *upload_data_size, void **con_cls, size_t max_body, httpkit_handler handle,
                         httpkit_counter count)
{
	httpkit_body **ctx = (httpkit_body **)con_cls;
	httpkit_reply reply = { 0 };
	switch (httpkit_body_feed(ctx, conn, upload_data, upload_data_size, max_body)) {
	case HTTPKIT_BODY_MORE:
		return MHD_YES;
	case HTTPKIT_BODY_FAIL:
		return MHD_NO;
	case HTTPKIT_BODY_TOO_LARGE:
		httpkit_reply_error(&reply, 413, "body_too_large", "the body is larger than %zu bytes", max_body);
		return send_counted(conn, &reply, count);
	case HTTPKIT_BODY_DONE:
		break;
	}
	switch (__atomic_load_n(&(*ctx)->async, __ATOMIC_ACQUIRE)) {
	case 1:
		return MHD_YES; /* suspended: the answer comes from httpkit_complete */
	case 2:
		(*ctx)->async = 0;
		reply = (*ctx)->deferred;
		memset(&(*ctx)->deferred, 0, sizeof((*ctx)->deferred));
		return send_counted(conn, &reply, count);
	default:
		break;
	}
	{
		httpkit_request req = { 0 };
		req.conn = conn;
		req.method = method;
		req.path = url;
		req.body = (*ctx)->data ? (*ctx)->data : "";
		req.body_len = (*ctx)->len;
		req.ctx = *ctx;
		handle(&reply, &req);
	}
	if (__atomic_load_n(&(*ctx)->async, __ATOMIC_ACQUIRE))
		return MHD_YES; /* taken asynchronously (the path parameters must not outlive this call) */
	return send_counted(conn, &reply, count);
}

httpkit_ticket *httpkit_suspend(const httpkit_request *req)
{
	httpkit_body *b = req->ctx;
	b->conn = req->conn;
	__atomic_store_n(&b->async, 1, __ATOMIC_RELEASE);
	MHD_suspend_connection(req->conn);
	return b;
}

void httpkit_complete(httpkit_ticket *t, httpkit_reply *r)
{
	t->deferred = *r;
	memset(r, 0, sizeof(*r));
	__atomic_store_n(&t->async, 2, __ATOMIC_RELEASE);
	MHD_resume_connection(t->conn);
}

void httpkit_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	httpkit_body_free(*con_cls);
	*con_cls = NULL;
}

int httpkit_sndbuf;

void httpkit_on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                           enum MHD_ConnectionNotificationCode code)
{
	const union MHD_ConnectionInfo *ci;
	(void)cls;
	(void)socket_context;
	if (code != MHD_CONNECTION_NOTIFY_STARTED || !httpkit_sndbuf)
		return;
	if ((ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD)))
		setsockopt(ci->connect_fd, SOL_SOCKET, SO_SNDBUF, &httpkit_sndbuf, sizeof(httpkit_sndbuf));
}

/* ------------------------------------------------------------ the process */

static volatile sig_atomic_t stop_requested;
static sigset_t unblocked;

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

void httpkit_stop_signals(void)
{
	struct sigaction sa;
	sigset_t stop;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, &unblocked);
}

void httpkit_wait_for_stop(void)
{
	while (!stop_requested)
		sigsuspend(&unblocked);
}

int httpkit_write_port_file(const char *path, int port)
{
	char tmp[4096];
	FILE *f;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp) || !(f = fopen(tmp, "w")))
		return -1;
	if (fprintf(f, "%d\n", port) < 0) {
		fclose(f);
		return -1;
	}
	return fclose(f) || rename(tmp, path) ? -1 : 0;
}

/* ------------------------------------------------------------ routes */

int httpkit_match(const char *pattern, const char *path, char *buf, size_t cap,
                  const char *params[HTTPKIT_MAX_PARAMS], int *n_params)
{
	char *segs[16];
	size_t n = 0, i = 0;
	const char *p = pattern + 1;
	if ((size_t)snprintf(buf, cap, "%s", path) >= cap || buf[0] != '/')
		return 0;
	for (char *s = buf + 1;;) {
		char *e = strchr(s, '/');
		if (n == 16)
			return 0;
		segs[n++] = s;
		if (!e)
			break;
		*e = '\0';
		s = e + 1;
	}
	*n_params = 0;
	for (;;) {
		const char *pe = strchr(p, '/');
		size_t pl = pe ? (size_t)(pe - p) : strlen(p);
		if (i == n)
			return 0;
		if (pl == 1 && *p == '*') {
			if (!*segs[i] || *n_params == HTTPKIT_MAX_PARAMS)
				return 0;
			params[(*n_params)++] = segs[i];
		} else if (strlen(segs[i]) != pl || strncmp(p, segs[i], pl)) {
			return 0;
		}
		i++;
		if (!pe)
			break;
		p = pe + 1;
	}
	return i == n;
}

size_t httpkit_copy_part(char *buf, size_t room, const char *text, size_t len, size_t *off)
{
	size_t k = len - *off;
	if (k > room)
		k = room;
	memcpy(buf, text + *off, k);
	*off += k;
	return k;
}

/* ------------------------------------------------------------ tokens */

const char *httpkit_bearer(struct MHD_Connection *conn)
{
	const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (h)
		return strncmp(h, "Bearer ", 7) ? NULL : h + 7;
	return MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "access_token");
}

int httpkit_token_equal(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	unsigned char diff = na != nb;
	for (size_t i = 0; i < na; i++)
		diff |= (unsigned char)(a[i] ^ b[nb ? i % nb : 0]);
	return diff == 0 && nb > 0;
}

/* ------------------------------------------------------------ Server-Sent Events */

static void stream_id_parse(const char *s, uint64_t *ms, uint64_t *seq)
{
	char *e;
	*ms = strtoull(s, &e, 10);
	*seq = *e == '-' ? strtoull(e + 1, NULL, 10) : 0;
}

int httpkit_stream_id_cmp(const char *a, const char *b)
{
	uint64_t am, as, bm, bs;
	stream_id_parse(a, &am, &as);
	stream_id_parse(b, &bm, &bs);
	if (am != bm)
		return am < bm ? -1 : 1;
	return as < bs ? -1 : as > bs;
}

int httpkit_stream_id_valid(const char *s)
{
	size_t n = strlen(s), d = 0;
	int dash = 0;
	if (n == 0 || n >= HTTPKIT_STREAM_ID_SIZE)
		return 0;
	for (const char *p = s; *p; p++) {
		if (*p >= '0' && *p <= '9')
			d++;
		else if (*p == '-' && !dash && d && p[1])
			dash = 1;
		else
			return 0;
	}
	return 1;
}

const char *httpkit_last_event_id(struct MHD_Connection *conn)
{
	const char *last = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Last-Event-ID");
	return last ? last : MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "last_event_id");
}

char *httpkit_sse_event(const char *event, const char *id, const char *data, size_t *len)
{
	size_t n = (id ? strlen(id) : 0) + strlen(event) + strlen(data) + 32;
	char *s = malloc(n);
	if (!s)
		return NULL;
	if (id && *id)
		*len = (size_t)snprintf(s, n, "id: %s\nevent: %s\ndata: %s\n\n", id, event, data);
	else
		*len = (size_t)snprintf(s, n, "event: %s\ndata: %s\n\n", event, data);
	return s;
}

size_t httpkit_sse_resync(char *out, size_t cap, const char *reason)
{
	int n = snprintf(out, cap, "event: resync\ndata: {\"reason\":\"%s\"}\n\n", reason);
	return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

void httpkit_sse_headers(struct MHD_Response *resp)
{
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	MHD_add_response_header(resp, "X-Accel-Buffering", "no");
}
