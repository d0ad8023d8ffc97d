/* Synthetic sale events (see synth.h). */
#include "synth.h"
#include "events/events_int.h"
#include "sale/sale_int.h"

#include <stdio.h>
#include <string.h>

static char *synth(redstore_client *c, const char *store, int i, int64_t occurred_ms, int64_t *total, bool refund)
{
	redstore_receipt r;
	redstore_receipt_line lines[3];
	redstore_receipt_tender tender;
	cJSON *payload;
	char *ev;

	memset(&r, 0, sizeof(r));
	memset(lines, 0, sizeof(lines));
	memset(&tender, 0, sizeof(tender));
	if (redstore_id_new(r.sale_id))
		return NULL;
	snprintf(r.kind, sizeof(r.kind), refund ? "refund" : "sale");
	if (refund && redstore_id_new(r.ref_sale_id))
		return NULL;
	r.restocked = refund;
	snprintf(r.store_id, sizeof(r.store_id), "%s", store);
	snprintf(r.store_name, sizeof(r.store_name), "Store %.64s", store);
	snprintf(r.terminal_id, sizeof(r.terminal_id), "T%d", i % 16);
	snprintf(r.employee_id, sizeof(r.employee_id), "E%d", i % 40);
	snprintf(r.currency, sizeof(r.currency), "EUR");
	r.occurred_at_ms = occurred_ms;
	for (int l = 0; l < 3; l++) {
		redstore_receipt_line *x = &lines[l];
		/* Formatted once into a local: gcc's -Wrestrict (Debug) takes x->sku for part of x->name. */
		char sku[16];
		snprintf(sku, sizeof(sku), "SKU-%05d", (i * 7 + l * 131) % 500);
		snprintf(x->sku, sizeof(x->sku), "%s", sku);
		snprintf(x->name, sizeof(x->name), "Product %s", sku);
		x->qty = 1 + (i + l) % 3;
		x->unit_price = 100 + (i * 13 + l) % 900;
		x->gross = x->qty * x->unit_price;
		x->net = x->gross;
		x->tax = x->net / 5;
		x->total = x->net + x->tax;
		snprintf(x->tax_class, sizeof(x->tax_class), "standard");
		x->tax_rate_ppm = 200000;
		r.gross += x->gross;
		r.tax += x->tax;
		r.total += x->total;
	}
	r.line_count = 3;
	r.lines = lines;
	tender.kind = REDSTORE_TENDER_CARD;
	tender.amount = r.total;
	snprintf(tender.reference, sizeof(tender.reference), "auth-%d", i);
	r.tender_count = 1;
	r.tenders = &tender;
	r.tendered = r.total;
	if (!(payload = redstore__receipt_to_cjson(&r)))
		return NULL;
	ev = redstore__event_encode(c, store, r.sale_id, refund ? "sale.refunded" : "sale.completed", r.occurred_at_ms,
	                            payload);
	cJSON_Delete(payload);
	if (ev && total)
		*total += r.total;
	return ev;
}

char *rs_synth_sale_event(redstore_client *c, const char *store, int i, int64_t occurred_ms, int64_t *total)
{
	return synth(c, store, i, occurred_ms, total, false);
}

char *rs_synth_refund_event(redstore_client *c, const char *store, int i, int64_t occurred_ms, int64_t *total)
{
	return synth(c, store, i, occurred_ms, total, true);
}
