/* The redstore-server program as a child process of a test (see server.h). */
#include "server.h"
#include "testutil.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>



static size_t discard(char *data, size_t size, size_t nmemb, void *userdata)
{
	(void)data;
	(void)userdata;
	return size * nmemb;
}

static long healthz(int port)
{
	CURL *h = curl_easy_init();
	char url[64];
	long st = 0;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/healthz", port);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 2000L);
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
	curl_easy_cleanup(h);
	return st;
}

void rs_test_program_start(rs_test_server *s, const char *bin, const char *const *args)
{
	char portfile[128];
	const char *argv[32];
	int n = 0;
	long long deadline;
	const char *name = strrchr(bin, '/') ? strrchr(bin, '/') + 1 : bin;
	snprintf(s->dir, sizeof(s->dir), "/tmp/rs-server-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(s->dir));
	snprintf(portfile, sizeof(portfile), "%s/port", s->dir);
	argv[n++] = bin;
	for (; args && *args && n < 29; args++)
		argv[n++] = *args;
	argv[n++] = "--port-file";
	argv[n++] = portfile;
	argv[n] = NULL;
	s->pid = fork();
	ck_assert_int_ge(s->pid, 0);
	if (s->pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		if (fd >= 0)
			dup2(fd, 1);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	s->port = 0;
	deadline = rs_test_now_ms() + 15000;
	while (rs_test_now_ms() < deadline && !s->port) {
		FILE *f = fopen(portfile, "r");
		int status;
		if (f) {
			if (fscanf(f, "%d", &s->port) != 1)
				s->port = 0;
			fclose(f);
		}
		ck_assert_msg(waitpid(s->pid, &status, WNOHANG) == 0, "%s exited at start (%d)", name, status);
		if (!s->port)
			rs_test_pause_ms(5);
	}
	ck_assert_msg(s->port > 0, "%s wrote no port within 15 s", name);
	/* ready when /healthz says so (the server: its sync hub holds the Redis subscription) */
	while (healthz(s->port) != 200) {
		ck_assert_msg(rs_test_now_ms() < deadline, "%s not healthy within 15 s", name);
		rs_test_pause_ms(5);
	}
}

void rs_test_server_start(rs_test_server *s, const char *const *extra)
{
	const char *argv[24];
	int n = 0, has_port = 0;
	for (const char *const *e = extra; e && *e; e++)
		has_port |= !strcmp(*e, "--port");
	if (!has_port) {
		argv[n++] = "--port";
		argv[n++] = "0";
	}
	argv[n++] = "--heartbeat-ms";
	argv[n++] = "300";
	for (; extra && *extra && n < 23; extra++)
		argv[n++] = *extra;
	argv[n] = NULL;
	rs_test_program_start(s, rs_test_env("REDSTORE_SERVER_BIN"), argv);
}

void rs_test_server_stop(rs_test_server *s)
{
	char path[128];
	int status = 0;
	long long deadline = rs_test_now_ms() + 10000;
	pid_t r = 0;
	kill(s->pid, SIGTERM);
	while (rs_test_now_ms() < deadline && (r = waitpid(s->pid, &status, WNOHANG)) == 0)
		rs_test_pause_ms(5);
	if (r == 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, &status, 0);
		ck_abort_msg("the program did not stop within 10 s of SIGTERM");
	}
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the program's exit status %d", status);
	snprintf(path, sizeof(path), "%s/port", s->dir);
	unlink(path);
	rmdir(s->dir);
}

int rs_test_server_main(Suite *suite, const char *auth_secret)
{
	int rc;
	setenv("REDSTORE_AUTH_SECRET", auth_secret, 1);
	setenv("REDSTORE_AUTH_PIN_OPSLIMIT", "1", 1);
	setenv("REDSTORE_AUTH_PIN_MEMLIMIT_KIB", "8", 1);
	curl_global_init(CURL_GLOBAL_ALL);
	rc = rs_test_run(suite);
	curl_global_cleanup();
	return rc;
}

int64_t rs_json_num(const cJSON *o, const char *name)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, name);
	ck_assert_msg(cJSON_IsNumber(x), "no number \"%s\"", name);
	return (int64_t)x->valuedouble;
}

const char *rs_json_str(const cJSON *o, const char *name)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, name);
	ck_assert_msg(cJSON_IsString(x), "no string \"%s\"", name);
	return x->valuestring;
}

int rs_json_bool(const cJSON *o, const char *name)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, name);
	ck_assert_msg(cJSON_IsBool(x), "no boolean \"%s\"", name);
	return cJSON_IsTrue(x);
}

void rs_test_login_ttl(const char *store, const char *device, const char *employee, const char *pin, int ttl_s,
                       char *out)
{
	redstore_config *cfg = rs_test_config();
	redstore_client *c;
	char ttl[16], *token;
	snprintf(ttl, sizeof(ttl), "%d", ttl_s);
	RS_OK(redstore_config_set(cfg, "auth.session_ttl_s", ttl));
	RS_OK(redstore_client_new(&c, cfg));
	redstore_config_free(cfg);
	RS_OK(redstore_client_use_store(c, store));
	RS_OK(redstore_auth_login(&token, c, device, employee, pin));
	snprintf(out, 1024, "%s", token);
	redstore_free(token);
	redstore_client_free(c);
}
