/*
 * redstore-terminal-sim: one simulated till, built on the terminal client (redstore/terminal.h) the way
 * an iPad app would be: it pairs with a one-time code, logs an employee in with a PIN, then sells random
 * 1-3 line sales from the store's stock at a steady rate through the offline journal.
 *
 *   redstore-terminal-sim --server URL --store S --code PAIRING-CODE --employee ID --pin PIN
 *                         --journal PATH [--seconds 30] [--rate 20] [--hot SKU] [--seed N]
 *                         [--offline-at S --offline-for S] [--duplicates N] [--status FILE] [--name NAME]
 *
 * --hot SKU:       about a third of the lines sell this product (the demo watches its stock).
 * --offline-at/for: the till loses its network S seconds in, for S seconds: it closes its client and
 *                  reopens the same journal against an address where nothing answers, keeps selling
 *                  (every sale is journaled, pending), then reopens it against the server and syncs.
 * --duplicates N:  every Nth sale, the last synced sale is sent again with its own id and body (a
 *                  reply lost, a double tap): the server must answer it as the same sale (200: the receipt
 *                  it gave the first time, same id and total) and record it once. Any other answer counts as dup_bad and fails the run.
 * --status FILE:   rewritten (atomically) four times a second and at the end with one line
 *                  "sold=N synced=N pending=N rejected=N online=0|1 dup_sent=N dup_bad=N".
 *
 * Exits 0 when every journaled sale is settled (synced or rejected, none pending) by the end, after
 * retrying the sync for up to 75 s; prints the journal's totals and the reasons of rejected sales.
 */
#include <redstore.h>

#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_SKUS 256

typedef struct sim {
	const char *server, *store, *code, *employee, *pin, *journal, *hot_sku, *status, *name;
	double seconds, rate, offline_at, offline_for;
	unsigned seed;
	redstore_terminal *t;
	char token[2048];
	char skus[MAX_SKUS][64];
	int64_t prices[MAX_SKUS]; /* minor units, tax included (the demo store's prices include tax) */
	size_t nskus;
	size_t hot;               /* index of --hot in skus, or nskus */
	long sold, synced, pending, rejected;
	int online;
	long duplicates, dup_sent, dup_bad;
	char last_id[REDSTORE_ID_SIZE], last_body[1024];
	long long last_total;
} sim;

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void pause_s(double s)
{
	struct timespec ts;
	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

static int fail(const char *what, int rc)
{
	fprintf(stderr, "redstore-terminal-sim: %s: %s (%s)\n", what, redstore_error_last(), redstore_err_name(rc));
	return 1;
}

/* A REST call whose answer must be `want`: returns the parsed reply (cJSON_Delete it) or NULL. While the
 * server cannot be reached or answers "try later" (502, 503, 504, 429) it tries again for up to 30 s,
 * as a till being set up would: an engine restarting is not a reason to give up. */
static cJSON *call(sim *s, const char *method, const char *path, const char *body, long want)
{
	char *resp = NULL;
	long st = 0;
	cJSON *j;
	double until = now_s() + 30;
	int rc;
	for (;;) {
		rc = redstore_terminal_request(&resp, &st, s->t, method, path, NULL, body);
		if (!(rc ? redstore_err_is_retriable(rc) : st == 502 || st == 503 || st == 504 || st == 429) ||
		    now_s() >= until)
			break;
		redstore_free(resp);
		resp = NULL;
		pause_s(0.25);
	}
	if (rc) {
		fail(path, rc);
		return NULL;
	}
	if (st != want || !(j = cJSON_Parse(resp ? resp : ""))) {
		fprintf(stderr, "redstore-terminal-sim: %s %s: HTTP %ld: %.300s\n", method, path, st, resp ? resp : "");
		redstore_free(resp);
		return NULL;
	}
	redstore_free(resp);
	return j;
}

/* Copies the string field `field` of a reply (and frees the reply); 1 when it is missing. */
static int take_string(cJSON *j, const char *field, char *out, size_t cap)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(j, field);
	int bad = !cJSON_IsString(v) || strlen(v->valuestring) >= cap;
	if (bad)
		fprintf(stderr, "redstore-terminal-sim: no \"%s\" in the reply\n", field);
	else
		snprintf(out, cap, "%s", v->valuestring);
	cJSON_Delete(j);
	return bad;
}

static int open_terminal(sim *s, const char *url)
{
	int rc;
	redstore_terminal_free(s->t);
	s->t = NULL;
	if ((rc = redstore_terminal_new(&s->t, url, s->store, s->journal)))
		return fail("open the terminal", rc);
	if (s->token[0] && (rc = redstore_terminal_set_token(s->t, s->token)))
		return fail("set the token", rc);
	return 0;
}

static int pair_and_login(sim *s)
{
	char body[512], device[REDSTORE_DEVICE_TOKEN_SIZE], path[160];
	cJSON *j, *line;
	snprintf(body, sizeof(body), "{\"code\":\"%s\"}", s->code);
	if (!(j = call(s, "POST", "/v1/pair", body, 201)) || take_string(j, "device_token", device, sizeof(device)))
		return 1;
	snprintf(body, sizeof(body), "{\"device_token\":\"%s\",\"employee_id\":\"%s\",\"pin\":\"%s\"}", device,
	         s->employee, s->pin);
	if (!(j = call(s, "POST", "/v1/sessions", body, 201)) || take_string(j, "session_token", s->token, sizeof(s->token)))
		return 1;
	redstore_terminal_set_token(s->t, s->token);
	/* What to sell: every product of the store's snapshot that has stock. */
	snprintf(path, sizeof(path), "/v1/stores/%s/snapshot", s->store);
	if (!(j = call(s, "GET", path, NULL, 200)))
		return 1;
	cJSON_ArrayForEach(line, cJSON_GetObjectItemCaseSensitive(j, "stock"))
	{
		cJSON *sku = cJSON_GetObjectItemCaseSensitive(line, "sku");
		cJSON *on_hand = cJSON_GetObjectItemCaseSensitive(line, "on_hand");
		if (s->nskus < MAX_SKUS && cJSON_IsString(sku) && strlen(sku->valuestring) < 64 && cJSON_IsNumber(on_hand) &&
		    on_hand->valuedouble > 0)
			snprintf(s->skus[s->nskus++], 64, "%s", sku->valuestring);
	}
	cJSON_Delete(j);
	if (!s->nskus) {
		fprintf(stderr, "redstore-terminal-sim: store %s has nothing in stock to sell\n", s->store);
		return 1;
	}
	/* Their prices, so a card pays the exact total and cash is rounded up to a note. */
	s->hot = s->nskus;
	for (size_t i = 0; i < s->nskus; i++) {
		cJSON *price;
		snprintf(path, sizeof(path), "/v1/stores/%s/products/%s", s->store, s->skus[i]);
		if (!(j = call(s, "GET", path, NULL, 200)))
			return 1;
		price = cJSON_GetObjectItemCaseSensitive(j, "price");
		s->prices[i] = cJSON_IsNumber(price) ? (int64_t)price->valuedouble : 0;
		cJSON_Delete(j);
		if (s->hot_sku && !strcmp(s->skus[i], s->hot_sku))
			s->hot = i;
	}
	return 0;
}

static size_t pick(sim *s)
{
	if (s->hot < s->nskus && rand_r(&s->seed) % 3 == 0)
		return s->hot;
	return (size_t)rand_r(&s->seed) % s->nskus;
}

static int sell_one(sim *s)
{
	char id[REDSTORE_ID_SIZE], body[1024];
	int n = 1 + rand_r(&s->seed) % 3, rc, card = rand_r(&s->seed) % 2;
	int64_t total = 0;
	size_t len;
	redstore_journal_state state;
	redstore_id_new(id);
	len = (size_t)snprintf(body, sizeof(body), "{\"lines\":[");
	for (int i = 0; i < n; i++) {
		size_t k = pick(s);
		int qty = 1 + rand_r(&s->seed) % 2;
		total += s->prices[k] * qty;
		len += (size_t)snprintf(body + len, sizeof(body) - len, "%s{\"sku\":\"%s\",\"qty\":%d}", i ? "," : "",
		                        s->skus[k], qty);
	}
	snprintf(body + len, sizeof(body) - len, "],\"tenders\":[{\"kind\":\"%s\",\"amount\":%lld}]}",
	         card ? "card" : "cash", (long long)(card ? total : (total / 500 + 1) * 500));
	if ((rc = redstore_terminal_sell(&state, NULL, s->t, id, body)))
		return fail("sell", rc);
	s->sold++;
	if (state == REDSTORE_JOURNAL_SYNCED) {
		memcpy(s->last_id, id, sizeof(id));
		snprintf(s->last_body, sizeof(s->last_body), "%s", body);
		s->last_total = (long long)total;
	}
	return 0;
}

/* Sends the last synced sale again, as a till whose reply got lost would. */
static void send_duplicate(sim *s)
{
	char path[160];
	cJSON *j, *id, *total;
	if (!s->last_id[0] || !s->online)
		return;
	s->dup_sent++;
	snprintf(path, sizeof(path), "/v1/stores/%s/sales", s->store);
	{
		char *resp = NULL;
		long st = 0;
		if (redstore_terminal_request(&resp, &st, s->t, "POST", path, s->last_id, s->last_body)) {
			s->dup_sent--; /* not answered: no verdict either way */
			return;
		}
		j = st == 200 || st == 201 ? cJSON_Parse(resp ? resp : "") : NULL;
		if (!j)
			fprintf(stderr, "redstore-terminal-sim: duplicate of %s: HTTP %ld: %.300s\n", s->last_id, st,
			        resp ? resp : "");
		redstore_free(resp);
	}
	id = cJSON_GetObjectItemCaseSensitive(j, "id");
	total = cJSON_GetObjectItemCaseSensitive(j, "total");
	if (!cJSON_IsString(id) || strcmp(id->valuestring, s->last_id) || !cJSON_IsNumber(total) ||
	    (long long)total->valuedouble != s->last_total) {
		if (j)
			fprintf(stderr, "redstore-terminal-sim: duplicate of %s answered as another sale\n", s->last_id);
		s->dup_bad++;
	}
	cJSON_Delete(j);
}

static void count(sim *s)
{
	redstore_journal_entry *e = NULL;
	size_t n = 0;
	s->synced = s->pending = s->rejected = 0;
	if (redstore_terminal_journal(&e, &n, s->t))
		return;
	for (size_t i = 0; i < n; i++) {
		if (e[i].state == REDSTORE_JOURNAL_SYNCED)
			s->synced++;
		else if (e[i].state == REDSTORE_JOURNAL_REJECTED)
			s->rejected++;
		else
			s->pending++;
	}
	redstore_free(e);
}

static void write_status(sim *s)
{
	char tmp[4096];
	FILE *f;
	if (!s->status)
		return;
	count(s);
	snprintf(tmp, sizeof(tmp), "%s.tmp", s->status);
	if (!(f = fopen(tmp, "w")))
		return;
	fprintf(f, "sold=%ld synced=%ld pending=%ld rejected=%ld online=%d dup_sent=%ld dup_bad=%ld\n", s->sold,
	        s->synced, s->pending, s->rejected, s->online, s->dup_sent, s->dup_bad);
	if (fclose(f) == 0)
		rename(tmp, s->status);
}

static int run(sim *s)
{
	char nowhere[64];
	double start = now_s(), next = start, next_status = start;
	int rc;
	/* 192.0.2.1 (TEST-NET-1) is never routed: a till whose network is gone. */
	snprintf(nowhere, sizeof(nowhere), "http://192.0.2.1:9");
	if (open_terminal(s, s->server) || pair_and_login(s))
		return 1;
	s->online = 1;
	while (!stopping && now_s() - start < s->seconds) {
		double t = now_s() - start;
		if (s->online && s->offline_for > 0 && t >= s->offline_at && t < s->offline_at + s->offline_for) {
			if (open_terminal(s, nowhere))
				return 1;
			redstore_terminal_set_timeout(s->t, 300);
			s->online = 0;
		} else if (!s->online && t >= s->offline_at + s->offline_for) {
			if (open_terminal(s, s->server))
				return 1;
			s->online = 1;
		}
		if (sell_one(s))
			return 1;
		if (s->duplicates && s->sold % s->duplicates == 0)
			send_duplicate(s);
		if (now_s() >= next_status) {
			write_status(s);
			next_status = now_s() + 0.25;
		}
		next += 1.0 / s->rate;
		pause_s(next - now_s());
	}
	if (!s->online && open_terminal(s, s->server))
		return 1;
	s->online = 1;
	/* Settle the journal: what is pending now goes, in order, before the till reports (the journal's own
	 * backoff after failures reaches 30 s, so give it more than that). */
	for (double until = now_s() + 75; (rc = redstore_terminal_sync(s->t, NULL)) && redstore_err_is_retriable(rc) &&
	                                  now_s() < until;)
		pause_s(0.2);
	write_status(s);
	return 0;
}

static void usage(const char *argv0)
{
	fprintf(stderr,
	        "usage: %s --server URL --store S --code CODE --employee ID --pin PIN --journal PATH\n"
	        "       [--seconds 30] [--rate 20] [--hot SKU] [--seed N] [--offline-at S --offline-for S]\n"
	        "       [--duplicates N] [--status FILE] [--name NAME]\n",
	        argv0);
}

int main(int argc, char **argv)
{
	sim s;
	int rc;
	memset(&s, 0, sizeof(s));
	s.seconds = 30;
	s.rate = 20;
	s.seed = (unsigned)time(NULL);
	s.name = "till";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v) {
			usage(argv[0]);
			return 2;
		}
		i++;
		if (!strcmp(a, "--server"))
			s.server = v;
		else if (!strcmp(a, "--store"))
			s.store = v;
		else if (!strcmp(a, "--code"))
			s.code = v;
		else if (!strcmp(a, "--employee"))
			s.employee = v;
		else if (!strcmp(a, "--pin"))
			s.pin = v;
		else if (!strcmp(a, "--journal"))
			s.journal = v;
		else if (!strcmp(a, "--hot"))
			s.hot_sku = v;
		else if (!strcmp(a, "--status"))
			s.status = v;
		else if (!strcmp(a, "--name"))
			s.name = v;
		else if (!strcmp(a, "--seconds"))
			s.seconds = atof(v);
		else if (!strcmp(a, "--rate"))
			s.rate = atof(v);
		else if (!strcmp(a, "--seed"))
			s.seed = (unsigned)strtoul(v, NULL, 10);
		else if (!strcmp(a, "--offline-at"))
			s.offline_at = atof(v);
		else if (!strcmp(a, "--offline-for"))
			s.offline_for = atof(v);
		else if (!strcmp(a, "--duplicates"))
			s.duplicates = atol(v);
		else {
			usage(argv[0]);
			return 2;
		}
	}
	if (!s.server || !s.store || !s.code || !s.employee || !s.pin || !s.journal || s.seconds <= 0 ||
	    s.seconds > 86400 || s.rate <= 0 || s.rate > 10000 || s.offline_at < 0 || s.offline_for < 0 ||
	    s.duplicates < 0) {
		usage(argv[0]);
		return 2;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	rc = run(&s);
	if (s.t) {
		redstore_journal_entry *e = NULL;
		size_t n = 0;
		count(&s);
		printf("%s: sold %ld: synced %ld, rejected %ld, pending %ld", s.name, s.sold, s.synced, s.rejected,
		       s.pending);
		if (s.dup_sent)
			printf("; %ld sent twice, %ld answered wrongly", s.dup_sent, s.dup_bad);
		printf("\n");
		if (!redstore_terminal_journal(&e, &n, s.t)) {
			int shown = 0;
			for (size_t i = 0; i < n && shown < 3; i++)
				if (e[i].state == REDSTORE_JOURNAL_REJECTED) {
					printf("%s:   rejected %s: %s\n", s.name, e[i].sale_id, e[i].reason);
					shown++;
				}
			redstore_free(e);
		}
		if (!rc && (s.pending || s.dup_bad))
			rc = 1;
	}
	redstore_terminal_free(s.t);
	return rc;
}
