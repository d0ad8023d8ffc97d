/* UUIDv7 identifiers (RFC 9562): 48-bit Unix milliseconds, version 7, 74 random bits. */
#include "core/core_int.h"

#include <ctype.h>
#include <stdio.h>
#include <sys/random.h>

int redstore_id_new(char out[REDSTORE_ID_SIZE])
{
	unsigned char b[16];
	uint64_t ms = (uint64_t)redstore__wall_ms();

	if (getrandom(b + 6, 10, 0) != 10)
		return redstore__fail(REDSTORE_EIO, "redstore_id_new: no randomness available");
	for (int i = 0; i < 6; i++)
		b[i] = (unsigned char)(ms >> (40 - 8 * i));
	b[6] = (unsigned char)(0x70 | (b[6] & 0x0f)); /* version 7 */
	b[8] = (unsigned char)(0x80 | (b[8] & 0x3f)); /* variant 10 */
	snprintf(out, REDSTORE_ID_SIZE,
	         "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	         b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
	return 0;
}

int redstore_id_check(const char *id, const char *what)
{
	if (!id)
		return redstore__fail(REDSTORE_EINVALID, "%s: id is missing (expected a UUID)", what);
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? id[i] != '-' : !isxdigit((unsigned char)id[i]))
			return redstore__fail(REDSTORE_EINVALID, "%s: \"%.40s\" is not a UUID (expected 8-4-4-4-12 hex digits)",
			                      what, id);
	}
	if (id[36])
		return redstore__fail(REDSTORE_EINVALID, "%s: \"%.40s\" is not a UUID (too long)", what, id);
	return 0;
}
