// Compiled by tests/packaging/check_cxx.sh with exports.cpp, which holds the address of every function
// the shared library exports, taken through the declarations of redstore.h. Linking proves they have C
// linkage; this program proves the calls work.
#include <redstore.h>

#include <cstdio>
#include <cstring>

typedef void (*redstore_cxx_any_fn)(void);
extern const redstore_cxx_any_fn redstore_cxx_exports[];
extern const unsigned redstore_cxx_export_count;

static int fail(const char *what)
{
	std::fprintf(stderr, "cxx_linkage: %s (last error: %s)\n", what, redstore_error_last());
	return 1;
}

int main()
{
	unsigned n = 0;
	while (redstore_cxx_exports[n] != nullptr)
		n++;
	if (n != redstore_cxx_export_count || n == 0)
		return fail("the export table is incomplete");

	const char *(*version_fn)(int *, int *, int *) = &redstore_version;
	int major = -1, minor = -1, patch = -1;
	const char *version = version_fn(&major, &minor, &patch);
	if (version == nullptr || std::strcmp(version, REDSTORE_VERSION_STRING) != 0)
		return fail("redstore_version() differs from REDSTORE_VERSION_STRING");
	if (major != REDSTORE_VERSION_MAJOR || minor != REDSTORE_VERSION_MINOR || patch != REDSTORE_VERSION_PATCH)
		return fail("redstore_version() numbers differ from the REDSTORE_VERSION_* macros");

	redstore_config *cfg = nullptr;
	if (redstore_config_new(&cfg) != REDSTORE_OK)
		return fail("redstore_config_new");
	redstore_config_free(cfg);
	redstore_config_free(nullptr);

	if (std::strcmp(redstore_err_name(REDSTORE_EOUT_OF_STOCK), "REDSTORE_EOUT_OF_STOCK") != 0)
		return fail("redstore_err_name(REDSTORE_EOUT_OF_STOCK)");

	std::printf("cxx linkage ok: %u exported functions reachable from C++, version %s\n", n, version);
	return 0;
}
