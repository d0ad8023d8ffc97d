/*
 * redstore-cli employee-add | pairing-code: what a person needs to open the web terminal and the
 * dashboard (docs/web.md) on a store, public API only. The CLI is the trusted service (no session).
 *
 *   redstore-cli employee-add --store S --id ID --name NAME --role cashier|supervisor|manager|admin --pin PIN
 *   redstore-cli pairing-code --store S [--name "till 1"]     prints a one-time code for a new device
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static int employee_usage(void)
{
	fprintf(stderr, "usage: redstore-cli employee-add --store S --id ID --name NAME"
	                " --role cashier|supervisor|manager|admin --pin PIN\n");
	return 2;
}

int cmd_employee_add(int argc, char **argv)
{
	const char *store = NULL, *id = NULL, *name = NULL, *role_name = NULL, *pin = NULL;
	redstore_role role;
	redstore_client *c;
	int rc;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			return employee_usage();
		i++;
		if (!strcmp(a, "--store"))
			store = v;
		else if (!strcmp(a, "--id"))
			id = v;
		else if (!strcmp(a, "--name"))
			name = v;
		else if (!strcmp(a, "--role"))
			role_name = v;
		else if (!strcmp(a, "--pin"))
			pin = v;
		else
			return employee_usage();
	}
	if (!store || !id || !name || !role_name || !pin)
		return employee_usage();
	if (redstore_role_parse(&role, role_name))
		return cli_fail("employee-add: --role");
	if (cli_client(&c))
		return 1;
	if (redstore_client_use_store(c, store) || redstore_auth_employee_add(c, id, name, role, pin)) {
		rc = cli_fail("employee-add");
		redstore_client_free(c);
		return rc;
	}
	redstore_client_free(c);
	printf("employee %s (%s) added to store %s\n", id, role_name, store);
	return 0;
}

int cmd_pairing_code(int argc, char **argv)
{
	const char *store = NULL, *name = "web terminal";
	char code[REDSTORE_PAIRING_CODE_SIZE];
	redstore_client *c;
	int rc;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--store") && i + 1 < argc)
			store = argv[++i];
		else if (!strcmp(argv[i], "--name") && i + 1 < argc)
			name = argv[++i];
		else
			store = NULL, i = argc;
	}
	if (!store) {
		fprintf(stderr, "usage: redstore-cli pairing-code --store S [--name NAME]\n");
		return 2;
	}
	if (cli_client(&c))
		return 1;
	if (redstore_client_use_store(c, store) || redstore_auth_pairing_code_new(code, c, name)) {
		rc = cli_fail("pairing-code");
		redstore_client_free(c);
		return rc;
	}
	redstore_client_free(c);
	printf("%s\n", code);
	return 0;
}
