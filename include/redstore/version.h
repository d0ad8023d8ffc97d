/*
 * libredstore: version of the headers and of the linked library.
 */
#ifndef REDSTORE_VERSION_H
#define REDSTORE_VERSION_H

#include "common.h"

#define REDSTORE_VERSION_MAJOR 0
#define REDSTORE_VERSION_MINOR 1
#define REDSTORE_VERSION_PATCH 0
#define REDSTORE_VERSION_STRING "0.1.0"
/** One number that grows with every release: 0xMMmmpp. */
#define REDSTORE_VERSION_NUM ((REDSTORE_VERSION_MAJOR << 16) | (REDSTORE_VERSION_MINOR << 8) | REDSTORE_VERSION_PATCH)

REDSTORE_BEGIN_DECLS
REDSTORE_ASSUME_NONNULL_BEGIN

/**
 * The version of the linked library as "MAJOR.MINOR.PATCH" (static string). Compare with
 * REDSTORE_VERSION_STRING to detect a header/library mismatch.
 *
 * @param major, minor, patch  optional out-parameters (may be NULL)
 * Thread rule: thread-safe.
 */
REDSTORE_EXTERN(const char *) redstore_version(int *REDSTORE_NULLABLE major, int *REDSTORE_NULLABLE minor,
                                                int *REDSTORE_NULLABLE patch);

REDSTORE_ASSUME_NONNULL_END
REDSTORE_END_DECLS

#endif
