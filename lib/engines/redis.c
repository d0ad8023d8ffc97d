/* The client's Redis connection: lazy connect with timeouts, commands, pipelines, embedded Lua scripts. */
#include "engines/engines_int.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <sys/time.h>

static struct timeval ms_to_tv(int64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };
	return tv;
}

void redstore__redis_drop(redstore_client *c)
{
	if (c->redis) {
		redisFree(c->redis);
		c->redis = NULL;
	}
}

static bool is_timeout(const redisContext *ctx)
{
	return ctx->err == REDIS_ERR_IO &&
	       (strstr(ctx->errstr, "temporarily unavailable") || strstr(ctx->errstr, "timed out") ||
	        strstr(ctx->errstr, "would block"));
}

/* "host:port" or the socket path of the configured server; never the password. */
static void server_name(char *buf, size_t cap, const redstore_client *c)
{
	const redstore__redis_url *u = &c->set.redis;
	if (u->path[0])
		snprintf(buf, cap, "%.200s", u->path);
	else
		snprintf(buf, cap, "%.200s:%d", u->host, u->port);
}

int redstore__redis_io_error(redstore_client *c, const char *what)
{
	int code = REDSTORE_ECONNECT;
	char msg[256], where[300];

	if (c->redis) {
		if (is_timeout(c->redis))
			code = REDSTORE_ETIMEOUT;
		snprintf(msg, sizeof(msg), "%s", c->redis->errstr[0] ? c->redis->errstr : "connection lost");
	} else {
		snprintf(msg, sizeof(msg), "no connection");
	}
	redstore__redis_drop(c);
	server_name(where, sizeof(where), c);
	return redstore__fail(code, "redis %s: %s: %s", where, what, code == REDSTORE_ETIMEOUT ? "timed out" : msg);
}

/* An idle connection has nothing to read: if its socket is readable the server closed it (a restart, a
 * timeout) or broke the protocol. Dropping it before a command is sent costs nothing and is always safe;
 * finding out after sending would make the command's outcome unknown. Only when nothing is buffered:
 * a pipeline being built (MULTI ... EXEC among others) must fail whole, never lose its first commands. */
static void drop_if_closed(redstore_client *c)
{
	struct pollfd p;
	if (!c->redis || c->redis->fd < 0 || (c->redis->obuf && sdslen(c->redis->obuf) > 0))
		return;
	p.fd = c->redis->fd;
	p.events = POLLIN;
	p.revents = 0;
	if (poll(&p, 1, 0) > 0)
		redstore__redis_drop(c);
}

int redstore__redis_connect(redstore_client *c)
{
	redstore__redis_url u;
	struct timeval ctv, rtv;
	redisReply *r;

	drop_if_closed(c);
	if (c->redis)
		return 0;
	u = c->set.redis;
	ctv = ms_to_tv(c->set.redis_connect_timeout_ms);
	rtv = ms_to_tv(c->set.redis_command_timeout_ms);
	c->redis = u.path[0] ? redisConnectUnixWithTimeout(u.path, ctv) : redisConnectWithTimeout(u.host, u.port, ctv);
	if (!c->redis)
		return redstore__fail(REDSTORE_ENOMEM, "redis: out of memory");
	if (c->redis->err) {
		char where[300];
		int rc;
		server_name(where, sizeof(where), c);
		rc = redstore__fail(REDSTORE_ECONNECT, "redis %s: cannot connect: %s", where, c->redis->errstr);
		redstore__redis_drop(c);
		return rc;
	}
	if (redisSetTimeout(c->redis, rtv) != REDIS_OK)
		return redstore__redis_io_error(c, "setting the command timeout");
	redisEnableKeepAlive(c->redis);
	if (u.password[0] || u.user[0]) {
		r = u.user[0] && u.password[0] ? redisCommand(c->redis, "AUTH %s %s", u.user, u.password)
		                               : redisCommand(c->redis, "AUTH %s", u.password[0] ? u.password : u.user);
		if (!r)
			return redstore__redis_io_error(c, "AUTH");
		if (r->type == REDIS_REPLY_ERROR) {
			int rc = redstore__fail(REDSTORE_EAUTH, "redis: AUTH refused for user \"%s\": %s",
			                        u.user[0] ? u.user : "default", r->str);
			freeReplyObject(r);
			redstore__redis_drop(c);
			return rc;
		}
		freeReplyObject(r);
	}
	if (u.db) {
		r = redisCommand(c->redis, "SELECT %d", u.db);
		if (!r)
			return redstore__redis_io_error(c, "SELECT");
		if (r->type == REDIS_REPLY_ERROR) {
			int rc = redstore__fail(REDSTORE_EREDIS, "redis: SELECT %d refused: %s", u.db, r->str);
			freeReplyObject(r);
			redstore__redis_drop(c);
			return rc;
		}
		freeReplyObject(r);
	}
	c->redis_epoch++;
	return 0;
}

static int check_reply(redisReply **out, redstore_client *c, redisReply *r, const char *what)
{
	if (out)
		*out = NULL;
	if (!r)
		return redstore__redis_io_error(c, what);
	if (r->type == REDIS_REPLY_ERROR) {
		int rc = redstore__fail(REDSTORE_EREDIS, "redis %s: %s", what, r->str);
		freeReplyObject(r);
		return rc;
	}
	if (out)
		*out = r;
	else
		freeReplyObject(r);
	return 0;
}

int redstore__redis_cmd(redisReply **out, redstore_client *c, const char *fmt, ...)
{
	va_list ap;
	redisReply *r;
	char what[32];
	int rc;

	if (out)
		*out = NULL;
	if ((rc = redstore__redis_connect(c)))
		return rc;
	va_start(ap, fmt);
	r = redisvCommand(c->redis, fmt, ap);
	va_end(ap);
	snprintf(what, sizeof(what), "%.*s", (int)strcspn(fmt, " "), fmt);
	return check_reply(out, c, r, what);
}

int redstore__redis_argv(redisReply **out, redstore_client *c, int argc, const char **argv, const size_t *lens)
{
	char what[32];
	int rc;

	if (out)
		*out = NULL;
	if ((rc = redstore__redis_connect(c)))
		return rc;
	snprintf(what, sizeof(what), "%.*s", (int)(lens ? lens[0] : strlen(argv[0])), argv[0]);
	return check_reply(out, c, redisCommandArgv(c->redis, argc, argv, lens), what);
}

int redstore__redis_append_argv(redstore_client *c, int argc, const char **argv, const size_t *lens)
{
	int rc;
	if ((rc = redstore__redis_connect(c)))
		return rc;
	if (redisAppendCommandArgv(c->redis, argc, argv, lens) != REDIS_OK)
		return redstore__fail(REDSTORE_ENOMEM, "redis: out of memory building a pipeline");
	return 0;
}

int redstore__redis_read(redisReply **out, redstore_client *c)
{
	void *r = NULL;
	*out = NULL;
	if (!c->redis)
		return redstore__fail(REDSTORE_ECONNECT, "redis: connection lost during a pipeline");
	if (redisGetReply(c->redis, &r) != REDIS_OK)
		return redstore__redis_io_error(c, "pipeline");
	*out = r;
	return 0;
}

static int script_index(const char *name)
{
	for (int i = 0; i < redstore__lua_script_count; i++)
		if (strcmp(redstore__lua_scripts[i].name, name) == 0)
			return i;
	return -1;
}

static int script_load(redstore_client *c, int idx)
{
	redisReply *r;
	int rc = redstore__redis_cmd(&r, c, "SCRIPT LOAD %s", redstore__lua_scripts[idx].text);
	if (rc)
		return redstore__fail_wrap(rc, "loading Lua script %s", redstore__lua_scripts[idx].name);
	if (r->type != REDIS_REPLY_STRING || r->len != 40) {
		freeReplyObject(r);
		return redstore__fail(REDSTORE_EREDIS, "redis: SCRIPT LOAD %s gave no SHA1", redstore__lua_scripts[idx].name);
	}
	memcpy(c->script_sha[idx], r->str, 41);
	freeReplyObject(r);
	return 0;
}

#define SCRIPT_MAX_ARGS 8192

/* EVALSHA's argument vector: "EVALSHA", sha, nkeys, then the caller's arguments. */
typedef struct script_call {
	const char **av;
	size_t *al;
	char nk[16];
} script_call;

static int script_call_init(script_call *sc, const char *sha, int nkeys, int argc, const char **argv,
                            const size_t *lens)
{
	sc->av = malloc((size_t)(argc + 3) * sizeof(*sc->av));
	sc->al = malloc((size_t)(argc + 3) * sizeof(*sc->al));
	if (!sc->av || !sc->al) {
		free(sc->av);
		free(sc->al);
		return redstore__fail(REDSTORE_ENOMEM, "redis: out of memory");
	}
	snprintf(sc->nk, sizeof(sc->nk), "%d", nkeys);
	sc->av[0] = "EVALSHA";
	sc->al[0] = 7;
	sc->av[1] = sha;
	sc->al[1] = 40;
	sc->av[2] = sc->nk;
	sc->al[2] = strlen(sc->nk);
	for (int i = 0; i < argc; i++) {
		sc->av[i + 3] = argv[i];
		sc->al[i + 3] = lens ? lens[i] : strlen(argv[i]);
	}
	return 0;
}

static void script_call_free(script_call *sc)
{
	free(sc->av);
	free(sc->al);
}

int redstore__redis_script(redisReply **out, redstore_client *c, const char *name, int nkeys, int argc,
                           const char **argv, const size_t *lens)
{
	script_call sc;
	int idx = script_index(name), rc;

	if (out)
		*out = NULL;
	if (idx < 0)
		return redstore__fail(REDSTORE_ERROR, "redis: no embedded Lua script named %s", name);
	if (argc > SCRIPT_MAX_ARGS)
		return redstore__fail(REDSTORE_ELIMIT, "redis: script %s called with %d arguments (max %d)", name, argc,
		                      SCRIPT_MAX_ARGS);
	if (!c->script_sha[idx][0] && (rc = script_load(c, idx)))
		return rc;
	/* av[1] points at the cached SHA, which a reload rewrites in place. */
	if ((rc = script_call_init(&sc, c->script_sha[idx], nkeys, argc, argv, lens)))
		return rc;
	rc = REDSTORE_EREDIS;
	for (int attempt = 0; attempt < 2; attempt++) {
		redisReply *r;
		if ((rc = redstore__redis_connect(c)))
			break;
		r = redisCommandArgv(c->redis, argc + 3, sc.av, sc.al);
		if (!r) {
			rc = redstore__redis_io_error(c, name);
			break;
		}
		if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0) {
			freeReplyObject(r);
			if (attempt == 1) {
				rc = redstore__fail(REDSTORE_EREDIS, "redis: script %s is not loaded even after SCRIPT LOAD", name);
				break;
			}
			if ((rc = script_load(c, idx)))
				break;
			continue;
		}
		rc = check_reply(out, c, r, name);
		break;
	}
	script_call_free(&sc);
	return rc;
}

int redstore__redis_script_append(redstore_client *c, const char *name, int nkeys, int argc, const char **argv,
                                  const size_t *lens)
{
	script_call sc;
	int idx = script_index(name), rc;

	if (idx < 0)
		return redstore__fail(REDSTORE_ERROR, "redis: no embedded Lua script named %s", name);
	if (argc > SCRIPT_MAX_ARGS)
		return redstore__fail(REDSTORE_ELIMIT, "redis: script %s called with %d arguments (max %d)", name, argc,
		                      SCRIPT_MAX_ARGS);
	if (!c->script_sha[idx][0] && (rc = script_load(c, idx)))
		return rc;
	if ((rc = script_call_init(&sc, c->script_sha[idx], nkeys, argc, argv, lens)))
		return rc;
	rc = redstore__redis_append_argv(c, argc + 3, sc.av, sc.al);
	script_call_free(&sc);
	return rc;
}
