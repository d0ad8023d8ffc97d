-- TimescaleDB, where the server can load it: the hourly rollups the reports read become continuous
-- aggregates over the sale lines, and the reports bucket with time_bucket (lib/reports/analytics.c). Elsewhere
-- (plain PostgreSQL) nothing changes: the projector's sales_hourly and sales_hourly_totals answer.
--
-- 0006 turned the sales tables into hypertables only where timescaledb is in shared_preload_libraries;
-- servers that load it on demand (an embedded build, say) are converted here, the same way, while the
-- tables are still empty. Then two continuous aggregates with the rollups' columns, real-time
-- (materialized_only = false: rows not yet materialized are read from the sale lines, so answers are
-- exact at every moment) and refreshed by a policy where the server runs background jobs.
--
-- Continuous aggregates carry no row-level security, so store-scoped sessions read them through two
-- security-barrier views that keep only the session's store (redstore_store has no privilege on the
-- aggregates themselves); the service reads every store.
DO $$
DECLARE
    t text;
    busy boolean;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') THEN
        RETURN;
    END IF;
    BEGIN
        CREATE EXTENSION IF NOT EXISTS timescaledb;
    EXCEPTION WHEN OTHERS THEN
        RAISE WARNING 'redstore: TimescaleDB is installed but cannot be loaded here (%); plain rollups stay', SQLERRM;
        RETURN;
    END;
    IF (SELECT count(*) FROM timescaledb_information.hypertables
        WHERE hypertable_name IN ('sales', 'sale_lines', 'sale_tenders')) < 3 THEN
        FOREACH t IN ARRAY ARRAY['sales', 'sale_lines', 'sale_tenders'] LOOP
            EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I)', t) INTO busy;
            IF busy THEN
                RAISE WARNING 'redstore: % holds rows already; plain rollups stay', t;
                RETURN;
            END IF;
        END LOOP;
        FOREACH t IN ARRAY ARRAY['sales', 'sale_lines', 'sale_tenders'] LOOP
            EXECUTE format('ALTER TABLE %I RENAME TO %I', t, t || '_native');
            EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)',
                           t, t || '_native');
            EXECUTE format('DROP TABLE %I CASCADE', t || '_native');
            PERFORM create_hypertable(t::regclass, 'occurred_at', chunk_time_interval => interval '1 month');
        END LOOP;
        -- what 0004 granted on the tables it knew (row-level security comes back with
        -- redstore_secure_store_tables(), which the migrator runs after every migration)
        GRANT SELECT, INSERT ON sales, sale_lines, sale_tenders TO redstore_store;
    END IF;

    -- the rollups' columns, as the projector sums them (lib/reports/analytics.c sums raw lines the same way)
    FOREACH t IN ARRAY ARRAY['sales_hourly_cagg', 'sales_hourly_totals_cagg'] LOOP
        EXECUTE format(
            'CREATE MATERIALIZED VIEW %I WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS'
            ' SELECT store_id, %s time_bucket(interval ''1 hour'', occurred_at) AS hour,'
            ' sum(CASE WHEN kind = ''sale'' THEN qty ELSE 0 END) AS units,'
            ' sum(CASE WHEN kind = ''sale'' THEN gross ELSE 0 END) AS gross,'
            ' sum(CASE WHEN kind = ''sale'' THEN discount ELSE 0 END) AS discount,'
            ' sum(CASE WHEN kind = ''sale'' THEN tax ELSE 0 END) AS tax,'
            ' sum(CASE WHEN kind = ''sale'' THEN total ELSE 0 END) AS total,'
            ' sum(CASE WHEN kind = ''sale'' THEN 0 ELSE qty END) AS refunded_units,'
            ' sum(CASE WHEN kind = ''sale'' THEN 0 ELSE total END) AS refunds,'
            ' count(*) AS lines'
            ' FROM sale_lines GROUP BY store_id, %s time_bucket(interval ''1 hour'', occurred_at) WITH NO DATA',
            t, CASE WHEN t = 'sales_hourly_cagg' THEN 'sku,' ELSE '' END,
            CASE WHEN t = 'sales_hourly_cagg' THEN 'sku,' ELSE '' END);
    END LOOP;
    BEGIN
        -- materialize what is older than an hour every 15 minutes (needs the server's job scheduler)
        PERFORM add_continuous_aggregate_policy('sales_hourly_cagg', start_offset => NULL,
                                                end_offset => interval '1 hour', schedule_interval => interval '15 minutes');
        PERFORM add_continuous_aggregate_policy('sales_hourly_totals_cagg', start_offset => NULL,
                                                end_offset => interval '1 hour', schedule_interval => interval '15 minutes');
    EXCEPTION WHEN OTHERS THEN
        RAISE WARNING 'redstore: no refresh policy for the continuous aggregates (%); they answer in real time', SQLERRM;
    END;
    CREATE VIEW sales_hourly_ts WITH (security_barrier) AS
        SELECT * FROM sales_hourly_cagg
        WHERE current_user <> 'redstore_store' OR store_id = current_setting('redstore.store_id', true);
    CREATE VIEW sales_hourly_totals_ts WITH (security_barrier) AS
        SELECT * FROM sales_hourly_totals_cagg
        WHERE current_user <> 'redstore_store' OR store_id = current_setting('redstore.store_id', true);
    GRANT SELECT ON sales_hourly_ts, sales_hourly_totals_ts TO redstore_store;
END $$;

-- Which rollups answer [p_from, p_to) right now, in one call: NULL on plain PostgreSQL (no aggregates:
-- the projector's sales_hourly tables), true where TimescaleDB's aggregates are exact for the range,
-- false where they are not. Above an aggregate's watermark TimescaleDB reads the sale lines in real time;
-- below it, a sale line written after the last refresh (an offline till's sale synced late, a projector
-- catching up) stays invisible until the next refresh, and TimescaleDB logs its time as an invalidation.
-- So: exact unless an invalidation not yet refreshed overlaps the range below the watermark (ranges are
-- inclusive there); the reports read the raw lines then. Internal times are Unix microseconds. Reads
-- TimescaleDB's catalog (hence SECURITY DEFINER: sessions have no right to it); a TimescaleDB whose
-- catalog is laid out otherwise says false. Plain PostgreSQL returns before the block that catches
-- errors, so a report there costs no subtransaction.
CREATE FUNCTION redstore_rollups_current(p_from timestamptz, p_to timestamptz) RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    lo bigint := (extract(epoch FROM p_from) * 1000000)::bigint;
    hi bigint := (extract(epoch FROM p_to) * 1000000)::bigint;
    stale boolean;
BEGIN
    IF to_regclass('public.sales_hourly_ts') IS NULL THEN
        RETURN NULL;
    END IF;
    BEGIN
        SELECT EXISTS (
                   SELECT 1 FROM _timescaledb_catalog.continuous_aggs_hypertable_invalidation_log l
                   JOIN _timescaledb_catalog.hypertable h ON h.id = l.hypertable_id
                   WHERE h.table_name = 'sale_lines'
                     AND greatest(l.lowest_modified_value, lo) <= least(l.greatest_modified_value, hi - 1))
            OR EXISTS (
                   SELECT 1 FROM _timescaledb_catalog.continuous_aggs_materialization_invalidation_log m
                   JOIN _timescaledb_catalog.continuous_agg ca ON ca.mat_hypertable_id = m.materialization_id
                   WHERE ca.user_view_name IN ('sales_hourly_cagg', 'sales_hourly_totals_cagg')
                     AND greatest(m.lowest_modified_value, lo)
                         <= least(m.greatest_modified_value, hi - 1,
                                  _timescaledb_functions.cagg_watermark(ca.mat_hypertable_id) - 1))
          INTO stale;
        RETURN NOT stale;
    EXCEPTION WHEN undefined_table OR undefined_column OR undefined_function OR invalid_schema_name THEN
        RETURN false;
    END;
END $$;
