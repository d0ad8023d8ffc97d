/*
 * libredstore: identities, roles, store isolation and the audit log.
 *
 * Terminals. A manager issues a one-time pairing code for the store (short, expiring after
 * auth.pairing_ttl_s, usable once). The terminal exchanges it for a device token: 256 random bits, shown
 * once; only its SHA-256 is stored. Tokens are listed and revoked per store.
 *
 * Employees. On a paired terminal an employee logs in with a PIN (4-12 digits, stored as an argon2id hash
 * with the limits auth.pin_opslimit / auth.pin_memlimit_kib). auth.lockout_threshold wrong PINs in a row
 * lock the employee for auth.lockout_base_ms, doubling with every further wrong PIN up to
 * auth.lockout_max_ms; the counter lives in the employee's row and is updated atomically, so wrong PINs on
 * different terminals add up. A good login gives a session token: "v1|store|employee|terminal|role|expiry|
 * nonce" followed by "." and the HMAC-SHA256 of that text under auth.secret (hex). It expires after
 * auth.session_ttl_s and is verified (signature compared in constant time, expiry) on every use.
 *
 * Roles and permissions (redstore_role_allows):
 *  - cashier:    sell
 *  - supervisor: + voids, refunds up to auth.supervisor_refund_limit per refund, price overrides
 *  - manager:    + any refund, stock operations, catalog and price changes, shifts, reports, employees,
 *                  pairing codes and the terminal list
 *  - admin:      + stores, revoking terminals
 * A supervisor (or higher) approves ONE action of a lower role with their own PIN at the terminal
 * (redstore_auth_override, the "manager override"): the next action that needs that permission runs with
 * the approval and is recorded in the audit log with approved_by = the approver.
 *
 * The authenticated context, and why it is attached to a client. A redstore_client without a session is
 * the trusted *service* (a server process, the projector, an operator's CLI with database credentials):
 * it acts for whatever store it selects, as before. redstore_auth_attach() binds an employee's session
 * token to a client, and from then on:
 *  1. the client's store IS the session's store: redstore_client_use_store() to any other store fails
 *     with REDSTORE_EPERM, and every store-scoped call (catalog, inventory, sales, auth) acts on it;
 *  2. the terminal and employee of every event are the session's;
 *  3. every privileged call checks the session first (signature, expiry, role, limit): voids and refunds
 *     (lib/sale/sale.c), stock receipts, adjustments, counts and transfers (lib/stock/inventory.c), product and price
 *     changes (lib/catalog/catalog.c); a refused call returns REDSTORE_EPERM (or REDSTORE_EAUTH for an expired or
 *     forged token) before anything is written, and a successful one is appended to the audit log;
 *  4. its PostgreSQL connection runs as the role redstore_store (NOLOGIN, NOBYPASSRLS) with the setting
 *     redstore.store_id = the session's store, so row-level security confines even a wrong query to the
 *     store (lib/engines/sql/0004_security.sql).
 * Checks are tied to the session rather than added as arguments so that existing calls keep their
 * signatures (ABI) and a program cannot forget to pass them: a server attaches the request's session
 * token to the client that serves the request, and every call made through it is checked.
 *
 * A session is checked when attached (terminal not revoked, employee active with the same role) and on
 * every privileged call (signature and expiry): a server attaches the token of each request, so a
 * revoked terminal or a deactivated employee is refused from the next request on.
 *
 * The audit log (PostgreSQL table audit_log, and a copy of each entry as an `audit.recorded` event on the
 * <prefix>audit topic) records logins, failed logins, lockouts, overrides, pairings, revocations,
 * employee and role changes, and the privileged actions of attached sessions. It is append-only (a
 * trigger refuses UPDATE, DELETE and TRUNCATE) and hash-chained per store: entry n carries the SHA-256 of
 * entry n-1, and appends are serialized per store so the chain never forks. redstore_audit_verify()
 * recomputes the chain and names the first edited, deleted or reordered entry. An audited call fails
 * (retriably) when its entry cannot be written to PostgreSQL or acknowledged by Kafka; an action that
 * was already applied (a refund, say) is then idempotent by its id, so the caller retries it. Manual
 * discounts of an attached cashier's sale are price overrides (REDSTORE_PERM_PRICE_OVERRIDE), audited as
 * sale.price_override before the sale is applied.
 *
 * Thread rule: the calls that take a client follow the client's rule (one thread at a time); the
 * name and permission functions are thread-safe.
 */
#ifndef REDSTORE_AUTH_H
#define REDSTORE_AUTH_H

#include "common.h"
#include "client.h"

REDSTORE_BEGIN_DECLS
REDSTORE_ASSUME_NONNULL_BEGIN

/** An employee's role, lowest first. */
typedef enum redstore_role {
	REDSTORE_ROLE_CASHIER = 0,
	REDSTORE_ROLE_SUPERVISOR = 1,
	REDSTORE_ROLE_MANAGER = 2,
	REDSTORE_ROLE_ADMIN = 3
} redstore_role;

/** What a call needs (see the table at the top of this header). Append-only. */
typedef enum redstore_permission {
	REDSTORE_PERM_SELL = 0,
	REDSTORE_PERM_VOID = 1,
	REDSTORE_PERM_REFUND = 2,         /**< supervisors: up to auth.supervisor_refund_limit */
	REDSTORE_PERM_PRICE_OVERRIDE = 3,
	REDSTORE_PERM_STOCK = 4,
	REDSTORE_PERM_CATALOG = 5,        /**< products and prices */
	REDSTORE_PERM_SHIFTS = 6,
	REDSTORE_PERM_REPORTS = 7,
	REDSTORE_PERM_EMPLOYEES = 8,
	REDSTORE_PERM_PAIR = 9,           /**< pairing codes, listing terminals */
	REDSTORE_PERM_TERMINALS = 10,     /**< revoking terminals */
	REDSTORE_PERM_STORES = 11
} redstore_permission;

/** "cashier", "supervisor", "manager", "admin", or NULL for an unknown value. Static. Thread-safe. */
REDSTORE_EXTERN(const char *REDSTORE_NULLABLE) redstore_role_name(redstore_role role);

/** Parses a role name. @return 0 or REDSTORE_EINVALID. Thread-safe. */
REDSTORE_EXTERN(int) redstore_role_parse(redstore_role *out, const char *REDSTORE_NULLABLE name);

/** "sell", "void", "refund", "price_override", "stock", "catalog", "shifts", "reports", "employees",
 * "pair", "terminals", "stores", or NULL. Static. Thread-safe. */
REDSTORE_EXTERN(const char *REDSTORE_NULLABLE) redstore_permission_name(redstore_permission perm);

/** 1 when `role` holds `perm` (amount limits aside), else 0. Thread-safe. */
REDSTORE_EXTERN(int) redstore_role_allows(redstore_role role, redstore_permission perm);

/* ------------------------------------------------------------ terminals */

/** A pairing code as shown to the manager, "XXXX-XXXX" (Crockford base32), plus its NUL. */
#define REDSTORE_PAIRING_CODE_SIZE 10
/** A device token, "rsd_" + 64 hex digits, plus its NUL. */
#define REDSTORE_DEVICE_TOKEN_SIZE 69

/**
 * Issues a one-time pairing code for a terminal of the client's store. Needs REDSTORE_PERM_PAIR when a
 * session is attached. Audited.
 *
 * @param out   receives the code (REDSTORE_PAIRING_CODE_SIZE bytes)
 * @param name  the terminal's name, 1-100 printable characters, copied
 * @return 0, REDSTORE_EINVALID (no store, bad name), REDSTORE_EPERM, REDSTORE_EAUTH, REDSTORE_EDB
 */
REDSTORE_EXTERN(int) redstore_auth_pairing_code_new(char out[REDSTORE_NONNULL REDSTORE_PAIRING_CODE_SIZE], redstore_client *client,
                                                    const char *name);

/**
 * Exchanges a pairing code for a device token: the terminal's half of pairing. The code names its store;
 * it works once, before it expires. Audited in that store.
 *
 * @param out          receives the device token (REDSTORE_DEVICE_TOKEN_SIZE bytes); keep it secret
 * @param terminal_id  receives the new terminal's id (REDSTORE_ID_SIZE bytes)
 * @return 0, REDSTORE_EAUTH (unknown, used or expired code), REDSTORE_EINVALID (malformed code)
 */
REDSTORE_EXTERN(int) redstore_auth_pair(char out[REDSTORE_NONNULL REDSTORE_DEVICE_TOKEN_SIZE],
                                        char terminal_id[REDSTORE_NONNULL REDSTORE_ID_SIZE],
                                        redstore_client *client, const char *pairing_code);

/** A paired terminal, as listed. */
typedef struct redstore_terminal_info {
	char terminal_id[REDSTORE_ID_SIZE]; /**< the terminal's id (a UUID) */
	char name[101];           /**< the name given with its pairing code */
	char paired_by[65];       /**< the employee who issued the code ("" for the service) */
	int64_t paired_at_ms;     /**< when it was paired, ms since the epoch */
	int revoked;              /**< 1 when revoked */
} redstore_terminal_info;

/**
 * Lists the client's store's terminals, oldest first. Needs REDSTORE_PERM_PAIR when a session is
 * attached.
 *
 * @param out    receives an array of *count entries; free it with redstore_free() (NULL when empty)
 * @return 0, REDSTORE_EINVALID (no store), REDSTORE_EPERM, REDSTORE_EDB
 */
REDSTORE_EXTERN(int) redstore_auth_terminal_list(redstore_terminal_info *REDSTORE_NULLABLE *REDSTORE_NONNULL out,
                                                 size_t *count,
                                                 redstore_client *client);

/**
 * Revokes a terminal of the client's store: its device token stops working at once, and sessions opened
 * on it are refused when next attached. Needs REDSTORE_PERM_TERMINALS when a session is attached. Audited.
 *
 * @return 0, REDSTORE_ENOTFOUND (no such terminal in the store, or revoked already), REDSTORE_EPERM
 */
REDSTORE_EXTERN(int) redstore_auth_terminal_revoke(redstore_client *client, const char *terminal_id);

/* ------------------------------------------------------------ employees */

/**
 * Adds an employee to the client's store. Needs REDSTORE_PERM_EMPLOYEES when a session is attached, and a
 * manager may only add roles below manager. Audited (never the PIN).
 *
 * @param employee_id  1-64 of [A-Za-z0-9_.-]
 * @param name         1-100 printable characters
 * @param pin          4-12 digits; hashed with argon2id
 * @return 0, REDSTORE_EINVALID, REDSTORE_EEXISTS, REDSTORE_EPERM
 */
REDSTORE_EXTERN(int) redstore_auth_employee_add(redstore_client *client, const char *employee_id, const char *name,
                                                redstore_role role, const char *pin);

/**
 * Changes an employee's role (the same rules as adding). Audited as a role change.
 *
 * @return 0, REDSTORE_ENOTFOUND, REDSTORE_EPERM
 */
REDSTORE_EXTERN(int) redstore_auth_employee_set_role(redstore_client *client, const char *employee_id,
                                                     redstore_role role);

/**
 * Deactivates (active = 0) or reactivates an employee (the same rules as adding). A deactivated employee
 * cannot log in or approve, and their sessions are refused when next attached. Reactivating also clears
 * a lockout. Audited.
 *
 * @return 0, REDSTORE_ENOTFOUND, REDSTORE_EPERM
 */
REDSTORE_EXTERN(int) redstore_auth_employee_set_active(redstore_client *client, const char *employee_id,
                                                       int active);

/* ------------------------------------------------------------ sessions */

/**
 * Logs an employee in on a paired terminal. The device token names the terminal and its store; the
 * employee must belong to that store. Every attempt is audited (good, wrong PIN, locked).
 *
 * @param out  receives the session token (NUL-terminated); free it with redstore_free()
 * @return 0, REDSTORE_EAUTH (unknown or revoked device, unknown employee or wrong PIN: one message for
 *         all, so it reveals nothing), REDSTORE_ELOCKED (locked out: the message says for how long;
 *         retriable later), REDSTORE_EINACTIVE (deactivated employee), REDSTORE_EINVALID (auth.secret unset)
 */
REDSTORE_EXTERN(int) redstore_auth_login(char *REDSTORE_NULLABLE *REDSTORE_NONNULL out, redstore_client *client,
                                         const char *REDSTORE_NULLABLE device_token,
                                         const char *REDSTORE_NULLABLE employee_id, const char *REDSTORE_NULLABLE pin);

/**
 * Attaches a session token to a client (see the top of this header for what changes). Verifies the
 * signature, the expiry, that the terminal is not revoked and that the employee is still active with the
 * same role. Replaces a session attached before. The token is copied.
 *
 * @return 0, REDSTORE_EAUTH (forged, malformed, expired, revoked terminal, changed role), REDSTORE_EINACTIVE
 */
REDSTORE_EXTERN(int) redstore_auth_attach(redstore_client *client, const char *REDSTORE_NULLABLE session_token);

/** Detaches the session: the client is the service again. Drops the PostgreSQL connection. */
REDSTORE_EXTERN(void) redstore_auth_detach(redstore_client *REDSTORE_NULLABLE client);

/** Who a client acts for. */
typedef struct redstore_session_info {
	char store_id[65];                  /**< the store the session is bound to */
	char employee_id[65];               /**< who logged in */
	char terminal_id[REDSTORE_ID_SIZE]; /**< on which paired terminal */
	redstore_role role;                 /**< the employee's role at login */
	int64_t expires_at_ms;              /**< when the token expires, ms since the epoch */
} redstore_session_info;

/**
 * The attached session, verified again.
 *
 * @return 0, REDSTORE_ENOTFOUND (no session attached), REDSTORE_EAUTH (expired)
 */
REDSTORE_EXTERN(int) redstore_auth_session(redstore_session_info *out, redstore_client *client);

/**
 * Checks that the client may do `perm` (for refunds, of `amount` minor units): always 0 without a
 * session; with one, the token is verified again, then the role, then an armed override.
 *
 * @return 0, REDSTORE_EPERM (names the role and the permission), REDSTORE_EAUTH (expired or forged)
 */
REDSTORE_EXTERN(int) redstore_auth_require(redstore_client *client, redstore_permission perm, int64_t amount);

/**
 * A supervisor (or higher) of the same store approves ONE action needing `perm` by the attached session's
 * employee, with their own PIN (wrong PINs count toward their lockout). The approval is used by the next
 * successful action that needs `perm` and lacks it; it is audited when given and the action is recorded
 * with approved_by. A refund approved by a supervisor is still bounded by auth.supervisor_refund_limit.
 *
 * @return 0, REDSTORE_EAUTH (wrong PIN or unknown approver), REDSTORE_ELOCKED, REDSTORE_EPERM (the approver's
 *         role lacks `perm`, or the approver is the employee), REDSTORE_EINVALID (no session attached)
 */
REDSTORE_EXTERN(int) redstore_auth_override(redstore_client *client, redstore_permission perm,
                                            const char *approver_id, const char *pin);

/* ------------------------------------------------------------ Redis ACL */

/**
 * The Redis ACL command that confines a Redis user to one store: its keys (rs:{s:<store>}:*), its
 * channels (the same pattern), and the commands the library's store-scoped work needs (reads, writes,
 * scripts: Redis 7 checks the keys a script touches against the user's patterns, transactions, pub/sub);
 * no dangerous or administrative command, no key enumeration (KEYS, SCAN, RANDOMKEY), no PUBSUB
 * introspection, no FUNCTION, SCRIPT FLUSH or KILL. The password is kept as its SHA-256 (#hash), never in
 * clear. The result is one line, "ACL SETUSER <user> reset on #<sha256> ~... &... -@all +...", whose
 * arguments are separated by single spaces. Operations that touch two stores (transfers) need a user of
 * each store or the service's user.
 *
 * @param out       receives the line; free it with redstore_free()
 * @param user      the Redis user, 1-64 of [A-Za-z0-9_.-]
 * @param password  at least 16 characters
 * @return 0, REDSTORE_EINVALID
 * Thread rule: thread-safe.
 */
REDSTORE_EXTERN(int) redstore_auth_redis_acl(char *REDSTORE_NULLABLE *REDSTORE_NONNULL out,
                                             const char *REDSTORE_NULLABLE store_id,
                                             const char *REDSTORE_NULLABLE user,
                                             const char *REDSTORE_NULLABLE password);

/* ------------------------------------------------------------ audit */

/** The outcome of redstore_audit_verify(). */
typedef struct redstore_audit_report {
	int64_t entries;          /**< entries checked */
	int ok;                   /**< 1 when the whole chain holds */
	int64_t bad_seq;          /**< the first entry that fails (0 when ok) */
	char problem[256];        /**< what is wrong with it, e.g. "entry 3 was edited (hash mismatch)" */
} redstore_audit_report;

/**
 * Verifies the client's store's audit chain: sequence numbers without gaps, each prev_hash equal to the
 * previous entry's hash, each hash equal to the SHA-256 of the entry's canonical encoding, and the last
 * entry equal to the store's head. Needs REDSTORE_PERM_REPORTS when a session is attached.
 *
 * @return 0 (read out->ok), REDSTORE_EINVALID (no store), REDSTORE_EPERM, REDSTORE_EDB
 */
REDSTORE_EXTERN(int) redstore_audit_verify(redstore_audit_report *out, redstore_client *client);

REDSTORE_ASSUME_NONNULL_END
REDSTORE_END_DECLS

#endif
