/*
 * redstore_catalog_import_csv: products from an RFC 4180 file into the selected store.
 *
 *  1. read the file (at most 64 MiB) and parse it in place: quoted fields with "" escapes, commas and
 *     line breaks inside quotes, CRLF or LF (or CR) line ends, an optional UTF-8 byte order mark, blank
 *     lines skipped. The header names the columns.
 *  2. check every row as it is parsed (the columns, the tax classes of the store, SKUs and barcodes
 *     repeated within the file: the later line is the bad one), then the barcodes that other products
 *     of the store already use (PostgreSQL), allowing barcodes to move between products of the file.
 *  3. with bad rows and no REDSTORE_IMPORT_SKIP_BAD_ROWS, stop: nothing is written. Otherwise upsert the
 *     good rows in ONE transaction (parameterized INSERT ... SELECT FROM unnest(arrays) ... ON CONFLICT,
 *     in chunks), with the barcode constraint deferred to the commit so a race fails the whole import.
 *  4. refresh the cache of the imported products (pipelined), then emit one catalog.imported event.
 *
 * Columns absent from the header keep their values on existing products and take their defaults on new
 * ones; an empty cell takes the column's default. Prices are integers in minor units.
 */
#include "catalog/catalog_priv.h"

#include <errno.h>
#include <stdio.h>
#include <strings.h>
#include <sys/stat.h>

#define IMPORT_MAX_BYTES (64L * 1024 * 1024)
#define IMPORT_MAX_ROWS 1000000
#define IMPORT_LISTED_ERRORS 1000  /* the report lists the first 1000 bad rows, then one summary line */
#define EVENT_MAX_SKUS 1000
#define NO_FIELDS UINT32_MAX
#define NO_MSG UINT32_MAX

enum col {
	C_SKU,
	C_NAME,
	C_PRICE,
	C_BARCODE,
	C_BRAND,
	C_CATEGORY,
	C_TAX,
	C_POLICY,
	C_LOW,
	C_ACTIVE,
	C_FAV,
	C_CUSTOM,
	C__COUNT
};

static const char *const col_names[C__COUNT] = { "sku",      "name",         "price",
	                                             "barcode",  "brand",        "category",
	                                             "tax_class", "stock_policy", "low_stock_threshold",
	                                             "active",   "favourite",    "custom_json" };

/* The default of an empty cell (NULL: the column has no default). */
static const char *const col_default[C__COUNT] = { NULL, NULL, NULL, "", "", "", "", "deny", "0", "1", "0", "{}" };

typedef struct row {
	uint32_t line;    /* physical line where the row starts */
	uint32_t field0;  /* index in fields[] of its first cell, NO_FIELDS when the row has the wrong shape */
	uint32_t msg;     /* offset of its error in msgs, NO_MSG when the row is good */
} row;

/* Open addressing: slot = row index + 1, 0 = empty. */
typedef struct rowmap {
	uint32_t *slot;
	size_t cap, n;
	enum col col;
} rowmap;

typedef struct import {
	redstore_client *c;
	const char *store;
	char currency[4];
	char *buf;
	size_t len;
	unsigned flags;
	bool have_header, fatal;
	int col_of[C__COUNT]; /* position of each column in the file, -1 when absent */
	size_t ncols;
	row *rows;
	size_t nrows, rows_cap, nbad;
	uint32_t *fields;
	size_t nfields, fields_cap;
	char *msgs;           /* every row error, NUL-separated */
	size_t msgs_len, msgs_cap;
	char header_error[240];
	uint32_t header_line;
	char **tax;           /* the store's tax classes */
	size_t ntax;
	rowmap by_sku, by_barcode;
	char **old_barcode;   /* per row, once written: the barcode its product had before ("" for new ones) */
} import;

/* ------------------------------------------------------------ small helpers */

static int oom(void)
{
	return redstore__fail(REDSTORE_ENOMEM, "catalog import: out of memory");
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap ? *cap : 64;
	void *q;
	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	if (!(q = realloc(*p, n * size)))
		return oom();
	*p = q;
	*cap = n;
	return 0;
}

static const char *cell(const import *imp, const row *r, enum col col)
{
	if (imp->col_of[col] < 0 || r->field0 == NO_FIELDS)
		return NULL;
	return imp->buf + imp->fields[r->field0 + (size_t)imp->col_of[col]];
}

/* A cell's value with the column's default for an empty cell. */
static const char *value(const import *imp, const row *r, enum col col)
{
	const char *v = cell(imp, r, col);
	if (v && *v)
		return v;
	return col_default[col] ? col_default[col] : "";
}

/* Marks a row bad with its (first) error. */
static int row_fail(import *imp, row *r, const char *fmt, ...) REDSTORE_PRINTF(3, 4);
static int row_fail(import *imp, row *r, const char *fmt, ...)
{
	char msg[sizeof(((redstore_import_error *)0)->message)];
	va_list ap;
	size_t n;
	int rc;

	if (r->msg != NO_MSG)
		return 0;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n = strlen(msg) + 1;
	if ((rc = grow((void **)&imp->msgs, &imp->msgs_cap, imp->msgs_len + n, 1)))
		return rc;
	memcpy(imp->msgs + imp->msgs_len, msg, n);
	r->msg = (uint32_t)imp->msgs_len;
	imp->msgs_len += n;
	imp->nbad++;
	return 0;
}

/* ------------------------------------------------------------ row maps */

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* Looks `key` up; returns the row index or -1. With insert, adds row `ri` when absent. */
static long rowmap_find(import *imp, rowmap *m, const char *key, size_t ri, bool insert, int *rc)
{
	size_t i;
	*rc = 0;
	if (insert && (m->n + 1) * 2 > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 1024;
		uint32_t *slot = calloc(cap, sizeof(*slot));
		if (!slot) {
			*rc = oom();
			return -1;
		}
		for (size_t k = 0; k < m->cap; k++)
			if (m->slot[k]) {
				size_t j = hash_str(cell(imp, &imp->rows[m->slot[k] - 1], m->col)) & (cap - 1);
				while (slot[j])
					j = (j + 1) & (cap - 1);
				slot[j] = m->slot[k];
			}
		free(m->slot);
		m->slot = slot;
		m->cap = cap;
	}
	if (!m->cap)
		return -1;
	for (i = hash_str(key) & (m->cap - 1); m->slot[i]; i = (i + 1) & (m->cap - 1))
		if (!strcmp(cell(imp, &imp->rows[m->slot[i] - 1], m->col), key))
			return (long)m->slot[i] - 1;
	if (insert) {
		m->slot[i] = (uint32_t)ri + 1;
		m->n++;
	}
	return -1;
}

/* ------------------------------------------------------------ checks */

static bool has_tax(const import *imp, const char *code)
{
	for (size_t i = 0; i < imp->ntax; i++)
		if (!strcmp(imp->tax[i], code))
			return true;
	return false;
}

static int check_int_cell(char *msg, size_t cap, const char *v, int64_t max, const char *unit)
{
	char q[128];
	int64_t n;
	if (!redstore__catalog_parse_i64(&n, v)) {
		snprintf(msg, cap, "\"%s\" is not an integer (expected 0..%lld%s%s)", redstore__catalog_quote(q, sizeof(q), v),
		         (long long)max, unit ? " " : "", unit ? unit : "");
		return -1;
	}
	return redstore__catalog_check_range(msg, cap, n, 0, max, unit);
}

static int check_enum_cell(char *msg, size_t cap, const char *v, const char *a, const char *b)
{
	char q[128];
	if (!strcmp(v, a) || !strcmp(v, b))
		return 0;
	snprintf(msg, cap, "\"%s\" is invalid (expected %s or %s)", redstore__catalog_quote(q, sizeof(q), v), a, b);
	return -1;
}

/* Checks the cells of a row in column order; the first bad one is its error. */
static int check_row(import *imp, row *r)
{
	char msg[256], q[128];
	for (int col = 0; col < C__COUNT; col++) {
		const char *v = value(imp, r, (enum col)col);
		int bad = 0;
		if (imp->col_of[col] < 0)
			continue;
		switch ((enum col)col) {
		case C_SKU: bad = redstore__catalog_check_sku(msg, sizeof(msg), v); break;
		case C_NAME: bad = redstore__catalog_check_text(msg, sizeof(msg), v, 1, REDSTORE__NAME_MAX); break;
		case C_PRICE:
			if (!*v) {
				snprintf(msg, sizeof(msg), "is empty (expected an integer 0..%lld minor units)", REDSTORE__PRICE_MAX);
				bad = -1;
			} else {
				bad = check_int_cell(msg, sizeof(msg), v, REDSTORE__PRICE_MAX, "minor units");
			}
			break;
		case C_BARCODE: bad = redstore__catalog_check_barcode(msg, sizeof(msg), v); break;
		case C_BRAND:
		case C_CATEGORY: bad = redstore__catalog_check_text(msg, sizeof(msg), v, 0, REDSTORE__TEXT_MAX); break;
		case C_TAX:
			bad = redstore__catalog_check_tax_code(msg, sizeof(msg), v, true);
			if (!bad && *v && !has_tax(imp, v)) {
				snprintf(msg, sizeof(msg), "\"%s\" is not a tax class of store %s", redstore__catalog_quote(q, sizeof(q), v),
				         imp->store);
				bad = -1;
			}
			break;
		case C_POLICY: bad = check_enum_cell(msg, sizeof(msg), v, "deny", "allow"); break;
		case C_LOW: bad = check_int_cell(msg, sizeof(msg), v, REDSTORE__LOW_MAX, NULL); break;
		case C_ACTIVE:
		case C_FAV: bad = check_enum_cell(msg, sizeof(msg), v, "0", "1"); break;
		case C_CUSTOM: bad = redstore__catalog_check_custom(msg, sizeof(msg), v); break;
		case C__COUNT: break;
		}
		if (bad)
			return row_fail(imp, r, "column %s: %s", col_names[col], msg);
	}
	return 0;
}

/* SKUs and barcodes repeated within the file: the later line is the bad one. Rows with other errors
 * still claim their SKU and barcode. */
static int check_repeats(import *imp, size_t ri)
{
	row *r = &imp->rows[ri];
	const char *sku = cell(imp, r, C_SKU), *bc = cell(imp, r, C_BARCODE);
	char msg[200], q[128];
	long first;
	int rc;

	if (!redstore__catalog_check_sku(msg, sizeof(msg), sku)) {
		first = rowmap_find(imp, &imp->by_sku, sku, ri, true, &rc);
		if (rc)
			return rc;
		if (first >= 0 && (rc = row_fail(imp, r, "column sku: \"%s\" is repeated (first on line %u)",
		                                  redstore__catalog_quote(q, sizeof(q), sku), imp->rows[first].line)))
			return rc;
	}
	if (bc && *bc && !redstore__catalog_check_barcode(msg, sizeof(msg), bc)) {
		first = rowmap_find(imp, &imp->by_barcode, bc, ri, true, &rc);
		if (rc)
			return rc;
		if (first >= 0 && (rc = row_fail(imp, r, "column barcode: \"%s\" is repeated (first on line %u)",
		                                  redstore__catalog_quote(q, sizeof(q), bc), imp->rows[first].line)))
			return rc;
	}
	return 0;
}

/* ------------------------------------------------------------ records */

static void header_fail(import *imp, uint32_t line, const char *fmt, ...) REDSTORE_PRINTF(3, 4);
static void header_fail(import *imp, uint32_t line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(imp->header_error, sizeof(imp->header_error), fmt, ap);
	va_end(ap);
	imp->header_line = line;
	imp->fatal = true;
}

static void trim(char **s)
{
	char *e;
	while (**s == ' ' || **s == '\t')
		(*s)++;
	e = *s + strlen(*s);
	while (e > *s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
}

static void header(import *imp, uint32_t line, const uint32_t *rec, size_t n, const char *err)
{
	char q[128];
	imp->have_header = true;
	if (err) {
		header_fail(imp, line, "%s", err);
		return;
	}
	for (int col = 0; col < C__COUNT; col++)
		imp->col_of[col] = -1;
	for (size_t i = 0; i < n; i++) {
		char *name = imp->buf + rec[i];
		int found = -1;
		trim(&name);
		for (int col = 0; col < C__COUNT; col++)
			if (!strcasecmp(name, col_names[col]))
				found = col;
		if (found < 0) {
			header_fail(imp, line,
			            "unknown column \"%s\" (expected sku, name, price, barcode, brand, category, tax_class,"
			            " stock_policy, low_stock_threshold, active, favourite, custom_json)",
			            redstore__catalog_quote(q, sizeof(q), name));
			return;
		}
		if (imp->col_of[found] >= 0) {
			header_fail(imp, line, "column %s appears twice", col_names[found]);
			return;
		}
		imp->col_of[found] = (int)i;
	}
	for (int col = C_SKU; col <= C_PRICE; col++)
		if (imp->col_of[col] < 0) {
			header_fail(imp, line, "the header has no %s column (sku, name and price are required)", col_names[col]);
			return;
		}
	imp->ncols = n;
}

/* One record of the file: the header, then data rows. `err` is a parse error of the record, or NULL. */
static int record(import *imp, uint32_t line, const uint32_t *rec, size_t n, const char *err)
{
	row *r;
	int rc;

	if (!imp->have_header) {
		header(imp, line, rec, n, err);
		return 0;
	}
	if (imp->nrows >= IMPORT_MAX_ROWS)
		return redstore__fail(REDSTORE_ELIMIT, "catalog import: more than %d rows (line %u)", IMPORT_MAX_ROWS, line);
	if ((rc = grow((void **)&imp->rows, &imp->rows_cap, imp->nrows + 1, sizeof(*imp->rows))))
		return rc;
	r = &imp->rows[imp->nrows++];
	r->line = line;
	r->field0 = NO_FIELDS;
	r->msg = NO_MSG;
	if (err)
		return row_fail(imp, r, "%s", err);
	if (n != imp->ncols)
		return row_fail(imp, r, "expected %zu fields (the header's columns), found %zu", imp->ncols, n);
	if ((rc = grow((void **)&imp->fields, &imp->fields_cap, imp->nfields + n, sizeof(*imp->fields))))
		return rc;
	memcpy(imp->fields + imp->nfields, rec, n * sizeof(*rec));
	r->field0 = (uint32_t)imp->nfields;
	imp->nfields += n;
	if ((rc = check_row(imp, r)))
		return rc;
	return check_repeats(imp, imp->nrows - 1);
}

/* The name of field i of a record, for parse errors. */
static const char *field_name(char *buf, size_t cap, const import *imp, size_t i)
{
	if (imp->have_header)
		for (int col = 0; col < C__COUNT; col++)
			if (imp->col_of[col] == (int)i)
				return col_names[col];
	snprintf(buf, cap, "%zu", i + 1);
	return buf;
}

/* Parses the whole buffer in place (an unquoted cell is never longer than its text, so the decoded cells
 * are written over the text already read), calling record() for every record. */
static int parse(import *imp)
{
	char *b = imp->buf, err[200], fname[24];
	size_t len = imp->len, pos = 0, w, nrec = 0, cap = 0;
	uint32_t *rec = NULL, line = 1;
	int rc = 0;

	if (len >= 3 && !memcmp(b, "\xEF\xBB\xBF", 3))
		pos = 3;
	w = pos;
	while (pos < len && !imp->fatal) {
		uint32_t rec_line = line;
		bool quoted = false, unterminated = false;
		err[0] = '\0';
		nrec = 0;
		for (;;) {
			bool fq;
			int ch;
			if ((rc = grow((void **)&rec, &cap, nrec + 1, sizeof(*rec))))
				goto done;
			rec[nrec++] = (uint32_t)w;
			fq = pos < len && b[pos] == '"';
			if (fq) {
				uint32_t qline = line;
				quoted = true;
				pos++;
				for (;;) {
					char x;
					if (pos >= len) {
						snprintf(err, sizeof(err), "column %s: the quoted field opened on line %u is never closed",
						         field_name(fname, sizeof(fname), imp, nrec - 1), qline);
						unterminated = true;
						break;
					}
					x = b[pos];
					if (x == '"') {
						if (pos + 1 < len && b[pos + 1] == '"') {
							b[w++] = '"';
							pos += 2;
							continue;
						}
						pos++;
						break;
					}
					if (x == '\n' || (x == '\r' && !(pos + 1 < len && b[pos + 1] == '\n')))
						line++;
					b[w++] = x;
					pos++;
				}
				if (pos < len && b[pos] != ',' && b[pos] != '\n' && b[pos] != '\r' && !err[0])
					snprintf(err, sizeof(err), "column %s: unexpected text after the closing quote (a quote inside"
					         " a quoted field is written \"\")", field_name(fname, sizeof(fname), imp, nrec - 1));
			}
			while (pos < len && b[pos] != ',' && b[pos] != '\n' && b[pos] != '\r') {
				if (b[pos] == '"' && !err[0] && !fq)
					snprintf(err, sizeof(err), "column %s: a quote inside an unquoted field (quote the whole"
					         " field and write a quote as \"\")", field_name(fname, sizeof(fname), imp, nrec - 1));
				b[w++] = b[pos++];
			}
			ch = pos < len ? (unsigned char)b[pos] : -1;
			b[w++] = '\0';
			if (ch == ',') {
				pos++;
				continue;
			}
			if (ch == '\r') {
				pos++;
				if (pos < len && b[pos] == '\n')
					pos++;
				line++;
			} else if (ch == '\n') {
				pos++;
				line++;
			}
			break;
		}
		if (nrec == 1 && !quoted && !b[rec[0]])
			continue; /* a blank line */
		if ((rc = record(imp, rec_line, rec, nrec, err[0] ? err : NULL)))
			goto done;
		if (unterminated)
			break;
	}
done:
	free(rec);
	return rc;
}

/* ------------------------------------------------------------ barcodes of other products */

struct owner {
	char *bc, *sku; /* a barcode of the file that product `sku` has in PostgreSQL */
};

static int owner_cmp(const void *a, const void *b)
{
	return strcmp(((const struct owner *)a)->sku, ((const struct owner *)b)->sku);
}

/* A good row's barcode that another product of the store has is an error, unless that product is in the
 * file too (good) with another barcode: then the barcode moves. Marking a row bad keeps its product's
 * old barcode, which may make another row bad: repeated until nothing changes. */
static int check_existing_barcodes(import *imp)
{
	/* A probe per barcode (OFFSET 0: see refresh_cache). */
	static const char sql[] = "SELECT p.barcode, p.sku FROM unnest($2::text[]) AS u(barcode),"
	                          " LATERAL (SELECT barcode, sku FROM products"
	                          "          WHERE store_id = $1 AND barcode = u.barcode OFFSET 0) AS p";
	const char **list = NULL;
	struct owner *owners = NULL;
	size_t nowners = 0, owners_cap = 0, *work = NULL, nwork = 0;
	int rc = 0;

	if (imp->col_of[C_BARCODE] < 0)
		return 0;
	if (!(list = malloc(sizeof(*list) * REDSTORE__PG_CHUNK)))
		return oom();
	for (size_t at = 0; at < imp->nrows && !rc;) {
		size_t n = 0;
		char *arr;
		PGresult *res;
		for (; at < imp->nrows && n < REDSTORE__PG_CHUNK; at++) {
			const row *r = &imp->rows[at];
			if (r->msg == NO_MSG && *value(imp, r, C_BARCODE))
				list[n++] = value(imp, r, C_BARCODE);
		}
		if (!n)
			continue;
		if (!(arr = redstore__pg_text_array(list, n))) {
			rc = REDSTORE_ENOMEM;
			break;
		}
		{
			const char *params[2] = { imp->store, arr };
			rc = redstore__pg_exec(&res, imp->c, sql, 2, params);
		}
		free(arr);
		if (rc)
			break;
		for (int i = 0; i < PQntuples(res) && !rc; i++) {
			if ((rc = grow((void **)&owners, &owners_cap, nowners + 1, sizeof(*owners))))
				break;
			owners[nowners].bc = redstore__strdup(PQgetvalue(res, i, 0));
			owners[nowners].sku = redstore__strdup(PQgetvalue(res, i, 1));
			nowners++;
			if (!owners[nowners - 1].bc || !owners[nowners - 1].sku)
				rc = oom();
		}
		PQclear(res);
	}
	/* A worklist: every owner once, then again the owner whose own row just became bad (it keeps its
	 * barcode, so the row that wanted that barcode must be checked again). Each row goes bad at most
	 * once, so this ends after at most 2 * nowners steps. A product has one barcode, so an SKU owns at
	 * most one entry: owners sorted by SKU are found by binary search. */
	if (nowners && !rc) {
		qsort(owners, nowners, sizeof(*owners), owner_cmp);
		if (!(work = malloc(sizeof(*work) * nowners * 2)))
			rc = oom();
		for (size_t k = 0; k < nowners && !rc; k++)
			work[nwork++] = k;
	}
	while (nwork && !rc) {
		size_t k = work[--nwork];
		char q[128], q2[128];
		long ri = rowmap_find(imp, &imp->by_barcode, owners[k].bc, 0, false, &rc), oi;
		struct owner key, *kept;
		row *r;
		if (ri < 0 || imp->rows[ri].msg != NO_MSG)
			continue;
		r = &imp->rows[ri];
		if (!strcmp(cell(imp, r, C_SKU), owners[k].sku))
			continue;
		oi = rowmap_find(imp, &imp->by_sku, owners[k].sku, 0, false, &rc);
		if (oi >= 0 && imp->rows[oi].msg == NO_MSG && strcmp(value(imp, &imp->rows[oi], C_BARCODE), owners[k].bc))
			continue; /* the owner moves to another barcode in this file */
		if ((rc = row_fail(imp, r, "column barcode: \"%s\" is already used by product \"%s\"",
		                   redstore__catalog_quote(q, sizeof(q), owners[k].bc),
		                   redstore__catalog_quote(q2, sizeof(q2), owners[k].sku))))
			break;
		key.sku = (char *)cell(imp, r, C_SKU);
		if ((kept = bsearch(&key, owners, nowners, sizeof(*owners), owner_cmp)))
			work[nwork++] = (size_t)(kept - owners);
	}
	free(work);
	for (size_t k = 0; k < nowners; k++) {
		free(owners[k].bc);
		free(owners[k].sku);
	}
	free(owners);
	free(list);
	return rc;
}

/* ------------------------------------------------------------ writing */

/* Runs a statement of the import transaction: never on a connection that lost the transaction (a
 * reconnect would run it outside, in autocommit). */
static int tx_exec(PGresult **out, import *imp, const char *sql, int n, const char *const *params)
{
	if (!imp->c->pg || PQtransactionStatus(imp->c->pg) != PQTRANS_INTRANS) {
		if (out)
			*out = NULL;
		return redstore__fail(REDSTORE_ECONNECT, "postgres: the connection was lost during the import transaction");
	}
	return redstore__pg_exec(out, imp->c, sql, n, params);
}

typedef struct applied {
	uint32_t *rows;     /* the rows written, as indexes in imp->rows */
	size_t n, cap, created, updated;
} applied;

/* The SKU of a written row. */
static const char *applied_sku(const import *imp, const applied *a, size_t i)
{
	return cell(imp, &imp->rows[a->rows[i]], C_SKU);
}

/* Records the barcodes that the products of a chunk have before it is written (the cache's barcode index
 * drops them after the commit). */
static int read_old_barcodes(import *imp, const size_t *ri, size_t n, const char **skus)
{
	/* A probe per SKU (OFFSET 0: see refresh_cache). */
	static const char sql[] = "SELECT p.sku, coalesce(p.barcode, '') FROM unnest($2::text[]) AS u(sku),"
	                          " LATERAL (SELECT sku, barcode FROM products"
	                          "          WHERE store_id = $1 AND sku = u.sku OFFSET 0) AS p";
	char *arr;
	PGresult *res;
	int rc = 0;

	if (!imp->old_barcode && !(imp->old_barcode = calloc(imp->nrows, sizeof(*imp->old_barcode))))
		return oom();
	for (size_t i = 0; i < n; i++)
		skus[i] = cell(imp, &imp->rows[ri[i]], C_SKU);
	if (!(arr = redstore__pg_text_array(skus, n)))
		return REDSTORE_ENOMEM;
	{
		const char *params[2] = { imp->store, arr };
		rc = tx_exec(&res, imp, sql, 2, params);
	}
	free(arr);
	if (rc)
		return rc;
	for (int i = 0; i < PQntuples(res) && !rc; i++) {
		long fi = rowmap_find(imp, &imp->by_sku, PQgetvalue(res, i, 0), 0, false, &rc);
		if (fi >= 0 && !imp->old_barcode[fi] && !(imp->old_barcode[fi] = redstore__strdup(PQgetvalue(res, i, 1))))
			rc = oom();
	}
	PQclear(res);
	return rc;
}

static int upsert_chunk(import *imp, applied *a, const size_t *ri, size_t n)
{
	static const char sql[] =
		"INSERT INTO products AS p (store_id, sku, barcode, name, brand, category, price, currency, tax_class,"
		"  stock_policy, low_stock_threshold, active, favourite, custom)"
		" SELECT $1, t.sku, nullif(t.barcode, ''), t.name, coalesce(t.brand, ''), coalesce(t.category, ''),"
		"  t.price::bigint, $2, nullif(t.tax_class, ''), coalesce(t.stock_policy, 'deny'),"
		"  coalesce(t.low, '0')::bigint, coalesce(t.active, '1')::boolean, coalesce(t.fav, '0')::boolean,"
		"  coalesce(t.custom, '{}')::jsonb"
		" FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],"
		"  $10::text[], $11::text[], $12::text[], $13::text[], $14::text[])"
		"  AS t(sku, name, price, barcode, brand, category, tax_class, stock_policy, low, active, fav, custom)"
		" ON CONFLICT (store_id, sku) DO UPDATE SET name = EXCLUDED.name, price = EXCLUDED.price,"
		"  currency = EXCLUDED.currency,"
		"  barcode = CASE WHEN $15::boolean THEN EXCLUDED.barcode ELSE p.barcode END,"
		"  brand = CASE WHEN $16::boolean THEN EXCLUDED.brand ELSE p.brand END,"
		"  category = CASE WHEN $17::boolean THEN EXCLUDED.category ELSE p.category END,"
		"  tax_class = CASE WHEN $18::boolean THEN EXCLUDED.tax_class ELSE p.tax_class END,"
		"  stock_policy = CASE WHEN $19::boolean THEN EXCLUDED.stock_policy ELSE p.stock_policy END,"
		"  low_stock_threshold = CASE WHEN $20::boolean THEN EXCLUDED.low_stock_threshold"
		"                        ELSE p.low_stock_threshold END,"
		"  active = CASE WHEN $21::boolean THEN EXCLUDED.active ELSE p.active END,"
		"  favourite = CASE WHEN $22::boolean THEN EXCLUDED.favourite ELSE p.favourite END,"
		"  custom = CASE WHEN $23::boolean THEN EXCLUDED.custom ELSE p.custom END,"
		"  version = p.version + 1, updated_at = now()"
		" RETURNING p.sku, p.xmax = 0";
	const char *params[23], **cells;
	char *arrays[C__COUNT] = { 0 };
	PGresult *res = NULL;
	int rc = 0;

	if (!(cells = malloc(sizeof(*cells) * n)))
		return oom();
	if ((rc = read_old_barcodes(imp, ri, n, cells))) {
		free(cells);
		return rc;
	}
	for (int col = 0; col < C__COUNT && !rc; col++) {
		size_t k = imp->col_of[col] < 0 ? 0 : n; /* an absent column: an empty array, NULLs to unnest */
		for (size_t i = 0; i < k; i++)
			cells[i] = value(imp, &imp->rows[ri[i]], (enum col)col);
		if (!(arrays[col] = redstore__pg_text_array(cells, k)))
			rc = REDSTORE_ENOMEM;
	}
	free(cells);
	if (!rc) {
		params[0] = imp->store;
		params[1] = imp->currency;
		for (int col = 0; col < C__COUNT; col++)
			params[2 + col] = arrays[col];
		for (int col = C_BARCODE; col < C__COUNT; col++)
			params[14 + col - C_BARCODE] = imp->col_of[col] >= 0 ? "true" : "false";
		rc = tx_exec(&res, imp, sql, 23, params);
	}
	for (int col = 0; col < C__COUNT; col++)
		free(arrays[col]);
	if (rc)
		return rc;
	if ((rc = grow((void **)&a->rows, &a->cap, a->n + (size_t)PQntuples(res), sizeof(*a->rows)))) {
		PQclear(res);
		return rc;
	}
	for (int i = 0; i < PQntuples(res); i++) {
		long fi = rowmap_find(imp, &imp->by_sku, PQgetvalue(res, i, 0), 0, false, &rc);
		if (fi < 0) {
			rc = redstore__fail(REDSTORE_ERROR, "catalog import: PostgreSQL returned an unknown SKU");
			break;
		}
		a->rows[a->n++] = (uint32_t)fi;
		if (PQgetvalue(res, i, 1)[0] == 't')
			a->created++;
		else
			a->updated++;
	}
	PQclear(res);
	return rc;
}

static int write_rows(import *imp, applied *a)
{
	size_t *ri, n = 0;
	int rc;

	if (!(ri = malloc(sizeof(*ri) * REDSTORE__PG_CHUNK)))
		return oom();
	if ((rc = redstore__pg_exec(NULL, imp->c, "BEGIN", 0, NULL))) {
		free(ri);
		return rc;
	}
	/* Barcodes may move between products of the file: checked once, at the commit. */
	rc = tx_exec(NULL, imp, "SET CONSTRAINTS products_barcode_unique DEFERRED", 0, NULL);
	for (size_t i = 0; i <= imp->nrows && !rc; i++) {
		if (i < imp->nrows && imp->rows[i].msg == NO_MSG)
			ri[n++] = i;
		if (n && (n == REDSTORE__PG_CHUNK || i == imp->nrows)) {
			rc = upsert_chunk(imp, a, ri, n);
			n = 0;
		}
	}
	free(ri);
	if (!rc && !(rc = tx_exec(NULL, imp, "COMMIT", 0, NULL)))
		return 0;
	redstore__pg_rollback(imp->c);
	if (rc == REDSTORE_EEXISTS)
		return redstore__fail_wrap(rc, "catalog import: a barcode of the file was taken by another product while"
		                               " importing; nothing was written");
	return redstore__fail_wrap(rc, "catalog import: nothing was written");
}

/* Reads the imported products back and writes them to the cache, a chunk at a time. */
static int refresh_cache(import *imp, const applied *a)
{
	/* One primary-key probe per SKU. Right after a large import the statistics still describe the store
	 * as small, and a plain join is planned as a hash of the whole store for every chunk; OFFSET 0 keeps
	 * the LATERAL subquery from being flattened into such a join. */
	static const char sql[] = "SELECT " REDSTORE__PRODUCT_COLS ", u.old"
	                          " FROM unnest($2::text[], $3::text[]) AS u(sku, old),"
	                          " LATERAL (SELECT * FROM products WHERE store_id = $1 AND sku = u.sku OFFSET 0) AS p";
	redstore__prow *rows = NULL;
	const char **old = NULL, **skus = NULL, **olds = NULL;
	int rc = 0;

	if (!(rows = malloc(sizeof(*rows) * REDSTORE__PG_CHUNK)) || !(old = malloc(sizeof(*old) * REDSTORE__PG_CHUNK)) ||
	    !(skus = malloc(sizeof(*skus) * (a->n ? a->n : 1))) || !(olds = malloc(sizeof(*olds) * REDSTORE__PG_CHUNK))) {
		rc = oom();
		goto done;
	}
	for (size_t i = 0; i < a->n; i++)
		skus[i] = applied_sku(imp, a, i);
	for (size_t at = 0; at < a->n && !rc; at += REDSTORE__PG_CHUNK) {
		size_t n = a->n - at < REDSTORE__PG_CHUNK ? a->n - at : REDSTORE__PG_CHUNK;
		char *sku_arr, *old_arr;
		PGresult *res = NULL;
		for (size_t i = 0; i < n; i++) {
			const char *ob = imp->old_barcode ? imp->old_barcode[a->rows[at + i]] : NULL;
			olds[i] = ob ? ob : "";
		}
		sku_arr = redstore__pg_text_array(skus + at, n);
		old_arr = redstore__pg_text_array(olds, n);
		if (!sku_arr || !old_arr) {
			rc = REDSTORE_ENOMEM;
		} else {
			const char *params[3] = { imp->store, sku_arr, old_arr };
			if (!(rc = redstore__pg_exec(&res, imp->c, sql, 3, params))) {
				int m = PQntuples(res);
				for (int i = 0; i < m; i++) {
					redstore__prow_from_pg(&rows[i], res, i, 0);
					old[i] = PQgetvalue(res, i, REDSTORE__PRODUCT_NCOLS);
				}
				rc = redstore__catalog_cache_put(imp->c, imp->store, rows, (size_t)m, old);
			}
		}
		PQclear(res);
		free(sku_arr);
		free(old_arr);
	}
	if (rc && skus) {
		redstore__catalog_cache_forget(imp->c, imp->store, skus, a->n);
		redstore__fail_wrap(rc, "catalog import: saved, but the cache could not be refreshed");
	}
done:
	free(rows);
	free(old);
	free(skus);
	free(olds);
	return rc;
}

static int emit_imported(import *imp, const applied *a, const char *path)
{
	cJSON *o = cJSON_CreateObject(), *skus = cJSON_CreateArray();
	const char *base = strrchr(path, '/');
	int rc;

	if (!o || !skus || !cJSON_AddStringToObject(o, "file", base ? base + 1 : path) ||
	    !cJSON_AddNumberToObject(o, "rows", (double)imp->nrows) ||
	    !cJSON_AddNumberToObject(o, "created", (double)a->created) ||
	    !cJSON_AddNumberToObject(o, "updated", (double)a->updated) ||
	    !cJSON_AddNumberToObject(o, "skipped", (double)imp->nbad) ||
	    !cJSON_AddBoolToObject(o, "skus_truncated", a->n > EVENT_MAX_SKUS)) {
		cJSON_Delete(o);
		cJSON_Delete(skus);
		return oom();
	}
	cJSON_AddItemToObject(o, "skus", skus);
	for (size_t i = 0; i < a->n && i < EVENT_MAX_SKUS; i++) {
		cJSON *s = cJSON_CreateString(applied_sku(imp, a, i));
		if (!s) {
			cJSON_Delete(o);
			return oom();
		}
		cJSON_AddItemToArray(skus, s);
	}
	rc = redstore__catalog_emit(imp->c, imp->store, "catalog.imported", o);
	cJSON_Delete(o);
	return rc;
}

/* ------------------------------------------------------------ the report */

static int report_errors(redstore_import_report *rep, const import *imp)
{
	size_t listed = 0, total = imp->nbad + (imp->header_error[0] ? 1 : 0);
	size_t n = total > IMPORT_LISTED_ERRORS ? IMPORT_LISTED_ERRORS + 1 : total;

	if (!n)
		return 0;
	if (!(rep->errors = calloc(n, sizeof(*rep->errors))))
		return oom();
	if (imp->header_error[0]) {
		rep->errors[listed].line = imp->header_line;
		snprintf(rep->errors[listed].message, sizeof(rep->errors[listed].message), "%s", imp->header_error);
		listed++;
	}
	for (size_t i = 0; i < imp->nrows && listed < n; i++) {
		const row *r = &imp->rows[i];
		if (r->msg == NO_MSG)
			continue;
		rep->errors[listed].line = r->line;
		if (listed == IMPORT_LISTED_ERRORS)
			snprintf(rep->errors[listed].message, sizeof(rep->errors[listed].message),
			         "%zu more bad rows from this line on are not listed (the report lists the first %d)",
			         total - listed, IMPORT_LISTED_ERRORS);
		else
			snprintf(rep->errors[listed].message, sizeof(rep->errors[listed].message), "%s", imp->msgs + r->msg);
		listed++;
	}
	rep->error_count = listed;
	return 0;
}

void redstore_import_report_free(redstore_import_report *report)
{
	if (!report)
		return;
	free(report->errors);
	free(report);
}

/* ------------------------------------------------------------ the import */

static int read_file(import *imp, const char *path)
{
	struct stat st;
	FILE *f;
	size_t got;
	bool failed;

	if (!(f = fopen(path, "rb")))
		return redstore__fail(REDSTORE_EIO, "catalog import: cannot open %s: %s", path, strerror(errno));
	if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode)) {
		fclose(f);
		return redstore__fail(REDSTORE_EIO, "catalog import: %s is not a regular file", path);
	}
	if (st.st_size > IMPORT_MAX_BYTES) {
		fclose(f);
		return redstore__fail(REDSTORE_ELIMIT, "catalog import: %s is %lld bytes (the limit is 64 MiB)", path,
		                      (long long)st.st_size);
	}
	if (!(imp->buf = malloc((size_t)st.st_size + 1))) {
		fclose(f);
		return oom();
	}
	got = fread(imp->buf, 1, (size_t)st.st_size + 1, f);
	failed = ferror(f) != 0;
	fclose(f);
	if (failed)
		return redstore__fail(REDSTORE_EIO, "catalog import: %s could not be read", path);
	if (got > (size_t)st.st_size)
		return redstore__fail(REDSTORE_ELIMIT, "catalog import: %s grew while being read", path);
	imp->len = got;
	imp->buf[got] = '\0';
	return 0;
}

static int load_tax_classes(import *imp)
{
	const char *params[1] = { imp->store };
	PGresult *res;
	int rc;

	if ((rc = redstore__pg_exec(&res, imp->c, "SELECT code FROM tax_classes WHERE store_id = $1", 1, params)))
		return rc;
	if (PQntuples(res) && !(imp->tax = calloc((size_t)PQntuples(res), sizeof(*imp->tax))))
		rc = oom();
	for (int i = 0; i < PQntuples(res) && !rc; i++)
		if (!(imp->tax[imp->ntax++] = redstore__strdup(PQgetvalue(res, i, 0))))
			rc = oom();
	PQclear(res);
	return rc;
}

static void import_free(import *imp)
{
	free(imp->buf);
	free(imp->rows);
	free(imp->fields);
	free(imp->msgs);
	for (size_t i = 0; i < imp->ntax; i++)
		free(imp->tax[i]);
	free(imp->tax);
	free(imp->by_sku.slot);
	free(imp->by_barcode.slot);
	if (imp->old_barcode)
		for (size_t i = 0; i < imp->nrows; i++)
			free(imp->old_barcode[i]);
	free(imp->old_barcode);
}

int redstore_catalog_import_csv(redstore_import_report **out, redstore_client *c, const char *path, unsigned flags)
{
	import imp;
	applied a = { 0 };
	redstore__store_meta meta;
	redstore_import_report *rep = NULL;
	int rc;

	*out = NULL;
	memset(&imp, 0, sizeof(imp));
	imp.c = c;
	imp.flags = flags;
	imp.by_sku.col = C_SKU;
	imp.by_barcode.col = C_BARCODE;
	for (int col = 0; col < C__COUNT; col++)
		imp.col_of[col] = -1;
	if ((rc = redstore__need_store(&imp.store, c, "redstore_catalog_import_csv")))
		return rc;
	if (!path)
		return redstore__fail(REDSTORE_EINVALID, "redstore_catalog_import_csv: path is NULL");
	if (flags & ~REDSTORE_IMPORT_SKIP_BAD_ROWS)
		return redstore__fail(REDSTORE_EINVALID, "redstore_catalog_import_csv: unknown flags 0x%x", flags);
	if ((rc = redstore__store_meta_get(&meta, c)))
		return redstore__fail_wrap(rc, "redstore_catalog_import_csv");
	memcpy(imp.currency, meta.currency, sizeof(imp.currency));
	if ((rc = read_file(&imp, path)) || (rc = load_tax_classes(&imp)) || (rc = parse(&imp)))
		goto done;
	if (!imp.have_header)
		header_fail(&imp, 1, "the file is empty (expected a header row: sku,name,price,...)");
	if (!imp.fatal && imp.nbad < imp.nrows && (rc = check_existing_barcodes(&imp)))
		goto done;
	if (!(rep = calloc(1, sizeof(*rep)))) {
		rc = oom();
		goto done;
	}
	rep->rows = imp.nrows;
	if ((rc = report_errors(rep, &imp)))
		goto done;
	if (imp.fatal || (imp.nbad && !(flags & REDSTORE_IMPORT_SKIP_BAD_ROWS))) {
		if (imp.fatal)
			rc = redstore__fail(REDSTORE_EINVALID, "catalog import %s: line %u: %s; nothing was written", path,
			                    imp.header_line, imp.header_error);
		else
			rc = redstore__fail(REDSTORE_EINVALID,
			                    "catalog import %s: %zu bad row%s (first on line %zu: %s); nothing was written", path,
			                    imp.nbad, imp.nbad == 1 ? "" : "s", rep->errors[0].line, rep->errors[0].message);
		*out = rep;
		rep = NULL;
		goto done;
	}
	if (imp.nbad == imp.nrows)
		goto finish; /* nothing good to write */
	if ((rc = write_rows(&imp, &a)))
		goto done;
	rep->created = a.created;
	rep->updated = a.updated;
	rep->applied = 1;
	if ((rc = refresh_cache(&imp, &a)) || (rc = emit_imported(&imp, &a, path))) {
		redstore__fail_wrap(rc, "catalog import %s: committed (%zu created, %zu updated)", path, a.created, a.updated);
		goto done;
	}
finish:
	*out = rep;
	rep = NULL;
done:
	redstore_import_report_free(rep);
	free(a.rows);
	import_free(&imp);
	return rc;
}

int redstore__catalog_csv_parse(redstore_import_report **out, const char *data, size_t len, const char *store,
                                const char *const *tax_classes, size_t ntax)
{
	import imp;
	redstore_import_report *rep = NULL;
	int rc;

	*out = NULL;
	memset(&imp, 0, sizeof(imp));
	imp.store = store;
	imp.by_sku.col = C_SKU;
	imp.by_barcode.col = C_BARCODE;
	for (int col = 0; col < C__COUNT; col++)
		imp.col_of[col] = -1;
	if (len > IMPORT_MAX_BYTES)
		return redstore__fail(REDSTORE_ELIMIT, "catalog import: %zu bytes (the limit is 64 MiB)", len);
	if (!(imp.buf = malloc(len + 1)))
		return oom();
	memcpy(imp.buf, data, len);
	imp.buf[len] = '\0';
	imp.len = len;
	/* The tax classes are borrowed: import_free must not free them. */
	imp.tax = (char **)(uintptr_t)tax_classes;
	imp.ntax = ntax;
	rc = parse(&imp);
	if (!rc && !imp.have_header)
		header_fail(&imp, 1, "the file is empty (expected a header row: sku,name,price,...)");
	if (!rc && !(rep = calloc(1, sizeof(*rep))))
		rc = oom();
	if (!rc) {
		rep->rows = imp.nrows;
		rc = report_errors(rep, &imp);
	}
	if (!rc && imp.fatal)
		rc = redstore__fail(REDSTORE_EINVALID, "catalog import: line %u: %s", imp.header_line, imp.header_error);
	imp.tax = NULL;
	imp.ntax = 0;
	import_free(&imp);
	if (rc && rc != REDSTORE_EINVALID) {
		redstore_import_report_free(rep);
		return rc;
	}
	*out = rep;
	return rc;
}
