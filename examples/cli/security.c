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

/* employee add --store S [--if-missing] ID NAME ROLE PIN: the store's staff, as an administrator (no
 * session: the CLI talks to the engines directly). PIN "-" reads it from standard input, so it is not
 * on the command line of a shared machine. */
int cmd_employee(int argc, char **argv)
{
	static const char *usage = "employee add --store S [--if-missing] ID NAME cashier|supervisor|manager|admin PIN|-";
	const char *store = getenv("REDSTORE_STORE_ID"), *pos[4];
	char pin[32];
	int npos = 0, if_missing = 0, rc;
	redstore_role role;
	redstore_client *c;
	if (argc < 2 || strcmp(argv[1], "add")) {
		fprintf(stderr, "usage: redstore-cli %s\n", usage);
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--store") && i + 1 < argc)
			store = argv[++i];
		else if (!strcmp(argv[i], "--if-missing"))
			if_missing = 1;
		else if (npos < 4 && argv[i][0] != '-')
			pos[npos++] = argv[i];
		else if (npos == 3 && !strcmp(argv[i], "-"))
			pos[npos++] = argv[i];
		else {
			fprintf(stderr, "redstore-cli: employee: unexpected %s\nusage: redstore-cli %s\n", argv[i], usage);
			return 2;
		}
	}
	if (!store || !*store || npos != 4) {
		fprintf(stderr, "usage: redstore-cli %s\n", usage);
		return 2;
	}
	if (redstore_role_parse(&role, pos[2])) {
		fprintf(stderr, "redstore-cli: employee: unknown role \"%s\"\n", pos[2]);
		return 2;
	}
	if (!strcmp(pos[3], "-")) {
		if (!fgets(pin, sizeof(pin), stdin)) {
			fprintf(stderr, "redstore-cli: employee: no PIN on standard input\n");
			return 2;
		}
		pin[strcspn(pin, "\r\n")] = '\0';
	} else {
		snprintf(pin, sizeof(pin), "%s", pos[3]);
	}
	if (cli_client(&c))
		return 1;
	if (redstore_client_use_store(c, store)) {
		redstore_client_free(c);
		return cli_fail("employee");
	}
	rc = redstore_auth_employee_add(c, pos[0], pos[1], role, pin);
	redstore_client_free(c);
	if (rc == REDSTORE_EEXISTS && if_missing) {
		printf("employee %s of store %s exists already\n", pos[0], store);
		return 0;
	}
	if (rc)
		return cli_fail("employee add");
	printf("employee %s (%s) added to store %s\n", pos[0], redstore_role_name(role), store);
	return 0;
}

/* pairing-code --store S NAME: a one-time code a new terminal exchanges for its device token
 * (POST /v1/pair). Prints the code alone on standard output. */
int cmd_pairing_code(int argc, char **argv)
{
	static const char *usage = "pairing-code --store S TERMINAL-NAME";
	const char *store = getenv("REDSTORE_STORE_ID"), *name = NULL;
	char code[REDSTORE_PAIRING_CODE_SIZE];
	redstore_client *c;
	int rc;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--store") && i + 1 < argc)
			store = argv[++i];
		else if (!name && argv[i][0] != '-')
			name = argv[i];
		else {
			fprintf(stderr, "redstore-cli: pairing-code: unexpected %s\nusage: redstore-cli %s\n", argv[i], usage);
			return 2;
		}
	}
	if (!store || !*store || !name) {
		fprintf(stderr, "usage: redstore-cli %s\n", usage);
		return 2;
	}
	if (cli_client(&c))
		return 1;
	rc = redstore_client_use_store(c, store) || redstore_auth_pairing_code_new(code, c, name);
	redstore_client_free(c);
	if (rc)
		return cli_fail("pairing-code");
	printf("%s\n", code);
	return 0;
}
