/*
 * redstore-cli reconcile | rebuild-cache: store maintenance from the command line, public API only.
 *
 *   redstore-cli reconcile --store demo [--group projector] [--wait 30]
 *   redstore-cli rebuild-cache --store demo [--group projector] [--wait 30]
 *
 * reconcile waits (at most --wait seconds) until the projector group has committed every event of the
 * store's partitions, then compares Redis stock with the PostgreSQL ledger and prints every difference.
 * Exit codes: 0 no difference / rebuilt, 1 differences found or failure, 2 usage.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct mopts {
	const char *store;
	redstore_maintenance_options o;
} mopts;

static int parse(mopts *m, int argc, char **argv, const char *usage)
{
	memset(m, 0, sizeof(*m));
	m->store = getenv("REDSTORE_STORE_ID");
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--store") && i + 1 < argc) {
			m->store = argv[++i];
		} else if (!strcmp(argv[i], "--group") && i + 1 < argc) {
			m->o.group_id = argv[++i];
		} else if (!strcmp(argv[i], "--wait") && i + 1 < argc) {
			char *end;
			long s = strtol(argv[++i], &end, 10);
			if (*end || s < 1 || s > 3600) {
				fprintf(stderr, "redstore-cli: --wait %s (expected 1..3600 seconds)\n", argv[i]);
				return 2;
			}
			m->o.wait_ms = (int)s * 1000;
		} else {
			fprintf(stderr, "redstore-cli: unexpected argument %s\nusage: redstore-cli %s\n", argv[i], usage);
			return 2;
		}
	}
	if (!m->store || !*m->store) {
		fprintf(stderr, "redstore-cli: no store (--store S or REDSTORE_STORE_ID)\nusage: redstore-cli %s\n", usage);
		return 2;
	}
	return 0;
}

static int open_store(redstore_client **c, const mopts *m)
{
	if (cli_client(c))
		return 1;
	if (redstore_client_use_store(*c, m->store)) {
		redstore_client_free(*c);
		return cli_fail("store");
	}
	return 0;
}

int cmd_reconcile(int argc, char **argv)
{
	static const char usage[] = "reconcile --store S [--group G] [--wait SECONDS]";
	redstore_reconcile_report *rep = NULL;
	redstore_client *c;
	mopts m;
	int rc;

	if ((rc = parse(&m, argc, argv, usage)) || (rc = open_store(&c, &m)))
		return rc;
	if (redstore_reconcile(&rep, c, &m.o)) {
		rc = cli_fail("reconcile");
		redstore_client_free(c);
		return rc;
	}
	if (rep->count)
		printf("%-24s %12s %12s %12s %12s %12s\n", "sku", "redis", "ledger", "levels", "redis_resv", "levels_resv");
	for (size_t i = 0; i < rep->count; i++) {
		const redstore_stock_difference *d = &rep->differences[i];
		printf("%-24s %12lld %12lld %12lld %12lld %12lld\n", d->sku, (long long)d->redis_on_hand,
		       (long long)d->ledger_on_hand, (long long)d->projected_on_hand, (long long)d->redis_reserved,
		       (long long)d->projected_reserved);
	}
	printf("store %s: %zu SKU%s compared, %zu difference%s (projector at partition %d: sales %lld/%lld, "
	       "inventory %lld/%lld)\n",
	       rep->store_id, rep->skus, rep->skus == 1 ? "" : "s", rep->count, rep->count == 1 ? "" : "s",
	       (int)rep->progress.partition, (long long)rep->progress.sales_committed, (long long)rep->progress.sales_high,
	       (long long)rep->progress.inventory_committed, (long long)rep->progress.inventory_high);
	rc = rep->count ? 1 : 0;
	redstore_reconcile_report_free(rep);
	redstore_client_free(c);
	return rc;
}

int cmd_rebuild_cache(int argc, char **argv)
{
	static const char usage[] = "rebuild-cache --store S [--group G] [--wait SECONDS]";
	redstore_rebuild_stats st;
	redstore_client *c;
	mopts m;
	int rc;

	if ((rc = parse(&m, argc, argv, usage)) || (rc = open_store(&c, &m)))
		return rc;
	if (redstore_cache_rebuild(&st, c, &m.o)) {
		rc = cli_fail("rebuild-cache");
		redstore_client_free(c);
		return rc;
	}
	printf("store %s rebuilt: %zu SKUs, %zu events replayed from the log, %zu operation records, %zu refund "
	       "records, %zu pending records dropped, %zu products cached; operations held for %lld ms\n",
	       m.store, st.skus, st.events_replayed, st.op_records, st.refund_records, st.dropped_pending, st.products,
	       (long long)st.gate_ms);
	redstore_client_free(c);
	return 0;
}
