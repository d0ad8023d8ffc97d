/* Internals shared by the job queue files (lib/jobs*.c, lib/jobs/webhooks.c). */
#ifndef REDSTORE_LIB_JOBS_IMPL_H
#define REDSTORE_LIB_JOBS_IMPL_H

#include "engines/engines_int.h"

/* REDSTORE_EINVALID unless `queue` is 1-64 of [A-Za-z0-9_.-]. */
int redstore__queue_check(const char *queue);

/* redstore_job_take with a taker name in the lease tokens ("<taker>.<n>"). */
int redstore__job_take_as(redstore_job *out, size_t max, size_t *count, redstore_client *c, const char *queue,
                          int64_t lease_ms, const char *taker);

/* Finishes n taken jobs of ONE queue in one script call; rcs[i] = 0 or REDSTORE_ECONFLICT (lease lost). */
int redstore__job_finish_many(int *rcs, redstore_client *c, const redstore_job *const *jobs,
                              const redstore_job_outcome *outcomes, const char *const *errors, size_t n);

/* Renews n leases of one queue in one script call; ok[i] = 1 renewed, 0 lost (ok may be NULL). */
int redstore__job_extend_many(int *ok, redstore_client *c, const char *queue, const char *const *ids,
                              const char *const *tokens, size_t n, int64_t lease_ms);

/* The UTC offset (seconds east) of zone `tz` at UTC instant `t` (seconds), from its TZif file. */
int redstore__tz_offset(int64_t *out, const char *tz, int64_t t);

#endif
