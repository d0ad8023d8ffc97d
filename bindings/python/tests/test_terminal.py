"""The terminal client (redstore.Terminal) against a real redstore-server ($REDSTORE_SERVER_BIN, started
here on a free port) and the dev stack: pairing and login, sales through the offline journal, and the
store's live events delivered to Python callables on the library's stream thread."""
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import types
import urllib.request
import weakref

import pytest

import redstore
from conftest import unique, wait_for

SECRET = "python-terminal-test-secret-0123456789-abcdef"
# Fast PIN hashing: the server and this process hash and check PINs with the same settings.
AUTH = {"REDSTORE_AUTH_SECRET": SECRET, "REDSTORE_AUTH_PIN_OPSLIMIT": "1", "REDSTORE_AUTH_PIN_MEMLIMIT_KIB": "8"}
DEADLINE_S = 20.0


class Server:
    """redstore-server as a child process: --port 0 the first time, the same port on restart."""

    def __init__(self, binary: str):
        self.binary, self.port, self.proc = binary, 0, None
        self.dir = tempfile.mkdtemp(prefix="rs-pyserver-")

    @property
    def url(self) -> str:
        return "http://127.0.0.1:%d" % self.port

    def start(self) -> None:
        portfile = os.path.join(self.dir, "port")
        if os.path.exists(portfile):
            os.unlink(portfile)
        env = dict(os.environ, **AUTH)
        self.proc = subprocess.Popen([self.binary, "--port", str(self.port), "--port-file", portfile,
                                      "--heartbeat-ms", "300"], env=env, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 15

        def port():
            assert self.proc.poll() is None, "redstore-server exited at start (%s)" % self.proc.returncode
            try:
                with open(portfile) as f:
                    return int(f.read().strip() or 0)
            except (OSError, ValueError):
                return 0
        self.port = wait_for(port, timeout_s=deadline - time.monotonic(), what="the server's port file")

        def healthy():   # ready when its sync hub holds the Redis subscription
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as r:
                    return r.status == 200
            except OSError:
                return False
        wait_for(healthy, timeout_s=max(deadline - time.monotonic(), 1), what="/healthz")

    def stop(self) -> None:
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        proc.terminate()
        try:
            rc = proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            pytest.fail("redstore-server did not stop within 10 s of SIGTERM")
        assert rc == 0, "redstore-server exit status %s" % rc

    def close(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def auth_client():
    """One client for the module (its first audited call connects the audit producer: a second)."""
    with redstore.Client({"auth.secret": SECRET, "auth.pin_opslimit": 1, "auth.pin_memlimit_kib": 8}) as client:
        client.set_actor("pytest", "tester")
        yield client


@pytest.fixture
def shop(auth_client):
    """A fresh store with products A (100 units) and B (1 unit, barcode 4000000000002) and a supervisor,
    a running server, and a terminal paired and logged in through it."""
    binary = os.environ.get("REDSTORE_SERVER_BIN")
    if not binary:
        pytest.skip("REDSTORE_SERVER_BIN is not set (ctest sets it when the examples are built)")
    client = auth_client
    server = Server(binary)
    journal_dir = tempfile.mkdtemp(prefix="rs-pyjournal-")
    store = unique("pyterm")
    client.create_store(store, "Terminal Store", "EUR", timezone="Europe/Paris")
    client.use_store(store)
    client.set_tax_class("standard", 200000)
    client.create_product(sku="A", name="Apple", price=250, tax_class="standard")
    client.create_product(sku="B", name="Bread", price=300, tax_class="standard", barcode="4000000000002")
    client.receive({"A": 100, "B": 1})
    client.add_employee("sup1", "Casey", "1111", role="supervisor")   # may give discounts
    try:
        server.start()
        terminal = redstore.Terminal(server.url, store, os.path.join(journal_dir, "journal.db"))
        try:
            assert terminal.pair(client.pairing_code("till 1")) == terminal.terminal_id
            assert terminal.device_token.startswith("rsd_")
            terminal.login("sup1", "1111")
            yield types.SimpleNamespace(client=client, server=server, terminal=terminal, store=store,
                                        journal=os.path.join(journal_dir, "journal.db"))
        finally:
            terminal.close()
        server.stop()
    finally:
        server.close()
        shutil.rmtree(journal_dir, ignore_errors=True)


def sell_through_library(client, n: int, sku: str = "A"):
    """n sales of one unit committed by the library itself; their stream ids, in order."""
    ids = []
    for _ in range(n):
        with redstore.Sale() as sale:
            sale.add(sku, 1).tender("cash", 100000)
            with client.commit(sale) as receipt:
                ids.append(receipt.stream_id)
    return ids


class Collector:
    """A callback collecting events; wait(n) blocks on a threading.Event until n changes came."""

    def __init__(self):
        self.lock = threading.Lock()
        self.events, self.threads = [], set()
        self.want, self.reached = 0, threading.Event()

    def __call__(self, event):
        with self.lock:
            self.events.append(event)
            self.threads.add(threading.get_ident())
            if self.want and len(self.changes()) >= self.want:
                self.reached.set()

    def changes(self):
        return [e for e in self.events if e.type == "change"]

    def wait(self, n: int):
        with self.lock:
            self.want = n
            if len(self.changes()) >= n:
                self.reached.set()
            else:
                self.reached.clear()
        assert self.reached.wait(DEADLINE_S), "%d of %d changes within %.0f s" % (len(self.changes()), n,
                                                                                  DEADLINE_S)
        with self.lock:
            return list(self.changes())


def test_a_sale_as_a_request_body_is_the_same_sale(client, product):
    """Sale.to_dict() is what the server decodes (redstore_sale_from_json) into the same sale."""
    sale = redstore.Sale()
    first = sale.add_line(product, 2)
    sale.add_barcode("4000000000001", 1)
    sale.line_discount_amount(first, 30).line_discount_percent(first, 500)   # the second replaces the first
    sale.order_discount_percent(250).order_discount_amount(15)
    sale.customer("C-1").customer(None).note("gift").tender("cash", 1000).occurred_at(1767323045000)
    body = sale.to_dict()
    assert body == {"sale_id": sale.id, "occurred_at_ms": 1767323045000, "note": "gift",
                    "lines": [{"sku": product, "qty": 2, "discount_percent_bp": 500},
                              {"barcode": "4000000000001", "qty": 1}],
                    "tenders": [{"kind": "cash", "amount": 1000}], "order_discount_amount": 15}
    rc, decoded = redstore.capi.redstore_sale_from_json(json.dumps(body))
    assert rc == 0, redstore.capi.redstore_error_last()
    try:
        assert redstore.capi.redstore_sale_id(decoded) == sale.id
        with client.quote(sale) as a, redstore.Receipt(redstore._call(redstore.capi.redstore_sale_quote,
                                                                      client.ptr, decoded)) as b:
            assert a.total == b.total and a.discount == b.discount and a.occurred_at_ms == b.occurred_at_ms
            assert a.lines == b.lines and a.tenders == b.tenders and a.note == b.note == "gift"
    finally:
        redstore.capi.redstore_sale_free(decoded)
    with pytest.raises(redstore.InvalidError):   # refused by the library: not recorded in the body
        sale.line_discount_percent(first, 20000)
    assert sale.to_dict() == body
    sale.close()


def test_pairing_login_and_server_errors_are_exceptions(shop):
    t = shop.terminal
    status, data = t.request("GET", "/v1/stores/%s/stock/A" % shop.store)
    assert status == 200 and data["sku"] == "A" and data["on_hand"] == 100, data
    with pytest.raises(redstore.AuthError) as e:
        t.login("sup1", "9999")
    assert e.value.status == 401 and "unauthenticated" in str(e.value)
    code = shop.client.pairing_code("till 2")
    other = redstore.Terminal(shop.server.url, shop.store, shop.journal + "-2")
    try:
        other.pair(code)
        with pytest.raises(redstore.AuthError):   # a code works once
            other.pair(code)
    finally:
        other.close()
    with pytest.raises(redstore.InvalidError):
        redstore.Terminal("ftp://nowhere", shop.store, shop.journal + "-3")
    status, data = t.request("POST", "/v1/pair", b'{"code": "0000-0000"}')   # JSON text as bytes
    assert status >= 400 and data["error"]["code"], data
    with pytest.raises(redstore.InvalidError):
        t.token = "x" * 3000
    t.timeout_ms = 2000
    with pytest.raises(redstore.InvalidError):
        t.timeout_ms = 50
    assert t.timeout_ms == 2000
    with pytest.raises(TypeError):
        t.sell(["not", "a", "sale"])
    with pytest.raises(redstore.InvalidError):
        t.sell({"sale_id": "not-a-uuid", "lines": [{"sku": "A", "qty": 1}]})
    with pytest.raises(TypeError):
        t.events_start("not callable")
    assert t.journal() == []   # nothing bad was journaled


def test_sales_go_through_the_journal_and_each_is_recorded_once(shop):
    t, client = shop.terminal, shop.client
    # Online: a Sale object, with what its body must carry (barcode line, discounts, texts), is synced
    # at once, and the server prices it as the library prices the same builder.
    sale = redstore.Sale()
    sale.add_barcode("4000000000002", 1)
    line = sale.add_line("A", 3)
    sale.line_discount_percent(line, 1000).order_discount_amount(20).customer("C-7").note("by the window")
    sale.tender("card", 955, "auth-55")   # 300 + 3 x 250 - 10 % - 20
    with client.quote(sale) as quote:
        expected_total = quote.total
    sold = t.sell(sale)
    assert sold.state == "synced" and sold.sale_id == sale.id, t.journal()
    assert sold.receipt["id"] == sale.id and sold.receipt["total"] == expected_total, sold.receipt
    with client.receipt(sale.id) as r:
        assert r.total == expected_total and r.customer_ref == "C-7" and r.note == "by the window"
        assert r.terminal_id == t.terminal_id and r.employee_id == "sup1"
    assert t.sell(sale).state == "synced"   # a retry: recorded once
    assert client.stock("A")["A"]["on_hand"] == 97
    # A dict body gets an id of its own.
    sold = t.sell({"lines": [{"sku": "A", "qty": 2}], "tenders": [{"kind": "cash", "amount": 1000}]})
    assert sold.state == "synced" and sold.receipt["id"] == sold.sale_id
    # Offline: sales stay pending, in order, and sync says to retry later.
    shop.server.stop()
    offline, an_hour_ago = [], int(time.time() * 1000) - 3600 * 1000
    for i in range(4):
        s = redstore.Sale().add("A", 1).tender("cash", 1000)
        if i == 0:
            s.occurred_at(an_hour_ago)
        sold = t.sell(s)
        assert sold.state == "pending" and sold.receipt is None
        offline.append(s.id)
        s.close()
    with pytest.raises(redstore.RetriableError):
        t.sync()
    journal = t.journal()
    assert [e.sale_id for e in journal[-4:]] == offline
    assert [e.state for e in journal] == ["synced", "synced", "pending", "pending", "pending", "pending"]
    assert journal[2].attempts >= 1 and journal[2].http_status == 0 and journal[0].http_status == 201
    assert client.stock("A")["A"]["on_hand"] == 95
    # Back: every pending sale is sent once, in order.
    shop.server.start()
    assert t.sync() == 4
    assert [e.state for e in t.journal()] == ["synced"] * 6
    assert client.stock("A")["A"]["on_hand"] == 91
    with client.receipt(offline[0]) as r:   # recorded with the time it was made, not when it was sent
        assert r.occurred_at_ms == an_hour_ago
    assert t.sync() == 0
    with pytest.raises(redstore.ExistsError):   # the same id with another body
        t.sell({"sale_id": offline[0], "lines": [{"sku": "A", "qty": 5}]})


def test_a_refused_sale_stays_in_the_journal_with_its_reason(shop):
    t = shop.terminal
    shop.server.stop()
    body = {"lines": [{"sku": "B", "qty": 1}], "tenders": [{"kind": "cash", "amount": 500}]}
    first = t.sell(body)   # the last unit of B, sold twice offline
    second = t.sell(body)   # no "sale_id": a new sale
    assert first.state == second.state == "pending"
    shop.server.start()
    assert t.sync() == 2
    a, b = t.journal()
    assert (a.sale_id, a.state) == (first.sale_id, "synced"), a
    assert (b.sale_id, b.state, b.http_status) == (second.sale_id, "rejected", 409)
    assert "out_of_stock" in b.reason, b.reason
    assert shop.client.stock("B")["B"]["available"] == 0


def test_a_python_callback_receives_the_stock_changes_of_sales_in_order(shop):
    t, client = shop.terminal, shop.client
    after = client.sync_snapshot()["stream_id"]
    got = Collector()
    t.events_start(got, last_event_id=after)
    assert t.streaming
    with pytest.raises(redstore.InvalidError):   # one stream at a time
        t.events_start(got)
    ids = sell_through_library(client, 8)
    events = got.wait(8)
    assert [e.stream_id for e in events] == ids
    assert all(isinstance(e, redstore.TerminalEvent) and isinstance(e.data, dict) for e in events)
    assert [e.changes for e in events] == [[{"sku": "A", "on_hand": 99 - i, "reserved": 0, "delta": -1}]
                                           for i in range(8)]
    assert all(e.data["id"] == e.stream_id for e in events)
    assert threading.get_ident() not in got.threads and len(got.threads) == 1   # the stream thread
    assert t.last_event_id == ids[-1]
    t.events_stop()
    assert not t.streaming
    t.events_stop()   # a no-op
    # A new stream resumes where the last one stopped.
    more = Collector()

    @t.on_event(last_event_id=t.last_event_id)
    def on(event):
        more(event)
    ids2 = sell_through_library(client, 2)
    assert [e.stream_id for e in more.wait(2)] == ids2


class Handler:
    """A callable object, to watch its lifetime through a weak reference."""

    def __init__(self):
        self.got = Collector()

    def __call__(self, event):
        self.got(event)


def test_the_terminal_owns_the_callback_while_the_stream_runs(shop):
    t, client = shop.terminal, shop.client
    handler = Handler()
    got, ref = handler.got, weakref.ref(handler)
    t.events_start(handler, last_event_id=client.sync_snapshot()["stream_id"])
    del handler   # the caller's reference is gone: the stream keeps its own
    gc.collect()
    assert ref() is not None
    ids = sell_through_library(client, 2)
    assert [e.stream_id for e in got.wait(2)] == ids
    t.events_stop()   # released on stop
    gc.collect()
    assert ref() is None
    handler = Handler()
    ref = weakref.ref(handler)
    t.events_start(handler)
    del handler
    t.close()   # and on close
    gc.collect()
    assert ref() is None
    with pytest.raises(ValueError):   # a closed terminal refuses further use
        t.events_start(Handler())


def test_the_stream_reconnects_and_resumes_without_gaps(shop):
    t, client = shop.terminal, shop.client
    got = Collector()
    t.events_start(got, last_event_id=client.sync_snapshot()["stream_id"])
    ids = sell_through_library(client, 5)
    got.wait(5)
    shop.server.stop()   # the stream breaks; sales go on (the library writes Redis itself)
    ids += sell_through_library(client, 5)
    shop.server.start()
    ids += sell_through_library(client, 3)
    events = got.wait(13)
    assert [e.stream_id for e in events] == ids   # in order, none missing, none twice
    assert not [e for e in got.events if e.type != "change"]   # resumed by id: no resync
    assert events[-1].changes[0]["on_hand"] == 87


def test_a_callback_that_raises_does_not_stop_later_events(shop):
    t, client = shop.terminal, shop.client
    reported, hook = [], sys.unraisablehook
    got = Collector()

    def flaky(event):
        got(event)
        if len(got.events) % 2:
            raise ValueError("cannot handle %s" % event.stream_id)

    sys.unraisablehook = lambda u: reported.append(u.exc_value)
    try:
        t.events_start(flaky, last_event_id=client.sync_snapshot()["stream_id"])
        ids = sell_through_library(client, 6)
        assert [e.stream_id for e in got.wait(6)] == ids
        t.events_stop()   # every call has returned: the reports are in
    finally:
        sys.unraisablehook = hook
    assert [str(e) for e in reported] == ["cannot handle %s" % ids[i] for i in (0, 2, 4)]
    assert all(isinstance(e, ValueError) for e in reported)


def test_events_as_an_iterator(shop):
    t, client = shop.terminal, shop.client
    with t.events(timeout=DEADLINE_S, last_event_id=client.sync_snapshot()["stream_id"]) as stream:
        ids = sell_through_library(client, 3)
        seen = [next(stream).stream_id for _ in ids]
        assert seen == ids and t.streaming
    assert not t.streaming
    # No event within the timeout ends the iteration (the stream keeps running until closed).
    quiet = t.events(timeout=0.3)
    assert list(quiet) == [] and t.streaming
    quiet.close()
    assert not t.streaming


def test_stopping_from_the_callback_raises_instead_of_deadlocking(shop):
    t, client = shop.terminal, shop.client
    errors, done = [], threading.Event()

    def stop_myself(event):
        try:
            t.events_stop()
        except RuntimeError as e:
            errors.append(e)
        try:
            t.close()
        except RuntimeError as e:
            errors.append(e)
        done.set()

    t.events_start(stop_myself, last_event_id=client.sync_snapshot()["stream_id"])
    sell_through_library(client, 1)
    assert done.wait(DEADLINE_S)
    assert len(errors) == 2 and all("own callback" in str(e) for e in errors), errors
    assert t.streaming   # the stream goes on; the terminal is still open
    t.events_stop()
    assert not t.streaming
    assert t.journal() == []


STOP_WHILE_FLOWING = textwrap.dedent("""
    import json, sys, threading, time
    import redstore

    url, store, token, after, journal = sys.argv[1:6]
    client = redstore.Client(store=store)
    client.set_actor("pytest-child", "tester")
    done = threading.Event()

    def seller():   # events keep flowing through every stop below
        while not done.is_set():
            with redstore.Sale() as s:
                s.add("A", 1).tender("cash", 100000)
                client.commit(s).close()

    def timed(fn):
        t0 = time.monotonic()
        fn()
        return time.monotonic() - t0

    selling = threading.Thread(target=seller)
    selling.start()
    out = {}
    try:
        # 1. events_stop() while the callback is about to need the GIL back: it waits (without the GIL)
        #    for an Event that the main thread sets just before stopping.
        t = redstore.Terminal(url, store, journal, token=token)
        entered, stopping, calls = threading.Event(), threading.Event(), [0]

        def blocked(event):
            calls[0] += 1
            entered.set()
            stopping.wait(30)

        t.events_start(blocked, after)
        assert entered.wait(30), "no event reached the first callback"
        stopping.set()
        out["stop_s"] = timed(t.events_stop)
        out["calls_at_stop"] = calls[0]

        # 2. close() (free) while a busy callback runs Python code on every event.
        flowing, busy = threading.Event(), [0]

        def work(event):
            sum(range(20000))
            busy[0] += 1
            if busy[0] >= 5:
                flowing.set()

        t.events_start(work, t.last_event_id)
        assert flowing.wait(30), "events did not flow to the busy callback"
        out["close_s"] = timed(t.close)
        out["busy_at_close"] = busy[0]

        # 3. close() while the iterator's queue is full and the stream thread waits for room.
        t2 = redstore.Terminal(url, store, journal + "-2", token=token)
        stream = t2.events(last_event_id=after, maxsize=1)
        next(stream)
        next(stream)
        out["iterator_close_s"] = timed(t2.close)
        out["calls_after"] = calls[0]
        out["busy_after"] = busy[0]
    finally:
        done.set()
        selling.join()
        client.close()
    print(json.dumps(out))
""")


def test_stop_and_close_while_events_flow_do_not_deadlock(shop, tmp_path):
    """In a child interpreter, bounded by a timeout: a deadlock there (a stop holding the GIL while the
    stream thread waits for it) fails this test instead of hanging the suite."""
    t, client = shop.terminal, shop.client
    script = tmp_path / "stop_while_flowing.py"
    script.write_text(STOP_WHILE_FLOWING)
    after = client.sync_snapshot()["stream_id"]
    try:
        proc = subprocess.run([sys.executable, str(script), shop.server.url, shop.store, t.token, after,
                               str(tmp_path / "journal.db")], capture_output=True, text=True, timeout=90)
    except subprocess.TimeoutExpired as e:
        pytest.fail("the child deadlocked (no exit within 90 s): %s" % (e.stderr or b"")[-2000:])
    assert proc.returncode == 0, proc.stderr[-4000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["stop_s"] < 15 and out["close_s"] < 15 and out["iterator_close_s"] < 15, out
    assert out["calls_at_stop"] >= 1 and out["busy_at_close"] >= 5
    # nothing was delivered to a stopped stream's callback
    assert out["calls_after"] == out["calls_at_stop"] and out["busy_after"] == out["busy_at_close"], out
