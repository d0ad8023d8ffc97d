/*
 * redstore-cli shift: a terminal's cash drawer from the command line (redstore/shift.h).
 *
 *   redstore-cli shift open     --store S --terminal T --employee E --float N [--id UUID]
 *   redstore-cli shift paid-in  --store S --shift ID --employee E --amount N --reason TEXT [--id UUID]
 *   redstore-cli shift paid-out --store S --shift ID --employee E --amount N --reason TEXT [--id UUID]
 *   redstore-cli shift close    --store S --shift ID --employee E --counted N
 *   redstore-cli shift x        --store S (--shift ID | --terminal T) [--employee E]
 *   redstore-cli shift z        --store S --shift ID [--employee E] [--group G] [--wait SECONDS]
 *
 * Amounts are integer minor units. Every command takes --format table|json. The CLI is the trusted
 * service (no employee session): --employee names who acts, and is recorded with the shift and in the
 * audit log. `z` waits for the close to settle and for the projector group (default "projector") to
 * catch up, at most --wait seconds (default 30).
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct shift_args {
	const char *store, *terminal, *employee, *shift, *id, *reason, *group, *format;
	int64_t amount;
	int has_amount, wait_s;
} shift_args;

static int parse_amount(int64_t *out, const char *s)
{
	char *end;
	*out = strtoll(s, &end, 10);
	return *s && !*end ? 0 : -1;
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void money(const char *label, int64_t v)
{
	printf("%-16s %14lld\n", label, (long long)v);
}

static void print_shift(const redstore_shift_info *s, const char *format)
{
	if (!strcmp(format, "json")) {
		printf("{\"shift_id\": \"%s\", \"store_id\": ", s->shift_id);
		json_str(s->store_id);
		printf(", \"terminal_id\": ");
		json_str(s->terminal_id);
		printf(", \"opened_by\": ");
		json_str(s->opened_by);
		printf(", \"opened_at_ms\": %lld, \"opening_float\": %lld, \"closed\": %s, \"closed_by\": ",
		       (long long)s->opened_at_ms, (long long)s->opening_float, s->closed ? "true" : "false");
		json_str(s->closed_by);
		printf(", \"closed_at_ms\": %lld, \"counted_cash\": %lld, \"z_number\": %lld, \"duplicate\": %s}\n",
		       (long long)s->closed_at_ms, (long long)s->counted_cash, (long long)s->z_number,
		       s->duplicate ? "true" : "false");
		return;
	}
	printf("shift            %s%s\n", s->shift_id, s->duplicate ? " (opened before: same id)" : "");
	printf("store            %s\nterminal         %s\nopened by        %s\n", s->store_id, s->terminal_id, s->opened_by);
	money("opening float", s->opening_float);
	if (s->closed) {
		printf("closed by        %s\n", s->closed_by);
		money("counted cash", s->counted_cash);
	} else {
		printf("status           open\n");
	}
}

static void print_report(const redstore_shift_report *r, const char *format)
{
	char *json;
	if (!strcmp(format, "json")) {
		if (redstore_shift_report_to_json(&json, r)) {
			cli_fail("shift report");
			return;
		}
		printf("%s\n", json);
		redstore_free(json);
		return;
	}
	if (r->is_final)
		printf("Z REPORT #%lld\n", (long long)r->z_number);
	else
		printf("X REPORT (not final)\n");
	printf("store            %s\nterminal         %s\nshift            %s\nopened by        %s\n", r->shift.store_id,
	       r->shift.terminal_id, r->shift.shift_id, r->shift.opened_by);
	if (r->shift.closed)
		printf("closed by        %s\n", r->shift.closed_by);
	printf("window (ms)      %lld .. %lld\nissued by        %s at %lld\n\n", (long long)r->shift.opened_at_ms,
	       (long long)r->window_to_ms, r->issued_by[0] ? r->issued_by : "(service)", (long long)r->issued_at_ms);
	money("opening float", r->opening_float);
	money("cash sales", r->cash_sales);
	money("cash refunds", -r->cash_refunds);
	money("paid in", r->paid_in);
	money("paid out", -r->paid_out);
	money("expected cash", r->expected_cash);
	if (r->counted) {
		money("counted cash", r->counted_cash);
		money("difference", r->difference);
	}
	printf("\n%-16s %6lld %14lld\n", "sales", (long long)r->sales_count, (long long)r->sales_total);
	printf("%-16s %6lld %14lld\n", "refunds", (long long)r->refunds_count, (long long)r->refunds_total);
	printf("%-16s %6lld %14lld\n", "voids", (long long)r->voids_count, (long long)r->voids_total);
	printf("%-16s %6lld %14lld\n", "paid-in", (long long)r->paid_in_count, (long long)r->paid_in);
	printf("%-16s %6lld %14lld\n\n", "paid-out", (long long)r->paid_out_count, (long long)r->paid_out);
	printf("%-8s %6s %14s %8s %14s\n", "tender", "sales", "taken", "refunds", "paid back");
	for (size_t i = 0; i < r->tender_count; i++) {
		const redstore_shift_tender_total *t = &r->tenders[i];
		printf("%-8s %6lld %14lld %8lld %14lld\n", redstore_tender_kind_name(t->kind), (long long)t->sales_count,
		       (long long)t->sales_amount, (long long)t->refunds_count, (long long)t->refunds_amount);
	}
}

static int usage(void)
{
	fprintf(stderr,
	        "usage: redstore-cli shift open     --store S --terminal T --employee E --float N [--id UUID]\n"
	        "       redstore-cli shift paid-in  --store S --shift ID --employee E --amount N --reason TEXT [--id UUID]\n"
	        "       redstore-cli shift paid-out --store S --shift ID --employee E --amount N --reason TEXT [--id UUID]\n"
	        "       redstore-cli shift close    --store S --shift ID --employee E --counted N\n"
	        "       redstore-cli shift x        --store S (--shift ID | --terminal T) [--employee E]\n"
	        "       redstore-cli shift z        --store S --shift ID [--employee E] [--group G] [--wait SECONDS]\n"
	        "  amounts in minor units; every command takes --format table|json\n");
	return 2;
}

int cmd_shift(int argc, char **argv)
{
	const char *verb = argc > 1 ? argv[1] : "";
	shift_args a = { NULL };
	redstore_shift_info sh;
	redstore_shift_report *r = NULL;
	redstore_client *c;
	int rc;

	a.format = "table";
	for (int i = 2; i < argc; i++) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			return usage();
		i++;
		if (!strcmp(k, "--store"))
			a.store = v;
		else if (!strcmp(k, "--terminal"))
			a.terminal = v;
		else if (!strcmp(k, "--employee"))
			a.employee = v;
		else if (!strcmp(k, "--shift"))
			a.shift = v;
		else if (!strcmp(k, "--id"))
			a.id = v;
		else if (!strcmp(k, "--reason"))
			a.reason = v;
		else if (!strcmp(k, "--group"))
			a.group = v;
		else if ((!strcmp(k, "--float") || !strcmp(k, "--amount") || !strcmp(k, "--counted")) &&
		         !parse_amount(&a.amount, v))
			a.has_amount = 1;
		else if (!strcmp(k, "--wait") && (a.wait_s = atoi(v)) >= 1 && a.wait_s <= 3600)
			continue;
		else if (!strcmp(k, "--format") && (!strcmp(v, "table") || !strcmp(v, "json")))
			a.format = v;
		else
			return usage();
	}
	if (!a.store)
		return usage();
	if (!strcmp(verb, "open") ? !a.terminal || !a.employee || !a.has_amount
	    : !strcmp(verb, "paid-in") || !strcmp(verb, "paid-out") ? !a.shift || !a.employee || !a.has_amount || !a.reason
	    : !strcmp(verb, "close")                                ? !a.shift || !a.employee || !a.has_amount
	    : !strcmp(verb, "x")                                    ? !a.shift == !a.terminal
	    : !strcmp(verb, "z")                                    ? !a.shift
	                                                            : 1)
		return usage();
	if (cli_client(&c))
		return 1;
	if ((rc = redstore_client_use_store(c, a.store)) || (rc = redstore_client_set_actor(c, a.terminal, a.employee))) {
		redstore_client_free(c);
		return cli_fail("shift");
	}
	if (!strcmp(verb, "open")) {
		if (!(rc = redstore_shift_open(&sh, c, a.id, NULL, a.amount)))
			print_shift(&sh, a.format);
	} else if (!strcmp(verb, "paid-in") || !strcmp(verb, "paid-out")) {
		redstore_cash_move kind = !strcmp(verb, "paid-in") ? REDSTORE_PAID_IN : REDSTORE_PAID_OUT;
		if (!(rc = redstore_shift_cash_move(c, a.shift, a.id, kind, a.amount, a.reason))) {
			if (!strcmp(a.format, "json")) {
				printf("{\"shift_id\": ");
				json_str(a.shift);
				printf(", \"kind\": \"%s\", \"amount\": %lld, \"reason\": ", redstore_cash_move_name(kind),
				       (long long)a.amount);
				json_str(a.reason);
				printf("}\n");
			} else {
				printf("%s of %lld recorded in shift %s\n", verb, (long long)a.amount, a.shift);
			}
		}
	} else if (!strcmp(verb, "close")) {
		if (!(rc = redstore_shift_close(&sh, c, a.shift, a.amount)))
			print_shift(&sh, a.format);
	} else if (!strcmp(verb, "x")) {
		if (!a.shift && !(rc = redstore_shift_current(&sh, c, a.terminal)))
			a.shift = sh.shift_id;
		if (!rc && !(rc = redstore_shift_x_report(&r, c, a.shift)))
			print_report(r, a.format);
	} else {
		redstore_maintenance_options o = { a.group, a.wait_s * 1000 };
		if (!(rc = redstore_shift_z_report(&r, c, a.shift, &o)))
			print_report(r, a.format);
	}
	if (rc) {
		char what[32];
		snprintf(what, sizeof(what), "shift %s", verb);
		rc = cli_fail(what);
	}
	redstore_shift_report_free(r);
	redstore_client_free(c);
	return rc;
}
