/* Sales history for the report suites: check_analytics and check_timescale. */
#ifndef REDSTORE_TEST_HISTORY_H
#define REDSTORE_TEST_HISTORY_H

#include <redstore.h>

/* A new store (its id into `store`, 65 bytes) in time zone `tz` with 20 products in 4 categories and 3
 * brands, and `n` random sales and refunds (seeded: the same seed gives the same history) over `days`
 * days before `end_ms`, projected; the client then has that store selected. */
void rs_history_store(redstore_client *c, const char *tz, char *store, int n, int days, int64_t end_ms,
                      unsigned seed);

/* Decodes the `n` events of json[] (malloc'ed, as the synth functions give them; all freed, json too)
 * and projects them into PostgreSQL. */
void rs_history_project(redstore_client *c, char **json, int n);

/* Asserts that two reports have the same rows (buckets, keys and every sum); `what` names the case. */
void rs_same_rows(const redstore_sales_report *a, const redstore_sales_report *b, const char *what);

#endif
