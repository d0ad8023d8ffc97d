/*
 * redstore-server, static pages: the web terminal (/terminal/) and the manager dashboard (/dashboard/),
 * plain files under the web root (--web-root).
 *
 * Only GET and HEAD (any other method on a page path is an unknown route, 404). A path is served only when every segment is made of [A-Za-z0-9._-], does not start
 * with a dot (so no "..", no hidden files), the file's type is one of a short list, it is a regular
 * file of at most WEB_MAX_FILE bytes, and its real path (symbolic links resolved) is inside the web root.
 * Anything else is 404 "no_route" (a refused traversal looks like a missing file). "/terminal"
 * is redirected to "/terminal/"; a directory serves its index.html.
 *
 * Every page response carries Content-Security-Policy (same origin only: no CDN, no inline script),
 * X-Content-Type-Options: nosniff and Cache-Control: no-cache.
 */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WEB_MAX_FILE (1024 * 1024)

static char *g_root; /* realpath of the web root, or NULL */

int web_set_root(const char *dir)
{
	char *r;
	struct stat st;
	free(g_root);
	g_root = NULL;
	if (!dir)
		return 0;
	if (!(r = realpath(dir, NULL)) || stat(r, &st) || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "redstore-server: web root %s: %s\n", dir, r ? "not a directory" : strerror(errno));
		free(r);
		return -1;
	}
	g_root = r;
	return 0;
}

void web_free(void)
{
	free(g_root);
	g_root = NULL;
}

static const char *content_type(const char *path)
{
	static const char *const types[][2] = {
		{ ".html", "text/html; charset=utf-8" },  { ".js", "text/javascript; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" },    { ".svg", "image/svg+xml" },
		{ ".png", "image/png" },                  { ".ico", "image/x-icon" },
		{ ".json", "application/json" },          { ".txt", "text/plain; charset=utf-8" },
	};
	const char *dot = strrchr(path, '.');
	if (!dot || strchr(dot, '/'))
		return NULL;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(dot, types[i][0]))
			return types[i][1];
	return NULL;
}

/* 1 when every segment of rel (no leading slash) is safe. */
static int safe_path(const char *rel)
{
	const char *s = rel;
	if (!*rel)
		return 1;
	for (;;) {
		const char *e = strchr(s, '/');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		if (n == 0) /* "//" or a trailing slash inside the path */
			return e == NULL;
		if (s[0] == '.')
			return 0;
		for (size_t i = 0; i < n; i++) {
			char ch = s[i];
			if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
			      ch == '_' || ch == '-'))
				return 0;
		}
		if (!e)
			return 1;
		s = e + 1;
	}
}

static void page_headers(struct MHD_Response *r, const char *type)
{
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	MHD_add_response_header(r, "Content-Security-Policy",
	                        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self';"
	                        " connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
}

static void redirect(server_reply *out, const char *to)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (!r) {
		httpkit_reply_error(out, 500, "internal", "out of memory");
		return;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, to);
	out->response = r;
	out->status = 301;
}

static void not_found(server_reply *out, const char *path)
{
	httpkit_reply_error(out, 404, "no_route", "no page %.200s", path);
}

/* Reads the file at root/rel into a response. */
static void serve_file(server_reply *out, const char *path, const char *rel)
{
	char full[PATH_MAX], *real = NULL, *buf = NULL;
	const char *type = content_type(rel);
	size_t rl = strlen(g_root), got = 0;
	struct stat st;
	struct MHD_Response *r;
	int fd = -1;
	if (!type || (size_t)snprintf(full, sizeof(full), "%s/%s", g_root, rel) >= sizeof(full) ||
	    !(real = realpath(full, NULL)) || strncmp(real, g_root, rl) || real[rl] != '/') {
		free(real);
		not_found(out, path);
		return;
	}
	fd = open(real, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	free(real);
	if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		not_found(out, path);
		return;
	}
	if (st.st_size > WEB_MAX_FILE) {
		close(fd);
		httpkit_reply_error(out, 500, "internal", "page %.200s is larger than %d bytes", path, WEB_MAX_FILE);
		return;
	}
	if (!(buf = malloc((size_t)st.st_size + 1))) {
		close(fd);
		httpkit_reply_error(out, 500, "internal", "out of memory");
		return;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (got != (size_t)st.st_size || !(r = MHD_create_response_from_buffer(got, buf, MHD_RESPMEM_MUST_FREE))) {
		free(buf);
		httpkit_reply_error(out, 500, "internal", "cannot read page %.200s", path);
		return;
	}
	page_headers(r, type);
	out->response = r;
	out->status = 200;
}

int web_serve(server_reply *out, const server_request *req)
{
	const char *path = req->path, *rel;
	char idx[1024];
	size_t n;
	if (!strncmp(path, "/v1/", 4) || !strcmp(path, "/v1") || !strcmp(path, "/"))
		return 0; /* the API's (and "/" stays an unknown route: the pages are /terminal/ and /dashboard/) */
	if (strcmp(req->method, "GET") && strcmp(req->method, "HEAD"))
		return 0; /* pages are GET only: any other method is an unknown route (404) */
	if (!g_root) {
		httpkit_reply_error(out, 404, "no_route", "no route for %s %.200s (and no web root: --web-root)", req->method,
		                   path);
		return 1;
	}
	rel = path + 1;
	if (path[0] != '/' || !safe_path(rel)) {
		not_found(out, path);
		return 1;
	}
	n = strlen(rel);
	if (n && rel[n - 1] == '/') {
		snprintf(idx, sizeof(idx), "%sindex.html", rel); /* the path is shorter than idx (dispatch checked) */
		serve_file(out, path, idx);
		return 1;
	}
	if (!strchr(rel, '/') && !strchr(rel, '.')) { /* "/terminal": the directory's page */
		snprintf(idx, sizeof(idx), "%s/%s/index.html", g_root, rel);
		if (access(idx, R_OK) == 0) {
			snprintf(idx, sizeof(idx), "%s/", path);
			redirect(out, idx);
			return 1;
		}
	}
	serve_file(out, path, rel);
	return 1;
}
