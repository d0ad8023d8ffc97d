/* Receipts as JSON: the stored result of a sale/refund/void operation and its event payload. */
#ifndef REDSTORE_LIB_RECEIPT_H
#define REDSTORE_LIB_RECEIPT_H

#include "core/core_int.h"

#include <cjson/cJSON.h>

/* The receipt as a cJSON object (caller deletes), or NULL when out of memory. */
cJSON *redstore__receipt_to_cjson(const redstore_receipt *r);

/* Parses a receipt written by redstore__receipt_to_cjson. REDSTORE_EDECODE names what is wrong. */
int redstore__receipt_from_json(redstore_receipt **out, const char *json);

#endif
