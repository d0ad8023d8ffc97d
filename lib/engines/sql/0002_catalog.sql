-- The catalog: store settings, tax classes and products. PostgreSQL is its system of record; Redis holds
-- a cache of it (lib/engines/engines_int.h). Every table carries store_id.

ALTER TABLE stores ADD COLUMN prices_include_tax boolean NOT NULL DEFAULT false;

CREATE TABLE tax_classes (
    store_id    text NOT NULL CONSTRAINT tax_classes_store_fk REFERENCES stores (store_id),
    code        text NOT NULL CHECK (code ~ '^[A-Za-z0-9_-]{1,32}$'),
    rate_ppm    bigint NOT NULL CHECK (rate_ppm BETWEEN 0 AND 1000000),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tax_classes_pkey PRIMARY KEY (store_id, code)
);

-- SKUs compare byte by byte (COLLATE "C"): the order of redstore_product_list() and of its keyset
-- cursor is strcmp() order, whatever the database's locale.
-- The barcode constraint is deferrable so that one import can swap barcodes between products; outside
-- such a transaction it is checked at the end of every statement.
CREATE TABLE products (
    store_id    text NOT NULL CONSTRAINT products_store_fk REFERENCES stores (store_id),
    sku         text COLLATE "C" NOT NULL CHECK (sku ~ '^[!-~]{1,64}$'),
    barcode     text CHECK (barcode ~ '^[0-9A-Za-z-]{1,64}$'),
    name        text NOT NULL CHECK (name <> ''),
    brand       text NOT NULL DEFAULT '',
    category    text NOT NULL DEFAULT '',
    price       bigint NOT NULL CHECK (price >= 0),
    currency    char(3) NOT NULL,
    tax_class   text,
    stock_policy text NOT NULL DEFAULT 'deny' CHECK (stock_policy IN ('deny', 'allow')),
    low_stock_threshold bigint NOT NULL DEFAULT 0 CHECK (low_stock_threshold >= 0),
    active      boolean NOT NULL DEFAULT true,
    favourite   boolean NOT NULL DEFAULT false,
    custom      jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(custom) = 'object'),
    version     bigint NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT products_pkey PRIMARY KEY (store_id, sku),
    CONSTRAINT products_barcode_unique UNIQUE (store_id, barcode) DEFERRABLE INITIALLY IMMEDIATE,
    -- MATCH SIMPLE: an untaxed product (tax_class NULL) references nothing.
    CONSTRAINT products_tax_class_fk FOREIGN KEY (store_id, tax_class) REFERENCES tax_classes (store_id, code)
);

-- The quick-pick screens list a store's favourites.
CREATE INDEX products_favourites ON products (store_id, sku) WHERE favourite;
