/*
 * browser-fixture: what the headless browser test (tests/browser/run.sh) needs from the library.
 *
 *   browser-fixture setup PREFIX [TZ]   a new store (id PREFIX-<unique>) with four products, stock, a
 *                                       cashier (cash1, PIN 1111), a manager (man1, PIN 3333) and three
 *                                       pairing codes; prints them as one JSON object. With TZ, the store
 *                                       is in that zone (else UTC) and has two sales around its last local
 *                                       midnight: ESP-001 x1 at 23:30 local yesterday and BAG-001 x1 in the
 *                                       first half hour of its local today (written to PostgreSQL as the
 *                                       projector would); "day" is its local date
 *   browser-fixture wait-projected STORE GROUP
 *                                       waits (30 s at most) until projector group GROUP has written every
 *                                       event of STORE acknowledged so far to PostgreSQL
 *
 * Configuration from the REDSTORE_* environment (the dev stack, the test's topic prefix and secret).
 * Public API only. Exit status 0, or 1 with the library's message on stderr.
 */
#include <redstore.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int fail(const char *what)
{
	fprintf(stderr, "browser-fixture: %s: %s\n", what, redstore_error_last());
	return 1;
}

typedef struct item {
	const char *sku, *name, *barcode, *tax;
	int64_t price, stock, low;
	redstore_stock_policy policy;
	int favourite;
} item;

static const item items[] = {
	{ "CRS-001", "Croissant", "3760000000017", "reduced", 120, 40, 12, REDSTORE_STOCK_DENY, 1 },
	{ "BAG-001", "Baguette", "3760000000024", "reduced", 110, 30, 5, REDSTORE_STOCK_DENY, 0 },
	{ "JAM-001", "Apricot jam", "3760000000031", "reduced", 450, 3, 5, REDSTORE_STOCK_DENY, 0 },
	{ "ESP-001", "Espresso", "", "standard", 250, 0, 0, REDSTORE_STOCK_ALLOW, 1 },
};

/* One unit of sku paid exactly in cash at `when`, priced by the library (a quote) and projected straight
 * into PostgreSQL as the projector would write its sale.completed event. (Not committed: a commit's event
 * carries the time it was produced, and a sale in the past is what the dashboard test needs.) */
static int sell_at(redstore_client *c, const char *store, const char *sku, int64_t price, int64_t when)
{
	redstore_sale *s = NULL;
	redstore_receipt *r = NULL;
	redstore_event *ev = NULL;
	char *payload = NULL, *env = NULL, id[REDSTORE_ID_SIZE], stamp[32];
	time_t t = (time_t)(when / 1000);
	struct tm tm;
	size_t applied = 0, cap;
	int rc = redstore_sale_new(&s, NULL) || redstore_sale_add_line(s, sku, 1, NULL) ||
	         redstore_sale_add_tender(s, REDSTORE_TENDER_CASH, price, NULL) || redstore_sale_set_occurred_at(s, when) ||
	         redstore_sale_quote(&r, c, s) || redstore_receipt_to_json(&payload, r) || redstore_id_new(id);
	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	cap = (payload ? strlen(payload) : 0) + 512;
	if (!rc && (env = malloc(cap))) {
		snprintf(env, cap,
		         "{\"id\":\"%s\",\"type\":\"sale.completed\",\"schema_version\":1,\"store_id\":\"%s\","
		         "\"terminal_id\":\"fixture-till\",\"employee_id\":\"man1\",\"occurred_at\":\"%s.%03dZ\","
		         "\"recorded_at\":\"%s.%03dZ\",\"payload\":%s}",
		         id, store, stamp, (int)(when % 1000), stamp, (int)(when % 1000), payload);
		rc = redstore_event_decode(&ev, env, strlen(env)) ||
		     redstore_projector_apply(c, (const redstore_event *const *)&ev, 1, &applied) || applied != 1;
	} else {
		rc = 1;
	}
	redstore_event_free(ev);
	free(env);
	redstore_free(payload);
	redstore_receipt_free(r);
	redstore_sale_free(s);
	return rc ? fail(sku) : 0;
}

/* The sales on both sides of the store's last local midnight (see the top). */
static int around_midnight(redstore_client *c, const char *store, char *day)
{
	struct timespec ts;
	int64_t from, to, now, into;
	clock_gettime(CLOCK_REALTIME, &ts);
	now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (redstore_store_day_range(&from, &to, c, NULL, day))
		return fail("store day");
	into = (now - from) / 2 < 1800000 ? (now - from) / 2 : 1800000;
	return sell_at(c, store, "ESP-001", 250, from - 1800000) || sell_at(c, store, "BAG-001", 110, from + into);
}

static int setup(redstore_client *c, const char *prefix, const char *tz)
{
	char store[65], codes[3][REDSTORE_PAIRING_CODE_SIZE], day[11] = "";
	redstore_store_info info = { NULL, "Browser test bakery", "EUR", "UTC", 1 };
	if (tz)
		info.timezone = tz;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(store, sizeof(store), "%.24s-%ld-%ld", prefix, (long)getpid(), (long)(ts.tv_nsec / 1000));
	info.store_id = store;
	if (redstore_store_create(c, &info) || redstore_client_use_store(c, store))
		return fail("store");
	if (redstore_store_set_tax_class(c, "standard", 200000) || redstore_store_set_tax_class(c, "reduced", 55000))
		return fail("tax classes");
	for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
		const item *it = &items[i];
		redstore_product p;
		memset(&p, 0, sizeof(p));
		p.sku = it->sku;
		p.name = it->name;
		p.barcode = it->barcode;
		p.tax_class = it->tax;
		p.price = it->price;
		p.low_stock_threshold = it->low;
		p.stock_policy = it->policy;
		p.favourite = it->favourite;
		p.active = 1;
		if (redstore_product_create(c, &p))
			return fail(it->sku);
		if (it->stock) {
			redstore_stock_line line = { it->sku, it->stock, 50 };
			redstore_stock_result *r;
			if (redstore_stock_receive(&r, c, NULL, "opening stock", 1, &line))
				return fail("stock");
			redstore_stock_result_free(r);
		}
	}
	if (redstore_auth_employee_add(c, "cash1", "Casey", REDSTORE_ROLE_CASHIER, "1111") ||
	    redstore_auth_employee_add(c, "man1", "Morgan", REDSTORE_ROLE_MANAGER, "3333"))
		return fail("employees");
	for (int i = 0; i < 3; i++)
		if (redstore_auth_pairing_code_new(codes[i], c, i == 2 ? "back office" : i ? "till 2" : "till 1"))
			return fail("pairing code");
	if (tz && around_midnight(c, store, day))
		return 1;
	printf("{\"store\":\"%s\",\"codes\":[\"%s\",\"%s\",\"%s\"],\"cashier\":\"cash1\",\"cashier_pin\":\"1111\","
	       "\"manager\":\"man1\",\"manager_pin\":\"3333\",\"timezone\":\"%s\",\"day\":\"%s\"}\n",
	       store, codes[0], codes[1], codes[2], info.timezone, day);
	return 0;
}

static int wait_projected(redstore_client *c, const char *store, const char *group)
{
	redstore_maintenance_options o = { group, 30000 };
	if (redstore_client_use_store(c, store))
		return fail("store");
	if (redstore_projector_wait(NULL, c, &o))
		return fail("projector_wait");
	return 0;
}

int main(int argc, char **argv)
{
	redstore_config *cfg = NULL;
	redstore_client *c = NULL;
	int rc;
	if (argc < 3 || (strcmp(argv[1], "setup") && strcmp(argv[1], "wait-projected")) ||
	    (!strcmp(argv[1], "wait-projected") && argc < 4)) {
		fprintf(stderr, "usage: browser-fixture setup PREFIX [TZ] | wait-projected STORE GROUP\n");
		return 2;
	}
	if (redstore_config_new(&cfg) || redstore_config_load_env(cfg) || redstore_client_new(&c, cfg)) {
		rc = fail("configuration");
		redstore_config_free(cfg);
		return rc;
	}
	redstore_config_free(cfg);
	rc = !strcmp(argv[1], "setup") ? setup(c, argv[2], argc > 3 ? argv[3] : NULL) : wait_projected(c, argv[2], argv[3]);
	redstore_client_free(c);
	return rc;
}
