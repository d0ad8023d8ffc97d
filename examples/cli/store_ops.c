/*
 * redstore-cli stock | receive | sell | import: the write path from the command line, public API only.
 *
 *   redstore-cli stock --store demo [SKU...]
 *   redstore-cli receive --store demo --ref DN-1001 ESP-001:40 CRO-001:24:45
 *   redstore-cli sell --store demo ESP-001:2 CRO-001:1            (cash, exact amount)
 *   redstore-cli sell --store demo --card AUTH-77 ESP-001:2
 *   redstore-cli import --store demo [--skip-bad-rows] catalog.csv
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parses the options shared by these commands; leaves the positional arguments in args. */
typedef struct opts {
	const char *store, *ref, *card;
	int skip_bad;
	int nargs;
	char **args;
} opts;

static int parse(opts *o, int argc, char **argv, const char *usage)
{
	memset(o, 0, sizeof(*o));
	o->store = getenv("REDSTORE_STORE_ID");
	o->args = calloc((size_t)argc + 1, sizeof(*o->args));
	if (!o->args)
		return 1;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--store") && i + 1 < argc)
			o->store = argv[++i];
		else if (!strcmp(argv[i], "--ref") && i + 1 < argc)
			o->ref = argv[++i];
		else if (!strcmp(argv[i], "--card") && i + 1 < argc)
			o->card = argv[++i];
		else if (!strcmp(argv[i], "--skip-bad-rows"))
			o->skip_bad = 1;
		else if (argv[i][0] == '-' && argv[i][1] == '-') {
			fprintf(stderr, "redstore-cli: unknown option %s\nusage: redstore-cli %s\n", argv[i], usage);
			return 2;
		} else
			o->args[o->nargs++] = argv[i];
	}
	if (!o->store || !*o->store) {
		fprintf(stderr, "redstore-cli: no store (--store S or REDSTORE_STORE_ID)\nusage: redstore-cli %s\n", usage);
		return 2;
	}
	return 0;
}

/* "SKU:QTY[:COST]" -> line; returns 0 or prints why not. */
static int parse_line(redstore_stock_line *l, char *arg)
{
	char *qty = strchr(arg, ':'), *cost, *end;
	if (!qty) {
		fprintf(stderr, "redstore-cli: \"%s\" is not SKU:QTY\n", arg);
		return 2;
	}
	*qty++ = '\0';
	cost = strchr(qty, ':');
	if (cost)
		*cost++ = '\0';
	l->sku = arg;
	l->qty = strtoll(qty, &end, 10);
	if (*end || end == qty) {
		fprintf(stderr, "redstore-cli: quantity \"%s\" of %s is not a whole number\n", qty, arg);
		return 2;
	}
	l->unit_cost = cost ? strtoll(cost, &end, 10) : 0;
	if (cost && (*end || end == cost)) {
		fprintf(stderr, "redstore-cli: unit cost \"%s\" of %s is not a whole number of cents\n", cost, arg);
		return 2;
	}
	return 0;
}

static int open_store(redstore_client **c, const opts *o)
{
	if (cli_client(c))
		return 1;
	if (redstore_client_use_store(*c, o->store)) {
		redstore_client_free(*c);
		return cli_fail("store");
	}
	return 0;
}

static void print_level(const redstore_stock_level *l)
{
	printf("%-16s on hand %8lld  reserved %6lld  available %8lld%s\n", l->sku, (long long)l->on_hand,
	       (long long)l->reserved, (long long)l->available, l->low_stock ? "  LOW" : "");
}

int cmd_stock(int argc, char **argv)
{
	opts o;
	redstore_client *c;
	int rc = parse(&o, argc, argv, "stock --store S [SKU...]");
	if (rc || (rc = open_store(&c, &o)))
		goto out;
	if (o.nargs) {
		redstore_stock_level *l = calloc((size_t)o.nargs, sizeof(*l));
		if (l && !redstore_stock_get(l, c, (size_t)o.nargs, (const char *const *)o.args))
			for (int i = 0; i < o.nargs; i++)
				print_level(&l[i]);
		else
			rc = cli_fail("stock");
		free(l);
	} else {
		/* Every product, a page at a time. */
		redstore_product_page *page = NULL;
		char *cursor = NULL;
		do {
			redstore_stock_level l[100];
			const char *skus[100];
			if (redstore_product_list(&page, c, cursor, 100, REDSTORE_LIST_INCLUDE_INACTIVE)) {
				rc = cli_fail("stock");
				break;
			}
			for (size_t i = 0; i < page->count; i++)
				skus[i] = page->items[i]->sku;
			if (page->count && redstore_stock_get(l, c, page->count, skus)) {
				rc = cli_fail("stock");
				break;
			}
			for (size_t i = 0; i < page->count; i++)
				print_level(&l[i]);
			free(cursor);
			cursor = page->next_cursor ? strdup(page->next_cursor) : NULL;
			redstore_product_page_free(page);
			page = NULL;
		} while (cursor);
		redstore_product_page_free(page);
		free(cursor);
	}
	redstore_client_free(c);
out:
	free(o.args);
	return rc;
}

int cmd_receive(int argc, char **argv)
{
	opts o;
	redstore_client *c = NULL;
	redstore_stock_line *lines = NULL;
	redstore_stock_result *r = NULL;
	int rc = parse(&o, argc, argv, "receive --store S [--ref REF] SKU:QTY[:COST]...");
	if (rc)
		goto out;
	if (!o.nargs || !(lines = calloc((size_t)o.nargs, sizeof(*lines)))) {
		fprintf(stderr, "redstore-cli: receive: name at least one SKU:QTY\n");
		rc = 2;
		goto out;
	}
	for (int i = 0; i < o.nargs; i++)
		if ((rc = parse_line(&lines[i], o.args[i])))
			goto out;
	if ((rc = open_store(&c, &o)))
		goto out;
	if (redstore_stock_receive(&r, c, NULL, o.ref, (size_t)o.nargs, lines)) {
		rc = cli_fail("receive");
		goto out;
	}
	printf("received (operation %s)\n", r->op_id);
	for (size_t i = 0; i < r->count; i++)
		print_level(&r->levels[i]);
out:
	redstore_stock_result_free(r);
	redstore_client_free(c);
	free(lines);
	free(o.args);
	return rc;
}

int cmd_sell(int argc, char **argv)
{
	opts o;
	redstore_client *c = NULL;
	redstore_sale *s = NULL;
	redstore_receipt *quote = NULL, *r = NULL;
	char *text = NULL;
	int rc = parse(&o, argc, argv, "sell --store S [--card REF] SKU:QTY...");
	if (rc)
		goto out;
	if (!o.nargs) {
		fprintf(stderr, "redstore-cli: sell: name at least one SKU:QTY\n");
		rc = 2;
		goto out;
	}
	if ((rc = open_store(&c, &o)))
		goto out;
	redstore_client_set_actor(c, "redstore-cli", "");
	if (redstore_sale_new(&s, NULL)) {
		rc = cli_fail("sell");
		goto out;
	}
	for (int i = 0; i < o.nargs; i++) {
		redstore_stock_line l;
		if ((rc = parse_line(&l, o.args[i])))
			goto out;
		if (redstore_sale_add_line(s, l.sku, l.qty, NULL)) {
			rc = cli_fail("sell");
			goto out;
		}
	}
	/* Price it first, then pay exactly the total. */
	if (redstore_sale_quote(&quote, c, s) ||
	    (quote->total > 0 && redstore_sale_add_tender(s, o.card ? REDSTORE_TENDER_CARD : REDSTORE_TENDER_CASH,
	                                                  quote->total, o.card)) ||
	    redstore_sale_commit(&r, c, s) || redstore_receipt_render_text(&text, r, 42)) {
		rc = cli_fail("sell");
		goto out;
	}
	fputs(text, stdout);
out:
	redstore_free(text);
	redstore_receipt_free(quote);
	redstore_receipt_free(r);
	redstore_sale_free(s);
	redstore_client_free(c);
	free(o.args);
	return rc;
}

int cmd_import(int argc, char **argv)
{
	opts o;
	redstore_client *c = NULL;
	redstore_import_report *rep = NULL;
	int rc = parse(&o, argc, argv, "import --store S [--skip-bad-rows] FILE");
	if (rc)
		goto out;
	if (o.nargs != 1) {
		fprintf(stderr, "redstore-cli: import: name one CSV file\n");
		rc = 2;
		goto out;
	}
	if ((rc = open_store(&c, &o)))
		goto out;
	rc = redstore_catalog_import_csv(&rep, c, o.args[0], o.skip_bad ? REDSTORE_IMPORT_SKIP_BAD_ROWS : 0);
	if (rep) {
		for (size_t i = 0; i < rep->error_count; i++)
			fprintf(stderr, "%s:%zu: %s\n", o.args[0], rep->errors[i].line, rep->errors[i].message);
		printf("%zu rows: %zu created, %zu updated, %zu bad%s\n", rep->rows, rep->created, rep->updated,
		       rep->error_count, rep->applied ? "" : " (nothing written)");
	}
	rc = rc ? cli_fail("import") : 0;
out:
	redstore_import_report_free(rep);
	redstore_client_free(c);
	free(o.args);
	return rc;
}
