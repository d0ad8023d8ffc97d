-- The system of record for history, written by the projector from Kafka events (one transaction per
-- batch, idempotent by event id through processed_events). Sales tables are partitioned by month of
-- occurred_at; redstore_ensure_month_partitions() creates them ahead, and a DEFAULT partition catches
-- anything outside so an insert never fails for want of a partition.

CREATE TABLE sales (
    store_id      text NOT NULL,
    sale_id       uuid NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('sale', 'refund', 'void')),
    ref_sale_id   uuid,
    event_id      uuid NOT NULL,
    terminal_id   text NOT NULL DEFAULT '',
    employee_id   text NOT NULL DEFAULT '',
    occurred_at   timestamptz NOT NULL,
    recorded_at   timestamptz NOT NULL,
    currency      char(3) NOT NULL,
    gross         bigint NOT NULL,
    discount      bigint NOT NULL,
    tax           bigint NOT NULL,
    total         bigint NOT NULL,
    tendered      bigint NOT NULL,
    change_due    bigint NOT NULL,
    customer_ref  text NOT NULL DEFAULT '',
    note          text NOT NULL DEFAULT '',
    PRIMARY KEY (store_id, sale_id, occurred_at)
) PARTITION BY RANGE (occurred_at);
CREATE INDEX sales_store_time ON sales (store_id, occurred_at);

CREATE TABLE sale_lines (
    store_id      text NOT NULL,
    sale_id       uuid NOT NULL,
    line_no       integer NOT NULL,
    occurred_at   timestamptz NOT NULL,
    kind          text NOT NULL,
    sku           text NOT NULL,
    name          text NOT NULL,
    qty           bigint NOT NULL,
    unit_price    bigint NOT NULL,
    gross         bigint NOT NULL,
    discount      bigint NOT NULL,
    net           bigint NOT NULL,
    tax           bigint NOT NULL,
    total         bigint NOT NULL,
    tax_class     text NOT NULL DEFAULT '',
    tax_rate_ppm  bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (store_id, sale_id, line_no, occurred_at)
) PARTITION BY RANGE (occurred_at);
CREATE INDEX sale_lines_store_sku_time ON sale_lines (store_id, sku, occurred_at);

CREATE TABLE sale_tenders (
    store_id      text NOT NULL,
    sale_id       uuid NOT NULL,
    tender_no     integer NOT NULL,
    occurred_at   timestamptz NOT NULL,
    kind          text NOT NULL,
    amount        bigint NOT NULL,
    reference     text NOT NULL DEFAULT '',
    PRIMARY KEY (store_id, sale_id, tender_no, occurred_at)
) PARTITION BY RANGE (occurred_at);

CREATE TABLE sales_default PARTITION OF sales DEFAULT;
CREATE TABLE sale_lines_default PARTITION OF sale_lines DEFAULT;
CREATE TABLE sale_tenders_default PARTITION OF sale_tenders DEFAULT;

-- Creates the monthly partitions of the sales tables from the month of `from_ts` for `months` months.
-- Idempotent. A month whose rows already sit in the DEFAULT partition is left there.
CREATE FUNCTION redstore_ensure_month_partitions(from_ts timestamptz, months integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    m date := date_trunc('month', from_ts AT TIME ZONE 'UTC')::date;
    made integer := 0;
    t text;
    name text;
BEGIN
    FOR i IN 0 .. months - 1 LOOP
        FOREACH t IN ARRAY ARRAY['sales', 'sale_lines', 'sale_tenders'] LOOP
            name := t || '_' || to_char(m + make_interval(months => i), 'YYYYMM');
            IF to_regclass(name) IS NULL THEN
                BEGIN
                    EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)', name, t,
                                   (m + make_interval(months => i))::timestamp AT TIME ZONE 'UTC',
                                   (m + make_interval(months => i + 1))::timestamp AT TIME ZONE 'UTC');
                    made := made + 1;
                EXCEPTION WHEN check_violation THEN
                    NULL; -- rows of that month are in the default partition already
                END;
            END IF;
        END LOOP;
    END LOOP;
    RETURN made;
END $$;

SELECT redstore_ensure_month_partitions(now() - interval '1 month', 4);

-- Every stock movement, one row each: append-only.
CREATE TABLE stock_ledger (
    store_id      text NOT NULL,
    entry_id      bigserial,
    event_id      uuid NOT NULL,
    event_type    text NOT NULL,
    sku           text NOT NULL,
    delta         bigint NOT NULL,
    reason        text NOT NULL DEFAULT '',
    reference     text NOT NULL DEFAULT '',
    occurred_at   timestamptz NOT NULL,
    PRIMARY KEY (store_id, entry_id)
);
CREATE INDEX stock_ledger_store_sku ON stock_ledger (store_id, sku, occurred_at);
CREATE FUNCTION redstore_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'stock_ledger is append-only';
END $$;
-- Statement-level, so even an UPDATE, DELETE or TRUNCATE that matches no row is refused.
CREATE TRIGGER stock_ledger_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON stock_ledger
    FOR EACH STATEMENT EXECUTE FUNCTION redstore_ledger_append_only();

-- The projected stock per SKU (the ledger's running balance), and reservations.
CREATE TABLE stock_levels (
    store_id      text NOT NULL,
    sku           text NOT NULL,
    on_hand       bigint NOT NULL DEFAULT 0,
    reserved      bigint NOT NULL DEFAULT 0,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (store_id, sku)
);

-- Per store, hour (UTC) and product: the rollup that hourly and daily reports read.
CREATE TABLE sales_hourly (
    store_id      text NOT NULL,
    hour          timestamptz NOT NULL,
    sku           text NOT NULL,
    units         bigint NOT NULL DEFAULT 0,
    refunded_units bigint NOT NULL DEFAULT 0,
    gross         bigint NOT NULL DEFAULT 0,
    discount      bigint NOT NULL DEFAULT 0,
    tax           bigint NOT NULL DEFAULT 0,
    total         bigint NOT NULL DEFAULT 0,
    refunds       bigint NOT NULL DEFAULT 0,
    lines         bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (store_id, hour, sku)
);
