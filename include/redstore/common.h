/*
 * libredstore: common definitions shared by every public header.
 *
 * Ownership, in one sentence each (docs/conventions.md has the long form):
 *  1. An object returned through `**out` belongs to the caller, who frees it with its `_free` function.
 *  2. A pointer returned as a function's result is borrowed from its parent and lives as long as it.
 *  3. Input strings are always copied; the caller may free them as soon as the call returns.
 *  4. Every `_free` function accepts NULL and then does nothing.
 */
#ifndef REDSTORE_COMMON_H
#define REDSTORE_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define REDSTORE_BEGIN_DECLS extern "C" {
#define REDSTORE_END_DECLS }
#else
#define REDSTORE_BEGIN_DECLS
#define REDSTORE_END_DECLS
#endif

/* Marks a function as part of the public ABI. */
#if defined(REDSTORE_BUILDING) && (defined(__GNUC__) || defined(__clang__))
#define REDSTORE_EXTERN(type) __attribute__((visibility("default"))) extern type
#else
#define REDSTORE_EXTERN(type) extern type
#endif

/* Marks a function whose result must be checked. */
#if defined(__GNUC__) || defined(__clang__)
#define REDSTORE_WARN_UNUSED __attribute__((warn_unused_result))
#else
#define REDSTORE_WARN_UNUSED
#endif

REDSTORE_BEGIN_DECLS

/**
 * Frees memory that the library allocated and handed to the caller as a plain buffer
 * (for example the text of `redstore_config_describe()`). NULL is a no-op.
 *
 * Thread rule: thread-safe.
 */
REDSTORE_EXTERN(void) redstore_free(void *ptr);

REDSTORE_END_DECLS

#endif
