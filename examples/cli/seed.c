/*
 * redstore-cli seed-demo [--store ID]: a demo store (default "demo") with the catalog of a small coffee
 * shop and grocery. Idempotent: a second run updates the store, its tax classes and every product.
 * Public API only. A product created by this run receives its opening stock (four times its low-stock
 * threshold); the stock of products that existed already is left as it is.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

typedef struct demo_product {
	const char *sku, *name, *brand, *category;
	int64_t price;          /* euro cents, tax included */
	const char *tax_class;  /* standard (20 %) or reduced (5.5 %) */
	redstore_stock_policy policy;
	int64_t low;            /* low-stock threshold */
	int favourite;
	const char *custom_json;
} demo_product;

#define ALLOW REDSTORE_STOCK_ALLOW
#define DENY REDSTORE_STOCK_DENY
#define GLUTEN_MILK "{\"allergens\": [\"gluten\", \"milk\"]}"

static const demo_product products[] = {
	/* the coffee bar: made to order, sold even when the count of portions is off */
	{ "ESP-001", "Espresso", "House", "Coffee", 250, "standard", ALLOW, 50, 1, "{\"beans\": \"house blend\"}" },
	{ "ESP-002", "Double espresso", "House", "Coffee", 350, "standard", ALLOW, 50, 1, NULL },
	{ "AME-001", "Americano", "House", "Coffee", 300, "standard", ALLOW, 50, 1, NULL },
	{ "CAP-001", "Cappuccino", "House", "Coffee", 420, "standard", ALLOW, 40, 1, "{\"allergens\": [\"milk\"]}" },
	{ "LAT-001", "Caffè latte", "House", "Coffee", 450, "standard", ALLOW, 40, 1, "{\"allergens\": [\"milk\"]}" },
	{ "FLW-001", "Flat white", "House", "Coffee", 440, "standard", ALLOW, 30, 0, "{\"allergens\": [\"milk\"]}" },
	{ "MOC-001", "Mocha", "House", "Coffee", 480, "standard", ALLOW, 30, 0, "{\"allergens\": [\"milk\"]}" },
	{ "CHO-001", "Hot chocolate", "House", "Hot drinks", 400, "standard", ALLOW, 30, 0, NULL },
	{ "TEA-001", "Earl Grey tea", "Kusmi Tea", "Tea", 300, "standard", ALLOW, 20, 0, NULL },
	{ "TEA-002", "Sencha green tea", "Kusmi Tea", "Tea", 300, "standard", ALLOW, 20, 0, NULL },
	{ "TEA-003", "Mint infusion", "House", "Tea", 280, "standard", ALLOW, 20, 0, NULL },
	/* the bakery counter */
	{ "CRS-001", "Croissant", "House bakery", "Bakery", 120, "reduced", DENY, 12, 1, GLUTEN_MILK },
	{ "PAC-001", "Pain au chocolat", "House bakery", "Bakery", 140, "reduced", DENY, 12, 1, GLUTEN_MILK },
	{ "PAR-001", "Pain aux raisins", "House bakery", "Bakery", 160, "reduced", DENY, 6, 0, GLUTEN_MILK },
	{ "BAG-001", "Baguette tradition", "House bakery", "Bakery", 130, "reduced", DENY, 10, 1, "{\"allergens\": [\"gluten\"]}" },
	{ "BRI-001", "Brioche", "House bakery", "Bakery", 350, "reduced", DENY, 4, 0, GLUTEN_MILK },
	{ "MUF-001", "Blueberry muffin", "House bakery", "Bakery", 290, "reduced", DENY, 6, 0, GLUTEN_MILK },
	{ "COO-001", "Chocolate chip cookie", "House bakery", "Bakery", 220, "reduced", DENY, 8, 0, GLUTEN_MILK },
	{ "CAN-001", "Canelé", "House bakery", "Bakery", 250, "reduced", DENY, 6, 0, GLUTEN_MILK },
	{ "MAC-001", "Macarons, box of 6", "Ladurée", "Bakery", 1200, "reduced", DENY, 3, 0, "{\"allergens\": [\"nuts\", \"egg\"]}" },
	{ "QUI-001", "Quiche lorraine, slice", "House kitchen", "Savoury", 480, "reduced", DENY, 4, 0, GLUTEN_MILK },
	{ "SAN-001", "Jambon-beurre sandwich", "House kitchen", "Savoury", 550, "reduced", DENY, 6, 1, GLUTEN_MILK },
	{ "SAL-001", "Caesar salad", "House kitchen", "Savoury", 750, "reduced", DENY, 4, 0, NULL },
	/* the grocery shelves */
	{ "MLK-001", "Whole milk 1 L", "Lactel", "Dairy", 129, "reduced", DENY, 6, 0, NULL },
	{ "MLK-002", "Oat drink 1 L", "Oatly", "Dairy", 249, "reduced", DENY, 6, 0, NULL },
	{ "BUT-001", "Butter 250 g", "Président", "Dairy", 299, "reduced", DENY, 5, 0, NULL },
	{ "EGG-001", "Free-range eggs, 6", "Cocorette", "Dairy", 289, "reduced", DENY, 5, 0, NULL },
	{ "YOG-001", "Natural yoghurt 4 x 125 g", "Danone", "Dairy", 189, "reduced", DENY, 5, 0, NULL },
	{ "CHE-001", "Comté 12 months 200 g", "Juraflore", "Cheese", 549, "reduced", DENY, 3, 0, "{\"origin\": \"Jura\"}" },
	{ "JAM-001", "Apricot jam 370 g", "Bonne Maman", "Grocery", 329, "reduced", DENY, 4, 0, NULL },
	{ "HON-001", "Lavender honey 250 g", "Miel de Provence", "Grocery", 690, "reduced", DENY, 3, 0, "{\"origin\": \"Provence\"}" },
	{ "BNS-001", "Coffee beans 250 g, house blend", "House", "Grocery", 890, "reduced", DENY, 5, 0, "{\"roast\": \"medium\"}" },
	{ "GRD-001", "Ground coffee 250 g", "House", "Grocery", 790, "reduced", DENY, 5, 0, "{\"roast\": \"dark\"}" },
	{ "SUG-001", "Cane sugar 1 kg", "Daddy", "Grocery", 219, "reduced", DENY, 4, 0, NULL },
	{ "WAT-001", "Mineral water 50 cl", "Evian", "Drinks", 120, "reduced", DENY, 24, 0, NULL },
	{ "WAT-002", "Sparkling water 50 cl", "Badoit", "Drinks", 140, "reduced", DENY, 24, 0, NULL },
	{ "JUI-001", "Fresh orange juice 25 cl", "House", "Drinks", 350, "reduced", DENY, 6, 0, NULL },
	{ "SOD-001", "Cola 33 cl", "Coca-Cola", "Drinks", 220, "standard", DENY, 24, 0, NULL },
	{ "BEE-001", "Craft pale ale 33 cl", "Brasserie de la Goutte d'Or", "Drinks", 450, "standard", DENY, 12, 0,
	  "{\"abv\": 5.5}" },
	{ "WIN-001", "Côtes du Rhône 75 cl", "Guigal", "Wine", 1190, "standard", DENY, 3, 0, "{\"vintage\": 2021}" },
};

/* An EAN-13 in the GS1 range 20-29 kept for in-store numbering: "2001" + 8-digit item + check digit. */
static void ean13(char out[14], unsigned item)
{
	int sum = 0;
	snprintf(out, 14, "2001%08u", item);
	for (int i = 0; i < 12; i++)
		sum += (out[i] - '0') * (i % 2 ? 3 : 1);
	out[12] = (char)('0' + (10 - sum % 10) % 10);
	out[13] = '\0';
}

static int usage(void)
{
	fprintf(stderr, "usage: redstore-cli seed-demo [--store ID]   (default store: demo)\n");
	return 2;
}

int cmd_seed_demo(int argc, char **argv)
{
	const char *store = "demo";
	redstore_store_info info = { NULL, "Demo Store", "EUR", "Europe/Paris", 1 };
	redstore_client *c;
	size_t created = 0, updated = 0, favourites = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--store") && i + 1 < argc)
			store = argv[++i];
		else if (!strncmp(argv[i], "--store=", 8))
			store = argv[i] + 8;
		else
			return usage();
	}
	if (cli_client(&c))
		return 1;
	info.store_id = store;
	if (redstore_store_create(c, &info) || redstore_client_use_store(c, store) ||
	    redstore_store_set_tax_class(c, "standard", 200000) || redstore_store_set_tax_class(c, "reduced", 55000)) {
		redstore_client_free(c);
		return cli_fail("seed-demo: store");
	}
	for (size_t i = 0; i < sizeof(products) / sizeof(products[0]); i++) {
		const demo_product *d = &products[i];
		char barcode[14], what[64];
		redstore_product p;
		int rc;

		ean13(barcode, (unsigned)(i + 1));
		memset(&p, 0, sizeof(p));
		p.sku = d->sku;
		p.barcode = barcode;
		p.name = d->name;
		p.brand = d->brand;
		p.category = d->category;
		p.price = d->price;
		p.tax_class = d->tax_class;
		p.stock_policy = d->policy;
		p.low_stock_threshold = d->low;
		p.active = 1;
		p.favourite = d->favourite;
		p.custom_json = d->custom_json;
		rc = redstore_product_create(c, &p);
		if (rc == REDSTORE_EEXISTS) {
			rc = redstore_product_update(c, &p);
			updated += rc == 0;
		} else if (rc == 0) {
			redstore_stock_line opening = { d->sku, d->low * 4, d->price / 3 };
			redstore_stock_result *r = NULL;
			created++;
			rc = redstore_stock_receive(&r, c, NULL, "opening stock", 1, &opening);
			redstore_stock_result_free(r);
		}
		if (rc) {
			snprintf(what, sizeof(what), "seed-demo: product %s", d->sku);
			redstore_client_free(c);
			return cli_fail(what);
		}
		favourites += d->favourite ? 1 : 0;
	}
	printf("seed-demo: store %s (%s, %s, %s, prices include tax): 2 tax classes, %zu products (%zu created, %zu "
	       "updated), %zu favourites\n",
	       store, info.name, info.currency, info.timezone, created + updated, created, updated, favourites);
	redstore_client_free(c);
	return 0;
}
