/*
 * redstore-server, events: GET /v1/stores/{store}/events served by the library's fan-out hub
 * (redstore/hub.h: one Redis subscription per process, rings for Last-Event-ID, per-stream buffers,
 * heartbeats, resync, slow streams cut off). This file only joins it to libmicrohttpd: the response's
 * content reader pulls the stream's bytes; a stream with nothing to send is suspended by the hub's
 * `wait` callback and resumed by its `ready` callback, so no thread polls.
 *
 * A stream's session stays checked while it lives: the hub runs the stream's check at the token's
 * expiry and every --sse-reauth-ms; a session that is no longer good (terminal revoked, employee
 * deactivated or demoted, token expired) ends the stream with `event: unauthorized` (data: the JSON
 * error), which a client answers by logging in again and reconnecting with its Last-Event-ID.
 */
#include "server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static redstore_hub *hub;

typedef struct stream {
	struct MHD_Connection *conn;
	redstore_hub_conn *hc;
	char store[65];
	char *token;
} stream;

static void on_ready(void *payload)
{
	MHD_resume_connection(((stream *)payload)->conn);
}

static void on_wait(void *payload)
{
	MHD_suspend_connection(((stream *)payload)->conn);
}

/* The hub's periodic check, on the puller's thread: verifies the session again. */
static void on_check(redstore_hub_conn *hc, void *payload)
{
	stream *s = payload;
	redstore_client *c = server_client_take();
	server_reply r = { 0 };
	int rc;
	if (!c)
		return; /* no client now: keep the stream, try again at the next check */
	rc = server_authorize_token(&r, s->token, c, s->store, SERVER_PERM_READ);
	redstore_auth_detach(c);
	redstore_error_clear();
	server_client_give(c);
	/* the engines cannot say now (5xx): keep the stream until the next check */
	if (rc && r.status < 500 && redstore_hub_end(hc, "unauthorized", r.json ? r.json : "{}"))
		fprintf(stderr, "redstore-server: ending a stream: %s\n", redstore_error_last());
	free(r.json);
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	stream *s = cls;
	size_t n;
	(void)pos;
	switch (redstore_hub_pull(&n, s->hc, buf, max)) {
	case REDSTORE_HUB_BYTES:
		return (ssize_t)n;
	case REDSTORE_HUB_WAIT:
		return 0; /* suspended by on_wait */
	default:
		return MHD_CONTENT_READER_END_OF_STREAM;
	}
}

static void sse_free(void *cls)
{
	stream *s = cls;
	redstore_hub_close(s->hc);
	free(s->token);
	free(s);
}

void sse_open(server_reply *out, const server_request *req, redstore_client *c)
{
	const char *last = httpkit_last_event_id(req->conn), *token = httpkit_bearer(req->conn);
	redstore_session_info who;
	redstore_hub_io io = { .ready = on_ready, .wait = on_wait, .check = on_check };
	struct MHD_Response *resp;
	stream *s;
	int rc;
	if ((rc = redstore_auth_session(&who, c))) {
		server_reply_lib_error(out, rc);
		return;
	}
	if (last && !httpkit_stream_id_valid(last)) {
		httpkit_reply_error(out, 400, "invalid_last_event_id",
		                    "Last-Event-ID \"%.60s\" is not a stream id (<ms>-<seq>)", last);
		return;
	}
	if (!(s = calloc(1, sizeof(*s))) || !token || !(s->token = strdup(token))) {
		free(s);
		httpkit_reply_error(out, 500, "internal", "out of memory");
		return;
	}
	s->conn = req->conn;
	snprintf(s->store, sizeof(s->store), "%s", req->params[0]);
	io.check_at_ms = who.expires_at_ms;
	io.payload = s;
	if ((rc = redstore_hub_open(&s->hc, hub, s->store, last, &io))) {
		server_reply_lib_error(out, rc);
		free(s->token);
		free(s);
		return;
	}
	if (!(resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 8192, sse_read, s, sse_free))) {
		sse_free(s);
		httpkit_reply_error(out, 500, "internal", "out of memory");
		return;
	}
	httpkit_sse_headers(resp);
	out->status = 200;
	out->response = resp;
}

int sse_hub_start(const server_options *opt, const redstore_config *cfg)
{
	redstore_hub_options o;
	redstore_hub_options_init(&o);
	o.ring_events = opt->sse_buffer;
	/* a stream may fall as far behind as the ring reaches (about 512 bytes an event), then it is cut off */
	o.conn_buffer_bytes = opt->sse_buffer * 512 < 4096 ? 4096 : opt->sse_buffer * 512;
	o.heartbeat_ms = opt->heartbeat_ms;
	o.check_ms = opt->reauth_ms;
	o.max_streams = opt->max_connections;
	if (redstore_hub_new(&hub, cfg, &o)) {
		fprintf(stderr, "redstore-server: sync hub: %s\n", redstore_error_last());
		return -1;
	}
	return 0;
}

void sse_hub_stop(void)
{
	redstore_hub_stop(hub);
}

void sse_hub_free(void)
{
	redstore_hub_free(hub);
	hub = NULL;
}

void sse_hub_stats(redstore_hub_stats *out)
{
	redstore_hub_get_stats(out, hub);
}
