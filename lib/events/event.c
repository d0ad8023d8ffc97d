/* Event envelope encoding and producing. */
#include "events/events_int.h"

#include <stdio.h>
#include <time.h>

const char *redstore__rfc3339(char *buf, size_t cap, int64_t ms)
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
	         tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
	return buf;
}

char *redstore__event_encode(redstore_client *c, const char *store, const char *id, const char *type,
                             int64_t occurred_at_ms, const cJSON *payload)
{
	char occurred[32], recorded[32];
	cJSON *env = cJSON_CreateObject();
	char *text = NULL;

	if (!env)
		goto oom;
	redstore__rfc3339(occurred, sizeof(occurred), occurred_at_ms);
	redstore__rfc3339(recorded, sizeof(recorded), redstore__wall_ms());
	if (!cJSON_AddStringToObject(env, "id", id) || !cJSON_AddStringToObject(env, "type", type) ||
	    !cJSON_AddNumberToObject(env, "schema_version", REDSTORE_EVENT_SCHEMA_VERSION) ||
	    !cJSON_AddStringToObject(env, "store_id", store ? store : c->store) ||
	    !cJSON_AddStringToObject(env, "terminal_id", c->terminal) ||
	    !cJSON_AddStringToObject(env, "employee_id", c->employee) ||
	    !cJSON_AddStringToObject(env, "occurred_at", occurred) ||
	    !cJSON_AddStringToObject(env, "recorded_at", recorded) ||
	    !cJSON_AddItemToObject(env, "payload", payload ? cJSON_Duplicate(payload, 1) : cJSON_CreateObject()))
		goto oom;
	text = cJSON_PrintUnformatted(env);
	cJSON_Delete(env);
	if (!text)
		redstore__fail(REDSTORE_ENOMEM, "event %s: out of memory", type);
	return text;
oom:
	cJSON_Delete(env);
	redstore__fail(REDSTORE_ENOMEM, "event %s: out of memory", type);
	return NULL;
}

int redstore__event_emit(redstore_client *c, const char *domain, const char *id, const char *type,
                         const cJSON *payload)
{
	return redstore__event_emit_for(c, c->store, domain, id, type, payload);
}

int redstore__event_emit_for(redstore_client *c, const char *store, const char *domain, const char *id,
                             const char *type, const cJSON *payload)
{
	char topic[160];
	char *text = redstore__event_encode(c, store, id, type, redstore__wall_ms(), payload);
	int rc;
	if (!text)
		return REDSTORE_ENOMEM;
	redstore__kafka_topic(topic, sizeof(topic), &c->set, domain);
	rc = redstore__kafka_produce_sync(c, topic, store, text, strlen(text));
	free(text);
	if (rc)
		return redstore__fail_wrap(rc, "event %s %s", type, id);
	return 0;
}
