-- Shifts and the cash drawer (include/redstore/shift.h). The database enforces the rules that must hold
-- whatever the code does: one open shift per terminal (a partial unique index), no change to a closed
-- shift, paid-in and paid-out only while the shift is open, Z reports numbered per terminal without gaps
-- by the database itself (a trigger takes the terminal's counter row, locked until commit), and Z
-- reports, cash movements and counters that no UPDATE, DELETE or TRUNCATE can touch. Row-level security
-- comes from redstore_secure_store_tables() (every table here has store_id).

CREATE TABLE shifts (
    store_id      text NOT NULL CONSTRAINT shifts_store_fk REFERENCES stores (store_id),
    shift_id      uuid NOT NULL,
    terminal_id   text NOT NULL CHECK (terminal_id <> '' AND length(terminal_id) <= 64),
    opened_by     text NOT NULL CHECK (opened_by <> ''),
    opened_at     timestamptz NOT NULL,
    opening_float bigint NOT NULL CHECK (opening_float >= 0),
    closed_by     text,
    closed_at     timestamptz,
    counted_cash  bigint CHECK (counted_cash >= 0),
    PRIMARY KEY (store_id, shift_id),
    CONSTRAINT shifts_closed_whole CHECK ((closed_at IS NULL) = (counted_cash IS NULL)
                                          AND (closed_at IS NULL) = (closed_by IS NULL)),
    CONSTRAINT shifts_closed_after_open CHECK (closed_at IS NULL OR closed_at >= opened_at)
);
-- At most one open shift per terminal: two concurrent opens cannot both commit.
CREATE UNIQUE INDEX shifts_one_open_per_terminal ON shifts (store_id, terminal_id) WHERE closed_at IS NULL;
CREATE INDEX shifts_terminal_time ON shifts (store_id, terminal_id, opened_at);

-- A shift changes once, when it is closed (closed_by, closed_at, counted_cash); then never again.
CREATE FUNCTION redstore_shift_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' THEN
        RAISE EXCEPTION 'shifts are never deleted' USING ERRCODE = '55000';
    END IF;
    IF OLD.closed_at IS NOT NULL THEN
        RAISE EXCEPTION 'shift % is closed: it cannot be changed', OLD.shift_id USING ERRCODE = '55000';
    END IF;
    IF NEW.store_id IS DISTINCT FROM OLD.store_id OR NEW.shift_id IS DISTINCT FROM OLD.shift_id
       OR NEW.terminal_id IS DISTINCT FROM OLD.terminal_id OR NEW.opened_by IS DISTINCT FROM OLD.opened_by
       OR NEW.opened_at IS DISTINCT FROM OLD.opened_at OR NEW.opening_float IS DISTINCT FROM OLD.opening_float THEN
        RAISE EXCEPTION 'shift %: only closing it may change it', OLD.shift_id USING ERRCODE = '55000';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER shifts_guard BEFORE UPDATE OR DELETE ON shifts FOR EACH ROW EXECUTE FUNCTION redstore_shift_guard();

-- Statement-level, so even a statement that matches no row is refused.
CREATE FUNCTION redstore_shift_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = '55000';
END $$;
CREATE TRIGGER shifts_no_truncate BEFORE TRUNCATE ON shifts
    FOR EACH STATEMENT EXECUTE FUNCTION redstore_shift_append_only();

-- Paid-in and paid-out: cash put into or taken out of the drawer, with the reason.
CREATE TABLE shift_cash_movements (
    store_id      text NOT NULL,
    movement_id   uuid NOT NULL,
    shift_id      uuid NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('paid_in', 'paid_out')),
    amount        bigint NOT NULL CHECK (amount > 0),
    reason        text NOT NULL CHECK (reason <> '' AND length(reason) <= 200),
    employee_id   text NOT NULL DEFAULT '',
    occurred_at   timestamptz NOT NULL,
    PRIMARY KEY (store_id, movement_id),
    CONSTRAINT shift_cash_movements_shift_fk FOREIGN KEY (store_id, shift_id) REFERENCES shifts (store_id, shift_id)
);
CREATE INDEX shift_cash_movements_shift ON shift_cash_movements (store_id, shift_id);
CREATE TRIGGER shift_cash_movements_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON shift_cash_movements
    FOR EACH STATEMENT EXECUTE FUNCTION redstore_shift_append_only();

-- Only into an open shift. FOR SHARE waits for a close in progress and then sees it closed.
CREATE FUNCTION redstore_shift_movement_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM shifts WHERE store_id = NEW.store_id AND shift_id = NEW.shift_id AND closed_at IS NULL FOR SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'shift % of store % is closed or unknown', NEW.shift_id, NEW.store_id USING ERRCODE = '55000';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER shift_cash_movements_open_shift BEFORE INSERT ON shift_cash_movements
    FOR EACH ROW EXECUTE FUNCTION redstore_shift_movement_check();

-- The last Z number of each terminal. Never deleted (that would reuse numbers).
CREATE TABLE shift_z_counters (
    store_id      text NOT NULL,
    terminal_id   text NOT NULL,
    last_z        bigint NOT NULL CHECK (last_z >= 0),
    PRIMARY KEY (store_id, terminal_id)
);
CREATE TRIGGER shift_z_counters_keep BEFORE DELETE OR TRUNCATE ON shift_z_counters
    FOR EACH STATEMENT EXECUTE FUNCTION redstore_shift_append_only();
-- A counter starts at 0 and only ever counts up by one.
CREATE FUNCTION redstore_shift_z_counter_step() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' AND NEW.last_z <> 0 OR TG_OP = 'UPDATE' AND (NEW.last_z <> OLD.last_z + 1
       OR NEW.store_id IS DISTINCT FROM OLD.store_id OR NEW.terminal_id IS DISTINCT FROM OLD.terminal_id) THEN
        RAISE EXCEPTION 'Z counter of terminal %: numbers only count up by one', NEW.terminal_id USING ERRCODE = '55000';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER shift_z_counters_step BEFORE INSERT OR UPDATE ON shift_z_counters
    FOR EACH ROW EXECUTE FUNCTION redstore_shift_z_counter_step();

-- Z reports as issued: every figure, and the totals by tender as JSON. Immutable.
CREATE TABLE shift_z_reports (
    store_id       text NOT NULL,
    terminal_id    text NOT NULL,
    z_number       bigint NOT NULL CHECK (z_number > 0),
    shift_id       uuid NOT NULL,
    issued_at      timestamptz NOT NULL,
    issued_by      text NOT NULL DEFAULT '',
    opening_float  bigint NOT NULL,
    cash_sales     bigint NOT NULL,
    cash_refunds   bigint NOT NULL,
    paid_in        bigint NOT NULL,
    paid_out       bigint NOT NULL,
    expected_cash  bigint NOT NULL,
    counted_cash   bigint NOT NULL,
    difference     bigint NOT NULL,
    sales_count    bigint NOT NULL,
    sales_total    bigint NOT NULL,
    refunds_count  bigint NOT NULL,
    refunds_total  bigint NOT NULL,
    voids_count    bigint NOT NULL,
    voids_total    bigint NOT NULL,
    paid_in_count  bigint NOT NULL,
    paid_out_count bigint NOT NULL,
    tenders        text NOT NULL,
    PRIMARY KEY (store_id, terminal_id, z_number),
    CONSTRAINT shift_z_reports_once UNIQUE (store_id, shift_id),
    CONSTRAINT shift_z_reports_shift_fk FOREIGN KEY (store_id, shift_id) REFERENCES shifts (store_id, shift_id),
    CONSTRAINT shift_z_reports_balance CHECK (expected_cash = opening_float + cash_sales - cash_refunds + paid_in - paid_out
                                              AND difference = counted_cash - expected_cash)
);
CREATE TRIGGER shift_z_reports_immutable BEFORE UPDATE OR DELETE OR TRUNCATE ON shift_z_reports
    FOR EACH STATEMENT EXECUTE FUNCTION redstore_shift_append_only();

-- The database numbers Z reports: whatever number an INSERT names is replaced by the terminal's next one,
-- taken from its counter row (locked until commit, so concurrent issues queue and a rolled-back one
-- gives its number back). The shift must be closed, on that terminal, and counted as the row says.
CREATE FUNCTION redstore_shift_z_number() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    sh record;
BEGIN
    SELECT terminal_id, closed_at, counted_cash INTO sh FROM shifts
        WHERE store_id = NEW.store_id AND shift_id = NEW.shift_id;
    IF NOT FOUND OR sh.closed_at IS NULL THEN
        RAISE EXCEPTION 'shift % is not closed: no Z report yet', NEW.shift_id USING ERRCODE = '55000';
    END IF;
    IF sh.terminal_id <> NEW.terminal_id OR sh.counted_cash <> NEW.counted_cash THEN
        RAISE EXCEPTION 'Z report of shift %: terminal or counted cash differ from the shift', NEW.shift_id
            USING ERRCODE = '23514';
    END IF;
    INSERT INTO shift_z_counters (store_id, terminal_id, last_z) VALUES (NEW.store_id, NEW.terminal_id, 0)
        ON CONFLICT (store_id, terminal_id) DO NOTHING;
    UPDATE shift_z_counters SET last_z = last_z + 1 WHERE store_id = NEW.store_id AND terminal_id = NEW.terminal_id
        RETURNING last_z INTO NEW.z_number;
    IF NEW.z_number IS NULL THEN
        RAISE EXCEPTION 'Z counter of terminal % is not visible to this session', NEW.terminal_id USING ERRCODE = '42501';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER shift_z_reports_number BEFORE INSERT ON shift_z_reports
    FOR EACH ROW EXECUTE FUNCTION redstore_shift_z_number();

-- Sales of a terminal by the time they were recorded: what a shift's figures read.
CREATE INDEX sales_store_terminal_recorded ON sales (store_id, terminal_id, recorded_at);

GRANT SELECT, INSERT, UPDATE ON shifts TO redstore_store;
GRANT SELECT, INSERT ON shift_cash_movements, shift_z_reports TO redstore_store;
GRANT SELECT, INSERT, UPDATE ON shift_z_counters TO redstore_store;
