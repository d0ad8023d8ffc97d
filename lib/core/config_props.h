/*
 * The configuration property table: the one place where a key, its type, default, range and
 * documentation are defined. It drives validation (lib/core/config.c) and docs/CONFIGURATION.md.
 *
 * X(ID, key, type, default, range, check, secret, doc)
 *   type   STRING, INT, BOOL or ENUM
 *   range  INT: "min..max"; ENUM: "a|b|c"; STRING: the expected form, shown in errors and docs
 *   check  a validator for STRING keys (see lib/core/config.c), or none
 */
REDSTORE_CONFIG_PROPERTY(STORE_ID, "store.id", STRING, "", "empty or 1-64 of [A-Za-z0-9_-]", store_id, 0,
	"The store this process acts for by default (tools and examples). Empty means no default store.")
REDSTORE_CONFIG_PROPERTY(REDIS_URL, "redis.url", STRING, "redis://127.0.0.1:6379/0",
	"redis://[user[:password]@]host[:port][/db] or unix:///path/to/socket[?db=N]", redis_url, 1,
	"Where Redis is. The user and password are sent with AUTH (Redis 6 ACL users).")
REDSTORE_CONFIG_PROPERTY(REDIS_CONNECT_TIMEOUT_MS, "redis.connect_timeout_ms", INT, "2000", "1..600000", none, 0,
	"How long to wait for a Redis connection before REDSTORE_ECONNECT.")
REDSTORE_CONFIG_PROPERTY(REDIS_COMMAND_TIMEOUT_MS, "redis.command_timeout_ms", INT, "5000", "1..600000", none, 0,
	"How long to wait for a Redis reply before REDSTORE_ETIMEOUT (the connection is then dropped).")
REDSTORE_CONFIG_PROPERTY(DATABASE_URL, "database.url", STRING, "postgresql://redstore@127.0.0.1:5432/redstore",
	"a libpq connection URI or key=value string", pg_url, 1,
	"Where PostgreSQL is: any libpq connection string.")
REDSTORE_CONFIG_PROPERTY(DATABASE_CONNECT_TIMEOUT_MS, "database.connect_timeout_ms", INT, "5000", "1..600000", none, 0,
	"How long to wait for a PostgreSQL connection (including authentication) before REDSTORE_ECONNECT.")
REDSTORE_CONFIG_PROPERTY(DATABASE_COMMAND_TIMEOUT_MS, "database.command_timeout_ms", INT, "30000", "1..3600000", none, 0,
	"How long one statement may run: sent as statement_timeout, and enforced by the client too.")
REDSTORE_CONFIG_PROPERTY(KAFKA_BROKERS, "kafka.brokers", STRING, "",
	"empty, or host:port[,host:port...]", brokers, 0,
	"The Kafka bootstrap servers. Empty means the embedded default: `scripts/dev-stack up` starts "
	"redstore-kafka-dev (librdkafka's mock cluster on loopback) and exports its address in "
	"REDSTORE_KAFKA_BROKERS; with neither, calls that need Kafka fail with REDSTORE_EINVALID.")
REDSTORE_CONFIG_PROPERTY(KAFKA_TOPIC_PREFIX, "kafka.topic_prefix", STRING, "redstore.",
	"1-64 of [A-Za-z0-9._-]", topic_prefix, 0,
	"Prefix of every topic: <prefix>sales, <prefix>inventory, <prefix>catalog, <prefix>shifts, <prefix>audit.")
REDSTORE_CONFIG_PROPERTY(KAFKA_PARTITIONS, "kafka.partitions", INT, "6", "1..10000", none, 0,
	"Partitions of each topic the library creates.")
REDSTORE_CONFIG_PROPERTY(KAFKA_REPLICATION_FACTOR, "kafka.replication_factor", INT, "1", "1..32", none, 0,
	"Replication factor of each topic the library creates.")
REDSTORE_CONFIG_PROPERTY(KAFKA_PARTITION_MAP, "kafka.partition.map", STRING, "",
	"empty, or store=partition[,store=partition...]", partition_map, 0,
	"Pins named stores to partitions; every other store goes to murmur2(store id) like a Java client.")
REDSTORE_CONFIG_PROPERTY(KAFKA_CONNECT_TIMEOUT_MS, "kafka.connect_timeout_ms", INT, "5000", "1000..600000", none, 0,
	"How long to wait for a broker connection or a metadata answer before REDSTORE_ECONNECT.")
REDSTORE_CONFIG_PROPERTY(KAFKA_DELIVERY_TIMEOUT_MS, "kafka.delivery_timeout_ms", INT, "10000", "100..900000", none, 0,
	"How long a produced event may wait for the brokers' acknowledgement (acks=all) before the call "
	"that produced it fails with a retriable error.")
REDSTORE_CONFIG_PROPERTY(KAFKA_CLIENT_ID, "kafka.client_id", STRING, "redstore", "1-64 printable characters",
	client_id, 0, "The client.id the producer and consumers present to the brokers.")
REDSTORE_CONFIG_PROPERTY(KAFKA_METADATA_REFRESH_MS, "kafka.metadata_refresh_ms", INT, "5000", "1000..3600000", none, 0,
	"How often consumers refresh the cluster's metadata, and so how soon a pattern subscription sees a new "
	"topic.")
REDSTORE_CONFIG_PROPERTY(SYNC_STREAM_MAXLEN, "sync.stream_maxlen", INT, "100000", "100..100000000", none, 0,
	"How many changes each store's Redis sync stream keeps; a terminal further behind must resync.")
REDSTORE_CONFIG_PROPERTY(SALE_MAX_LINES, "sale.max_lines", INT, "500", "1..10000", none, 0,
	"The most lines one sale may have.")
REDSTORE_CONFIG_PROPERTY(AUTH_SECRET, "auth.secret", STRING, "", "empty, or 32-512 printable characters",
	auth_secret, 1,
	"The server secret that signs employee session tokens (HMAC-SHA256). Every process that issues or "
	"checks sessions needs the same value; empty disables logins (REDSTORE_EINVALID). Changing it ends "
	"every session.")
REDSTORE_CONFIG_PROPERTY(AUTH_SESSION_TTL_S, "auth.session_ttl_s", INT, "3600", "1..86400", none, 0,
	"How long an employee's session token is valid after login.")
REDSTORE_CONFIG_PROPERTY(AUTH_PAIRING_TTL_S, "auth.pairing_ttl_s", INT, "600", "10..86400", none, 0,
	"How long a terminal pairing code may be redeemed (once).")
REDSTORE_CONFIG_PROPERTY(AUTH_PIN_OPSLIMIT, "auth.pin_opslimit", INT, "2", "1..32", none, 0,
	"argon2id passes for new PIN hashes (libsodium opslimit; 2 = crypto_pwhash_OPSLIMIT_INTERACTIVE). "
	"Existing hashes keep the limits they were made with. Values below 2 are for tests only.")
REDSTORE_CONFIG_PROPERTY(AUTH_PIN_MEMLIMIT_KIB, "auth.pin_memlimit_kib", INT, "65536", "8..4194304", none, 0,
	"argon2id memory for new PIN hashes, in KiB (65536 = 64 MiB = crypto_pwhash_MEMLIMIT_INTERACTIVE). "
	"Values below 65536 are for tests only.")
REDSTORE_CONFIG_PROPERTY(AUTH_LOCKOUT_THRESHOLD, "auth.lockout_threshold", INT, "3", "1..100", none, 0,
	"Wrong PINs in a row after which an employee is locked out.")
REDSTORE_CONFIG_PROPERTY(AUTH_LOCKOUT_BASE_MS, "auth.lockout_base_ms", INT, "30000", "1..86400000", none, 0,
	"The first lockout; every further wrong PIN doubles it.")
REDSTORE_CONFIG_PROPERTY(AUTH_LOCKOUT_MAX_MS, "auth.lockout_max_ms", INT, "3600000", "1..604800000", none, 0,
	"The longest lockout.")
REDSTORE_CONFIG_PROPERTY(AUTH_SUPERVISOR_REFUND_LIMIT, "auth.supervisor_refund_limit", INT, "10000",
	"0..1000000000000", none, 0,
	"The largest refund (minor units) a supervisor may give or approve; managers and admins have no limit.")
REDSTORE_CONFIG_PROPERTY(JOBS_WEBHOOK_TIMEOUT_MS, "jobs.webhook_timeout_ms", INT, "10000", "100..300000", none, 0,
	"How long one webhook delivery (connect, send, answer) may take before it counts as failed and is retried.")
REDSTORE_CONFIG_PROPERTY(BRIDGE_LISTEN, "bridge.listen", STRING, "127.0.0.1:8090",
	"IPv4-address:port (port 0: any free port)", listen_addr, 0,
	"Where redstore-bridge listens for the store's terminals (--listen); 0.0.0.0 serves the whole LAN.")
REDSTORE_CONFIG_PROPERTY(BRIDGE_UPSTREAM, "bridge.upstream", STRING, "", "empty, or http[s]://host[:port]",
	http_url, 0,
	"The central redstore-server that redstore-bridge forwards to (--upstream); the bridge needs one.")
REDSTORE_CONFIG_PROPERTY(BRIDGE_TOKEN, "bridge.token", STRING, "", "empty, or 1-2048 printable characters",
	token, 1,
	"The session token redstore-bridge presents upstream (Authorization: Bearer; --token): every sale, "
	"read and the event stream it forwards act for this session. Replace it before it expires with "
	"PUT /v1/bridge/token.")
REDSTORE_CONFIG_PROPERTY(BRIDGE_LOCAL_TOKEN, "bridge.local_token", STRING, "",
	"empty, or 1-2048 printable characters", token, 1,
	"The bearer token the store's terminals present to redstore-bridge (--local-token); the bridge needs one.")
REDSTORE_CONFIG_PROPERTY(BRIDGE_JOURNAL, "bridge.journal", STRING, "redstore-bridge.db", "a file path",
	file_path, 0,
	"The SQLite journal of every sale redstore-bridge accepted (--journal): pending until the server "
	"committed it, then synced or rejected with the reason; never deleted by the bridge.")
REDSTORE_CONFIG_PROPERTY(BRIDGE_RING_EVENTS, "bridge.ring_events", INT, "4096", "16..1000000", none, 0,
	"How many of the store's recent events redstore-bridge keeps for its terminals; a Last-Event-ID "
	"older than these gets a resync event.")
REDSTORE_CONFIG_PROPERTY(BRIDGE_CLIENT_BUFFER_KIB, "bridge.client_buffer_kib", INT, "256", "4..65536", none, 0,
	"How far (KiB of events) one terminal's event stream may fall behind before redstore-bridge cuts it off "
	"with a resync event.")
REDSTORE_CONFIG_PROPERTY(BRIDGE_HEARTBEAT_MS, "bridge.heartbeat_ms", INT, "15000", "100..3600000", none, 0,
	"An idle event stream of redstore-bridge gets a heartbeat comment this often.")
REDSTORE_CONFIG_PROPERTY(BRIDGE_UPSTREAM_TIMEOUT_MS, "bridge.upstream_timeout_ms", INT, "3000", "100..600000",
	none, 0, "How long one request of redstore-bridge to the server may take before the uplink counts as down.")
REDSTORE_CONFIG_PROPERTY(BRIDGE_RETRY_MAX_MS, "bridge.retry_max_ms", INT, "5000", "100..600000", none, 0,
	"While sales are pending, redstore-bridge replays them after 100 ms, doubling up to this.")
REDSTORE_CONFIG_PROPERTY(BRIDGE_MAX_BODY, "bridge.max_body", INT, "65536", "1024..1048576", none, 0,
	"The largest request body redstore-bridge reads; a larger one gets 413.")
REDSTORE_CONFIG_PROPERTY(BRIDGE_MAX_CONNECTIONS, "bridge.max_connections", INT, "256", "4..10000", none, 0,
	"The most connections redstore-bridge serves at once (each has a thread).")
REDSTORE_CONFIG_PROPERTY(SHIFT_MAX_AMOUNT, "shift.max_amount", INT, "10000000", "1..1000000000000", none, 0,
	"The largest opening float, paid-in, paid-out or counted cash of a shift (minor units); a larger amount "
	"is refused with REDSTORE_ELIMIT.")
