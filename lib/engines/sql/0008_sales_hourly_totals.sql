-- Per store and hour (UTC), all products together: what the hourly and daily sales reports read when
-- they are not split by product, category or brand (about 24 rows a day a store, instead of one per
-- product sold in each hour). Maintained by the projector in the same statement as sales_hourly.
CREATE TABLE sales_hourly_totals (
    store_id      text NOT NULL,
    hour          timestamptz NOT NULL,
    units         bigint NOT NULL DEFAULT 0,
    refunded_units bigint NOT NULL DEFAULT 0,
    gross         bigint NOT NULL DEFAULT 0,
    discount      bigint NOT NULL DEFAULT 0,
    tax           bigint NOT NULL DEFAULT 0,
    total         bigint NOT NULL DEFAULT 0,
    refunds       bigint NOT NULL DEFAULT 0,
    lines         bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (store_id, hour)
);

INSERT INTO sales_hourly_totals (store_id, hour, units, refunded_units, gross, discount, tax, total, refunds, lines)
SELECT store_id, hour, sum(units), sum(refunded_units), sum(gross), sum(discount), sum(tax), sum(total), sum(refunds),
       sum(lines)
FROM sales_hourly GROUP BY store_id, hour;
