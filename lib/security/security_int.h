/* Internals of sessions, permission checks and the audit log (lib/security/auth.c, lib/security/audit.c). */
#ifndef REDSTORE_LIB_AUTH_IMPL_H
#define REDSTORE_LIB_AUTH_IMPL_H

#include "engines/engines_int.h"

#include <cjson/cJSON.h>

/* The session attached to a client (redstore_auth_attach). */
typedef struct redstore__auth {
	char *token;                    /* verified again on every check */
	redstore_session_info info;
	/* One armed override (redstore_auth_override). */
	bool override_armed;
	redstore_permission override_perm;
	redstore_role override_role;
	char override_by[65];
	/* The approver the last successful check relied on ("" = the session's own role). */
	char approved_by[65];
} redstore__auth;

void redstore__auth_free(redstore__auth *a);

/* The library's permission check before a privileged action: 0 without a session; with one, see
 * redstore_auth_require. `what` names the action in the message. */
int redstore__auth_require(redstore_client *c, redstore_permission perm, int64_t amount, const char *what);

/* After a privileged action succeeded: with a session attached, appends it to the audit log (with the
 * approver the check relied on, whose override is then used up); without one, does nothing.
 * `details` (borrowed, may be NULL) is stored as JSON text. */
int redstore__auth_audit_action(redstore_client *c, const char *action, const char *subject, const cJSON *details);

/* Appends one entry to `store`'s audit chain in PostgreSQL and emits it as an audit.recorded event.
 * employee/terminal NULL = the client's actor. */
int redstore__audit_append(redstore_client *c, const char *store, const char *action, const char *employee,
                           const char *terminal, const char *approved_by, const char *subject, const cJSON *details);

/* Walks `store`'s audit chain and checks every link (redstore_audit_verify without the permission check:
 * audit reads and writes the chain, it does not authorise). */
int redstore__audit_verify(redstore_audit_report *out, redstore_client *c, const char *store);

/* The canonical encoding of an audit entry (the bytes its hash covers; same as the SQL function
 * redstore_audit_encoding). Returns a malloc'ed string or NULL. */
char *redstore__audit_encoding(const char *store, int64_t seq, int64_t ms, const char *action, const char *employee,
                               const char *terminal, const char *approved, const char *subject, const char *details,
                               const char *prev);

#endif
