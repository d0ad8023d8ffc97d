/* The hash-chained audit log: appending (through the SQL function redstore_audit_append, which locks the
 * store's head row so concurrent appends never fork the chain), the audit.recorded event, and verifying. */
#include "security/security_int.h"
#include "events/events_int.h"

#include <sodium.h>
#include <stdio.h>

#define VERIFY_PAGE "1000"

static int add_field(char **buf, size_t *len, size_t *cap, const char *v)
{
	char head[32];
	size_t n = strlen(v), h = (size_t)snprintf(head, sizeof(head), "%zu:", n);
	if (*len + h + n + 2 > *cap) {
		size_t ncap = (*len + h + n + 2) * 2;
		char *nb = realloc(*buf, ncap);
		if (!nb)
			return -1;
		*buf = nb;
		*cap = ncap;
	}
	memcpy(*buf + *len, head, h);
	memcpy(*buf + *len + h, v, n);
	*len += h + n;
	(*buf)[(*len)++] = ';';
	(*buf)[*len] = '\0';
	return 0;
}

char *redstore__audit_encoding(const char *store, int64_t seq, int64_t ms, const char *action, const char *employee,
                               const char *terminal, const char *approved, const char *subject, const char *details,
                               const char *prev)
{
	static const char magic[] = "redstore-audit-v1;";
	char seq_s[24], ms_s[24];
	const char *fields[10];
	size_t len = sizeof(magic) - 1, cap = 256;
	char *buf = malloc(cap);

	if (!buf)
		return NULL;
	memcpy(buf, magic, len + 1);
	snprintf(seq_s, sizeof(seq_s), "%lld", (long long)seq);
	snprintf(ms_s, sizeof(ms_s), "%lld", (long long)ms);
	fields[0] = store;
	fields[1] = seq_s;
	fields[2] = ms_s;
	fields[3] = action;
	fields[4] = employee;
	fields[5] = terminal;
	fields[6] = approved;
	fields[7] = subject;
	fields[8] = details;
	fields[9] = prev;
	for (size_t i = 0; i < REDSTORE_ARRAY_SIZE(fields); i++)
		if (add_field(&buf, &len, &cap, fields[i])) {
			free(buf);
			return NULL;
		}
	return buf;
}

int redstore__audit_append(redstore_client *c, const char *store, const char *action, const char *employee,
                           const char *terminal, const char *approved_by, const char *subject, const cJSON *details)
{
	static const char sql[] = "SELECT o_seq, o_hash FROM redstore_audit_append($1, $2::bigint, $3, $4, $5, $6, $7, $8)";
	char ms[24], id[REDSTORE_ID_SIZE];
	const char *params[8];
	char *text = details ? cJSON_PrintUnformatted(details) : NULL;
	cJSON *payload = NULL, *copy = NULL;
	PGresult *res = NULL;
	int rc;

	if (details && !text)
		return redstore__fail(REDSTORE_ENOMEM, "audit %s: out of memory", action);
	snprintf(ms, sizeof(ms), "%lld", (long long)redstore__wall_ms());
	params[0] = store;
	params[1] = ms;
	params[2] = action;
	params[3] = employee ? employee : c->employee;
	params[4] = terminal ? terminal : c->terminal;
	params[5] = approved_by ? approved_by : "";
	params[6] = subject ? subject : "";
	params[7] = text ? text : "{}";
	if ((rc = redstore__pg_exec(&res, c, sql, 8, params))) {
		free(text);
		return redstore__fail_wrap(rc, "audit %s in store %s", action, store);
	}
	/* The event is a copy of the entry outside the database (and so a second witness of the chain). */
	if ((rc = redstore_id_new(id)))
		goto done;
	if (!(payload = cJSON_CreateObject()) || !cJSON_AddNumberToObject(payload, "seq", strtod(PQgetvalue(res, 0, 0), NULL)) ||
	    !cJSON_AddStringToObject(payload, "hash", PQgetvalue(res, 0, 1)) ||
	    !cJSON_AddStringToObject(payload, "occurred_ms", ms) || !cJSON_AddStringToObject(payload, "action", action) ||
	    !cJSON_AddStringToObject(payload, "employee_id", params[3]) ||
	    !cJSON_AddStringToObject(payload, "terminal_id", params[4]) ||
	    !cJSON_AddStringToObject(payload, "approved_by", params[5]) ||
	    !cJSON_AddStringToObject(payload, "subject", params[6]) ||
	    !(copy = details ? cJSON_Duplicate(details, 1) : cJSON_CreateObject()) ||
	    !cJSON_AddItemToObject(payload, "details", copy)) {
		if (!payload || !cJSON_GetObjectItem(payload, "details"))
			cJSON_Delete(copy);
		rc = redstore__fail(REDSTORE_ENOMEM, "audit %s: out of memory", action);
		goto done;
	}
	rc = redstore__event_emit_for(c, store, REDSTORE_DOMAIN_AUDIT, id, "audit.recorded", payload);
done:
	cJSON_Delete(payload);
	PQclear(res);
	free(text);
	return rc;
}

static void report(redstore_audit_report *out, int64_t seq, const char *fmt, long long a, long long b)
{
	out->ok = 0;
	out->bad_seq = seq;
	snprintf(out->problem, sizeof(out->problem), fmt, a, b);
}

int redstore__audit_verify(redstore_audit_report *out, redstore_client *c, const char *store)
{
	static const char page_sql[] =
		"SELECT seq, occurred_ms, action, employee_id, terminal_id, approved_by, subject, details, prev_hash, hash"
		" FROM audit_log WHERE store_id = $1 AND seq > $2::bigint ORDER BY seq LIMIT " VERIFY_PAGE;
	static const char head_sql[] = "SELECT last_seq, last_hash FROM audit_heads WHERE store_id = $1";
	static const char *what = "redstore_audit_verify";
	char prev[65] = "0000000000000000000000000000000000000000000000000000000000000000", after[24];
	const char *params[2];
	int64_t last = 0;
	PGresult *res;
	int rc, n;

	memset(out, 0, sizeof(*out));
	out->ok = 1;
	params[0] = store;
	params[1] = after;
	do {
		snprintf(after, sizeof(after), "%lld", (long long)last);
		if ((rc = redstore__pg_exec(&res, c, page_sql, 2, params)))
			return redstore__fail_wrap(rc, "%s", what);
		n = PQntuples(res);
		for (int i = 0; i < n && out->ok; i++) {
			int64_t seq = strtoll(PQgetvalue(res, i, 0), NULL, 10);
			unsigned char h[crypto_hash_sha256_BYTES];
			char hex[65], *enc;
			if (seq != last + 1) {
				report(out, last + 1, "entry %lld is missing (deleted), the next is %lld", (long long)(last + 1),
				       (long long)seq);
				break;
			}
			if (strcmp(PQgetvalue(res, i, 8), prev) != 0) {
				report(out, seq, "entry %lld: its prev_hash is not the hash of entry %lld", (long long)seq,
				       (long long)last);
				break;
			}
			enc = redstore__audit_encoding(store, seq, strtoll(PQgetvalue(res, i, 1), NULL, 10), PQgetvalue(res, i, 2),
			                               PQgetvalue(res, i, 3), PQgetvalue(res, i, 4), PQgetvalue(res, i, 5),
			                               PQgetvalue(res, i, 6), PQgetvalue(res, i, 7), PQgetvalue(res, i, 8));
			if (!enc) {
				PQclear(res);
				return redstore__fail(REDSTORE_ENOMEM, "%s: out of memory", what);
			}
			crypto_hash_sha256(h, (const unsigned char *)enc, strlen(enc));
			free(enc);
			sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
			if (strcmp(hex, PQgetvalue(res, i, 9)) != 0) {
				report(out, seq, "entry %lld was edited (its hash does not match its contents)%.0lld", (long long)seq, 0);
				break;
			}
			snprintf(prev, sizeof(prev), "%s", hex);
			last = seq;
			out->entries++;
		}
		PQclear(res);
	} while (out->ok && n == atoi(VERIFY_PAGE));
	if (!out->ok)
		return 0;
	if ((rc = redstore__pg_exec(&res, c, head_sql, 1, params)))
		return redstore__fail_wrap(rc, "%s", what);
	if (PQntuples(res) == 0 && last > 0)
		report(out, last, "the store's chain head is missing (last entry %lld)%.0lld", (long long)last, 0);
	else if (PQntuples(res) > 0 && strtoll(PQgetvalue(res, 0, 0), NULL, 10) != last)
		report(out, last + 1, "entry %lld is missing (deleted): the chain head is at %lld", (long long)(last + 1),
		       strtoll(PQgetvalue(res, 0, 0), NULL, 10));
	else if (PQntuples(res) > 0 && strcmp(PQgetvalue(res, 0, 1), prev) != 0)
		report(out, last, "entry %lld does not match the chain head's hash%.0lld", (long long)last, 0);
	PQclear(res);
	return 0;
}
