/*
 * Webhooks: per-store URLs that receive events as signed POSTs, delivered through the job queue
 * REDSTORE_WEBHOOK_QUEUE so they retry with backoff and end in its dead-letter set.
 *
 *   rs:{s:S}:webhooks   HASH  hook id -> {"url":..., "secret":..., "events":"a,b" or "*"}
 *
 * The hooks live in Redis with the store's other settings: the worker reads them for every event, they
 * are small, and Redis is persistent (AOF). The secret is stored as given because signing needs it.
 */
#include "core/core_int.h"
#include "engines/engines_int.h"
#include "jobs/jobs_priv.h"
#include "events/events_int.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_failed;

static void global_init(void)
{
	if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		init_failed = 1;
}

static int ensure_init(void)
{
	pthread_once(&init_once, global_init);
	return init_failed ? redstore__fail(REDSTORE_ERROR, "webhooks: libsodium or libcurl failed to initialise") : 0;
}

static bool hook_id_ok(const char *s)
{
	size_t n = 0;
	if (!s)
		return false;
	for (; s[n]; n++) {
		unsigned char ch = (unsigned char)s[n];
		if (n >= 64 || !((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		                 ch == '_' || ch == '-' || ch == '.'))
			return false;
	}
	return n > 0;
}

int redstore_webhook_sign(char out[65], const char *secret, int64_t timestamp, const void *body, size_t len)
{
	crypto_auth_hmacsha256_state st;
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	char ts[32];
	int rc;

	if (!out || !secret || (!body && len))
		return redstore__fail(REDSTORE_EINVALID, "redstore_webhook_sign: NULL argument");
	out[0] = '\0';
	if ((rc = ensure_init()))
		return rc;
	snprintf(ts, sizeof(ts), "%lld.", (long long)timestamp);
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts, strlen(ts));
	crypto_auth_hmacsha256_update(&st, body, len);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2hex(out, 65, mac, sizeof(mac));
	sodium_memzero(&st, sizeof(st));
	return 0;
}

static void hooks_key(char *buf, const char *store)
{
	snprintf(buf, REDSTORE_KEY_MAX, "rs:{s:%s}:webhooks", store);
}

int redstore_webhook_set(redstore_client *c, const char *id, const char *url, const char *secret, const char *events)
{
	char key[REDSTORE_KEY_MAX], *text;
	const char *store;
	cJSON *o;
	size_t n;
	int rc;

	if (!c)
		return redstore__fail(REDSTORE_EINVALID, "redstore_webhook_set: client is NULL");
	if ((rc = redstore__need_store(&store, c, "webhook")))
		return rc;
	if (!hook_id_ok(id))
		return redstore__fail(REDSTORE_EINVALID, "webhook id \"%.80s\": expected 1-64 of [A-Za-z0-9_.-]",
		                      id ? id : "(null)");
	if (!url || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)) || strlen(url) > 2000 ||
	    strlen(url) < 10 || strpbrk(url, " \t\r\n"))
		return redstore__fail(REDSTORE_EINVALID, "webhook %s: url must be http:// or https:// (up to 2000 characters)",
		                      id);
	if (!secret || (n = strlen(secret)) < 16 || n > 256)
		return redstore__fail(REDSTORE_EINVALID, "webhook %s: secret must be 16..256 bytes", id);
	if (!events || !events[0] || strlen(events) > 1000 || strpbrk(events, " \t\r\n\""))
		return redstore__fail(REDSTORE_EINVALID,
		                      "webhook %s: events must be \"*\" or comma-separated event types (up to 1000 characters)", id);
	if (!(o = cJSON_CreateObject()) || !cJSON_AddStringToObject(o, "url", url) ||
	    !cJSON_AddStringToObject(o, "secret", secret) || !cJSON_AddStringToObject(o, "events", events) ||
	    !(text = cJSON_PrintUnformatted(o))) {
		cJSON_Delete(o);
		return redstore__fail(REDSTORE_ENOMEM, "webhooks: out of memory");
	}
	cJSON_Delete(o);
	hooks_key(key, store);
	rc = redstore__redis_cmd(NULL, c, "HSET %s %s %s", key, id, text);
	cJSON_free(text);
	return rc ? redstore__fail_wrap(rc, "saving webhook %s of store %s", id, store) : 0;
}

int redstore_webhook_remove(redstore_client *c, const char *id)
{
	char key[REDSTORE_KEY_MAX];
	const char *store;
	redisReply *r;
	int rc;
	if (!c)
		return redstore__fail(REDSTORE_EINVALID, "redstore_webhook_remove: client is NULL");
	if ((rc = redstore__need_store(&store, c, "webhook")))
		return rc;
	if (!hook_id_ok(id))
		return redstore__fail(REDSTORE_EINVALID, "webhook id \"%.80s\": expected 1-64 of [A-Za-z0-9_.-]",
		                      id ? id : "(null)");
	hooks_key(key, store);
	if ((rc = redstore__redis_cmd(&r, c, "HDEL %s %s", key, id)))
		return rc;
	rc = r->integer == 1 ? 0 : redstore__fail(REDSTORE_ENOTFOUND, "store %s: no webhook %s", store, id);
	freeReplyObject(r);
	return rc;
}

/* 1 when the comma-separated list `events` has `type` or "*". */
static bool wants(const char *events, const char *type)
{
	size_t tl = strlen(type);
	for (const char *p = events; *p;) {
		size_t n = strcspn(p, ",");
		if ((n == 1 && *p == '*') || (n == tl && !strncmp(p, type, n)))
			return true;
		p += n;
		if (*p == ',')
			p++;
	}
	return false;
}

int redstore_webhook_dispatch(redstore_client *c, const char *event_json, size_t len, const redstore_job_spec *spec,
                              int *queued)
{
	redstore_event *ev = NULL;
	redstore_job_spec *specs = NULL;
	char key[REDSTORE_KEY_MAX], (*ids)[REDSTORE_JOB_ID_SIZE] = NULL;
	char **payloads = NULL;
	redisReply *r = NULL;
	size_t n = 0;
	int rc;

	if (queued)
		*queued = 0;
	if (!c || !event_json)
		return redstore__fail(REDSTORE_EINVALID, "redstore_webhook_dispatch: client or event is NULL");
	if ((rc = redstore_event_decode(&ev, event_json, len)))
		return rc;
	hooks_key(key, ev->store_id);
	if ((rc = redstore__redis_cmd(&r, c, "HGETALL %s", key)))
		goto out;
	specs = calloc(r->elements / 2 + 1, sizeof(*specs));
	ids = calloc(r->elements / 2 + 1, sizeof(*ids));
	payloads = calloc(r->elements / 2 + 1, sizeof(*payloads));
	if (!specs || !ids || !payloads) {
		rc = redstore__fail(REDSTORE_ENOMEM, "webhooks: out of memory");
		goto out;
	}
	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		const char *hook = r->element[i]->str;
		cJSON *h = cJSON_Parse(r->element[i + 1]->str), *p;
		const cJSON *evs = cJSON_GetObjectItemCaseSensitive(h, "events");
		bool want = cJSON_IsString(evs) && wants(evs->valuestring, ev->type);
		cJSON_Delete(h);
		if (!want)
			continue;
		{
			/* The body is the event exactly as received, so its signature matches the bytes sent. */
			char *body = redstore__strndup(event_json, len);
			p = cJSON_CreateObject();
			if (!body || !p || !cJSON_AddStringToObject(p, "store", ev->store_id) ||
			    !cJSON_AddStringToObject(p, "hook", hook) || !cJSON_AddStringToObject(p, "type", ev->type) ||
			    !cJSON_AddStringToObject(p, "event_id", ev->id) || !cJSON_AddStringToObject(p, "body", body)) {
				free(body);
				cJSON_Delete(p);
				rc = redstore__fail(REDSTORE_ENOMEM, "webhooks: out of memory");
				goto out;
			}
			free(body);
		}
		payloads[n] = cJSON_PrintUnformatted(p);
		cJSON_Delete(p);
		if (!payloads[n]) {
			rc = redstore__fail(REDSTORE_ENOMEM, "webhooks: out of memory");
			goto out;
		}
		if (spec)
			specs[n] = *spec;
		else {
			specs[n].max_attempts = 8;
			specs[n].backoff = REDSTORE_BACKOFF_EXPONENTIAL;
			specs[n].backoff_ms = 1000;
			specs[n].jitter_pct = 20;
		}
		snprintf(ids[n], sizeof(ids[n]), "%s.%.64s", ev->id, hook);
		specs[n].id = ids[n];
		specs[n].payload = payloads[n];
		specs[n].delay_ms = specs[n].run_at_ms = 0;
		n++;
	}
	if (n) {
		int *added = calloc(n, sizeof(*added));
		if (!added) {
			rc = redstore__fail(REDSTORE_ENOMEM, "webhooks: out of memory");
			goto out;
		}
		rc = redstore_job_add_many(c, REDSTORE_WEBHOOK_QUEUE, specs, n, added);
		for (size_t i = 0; !rc && queued && i < n; i++)
			*queued += added[i];
		free(added);
	}
out:
	for (size_t i = 0; payloads && i < n; i++)
		cJSON_free(payloads[i]);
	free(payloads);
	free(specs);
	free(ids);
	if (r)
		freeReplyObject(r);
	redstore_event_free(ev);
	return rc ? redstore__fail_wrap(rc, "dispatching event to webhooks") : 0;
}

static size_t discard(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	(void)ptr;
	(void)userdata;
	return size * nmemb;
}

redstore_job_outcome redstore_webhook_handler(const redstore_job *job, redstore_client *c, char *error,
                                              size_t error_cap, void *payload)
{
	cJSON *p = NULL, *h = NULL;
	const cJSON *store, *hook, *type, *body, *url, *secret;
	redisReply *r = NULL;
	char key[REDSTORE_KEY_MAX], sig[65], hdr[4][300], curlerr[CURL_ERROR_SIZE] = "";
	struct curl_slist *headers = NULL;
	CURL *curl = NULL;
	redstore_job_outcome out = REDSTORE_JOB_RETRY;
	int64_t ts = redstore__wall_ms() / 1000;
	long status = 0;
	CURLcode cc;
	(void)payload;

	if (ensure_init()) {
		snprintf(error, error_cap, "%s", redstore_error_last());
		return REDSTORE_JOB_RETRY;
	}
	p = cJSON_Parse(job->payload);
	store = cJSON_GetObjectItemCaseSensitive(p, "store");
	hook = cJSON_GetObjectItemCaseSensitive(p, "hook");
	type = cJSON_GetObjectItemCaseSensitive(p, "type");
	body = cJSON_GetObjectItemCaseSensitive(p, "body");
	if (!cJSON_IsString(store) || !cJSON_IsString(hook) || !cJSON_IsString(type) || !cJSON_IsString(body) ||
	    redstore__check_store_id(store->valuestring, "webhook store") || !hook_id_ok(hook->valuestring)) {
		snprintf(error, error_cap, "webhook job %s: malformed payload", job->id);
		out = REDSTORE_JOB_FAIL;
		goto done;
	}
	hooks_key(key, store->valuestring);
	if (redstore__redis_cmd(&r, c, "HGET %s %s", key, hook->valuestring)) {
		snprintf(error, error_cap, "%s", redstore_error_last());
		goto done;
	}
	if (r->type != REDIS_REPLY_STRING) {
		snprintf(error, error_cap, "webhook %s of store %s was removed", hook->valuestring, store->valuestring);
		out = REDSTORE_JOB_FAIL;
		goto done;
	}
	h = cJSON_Parse(r->str);
	url = cJSON_GetObjectItemCaseSensitive(h, "url");
	secret = cJSON_GetObjectItemCaseSensitive(h, "secret");
	if (!cJSON_IsString(url) || !cJSON_IsString(secret)) {
		snprintf(error, error_cap, "webhook %s of store %s is malformed", hook->valuestring, store->valuestring);
		out = REDSTORE_JOB_FAIL;
		goto done;
	}
	if (redstore_webhook_sign(sig, secret->valuestring, ts, body->valuestring, strlen(body->valuestring))) {
		snprintf(error, error_cap, "%s", redstore_error_last());
		goto done;
	}
	snprintf(hdr[0], sizeof(hdr[0]), "X-Redstore-Timestamp: %lld", (long long)ts);
	snprintf(hdr[1], sizeof(hdr[1]), "X-Redstore-Signature: v1=%s", sig);
	snprintf(hdr[2], sizeof(hdr[2]), "X-Redstore-Event: %.200s", type->valuestring);
	snprintf(hdr[3], sizeof(hdr[3]), "X-Redstore-Delivery: %s", job->id);
	if (!(curl = curl_easy_init())) {
		snprintf(error, error_cap, "webhook: libcurl could not start a request");
		goto done;
	}
	for (int i = 0; i < 4; i++)
		if (!(headers = curl_slist_append(headers, hdr[i])))
			break;
	if (headers)
		headers = curl_slist_append(headers, "Content-Type: application/json");
	if (!headers) {
		snprintf(error, error_cap, "webhook: out of memory");
		goto done;
	}
	curl_easy_setopt(curl, CURLOPT_URL, url->valuestring);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body->valuestring);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body->valuestring));
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
	                 (long)c->set.jobs_webhook_timeout_ms);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curlerr);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "libredstore-webhooks/" REDSTORE_VERSION_STRING);
	cc = curl_easy_perform(curl);
	if (cc != CURLE_OK) {
		snprintf(error, error_cap, "webhook %s: POST failed: %s", hook->valuestring,
		         curlerr[0] ? curlerr : curl_easy_strerror(cc));
		goto done;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 200 && status < 300) {
		out = REDSTORE_JOB_DONE;
	} else {
		snprintf(error, error_cap, "webhook %s: the receiver answered HTTP %ld", hook->valuestring, status);
		out = status == 410 ? REDSTORE_JOB_FAIL : REDSTORE_JOB_RETRY;
	}
done:
	curl_slist_free_all(headers);
	if (curl)
		curl_easy_cleanup(curl);
	if (r)
		freeReplyObject(r);
	cJSON_Delete(h);
	cJSON_Delete(p);
	return out;
}

int redstore_webhook_dispatch_event(redstore_client *c, const redstore_event *ev, const redstore_job_spec *spec,
                                    int *queued)
{
	cJSON *o, *payload;
	char occ[40], rec[40], *text;
	int rc;
	if (queued)
		*queued = 0;
	if (!c || !ev)
		return redstore__fail(REDSTORE_EINVALID, "redstore_webhook_dispatch_event: client or event is NULL");
	payload = cJSON_Parse(ev->payload_json ? ev->payload_json : "{}");
	o = cJSON_CreateObject();
	if (!payload || !o || !cJSON_AddStringToObject(o, "id", ev->id) || !cJSON_AddStringToObject(o, "type", ev->type) ||
	    !cJSON_AddNumberToObject(o, "schema_version", ev->schema_version) ||
	    !cJSON_AddStringToObject(o, "store_id", ev->store_id) ||
	    !cJSON_AddStringToObject(o, "terminal_id", ev->terminal_id) ||
	    !cJSON_AddStringToObject(o, "employee_id", ev->employee_id) ||
	    !cJSON_AddStringToObject(o, "occurred_at", redstore__rfc3339(occ, sizeof(occ), ev->occurred_at_ms)) ||
	    !cJSON_AddStringToObject(o, "recorded_at", redstore__rfc3339(rec, sizeof(rec), ev->recorded_at_ms))) {
		cJSON_Delete(payload);
		cJSON_Delete(o);
		return redstore__fail(REDSTORE_ENOMEM, "webhooks: out of memory");
	}
	cJSON_AddItemToObject(o, "payload", payload);
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!text)
		return redstore__fail(REDSTORE_ENOMEM, "webhooks: out of memory");
	rc = redstore_webhook_dispatch(c, text, strlen(text), spec, queued);
	cJSON_free(text);
	return rc;
}
