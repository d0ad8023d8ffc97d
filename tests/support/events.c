/* Watching a topic for an event, as a downstream consumer would (a separate object: only suites using it
 * link it). */
#include "testutil.h"
#include "engines/engines_int.h"

#include <stdio.h>
#include <string.h>

struct rs_test_watch {
	rd_kafka_t *rk;
};

rs_test_watch *rs_test_watch_start(const redstore_config *cfg, const char *domain)
{
	rs_test_watch *w = calloc(1, sizeof(*w));
	rd_kafka_conf_t *conf;
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_topic_partition_list_t *parts;
	rd_kafka_topic_t *t;
	char topic[160], group[64], err[256];

	ck_assert_ptr_nonnull(w);
	RS_OK(redstore__kafka_conf(&conf, cfg));
	rs_test_unique(group, sizeof(group), "watch");
	ck_assert_int_eq(rd_kafka_conf_set(conf, "group.id", group, err, sizeof(err)), RD_KAFKA_CONF_OK);
	w->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
	ck_assert_msg(w->rk != NULL, "%s", err);
	snprintf(topic, sizeof(topic), "%s%s", redstore__config_str(cfg, REDSTORE_CFG_KAFKA_TOPIC_PREFIX), domain);
	t = rd_kafka_topic_new(w->rk, topic, NULL);
	ck_assert_int_eq(rd_kafka_metadata(w->rk, 0, t, &md, 10000), 0);
	ck_assert_int_eq(md->topic_cnt, 1);
	parts = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
	/* Assign every partition at its current end: nothing earlier, nothing later missed. */
	for (int p = 0; p < md->topics[0].partition_cnt; p++) {
		int64_t lo, hi;
		ck_assert_int_eq(rd_kafka_query_watermark_offsets(w->rk, topic, p, &lo, &hi, 10000), 0);
		rd_kafka_topic_partition_list_add(parts, topic, p)->offset = hi;
	}
	ck_assert_int_eq(rd_kafka_assign(w->rk, parts), 0);
	rd_kafka_topic_partition_list_destroy(parts);
	rd_kafka_metadata_destroy(md);
	rd_kafka_topic_destroy(t);
	return w;
}

int rs_test_watch_find(rs_test_watch *w, const char *needle1, const char *needle2, int timeout_ms)
{
	int found = 0;
	int64_t deadline = redstore__now_us() + (int64_t)timeout_ms * 1000;
	while (!found && redstore__now_us() < deadline) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(w->rk, 200);
		if (!m)
			continue;
		if (!m->err && m->len) {
			char *text = redstore__strndup(m->payload, m->len);
			found = text && strstr(text, needle1) && strstr(text, needle2);
			free(text);
		}
		rd_kafka_message_destroy(m);
	}
	rd_kafka_consumer_close(w->rk);
	rd_kafka_destroy(w->rk);
	free(w);
	return found;
}
