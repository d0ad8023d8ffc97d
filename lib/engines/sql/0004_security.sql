-- Security (include/redstore/auth.h): paired terminals, employees, the hash-chained audit log, and
-- row-level security on every store-scoped table.
--
-- Roles. The role that runs the migrations owns every table and is the *service* role (migrations, the
-- projector, admin tools): it reaches every store through the explicit policy redstore_service. The
-- library's store-scoped connections (a client with an employee session attached) SET ROLE to
-- redstore_store, a NOLOGIN, NOBYPASSRLS role that sees and writes only the rows whose store_id equals
-- the setting redstore.store_id. FORCE ROW LEVEL SECURITY makes the policies bind the owner too, so no
-- role reaches a row without a policy that names it.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'redstore_store') THEN
        BEGIN
            CREATE ROLE redstore_store NOLOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL; -- another database's migration created it at the same moment
        END;
    END IF;
END $$;
-- The migrating role must be able to SET ROLE redstore_store. Granting needs CREATEROLE (or ADMIN OPTION):
-- where the database's owner has neither, a DBA creates redstore_store and grants it to the owner first.
DO $$
BEGIN
    IF NOT pg_has_role(current_user, 'redstore_store', 'MEMBER') THEN
        EXECUTE format('GRANT redstore_store TO %I', current_user);
    END IF;
END $$;

-- Terminals paired with a store. The device token is 256 random bits; only its SHA-256 is kept.
CREATE TABLE terminals (
    store_id      text NOT NULL CONSTRAINT terminals_store_fk REFERENCES stores (store_id),
    terminal_id   uuid NOT NULL,
    name          text NOT NULL CHECK (name <> ''),
    token_hash    bytea NOT NULL CONSTRAINT terminals_token_unique UNIQUE,
    paired_by     text NOT NULL DEFAULT '',
    paired_at     timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz,
    PRIMARY KEY (store_id, terminal_id)
);

-- One-time pairing codes: short, expiring, used once (used_at is set atomically on redemption).
CREATE TABLE pairing_codes (
    store_id      text NOT NULL CONSTRAINT pairing_codes_store_fk REFERENCES stores (store_id),
    code_hash     bytea PRIMARY KEY,
    name          text NOT NULL CHECK (name <> ''),
    issued_by     text NOT NULL DEFAULT '',
    expires_at    timestamptz NOT NULL,
    used_at       timestamptz
);
CREATE INDEX pairing_codes_store ON pairing_codes (store_id, expires_at);

-- Employees of a store. pin_hash is libsodium's argon2id string (salt and limits included). The failure
-- counter and the lock live in the row, so concurrent terminals count every wrong PIN (one UPDATE each).
CREATE TABLE employees (
    store_id      text NOT NULL CONSTRAINT employees_store_fk REFERENCES stores (store_id),
    employee_id   text NOT NULL CHECK (employee_id ~ '^[A-Za-z0-9_.-]{1,64}$'),
    name          text NOT NULL CHECK (name <> ''),
    role          text NOT NULL CHECK (role IN ('cashier', 'supervisor', 'manager', 'admin')),
    pin_hash      text NOT NULL,
    active        boolean NOT NULL DEFAULT true,
    failed_pins   integer NOT NULL DEFAULT 0,
    locked_until  timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (store_id, employee_id)
);

-- The audit log: append-only, one hash chain per store. Entry n stores the hash of entry n-1
-- (prev_hash) and its own hash, SHA-256 of redstore_audit_encoding(...) (hex). audit_heads holds each
-- store's last sequence number and hash; appending locks that row, so concurrent appends never fork.
CREATE TABLE audit_log (
    store_id      text NOT NULL,
    seq           bigint NOT NULL CHECK (seq > 0),
    occurred_ms   bigint NOT NULL,
    action        text NOT NULL,
    employee_id   text NOT NULL DEFAULT '',
    terminal_id   text NOT NULL DEFAULT '',
    approved_by   text NOT NULL DEFAULT '',
    subject       text NOT NULL DEFAULT '',
    details       text NOT NULL DEFAULT '{}',
    prev_hash     text NOT NULL,
    hash          text NOT NULL,
    PRIMARY KEY (store_id, seq)
);
CREATE TABLE audit_heads (
    store_id      text PRIMARY KEY,
    last_seq      bigint NOT NULL,
    last_hash     text NOT NULL
);

CREATE FUNCTION redstore_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION redstore_audit_append_only();

-- The canonical encoding that an entry's hash covers: every field as <octets>:<text>; in a fixed order,
-- so no two different entries encode alike. lib/security/audit.c builds the same bytes to verify.
CREATE FUNCTION redstore_audit_field(v text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT octet_length(v)::text || ':' || v || ';'
$$;
CREATE FUNCTION redstore_audit_encoding(p_store text, p_seq bigint, p_ms bigint, p_action text,
                                        p_employee text, p_terminal text, p_approved text, p_subject text,
                                        p_details text, p_prev text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT 'redstore-audit-v1;' || redstore_audit_field(p_store) || redstore_audit_field(p_seq::text)
        || redstore_audit_field(p_ms::text) || redstore_audit_field(p_action)
        || redstore_audit_field(p_employee) || redstore_audit_field(p_terminal)
        || redstore_audit_field(p_approved) || redstore_audit_field(p_subject)
        || redstore_audit_field(p_details) || redstore_audit_field(p_prev)
$$;

-- Appends one entry to a store's chain and returns its sequence number and hash.
CREATE FUNCTION redstore_audit_append(p_store text, p_ms bigint, p_action text, p_employee text,
                                      p_terminal text, p_approved text, p_subject text, p_details text,
                                      OUT o_seq bigint, OUT o_hash text) LANGUAGE plpgsql AS $$
DECLARE
    prev text;
BEGIN
    INSERT INTO audit_heads (store_id, last_seq, last_hash) VALUES (p_store, 0, repeat('0', 64))
        ON CONFLICT (store_id) DO NOTHING;
    SELECT h.last_seq + 1, h.last_hash INTO o_seq, prev FROM audit_heads h WHERE h.store_id = p_store FOR UPDATE;
    IF o_seq IS NULL THEN
        RAISE EXCEPTION 'audit: store % is not visible to this session', p_store USING ERRCODE = '42501';
    END IF;
    o_hash := encode(sha256(convert_to(redstore_audit_encoding(p_store, o_seq, p_ms, p_action, p_employee,
                                                               p_terminal, p_approved, p_subject, p_details,
                                                               prev), 'UTF8')), 'hex');
    INSERT INTO audit_log (store_id, seq, occurred_ms, action, employee_id, terminal_id, approved_by, subject,
                           details, prev_hash, hash)
        VALUES (p_store, o_seq, p_ms, p_action, p_employee, p_terminal, p_approved, p_subject, p_details, prev,
                o_hash);
    UPDATE audit_heads SET last_seq = o_seq, last_hash = o_hash WHERE store_id = p_store;
END $$;

-- Row-level security on every store-scoped table: every table of the schema with a store_id column
-- (partitions aside) gets ENABLE + FORCE and the two policies, and redstore_store may read it (the
-- explicit grants below add what the library writes). redstore_db_migrate() calls this again after
-- every migration it applies, so a store-scoped table added by a later migration (or recreated, e.g.
-- as a TimescaleDB hypertable) is covered too; tests check that no such table is left without it.
-- Partitioned tables: the policies of the parent apply to queries through the parent; redstore_store
-- has no privilege on any partition, so a partition cannot be read or written around them.
CREATE FUNCTION redstore_secure_store_tables() RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    r record;
    made integer := 0;
BEGIN
    FOR r IN SELECT c.oid, c.relname, c.relrowsecurity, c.relforcerowsecurity
             FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'store_id' AND NOT a.attisdropped
             WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition LOOP
        IF NOT (r.relrowsecurity AND r.relforcerowsecurity) THEN
            EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', r.relname);
            EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', r.relname);
        END IF;
        IF NOT EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = r.oid AND polname = 'redstore_store_isolation') THEN
            EXECUTE format('CREATE POLICY redstore_store_isolation ON %I TO redstore_store'
                           ' USING (store_id = current_setting(''redstore.store_id'', true))'
                           ' WITH CHECK (store_id = current_setting(''redstore.store_id'', true))', r.relname);
            EXECUTE format('GRANT SELECT ON %I TO redstore_store', r.relname);
            made := made + 1;
        END IF;
        IF NOT EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = r.oid AND polname = 'redstore_service') THEN
            EXECUTE format('CREATE POLICY redstore_service ON %I TO %I USING (true) WITH CHECK (true)', r.relname,
                           current_user);
        END IF;
    END LOOP;
    RETURN made;
END $$;

SELECT redstore_secure_store_tables();

-- What a store-scoped session may do, table by table (never DELETE on history, never UPDATE on the
-- append-only tables, nothing on stores but reading and updating its own settings).
GRANT SELECT, UPDATE ON stores TO redstore_store;
GRANT SELECT, INSERT, UPDATE, DELETE ON tax_classes, products, stock_levels, sales_hourly TO redstore_store;
GRANT SELECT, INSERT ON processed_events, sales, sale_lines, sale_tenders, stock_ledger TO redstore_store;
GRANT USAGE ON SEQUENCE stock_ledger_entry_id_seq TO redstore_store;
GRANT SELECT, UPDATE ON terminals TO redstore_store;
GRANT SELECT, INSERT ON pairing_codes TO redstore_store;
GRANT SELECT, INSERT, UPDATE ON employees TO redstore_store;
GRANT SELECT, INSERT ON audit_log TO redstore_store;
GRANT SELECT, INSERT, UPDATE ON audit_heads TO redstore_store;
