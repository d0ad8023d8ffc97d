/*
 * redstore-cli acl | audit: store isolation in Redis and the audit chain, public API only.
 *
 *   redstore-cli acl --store S [--user U] [--password P]   print the ACL SETUSER line for store S's user
 *   redstore-cli audit verify --store S                    check store S's audit chain (exit 1 when broken)
 *
 * acl prints a line to feed to redis-cli (redstore-cli acl --store S | redis-cli ...). Without
 * --password a random one is made and printed on stderr only, once: the ACL line carries its SHA-256.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *store_arg(int argc, char **argv, int from, const char *usage)
{
	const char *store = getenv("REDSTORE_STORE_ID");
	for (int i = from; i < argc; i++) {
		if (!strcmp(argv[i], "--store") && i + 1 < argc) {
			store = argv[++i];
		} else if ((!strcmp(argv[i], "--user") || !strcmp(argv[i], "--password")) && i + 1 < argc) {
			i++;
		} else {
			fprintf(stderr, "redstore-cli: unknown option %s\nusage: redstore-cli %s\n", argv[i], usage);
			return NULL;
		}
	}
	if (!store || !*store)
		fprintf(stderr, "redstore-cli: no store (--store S or REDSTORE_STORE_ID)\nusage: redstore-cli %s\n", usage);
	return store && *store ? store : NULL;
}

static const char *opt(int argc, char **argv, const char *name)
{
	for (int i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], name))
			return argv[i + 1];
	return NULL;
}

int cmd_acl(int argc, char **argv)
{
	static const char *usage = "acl --store S [--user U] [--password P]";
	const char *store = store_arg(argc, argv, 1, usage), *user, *password;
	char user_buf[80], generated[49], *line;
	if (!store)
		return 2;
	user = opt(argc, argv, "--user");
	if (!user) {
		snprintf(user_buf, sizeof(user_buf), "redstore-store-%s", store);
		user = user_buf;
	}
	password = opt(argc, argv, "--password");
	if (!password) {
		unsigned char rnd[24];
		FILE *f = fopen("/dev/urandom", "rb");
		size_t got = f ? fread(rnd, 1, sizeof(rnd), f) : 0;
		if (f)
			fclose(f);
		if (got != sizeof(rnd)) {
			fprintf(stderr, "redstore-cli: acl: no randomness for a password (give --password)\n");
			return 1;
		}
		for (size_t i = 0; i < sizeof(rnd); i++)
			snprintf(generated + 2 * i, 3, "%02x", rnd[i]);
		password = generated;
		fprintf(stderr, "redstore-cli: password of %s (shown once): %s\n", user, password);
	}
	if (redstore_auth_redis_acl(&line, store, user, password))
		return cli_fail("acl");
	printf("%s\n", line);
	redstore_free(line);
	return 0;
}

int cmd_audit(int argc, char **argv)
{
	static const char *usage = "audit verify --store S";
	redstore_audit_report rep;
	redstore_client *c;
	const char *store;
	int rc;
	if (argc < 2 || strcmp(argv[1], "verify") != 0) {
		fprintf(stderr, "usage: redstore-cli %s\n", usage);
		return 2;
	}
	if (!(store = store_arg(argc, argv, 2, usage)))
		return 2;
	if (cli_client(&c))
		return 1;
	if (redstore_client_use_store(c, store) || redstore_audit_verify(&rep, c)) {
		rc = cli_fail("audit verify");
		redstore_client_free(c);
		return rc;
	}
	redstore_client_free(c);
	if (!rep.ok) {
		printf("store %s: audit chain BROKEN after %lld good entries: %s\n", store, (long long)rep.entries,
		       rep.problem);
		return 1;
	}
	printf("store %s: audit chain intact (%lld entries)\n", store, (long long)rep.entries);
	return 0;
}
