/* The end-of-day sales summary CSV, read from the projector's history tables (lib/engines/sql/0003_history.sql). */
#include "core/core_int.h"
#include "engines/engines_int.h"
#include "security/security_int.h"
#include "jobs/jobs_priv.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <time.h>

typedef struct buf {
	char *s;
	size_t len, cap;
	bool oom;
} buf;

static void put(buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		char *ns;
		while (cap < b->len + n + 1)
			cap *= 2;
		if (!(ns = realloc(b->s, cap))) {
			b->oom = true;
			return;
		}
		b->s = ns;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void puts_(buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* One CSV field, quoted (RFC 4180) when it holds a comma, a quote or a line break. */
static void field(buf *b, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		puts_(b, s);
		return;
	}
	put(b, "\"", 1);
	for (; *s; s++)
		put(b, *s == '"' ? "\"\"" : s, *s == '"' ? 2 : 1);
	put(b, "\"", 1);
}

static bool date_ok(const char *d)
{
	int y, m, day, used = 0;
	return d && strlen(d) == 10 && sscanf(d, "%4d-%2d-%2d%n", &y, &m, &day, &used) == 3 && used == 10 &&
	       d[4] == '-' && d[7] == '-' && y >= 1970 && y <= 9999 && m >= 1 && m <= 12 && day >= 1 && day <= 31;
}

int redstore_sales_day_csv(char **out, redstore_client *c, const char *date)
{
	static const char *sql =
		"SELECT kind, sku, max(name), sum(qty)::text, sum(gross)::text, sum(discount)::text, sum(tax)::text, "
		"sum(total)::text FROM sale_lines WHERE store_id = $1 "
		"AND occurred_at >= ($2::date::timestamp AT TIME ZONE $3) "
		"AND occurred_at < (($2::date + 1)::timestamp AT TIME ZONE $3) "
		"GROUP BY kind, sku ORDER BY kind, sku";
	const char *store, *params[3];
	PGresult *res = NULL;
	buf b = { 0 };
	char tz[128];
	int rc;

	if (!out)
		return redstore__fail(REDSTORE_EINVALID, "redstore_sales_day_csv: out is NULL");
	*out = NULL;
	if (!c)
		return redstore__fail(REDSTORE_EINVALID, "redstore_sales_day_csv: client is NULL");
	if ((rc = redstore__need_store(&store, c, "sales day CSV")) ||
	    (rc = redstore__auth_require(c, REDSTORE_PERM_REPORTS, 0, "sales day CSV")))
		return rc;
	if (!date_ok(date))
		return redstore__fail(REDSTORE_EINVALID, "sales day CSV: date \"%.20s\": expected YYYY-MM-DD",
		                      date ? date : "(null)");
	params[0] = store;
	if ((rc = redstore__pg_exec(&res, c, "SELECT timezone FROM stores WHERE store_id = $1", 1, params)))
		return redstore__fail_wrap(rc, "sales day CSV of store %s", store);
	if (PQntuples(res) != 1) {
		PQclear(res);
		return redstore__fail(REDSTORE_ENOTFOUND, "sales day CSV: no store %s", store);
	}
	snprintf(tz, sizeof(tz), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	params[1] = date;
	params[2] = tz;
	if ((rc = redstore__pg_exec(&res, c, sql, 3, params)))
		return redstore__fail_wrap(rc, "sales day CSV of store %s for %s", store, date);
	puts_(&b, "store,date,kind,sku,name,units,gross,discount,tax,total\r\n");
	{
		int n = PQntuples(res);
		long long tot[5] = { 0 };
		for (int i = 0; i < n; i++) {
			field(&b, store);
			put(&b, ",", 1);
			puts_(&b, date);
			for (int k = 0; k < 8; k++) {
				put(&b, ",", 1);
				field(&b, PQgetvalue(res, i, k));
				if (k >= 3)
					tot[k - 3] += strtoll(PQgetvalue(res, i, k), NULL, 10);
			}
			puts_(&b, "\r\n");
			if (i + 1 == n || strcmp(PQgetvalue(res, i, 0), PQgetvalue(res, i + 1, 0))) {
				char line[256];
				field(&b, store);
				snprintf(line, sizeof(line), ",%s,%s,TOTAL,,%lld,%lld,%lld,%lld,%lld\r\n", date, PQgetvalue(res, i, 0),
				         tot[0], tot[1], tot[2], tot[3], tot[4]);
				puts_(&b, line);
				memset(tot, 0, sizeof(tot));
			}
		}
	}
	PQclear(res);
	if (b.oom) {
		free(b.s);
		return redstore__fail(REDSTORE_ENOMEM, "sales day CSV: out of memory");
	}
	*out = b.s;
	return 0;
}

/* ------------------------------------------------------------------ the repeatable end-of-day job */

int redstore_eod_schedule(redstore_client *c, const char *hhmm, const char *dir)
{
	const char *store, *params[1];
	PGresult *res = NULL;
	redstore_job_spec s = { 0 };
	char name[80], tz[128];
	cJSON *p;
	char *text;
	int rc;

	if (!c || !dir || !dir[0] || strlen(dir) > 1000)
		return redstore__fail(REDSTORE_EINVALID, "redstore_eod_schedule: client or directory missing (or too long)");
	if ((rc = redstore__need_store(&store, c, "end-of-day schedule")))
		return rc;
	params[0] = store;
	if ((rc = redstore__pg_exec(&res, c, "SELECT timezone FROM stores WHERE store_id = $1", 1, params)))
		return redstore__fail_wrap(rc, "end-of-day schedule of store %s", store);
	if (PQntuples(res) != 1) {
		PQclear(res);
		return redstore__fail(REDSTORE_ENOTFOUND, "end-of-day schedule: no store %s", store);
	}
	snprintf(tz, sizeof(tz), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	if (!(p = cJSON_CreateObject()) || !cJSON_AddStringToObject(p, "store", store) ||
	    !cJSON_AddStringToObject(p, "tz", tz) || !cJSON_AddStringToObject(p, "dir", dir) ||
	    !(text = cJSON_PrintUnformatted(p))) {
		cJSON_Delete(p);
		return redstore__fail(REDSTORE_ENOMEM, "end-of-day schedule: out of memory");
	}
	cJSON_Delete(p);
	snprintf(name, sizeof(name), "eod.%s", store);
	s.payload = text;
	s.max_attempts = 10;
	s.backoff = REDSTORE_BACKOFF_EXPONENTIAL;
	s.backoff_ms = 5000;
	s.backoff_max_ms = 600000;
	s.jitter_pct = 20;
	rc = redstore_job_repeat_daily(c, REDSTORE_EOD_QUEUE, name, hhmm, tz, &s);
	cJSON_free(text);
	return rc;
}

/* The store-local date of `ms` in `tz`, or of the day before when the local time is before noon. */
static int report_date(char *out, size_t cap, int64_t ms, const char *tz)
{
	int64_t off, local;
	time_t t;
	struct tm tm;
	int rc;
	if ((rc = redstore__tz_offset(&off, tz, ms / 1000)))
		return rc;
	local = ms / 1000 + off;
	t = (time_t)local;
	gmtime_r(&t, &tm);
	if (tm.tm_hour < 12) {
		t -= 86400;
		gmtime_r(&t, &tm);
	}
	strftime(out, cap, "%Y-%m-%d", &tm);
	return 0;
}

redstore_job_outcome redstore_eod_handler(const redstore_job *job, redstore_client *c, char *error, size_t error_cap,
                                          void *payload)
{
	cJSON *p = cJSON_Parse(job->payload);
	const cJSON *store = cJSON_GetObjectItemCaseSensitive(p, "store"), *tz = cJSON_GetObjectItemCaseSensitive(p, "tz"),
	            *dir = cJSON_GetObjectItemCaseSensitive(p, "dir");
	redstore_job_outcome out = REDSTORE_JOB_RETRY;
	char date[16], path[1200], tmp[1300], *csv = NULL;
	redstore_client *sc = NULL;
	FILE *f;
	int rc;
	(void)payload;

	if (!cJSON_IsString(store) || !cJSON_IsString(tz) || !cJSON_IsString(dir) ||
	    redstore__check_store_id(store->valuestring, "end-of-day store")) {
		snprintf(error, error_cap, "end-of-day job %s: malformed payload", job->id);
		out = REDSTORE_JOB_FAIL;
		goto done;
	}
	if (report_date(date, sizeof(date), job->run_at_ms, tz->valuestring)) {
		snprintf(error, error_cap, "%s", redstore_error_last());
		out = REDSTORE_JOB_FAIL;
		goto done;
	}
	/* The handler's client may have another store selected: use a copy of it for this store. */
	if (redstore_client_new(&sc, redstore_client_config(c)) || redstore_client_use_store(sc, store->valuestring) ||
	    (rc = redstore_sales_day_csv(&csv, sc, date))) {
		snprintf(error, error_cap, "%s", redstore_error_last());
		goto done;
	}
	snprintf(path, sizeof(path), "%s/%s-%s.csv", dir->valuestring, store->valuestring, date);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%lld", path, (long long)redstore__now_us());
	if (!(f = fopen(tmp, "wb"))) {
		snprintf(error, error_cap, "end-of-day: cannot write %s", tmp);
		goto done;
	}
	if (fwrite(csv, 1, strlen(csv), f) != strlen(csv) || fclose(f) != 0 || rename(tmp, path) != 0) {
		snprintf(error, error_cap, "end-of-day: writing %s failed", path);
		remove(tmp);
		goto done;
	}
	out = REDSTORE_JOB_DONE;
done:
	redstore_free(csv);
	redstore_client_free(sc);
	cJSON_Delete(p);
	return out;
}
