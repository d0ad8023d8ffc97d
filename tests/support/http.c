/* One HTTP request with libcurl (see http.h). */
#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t rs_http_buf_write(char *data, size_t size, size_t nmemb, void *userdata)
{
	rs_http_buf *b = userdata;
	size_t k = size * nmemb;
	char *q = realloc(b->p, b->n + k + 1);
	if (!q)
		return 0;
	memcpy(q + b->n, data, k);
	b->p = q;
	b->n += k;
	b->p[b->n] = '\0';
	return k;
}

long rs_http(int port, const char *token, const char *method, const char *path, const char *idem, const char *body,
             long timeout_ms, char **out, CURLcode *rc)
{
	return rs_http_header(port, token, NULL, method, path, idem, body, timeout_ms, out, rc);
}

long rs_http_header(int port, const char *token, const char *header, const char *method, const char *path,
                    const char *idem, const char *body, long timeout_ms, char **out, CURLcode *rc)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hdr = NULL;
	char url[512], line[128], auth[1200];
	rs_http_buf b = { NULL, 0 };
	long status = 0;
	CURLcode res;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, rs_http_buf_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	if (timeout_ms > 0)
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
	if (idem) {
		snprintf(line, sizeof(line), "Idempotency-Key: %s", idem);
		hdr = curl_slist_append(hdr, line);
	}
	if (token && token[0]) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		hdr = curl_slist_append(hdr, auth);
	}
	if (header)
		hdr = curl_slist_append(hdr, header);
	if (body) {
		hdr = curl_slist_append(hdr, "Content-Type: application/json");
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	res = curl_easy_perform(h);
	if (res == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (rc)
		*rc = res;
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	if (out)
		*out = b.p;
	else
		free(b.p);
	return status;
}

static void sse_line(rs_sse_parser *p)
{
	const char *l = p->line;
	if (!*l) {
		if (p->event[0] || p->id[0] || p->data[0])
			p->on_event(p->ctx, p->event, p->id, p->data);
		p->event[0] = p->id[0] = p->data[0] = '\0';
	} else if (l[0] == ':') {
		if (p->on_comment)
			p->on_comment(p->ctx, l + 1);
	} else if (!strncmp(l, "id: ", 4)) {
		snprintf(p->id, sizeof(p->id), "%s", l + 4);
	} else if (!strncmp(l, "event: ", 7)) {
		snprintf(p->event, sizeof(p->event), "%s", l + 7);
	} else if (!strncmp(l, "data: ", 6)) {
		snprintf(p->data, sizeof(p->data), "%s", l + 6);
	}
}

int rs_sse_feed(rs_sse_parser *p, const char *bytes, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (bytes[i] == '\n') {
			p->line[p->len] = '\0';
			sse_line(p);
			p->len = 0;
		} else if (p->len + 1 < sizeof(p->line)) {
			p->line[p->len++] = bytes[i];
		} else {
			p->overflow = 1;
		}
	}
	return p->overflow ? -1 : 0;
}
