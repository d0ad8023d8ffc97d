/* The library reports the version its headers declare. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

START_TEST(version_matches_the_headers)
{
	int major = -1, minor = -1, patch = -1;
	char expect[32];
	const char *v = redstore_version(&major, &minor, &patch);
	ck_assert_str_eq(v, REDSTORE_VERSION_STRING);
	ck_assert_int_eq(major, REDSTORE_VERSION_MAJOR);
	ck_assert_int_eq(minor, REDSTORE_VERSION_MINOR);
	ck_assert_int_eq(patch, REDSTORE_VERSION_PATCH);
	snprintf(expect, sizeof(expect), "%d.%d.%d", major, minor, patch);
	ck_assert_str_eq(v, expect);
	ck_assert_int_eq(REDSTORE_VERSION_NUM, (major << 16) | (minor << 8) | patch);
	ck_assert_str_eq(redstore_version(NULL, NULL, NULL), v);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("version");
	TCase *tc = tcase_create("version");
	tcase_add_test(tc, version_matches_the_headers);
	suite_add_tcase(s, tc);
	return rs_test_run(s);
}
