/*
 * Job queues on Redis (include/redstore/jobs.h). Every state change is one of lib/engines/lua/job_*.lua.
 *
 *   rs:{q:Q}:wait       ZSET  waiting job ids; score (1000 - priority) * 2^40 + add sequence
 *   rs:{q:Q}:delayed    ZSET  job id -> due ms (delays and retry backoffs)
 *   rs:{q:Q}:active     ZSET  job id -> lease expiry ms
 *   rs:{q:Q}:completed  ZSET  job id -> finish ms (trimmed to keep_completed)
 *   rs:{q:Q}:failed     ZSET  job id -> finish ms (trimmed to keep_failed)
 *   rs:{q:Q}:dead       ZSET  job id -> ms it died (never trimmed)
 *   rs:{q:Q}:meta       HASH  paused, seq, tokseq, keep_completed, keep_failed
 *   rs:{q:Q}:rep        HASH  repeatable schedule name -> JSON spec
 *   rs:{q:Q}:j:<id>     HASH  one job: payload, ws (its wait score), max, bo (backoff kind:base:cap:jitter),
 *                             exp, rep, due (when set), att, tok (lease token), err (last error).
 *                             Its state is the sorted set that holds its id.
 *
 * The scripts build job keys from the prefix they are given: every key of a queue shares the hash tag
 * {q:Q}, so in a Redis Cluster they live in the slot of the declared keys (as BullMQ's scripts do).
 */
#include "engines/engines_int.h"
#include "jobs/jobs_priv.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <sys/random.h>

#define KEYS_N 7
static const char *const key_names[KEYS_N] = { "wait", "delayed", "active", "completed", "failed", "dead", "meta" };

/* The seven queue keys and the job key prefix. */
typedef struct qkeys {
	char k[KEYS_N][REDSTORE_KEY_MAX];
	char prefix[REDSTORE_KEY_MAX];
} qkeys;

static bool name_ok(const char *s, size_t max, const char *extra)
{
	size_t n = 0;
	if (!s)
		return false;
	for (; s[n]; n++) {
		unsigned char ch = (unsigned char)s[n];
		if (n >= max || !((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		                  ch == '_' || ch == '-' || ch == '.' || (extra && ch && strchr(extra, ch))))
			return false;
	}
	return n > 0;
}

int redstore__queue_check(const char *queue)
{
	if (!name_ok(queue, 64, NULL))
		return redstore__fail(REDSTORE_EINVALID, "job queue \"%.80s\": expected 1-64 of [A-Za-z0-9_.-]",
		                      queue ? queue : "(null)");
	return 0;
}

static int id_check(const char *id)
{
	if (!name_ok(id, REDSTORE_JOB_ID_SIZE - 1, ":"))
		return redstore__fail(REDSTORE_EINVALID, "job id \"%.140s\": expected 1-128 of [A-Za-z0-9_.:-]",
		                      id ? id : "(null)");
	return 0;
}

static int qkeys_init(qkeys *q, const char *queue)
{
	int rc;
	if ((rc = redstore__queue_check(queue)))
		return rc;
	for (int i = 0; i < KEYS_N; i++)
		snprintf(q->k[i], REDSTORE_KEY_MAX, "rs:{q:%s}:%s", queue, key_names[i]);
	snprintf(q->prefix, REDSTORE_KEY_MAX, "rs:{q:%s}:j:", queue);
	return 0;
}

/* Runs a job script: KEYS = the seven queue keys, ARGV = prefix + args. */
static int run_script(redisReply **out, redstore_client *c, const qkeys *q, const char *name, int argc,
                      const char **argv, const size_t *lens, bool append)
{
	int total = KEYS_N + 1 + argc, rc;
	const char **av = malloc((size_t)total * sizeof(*av));
	size_t *al = malloc((size_t)total * sizeof(*al));
	if (!av || !al) {
		free(av);
		free(al);
		return redstore__fail(REDSTORE_ENOMEM, "jobs: out of memory");
	}
	for (int i = 0; i < KEYS_N; i++) {
		av[i] = q->k[i];
		al[i] = strlen(q->k[i]);
	}
	av[KEYS_N] = q->prefix;
	al[KEYS_N] = strlen(q->prefix);
	for (int i = 0; i < argc; i++) {
		av[KEYS_N + 1 + i] = argv[i];
		al[KEYS_N + 1 + i] = lens ? lens[i] : strlen(argv[i]);
	}
	rc = append ? redstore__redis_script_append(c, name, KEYS_N, total, av, al)
	            : redstore__redis_script(out, c, name, KEYS_N, total, av, al);
	free(av);
	free(al);
	return rc;
}

/* ------------------------------------------------------------------ adding */

/* A checked spec turned into the 12 script arguments (strings kept in `buf`). */
typedef struct add_args {
	char id[REDSTORE_JOB_ID_SIZE];
	const char *payload;
	size_t payload_len;
	char num[9][24];
	char rep[65];
} add_args;

static int spec_check(add_args *a, const redstore_job_spec *s, const char *repeat, size_t index, bool many)
{
	char where[40] = "";
	int rc;
	redstore_job_spec d = { 0 };
	if (!s)
		s = &d;
	if (many)
		snprintf(where, sizeof(where), "job %zu: ", index);
	if (s->id && s->id[0]) {
		if ((rc = id_check(s->id)))
			return redstore__fail_wrap(rc, "%s", many ? where : "");
		snprintf(a->id, sizeof(a->id), "%s", s->id);
	} else if ((rc = redstore_id_new(a->id))) {
		return rc;
	}
	a->payload = s->payload ? s->payload : "{}";
	a->payload_len = strlen(a->payload);
	if (a->payload_len > REDSTORE_JOB_MAX_PAYLOAD)
		return redstore__fail(REDSTORE_ELIMIT, "%sjob %s: payload of %zu bytes (max %d)", where, a->id,
		                      a->payload_len, REDSTORE_JOB_MAX_PAYLOAD);
	{
		cJSON *j = cJSON_ParseWithLength(a->payload, a->payload_len);
		if (!j)
			return redstore__fail(REDSTORE_EINVALID, "%sjob %s: payload is not JSON", where, a->id);
		cJSON_Delete(j);
	}
#define RANGE(v, lo, hi, what)                                                                                   \
	if ((v) < (lo) || (v) > (hi))                                                                                \
		return redstore__fail(REDSTORE_EINVALID, "%sjob %s: " what " %lld out of range %lld..%lld", where, a->id, \
		                      (long long)(v), (long long)(lo), (long long)(hi));
	RANGE(s->delay_ms, 0, INT64_C(315360000000), "delay_ms")
	RANGE(s->run_at_ms, 0, INT64_C(32503680000000), "run_at_ms")
	RANGE(s->priority, 0, 1000, "priority")
	RANGE(s->max_attempts, 0, 1000, "max_attempts")
	RANGE(s->backoff_ms, 0, 86400000, "backoff_ms")
	RANGE(s->backoff_max_ms, 0, INT64_C(31536000000), "backoff_max_ms")
	RANGE(s->jitter_pct, 0, 100, "jitter_pct")
	RANGE(s->ttl_ms, 0, INT64_C(315360000000), "ttl_ms")
#undef RANGE
	if (s->backoff != REDSTORE_BACKOFF_FIXED && s->backoff != REDSTORE_BACKOFF_EXPONENTIAL)
		return redstore__fail(REDSTORE_EINVALID, "%sjob %s: unknown backoff %d", where, a->id, (int)s->backoff);
	snprintf(a->num[0], 24, "%d", s->priority);
	snprintf(a->num[1], 24, "%d", s->max_attempts ? s->max_attempts : 3);
	snprintf(a->num[2], 24, "%s", s->backoff == REDSTORE_BACKOFF_EXPONENTIAL ? "exp" : "fixed");
	snprintf(a->num[3], 24, "%lld", (long long)(s->backoff_ms ? s->backoff_ms : 1000));
	snprintf(a->num[4], 24, "%lld", (long long)(s->backoff_max_ms ? s->backoff_max_ms : 3600000));
	snprintf(a->num[5], 24, "%d", s->jitter_pct);
	snprintf(a->num[6], 24, "%lld", (long long)s->run_at_ms);
	snprintf(a->num[7], 24, "%lld", (long long)s->delay_ms);
	snprintf(a->num[8], 24, "%lld", (long long)s->ttl_ms);
	snprintf(a->rep, sizeof(a->rep), "%s", repeat ? repeat : "");
	return 0;
}

static void push_args(const char **av, size_t *al, const add_args *a)
{
	av[0] = a->id;
	av[1] = a->payload;
	al[1] = a->payload_len;
	for (int i = 0; i < 9; i++)
		av[2 + i] = a->num[i];
	av[11] = a->rep;
	for (int i = 0; i < 12; i++)
		if (i != 1)
			al[i] = strlen(av[i]);
}

#define ADD_CHUNK 256

/* Adds checked jobs: one script call per ADD_CHUNK, pipelined. */
static int add_checked(redstore_client *c, const qkeys *q, const add_args *args, size_t n, int *added)
{
	size_t chunks = (n + ADD_CHUNK - 1) / ADD_CHUNK;
	const char **av = malloc((1 + 12 * ADD_CHUNK) * sizeof(*av));
	size_t *al = malloc((1 + 12 * ADD_CHUNK) * sizeof(*al));
	char nbuf[16];
	int rc = 0;
	if (!av || !al) {
		free(av);
		free(al);
		return redstore__fail(REDSTORE_ENOMEM, "jobs: out of memory");
	}
	for (size_t ch = 0; ch < chunks && !rc; ch++) {
		size_t from = ch * ADD_CHUNK, m = n - from < ADD_CHUNK ? n - from : ADD_CHUNK;
		snprintf(nbuf, sizeof(nbuf), "%zu", m);
		av[0] = nbuf;
		al[0] = strlen(nbuf);
		for (size_t i = 0; i < m; i++)
			push_args(av + 1 + 12 * i, al + 1 + 12 * i, &args[from + i]);
		if (chunks == 1) {
			redisReply *r;
			if (!(rc = run_script(&r, c, q, "job_add", (int)(1 + 12 * m), av, al, false))) {
				for (size_t i = 0; added && i < m && i < r->elements; i++)
					added[from + i] = (int)r->element[i]->integer;
				freeReplyObject(r);
			}
			goto out;
		}
		rc = run_script(NULL, c, q, "job_add", (int)(1 + 12 * m), av, al, true);
	}
	for (size_t ch = 0; ch < chunks; ch++) {
		redisReply *r;
		int rrc = rc ? rc : redstore__redis_read(&r, c);
		if (rrc) {
			rc = rc ? rc : rrc;
			break;
		}
		if (r->type == REDIS_REPLY_ERROR) {
			rc = redstore__fail(REDSTORE_EREDIS, "redis job_add: %s", r->str);
			if (!strncmp(r->str, "NOSCRIPT", 8))
				redstore__redis_drop(c);
		} else {
			for (size_t i = 0; added && i < r->elements; i++)
				added[ch * ADD_CHUNK + i] = (int)r->element[i]->integer;
		}
		freeReplyObject(r);
	}
out:
	free(av);
	free(al);
	return rc;
}

static int add_one(char *out_id, redstore_client *c, const char *queue, const redstore_job_spec *spec,
                   const char *repeat, int *added)
{
	qkeys q;
	add_args a;
	int rc, ad = 0;
	if (added)
		*added = 0;
	if ((rc = qkeys_init(&q, queue)) || (rc = spec_check(&a, spec, repeat, 0, false)))
		return rc;
	if ((rc = add_checked(c, &q, &a, 1, &ad)))
		return redstore__fail_wrap(rc, "adding job %s to queue %s", a.id, queue);
	if (out_id)
		memcpy(out_id, a.id, strlen(a.id) + 1);
	if (added)
		*added = ad;
	return 0;
}

int redstore_job_add(char *out_id, redstore_client *c, const char *queue, const redstore_job_spec *spec, int *added)
{
	if (!c)
		return redstore__fail(REDSTORE_EINVALID, "redstore_job_add: client is NULL");
	return add_one(out_id, c, queue, spec, NULL, added);
}

int redstore_job_add_many(redstore_client *c, const char *queue, const redstore_job_spec *specs, size_t n, int *added)
{
	qkeys q;
	add_args *a;
	int rc;
	if (!c || (!specs && n))
		return redstore__fail(REDSTORE_EINVALID, "redstore_job_add_many: client or specs is NULL");
	if ((rc = qkeys_init(&q, queue)))
		return rc;
	if (n == 0)
		return 0;
	if (n > 10000000)
		return redstore__fail(REDSTORE_ELIMIT, "redstore_job_add_many: %zu jobs at once (max 10000000)", n);
	if (!(a = malloc(n * sizeof(*a))))
		return redstore__fail(REDSTORE_ENOMEM, "jobs: out of memory");
	for (size_t i = 0; i < n; i++)
		if ((rc = spec_check(&a[i], &specs[i], NULL, i, true))) {
			free(a);
			return rc;
		}
	rc = add_checked(c, &q, a, n, added);
	free(a);
	return rc ? redstore__fail_wrap(rc, "adding %zu jobs to queue %s", n, queue) : 0;
}

/* ------------------------------------------------------------------ taking and finishing */

void redstore_job_clear(redstore_job *job)
{
	if (!job)
		return;
	free(job->payload);
	job->payload = NULL;
}

static int64_t reply_int(const redisReply *r)
{
	if (r->type == REDIS_REPLY_INTEGER)
		return r->integer;
	if (r->type == REDIS_REPLY_STRING)
		return strtoll(r->str, NULL, 10);
	return 0;
}

int redstore__job_take_as(redstore_job *out, size_t max, size_t *count, redstore_client *c, const char *queue,
                          int64_t lease_ms, const char *taker)
{
	qkeys q;
	redisReply *r;
	char nb[24], lb[24];
	const char *av[4];
	size_t m;
	int rc;

	*count = 0;
	if ((rc = qkeys_init(&q, queue)))
		return rc;
	if (!out || max < 1 || max > 10000)
		return redstore__fail(REDSTORE_EINVALID, "redstore_job_take: max %zu out of range 1..10000", max);
	if (lease_ms < 100 || lease_ms > 86400000)
		return redstore__fail(REDSTORE_EINVALID, "redstore_job_take: lease_ms %lld out of range 100..86400000",
		                      (long long)lease_ms);
	snprintf(nb, sizeof(nb), "%zu", max);
	snprintf(lb, sizeof(lb), "%lld", (long long)lease_ms);
	av[0] = nb;
	av[1] = lb;
	av[2] = taker;
	if ((rc = run_script(&r, c, &q, "job_take", 3, av, NULL, false)))
		return redstore__fail_wrap(rc, "taking jobs of queue %s", queue);
	m = r->elements / 7;
	for (size_t i = 0; i < m; i++) {
		redisReply **e = r->element + 6 * i;
		redstore_job *j = &out[i];
		memset(j, 0, sizeof(*j));
		snprintf(j->queue, sizeof(j->queue), "%s", queue);
		snprintf(j->id, sizeof(j->id), "%s", e[0]->str ? e[0]->str : "");
		j->payload = redstore__strndup(e[1]->str ? e[1]->str : "", e[1]->str ? e[1]->len : 0);
		j->attempt = (int)reply_int(e[2]);
		j->max_attempts = (int)reply_int(e[3]);
		j->run_at_ms = reply_int(e[4]);
		snprintf(j->repeat, sizeof(j->repeat), "%s", e[5]->str ? e[5]->str : "");
		snprintf(j->token, sizeof(j->token), "%s", r->element[6 * m + i]->str ? r->element[6 * m + i]->str : "");
		if (!j->payload) {
			/* The jobs are leased: they come back when the lease expires. */
			for (size_t k = 0; k < i; k++)
				redstore_job_clear(&out[k]);
			freeReplyObject(r);
			return redstore__fail(REDSTORE_ENOMEM, "jobs: out of memory");
		}
	}
	freeReplyObject(r);
	*count = m;
	return 0;
}

int redstore_job_take(redstore_job *out, size_t max, size_t *count, redstore_client *c, const char *queue,
                      int64_t lease_ms)
{
	size_t dummy;
	if (!count)
		count = &dummy;
	*count = 0;
	if (!c)
		return redstore__fail(REDSTORE_EINVALID, "redstore_job_take: client is NULL");
	return redstore__job_take_as(out, max, count, c, queue, lease_ms, "t");
}

static const char *outcome_word(redstore_job_outcome o)
{
	switch (o) {
	case REDSTORE_JOB_DONE: return "done";
	case REDSTORE_JOB_RETRY: return "retry";
	case REDSTORE_JOB_FAIL: return "fail";
	}
	return NULL;
}

int redstore__job_finish_many(int *rcs, redstore_client *c, const redstore_job *const *jobs,
                              const redstore_job_outcome *outcomes, const char *const *errors, size_t n)
{
	qkeys q;
	redisReply *r;
	const char **av;
	size_t *al;
	char (*rnd)[12], nb[24];
	int rc;

	if (n == 0)
		return 0;
	if ((rc = qkeys_init(&q, jobs[0]->queue)))
		return rc;
	av = malloc((1 + 5 * n) * sizeof(*av));
	al = malloc((1 + 5 * n) * sizeof(*al));
	rnd = malloc(n * sizeof(*rnd));
	if (!av || !al || !rnd) {
		free(av);
		free(al);
		free(rnd);
		return redstore__fail(REDSTORE_ENOMEM, "jobs: out of memory");
	}
	snprintf(nb, sizeof(nb), "%zu", n);
	av[0] = nb;
	al[0] = strlen(nb);
	for (size_t i = 0; i < n; i++) {
		const char *e = errors && errors[i] ? errors[i] : "";
		const char *w = outcome_word(outcomes[i]);
		uint32_t x = 0;
		if (getrandom(&x, sizeof(x), 0) != (ssize_t)sizeof(x))
			x = (uint32_t)redstore__now_us();
		if (!w || strcmp(jobs[i]->queue, jobs[0]->queue)) {
			free(av);
			free(al);
			free(rnd);
			return redstore__fail(REDSTORE_EINVALID, "finishing job %s: bad outcome or another queue", jobs[i]->id);
		}
		snprintf(rnd[i], sizeof(rnd[i]), "%u", (unsigned)(x % 1000000u));
		av[1 + 5 * i] = jobs[i]->id;
		av[2 + 5 * i] = jobs[i]->token;
		av[3 + 5 * i] = w;
		av[4 + 5 * i] = e;
		av[5 + 5 * i] = rnd[i];
		for (int k = 1; k <= 5; k++)
			al[k + 5 * i] = strlen(av[k + 5 * i]);
		if (al[4 + 5 * i] > 1000)
			al[4 + 5 * i] = 1000;
	}
	rc = run_script(&r, c, &q, "job_finish", (int)(1 + 5 * n), av, al, false);
	free(av);
	free(al);
	free(rnd);
	if (rc)
		return redstore__fail_wrap(rc, "finishing jobs of queue %s", jobs[0]->queue);
	for (size_t i = 0; i < n; i++) {
		const redisReply *s = 2 * i < r->elements ? r->element[2 * i] : NULL;
		if (s && s->str && !strcmp(s->str, "lost"))
			rcs[i] = REDSTORE_ECONFLICT;
		else
			rcs[i] = s ? 0 : REDSTORE_ERROR;
	}
	freeReplyObject(r);
	return 0;
}

int redstore_job_finish(redstore_client *c, const redstore_job *job, redstore_job_outcome outcome, const char *error)
{
	int rc, one = 0;
	if (!c || !job)
		return redstore__fail(REDSTORE_EINVALID, "redstore_job_finish: client or job is NULL");
	if ((rc = redstore__job_finish_many(&one, c, &job, &outcome, &error, 1)))
		return rc;
	if (one == REDSTORE_ECONFLICT)
		return redstore__fail(REDSTORE_ECONFLICT,
		                      "job %s of queue %s: the lease was lost (it expired and the job was reclaimed)", job->id,
		                      job->queue);
	return one ? redstore__fail(one, "job %s: unexpected reply finishing it", job->id) : 0;
}

int redstore__job_extend_many(int *ok, redstore_client *c, const char *queue, const char *const *ids,
                              const char *const *tokens, size_t n, int64_t lease_ms)
{
	qkeys q;
	redisReply *r;
	const char **av;
	char lb[24];
	int rc;
	if (n == 0)
		return 0;
	if ((rc = qkeys_init(&q, queue)))
		return rc;
	if (!(av = malloc((1 + 2 * n) * sizeof(*av))))
		return redstore__fail(REDSTORE_ENOMEM, "jobs: out of memory");
	snprintf(lb, sizeof(lb), "%lld", (long long)lease_ms);
	av[0] = lb;
	for (size_t i = 0; i < n; i++) {
		av[1 + 2 * i] = ids[i];
		av[2 + 2 * i] = tokens[i];
	}
	rc = run_script(&r, c, &q, "job_extend", (int)(1 + 2 * n), av, NULL, false);
	free(av);
	if (rc)
		return redstore__fail_wrap(rc, "renewing leases in queue %s", queue);
	for (size_t i = 0; ok && i < n; i++)
		ok[i] = i < r->elements && r->element[i]->integer == 1;
	freeReplyObject(r);
	return 0;
}

int redstore_job_extend(redstore_client *c, const redstore_job *job, int64_t lease_ms)
{
	int ok = 0, rc;
	const char *id, *tok;
	if (!c || !job)
		return redstore__fail(REDSTORE_EINVALID, "redstore_job_extend: client or job is NULL");
	if (lease_ms < 100 || lease_ms > 86400000)
		return redstore__fail(REDSTORE_EINVALID, "redstore_job_extend: lease_ms %lld out of range 100..86400000",
		                      (long long)lease_ms);
	id = job->id;
	tok = job->token;
	if ((rc = redstore__job_extend_many(&ok, c, job->queue, &id, &tok, 1, lease_ms)))
		return rc;
	return ok ? 0 : redstore__fail(REDSTORE_ECONFLICT, "job %s of queue %s: the lease was lost", job->id, job->queue);
}

/* ------------------------------------------------------------------ administration */

static int admin(redisReply **out, redstore_client *c, const char *queue, const char *op, const char *id)
{
	qkeys q;
	const char *av[2] = { op, id ? id : "" };
	int rc;
	if (!c)
		return redstore__fail(REDSTORE_EINVALID, "jobs %s: client is NULL", op);
	if ((rc = qkeys_init(&q, queue)) || (id && (rc = id_check(id))))
		return rc;
	if ((rc = run_script(out, c, &q, "job_admin", 2, av, NULL, false)))
		return redstore__fail_wrap(rc, "queue %s: %s", queue, op);
	return 0;
}

int redstore_queue_counts_get(redstore_queue_counts *out, redstore_client *c, const char *queue)
{
	redisReply *r;
	int rc;
	if (!out)
		return redstore__fail(REDSTORE_EINVALID, "redstore_queue_counts_get: out is NULL");
	memset(out, 0, sizeof(*out));
	if ((rc = admin(&r, c, queue, "counts", NULL)))
		return rc;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 7) {
		freeReplyObject(r);
		return redstore__fail(REDSTORE_EREDIS, "queue %s: unexpected reply to counts", queue);
	}
	out->waiting = r->element[0]->integer;
	out->delayed = r->element[1]->integer;
	out->active = r->element[2]->integer;
	out->completed = r->element[3]->integer;
	out->failed = r->element[4]->integer;
	out->dead = r->element[5]->integer;
	out->paused = (int)r->element[6]->integer;
	freeReplyObject(r);
	return 0;
}

static int dead_op(redstore_client *c, const char *queue, const char *id, int64_t *n, const char *op)
{
	redisReply *r;
	int rc;
	if (n)
		*n = 0;
	if ((rc = admin(&r, c, queue, op, id)))
		return rc;
	if (r->integer < 0) {
		freeReplyObject(r);
		return redstore__fail(REDSTORE_ENOTFOUND, "queue %s: job %s is not dead", queue, id);
	}
	if (n)
		*n = r->integer;
	freeReplyObject(r);
	return 0;
}

int redstore_queue_retry_dead(redstore_client *c, const char *queue, const char *id, int64_t *moved)
{
	return dead_op(c, queue, id, moved, "retry_dead");
}

int redstore_queue_purge_dead(redstore_client *c, const char *queue, const char *id, int64_t *purged)
{
	return dead_op(c, queue, id, purged, "purge_dead");
}

int redstore_queue_pause(redstore_client *c, const char *queue, int paused)
{
	qkeys q;
	int rc;
	if (!c)
		return redstore__fail(REDSTORE_EINVALID, "redstore_queue_pause: client is NULL");
	if ((rc = qkeys_init(&q, queue)))
		return rc;
	return redstore__redis_cmd(NULL, c, "HSET %s paused %s", q.k[6], paused ? "1" : "0");
}

int redstore_queue_set_retention(redstore_client *c, const char *queue, int64_t keep_completed, int64_t keep_failed)
{
	qkeys q;
	int rc;
	if (!c)
		return redstore__fail(REDSTORE_EINVALID, "redstore_queue_set_retention: client is NULL");
	if ((rc = qkeys_init(&q, queue)))
		return rc;
	if (keep_completed < 0 || keep_completed > 10000000 || keep_failed < 0 || keep_failed > 10000000)
		return redstore__fail(REDSTORE_EINVALID, "queue %s: retention %lld / %lld out of range 0..10000000", queue,
		                      (long long)keep_completed, (long long)keep_failed);
	return redstore__redis_cmd(NULL, c, "HSET %s keep_completed %lld keep_failed %lld", q.k[6],
	                           (long long)keep_completed, (long long)keep_failed);
}

int redstore_job_get(redstore_job_info *out, redstore_client *c, const char *queue, const char *id)
{
	redisReply *r;
	int rc;
	if (!out || !c)
		return redstore__fail(REDSTORE_EINVALID, "redstore_job_get: out or client is NULL");
	memset(out, 0, sizeof(*out));
	if ((rc = admin(&r, c, queue, "get", id)))
		return rc;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 5 || !r->element[0]->str) {
		freeReplyObject(r);
		return redstore__fail(REDSTORE_EREDIS, "queue %s: unexpected reply reading job %s", queue, id);
	}
	if (!r->element[0]->str[0]) {
		freeReplyObject(r);
		return redstore__fail(REDSTORE_ENOTFOUND, "queue %s: no job %s", queue, id);
	}
	snprintf(out->state, sizeof(out->state), "%s", r->element[0]->str);
	out->attempts = (int)reply_int(r->element[1]);
	out->max_attempts = (int)reply_int(r->element[2]);
	out->due_ms = reply_int(r->element[3]);
	snprintf(out->last_error, sizeof(out->last_error), "%s", r->element[4]->str ? r->element[4]->str : "");
	freeReplyObject(r);
	return 0;
}

/* ------------------------------------------------------------------ repeatable jobs */

static int spec_to_json(char **out, const redstore_job_spec *s, int64_t every_s, const char *hhmm, const char *tz)
{
	cJSON *o = cJSON_CreateObject();
	bool ok = o != NULL;
	if (ok && every_s)
		ok = cJSON_AddNumberToObject(o, "every", (double)every_s) != NULL;
	if (ok && hhmm)
		ok = cJSON_AddStringToObject(o, "at", hhmm) && cJSON_AddStringToObject(o, "tz", tz);
	ok = ok && cJSON_AddStringToObject(o, "payload", s && s->payload ? s->payload : "{}") &&
	     cJSON_AddNumberToObject(o, "priority", s ? s->priority : 0) &&
	     cJSON_AddNumberToObject(o, "max_attempts", s ? s->max_attempts : 0) &&
	     cJSON_AddNumberToObject(o, "backoff", s ? (double)s->backoff : 0) &&
	     cJSON_AddNumberToObject(o, "backoff_ms", s ? (double)s->backoff_ms : 0) &&
	     cJSON_AddNumberToObject(o, "backoff_max_ms", s ? (double)s->backoff_max_ms : 0) &&
	     cJSON_AddNumberToObject(o, "jitter_pct", s ? s->jitter_pct : 0) &&
	     cJSON_AddNumberToObject(o, "ttl_ms", s ? (double)s->ttl_ms : 0);
	*out = ok ? cJSON_PrintUnformatted(o) : NULL;
	cJSON_Delete(o);
	return *out ? 0 : redstore__fail(REDSTORE_ENOMEM, "jobs: out of memory");
}

static int64_t jnum(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

/* Adds the occurrence of schedule `name` (JSON `text`) due first after `after_ms`. */
static int add_occurrence(redstore_client *c, const char *queue, const char *name, const char *text, int64_t after_ms)
{
	cJSON *o = cJSON_Parse(text);
	const cJSON *at, *tz, *pl;
	redstore_job_spec s = { 0 };
	char id[REDSTORE_JOB_ID_SIZE];
	int64_t due, every;
	int rc;
	if (!o)
		return redstore__fail(REDSTORE_EDECODE, "queue %s: repeatable %s is not JSON", queue, name);
	every = jnum(o, "every");
	at = cJSON_GetObjectItemCaseSensitive(o, "at");
	tz = cJSON_GetObjectItemCaseSensitive(o, "tz");
	pl = cJSON_GetObjectItemCaseSensitive(o, "payload");
	if (every > 0) {
		due = (after_ms / (every * 1000) + 1) * every * 1000;
		rc = 0;
	} else if (cJSON_IsString(at) && cJSON_IsString(tz)) {
		rc = redstore_next_daily_ms(&due, after_ms, at->valuestring, tz->valuestring);
	} else {
		rc = redstore__fail(REDSTORE_EDECODE, "queue %s: repeatable %s has no schedule", queue, name);
	}
	if (!rc) {
		snprintf(id, sizeof(id), "rep.%s.%lld", name, (long long)due);
		s.id = id;
		s.payload = cJSON_IsString(pl) ? pl->valuestring : "{}";
		s.run_at_ms = due;
		s.priority = (int)jnum(o, "priority");
		s.max_attempts = (int)jnum(o, "max_attempts");
		s.backoff = (redstore_backoff)jnum(o, "backoff");
		s.backoff_ms = jnum(o, "backoff_ms");
		s.backoff_max_ms = jnum(o, "backoff_max_ms");
		s.jitter_pct = (int)jnum(o, "jitter_pct");
		s.ttl_ms = jnum(o, "ttl_ms");
		rc = add_one(NULL, c, queue, &s, name, NULL);
	}
	cJSON_Delete(o);
	return rc;
}

static int repeat_set(redstore_client *c, const char *queue, const char *name, int64_t every_s, const char *hhmm,
                      const char *tz, const redstore_job_spec *spec)
{
	qkeys q;
	char rk[REDSTORE_KEY_MAX], *text;
	add_args check;
	redstore_job_spec probe = { 0 };
	int rc;
	if (!c)
		return redstore__fail(REDSTORE_EINVALID, "repeatable job: client is NULL");
	if ((rc = qkeys_init(&q, queue)))
		return rc;
	if (!name_ok(name, 64, NULL))
		return redstore__fail(REDSTORE_EINVALID, "repeatable job name \"%.80s\": expected 1-64 of [A-Za-z0-9_.-]",
		                      name ? name : "(null)");
	if (spec)
		probe = *spec;
	probe.id = "probe";
	probe.delay_ms = probe.run_at_ms = 0;
	if ((rc = spec_check(&check, &probe, name, 0, false)))
		return rc;
	if (hhmm) {
		int64_t t;
		if ((rc = redstore_next_daily_ms(&t, redstore__wall_ms(), hhmm, tz)))
			return rc;
	}
	if ((rc = spec_to_json(&text, spec, every_s, hhmm, tz)))
		return rc;
	snprintf(rk, sizeof(rk), "rs:{q:%s}:rep", queue);
	rc = redstore__redis_cmd(NULL, c, "HSET %s %s %s", rk, name, text);
	if (!rc)
		rc = add_occurrence(c, queue, name, text, redstore__wall_ms());
	cJSON_free(text);
	return rc ? redstore__fail_wrap(rc, "repeatable job %s of queue %s", name, queue) : 0;
}

int redstore_job_repeat_every(redstore_client *c, const char *queue, const char *name, int64_t every_s,
                              const redstore_job_spec *spec)
{
	if (every_s < 1 || every_s > 31622400)
		return redstore__fail(REDSTORE_EINVALID, "repeatable job %.80s: every %lld s out of range 1..31622400",
		                      name ? name : "(null)", (long long)every_s);
	return repeat_set(c, queue, name, every_s, NULL, NULL, spec);
}

int redstore_job_repeat_daily(redstore_client *c, const char *queue, const char *name, const char *hhmm,
                              const char *tz, const redstore_job_spec *spec)
{
	if (!hhmm || !tz)
		return redstore__fail(REDSTORE_EINVALID, "repeatable job %.80s: no time or time zone", name ? name : "(null)");
	return repeat_set(c, queue, name, 0, hhmm, tz, spec);
}

int redstore_job_repeat_remove(redstore_client *c, const char *queue, const char *name)
{
	char rk[REDSTORE_KEY_MAX];
	redisReply *r;
	int rc;
	if (!c)
		return redstore__fail(REDSTORE_EINVALID, "redstore_job_repeat_remove: client is NULL");
	if ((rc = redstore__queue_check(queue)))
		return rc;
	if (!name_ok(name, 64, NULL))
		return redstore__fail(REDSTORE_EINVALID, "repeatable job name \"%.80s\": expected 1-64 of [A-Za-z0-9_.-]",
		                      name ? name : "(null)");
	snprintf(rk, sizeof(rk), "rs:{q:%s}:rep", queue);
	if ((rc = redstore__redis_cmd(&r, c, "HDEL %s %s", rk, name)))
		return rc;
	rc = r->integer == 1 ? 0 : redstore__fail(REDSTORE_ENOTFOUND, "queue %s: no repeatable job %s", queue, name);
	freeReplyObject(r);
	return rc;
}

int redstore_job_repeat_next(redstore_client *c, const redstore_job *job)
{
	char rk[REDSTORE_KEY_MAX];
	redisReply *r;
	int rc;
	int64_t after;
	if (!c || !job)
		return redstore__fail(REDSTORE_EINVALID, "redstore_job_repeat_next: client or job is NULL");
	if (!job->repeat[0])
		return 0;
	if ((rc = redstore__queue_check(job->queue)))
		return rc;
	snprintf(rk, sizeof(rk), "rs:{q:%s}:rep", job->queue);
	if ((rc = redstore__redis_cmd(&r, c, "HGET %s %s", rk, job->repeat)))
		return rc;
	if (r->type != REDIS_REPLY_STRING) {
		freeReplyObject(r);
		return 0; /* the schedule was removed */
	}
	after = job->run_at_ms > redstore__wall_ms() ? job->run_at_ms : redstore__wall_ms();
	if (job->run_at_ms > 0 && after < job->run_at_ms + 1)
		after = job->run_at_ms + 1;
	rc = add_occurrence(c, job->queue, job->repeat, r->str, after);
	freeReplyObject(r);
	return rc;
}
