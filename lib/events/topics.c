/* Creating and checking the topics (Kafka admin API), bounded in time. */
#include "engines/engines_int.h"

#include <stdio.h>

static const char *const domains[REDSTORE_TOPIC_COUNT] = { "sales", "inventory", "catalog", "shifts", "audit",
	                                                       "deadletter" };

/* Fills existed/partitions from the cluster's metadata. */
static int read_metadata(redstore_topic_status *out, rd_kafka_t *rk, int timeout_ms, const char *brokers)
{
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, NULL, &md, timeout_ms);
	if (err)
		return redstore__fail(err == RD_KAFKA_RESP_ERR__TIMED_OUT ? REDSTORE_ECONNECT : redstore__kafka_err(err),
		                      "kafka %s: no metadata: %s", brokers, rd_kafka_err2str(err));
	for (int i = 0; i < REDSTORE_TOPIC_COUNT; i++)
		for (int t = 0; t < md->topic_cnt; t++)
			if (!strcmp(md->topics[t].topic, out[i].name) && !md->topics[t].err) {
				out[i].existed = 1;
				out[i].partitions = md->topics[t].partition_cnt;
			}
	rd_kafka_metadata_destroy(md);
	return 0;
}

static void create_missing(redstore_topic_status *out, redstore_client *c, rd_kafka_t *rk, int timeout_ms)
{
	int partitions = (int)c->set.kafka_partitions;
	int replication = (int)c->set.kafka_replication_factor;
	rd_kafka_NewTopic_t *nt[REDSTORE_TOPIC_COUNT];
	rd_kafka_AdminOptions_t *opts;
	rd_kafka_queue_t *q;
	rd_kafka_event_t *ev;
	char err[256];
	size_t n = 0;

	for (int i = 0; i < REDSTORE_TOPIC_COUNT; i++) {
		if (out[i].existed)
			continue;
		if (!(nt[n] = rd_kafka_NewTopic_new(out[i].name, partitions, replication, err, sizeof(err)))) {
			snprintf(out[i].warning, sizeof(out[i].warning), "cannot ask for it: %.200s", err);
			continue;
		}
		n++;
	}
	if (!n)
		return;
	q = rd_kafka_queue_new(rk);
	opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
	rd_kafka_AdminOptions_set_request_timeout(opts, timeout_ms, err, sizeof(err));
	rd_kafka_AdminOptions_set_operation_timeout(opts, timeout_ms, err, sizeof(err));
	rd_kafka_CreateTopics(rk, nt, n, opts, q);
	/* Bounded: a cluster that never answers leaves the topics to be auto-created on first produce. */
	ev = rd_kafka_queue_poll(q, timeout_ms + 500);
	if (!ev || rd_kafka_event_error(ev)) {
		for (int i = 0; i < REDSTORE_TOPIC_COUNT; i++)
			if (!out[i].existed && !out[i].warning[0])
				snprintf(out[i].warning, sizeof(out[i].warning),
				         "missing, and the cluster %s CreateTopics within %d ms: it exists only if the cluster "
				         "auto-creates topics on first use",
				         ev ? "refused" : "did not answer", timeout_ms);
	} else {
		const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
		size_t cnt = 0;
		const rd_kafka_topic_result_t **tr = rd_kafka_CreateTopics_result_topics(res, &cnt);
		for (size_t k = 0; k < cnt; k++)
			for (int i = 0; i < REDSTORE_TOPIC_COUNT; i++) {
				if (strcmp(rd_kafka_topic_result_name(tr[k]), out[i].name) != 0)
					continue;
				if (!rd_kafka_topic_result_error(tr[k])) {
					out[i].created = 1;
					out[i].partitions = partitions;
				} else if (rd_kafka_topic_result_error(tr[k]) == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
					out[i].existed = 1;
				} else {
					snprintf(out[i].warning, sizeof(out[i].warning), "could not be created: %s",
					         rd_kafka_topic_result_error_string(tr[k]));
				}
			}
	}
	if (ev)
		rd_kafka_event_destroy(ev);
	rd_kafka_AdminOptions_destroy(opts);
	rd_kafka_queue_destroy(q);
	rd_kafka_NewTopic_destroy_array(nt, n);
}

int redstore_events_ensure_topics(redstore_topic_status *out, redstore_client *c, int timeout_ms)
{
	int partitions = (int)c->set.kafka_partitions;
	rd_kafka_t *rk;
	int rc;

	for (int i = 0; i < REDSTORE_TOPIC_COUNT; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		redstore__kafka_topic(out[i].name, sizeof(out[i].name), &c->set, domains[i]);
	}
	if (timeout_ms < 1000 || timeout_ms > 600000)
		return redstore__fail(REDSTORE_EINVALID, "ensure_topics: timeout %d ms (expected 1000..600000)", timeout_ms);
	if ((rc = redstore__kafka_producer(&rk, c)) ||
	    (rc = read_metadata(out, rk, timeout_ms, c->set.kafka_brokers)))
		return rc;
	create_missing(out, c, rk, timeout_ms);
	for (int i = 0; i < REDSTORE_TOPIC_COUNT; i++)
		if (out[i].existed && out[i].partitions < partitions && !out[i].warning[0])
			snprintf(out[i].warning, sizeof(out[i].warning),
			         "has %d partitions, fewer than kafka.partitions (%d): stores spread over fewer consumers",
			         out[i].partitions, partitions);
	return 0;
}
