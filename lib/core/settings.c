/* The configuration resolved once into typed fields (see redstore__settings in lib/core/core_int.h). */
#include "core/core_int.h"

int redstore__settings_resolve(redstore__settings *out, const redstore_config *cfg)
{
	memset(out, 0, sizeof(*out));
	out->store_id = redstore__config_str(cfg, REDSTORE_CFG_STORE_ID);
	out->redis_url = redstore__config_str(cfg, REDSTORE_CFG_REDIS_URL);
	out->redis_connect_timeout_ms = redstore__config_int(cfg, REDSTORE_CFG_REDIS_CONNECT_TIMEOUT_MS);
	out->redis_command_timeout_ms = redstore__config_int(cfg, REDSTORE_CFG_REDIS_COMMAND_TIMEOUT_MS);
	out->database_url = redstore__config_str(cfg, REDSTORE_CFG_DATABASE_URL);
	out->database_connect_timeout_ms = redstore__config_int(cfg, REDSTORE_CFG_DATABASE_CONNECT_TIMEOUT_MS);
	out->database_command_timeout_ms = redstore__config_int(cfg, REDSTORE_CFG_DATABASE_COMMAND_TIMEOUT_MS);
	out->kafka_brokers = redstore__config_str(cfg, REDSTORE_CFG_KAFKA_BROKERS);
	out->kafka_topic_prefix = redstore__config_str(cfg, REDSTORE_CFG_KAFKA_TOPIC_PREFIX);
	out->kafka_partitions = redstore__config_int(cfg, REDSTORE_CFG_KAFKA_PARTITIONS);
	out->kafka_replication_factor = redstore__config_int(cfg, REDSTORE_CFG_KAFKA_REPLICATION_FACTOR);
	out->kafka_partition_map = redstore__config_str(cfg, REDSTORE_CFG_KAFKA_PARTITION_MAP);
	out->kafka_connect_timeout_ms = redstore__config_int(cfg, REDSTORE_CFG_KAFKA_CONNECT_TIMEOUT_MS);
	out->kafka_delivery_timeout_ms = redstore__config_int(cfg, REDSTORE_CFG_KAFKA_DELIVERY_TIMEOUT_MS);
	out->kafka_client_id = redstore__config_str(cfg, REDSTORE_CFG_KAFKA_CLIENT_ID);
	out->kafka_metadata_refresh_ms = redstore__config_int(cfg, REDSTORE_CFG_KAFKA_METADATA_REFRESH_MS);
	out->sync_stream_maxlen = redstore__config_int(cfg, REDSTORE_CFG_SYNC_STREAM_MAXLEN);
	out->sale_max_lines = redstore__config_int(cfg, REDSTORE_CFG_SALE_MAX_LINES);
	out->auth_secret = redstore__config_str(cfg, REDSTORE_CFG_AUTH_SECRET);
	out->auth_session_ttl_s = redstore__config_int(cfg, REDSTORE_CFG_AUTH_SESSION_TTL_S);
	out->auth_pairing_ttl_s = redstore__config_int(cfg, REDSTORE_CFG_AUTH_PAIRING_TTL_S);
	out->auth_pin_opslimit = redstore__config_int(cfg, REDSTORE_CFG_AUTH_PIN_OPSLIMIT);
	out->auth_pin_memlimit_kib = redstore__config_int(cfg, REDSTORE_CFG_AUTH_PIN_MEMLIMIT_KIB);
	out->auth_lockout_threshold = redstore__config_int(cfg, REDSTORE_CFG_AUTH_LOCKOUT_THRESHOLD);
	out->auth_lockout_base_ms = redstore__config_int(cfg, REDSTORE_CFG_AUTH_LOCKOUT_BASE_MS);
	out->auth_lockout_max_ms = redstore__config_int(cfg, REDSTORE_CFG_AUTH_LOCKOUT_MAX_MS);
	out->auth_supervisor_refund_limit = redstore__config_int(cfg, REDSTORE_CFG_AUTH_SUPERVISOR_REFUND_LIMIT);
	out->jobs_webhook_timeout_ms = redstore__config_int(cfg, REDSTORE_CFG_JOBS_WEBHOOK_TIMEOUT_MS);
	out->shift_max_amount = redstore__config_int(cfg, REDSTORE_CFG_SHIFT_MAX_AMOUNT);
	if (redstore__redis_url_parse(&out->redis, out->redis_url))
		return redstore__fail_wrap(REDSTORE_EINVALID, "redis.url");
	return 0;
}
