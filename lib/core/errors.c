/* Error names, retriability and the thread-local last-error message. */
#include "core/core_int.h"

#include <stdio.h>

#define REDSTORE_ERRMSG_MAX 512

static _Thread_local char last_message[REDSTORE_ERRMSG_MAX];
static _Thread_local int last_code;

static const struct {
	int code;
	const char *name;
	int retriable;
} error_table[] = {
	{ REDSTORE_OK, "REDSTORE_OK", 0 },
	{ REDSTORE_ERROR, "REDSTORE_ERROR", 0 },
	{ REDSTORE_EINVALID, "REDSTORE_EINVALID", 0 },
	{ REDSTORE_EUNKNOWN_KEY, "REDSTORE_EUNKNOWN_KEY", 0 },
	{ REDSTORE_ENOMEM, "REDSTORE_ENOMEM", 0 },
	{ REDSTORE_ECONNECT, "REDSTORE_ECONNECT", 1 },
	{ REDSTORE_ETIMEOUT, "REDSTORE_ETIMEOUT", 1 },
	{ REDSTORE_EREDIS, "REDSTORE_EREDIS", 0 },
	{ REDSTORE_EDB, "REDSTORE_EDB", 0 },
	{ REDSTORE_EKAFKA, "REDSTORE_EKAFKA", 0 },
	{ REDSTORE_ENOTFOUND, "REDSTORE_ENOTFOUND", 0 },
	{ REDSTORE_EEXISTS, "REDSTORE_EEXISTS", 0 },
	{ REDSTORE_EOUT_OF_STOCK, "REDSTORE_EOUT_OF_STOCK", 0 },
	{ REDSTORE_ECONFLICT, "REDSTORE_ECONFLICT", 0 },
	{ REDSTORE_EUNAVAILABLE, "REDSTORE_EUNAVAILABLE", 1 },
	{ REDSTORE_EIO, "REDSTORE_EIO", 0 },
	{ REDSTORE_EPERM, "REDSTORE_EPERM", 0 },
	{ REDSTORE_EAUTH, "REDSTORE_EAUTH", 0 },
	{ REDSTORE_ELOCKED, "REDSTORE_ELOCKED", 1 },
	{ REDSTORE_ELIMIT, "REDSTORE_ELIMIT", 0 },
	{ REDSTORE_EINACTIVE, "REDSTORE_EINACTIVE", 0 },
	{ REDSTORE_ESCHEMA, "REDSTORE_ESCHEMA", 0 },
	{ REDSTORE_EDECODE, "REDSTORE_EDECODE", 0 },
};

const char *redstore_err_name(int code)
{
	for (size_t i = 0; i < REDSTORE_ARRAY_SIZE(error_table); i++)
		if (error_table[i].code == code)
			return error_table[i].name;
	return "REDSTORE_UNKNOWN_ERROR";
}

int redstore_err_is_retriable(int code)
{
	for (size_t i = 0; i < REDSTORE_ARRAY_SIZE(error_table); i++)
		if (error_table[i].code == code)
			return error_table[i].retriable;
	return 0;
}

const char *redstore_error_last(void)
{
	return last_message;
}

int redstore_error_last_code(void)
{
	return last_code;
}

void redstore_error_clear(void)
{
	last_message[0] = '\0';
	last_code = 0;
}

int redstore__failv(int code, const char *fmt, va_list ap)
{
	vsnprintf(last_message, sizeof(last_message), fmt, ap);
	last_code = code;
	return code;
}

int redstore__fail(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	redstore__failv(code, fmt, ap);
	va_end(ap);
	return code;
}

int redstore__fail_wrap(int code, const char *fmt, ...)
{
	char prev[REDSTORE_ERRMSG_MAX], prefix[REDSTORE_ERRMSG_MAX];
	va_list ap;

	memcpy(prev, last_message, sizeof(prev));
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	/* Truncation is fine: the message is for people and keeps its beginning. */
	if (snprintf(last_message, sizeof(last_message), prev[0] ? "%s: %s" : "%s", prefix, prev) < 0)
		last_message[0] = '\0';
	last_code = code;
	return code;
}
