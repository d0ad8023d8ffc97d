/* Helpers shared by the Check suites. */
#ifndef REDSTORE_TESTUTIL_H
#define REDSTORE_TESTUTIL_H

#include <check.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <redstore.h>

/* Fails the test with the library's last error when `expr` is not 0. */
#define RS_OK(expr)                                                                                      \
	do {                                                                                                 \
		int rs_rc_ = (expr);                                                                             \
		ck_assert_msg(rs_rc_ == 0, "%s failed: %s (%s)", #expr, redstore_err_name(rs_rc_),              \
		              redstore_error_last());                                                           \
	} while (0)

/* Asserts that `expr` fails with exactly `code`. */
#define RS_FAILS(code, expr)                                                                             \
	do {                                                                                                 \
		int rs_rc_ = (expr);                                                                             \
		ck_assert_msg(rs_rc_ == (code), "%s gave %s, expected %s (%s)", #expr, redstore_err_name(rs_rc_), \
		              redstore_err_name(code), redstore_error_last());                                  \
	} while (0)

/* The value of an environment variable that a running dev stack must set; fails the test without it. */
const char *rs_test_env(const char *name);

/* A configuration from the REDSTORE_* environment (the dev stack's). */
redstore_config *rs_test_config(void);

/* A client on the dev stack. */
redstore_client *rs_test_client(void);

/* A loopback TCP port that nothing listens on (asked from the kernel, then released). */
int rs_test_free_port(void);

/* A loopback listener that accepts connections into its backlog but never answers: a hung server.
 * Returns the listening fd; *port receives its port. Close the fd to stop it. */
int rs_test_blackhole(int *port);

/* A name unique to this process and call: prefix-<pid>-<counter>-<random>. */
const char *rs_test_unique(char *buf, size_t cap, const char *prefix);

/* The dev stack's database URL with another database name. */
const char *rs_test_db_url(char *buf, size_t cap, const char *base_url, const char *dbname);

/* Creates a fresh store (EUR, prices include tax unless `exclusive`, tax classes "standard" 20 % and
 * "reduced" 5.5 %) with a unique id starting with `prefix`, selects it on the client, and writes its id
 * into `store` (65 bytes). */
void rs_test_store(redstore_client *c, const char *prefix, char *store, int exclusive);

/* Creates a product in the client's store and receives `stock` units of it (no receipt when 0). */
void rs_test_product(redstore_client *c, const char *sku, int64_t price, const char *tax_class,
                     redstore_stock_policy policy, int64_t stock);

/* Commits a one-line cash sale of `qty` units of `sku`; copies its sync stream id into stream_id
 * (REDSTORE_STREAM_ID_SIZE bytes) unless NULL. */
void rs_test_sell(redstore_client *c, const char *sku, int64_t qty, char *stream_id);

/* The available stock of a SKU in the client's store. */
int64_t rs_test_available(redstore_client *c, const char *sku);

/* A consumer of <kafka.topic_prefix><domain> that starts at each partition's end as of this call, so it
 * sees exactly the events produced afterwards. */
typedef struct rs_test_watch rs_test_watch;
rs_test_watch *rs_test_watch_start(const redstore_config *cfg, const char *domain);
/* Reads until an event whose JSON contains both needles arrives (1) or timeout_ms passes (0); frees w. */
int rs_test_watch_find(rs_test_watch *w, const char *needle1, const char *needle2, int timeout_ms);

/* An in-process mock Kafka cluster of 3 brokers (topics redstore.sales, .inventory, .catalog with 4
 * partitions) and a client of the dev stack's Redis and PostgreSQL whose Kafka is that cluster. Its fault
 * API (rd_kafka_mock_*) injects broker outages and request errors. */
typedef struct rs_test_mock {
	rd_kafka_t *rk;
	rd_kafka_mock_cluster_t *mc;
	redstore_client *client;
} rs_test_mock;

/* The Produce request's ApiKey in the Kafka protocol (librdkafka keeps its table private). */
#define RS_TEST_KAFKA_API_PRODUCE 0

void rs_test_mock_start(rs_test_mock *m, int delivery_timeout_ms);
/* Takes every broker down (up = 0) or brings them back (up = 1). */
void rs_test_mock_brokers(rs_test_mock *m, int up);
void rs_test_mock_stop(rs_test_mock *m);

/* Milliseconds on the monotonic clock, for deadlines. */
int64_t rs_test_now_ms(void);
/* Waits `ms` between two looks at a condition that has no notification (always with a deadline). */
void rs_test_pause_ms(int ms);

/* Runs one Check suite and returns the process exit code. */
int rs_test_run(Suite *s);

#endif
