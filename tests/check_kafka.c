/* Kafka through the real protocol: a round trip on the dev stack's cluster, and faults injected with
 * the mock cluster's fault API (brokers down, request errors). */
#include "testutil.h"
#include "engines/engines_int.h"

#include <stdio.h>
#include <string.h>


START_TEST(kafka_produce_then_consume_round_trip)
{
	redstore_client *c = rs_test_client();
	rd_kafka_conf_t *conf;
	rd_kafka_t *consumer;
	rd_kafka_topic_partition_list_t *topics;
	char topic[128], payload[128], group[64], errstr[256];
	int found = 0;
	int64_t deadline;

	redstore__kafka_topic(topic, sizeof(topic), &c->set, "sales");
	rs_test_unique(payload, sizeof(payload), "roundtrip");
	RS_OK(redstore__kafka_produce_sync(c, topic, "store-rt", payload, strlen(payload)));

	RS_OK(redstore__kafka_conf(&conf, redstore_client_config(c)));
	rs_test_unique(group, sizeof(group), "g");
	ck_assert_int_eq(rd_kafka_conf_set(conf, "group.id", group, errstr, sizeof(errstr)), RD_KAFKA_CONF_OK);
	ck_assert_int_eq(rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", errstr, sizeof(errstr)), RD_KAFKA_CONF_OK);
	consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
	ck_assert_msg(consumer != NULL, "%s", errstr);
	rd_kafka_poll_set_consumer(consumer);
	topics = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(topics, topic, RD_KAFKA_PARTITION_UA);
	ck_assert_int_eq(rd_kafka_subscribe(consumer, topics), 0);
	rd_kafka_topic_partition_list_destroy(topics);
	deadline = redstore__now_us() + 30 * 1000000LL;
	while (!found && redstore__now_us() < deadline) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(consumer, 200);
		if (!m)
			continue;
		if (!m->err && m->len == strlen(payload) && memcmp(m->payload, payload, m->len) == 0) {
			ck_assert_int_eq((int)m->key_len, 8);
			ck_assert(memcmp(m->key, "store-rt", 8) == 0);
			found = 1;
		}
		rd_kafka_message_destroy(m);
	}
	rd_kafka_consumer_close(consumer);
	rd_kafka_destroy(consumer);
	ck_assert_msg(found, "the produced message was not consumed within 30 s");
	redstore_client_free(c);
}
END_TEST

START_TEST(kafka_brokers_down_gives_a_retriable_error_within_the_timeout_then_recovers)
{
	rs_test_mock m;
	int64_t t0, took, deadline;
	int rc;
	rs_test_mock_start(&m, 1500);
	RS_OK(redstore__kafka_produce_sync(m.client, "redstore.sales", "s1", "before", 6));
	rs_test_mock_brokers(&m, 0);
	t0 = redstore__now_us();
	rc = redstore__kafka_produce_sync(m.client, "redstore.sales", "s1", "during", 6);
	took = redstore__now_us() - t0;
	ck_assert_msg(rc != 0 && redstore_err_is_retriable(rc), "got %s: %s", redstore_err_name(rc), redstore_error_last());
	/* Bounded by the 1.5 s delivery timeout, not librdkafka's 300 s default; the margin is for a loaded
	 * 2-core CI machine (8.6 s was seen at load 4). */
	ck_assert_int_lt(took, 20000000);
	rs_test_mock_brokers(&m, 1);
	/* A caller retries a retriable error; the producer reconnects within its backoff (bounded here). */
	deadline = redstore__now_us() + 30 * 1000000LL;
	while ((rc = redstore__kafka_produce_sync(m.client, "redstore.sales", "s1", "after", 5)) != 0) {
		ck_assert_msg(redstore_err_is_retriable(rc), "got %s: %s", redstore_err_name(rc), redstore_error_last());
		ck_assert_msg(redstore__now_us() < deadline, "no recovery within 30 s: %s", redstore_error_last());
	}
	rs_test_mock_stop(&m);
}
END_TEST

START_TEST(kafka_transient_request_errors_are_retried_inside_the_producer)
{
	rs_test_mock m;
	rs_test_mock_start(&m, 10000);
	RS_OK(redstore__kafka_produce_sync(m.client, "redstore.sales", "s1", "warm", 4));
	rd_kafka_mock_push_request_errors(m.mc, RS_TEST_KAFKA_API_PRODUCE, 3, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
	                                  RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT);
	RS_OK(redstore__kafka_produce_sync(m.client, "redstore.sales", "s1", "retried", 7));
	rs_test_mock_stop(&m);
}
END_TEST

START_TEST(kafka_permanent_request_error_is_not_retriable)
{
	rs_test_mock m;
	int rc;
	rs_test_mock_start(&m, 5000);
	RS_OK(redstore__kafka_produce_sync(m.client, "redstore.sales", "s1", "warm", 4));
	rd_kafka_mock_push_request_errors(m.mc, RS_TEST_KAFKA_API_PRODUCE, 1, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
	rc = redstore__kafka_produce_sync(m.client, "redstore.sales", "s1", "denied", 6);
	ck_assert_msg(rc == REDSTORE_EKAFKA, "got %s: %s", redstore_err_name(rc), redstore_error_last());
	ck_assert(!redstore_err_is_retriable(rc));
	rs_test_mock_stop(&m);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("kafka");
	TCase *tc = tcase_create("kafka");
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, kafka_produce_then_consume_round_trip);
	tcase_add_test(tc, kafka_transient_request_errors_are_retried_inside_the_producer);
	tcase_add_test(tc, kafka_permanent_request_error_is_not_retriable);
	suite_add_tcase(s, tc);
	tc = tcase_create("timing");
	tcase_set_tags(tc, "timing");
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, kafka_brokers_down_gives_a_retriable_error_within_the_timeout_then_recovers);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return rs_test_run(suite());
}
