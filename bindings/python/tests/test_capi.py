"""The typemaps of redstore.capi: byte strings, scalar and fixed-size outputs, caller-provided arrays."""
import hashlib
import hmac

import pytest

import redstore
from redstore import capi


def test_byte_string_and_scalar_outputs():
    assert capi.redstore_murmur2(b"21") == -973932308  # the header's own example
    assert capi.redstore_murmur2("21") == -973932308
    with pytest.raises(TypeError):
        capi.redstore_murmur2(21)
    rc, part = capi.redstore_store_partition(None, "21", 12)
    assert rc == 0 and part == (-973932308 & 0x7FFFFFFF) % 12
    rc, when = capi.redstore_next_daily_ms(0, "01:30", "UTC")
    assert rc == 0 and when == 90 * 60 * 1000
    assert redstore.version() == "%d.%d.%d" % tuple(capi.redstore_version()[1:])


def test_webhook_signature_is_the_documented_hmac():
    body = b'{"type":"sale.completed"}'
    expected = hmac.new(b"0123456789abcdef", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert redstore.sign_webhook("0123456789abcdef", 1700000000, body) == expected
    assert redstore.sign_webhook("0123456789abcdef", 1700000001, body) != expected


def test_ids_and_configuration_text():
    a, b = redstore.new_id(), redstore.new_id()
    assert a != b and len(a) == 36 and a[14] == "7"  # UUIDv7
    assert capi.redstore_id_check(a, "sale id") == 0
    assert capi.redstore_id_check("nope", "sale id") == capi.REDSTORE_EINVALID
    assert "sale id" in capi.redstore_error_last()
    text = redstore.Config.describe()
    assert "`redis.url`" in text
    assert {p["key"] for p in redstore.Config.properties()} >= {"redis.url", "kafka.brokers"}


def test_health_reports_every_engine(client):
    health = {h["engine"]: h for h in client.health()}
    assert set(health) == {"redis", "postgres", "kafka"}
    assert all(h["ok"] and h["latency_us"] >= 0 for h in health.values()), health
