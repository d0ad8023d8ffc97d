/**
 * @file
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
/** Opens the declarations of a header: `extern "C" {` under C++, nothing in C. */
#define REDSTORE_BEGIN_DECLS
/** Closes what REDSTORE_BEGIN_DECLS opened. */
#define REDSTORE_END_DECLS
#endif

/** Marks a function as part of the public ABI (exported from the shared library). */
#if defined(REDSTORE_BUILDING) && (defined(__GNUC__) || defined(__clang__))
#define REDSTORE_EXTERN(type) __attribute__((visibility("default"))) extern type
#else
#define REDSTORE_EXTERN(type) extern type
#endif

/** Marks a function whose result must be checked. */
#if defined(__GNUC__) || defined(__clang__)
#define REDSTORE_WARN_UNUSED __attribute__((warn_unused_result))
#else
#define REDSTORE_WARN_UNUSED
#endif

/*
 * Nullability (Clang, hence Swift and Objective-C): every public header puts its declarations between
 * REDSTORE_ASSUME_NONNULL_BEGIN and REDSTORE_ASSUME_NONNULL_END, so an unmarked pointer is non-null, and
 * marks each pointer that may be NULL with REDSTORE_NULLABLE. Pointers to pointers and array parameters
 * carry a mark on every level (Clang's -Wnullability-completeness asks for it). Other compilers see
 * nothing: the macros expand to nothing.
 */
#if defined(__clang__) && defined(__has_feature)
#if __has_feature(nullability)
#define REDSTORE_HAS_NULLABILITY 1
#endif
#endif
#ifdef REDSTORE_HAS_NULLABILITY
/** Marks a pointer that may be NULL (Clang `_Nullable`; nothing for other compilers). */
#define REDSTORE_NULLABLE _Nullable
/** Marks a pointer that is never NULL (Clang `_Nonnull`; nothing for other compilers). */
#define REDSTORE_NONNULL _Nonnull
/**
 * Opens a region where unmarked pointers are non-null. The pragmas also keep `clang -pedantic` quiet
 * about the nullability extension inside the headers.
 */
#define REDSTORE_ASSUME_NONNULL_BEGIN \
	_Pragma("clang diagnostic push") _Pragma("clang diagnostic ignored \"-Wnullability-extension\"") \
	_Pragma("clang assume_nonnull begin")
/** Closes what REDSTORE_ASSUME_NONNULL_BEGIN opened. */
#define REDSTORE_ASSUME_NONNULL_END _Pragma("clang assume_nonnull end") _Pragma("clang diagnostic pop")
#else
#define REDSTORE_NULLABLE
#define REDSTORE_NONNULL
#define REDSTORE_ASSUME_NONNULL_BEGIN
#define REDSTORE_ASSUME_NONNULL_END
#endif

REDSTORE_BEGIN_DECLS
REDSTORE_ASSUME_NONNULL_BEGIN

/**
 * Frees memory that the library allocated and handed to the caller as a plain buffer
 * (for example the text of `redstore_config_describe()`). NULL is a no-op.
 *
 * Thread rule: thread-safe.
 */
REDSTORE_EXTERN(void) redstore_free(void *REDSTORE_NULLABLE ptr);

REDSTORE_ASSUME_NONNULL_END
REDSTORE_END_DECLS

#endif
