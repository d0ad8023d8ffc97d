/**
 * @file
 * libredstore: shifts and the cash drawer, X and Z reports.
 *
 * A shift is one terminal's cash drawer between an opening and a close. It is opened with an opening
 * float; cash is put in or taken out with paid-in and paid-out movements, each with a reason; it is
 * closed with the cash counted in the drawer. Its figures:
 *
 *   expected cash = opening float + cash sales - cash refunds + paid-in - paid-out
 *   difference    = counted cash - expected cash          (negative: the drawer is short)
 *
 * where cash sales are the cash tenders of the terminal's sales net of the change given, and cash
 * refunds the cash paid back by the terminal's refunds and voids. Money is int64 minor units.
 *
 * Which sales belong to a shift. A sale, refund or void belongs to the shift of the terminal that
 * committed it (its terminal_id) whose window [opened_at, closed_at) holds the time the sale was
 * recorded (recorded_at: the clock of the process that committed it, set when its event was produced).
 * Shifts of a terminal never overlap: one is open at a time (the database refuses a second), and a new
 * shift opens no earlier than the previous one closed. Times are taken on the calling process's clock,
 * like the sales' recorded_at, so the processes that sell and the ones that open and close shifts must
 * keep their clocks in step (NTP). The recorded time is used rather than the terminal's occurred_at
 * because it is final: once a shift is closed, no sale committed later can fall into its window, so a
 * Z report can be complete. (A sale journaled offline and replayed after the close counts in the shift
 * open when it reached the server.)
 *
 * Why a Z report misses nothing. Sales reach PostgreSQL through Kafka and the projector, so at the close
 * some may not be there yet. redstore_shift_z_report() therefore issues the report only when
 *  1. the close is settled: kafka.delivery_timeout_ms (+ 1 s) has passed since closed_at, so every
 *     commit that stamped its event before the close has been acknowledged by the brokers or has
 *     failed (a commit returns within that bound; the processes that commit sales must not use a
 *     larger kafka.delivery_timeout_ms than the one issuing the Z report), and
 *  2. the projector has caught up: the projector group's committed offsets on the store's partitions
 *     reach the high watermarks read after (1) (redstore_projector_wait()), so every acknowledged event
 *     of the window is in PostgreSQL.
 * Only then are the figures read and the Z report written, numbered and frozen in one transaction.
 * The one case this cannot cover: a commit that failed ambiguously before the close (retriable error,
 * event perhaps not written) and is retried with the same id only after the Z report: its sale keeps
 * its first recorded_at, lands in the closed window, and appears in the store's sales reports but not
 * in that Z report. An X report never waits: it shows what PostgreSQL holds now.
 *
 * Rules the database enforces (lib/engines/sql/0009_shifts.sql), so no code path can break them: one open
 * shift per terminal; a closed shift never changes and no shift is deleted; paid-in and paid-out only
 * into an open shift; a Z report only for a closed shift, at most one per shift; Z numbers per terminal
 * assigned by the database without gaps (1, 2, 3... in the order they are issued, concurrent issues
 * queue on the terminal's counter); Z reports and cash movements refuse UPDATE, DELETE and TRUNCATE.
 * Every table is under the store's row-level security.
 *
 * Who may do what (redstore/auth.h). A client without a session is the trusted service: it may do
 * everything, and acts as the employee and terminal named by redstore_client_set_actor(). With an
 * employee session attached:
 *  - any role (cashier and up) opens a shift on the session's own terminal, and on a shift it opened on
 *    that terminal (its own shift) records paid-in and paid-out, reads it, takes X reports, closes it
 *    and issues its Z report;
 *  - anything on a shift of another terminal or another employee needs a manager
 *    (REDSTORE_PERM_SHIFTS for opening, cash movements and closing; REDSTORE_PERM_REPORTS for reading
 *    it and its X and Z reports), or a supervisor's approval of that one action
 *    (redstore_auth_override(), recorded as approved_by);
 *  - a closed shift is never reopened, by anyone: a correction is a paid-in or paid-out of the next one.
 * A refused call returns REDSTORE_EPERM before anything is written. Every successful call (also X
 * reports and reprints of a Z report) is appended to the store's audit log in the same transaction as
 * its write, and every change produces an event on `<prefix>shifts` (shift.opened, shift.paid_in,
 * shift.paid_out, shift.closed, shift.z_issued with the whole report) before that transaction commits:
 * a change is never without its audit entry and its event; if either cannot be written, nothing is.
 * docs/shifts.md explains these choices.
 *
 * Every call acts on the client's selected store.
 *
 * Thread rule: the calls follow the client's rule (one thread at a time per client); a
 * redstore_shift_report is used by one thread at a time.
 */
#ifndef REDSTORE_SHIFT_H
#define REDSTORE_SHIFT_H

#include "client.h"
#include "common.h"
#include "maintenance.h"
#include "sale.h"

REDSTORE_BEGIN_DECLS
REDSTORE_ASSUME_NONNULL_BEGIN

/** A cash movement of the drawer that is not a sale. */
typedef enum redstore_cash_move {
	REDSTORE_PAID_IN = 0, /**< cash put into the drawer (change from the bank...) */
	REDSTORE_PAID_OUT = 1 /**< cash taken out (a supplier paid in cash, a bank drop...) */
} redstore_cash_move;

/** "paid_in", "paid_out" ("unknown" for any other value). Static. Thread-safe. */
REDSTORE_EXTERN(const char *) redstore_cash_move_name(redstore_cash_move kind);

/** A shift as stored. Plain data, filled by the calls below. */
typedef struct redstore_shift_info {
	char shift_id[REDSTORE_ID_SIZE]; /**< its id (a UUID) */
	char store_id[65];      /**< the store */
	char terminal_id[65];   /**< the terminal whose drawer it is */
	char opened_by[65];     /**< the employee who opened it */
	int64_t opened_at_ms;   /**< start of its window, ms since the epoch */
	int64_t opening_float;  /**< cash in the drawer at the opening, minor units */
	int closed;             /**< 1 once closed */
	char closed_by[65];     /**< who closed it ("" while open) */
	int64_t closed_at_ms;   /**< end of its window (0 while open) */
	int64_t counted_cash;   /**< cash counted at the close (0 while open) */
	int64_t z_number;       /**< its Z report's number on the terminal (0 while none was issued) */
	int duplicate;          /**< redstore_shift_open(): 1 when the id was opened before (a retry) */
} redstore_shift_info;

/**
 * Opens a shift on a terminal. At most one shift per terminal is open; the window starts now, or when
 * the terminal's previous shift closed if that is later.
 *
 * @param out            receives the shift
 * @param shift_id       its id (a UUID), so a retry opens it once (the same id with the same terminal
 *                       and float returns that shift with duplicate = 1); NULL: a new UUIDv7
 * @param terminal_id    the terminal (1-64 printable characters); NULL: the session's terminal, or the
 *                       actor's (redstore_client_set_actor) for the service
 * @param opening_float  0..shift.max_amount minor units
 * @return 0, REDSTORE_EINVALID (no store, bad id, terminal or float; the service named no employee or
 *         terminal), REDSTORE_ELIMIT (float over shift.max_amount), REDSTORE_ECONFLICT (the terminal has
 *         an open shift: the message names it), REDSTORE_EEXISTS (the id names another shift),
 *         REDSTORE_EPERM, REDSTORE_EAUTH, or a PostgreSQL / Kafka (audit) error
 */
REDSTORE_EXTERN(int) redstore_shift_open(redstore_shift_info *out, redstore_client *client,
                                         const char *REDSTORE_NULLABLE shift_id,
                                         const char *REDSTORE_NULLABLE terminal_id, int64_t opening_float);

/**
 * Reads a shift of the selected store.
 *
 * @return 0, REDSTORE_EINVALID (no store, not a UUID), REDSTORE_ENOTFOUND, REDSTORE_EPERM
 */
REDSTORE_EXTERN(int) redstore_shift_get(redstore_shift_info *out, redstore_client *client, const char *shift_id);

/**
 * The open shift of a terminal. With a session, any role may ask about the session's own terminal (the
 * drawer it stands at); another terminal needs REDSTORE_PERM_REPORTS.
 *
 * @param terminal_id  NULL: the session's (or the actor's) terminal
 * @return 0, REDSTORE_ENOTFOUND (no shift is open there), REDSTORE_EINVALID, REDSTORE_EPERM
 */
REDSTORE_EXTERN(int) redstore_shift_current(redstore_shift_info *out, redstore_client *client,
                                            const char *REDSTORE_NULLABLE terminal_id);

/**
 * Records a paid-in or a paid-out of an open shift.
 *
 * @param movement_id  its id (a UUID) so a retry records it once (the same id with the same shift, kind,
 *                     amount and reason succeeds without a second record); NULL: a new UUIDv7
 * @param amount       1..shift.max_amount minor units
 * @param reason       why, 1-200 printable characters (required), copied
 * @return 0, REDSTORE_EINVALID (amount not positive, no reason, bad ids), REDSTORE_ELIMIT (over
 *         shift.max_amount), REDSTORE_ENOTFOUND (no such shift), REDSTORE_ECONFLICT (the shift is
 *         closed), REDSTORE_EEXISTS (the id names another movement), REDSTORE_EPERM
 */
REDSTORE_EXTERN(int) redstore_shift_cash_move(redstore_client *client, const char *shift_id,
                                              const char *REDSTORE_NULLABLE movement_id, redstore_cash_move kind,
                                              int64_t amount, const char *reason);

/**
 * Closes an open shift with the cash counted in the drawer. The window ends now (never before it
 * began). A closed shift cannot be closed again or changed. The difference between counted and
 * expected cash is in its reports: an X report at once (from what is projected so far), the Z report
 * once every sale of the window is in PostgreSQL.
 *
 * @param out           optional: receives the closed shift
 * @param counted_cash  0..shift.max_amount minor units
 * @return 0, REDSTORE_EINVALID (negative count, bad id), REDSTORE_ELIMIT, REDSTORE_ENOTFOUND,
 *         REDSTORE_ECONFLICT (already closed: nothing is written), REDSTORE_EPERM
 */
REDSTORE_EXTERN(int) redstore_shift_close(redstore_shift_info *REDSTORE_NULLABLE out, redstore_client *client,
                                          const char *shift_id, int64_t counted_cash);

/** Totals of one tender kind within a shift. */
typedef struct redstore_shift_tender_total {
	redstore_tender_kind kind; /**< cash, card or other */
	int64_t sales_count;       /**< sales paid (wholly or partly) with it */
	int64_t sales_amount;      /**< taken with it (cash: net of the change given) */
	int64_t refunds_count;     /**< refunds and voids paid back with it */
	int64_t refunds_amount;    /**< paid back with it */
} redstore_shift_tender_total;

/** An X or a Z report. Owned by the caller: redstore_shift_report_free(). */
typedef struct redstore_shift_report {
	int is_final;              /**< 1: a Z report (stored, immutable); 0: an X report (computed now, not stored) */
	int64_t z_number;          /**< the Z report's number on the terminal (0 for an X report) */
	redstore_shift_info shift; /**< the shift (open for an X report taken mid-shift) */
	int64_t issued_at_ms;      /**< when the report was made */
	char issued_by[65];        /**< the employee who asked for it */
	int64_t window_to_ms;      /**< sales recorded in [shift.opened_at_ms, window_to_ms) are counted */
	int64_t opening_float;     /**< the shift's opening float */
	int64_t cash_sales;        /**< cash taken by sales, net of change */
	int64_t cash_refunds;      /**< cash paid back by refunds and voids */
	int64_t paid_in;           /**< sum of paid-in movements */
	int64_t paid_out;          /**< sum of paid-out movements */
	int64_t expected_cash;     /**< opening_float + cash_sales - cash_refunds + paid_in - paid_out */
	int counted;               /**< 1 when the shift is closed: counted_cash and difference are set */
	int64_t counted_cash;      /**< cash counted at the close */
	int64_t difference;        /**< counted_cash - expected_cash (negative: short) */
	int64_t sales_count;       /**< sales */
	int64_t sales_total;       /**< what customers paid for them */
	int64_t refunds_count;     /**< refunds */
	int64_t refunds_total;     /**< what refunds paid back */
	int64_t voids_count;       /**< voids */
	int64_t voids_total;       /**< what voids paid back */
	int64_t paid_in_count;     /**< paid-in movements */
	int64_t paid_out_count;    /**< paid-out movements */
	size_t tender_count;       /**< entries of `tenders`: one per tender kind, in enum order */
	redstore_shift_tender_total *REDSTORE_NULLABLE tenders; /**< totals by tender kind */
} redstore_shift_report;

/**
 * An X report: the shift's figures now, from what PostgreSQL holds (the projector may not have written
 * the last sales yet). Any number, open or closed shift; not stored. Audited.
 *
 * @return 0, REDSTORE_EINVALID, REDSTORE_ENOTFOUND, REDSTORE_EPERM, or a PostgreSQL error
 */
REDSTORE_EXTERN(int) redstore_shift_x_report(redstore_shift_report *REDSTORE_NULLABLE *REDSTORE_NONNULL out,
                                             redstore_client *client, const char *shift_id);

/**
 * The Z report of a closed shift: issued once (numbered, stored, immutable); every later call returns
 * the same report. Issuing waits for the close to settle and the projector to catch up (see the top of
 * this header), at most options->wait_ms in all.
 *
 * @param options  the projector's group and the bound on waiting (NULL: REDSTORE_PROJECTOR_GROUP, 30 s)
 * @return 0, REDSTORE_ECONFLICT (the shift is open), REDSTORE_ENOTFOUND, REDSTORE_EPERM,
 *         REDSTORE_ETIMEOUT (retriable: the close has not settled or the projector has not caught up
 *         within the bound; the message says which), REDSTORE_EINVALID (bad options, no Kafka brokers)
 */
REDSTORE_EXTERN(int) redstore_shift_z_report(redstore_shift_report *REDSTORE_NULLABLE *REDSTORE_NONNULL out,
                                             redstore_client *client, const char *shift_id,
                                             const redstore_maintenance_options *REDSTORE_NULLABLE options);

/**
 * A report as JSON: the fields above, tenders as an array of objects with "kind" as its name.
 *
 * @param out  receives the text; free it with redstore_free()
 * @return 0, REDSTORE_ENOMEM
 * Thread rule: thread-safe for distinct reports.
 */
REDSTORE_EXTERN(int) redstore_shift_report_to_json(char *REDSTORE_NULLABLE *REDSTORE_NONNULL out,
                                                   const redstore_shift_report *report);

/** Frees a report; NULL is a no-op. */
REDSTORE_EXTERN(void) redstore_shift_report_free(redstore_shift_report *REDSTORE_NULLABLE report);

REDSTORE_ASSUME_NONNULL_END
REDSTORE_END_DECLS

#endif
