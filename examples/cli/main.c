/*
 * redstore-cli: the admin command line, built on the public API only.
 *
 *   redstore-cli migrate                 apply the embedded schema migrations
 *   redstore-cli health                  check Redis, PostgreSQL and Kafka
 *   redstore-cli topics                  create the missing Kafka topics and check the others
 *   redstore-cli config                  print the effective configuration (secrets masked)
 *   redstore-cli config-doc              print docs/CONFIGURATION.md from the property table
 *
 * Configuration comes from the REDSTORE_* environment (`eval "$(scripts/dev-stack env)"`).
 * Exit codes: 0 success, 1 failure (the message says what failed), 2 usage.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

int cli_fail(const char *what)
{
	fprintf(stderr, "redstore-cli: %s: %s (%s)\n", what, redstore_error_last(),
	        redstore_err_name(redstore_error_last_code()));
	return 1;
}

int cli_client(redstore_client **out)
{
	if (redstore_client_new(out, NULL))
		return cli_fail("configuration");
	return 0;
}

static int cmd_migrate(int argc, char **argv)
{
	redstore_client *c;
	int applied = 0, version = 0, rc;
	if (cli_client(&c))
		return 1;
	rc = redstore_db_migrate(c, &applied) || redstore_db_schema_version(&version, c);
	if (rc) {
		redstore_client_free(c);
		return cli_fail("migrate");
	}
	printf("schema at version %d (%d migration%s applied)\n", version, applied, applied == 1 ? "" : "s");
	redstore_client_free(c);
	return 0;
}

static int cmd_health(int argc, char **argv)
{
	redstore_client *c;
	redstore_engine_health h[REDSTORE_ENGINE_COUNT];
	int rc;
	if (cli_client(&c))
		return 1;
	rc = redstore_client_health(h, c);
	for (int i = 0; i < REDSTORE_ENGINE_COUNT; i++) {
		if (h[i].ok)
			printf("%-9s ok    %7.2f ms  %-12s %s\n", redstore_engine_name(h[i].engine), h[i].latency_us / 1000.0,
			       h[i].version, h[i].detail);
		else
			printf("%-9s DOWN  %-22s %s\n", redstore_engine_name(h[i].engine), redstore_err_name(h[i].error),
			       h[i].detail);
	}
	redstore_client_free(c);
	return rc ? 1 : 0;
}

static int cmd_topics(int argc, char **argv)
{
	redstore_client *c;
	redstore_topic_status st[REDSTORE_TOPIC_COUNT];
	if (cli_client(&c))
		return 1;
	if (redstore_events_ensure_topics(st, c, 10000)) {
		redstore_client_free(c);
		return cli_fail("topics");
	}
	for (int i = 0; i < REDSTORE_TOPIC_COUNT; i++)
		printf("%-28s %-8s %3d partitions%s%s\n", st[i].name,
		       st[i].created ? "created" : (st[i].existed ? "exists" : "MISSING"), st[i].partitions,
		       st[i].warning[0] ? "  warning: " : "", st[i].warning);
	redstore_client_free(c);
	return 0;
}

static int cmd_config(int argc, char **argv)
{
	redstore_client *c;
	const redstore_config *cfg;
	if (cli_client(&c))
		return 1;
	cfg = redstore_client_config(c);
	for (size_t i = 0; i < redstore_config_property_count(); i++) {
		const redstore_config_property *p = redstore_config_property_at(i);
		const char *v = "";
		redstore_config_get(&v, cfg, p->key);
		printf("%-30s %s\n", p->key, p->secret && strchr(v, '@') ? "(contains credentials: not shown)" : v);
	}
	redstore_client_free(c);
	return 0;
}

static int cmd_config_doc(int argc, char **argv)
{
	char *text;
	if (redstore_config_describe(&text))
		return cli_fail("config-doc");
	fputs(text, stdout);
	redstore_free(text);
	return 0;
}

static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "migrate", cmd_migrate, "apply the embedded schema migrations" },
	{ "health", cmd_health, "check Redis, PostgreSQL and Kafka" },
	{ "topics", cmd_topics, "create the missing Kafka topics and check the others" },
	{ "config", cmd_config, "print the effective configuration" },
	{ "config-doc", cmd_config_doc, "print the configuration reference (docs/CONFIGURATION.md)" },
	CLI_EXTRA_COMMANDS
	{ "reconcile", cmd_reconcile, "compare Redis stock with the ledger: --store S [--group G] [--wait SECONDS]" },
	{ "rebuild-cache", cmd_rebuild_cache, "rebuild a store's Redis state: --store S [--group G] [--wait SECONDS]" },
};

static int usage(void)
{
	fprintf(stderr, "usage: redstore-cli <command> [options]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(stderr, "  %-14s %s\n", commands[i].name, commands[i].help);
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	return usage();
}
