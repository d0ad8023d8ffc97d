/* Replays every seed input and every saved crash input of the fuzz targets (tests/fuzz) in the normal
 * build, so a fixed crash stays fixed without clang; valgrind runs it too. */
#define RS_FUZZ_NO_MAIN
#include "fuzz/fuzz_catalog_csv.c"
#include "fuzz/fuzz_event_decode.c"
#include "fuzz/fuzz_sale_json.c"

#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

/* Feeds every file of dir to fn; returns how many. */
static int replay(const char *dir, int (*fn)(const uint8_t *, size_t))
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char path[1024];
		FILE *f;
		uint8_t *buf;
		long len;
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		ck_assert_ptr_nonnull(f = fopen(path, "rb"));
		fseek(f, 0, SEEK_END);
		len = ftell(f);
		fseek(f, 0, SEEK_SET);
		buf = malloc((size_t)len + 1);
		ck_assert_int_eq(fread(buf, 1, (size_t)len, f), (size_t)len);
		fclose(f);
		fn(buf, (size_t)len);
		free(buf);
		n++;
	}
	closedir(d);
	return n;
}

static void replay_target(const char *name, int (*fn)(const uint8_t *, size_t))
{
	char dir[512];
	int n;
	snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s", REDSTORE_SOURCE_DIR, name);
	n = replay(dir, fn);
	ck_assert_msg(n > 0, "no seed inputs in %s", dir);
	snprintf(dir, sizeof(dir), "%s/tests/fuzz/regressions/%s", REDSTORE_SOURCE_DIR, name);
	replay(dir, fn);
}

START_TEST(fuzz_event_decode_inputs_replay_cleanly)
{
	replay_target("event_decode", fuzz_event_decode);
}
END_TEST

START_TEST(fuzz_sale_json_inputs_replay_cleanly)
{
	replay_target("sale_json", fuzz_sale_json);
}
END_TEST

START_TEST(fuzz_catalog_csv_inputs_replay_cleanly)
{
	replay_target("catalog_csv", fuzz_catalog_csv);
}
END_TEST

START_TEST(sale_json_decoder_is_strict)
{
	static const char *const bad[] = {
		"", "[]", "{}", "{\"lines\":[]}", "{\"lines\":[{\"sku\":\"A\"}]}", "{\"lines\":[{\"sku\":\"A\",\"qty\":1.5}]}",
		"{\"lines\":[{\"sku\":\"A\",\"qty\":1,\"qty\":2}]}", "{\"lines\":[{\"sku\":\"A\",\"barcode\":\"1\",\"qty\":1}]}",
		"{\"lines\":[{\"sku\":\"A\",\"qty\":1}],\"extra\":1}", "{\"lines\":[{\"sku\":\"A\",\"qty\":1}]} x",
		"{\"lines\":[{\"sku\":\"A\",\"qty\":1e300}]}", "{\"lines\":[{\"sku\":\"A\",\"qty\":1}],\"sale_id\":\"nope\"}",
		"{\"lines\":[{\"sku\":\"A\",\"qty\":1}],\"tenders\":[{\"kind\":\"gold\",\"amount\":1}]}",
		"{\"lines\":[{\"sku\":\"A\",\"qty\":-1}]}", "{\"lines\":[{\"sku\":\"\",\"qty\":1}]}",
	};
	redstore_sale *s = NULL;
	const char *ok = "{\"sale_id\":\"0190a6f2-7c3e-7b1a-9f00-1234567890ab\",\"lines\":[{\"sku\":\"A\",\"qty\":2}],"
	                 "\"tenders\":[{\"kind\":\"card\",\"amount\":100,\"reference\":\"r\"}],\"note\":\"n\"} \n";
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = redstore_sale_from_json(&s, bad[i], strlen(bad[i]));
		ck_assert_msg(rc == REDSTORE_EDECODE, "accepted or wrong code %s for %s", redstore_err_name(rc), bad[i]);
		ck_assert_ptr_null(s);
	}
	RS_OK(redstore_sale_from_json(&s, ok, strlen(ok)));
	ck_assert_str_eq(redstore_sale_id(s), "0190a6f2-7c3e-7b1a-9f00-1234567890ab");
	redstore_sale_free(s);
	/* with the request's id (a REST server's Idempotency-Key): taken when the body names none, and a body
	 * that names another one is refused */
	{
		static const char *const id = "0190a6f2-7c3e-7b1a-9f00-1234567890ab";
		const char *anon = "{\"lines\":[{\"sku\":\"A\",\"qty\":1}]}";
		RS_OK(redstore_sale_from_request(&s, anon, strlen(anon), id));
		ck_assert_str_eq(redstore_sale_id(s), id);
		redstore_sale_free(s);
		RS_OK(redstore_sale_from_request(&s, ok, strlen(ok), id));
		ck_assert_str_eq(redstore_sale_id(s), id);
		redstore_sale_free(s);
		RS_FAILS(REDSTORE_EDECODE,
		         redstore_sale_from_request(&s, ok, strlen(ok), "0190a6f2-7c3e-7b1a-9f00-1234567890ac"));
		ck_assert_ptr_null(s);
		RS_FAILS(REDSTORE_EDECODE, redstore_sale_from_request(&s, anon, strlen(anon), "not-a-uuid"));
		ck_assert_ptr_null(s);
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			RS_FAILS(REDSTORE_EDECODE, redstore_sale_from_request(&s, bad[i], strlen(bad[i]), id));
	}
	{
		size_t big = 1024 * 1024 + 1;
		char *b = malloc(big);
		memset(b, ' ', big);
		RS_FAILS(REDSTORE_ELIMIT, redstore_sale_from_json(&s, b, big));
		free(b);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fuzz_regressions");
	TCase *tc = tcase_create("replay");
	tcase_add_test(tc, fuzz_event_decode_inputs_replay_cleanly);
	tcase_add_test(tc, fuzz_sale_json_inputs_replay_cleanly);
	tcase_add_test(tc, fuzz_catalog_csv_inputs_replay_cleanly);
	tcase_add_test(tc, sale_json_decoder_is_strict);
	suite_add_tcase(s, tc);
	return rs_test_run(s);
}
