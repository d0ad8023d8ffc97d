/* libFuzzer target: the catalog CSV parser and row checks (no engine involved). */
#include "catalog/catalog_priv.h"

#include <stdint.h>

static int fuzz_catalog_csv(const uint8_t *data, size_t size)
{
	static const char *const tax[] = { "standard", "reduced" };
	redstore_import_report *rep = NULL;
	int rc = redstore__catalog_csv_parse(&rep, (const char *)data, size, "fuzz", tax, 2);
	if (rc == 0 && !rep)
		__builtin_trap();
	for (size_t i = 0; rep && i < rep->error_count; i++)
		if (!rep->errors[i].message[0])
			__builtin_trap(); /* every bad row says why */
	redstore_import_report_free(rep);
	return 0;
}

#ifndef RS_FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_catalog_csv(data, size);
}
#endif
