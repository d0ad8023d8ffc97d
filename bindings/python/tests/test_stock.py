"""Stock operations and the catalog through the bindings, against the real Redis and PostgreSQL."""
import time

import pytest

import redstore


def test_receive_adjust_count_are_applied_once_by_their_ids(client, product):
    op = redstore.new_id()
    r = client.receive([(product, 5, 120)], supplier_ref="INV-1", op_id=op)
    assert r["op_id"] == op and not r["duplicate"]
    assert r["levels"][0]["on_hand"] == 15 and r["levels"][0]["delta"] == 5
    again = client.receive([(product, 5, 120)], supplier_ref="INV-1", op_id=op)
    assert again["duplicate"] and again["levels"][0]["on_hand"] == 15

    r = client.adjust(product, -2, reason="damage")
    assert r["levels"][0]["on_hand"] == 13
    with pytest.raises(redstore.InvalidError):
        client.adjust(product, -1, reason="other")  # "other" needs a note
    r = client.count({product: 20})
    assert r["levels"][0]["on_hand"] == 20 and r["levels"][0]["delta"] == 7
    assert client.stock(product)[product] == dict(r["levels"][0], delta=0, crossed_low=0)


def test_reservations_hold_units_until_released(client, product):
    res_id = redstore.new_id()
    r = client.reserve({product: 4}, expires_at_ms=int(time.time() * 1000) + 3600_000, reservation_id=res_id)
    assert r["levels"][0]["reserved"] == 4 and r["levels"][0]["available"] == 6
    with redstore.Sale() as sale:
        sale.add(product, 7).tender("cash", 5000)
        with pytest.raises(redstore.OutOfStockError):
            client.commit(sale)
    r = client.release(res_id)
    assert r["levels"][0]["reserved"] == 0 and r["levels"][0]["available"] == 10


def test_transfer_moves_units_between_stores(client, product, store):
    other = store + "-b"
    client.create_store(other, "Second", "EUR")
    with redstore.Client(store=other) as c2:
        c2.set_tax_class("standard", 200000)
        c2.create_product(sku=product, name="Coffee", price=250, tax_class="standard")
        tr = client.transfer_send(other, {product: 3})
        assert tr["levels"][0]["on_hand"] == 7
        got = c2.transfer_receive(tr["op_id"], {product: 3})
        assert got["levels"][0]["on_hand"] == 3
        with pytest.raises(redstore.InvalidError):
            c2.transfer_receive(tr["op_id"], {product: 1})  # nothing left in transit


def test_products_iterate_over_pages_in_sku_order(client, store):
    skus = ["P%02d" % i for i in range(7)]
    for sku in reversed(skus):
        client.create_product(sku=sku, name="Product " + sku, price=100, custom_json={"shelf": sku})
    client.deactivate_product("P03")
    listed = list(client.products(page_size=2))
    assert [p["sku"] for p in listed] == [s for s in skus if s != "P03"]
    assert listed[0]["custom_json"] == '{"shelf":"P00"}' or '"shelf"' in listed[0]["custom_json"]
    assert len(list(client.products(page_size=3, include_inactive=True))) == 7
    p = client.product("P03")
    assert p["active"] is False and p["name"] == "Product P03"
    client.update_product(**dict(p, price=175, active=True))
    assert client.product("P03")["price"] == 175


def test_csv_import_reports_bad_rows_and_writes_nothing_without_skip(client, store, tmp_path):
    path = tmp_path / "catalog.csv"
    path.write_text("sku,name,price\nA1,Apple,120\nB2,,300\nC3,Cherry,abc\n")
    with pytest.raises(redstore.InvalidError) as e:
        client.import_csv(str(path))
    report = e.value.report
    assert report["rows"] == 3 and not report["applied"]
    assert [x["line"] for x in report["errors"]] == [3, 4]
    with pytest.raises(redstore.NotFoundError):
        client.product("A1")
    report = client.import_csv(str(path), skip_bad_rows=True)
    assert report["created"] == 1 and report["applied"]
    assert client.product("A1")["price"] == 120


def test_sync_reads_the_changes_after_an_id_and_snapshots_with_the_id(client, product):
    snap = client.sync_snapshot()
    assert [(x["sku"], x["on_hand"]) for x in snap["lines"]] == [(product, 10)]
    op = redstore.new_id()
    client.adjust(product, -3, reason="damage", op_id=op)
    got = client.sync_read(snap["stream_id"], max=10)
    assert not got["resync"] and len(got["changes"]) == 1
    change = got["changes"][0]
    assert change["op_id"] == op and change["id"] == got["last_id"]
    assert change["lines"] == [{"sku": product, "on_hand": 7, "reserved": 0, "delta": -3}]
    assert client.sync_read(got["last_id"], wait_ms=0)["changes"] == []
    with pytest.raises(redstore.InvalidError):
        client.sync_read("not-an-id")


def test_sales_by_hour_is_empty_for_a_quiet_day_and_checks_its_date(client, store):
    assert client.sales_by_hour("2001-01-01") == []
    with pytest.raises(redstore.InvalidError):
        client.sales_by_hour("yesterday")


def test_reconcile_waits_for_the_projector_and_names_it_when_it_is_behind(client, product):
    # The product fixture received stock: that event is not projected by a group nobody runs.
    group = "py-nobody-" + redstore.new_id()[-12:]
    with pytest.raises(redstore.RetriableError) as e:
        client.reconcile(group_id=group, wait_ms=300)
    assert group in str(e.value)
