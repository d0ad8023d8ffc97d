/* The strict event decoder: an envelope is accepted whole or not at all. */
#include "core/core_int.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <time.h>

void redstore_event_free(redstore_event *e)
{
	if (!e)
		return;
	cJSON_free(e->payload_json);
	free(e);
}

static const char *const fields[] = { "id", "type", "schema_version", "store_id", "terminal_id", "employee_id",
	                                  "occurred_at", "recorded_at", "payload" };

static int bad(const char *field, const char *why)
{
	return redstore__fail(REDSTORE_EDECODE, "event: %s %s", field, why);
}

static int str_field(char *dst, size_t cap, const cJSON *o, const char *k, bool may_be_empty)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	size_t n;
	if (!v)
		return bad(k, "is missing");
	if (!cJSON_IsString(v))
		return bad(k, "is not a string");
	n = strlen(v->valuestring);
	if (n >= cap)
		return redstore__fail(REDSTORE_EDECODE, "event: %s is longer than %zu bytes", k, cap - 1);
	if (!n && !may_be_empty)
		return bad(k, "is empty");
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v->valuestring[i] < 0x20)
			return bad(k, "contains a control character");
	memcpy(dst, v->valuestring, n + 1);
	return 0;
}

/* "2026-11-25T10:31:06.123Z" (milliseconds optional; UTC only). */
static int time_field(int64_t *out, const cJSON *o, const char *k)
{
	char s[40], tail[8] = "";
	int y, mo, d, h, mi, sec, ms = 0, n = 0;
	struct tm tm;
	int rc = str_field(s, sizeof(s), o, k, false);
	if (rc)
		return rc;
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 || n != 19)
		return bad(k, "is not an RFC 3339 UTC time (YYYY-MM-DDTHH:MM:SS[.mmm]Z)");
	if (s[19] == '.') {
		if (!isdigit((unsigned char)s[20]) || !isdigit((unsigned char)s[21]) || !isdigit((unsigned char)s[22]))
			return bad(k, "has malformed milliseconds");
		ms = (s[20] - '0') * 100 + (s[21] - '0') * 10 + (s[22] - '0');
		snprintf(tail, sizeof(tail), "%.7s", s + 23);
	} else {
		snprintf(tail, sizeof(tail), "%.7s", s + 19);
	}
	if (strcmp(tail, "Z") != 0)
		return bad(k, "is not in UTC (must end with Z)");
	if (y < 2000 || y > 2200 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return bad(k, "is out of range");
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*out = (int64_t)timegm(&tm) * 1000 + ms;
	return 0;
}

static int check_type(const char *t)
{
	const char *dot = strchr(t, '.');
	if (!dot || dot == t || !dot[1])
		return bad("type", "is not <domain>.<what>");
	for (const char *p = t; *p; p++)
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '_' && *p != '.')
			return bad("type", "may only hold [a-z0-9_.]");
	return 0;
}

int redstore_event_decode(redstore_event **out, const void *data, size_t len)
{
	redstore_event *e = NULL;
	cJSON *o = NULL;
	const cJSON *v;
	int rc = 0;

	*out = NULL;
	if (!data)
		return bad("data", "is NULL");
	if (len > REDSTORE_EVENT_MAX_BYTES)
		return redstore__fail(REDSTORE_ELIMIT, "event: %zu bytes (at most %d)", len, REDSTORE_EVENT_MAX_BYTES);
	if (!(o = cJSON_ParseWithLength(data, len)) || !cJSON_IsObject(o)) {
		rc = redstore__fail(REDSTORE_EDECODE, "event: not a JSON object");
		goto done;
	}
	for (const cJSON *f = o->child; f; f = f->next) {
		bool known = false;
		for (size_t i = 0; i < REDSTORE_ARRAY_SIZE(fields); i++)
			known = known || !strcmp(f->string, fields[i]);
		if (!known) {
			rc = redstore__fail(REDSTORE_EDECODE, "event: unknown field \"%.40s\"", f->string);
			goto done;
		}
		for (const cJSON *g = f->next; g; g = g->next)
			if (!strcmp(f->string, g->string)) {
				rc = redstore__fail(REDSTORE_EDECODE, "event: field \"%.40s\" appears twice", f->string);
				goto done;
			}
	}
	if (!(e = calloc(1, sizeof(*e)))) {
		rc = redstore__fail(REDSTORE_ENOMEM, "event: out of memory");
		goto done;
	}
	v = cJSON_GetObjectItemCaseSensitive(o, "schema_version");
	if (!v) {
		rc = bad("schema_version", "is missing");
		goto done;
	}
	/* Range first: converting a double outside int's range to int is undefined (found by fuzzing). */
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= -1e9 && v->valuedouble <= 1e9) ||
	    v->valuedouble != (double)(int)v->valuedouble) {
		rc = bad("schema_version", "is not an integer");
		goto done;
	}
	if ((int)v->valuedouble != REDSTORE_EVENT_SCHEMA) {
		rc = redstore__fail(REDSTORE_EDECODE, "event: unknown schema_version %d (this library reads %d)",
		                    (int)v->valuedouble, REDSTORE_EVENT_SCHEMA);
		goto done;
	}
	e->schema_version = REDSTORE_EVENT_SCHEMA;
	if ((rc = str_field(e->id, sizeof(e->id), o, "id", false)) || (rc = redstore_id_check(e->id, "event id")) ||
	    (rc = str_field(e->type, sizeof(e->type), o, "type", false)) || (rc = check_type(e->type)) ||
	    (rc = str_field(e->store_id, sizeof(e->store_id), o, "store_id", false)) ||
	    (rc = redstore__check_store_id(e->store_id, "event store_id")) ||
	    (rc = str_field(e->terminal_id, sizeof(e->terminal_id), o, "terminal_id", true)) ||
	    (rc = str_field(e->employee_id, sizeof(e->employee_id), o, "employee_id", true)) ||
	    (rc = time_field(&e->occurred_at_ms, o, "occurred_at")) ||
	    (rc = time_field(&e->recorded_at_ms, o, "recorded_at"))) {
		if (rc == REDSTORE_EINVALID)
			rc = redstore__fail_wrap(REDSTORE_EDECODE, "event");
		goto done;
	}
	v = cJSON_GetObjectItemCaseSensitive(o, "payload");
	if (!v) {
		rc = bad("payload", "is missing");
		goto done;
	}
	if (!cJSON_IsObject(v)) {
		rc = bad("payload", "is not an object");
		goto done;
	}
	if (!(e->payload_json = cJSON_PrintUnformatted(v))) {
		rc = redstore__fail(REDSTORE_ENOMEM, "event: out of memory");
		goto done;
	}
	*out = e;
	e = NULL;
done:
	redstore_event_free(e);
	cJSON_Delete(o);
	return rc;
}
