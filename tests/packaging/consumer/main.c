/*
 * A minimal program built against the *installed* library, twice: with pkg-config and with
 * find_package(redstore). It uses only the public API.
 */
#include <redstore.h>

#include <stdio.h>
#include <string.h>

static int fail(const char *what)
{
	fprintf(stderr, "consumer: %s (last error: %s)\n", what, redstore_error_last());
	return 1;
}

int main(void)
{
	const char *url = "redis://127.0.0.1:6390/3";
	const char *version = redstore_version(NULL, NULL, NULL);
	const char *value = NULL;
	redstore_config *cfg = NULL;
	int rc;

	if (version == NULL || strcmp(version, REDSTORE_VERSION_STRING) != 0)
		return fail("redstore_version() differs from REDSTORE_VERSION_STRING: header/library mismatch");

	if (redstore_config_new(&cfg) != REDSTORE_OK)
		return fail("redstore_config_new");
	if (redstore_config_set(cfg, "redis.url", url) != REDSTORE_OK) {
		redstore_config_free(cfg);
		return fail("redstore_config_set(redis.url)");
	}
	rc = redstore_config_get(&value, cfg, "redis.url");
	if (rc != REDSTORE_OK || value == NULL || strcmp(value, url) != 0) {
		redstore_config_free(cfg);
		return fail("redstore_config_get(redis.url) did not read back what was set");
	}
	redstore_config_free(cfg);
	redstore_config_free(NULL);

	if (strcmp(redstore_err_name(REDSTORE_EOUT_OF_STOCK), "REDSTORE_EOUT_OF_STOCK") != 0)
		return fail("redstore_err_name(REDSTORE_EOUT_OF_STOCK)");

	printf("consumer ok\n");
	return 0;
}
