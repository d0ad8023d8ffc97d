/* Configuration: the property table, env overrides, validation, the generated reference. */
#include "testutil.h"
#include "core/core_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A valid, non-default value for every string key. A new string key without one fails the test. */
static const char *sample_value(const redstore_config_property *p)
{
	static char buf[64];
	static const struct { const char *key, *value; } samples[] = {
		{ "store.id", "store-7" },
		{ "redis.url", "redis://pos:s3cret@10.1.2.3:7000/3" },
		{ "database.url", "host=db.internal port=6543 dbname=pos user=app" },
		{ "kafka.brokers", "k1.internal:9092,k2.internal:9093" },
		{ "kafka.topic_prefix", "acme." },
		{ "kafka.partition.map", "flagship=0,outlet-2=5" },
		{ "kafka.client_id", "pos-east" },
		{ "auth.secret", "0123456789abcdef0123456789abcdef-sample" },
		{ "bridge.listen", "0.0.0.0:9000" },
		{ "bridge.upstream", "https://pos.example.com:8443" },
		{ "bridge.token", "sample.session.token" },
		{ "bridge.local_token", "sample-local-token-0123" },
		{ "bridge.journal", "/var/lib/redstore/bridge.db" },
	};
	long long lo, hi;

	switch (p->type) {
	case REDSTORE_CONFIG_INT:
		ck_assert_int_eq(sscanf(p->range, "%lld..%lld", &lo, &hi), 2);
		snprintf(buf, sizeof(buf), "%lld", strtoll(p->default_value, NULL, 10) == hi ? lo : hi);
		return buf;
	case REDSTORE_CONFIG_BOOL:
		return strcmp(p->default_value, "true") == 0 ? "false" : "true";
	case REDSTORE_CONFIG_ENUM:
		return strrchr(p->range, '|') + 1;
	default:
		for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++)
			if (strcmp(samples[i].key, p->key) == 0)
				return samples[i].value;
	}
	ck_abort_msg("no sample value for string key %s: add one to check_config.c", p->key);
	return NULL;
}

START_TEST(config_defaults_come_from_the_table)
{
	redstore_config *cfg;
	RS_OK(redstore_config_new(&cfg));
	ck_assert_uint_gt(redstore_config_property_count(), 10);
	for (size_t i = 0; i < redstore_config_property_count(); i++) {
		const redstore_config_property *p = redstore_config_property_at(i);
		const char *v;
		RS_OK(redstore_config_get(&v, cfg, p->key));
		ck_assert_str_eq(v, p->default_value);
		ck_assert_ptr_nonnull(p->doc);
		ck_assert_uint_gt(strlen(p->doc), 10);
	}
	ck_assert_ptr_null(redstore_config_property_at(redstore_config_property_count()));
	redstore_config_free(cfg);
}
END_TEST

START_TEST(config_every_key_can_be_set_and_read_back)
{
	redstore_config *cfg;
	RS_OK(redstore_config_new(&cfg));
	for (size_t i = 0; i < redstore_config_property_count(); i++) {
		const redstore_config_property *p = redstore_config_property_at(i);
		const char *want = sample_value(p), *got;
		RS_OK(redstore_config_set(cfg, p->key, want));
		RS_OK(redstore_config_get(&got, cfg, p->key));
		ck_assert_str_eq(got, want);
	}
	redstore_config_free(cfg);
}
END_TEST

START_TEST(config_every_key_reads_its_environment_variable)
{
	redstore_config *cfg;
	RS_OK(redstore_config_new(&cfg));
	for (size_t i = 0; i < redstore_config_property_count(); i++) {
		const redstore_config_property *p = redstore_config_property_at(i);
		char expect_env[128];
		size_t n = (size_t)snprintf(expect_env, sizeof(expect_env), "REDSTORE_");
		for (const char *k = p->key; *k; k++)
			expect_env[n++] = *k == '.' ? '_' : (char)(*k >= 'a' && *k <= 'z' ? *k - 32 : *k);
		expect_env[n] = '\0';
		ck_assert_str_eq(p->env, expect_env);
		ck_assert_int_eq(setenv(p->env, sample_value(p), 1), 0);
	}
	ck_assert_str_eq(getenv("REDSTORE_REDIS_URL"), "redis://pos:s3cret@10.1.2.3:7000/3");
	RS_OK(redstore_config_load_env(cfg));
	for (size_t i = 0; i < redstore_config_property_count(); i++) {
		const redstore_config_property *p = redstore_config_property_at(i);
		const char *got;
		RS_OK(redstore_config_get(&got, cfg, p->key));
		ck_assert_msg(strcmp(got, getenv(p->env)) == 0, "%s: %s != %s", p->key, got, getenv(p->env));
	}
	redstore_config_free(cfg);
}
END_TEST

START_TEST(config_bad_environment_value_names_the_variable)
{
	redstore_config *cfg;
	RS_OK(redstore_config_new(&cfg));
	setenv("REDSTORE_REDIS_COMMAND_TIMEOUT_MS", "soon", 1);
	RS_FAILS(REDSTORE_EINVALID, redstore_config_load_env(cfg));
	ck_assert_ptr_nonnull(strstr(redstore_error_last(), "REDSTORE_REDIS_COMMAND_TIMEOUT_MS"));
	ck_assert_ptr_nonnull(strstr(redstore_error_last(), "1..600000"));
	redstore_config_free(cfg);
}
END_TEST

START_TEST(config_rejects_bad_values_naming_key_and_form_and_keeps_the_old_one)
{
	static const struct { const char *key, *value, *form; } cases[] = {
		{ "redis.connect_timeout_ms", "0", "1..600000" },
		{ "redis.connect_timeout_ms", "12abc", "1..600000" },
		{ "redis.connect_timeout_ms", "", "1..600000" },
		{ "redis.connect_timeout_ms", "99999999999999999999", "1..600000" },
		{ "kafka.partitions", "-3", "1..10000" },
		{ "redis.url", "http://localhost:6379", "redis://" },
		{ "redis.url", "redis://host:99999/0", "redis://" },
		{ "redis.url", "redis://host:6379/notadb", "redis://" },
		{ "redis.url", "redis://:6379", "redis://" },
		{ "database.url", "postgresql://[::1", "libpq" },
		{ "database.url", "host=x nonsense_key=1", "libpq" },
		{ "kafka.brokers", "localhost", "host:port" },
		{ "kafka.brokers", "a:1,", "host:port" },
		{ "kafka.brokers", "a:0", "host:port" },
		{ "kafka.brokers", "a b:9092", "host:port" },
		{ "kafka.partition.map", "s1", "store=partition" },
		{ "kafka.partition.map", "s1=x", "store=partition" },
		{ "kafka.partition.map", "bad store=1", "store=partition" },
		{ "kafka.topic_prefix", "", "1-64" },
		{ "kafka.topic_prefix", "a/b", "1-64" },
		{ "store.id", "has space", "A-Za-z0-9" },
		{ "store.id", "{s:evil}", "A-Za-z0-9" },
	};
	redstore_config *cfg;
	RS_OK(redstore_config_new(&cfg));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *before, *after;
		char copy[256];
		RS_OK(redstore_config_get(&before, cfg, cases[i].key));
		snprintf(copy, sizeof(copy), "%s", before);
		RS_FAILS(REDSTORE_EINVALID, redstore_config_set(cfg, cases[i].key, cases[i].value));
		ck_assert_msg(strstr(redstore_error_last(), cases[i].key), "message lacks the key: %s", redstore_error_last());
		ck_assert_msg(strstr(redstore_error_last(), cases[i].form), "message lacks the form %s: %s", cases[i].form,
		              redstore_error_last());
		RS_OK(redstore_config_get(&after, cfg, cases[i].key));
		ck_assert_str_eq(after, copy);
	}
	RS_FAILS(REDSTORE_EINVALID, redstore_config_set(cfg, "redis.url", NULL));
	redstore_config_free(cfg);
}
END_TEST

START_TEST(config_unknown_key_is_refused)
{
	redstore_config *cfg;
	const char *v = "x";
	RS_OK(redstore_config_new(&cfg));
	RS_FAILS(REDSTORE_EUNKNOWN_KEY, redstore_config_set(cfg, "redis.uri", "redis://a:1/0"));
	ck_assert_ptr_nonnull(strstr(redstore_error_last(), "redis.uri"));
	RS_FAILS(REDSTORE_EUNKNOWN_KEY, redstore_config_get(&v, cfg, "nope"));
	ck_assert_ptr_null(v);
	RS_FAILS(REDSTORE_EUNKNOWN_KEY, redstore_config_set(cfg, NULL, "x"));
	redstore_config_free(cfg);
}
END_TEST

START_TEST(config_secret_values_never_appear_in_errors)
{
	redstore_config *cfg;
	RS_OK(redstore_config_new(&cfg));
	RS_FAILS(REDSTORE_EINVALID, redstore_config_set(cfg, "redis.url", "redis://admin:hunter2@host:notaport/0"));
	ck_assert_ptr_null(strstr(redstore_error_last(), "hunter2"));
	RS_FAILS(REDSTORE_EINVALID, redstore_config_set(cfg, "database.url", "postgresql://u:hunter2@[::1"));
	ck_assert_ptr_null(strstr(redstore_error_last(), "hunter2"));
	redstore_config_free(cfg);
}
END_TEST

START_TEST(config_bridge_keys_reject_bad_values)
{
	redstore_config *cfg;
	static const char *const bad_listen[] = { "8090", "localhost:8090", "1.2.3:80", "256.0.0.1:80", "1.2.3.4:",
		                                      "1.2.3.4:99999", "1.2.3.4:8o", NULL };
	static const char *const bad_url[] = { "ftp://h", "http://", "http:///x", "http://h/path", "http://h p", NULL };
	RS_OK(redstore_config_new(&cfg));
	for (const char *const *v = bad_listen; *v; v++)
		RS_FAILS(REDSTORE_EINVALID, redstore_config_set(cfg, "bridge.listen", *v));
	RS_OK(redstore_config_set(cfg, "bridge.listen", "0.0.0.0:0"));
	for (const char *const *v = bad_url; *v; v++)
		RS_FAILS(REDSTORE_EINVALID, redstore_config_set(cfg, "bridge.upstream", *v));
	RS_OK(redstore_config_set(cfg, "bridge.upstream", "http://10.0.0.2:8080/"));
	RS_OK(redstore_config_set(cfg, "bridge.upstream", ""));
	/* tokens are secret: a rejected one is never echoed */
	RS_FAILS(REDSTORE_EINVALID, redstore_config_set(cfg, "bridge.token", "hunter2 with a space"));
	ck_assert_ptr_null(strstr(redstore_error_last(), "hunter2"));
	RS_FAILS(REDSTORE_EINVALID, redstore_config_set(cfg, "bridge.local_token", "hunter2\n"));
	ck_assert_ptr_null(strstr(redstore_error_last(), "hunter2"));
	RS_FAILS(REDSTORE_EINVALID, redstore_config_set(cfg, "bridge.journal", ""));
	RS_FAILS(REDSTORE_EINVALID, redstore_config_set(cfg, "bridge.ring_events", "8"));
	redstore_config_free(cfg);
}
END_TEST

START_TEST(config_dup_is_independent)
{
	redstore_config *a, *b;
	const char *v;
	RS_OK(redstore_config_new(&a));
	RS_OK(redstore_config_set(a, "store.id", "one"));
	RS_OK(redstore_config_dup(&b, a));
	RS_OK(redstore_config_set(a, "store.id", "two"));
	redstore_config_free(a);
	RS_OK(redstore_config_get(&v, b, "store.id"));
	ck_assert_str_eq(v, "one");
	redstore_config_free(b);
	redstore_config_free(NULL);
}
END_TEST

START_TEST(config_canonicalises_values)
{
	redstore_config *cfg;
	const char *v;
	RS_OK(redstore_config_new(&cfg));
	RS_OK(redstore_config_set(cfg, "kafka.partitions", "0012"));
	RS_OK(redstore_config_get(&v, cfg, "kafka.partitions"));
	ck_assert_str_eq(v, "12");
	ck_assert_int_eq(redstore__config_int(cfg, REDSTORE_CFG_KAFKA_PARTITIONS), 12);
	redstore_config_free(cfg);
}
END_TEST

START_TEST(config_redis_url_is_parsed_into_its_parts)
{
	redstore__redis_url u;
	ck_assert_int_eq(redstore__redis_url_parse(&u, "redis://pos:pw@10.0.0.5:7001/4"), 0);
	ck_assert_str_eq(u.user, "pos");
	ck_assert_str_eq(u.password, "pw");
	ck_assert_str_eq(u.host, "10.0.0.5");
	ck_assert_int_eq(u.port, 7001);
	ck_assert_int_eq(u.db, 4);
	ck_assert_int_eq(redstore__redis_url_parse(&u, "redis://localhost"), 0);
	ck_assert_str_eq(u.host, "localhost");
	ck_assert_int_eq(u.port, 6379);
	ck_assert_int_eq(u.db, 0);
	ck_assert_str_eq(u.user, "");
	ck_assert_int_eq(redstore__redis_url_parse(&u, "unix:///run/redis.sock?db=2"), 0);
	ck_assert_str_eq(u.path, "/run/redis.sock");
	ck_assert_int_eq(u.db, 2);
	ck_assert_int_ne(redstore__redis_url_parse(&u, "unix://relative.sock"), 0);
	ck_assert_int_ne(redstore__redis_url_parse(&u, "redis://h:1/16"), 0);
}
END_TEST

START_TEST(config_reference_doc_matches_the_table)
{
	char *text, *file = NULL;
	size_t cap = 0, len;
	FILE *f = fopen(REDSTORE_SOURCE_DIR "/docs/CONFIGURATION.md", "r");
	RS_OK(redstore_config_describe(&text));
	ck_assert_msg(f != NULL, "docs/CONFIGURATION.md is missing: run `redstore-cli config-doc > docs/CONFIGURATION.md`");
	len = getdelim(&file, &cap, '\0', f) > 0 ? strlen(file) : 0;
	fclose(f);
	ck_assert_msg(len == strlen(text) && memcmp(file, text, len) == 0,
	              "docs/CONFIGURATION.md is out of date: run `redstore-cli config-doc > docs/CONFIGURATION.md`");
	for (size_t i = 0; i < redstore_config_property_count(); i++)
		ck_assert_ptr_nonnull(strstr(text, redstore_config_property_at(i)->env));
	free(file);
	redstore_free(text);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");
	tcase_add_test(tc, config_defaults_come_from_the_table);
	tcase_add_test(tc, config_every_key_can_be_set_and_read_back);
	tcase_add_test(tc, config_every_key_reads_its_environment_variable);
	tcase_add_test(tc, config_bad_environment_value_names_the_variable);
	tcase_add_test(tc, config_rejects_bad_values_naming_key_and_form_and_keeps_the_old_one);
	tcase_add_test(tc, config_unknown_key_is_refused);
	tcase_add_test(tc, config_secret_values_never_appear_in_errors);
	tcase_add_test(tc, config_bridge_keys_reject_bad_values);
	tcase_add_test(tc, config_dup_is_independent);
	tcase_add_test(tc, config_canonicalises_values);
	tcase_add_test(tc, config_redis_url_is_parsed_into_its_parts);
	tcase_add_test(tc, config_reference_doc_matches_the_table);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return rs_test_run(suite());
}
