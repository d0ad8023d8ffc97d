/* The redstore-server program as a child process of a test. */
#ifndef REDSTORE_TEST_SERVER_H
#define REDSTORE_TEST_SERVER_H

#include <check.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct rs_test_server {
	pid_t pid;
	int port;
	char dir[64];
} rs_test_server;

/* Starts $REDSTORE_SERVER_BIN on 127.0.0.1 (--port 0 unless `extra`, NULL-terminated, names one) with
 * --heartbeat-ms 300, waits for its port file and for /healthz to answer 200 (15 s at most). */
void rs_test_server_start(rs_test_server *s, const char *const *extra);

/* Starts the program `bin` with `args` (NULL-terminated) and "--port-file <dir>/port", waits for its port
 * file and for /healthz to answer 200 (15 s at most). */
void rs_test_program_start(rs_test_server *s, const char *bin, const char *const *args);

/* SIGTERM; it must exit 0 within 10 s. */
void rs_test_server_stop(rs_test_server *s);

/* The main() of a suite that runs the server: the session secret (shared by the server, a child, and
 * this process's clients) and cheap PIN hashing in the environment, libcurl set up, the suite run. */
int rs_test_server_main(Suite *suite, const char *auth_secret);

/* A session token (into out, 1024 bytes) of `employee` logged in in-process on the paired terminal
 * `device` of `store`, valid for ttl_s seconds (auth.session_ttl_s): short-lived sessions for expiry tests. */
void rs_test_login_ttl(const char *store, const char *device, const char *employee, const char *pin, int ttl_s,
                       char *out);

/* Members of a server's JSON answer: the test fails when `name` is missing or of another type. */
struct cJSON;
int64_t rs_json_num(const struct cJSON *o, const char *name);
const char *rs_json_str(const struct cJSON *o, const char *name);
int rs_json_bool(const struct cJSON *o, const char *name);

#endif
