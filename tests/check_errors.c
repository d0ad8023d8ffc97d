/* Error codes: names, retriability, the thread-local last-error message. */
#include "testutil.h"
#include "core/core_int.h"

#include <pthread.h>
#include <string.h>

START_TEST(err_every_code_has_a_unique_prefixed_name)
{
	const char *seen[64];
	int n = 0;
	for (int code = 0; code >= REDSTORE_EDECODE; code--) {
		const char *name = redstore_err_name(code);
		ck_assert_msg(strncmp(name, "REDSTORE_", 9) == 0, "code %d has name %s", code, name);
		ck_assert_msg(strcmp(name, "REDSTORE_UNKNOWN_ERROR") != 0, "code %d has no name", code);
		for (int i = 0; i < n; i++)
			ck_assert_msg(strcmp(seen[i], name) != 0, "name %s used twice", name);
		seen[n++] = name;
	}
	ck_assert_str_eq(redstore_err_name(REDSTORE_EOUT_OF_STOCK), "REDSTORE_EOUT_OF_STOCK");
	ck_assert_str_eq(redstore_err_name(-9999), "REDSTORE_UNKNOWN_ERROR");
	ck_assert_str_eq(redstore_err_name(5), "REDSTORE_UNKNOWN_ERROR");
}
END_TEST

START_TEST(err_codes_keep_their_numbers)
{
	/* Append-only: these numbers are ABI and must never change. */
	ck_assert_int_eq(REDSTORE_OK, 0);
	ck_assert_int_eq(REDSTORE_EINVALID, -2);
	ck_assert_int_eq(REDSTORE_EUNKNOWN_KEY, -3);
	ck_assert_int_eq(REDSTORE_ECONNECT, -5);
	ck_assert_int_eq(REDSTORE_ETIMEOUT, -6);
	ck_assert_int_eq(REDSTORE_EOUT_OF_STOCK, -12);
	ck_assert_int_eq(REDSTORE_EDECODE, -22);
}
END_TEST

START_TEST(err_only_transient_codes_are_retriable)
{
	ck_assert(redstore_err_is_retriable(REDSTORE_ECONNECT));
	ck_assert(redstore_err_is_retriable(REDSTORE_ETIMEOUT));
	ck_assert(redstore_err_is_retriable(REDSTORE_EUNAVAILABLE));
	ck_assert(redstore_err_is_retriable(REDSTORE_ELOCKED));
	ck_assert(!redstore_err_is_retriable(REDSTORE_OK));
	ck_assert(!redstore_err_is_retriable(REDSTORE_EINVALID));
	ck_assert(!redstore_err_is_retriable(REDSTORE_EOUT_OF_STOCK));
	ck_assert(!redstore_err_is_retriable(REDSTORE_EAUTH));
	ck_assert(!redstore_err_is_retriable(-9999));
}
END_TEST

static void *set_in_thread(void *arg)
{
	redstore__fail(REDSTORE_ENOTFOUND, "thread message %s", (const char *)arg);
	return strcmp(redstore_error_last(), "thread message other") == 0 ? arg : NULL;
}

START_TEST(err_last_message_is_thread_local)
{
	pthread_t t;
	void *res;
	redstore__fail(REDSTORE_EINVALID, "main message %d", 42);
	ck_assert_int_eq(pthread_create(&t, NULL, set_in_thread, "other"), 0);
	ck_assert_int_eq(pthread_join(t, &res), 0);
	ck_assert_ptr_nonnull(res);
	ck_assert_str_eq(redstore_error_last(), "main message 42");
	ck_assert_int_eq(redstore_error_last_code(), REDSTORE_EINVALID);
	redstore_error_clear();
	ck_assert_str_eq(redstore_error_last(), "");
	ck_assert_int_eq(redstore_error_last_code(), 0);
}
END_TEST

START_TEST(err_wrap_prefixes_context_and_truncates_safely)
{
	char big[2000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	redstore__fail(REDSTORE_EDB, "inner");
	redstore__fail_wrap(REDSTORE_EDB, "outer %s", "sku-1");
	ck_assert_str_eq(redstore_error_last(), "outer sku-1: inner");
	redstore__fail(REDSTORE_EDB, "%s", big);
	redstore__fail_wrap(REDSTORE_EDB, "%s", big);
	ck_assert_uint_lt(strlen(redstore_error_last()), 512);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("errors");
	TCase *tc = tcase_create("errors");
	tcase_add_test(tc, err_every_code_has_a_unique_prefixed_name);
	tcase_add_test(tc, err_codes_keep_their_numbers);
	tcase_add_test(tc, err_only_transient_codes_are_retriable);
	tcase_add_test(tc, err_last_message_is_thread_local);
	tcase_add_test(tc, err_wrap_prefixes_context_and_truncates_safely);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return rs_test_run(suite());
}
