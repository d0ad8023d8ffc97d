/*
 * Internal money arithmetic: line and order pricing, proportional allocation, rounding, and the text
 * form of amounts. Nothing here is public API; every symbol carries the `redstore__` prefix and is hidden.
 *
 * THE ROUNDING RULE (the documented rule of the public sale API)
 * ==============================================================
 *
 * Amounts are integers in the currency's minor unit (cents for EUR, yen for JPY, fils for KWD), held
 * in int64_t. Floating point is never used. Intermediate products are computed in 128 bits, so they
 * cannot overflow; a result that does not fit in int64_t is REDSTORE_ELIMIT, never a wrapped value.
 * Every rounding is to the nearest minor unit, ties to even ("banker's rounding": 0.5 -> 0, 1.5 -> 2,
 * 2.5 -> 2, -2.5 -> -2), and happens once, at the step that names it below.
 *
 * A sale is priced in this order:
 *
 *  1. gross_i = unit_price_i x qty_i.
 *  2. line_discount_i: PERCENT -> round(gross_i x bp / 10000); AMOUNT -> disc_value (at most gross_i);
 *     NONE -> 0.
 *  3. sub_i = gross_i - line_discount_i.
 *  4. The order discount D: PERCENT -> round(S x bp / 10000) where S = sum of sub_i; AMOUNT ->
 *     disc_value (at most S); NONE -> 0. D is split over the lines in proportion to sub_i by the
 *     largest remainder method (redstore__allocate): each line gets floor(D x sub_i / S), and the units
 *     left over go one each to the lines with the largest remainders, ties to the earlier line. The
 *     shares, order_discount_i, add up to exactly D.
 *  5. net_i = sub_i - order_discount_i (never negative).
 *  6. Tax is rounded per line, not per order:
 *       exclusive (prices_include_tax = 0): tax_i = round(net_i x rate / 10^6), total_i = net_i + tax_i;
 *       inclusive (prices_include_tax = 1): tax_i = round(net_i x rate / (10^6 + rate)), total_i = net_i,
 *     where rate is in parts per million (200000 = 20 %).
 *  7. The order's figures are plain sums of the lines': gross, discount = sum of (line_discount_i +
 *     order_discount_i), tax, total; and net_ex_tax = total - tax. Nothing is rounded at order level
 *     except D in step 4, so the receipt's lines always add up to its totals.
 *
 * Consequences worth knowing: a percent discount is within half a minor unit of the exact rational
 * value; each line's tax is within half a minor unit of its exact value, so the order's tax may differ
 * from tax computed on the order total by up to n/2 units; a 100 % discount gives net 0 and tax 0.
 *
 * Thread rule: every function here is thread-safe (no shared state).
 */
#ifndef REDSTORE_LIB_PRICING_H
#define REDSTORE_LIB_PRICING_H

#include <stddef.h>
#include <stdint.h>

#if !defined(__SIZEOF_INT128__)
#error "libredstore's money arithmetic needs __int128 (GCC or Clang on a 64-bit target)"
#endif

/* A signed 128-bit integer for intermediate products (__extension__ keeps -pedantic quiet). */
__extension__ typedef __int128 redstore__int128;

/* Input limits of redstore__price. */
#define REDSTORE__PRICE_MAX_UNIT_PRICE INT64_C(1000000000000) /* 10^12 minor units */
#define REDSTORE__PRICE_MAX_QTY INT64_C(1000000)              /* 10^6 units */
#define REDSTORE__PRICE_MAX_BP INT64_C(10000)                 /* 100 % in basis points */
#define REDSTORE__PRICE_MAX_RATE_PPM INT64_C(1000000)         /* 100 % in parts per million */
#define REDSTORE__PRICE_MAX_LINES 10000

typedef enum redstore__disc_kind {
	REDSTORE__DISC_NONE = 0,    /* no discount; disc_value must be 0 */
	REDSTORE__DISC_PERCENT = 1, /* disc_value is in basis points, 0..10000 */
	REDSTORE__DISC_AMOUNT = 2   /* disc_value is in minor units */
} redstore__disc_kind;

/* One sale line. The caller fills the inputs; redstore__price fills the outputs. */
typedef struct redstore__price_line {
	/* in */
	int64_t unit_price;            /* minor units, 0..10^12 */
	int64_t qty;                   /* units, 1..10^6 */
	redstore__disc_kind disc_kind; /* the line's own discount */
	int64_t disc_value;            /* PERCENT: basis points 0..10000 (1250 = 12.5 %); AMOUNT: minor units off
	                                  the line, 0..gross; NONE: 0 */
	int64_t tax_rate_ppm;          /* 0..1000000 (200000 = 20 %) */
	/* out */
	int64_t gross;          /* unit_price * qty */
	int64_t line_discount;  /* from the line's own discount */
	int64_t order_discount; /* this line's share of the order discount */
	int64_t net;            /* gross - line_discount - order_discount: what the customer pays for the line
	                           before exclusive tax */
	int64_t tax;            /* tax contained in (inclusive) or added to (exclusive) the line */
	int64_t total;          /* what the customer pays for the line: net (inclusive) or net + tax
	                           (exclusive) */
} redstore__price_line;

/* The order around the lines. The caller fills the inputs; redstore__price fills the outputs. */
typedef struct redstore__price_order {
	/* in */
	redstore__disc_kind disc_kind; /* order discount */
	int64_t disc_value;            /* PERCENT: bp of the sum after line discounts; AMOUNT: minor units <= that
	                                  sum; NONE: 0 */
	int prices_include_tax;        /* 1: prices include tax; 0: tax is added (nothing else is accepted) */
	/* out */
	int64_t gross;      /* sum of line gross */
	int64_t discount;   /* sum of line + order discounts */
	int64_t tax;        /* sum of line tax */
	int64_t total;      /* sum of line totals: what the customer pays */
	int64_t net_ex_tax; /* total - tax */
} redstore__price_order;

/*
 * Prices every line and the order by the rounding rule above.
 *
 * order: the order discount and tax mode (in), the order's figures (out).
 * lines, n: the lines, 1 <= n <= 10000.
 *
 * Every input is checked against the ranges documented on the structs; the first bad one is
 * REDSTORE_EINVALID with a message naming the line (1-based) and the field, e.g.
 * "price line 2: qty 0 out of range (expected 1..1000000)" or "price order: disc_value ...".
 * An order figure that does not fit in int64_t is REDSTORE_ELIMIT, as is n > 10000.
 * On any failure no output field of `order` or of any line has been written: the outputs are either
 * all filled (return 0) or all untouched. A non-zero order discount over more than 16 lines allocates
 * a scratch array (16 bytes a line), so REDSTORE_ENOMEM is possible then.
 *
 * @return 0, REDSTORE_EINVALID, REDSTORE_ELIMIT or REDSTORE_ENOMEM
 */
int redstore__price(redstore__price_order *order, redstore__price_line *lines, size_t n);

/*
 * round(num / den) to the nearest integer, ties to even, for any sign of num; den must be > 0.
 * Exact for every 128-bit num. A caller bug (den <= 0) gives 0; a quotient beyond int64_t saturates to
 * INT64_MIN / INT64_MAX (redstore__price never asks for either).
 */
int64_t redstore__div_round_half_even(redstore__int128 num, redstore__int128 den);

/*
 * Splits `amount` over n weights in proportion, by the largest remainder method: each share is
 * floor(amount x w_i / W) (W = sum of weights), then the units left over (fewer than n) go one each to
 * the largest remainders, ties to the lower index. The shares add up to exactly `amount`, and each is
 * within one unit of its exact proportional value. A negative amount is split as -(split of -amount),
 * so a refund reverses exactly the split of the sale.
 *
 * shares: n outputs; must not overlap weights. Untouched on failure.
 * weights: n values >= 0 whose sum fits in int64_t. If all are 0, every share is 0 and amount must be 0.
 * n == 0 is accepted when amount == 0.
 *
 * Takes O(n log W) time and no memory.
 *
 * @return 0 or REDSTORE_EINVALID
 */
int redstore__allocate(int64_t *shares, const int64_t *weights, size_t n, int64_t amount);

/* A buffer large enough for redstore__money_format of any int64_t with any exponent ("-92233720368547758.08"). */
#define REDSTORE__MONEY_BUF 32

/*
 * Formats minor units for a receipt: 123456 with exponent 2 -> "1234.56", -5 -> "-0.05", 7 with
 * exponent 0 -> "7". No thousands separators, no currency symbol; '.' as the decimal point.
 *
 * buf, cap: the output; cap >= REDSTORE__MONEY_BUF (32) always suffices.
 * exponent: 0..4.
 *
 * Returns buf, or NULL (buf set to "" when cap > 0, and the last error set to REDSTORE_EINVALID) when
 * buf is NULL, the exponent is out of range or the text does not fit.
 */
const char *redstore__money_format(char *buf, size_t cap, int64_t minor, int exponent);

/*
 * The ISO 4217 minor-unit exponent of a three-letter currency code, compared without regard to case:
 * 0 for BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF; 3 for BHD IQD JOD KWD
 * LYD OMR TND; 4 for CLF UYW; 2 for every other code, and for NULL or malformed input.
 */
int redstore__currency_exponent(const char *code);

/*
 * Parses a decimal amount into minor units: "12.34" -> 1234, "12" -> 1200, "-0.5" -> -50 (exponent 2).
 * The accepted form is exactly: an optional '-', one or more digits, then optionally '.' and 1..exponent
 * digits. Rejected: more decimals than the exponent allows ("1.234" for EUR, "1.0" for JPY), an empty
 * string, '+', spaces, exponents ("1e5"), a lone '.', anything after the number, and values beyond
 * int64_t.
 *
 * out: the amount; untouched on failure.
 * exponent: 0..4.
 *
 * @return 0 or REDSTORE_EINVALID (the message quotes the text and says what is wrong)
 */
int redstore__money_parse(int64_t *out, const char *text, int exponent);

#endif
