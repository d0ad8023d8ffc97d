/*
 * redstore-cli report transactions | patterns | stock: the reports that are not sales by bucket.
 *
 *   report transactions --store S (--days N | --from T --to T)   per local day: count, total, average, median
 *   report patterns     --store S (--days N | --from T --to T)   per weekday and hour: transactions, total
 *   report stock        --store S [--at T] [--window DAYS]        per product: on hand at T, worth, sold over
 *                                                                 the window before T, days of cover
 * with --format table|csv|json like the sales reports.
 */
#include "cli.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* One output row: up to 8 fields, each text or an integer. */
typedef struct field {
	const char *name;
	const char *text; /* NULL: the number */
	int64_t num;
} field;

typedef struct out {
	const char *format;
	size_t rows;
} out;

static void quoted(const char *s, char q)
{
	putchar(q);
	for (; *s; s++) {
		if (*s == q || (q == '"' && *s == '\\'))
			putchar(q == '"' ? '\\' : q);
		putchar(*s);
	}
	putchar(q);
}

static void emit(out *o, const field *f, size_t n)
{
	bool json = !strcmp(o->format, "json"), csv = !strcmp(o->format, "csv");
	if (!o->rows && !json) {
		for (size_t i = 0; i < n; i++)
			printf(csv ? "%s%s" : "%s%14s", i ? (csv ? "," : " ") : "", f[i].name);
		printf("\n");
	}
	if (json)
		printf("%s\n  {", o->rows ? "," : "[");
	for (size_t i = 0; i < n; i++) {
		if (json) {
			printf("%s\"%s\": ", i ? ", " : "", f[i].name);
			if (f[i].text)
				quoted(f[i].text, '"');
			else
				printf("%" PRId64, f[i].num);
		} else if (csv) {
			if (i)
				putchar(',');
			if (f[i].text)
				quoted(f[i].text, '"');
			else
				printf("%" PRId64, f[i].num);
		} else if (f[i].text) {
			printf("%s%14.14s", i ? " " : "", f[i].text);
		} else {
			printf("%s%14" PRId64, i ? " " : "", f[i].num);
		}
	}
	printf(json ? "}" : "\n");
	o->rows++;
}

static void finish(out *o)
{
	if (!strcmp(o->format, "json"))
		printf(o->rows ? "\n]\n" : "[]\n");
}

int cli_report_more(const char *name, redstore_client *c, int64_t from, int64_t to, int64_t at, int window,
                    const char *format)
{
	static const char *const weekdays[] = { "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
		                                    "Sunday" };
	out o = { format, 0 };
	if (!strcmp(name, "transactions")) {
		redstore_transactions_report *r;
		if (redstore_report_transactions(&r, c, from, to))
			return cli_fail("report transactions");
		for (size_t i = 0; i < r->count; i++) {
			const redstore_transactions_row *x = &r->rows[i];
			field f[] = { { "day", x->day, 0 }, { "transactions", NULL, x->count }, { "total", NULL, x->total },
				          { "average", NULL, x->average }, { "median", NULL, x->median } };
			emit(&o, f, 5);
		}
		redstore_transactions_report_free(r);
	} else if (!strcmp(name, "patterns")) {
		static redstore_pattern_report r;
		if (redstore_report_patterns(&r, c, from, to))
			return cli_fail("report patterns");
		for (int w = 0; w < 7; w++)
			for (int h = 0; h < 24; h++) {
				char hour[8];
				field f[] = { { "weekday", weekdays[w], 0 }, { "hour", hour, 0 }, { "days", NULL, r.days[w] },
					          { "transactions", NULL, r.cells[w][h].transactions },
					          { "total", NULL, r.cells[w][h].total } };
				if (!r.cells[w][h].transactions)
					continue;
				snprintf(hour, sizeof(hour), "%02d:00", h);
				emit(&o, f, 5);
			}
	} else {
		redstore_stock_value_report *r;
		if (redstore_report_stock_value(&r, c, at, window))
			return cli_fail("report stock");
		for (size_t i = 0; i < r->count; i++) {
			const redstore_stock_value_row *x = &r->rows[i];
			field f[] = { { "sku", x->sku, 0 },         { "on_hand", NULL, x->on_hand }, { "price", NULL, x->price },
				          { "worth", NULL, x->worth },  { "sold", NULL, x->sold },
				          { "cover_days", NULL, x->cover_days } };
			emit(&o, f, 6);
		}
		if (strcmp(format, "json"))
			fprintf(stderr, "stock worth at today's prices: %" PRId64 " (minor units)\n", r->worth);
		redstore_stock_value_report_free(r);
	}
	finish(&o);
	return 0;
}
