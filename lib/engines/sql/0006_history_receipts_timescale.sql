-- The receipt as issued (the sale event's payload, JSON) kept with each sale: reprinting a receipt from
-- history, and rebuilding a store's idempotency records in Redis, both need the exact document.
ALTER TABLE sales ADD COLUMN receipt text NOT NULL DEFAULT '';

-- Monthly partitions only where the sales tables are natively partitioned: on TimescaleDB they are
-- hypertables (below), whose chunks TimescaleDB creates itself.
CREATE OR REPLACE FUNCTION redstore_ensure_month_partitions(from_ts timestamptz, months integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    m date := date_trunc('month', from_ts AT TIME ZONE 'UTC')::date;
    made integer := 0;
    t text;
    name text;
BEGIN
    FOR i IN 0 .. months - 1 LOOP
        FOREACH t IN ARRAY ARRAY['sales', 'sale_lines', 'sale_tenders'] LOOP
            CONTINUE WHEN (SELECT relkind FROM pg_class WHERE oid = to_regclass(t)) IS DISTINCT FROM 'p';
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

-- TimescaleDB, when the server has it loaded (it must be in shared_preload_libraries) and the sales
-- tables are still empty: the same tables as hypertables chunked by month of occurred_at. Columns,
-- keys and indexes stay the same, so every query works on both layouts. Elsewhere nothing changes.
DO $$
DECLARE
    t text;
    busy boolean;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')
       OR coalesce(current_setting('shared_preload_libraries', true), '') NOT LIKE '%timescaledb%' THEN
        RETURN;
    END IF;
    FOREACH t IN ARRAY ARRAY['sales', 'sale_lines', 'sale_tenders'] LOOP
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I)', t) INTO busy;
        IF busy THEN
            RAISE WARNING 'redstore: % holds rows already; the sales tables stay natively partitioned', t;
            RETURN;
        END IF;
    END LOOP;
    BEGIN
        CREATE EXTENSION IF NOT EXISTS timescaledb;
        FOREACH t IN ARRAY ARRAY['sales', 'sale_lines', 'sale_tenders'] LOOP
            EXECUTE format('ALTER TABLE %I RENAME TO %I', t, t || '_native');
            EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)',
                           t, t || '_native');
            EXECUTE format('DROP TABLE %I CASCADE', t || '_native');
            PERFORM create_hypertable(t::regclass, 'occurred_at', chunk_time_interval => interval '1 month');
        END LOOP;
    EXCEPTION WHEN insufficient_privilege OR feature_not_supported OR undefined_function THEN
        -- everything in this block is undone: the native layout stays, and says why
        RAISE WARNING 'redstore: TimescaleDB is installed but cannot be used here (%); native partitions stay',
                      SQLERRM;
    END;
END $$;
