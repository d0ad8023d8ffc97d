#!/usr/bin/env python3
"""Imports a catalog CSV into a store and prints what it did.

    python3 import_catalog.py --store demo catalog.csv
    python3 import_catalog.py --store demo --create "Demo Shop" --currency EUR --timezone Europe/Paris catalog.csv

The CSV has a header row; sku, name and price (minor units) are required, the other columns of
redstore_catalog_import_csv() are optional. The file is applied in one transaction: with a bad row
nothing is written, unless --skip-bad-rows. The engines come from the REDSTORE_* environment
(`source .redstore/env` after scripts/demo, or scripts/dev-stack env).
"""
import argparse
import sys

import redstore


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv", help="the catalog file")
    ap.add_argument("--store", required=True, help="the store to import into")
    ap.add_argument("--create", metavar="NAME", help="create (or update) the store first, with this name")
    ap.add_argument("--currency", default="EUR", help="with --create: ISO 4217 currency (default EUR)")
    ap.add_argument("--timezone", default="UTC", help="with --create: IANA time zone (default UTC)")
    ap.add_argument("--skip-bad-rows", action="store_true", help="import the good rows even when some are bad")
    args = ap.parse_args()

    try:
        with redstore.Client() as client:
            if args.create:
                client.create_store(args.store, args.create, args.currency, timezone=args.timezone)
            client.use_store(args.store)
            try:
                report = client.import_csv(args.csv, skip_bad_rows=args.skip_bad_rows)
            except redstore.InvalidError as e:
                report = getattr(e, "report", None)
                if report is None:
                    raise
            for err in report["errors"]:
                print("line %d: %s" % (err["line"], err["message"]), file=sys.stderr)
            print("%d rows: %d created, %d updated, %d bad%s" % (
                report["rows"], report["created"], report["updated"], len(report["errors"]),
                "" if report["applied"] else " - nothing was written (use --skip-bad-rows)"))
            return 0 if report["applied"] else 1
    except redstore.RetriableError as e:
        print("temporarily failed, try again: %s" % e, file=sys.stderr)
        return 75
    except redstore.RedstoreError as e:
        print("error: %s" % e, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
