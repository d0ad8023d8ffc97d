/*
 * Local times for daily repeatable jobs, read from the system's TZif files (RFC 8536) by the library
 * itself: no TZ environment change, no tzset(), so it is thread-safe. Only the transition table is used:
 * an instant after the file's last transition takes the last offset (Debian's "fat" tzdata lists
 * transitions up to 2037).
 */
#include "core/core_int.h"
#include "jobs/jobs_priv.h"

#include <stdio.h>

#define TZ_MAX_FILE (256 * 1024)

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static int zone_ok(const char *tz)
{
	size_t n = 0;
	if (!tz || !tz[0] || tz[0] == '/' || strstr(tz, ".."))
		return 0;
	for (; tz[n]; n++) {
		unsigned char ch = (unsigned char)tz[n];
		if (n >= 64 || !((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		                 ch == '_' || ch == '-' || ch == '+' || ch == '/'))
			return 0;
	}
	return 1;
}

int redstore__tz_offset(int64_t *out, const char *tz, int64_t t)
{
	const char *dir = getenv("TZDIR");
	char path[512];
	unsigned char *b;
	size_t len;
	FILE *f;
	int rc = 0;

	*out = 0;
	if (!zone_ok(tz))
		return redstore__fail(REDSTORE_EINVALID, "time zone \"%.80s\": expected an IANA name such as Europe/Paris",
		                      tz ? tz : "(null)");
	snprintf(path, sizeof(path), "%s/%s", dir && dir[0] ? dir : "/usr/share/zoneinfo", tz);
	if (!(f = fopen(path, "rb")))
		return redstore__fail(REDSTORE_EINVALID, "time zone \"%s\": unknown (no %s)", tz, path);
	if (!(b = malloc(TZ_MAX_FILE))) {
		fclose(f);
		return redstore__fail(REDSTORE_ENOMEM, "time zone: out of memory");
	}
	len = fread(b, 1, TZ_MAX_FILE, f);
	fclose(f);
	{
		const unsigned char *p = b, *end = b + len;
		int tsize = 4;
		uint32_t isut, isstd, leap, timecnt, typecnt, charcnt;
		size_t body;
	again:
		if (end - p < 44 || memcmp(p, "TZif", 4)) {
			rc = redstore__fail(REDSTORE_EINVALID, "time zone \"%s\": %s is not a TZif file", tz, path);
			goto done;
		}
		isut = be32(p + 20);
		isstd = be32(p + 24);
		leap = be32(p + 28);
		timecnt = be32(p + 32);
		typecnt = be32(p + 36);
		charcnt = be32(p + 40);
		body = (size_t)timecnt * (size_t)tsize + timecnt + (size_t)typecnt * 6 + charcnt +
		       (size_t)leap * (size_t)(tsize + 4) + isstd + isut;
		if (typecnt == 0 || timecnt > 100000 || typecnt > 256 || (size_t)(end - p - 44) < body) {
			rc = redstore__fail(REDSTORE_EINVALID, "time zone \"%s\": %s is truncated", tz, path);
			goto done;
		}
		if (tsize == 4 && p[4] >= '2') {
			p += 44 + body;
			tsize = 8;
			goto again;
		}
		{
			const unsigned char *trans = p + 44, *idx = trans + (size_t)timecnt * (size_t)tsize;
			const unsigned char *types = idx + timecnt;
			uint32_t type = 0;
			for (uint32_t i = 0; i < timecnt; i++) {
				int64_t at = tsize == 8 ? be64(trans + 8 * i) : (int64_t)(int32_t)be32(trans + 4 * i);
				if (at > t)
					break;
				type = idx[i];
			}
			if (type >= typecnt) {
				rc = redstore__fail(REDSTORE_EINVALID, "time zone \"%s\": %s is corrupt", tz, path);
				goto done;
			}
			*out = (int32_t)be32(types + 6 * type);
		}
	}
done:
	free(b);
	return rc;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

int redstore_next_daily_ms(int64_t *out, int64_t after_ms, const char *hhmm, const char *tz)
{
	int hh, mm, used = 0, rc;
	int64_t now_s, off, day;

	if (!out)
		return redstore__fail(REDSTORE_EINVALID, "redstore_next_daily_ms: out is NULL");
	*out = 0;
	if (!hhmm || sscanf(hhmm, "%2d:%2d%n", &hh, &mm, &used) != 2 || used != 5 || strlen(hhmm) != 5 || hh < 0 ||
	    hh > 23 || mm < 0 || mm > 59 || hhmm[0] < '0' || hhmm[0] > '2' || hhmm[3] < '0' || hhmm[3] > '5')
		return redstore__fail(REDSTORE_EINVALID, "daily time \"%.20s\": expected HH:MM (00:00..23:59)",
		                      hhmm ? hhmm : "(null)");
	now_s = floor_div(after_ms, 1000);
	if ((rc = redstore__tz_offset(&off, tz, now_s)))
		return rc;
	day = floor_div(now_s + off, 86400);
	for (int k = 0; k < 4; k++, day++) {
		int64_t local = day * 86400 + hh * 3600 + mm * 60, o1, o2, utc;
		if ((rc = redstore__tz_offset(&o1, tz, local - off)))
			return rc;
		utc = local - o1;
		if ((rc = redstore__tz_offset(&o2, tz, utc)))
			return rc;
		if (o2 != o1)
			utc = local - o2;
		if (utc * 1000 > after_ms) {
			*out = utc * 1000;
			return 0;
		}
	}
	return redstore__fail(REDSTORE_ERROR, "daily time %s in %s: no next run found", hhmm, tz);
}
