/* Synthetic sale events, as redstore_sale_commit would produce them, for projector tests and the
 * projector benchmark (no Check dependency: the benchmark compiles this file too). */
#ifndef REDSTORE_TEST_SYNTH_H
#define REDSTORE_TEST_SYNTH_H

#include "engines/engines_int.h"

/* The i-th synthetic 3-line card sale of `store`, occurred at `occurred_ms`, as an encoded
 * sale.completed event (malloc'ed; NULL when out of memory). Adds the sale's total to *total. */
char *rs_synth_sale_event(redstore_client *c, const char *store, int i, int64_t occurred_ms, int64_t *total);

/* The same shape as a refund (kind "refund", type sale.refunded, restocked) of an unnamed sale. */
char *rs_synth_refund_event(redstore_client *c, const char *store, int i, int64_t occurred_ms, int64_t *total);

#endif
