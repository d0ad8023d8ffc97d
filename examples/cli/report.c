/*
 * redstore-cli report: sales reports as a table, CSV or JSON, and the bucketed totals as an SVG chart.
 *
 *   redstore-cli report sales --store S (--days N | --from T --to T | --day D) [--bucket B] [--by|--group G]
 *                             [--format table|csv|json] [--svg FILE]
 *   redstore-cli report top   --store S (--days N | --from T --to T | --day D) [--rank units|revenue] [--bottom] [--n N]
 *
 * T is "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM" in UTC, or milliseconds since the epoch; --days N is the N
 * days up to the start of the current hour; --day D is one local day of the store ("YYYY-MM-DD" or
 * "today", in the store's time zone). Buckets are in the store's time zone. G "tender" gives the money
 * by tender kind (net of change; refunds by the tender they paid back with).
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int parse_time(int64_t *out, const char *s)
{
	struct tm tm;
	char *end;
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%dT%H:%M", &tm)) && !*end)
		goto ok;
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%d", &tm)) && !*end)
		goto ok;
	*out = strtoll(s, &end, 10);
	return *end || *out <= 0 ? -1 : 0;
ok:
	*out = (int64_t)timegm(&tm) * 1000;
	return 0;
}

static int pick(const char *s, const char *const *names, int count)
{
	for (int i = 0; i < count; i++)
		if (!strcmp(s, names[i]))
			return i;
	return -1;
}

/* A JSON string (keys are store data: SKUs, categories, employee ids). */
static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

/* A CSV field, quoted when it needs to be. */
static void csv_str(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\n\r")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void print_report(const redstore_sales_report *r, const char *format)
{
	static const char *const cols[] = { "bucket", "key", "units", "gross", "discount", "tax", "total",
		                                 "refunded_units", "refunds", "lines" };
	if (!strcmp(format, "json")) {
		printf("[");
		for (size_t i = 0; i < r->count; i++) {
			const redstore_sales_row *x = &r->rows[i];
			printf("%s\n  {\"bucket\": ", i ? "," : "");
			json_str(stdout, x->bucket);
			printf(", \"key\": ");
			json_str(stdout, x->key);
			printf(", \"units\": %lld, \"gross\": %lld, \"discount\": %lld, \"tax\": %lld, \"total\": %lld,"
			       " \"refunded_units\": %lld, \"refunds\": %lld, \"lines\": %lld}",
			       (long long)x->units, (long long)x->gross, (long long)x->discount, (long long)x->tax,
			       (long long)x->total, (long long)x->refunded_units, (long long)x->refunds, (long long)x->lines);
		}
		printf("\n]\n");
		return;
	}
	if (!strcmp(format, "csv")) {
		for (size_t c = 0; c < 10; c++)
			printf("%s%s", c ? "," : "", cols[c]);
		printf("\n");
	} else {
		printf("%-17s %-20s %8s %12s %10s %10s %12s %8s %10s %7s\n", cols[0], cols[1], cols[2], cols[3], cols[4],
		       cols[5], cols[6], "refunded", cols[8], cols[9]);
	}
	for (size_t i = 0; i < r->count; i++) {
		const redstore_sales_row *x = &r->rows[i];
		if (!strcmp(format, "csv")) {
			csv_str(stdout, x->bucket);
			putchar(',');
			csv_str(stdout, x->key);
			printf(",%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld\n", (long long)x->units, (long long)x->gross,
			       (long long)x->discount, (long long)x->tax, (long long)x->total, (long long)x->refunded_units,
			       (long long)x->refunds, (long long)x->lines);
		} else {
			printf("%-17s %-20.20s %8lld %12lld %10lld %10lld %12lld %8lld %10lld %7lld\n", x->bucket, x->key,
			       (long long)x->units, (long long)x->gross, (long long)x->discount, (long long)x->tax,
			       (long long)x->total, (long long)x->refunded_units, (long long)x->refunds, (long long)x->lines);
		}
	}
}

/* Bars of each bucket's total (rows of one key per bucket are summed), with the first, middle and last
 * bucket labelled and the largest value on the axis. */
static int write_svg(const char *path, const redstore_sales_report *r)
{
	enum { W = 900, H = 320, LEFT = 70, BOTTOM = 40, TOP = 20 };
	FILE *f = fopen(path, "w");
	int64_t *v = calloc(r->count + 1, sizeof(*v)), max = 1;
	const char **label = calloc(r->count + 1, sizeof(*label));
	size_t n = 0;
	if (!f || !v || !label) {
		if (f)
			fclose(f);
		free(v);
		free(label);
		fprintf(stderr, "redstore-cli: cannot write %s\n", path);
		return 1;
	}
	for (size_t i = 0; i < r->count; i++) {
		if (!n || strcmp(label[n - 1], r->rows[i].bucket))
			label[n++] = r->rows[i].bucket;
		v[n - 1] += r->rows[i].total;
	}
	for (size_t i = 0; i < n; i++)
		if (v[i] > max)
			max = v[i];
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\""
	           " font-size=\"11\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n", W, H);
	fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\"/>\n", LEFT, H - BOTTOM, W - 10, H - BOTTOM);
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%lld.%02lld</text>\n", LEFT - 4, TOP + 4,
	        (long long)(max / 100), (long long)(max % 100));
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">0</text>\n", LEFT - 4, H - BOTTOM);
	for (size_t i = 0; i < n; i++) {
		double w = (double)(W - 10 - LEFT) / (double)n, h = (double)(H - BOTTOM - TOP) * (double)v[i] / (double)max;
		fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#3a7bd5\"><title>%s: %lld.%02lld"
		           "</title></rect>\n",
		        LEFT + w * (double)i + w * 0.1, (double)(H - BOTTOM) - h, w * 0.8, h, label[i], (long long)(v[i] / 100),
		        (long long)(v[i] % 100));
		if (i == 0 || i == n / 2 || i + 1 == n)
			fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", LEFT + w * ((double)i + 0.5),
			        H - BOTTOM + 16, label[i]);
	}
	fprintf(f, "</svg>\n");
	free(v);
	free(label);
	if (fclose(f)) {
		fprintf(stderr, "redstore-cli: cannot write %s\n", path);
		return 1;
	}
	return 0;
}

int cmd_report(int argc, char **argv)
{
	static const char *const buckets[] = { "15min", "hour", "day", "week", "month", "all" };
	static const char *const groups[] = { "none", "product", "category", "brand", "terminal", "employee", "tender" };
	const char *name = argc > 1 ? argv[1] : "", *store = NULL, *format = "table", *svg = NULL, *day = NULL;
	redstore_report_options o = { REDSTORE_BUCKET_HOUR, REDSTORE_GROUP_NONE, 0 };
	redstore_rank_by rank = REDSTORE_RANK_REVENUE;
	int64_t from = 0, to = 0, days = 0;
	int64_t at = 0;
	int bottom = 0, n = 10, window = 30, rc;
	redstore_client *c;
	redstore_sales_report *r;

	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int k;
		if (!strcmp(a, "--bottom")) {
			bottom = 1;
			continue;
		}
		if (!v)
			goto usage;
		i++;
		if (!strcmp(a, "--store"))
			store = v;
		else if (!strcmp(a, "--from") && !parse_time(&from, v))
			continue;
		else if (!strcmp(a, "--to") && !parse_time(&to, v))
			continue;
		else if (!strcmp(a, "--days") && (days = atoll(v)) > 0 && days <= 1096)
			continue;
		else if (!strcmp(a, "--day"))
			day = v;
		else if (!strcmp(a, "--bucket") && (k = pick(v, buckets, 6)) >= 0)
			o.bucket = (redstore_bucket)k;
		else if ((!strcmp(a, "--by") || !strcmp(a, "--group")) && (k = pick(v, groups, 7)) >= 0)
			o.group_by = (redstore_group_by)k;
		else if (!strcmp(a, "--rank") && (!strcmp(v, "units") || !strcmp(v, "revenue")))
			rank = !strcmp(v, "units") ? REDSTORE_RANK_UNITS : REDSTORE_RANK_REVENUE;
		else if (!strcmp(a, "--n") && (n = atoi(v)) >= 1 && n <= 1000)
			continue;
		else if (!strcmp(a, "--format") && (!strcmp(v, "table") || !strcmp(v, "csv") || !strcmp(v, "json")))
			format = v;
		else if (!strcmp(a, "--svg"))
			svg = v;
		else if (!strcmp(a, "--at") && !parse_time(&at, v))
			continue;
		else if (!strcmp(a, "--window") && (window = atoi(v)) >= 1 && window <= 366)
			continue;
		else
			goto usage;
	}
	if (days) {
		to = ((int64_t)time(NULL) / 3600) * 3600 * 1000;
		from = to - days * 24 * 3600 * 1000;
	}
	if (store && !strcmp(name, "stock")) {
		if (!at)
			at = (int64_t)time(NULL) * 1000;
		if (cli_client(&c))
			return 1;
		rc = redstore_client_use_store(c, store) ? cli_fail("report") : cli_report_more(name, c, 0, 0, at, window, format);
		redstore_client_free(c);
		return rc;
	}
	if (store && day && !from && !to && !days) {
		/* one local day of the store: its zone answers where the day starts and ends */
		if (cli_client(&c))
			return 1;
		rc = redstore_client_use_store(c, store);
		if (!rc)
			rc = redstore_store_day_range(&from, &to, c, day, NULL);
		redstore_client_free(c);
		if (rc)
			return cli_fail("report --day");
	} else if (day) {
		goto usage;
	}
	if (store && from && to && (!strcmp(name, "transactions") || !strcmp(name, "patterns"))) {
		if (cli_client(&c))
			return 1;
		rc = redstore_client_use_store(c, store) ? cli_fail("report") : cli_report_more(name, c, from, to, 0, 0, format);
		redstore_client_free(c);
		return rc;
	}
	if (!store || !from || !to || (strcmp(name, "sales") && strcmp(name, "top")))
		goto usage;
	if (cli_client(&c))
		return 1;
	if ((rc = redstore_client_use_store(c, store)) == 0)
		rc = !strcmp(name, "sales") ? redstore_report_sales(&r, c, from, to, &o)
		                            : redstore_report_top_products(&r, c, from, to, rank, bottom, (size_t)n);
	if (rc) {
		redstore_client_free(c);
		return cli_fail("report");
	}
	print_report(r, format);
	rc = svg ? write_svg(svg, r) : 0;
	redstore_sales_report_free(r);
	redstore_client_free(c);
	return rc;
usage:
	fprintf(stderr, "usage: redstore-cli report sales|top --store S (--days N | --from T --to T | --day D|today) [--bucket "
	                "15min|hour|day|week|month|all] [--by|--group none|product|category|brand|terminal|employee|tender] [--rank "
	                "units|revenue] [--bottom] [--n N] [--format table|csv|json] [--svg FILE]\n"
	                "       redstore-cli report transactions|patterns --store S (--days N | --from T --to T | --day D) [--format F]\n"
	                "       redstore-cli report stock --store S [--at T] [--window DAYS] [--format F]\n"
	                "  T: YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC), or ms since the epoch\n");
	return 2;
}
