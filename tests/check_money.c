/* Money arithmetic (lib/sale/pricing.c): half-even rounding, largest-remainder allocation, sale pricing, the
 * text form of amounts. Every expected value is worked out by hand in the comment next to it; "->" is
 * "rounds to", and "tie" marks an exact .5 that goes to the even neighbour. */
#include "testutil.h"
#include "core/core_int.h"
#include "sale/pricing_priv.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

typedef redstore__int128 i128;

#define E18 INT64_C(1000000000000000000)
#define SENTINEL INT64_C(-777)

static redstore__price_line mk(int64_t unit_price, int64_t qty, redstore__disc_kind kind, int64_t value,
                               int64_t rate_ppm)
{
	redstore__price_line l;
	memset(&l, 0, sizeof(l));
	l.unit_price = unit_price;
	l.qty = qty;
	l.disc_kind = kind;
	l.disc_value = value;
	l.tax_rate_ppm = rate_ppm;
	return l;
}

static redstore__price_order mko(redstore__disc_kind kind, int64_t value, int include_tax)
{
	redstore__price_order o;
	memset(&o, 0, sizeof(o));
	o.disc_kind = kind;
	o.disc_value = value;
	o.prices_include_tax = include_tax;
	return o;
}

static void poison(redstore__price_order *o, redstore__price_line *lines, size_t n)
{
	o->gross = o->discount = o->tax = o->total = o->net_ex_tax = SENTINEL;
	for (size_t i = 0; i < n; i++)
		lines[i].gross = lines[i].line_discount = lines[i].order_discount = lines[i].net = lines[i].tax =
		    lines[i].total = SENTINEL;
}

/* A failed call wrote no output. */
static void assert_untouched(const redstore__price_order *o, const redstore__price_line *lines, size_t n)
{
	ck_assert(o->gross == SENTINEL && o->discount == SENTINEL && o->tax == SENTINEL && o->total == SENTINEL &&
	          o->net_ex_tax == SENTINEL);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(lines[i].gross == SENTINEL && lines[i].line_discount == SENTINEL &&
		                  lines[i].order_discount == SENTINEL && lines[i].net == SENTINEL &&
		                  lines[i].tax == SENTINEL && lines[i].total == SENTINEL,
		              "line %zu was written by a failing call", i + 1);
}

static void assert_line(const redstore__price_line *l, int64_t gross, int64_t line_discount,
                        int64_t order_discount, int64_t net, int64_t tax, int64_t total)
{
	ck_assert_int_eq(l->gross, gross);
	ck_assert_int_eq(l->line_discount, line_discount);
	ck_assert_int_eq(l->order_discount, order_discount);
	ck_assert_int_eq(l->net, net);
	ck_assert_int_eq(l->tax, tax);
	ck_assert_int_eq(l->total, total);
}

static void assert_order(const redstore__price_order *o, int64_t gross, int64_t discount, int64_t tax,
                         int64_t total, int64_t net_ex_tax)
{
	ck_assert_int_eq(o->gross, gross);
	ck_assert_int_eq(o->discount, discount);
	ck_assert_int_eq(o->tax, tax);
	ck_assert_int_eq(o->total, total);
	ck_assert_int_eq(o->net_ex_tax, net_ex_tax);
}

/* Asserts that the last error message contains `part`. */
static void assert_msg_has(const char *part)
{
	ck_assert_msg(strstr(redstore_error_last(), part) != NULL, "message \"%s\" lacks \"%s\"",
	              redstore_error_last(), part);
}

/* splitmix64: a fixed, platform-independent sequence for the random suites. */
static uint64_t rng_state;

static uint64_t rng_next(void)
{
	uint64_t z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));
	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/* Uniform-enough in lo..hi, any int64 bounds (the modulo bias is irrelevant here). Unsigned arithmetic,
 * converted back without implementation-defined casts. */
static int64_t rng_range(int64_t lo, int64_t hi)
{
	uint64_t span = (uint64_t)hi - (uint64_t)lo + 1; /* 0 means the whole 2^64 range */
	uint64_t u = (uint64_t)lo + (span ? rng_next() % span : rng_next());
	return u <= (uint64_t)INT64_MAX ? (int64_t)u : -(int64_t)(UINT64_MAX - u) - 1;
}

static i128 abs128(i128 v)
{
	return v < 0 ? -v : v;
}

/* ========================================================================================== rounding */

START_TEST(round_half_even_sends_ties_to_the_even_neighbour)
{
	ck_assert_int_eq(redstore__div_round_half_even(1, 2), 0);   /*  0.5 tie -> 0 */
	ck_assert_int_eq(redstore__div_round_half_even(3, 2), 2);   /*  1.5 tie -> 2 */
	ck_assert_int_eq(redstore__div_round_half_even(5, 2), 2);   /*  2.5 tie -> 2 */
	ck_assert_int_eq(redstore__div_round_half_even(7, 2), 4);   /*  3.5 tie -> 4 */
	ck_assert_int_eq(redstore__div_round_half_even(-1, 2), 0);  /* -0.5 tie -> 0 */
	ck_assert_int_eq(redstore__div_round_half_even(-3, 2), -2); /* -1.5 tie -> -2 */
	ck_assert_int_eq(redstore__div_round_half_even(-5, 2), -2); /* -2.5 tie -> -2 */
	ck_assert_int_eq(redstore__div_round_half_even(-7, 2), -4); /* -3.5 tie -> -4 */
	/* 12.5 % of 1.00 EUR: 100 * 1250 / 10000 = 12.5 tie -> 12; of 3.00: 37.5 tie -> 38. */
	ck_assert_int_eq(redstore__div_round_half_even(100 * 1250, 10000), 12);
	ck_assert_int_eq(redstore__div_round_half_even(300 * 1250, 10000), 38);
	/* Beyond 64 bits: (2*10^18 + 1) / 2 = 10^18 + 0.5 tie -> 10^18 (even);
	 * (2*10^18 + 3) / 2 = 10^18 + 1.5 tie -> 10^18 + 2. */
	ck_assert_int_eq(redstore__div_round_half_even((i128)2 * E18 + 1, 2), E18);
	ck_assert_int_eq(redstore__div_round_half_even((i128)2 * E18 + 3, 2), E18 + 2);
	/* A numerator of ~10^22: 10^18 * 9999 / 10000 = 999900000000000000 exactly. */
	ck_assert_int_eq(redstore__div_round_half_even((i128)E18 * 9999, 10000), INT64_C(999900000000000000));
}
END_TEST

START_TEST(round_half_even_rounds_non_ties_to_nearest)
{
	ck_assert_int_eq(redstore__div_round_half_even(7, 3), 2);     /*  2.333 -> 2 */
	ck_assert_int_eq(redstore__div_round_half_even(8, 3), 3);     /*  2.667 -> 3 */
	ck_assert_int_eq(redstore__div_round_half_even(-7, 3), -2);   /* -2.333 -> -2 */
	ck_assert_int_eq(redstore__div_round_half_even(-8, 3), -3);   /* -2.667 -> -3 */
	ck_assert_int_eq(redstore__div_round_half_even(49, 100), 0);  /*  0.49 -> 0 */
	ck_assert_int_eq(redstore__div_round_half_even(51, 100), 1);  /*  0.51 -> 1 */
	ck_assert_int_eq(redstore__div_round_half_even(-51, 100), -1); /* -0.51 -> -1 */
	ck_assert_int_eq(redstore__div_round_half_even(149, 100), 1); /*  1.49 -> 1 */
	ck_assert_int_eq(redstore__div_round_half_even(10, 5), 2);    /* exact */
	ck_assert_int_eq(redstore__div_round_half_even(-10, 5), -2);  /* exact */
	ck_assert_int_eq(redstore__div_round_half_even(0, 7), 0);
	/* 1999 * 1250 / 10000 = 249.875 -> 250 */
	ck_assert_int_eq(redstore__div_round_half_even(1999 * 1250, 10000), 250);
}
END_TEST

START_TEST(round_half_even_saturates_and_ignores_bad_divisors)
{
	ck_assert_int_eq(redstore__div_round_half_even((i128)1 << 70, 1), INT64_MAX);
	ck_assert_int_eq(redstore__div_round_half_even(-((i128)1 << 70), 1), INT64_MIN);
	ck_assert_int_eq(redstore__div_round_half_even(INT64_MAX, 1), INT64_MAX);
	ck_assert_int_eq(redstore__div_round_half_even(INT64_MIN, 1), INT64_MIN);
	ck_assert_int_eq(redstore__div_round_half_even(5, 0), 0);
	ck_assert_int_eq(redstore__div_round_half_even(5, -2), 0);
}
END_TEST

/* ======================================================================================== allocation */

START_TEST(allocate_thirds_give_the_extra_unit_to_the_lower_index)
{
	const int64_t w[3] = {1, 1, 1};
	int64_t s[3];
	/* 100 / 3 = 33.333 each: floors 33+33+33 = 99, 1 left over; remainders all equal -> index 0. */
	RS_OK(redstore__allocate(s, w, 3, 100));
	ck_assert(s[0] == 34 && s[1] == 33 && s[2] == 33);
	/* 200 / 3 = 66.667 each: floors 198, 2 left over -> indexes 0 and 1. */
	RS_OK(redstore__allocate(s, w, 3, 200));
	ck_assert(s[0] == 67 && s[1] == 67 && s[2] == 66);
	/* 5 over 3,3,4 (W 10): exact 1.5, 1.5, 2.0; floors 1+1+2 = 4, 1 left; remainders .5, .5, 0 -> index 0. */
	const int64_t w2[3] = {3, 3, 4};
	RS_OK(redstore__allocate(s, w2, 3, 5));
	ck_assert(s[0] == 2 && s[1] == 1 && s[2] == 2);
}
END_TEST

START_TEST(allocate_gives_left_over_units_to_the_largest_remainders)
{
	int64_t s[3];
	/* 10 over 3,2,1 (W 6): exact 5, 3.333, 1.667; floors 5+3+1 = 9, 1 left -> index 2 (.667 > .333). */
	const int64_t w[3] = {3, 2, 1};
	RS_OK(redstore__allocate(s, w, 3, 10));
	ck_assert(s[0] == 5 && s[1] == 3 && s[2] == 2);
	/* 933 over 5247, 2850, 1234 (W 9331; the 3-line order below):
	 *   933*5247 = 4895451 = 9331*524 + 6007
	 *   933*2850 = 2659050 = 9331*284 + 9046
	 *   933*1234 = 1151322 = 9331*123 + 3609
	 * floors 931, 2 left -> the two largest remainders, 9046 (index 1) then 6007 (index 0): 525, 285, 123. */
	const int64_t w2[3] = {5247, 2850, 1234};
	RS_OK(redstore__allocate(s, w2, 3, 933));
	ck_assert(s[0] == 525 && s[1] == 285 && s[2] == 123);
}
END_TEST

START_TEST(allocate_never_gives_a_zero_weight_anything)
{
	int64_t s[4];
	/* 10 over 0,5,0,5: exact 0, 5, 0, 5. */
	const int64_t w[4] = {0, 5, 0, 5};
	RS_OK(redstore__allocate(s, w, 4, 10));
	ck_assert(s[0] == 0 && s[1] == 5 && s[2] == 0 && s[3] == 5);
	/* 1 over 0,1,1: exact 0, .5, .5; floors 0, 1 left; tie between 1 and 2 -> index 1 (index 0 has remainder 0). */
	const int64_t w2[3] = {0, 1, 1};
	RS_OK(redstore__allocate(s, w2, 3, 1));
	ck_assert(s[0] == 0 && s[1] == 1 && s[2] == 0);
	/* 7 over 0,0,3: all to index 2. */
	const int64_t w3[3] = {0, 0, 3};
	RS_OK(redstore__allocate(s, w3, 3, 7));
	ck_assert(s[0] == 0 && s[1] == 0 && s[2] == 7);
	/* All weights 0: only amount 0 is possible. */
	const int64_t z[3] = {0, 0, 0};
	s[0] = s[1] = s[2] = 9;
	RS_OK(redstore__allocate(s, z, 3, 0));
	ck_assert(s[0] == 0 && s[1] == 0 && s[2] == 0);
	s[0] = s[1] = s[2] = 9;
	RS_FAILS(REDSTORE_EINVALID, redstore__allocate(s, z, 3, 5));
	ck_assert(s[0] == 9 && s[1] == 9 && s[2] == 9);
	/* No weights at all: only amount 0. */
	RS_OK(redstore__allocate(NULL, NULL, 0, 0));
	RS_FAILS(REDSTORE_EINVALID, redstore__allocate(NULL, NULL, 0, 1));
}
END_TEST

START_TEST(allocate_negative_amount_mirrors_the_positive_split)
{
	const int64_t w[3] = {1, 1, 1};
	int64_t s[3];
	/* -100 is split as -(34, 33, 33), so a refund reverses the sale's split exactly. */
	RS_OK(redstore__allocate(s, w, 3, -100));
	ck_assert(s[0] == -34 && s[1] == -33 && s[2] == -33);
}
END_TEST

START_TEST(allocate_rejects_bad_weights_without_writing)
{
	int64_t s[2] = {9, 9};
	const int64_t neg[2] = {5, -1};
	const int64_t huge[2] = {INT64_MAX, 1};
	const int64_t ok[2] = {1, 1};
	RS_FAILS(REDSTORE_EINVALID, redstore__allocate(s, neg, 2, 10));
	assert_msg_has("weight 2 is negative");
	RS_FAILS(REDSTORE_EINVALID, redstore__allocate(s, huge, 2, 10));
	RS_FAILS(REDSTORE_EINVALID, redstore__allocate(s, ok, 2, INT64_MIN));
	RS_FAILS(REDSTORE_EINVALID, redstore__allocate(NULL, ok, 2, 10));
	ck_assert(s[0] == 9 && s[1] == 9);
	/* The extremes that are allowed: the whole int64 range of weight and amount. */
	const int64_t big[2] = {INT64_MAX - 1, 1};
	RS_OK(redstore__allocate(s, big, 2, INT64_MAX));
	ck_assert(s[0] == INT64_MAX - 1 && s[1] == 1);
}
END_TEST

/* A plain reference: floors, then one unit at a time to the largest remaining remainder (lowest index
 * on a tie), scanning the whole array each time. */
static void allocate_reference(int64_t *s, const int64_t *w, size_t n, int64_t amount)
{
	i128 sum = 0, floors = 0, rem[64];
	int neg = amount < 0;
	int64_t mag = neg ? -amount : amount;
	for (size_t i = 0; i < n; i++)
		sum += w[i];
	for (size_t i = 0; i < n; i++) {
		s[i] = (int64_t)((i128)mag * w[i] / sum);
		rem[i] = (i128)mag * w[i] % sum;
		floors += s[i];
	}
	for (i128 left = mag - floors; left > 0; left--) {
		size_t best = 0;
		for (size_t i = 1; i < n; i++)
			if (rem[i] > rem[best])
				best = i;
		s[best]++;
		rem[best] = -1;
	}
	for (size_t i = 0; neg && i < n; i++)
		s[i] = -s[i];
}

START_TEST(allocate_matches_a_reference_on_random_inputs)
{
	rng_state = 42;
	for (int iter = 0; iter < 20000; iter++) {
		int64_t w[64], s[64], ref[64], sum = 0;
		size_t n = (size_t)rng_range(1, 64);
		int scale = (int)rng_range(0, 3);
		int64_t wmax = scale == 0 ? 3 : scale == 1 ? 1000 : scale == 2 ? INT64_C(1000000000) : INT64_MAX / 64;
		for (size_t i = 0; i < n; i++) {
			w[i] = rng_range(0, 9) == 0 ? 0 : rng_range(0, wmax); /* many zeros and many equal weights */
			sum += w[i];
		}
		int64_t amount = sum == 0 ? 0 : rng_range(-INT64_C(1000000), scale == 3 ? INT64_MAX : INT64_C(10000000));
		RS_OK(redstore__allocate(s, w, n, amount));
		if (sum == 0) {
			for (size_t i = 0; i < n; i++)
				ck_assert_int_eq(s[i], 0);
			continue;
		}
		allocate_reference(ref, w, n, amount);
		i128 total = 0;
		for (size_t i = 0; i < n; i++) {
			ck_assert_msg(s[i] == ref[i], "iter %d share %zu: %" PRId64 " != reference %" PRId64, iter, i, s[i],
			              ref[i]);
			/* Within one unit of the exact share: |s * W - amount * w| < W. */
			ck_assert(abs128((i128)s[i] * sum - (i128)amount * w[i]) < sum);
			if (w[i] == 0)
				ck_assert_int_eq(s[i], 0);
			total += s[i];
		}
		ck_assert_msg(total == amount, "iter %d: shares do not add up", iter);
	}
}
END_TEST

/* =========================================================================================== pricing */

/*
 * The 3-line order, in cents.
 *   line 1: 19.99 x 3, 12.5 % off, 20 % tax:  gross 5997; 5997 * 0.125 = 749.625 -> 750; sub 5247
 *   line 2:  4.50 x 7, 3.00 off, 5.5 % tax:    gross 3150; 300; sub 2850
 *   line 3: 12.34 x 1, no discount, 20 % tax:  gross 1234; 0; sub 1234
 * sum of subs 9331; order 10 % off: 933.1 -> 933, split 525, 285, 123 (allocation test above).
 * nets: 5247 - 525 = 4722, 2850 - 285 = 2565, 1234 - 123 = 1111 (sum 8398).
 * order gross 5997 + 3150 + 1234 = 10381; discount (750+525) + (300+285) + (0+123) = 1983 = 10381 - 8398.
 */
static void three_lines(redstore__price_line l[3])
{
	l[0] = mk(1999, 3, REDSTORE__DISC_PERCENT, 1250, 200000);
	l[1] = mk(450, 7, REDSTORE__DISC_AMOUNT, 300, 55000);
	l[2] = mk(1234, 1, REDSTORE__DISC_NONE, 0, 200000);
}

START_TEST(price_three_lines_inclusive_tax_every_field)
{
	redstore__price_line l[3];
	redstore__price_order o = mko(REDSTORE__DISC_PERCENT, 1000, 1);
	three_lines(l);
	RS_OK(redstore__price(&o, l, 3));
	/* Inclusive, tax = net * r / (10^6 + r):
	 *   4722 * 200000 / 1200000 = 4722 / 6 = 787 exactly
	 *   2565 * 55000 / 1055000 = 141075 / 1055 = 133.720... -> 134
	 *   1111 / 6 = 185.167 -> 185
	 * tax 787 + 134 + 185 = 1106; total = sum of nets = 8398; net_ex_tax 8398 - 1106 = 7292. */
	assert_line(&l[0], 5997, 750, 525, 4722, 787, 4722);
	assert_line(&l[1], 3150, 300, 285, 2565, 134, 2565);
	assert_line(&l[2], 1234, 0, 123, 1111, 185, 1111);
	assert_order(&o, 10381, 1983, 1106, 8398, 7292);
}
END_TEST

START_TEST(price_three_lines_exclusive_tax_every_field)
{
	redstore__price_line l[3];
	redstore__price_order o = mko(REDSTORE__DISC_PERCENT, 1000, 0);
	three_lines(l);
	RS_OK(redstore__price(&o, l, 3));
	/* Exclusive, tax = net * r / 10^6:
	 *   4722 * 0.2 = 944.4 -> 944, total 5666
	 *   2565 * 0.055 = 141.075 -> 141, total 2706
	 *   1111 * 0.2 = 222.2 -> 222, total 1333
	 * tax 944 + 141 + 222 = 1307; total 5666 + 2706 + 1333 = 9705; net_ex_tax 9705 - 1307 = 8398. */
	assert_line(&l[0], 5997, 750, 525, 4722, 944, 5666);
	assert_line(&l[1], 3150, 300, 285, 2565, 141, 2706);
	assert_line(&l[2], 1234, 0, 123, 1111, 222, 1333);
	assert_order(&o, 10381, 1983, 1307, 9705, 8398);
}
END_TEST

START_TEST(price_three_at_0_33_with_ten_percent_off)
{
	/* 3 x 0.33 = 0.99; 10 % of 99 = 9.9 -> 10; net 89; no tax. */
	redstore__price_line l[1] = {mk(33, 3, REDSTORE__DISC_PERCENT, 1000, 0)};
	redstore__price_order o = mko(REDSTORE__DISC_NONE, 0, 0);
	RS_OK(redstore__price(&o, l, 1));
	assert_line(&l[0], 99, 10, 0, 89, 0, 89);
	assert_order(&o, 99, 10, 0, 89, 89);

	/* The same 10 % as an order discount on three lines of 0.33: sum 99 -> D = 10, split over
	 * 33,33,33: floors 3+3+3 = 9, 1 left -> index 0: 4, 3, 3; nets 29, 30, 30. */
	redstore__price_line l3[3] = {mk(33, 1, REDSTORE__DISC_NONE, 0, 0), mk(33, 1, REDSTORE__DISC_NONE, 0, 0),
	                              mk(33, 1, REDSTORE__DISC_NONE, 0, 0)};
	o = mko(REDSTORE__DISC_PERCENT, 1000, 0);
	RS_OK(redstore__price(&o, l3, 3));
	assert_line(&l3[0], 33, 0, 4, 29, 0, 29);
	assert_line(&l3[1], 33, 0, 3, 30, 0, 30);
	assert_line(&l3[2], 33, 0, 3, 30, 0, 30);
	assert_order(&o, 99, 10, 0, 89, 89);
}
END_TEST

START_TEST(price_nyc_sales_tax_8_875_percent_exclusive)
{
	/* 8.875 % = 88750 ppm = 71/800:
	 *   19.99: 1999 * 0.08875 = 177.41125 -> 177, total 2176
	 *   10.00: 1000 * 0.08875 = 88.75 -> 89, total 1089
	 *    4.00: 400 * 0.08875 = 35.5 tie -> 36 (even), total 436
	 *   12.00: 1200 * 0.08875 = 106.5 tie -> 106 (even), total 1306
	 * net 4599, tax 177 + 89 + 36 + 106 = 408, total 5007. */
	redstore__price_line l[4] = {mk(1999, 1, REDSTORE__DISC_NONE, 0, 88750), mk(1000, 1, REDSTORE__DISC_NONE, 0, 88750),
	                             mk(400, 1, REDSTORE__DISC_NONE, 0, 88750), mk(1200, 1, REDSTORE__DISC_NONE, 0, 88750)};
	redstore__price_order o = mko(REDSTORE__DISC_NONE, 0, 0);
	RS_OK(redstore__price(&o, l, 4));
	assert_line(&l[0], 1999, 0, 0, 1999, 177, 2176);
	assert_line(&l[1], 1000, 0, 0, 1000, 89, 1089);
	assert_line(&l[2], 400, 0, 0, 400, 36, 436);
	assert_line(&l[3], 1200, 0, 0, 1200, 106, 1306);
	assert_order(&o, 4599, 0, 408, 5007, 4599);
}
END_TEST

START_TEST(price_tax_ties_round_to_even_inclusive_and_exclusive)
{
	/* Inclusive 20 %: tax = net / 6. net 3 -> 0.5 tie -> 0; net 9 -> 1.5 tie -> 2; net 15 -> 2.5 tie -> 2. */
	redstore__price_line l[3] = {mk(3, 1, REDSTORE__DISC_NONE, 0, 200000), mk(9, 1, REDSTORE__DISC_NONE, 0, 200000),
	                             mk(15, 1, REDSTORE__DISC_NONE, 0, 200000)};
	redstore__price_order o = mko(REDSTORE__DISC_NONE, 0, 1);
	RS_OK(redstore__price(&o, l, 3));
	assert_line(&l[0], 3, 0, 0, 3, 0, 3);
	assert_line(&l[1], 9, 0, 0, 9, 2, 9);
	assert_line(&l[2], 15, 0, 0, 15, 2, 15);
	assert_order(&o, 27, 0, 4, 27, 23);

	/* Exclusive 5 %: net 10 -> 0.5 tie -> 0; 30 -> 1.5 tie -> 2; 50 -> 2.5 tie -> 2. */
	redstore__price_line x[3] = {mk(10, 1, REDSTORE__DISC_NONE, 0, 50000), mk(30, 1, REDSTORE__DISC_NONE, 0, 50000),
	                             mk(50, 1, REDSTORE__DISC_NONE, 0, 50000)};
	o = mko(REDSTORE__DISC_NONE, 0, 0);
	RS_OK(redstore__price(&o, x, 3));
	assert_line(&x[0], 10, 0, 0, 10, 0, 10);
	assert_line(&x[1], 30, 0, 0, 30, 2, 32);
	assert_line(&x[2], 50, 0, 0, 50, 2, 52);
	assert_order(&o, 90, 0, 4, 94, 90);

	/* A percent line discount on a tie: 12.5 % of 1.00 = 12.5 tie -> 12; net 88. */
	redstore__price_line d[1] = {mk(100, 1, REDSTORE__DISC_PERCENT, 1250, 0)};
	o = mko(REDSTORE__DISC_NONE, 0, 0);
	RS_OK(redstore__price(&o, d, 1));
	assert_line(&d[0], 100, 12, 0, 88, 0, 88);
}
END_TEST

START_TEST(price_full_discount_leaves_nothing_to_pay)
{
	/* 100 % off the line: 3998 - 3998 = 0, tax 0. Amount equal to the gross: same. */
	redstore__price_line l[2] = {mk(1999, 2, REDSTORE__DISC_PERCENT, 10000, 200000),
	                             mk(500, 3, REDSTORE__DISC_AMOUNT, 1500, 200000)};
	redstore__price_order o = mko(REDSTORE__DISC_NONE, 0, 0);
	RS_OK(redstore__price(&o, l, 2));
	assert_line(&l[0], 3998, 3998, 0, 0, 0, 0);
	assert_line(&l[1], 1500, 1500, 0, 0, 0, 0);
	assert_order(&o, 5498, 5498, 0, 0, 0);

	/* 100 % off the order: D = the whole sum after line discounts, 1000 + 2999 = 3999; each line's share
	 * is its sub exactly (no remainders), so every net is 0. */
	redstore__price_line m[2] = {mk(1000, 1, REDSTORE__DISC_NONE, 0, 200000),
	                             mk(2999, 1, REDSTORE__DISC_NONE, 0, 55000)};
	o = mko(REDSTORE__DISC_PERCENT, 10000, 1);
	RS_OK(redstore__price(&o, m, 2));
	assert_line(&m[0], 1000, 0, 1000, 0, 0, 0);
	assert_line(&m[1], 2999, 0, 2999, 0, 0, 0);
	assert_order(&o, 3999, 3999, 0, 0, 0);

	/* An order amount equal to the subtotal: same. */
	redstore__price_line a[2] = {mk(1000, 1, REDSTORE__DISC_NONE, 0, 0), mk(2999, 1, REDSTORE__DISC_NONE, 0, 0)};
	o = mko(REDSTORE__DISC_AMOUNT, 3999, 0);
	RS_OK(redstore__price(&o, a, 2));
	assert_line(&a[0], 1000, 0, 1000, 0, 0, 0);
	assert_line(&a[1], 2999, 0, 2999, 0, 0, 0);
	assert_order(&o, 3999, 3999, 0, 0, 0);
}
END_TEST

START_TEST(price_zero_tax_rate_adds_and_contains_nothing)
{
	for (int incl = 0; incl <= 1; incl++) {
		/* 2.49 x 4 = 996, 5 % off = 49.8 -> 50, net 946, tax 0 either way. */
		redstore__price_line l[1] = {mk(249, 4, REDSTORE__DISC_PERCENT, 500, 0)};
		redstore__price_order o = mko(REDSTORE__DISC_NONE, 0, incl);
		RS_OK(redstore__price(&o, l, 1));
		assert_line(&l[0], 996, 50, 0, 946, 0, 946);
		assert_order(&o, 996, 50, 0, 946, 946);
	}
}
END_TEST

START_TEST(price_order_amount_discount_splits_by_largest_remainder)
{
	/* 1.00 off three lines of 10.00: 100 over 1000,1000,1000 -> 34, 33, 33; nets 966, 967, 967. */
	redstore__price_line l[3] = {mk(1000, 1, REDSTORE__DISC_NONE, 0, 0), mk(1000, 1, REDSTORE__DISC_NONE, 0, 0),
	                             mk(1000, 1, REDSTORE__DISC_NONE, 0, 0)};
	redstore__price_order o = mko(REDSTORE__DISC_AMOUNT, 100, 0);
	RS_OK(redstore__price(&o, l, 3));
	assert_line(&l[0], 1000, 0, 34, 966, 0, 966);
	assert_line(&l[1], 1000, 0, 33, 967, 0, 967);
	assert_line(&l[2], 1000, 0, 33, 967, 0, 967);
	assert_order(&o, 3000, 100, 0, 2900, 2900);

	/* A free line (price 0) gets no share: 5.00 off 0, 10.00, 30.00 -> 0, 125, 375 exactly. */
	redstore__price_line f[3] = {mk(0, 2, REDSTORE__DISC_NONE, 0, 200000), mk(1000, 1, REDSTORE__DISC_NONE, 0, 0),
	                             mk(1000, 3, REDSTORE__DISC_NONE, 0, 0)};
	o = mko(REDSTORE__DISC_AMOUNT, 500, 0);
	RS_OK(redstore__price(&o, f, 3));
	assert_line(&f[0], 0, 0, 0, 0, 0, 0);
	assert_line(&f[1], 1000, 0, 125, 875, 0, 875);
	assert_line(&f[2], 3000, 0, 375, 2625, 0, 2625);
	assert_order(&o, 4000, 500, 0, 3500, 3500);
}
END_TEST

START_TEST(price_many_lines_split_the_order_discount_exactly)
{
	/* 40 lines (past the 16 that need no scratch memory) of 0.01 each, 0.07 off the order:
	 * 7 over 40 equal weights: floors 0, 7 left -> the first 7 lines get 1 each. */
	redstore__price_line l[40];
	for (int i = 0; i < 40; i++)
		l[i] = mk(1, 1, REDSTORE__DISC_NONE, 0, 0);
	redstore__price_order o = mko(REDSTORE__DISC_AMOUNT, 7, 0);
	RS_OK(redstore__price(&o, l, 40));
	for (int i = 0; i < 40; i++)
		assert_line(&l[i], 1, 0, i < 7, 1 - (i < 7), 0, 1 - (i < 7));
	assert_order(&o, 40, 7, 0, 33, 33);
}
END_TEST

START_TEST(price_rejects_out_of_range_inputs_naming_line_and_field)
{
	struct bad {
		redstore__price_line line; /* placed as line 2 of 3 */
		const char *field;
	} cases[] = {
		{mk(100, 0, REDSTORE__DISC_NONE, 0, 0), "qty 0"},
		{mk(100, -1, REDSTORE__DISC_NONE, 0, 0), "qty -1"},
		{mk(100, 1000001, REDSTORE__DISC_NONE, 0, 0), "qty 1000001"},
		{mk(-1, 1, REDSTORE__DISC_NONE, 0, 0), "unit_price -1"},
		{mk(INT64_C(1000000000001), 1, REDSTORE__DISC_NONE, 0, 0), "unit_price 1000000000001"},
		{mk(100, 1, REDSTORE__DISC_PERCENT, 10001, 0), "disc_value (basis points) 10001"},
		{mk(100, 1, REDSTORE__DISC_PERCENT, -1, 0), "disc_value (basis points) -1"},
		{mk(100, 2, REDSTORE__DISC_AMOUNT, 201, 0), "disc_value (amount) 201 out of range (expected 0..200"},
		{mk(100, 2, REDSTORE__DISC_AMOUNT, -1, 0), "disc_value (amount) -1"},
		{mk(100, 1, REDSTORE__DISC_NONE, 5, 0), "disc_value (disc_kind none) 5"},
		{mk(100, 1, (redstore__disc_kind)3, 5, 0), "disc_kind 3"},
		{mk(100, 1, REDSTORE__DISC_NONE, 0, 1000001), "tax_rate_ppm 1000001"},
		{mk(100, 1, REDSTORE__DISC_NONE, 0, -1), "tax_rate_ppm -1"},
	};
	for (size_t c = 0; c < REDSTORE_ARRAY_SIZE(cases); c++) {
		redstore__price_line l[3] = {mk(100, 1, REDSTORE__DISC_NONE, 0, 0), cases[c].line,
		                             mk(100, 1, REDSTORE__DISC_NONE, 0, 0)};
		redstore__price_order o = mko(REDSTORE__DISC_PERCENT, 1000, 0);
		poison(&o, l, 3);
		RS_FAILS(REDSTORE_EINVALID, redstore__price(&o, l, 3));
		assert_msg_has("price line 2: ");
		assert_msg_has(cases[c].field);
		assert_untouched(&o, l, 3);
	}
}
END_TEST

START_TEST(price_rejects_bad_order_fields_and_line_counts)
{
	redstore__price_line l[2] = {mk(1000, 1, REDSTORE__DISC_PERCENT, 1000, 0), mk(500, 1, REDSTORE__DISC_NONE, 0, 0)};
	redstore__price_order o;

	/* The order amount may not exceed the sum after line discounts: 1000 - 100 + 500 = 1400. */
	o = mko(REDSTORE__DISC_AMOUNT, 1401, 0);
	poison(&o, l, 2);
	RS_FAILS(REDSTORE_EINVALID, redstore__price(&o, l, 2));
	assert_msg_has("price order: disc_value (amount) 1401 out of range (expected 0..1400");
	assert_untouched(&o, l, 2);
	o = mko(REDSTORE__DISC_AMOUNT, 1400, 0); /* the boundary is fine */
	RS_OK(redstore__price(&o, l, 2));
	ck_assert_int_eq(o.total, 0);

	o = mko(REDSTORE__DISC_AMOUNT, -1, 0);
	RS_FAILS(REDSTORE_EINVALID, redstore__price(&o, l, 2));
	o = mko(REDSTORE__DISC_PERCENT, 10001, 0);
	RS_FAILS(REDSTORE_EINVALID, redstore__price(&o, l, 2));
	assert_msg_has("price order: disc_value (basis points) 10001");
	o = mko((redstore__disc_kind)7, 0, 0);
	RS_FAILS(REDSTORE_EINVALID, redstore__price(&o, l, 2));
	assert_msg_has("price order: disc_kind 7");
	o = mko(REDSTORE__DISC_NONE, 1, 0);
	RS_FAILS(REDSTORE_EINVALID, redstore__price(&o, l, 2));
	o = mko(REDSTORE__DISC_NONE, 0, 2);
	RS_FAILS(REDSTORE_EINVALID, redstore__price(&o, l, 2));
	assert_msg_has("prices_include_tax 2");

	o = mko(REDSTORE__DISC_NONE, 0, 0);
	RS_FAILS(REDSTORE_EINVALID, redstore__price(&o, l, 0));
	RS_FAILS(REDSTORE_EINVALID, redstore__price(NULL, l, 2));
	RS_FAILS(REDSTORE_EINVALID, redstore__price(&o, NULL, 2));

	/* 10000 lines are fine, 10001 are over the limit. */
	static redstore__price_line many[10001];
	for (size_t i = 0; i < 10001; i++)
		many[i] = mk(1, 1, REDSTORE__DISC_NONE, 0, 0);
	o = mko(REDSTORE__DISC_AMOUNT, 1, 0);
	RS_OK(redstore__price(&o, many, 10000));
	ck_assert_int_eq(o.total, 9999);
	ck_assert_int_eq(many[0].order_discount, 1); /* 1 over 10000 equal weights -> the first line */
	RS_FAILS(REDSTORE_ELIMIT, redstore__price(&o, many, 10001));
}
END_TEST

START_TEST(price_largest_inputs_are_exact_in_128_bits)
{
	redstore__price_order o;

	/* 10^12 x 10^6 = 10^18 at 100 % exclusive tax: tax 10^18, total 2 * 10^18 (the products reach 10^24). */
	redstore__price_line a[1] = {mk(INT64_C(1000000000000), 1000000, REDSTORE__DISC_NONE, 0, 1000000)};
	o = mko(REDSTORE__DISC_NONE, 0, 0);
	RS_OK(redstore__price(&o, a, 1));
	assert_line(&a[0], E18, 0, 0, E18, E18, 2 * E18);
	assert_order(&o, E18, 0, E18, 2 * E18, E18);

	/* The same inclusive: tax = 10^18 * 10^6 / (2 * 10^6) = 5 * 10^17. */
	a[0] = mk(INT64_C(1000000000000), 1000000, REDSTORE__DISC_NONE, 0, 1000000);
	o = mko(REDSTORE__DISC_NONE, 0, 1);
	RS_OK(redstore__price(&o, a, 1));
	assert_line(&a[0], E18, 0, 0, E18, E18 / 2, E18);

	/* 99.99 % off 10^18: 10^18 * 9999 / 10000 = 999900000000000000 exactly; net 10^14; 100 % tax 10^14. */
	a[0] = mk(INT64_C(1000000000000), 1000000, REDSTORE__DISC_PERCENT, 9999, 1000000);
	o = mko(REDSTORE__DISC_NONE, 0, 0);
	RS_OK(redstore__price(&o, a, 1));
	assert_line(&a[0], E18, INT64_C(999900000000000000), 0, INT64_C(100000000000000), INT64_C(100000000000000),
	            INT64_C(200000000000000));

	/* 999999999999 x 999999 = 999998999999000001 (odd, near 10^18).
	 *   12.5 % off: x 1250 / 10000 = 124999874999875000.125 -> 124999874999875000
	 *   at 20 % inclusive without discount: / 6 = 166666499999833333.5 tie -> ...334 (333 is odd)
	 *   at 20 % exclusive: / 5 = 199999799999800000.2 -> 199999799999800000 */
	const int64_t g = INT64_C(999998999999000001);
	a[0] = mk(INT64_C(999999999999), 999999, REDSTORE__DISC_PERCENT, 1250, 0);
	o = mko(REDSTORE__DISC_NONE, 0, 0);
	RS_OK(redstore__price(&o, a, 1));
	assert_line(&a[0], g, INT64_C(124999874999875000), 0, g - INT64_C(124999874999875000), 0,
	            g - INT64_C(124999874999875000));
	a[0] = mk(INT64_C(999999999999), 999999, REDSTORE__DISC_NONE, 0, 200000);
	o = mko(REDSTORE__DISC_NONE, 0, 1);
	RS_OK(redstore__price(&o, a, 1));
	assert_line(&a[0], g, 0, 0, g, INT64_C(166666499999833334), g);
	o = mko(REDSTORE__DISC_NONE, 0, 0);
	RS_OK(redstore__price(&o, a, 1));
	assert_line(&a[0], g, 0, 0, g, INT64_C(199999799999800000), g + INT64_C(199999799999800000));

	/* An order percent discount on a subtotal of 9 * 10^18: 10 % = 9 * 10^17 (product ~10^23). */
	redstore__price_line nine[9];
	for (int i = 0; i < 9; i++)
		nine[i] = mk(INT64_C(1000000000000), 1000000, REDSTORE__DISC_NONE, 0, 0);
	o = mko(REDSTORE__DISC_PERCENT, 1000, 0);
	RS_OK(redstore__price(&o, nine, 9));
	assert_order(&o, 9 * E18, 9 * E18 / 10, 0, 9 * E18 - 9 * E18 / 10, 9 * E18 - 9 * E18 / 10);
	for (int i = 0; i < 9; i++)
		assert_line(&nine[i], E18, 0, E18 / 10, E18 - E18 / 10, 0, E18 - E18 / 10);
}
END_TEST

START_TEST(price_order_figures_beyond_int64_fail_with_elimit)
{
	redstore__price_line l[10];
	redstore__price_order o;
	for (int i = 0; i < 10; i++)
		l[i] = mk(INT64_C(1000000000000), 1000000, REDSTORE__DISC_NONE, 0, 1000000);

	/* 9 lines of 10^18 inclusive: gross and total 9 * 10^18 < 2^63 - 1 (9.22 * 10^18): fine. */
	o = mko(REDSTORE__DISC_NONE, 0, 1);
	RS_OK(redstore__price(&o, l, 9));
	assert_order(&o, 9 * E18, 0, 9 * E18 / 2, 9 * E18, 9 * E18 / 2);

	/* The same exclusive at 100 %: total 1.8 * 10^19 does not fit. */
	o = mko(REDSTORE__DISC_NONE, 0, 0);
	poison(&o, l, 9);
	RS_FAILS(REDSTORE_ELIMIT, redstore__price(&o, l, 9));
	assert_msg_has("total");
	assert_untouched(&o, l, 9);

	/* 10 lines: the gross 10^19 does not fit either. */
	o = mko(REDSTORE__DISC_NONE, 0, 1);
	poison(&o, l, 10);
	RS_FAILS(REDSTORE_ELIMIT, redstore__price(&o, l, 10));
	assert_msg_has("gross");
	assert_untouched(&o, l, 10);
}
END_TEST

/* One random line: mostly ordinary shop values, sometimes the extremes; `huge` lines are near the
 * limits, so that an order of them can exceed int64. */
static redstore__price_line random_line(int huge)
{
	static const int64_t rates[] = {0, 50000, 55000, 70000, 88750, 100000, 190000, 200000, 210000, 1000000};
	int64_t price = huge ? rng_range(INT64_C(100000000000), INT64_C(1000000000000))
	                : rng_range(0, 19) == 0 ? rng_range(0, INT64_C(1000000000000)) : rng_range(0, 100000);
	int64_t qty = huge ? rng_range(100000, 1000000) : rng_range(0, 19) == 0 ? rng_range(1, 1000000) : rng_range(1, 12);
	int64_t rate = rng_range(0, 3) == 0 ? rng_range(0, 1000000) : rates[rng_range(0, 9)];
	int kind = (int)rng_range(0, 2);
	int64_t value = 0;
	if (kind == REDSTORE__DISC_PERCENT)
		value = rng_range(0, 9) == 0 ? 10000 : rng_range(0, 10000);
	else if (kind == REDSTORE__DISC_AMOUNT)
		value = rng_range(0, price * qty);
	return mk(price, qty, (redstore__disc_kind)kind, value, rate);
}

START_TEST(price_random_orders_keep_the_invariants)
{
	static redstore__price_line l[40];
	int ok = 0, limited = 0;

	rng_state = 42;
	for (int iter = 0; iter < 5000; iter++) {
		size_t n = (size_t)rng_range(1, 40);
		int huge = iter % 50 == 0;
		i128 gross = 0;
		int64_t max_amount = 0;
		for (size_t i = 0; i < n; i++) {
			l[i] = random_line(huge);
			gross += (i128)l[i].unit_price * l[i].qty;
		}
		int incl = (int)rng_range(0, 1);
		int kind = (int)rng_range(0, 2);
		redstore__price_order o = mko((redstore__disc_kind)kind, 0, incl);
		int rc;

		/* Price once without an order discount to learn the sum after line discounts, then with it. */
		if (redstore__price(&o, l, n) == 0)
			max_amount = o.gross - o.discount;
		if (kind == REDSTORE__DISC_PERCENT)
			o.disc_value = rng_range(0, 10000);
		else if (kind == REDSTORE__DISC_AMOUNT)
			o.disc_value = rng_range(0, max_amount);
		rc = redstore__price(&o, l, n);
		if (rc == REDSTORE_ELIMIT) {
			/* Only when a sum really exceeds int64: the gross, or an exclusive total of up to 2 x net. */
			ck_assert_msg(gross > INT64_MAX || (!incl && 2 * gross > INT64_MAX), "iter %d: ELIMIT without cause",
			              iter);
			limited++;
			continue;
		}
		ck_assert_msg(rc == 0, "iter %d: %s (%s)", iter, redstore_err_name(rc), redstore_error_last());
		ok++;

		i128 s_gross = 0, s_disc = 0, s_tax = 0, s_total = 0, s_share = 0, s_sub = 0;
		for (size_t i = 0; i < n; i++)
			s_sub += l[i].gross - l[i].line_discount;
		for (size_t i = 0; i < n; i++) {
			const redstore__price_line *x = &l[i];
			i128 sub = x->gross - x->line_discount;
			ck_assert(x->gross == x->unit_price * x->qty);
			ck_assert(x->line_discount >= 0 && x->line_discount <= x->gross);
			if (x->disc_kind == REDSTORE__DISC_PERCENT) /* within half a unit: |d * 10^4 - g * bp| <= 5000 */
				ck_assert(abs128((i128)x->line_discount * 10000 - (i128)x->gross * x->disc_value) <= 5000);
			else
				ck_assert(x->line_discount == (x->disc_kind == REDSTORE__DISC_AMOUNT ? x->disc_value : 0));
			ck_assert(x->order_discount >= 0 && x->order_discount <= sub);
			ck_assert(x->net == x->gross - x->line_discount - x->order_discount);
			ck_assert(x->net >= 0);
			ck_assert(x->tax >= 0);
			if (incl) {
				ck_assert(x->total == x->net);
				ck_assert(x->tax <= x->net);
				/* |tax * (10^6 + r) - net * r| <= (10^6 + r) / 2 */
				ck_assert(abs128((i128)x->tax * (1000000 + x->tax_rate_ppm) - (i128)x->net * x->tax_rate_ppm) * 2 <=
				          1000000 + x->tax_rate_ppm);
			} else {
				ck_assert(x->total == x->net + x->tax);
				ck_assert(abs128((i128)x->tax * 1000000 - (i128)x->net * x->tax_rate_ppm) <= 500000);
			}
			s_gross += x->gross;
			s_disc += x->line_discount + x->order_discount;
			s_tax += x->tax;
			s_total += x->total;
			s_share += x->order_discount;
		}
		/* D itself: exactly the amount, or within half a unit of S * bp / 10^4. */
		if (kind == REDSTORE__DISC_AMOUNT)
			ck_assert_msg(s_share == o.disc_value, "iter %d: shares do not add up to the order amount", iter);
		else if (kind == REDSTORE__DISC_PERCENT)
			ck_assert(abs128(s_share * 10000 - s_sub * o.disc_value) <= 5000);
		else
			ck_assert(s_share == 0);
		/* Each share within one unit of its exact proportional value D * sub_i / S. */
		for (size_t i = 0; i < n && s_sub > 0; i++)
			ck_assert(abs128((i128)l[i].order_discount * s_sub - s_share * (l[i].gross - l[i].line_discount)) <
			          s_sub);
		ck_assert(o.gross == s_gross);
		ck_assert(o.discount == s_disc);
		ck_assert(o.tax == s_tax);
		ck_assert(o.total == s_total);
		ck_assert(o.net_ex_tax == o.total - o.tax);
		ck_assert(o.gross - o.discount == (incl ? o.total : o.total - o.tax)); /* sum of nets */
	}
	/* The generator must exercise both outcomes, mostly the successful one. */
	ck_assert_int_gt(ok, 4000);
	ck_assert_int_gt(limited, 0);
}
END_TEST

/* ============================================================================================== text */

START_TEST(money_format_places_the_decimal_point_by_exponent)
{
	char b[REDSTORE__MONEY_BUF];
	ck_assert_str_eq(redstore__money_format(b, sizeof(b), 123456, 2), "1234.56");
	ck_assert_str_eq(redstore__money_format(b, sizeof(b), -5, 2), "-0.05");
	ck_assert_str_eq(redstore__money_format(b, sizeof(b), -123456, 2), "-1234.56");
	ck_assert_str_eq(redstore__money_format(b, sizeof(b), 0, 2), "0.00");
	ck_assert_str_eq(redstore__money_format(b, sizeof(b), 100, 2), "1.00");
	ck_assert_str_eq(redstore__money_format(b, sizeof(b), 1500, 0), "1500");
	ck_assert_str_eq(redstore__money_format(b, sizeof(b), -1, 0), "-1");
	ck_assert_str_eq(redstore__money_format(b, sizeof(b), 1234567, 3), "1234.567");
	ck_assert_str_eq(redstore__money_format(b, sizeof(b), 1, 3), "0.001");
	ck_assert_str_eq(redstore__money_format(b, sizeof(b), 1, 4), "0.0001");
	ck_assert_str_eq(redstore__money_format(b, sizeof(b), 5, 1), "0.5");
	ck_assert_str_eq(redstore__money_format(b, sizeof(b), INT64_MAX, 2), "92233720368547758.07");
	ck_assert_str_eq(redstore__money_format(b, sizeof(b), INT64_MIN, 2), "-92233720368547758.08");
	ck_assert_str_eq(redstore__money_format(b, sizeof(b), INT64_MIN, 4), "-922337203685477.5808");
	ck_assert_str_eq(redstore__money_format(b, sizeof(b), INT64_MIN, 0), "-9223372036854775808");
}
END_TEST

START_TEST(money_format_refuses_bad_exponents_and_small_buffers)
{
	char b[REDSTORE__MONEY_BUF];
	strcpy(b, "junk");
	ck_assert_ptr_null(redstore__money_format(b, sizeof(b), 100, 5));
	ck_assert_str_eq(b, "");
	ck_assert_int_eq(redstore_error_last_code(), REDSTORE_EINVALID);
	ck_assert_ptr_null(redstore__money_format(b, sizeof(b), 100, -1));
	strcpy(b, "junk");
	ck_assert_ptr_null(redstore__money_format(b, 7, 123456, 2)); /* "1234.56" needs 8 bytes */
	ck_assert_str_eq(b, "");
	ck_assert_str_eq(redstore__money_format(b, 8, 123456, 2), "1234.56");
	ck_assert_ptr_null(redstore__money_format(NULL, 32, 1, 2));
}
END_TEST

START_TEST(money_parse_reads_amounts_by_exponent)
{
	int64_t v;
	RS_OK(redstore__money_parse(&v, "12.34", 2));
	ck_assert_int_eq(v, 1234);
	RS_OK(redstore__money_parse(&v, "12", 2));
	ck_assert_int_eq(v, 1200);
	RS_OK(redstore__money_parse(&v, "-0.5", 2));
	ck_assert_int_eq(v, -50);
	RS_OK(redstore__money_parse(&v, "0.05", 2));
	ck_assert_int_eq(v, 5);
	RS_OK(redstore__money_parse(&v, "-0", 2));
	ck_assert_int_eq(v, 0);
	RS_OK(redstore__money_parse(&v, "007.50", 2));
	ck_assert_int_eq(v, 750);
	RS_OK(redstore__money_parse(&v, "1500", 0));
	ck_assert_int_eq(v, 1500);
	RS_OK(redstore__money_parse(&v, "1.234", 3));
	ck_assert_int_eq(v, 1234);
	RS_OK(redstore__money_parse(&v, "1.2", 3));
	ck_assert_int_eq(v, 1200);
	RS_OK(redstore__money_parse(&v, "0.0001", 4));
	ck_assert_int_eq(v, 1);
	RS_OK(redstore__money_parse(&v, "92233720368547758.07", 2));
	ck_assert_int_eq(v, INT64_MAX);
	RS_OK(redstore__money_parse(&v, "-92233720368547758.08", 2));
	ck_assert_int_eq(v, INT64_MIN);
	RS_OK(redstore__money_parse(&v, "-9223372036854775808", 0));
	ck_assert_int_eq(v, INT64_MIN);
	RS_OK(redstore__money_parse(&v, "92233720368547758", 2)); /* the decimals appended: 9223372036854775800 */
	ck_assert_int_eq(v, INT64_C(9223372036854775800));
}
END_TEST

START_TEST(money_parse_rejects_junk_excess_decimals_and_overflow)
{
	static const struct {
		const char *text;
		int exponent;
		const char *why;
	} bad[] = {
		{"1.234", 2, "more than 2 decimals"},
		{"1.230", 2, "more than 2 decimals"},
		{"1.0", 0, "more than 0 decimals"},
		{"1.00001", 4, "more than 4 decimals"},
		{"abc", 2, "expected a number"},
		{"1e5", 2, "unexpected character"},
		{"", 2, "expected a number"},
		{"-", 2, "expected a number"},
		{".5", 2, "expected a number"},
		{"5.", 2, "expected digits after '.'"},
		{"+5", 2, "expected a number"},
		{" 5", 2, "expected a number"},
		{"5 ", 2, "unexpected character"},
		{"1,50", 2, "unexpected character"},
		{"1.2.3", 2, "unexpected character"},
		{"--1", 2, "expected a number"},
		{"0x10", 2, "unexpected character"},
		{"12.34EUR", 2, "unexpected character"},
		{"92233720368547758.08", 2, "beyond the range"},
		{"-92233720368547758.09", 2, "beyond the range"},
		{"92233720368547759", 2, "beyond the range"}, /* fits alone, not with 2 decimals appended */
		{"9223372036854775808", 0, "beyond the range"},
		{"99999999999999999999999999", 0, "beyond the range"},
		{"1", 5, "exponent 5"},
	};
	for (size_t i = 0; i < REDSTORE_ARRAY_SIZE(bad); i++) {
		int64_t v = SENTINEL;
		RS_FAILS(REDSTORE_EINVALID, redstore__money_parse(&v, bad[i].text, bad[i].exponent));
		assert_msg_has(bad[i].why);
		ck_assert_msg(v == SENTINEL, "\"%s\" wrote its output", bad[i].text);
	}
	int64_t v;
	RS_FAILS(REDSTORE_EINVALID, redstore__money_parse(&v, NULL, 2));
	RS_FAILS(REDSTORE_EINVALID, redstore__money_parse(NULL, "1", 2));
}
END_TEST

START_TEST(money_format_and_parse_round_trip)
{
	static const int64_t edges[] = {0, 1, -1, 5, -5, 9, 10, 99, 100, 101, 12345, -12345, INT64_MAX, INT64_MIN,
	                                INT64_MAX - 1, INT64_MIN + 1};
	char b[REDSTORE__MONEY_BUF];
	int64_t back;
	rng_state = 42;
	for (int e = 0; e <= 4; e++) {
		for (size_t i = 0; i < REDSTORE_ARRAY_SIZE(edges) + 2000; i++) {
			int64_t v = i < REDSTORE_ARRAY_SIZE(edges) ? edges[i] : rng_range(INT64_MIN, INT64_MAX) / ((int64_t)1 << rng_range(0, 62));
			ck_assert_ptr_nonnull(redstore__money_format(b, sizeof(b), v, e));
			RS_OK(redstore__money_parse(&back, b, e));
			ck_assert_msg(back == v, "%" PRId64 " -> \"%s\" -> %" PRId64 " (exponent %d)", v, b, back, e);
		}
	}
	/* Canonical text survives parse then format. */
	static const char *texts[] = {"0.00", "-0.05", "1234.56", "92233720368547758.07"};
	for (size_t i = 0; i < REDSTORE_ARRAY_SIZE(texts); i++) {
		RS_OK(redstore__money_parse(&back, texts[i], 2));
		ck_assert_str_eq(redstore__money_format(b, sizeof(b), back, 2), texts[i]);
	}
}
END_TEST

START_TEST(currency_exponents_follow_iso_4217)
{
	ck_assert_int_eq(redstore__currency_exponent("EUR"), 2);
	ck_assert_int_eq(redstore__currency_exponent("USD"), 2);
	ck_assert_int_eq(redstore__currency_exponent("GBP"), 2);
	ck_assert_int_eq(redstore__currency_exponent("IDR"), 2);
	static const char *zero[] = {"JPY", "KRW", "CLP", "ISK", "VND", "BIF", "DJF", "GNF", "KMF",
	                             "PYG", "RWF", "UGX", "UYI", "VUV", "XAF", "XOF", "XPF"};
	for (size_t i = 0; i < REDSTORE_ARRAY_SIZE(zero); i++)
		ck_assert_msg(redstore__currency_exponent(zero[i]) == 0, "%s", zero[i]);
	static const char *three[] = {"BHD", "KWD", "OMR", "JOD", "TND", "LYD", "IQD"};
	for (size_t i = 0; i < REDSTORE_ARRAY_SIZE(three); i++)
		ck_assert_msg(redstore__currency_exponent(three[i]) == 3, "%s", three[i]);
	ck_assert_int_eq(redstore__currency_exponent("CLF"), 4);
	ck_assert_int_eq(redstore__currency_exponent("UYW"), 4);
	/* Case does not matter; anything that is not three letters is unknown (2). */
	ck_assert_int_eq(redstore__currency_exponent("jpy"), 0);
	ck_assert_int_eq(redstore__currency_exponent("Kwd"), 3);
	ck_assert_int_eq(redstore__currency_exponent("XYZ"), 2);
	ck_assert_int_eq(redstore__currency_exponent(NULL), 2);
	ck_assert_int_eq(redstore__currency_exponent(""), 2);
	ck_assert_int_eq(redstore__currency_exponent("JP"), 2);
	ck_assert_int_eq(redstore__currency_exponent("JPYY"), 2);
	ck_assert_int_eq(redstore__currency_exponent("JP1"), 2);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("money");
	TCase *round = tcase_create("rounding");
	tcase_add_test(round, round_half_even_sends_ties_to_the_even_neighbour);
	tcase_add_test(round, round_half_even_rounds_non_ties_to_nearest);
	tcase_add_test(round, round_half_even_saturates_and_ignores_bad_divisors);
	suite_add_tcase(s, round);

	TCase *alloc = tcase_create("allocation");
	tcase_add_test(alloc, allocate_thirds_give_the_extra_unit_to_the_lower_index);
	tcase_add_test(alloc, allocate_gives_left_over_units_to_the_largest_remainders);
	tcase_add_test(alloc, allocate_never_gives_a_zero_weight_anything);
	tcase_add_test(alloc, allocate_negative_amount_mirrors_the_positive_split);
	tcase_add_test(alloc, allocate_rejects_bad_weights_without_writing);
	tcase_add_test(alloc, allocate_matches_a_reference_on_random_inputs);
	suite_add_tcase(s, alloc);

	TCase *price = tcase_create("pricing");
	tcase_add_test(price, price_three_lines_inclusive_tax_every_field);
	tcase_add_test(price, price_three_lines_exclusive_tax_every_field);
	tcase_add_test(price, price_three_at_0_33_with_ten_percent_off);
	tcase_add_test(price, price_nyc_sales_tax_8_875_percent_exclusive);
	tcase_add_test(price, price_tax_ties_round_to_even_inclusive_and_exclusive);
	tcase_add_test(price, price_full_discount_leaves_nothing_to_pay);
	tcase_add_test(price, price_zero_tax_rate_adds_and_contains_nothing);
	tcase_add_test(price, price_order_amount_discount_splits_by_largest_remainder);
	tcase_add_test(price, price_many_lines_split_the_order_discount_exactly);
	tcase_add_test(price, price_rejects_out_of_range_inputs_naming_line_and_field);
	tcase_add_test(price, price_rejects_bad_order_fields_and_line_counts);
	tcase_add_test(price, price_largest_inputs_are_exact_in_128_bits);
	tcase_add_test(price, price_order_figures_beyond_int64_fail_with_elimit);
	tcase_add_test(price, price_random_orders_keep_the_invariants);
	suite_add_tcase(s, price);

	TCase *text = tcase_create("text");
	tcase_add_test(text, money_format_places_the_decimal_point_by_exponent);
	tcase_add_test(text, money_format_refuses_bad_exponents_and_small_buffers);
	tcase_add_test(text, money_parse_reads_amounts_by_exponent);
	tcase_add_test(text, money_parse_rejects_junk_excess_decimals_and_overflow);
	tcase_add_test(text, money_format_and_parse_round_trip);
	tcase_add_test(text, currency_exponents_follow_iso_4217);
	suite_add_tcase(s, text);
	return s;
}

int main(void)
{
	return rs_test_run(suite());
}
