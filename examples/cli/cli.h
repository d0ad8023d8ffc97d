/* redstore-cli: shared helpers and the command table of the other source files. */
#ifndef REDSTORE_CLI_H
#define REDSTORE_CLI_H

#include <redstore.h>

/* Prints "redstore-cli: WHAT: <last error>" and returns 1. */
int cli_fail(const char *what);
/* A client configured from the REDSTORE_* environment; returns 0 or 1 after printing why. */
int cli_client(redstore_client **out);

/* seed-demo (seed.c): the demo store and its catalog. */
int cmd_seed_demo(int argc, char **argv);

/* stock, receive, sell, import (store_ops.c): the write path from the command line. */
int cmd_stock(int argc, char **argv);
int cmd_receive(int argc, char **argv);
int cmd_sell(int argc, char **argv);
int cmd_import(int argc, char **argv);

/* acl, audit (security.c): Redis ACL rules for a store, audit chain verification. */
int cmd_acl(int argc, char **argv);
int cmd_audit(int argc, char **argv);
/* employee add, pairing-code (security.c): staff and terminal pairing, as an administrator. */
int cmd_employee(int argc, char **argv);
int cmd_pairing_code(int argc, char **argv);

/* report (report.c): sales reports as table, CSV or JSON, and an SVG chart. */
int cmd_report(int argc, char **argv);

/* reconcile, rebuild-cache (maintenance.c): Redis against PostgreSQL, and rebuilding Redis. */
int cmd_reconcile(int argc, char **argv);
int cmd_rebuild_cache(int argc, char **argv);

/* Commands implemented in other files, appended to the table in main.c. */
#define CLI_EXTRA_COMMANDS \
	{ "seed-demo", cmd_seed_demo, "create or update the demo store and its catalog (--store ID, default demo)" }, \
	{ "stock", cmd_stock, "show stock: --store S [SKU...] (every product when none is named)" }, \
	{ "receive", cmd_receive, "receive goods: --store S [--ref SUPPLIER-REF] SKU:QTY[:UNIT-COST]..." }, \
	{ "sell", cmd_sell, "commit a sale and print its receipt: --store S [--card REF] SKU:QTY..." }, \
	{ "import", cmd_import, "import products from CSV: --store S [--skip-bad-rows] FILE" }, \
	{ "acl", cmd_acl, "print the Redis ACL line confining a store's user: --store S [--user U] [--password P]" }, \
	{ "audit", cmd_audit, "audit verify --store S: check the store's audit hash chain (exit 1 when broken)" }, \
	{ "employee", cmd_employee, "employee add --store S [--if-missing] ID NAME ROLE PIN|- (PIN - : from stdin)" }, \
	{ "pairing-code", cmd_pairing_code, "print a one-time code to pair a terminal: --store S TERMINAL-NAME" }, \
	{ "report", cmd_report, "sales reports: report sales|top --store S --days N [--bucket B] [--by G] [--svg FILE]" },

#endif
