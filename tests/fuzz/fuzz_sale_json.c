/* libFuzzer target: the sale request decoder (redstore_sale_from_json). */
#include <redstore.h>

#include <stdint.h>
#include <string.h>

static int fuzz_sale_json(const uint8_t *data, size_t size)
{
	redstore_sale *s = NULL;
	int rc = redstore_sale_from_json(&s, data, size);
	if ((rc == 0) != (s != NULL) || (s && strlen(redstore_sale_id(s)) != REDSTORE_ID_SIZE - 1))
		__builtin_trap();
	redstore_sale_free(s);
	return 0;
}

#ifndef RS_FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_sale_json(data, size);
}
#endif
