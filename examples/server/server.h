/*
 * redstore-server: declarations shared by its parts.
 *
 *   http.c  the libmicrohttpd access handler: request bodies with a size limit, the route table, JSON
 *           errors with stable codes, the one authenticate+authorise step, metrics, the client pool
 *   sse.c   the event streams: the library's fan-out hub (redstore/hub.h) joined to libmicrohttpd
 *   api.c   the REST handlers (catalog, stock, stock operations, sales, voids, refunds)
 *   admin.c catalog writes, transfers, reservations, employees, terminals, audit verification
 *   shifts.c shifts and the cash drawer: open, paid-in/out, close, X and Z reports
 *   reports.c catalog listing and search, every report (manager role)
 *   web.c   the static pages (web terminal, manager dashboard)
 *   main.c  options, start and stop
 *
 * Threads: libmicrohttpd's worker threads run the access handler and the SSE content readers; the hub
 * thread reads Redis. Everything the hub shares with the streams is guarded by the hub's one mutex.
 */
#ifndef REDSTORE_SERVER_H
#define REDSTORE_SERVER_H

#include <redstore.h>

#include "httpkit.h"

#include <microhttpd.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------ options */

typedef struct server_options {
	int port;                /* 0: any free port */
	const char *port_file;   /* where to write the chosen port, or NULL */
	int threads;             /* libmicrohttpd worker threads */
	size_t max_body;         /* bytes; larger bodies get 413 */
	int heartbeat_ms;        /* an idle SSE stream gets a comment line this often */
	size_t sse_buffer;       /* events kept per store for the streams; a stream further behind gets resync */
	unsigned max_connections;
	int reauth_ms;           /* a live SSE stream's session is verified again this often */
} server_options;

/* ------------------------------------------------------------ metrics (http.c) */

typedef struct server_metrics {
	atomic_long requests[6];       /* by status class: index 1..5 = 1xx..5xx */
	atomic_long status[600];       /* by exact status */
} server_metrics;

extern server_metrics g_metrics;

/* ------------------------------------------------------------ the client pool (http.c) */

/* A client for one request: taken from the pool, given back after it. Clients connect lazily. */
redstore_client *server_client_take(void);
void server_client_give(redstore_client *c);
void server_pool_shutdown(void);

/* ------------------------------------------------------------ requests and responses (http.c) */

/* One request, as the handlers see it. */
typedef httpkit_request server_request;

/* What a handler answers: a JSON body or an SSE response (httpkit_reply_json, httpkit_reply_error). */
typedef httpkit_reply server_reply;

/* Sets the error reply for a library failure: the status and code follow from the redstore_err. */
void server_reply_lib_error(server_reply *r, int rc);

/* ------------------------------------------------------------ authentication (http.c) */

/* What a request needs. Mirrors the roles' permissions of the security design. */
typedef enum server_permission {
	SERVER_PERM_NONE = 0, /* open: health, metrics, login */
	SERVER_PERM_READ,     /* catalog, stock, events: any session of the store */
	SERVER_PERM_SELL,
	SERVER_PERM_VOID,
	SERVER_PERM_REFUND,
	SERVER_PERM_STOCK,
	SERVER_PERM_PAIR,     /* issuing pairing codes: managers */
	SERVER_PERM_REPORTS,  /* reports, audit verification: managers */
	SERVER_PERM_CATALOG,  /* product writes: managers */
	SERVER_PERM_EMPLOYEES, /* adding and changing employees: managers (admins for managers) */
	SERVER_PERM_TERMINALS, /* revoking terminals: admins */
	SERVER_PERM_SHIFT     /* shifts: any session; the library checks own drawer vs REDSTORE_PERM_SHIFTS/REPORTS */
} server_permission;

/*
 * The one authenticate+authorise step every route goes through before its handler runs. Open routes
 * (SERVER_PERM_NONE: health, metrics, pairing, login) pass. Every other route needs a session token
 * ("Authorization: Bearer <token>", or ?access_token= for EventSource): it is attached to `client`
 * (redstore_auth_attach: signature, expiry, terminal not revoked, employee active with the same role),
 * its store must be the route's store, and its role must hold the permission (redstore_auth_require).
 * Returns 0, or fills `reply` (401 unauthenticated, 403 forbidden) and returns -1. The caller detaches the
 * session after the handler.
 */
int server_authorize(server_reply *reply, const server_request *req, redstore_client *client, const char *store,
                     server_permission perm);

/* The same for a token already taken from the request (NULL or "": 401), e.g. a live event stream's
 * token verified again (sse.c). The client stays attached on success; the caller detaches it. */
int server_authorize_token(server_reply *reply, const char *token, redstore_client *client,
                           const char *store, server_permission perm);

/* ------------------------------------------------------------ REST handlers (api.c) */

/* A handler answers in `out` before it returns, or takes the request asynchronously: it calls
 * httpkit_suspend(req) (the connection is suspended, no worker thread waits), hands the work to another
 * thread (e.g. a commit queue) and returns; that thread's completion callback answers with
 * httpkit_complete(ticket, &reply), which resumes the connection and sends the reply through the same
 * counting as every other. The session was checked before the handler ran; `client` goes back to the
 * pool when the handler returns, so the asynchronous work uses its own engine connections. */
typedef void (*server_handler)(server_reply *out, const server_request *req, redstore_client *client);

void api_product_by_sku(server_reply *out, const server_request *req, redstore_client *c);
void api_product_by_barcode(server_reply *out, const server_request *req, redstore_client *c);
void api_stock_get(server_reply *out, const server_request *req, redstore_client *c);
void api_snapshot(server_reply *out, const server_request *req, redstore_client *c);
void api_sale_create(server_reply *out, const server_request *req, redstore_client *c);
void api_sale_get(server_reply *out, const server_request *req, redstore_client *c);
void api_sale_quote(server_reply *out, const server_request *req, redstore_client *c);
void api_sale_void(server_reply *out, const server_request *req, redstore_client *c);
void api_sale_refund(server_reply *out, const server_request *req, redstore_client *c);
void api_stock_receive(server_reply *out, const server_request *req, redstore_client *c);
void api_stock_adjust(server_reply *out, const server_request *req, redstore_client *c);
void api_stock_count(server_reply *out, const server_request *req, redstore_client *c);
void api_pair(server_reply *out, const server_request *req, redstore_client *c);
void api_login(server_reply *out, const server_request *req, redstore_client *c);
void api_pairing_code(server_reply *out, const server_request *req, redstore_client *c);

/* A product as JSON (api.c), for the handlers that list products. */
struct cJSON *api_product_json(const redstore_product *p);

/* Strict body decoding and encoding (api.c), shared by the handlers of api.c and admin.c. Each fills
 * `out` with a 400 naming the member and returns -1 (or NULL) on a bad body. */
struct cJSON *srv_parse_object(server_reply *out, const server_request *req);
/* Refuses repeated and unknown members of obj. `allowed` ends with NULL. */
int srv_check_members(server_reply *out, const struct cJSON *obj, const char *where, const char *const *allowed);
/* An integer member in [min, max]; absent: *v untouched and 0 unless required. */
int srv_get_int(server_reply *out, const struct cJSON *obj, const char *where, const char *name, int required,
            int64_t min, int64_t max, int64_t *v);
/* A string member of at most maxlen bytes; absent: *v untouched. */
int srv_get_str(server_reply *out, const struct cJSON *obj, const char *where, const char *name, int required,
            size_t maxlen, const char **v);
int srv_get_bool(server_reply *out, const struct cJSON *obj, const char *where, const char *name, int *v);
/* An array member of 1..max elements. */
const struct cJSON *srv_get_array(server_reply *out, const struct cJSON *obj, const char *name, int max);
/* The Idempotency-Key header: a UUID, or NULL when absent (and not required). */
int srv_idempotency_key(server_reply *out, const server_request *req, int required, const char **key);
/* "lines": [{"sku", "qty", "unit_cost"?}] (1..1000 of them; strings borrowed from root); free() it. */
redstore_stock_line *srv_stock_lines(server_reply *out, const struct cJSON *root, int64_t min_qty, int with_cost,
                                 size_t *n);
/* Prints root unformatted and deletes it. */
char *srv_print(struct cJSON *root);
/* A stock operation's result: 201, or 200 for a retry of an applied id (duplicate). */
void srv_reply_stock_result(server_reply *out, const redstore_stock_result *r);

/* ------------------------------------------------------------ catalog writes, transfers, reservations,
 * employees, terminals, audit (admin.c) */

void api_product_create(server_reply *out, const server_request *req, redstore_client *c);
void api_product_update(server_reply *out, const server_request *req, redstore_client *c);
void api_product_deactivate(server_reply *out, const server_request *req, redstore_client *c);
void api_transfer_send(server_reply *out, const server_request *req, redstore_client *c);
void api_transfer_receive(server_reply *out, const server_request *req, redstore_client *c);
void api_reservation_create(server_reply *out, const server_request *req, redstore_client *c);
void api_reservation_release(server_reply *out, const server_request *req, redstore_client *c);
void api_employee_add(server_reply *out, const server_request *req, redstore_client *c);
void api_employee_change(server_reply *out, const server_request *req, redstore_client *c);
void api_terminal_list(server_reply *out, const server_request *req, redstore_client *c);
void api_terminal_revoke(server_reply *out, const server_request *req, redstore_client *c);
void api_audit_verify(server_reply *out, const server_request *req, redstore_client *c);

/* ------------------------------------------------------------ catalog listing and reports (reports.c) */

void api_product_list(server_reply *out, const server_request *req, redstore_client *c);
void api_report_sales(server_reply *out, const server_request *req, redstore_client *c);
void api_report_top_products(server_reply *out, const server_request *req, redstore_client *c);
void api_report_reorder(server_reply *out, const server_request *req, redstore_client *c);
void api_report_transactions(server_reply *out, const server_request *req, redstore_client *c);
void api_report_patterns(server_reply *out, const server_request *req, redstore_client *c);
void api_report_stock_value(server_reply *out, const server_request *req, redstore_client *c);
/* Refuses unknown query parameters (besides `allowed`, NULL-terminated) and oversized ones with 400. */
int api_check_query(server_reply *out, const server_request *req, const char *const *allowed);

/* ------------------------------------------------------------ shifts (shifts.c) */

/* The projector group a Z report waits for (--projector-group; NULL or "": REDSTORE_PROJECTOR_GROUP). */
void shifts_set_projector_group(const char *group);
void api_shift_open(server_reply *out, const server_request *req, redstore_client *c);
void api_shift_current(server_reply *out, const server_request *req, redstore_client *c);
void api_shift_get(server_reply *out, const server_request *req, redstore_client *c);
void api_shift_cash_move(server_reply *out, const server_request *req, redstore_client *c);
void api_shift_close(server_reply *out, const server_request *req, redstore_client *c);
void api_shift_x_report(server_reply *out, const server_request *req, redstore_client *c);
void api_shift_z_report(server_reply *out, const server_request *req, redstore_client *c);

/* ------------------------------------------------------------ static pages (web.c) */

/* The directory the pages are served from (--web-root); NULL or unusable: no pages, 404. Returns 0 or -1
 * with a message on stderr. */
int web_set_root(const char *dir);
void web_free(void);
/* Serves GET/HEAD of a page path (anything outside /v1/, /healthz and /metrics): 1 when it answered
 * (a file, a redirect or an error), 0 when the path is not a page path. */
int web_serve(server_reply *out, const server_request *req);

/* ------------------------------------------------------------ the sync hub and SSE (sse.c) */

/* Starts the library's hub (its own Redis subscription). 0 or -1 with a message on stderr. */
int sse_hub_start(const server_options *opt, const redstore_config *cfg);
/* Shutdown, in this order: sse_hub_stop() ends every stream and stops the hub's thread,
 * MHD_stop_daemon() closes the connections (which close their streams), then sse_hub_free(). */
void sse_hub_stop(void);
void sse_hub_free(void);
/* The hub's counters (connected: it holds its Redis subscription). */
void sse_hub_stats(redstore_hub_stats *out);

/* GET /v1/stores/{store}/events: builds the streaming response (or an error reply). */
void sse_open(server_reply *out, const server_request *req, redstore_client *c);

/* ------------------------------------------------------------ http.c */

MHD_RESULT http_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                       const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls);
void http_set_options(const server_options *opt);

#endif
