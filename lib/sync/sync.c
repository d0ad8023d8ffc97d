/* Reading a store's sync stream and snapshots of its stock (see sync.h). */
#include "engines/engines_int.h"

#include <cjson/cJSON.h>
#include <stdio.h>

#define SYNC_MAX_READ 10000

/* A stream id: digits, optionally "-" and digits; "0" reads from the start. */
static int check_stream_id(const char *id)
{
	size_t n = id ? strlen(id) : 0, digits = 0;
	bool dash = false;
	if (n == 0 || n >= REDSTORE_STREAM_ID_SIZE)
		goto bad;
	for (const char *p = id; *p; p++) {
		if (*p >= '0' && *p <= '9')
			digits++;
		else if (*p == '-' && !dash && digits > 0 && p[1])
			dash = true;
		else
			goto bad;
	}
	return 0;
bad:
	return redstore__fail(REDSTORE_EINVALID, "sync: \"%.60s\" is not a stream id (expected <ms>-<seq>, or 0)",
	                      id ? id : "(null)");
}

static int64_t reply_int(const redisReply *r)
{
	if (r->type == REDIS_REPLY_INTEGER)
		return r->integer;
	return r->type == REDIS_REPLY_STRING ? strtoll(r->str, NULL, 10) : 0;
}

/* One XRANGE/XREAD entry {id, [field, value...]} into a change. */
static int decode_entry(redstore_change *ch, const redisReply *e)
{
	const redisReply *f;
	const char *changes = NULL;
	cJSON *arr = NULL, *root = NULL, *item;
	size_t n = 0;

	memset(ch, 0, sizeof(*ch));
	if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 || e->element[0]->type != REDIS_REPLY_STRING ||
	    e->element[1]->type != REDIS_REPLY_ARRAY)
		return redstore__fail(REDSTORE_EDECODE, "sync: a stream entry of an unexpected shape");
	snprintf(ch->id, sizeof(ch->id), "%s", e->element[0]->str);
	f = e->element[1];
	for (size_t i = 0; i + 1 < f->elements; i += 2) {
		const char *k = f->element[i]->str, *v = f->element[i + 1]->str;
		if (!k || !v)
			continue;
		if (!strcmp(k, "op"))
			snprintf(ch->op_id, sizeof(ch->op_id), "%s", v);
		else if (!strcmp(k, "type"))
			snprintf(ch->type, sizeof(ch->type), "%s", v);
		else if (!strcmp(k, "changes"))
			changes = v;
	}
	/* Lua's cjson writes an empty list as {} */
	arr = changes ? cJSON_Parse(changes) : NULL;
	if (!ch->op_id[0] || !ch->type[0] || !(cJSON_IsArray(arr) || cJSON_IsObject(arr))) {
		cJSON_Delete(arr);
		return redstore__fail(REDSTORE_EDECODE, "sync: stream entry %s lacks op, type or changes", ch->id);
	}
	ch->lines = calloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(*ch->lines));
	root = cJSON_CreateObject();
	if (!ch->lines || !root)
		goto oom;
	cJSON_ArrayForEach(item, arr) {
		const cJSON *sku = cJSON_GetArrayItem(item, 0);
		redstore_change_line *l = &ch->lines[n];
		if (!cJSON_IsArray(item) || cJSON_GetArraySize(item) != 4 || !cJSON_IsString(sku)) {
			cJSON_Delete(arr);
			cJSON_Delete(root);
			return redstore__fail(REDSTORE_EDECODE, "sync: stream entry %s has a malformed change", ch->id);
		}
		snprintf(l->sku, sizeof(l->sku), "%s", sku->valuestring);
		l->on_hand = (int64_t)cJSON_GetArrayItem(item, 1)->valuedouble;
		l->reserved = (int64_t)cJSON_GetArrayItem(item, 2)->valuedouble;
		l->delta = (int64_t)cJSON_GetArrayItem(item, 3)->valuedouble;
		n++;
	}
	ch->line_count = n;
	if (!cJSON_IsArray(arr)) { /* {} from Lua: make it [] for readers */
		cJSON_Delete(arr);
		arr = cJSON_CreateArray();
	}
	if (!arr || !cJSON_AddStringToObject(root, "id", ch->id) || !cJSON_AddStringToObject(root, "op", ch->op_id) ||
	    !cJSON_AddStringToObject(root, "type", ch->type))
		goto oom;
	cJSON_AddItemToObject(root, "changes", arr);
	arr = NULL;
	if (!(ch->json = cJSON_PrintUnformatted(root)))
		goto oom;
	cJSON_Delete(root);
	return 0;
oom:
	cJSON_Delete(arr);
	cJSON_Delete(root);
	return redstore__fail(REDSTORE_ENOMEM, "sync: out of memory decoding %s", ch->id);
}

static void change_clear(redstore_change *ch)
{
	free(ch->lines);
	free(ch->json);
}

void redstore_changes_free(redstore_changes *changes)
{
	if (!changes)
		return;
	for (size_t i = 0; i < changes->count; i++)
		change_clear(&changes->items[i]);
	free(changes->items);
	free(changes);
}

/* Appends the entries of an XRANGE-shaped array to `out`. */
static int take_entries(redstore_changes *out, const redisReply *entries)
{
	if (!entries->elements)
		return 0;
	if (!(out->items = calloc(entries->elements, sizeof(*out->items))))
		return redstore__fail(REDSTORE_ENOMEM, "sync: out of memory");
	for (size_t i = 0; i < entries->elements; i++) {
		int rc = decode_entry(&out->items[out->count], entries->element[i]);
		if (rc) {
			change_clear(&out->items[out->count]);
			return rc;
		}
		out->count++;
	}
	snprintf(out->last_id, sizeof(out->last_id), "%s", out->items[out->count - 1].id);
	return 0;
}

int redstore_sync_read(redstore_changes **out, redstore_client *c, const char *after_id, size_t max, int wait_ms)
{
	const char *store;
	char key[REDSTORE_KEY_MAX], count[24];
	redisReply *r = NULL;
	redstore_changes *res;
	int64_t block_max = c->set.redis_command_timeout_ms - 1000;
	int rc;

	*out = NULL;
	if ((rc = redstore__need_store(&store, c, "sync_read")) || (rc = check_stream_id(after_id)))
		return rc;
	if (max < 1 || max > SYNC_MAX_READ)
		return redstore__fail(REDSTORE_EINVALID, "sync_read: max %zu (1..%d)", max, SYNC_MAX_READ);
	if (wait_ms < 0 || (wait_ms > 0 && wait_ms > block_max))
		return redstore__fail(REDSTORE_EINVALID, "sync_read: wait_ms %d (0..%lld: redis.command_timeout_ms - 1000)",
		                      wait_ms, (long long)block_max);
	if (!(res = calloc(1, sizeof(*res))))
		return redstore__fail(REDSTORE_ENOMEM, "sync: out of memory");
	snprintf(res->last_id, sizeof(res->last_id), "%s", after_id);
	snprintf(count, sizeof(count), "%zu", max);
	redstore__key(key, store, "stream");
	{
		const char *argv[3] = { key, after_id, count };
		if ((rc = redstore__redis_script(&r, c, "sync_read", 1, 3, argv, NULL)))
			goto fail;
	}
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[1]->type != REDIS_REPLY_ARRAY) {
		rc = redstore__fail(REDSTORE_EREDIS, "sync_read: unexpected reply from the script");
		goto fail;
	}
	res->resync = reply_int(r->element[0]) == 1;
	if (!res->resync && (rc = take_entries(res, r->element[1])))
		goto fail;
	freeReplyObject(r);
	r = NULL;
	if (!res->resync && res->count == 0 && wait_ms > 0) {
		/* Nothing yet: block on the stream itself (a script cannot). A gap cannot open meanwhile for a
		 * reader that was current a moment ago, unless maxlen changes arrive faster than it reads. */
		char block[24];
		const char *from = strcmp(after_id, "0") ? after_id : "0-0";
		const char *argv[8] = { "XREAD", "COUNT", count, "BLOCK", block, "STREAMS", key, from };
		snprintf(block, sizeof(block), "%d", wait_ms);
		if ((rc = redstore__redis_argv(&r, c, 8, argv, NULL)))
			goto fail;
		if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 && r->element[0]->type == REDIS_REPLY_ARRAY &&
		    r->element[0]->elements == 2 && (rc = take_entries(res, r->element[0]->element[1])))
			goto fail;
		freeReplyObject(r);
	}
	*out = res;
	return 0;
fail:
	if (r)
		freeReplyObject(r);
	redstore_changes_free(res);
	return rc;
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(((const redstore_snapshot_line *)a)->sku, ((const redstore_snapshot_line *)b)->sku);
}

/* The line of `sku` among the first n (sorted) lines, or NULL. */
static redstore_snapshot_line *find_line(redstore_snapshot *s, size_t n, const char *sku)
{
	redstore_snapshot_line key;
	snprintf(key.sku, sizeof(key.sku), "%s", sku);
	return bsearch(&key, s->lines, n, sizeof(*s->lines), cmp_line);
}

int redstore_sync_snapshot(redstore_snapshot **out, redstore_client *c)
{
	const char *store;
	char k1[REDSTORE_KEY_MAX], k2[REDSTORE_KEY_MAX], k3[REDSTORE_KEY_MAX];
	const char *argv[3] = { k1, k2, k3 };
	redisReply *r = NULL;
	redstore_snapshot *s;
	const redisReply *on, *res;
	size_t n_on;
	int rc;

	*out = NULL;
	if ((rc = redstore__need_store(&store, c, "sync_snapshot")))
		return rc;
	redstore__key(k1, store, "onhand");
	redstore__key(k2, store, "reserved");
	redstore__key(k3, store, "stream");
	if ((rc = redstore__redis_script(&r, c, "sync_snapshot", 3, 3, argv, NULL)))
		return rc;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 || r->element[0]->type != REDIS_REPLY_STRING) {
		freeReplyObject(r);
		return redstore__fail(REDSTORE_EREDIS, "sync_snapshot: unexpected reply from the script");
	}
	on = r->element[1];
	res = r->element[2];
	if (!(s = calloc(1, sizeof(*s))) || !(s->lines = calloc(on->elements / 2 + res->elements / 2 + 1, sizeof(*s->lines)))) {
		free(s);
		freeReplyObject(r);
		return redstore__fail(REDSTORE_ENOMEM, "sync_snapshot: out of memory");
	}
	snprintf(s->stream_id, sizeof(s->stream_id), "%s", r->element[0]->str);
	for (size_t i = 0; i + 1 < on->elements; i += 2) {
		redstore_snapshot_line *l = &s->lines[s->count++];
		snprintf(l->sku, sizeof(l->sku), "%s", on->element[i]->str);
		l->on_hand = reply_int(on->element[i + 1]);
	}
	qsort(s->lines, s->count, sizeof(*s->lines), cmp_line);
	n_on = s->count;
	for (size_t i = 0; i + 1 < res->elements; i += 2) {
		redstore_snapshot_line *l = find_line(s, n_on, res->element[i]->str);
		if (!l) {
			l = &s->lines[s->count++];
			snprintf(l->sku, sizeof(l->sku), "%s", res->element[i]->str);
		}
		l->reserved = reply_int(res->element[i + 1]);
	}
	freeReplyObject(r);
	qsort(s->lines, s->count, sizeof(*s->lines), cmp_line);
	*out = s;
	return 0;
}

void redstore_snapshot_free(redstore_snapshot *snapshot)
{
	if (!snapshot)
		return;
	free(snapshot->lines);
	free(snapshot);
}
