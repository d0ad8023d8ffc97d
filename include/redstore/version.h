/**
 * @file
 * libredstore: version of the headers and of the linked library.
 */
#ifndef REDSTORE_VERSION_H
#define REDSTORE_VERSION_H

#include "common.h"

/** The major version of these headers: bumped by releases that break the API. */
#define REDSTORE_VERSION_MAJOR 0
/** The minor version of these headers: bumped by releases that add API. */
#define REDSTORE_VERSION_MINOR 1
/** The patch version of these headers. */
#define REDSTORE_VERSION_PATCH 0
/** The version of these headers as "MAJOR.MINOR.PATCH". */
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
