"""Reports through the bindings: sales by tender kind (net of change) over a store's local day."""
import datetime

import pytest

import redstore

from conftest import sale_envelope, unique


def test_sales_by_tender_over_the_store_day_of_a_utc_plus_14_store(client):
    store = unique("pyday")
    client.create_store(store, "Kiritimati", "EUR", timezone="Pacific/Kiritimati")
    client.use_store(store)
    client.create_product(sku="BUN", name="Bun", price=125)
    client.receive({"BUN": 20})
    today = client.store_day_range()
    now_ms = int(datetime.datetime.now(datetime.timezone.utc).timestamp() * 1000)
    assert today["from_ms"] <= now_ms < today["to_ms"] and today["to_ms"] - today["from_ms"] == 86400 * 1000
    assert today["from_ms"] // 1000 % 86400 == 10 * 3600  # local midnight is 10:00 UTC
    assert today["day"] == (datetime.datetime.now(datetime.timezone.utc)
                            + datetime.timedelta(hours=14)).date().isoformat()
    assert client.store_day_range("2026-12-01") == {"day": "2026-12-01", "from_ms": 1796032800000,
                                                    "to_ms": 1796032800000 + 86400 * 1000}
    with pytest.raises(redstore.InvalidError):
        client.store_day_range("2026-02-30")
    # 375 paid 100 by card and 400 in cash: 125 change, so the cash took 275.
    with redstore.Sale() as sale:
        sale.add("BUN", 3).tender("card", 100).tender("cash", 400)
        with client.commit(sale) as receipt:
            envelope = sale_envelope(store, receipt)
    assert client.project([envelope]) == 1
    rows = client.report_sales(today["from_ms"], today["to_ms"], "all", group_by="tender")["rows"]
    assert [(r["key"], r["total"], r["lines"]) for r in rows] == [("card", 100, 1), ("cash", 275, 1)]
