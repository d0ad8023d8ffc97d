/* The client: a configuration plus lazily created connections to the three engines. */
#include "engines/engines_int.h"


#include <stdio.h>

int redstore_client_new(redstore_client **out, const redstore_config *cfg)
{
	redstore_client *c;
	int rc;

	*out = NULL;
	if (!(c = calloc(1, sizeof(*c))))
		return redstore__fail(REDSTORE_ENOMEM, "client: out of memory");
	if (cfg) {
		rc = redstore_config_dup(&c->cfg, cfg);
	} else if (!(rc = redstore_config_new(&c->cfg))) {
		rc = redstore_config_load_env(c->cfg);
	}
	if (!rc)
		rc = redstore__settings_resolve(&c->set, c->cfg);
	if (!rc && c->set.store_id[0])
		snprintf(c->store, sizeof(c->store), "%s", c->set.store_id);
	if (!rc && (redstore__lua_script_count + 1) &&
	    !(c->script_sha = calloc((size_t)(redstore__lua_script_count + 1), sizeof(*c->script_sha))))
		rc = redstore__fail(REDSTORE_ENOMEM, "client: out of memory");
	if (rc) {
		redstore_client_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void redstore_client_disconnect(redstore_client *c)
{
	if (!c)
		return;
	redstore__redis_drop(c);
	redstore__pg_drop(c);
	redstore__kafka_drop(c);
}

void redstore_client_free(redstore_client *c)
{
	if (!c)
		return;
	redstore_client_disconnect(c);
	if (c->auth && c->auth_free)
		c->auth_free(c->auth);
	redstore_config_free(c->cfg);
	free(c->script_sha);
	free(c);
}

const redstore_config *redstore_client_config(const redstore_client *c)
{
	return c->cfg;
}

const char *redstore_engine_name(redstore_engine e)
{
	switch (e) {
	case REDSTORE_ENGINE_REDIS: return "redis";
	case REDSTORE_ENGINE_POSTGRES: return "postgres";
	case REDSTORE_ENGINE_KAFKA: return "kafka";
	}
	return "unknown";
}

static void health_fail(redstore_engine_health *h, int rc)
{
	h->ok = 0;
	h->error = rc;
	h->latency_us = -1;
	snprintf(h->detail, sizeof(h->detail), "%s", redstore_error_last());
}

static void redis_health(redstore_engine_health *h, redstore_client *c)
{
	redisReply *r = NULL;
	int64_t t0 = redstore__now_us();
	int rc = redstore__redis_cmd(&r, c, "PING");
	if (rc) {
		health_fail(h, rc);
		return;
	}
	h->latency_us = redstore__now_us() - t0;
	freeReplyObject(r);
	h->ok = 1;
	if (!redstore__redis_cmd(&r, c, "INFO server")) {
		const char *v = r->type == REDIS_REPLY_STRING ? strstr(r->str, "redis_version:") : NULL;
		if (v)
			sscanf(v + 14, "%63[^\r\n]", h->version);
		freeReplyObject(r);
	}
	if (c->redis->connection_type == REDIS_CONN_TCP)
		snprintf(h->detail, sizeof(h->detail), "%s:%d", c->redis->tcp.host, c->redis->tcp.port);
	else
		snprintf(h->detail, sizeof(h->detail), "%s", c->redis->unix_sock.path);
}

static void pg_health(redstore_engine_health *h, redstore_client *c)
{
	PGresult *res = NULL;
	int64_t t0 = redstore__now_us();
	int rc = redstore__pg_exec(&res, c, "SELECT 1", 0, NULL);
	if (rc) {
		health_fail(h, rc);
		return;
	}
	h->latency_us = redstore__now_us() - t0;
	PQclear(res);
	h->ok = 1;
	snprintf(h->version, sizeof(h->version), "%d.%d", PQserverVersion(c->pg) / 10000, PQserverVersion(c->pg) % 10000);
	snprintf(h->detail, sizeof(h->detail), "%s:%s/%s", PQhost(c->pg), PQport(c->pg), PQdb(c->pg));
}

int redstore_client_health(redstore_engine_health *out, redstore_client *c)
{
	for (int i = 0; i < REDSTORE_ENGINE_COUNT; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		out[i].engine = (redstore_engine)i;
	}
	redis_health(&out[REDSTORE_ENGINE_REDIS], c);
	pg_health(&out[REDSTORE_ENGINE_POSTGRES], c);
	if (redstore__kafka_health(&out[REDSTORE_ENGINE_KAFKA], c))
		health_fail(&out[REDSTORE_ENGINE_KAFKA], redstore_error_last_code());
	for (int i = 0; i < REDSTORE_ENGINE_COUNT; i++)
		if (!out[i].ok)
			return redstore__fail(out[i].error ? out[i].error : REDSTORE_ERROR, "health: %s is down: %s",
			                      redstore_engine_name((redstore_engine)i), out[i].detail);
	return 0;
}

int redstore_client_use_store(redstore_client *c, const char *store_id)
{
	int rc = redstore__check_store_id(store_id, "redstore_client_use_store");
	if (rc)
		return rc;
	if (c->auth && strcmp(store_id, c->store) != 0)
		return redstore__fail(REDSTORE_EPERM, "redstore_client_use_store: the attached session is bound to store %s",
		                      c->store);
	redstore__set_store(c, store_id);
	return 0;
}

void redstore__set_store(redstore_client *c, const char *store)
{
	char copy[sizeof(c->store)];
	snprintf(copy, sizeof(copy), "%s", store);
	memcpy(c->store, copy, sizeof(copy));
}

const char *redstore_client_store(const redstore_client *c)
{
	return c->store;
}

int redstore__need_store(const char **out, redstore_client *c, const char *what)
{
	*out = c->store;
	if (!c->store[0])
		return redstore__fail(REDSTORE_EINVALID, "%s: no store selected (redstore_client_use_store or store.id)", what);
	return 0;
}

static int copy_actor(char *dst, size_t cap, const char *v, const char *what)
{
	size_t n = v ? strlen(v) : 0;
	if (n >= cap)
		return redstore__fail(REDSTORE_EINVALID, "redstore_client_set_actor: %s is longer than %zu characters", what,
		                      cap - 1);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f || v[i] == '"' || v[i] == '\\')
			return redstore__fail(REDSTORE_EINVALID, "redstore_client_set_actor: %s has a control or quote character",
			                      what);
	return 0;
}

int redstore_client_set_actor(redstore_client *c, const char *terminal_id, const char *employee_id)
{
	int rc;
	if (c->auth)
		return redstore__fail(REDSTORE_EPERM, "redstore_client_set_actor: the attached session names the actor");
	if ((rc = copy_actor(c->terminal, sizeof(c->terminal), terminal_id, "terminal id")) ||
	    (rc = copy_actor(c->employee, sizeof(c->employee), employee_id, "employee id")))
		return rc;
	snprintf(c->terminal, sizeof(c->terminal), "%s", terminal_id ? terminal_id : "");
	snprintf(c->employee, sizeof(c->employee), "%s", employee_id ? employee_id : "");
	return 0;
}
