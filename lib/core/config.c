/* Configuration objects: string-keyed properties validated by the table in config_props.h. */
#include "core/core_int.h"

#include <ctype.h>
#include <errno.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>

struct redstore_config {
	char *values[REDSTORE_CFG__COUNT];
	int64_t ints[REDSTORE_CFG__COUNT];
};

typedef int (*config_check)(const char *key, const char *value, const char *form);

static int check_none(const char *key, const char *value, const char *form);
static int check_store_id(const char *key, const char *value, const char *form);
static int check_redis_url(const char *key, const char *value, const char *form);
static int check_pg_url(const char *key, const char *value, const char *form);
static int check_brokers(const char *key, const char *value, const char *form);
static int check_topic_prefix(const char *key, const char *value, const char *form);
static int check_partition_map(const char *key, const char *value, const char *form);
static int check_client_id(const char *key, const char *value, const char *form);
static int check_auth_secret(const char *key, const char *value, const char *form);
static int check_listen_addr(const char *key, const char *value, const char *form);
static int check_http_url(const char *key, const char *value, const char *form);
static int check_token(const char *key, const char *value, const char *form);
static int check_file_path(const char *key, const char *value, const char *form);

static const struct config_entry {
	redstore_config_property prop;
	config_check check;
} properties[REDSTORE_CFG__COUNT] = {
#define REDSTORE_CONFIG_PROPERTY(ID, key, type, def, range, check, secret, doc) \
	{ { key, NULL, REDSTORE_CONFIG_##type, def, range, doc, secret }, check_##check },
#include "core/config_props.h"
#undef REDSTORE_CONFIG_PROPERTY
};

/* Environment variable names, derived once from the keys. */
static char env_names[REDSTORE_CFG__COUNT][80];
static redstore_config_property described[REDSTORE_CFG__COUNT];
static pthread_once_t env_once = PTHREAD_ONCE_INIT;

static void env_names_init(void)
{
	for (size_t i = 0; i < REDSTORE_CFG__COUNT; i++) {
		const char *k = properties[i].prop.key;
		size_t n = (size_t)snprintf(env_names[i], sizeof(env_names[i]), "REDSTORE_");
		for (; *k && n + 1 < sizeof(env_names[i]); k++)
			env_names[i][n++] = (*k == '.') ? '_' : (char)toupper((unsigned char)*k);
		env_names[i][n] = '\0';
		described[i] = properties[i].prop;
		described[i].env = env_names[i];
	}
}

static void ensure_env_names(void)
{
	pthread_once(&env_once, env_names_init);
}

static int find_key(const char *key)
{
	if (!key)
		return -1;
	for (int i = 0; i < REDSTORE_CFG__COUNT; i++)
		if (strcmp(properties[i].prop.key, key) == 0)
			return i;
	return -1;
}

/* ---------------------------------------------------------------- validators */

static bool is_secret(const char *key)
{
	for (int i = 0; i < REDSTORE_CFG__COUNT; i++)
		if (strcmp(properties[i].prop.key, key) == 0)
			return properties[i].prop.secret != 0;
	return false;
}

/* The value as it may appear in a message: secret keys (URLs with passwords) are never echoed. */
static const char *shown(const char *key, const char *value)
{
	return is_secret(key) ? "(secret value not shown)" : value;
}

static int bad(const char *key, const char *value, const char *form)
{
	return redstore__fail(REDSTORE_EINVALID, "config %s: invalid value \"%.80s\" (expected %s)", key,
	                      shown(key, value), form);
}

static int check_none(const char *key, const char *value, const char *form)
{
	return 0;
}

int redstore__check_store_id(const char *id, const char *what)
{
	size_t n = id ? strlen(id) : 0;
	if (n < 1 || n > 64)
		return redstore__fail(REDSTORE_EINVALID, "%s: store id must be 1-64 characters of [A-Za-z0-9_-]", what);
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)id[i]) && id[i] != '_' && id[i] != '-')
			return redstore__fail(REDSTORE_EINVALID, "%s: store id \"%.64s\" may only hold [A-Za-z0-9_-]",
			                      what, id);
	return 0;
}

static int check_store_id(const char *key, const char *value, const char *form)
{
	if (!*value)
		return 0;
	return redstore__check_store_id(value, key) ? bad(key, value, form) : 0;
}

static int parse_port(const char *s, size_t n, int *out)
{
	int port = 0;
	if (n == 0 || n > 5)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		port = port * 10 + (s[i] - '0');
	}
	if (port < 1 || port > 65535)
		return -1;
	*out = port;
	return 0;
}

static int copy_part(char *dst, size_t cap, const char *src, size_t n)
{
	if (n >= cap)
		return -1;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return 0;
}

static int parse_db(const char *s, int *out)
{
	char *end;
	long v;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < 0 || v > 15)
		return -1;
	*out = (int)v;
	return 0;
}

int redstore__redis_url_parse(redstore__redis_url *out, const char *url)
{
	const char *p, *at, *slash, *colon, *hostend;

	memset(out, 0, sizeof(*out));
	out->port = 6379;
	if (strncmp(url, "unix://", 7) == 0) {
		const char *q = strchr(url + 7, '?');
		size_t n = q ? (size_t)(q - (url + 7)) : strlen(url + 7);
		if (n == 0 || url[7] != '/' || copy_part(out->path, sizeof(out->path), url + 7, n))
			return -1;
		if (q && (strncmp(q, "?db=", 4) != 0 || parse_db(q + 4, &out->db)))
			return -1;
		return 0;
	}
	if (strncmp(url, "redis://", 8) != 0)
		return -1;
	p = url + 8;
	slash = strchr(p, '/');
	at = memchr(p, '@', slash ? (size_t)(slash - p) : strlen(p));
	if (at) {
		colon = memchr(p, ':', (size_t)(at - p));
		if (colon) {
			if (copy_part(out->user, sizeof(out->user), p, (size_t)(colon - p)) ||
			    copy_part(out->password, sizeof(out->password), colon + 1, (size_t)(at - colon - 1)))
				return -1;
		} else if (copy_part(out->user, sizeof(out->user), p, (size_t)(at - p))) {
			return -1;
		}
		p = at + 1;
	}
	hostend = slash ? slash : p + strlen(p);
	colon = memchr(p, ':', (size_t)(hostend - p));
	if (colon) {
		if (parse_port(colon + 1, (size_t)(hostend - colon - 1), &out->port))
			return -1;
	} else {
		colon = hostend;
	}
	if (colon == p || copy_part(out->host, sizeof(out->host), p, (size_t)(colon - p)))
		return -1;
	if (slash && slash[1] && parse_db(slash + 1, &out->db))
		return -1;
	return 0;
}

static int check_redis_url(const char *key, const char *value, const char *form)
{
	redstore__redis_url u;
	return redstore__redis_url_parse(&u, value) ? bad(key, value, form) : 0;
}

static int check_pg_url(const char *key, const char *value, const char *form)
{
	char *err = NULL;
	PQconninfoOption *opts = PQconninfoParse(value, &err);
	if (!opts) {
		/* libpq quotes the input after the first '"'; keep only the reason, as the URI may hold a password. */
		int rc = redstore__fail(REDSTORE_EINVALID, "config %s: invalid connection string (%.*s): expected %s",
		                        key, err ? (int)strcspn(err, "\n\"") : 13, err ? err : "out of memory", form);
		PQfreemem(err);
		return rc;
	}
	PQconninfoFree(opts);
	return 0;
}

static int check_brokers(const char *key, const char *value, const char *form)
{
	const char *p = value;
	if (!*p)
		return 0;
	while (*p) {
		const char *end = strchr(p, ',');
		const char *colon;
		size_t n = end ? (size_t)(end - p) : strlen(p);
		int port;
		colon = NULL;
		for (size_t i = 0; i < n; i++)
			if (p[i] == ':')
				colon = p + i;
		if (!colon || colon == p || parse_port(colon + 1, (size_t)(p + n - colon - 1), &port))
			return bad(key, value, form);
		for (const char *c = p; c < colon; c++)
			if (!isalnum((unsigned char)*c) && *c != '.' && *c != '-' && *c != '_' && *c != '[' && *c != ']')
				return bad(key, value, form);
		p += n;
		if (*p == ',')
			p++;
		if (end && !*p)
			return bad(key, value, form);
	}
	return 0;
}

static int check_topic_prefix(const char *key, const char *value, const char *form)
{
	size_t n = strlen(value);
	if (n < 1 || n > 64)
		return bad(key, value, form);
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)value[i]) && !strchr("._-", value[i]))
			return bad(key, value, form);
	return 0;
}

static int check_partition_map(const char *key, const char *value, const char *form)
{
	const char *p = value;
	while (*p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		const char *eq = memchr(p, '=', n);
		char store[65];
		if (!eq || (size_t)(eq - p) > 64)
			return bad(key, value, form);
		memcpy(store, p, (size_t)(eq - p));
		store[eq - p] = '\0';
		if (redstore__check_store_id(store, key))
			return bad(key, value, form);
		if (eq + 1 == p + n)
			return bad(key, value, form);
		for (const char *d = eq + 1; d < p + n; d++)
			if (!isdigit((unsigned char)*d))
				return bad(key, value, form);
		if (p + n - eq - 1 > 5)
			return bad(key, value, form);
		p += n;
		if (*p == ',') {
			p++;
			if (!*p)
				return bad(key, value, form);
		}
	}
	return 0;
}

static int check_auth_secret(const char *key, const char *value, const char *form)
{
	size_t n = strlen(value);
	if (n == 0)
		return 0;
	if (n < 32 || n > 512)
		return bad(key, value, form);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)value[i] < 0x20 || (unsigned char)value[i] >= 0x7f)
			return bad(key, value, form);
	return 0;
}

static int check_client_id(const char *key, const char *value, const char *form)
{
	size_t n = strlen(value);
	if (n < 1 || n > 64)
		return bad(key, value, form);
	for (size_t i = 0; i < n; i++)
		if (!isprint((unsigned char)value[i]))
			return bad(key, value, form);
	return 0;
}

/* a.b.c.d:port, each part in range */
static int check_listen_addr(const char *key, const char *value, const char *form)
{
	const char *colon = strrchr(value, ':');
	unsigned a[4];
	int port, n = 0;
	if (!colon || sscanf(value, "%3u.%3u.%3u.%3u%n", &a[0], &a[1], &a[2], &a[3], &n) != 4 || value + n != colon ||
	    a[0] > 255 || a[1] > 255 || a[2] > 255 || a[3] > 255 || !colon[1] || strlen(colon + 1) > 5)
		return bad(key, value, form);
	for (const char *d = colon + 1; *d; d++)
		if (!isdigit((unsigned char)*d))
			return bad(key, value, form);
	port = atoi(colon + 1);
	return port > 65535 ? bad(key, value, form) : 0;
}

/* http:// or https://, then a host[:port] of [A-Za-z0-9.-] or [v6], nothing else but an optional "/" */
static int check_http_url(const char *key, const char *value, const char *form)
{
	const char *p;
	size_t n = strlen(value);
	if (n == 0)
		return 0;
	if (n > 400 || (strncmp(value, "http://", 7) && strncmp(value, "https://", 8)))
		return bad(key, value, form);
	p = strstr(value, "://") + 3;
	if (!*p || *p == ':' || *p == '/')
		return bad(key, value, form);
	for (; *p && *p != '/'; p++)
		if (!isalnum((unsigned char)*p) && !strchr(".-_:[]", *p))
			return bad(key, value, form);
	return *p && p[1] ? bad(key, value, form) : 0;
}

static int check_token(const char *key, const char *value, const char *form)
{
	size_t n = strlen(value);
	if (n > 2048)
		return bad(key, value, form);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)value[i] <= 0x20 || (unsigned char)value[i] >= 0x7f)
			return bad(key, value, form);
	return 0;
}

static int check_file_path(const char *key, const char *value, const char *form)
{
	size_t n = strlen(value);
	if (n == 0 || n > 4000)
		return bad(key, value, form);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)value[i] < 0x20)
			return bad(key, value, form);
	return 0;
}

/* Parses `value` for property i into its canonical string (*canon, allocated) and integer (*num). */
static int parse_value(int i, const char *value, char **canon, int64_t *num)
{
	const struct config_entry *e = &properties[i];
	const char *key = e->prop.key;
	int rc;

	*num = 0;
	switch (e->prop.type) {
	case REDSTORE_CONFIG_INT: {
		long long lo, hi, v;
		char *end;
		sscanf(e->prop.range, "%lld..%lld", &lo, &hi);
		errno = 0;
		v = strtoll(value, &end, 10);
		if (errno || end == value || *end || v < lo || v > hi)
			return redstore__fail(REDSTORE_EINVALID, "config %s: invalid value \"%.80s\" (expected an integer in %s)",
			                      key, shown(key, value), e->prop.range);
		*num = v;
		*canon = redstore__sprintf("%lld", v);
		break;
	}
	case REDSTORE_CONFIG_BOOL:
		if (!strcmp(value, "true") || !strcmp(value, "1") || !strcmp(value, "yes") || !strcmp(value, "on"))
			*num = 1;
		else if (!strcmp(value, "false") || !strcmp(value, "0") || !strcmp(value, "no") || !strcmp(value, "off"))
			*num = 0;
		else
			return redstore__fail(REDSTORE_EINVALID, "config %s: invalid value \"%.80s\" (expected true or false)",
			                      key, shown(key, value));
		*canon = redstore__strdup(*num ? "true" : "false");
		break;
	case REDSTORE_CONFIG_ENUM: {
		const char *r = e->prop.range;
		size_t n = strlen(value);
		int idx = 0, found = -1;
		while (*r) {
			const char *bar = strchr(r, '|');
			size_t len = bar ? (size_t)(bar - r) : strlen(r);
			if (len == n && n > 0 && strncmp(r, value, n) == 0)
				found = idx;
			r += len + (bar ? 1 : 0);
			idx++;
		}
		if (found < 0)
			return redstore__fail(REDSTORE_EINVALID, "config %s: invalid value \"%.80s\" (expected one of %s)",
			                      key, shown(key, value), e->prop.range);
		*num = found;
		*canon = redstore__strdup(value);
		break;
	}
	default:
		if ((rc = e->check(key, value, e->prop.range)))
			return rc;
		*canon = redstore__strdup(value);
		break;
	}
	return *canon ? 0 : redstore__fail(REDSTORE_ENOMEM, "config %s: out of memory", key);
}

static int set_index(redstore_config *cfg, int i, const char *value)
{
	char *canon = NULL;
	int64_t num;
	int rc = parse_value(i, value, &canon, &num);
	if (rc)
		return rc;
	free(cfg->values[i]);
	cfg->values[i] = canon;
	cfg->ints[i] = num;
	return 0;
}

int redstore_config_new(redstore_config **out)
{
	redstore_config *cfg;

	*out = NULL;
	ensure_env_names();
	if (!(cfg = calloc(1, sizeof(*cfg))))
		return redstore__fail(REDSTORE_ENOMEM, "config: out of memory");
	for (int i = 0; i < REDSTORE_CFG__COUNT; i++) {
		int rc = set_index(cfg, i, properties[i].prop.default_value);
		if (rc) {
			redstore_config_free(cfg);
			return rc;
		}
	}
	*out = cfg;
	return 0;
}

int redstore_config_load_env(redstore_config *cfg)
{
	ensure_env_names();
	for (int i = 0; i < REDSTORE_CFG__COUNT; i++) {
		const char *v = getenv(env_names[i]);
		int rc;
		if (!v)
			continue;
		if ((rc = set_index(cfg, i, v)))
			return redstore__fail_wrap(rc, "environment variable %s", env_names[i]);
	}
	return 0;
}

int redstore_config_set(redstore_config *cfg, const char *key, const char *value)
{
	int i = find_key(key);
	if (i < 0)
		return redstore__fail(REDSTORE_EUNKNOWN_KEY, "config: unknown key \"%.80s\"", key ? key : "(null)");
	if (!value)
		return redstore__fail(REDSTORE_EINVALID, "config %s: value is NULL (expected %s)", key,
		                      properties[i].prop.range);
	return set_index(cfg, i, value);
}

int redstore_config_get(const char **out, const redstore_config *cfg, const char *key)
{
	int i = find_key(key);
	*out = NULL;
	if (i < 0)
		return redstore__fail(REDSTORE_EUNKNOWN_KEY, "config: unknown key \"%.80s\"", key ? key : "(null)");
	*out = cfg->values[i];
	return 0;
}

int redstore_config_dup(redstore_config **out, const redstore_config *cfg)
{
	redstore_config *c;
	*out = NULL;
	if (!(c = calloc(1, sizeof(*c))))
		return redstore__fail(REDSTORE_ENOMEM, "config: out of memory");
	for (int i = 0; i < REDSTORE_CFG__COUNT; i++) {
		c->ints[i] = cfg->ints[i];
		if (!(c->values[i] = redstore__strdup(cfg->values[i]))) {
			redstore_config_free(c);
			return redstore__fail(REDSTORE_ENOMEM, "config: out of memory");
		}
	}
	*out = c;
	return 0;
}

void redstore_config_free(redstore_config *cfg)
{
	if (!cfg)
		return;
	for (int i = 0; i < REDSTORE_CFG__COUNT; i++)
		free(cfg->values[i]);
	free(cfg);
}

size_t redstore_config_property_count(void)
{
	return REDSTORE_CFG__COUNT;
}

const redstore_config_property *redstore_config_property_at(size_t index)
{
	ensure_env_names();
	return index < REDSTORE_CFG__COUNT ? &described[index] : NULL;
}

const char *redstore__config_str(const redstore_config *cfg, redstore__config_id id)
{
	return cfg->values[id];
}

int64_t redstore__config_int(const redstore_config *cfg, redstore__config_id id)
{
	return cfg->ints[id];
}

bool redstore__config_bool(const redstore_config *cfg, redstore__config_id id)
{
	return cfg->ints[id] != 0;
}

static const char *type_name(redstore_config_type t)
{
	switch (t) {
	case REDSTORE_CONFIG_INT: return "integer";
	case REDSTORE_CONFIG_BOOL: return "boolean";
	case REDSTORE_CONFIG_ENUM: return "enum";
	default: return "string";
	}
}

int redstore_config_describe(char **out)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	*out = NULL;
	if (!f)
		return redstore__fail(REDSTORE_ENOMEM, "config: out of memory");
	ensure_env_names();
	fprintf(f, "# Configuration reference\n\n"
	           "Generated from the property table in `lib/core/config_props.h` by `redstore-cli config-doc`;\n"
	           "a test fails when this file and the table disagree. Every key can also be set with the\n"
	           "environment variable shown (read by `redstore_config_load_env()` and by every tool).\n\n");
	for (int i = 0; i < REDSTORE_CFG__COUNT; i++) {
		const redstore_config_property *p = &described[i];
		fprintf(f, "## `%s`\n\n", p->key);
		fprintf(f, "- environment: `%s`\n", p->env);
		fprintf(f, "- type: %s\n", type_name(p->type));
		fprintf(f, "- default: `%s`\n", p->default_value[0] ? p->default_value : "(empty)");
		fprintf(f, "- accepted: %s\n", p->range);
		if (p->secret)
			fprintf(f, "- secret: never printed by the tools\n");
		fprintf(f, "\n%s\n\n", p->doc);
	}
	if (fclose(f) != 0 || !buf) {
		free(buf);
		return redstore__fail(REDSTORE_ENOMEM, "config: out of memory");
	}
	*out = buf;
	return 0;
}
