/* The client's PostgreSQL connection: connect and run statements, both bounded by deadlines. */
#include "engines/engines_int.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>

void redstore__pg_drop(redstore_client *c)
{
	if (c->pg) {
		PQfinish(c->pg);
		c->pg = NULL;
	}
	c->pg_scoped = false;
}

int64_t redstore__pg_int(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/* Waits until the socket is ready or the deadline passes: 1 ready, 0 timed out, -1 error. */
static int wait_socket(int fd, short events, int64_t deadline_us)
{
	for (;;) {
		int64_t left = deadline_us - redstore__now_us();
		struct pollfd p = { fd, events, 0 };
		int n;
		if (left <= 0)
			return 0;
		n = poll(&p, 1, (int)((left + 999) / 1000));
		if (n > 0)
			return 1;
		if (n == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

/* The server part of the first line of a libpq message, without the trailing newline. */
static const char *first_line(char *buf, size_t cap, const char *msg)
{
	snprintf(buf, cap, "%.*s", (int)strcspn(msg ? msg : "", "\n"), msg ? msg : "");
	return buf;
}

static void where(char *buf, size_t cap, PGconn *conn)
{
	const char *h = conn ? PQhost(conn) : NULL, *p = conn ? PQport(conn) : NULL;
	snprintf(buf, cap, "%s:%s", h && *h ? h : "?", p && *p ? p : "?");
}

/* Server notices ("relation exists, skipping") are not errors; a library must not print them. */
static void ignore_notice(void *arg, const char *message)
{
}

/* Applies c->pg_scope to the open connection; drops it on failure. */
static int apply_scope(redstore_client *c)
{
	const char *params[1] = { c->pg_scope };
	int rc;
	if ((rc = redstore__pg_exec(NULL, c, "SET ROLE redstore_store", 0, NULL)) ||
	    (rc = redstore__pg_exec(NULL, c, "SELECT set_config('redstore.store_id', $1, false)", 1, params))) {
		redstore__pg_drop(c);
		return redstore__fail_wrap(rc, "postgres: scoping the connection to store %s", params[0]);
	}
	c->pg_scoped = true;
	return 0;
}

/* Gives a scoped connection back to the service (the session's user again, no store), or closes it. A
 * server attaches and detaches a session per request; reconnecting each time cost a login per request. */
static int remove_scope(redstore_client *c)
{
	if (!c->pg_scoped)
		return 0;
	if (redstore__pg_exec(NULL, c, "RESET ROLE", 0, NULL) ||
	    redstore__pg_exec(NULL, c, "SELECT set_config('redstore.store_id', '', false)", 0, NULL)) {
		redstore__pg_drop(c);
		return -1;
	}
	c->pg_scoped = false;
	return 0;
}

void redstore__pg_set_scope(redstore_client *c, const char *store)
{
	snprintf(c->pg_scope, sizeof(c->pg_scope), "%s", store ? store : "");
	if (!c->pg)
		return;
	if (c->pg_scope[0] ? apply_scope(c) : remove_scope(c))
		redstore_error_clear(); /* dropped: the next statement connects and scopes afresh */
}

int redstore__pg_connect(redstore_client *c)
{
	const char *kw[] = { "dbname", "options", "application_name", NULL };
	char options[64], msg[256], at[300];
	const char *vals[4];
	int64_t timeout_ms = c->set.database_connect_timeout_ms;
	int64_t deadline = redstore__now_us() + timeout_ms * 1000;
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;

	if (c->pg && PQstatus(c->pg) == CONNECTION_OK) {
		/* Between statements the server has nothing to say to us (the library never LISTENs): an idle
		 * connection with something to read was ended by the server ("terminating connection due to
		 * administrator command" on a restart, then EOF). Reconnect now, before a statement is sent,
		 * rather than fail it. */
		struct pollfd p = { PQsocket(c->pg), POLLIN, 0 };
		/* Never inside a transaction: its statements must fail with it, not go on in a new session. */
		if (PQtransactionStatus(c->pg) != PQTRANS_IDLE || (p.fd >= 0 && poll(&p, 1, 0) <= 0))
			return 0;
	}
	redstore__pg_drop(c);
	snprintf(options, sizeof(options), "-c statement_timeout=%lld",
	         (long long)c->set.database_command_timeout_ms);
	vals[0] = c->set.database_url;
	vals[1] = options;
	vals[2] = "redstore";
	vals[3] = NULL;
	c->pg = PQconnectStartParams(kw, vals, 1);
	if (!c->pg)
		return redstore__fail(REDSTORE_ENOMEM, "postgres: out of memory");
	if (PQstatus(c->pg) == CONNECTION_BAD)
		goto failed;
	for (;;) {
		int ready;
		if (st == PGRES_POLLING_OK)
			break;
		if (st == PGRES_POLLING_FAILED)
			goto failed;
		ready = wait_socket(PQsocket(c->pg), st == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline);
		if (ready == 0) {
			where(at, sizeof(at), c->pg);
			redstore__pg_drop(c);
			return redstore__fail(REDSTORE_ECONNECT, "postgres %s: cannot connect: no answer within %lld ms", at,
			                      (long long)timeout_ms);
		}
		if (ready < 0)
			goto failed;
		st = PQconnectPoll(c->pg);
	}
	PQsetNoticeProcessor(c->pg, ignore_notice, NULL);
	/* A client with an attached session works as redstore_store in its store (row-level security). */
	return c->pg_scope[0] ? apply_scope(c) : 0;
failed:
	where(at, sizeof(at), c->pg);
	first_line(msg, sizeof(msg), PQerrorMessage(c->pg));
	redstore__pg_drop(c);
	return redstore__fail(REDSTORE_ECONNECT, "postgres %s: cannot connect: %s", at, msg);
}

/* Maps a failed result to a redstore code by SQLSTATE. */
static int result_error(redstore_client *c, PGresult *res)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
	char msg[256];
	int code = REDSTORE_EDB;

	first_line(msg, sizeof(msg), PQresultErrorMessage(res));
	if (state) {
		if (!strcmp(state, "23505"))
			code = REDSTORE_EEXISTS;
		else if (!strcmp(state, "57014"))
			code = REDSTORE_ETIMEOUT;
		else if (!strcmp(state, "40001") || !strcmp(state, "40P01") || !strcmp(state, "55P03"))
			code = REDSTORE_EUNAVAILABLE;
		else if (!strncmp(state, "08", 2) || !strcmp(state, "57P01") || !strcmp(state, "57P02") ||
		         !strcmp(state, "57P03"))
			code = REDSTORE_ECONNECT;
		else if (!strcmp(state, "42501"))
			code = REDSTORE_EPERM;
	}
	if (PQstatus(c->pg) != CONNECTION_OK) {
		code = REDSTORE_ECONNECT;
		redstore__pg_drop(c);
	}
	return redstore__fail(code, "postgres: %s%s%s", msg, detail ? " " : "", detail ? detail : "");
}

/* Runs one statement (or, when multi, a script); a COPY ... FROM STDIN statement is fed `copy` (len bytes). */
static int run(PGresult **out, redstore_client *c, const char *sql, int nparams, const char *const *params,
               bool multi, const char *copy, size_t copy_len)
{
	int64_t deadline;
	PGresult *res, *keep = NULL, *err = NULL;
	int rc, sent;
	char at[300];

	if (out)
		*out = NULL;
	if ((rc = redstore__pg_connect(c)))
		return rc;
	sent = multi ? PQsendQuery(c->pg, sql) : PQsendQueryParams(c->pg, sql, nparams, NULL, params, NULL, NULL, 0);
	if (!sent) {
		char msg[256];
		where(at, sizeof(at), c->pg);
		first_line(msg, sizeof(msg), PQerrorMessage(c->pg));
		redstore__pg_drop(c);
		return redstore__fail(REDSTORE_ECONNECT, "postgres %s: connection lost: %s", at, msg);
	}
	/* The server enforces statement_timeout; the client deadline catches a server that stopped answering. */
	deadline = redstore__now_us() +
	           (c->set.database_command_timeout_ms + 2000) * 1000;
	for (;;) {
		while (PQisBusy(c->pg)) {
			int ready = wait_socket(PQsocket(c->pg), POLLIN, deadline);
			if (ready <= 0 || !PQconsumeInput(c->pg)) {
				int code = ready == 0 ? REDSTORE_ETIMEOUT : REDSTORE_ECONNECT;
				char msg[256];
				where(at, sizeof(at), c->pg);
				first_line(msg, sizeof(msg), ready == 0 ? "no answer" : PQerrorMessage(c->pg));
				PQclear(keep);
				PQclear(err);
				redstore__pg_drop(c);
				return redstore__fail(code, "postgres %s: %s", at, msg);
			}
		}
		if (!(res = PQgetResult(c->pg)))
			break;
		switch (PQresultStatus(res)) {
		case PGRES_COMMAND_OK:
		case PGRES_TUPLES_OK:
		case PGRES_EMPTY_QUERY:
			PQclear(keep);
			keep = res;
			break;
		case PGRES_COPY_IN:
			/* Blocking sends: the server reads as fast as it parses, and statement_timeout still applies. */
			PQclear(res);
			if (PQputCopyData(c->pg, copy ? copy : "", (int)(copy ? copy_len : 0)) != 1 ||
			    PQputCopyEnd(c->pg, copy ? NULL : "no data was given for COPY") != 1) {
				char msg[256];
				where(at, sizeof(at), c->pg);
				first_line(msg, sizeof(msg), PQerrorMessage(c->pg));
				PQclear(keep);
				PQclear(err);
				redstore__pg_drop(c);
				return redstore__fail(REDSTORE_ECONNECT, "postgres %s: COPY: %s", at, msg);
			}
			break;
		default:
			if (!err)
				err = res;
			else
				PQclear(res);
			break;
		}
	}
	if (err) {
		rc = result_error(c, err);
		PQclear(err);
		PQclear(keep);
		return rc;
	}
	if (out)
		*out = keep;
	else
		PQclear(keep);
	return 0;
}

int redstore__pg_exec(PGresult **out, redstore_client *c, const char *sql, int nparams, const char *const *params)
{
	return run(out, c, sql, nparams, params, false, NULL, 0);
}

int redstore__pg_copy_in(redstore_client *c, const char *sql, const char *data, size_t len)
{
	if (len > INT32_MAX)
		return redstore__fail(REDSTORE_ELIMIT, "postgres: COPY of %zu bytes (at most 2 GiB at once)", len);
	return run(NULL, c, sql, 0, NULL, true, data, len); /* the simple protocol: COPY needs no parameters */
}

int redstore__pg_script(redstore_client *c, const char *sql)
{
	return run(NULL, c, sql, 0, NULL, true, NULL, 0);
}

char *redstore__pg_text_array(const char *const *items, size_t n)
{
	size_t cap = 3, len = 0;
	char *out;

	for (size_t i = 0; i < n; i++) {
		cap += 5; /* quotes, comma, or NULL */
		for (const char *s = items[i]; s && *s; s++)
			cap += (*s == '"' || *s == '\\') ? 2 : 1;
	}
	if (!(out = malloc(cap))) {
		redstore__fail(REDSTORE_ENOMEM, "postgres: out of memory building an array");
		return NULL;
	}
	out[len++] = '{';
	for (size_t i = 0; i < n; i++) {
		if (i)
			out[len++] = ',';
		if (!items[i]) {
			memcpy(out + len, "NULL", 4);
			len += 4;
			continue;
		}
		out[len++] = '"';
		for (const char *s = items[i]; *s; s++) {
			if (*s == '"' || *s == '\\')
				out[len++] = '\\';
			out[len++] = *s;
		}
		out[len++] = '"';
	}
	out[len++] = '}';
	out[len] = '\0';
	return out;
}

void redstore__pg_rollback(redstore_client *c)
{
	char saved[512];
	int code = redstore_error_last_code();
	snprintf(saved, sizeof(saved), "%s", redstore_error_last());
	if (c->pg && PQtransactionStatus(c->pg) != PQTRANS_IDLE)
		redstore__pg_exec(NULL, c, "ROLLBACK", 0, NULL);
	redstore__fail(code, "%s", saved);
}
