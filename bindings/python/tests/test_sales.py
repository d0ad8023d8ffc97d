"""Sales through the bindings: priced from the catalog, exactly once by id, receipts, refunds, voids."""
import pytest

import redstore


def test_commit_prices_from_the_catalog_takes_stock_and_is_exactly_once(client, product):
    with redstore.Sale() as sale:
        sale.add(product, 3).tender("cash", 1000)
        with client.quote(sale) as q:
            assert q.total == 750 and q.duplicate == 0
        with client.commit(sale) as r:
            assert r.sale_id == sale.id
            assert r["total"] == 750
            assert r.change_due == 250
            assert r.lines[0]["sku"] == product and r.lines[0]["qty"] == 3
            assert r.tax == 125  # 20 % included in 750
            assert sale.id in r.render_text(42)
        assert client.stock(product)[product]["available"] == 7
        # The same sale again: the first receipt, marked duplicate, and no second stock change.
        with client.commit(sale) as again:
            assert again.duplicate == 1 and again.total == 750
        assert client.stock(product)[product]["on_hand"] == 7
        with client.receipt(sale.id) as stored:
            assert stored.total == 750


def test_commit_many_commits_each_sale_and_reports_each_failure(client, product):
    ok1, ok2, too_big = redstore.Sale(), redstore.Sale(), redstore.Sale()
    ok1.add(product, 1).tender("card", 250)
    ok2.add_barcode("4000000000001", 2).tender("card", 500)
    too_big.add(product, 50).tender("card", 12500)
    results = client.commit_many([ok1, ok2, too_big])
    assert [type(x) for x in results[:2]] == [redstore.Receipt, redstore.Receipt]
    assert results[0].sale_id == ok1.id and results[1].total == 500
    assert isinstance(results[2], redstore.OutOfStockError)
    assert client.stock(product)[product]["available"] == 7
    for x in (ok1, ok2, too_big, results[0], results[1]):
        x.close()


def test_refund_and_void_give_back_money_and_stock(client, product):
    with redstore.Sale() as sale:
        sale.add(product, 4).tender("card", 1000, reference="auth-1")
        sale_id = sale.id
        with client.commit(sale) as r:
            assert r.tenders == [{"kind": "card", "amount": 1000, "reference": "auth-1"}]
    assert client.stock(product)[product]["on_hand"] == 6
    with client.refund(sale_id, [(0, 1)], restock=True, tender="card") as refund:
        assert refund.kind == "refund" and refund.ref_sale_id == sale_id and refund.total == 250
    assert client.stock(product)[product]["on_hand"] == 7
    with client.void(sale_id, "customer changed their mind") as void:
        assert void.kind == "void" and void.total == 750
    assert client.stock(product)[product]["on_hand"] == 10
    with pytest.raises(redstore.ConflictError):
        client.void(sale_id, "again", void_id=redstore.new_id())
