"""Subscriptions: a consumer with Python handlers receives the changes the library publishes to Kafka."""
import json

import pytest

import redstore
from conftest import unique, wait_for


@pytest.fixture
def kafka_client():
    """A client whose topics have a prefix of their own, so no other run's events are seen."""
    prefix = unique("py").replace("-", "_") + "."
    with redstore.Client({"kafka.topic_prefix": prefix, "kafka.metadata_refresh_ms": 1000}) as c:
        c.set_actor("py-terminal", "emp-1")
        store_id = unique("pyk")
        c.create_store(store_id, "Kafka Store", "EUR")
        c.use_store(store_id)
        c.create_product(sku="TEA", name="Tea", price=180)
        c.receive({"TEA": 5})
        yield c


def test_a_sale_reaches_a_python_handler_as_an_event(kafka_client):
    with redstore.Sale() as sale:
        sale.add("TEA", 2).tender("card", 360)
        sale_id = sale.id
        kafka_client.commit(sale).close()
    seen, everything = [], []
    with kafka_client.consumer(unique("group")) as consumer:
        consumer.on("sale.completed", seen.append)

        @consumer.on("*")
        def any_event(event):
            everything.append(event.type)

        def arrived():
            consumer.poll(200)
            return [e for e in seen if e.payload.get("id") == sale_id]

        events = wait_for(arrived, what="the sale.completed event")
        consumer.commit()
    ev = events[0]
    assert isinstance(ev, redstore.Event)
    assert ev.type == "sale.completed" and ev.store_id == kafka_client.store
    assert ev.terminal_id == "py-terminal" and ev.employee_id == "emp-1"
    assert ev.payload["total"] == 360
    assert "sale.completed" in everything
    assert consumer.errors == []
    # The envelope survives a round trip through the strict decoder.
    again = redstore.Event.decode(json.dumps({
        "id": ev.id, "type": ev.type, "schema_version": 1, "store_id": ev.store_id, "terminal_id": "",
        "employee_id": "", "occurred_at": "2026-01-02T03:04:05.000Z", "recorded_at": "2026-01-02T03:04:05.000Z",
        "payload": ev.payload}))
    assert again.payload == ev.payload and again.occurred_at_ms == 1767323045000
    with pytest.raises(redstore.DecodeError):
        redstore.Event.decode(b'{"id": 1}')


def test_a_handler_that_keeps_raising_gets_its_event_dead_lettered(kafka_client):
    with redstore.Sale() as sale:
        sale.add("TEA", 1).tender("cash", 200)
        kafka_client.commit(sale).close()
    calls = []

    def broken(event):
        calls.append(event.id)
        raise RuntimeError("cannot handle %s" % event.type)

    with kafka_client.consumer(unique("group"), max_attempts=2) as consumer:
        consumer.on("sale.completed", broken)

        def dead():
            consumer.poll(200)
            return consumer.dead_lettered >= 1
        wait_for(dead, what="the event to be dead-lettered")
        assert len(calls) >= 2 and len(set(calls)) == 1
        assert all(isinstance(e, RuntimeError) for e in consumer.errors) and consumer.errors
