"""Errors: every library code raises its own exception class, with redstore_error_last() as message."""
import socket

import pytest

import redstore
from redstore import capi


def test_every_error_code_has_a_class_that_agrees_with_the_library_on_retriability():
    for code in range(capi.REDSTORE_EDECODE, 0):
        err = redstore.error_for(code, "m")
        assert err.code == code
        assert err.name == capi.redstore_err_name(code)
        assert isinstance(err, redstore.RedstoreError)
        assert isinstance(err, redstore.RetriableError) == bool(capi.redstore_err_is_retriable(code)), err.name
    # A code this module does not know yet (a newer library) still raises something sensible.
    assert type(redstore.error_for(-999, "x")) is redstore.RedstoreError
    assert isinstance(redstore.error_for(capi.REDSTORE_ECONNECT), redstore.ConnectError)
    assert isinstance(redstore.error_for(capi.REDSTORE_ELOCKED), redstore.RetriableError)


def test_configuration_errors_name_the_key_and_change_nothing():
    with redstore.Config(env=False) as cfg:
        with pytest.raises(redstore.UnknownKeyError) as e:
            cfg["redis.nope"] = "1"
        assert "redis.nope" in e.value.message
        before = cfg["redis.connect_timeout_ms"]
        with pytest.raises(redstore.InvalidError) as e:
            cfg["redis.connect_timeout_ms"] = "soon"
        assert "redis.connect_timeout_ms" in str(e.value)
        assert cfg["redis.connect_timeout_ms"] == before


def test_missing_product_raises_not_found_naming_the_sku(client, store):
    with pytest.raises(redstore.NotFoundError) as e:
        client.product("NO-SUCH-SKU")
    assert "NO-SUCH-SKU" in str(e.value)
    assert not isinstance(e.value, redstore.RetriableError)
    assert not e.value.retriable


def test_overselling_raises_out_of_stock_and_takes_nothing(client, product):
    with redstore.Sale() as sale:
        sale.add(product, 11).tender("cash", 10000)
        with pytest.raises(redstore.OutOfStockError) as e:
            client.commit(sale)
    assert product in str(e.value)
    assert client.stock(product)[product]["available"] == 10


def test_an_unreachable_engine_raises_a_retriable_connect_error():
    # A port that was free a moment ago: nothing listens there, so the connection is refused.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with redstore.Client({"redis.url": "redis://127.0.0.1:%d/0" % port, "redis.connect_timeout_ms": 500}) as c:
        c.use_store("nowhere")
        with pytest.raises(redstore.RetriableError) as e:
            c.stock("X")
    assert isinstance(e.value, redstore.ConnectError)
    assert e.value.retriable
    assert str(port) in str(e.value)


def test_closed_handles_refuse_use_instead_of_crashing(client):
    cfg = redstore.Config(env=False)
    cfg.close()
    cfg.close()  # twice is harmless
    with pytest.raises(ValueError):
        cfg["redis.url"]
    with pytest.raises(TypeError):
        client.receive([("A",)])  # a malformed line is a TypeError before any C call
