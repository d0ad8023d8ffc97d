/*
 * redstore.capi: the C API of libredstore as SWIG sees it, one %include per public header.
 *
 * This layer stays close to C: every function keeps its name and returns its redstore_err code; what C
 * returns through out-parameters comes back after the code ([code, out, ...]). The idiomatic layer
 * (redstore/__init__.py) turns codes into exceptions, frees what the library allocated and copies
 * results into Python values. Conventions of the typemaps below:
 *
 *  - `T **out` (an object the caller owns) gives a pointer object without ownership: the Python layer
 *    frees it with the matching _free function. `char **out` gives a str (the buffer is freed here);
 *    `const char **out` (borrowed) gives a str.
 *  - Optional scalar outputs (applied, added, handled...) come back as extra results.
 *  - Input structs (product, store, job spec, options) are dicts; arrays of lines are lists.
 *  - Callbacks are Python callables: the C trampolines take the GIL (worker handlers run on the worker's
 *    own threads), and the callable must outlive its registration (the Python layer keeps it). The
 *    terminal's event stream is the exception: redstore_py_terminal_events_start holds its own reference
 *    to the callable until redstore_py_terminal_events_stop (see the end of this file).
 *  - Every wrapped call releases the GIL (swig -threads), so a blocking call (consumer poll, worker run,
 *    a slow engine) never stops other Python threads.
 *
 * Adding a header: %include it at the end, then give its new out-parameter types REDSTORE_OUT() and
 * its optional outputs an %apply line.
 */
%module(package="redstore", threads="1") capi

%{
#define SWIG_FILE_WITH_INIT
#include <stdlib.h>
#include <string.h>
#include <redstore.h>
%}

%include <stdint.i>
%include <typemaps.i>
%include <carrays.i>

/* Results are read-only from Python: input structs are given as dicts, never built field by field. */
%immutable;

/* ------------------------------------------------------------------ helpers for the typemaps */
%{
/* Reads d[key] as a UTF-8 string (kept alive by the dict) when present and not None. */
static int rs_py_str(PyObject *d, const char *key, const char **out)
{
	PyObject *v = PyDict_GetItemString(d, key);
	if (!v || v == Py_None)
		return 0;
	if (!PyUnicode_Check(v)) {
		PyErr_Format(PyExc_TypeError, "'%s' must be a str", key);
		return -1;
	}
	*out = PyUnicode_AsUTF8(v);
	return *out ? 0 : -1;
}

static int rs_py_i64(PyObject *d, const char *key, int64_t *out)
{
	PyObject *v = PyDict_GetItemString(d, key);
	if (!v || v == Py_None)
		return 0;
	if (!PyLong_Check(v)) {
		PyErr_Format(PyExc_TypeError, "'%s' must be an int", key);
		return -1;
	}
	long long x = PyLong_AsLongLong(v);
	if (x == -1 && PyErr_Occurred())
		return -1;
	*out = (int64_t)x;
	return 0;
}

static int rs_py_int(PyObject *d, const char *key, int *out)
{
	int64_t x = *out;
	if (rs_py_i64(d, key, &x))
		return -1;
	if (x < INT32_MIN || x > INT32_MAX) {
		PyErr_Format(PyExc_OverflowError, "'%s' is out of range", key);
		return -1;
	}
	*out = (int)x;
	return 0;
}

static int rs_py_size(PyObject *d, const char *key, size_t *out)
{
	int64_t x = (int64_t)*out;
	if (rs_py_i64(d, key, &x))
		return -1;
	if (x < 0) {
		PyErr_Format(PyExc_ValueError, "'%s' must not be negative", key);
		return -1;
	}
	*out = (size_t)x;
	return 0;
}

static int rs_py_need_dict(PyObject *o, const char *what)
{
	if (PyDict_Check(o))
		return 0;
	PyErr_Format(PyExc_TypeError, "%s must be a dict", what);
	return -1;
}

/* A sequence of at most `max` items, as a new reference to a list or tuple (PySequence_Fast). */
static PyObject *rs_py_seq(PyObject *o, const char *what)
{
	PyObject *seq = PySequence_Fast(o, what);
	if (seq && (size_t)PySequence_Fast_GET_SIZE(seq) > 1000000) {
		Py_DECREF(seq);
		PyErr_Format(PyExc_ValueError, "%s: more than 1000000 items", what);
		return NULL;
	}
	return seq;
}
%}

/* ------------------------------------------------------------------ out-parameters */
%define REDSTORE_OUT(TYPE)
%typemap(in, numinputs=0) TYPE **out (TYPE *tmp = NULL) {
	$1 = &tmp;
}
%typemap(argout) TYPE **out {
	$result = SWIG_Python_AppendOutput($result, SWIG_NewPointerObj(SWIG_as_voidptr(tmp$argnum), $descriptor(TYPE *), 0));
}
%enddef

REDSTORE_OUT(redstore_config)
REDSTORE_OUT(redstore_client)
REDSTORE_OUT(redstore_sale)
REDSTORE_OUT(redstore_receipt)
REDSTORE_OUT(redstore_product)
REDSTORE_OUT(redstore_product_page)
REDSTORE_OUT(redstore_import_report)
REDSTORE_OUT(redstore_stock_result)
REDSTORE_OUT(redstore_event)
REDSTORE_OUT(redstore_consumer)
REDSTORE_OUT(redstore_worker)
REDSTORE_OUT(redstore_changes)
REDSTORE_OUT(redstore_snapshot)
REDSTORE_OUT(redstore_sales_report)
REDSTORE_OUT(redstore_transactions_report)
REDSTORE_OUT(redstore_stock_value_report)
REDSTORE_OUT(redstore_shift_report)
REDSTORE_OUT(redstore_reorder_report)
REDSTORE_OUT(redstore_reconcile_report)

/* A buffer the library allocated for the caller: a str, freed here. */
%typemap(in, numinputs=0) char **out (char *tmp = NULL) {
	$1 = &tmp;
}
%typemap(argout) char **out {
	PyObject *s = tmp$argnum ? PyUnicode_FromString(tmp$argnum) : (Py_INCREF(Py_None), Py_None);
	redstore_free(tmp$argnum);
	if (!s)
		SWIG_fail;
	$result = SWIG_Python_AppendOutput($result, s);
}

/* A borrowed string (redstore_config_get). */
%typemap(in, numinputs=0) const char **out (const char *tmp = NULL) {
	$1 = &tmp;
}
%typemap(argout) const char **out {
	$result = SWIG_Python_AppendOutput($result, tmp$argnum ? PyUnicode_FromString(tmp$argnum) : (Py_INCREF(Py_None), Py_None));
}

/* Fixed-size text outputs: ids and signatures. */
%typemap(in, numinputs=0) char out[ANY] (char tmp[$1_dim0]) {
	memset(tmp, 0, sizeof(tmp));
	$1 = tmp;
}
%typemap(argout) char out[ANY] {
	$result = SWIG_Python_AppendOutput($result, PyUnicode_FromString(tmp$argnum));
}
%typemap(in, numinputs=0) char *out_id (char tmp[REDSTORE_JOB_ID_SIZE]) {
	tmp[0] = '\0';
	$1 = tmp;
}
%typemap(argout) char *out_id {
	$result = SWIG_Python_AppendOutput($result, PyUnicode_FromString(tmp$argnum));
}

/* redstore_store_day_range: the date answered ("YYYY-MM-DD"). */
%typemap(in, numinputs=0) char *resolved (char tmp[11]) {
	tmp[0] = '\0';
	$1 = tmp;
}
%typemap(argout) char *resolved {
	$result = SWIG_Python_AppendOutput($result, PyUnicode_FromString(tmp$argnum));
}

/* Optional and scalar outputs. */
%apply int64_t *OUTPUT { int64_t *from_ms, int64_t *to_ms };
%apply int *OUTPUT { int *applied, int *added, int *queued, int *out, int *major, int *minor, int *patch };
%apply int32_t *OUTPUT { int32_t *out };
%apply int64_t *OUTPUT { int64_t *out, int64_t *moved, int64_t *purged };
%apply size_t *OUTPUT { size_t *applied, size_t *loaded, size_t *released, size_t *handled, size_t *line, size_t *count };

/* ------------------------------------------------------------------ byte strings */
%typemap(in) (const void *data, size_t len), (const char *event_json, size_t len), (const void *body, size_t len) {
	char *buf;
	Py_ssize_t n;
	if (PyUnicode_Check($input)) {
		buf = (char *)PyUnicode_AsUTF8AndSize($input, &n);
		if (!buf)
			SWIG_fail;
	} else if (PyBytes_Check($input)) {
		if (PyBytes_AsStringAndSize($input, &buf, &n))
			SWIG_fail;
	} else {
		PyErr_SetString(PyExc_TypeError, "expected bytes or str");
		SWIG_fail;
	}
	$1 = ($1_ltype)buf;
	$2 = (size_t)n;
}

/* ------------------------------------------------------------------ input structs from dicts */
%typemap(in) const redstore_store_info *info (redstore_store_info tmp) {
	memset(&tmp, 0, sizeof(tmp));
	if (rs_py_need_dict($input, "store") || rs_py_str($input, "store_id", &tmp.store_id) ||
	    rs_py_str($input, "name", &tmp.name) || rs_py_str($input, "currency", &tmp.currency) ||
	    rs_py_str($input, "timezone", &tmp.timezone) ||
	    rs_py_int($input, "prices_include_tax", &tmp.prices_include_tax))
		SWIG_fail;
	$1 = &tmp;
}

%typemap(in) const redstore_product *p (redstore_product tmp) {
	int policy = 0;
	memset(&tmp, 0, sizeof(tmp));
	tmp.active = 1;
	if (rs_py_need_dict($input, "product") || rs_py_str($input, "sku", &tmp.sku) ||
	    rs_py_str($input, "barcode", &tmp.barcode) || rs_py_str($input, "name", &tmp.name) ||
	    rs_py_str($input, "brand", &tmp.brand) || rs_py_str($input, "category", &tmp.category) ||
	    rs_py_str($input, "currency", &tmp.currency) || rs_py_str($input, "tax_class", &tmp.tax_class) ||
	    rs_py_str($input, "custom_json", &tmp.custom_json) || rs_py_i64($input, "price", &tmp.price) ||
	    rs_py_i64($input, "low_stock_threshold", &tmp.low_stock_threshold) ||
	    rs_py_int($input, "stock_policy", &policy) || rs_py_int($input, "active", &tmp.active) ||
	    rs_py_int($input, "favourite", &tmp.favourite))
		SWIG_fail;
	tmp.stock_policy = (redstore_stock_policy)policy;
	$1 = &tmp;
}

%{
/* A job spec from a dict; its strings stay owned by the dict. */
static int rs_py_job_spec(PyObject *d, redstore_job_spec *s)
{
	int backoff = 0;
	memset(s, 0, sizeof(*s));
	if (rs_py_need_dict(d, "job spec") || rs_py_str(d, "id", &s->id) || rs_py_str(d, "payload", &s->payload) ||
	    rs_py_i64(d, "delay_ms", &s->delay_ms) || rs_py_i64(d, "run_at_ms", &s->run_at_ms) ||
	    rs_py_int(d, "priority", &s->priority) || rs_py_int(d, "max_attempts", &s->max_attempts) ||
	    rs_py_int(d, "backoff", &backoff) || rs_py_i64(d, "backoff_ms", &s->backoff_ms) ||
	    rs_py_i64(d, "backoff_max_ms", &s->backoff_max_ms) || rs_py_int(d, "jitter_pct", &s->jitter_pct) ||
	    rs_py_i64(d, "ttl_ms", &s->ttl_ms))
		return -1;
	s->backoff = (redstore_backoff)backoff;
	return 0;
}
%}
%typemap(in) const redstore_job_spec *spec (redstore_job_spec tmp) {
	if ($input == Py_None) {
		$1 = NULL;
	} else {
		if (rs_py_job_spec($input, &tmp))
			SWIG_fail;
		$1 = &tmp;
	}
}

%typemap(in) const redstore_consumer_options *options (redstore_consumer_options tmp) {
	memset(&tmp, 0, sizeof(tmp));
	if (rs_py_need_dict($input, "consumer options") || rs_py_str($input, "group_id", &tmp.group_id) ||
	    rs_py_str($input, "pattern", &tmp.pattern) || rs_py_size($input, "batch_max", &tmp.batch_max) ||
	    rs_py_int($input, "max_attempts", &tmp.max_attempts))
		SWIG_fail;
	$1 = &tmp;
}

%typemap(in) const redstore_worker_options *options (redstore_worker_options tmp) {
	memset(&tmp, 0, sizeof(tmp));
	if ($input == Py_None) {
		$1 = NULL;
	} else {
		if (rs_py_need_dict($input, "worker options") || rs_py_int($input, "concurrency", &tmp.concurrency) ||
		    rs_py_i64($input, "lease_ms", &tmp.lease_ms) || rs_py_int($input, "batch", &tmp.batch) ||
		    rs_py_i64($input, "idle_ms", &tmp.idle_ms))
			SWIG_fail;
		$1 = &tmp;
	}
}

/* Maintenance options; None: the defaults (the projector's group, 30 s). */
%typemap(in) const redstore_maintenance_options *options (redstore_maintenance_options tmp) {
	memset(&tmp, 0, sizeof(tmp));
	if ($input == Py_None) {
		$1 = NULL;
	} else {
		if (rs_py_need_dict($input, "maintenance options") || rs_py_str($input, "group_id", &tmp.group_id) ||
		    rs_py_int($input, "wait_ms", &tmp.wait_ms))
			SWIG_fail;
		$1 = &tmp;
	}
}

/* Report options; None: the defaults (hourly buckets, no grouping). */
%typemap(in) const redstore_report_options *options (redstore_report_options tmp) {
	int bucket = REDSTORE_BUCKET_HOUR, group_by = REDSTORE_GROUP_NONE;
	memset(&tmp, 0, sizeof(tmp));
	if ($input == Py_None) {
		$1 = NULL;
	} else {
		if (rs_py_need_dict($input, "report options") || rs_py_int($input, "bucket", &bucket) ||
		    rs_py_int($input, "group_by", &group_by) || rs_py_int($input, "force_raw", &tmp.force_raw))
			SWIG_fail;
		tmp.bucket = (redstore_bucket)bucket;
		tmp.group_by = (redstore_group_by)group_by;
		$1 = &tmp;
	}
}

/* ------------------------------------------------------------------ arrays from lists */
/* Stock lines: a list of (sku, qty) or (sku, qty, unit_cost). None: no lines. */
%typemap(in) (size_t n, const redstore_stock_line *lines) (PyObject *seq = NULL) {
	Py_ssize_t i, count;
	$1 = 0;
	$2 = NULL;
	if ($input != Py_None) {
		if (!(seq = rs_py_seq($input, "stock lines must be a sequence of (sku, qty[, unit_cost])")))
			SWIG_fail;
		count = PySequence_Fast_GET_SIZE(seq);
		$2 = (redstore_stock_line *)calloc(count ? (size_t)count : 1, sizeof(redstore_stock_line));
		if (!$2) {
			PyErr_NoMemory();
			SWIG_fail;
		}
		for (i = 0; i < count; i++) {
			PyObject *t = PySequence_Fast_GET_ITEM(seq, i);
			long long qty, cost = 0;
			if (!PyTuple_Check(t) || PyTuple_GET_SIZE(t) < 2 || PyTuple_GET_SIZE(t) > 3 ||
			    !PyUnicode_Check(PyTuple_GET_ITEM(t, 0))) {
				PyErr_Format(PyExc_TypeError, "stock line %zd must be a tuple (sku, qty[, unit_cost])", i);
				SWIG_fail;
			}
			qty = PyLong_AsLongLong(PyTuple_GET_ITEM(t, 1));
			if (PyTuple_GET_SIZE(t) == 3)
				cost = PyLong_AsLongLong(PyTuple_GET_ITEM(t, 2));
			if (PyErr_Occurred())
				SWIG_fail;
			$2[i].sku = PyUnicode_AsUTF8(PyTuple_GET_ITEM(t, 0));
			if (!$2[i].sku)
				SWIG_fail;
			$2[i].qty = qty;
			$2[i].unit_cost = cost;
		}
		$1 = (size_t)count;
	}
}
%typemap(freearg) (size_t n, const redstore_stock_line *lines) {
	free((void *)$2);
	Py_XDECREF(seq$argnum);
}

/* Refund lines: a list of (line index, qty). */
%typemap(in) (size_t n, const redstore_refund_line *lines) (PyObject *seq = NULL) {
	Py_ssize_t i, count;
	if (!(seq = rs_py_seq($input, "refund lines must be a sequence of (line, qty)")))
		SWIG_fail;
	count = PySequence_Fast_GET_SIZE(seq);
	$2 = (redstore_refund_line *)calloc(count ? (size_t)count : 1, sizeof(redstore_refund_line));
	if (!$2) {
		PyErr_NoMemory();
		SWIG_fail;
	}
	for (i = 0; i < count; i++) {
		PyObject *t = PySequence_Fast_GET_ITEM(seq, i);
		if (!PyTuple_Check(t) || PyTuple_GET_SIZE(t) != 2) {
			PyErr_Format(PyExc_TypeError, "refund line %zd must be a tuple (line, qty)", i);
			SWIG_fail;
		}
		$2[i].line = PyLong_AsSize_t(PyTuple_GET_ITEM(t, 0));
		$2[i].qty = PyLong_AsLongLong(PyTuple_GET_ITEM(t, 1));
		if (PyErr_Occurred())
			SWIG_fail;
	}
	$1 = (size_t)count;
}
%typemap(freearg) (size_t n, const redstore_refund_line *lines) {
	free((void *)$2);
	Py_XDECREF(seq$argnum);
}

/* SKUs of redstore_stock_get: a list of str. */
%typemap(in) (size_t n, const char *const *skus) (PyObject *seq = NULL) {
	Py_ssize_t i, count;
	if (!(seq = rs_py_seq($input, "skus must be a sequence of str")))
		SWIG_fail;
	count = PySequence_Fast_GET_SIZE(seq);
	$2 = (const char **)calloc(count ? (size_t)count : 1, sizeof(char *));
	if (!$2) {
		PyErr_NoMemory();
		SWIG_fail;
	}
	for (i = 0; i < count; i++) {
		PyObject *s = PySequence_Fast_GET_ITEM(seq, i);
		if (!PyUnicode_Check(s) || !($2[i] = PyUnicode_AsUTF8(s))) {
			if (!PyErr_Occurred())
				PyErr_Format(PyExc_TypeError, "sku %zd must be a str", i);
			SWIG_fail;
		}
	}
	$1 = (size_t)count;
}
%typemap(freearg) (size_t n, const char *const *skus) {
	free((void *)$2);
	Py_XDECREF(seq$argnum);
}

/* Decoded events for redstore_projector_apply: a list of event objects. */
%typemap(in) (const redstore_event *const *events, size_t n) (PyObject *seq = NULL) {
	Py_ssize_t i, count;
	if (!(seq = rs_py_seq($input, "events must be a sequence of redstore_event")))
		SWIG_fail;
	count = PySequence_Fast_GET_SIZE(seq);
	$1 = (const redstore_event **)calloc(count ? (size_t)count : 1, sizeof(redstore_event *));
	if (!$1) {
		PyErr_NoMemory();
		SWIG_fail;
	}
	for (i = 0; i < count; i++) {
		void *p = NULL;
		if (!SWIG_IsOK(SWIG_ConvertPtr(PySequence_Fast_GET_ITEM(seq, i), &p, $descriptor(redstore_event *), 0)) || !p) {
			PyErr_Format(PyExc_TypeError, "event %zd is not a redstore_event", i);
			SWIG_fail;
		}
		$1[i] = (const redstore_event *)p;
	}
	$2 = (size_t)count;
}
%typemap(freearg) (const redstore_event *const *events, size_t n) {
	free((void *)$1);
	Py_XDECREF(seq$argnum);
}

/* ------------------------------------------------------------------ callbacks */
%{
/* Wraps a borrowed C pointer for the duration of a callback. */
static PyObject *rs_py_borrowed(const void *p, swig_type_info *type)
{
	return SWIG_NewPointerObj((void *)p, type, 0);
}

/* A callback's result as a code: None and True are 0, an int is itself; anything else is an error. */
static int rs_py_result_code(PyObject *res, PyObject *fn)
{
	long v;
	if (!res) {
		PyErr_WriteUnraisable(fn);
		return REDSTORE_ERROR;
	}
	if (res == Py_None || res == Py_True)
		return 0;
	if (res == Py_False)
		return REDSTORE_ERROR;
	v = PyLong_AsLong(res);
	if (v == -1 && PyErr_Occurred()) {
		PyErr_WriteUnraisable(fn);
		return REDSTORE_ERROR;
	}
	return (int)v;
}

static int rs_py_event_tramp(const redstore_event *event, void *payload)
{
	PyGILState_STATE gil = PyGILState_Ensure();
	PyObject *fn = (PyObject *)payload;
	PyObject *ev = rs_py_borrowed(event, SWIGTYPE_p_redstore_event);
	PyObject *res = ev ? PyObject_CallFunctionObjArgs(fn, ev, NULL) : NULL;
	int rc = rs_py_result_code(res, fn);
	Py_XDECREF(res);
	Py_XDECREF(ev);
	PyGILState_Release(gil);
	return rc;
}

static int rs_py_batch_tramp(const redstore_event *const *events, size_t n, void *payload)
{
	PyGILState_STATE gil = PyGILState_Ensure();
	PyObject *fn = (PyObject *)payload, *res = NULL;
	PyObject *list = PyList_New((Py_ssize_t)n);
	size_t i;
	int rc;
	for (i = 0; list && i < n; i++) {
		PyObject *ev = rs_py_borrowed(events[i], SWIGTYPE_p_redstore_event);
		if (!ev) {
			Py_CLEAR(list);
			break;
		}
		PyList_SET_ITEM(list, (Py_ssize_t)i, ev);
	}
	if (list)
		res = PyObject_CallFunctionObjArgs(fn, list, NULL);
	rc = rs_py_result_code(res, fn);
	Py_XDECREF(res);
	Py_XDECREF(list);
	PyGILState_Release(gil);
	return rc;
}

/*
 * A job handler's result: an outcome (int), or (outcome, error text). An exception is RETRY with its
 * text as the job's error.
 */
static redstore_job_outcome rs_py_job_tramp(const redstore_job *job, redstore_client *client, char *error,
                                            size_t error_cap, void *payload)
{
	PyGILState_STATE gil = PyGILState_Ensure();
	PyObject *fn = (PyObject *)payload, *res = NULL, *text = NULL;
	PyObject *j = rs_py_borrowed(job, SWIGTYPE_p_redstore_job);
	PyObject *c = rs_py_borrowed(client, SWIGTYPE_p_redstore_client);
	redstore_job_outcome outcome = REDSTORE_JOB_RETRY;
	if (j && c)
		res = PyObject_CallFunctionObjArgs(fn, j, c, NULL);
	if (!res) {
		PyErr_WriteUnraisable(fn);
		snprintf(error, error_cap, "the Python job handler raised an exception");
	} else {
		PyObject *code = res;
		if (PyTuple_Check(res) && PyTuple_GET_SIZE(res) == 2) {
			code = PyTuple_GET_ITEM(res, 0);
			text = PyTuple_GET_ITEM(res, 1);
		}
		long v = code == Py_None ? 0 : PyLong_AsLong(code);
		if (v == -1 && PyErr_Occurred()) {
			PyErr_WriteUnraisable(fn);
			snprintf(error, error_cap, "the Python job handler returned neither an outcome nor (outcome, error)");
		} else if (v == REDSTORE_JOB_DONE || v == REDSTORE_JOB_RETRY || v == REDSTORE_JOB_FAIL) {
			outcome = (redstore_job_outcome)v;
			if (text && PyUnicode_Check(text)) {
				const char *s = PyUnicode_AsUTF8(text);
				if (s)
					snprintf(error, error_cap, "%s", s);
				else
					PyErr_Clear();
			}
		} else {
			snprintf(error, error_cap, "the Python job handler returned the unknown outcome %ld", v);
		}
	}
	Py_XDECREF(res);
	Py_XDECREF(j);
	Py_XDECREF(c);
	PyGILState_Release(gil);
	return outcome;
}
%}

%typemap(in) (redstore_event_cb cb, void *payload) {
	if (!PyCallable_Check($input)) {
		PyErr_SetString(PyExc_TypeError, "the event handler must be callable");
		SWIG_fail;
	}
	$1 = rs_py_event_tramp;
	$2 = (void *)$input;
}
%typemap(in) (redstore_batch_cb cb, void *payload) {
	if (!PyCallable_Check($input)) {
		PyErr_SetString(PyExc_TypeError, "the batch handler must be callable");
		SWIG_fail;
	}
	$1 = rs_py_batch_tramp;
	$2 = (void *)$input;
}
/* A job handler: a Python callable, or one of the library's handlers (WEBHOOK_HANDLER, EOD_HANDLER). */
%typemap(in) (redstore_job_cb cb, void *payload) {
	void *fp = NULL;
	if (SWIG_IsOK(SWIG_ConvertFunctionPtr($input, &fp, $descriptor(redstore_job_cb))) && fp) {
		$1 = (redstore_job_cb)fp;
		$2 = NULL;
	} else if (PyCallable_Check($input)) {
		$1 = rs_py_job_tramp;
		$2 = (void *)$input;
	} else {
		PyErr_SetString(PyExc_TypeError, "the job handler must be callable");
		SWIG_fail;
	}
}
%constant redstore_job_cb WEBHOOK_HANDLER = redstore_webhook_handler;
%constant redstore_job_cb EOD_HANDLER = redstore_eod_handler;
/* The handlers themselves are C callbacks, not Python calls. */
%ignore redstore_webhook_handler;
%ignore redstore_eod_handler;

/* Batches go through redstore_py_sale_commit_many and redstore_py_job_add_many below. */
%ignore redstore_sale_commit_many;
%ignore redstore_job_add_many;

/* ------------------------------------------------------------------ arrays the caller provides */
%array_class(redstore_engine_health, EngineHealthArray);
%array_class(redstore_topic_status, TopicStatusArray);
%array_class(redstore_stock_level, StockLevelArray);
%array_class(redstore_job, JobArray);
%array_class(redstore_partition_lag, PartitionLagArray);

/* ------------------------------------------------------------------ the terminal client */
/*
 * The live events of a terminal reach Python through redstore_py_terminal_events_start/_stop (at the end
 * of this file), not through redstore_terminal_events_start: a C callback cannot own the Python callable,
 * and stopping must release the GIL while it joins the stream thread.
 */
%ignore redstore_terminal_events_start;
REDSTORE_OUT(redstore_terminal)
REDSTORE_OUT(redstore_journal_entry)
%apply char **out { char **receipt };
%apply long *OUTPUT { long *status };
%apply size_t *OUTPUT { size_t *settled };
%typemap(in, numinputs=0) redstore_journal_state *state (redstore_journal_state tmp = REDSTORE_JOURNAL_PENDING) {
	$1 = &tmp;
}
%typemap(argout) redstore_journal_state *state {
	$result = SWIG_Python_AppendOutput($result, PyLong_FromLong((long)tmp$argnum));
}
%array_class(redstore_journal_entry, JournalEntryArray);

/* ------------------------------------------------------------------ the headers */
%include "redstore/common.h"
%include "redstore/errors.h"
%include "redstore/version.h"
%include "redstore/config.h"
%include "redstore/client.h"
%include "redstore/db.h"
%include "redstore/catalog.h"
%include "redstore/inventory.h"
%include "redstore/sale.h"
%include "redstore/events.h"
%include "redstore/jobs.h"
%include "redstore/sync.h"
%include "redstore/analytics.h"
%include "redstore/maintenance.h"
%include "redstore/terminal.h"
%include "redstore/auth.h"
%include "redstore/shift.h"

/* The committer and the hub: their callbacks run on the library's threads, so from Python they are C
 * function pointers (a C program's or NULL); Python code commits with redstore_sale_commit on a client
 * given a committer (redstore_client_set_committer), which batches Python threads' sales too. */
REDSTORE_OUT(redstore_committer)
REDSTORE_OUT(redstore_hub)
REDSTORE_OUT(redstore_hub_conn)
%include "redstore/commit.h"
%include "redstore/hub.h"

/* ------------------------------------------------------------------ items of result arrays (borrowed) */
%extend redstore_product_page {
	redstore_product *item_at(size_t i) { return i < $self->count ? $self->items[i] : NULL; }
}
%extend redstore_import_report {
	redstore_import_error *error_at(size_t i) { return i < $self->error_count ? &$self->errors[i] : NULL; }
}
%extend redstore_changes {
	redstore_change *item_at(size_t i) { return i < $self->count ? &$self->items[i] : NULL; }
}
%extend redstore_change {
	redstore_change_line *line_at(size_t i) { return i < $self->line_count ? &$self->lines[i] : NULL; }
}
%extend redstore_snapshot {
	redstore_snapshot_line *line_at(size_t i) { return i < $self->count ? &$self->lines[i] : NULL; }
}
%extend redstore_reconcile_report {
	redstore_stock_difference *difference_at(size_t i) { return i < $self->count ? &$self->differences[i] : NULL; }
}
%extend redstore_sales_report {
	redstore_sales_row *row_at(size_t i) { return i < $self->count ? &$self->rows[i] : NULL; }
}
%extend redstore_transactions_report {
	redstore_transactions_row *row_at(size_t i) { return i < $self->count ? &$self->rows[i] : NULL; }
}
%extend redstore_stock_value_report {
	redstore_stock_value_row *row_at(size_t i) { return i < $self->count ? &$self->rows[i] : NULL; }
}
%extend redstore_pattern_report {
	redstore_pattern_cell *cell_at(int weekday, int hour)
	{
		return weekday >= 0 && weekday < 7 && hour >= 0 && hour < 24 ? &$self->cells[weekday][hour] : NULL;
	}
	int64_t days_of(int weekday) { return weekday >= 0 && weekday < 7 ? $self->days[weekday] : 0; }
}
%extend redstore_shift_report {
	redstore_shift_tender_total *tender_at(size_t i) { return i < $self->tender_count ? &$self->tenders[i] : NULL; }
}
%extend redstore_reorder_report {
	redstore_reorder_row *row_at(size_t i) { return i < $self->count ? &$self->rows[i] : NULL; }
}
%extend redstore_receipt {
	redstore_receipt_line *line_at(size_t i) { return i < $self->line_count ? &$self->lines[i] : NULL; }
	redstore_receipt_tender *tender_at(size_t i) { return i < $self->tender_count ? &$self->tenders[i] : NULL; }
}
%extend redstore_stock_result {
	redstore_stock_level *level_at(size_t i) { return i < $self->count ? &$self->levels[i] : NULL; }
}

/* ------------------------------------------------------------------ batch commit */
%nothread redstore_py_sale_commit_many;
%inline %{
/*
 * redstore_sale_commit_many for a list of sales: returns [code, [(code_i, receipt_i or None), ...]].
 * Receipts are owned by the caller (free with redstore_receipt_free).
 */
static PyObject *redstore_py_sale_commit_many(redstore_client *client, PyObject *sales)
{
	PyObject *seq = rs_py_seq(sales, "sales must be a sequence of redstore_sale"), *list = NULL, *ret = NULL;
	const redstore_sale **v = NULL;
	redstore_receipt **out = NULL;
	int *results = NULL, rc;
	Py_ssize_t i, n;
	if (!seq)
		return NULL;
	n = PySequence_Fast_GET_SIZE(seq);
	v = (const redstore_sale **)calloc(n ? (size_t)n : 1, sizeof(*v));
	out = (redstore_receipt **)calloc(n ? (size_t)n : 1, sizeof(*out));
	results = (int *)calloc(n ? (size_t)n : 1, sizeof(*results));
	if (!v || !out || !results) {
		PyErr_NoMemory();
		goto done;
	}
	for (i = 0; i < n; i++) {
		void *p = NULL;
		if (!SWIG_IsOK(SWIG_ConvertPtr(PySequence_Fast_GET_ITEM(seq, i), &p, SWIGTYPE_p_redstore_sale, 0)) || !p) {
			PyErr_Format(PyExc_TypeError, "sale %zd is not a redstore_sale", i);
			goto done;
		}
		v[i] = (const redstore_sale *)p;
	}
	Py_BEGIN_ALLOW_THREADS
	rc = redstore_sale_commit_many(out, results, client, (size_t)n, v);
	Py_END_ALLOW_THREADS
	if (!(list = PyList_New(n)))
		goto done;
	for (i = 0; i < n; i++) {
		PyObject *r = out[i] ? SWIG_NewPointerObj(out[i], SWIGTYPE_p_redstore_receipt, 0) : (Py_INCREF(Py_None), Py_None);
		PyObject *t = r ? Py_BuildValue("(iN)", results[i], r) : NULL;
		if (!t)
			goto done;
		out[i] = NULL;
		PyList_SET_ITEM(list, i, t);
	}
	ret = Py_BuildValue("[iO]", rc, list);
done:
	if (out)
		for (i = 0; i < n; i++)
			redstore_receipt_free(out[i]);
	free(out);
	free(results);
	free((void *)v);
	Py_XDECREF(list);
	Py_DECREF(seq);
	return ret;
}
%}

%nothread redstore_py_job_add_many;
%inline %{
/* redstore_job_add_many for a list of spec dicts: returns [code, [added_i, ...]]. */
static PyObject *redstore_py_job_add_many(redstore_client *client, const char *queue, PyObject *specs)
{
	PyObject *seq = rs_py_seq(specs, "specs must be a sequence of dicts"), *list = NULL, *ret = NULL;
	redstore_job_spec *v = NULL;
	int *added = NULL, rc;
	Py_ssize_t i, n;
	if (!seq)
		return NULL;
	n = PySequence_Fast_GET_SIZE(seq);
	v = (redstore_job_spec *)calloc(n ? (size_t)n : 1, sizeof(*v));
	added = (int *)calloc(n ? (size_t)n : 1, sizeof(*added));
	if (!v || !added) {
		PyErr_NoMemory();
		goto done;
	}
	for (i = 0; i < n; i++)
		if (rs_py_job_spec(PySequence_Fast_GET_ITEM(seq, i), &v[i]))
			goto done;
	Py_BEGIN_ALLOW_THREADS
	rc = redstore_job_add_many(client, queue, v, (size_t)n, added);
	Py_END_ALLOW_THREADS
	if (!(list = PyList_New(n)))
		goto done;
	for (i = 0; i < n; i++)
		PyList_SET_ITEM(list, i, PyBool_FromLong(added[i]));
	ret = Py_BuildValue("[iO]", rc, list);
done:
	free(v);
	free(added);
	Py_XDECREF(list);
	Py_DECREF(seq);
	return ret;
}
%}

/* ------------------------------------------------------------------ the terminal's live events */
/*
 * A terminal's event stream delivering to a Python callable, fn(event, id, data) with three str: the
 * event type ("change", "resync", "snapshot"), its stream id ("" for resync) and its JSON data.
 *
 * Ownership: redstore_py_terminal_events_start takes a reference to fn and returns a stream handle
 * (redstore_py_stream *, not owned by the Python object); redstore_py_terminal_events_stop stops the stream,
 * drops the reference and frees the handle: call it exactly once per handle, before
 * redstore_terminal_free(). redstore/__init__.py (Terminal) does both.
 *
 * Threads: fn runs on the terminal's stream thread with the GIL taken (PyGILState_Ensure) for the call
 * only. An exception raised by fn goes to sys.unraisablehook (PyErr_WriteUnraisable) and the stream goes
 * on with the next event. Stopping releases the GIL while it waits for the stream thread (which may be
 * waiting for the GIL to finish a call); stopping a stream from its own callback raises RuntimeError
 * instead of waiting for itself.
 */
%{
typedef struct redstore_py_stream {
	redstore_terminal *t;
	PyObject *fn; /* a strong reference, from start until stop */
} redstore_py_stream;

/* The stream whose callback this thread is running (each stream has a thread of its own). */
static _Thread_local redstore_py_stream *rs_py_in_stream;

static void rs_py_stream_tramp(const char *event, const char *id, const char *data, void *payload)
{
	redstore_py_stream *s = (redstore_py_stream *)payload;
	PyGILState_STATE gil = PyGILState_Ensure();
	PyObject *res;
	rs_py_in_stream = s;
	res = PyObject_CallFunction(s->fn, "sss", event, id, data);
	if (!res)
		PyErr_WriteUnraisable(s->fn); /* sys.unraisablehook runs here: still this stream's thread */
	Py_XDECREF(res);
	rs_py_in_stream = NULL;
	PyGILState_Release(gil);
}
%}

/* Opaque to Python. */
typedef struct redstore_py_stream redstore_py_stream;

%nothread redstore_py_terminal_events_start;
%nothread redstore_py_terminal_events_stop;
%inline %{
/*
 * Starts the terminal's event stream (after last_event_id, None: from now on) delivering to fn. Returns
 * [code, stream handle or None].
 */
static PyObject *redstore_py_terminal_events_start(redstore_terminal *t, const char *last_event_id, PyObject *fn)
{
	redstore_py_stream *s;
	PyObject *handle;
	int rc;
	if (!t) {
		PyErr_SetString(PyExc_ValueError, "the terminal is NULL");
		return NULL;
	}
	if (!PyCallable_Check(fn)) {
		PyErr_SetString(PyExc_TypeError, "the terminal's event handler must be callable");
		return NULL;
	}
	if (!(s = (redstore_py_stream *)calloc(1, sizeof(*s))))
		return PyErr_NoMemory();
	s->t = t;
	s->fn = fn;
	Py_INCREF(fn);
	/* the stream thread's first call waits for the GIL this thread holds until it returns */
	rc = redstore_terminal_events_start(t, last_event_id, rs_py_stream_tramp, s);
	if (rc) {
		Py_DECREF(fn);
		free(s);
		return Py_BuildValue("[iO]", rc, Py_None);
	}
	if (!(handle = SWIG_NewPointerObj(s, SWIGTYPE_p_redstore_py_stream, 0))) {
		PyObject *type, *value, *tb;
		PyErr_Fetch(&type, &value, &tb);
		Py_BEGIN_ALLOW_THREADS
		redstore_terminal_events_stop(t);
		Py_END_ALLOW_THREADS
		Py_DECREF(fn);
		free(s);
		PyErr_Restore(type, value, tb);
		return NULL;
	}
	return Py_BuildValue("[iN]", rc, handle);
}

/* Stops the stream of a handle from redstore_py_terminal_events_start, drops the callable, frees the handle. */
static PyObject *redstore_py_terminal_events_stop(redstore_py_stream *s)
{
	if (!s) {
		PyErr_SetString(PyExc_ValueError, "the event stream handle is NULL");
		return NULL;
	}
	if (rs_py_in_stream == s) {
		PyErr_SetString(PyExc_RuntimeError,
		                "a terminal's event stream cannot be stopped (or the terminal closed) from its own callback");
		return NULL;
	}
	Py_BEGIN_ALLOW_THREADS
	redstore_terminal_events_stop(s->t);
	Py_END_ALLOW_THREADS
	Py_CLEAR(s->fn);
	free(s);
	Py_RETURN_NONE;
}
%}
