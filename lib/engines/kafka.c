/* The client's Kafka producer: idempotent, acks=all, created lazily; synchronous produce for callers
 * that must not return before the brokers acknowledged. */
#include "engines/engines_int.h"

#include <stdio.h>

void redstore__kafka_drop(redstore_client *c)
{
	if (c->producer) {
		rd_kafka_flush(c->producer, (int)c->set.kafka_delivery_timeout_ms);
		rd_kafka_destroy(c->producer);
		c->producer = NULL;
	}
}

const char *redstore__kafka_topic(char *buf, size_t cap, const redstore__settings *set, const char *domain)
{
	snprintf(buf, cap, "%s%s", set->kafka_topic_prefix, domain);
	return buf;
}

int redstore__kafka_err(rd_kafka_resp_err_t err)
{
	switch (err) {
	case RD_KAFKA_RESP_ERR_NO_ERROR:
		return 0;
	case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
	case RD_KAFKA_RESP_ERR__TIMED_OUT:
	case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
		return REDSTORE_ETIMEOUT;
	case RD_KAFKA_RESP_ERR__TRANSPORT:
	case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
	case RD_KAFKA_RESP_ERR__RESOLVE:
		return REDSTORE_ECONNECT;
	case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
	case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
	case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
	case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
	case RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
	case RD_KAFKA_RESP_ERR__QUEUE_FULL:
	case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
	case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
	case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
	case RD_KAFKA_RESP_ERR__FATAL:
	/* A commit during a rebalance: the offsets stay stored and go with the next commit. */
	case RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS:
	case RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION:
	case RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID:
		return REDSTORE_EUNAVAILABLE;
	default:
		return REDSTORE_EKAFKA;
	}
}

/* A library does not write to stderr: librdkafka's logs and error events are dropped here; failures
 * reach the caller as error codes (delivery reports, metadata answers). */
static void quiet_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
}

static void quiet_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
}

static int conf_set(rd_kafka_conf_t *conf, const char *key, const char *value)
{
	char err[256];
	if (rd_kafka_conf_set(conf, key, value, err, sizeof(err)) != RD_KAFKA_CONF_OK)
		return redstore__fail(REDSTORE_EINVALID, "kafka: setting %s=%s: %s", key, value, err);
	return 0;
}

int redstore__kafka_conf(rd_kafka_conf_t **out, const redstore_config *cfg)
{
	const char *brokers = redstore__config_str(cfg, REDSTORE_CFG_KAFKA_BROKERS);
	char setup[32];
	rd_kafka_conf_t *conf;
	int rc = 0;

	*out = NULL;
	if (!brokers[0])
		return redstore__fail(REDSTORE_EINVALID, "kafka.brokers is empty: run `scripts/dev-stack up` (it starts "
		                      "the embedded cluster and exports REDSTORE_KAFKA_BROKERS) or point it at Kafka");
	if (!(conf = rd_kafka_conf_new()))
		return redstore__fail(REDSTORE_ENOMEM, "kafka: out of memory");
	snprintf(setup, sizeof(setup), "%lld", (long long)redstore__config_int(cfg, REDSTORE_CFG_KAFKA_CONNECT_TIMEOUT_MS));
	if ((rc = conf_set(conf, "bootstrap.servers", brokers)) ||
	    (rc = conf_set(conf, "client.id", redstore__config_str(cfg, REDSTORE_CFG_KAFKA_CLIENT_ID))) ||
	    (rc = conf_set(conf, "socket.connection.setup.timeout.ms", setup)) ||
	    (rc = conf_set(conf, "log_level", "3"))) {
		rd_kafka_conf_destroy(conf);
		return rc;
	}
	rd_kafka_conf_set_log_cb(conf, quiet_log);
	rd_kafka_conf_set_error_cb(conf, quiet_error);
	*out = conf;
	return 0;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	redstore__delivery *d = m->_private;
	if (d) {
		d->err = m->err;
		d->maybe_written = m->err && rd_kafka_message_status(m) != RD_KAFKA_MSG_STATUS_NOT_PERSISTED;
		d->done = true;
	}
}

/* The store-affinity partitioner (redstore_store_partition); the topic's opaque is the client's settings. */
static int32_t store_partitioner(const rd_kafka_topic_t *rkt, const void *key, size_t keylen, int32_t partition_cnt,
                                 void *rkt_opaque, void *msg_opaque)
{
	char store[65];
	int32_t p;
	if (key && keylen > 0 && keylen < sizeof(store)) {
		memcpy(store, key, keylen);
		store[keylen] = '\0';
		const redstore__settings *set = rkt_opaque;
		if (redstore__store_partition(&p, set->kafka_partition_map, store, partition_cnt) == 0)
			return p;
	}
	/* Not a store id: what the Java client does with any key. */
	return (int32_t)(((uint32_t)redstore_murmur2(key ? key : "", key ? keylen : 0) & 0x7fffffffu) %
	                 (uint32_t)(partition_cnt > 0 ? partition_cnt : 1));
}

int redstore__kafka_producer(rd_kafka_t **out, redstore_client *c)
{
	rd_kafka_conf_t *conf;
	char timeout[32], err[512];
	int rc;

	*out = NULL;
	if (c->producer) {
		/* An idempotent producer that hit a fatal error must be replaced. */
		if (rd_kafka_fatal_error(c->producer, err, sizeof(err)) == RD_KAFKA_RESP_ERR_NO_ERROR) {
			*out = c->producer;
			return 0;
		}
		rd_kafka_destroy(c->producer);
		c->producer = NULL;
	}
	if ((rc = redstore__kafka_conf(&conf, c->cfg)))
		return rc;
	snprintf(timeout, sizeof(timeout), "%lld",
	         (long long)c->set.kafka_delivery_timeout_ms);
	/* The partitioner lives in the default topic configuration. Installing one REPLACES the topic
	 * properties set so far (message.timeout.ms, acks), so it goes first and they are set after it. */
	{
		rd_kafka_topic_conf_t *tconf = rd_kafka_topic_conf_new();
		if (!tconf) {
			rd_kafka_conf_destroy(conf);
			return redstore__fail(REDSTORE_ENOMEM, "kafka: out of memory");
		}
		rd_kafka_topic_conf_set_partitioner_cb(tconf, store_partitioner);
		rd_kafka_topic_conf_set_opaque(tconf, &c->set);
		rd_kafka_conf_set_default_topic_conf(conf, tconf);
	}
	if ((rc = conf_set(conf, "enable.idempotence", "true")) || (rc = conf_set(conf, "acks", "all")) ||
	    (rc = conf_set(conf, "message.timeout.ms", timeout)) || (rc = conf_set(conf, "linger.ms", "1"))) {
		rd_kafka_conf_destroy(conf);
		return rc;
	}

	rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
	if (!(c->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err)))) {
		rd_kafka_conf_destroy(conf);
		return redstore__fail(REDSTORE_EKAFKA, "kafka: cannot create producer: %s", err);
	}
	*out = c->producer;
	return 0;
}

int redstore__kafka_produce_sync(redstore_client *c, const char *topic, const char *key, const void *value,
                                 size_t len)
{
	return redstore__kafka_produce_sync2(c, topic, key, value, len, NULL);
}

int redstore__kafka_produce_sync2(redstore_client *c, const char *topic, const char *key, const void *value,
                                  size_t len, bool *maybe_written)
{
	return redstore__kafka_produce_with(c, topic, key, key ? strlen(key) : 0, value, len, NULL, maybe_written);
}

int redstore__kafka_produce_with(redstore_client *c, const char *topic, const void *key, size_t keylen,
                                 const void *value, size_t len, rd_kafka_headers_t *headers, bool *maybe_written)
{
	rd_kafka_t *rk;
	redstore__delivery d = { false, RD_KAFKA_RESP_ERR_NO_ERROR, false };
	rd_kafka_resp_err_t err;
	int rc;

	if (maybe_written)
		*maybe_written = false;
	if ((rc = redstore__kafka_producer(&rk, c)))
		return rc;
	err = headers ? rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, keylen),
	                                  RD_KAFKA_V_VALUE((void *)value, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
	                                  RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(&d), RD_KAFKA_V_END)
	              : rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, keylen),
	                                  RD_KAFKA_V_VALUE((void *)value, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
	                                  RD_KAFKA_V_OPAQUE(&d), RD_KAFKA_V_END);
	if (err && headers)
		rd_kafka_headers_destroy(headers); /* not taken: still ours */
	if (err)
		return redstore__fail(redstore__kafka_err(err), "kafka: cannot produce to %s: %s", topic, rd_kafka_err2str(err));
	/* librdkafka reports every message within message.timeout.ms: `d` stays valid until then. */
	while (!d.done)
		rd_kafka_poll(rk, 100);
	if (maybe_written)
		*maybe_written = d.maybe_written;
	if (d.err)
		return redstore__fail(redstore__kafka_err(d.err), "kafka: %s not acknowledged: %s%s", topic,
		                      rd_kafka_err2str(d.err),
		                      d.maybe_written ? " (may have been written)" : " (definitely not written)");
	return 0;
}

int redstore__kafka_health(redstore_engine_health *h, redstore_client *c)
{
	rd_kafka_t *rk;
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_resp_err_t err;
	int64_t t0;
	int rc;

	if ((rc = redstore__kafka_producer(&rk, c)))
		return rc;
	t0 = redstore__now_us();
	err = rd_kafka_metadata(rk, 0, NULL, &md,
	                        (int)c->set.kafka_connect_timeout_ms);
	if (err)
		return redstore__fail(err == RD_KAFKA_RESP_ERR__TIMED_OUT ? REDSTORE_ECONNECT : redstore__kafka_err(err),
		                      "kafka %s: no metadata: %s", c->set.kafka_brokers,
		                      rd_kafka_err2str(err));
	h->latency_us = redstore__now_us() - t0;
	h->ok = 1;
	snprintf(h->version, sizeof(h->version), "%d brokers", md->broker_cnt);
	snprintf(h->detail, sizeof(h->detail), "%s (%d topics)", c->set.kafka_brokers,
	         md->topic_cnt);
	rd_kafka_metadata_destroy(md);
	return 0;
}
