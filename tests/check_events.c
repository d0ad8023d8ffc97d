/* Events: the store partitioner (Java-compatible murmur2, pinning) and the strict envelope decoder. */
#include "testutil.h"
#include "events/events_int.h"

#include <stdio.h>
#include <string.h>

START_TEST(events_murmur2_matches_kafkas_published_vectors)
{
	/* org.apache.kafka.common.utils.UtilsTest.testMurmur2 */
	static const struct { const char *in; int32_t want; } v[] = {
		{ "21", -973932308 },
		{ "foobar", -790332482 },
		{ "a-little-bit-long-string", -985981536 },
		{ "a-little-bit-longer-string", -1486304829 },
		{ "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971 },
		{ "abc", 479470107 },
		{ "", 275646681 },
	};
	int32_t p;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		ck_assert_msg(redstore_murmur2(v[i].in, strlen(v[i].in)) == v[i].want, "murmur2(\"%s\") = %d, want %d", v[i].in,
		              redstore_murmur2(v[i].in, strlen(v[i].in)), v[i].want);
	/* Java: Utils.toPositive(murmur2("foobar")) % 50 */
	RS_OK(redstore_store_partition(&p, NULL, "foobar", 50));
	ck_assert_int_eq(p, 16);
}
END_TEST

START_TEST(events_partitioner_agrees_with_librdkafkas_murmur2_partitioner)
{
	unsigned seed = 12345;
	for (int i = 0; i < 5000; i++) {
		char store[65];
		int len = 1 + rand_r(&seed) % 64;
		int32_t cnt = 1 + rand_r(&seed) % 200, ours;
		for (int k = 0; k < len; k++)
			store[k] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"[rand_r(&seed) % 64];
		store[len] = '\0';
		RS_OK(redstore_store_partition(&ours, NULL, store, cnt));
		ck_assert_msg(ours == rd_kafka_msg_partitioner_murmur2(NULL, store, (size_t)len, cnt, NULL, NULL),
		              "store %s over %d partitions: ours %d", store, cnt, ours);
	}
}
END_TEST

START_TEST(events_partition_map_pins_named_stores_only)
{
	redstore_config *cfg;
	int32_t p, hashed;
	RS_OK(redstore_config_new(&cfg));
	RS_OK(redstore_config_set(cfg, "kafka.partition.map", "flagship=5,outlet-2=0"));
	RS_OK(redstore_store_partition(&p, cfg, "flagship", 12));
	ck_assert_int_eq(p, 5);
	RS_OK(redstore_store_partition(&p, cfg, "outlet-2", 12));
	ck_assert_int_eq(p, 0);
	RS_OK(redstore_store_partition(&hashed, NULL, "outlet-3", 12));
	RS_OK(redstore_store_partition(&p, cfg, "outlet-3", 12));
	ck_assert_int_eq(p, hashed);
	/* a pin past the topic's partitions falls back to the hash */
	RS_OK(redstore_store_partition(&hashed, NULL, "flagship", 4));
	RS_OK(redstore_store_partition(&p, cfg, "flagship", 4));
	ck_assert_int_eq(p, hashed);
	RS_FAILS(REDSTORE_EINVALID, redstore_store_partition(&p, cfg, "bad store", 4));
	RS_FAILS(REDSTORE_EINVALID, redstore_store_partition(&p, cfg, "flagship", 0));
	redstore_config_free(cfg);
}
END_TEST

START_TEST(events_producer_places_each_store_on_its_partition)
{
	static const char *const stores[] = { "pinned", "s-1", "s-2", "s-3", "s-4", "s-5", "s-6", "s-7" };
	rs_test_mock m;
	redstore_config *cfg = NULL;
	rd_kafka_conf_t *conf;
	rd_kafka_t *rk;
	rd_kafka_topic_partition_list_t *parts;
	char err[256];
	int seen = 0;
	int64_t deadline;

	rs_test_mock_start(&m, 5000);
	RS_OK(redstore_config_dup(&cfg, redstore_client_config(m.client)));
	RS_OK(redstore_config_set(cfg, "kafka.partition.map", "pinned=3"));
	redstore_client_free(m.client);
	RS_OK(redstore_client_new(&m.client, cfg));
	for (size_t i = 0; i < 8; i++)
		RS_OK(redstore__kafka_produce_sync(m.client, "redstore.sales", stores[i], stores[i], strlen(stores[i])));
	RS_OK(redstore__kafka_conf(&conf, cfg));
	ck_assert_int_eq(rd_kafka_conf_set(conf, "group.id", "placement", err, sizeof(err)), RD_KAFKA_CONF_OK);
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
	ck_assert_ptr_nonnull(rk);
	parts = rd_kafka_topic_partition_list_new(4);
	for (int p = 0; p < 4; p++)
		rd_kafka_topic_partition_list_add(parts, "redstore.sales", p)->offset = RD_KAFKA_OFFSET_BEGINNING;
	ck_assert_int_eq(rd_kafka_assign(rk, parts), 0);
	rd_kafka_topic_partition_list_destroy(parts);
	deadline = redstore__now_us() + 20000000;
	while (seen < 8 && redstore__now_us() < deadline) {
		rd_kafka_message_t *msg = rd_kafka_consumer_poll(rk, 200);
		int32_t want;
		char store[65];
		if (!msg)
			continue;
		if (!msg->err) {
			snprintf(store, sizeof(store), "%.*s", (int)msg->key_len, (const char *)msg->key);
			RS_OK(redstore_store_partition(&want, cfg, store, 4));
			ck_assert_msg(msg->partition == want, "store %s landed on %d, expected %d", store, msg->partition, want);
			if (!strcmp(store, "pinned"))
				ck_assert_int_eq(msg->partition, 3);
			seen++;
		}
		rd_kafka_message_destroy(msg);
	}
	ck_assert_int_eq(seen, 8);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	redstore_config_free(cfg);
	rs_test_mock_stop(&m);
}
END_TEST

static const char good[] =
	"{\"id\":\"01a21261-03e1-7c10-8002-a45acaf22344\",\"type\":\"sale.completed\",\"schema_version\":1,"
	"\"store_id\":\"s1\",\"terminal_id\":\"t1\",\"employee_id\":\"\",\"occurred_at\":\"2026-11-25T10:31:06.123Z\","
	"\"recorded_at\":\"2026-11-25T10:31:06Z\",\"payload\":{\"total\":1919}}";

START_TEST(events_decoder_reads_what_the_encoder_writes)
{
	redstore_client *c;
	redstore_event *e;
	cJSON *payload = cJSON_Parse("{\"lines\":[1,2,3],\"note\":\"caf\\u00e9\"}");
	char *text;
	RS_OK(redstore_client_new(&c, NULL));
	RS_OK(redstore_client_use_store(c, "store-9"));
	RS_OK(redstore_client_set_actor(c, "till-2", "emp-5"));
	text = redstore__event_encode(c, NULL, "01a21261-03e1-7c10-8002-a45acaf22344", "inventory.received",
	                              1795603840123LL, payload);
	ck_assert_ptr_nonnull(text);
	RS_OK(redstore_event_decode(&e, text, strlen(text)));
	ck_assert_str_eq(e->type, "inventory.received");
	ck_assert_str_eq(e->store_id, "store-9");
	ck_assert_str_eq(e->terminal_id, "till-2");
	ck_assert_str_eq(e->employee_id, "emp-5");
	ck_assert_int_eq(e->occurred_at_ms, 1795603840123LL);
	ck_assert_int_eq(e->schema_version, REDSTORE_EVENT_SCHEMA);
	ck_assert_ptr_nonnull(strstr(e->payload_json, "\"lines\":[1,2,3]"));
	redstore_event_free(e);
	RS_OK(redstore_event_decode(&e, good, strlen(good)));
	ck_assert_int_eq(e->recorded_at_ms % 1000, 0);
	redstore_event_free(e);
	redstore_event_free(NULL);
	free(text);
	cJSON_Delete(payload);
	redstore_client_free(c);
}
END_TEST

/* Replaces the first occurrence of `from` in `good` by `to`. */
static void mutate(char *out, size_t cap, const char *from, const char *to)
{
	const char *at = strstr(good, from);
	ck_assert_ptr_nonnull(at);
	snprintf(out, cap, "%.*s%s%s", (int)(at - good), good, to, at + strlen(from));
}

START_TEST(events_decoder_rejects_malformed_events_with_a_reason)
{
	static const struct { const char *from, *to, *reason; } cases[] = {
		{ "\"schema_version\":1", "\"schema_version\":2", "unknown schema_version 2" },
		{ "\"schema_version\":1", "\"schema_version\":\"1\"", "schema_version is not an integer" },
		{ "\"schema_version\":1,", "", "schema_version is missing" },
		{ "01a21261-03e1-7c10-8002-a45acaf22344", "not-a-uuid", "not a UUID" },
		{ "\"type\":\"sale.completed\"", "\"type\":\"SALE\"", "type" },
		{ "\"type\":\"sale.completed\",", "", "type is missing" },
		{ "\"store_id\":\"s1\"", "\"store_id\":\"{s:x}\"", "store" },
		{ "\"store_id\":\"s1\"", "\"store_id\":\"\"", "store_id is empty" },
		{ "\"store_id\":\"s1\"", "\"store_id\":7", "store_id is not a string" },
		{ "\"terminal_id\":\"t1\",", "", "terminal_id is missing" },
		{ "2026-11-25T10:31:06.123Z", "2026-11-25T10:31:06.123+01:00", "UTC" },
		{ "2026-11-25T10:31:06.123Z", "yesterday", "RFC 3339" },
		{ "2026-11-25T10:31:06.123Z", "2026-13-25T10:31:06.123Z", "out of range" },
		{ "{\"total\":1919}", "[1919]", "payload is not an object" },
		{ ",\"payload\":{\"total\":1919}", "", "payload is missing" },
		{ "\"employee_id\":\"\"", "\"employee_id\":\"\",\"extra\":1", "unknown field \"extra\"" },
		{ "\"employee_id\":\"\"", "\"employee_id\":\"\",\"employee_id\":\"x\"", "appears twice" },
		{ "{\"id\"", "[{\"id\"", "not a JSON object" },
	};
	char buf[2048];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		redstore_event *e = (redstore_event *)1;
		mutate(buf, sizeof(buf), cases[i].from, cases[i].to);
		RS_FAILS(REDSTORE_EDECODE, redstore_event_decode(&e, buf, strlen(buf)));
		ck_assert_ptr_null(e);
		ck_assert_msg(strstr(redstore_error_last(), cases[i].reason), "case %zu: \"%s\" lacks \"%s\"", i,
		              redstore_error_last(), cases[i].reason);
	}
	{
		redstore_event *e;
		size_t big = REDSTORE_EVENT_MAX_BYTES + 1;
		char *huge = malloc(big);
		memset(huge, ' ', big);
		RS_FAILS(REDSTORE_ELIMIT, redstore_event_decode(&e, huge, big));
		ck_assert_ptr_null(e);
		RS_FAILS(REDSTORE_EDECODE, redstore_event_decode(&e, good, strlen(good) - 1)); /* truncated */
		free(huge);
	}
}
END_TEST

START_TEST(events_topics_present_are_checked_against_the_configuration)
{
	redstore_config *cfg = rs_test_config();
	redstore_client *c;
	redstore_topic_status st[REDSTORE_TOPIC_COUNT];
	/* The dev stack's cluster has every topic, with 6 partitions. */
	RS_OK(redstore_config_set(cfg, "kafka.partitions", "6"));
	RS_OK(redstore_client_new(&c, cfg));
	RS_OK(redstore_events_ensure_topics(st, c, 5000));
	for (int i = 0; i < REDSTORE_TOPIC_COUNT; i++) {
		ck_assert_msg(st[i].existed, "%s missing", st[i].name);
		ck_assert_int_eq(st[i].created, 0);
		ck_assert_msg(st[i].warning[0] == '\0', "%s: %s", st[i].name, st[i].warning);
	}
	ck_assert_str_eq(st[0].name, "redstore.sales");
	redstore_client_free(c);
	RS_OK(redstore_config_set(cfg, "kafka.partitions", "12"));
	RS_OK(redstore_client_new(&c, cfg));
	RS_OK(redstore_events_ensure_topics(st, c, 5000));
	ck_assert_ptr_nonnull(strstr(st[0].warning, "fewer than kafka.partitions (12)"));
	redstore_client_free(c);
	redstore_config_free(cfg);
}
END_TEST

START_TEST(events_topics_creation_unanswered_ends_in_bounded_time_with_a_warning)
{
	rs_test_mock m;
	redstore_config *cfg;
	redstore_client *c;
	redstore_topic_status st[REDSTORE_TOPIC_COUNT];
	char prefix[64];
	int64_t t0;
	rs_test_mock_start(&m, 5000);
	RS_OK(redstore_config_dup(&cfg, redstore_client_config(m.client)));
	snprintf(prefix, sizeof(prefix), "fresh%d.", (int)(redstore__now_us() % 100000));
	RS_OK(redstore_config_set(cfg, "kafka.topic_prefix", prefix));
	RS_OK(redstore_client_new(&c, cfg));
	t0 = redstore__now_us();
	RS_OK(redstore_events_ensure_topics(st, c, 1500));
	ck_assert_int_lt(redstore__now_us() - t0, 5000000);
	for (int i = 0; i < REDSTORE_TOPIC_COUNT; i++) {
		ck_assert_int_eq(st[i].existed, 0);
		/* librdkafka 2.0's mock cluster does not answer CreateTopics; a real cluster creates them. */
		ck_assert_msg(st[i].created || strstr(st[i].warning, "CreateTopics"), "%s: %s", st[i].name, st[i].warning);
	}
	RS_FAILS(REDSTORE_EINVALID, redstore_events_ensure_topics(st, c, 10));
	redstore_client_free(c);
	redstore_config_free(cfg);
	rs_test_mock_stop(&m);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("events");
	TCase *tc = tcase_create("events");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, events_murmur2_matches_kafkas_published_vectors);
	tcase_add_test(tc, events_partitioner_agrees_with_librdkafkas_murmur2_partitioner);
	tcase_add_test(tc, events_partition_map_pins_named_stores_only);
	tcase_add_test(tc, events_producer_places_each_store_on_its_partition);
	tcase_add_test(tc, events_decoder_reads_what_the_encoder_writes);
	tcase_add_test(tc, events_decoder_rejects_malformed_events_with_a_reason);
	tcase_add_test(tc, events_topics_present_are_checked_against_the_configuration);
	tcase_add_test(tc, events_topics_creation_unanswered_ends_in_bounded_time_with_a_warning);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return rs_test_run(suite());
}
