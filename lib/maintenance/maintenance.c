/* The projector's progress on a store's partitions, and reconciling Redis stock with PostgreSQL. */
#include "maintenance/maintenance_int.h"
#include "engines/engines_int.h"

#include <stdio.h>
#include <time.h>

static const char *const log_domains[REDSTORE__LOG_TOPICS] = { "sales", "inventory" };

int redstore__mopts_resolve(redstore__mopts *out, const redstore_maintenance_options *o, const char *what)
{
	const char *group = o && o->group_id ? o->group_id : REDSTORE_PROJECTOR_GROUP;
	size_t n = strlen(group);

	memset(out, 0, sizeof(*out));
	if (n < 1 || n >= sizeof(out->group))
		return redstore__fail(REDSTORE_EINVALID, "%s: group id of %zu characters (expected 1..%zu)", what, n,
		                      sizeof(out->group) - 1);
	for (const char *s = group; *s; s++)
		if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
			return redstore__fail(REDSTORE_EINVALID, "%s: group id \"%.64s\" has a space or control character",
			                      what, group);
	memcpy(out->group, group, n + 1);
	out->wait_ms = o && o->wait_ms ? o->wait_ms : 30000;
	if (out->wait_ms < 1 || out->wait_ms > 3600000)
		return redstore__fail(REDSTORE_EINVALID, "%s: wait %d ms (expected 1..3600000)", what, out->wait_ms);
	return 0;
}

int redstore__log_open(rd_kafka_t **out, const redstore_client *c, const char *group)
{
	rd_kafka_conf_t *conf;
	char err[256];
	int rc;

	*out = NULL;
	if ((rc = redstore__kafka_conf(&conf, c->cfg)))
		return rc;
	/* Never subscribes: assign() and committed() do not join the group, so its members are undisturbed. */
	if (rd_kafka_conf_set(conf, "group.id", group, err, sizeof(err)) != RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err)) != RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "enable.auto.offset.store", "false", err, sizeof(err)) != RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof(err)) != RD_KAFKA_CONF_OK) {
		rd_kafka_conf_destroy(conf);
		return redstore__fail(REDSTORE_EKAFKA, "maintenance consumer: %s", err);
	}
	if (!(*out = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err)))) {
		rd_kafka_conf_destroy(conf);
		return redstore__fail(REDSTORE_EKAFKA, "maintenance consumer: %s", err);
	}
	return 0;
}

void redstore__log_close(rd_kafka_t *rk)
{
	if (!rk)
		return;
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
}

/* The partition count of one topic, from the cluster's metadata. */
static int partition_count(int32_t *out, rd_kafka_t *rk, const char *topic, int timeout_ms)
{
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
	rd_kafka_resp_err_t err;
	int rc = 0;

	if (!t)
		return redstore__fail(REDSTORE_EKAFKA, "topic %s: %s", topic, rd_kafka_err2str(rd_kafka_last_error()));
	err = rd_kafka_metadata(rk, 0, t, &md, timeout_ms);
	if (err)
		rc = redstore__fail(err == RD_KAFKA_RESP_ERR__TIMED_OUT ? REDSTORE_ECONNECT : redstore__kafka_err(err),
		                    "topic %s: no metadata: %s", topic, rd_kafka_err2str(err));
	else if (md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt < 1)
		rc = redstore__fail(REDSTORE_ENOTFOUND, "topic %s: %s", topic,
		                    md->topic_cnt == 1 && md->topics[0].err ? rd_kafka_err2str(md->topics[0].err)
		                                                            : "no partitions");
	else
		*out = md->topics[0].partition_cnt;
	if (md)
		rd_kafka_metadata_destroy(md);
	rd_kafka_topic_destroy(t);
	return rc;
}

int redstore__log_positions(redstore__log_pos *p, rd_kafka_t *rk, const redstore_client *c, const char *store,
                            int timeout_ms)
{
	rd_kafka_topic_partition_list_t *parts;
	rd_kafka_resp_err_t err;
	int rc;

	memset(p, 0, sizeof(*p));
	for (int t = 0; t < REDSTORE__LOG_TOPICS; t++) {
		int32_t count = 0;
		redstore__kafka_topic(p->topic[t], sizeof(p->topic[t]), &c->set, log_domains[t]);
		p->committed[t] = -1;
		if ((rc = partition_count(&count, rk, p->topic[t], timeout_ms)) == REDSTORE_ENOTFOUND) {
			/* Not created yet (nothing was ever produced to it): an empty log. */
			redstore_error_clear();
			p->partition[t] = -1;
			continue;
		}
		if (rc || (rc = redstore_store_partition(&p->partition[t], c->cfg, store, count)))
			return rc;
		err = rd_kafka_query_watermark_offsets(rk, p->topic[t], p->partition[t], &p->low[t], &p->high[t], timeout_ms);
		if (err)
			return redstore__fail(redstore__kafka_err(err), "%s [%d]: no watermarks: %s", p->topic[t],
			                      (int)p->partition[t], rd_kafka_err2str(err));
	}
	if (!(parts = rd_kafka_topic_partition_list_new(REDSTORE__LOG_TOPICS)))
		return redstore__fail(REDSTORE_ENOMEM, "maintenance: out of memory");
	for (int t = 0; t < REDSTORE__LOG_TOPICS; t++)
		if (p->partition[t] >= 0)
			rd_kafka_topic_partition_list_add(parts, p->topic[t], p->partition[t]);
	err = parts->cnt ? rd_kafka_committed(rk, parts, timeout_ms) : RD_KAFKA_RESP_ERR_NO_ERROR;
	for (int i = 0; !err && i < parts->cnt; i++) {
		const rd_kafka_topic_partition_t *e = &parts->elems[i];
		int t = !strcmp(e->topic, p->topic[0]) ? 0 : 1;
		if (e->err) {
			err = e->err;
			break;
		}
		p->committed[t] = e->offset >= 0 ? e->offset : -1;
	}
	rd_kafka_topic_partition_list_destroy(parts);
	if (err)
		return redstore__fail(redstore__kafka_err(err), "committed offsets of %s [%d] and %s [%d]: %s", p->topic[0],
		                      (int)p->partition[0], p->topic[1], (int)p->partition[1], rd_kafka_err2str(err));
	return 0;
}

int redstore__log_read(rd_kafka_t *rk, const redstore__log_pos *p, int64_t deadline_us, redstore__log_fn fn,
                       void *payload)
{
	rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(REDSTORE__LOG_TOPICS);
	int64_t next[REDSTORE__LOG_TOPICS];
	rd_kafka_resp_err_t err;
	int rc = 0;

	if (!parts)
		return redstore__fail(REDSTORE_ENOMEM, "maintenance: out of memory");
	for (int t = 0; t < REDSTORE__LOG_TOPICS; t++) {
		next[t] = p->committed[t] >= p->low[t] ? p->committed[t] : p->low[t];
		if (p->partition[t] >= 0 && next[t] < p->high[t])
			rd_kafka_topic_partition_list_add(parts, p->topic[t], p->partition[t])->offset = next[t];
	}
	if (!parts->cnt) {
		rd_kafka_topic_partition_list_destroy(parts);
		return 0;
	}
	err = rd_kafka_assign(rk, parts);
	rd_kafka_topic_partition_list_destroy(parts);
	if (err)
		return redstore__fail(redstore__kafka_err(err), "maintenance: assigning %s [%d]: %s", p->topic[0],
		                      (int)p->partition[0], rd_kafka_err2str(err));
	for (;;) {
		rd_kafka_message_t *m;
		int t;
		if (next[0] >= p->high[0] && next[1] >= p->high[1])
			break;
		if (redstore__now_us() >= deadline_us) {
			rc = redstore__fail(REDSTORE_ETIMEOUT, "reading %s [%d] up to offset %lld and %s [%d] up to %lld: stopped "
			                    "at %lld and %lld when the wait ran out", p->topic[0], (int)p->partition[0],
			                    (long long)p->high[0], p->topic[1], (int)p->partition[1], (long long)p->high[1],
			                    (long long)next[0], (long long)next[1]);
			break;
		}
		if (!(m = rd_kafka_consumer_poll(rk, 200)))
			continue;
		for (t = 0; t < REDSTORE__LOG_TOPICS; t++)
			if (m->rkt && m->partition == p->partition[t] && !strcmp(rd_kafka_topic_name(m->rkt), p->topic[t]))
				break;
		if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			if (t < REDSTORE__LOG_TOPICS && m->offset > next[t])
				next[t] = m->offset;
		} else if (m->err) {
			rc = redstore__fail(redstore__kafka_err(m->err), "reading the log: %s", rd_kafka_message_errstr(m));
		} else if (t < REDSTORE__LOG_TOPICS && m->offset >= next[t]) {
			next[t] = m->offset + 1;
			if (m->offset < p->high[t])
				rc = fn(m->payload, m->len, payload);
		}
		rd_kafka_message_destroy(m);
		if (rc)
			break;
	}
	rd_kafka_assign(rk, NULL);
	return rc;
}

/* Sleeps ms milliseconds (between polls of a condition). */
static void pause_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static int64_t behind(const redstore__log_pos *p, const int64_t *target)
{
	int64_t n = 0;
	for (int t = 0; t < REDSTORE__LOG_TOPICS; t++) {
		int64_t from = p->committed[t] >= p->low[t] ? p->committed[t] : p->low[t];
		if (target[t] > from)
			n += target[t] - from;
	}
	return n;
}

static void progress_from(redstore_projector_progress *out, const redstore__log_pos *p, int64_t n)
{
	out->partition = p->partition[0];
	out->sales_committed = p->committed[0];
	out->sales_high = p->high[0];
	out->inventory_committed = p->committed[1];
	out->inventory_high = p->high[1];
	out->behind = n;
}

/* Waits on an open handle until the group's committed offsets reach the watermarks read at the start. */
static int wait_caught_up(redstore_projector_progress *out, rd_kafka_t *rk, redstore_client *c, const char *store,
                          const redstore__mopts *mo)
{
	int64_t deadline = redstore__now_us() + (int64_t)mo->wait_ms * 1000, target[REDSTORE__LOG_TOPICS], n;
	int timeout = mo->wait_ms < 10000 ? 10000 : mo->wait_ms;
	redstore__log_pos p;
	int rc;

	if ((rc = redstore__log_positions(&p, rk, c, store, timeout)))
		return rc;
	for (int t = 0; t < REDSTORE__LOG_TOPICS; t++)
		target[t] = p.high[t];
	for (;;) {
		n = behind(&p, target);
		if (out)
			progress_from(out, &p, n);
		if (n == 0)
			return 0;
		if (redstore__now_us() >= deadline)
			return redstore__fail(REDSTORE_ETIMEOUT, "projector group %s is %lld event%s behind on partition %d of %s "
			                      "(committed %lld of %lld) and %s (committed %lld of %lld) after %d ms",
			                      mo->group, (long long)n, n == 1 ? "" : "s", (int)p.partition[0], p.topic[0],
			                      (long long)p.committed[0], (long long)target[0], p.topic[1],
			                      (long long)p.committed[1], (long long)target[1], mo->wait_ms);
		pause_ms(100);
		if ((rc = redstore__log_positions(&p, rk, c, store, timeout)))
			return rc;
	}
}

int redstore_projector_wait(redstore_projector_progress *out, redstore_client *c,
                            const redstore_maintenance_options *options)
{
	redstore__mopts mo;
	rd_kafka_t *rk = NULL;
	const char *store;
	int rc;

	if (out)
		memset(out, 0, sizeof(*out));
	if ((rc = redstore__need_store(&store, c, "projector_wait")) ||
	    (rc = redstore__mopts_resolve(&mo, options, "projector_wait")) || (rc = redstore__log_open(&rk, c, mo.group)))
		return rc;
	rc = wait_caught_up(out, rk, c, store, &mo);
	redstore__log_close(rk);
	return rc;
}

/* ------------------------------------------------------------------ reconcile */

typedef struct recon_row {
	char sku[65];
	int64_t redis_on, redis_res, ledger, proj_on, proj_res;
} recon_row;

typedef struct recon_rows {
	recon_row *v;
	size_t n, cap;
} recon_rows;

static recon_row *rows_add(recon_rows *r, const char *sku)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		recon_row *v = realloc(r->v, cap * sizeof(*v));
		if (!v) {
			redstore__fail(REDSTORE_ENOMEM, "reconcile: out of memory");
			return NULL;
		}
		r->v = v;
		r->cap = cap;
	}
	memset(&r->v[r->n], 0, sizeof(r->v[0]));
	snprintf(r->v[r->n].sku, sizeof(r->v[0].sku), "%s", sku);
	return &r->v[r->n++];
}

static int row_cmp(const void *a, const void *b)
{
	return strcmp(((const recon_row *)a)->sku, ((const recon_row *)b)->sku);
}

static int64_t to_i64(const char *s)
{
	return s ? strtoll(s, NULL, 10) : 0;
}

/* Reads the store's onhand and reserved hashes in one MULTI (a consistent snapshot). */
static int read_redis_stock(recon_rows *rows, redstore_client *c, const char *store)
{
	char kon[REDSTORE_KEY_MAX], kres[REDSTORE_KEY_MAX];
	redisReply *r = NULL;
	int rc;

	redstore__key(kon, store, "onhand");
	redstore__key(kres, store, "reserved");
	if ((rc = redstore__redis_cmd(NULL, c, "MULTI")) || (rc = redstore__redis_cmd(NULL, c, "HGETALL %s", kon)) ||
	    (rc = redstore__redis_cmd(NULL, c, "HGETALL %s", kres)) || (rc = redstore__redis_cmd(&r, c, "EXEC"))) {
		if (rc != REDSTORE_ECONNECT && rc != REDSTORE_ETIMEOUT)
			redstore__redis_cmd(NULL, c, "DISCARD");
		return redstore__fail_wrap(rc, "reconcile: reading the stock of store %s", store);
	}
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
		freeReplyObject(r);
		return redstore__fail(REDSTORE_EREDIS, "reconcile: unexpected EXEC reply");
	}
	for (int k = 0; k < 2 && !rc; k++) {
		const redisReply *h = r->element[k];
		if (h->type != REDIS_REPLY_ARRAY) {
			rc = redstore__fail(REDSTORE_EREDIS, "reconcile: %s is not a hash", k ? kres : kon);
			break;
		}
		for (size_t i = 0; i + 1 < h->elements; i += 2) {
			recon_row *row = rows_add(rows, h->element[i]->str);
			if (!row) {
				rc = REDSTORE_ENOMEM;
				break;
			}
			if (k == 0)
				row->redis_on = to_i64(h->element[i + 1]->str);
			else
				row->redis_res = to_i64(h->element[i + 1]->str);
		}
	}
	freeReplyObject(r);
	return rc;
}

static int read_pg_stock(recon_rows *rows, redstore_client *c, const char *store)
{
	static const char sql[] =
		"SELECT sku, sum(ledger)::bigint, sum(on_hand)::bigint, sum(reserved)::bigint FROM ("
		" SELECT sku, sum(delta) AS ledger, 0::bigint AS on_hand, 0::bigint AS reserved FROM stock_ledger"
		" WHERE store_id = $1 GROUP BY sku"
		" UNION ALL SELECT sku, 0, on_hand, reserved FROM stock_levels WHERE store_id = $1) x GROUP BY sku";
	const char *p[1] = { store };
	PGresult *res = NULL;
	int rc;

	/* One snapshot: the ledger and the levels are read as of the same moment. */
	if ((rc = redstore__pg_exec(NULL, c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL)))
		return rc;
	if (!(rc = redstore__pg_exec(&res, c, sql, 1, p))) {
		for (int i = 0; i < PQntuples(res); i++) {
			recon_row *row = rows_add(rows, PQgetvalue(res, i, 0));
			if (!row) {
				rc = REDSTORE_ENOMEM;
				break;
			}
			row->ledger = to_i64(PQgetvalue(res, i, 1));
			row->proj_on = to_i64(PQgetvalue(res, i, 2));
			row->proj_res = to_i64(PQgetvalue(res, i, 3));
		}
		PQclear(res);
	}
	if (rc) {
		if (c->pg)
			redstore__pg_exec(NULL, c, "ROLLBACK", 0, NULL);
		return rc;
	}
	return redstore__pg_exec(NULL, c, "COMMIT", 0, NULL);
}

void redstore_reconcile_report_free(redstore_reconcile_report *r)
{
	if (!r)
		return;
	free(r->differences);
	free(r);
}

int redstore_reconcile(redstore_reconcile_report **out, redstore_client *c, const redstore_maintenance_options *options)
{
	redstore_reconcile_report *rep = NULL;
	recon_rows rows = { NULL, 0, 0 };
	redstore__mopts mo;
	rd_kafka_t *rk = NULL;
	const char *store;
	size_t n = 0;
	int rc;

	*out = NULL;
	if ((rc = redstore__need_store(&store, c, "reconcile")) ||
	    (rc = redstore__mopts_resolve(&mo, options, "reconcile")))
		return rc;
	if (!(rep = calloc(1, sizeof(*rep))))
		return redstore__fail(REDSTORE_ENOMEM, "reconcile: out of memory");
	snprintf(rep->store_id, sizeof(rep->store_id), "%s", store);
	/* Redis first, then the projector catches up with everything acknowledged by then, then PostgreSQL. */
	if ((rc = read_redis_stock(&rows, c, store)) || (rc = redstore__log_open(&rk, c, mo.group)) ||
	    (rc = wait_caught_up(&rep->progress, rk, c, store, &mo)) || (rc = read_pg_stock(&rows, c, store)))
		goto fail;
	/* Fold the rows of each SKU (Redis on hand, Redis reserved, PostgreSQL) into one. */
	if (rows.n)
		qsort(rows.v, rows.n, sizeof(rows.v[0]), row_cmp);
	for (size_t i = 0; i < rows.n; i++) {
		recon_row *dst = &rows.v[n];
		if (n && !strcmp(rows.v[n - 1].sku, rows.v[i].sku)) {
			dst = &rows.v[n - 1];
			dst->redis_on += rows.v[i].redis_on;
			dst->redis_res += rows.v[i].redis_res;
			dst->ledger += rows.v[i].ledger;
			dst->proj_on += rows.v[i].proj_on;
			dst->proj_res += rows.v[i].proj_res;
			continue;
		}
		if (i != n)
			rows.v[n] = rows.v[i];
		n++;
	}
	rep->skus = n;
	if (!(rep->differences = calloc(n ? n : 1, sizeof(*rep->differences)))) {
		rc = redstore__fail(REDSTORE_ENOMEM, "reconcile: out of memory");
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		const recon_row *r = &rows.v[i];
		redstore_stock_difference *d;
		if (r->redis_on == r->ledger && r->proj_on == r->ledger && r->redis_res == r->proj_res)
			continue;
		d = &rep->differences[rep->count++];
		snprintf(d->sku, sizeof(d->sku), "%s", r->sku);
		d->redis_on_hand = r->redis_on;
		d->ledger_on_hand = r->ledger;
		d->projected_on_hand = r->proj_on;
		d->redis_reserved = r->redis_res;
		d->projected_reserved = r->proj_res;
	}
	free(rows.v);
	redstore__log_close(rk);
	*out = rep;
	return 0;
fail:
	free(rows.v);
	redstore__log_close(rk);
	redstore_reconcile_report_free(rep);
	return redstore__fail_wrap(rc, "reconcile of store %s", store);
}
