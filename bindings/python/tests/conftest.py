"""Fixtures of the pytest suite: real engines through the dev stack's REDSTORE_* environment
(scripts/dev-stack up; scripts/test and ctest set it), unique names so concurrent runs never meet."""
import datetime
import itertools
import json
import os
import secrets
import time

import pytest

import redstore

_counter = itertools.count()


def unique(prefix: str) -> str:
    """prefix-<pid>-<counter>-<random>: unique to this process and call."""
    return "%s-%d-%d-%s" % (prefix, os.getpid(), next(_counter), secrets.token_hex(3))


def sale_envelope(store: str, receipt) -> str:
    """The sale.completed envelope of a committed receipt, as the projector receives it from Kafka."""
    now = datetime.datetime.now(datetime.timezone.utc)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (now.microsecond // 1000)
    return json.dumps({"id": redstore.new_id(), "type": "sale.completed", "schema_version": 1, "store_id": store,
                       "terminal_id": "pytest", "employee_id": "tester", "occurred_at": stamp,
                       "recorded_at": stamp, "payload": json.loads(receipt.to_json())})


def wait_for(cond, timeout_s: float = 20.0, step_s: float = 0.02, what: str = "condition"):
    """Polls cond() until it is true or the deadline passes (then fails the test)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail("timed out after %.1fs waiting for %s" % (timeout_s, what))
        time.sleep(step_s)


@pytest.fixture(scope="session", autouse=True)
def schema():
    with redstore.Client() as c:
        c.migrate()


@pytest.fixture
def client():
    with redstore.Client() as c:
        c.set_actor("pytest", "tester")
        yield c


@pytest.fixture
def store(client):
    """A fresh store (EUR, prices include tax, "standard" 20 %) selected on `client`."""
    store_id = unique("py")
    client.create_store(store_id, "Python Test Store", "EUR", timezone="Europe/Paris")
    client.use_store(store_id)
    client.set_tax_class("standard", 200000)
    return store_id


@pytest.fixture
def product(client, store):
    """A product "COFFEE" at 2.50 with 10 units on hand (deny policy)."""
    client.create_product(sku="COFFEE", name="Coffee", price=250, tax_class="standard", barcode="4000000000001")
    client.receive({"COFFEE": 10}, supplier_ref="opening stock")
    return "COFFEE"
