/* An in-process librdkafka mock cluster for fault tests (a separate object: only suites using it link it). */
#include "testutil.h"

#include <stdio.h>

void rs_test_mock_start(rs_test_mock *m, int delivery_timeout_ms)
{
	static const char *const topics[] = { "redstore.sales", "redstore.inventory", "redstore.catalog" };
	char err[256], timeout[16];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	redstore_config *cfg = rs_test_config();

	rd_kafka_conf_set(conf, "log_level", "0", err, sizeof(err));
	m->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
	ck_assert_ptr_nonnull(m->rk);
	m->mc = rd_kafka_mock_cluster_new(m->rk, 3);
	ck_assert_ptr_nonnull(m->mc);
	for (size_t i = 0; i < sizeof(topics) / sizeof(topics[0]); i++)
		ck_assert_int_eq(rd_kafka_mock_topic_create(m->mc, topics[i], 4, 3), 0);
	snprintf(timeout, sizeof(timeout), "%d", delivery_timeout_ms);
	RS_OK(redstore_config_set(cfg, "kafka.brokers", rd_kafka_mock_cluster_bootstraps(m->mc)));
	RS_OK(redstore_config_set(cfg, "kafka.topic_prefix", "redstore."));
	RS_OK(redstore_config_set(cfg, "kafka.delivery_timeout_ms", timeout));
	RS_OK(redstore_config_set(cfg, "kafka.connect_timeout_ms", "1000"));
	RS_OK(redstore_client_new(&m->client, cfg));
	redstore_config_free(cfg);
}

void rs_test_mock_brokers(rs_test_mock *m, int up)
{
	for (int b = 1; b <= 3; b++)
		if (up)
			rd_kafka_mock_broker_set_up(m->mc, b);
		else
			rd_kafka_mock_broker_set_down(m->mc, b);
}

void rs_test_mock_stop(rs_test_mock *m)
{
	redstore_client_free(m->client);
	rd_kafka_mock_cluster_destroy(m->mc);
	rd_kafka_destroy(m->rk);
}
