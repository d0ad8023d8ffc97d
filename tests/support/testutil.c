#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

const char *rs_test_env(const char *name)
{
	const char *v = getenv(name);
	ck_assert_msg(v && *v, "%s is not set: run the tests through scripts/test (it starts a dev stack)", name);
	return v;
}

redstore_config *rs_test_config(void)
{
	redstore_config *cfg;
	rs_test_env("REDSTORE_REDIS_URL");
	RS_OK(redstore_config_new(&cfg));
	RS_OK(redstore_config_load_env(cfg));
	return cfg;
}

redstore_client *rs_test_client(void)
{
	redstore_config *cfg = rs_test_config();
	redstore_client *c;
	RS_OK(redstore_client_new(&c, cfg));
	redstore_config_free(cfg);
	return c;
}

static int bound_socket(int *port)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

int rs_test_free_port(void)
{
	int port, fd = bound_socket(&port);
	close(fd);
	return port;
}

int rs_test_blackhole(int *port)
{
	int fd = bound_socket(port);
	ck_assert_int_eq(listen(fd, 64), 0);
	return fd;
}

const char *rs_test_unique(char *buf, size_t cap, const char *prefix)
{
	static unsigned counter;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(buf, cap, "%s-%d-%u-%lx", prefix, (int)getpid(), ++counter,
	         (unsigned long)(ts.tv_nsec ^ (ts.tv_sec << 20)) & 0xffffff);
	return buf;
}

const char *rs_test_db_url(char *buf, size_t cap, const char *base_url, const char *dbname)
{
	const char *slash = strrchr(base_url, '/');
	ck_assert_ptr_nonnull(slash);
	snprintf(buf, cap, "%.*s/%s", (int)(slash - base_url), base_url, dbname);
	return buf;
}

int rs_test_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

int64_t rs_test_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void rs_test_pause_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}
