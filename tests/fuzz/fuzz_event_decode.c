/* libFuzzer target: the strict event envelope decoder (redstore_event_decode). */
#include <redstore.h>

#include <stdint.h>

static int fuzz_event_decode(const uint8_t *data, size_t size)
{
	redstore_event *e = NULL;
	if (redstore_event_decode(&e, data, size) == 0 && !e)
		__builtin_trap(); /* success must give an event */
	redstore_event_free(e);
	return 0;
}

#ifndef RS_FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_event_decode(data, size);
}
#endif
