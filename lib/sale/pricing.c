/* Money arithmetic: half-even rounding, largest-remainder allocation, sale pricing, amounts as text.
 * The rules are documented in pricing.h; this file implements exactly those, in integers only. */
#include "sale/pricing_priv.h"
#include "core/core_int.h"

#include <inttypes.h>
#include <stdio.h>

typedef redstore__int128 i128;

/* Orders of up to this many lines split their order discount without allocating. */
#define SMALL_ORDER 16

static const int64_t pow10_tab[5] = {1, 10, 100, 1000, 10000};

/* ------------------------------------------------------------------------------------------ rounding */

int64_t redstore__div_round_half_even(i128 num, i128 den)
{
	i128 q, r;

	if (den <= 0)
		return 0;
	/* C division truncates toward zero; turn it into floor so that num = q * den + r, 0 <= r < den. */
	q = num / den;
	r = num % den;
	if (r < 0) {
		q -= 1; /* cannot overflow: r < 0 implies den >= 2, so |q| <= 2^126 */
		r += den;
	}
	/* The exact quotient is q + r/den. Compare r with den - r rather than 2r with den (no overflow). */
	if (r > den - r || (r == den - r && q % 2 != 0))
		q += 1;
	if (q > INT64_MAX)
		return INT64_MAX;
	if (q < INT64_MIN)
		return INT64_MIN;
	return (int64_t)q;
}

/* ---------------------------------------------------------------------------------------- allocation */

static size_t count_at_least(const int64_t *v, size_t n, int64_t t)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += v[i] >= t;
	return c;
}

int redstore__allocate(int64_t *shares, const int64_t *weights, size_t n, int64_t amount)
{
	i128 sum = 0, floors = 0;
	int64_t w_total, mag, left, threshold = 0, ties = 0;

	if (n > 0 && (!shares || !weights))
		return redstore__fail(REDSTORE_EINVALID, "allocate: NULL shares or weights");
	for (size_t i = 0; i < n; i++) {
		if (weights[i] < 0)
			return redstore__fail(REDSTORE_EINVALID, "allocate: weight %zu is negative (%" PRId64 ")", i + 1,
			                      weights[i]);
		sum += weights[i];
		if (sum > INT64_MAX)
			return redstore__fail(REDSTORE_EINVALID, "allocate: the weights add up to more than %" PRId64,
			                      INT64_MAX);
	}
	if (sum == 0) {
		if (amount != 0)
			return redstore__fail(REDSTORE_EINVALID,
			                      "allocate: cannot split %" PRId64 " over %zu weights that are all 0", amount, n);
		for (size_t i = 0; i < n; i++)
			shares[i] = 0;
		return 0;
	}
	if (amount == INT64_MIN)
		return redstore__fail(REDSTORE_EINVALID, "allocate: amount %" PRId64 " has no positive counterpart",
		                      amount);

	/* A negative amount is split as the negation of the split of its magnitude. */
	w_total = (int64_t)sum;
	mag = amount < 0 ? -amount : amount;

	/* Pass 1: shares[] holds each remainder (mag * w_i) mod W, which is < W <= INT64_MAX. */
	for (size_t i = 0; i < n; i++) {
		i128 p = (i128)mag * weights[i];
		floors += p / w_total;
		shares[i] = (int64_t)(p % w_total);
	}
	/* The units the floors leave over: sum(r_i) = left * W, and each r_i < W, so 0 <= left < n. */
	left = (int64_t)(mag - floors);

	if (left > 0) {
		/* The largest threshold t with at least `left` remainders >= t: every remainder above t gets a
		 * unit, and the rest of the units go to the remainders equal to t, lowest index first. Because
		 * sum(r_i) = left * W with r_i < W, more than `left` remainders are >= 1, so t >= 1 exists and
		 * a zero weight (remainder 0) never receives a unit. */
		int64_t lo = 1, hi = w_total - 1;
		while (lo < hi) {
			int64_t mid = lo + (hi - lo + 1) / 2;
			if (count_at_least(shares, n, mid) >= (size_t)left)
				lo = mid;
			else
				hi = mid - 1;
		}
		threshold = lo;
		ties = left - (int64_t)count_at_least(shares, n, threshold + 1);
	}

	/* Pass 2: share_i = floor + unit, rebuilt from the remainder: floor = (mag * w_i - r_i) / W exactly. */
	for (size_t i = 0; i < n; i++) {
		int64_t r = shares[i];
		int64_t s = (int64_t)(((i128)mag * weights[i] - r) / w_total);
		if (left > 0) {
			if (r > threshold) {
				s += 1;
			} else if (r == threshold && ties > 0) {
				s += 1;
				ties--;
			}
		}
		shares[i] = amount < 0 ? -s : s;
	}
	return 0;
}

/* ------------------------------------------------------------------------------------------- pricing */

/* Fails with EINVALID naming the line (1-based; 0 means the order) and the field. */
static int bad_field(size_t line, const char *field, int64_t v, int64_t lo, int64_t hi, const char *what)
{
	char where[40];
	if (line)
		snprintf(where, sizeof(where), "price line %zu", line);
	else
		snprintf(where, sizeof(where), "price order");
	return redstore__fail(REDSTORE_EINVALID, "%s: %s %" PRId64 " out of range (expected %" PRId64 "..%" PRId64 "%s)",
	                      where, field, v, lo, hi, what);
}

static int check_range(size_t line, const char *field, int64_t v, int64_t lo, int64_t hi)
{
	return v >= lo && v <= hi ? 0 : bad_field(line, field, v, lo, hi, "");
}

/* Checks a discount's kind, and its value as far as it does not depend on amounts not known yet
 * (AMOUNT's upper bound is checked by the caller). */
static int check_discount(size_t line, redstore__disc_kind kind, int64_t value)
{
	switch (kind) {
	case REDSTORE__DISC_NONE:
		return check_range(line, "disc_value (disc_kind none)", value, 0, 0);
	case REDSTORE__DISC_PERCENT:
		return check_range(line, "disc_value (basis points)", value, 0, REDSTORE__PRICE_MAX_BP);
	case REDSTORE__DISC_AMOUNT:
		return check_range(line, "disc_value (amount)", value, 0, INT64_MAX);
	default:
		if (line)
			return redstore__fail(REDSTORE_EINVALID,
			                      "price line %zu: disc_kind %d unknown (expected 0 none, 1 percent, 2 amount)",
			                      line, (int)kind);
		return redstore__fail(REDSTORE_EINVALID,
		                      "price order: disc_kind %d unknown (expected 0 none, 1 percent, 2 amount)", (int)kind);
	}
}

/* The discount of a validated kind/value on `base` (rules 2 and 4). */
static int64_t discount_of(redstore__disc_kind kind, int64_t value, int64_t base)
{
	if (kind == REDSTORE__DISC_PERCENT)
		return redstore__div_round_half_even((i128)base * value, 10000);
	if (kind == REDSTORE__DISC_AMOUNT)
		return value;
	return 0;
}

/* A line's outputs, computed from its validated inputs and its share of the order discount. */
typedef struct line_figures {
	int64_t gross, line_discount, order_discount, net, tax, total;
} line_figures;

static int64_t line_gross(const redstore__price_line *l)
{
	return l->unit_price * l->qty; /* <= 10^12 * 10^6 = 10^18 after validation */
}

static int64_t line_sub(const redstore__price_line *l)
{
	int64_t gross = line_gross(l);
	return gross - discount_of(l->disc_kind, l->disc_value, gross);
}

static void line_compute(line_figures *f, const redstore__price_line *l, int64_t share, int inclusive)
{
	f->gross = line_gross(l);
	f->line_discount = discount_of(l->disc_kind, l->disc_value, f->gross);
	f->order_discount = share;
	f->net = f->gross - f->line_discount - share;
	/* net <= 10^18 and rate <= 10^6: tax <= net, so net + tax <= 2 * 10^18 fits in int64_t. */
	if (inclusive) {
		f->tax = redstore__div_round_half_even((i128)f->net * l->tax_rate_ppm, 1000000 + (i128)l->tax_rate_ppm);
		f->total = f->net;
	} else {
		f->tax = redstore__div_round_half_even((i128)f->net * l->tax_rate_ppm, 1000000);
		f->total = f->net + f->tax;
	}
}

static int validate_line(const redstore__price_line *l, size_t line)
{
	int rc;
	if ((rc = check_range(line, "unit_price", l->unit_price, 0, REDSTORE__PRICE_MAX_UNIT_PRICE)) ||
	    (rc = check_range(line, "qty", l->qty, 1, REDSTORE__PRICE_MAX_QTY)) ||
	    (rc = check_discount(line, l->disc_kind, l->disc_value)) ||
	    (rc = check_range(line, "tax_rate_ppm", l->tax_rate_ppm, 0, REDSTORE__PRICE_MAX_RATE_PPM)))
		return rc;
	/* The ranges above bound gross by 10^18; the check stays in case they are ever widened. */
	if ((i128)l->unit_price * l->qty > INT64_MAX)
		return redstore__fail(REDSTORE_ELIMIT, "price line %zu: unit_price %" PRId64 " x qty %" PRId64
		                      " exceeds %" PRId64, line, l->unit_price, l->qty, INT64_MAX);
	if (l->disc_kind == REDSTORE__DISC_AMOUNT && l->disc_value > line_gross(l))
		return bad_field(line, "disc_value (amount)", l->disc_value, 0, line_gross(l), ", the line's gross");
	return 0;
}

int redstore__price(redstore__price_order *order, redstore__price_line *lines, size_t n)
{
	int64_t small[SMALL_ORDER * 2];
	int64_t *weights = NULL, *shares = NULL, *heap = NULL;
	i128 gross_sum = 0, sub_sum = 0, disc_sum = 0, tax_sum = 0, total_sum = 0;
	int64_t order_disc;
	int inclusive, rc;

	if (!order || !lines)
		return redstore__fail(REDSTORE_EINVALID, "price: NULL order or lines");
	if (n == 0)
		return redstore__fail(REDSTORE_EINVALID, "price: no lines (expected 1..%d)", REDSTORE__PRICE_MAX_LINES);
	if (n > REDSTORE__PRICE_MAX_LINES)
		return redstore__fail(REDSTORE_ELIMIT, "price: %zu lines (at most %d)", n, REDSTORE__PRICE_MAX_LINES);
	if (order->prices_include_tax != 0 && order->prices_include_tax != 1)
		return redstore__fail(REDSTORE_EINVALID, "price order: prices_include_tax %d (expected 0 or 1)",
		                      order->prices_include_tax);
	if ((rc = check_discount(0, order->disc_kind, order->disc_value)))
		return rc;
	inclusive = order->prices_include_tax;

	/* Rules 1-3, validating every line before anything is computed for the order. */
	for (size_t i = 0; i < n; i++) {
		if ((rc = validate_line(&lines[i], i + 1)))
			return rc;
		gross_sum += line_gross(&lines[i]);
		sub_sum += line_sub(&lines[i]);
	}
	/* Every other order figure is at most the gross (or, for an exclusive total, checked below). */
	if (gross_sum > INT64_MAX)
		return redstore__fail(REDSTORE_ELIMIT, "price: the order's gross exceeds %" PRId64 " minor units",
		                      INT64_MAX);

	/* Rule 4: the order discount, then its split. */
	if (order->disc_kind == REDSTORE__DISC_AMOUNT && order->disc_value > sub_sum)
		return bad_field(0, "disc_value (amount)", order->disc_value, 0, (int64_t)sub_sum,
		                 ", the sum after line discounts");
	order_disc = discount_of(order->disc_kind, order->disc_value, (int64_t)sub_sum);
	if (order_disc != 0) {
		if (n <= SMALL_ORDER) {
			weights = small;
		} else {
			if (!(heap = malloc(n * 2 * sizeof(*heap))))
				return redstore__fail(REDSTORE_ENOMEM, "price: out of memory splitting the order discount");
			weights = heap;
		}
		shares = weights + n;
		for (size_t i = 0; i < n; i++)
			weights[i] = line_sub(&lines[i]);
		if ((rc = redstore__allocate(shares, weights, n, order_disc))) {
			free(heap);
			return rc;
		}
	}

	/* Rules 5-7, computed in full before any output is written, so a failure leaves them untouched. */
	for (size_t i = 0; i < n; i++) {
		line_figures f;
		line_compute(&f, &lines[i], shares ? shares[i] : 0, inclusive);
		disc_sum += f.line_discount + f.order_discount;
		tax_sum += f.tax;
		total_sum += f.total;
	}
	if (total_sum > INT64_MAX) {
		free(heap);
		return redstore__fail(REDSTORE_ELIMIT, "price: the order's total exceeds %" PRId64 " minor units",
		                      INT64_MAX);
	}

	for (size_t i = 0; i < n; i++) {
		line_figures f;
		line_compute(&f, &lines[i], shares ? shares[i] : 0, inclusive);
		lines[i].gross = f.gross;
		lines[i].line_discount = f.line_discount;
		lines[i].order_discount = f.order_discount;
		lines[i].net = f.net;
		lines[i].tax = f.tax;
		lines[i].total = f.total;
	}
	free(heap);
	order->gross = (int64_t)gross_sum;
	order->discount = (int64_t)disc_sum;
	order->tax = (int64_t)tax_sum;
	order->total = (int64_t)total_sum;
	order->net_ex_tax = order->total - order->tax;
	return 0;
}

/* ---------------------------------------------------------------------------------------------- text */

const char *redstore__money_format(char *buf, size_t cap, int64_t minor, int exponent)
{
	uint64_t mag, unit;
	const char *sign = minor < 0 ? "-" : "";
	int len;

	if (!buf || exponent < 0 || exponent > 4) {
		if (buf && cap > 0)
			buf[0] = '\0';
		redstore__fail(REDSTORE_EINVALID, "money format: %s (exponent %d, expected 0..4)",
		               buf ? "bad exponent" : "NULL buffer", exponent);
		return NULL;
	}
	/* The magnitude in unsigned arithmetic, so that INT64_MIN is fine. */
	mag = minor < 0 ? (uint64_t)0 - (uint64_t)minor : (uint64_t)minor;
	unit = (uint64_t)pow10_tab[exponent];
	if (exponent == 0)
		len = snprintf(buf, cap, "%s%" PRIu64, sign, mag);
	else
		len = snprintf(buf, cap, "%s%" PRIu64 ".%0*" PRIu64, sign, mag / unit, exponent, mag % unit);
	if (len < 0 || (size_t)len >= cap) {
		if (cap > 0)
			buf[0] = '\0';
		redstore__fail(REDSTORE_EINVALID, "money format: buffer of %zu bytes too small", cap);
		return NULL;
	}
	return buf;
}

static const struct {
	char code[4];
	int exponent;
} currency_exponents[] = {
	/* ISO 4217 list one: every code whose minor unit is not 2. */
	{"BIF", 0}, {"CLP", 0}, {"DJF", 0}, {"GNF", 0}, {"ISK", 0}, {"JPY", 0}, {"KMF", 0}, {"KRW", 0},
	{"PYG", 0}, {"RWF", 0}, {"UGX", 0}, {"UYI", 0}, {"VND", 0}, {"VUV", 0}, {"XAF", 0}, {"XOF", 0},
	{"XPF", 0}, {"BHD", 3}, {"IQD", 3}, {"JOD", 3}, {"KWD", 3}, {"LYD", 3}, {"OMR", 3}, {"TND", 3},
	{"CLF", 4}, {"UYW", 4},
};

int redstore__currency_exponent(const char *code)
{
	char up[4];

	if (!code)
		return 2;
	for (int i = 0; i < 3; i++) {
		char c = code[i];
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (c < 'A' || c > 'Z')
			return 2;
		up[i] = c;
	}
	if (code[3] != '\0')
		return 2;
	up[3] = '\0';
	for (size_t i = 0; i < REDSTORE_ARRAY_SIZE(currency_exponents); i++)
		if (memcmp(currency_exponents[i].code, up, 4) == 0)
			return currency_exponents[i].exponent;
	return 2;
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* mag = mag * 10 + d, or -1 when that exceeds limit. */
static int push_digit(uint64_t *mag, unsigned d, uint64_t limit)
{
	if (*mag > (limit - d) / 10)
		return -1;
	*mag = *mag * 10 + d;
	return 0;
}

int redstore__money_parse(int64_t *out, const char *text, int exponent)
{
	const char *p = text;
	uint64_t mag = 0, limit;
	int neg = 0, int_digits = 0, frac_digits = 0;

	if (!out || !text)
		return redstore__fail(REDSTORE_EINVALID, "money parse: NULL %s", out ? "text" : "output");
	if (exponent < 0 || exponent > 4)
		return redstore__fail(REDSTORE_EINVALID, "money \"%.40s\": exponent %d (expected 0..4)", text, exponent);
	if (*p == '-') {
		neg = 1;
		p++;
	}
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; is_digit(*p); p++, int_digits++)
		if (push_digit(&mag, (unsigned)(*p - '0'), limit))
			goto overflow;
	if (int_digits == 0)
		return redstore__fail(REDSTORE_EINVALID, "money \"%.40s\": expected a number like 12.34", text);
	if (*p == '.') {
		p++;
		for (; is_digit(*p); p++, frac_digits++) {
			if (frac_digits == exponent)
				return redstore__fail(REDSTORE_EINVALID, "money \"%.40s\": more than %d decimal%s", text,
				                      exponent, exponent == 1 ? "" : "s");
			if (push_digit(&mag, (unsigned)(*p - '0'), limit))
				goto overflow;
		}
		if (frac_digits == 0)
			return redstore__fail(REDSTORE_EINVALID, "money \"%.40s\": expected digits after '.'", text);
	}
	if (*p != '\0')
		return redstore__fail(REDSTORE_EINVALID, "money \"%.40s\": unexpected character at offset %td", text,
		                      p - text);
	for (; frac_digits < exponent; frac_digits++)
		if (push_digit(&mag, 0, limit))
			goto overflow;
	if (!neg)
		*out = (int64_t)mag;
	else
		*out = mag > (uint64_t)INT64_MAX ? INT64_MIN : -(int64_t)mag;
	return 0;

overflow:
	return redstore__fail(REDSTORE_EINVALID, "money \"%.40s\": beyond the range of a 64-bit amount", text);
}
