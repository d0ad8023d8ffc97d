"""examples/python run against the dev stack: the catalog import and today's sales by hour."""
import datetime
import os
import subprocess
import sys

import redstore
from conftest import sale_envelope, unique

EXAMPLES = os.environ.get("REDSTORE_EXAMPLES_DIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "examples", "python")


def run(*args):
    return subprocess.run([sys.executable, os.path.join(EXAMPLES, args[0])] + list(args[1:]),
                          capture_output=True, text=True, timeout=120)


def test_import_catalog_creates_the_store_and_its_products(client, tmp_path):
    store = unique("pyex")
    r = run("import_catalog.py", "--store", store, "--create", "Example", os.path.join(EXAMPLES, "catalog.csv"))
    assert r.returncode == 0, r.stderr
    assert "4 rows: 4 created, 0 updated, 0 bad" in r.stdout
    client.use_store(store)
    assert client.product("CROISSANT")["name"] == "Croissant, butter"
    assert client.product_by_barcode("4006381333948")["sku"] == "LATTE"
    # A bad row: reported with its line, nothing written, exit status 1.
    bad = tmp_path / "bad.csv"
    bad.write_text("sku,name,price\nNEW1,New,100\nNEW2,New two,-5\n")
    r = run("import_catalog.py", "--store", store, str(bad))
    assert r.returncode == 1 and "line 3:" in r.stderr and "nothing was written" in r.stdout
    assert [p["sku"] for p in client.products()] == ["CROISSANT", "ESPRESSO", "GIFT-CARD", "LATTE"]


def test_sales_by_hour_prints_the_projected_sales_of_today(client):
    store = unique("pyhr")
    client.create_store(store, "Hourly", "EUR", timezone="UTC")
    client.use_store(store)
    client.create_product(sku="BUN", name="Bun", price=125)
    client.receive({"BUN": 20})
    with redstore.Sale() as sale:
        sale.add("BUN", 3).tender("cash", 500)
        with client.commit(sale) as receipt:
            envelope = sale_envelope(store, receipt)  # as the projector receives it from Kafka
    now = datetime.datetime.now(datetime.timezone.utc)
    assert client.project([envelope]) == 1
    assert client.project([envelope]) == 0  # exactly once by event id
    hours = client.sales_by_hour(now.date().isoformat())
    assert len(hours) == 1 and hours[0]["total"] == 375 and hours[0]["units"] == 3
    assert hours[0]["bucket"] == now.strftime("%Y-%m-%d %H:00")  # the store's zone is UTC
    hour_ms = int(now.timestamp()) // 3600 * 3600 * 1000
    by_product = client.report_sales(hour_ms, hour_ms + 3600 * 1000, "hour", group_by="product")
    assert by_product["from_rollups"] and [(r["key"], r["units"]) for r in by_product["rows"]] == [("BUN", 3)]
    assert client.report_sales(hour_ms, hour_ms + 3600 * 1000, "all", force_raw=True)["rows"][0]["total"] == 375
    assert [r["key"] for r in client.top_products(hour_ms, hour_ms + 3600 * 1000, n=5)] == ["BUN"]

    r = run("sales_by_hour.py", "--store", store, "--date", now.date().isoformat())
    assert r.returncode == 0, r.stderr
    rows = [line.split() for line in r.stdout.splitlines()]
    assert [now.strftime("%H:00"), "1", "3", "3.75", "0.00", "0.00"] in rows
    assert rows[-1] == ["day", "1", "3", "3.75", "0.00", "0.00"]
    r = run("sales_by_hour.py", "--store", store, "--date", "not-a-date")
    assert r.returncode == 1 and "REDSTORE_EINVALID" in r.stderr
