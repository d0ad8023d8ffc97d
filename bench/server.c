/* The redstore-server under benchmark (see server.h). */
#include "server.h"
#include "common.h"
#include "http.h"

#include <cjson/cJSON.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SECRET "bench-server-secret-0123456789-abcdefghijkl"

void bench_server_env(void)
{
	setenv("REDSTORE_AUTH_SECRET", SECRET, 0);
	setenv("REDSTORE_AUTH_PIN_OPSLIMIT", "1", 0);
	setenv("REDSTORE_AUTH_PIN_MEMLIMIT_KIB", "8", 0);
}

long bench_server_http(bench_server *s, const char *method, const char *path, const char *body, char **out)
{
	return rs_http(s->port, s->token, method, path, NULL, body, 0, out, NULL);
}

static void json_str(const char *json, const char *name, char *out, size_t cap)
{
	cJSON *root = cJSON_Parse(json ? json : "");
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(root, name);
	if (!cJSON_IsString(x)) {
		fprintf(stderr, "bench: no %s in %s\n", name, json ? json : "(nothing)");
		exit(1);
	}
	snprintf(out, cap, "%s", x->valuestring);
	cJSON_Delete(root);
}

void bench_server_start(bench_server *s, const char *bin, const char *threads, const char *extra1,
                        const char *extra2)
{
	char portfile[] = "/tmp/bench-server-port-XXXXXX";
	int fd = mkstemp(portfile);
	int64_t deadline = bench_now_us() + 15000000;
	if (fd < 0) {
		perror("mkstemp");
		exit(1);
	}
	close(fd);
	unlink(portfile);
	s->port = 0;
	if ((s->pid = fork()) == 0) {
		execl(bin, bin, "--port", "0", "--port-file", portfile, "--threads", threads, extra1, extra2, (char *)NULL);
		_exit(127);
	}
	while (!s->port && bench_now_us() < deadline) {
		FILE *f = fopen(portfile, "r");
		if (f) {
			if (fscanf(f, "%d", &s->port) != 1)
				s->port = 0;
			fclose(f);
		}
		usleep(10000);
	}
	while (s->port && bench_server_http(s, "GET", "/healthz", NULL, NULL) != 200 && bench_now_us() < deadline)
		usleep(10000);
	unlink(portfile);
	if (!s->port) {
		fprintf(stderr, "bench: %s did not start\n", bin);
		exit(1);
	}
}

void bench_server_stop(bench_server *s)
{
	int status;
	kill(s->pid, SIGTERM);
	waitpid(s->pid, &status, 0);
}

long bench_server_rss_kib(const bench_server *s)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)s->pid);
	if (!(f = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			kib = strtol(line + 6, NULL, 10);
	fclose(f);
	return kib;
}

long bench_server_metric(bench_server *s, const char *name)
{
	char *m = NULL, *p, needle[128];
	long v = -1;
	bench_server_http(s, "GET", "/metrics", NULL, &m);
	snprintf(needle, sizeof(needle), "\n%s ", name);
	if (m && (p = strstr(m, needle)))
		v = strtol(p + strlen(needle), NULL, 10);
	free(m);
	return v;
}

redstore_client *bench_server_store(bench_server *s, const char *prefix)
{
	redstore_client *c;
	redstore_store_info info = { NULL, "Bench", "EUR", NULL, 1 };
	redstore_product p = { 0 };
	redstore_stock_line l = { "A", 100000000, 0 };
	redstore_stock_result *r;
	char code[REDSTORE_PAIRING_CODE_SIZE], body[512], device[REDSTORE_DEVICE_TOKEN_SIZE], *resp = NULL;
	snprintf(s->store, sizeof(s->store), "%s-%d-%lld", prefix, (int)getpid(), (long long)time(NULL));
	info.store_id = s->store;
	bench_check(redstore_client_new(&c, NULL), "client");
	bench_check(redstore_store_create(c, &info), "store");
	bench_check(redstore_client_use_store(c, s->store), "use_store");
	p.sku = "A";
	p.name = "Bench item";
	p.price = 100;
	p.active = 1;
	bench_check(redstore_product_create(c, &p), "product");
	bench_check(redstore_stock_receive(&r, c, NULL, NULL, 1, &l), "receive");
	redstore_stock_result_free(r);
	bench_check(redstore_auth_employee_add(c, "cash1", "Casey", REDSTORE_ROLE_CASHIER, "1111"), "employee");
	bench_check(redstore_auth_pairing_code_new(code, c, "bench"), "pairing code");
	snprintf(body, sizeof(body), "{\"code\":\"%s\"}", code);
	bench_server_http(s, "POST", "/v1/pair", body, &resp);
	json_str(resp, "device_token", device, sizeof(device));
	free(resp);
	snprintf(body, sizeof(body), "{\"device_token\":\"%s\",\"employee_id\":\"cash1\",\"pin\":\"1111\"}", device);
	bench_server_http(s, "POST", "/v1/sessions", body, &resp);
	json_str(resp, "session_token", s->token, sizeof(s->token));
	free(resp);
	return c;
}
