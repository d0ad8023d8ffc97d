/**
 * @file
 * libredstore: sales, receipts, voids and refunds.
 *
 * A terminal builds a sale (redstore_sale) with an id it generated itself (UUIDv7, redstore_id_new), then
 * commits it. The id is the idempotency key of every retry, online or after an offline period: committing
 * the same id again returns the first receipt and changes nothing, even when both commits run at once.
 *
 * Commit prices every line from the catalog (never from the terminal), validates, then runs ONE atomic
 * Redis step on the store's keys: all lines are checked against stock and then all are taken, or none
 * (REDSTORE_EOUT_OF_STOCK names the SKU and what is available). The `sale.completed` event goes to Kafka
 * and commit returns only after the brokers acknowledged it. If Kafka cannot take it, commit returns a
 * retriable error within kafka.delivery_timeout_ms and the stock is restored; retrying with the same id
 * after recovery commits it exactly once.
 *
 * Money is int64 minor units (cents). Rounding, applied per line, half to even:
 *  1. gross = unit price x quantity.
 *  2. A line discount is a percentage in basis points (1250 = 12.5 %) of the gross, or an amount.
 *  3. An order discount (percentage of, or amount off, the sum after line discounts) is shared among the
 *     lines in proportion to their amounts, by the largest-remainder method, so the shares add up exactly.
 *  4. Tax per line: prices that exclude tax add round(net x rate); prices that include tax contain
 *     round(net x rate / (1 + rate)). Rates are in parts per million.
 *  5. The sale's figures are the sums of its lines' figures.
 *
 * Tenders: cash may exceed what is due (change is given from cash only); card and other tenders may not.
 * Tenders must cover the total.
 *
 * Thread rule: a redstore_sale and a redstore_receipt are used by one thread at a time; the calls that
 * take a client follow the client's rule.
 */
#ifndef REDSTORE_SALE_H
#define REDSTORE_SALE_H

#include "common.h"
#include "client.h"

REDSTORE_BEGIN_DECLS
REDSTORE_ASSUME_NONNULL_BEGIN

/** A sale being built on a terminal. One thread at a time. */
typedef struct redstore_sale redstore_sale;

/** How a customer pays. */
typedef enum redstore_tender_kind {
	REDSTORE_TENDER_CASH = 0,
	REDSTORE_TENDER_CARD = 1,
	REDSTORE_TENDER_OTHER = 2   /**< voucher, gift card, store credit...: reference names it */
} redstore_tender_kind;

/** The tender's name: "cash", "card", "other" ("unknown" for any other value). Static. Thread-safe. */
REDSTORE_EXTERN(const char *) redstore_tender_kind_name(redstore_tender_kind kind);

/**
 * Starts a sale.
 *
 * @param sale_id  the terminal's id for it (a UUID), or NULL to generate a UUIDv7
 * @return 0, REDSTORE_EINVALID (not a UUID), REDSTORE_ENOMEM
 */
REDSTORE_EXTERN(int) redstore_sale_new(redstore_sale *REDSTORE_NULLABLE *REDSTORE_NONNULL out,
                                       const char *REDSTORE_NULLABLE sale_id);

/** Frees a sale builder; NULL is a no-op. */
REDSTORE_EXTERN(void) redstore_sale_free(redstore_sale *REDSTORE_NULLABLE sale);

/** The sale's id, borrowed from the sale. */
REDSTORE_EXTERN(const char *) redstore_sale_id(const redstore_sale *sale);

/**
 * Adds a line by SKU (or by barcode with redstore_sale_add_barcode). The price is looked up at commit.
 *
 * @param line  optional: receives the line's index (0-based) for discounts
 * @return 0, REDSTORE_EINVALID (bad SKU, quantity outside 1..1000000), REDSTORE_ELIMIT (sale.max_lines)
 */
REDSTORE_EXTERN(int) redstore_sale_add_line(redstore_sale *sale, const char *sku, int64_t qty,
                                            size_t *REDSTORE_NULLABLE line);
/** Like redstore_sale_add_line(), by barcode; the product is looked up at commit. */
REDSTORE_EXTERN(int) redstore_sale_add_barcode(redstore_sale *sale, const char *barcode, int64_t qty,
                                               size_t *REDSTORE_NULLABLE line);

/** A line discount in basis points of the line's gross (0..10000). Replaces an earlier line discount. */
REDSTORE_EXTERN(int) redstore_sale_line_discount_percent(redstore_sale *sale, size_t line, int64_t basis_points);
/** A line discount as an amount in minor units (at most the line's gross, checked at commit). */
REDSTORE_EXTERN(int) redstore_sale_line_discount_amount(redstore_sale *sale, size_t line, int64_t amount);
/** An order discount in basis points (0..10000) of the total after line discounts. */
REDSTORE_EXTERN(int) redstore_sale_order_discount_percent(redstore_sale *sale, int64_t basis_points);
/** An order discount as an amount in minor units. */
REDSTORE_EXTERN(int) redstore_sale_order_discount_amount(redstore_sale *sale, int64_t amount);

/**
 * Adds a tender (split tender: call once per payment).
 *
 * @param amount     minor units, > 0; for cash, what the customer handed over
 * @param reference  card authorisation / voucher number (0-64 characters), copied
 * @return 0, REDSTORE_EINVALID, REDSTORE_ELIMIT (more than 16 tenders)
 */
REDSTORE_EXTERN(int) redstore_sale_add_tender(redstore_sale *sale, redstore_tender_kind kind, int64_t amount,
                                              const char *REDSTORE_NULLABLE reference);

/** A customer reference (loyalty number...), 0-64 characters, copied. */
REDSTORE_EXTERN(int) redstore_sale_set_customer(redstore_sale *sale, const char *REDSTORE_NULLABLE customer_ref);
/** A note printed on the receipt, 0-500 characters, copied. */
REDSTORE_EXTERN(int) redstore_sale_set_note(redstore_sale *sale, const char *REDSTORE_NULLABLE note);
/** When the sale happened on the terminal's clock (ms since the epoch); default: when it was created. */
REDSTORE_EXTERN(int) redstore_sale_set_occurred_at(redstore_sale *sale, int64_t ms);

/** One line of a receipt. */
typedef struct redstore_receipt_line {
	char sku[65];           /**< the product */
	char name[201];         /**< its name at the time of the sale */
	int64_t qty;            /**< units */
	int64_t unit_price;     /**< the catalog price, minor units */
	int64_t gross;          /**< unit_price x qty */
	int64_t discount;       /**< line discount + share of the order discount */
	int64_t net;            /**< gross - discount */
	int64_t tax;            /**< tax of the line (contained or added, per the store) */
	int64_t total;          /**< what the customer pays for the line */
	char tax_class[33];     /**< the tax class applied, "" for none */
	int64_t tax_rate_ppm;   /**< its rate in parts per million */
} redstore_receipt_line;

/** One tender of a receipt. */
typedef struct redstore_receipt_tender {
	redstore_tender_kind kind; /**< how it was paid */
	int64_t amount;           /**< minor units */
	char reference[65];       /**< card authorisation, voucher number... or "" */
} redstore_receipt_tender;

/** A structured receipt: what was sold, for how much, paid how. Owned by the caller. */
typedef struct redstore_receipt {
	char sale_id[REDSTORE_ID_SIZE]; /**< the operation's id (the sale, refund or void) */
	char kind[16];          /**< "sale", "refund" or "void" */
	char ref_sale_id[REDSTORE_ID_SIZE]; /**< refunds and voids: the sale they undo */
	char store_id[65];      /**< the store */
	char store_name[201];   /**< its name, for the receipt header */
	char terminal_id[65];   /**< the terminal that committed it */
	char employee_id[65];   /**< the employee who committed it */
	char currency[4];       /**< ISO 4217 */
	int prices_include_tax; /**< 1: tax is contained in the totals; 0: added */
	int64_t occurred_at_ms; /**< the terminal's time of the sale */
	size_t line_count;      /**< entries of `lines` */
	redstore_receipt_line *REDSTORE_NULLABLE lines; /**< the lines, in sale order */
	size_t tender_count;    /**< entries of `tenders` */
	redstore_receipt_tender *REDSTORE_NULLABLE tenders; /**< the payments */
	int64_t gross;          /**< sum of the lines' gross */
	int64_t discount;       /**< sum of the lines' discounts */
	int64_t tax;            /**< sum of the lines' tax */
	int64_t total;          /**< what the customer pays */
	int64_t tendered;       /**< sum of tenders */
	int64_t change_due;     /**< cash handed back */
	char customer_ref[65];  /**< loyalty number..., or "" */
	char note[501];         /**< printed on the receipt, or "" */
	int duplicate;          /**< 1 when this call found the operation already committed */
	char stream_id[48];     /**< the sync stream entry of the stock change ("" for duplicates) */
	int restocked;          /**< refunds and voids: 1 when the units went back on hand */
} redstore_receipt;

/** Frees a receipt; NULL is a no-op. */
REDSTORE_EXTERN(void) redstore_receipt_free(redstore_receipt *REDSTORE_NULLABLE receipt);

/**
 * Prices a sale without committing it (a quote for the terminal's screen).
 *
 * @return 0, REDSTORE_EINVALID (names the line and field), REDSTORE_ENOTFOUND (unknown SKU or barcode),
 *         REDSTORE_EINACTIVE (deactivated product)
 */
REDSTORE_EXTERN(int) redstore_sale_quote(redstore_receipt *REDSTORE_NULLABLE *REDSTORE_NONNULL out,
                                         redstore_client *client, const redstore_sale *sale);

/**
 * Commits a sale in the client's selected store, exactly once by its id.
 *
 * @param out  receives the receipt (also for a duplicate commit: the first one's, with duplicate = 1)
 * @return 0, REDSTORE_EINVALID, REDSTORE_ENOTFOUND, REDSTORE_EINACTIVE, REDSTORE_EOUT_OF_STOCK (names the
 *         SKU and the units available), or a retriable error (REDSTORE_ETIMEOUT, REDSTORE_ECONNECT,
 *         REDSTORE_EUNAVAILABLE): retry with the same sale
 */
REDSTORE_EXTERN(int) redstore_sale_commit(redstore_receipt *REDSTORE_NULLABLE *REDSTORE_NONNULL out,
                                          redstore_client *client, const redstore_sale *sale);

/**
 * Commits several sales of the selected store at once, each exactly once by its own id, with the
 * guarantees of redstore_sale_commit(). It is the same work in fewer round trips: one catalog lookup,
 * one pipelined batch of Redis scripts, every event produced together and awaited together. A server
 * that takes sales from many terminals commits them this way ("pipelining across terminals").
 *
 * @param out      an array of n receipt pointers: out[i] receives sale i's receipt, or NULL
 * @param results  an array of n codes: results[i] is what redstore_sale_commit would have returned
 * @return 0 when every sale got its own result (look at results[]), or an error that stopped the whole
 *         batch (then every results[i] holds it too), e.g. REDSTORE_ECONNECT, REDSTORE_ELIMIT (n > 4096)
 */
REDSTORE_EXTERN(int) redstore_sale_commit_many(redstore_receipt *REDSTORE_NULLABLE *REDSTORE_NONNULL out, int *results,
                                               redstore_client *client, size_t n,
                                               const redstore_sale *const REDSTORE_NONNULL *REDSTORE_NONNULL sales);

/**
 * Voids a whole sale: every unit not yet refunded goes back to stock, and the full remaining amount is
 * returned with the sale's first tender kind. Exactly once by void_id (NULL: new); a sale is voided once.
 *
 * @param reason  why (1-500 characters)
 * @return 0, REDSTORE_ENOTFOUND (no such sale), REDSTORE_ECONFLICT (already voided or fully refunded),
 *         retriable errors
 */
REDSTORE_EXTERN(int) redstore_sale_void(redstore_receipt *REDSTORE_NULLABLE *REDSTORE_NONNULL out,
                                        redstore_client *client, const char *REDSTORE_NULLABLE void_id,
                                        const char *sale_id, const char *reason);

/** One line of a refund: which line of the sale (0-based), how many units. */
typedef struct redstore_refund_line {
	size_t line;            /**< index of the sale's line (0-based) */
	int64_t qty;            /**< units to refund, > 0 */
} redstore_refund_line;

/**
 * Refunds chosen lines and quantities of a sale, never more than was sold minus earlier refunds
 * (checked atomically). The money refunded per line is the line total in proportion to the units, with
 * the rounding spread so that refunding every unit returns exactly the line's total.
 *
 * @param refund_id  idempotency id (NULL: new)
 * @param restock    1: the units go back on hand; 0: they do not (damaged goods)
 * @param tender     how the money goes back (reference copied)
 * @return 0, REDSTORE_EINVALID (more than refundable: names the line), REDSTORE_ENOTFOUND, retriable errors
 */
REDSTORE_EXTERN(int) redstore_sale_refund(redstore_receipt *REDSTORE_NULLABLE *REDSTORE_NONNULL out,
                                          redstore_client *client, const char *REDSTORE_NULLABLE refund_id,
                                          const char *sale_id, size_t n, const redstore_refund_line *lines, int restock,
                                          redstore_tender_kind tender, const char *REDSTORE_NULLABLE reference);

/**
 * Looks up a committed sale's receipt (from the idempotency record in Redis).
 *
 * @return 0, REDSTORE_ENOTFOUND
 */
REDSTORE_EXTERN(int) redstore_receipt_get(redstore_receipt *REDSTORE_NULLABLE *REDSTORE_NONNULL out,
                                          redstore_client *client, const char *sale_id);

/**
 * Renders a receipt as plain text for a receipt printer: store header, lines, discounts, taxes by class,
 * tenders, change, and the sale id.
 *
 * @param width  characters per line (24..120; 42 for 80 mm paper)
 * @param out    receives a NUL-terminated string; free it with redstore_free()
 * Thread rule: thread-safe for distinct receipts.
 */
REDSTORE_EXTERN(int) redstore_receipt_render_text(char *REDSTORE_NULLABLE *REDSTORE_NONNULL out,
                                                  const redstore_receipt *receipt, int width);

/** The receipt as JSON (the structure above). Free with redstore_free(). */
REDSTORE_EXTERN(int) redstore_receipt_to_json(char *REDSTORE_NULLABLE *REDSTORE_NONNULL out,
                                              const redstore_receipt *receipt);

/**
 * Decodes a sale request body (JSON) into a sale builder: what a REST server calls with a terminal's
 * request before committing it. Strict: unknown or repeated fields, wrong types, non-integral or
 * out-of-range numbers and trailing text are refused; at most 1 MiB, 10000 lines, 16 tenders.
 *
 *   {"sale_id": "<uuid>", "lines": [{"sku": "A", "qty": 2, "discount_percent_bp": 1000} |
 *                                   {"barcode": "123", "qty": 1, "discount_amount": 50}],
 *    "tenders": [{"kind": "cash|card|other", "amount": 500, "reference": "..."}],
 *    "order_discount_percent_bp": 500 | "order_discount_amount": 100,
 *    "customer_ref": "...", "note": "...", "occurred_at_ms": 1764580000000}
 *
 * Only "lines" (1 or more, each with exactly one of sku and barcode, and qty) is required.
 *
 * @param out   receives the sale; free it with redstore_sale_free()
 * @return 0, REDSTORE_EDECODE (names the field), REDSTORE_ELIMIT (body too large), REDSTORE_ENOMEM
 * Thread rule: thread-safe.
 */
REDSTORE_EXTERN(int) redstore_sale_from_json(redstore_sale *REDSTORE_NULLABLE *REDSTORE_NONNULL out,
                                             const void *REDSTORE_NULLABLE data, size_t len);

/**
 * The same for a request that carries the sale's id apart from the body (a REST server's
 * Idempotency-Key): `sale_id` is the sale's id when the body names none; a body "sale_id" must equal it.
 *
 * @param sale_id  the request's id (a UUID), or NULL: as redstore_sale_from_json()
 * @return as redstore_sale_from_json(); REDSTORE_EDECODE also when the ids differ or sale_id is not a UUID
 */
REDSTORE_EXTERN(int) redstore_sale_from_request(redstore_sale *REDSTORE_NULLABLE *REDSTORE_NONNULL out,
                                                const void *data, size_t len, const char *REDSTORE_NULLABLE sale_id);

REDSTORE_ASSUME_NONNULL_END
REDSTORE_END_DECLS

#endif
