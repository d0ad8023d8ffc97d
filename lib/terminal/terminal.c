/* The terminal client of redstore-server: REST (libcurl), the event stream thread, the SQLite journal
 * (see terminal.h). */
#include "core/core_int.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <time.h>

#define MAX_RESPONSE (16u * 1024 * 1024)
#define MAX_BODY (1024u * 1024)
#define MAX_TOKEN 2048

struct redstore_terminal {
	char *base_url;
	char store[65];
	char *token;           /* written by the owner thread under mu; the stream thread copies it under mu */
	int timeout_ms;
	sqlite3 *db;
	/* the event stream */
	pthread_t thread;
	int running;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;
	char last_id[REDSTORE_STREAM_ID_SIZE];
	unsigned token_gen;    /* t->mu: bumped by every set_token */
	int64_t offline_until; /* monotonic ms: sell() journals without trying the server before this */
	int64_t offline_backoff;
	redstore_terminal_event_cb cb;
	void *payload;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_failed;

static void curl_init(void)
{
	curl_failed = curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK;
}

static const char JOURNAL_SCHEMA[] =
	"PRAGMA journal_mode=WAL;"
	"PRAGMA synchronous=FULL;"
	"CREATE TABLE IF NOT EXISTS journal ("
	" seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" sale_id TEXT NOT NULL UNIQUE,"
	" store_id TEXT NOT NULL,"
	" body TEXT NOT NULL,"
	" state INTEGER NOT NULL DEFAULT 0,"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" http_status INTEGER NOT NULL DEFAULT 0,"
	" reason TEXT NOT NULL DEFAULT '',"
	" created_ms INTEGER NOT NULL);"
	"CREATE INDEX IF NOT EXISTS journal_pending ON journal(state, seq);";

static int valid_store(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > 64)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '-' ||
		      *s == '_'))
			return 0;
	return 1;
}

int redstore_terminal_new(redstore_terminal **out, const char *base_url, const char *store_id,
                          const char *journal_path)
{
	redstore_terminal *t;
	char *err = NULL;
	size_t n;
	*out = NULL;
	if (!base_url || (strncmp(base_url, "http://", 7) && strncmp(base_url, "https://", 8)) || strlen(base_url) > 400)
		return redstore__fail(REDSTORE_EINVALID, "terminal: base URL \"%.60s\" (expected http://host:port)",
		                      base_url ? base_url : "(null)");
	if (!valid_store(store_id))
		return redstore__fail(REDSTORE_EINVALID, "terminal: store id \"%.70s\" (1-64 of [A-Za-z0-9_-])",
		                      store_id ? store_id : "(null)");
	if (!journal_path || !*journal_path)
		return redstore__fail(REDSTORE_EINVALID, "terminal: a journal path is required");
	pthread_once(&curl_once, curl_init);
	if (curl_failed)
		return redstore__fail(REDSTORE_ERROR, "terminal: libcurl failed to initialise");
	if (!(t = calloc(1, sizeof(*t))) || !(t->base_url = redstore__strdup(base_url))) {
		free(t);
		return redstore__fail(REDSTORE_ENOMEM, "terminal: out of memory");
	}
	n = strlen(t->base_url);
	while (n && t->base_url[n - 1] == '/')
		t->base_url[--n] = '\0';
	snprintf(t->store, sizeof(t->store), "%s", store_id);
	t->timeout_ms = 5000;
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->cv, NULL);
	if (sqlite3_open_v2(journal_path, &t->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
	                    NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(t->db, 5000) != SQLITE_OK ||
	    sqlite3_exec(t->db, JOURNAL_SCHEMA, NULL, NULL, &err) != SQLITE_OK) {
		int rc = redstore__fail(REDSTORE_EIO, "terminal: journal %s: %s", journal_path,
		                        err ? err : (t->db ? sqlite3_errmsg(t->db) : "cannot open"));
		sqlite3_free(err);
		redstore_terminal_free(t);
		return rc;
	}
	*out = t;
	return 0;
}

void redstore_terminal_free(redstore_terminal *t)
{
	if (!t)
		return;
	redstore_terminal_events_stop(t);
	sqlite3_close(t->db);
	pthread_mutex_destroy(&t->mu);
	pthread_cond_destroy(&t->cv);
	free(t->base_url);
	free(t->token);
	free(t);
}

int redstore_terminal_set_token(redstore_terminal *t, const char *token)
{
	char *copy = NULL;
	if (token && strlen(token) > MAX_TOKEN)
		return redstore__fail(REDSTORE_EINVALID, "terminal: token longer than %d characters", MAX_TOKEN);
	if (token && !(copy = redstore__strdup(token)))
		return redstore__fail(REDSTORE_ENOMEM, "terminal: out of memory");
	/* Only the owner thread writes t->token (and reads it without the lock); the stream thread copies it
	 * under t->mu for each connection, reconnecting at once when it waits after an unauthorized end. */
	pthread_mutex_lock(&t->mu);
	free(t->token);
	t->token = copy;
	t->token_gen++;
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->mu);
	return 0;
}

/* For the stream thread: a copy of the token and its generation (NULL when none or out of memory). */
static char *stream_token(redstore_terminal *t, unsigned *gen)
{
	char *tok;
	pthread_mutex_lock(&t->mu);
	tok = t->token ? redstore__strdup(t->token) : NULL;
	if (gen)
		*gen = t->token_gen;
	pthread_mutex_unlock(&t->mu);
	return tok;
}

int redstore_terminal_set_timeout(redstore_terminal *t, int timeout_ms)
{
	if (timeout_ms < 100 || timeout_ms > 600000)
		return redstore__fail(REDSTORE_EINVALID, "terminal: timeout %d ms (100..600000)", timeout_ms);
	t->timeout_ms = timeout_ms;
	return 0;
}

/* ------------------------------------------------------------ REST */

typedef struct rbuf {
	char *p;
	size_t n;
	int too_big;
} rbuf;

static size_t rbuf_write(char *data, size_t size, size_t nmemb, void *userdata)
{
	rbuf *b = userdata;
	size_t k = size * nmemb;
	char *q;
	if (b->n + k > MAX_RESPONSE) {
		b->too_big = 1;
		return 0;
	}
	if (!(q = realloc(b->p, b->n + k + 1)))
		return 0;
	memcpy(q + b->n, data, k);
	b->p = q;
	b->n += k;
	b->p[b->n] = '\0';
	return k;
}

static struct curl_slist *auth_header(struct curl_slist *h, const char *token)
{
	char line[MAX_TOKEN + 32];
	if (!token)
		return h;
	snprintf(line, sizeof(line), "Authorization: Bearer %s", token);
	return curl_slist_append(h, line);
}

/* A request with the given session token (the stream thread passes its own). */
static int request(char **out, long *status, redstore_terminal *t, const char *token, const char *method,
                   const char *path, const char *idempotency_key, const char *body)
{
	CURL *h;
	struct curl_slist *hdr = NULL;
	char *url, line[128];
	rbuf b = { NULL, 0, 0 };
	CURLcode cc;
	int rc = 0;
	if (out)
		*out = NULL;
	*status = 0;
	if (!method || !path || path[0] != '/')
		return redstore__fail(REDSTORE_EINVALID, "terminal: a method and a path starting with / are required");
	if (!(url = redstore__sprintf("%s%s", t->base_url, path)) || !(h = curl_easy_init())) {
		free(url);
		return redstore__fail(REDSTORE_ENOMEM, "terminal: out of memory");
	}
	hdr = auth_header(hdr, token);
	if (idempotency_key) {
		snprintf(line, sizeof(line), "Idempotency-Key: %.60s", idempotency_key);
		hdr = curl_slist_append(hdr, line);
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, rbuf_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)t->timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)t->timeout_ms);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	if (body) {
		hdr = curl_slist_append(hdr, "Content-Type: application/json");
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	cc = curl_easy_perform(h);
	if (cc == CURLE_OK) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	} else if (b.too_big) {
		rc = redstore__fail(REDSTORE_ELIMIT, "terminal: %s %s: response over %u bytes", method, path, MAX_RESPONSE);
	} else if (cc == CURLE_OPERATION_TIMEDOUT) {
		rc = redstore__fail(REDSTORE_ETIMEOUT, "terminal: %s %s: no answer within %d ms", method, path, t->timeout_ms);
	} else {
		rc = redstore__fail(REDSTORE_ECONNECT, "terminal: %s %s: %s", method, path, curl_easy_strerror(cc));
	}
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	free(url);
	if (!rc && out && b.p) {
		*out = b.p; /* malloc'ed: redstore_free is free */
		b.p = NULL;
	}
	free(b.p);
	return rc;
}

int redstore_terminal_request(char **out, long *status, redstore_terminal *t, const char *method, const char *path,
                              const char *idempotency_key, const char *body)
{
	return request(out, status, t, t->token, method, path, idempotency_key, body);
}

int redstore_terminal_request_as(char **out, long *status, redstore_terminal *t, const char *token,
                                 const char *method, const char *path, const char *idempotency_key, const char *body)
{
	*status = 0;
	if (out)
		*out = NULL;
	if (token && strlen(token) > MAX_TOKEN)
		return redstore__fail(REDSTORE_EINVALID, "terminal: token longer than %d characters", MAX_TOKEN);
	return request(out, status, t, token, method, path, idempotency_key, body);
}

/* ------------------------------------------------------------ the journal */

const char *redstore_journal_state_name(redstore_journal_state state)
{
	switch (state) {
	case REDSTORE_JOURNAL_PENDING:
		return "pending";
	case REDSTORE_JOURNAL_SYNCED:
		return "synced";
	case REDSTORE_JOURNAL_REJECTED:
		return "rejected";
	}
	return "unknown";
}

static int db_fail(redstore_terminal *t, const char *what)
{
	return redstore__fail(REDSTORE_EIO, "terminal journal: %s: %s", what, sqlite3_errmsg(t->db));
}

/* Records the outcome of one attempt. */
static int journal_mark(redstore_terminal *t, int64_t seq, redstore_journal_state state, long status,
                        const char *reason)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;
	if (sqlite3_prepare_v2(t->db,
	                       "UPDATE journal SET state = ?1, http_status = ?2, reason = ?3, attempts = attempts + 1 "
	                       "WHERE seq = ?4",
	                       -1, &st, NULL) != SQLITE_OK)
		return db_fail(t, "update");
	sqlite3_bind_int(st, 1, (int)state);
	sqlite3_bind_int64(st, 2, status);
	sqlite3_bind_text(st, 3, reason ? reason : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, seq);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = db_fail(t, "update");
	sqlite3_finalize(st);
	return rc;
}

/* The reason of a refusal: the error's code and message, or the status. */
static void refusal(char *out, size_t cap, long status, const char *body)
{
	cJSON *root = body ? cJSON_Parse(body) : NULL;
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(root, "error");
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(err, "code");
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(err, "message");
	if (cJSON_IsString(code))
		snprintf(out, cap, "%ld %s: %s", status, code->valuestring, cJSON_IsString(msg) ? msg->valuestring : "");
	else
		snprintf(out, cap, "HTTP %ld", status);
	cJSON_Delete(root);
}

/* The body as sent: with "occurred_at_ms" = when the sale was journaled (made at the till) unless it
 * names one, so a sale replayed after an offline period is recorded when it was made, and every attempt
 * sends the same. NULL: send the body as it is (it names a time already, or out of memory). */
static char *stamped_body(const char *body, int64_t created_ms)
{
	cJSON *o = cJSON_Parse(body);
	char *s = NULL;
	if (cJSON_IsObject(o) && !cJSON_GetObjectItemCaseSensitive(o, "occurred_at_ms") &&
	    cJSON_AddNumberToObject(o, "occurred_at_ms", (double)created_ms))
		s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

/* Sends one pending sale. *done = 1 when the server settled it (synced or rejected). */
static int send_one(redstore_terminal *t, int64_t seq, const char *sale_id, const char *body, int64_t created_ms,
                    char **receipt, int *done)
{
	char path[128], *resp = NULL, reason[512], *stamped = stamped_body(body, created_ms);
	long status = 0;
	int rc;
	*done = 0;
	snprintf(path, sizeof(path), "/v1/stores/%s/sales", t->store);
	rc = request(&resp, &status, t, t->token, "POST", path, sale_id, stamped ? stamped : body);
	free(stamped);
	if (rc) {
		journal_mark(t, seq, REDSTORE_JOURNAL_PENDING, 0, redstore_error_last());
		return rc;
	}
	if (status == 200 || status == 201) {
		if ((rc = journal_mark(t, seq, REDSTORE_JOURNAL_SYNCED, status, "")))
			goto out;
		*done = 1;
		if (receipt) {
			*receipt = resp;
			resp = NULL;
		}
	} else if (status >= 500 || status == 401 || status == 408 || status == 429) {
		refusal(reason, sizeof(reason), status, resp);
		journal_mark(t, seq, REDSTORE_JOURNAL_PENDING, status, reason);
		rc = status == 401 ? redstore__fail(REDSTORE_EAUTH, "terminal: sale %s: %s", sale_id, reason)
		                   : redstore__fail(REDSTORE_EUNAVAILABLE, "terminal: sale %s: %s", sale_id, reason);
	} else {
		refusal(reason, sizeof(reason), status, resp);
		if ((rc = journal_mark(t, seq, REDSTORE_JOURNAL_REJECTED, status, reason)))
			goto out;
		*done = 1;
	}
out:
	free(resp);
	return rc;
}

/* Sends pending sales in order; `want` (a sale id or NULL) gets its receipt when synced now. */
static int sync_pending(redstore_terminal *t, size_t *settled, const char *want, char **receipt)
{
	size_t n = 0;
	int rc = 0;
	for (;;) {
		sqlite3_stmt *st = NULL;
		int64_t seq, created = 0;
		char *id = NULL, *body = NULL;
		int done, step;
		if (sqlite3_prepare_v2(t->db,
		                       "SELECT seq, sale_id, body, created_ms FROM journal WHERE state = 0 ORDER BY seq LIMIT 1",
		                       -1, &st, NULL) != SQLITE_OK) {
			rc = db_fail(t, "select");
			break;
		}
		step = sqlite3_step(st);
		if (step == SQLITE_ROW) {
			seq = sqlite3_column_int64(st, 0);
			id = redstore__strdup((const char *)sqlite3_column_text(st, 1));
			body = redstore__strdup((const char *)sqlite3_column_text(st, 2));
			created = sqlite3_column_int64(st, 3);
		}
		sqlite3_finalize(st);
		if (step == SQLITE_DONE)
			break;
		if (step != SQLITE_ROW || !id || !body) {
			free(id);
			free(body);
			rc = step == SQLITE_ROW ? redstore__fail(REDSTORE_ENOMEM, "terminal: out of memory")
			                        : db_fail(t, "select");
			break;
		}
		rc = send_one(t, seq, id, body, created, want && receipt && !strcmp(id, want) ? receipt : NULL, &done);
		free(id);
		free(body);
		if (done)
			n++;
		if (rc)
			break;
	}
	if (settled)
		*settled = n;
	return rc;
}

int redstore_terminal_sync(redstore_terminal *t, size_t *settled)
{
	int rc = sync_pending(t, settled, NULL, NULL);
	if (!rc)
		t->offline_until = t->offline_backoff = 0;
	return rc;
}

/* Checks a sale and writes it to the journal (durable before anything is sent); a retry with the same
 * body is a no-op, another body under the same id is REDSTORE_EEXISTS. */
static int journal_insert(redstore_terminal *t, const char *sale_id, const char *body)
{
	sqlite3_stmt *st = NULL;
	cJSON *parsed;
	int rc;
	if ((rc = redstore_id_check(sale_id, "sale id")))
		return rc;
	if (!body || strlen(body) > MAX_BODY)
		return redstore__fail(REDSTORE_EINVALID, "terminal: sale %s: a JSON body of at most %u bytes is required",
		                      sale_id, MAX_BODY);
	parsed = cJSON_Parse(body);
	rc = cJSON_IsObject(parsed);
	cJSON_Delete(parsed);
	if (!rc)
		return redstore__fail(REDSTORE_EINVALID, "terminal: sale %s: the body is not a JSON object", sale_id);
	if (sqlite3_prepare_v2(t->db,
	                       "INSERT INTO journal (sale_id, store_id, body, created_ms) VALUES (?1, ?2, ?3, ?4) "
	                       "ON CONFLICT (sale_id) DO NOTHING",
	                       -1, &st, NULL) != SQLITE_OK)
		return db_fail(t, "insert");
	sqlite3_bind_text(st, 1, sale_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, t->store, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, body, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, redstore__wall_ms());
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(t, "insert");
	sqlite3_finalize(st);
	if (rc)
		return rc;
	if (sqlite3_changes(t->db) == 0) {
		/* journaled before: the same body is a retry, another is a different sale under the same id */
		int same = 0;
		if (sqlite3_prepare_v2(t->db, "SELECT body = ?2 FROM journal WHERE sale_id = ?1", -1, &st, NULL) != SQLITE_OK)
			return db_fail(t, "select");
		sqlite3_bind_text(st, 1, sale_id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 2, body, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) == SQLITE_ROW)
			same = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
		if (!same)
			return redstore__fail(REDSTORE_EEXISTS, "terminal: sale %s is journaled with another body", sale_id);
	}
	return 0;
}

/* The journal state of a sale. */
static int journal_state(redstore_journal_state *state, redstore_terminal *t, const char *sale_id)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(t->db, "SELECT state FROM journal WHERE sale_id = ?1", -1, &st, NULL) != SQLITE_OK)
		return db_fail(t, "select");
	sqlite3_bind_text(st, 1, sale_id, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW)
		*state = (redstore_journal_state)sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return 0;
}

int redstore_terminal_journal_add(redstore_journal_state *state, redstore_terminal *t, const char *sale_id,
                                  const char *body)
{
	int rc;
	*state = REDSTORE_JOURNAL_PENDING;
	if ((rc = journal_insert(t, sale_id, body)))
		return rc;
	return journal_state(state, t, sale_id);
}

int redstore_terminal_sell(redstore_journal_state *state, char **receipt, redstore_terminal *t, const char *sale_id,
                           const char *body)
{
	int rc;
	*state = REDSTORE_JOURNAL_PENDING;
	if (receipt)
		*receipt = NULL;
	/* durable before anything is sent */
	if ((rc = journal_insert(t, sale_id, body)))
		return rc;
	/* Send what is pending, this sale last (unless it was settled before). A failure to reach the server
	 * leaves the sale pending: that is this call's success. After such a failure, sales are only journaled
	 * for a while (1 s doubling to 30 s), so selling offline never waits for a network timeout. */
	if (redstore__now_us() / 1000 >= t->offline_until) {
		int rc2 = sync_pending(t, NULL, sale_id, receipt);
		if (rc2 == REDSTORE_ECONNECT || rc2 == REDSTORE_ETIMEOUT) {
			t->offline_backoff = t->offline_backoff ? t->offline_backoff * 2 : 1000;
			if (t->offline_backoff > 30000)
				t->offline_backoff = 30000;
			t->offline_until = redstore__now_us() / 1000 + t->offline_backoff;
		} else {
			t->offline_backoff = 0;
		}
	}
	redstore_error_clear();
	return journal_state(state, t, sale_id);
}

int redstore_terminal_journal(redstore_journal_entry **out, size_t *count, redstore_terminal *t)
{
	sqlite3_stmt *st = NULL;
	redstore_journal_entry *v = NULL;
	size_t n = 0, cap = 0;
	int step;
	*out = NULL;
	*count = 0;
	if (sqlite3_prepare_v2(t->db,
	                       "SELECT seq, sale_id, state, attempts, http_status, reason, created_ms FROM journal "
	                       "ORDER BY seq",
	                       -1, &st, NULL) != SQLITE_OK)
		return db_fail(t, "select");
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		redstore_journal_entry *e;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			redstore_journal_entry *q = realloc(v, nc * sizeof(*v));
			if (!q) {
				free(v);
				sqlite3_finalize(st);
				return redstore__fail(REDSTORE_ENOMEM, "terminal: out of memory");
			}
			v = q;
			cap = nc;
		}
		e = &v[n++];
		memset(e, 0, sizeof(*e));
		e->seq = sqlite3_column_int64(st, 0);
		snprintf(e->sale_id, sizeof(e->sale_id), "%s", (const char *)sqlite3_column_text(st, 1));
		e->state = (redstore_journal_state)sqlite3_column_int(st, 2);
		e->attempts = sqlite3_column_int(st, 3);
		e->http_status = (long)sqlite3_column_int64(st, 4);
		snprintf(e->reason, sizeof(e->reason), "%s", (const char *)sqlite3_column_text(st, 5));
		e->created_at_ms = sqlite3_column_int64(st, 6);
	}
	sqlite3_finalize(st);
	if (step != SQLITE_DONE) {
		free(v);
		return db_fail(t, "select");
	}
	*out = v;
	*count = n;
	return 0;
}

/* ------------------------------------------------------------ the event stream */

typedef struct parser {
	redstore_terminal *t;
	char line[65536];
	size_t len;
	char id[REDSTORE_STREAM_ID_SIZE], event[32];
	char *data;
	int resync, unauthorized;
} parser;

static int stopping(redstore_terminal *t)
{
	int s;
	pthread_mutex_lock(&t->mu);
	s = t->stop;
	pthread_mutex_unlock(&t->mu);
	return s;
}

static void deliver(redstore_terminal *t, const char *event, const char *id, const char *data)
{
	if (id && *id) {
		pthread_mutex_lock(&t->mu);
		snprintf(t->last_id, sizeof(t->last_id), "%s", id);
		pthread_mutex_unlock(&t->mu);
	}
	t->cb(event, id ? id : "", data ? data : "", t->payload);
}

static void parse_line(parser *p, const char *l)
{
	if (!*l) {
		if (!strcmp(p->event, "change") && p->id[0] && p->data)
			deliver(p->t, "change", p->id, p->data);
		else if (!strcmp(p->event, "resync"))
			p->resync = 1;
		else if (!strcmp(p->event, "unauthorized")) {
			p->unauthorized = 1;
			deliver(p->t, "unauthorized", "", p->data && *p->data ? p->data : "{}");
		}
		p->event[0] = p->id[0] = '\0';
		free(p->data);
		p->data = NULL;
	} else if (!strncmp(l, "id: ", 4)) {
		snprintf(p->id, sizeof(p->id), "%s", l + 4);
	} else if (!strncmp(l, "event: ", 7)) {
		snprintf(p->event, sizeof(p->event), "%s", l + 7);
	} else if (!strncmp(l, "data: ", 6)) {
		free(p->data);
		p->data = redstore__strdup(l + 6);
	}
}

static size_t stream_write(char *data, size_t size, size_t nmemb, void *userdata)
{
	parser *p = userdata;
	size_t k = size * nmemb;
	for (size_t i = 0; i < k; i++) {
		if (data[i] == '\n') {
			p->line[p->len] = '\0';
			parse_line(p, p->line);
			p->len = 0;
		} else if (p->len + 1 < sizeof(p->line)) {
			p->line[p->len++] = data[i];
		} else {
			return 0; /* a line longer than any event: drop the connection */
		}
	}
	return stopping(p->t) ? 0 : k;
}

static int stream_progress(void *userdata, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	(void)a, (void)b, (void)c, (void)d;
	return stopping(((parser *)userdata)->t);
}

/* One connection: until it ends. Returns 1 when the server sent resync. *gen_refused: the token
 * generation the server refused (401 or `unauthorized`), else left alone. */
static int stream_once(redstore_terminal *t, int *got_data, unsigned *gen_refused)
{
	parser *p = calloc(1, sizeof(*p));
	CURL *h = curl_easy_init();
	struct curl_slist *hdr = NULL;
	char *url = redstore__sprintf("%s/v1/stores/%s/events", t->base_url, t->store), line[96], last[REDSTORE_STREAM_ID_SIZE];
	unsigned gen = 0;
	char *token = stream_token(t, &gen);
	int resync = 0;
	if (p && h && url) {
		p->t = t;
		redstore_terminal_last_event_id(last, t);
		hdr = auth_header(hdr, token);
		if (last[0]) {
			snprintf(line, sizeof(line), "Last-Event-ID: %s", last);
			hdr = curl_slist_append(hdr, line);
		}
		curl_easy_setopt(h, CURLOPT_URL, url);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, stream_write);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, p);
		curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, stream_progress);
		curl_easy_setopt(h, CURLOPT_XFERINFODATA, p);
		curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)t->timeout_ms);
		curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
		/* heartbeats keep a live stream above 1 byte/s; a dead peer is dropped within 30 s */
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 30L);
		curl_easy_perform(h);
		{
			long status = 0;
			curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
			*got_data = status == 200;
			if (status == 401 && *gen_refused != gen) {
				/* refused at the door (once per token): the body is the JSON error */
				p->line[p->len < sizeof(p->line) ? p->len : sizeof(p->line) - 1] = '\0';
				deliver(t, "unauthorized", "", p->line[0] == '{' ? p->line : "{}");
			}
			if (status == 401 || p->unauthorized)
				*gen_refused = gen;
		}
		resync = p->resync;
	}
	if (p)
		free(p->data);
	free(p);
	free(token);
	curl_slist_free_all(hdr);
	if (h)
		curl_easy_cleanup(h);
	free(url);
	return resync;
}

/* After resync: the snapshot, delivered as an event, becomes the resume point. */
static int stream_snapshot(redstore_terminal *t)
{
	char path[128], *resp = NULL, id[REDSTORE_STREAM_ID_SIZE] = "";
	long status = 0;
	cJSON *root;
	const cJSON *sid;
	int ok = 0;
	char *token = stream_token(t, NULL);
	snprintf(path, sizeof(path), "/v1/stores/%s/snapshot", t->store);
	/* a copy: the owner thread may change t->token meanwhile */
	if (request(&resp, &status, t, token, "GET", path, NULL, NULL) == 0 && status == 200) {
		root = cJSON_Parse(resp);
		sid = cJSON_GetObjectItemCaseSensitive(root, "stream_id");
		if (cJSON_IsString(sid)) {
			snprintf(id, sizeof(id), "%s", sid->valuestring);
			deliver(t, "snapshot", id, resp);
			ok = 1;
		}
		cJSON_Delete(root);
	}
	free(resp);
	free(token);
	redstore_error_clear();
	return ok;
}

static void *stream_main(void *arg)
{
	redstore_terminal *t = arg;
	int64_t backoff = 100;
	unsigned refused = (unsigned)-1; /* the token generation last refused (none yet) */
	while (!stopping(t)) {
		int got = 0;
		unsigned gen;
		if (stream_once(t, &got, &refused)) {
			t->cb("resync", "", "{}", t->payload);
			pthread_mutex_lock(&t->mu);
			t->last_id[0] = '\0';
			pthread_mutex_unlock(&t->mu);
			if (!stream_snapshot(t))
				got = 0;
		}
		if (got)
			backoff = 100;
		if (stopping(t))
			break;
		/* wait before reconnecting, waking at once for a stop */
		{
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += backoff / 1000;
			ts.tv_nsec += (long)(backoff % 1000) * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_mutex_lock(&t->mu);
			gen = t->token_gen;
			/* until the backoff is over, a stop, or a new token (set_token wakes us: tried at once) */
			while (!t->stop && t->token_gen == gen && pthread_cond_timedwait(&t->cv, &t->mu, &ts) == 0) {
			}
			if (t->token_gen != gen) {
				backoff = 100;
				got = 1;
			}
			pthread_mutex_unlock(&t->mu);
		}
		if (!got)
			backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
	}
	return NULL;
}

int redstore_terminal_events_start(redstore_terminal *t, const char *last_event_id, redstore_terminal_event_cb cb,
                                   void *payload)
{
	if (t->running)
		return redstore__fail(REDSTORE_EINVALID, "terminal: the event stream is running already");
	if (!cb)
		return redstore__fail(REDSTORE_EINVALID, "terminal: an event callback is required");
	if (last_event_id) {
		size_t n = strlen(last_event_id);
		if (n == 0 || n >= REDSTORE_STREAM_ID_SIZE || strspn(last_event_id, "0123456789-") != n)
			return redstore__fail(REDSTORE_EINVALID, "terminal: \"%.60s\" is not a stream id", last_event_id);
	}
	snprintf(t->last_id, sizeof(t->last_id), "%s", last_event_id ? last_event_id : "");
	t->cb = cb;
	t->payload = payload;
	t->stop = 0;
	if (pthread_create(&t->thread, NULL, stream_main, t))
		return redstore__fail(REDSTORE_ERROR, "terminal: cannot start the event thread");
	t->running = 1;
	return 0;
}

void redstore_terminal_events_stop(redstore_terminal *t)
{
	if (!t || !t->running)
		return;
	pthread_mutex_lock(&t->mu);
	t->stop = 1;
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->mu);
	pthread_join(t->thread, NULL);
	t->running = 0;
}

void redstore_terminal_last_event_id(char out[REDSTORE_STREAM_ID_SIZE], redstore_terminal *t)
{
	pthread_mutex_lock(&t->mu);
	snprintf(out, REDSTORE_STREAM_ID_SIZE, "%s", t->last_id);
	pthread_mutex_unlock(&t->mu);
}
