/* The linked library's version. */
#include "core/core_int.h"

const char *redstore_version(int *major, int *minor, int *patch)
{
	if (major)
		*major = REDSTORE_VERSION_MAJOR;
	if (minor)
		*minor = REDSTORE_VERSION_MINOR;
	if (patch)
		*patch = REDSTORE_VERSION_PATCH;
	return REDSTORE_VERSION_STRING;
}
