/**
 * @file
 * libredstore - analytics: what a store manager reads, from the history the projector writes.
 *
 * Every report is for the client's selected store, over [from, to) given in milliseconds since the
 * epoch, bucketed in the store's time zone (`stores.timezone`). Amounts are integer minor units.
 *
 * Where it gives the same answer, a report reads the per-hour rollups (`sales_hourly_totals` for all
 * products together, `sales_hourly` per product): hour, day, week
 * and month buckets, by nothing or by product, category or brand, when every UTC offset of the zone in
 * the range is a whole number of hours and the range starts and ends on whole hours. Otherwise (15-minute
 * buckets, half-hour zones, by terminal, employee or tender) it reads the raw sale lines (and tenders). Both paths
 * give identical rows; `from_rollups` says which one answered.
 *
 * On TimescaleDB (the schema's migration 0010 found it loadable) the same calls bucket with time_bucket
 * and read two real-time continuous aggregates over the sale lines (sales_hourly_cagg and
 * sales_hourly_totals_cagg, through store-filtering views) instead of the projector's rollup tables;
 * `timescale` says so. The rows are the same as on plain PostgreSQL (date_bin/date_trunc and the
 * rollups), which tests/check_timescale.c checks on random data against both engines.
 *
 * With an employee session attached (redstore/auth.h), every report needs REDSTORE_PERM_REPORTS
 * (managers and admins); other roles get REDSTORE_EPERM before anything is read.
 */
#ifndef REDSTORE_ANALYTICS_H
#define REDSTORE_ANALYTICS_H

#include "client.h"
#include "common.h"

REDSTORE_BEGIN_DECLS
REDSTORE_ASSUME_NONNULL_BEGIN

/** The width of a report's time buckets (local time of the store). */
typedef enum redstore_bucket {
	REDSTORE_BUCKET_15MIN = 0,
	REDSTORE_BUCKET_HOUR = 1,
	REDSTORE_BUCKET_DAY = 2,
	REDSTORE_BUCKET_WEEK = 3, /**< weeks start on Monday */
	REDSTORE_BUCKET_MONTH = 4,
	REDSTORE_BUCKET_ALL = 5 /**< one bucket for the whole range */
} redstore_bucket;

/** What a report's rows are split by within each bucket. */
typedef enum redstore_group_by {
	REDSTORE_GROUP_NONE = 0,
	REDSTORE_GROUP_PRODUCT = 1,  /**< key: SKU */
	REDSTORE_GROUP_CATEGORY = 2, /**< key: the product's category now ("" when none) */
	REDSTORE_GROUP_BRAND = 3,    /**< key: the product's brand now */
	REDSTORE_GROUP_TERMINAL = 4, /**< key: terminal id */
	REDSTORE_GROUP_EMPLOYEE = 5, /**< key: employee id */
	REDSTORE_GROUP_TENDER = 6    /**< key: tender kind, as redstore_tender_kind_name() gives ("cash", "card",
	                                  "other"); rows mean money by tender, see redstore_report_sales() */
} redstore_group_by;

/** One row: a bucket (and a key when grouped). Sales and refunds are kept apart. */
typedef struct redstore_sales_row {
	char bucket[32];      /**< local start of the bucket, "2026-12-01 10:00" ("" for REDSTORE_BUCKET_ALL) */
	char key[201];        /**< the group's key ("" for REDSTORE_GROUP_NONE) */
	int64_t units;        /**< units sold */
	int64_t gross;        /**< sold at list price */
	int64_t discount;     /**< discounts on what was sold */
	int64_t tax;          /**< tax on what was sold */
	int64_t total;        /**< what customers paid for it */
	int64_t refunded_units; /**< units refunded (refunds and voids) */
	int64_t refunds;      /**< what went back to customers (refunds and voids) */
	int64_t lines;        /**< sale and refund lines */
} redstore_sales_row;

/** A report's rows, ordered by bucket then key. Owned by the caller: redstore_sales_report_free(). */
typedef struct redstore_sales_report {
	size_t count;                            /**< entries of `rows` */
	redstore_sales_row *REDSTORE_NULLABLE rows; /**< the rows (NULL when none) */
	int from_rollups; /**< 1: answered from the hourly rollups; 0: from the raw sale lines */
	int timescale;    /**< 1: TimescaleDB answered (time_bucket; its continuous aggregates as the rollups) */
} redstore_sales_report;

/** Options of redstore_report_sales(); zero-initialise, then set what you need. */
typedef struct redstore_report_options {
	redstore_bucket bucket;     /**< the width of the buckets (zero: 15 minutes) */
	redstore_group_by group_by; /**< what rows are split by within a bucket */
	int force_raw; /**< 1: read the raw lines even where the rollups would answer (checks, audits) */
} redstore_report_options;

/**
 * Sales by bucket (and group) over [from_ms, to_ms) in the selected store.
 *
 * @param options  NULL: hourly buckets, no grouping
 *
 * Grouped by tender (REDSTORE_GROUP_TENDER), a row is the money of one tender kind, bucketed by when the
 * sale, refund or void occurred, always from the raw tenders (from_rollups = 0), consistent with the
 * tender totals of the shift reports (redstore/shift.h):
 *  - `total`: what sales took with that kind, net of the change given (change is given from cash only,
 *    so a sale's change_due is taken off its cash tenders); summed over the kinds it is the `total` of
 *    the ungrouped report;
 *  - `refunds`: what refunds and voids paid back with that kind (a refund pays back by the tender it
 *    names, a void by the voided sale's first tender); summed over the kinds it is the ungrouped `refunds`;
 *  - `lines`: the tenders of that kind (each tender of a sale, refund or void counts once);
 *  - `units`, `gross`, `discount`, `tax` and `refunded_units` are 0: a tender pays for a whole sale,
 *    not for units.
 *
 * @return 0, REDSTORE_EINVALID (no store selected, an empty or reversed range, a range over 3 years, an
 *         unknown bucket or grouping), REDSTORE_ENOTFOUND (the store has no row in PostgreSQL),
 *         REDSTORE_EPERM (a session without the reports permission), or a PostgreSQL error
 */
REDSTORE_EXTERN(int) redstore_report_sales(redstore_sales_report *REDSTORE_NULLABLE *REDSTORE_NONNULL out,
                                           redstore_client *client, int64_t from_ms, int64_t to_ms,
                                           const redstore_report_options *REDSTORE_NULLABLE options);

/** Frees a report; NULL is a no-op. */
REDSTORE_EXTERN(void) redstore_sales_report_free(redstore_sales_report *REDSTORE_NULLABLE report);

/** How redstore_report_top_products() ranks. */
typedef enum redstore_rank_by {
	REDSTORE_RANK_UNITS = 0,   /**< by units sold */
	REDSTORE_RANK_REVENUE = 1  /**< by what customers paid */
} redstore_rank_by;

/**
 * The top (`bottom` = 0) or bottom (`bottom` = 1) `n` products over [from_ms, to_ms), by units or revenue,
 * net of nothing (refunds are reported apart). Products that sold nothing are not ranked. Rows come in
 * rank order with `key` = SKU and `bucket` = "".
 *
 * @return 0, REDSTORE_EINVALID (n outside 1..1000, a bad range), or as redstore_report_sales()
 */
REDSTORE_EXTERN(int) redstore_report_top_products(redstore_sales_report *REDSTORE_NULLABLE *REDSTORE_NONNULL out,
                                                  redstore_client *client,
                                                  int64_t from_ms, int64_t to_ms, redstore_rank_by by, int bottom,
                                                  size_t n);

/** One product to reorder. */
typedef struct redstore_reorder_row {
	char sku[65];             /**< the SKU */
	char name[201];           /**< its name now */
	int64_t on_hand;          /**< units in the store now (Redis) */
	int64_t available;        /**< on_hand - reserved */
	int64_t threshold;        /**< the product's low-stock threshold (its reorder point) */
	int64_t sold;             /**< units sold over the window (projected history) */
	int64_t suggested;        /**< units to order: max(threshold, sold) + threshold - available, at least 1 */
} redstore_reorder_row;

/** Products to reorder, most urgent first. Owned by the caller: redstore_reorder_report_free(). */
typedef struct redstore_reorder_report {
	size_t count;                                 /**< entries of `rows` */
	redstore_reorder_row *REDSTORE_NULLABLE rows; /**< the rows (NULL when none) */
} redstore_reorder_report;

/**
 * The active products of the selected store whose available stock is at or below their low-stock
 * threshold (products with threshold 0 never need reordering), with their stock now and a suggested
 * quantity: enough to get back above the threshold by one window's sales (and by at least the threshold
 * again when little sold). Rows come by available - threshold ascending (the furthest below first), then
 * SKU; at most `limit`.
 *
 * @param now_ms       the end of the sales window (milliseconds since the epoch)
 * @param window_days  the sales window, 1..366 days before now_ms
 * @param limit        1..1000 rows
 * @return 0, REDSTORE_EINVALID (no store selected, a bad window or limit), a PostgreSQL or Redis error
 */
REDSTORE_EXTERN(int) redstore_report_reorder(redstore_reorder_report *REDSTORE_NULLABLE *REDSTORE_NONNULL out,
                                             redstore_client *client, int64_t now_ms, int window_days, size_t limit);

/** Frees a reorder report; NULL is a no-op. */
REDSTORE_EXTERN(void) redstore_reorder_report_free(redstore_reorder_report *REDSTORE_NULLABLE report);

/* ------------------------------------------------------------ transactions, patterns, stock */

/** One local day of sales transactions. */
typedef struct redstore_transactions_row {
	char day[16];     /**< the local date, "2026-12-01" */
	int64_t count;    /**< sales that day (refunds and voids are not transactions; voided sales are left out) */
	int64_t total;    /**< what customers paid for them */
	int64_t average;  /**< total / count, rounded half away from zero */
	int64_t median;   /**< the middle sale total (the lower of the two middle ones for an even count) */
} redstore_transactions_row;

/** Days with at least one sale, in date order. Owned by the caller: redstore_transactions_report_free(). */
typedef struct redstore_transactions_report {
	size_t count;                                      /**< entries of `rows` */
	redstore_transactions_row *REDSTORE_NULLABLE rows; /**< the rows (NULL when none) */
} redstore_transactions_report;

/**
 * Transactions per local day over [from_ms, to_ms) in the selected store: count, total, average and
 * median sale value (raw sales: a median cannot come from rollups).
 *
 * @return 0, REDSTORE_EINVALID (no store selected, a bad range), REDSTORE_ENOTFOUND (no store row), or a
 *         PostgreSQL error
 */
REDSTORE_EXTERN(int) redstore_report_transactions(redstore_transactions_report *REDSTORE_NULLABLE *REDSTORE_NONNULL out,
                                                  redstore_client *client, int64_t from_ms, int64_t to_ms);

/** Frees a transactions report; NULL is a no-op. */
REDSTORE_EXTERN(void) redstore_transactions_report_free(redstore_transactions_report *REDSTORE_NULLABLE report);

/** Sales of one weekday and local hour summed over a range. */
typedef struct redstore_pattern_cell {
	int64_t transactions; /**< sales (voided ones left out) */
	int64_t total;        /**< what customers paid for them */
} redstore_pattern_cell;

/**
 * When a store sells: by weekday (0 = Monday .. 6 = Sunday) and local hour of day (0..23). `days[w]` is
 * how many of weekday w the range covers (in part or whole), to turn sums into averages per day.
 */
typedef struct redstore_pattern_report {
	redstore_pattern_cell cells[7][24]; /**< [weekday][hour] */
	int64_t days[7];                    /**< local days of each weekday in the range */
} redstore_pattern_report;

/**
 * Weekday and hour-of-day patterns over [from_ms, to_ms) in the selected store's time zone. Fills `out`
 * (no allocation).
 *
 * @return 0, or as redstore_report_transactions()
 */
REDSTORE_EXTERN(int) redstore_report_patterns(redstore_pattern_report *out, redstore_client *client, int64_t from_ms,
                                              int64_t to_ms);

/** One product's stock at a moment, its worth and how fast it sells. */
typedef struct redstore_stock_value_row {
	char sku[65];        /**< the SKU */
	char name[201];      /**< its name now */
	int64_t on_hand;     /**< units at the moment, from the stock ledger (what the projector has written) */
	int64_t price;       /**< its price now (minor units) */
	int64_t worth;       /**< on_hand * price at today's prices (0 when on_hand <= 0) */
	int64_t sold;        /**< units sold over the window that ends at the moment, net of refunds */
	int64_t cover_days;  /**< on_hand * window_days / sold: how many days the stock lasts at that pace
	                          (rounded down); -1 when nothing sold (it lasts indefinitely) */
} redstore_stock_value_row;

/** Every active product, by SKU. Owned by the caller: redstore_stock_value_report_free(). */
typedef struct redstore_stock_value_report {
	size_t count;                                     /**< entries of `rows` */
	redstore_stock_value_row *REDSTORE_NULLABLE rows; /**< the rows (NULL when none) */
	int64_t worth;                                    /**< the sum of the rows' worth */
} redstore_stock_value_report;

/**
 * Inventory worth and stock velocity at `at_ms` (now, or a past date: the ledger is append-only, so the
 * stock at any moment is the sum of its entries before it) for the selected store: per active product
 * the units on hand, their worth at today's prices, the units sold over the `window_days` days before
 * `at_ms` and the days of cover at that pace.
 *
 * @param window_days  1..366
 * @return 0, REDSTORE_EINVALID (no store selected, at_ms < 0, a bad window), or a PostgreSQL error
 */
REDSTORE_EXTERN(int) redstore_report_stock_value(redstore_stock_value_report *REDSTORE_NULLABLE *REDSTORE_NONNULL out,
                                                 redstore_client *client, int64_t at_ms, int window_days);

/** Frees a stock value report; NULL is a no-op. */
REDSTORE_EXTERN(void) redstore_stock_value_report_free(redstore_stock_value_report *REDSTORE_NULLABLE report);

/* ------------------------------------------------------------ store-local days */

/**
 * The range [*from_ms, *to_ms) of one local day of the selected store, in its time zone
 * (`stores.timezone`): from that day's local midnight to the next one, so 23 or 25 hours on the days
 * the clocks change. "Today" is the store's local date now (this process's clock), whatever the zone of
 * the caller: a store in Pacific/Kiritimati (UTC+14) is on the next date well before a caller in UTC.
 * Every report takes the range as it is.
 *
 * @param from_ms   receives the day's start, ms since the epoch
 * @param to_ms     receives the next day's start
 * @param day       "YYYY-MM-DD" (years 1970..9999, a real date), or NULL or "today": the store's date now
 * @param resolved  optional: receives the date answered, "YYYY-MM-DD" (11 bytes with its NUL)
 * @return 0, REDSTORE_EINVALID (no store selected, a malformed or impossible date: the message names
 *         it), REDSTORE_ENOTFOUND (the store has no row in PostgreSQL), or a PostgreSQL error
 * Thread rule: the client's (one thread at a time).
 */
REDSTORE_EXTERN(int) redstore_store_day_range(int64_t *from_ms, int64_t *to_ms, redstore_client *client,
                                              const char *REDSTORE_NULLABLE day, char *REDSTORE_NULLABLE resolved);

REDSTORE_ASSUME_NONNULL_END
REDSTORE_END_DECLS

#endif
