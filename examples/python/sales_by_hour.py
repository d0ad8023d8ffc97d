#!/usr/bin/env python3
"""Prints a store's sales of one day hour by hour (today by default).

    python3 sales_by_hour.py --store demo
    python3 sales_by_hour.py --store demo --date 2026-12-01

The figures come from the library's sales report (redstore_report_sales, hourly buckets in the store's
time zone), which reads the per-hour rollups in PostgreSQL that the projector (redstore-projector)
writes from the sales events: run it for sales to appear. This program needs no database driver. The
day is the store's local calendar day; "today" is this machine's date unless --date is given. Amounts
are in the store's currency, minor units / 100.
"""
import argparse
import datetime
import sys

import redstore


def money(minor: int) -> str:
    return "%s%d.%02d" % ("-" if minor < 0 else "", abs(minor) // 100, abs(minor) % 100)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", required=True)
    ap.add_argument("--date", default=datetime.date.today().isoformat(), help="YYYY-MM-DD (default: today)")
    args = ap.parse_args()
    try:
        with redstore.Client(store=args.store) as client:
            hours = client.sales_by_hour(args.date)
    except redstore.RedstoreError as e:
        print("error: %s" % e, file=sys.stderr)
        return 75 if isinstance(e, redstore.RetriableError) else 1

    print("Sales of store %s on %s (store-local hours)" % (args.store, args.date))
    print("%-7s %7s %7s %12s %10s %12s" % ("hour", "lines", "units", "total", "tax", "refunds"))
    for h in hours:
        print("%-7s %7d %7d %12s %10s %12s" % (h["bucket"][11:16], h["lines"], h["units"], money(h["total"]),
                                               money(h["tax"]), money(h["refunds"])))
    print("%-7s %7d %7d %12s %10s %12s" % ("day", sum(h["lines"] for h in hours), sum(h["units"] for h in hours),
                                           money(sum(h["total"] for h in hours)), money(sum(h["tax"] for h in hours)),
                                           money(sum(h["refunds"] for h in hours))))
    if not hours:
        print("(no sales projected for this day yet)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
