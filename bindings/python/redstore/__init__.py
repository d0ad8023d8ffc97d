"""libredstore for Python: retail point of sale and inventory on Redis, Kafka and PostgreSQL.

A thin layer over the SWIG module :mod:`redstore.capi` (the C API as is):

* every failing call raises a :class:`RedstoreError` subclass chosen by the library's error code, with
  ``redstore_error_last()`` as its message; retriable codes raise a :class:`RetriableError`;
* handles (:class:`Config`, :class:`Client`, :class:`Sale`, :class:`Receipt`, :class:`Consumer`,
  :class:`Worker`) are context managers that free the C object;
* results are plain Python values (dicts, lists, dataclasses) copied out of the C structures;
* event handlers and job handlers are Python callables; lists of products are iterators over pages.

Thread rule: as in C. A :class:`Client` is used by one thread at a time; give each thread its own.
"""
from __future__ import annotations

import atexit
import collections
import dataclasses
import datetime
import json
import threading
import time
import weakref
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

from . import capi as _c

__all__ = [
    "RedstoreError", "RetriableError", "Config", "Client", "Sale", "Receipt", "Event", "Job", "Consumer",
    "Worker", "JobFailed", "JobRetry", "DONE", "RETRY", "FAIL", "version", "new_id", "error_for",
    "Terminal", "TerminalEvent", "TerminalEvents", "JournalEntry", "Sold",
]

DONE = _c.REDSTORE_JOB_DONE
RETRY = _c.REDSTORE_JOB_RETRY
FAIL = _c.REDSTORE_JOB_FAIL


# ---------------------------------------------------------------------------------------------- errors

class RedstoreError(Exception):
    """A libredstore failure: ``code`` (negative), ``name`` ("REDSTORE_E...") and ``message``."""

    code = _c.REDSTORE_ERROR

    def __init__(self, message: str = "", code: Optional[int] = None):
        if code is not None:
            self.code = code
        self.name = _c.redstore_err_name(self.code)
        self.message = message
        super().__init__("%s: %s" % (self.name, message) if message else self.name)

    @property
    def retriable(self) -> bool:
        """True when the same call may succeed later (redstore_err_is_retriable)."""
        return bool(_c.redstore_err_is_retriable(self.code))


class RetriableError(RedstoreError):
    """An engine was unreachable, slow or busy: retry the same call (with the same ids) later."""


def _error(name: str, code: int, retriable: bool, doc: str) -> type:
    return type(name, (RetriableError if retriable else RedstoreError,), {"code": code, "__doc__": doc})


InternalError = _error("InternalError", _c.REDSTORE_ERROR, False, "An unexpected internal failure.")
InvalidError = _error("InvalidError", _c.REDSTORE_EINVALID, False, "A malformed argument or value.")
UnknownKeyError = _error("UnknownKeyError", _c.REDSTORE_EUNKNOWN_KEY, False, "No such configuration key.")
NoMemoryError = _error("NoMemoryError", _c.REDSTORE_ENOMEM, False, "Out of memory.")
ConnectError = _error("ConnectError", _c.REDSTORE_ECONNECT, True, "An engine could not be reached.")
EngineTimeoutError = _error("EngineTimeoutError", _c.REDSTORE_ETIMEOUT, True, "An engine did not answer in time.")
RedisError = _error("RedisError", _c.REDSTORE_EREDIS, False, "Redis answered with an error.")
DatabaseError = _error("DatabaseError", _c.REDSTORE_EDB, False, "PostgreSQL answered with an error.")
KafkaError = _error("KafkaError", _c.REDSTORE_EKAFKA, False, "Kafka refused a request permanently.")
NotFoundError = _error("NotFoundError", _c.REDSTORE_ENOTFOUND, False, "The named thing does not exist.")
ExistsError = _error("ExistsError", _c.REDSTORE_EEXISTS, False, "The named thing exists already.")
OutOfStockError = _error("OutOfStockError", _c.REDSTORE_EOUT_OF_STOCK, False, "Not enough stock available.")
ConflictError = _error("ConflictError", _c.REDSTORE_ECONFLICT, False, "Conflicts with the current state.")
UnavailableError = _error("UnavailableError", _c.REDSTORE_EUNAVAILABLE, True, "An engine cannot serve now.")
IOError_ = _error("IOError", _c.REDSTORE_EIO, False, "A local file could not be read or written.")
PermissionError_ = _error("PermissionError", _c.REDSTORE_EPERM, False, "The caller's role does not allow this.")
AuthError = _error("AuthError", _c.REDSTORE_EAUTH, False, "Missing, forged, expired or revoked credentials.")
LockedError = _error("LockedError", _c.REDSTORE_ELOCKED, True, "Locked out for a while after failed attempts.")
LimitError = _error("LimitError", _c.REDSTORE_ELIMIT, False, "A size or count limit was exceeded.")
InactiveError = _error("InactiveError", _c.REDSTORE_EINACTIVE, False, "The product, store or employee is inactive.")
SchemaError = _error("SchemaError", _c.REDSTORE_ESCHEMA, False, "The database schema is missing or too new.")
DecodeError = _error("DecodeError", _c.REDSTORE_EDECODE, False, "An event or request could not be decoded.")

_ERRORS: Dict[int, type] = {cls.code: cls for cls in (
    InternalError, InvalidError, UnknownKeyError, NoMemoryError, ConnectError, EngineTimeoutError, RedisError,
    DatabaseError, KafkaError, NotFoundError, ExistsError, OutOfStockError, ConflictError, UnavailableError,
    IOError_, PermissionError_, AuthError, LockedError, LimitError, InactiveError, SchemaError, DecodeError)}
__all__ += [cls.__name__ for cls in _ERRORS.values() if cls.__name__.isidentifier()]


def error_for(code: int, message: str = "") -> RedstoreError:
    """The exception for a code: its class, or RetriableError / RedstoreError for a code this module
    does not know (a newer library), chosen by redstore_err_is_retriable."""
    cls = _ERRORS.get(code)
    if cls is None:
        cls = RetriableError if _c.redstore_err_is_retriable(code) else RedstoreError
    return cls(message, code)


def _check(rc: int) -> None:
    if rc < 0:
        raise error_for(rc, _c.redstore_error_last())


def _call(fn: Callable, *args) -> Any:
    """Calls a capi function returning [code, outputs...]; raises on failure, returns the outputs."""
    res = fn(*args)
    if isinstance(res, (list, tuple)):
        _check(res[0])
        out = res[1:]
        return out[0] if len(out) == 1 else (tuple(out) if out else None)
    _check(res)
    return None


def version() -> str:
    """The linked library's version, e.g. "0.1.0"."""
    return _c.redstore_version()[0]


def new_id() -> str:
    """A new UUIDv7, as terminals use for sale ids and every idempotency key."""
    return _call(_c.redstore_id_new)


# ---------------------------------------------------------------------------------------------- values

def _fields(obj: Any, names: Iterable[str]) -> Dict[str, Any]:
    return {n: getattr(obj, n) for n in names}


_PRODUCT_FIELDS = ("sku", "barcode", "name", "brand", "category", "currency", "tax_class", "custom_json", "price",
                   "low_stock_threshold", "stock_policy", "active", "favourite", "version", "updated_at_ms")
_LEVEL_FIELDS = ("sku", "on_hand", "reserved", "available", "delta", "low_stock", "crossed_low")
_RECEIPT_FIELDS = ("sale_id", "kind", "ref_sale_id", "store_id", "store_name", "terminal_id", "employee_id", "currency",
                   "prices_include_tax", "occurred_at_ms", "gross", "discount", "tax", "total", "tendered", "change_due",
                   "customer_ref", "note", "duplicate", "stream_id", "restocked")
_RECEIPT_LINE_FIELDS = ("sku", "name", "qty", "unit_price", "gross", "discount", "net", "tax", "total", "tax_class",
                        "tax_rate_ppm")
_ROLES = {"cashier": _c.REDSTORE_ROLE_CASHIER, "supervisor": _c.REDSTORE_ROLE_SUPERVISOR,
          "manager": _c.REDSTORE_ROLE_MANAGER, "admin": _c.REDSTORE_ROLE_ADMIN}
_POLICIES = {"deny": _c.REDSTORE_STOCK_DENY, "allow": _c.REDSTORE_STOCK_ALLOW}
_REASONS = {"damage": _c.REDSTORE_ADJUST_DAMAGE, "theft": _c.REDSTORE_ADJUST_THEFT,
            "expiry": _c.REDSTORE_ADJUST_EXPIRY, "correction": _c.REDSTORE_ADJUST_CORRECTION,
            "other": _c.REDSTORE_ADJUST_OTHER}
_TENDERS = {"cash": _c.REDSTORE_TENDER_CASH, "card": _c.REDSTORE_TENDER_CARD, "other": _c.REDSTORE_TENDER_OTHER}


def _product(p: Any) -> Dict[str, Any]:
    d = _fields(p, _PRODUCT_FIELDS)
    d["stock_policy"] = "allow" if d["stock_policy"] == _c.REDSTORE_STOCK_ALLOW else "deny"
    d["active"], d["favourite"] = bool(d["active"]), bool(d["favourite"])
    return d


def _product_in(fields: Dict[str, Any]) -> Dict[str, Any]:
    d = dict(fields)
    if isinstance(d.get("stock_policy"), str):
        d["stock_policy"] = _POLICIES[d["stock_policy"]]
    for k in ("active", "favourite"):
        if isinstance(d.get(k), bool):
            d[k] = int(d[k])
    if isinstance(d.get("custom_json"), dict):
        d["custom_json"] = json.dumps(d["custom_json"])
    return d


def _lines(lines: Union[Dict[str, int], Sequence[Tuple]]) -> List[Tuple]:
    """Stock lines from {sku: qty} or [(sku, qty[, unit_cost]), ...]."""
    if isinstance(lines, dict):
        return [(sku, qty) for sku, qty in lines.items()]
    return [tuple(line) for line in lines]


_BUCKETS = {"15min": _c.REDSTORE_BUCKET_15MIN, "hour": _c.REDSTORE_BUCKET_HOUR, "day": _c.REDSTORE_BUCKET_DAY,
            "week": _c.REDSTORE_BUCKET_WEEK, "month": _c.REDSTORE_BUCKET_MONTH, "all": _c.REDSTORE_BUCKET_ALL}
_GROUPS = {None: _c.REDSTORE_GROUP_NONE, "product": _c.REDSTORE_GROUP_PRODUCT, "category": _c.REDSTORE_GROUP_CATEGORY,
           "brand": _c.REDSTORE_GROUP_BRAND, "terminal": _c.REDSTORE_GROUP_TERMINAL,
           "employee": _c.REDSTORE_GROUP_EMPLOYEE, "tender": _c.REDSTORE_GROUP_TENDER}
_ROW_FIELDS = ("bucket", "key", "units", "gross", "discount", "tax", "total", "refunded_units", "refunds", "lines")


_DIFFERENCE_FIELDS = ("sku", "redis_on_hand", "ledger_on_hand", "projected_on_hand", "redis_reserved",
                      "projected_reserved")
_REBUILD_FIELDS = ("skus", "events_replayed", "op_records", "refund_records", "dropped_pending", "reservations",
                   "products", "gate_ms")


_SHIFT_FIELDS = ("shift_id", "store_id", "terminal_id", "opened_by", "opened_at_ms", "opening_float", "closed",
                 "closed_by", "closed_at_ms", "counted_cash", "z_number", "duplicate")


def _shift(info: Any) -> Dict[str, Any]:
    d = _fields(info, _SHIFT_FIELDS)
    d["closed"], d["duplicate"] = bool(d["closed"]), bool(d["duplicate"])
    return d


def _shift_report(ptr: Any) -> Dict[str, Any]:
    """An X or Z report as a dict (the fields of redstore_shift_report_to_json)."""
    try:
        return json.loads(_call(_c.redstore_shift_report_to_json, ptr))
    finally:
        _c.redstore_shift_report_free(ptr)


def _sales_report(ptr: Any) -> Dict[str, Any]:
    try:
        return {"rows": [_fields(ptr.row_at(i), _ROW_FIELDS) for i in range(ptr.count)],
                "from_rollups": bool(ptr.from_rollups)}
    finally:
        _c.redstore_sales_report_free(ptr)


def _stock_result(ptr: Any) -> Dict[str, Any]:
    try:
        return {"op_id": ptr.op_id, "stream_id": ptr.stream_id, "duplicate": bool(ptr.duplicate),
                "levels": [_fields(ptr.level_at(i), _LEVEL_FIELDS) for i in range(ptr.count)]}
    finally:
        _c.redstore_stock_result_free(ptr)


@dataclasses.dataclass(frozen=True)
class Event:
    """A decoded business event (a copy: it outlives the handler call that received it)."""

    id: str
    type: str
    schema_version: int
    store_id: str
    terminal_id: str
    employee_id: str
    occurred_at_ms: int
    recorded_at_ms: int
    payload: Dict[str, Any]

    @classmethod
    def _from_c(cls, ev: Any) -> "Event":
        return cls(ev.id, ev.type, ev.schema_version, ev.store_id, ev.terminal_id, ev.employee_id,
                   ev.occurred_at_ms, ev.recorded_at_ms, json.loads(ev.payload_json))

    @classmethod
    def decode(cls, data: Union[bytes, str]) -> "Event":
        """Decodes one JSON envelope strictly (redstore_event_decode); raises DecodeError."""
        ptr = _call(_c.redstore_event_decode, data)
        try:
            return cls._from_c(ptr)
        finally:
            _c.redstore_event_free(ptr)


@dataclasses.dataclass(frozen=True)
class Job:
    """A job as a handler or a taker sees it. ``payload`` is the JSON text; :meth:`data` parses it."""

    queue: str
    id: str
    payload: str
    attempt: int
    max_attempts: int
    run_at_ms: int
    repeat: str
    _raw: Any = dataclasses.field(default=None, repr=False, compare=False)

    @classmethod
    def _from_c(cls, j: Any, raw: Any = None) -> "Job":
        return cls(j.queue, j.id, j.payload or "", j.attempt, j.max_attempts, j.run_at_ms, j.repeat, raw)

    def data(self) -> Any:
        return json.loads(self.payload)


class JobFailed(Exception):
    """Raise from a job handler to fail the job for good (REDSTORE_JOB_FAIL, never retried)."""


class JobRetry(Exception):
    """Raise from a job handler to retry the job after its backoff (any other exception does too)."""


# ---------------------------------------------------------------------------------------------- handles

class _Handle:
    """Owns one C object; close() (or the with block, or garbage collection) frees it once."""

    _free: Callable[[Any], None]

    def __init__(self, ptr: Any, owned: bool = True):
        self._ptr = ptr
        self._owned = owned

    @property
    def ptr(self) -> Any:
        if self._ptr is None:
            raise ValueError("%s is closed" % type(self).__name__)
        return self._ptr

    def close(self) -> None:
        ptr, self._ptr = self._ptr, None
        if ptr is not None and self._owned:
            type(self)._free(ptr)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


def _to_config_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Config(_Handle):
    """A configuration: string keys ("redis.url"...), validated by the library's property table."""

    _free = staticmethod(_c.redstore_config_free)

    def __init__(self, values: Optional[Dict[str, Any]] = None, env: bool = True):
        """The defaults, then the REDSTORE_* environment (unless env=False), then ``values``."""
        super().__init__(_call(_c.redstore_config_new))
        if env:
            _call(_c.redstore_config_load_env, self.ptr)
        for key, value in (values or {}).items():
            self[key] = value

    def __setitem__(self, key: str, value: Any) -> None:
        _call(_c.redstore_config_set, self.ptr, key, _to_config_text(value))

    def __getitem__(self, key: str) -> str:
        return _call(_c.redstore_config_get, self.ptr, key)

    @staticmethod
    def properties() -> List[Dict[str, Any]]:
        """Every key with its type, default, range and documentation."""
        out = []
        for i in range(_c.redstore_config_property_count()):
            p = _c.redstore_config_property_at(i)
            out.append(_fields(p, ("key", "env", "type", "default_value", "range", "doc", "secret")))
        return out

    @staticmethod
    def describe() -> str:
        """The property table as the Markdown of docs/CONFIGURATION.md."""
        return _call(_c.redstore_config_describe)


class Sale(_Handle):
    """A sale being built on a terminal; commit it with :meth:`Client.commit`, or sell it through a
    :class:`Terminal` (:meth:`to_dict` is the request body the server takes)."""

    _free = staticmethod(_c.redstore_sale_free)

    def __init__(self, sale_id: Optional[str] = None):
        super().__init__(_call(_c.redstore_sale_new, sale_id))
        # What the builder holds, as the body of POST /v1/stores/{store}/sales: each method records its
        # change once the library has accepted it. The time of the sale is when it was made, so a sale
        # journaled offline keeps it.
        self._body: Dict[str, Any] = {"sale_id": self.id, "lines": [], "tenders": [],
                                      "occurred_at_ms": int(time.time() * 1000)}

    @property
    def id(self) -> str:
        return _c.redstore_sale_id(self.ptr)

    def to_dict(self) -> Dict[str, Any]:
        """The sale as the server's sale request body (see redstore_sale_from_json): a new dict."""
        return json.loads(json.dumps(self._body))

    def add(self, sku: str, qty: int = 1) -> "Sale":
        """Adds a line by SKU (the price is the catalog's at commit). Chainable; see add_line()."""
        self.add_line(sku, qty)
        return self

    def _line(self, index: int, line: Dict[str, Any]) -> int:
        if index != len(self._body["lines"]):   # the library numbers lines in the order they are added
            raise error_for(_c.REDSTORE_ERROR, "sale %s: line %d out of order" % (self.id, index))
        self._body["lines"].append(line)
        return index

    def add_line(self, sku: str, qty: int = 1) -> int:
        """Adds a line by SKU and returns its index (for line discounts)."""
        return self._line(_call(_c.redstore_sale_add_line, self.ptr, sku, qty), {"sku": sku, "qty": qty})

    def add_barcode(self, barcode: str, qty: int = 1) -> "Sale":
        """Adds a line by barcode. Chainable."""
        self._line(_call(_c.redstore_sale_add_barcode, self.ptr, barcode, qty), {"barcode": barcode, "qty": qty})
        return self

    def _discount(self, where: Dict[str, Any], key: str, other: str, value: int) -> "Sale":
        where.pop(other, None)   # a discount replaces the one set before, as in the library
        where[key] = value
        return self

    def line_discount_percent(self, line: int, basis_points: int) -> "Sale":
        _call(_c.redstore_sale_line_discount_percent, self.ptr, line, basis_points)
        return self._discount(self._body["lines"][line], "discount_percent_bp", "discount_amount", basis_points)

    def line_discount_amount(self, line: int, amount: int) -> "Sale":
        _call(_c.redstore_sale_line_discount_amount, self.ptr, line, amount)
        return self._discount(self._body["lines"][line], "discount_amount", "discount_percent_bp", amount)

    def order_discount_percent(self, basis_points: int) -> "Sale":
        _call(_c.redstore_sale_order_discount_percent, self.ptr, basis_points)
        return self._discount(self._body, "order_discount_percent_bp", "order_discount_amount", basis_points)

    def order_discount_amount(self, amount: int) -> "Sale":
        _call(_c.redstore_sale_order_discount_amount, self.ptr, amount)
        return self._discount(self._body, "order_discount_amount", "order_discount_percent_bp", amount)

    def tender(self, kind: str, amount: int, reference: Optional[str] = None) -> "Sale":
        """Adds a payment: kind is "cash", "card" or "other"; amount in minor units."""
        _call(_c.redstore_sale_add_tender, self.ptr, _TENDERS[kind], amount, reference)
        tender = {"kind": kind, "amount": amount}
        if reference:
            tender["reference"] = reference
        self._body["tenders"].append(tender)
        return self

    def _text(self, key: str, value: Optional[str]) -> "Sale":
        if value:
            self._body[key] = value
        else:
            self._body.pop(key, None)
        return self

    def customer(self, ref: Optional[str]) -> "Sale":
        _call(_c.redstore_sale_set_customer, self.ptr, ref)
        return self._text("customer_ref", ref)

    def note(self, text: Optional[str]) -> "Sale":
        _call(_c.redstore_sale_set_note, self.ptr, text)
        return self._text("note", text)

    def occurred_at(self, ms: int) -> "Sale":
        _call(_c.redstore_sale_set_occurred_at, self.ptr, ms)
        self._body["occurred_at_ms"] = ms
        return self


class Receipt(_Handle):
    """A structured receipt. Read it like a dict (``r["total"]``, ``r["lines"]``) or as attributes
    (``r.total``); the names are the fields of redstore_receipt."""

    _free = staticmethod(_c.redstore_receipt_free)

    def __init__(self, ptr: Any):
        super().__init__(ptr)
        self._data: Optional[Dict[str, Any]] = None

    def to_json(self) -> str:
        return _call(_c.redstore_receipt_to_json, self.ptr)

    @property
    def data(self) -> Dict[str, Any]:
        """Every field of redstore_receipt, with its lines and tenders as lists of dicts."""
        if self._data is None:
            r = self.ptr
            d = _fields(r, _RECEIPT_FIELDS)
            d["lines"] = [_fields(r.line_at(i), _RECEIPT_LINE_FIELDS) for i in range(r.line_count)]
            d["tenders"] = []
            for i in range(r.tender_count):
                t = _fields(r.tender_at(i), ("kind", "amount", "reference"))
                t["kind"] = _c.redstore_tender_kind_name(t["kind"])
                d["tenders"].append(t)
            self._data = d
        return self._data

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):
            raise AttributeError(key)
        try:
            return self.data[key]
        except KeyError:
            raise AttributeError(key) from None

    def render_text(self, width: int = 42) -> str:
        """The receipt as printer text, `width` characters per line (24..120)."""
        return _call(_c.redstore_receipt_render_text, self.ptr, width)


class Client(_Handle):
    """A connection to the three engines (connected lazily). One thread at a time."""

    _free = staticmethod(_c.redstore_client_free)

    def __init__(self, config: Union[Config, Dict[str, Any], None] = None, store: Optional[str] = None):
        """``config``: a Config, a dict of keys over the defaults + environment, or None (the defaults +
        environment). ``store``: the store to select."""
        if isinstance(config, dict):
            with Config(config) as cfg:
                super().__init__(_call(_c.redstore_client_new, cfg.ptr))
        else:
            super().__init__(_call(_c.redstore_client_new, config.ptr if config else None))
        if store:
            self.use_store(store)

    @classmethod
    def _borrow(cls, ptr: Any) -> "Client":
        c = cls.__new__(cls)
        _Handle.__init__(c, ptr, owned=False)
        return c

    # -- client
    def use_store(self, store_id: str) -> "Client":
        _call(_c.redstore_client_use_store, self.ptr, store_id)
        return self

    @property
    def store(self) -> str:
        return _c.redstore_client_store(self.ptr)

    def set_actor(self, terminal_id: Optional[str], employee_id: Optional[str] = None) -> None:
        _call(_c.redstore_client_set_actor, self.ptr, terminal_id, employee_id)

    def health(self) -> List[Dict[str, Any]]:
        """One dict per engine (redis, postgres, kafka); never raises for an engine that is down."""
        arr = _c.EngineHealthArray(_c.REDSTORE_ENGINE_COUNT)
        _c.redstore_client_health(arr.cast(), self.ptr)
        out = []
        for i in range(_c.REDSTORE_ENGINE_COUNT):
            h = arr[i]
            out.append({"engine": _c.redstore_engine_name(h.engine), "ok": bool(h.ok), "error": h.error,
                        "latency_us": h.latency_us, "version": h.version, "detail": h.detail})
        return out

    def disconnect(self) -> None:
        _c.redstore_client_disconnect(self.ptr)

    def migrate(self) -> int:
        """Applies the schema migrations; returns how many this call applied."""
        return _call(_c.redstore_db_migrate, self.ptr)

    def schema_version(self) -> int:
        return _call(_c.redstore_db_schema_version, self.ptr)

    # -- catalog
    def create_store(self, store_id: str, name: str, currency: str, timezone: Optional[str] = None,
                     prices_include_tax: bool = True) -> None:
        _call(_c.redstore_store_create, self.ptr, {"store_id": store_id, "name": name, "currency": currency,
                                                   "timezone": timezone,
                                                   "prices_include_tax": int(prices_include_tax)})

    def set_tax_class(self, code: str, rate_ppm: int) -> None:
        _call(_c.redstore_store_set_tax_class, self.ptr, code, rate_ppm)

    def create_product(self, **fields: Any) -> None:
        """Creates a product: sku, name, price (minor units) and the optional fields of redstore_product
        (stock_policy "deny"/"allow", custom_json as a dict or JSON text...)."""
        _call(_c.redstore_product_create, self.ptr, _product_in(fields))

    def update_product(self, **fields: Any) -> None:
        _call(_c.redstore_product_update, self.ptr, _product_in(fields))

    def deactivate_product(self, sku: str) -> None:
        _call(_c.redstore_product_deactivate, self.ptr, sku)

    def _product_call(self, fn: Callable, key: str) -> Dict[str, Any]:
        ptr = _call(fn, self.ptr, key)
        try:
            return _product(ptr)
        finally:
            _c.redstore_product_free(ptr)

    def product(self, sku: str) -> Dict[str, Any]:
        return self._product_call(_c.redstore_product_get, sku)

    def product_by_barcode(self, barcode: str) -> Dict[str, Any]:
        return self._product_call(_c.redstore_product_get_by_barcode, barcode)

    def products(self, page_size: int = 200, include_inactive: bool = False,
                 favourites_only: bool = False) -> Iterator[Dict[str, Any]]:
        """Every product of the store in SKU order, fetched `page_size` at a time."""
        flags = (_c.REDSTORE_LIST_INCLUDE_INACTIVE if include_inactive else 0) | \
                (_c.REDSTORE_LIST_FAVOURITES_ONLY if favourites_only else 0)
        cursor = None
        while True:
            page = _call(_c.redstore_product_list, self.ptr, cursor, page_size, flags)
            try:
                items = [_product(page.item_at(i)) for i in range(page.count)]
                cursor = page.next_cursor
            finally:
                _c.redstore_product_page_free(page)
            yield from items
            if not cursor:
                return

    def import_csv(self, path: str, skip_bad_rows: bool = False) -> Dict[str, Any]:
        """Imports a catalog CSV. Returns the report; with bad rows and no skip_bad_rows nothing is written
        and InvalidError is raised with the report as its ``report`` attribute."""
        flags = _c.REDSTORE_IMPORT_SKIP_BAD_ROWS if skip_bad_rows else 0
        rc, ptr = _c.redstore_catalog_import_csv(self.ptr, path, flags)
        message = _c.redstore_error_last() if rc < 0 else ""
        report = None
        if ptr is not None:
            try:
                report = {"rows": ptr.rows, "created": ptr.created, "updated": ptr.updated,
                          "applied": bool(ptr.applied),
                          "errors": [{"line": e.line, "message": e.message}
                                     for e in (ptr.error_at(i) for i in range(ptr.error_count))]}
            finally:
                _c.redstore_import_report_free(ptr)
        if rc < 0:
            err = error_for(rc, message)
            err.report = report
            raise err
        return report

    def warm_catalog(self) -> int:
        return _call(_c.redstore_catalog_warm, self.ptr)

    # -- inventory
    def stock(self, *skus: str) -> Dict[str, Dict[str, Any]]:
        """The stock of the SKUs, in one round trip: {sku: {on_hand, reserved, available, ...}}."""
        arr = _c.StockLevelArray(max(len(skus), 1))
        _call(_c.redstore_stock_get, arr.cast(), self.ptr, list(skus))
        return {sku: _fields(arr[i], _LEVEL_FIELDS) for i, sku in enumerate(skus)}

    def receive(self, lines, supplier_ref: Optional[str] = None, op_id: Optional[str] = None) -> Dict[str, Any]:
        """Receives goods: lines are {sku: qty} or [(sku, qty, unit_cost), ...]."""
        return _stock_result(_call(_c.redstore_stock_receive, self.ptr, op_id, supplier_ref, _lines(lines)))

    def adjust(self, sku: str, delta: int, reason: str = "correction", note: Optional[str] = None,
               op_id: Optional[str] = None) -> Dict[str, Any]:
        return _stock_result(_call(_c.redstore_stock_adjust, self.ptr, op_id, sku, delta, _REASONS[reason], note))

    def count(self, lines, op_id: Optional[str] = None) -> Dict[str, Any]:
        return _stock_result(_call(_c.redstore_stock_count, self.ptr, op_id, _lines(lines)))

    def transfer_send(self, to_store: str, lines, transfer_id: Optional[str] = None) -> Dict[str, Any]:
        return _stock_result(_call(_c.redstore_transfer_send, self.ptr, transfer_id, to_store, _lines(lines)))

    def transfer_receive(self, transfer_id: str, lines, receipt_id: Optional[str] = None) -> Dict[str, Any]:
        return _stock_result(_call(_c.redstore_transfer_receive, self.ptr, receipt_id, transfer_id, _lines(lines)))

    def reserve(self, lines, expires_at_ms: int, reservation_id: Optional[str] = None) -> Dict[str, Any]:
        return _stock_result(_call(_c.redstore_reservation_create, self.ptr, reservation_id, expires_at_ms,
                                   _lines(lines)))

    def release(self, reservation_id: str, lines=None, release_id: Optional[str] = None) -> Dict[str, Any]:
        """Releases units of a reservation (lines None: everything it still holds)."""
        return _stock_result(_call(_c.redstore_reservation_release, self.ptr, release_id, reservation_id,
                                   _lines(lines) if lines else None))

    def expire_reservations(self) -> int:
        return _call(_c.redstore_reservation_expire, self.ptr)

    # -- sales
    def quote(self, sale: Sale) -> Receipt:
        return Receipt(_call(_c.redstore_sale_quote, self.ptr, sale.ptr))

    def commit(self, sale: Sale) -> Receipt:
        """Commits the sale exactly once by its id (a retry returns the first receipt, duplicate=1)."""
        return Receipt(_call(_c.redstore_sale_commit, self.ptr, sale.ptr))

    def commit_many(self, sales: Sequence[Sale]) -> List[Union[Receipt, RedstoreError]]:
        """Commits several sales in one pipelined batch: a Receipt, or the error, per sale."""
        rc, results = _c.redstore_py_sale_commit_many(self.ptr, [s.ptr for s in sales])
        message = _c.redstore_error_last()
        out: List[Union[Receipt, RedstoreError]] = [Receipt(r) if r is not None else None for _, r in results]
        if rc < 0:
            for r in out:
                if isinstance(r, Receipt):
                    r.close()
            raise error_for(rc, message)
        for i, (code, _) in enumerate(results):
            if code < 0 and out[i] is None:
                out[i] = error_for(code, "sale %s: %s" % (sales[i].id, _c.redstore_err_name(code)))
        return out

    def void(self, sale_id: str, reason: str, void_id: Optional[str] = None) -> Receipt:
        return Receipt(_call(_c.redstore_sale_void, self.ptr, void_id, sale_id, reason))

    def refund(self, sale_id: str, lines: Sequence[Tuple[int, int]], restock: bool = True, tender: str = "cash",
               reference: Optional[str] = None, refund_id: Optional[str] = None) -> Receipt:
        """Refunds [(line index, qty), ...] of a sale."""
        return Receipt(_call(_c.redstore_sale_refund, self.ptr, refund_id, sale_id, [tuple(x) for x in lines],
                             int(restock), _TENDERS[tender], reference))

    def receipt(self, sale_id: str) -> Receipt:
        return Receipt(_call(_c.redstore_receipt_get, self.ptr, sale_id))

    # -- events
    def ensure_topics(self, timeout_ms: int = 10000) -> List[Dict[str, Any]]:
        arr = _c.TopicStatusArray(_c.REDSTORE_TOPIC_COUNT)
        _call(_c.redstore_events_ensure_topics, arr.cast(), self.ptr, timeout_ms)
        return [_fields(arr[i], ("name", "existed", "created", "partitions", "warning"))
                for i in range(_c.REDSTORE_TOPIC_COUNT)]

    def project(self, envelopes: Sequence[Union[bytes, str]]) -> int:
        """Projects raw event envelopes into PostgreSQL in one transaction; returns how many were new."""
        events = []
        try:
            for data in envelopes:
                events.append(_call(_c.redstore_event_decode, data))
            return _call(_c.redstore_projector_apply, self.ptr, events)
        finally:
            for ev in events:
                _c.redstore_event_free(ev)

    def prepare_partitions(self, months_ahead: int = 3) -> None:
        _call(_c.redstore_projector_prepare, self.ptr, months_ahead)

    def consumer(self, group_id: str, pattern: Optional[str] = None, batch_max: int = 0,
                 max_attempts: int = 0) -> "Consumer":
        return Consumer(self, group_id, pattern, batch_max, max_attempts)

    # -- jobs
    def add_job(self, queue: str, payload: Any = None, **spec: Any) -> Tuple[str, bool]:
        """Adds a job; payload is JSON text or a value to encode. Returns (job id, added)."""
        job_id, added = _call(_c.redstore_job_add, self.ptr, queue, _job_spec(payload, spec))
        return job_id, bool(added)

    def add_jobs(self, queue: str, jobs: Sequence[Dict[str, Any]]) -> List[bool]:
        """Adds several jobs in one round trip; each dict holds `payload` and the spec's fields. One bad
        spec adds nothing (InvalidError names its index). Returns, per job, whether it was added."""
        specs = [_job_spec(j.get("payload"), {k: v for k, v in j.items() if k != "payload"}) or {} for j in jobs]
        rc, added = _c.redstore_py_job_add_many(self.ptr, queue, specs)
        _check(rc)
        return added

    def take_jobs(self, queue: str, max: int = 1, lease_ms: int = 30000) -> List[Job]:
        """Takes up to `max` due jobs under a lease; finish each with :meth:`finish_job`."""
        arr = _c.JobArray(max)
        n = _call(_c.redstore_job_take, arr.cast(), max, self.ptr, queue, lease_ms)
        jobs = []
        for i in range(n):
            raw = arr[i]
            jobs.append(Job._from_c(raw, raw))
        return jobs

    def finish_job(self, job: Job, outcome: int = DONE, error: Optional[str] = None) -> None:
        """Finishes a taken job (DONE, RETRY or FAIL) and releases what it holds."""
        try:
            _call(_c.redstore_job_finish, self.ptr, job._raw, outcome, error)
        finally:
            self.release_job(job)

    def release_job(self, job: Job) -> None:
        """Frees the payload of a taken job (after finishing it, or to abandon it)."""
        if job._raw is not None:
            _c.redstore_job_clear(job._raw)
            object.__setattr__(job, "_raw", None)

    def extend_job(self, job: Job, lease_ms: int) -> None:
        _call(_c.redstore_job_extend, self.ptr, job._raw, lease_ms)

    def queue_counts(self, queue: str) -> Dict[str, int]:
        c = _c.redstore_queue_counts()
        _call(_c.redstore_queue_counts_get, c, self.ptr, queue)
        return _fields(c, ("waiting", "delayed", "active", "completed", "failed", "dead", "paused"))

    def pause_queue(self, queue: str, paused: bool = True) -> None:
        _call(_c.redstore_queue_pause, self.ptr, queue, int(paused))

    def set_queue_retention(self, queue: str, keep_completed: int, keep_failed: int) -> None:
        _call(_c.redstore_queue_set_retention, self.ptr, queue, keep_completed, keep_failed)

    def retry_dead(self, queue: str, job_id: Optional[str] = None) -> int:
        return _call(_c.redstore_queue_retry_dead, self.ptr, queue, job_id)

    def purge_dead(self, queue: str, job_id: Optional[str] = None) -> int:
        return _call(_c.redstore_queue_purge_dead, self.ptr, queue, job_id)

    def job(self, queue: str, job_id: str) -> Dict[str, Any]:
        info = _c.redstore_job_info()
        _call(_c.redstore_job_get, info, self.ptr, queue, job_id)
        return _fields(info, ("state", "attempts", "max_attempts", "due_ms", "last_error"))

    def repeat_every(self, queue: str, name: str, every_s: int, payload: Any = None, **spec: Any) -> None:
        _call(_c.redstore_job_repeat_every, self.ptr, queue, name, every_s, _job_spec(payload, spec))

    def repeat_daily(self, queue: str, name: str, hhmm: str, tz: str, payload: Any = None, **spec: Any) -> None:
        _call(_c.redstore_job_repeat_daily, self.ptr, queue, name, hhmm, tz, _job_spec(payload, spec))

    def remove_repeat(self, queue: str, name: str) -> None:
        _call(_c.redstore_job_repeat_remove, self.ptr, queue, name)

    def set_webhook(self, hook_id: str, url: str, secret: str, events: str = "*") -> None:
        _call(_c.redstore_webhook_set, self.ptr, hook_id, url, secret, events)

    def remove_webhook(self, hook_id: str) -> None:
        _call(_c.redstore_webhook_remove, self.ptr, hook_id)

    def dispatch_webhooks(self, event_json: Union[bytes, str], **spec: Any) -> int:
        return _call(_c.redstore_webhook_dispatch, self.ptr, event_json, spec or None)

    # -- reports
    def sales_day_csv(self, date: str) -> str:
        """The day's sales summary CSV of the store ("YYYY-MM-DD", store-local day)."""
        return _call(_c.redstore_sales_day_csv, self.ptr, date)

    def report_sales(self, from_ms: int, to_ms: int, bucket: str = "hour", group_by: Optional[str] = None,
                     force_raw: bool = False) -> Dict[str, Any]:
        """Sales over [from_ms, to_ms) by bucket ("15min", "hour", "day", "week", "month", "all") in the
        store's time zone, split by group_by (None, "product", "category", "brand", "terminal",
        "employee", "tender": money by tender kind, net of change, see redstore_report_sales). Returns
        {"rows": [...], "from_rollups": bool}; rows come by bucket, then key."""
        opts = {"bucket": _BUCKETS[bucket], "group_by": _GROUPS[group_by], "force_raw": int(force_raw)}
        return _sales_report(_call(_c.redstore_report_sales, self.ptr, from_ms, to_ms, opts))

    def top_products(self, from_ms: int, to_ms: int, n: int = 10, by: str = "units",
                     bottom: bool = False) -> List[Dict[str, Any]]:
        """The top (or bottom) n products over [from_ms, to_ms) by "units" or "revenue", in rank order."""
        by_code = {"units": _c.REDSTORE_RANK_UNITS, "revenue": _c.REDSTORE_RANK_REVENUE}[by]
        return _sales_report(_call(_c.redstore_report_top_products, self.ptr, from_ms, to_ms, by_code,
                                   int(bottom), n))["rows"]

    def reconcile(self, group_id: Optional[str] = None, wait_ms: int = 0) -> List[Dict[str, Any]]:
        """Redis stock against the PostgreSQL ledger once the projector group has caught up (at most
        wait_ms; 0: 30 s): every SKU that differs, with its values. An empty list: all agree."""
        ptr = _call(_c.redstore_reconcile, self.ptr, {"group_id": group_id, "wait_ms": wait_ms})
        try:
            return [_fields(ptr.difference_at(i), _DIFFERENCE_FIELDS) for i in range(ptr.count)]
        finally:
            _c.redstore_reconcile_report_free(ptr)

    def rebuild_cache(self, group_id: Optional[str] = None, wait_ms: int = 0) -> Dict[str, Any]:
        """Rebuilds the store's Redis state from PostgreSQL plus the unprojected events; returns what
        was done (see redstore_cache_rebuild)."""
        stats = _c.redstore_rebuild_stats()
        _call(_c.redstore_cache_rebuild, stats, self.ptr, {"group_id": group_id, "wait_ms": wait_ms})
        return _fields(stats, _REBUILD_FIELDS)

    def store_day_range(self, day: Optional[str] = None) -> Dict[str, Any]:
        """One local day of the selected store in its time zone: {"day": "YYYY-MM-DD", "from_ms",
        "to_ms"} from its local midnight to the next. day: "YYYY-MM-DD", or None / "today" for the
        store's date now (a store in UTC+14 is on tomorrow's date for ten hours of a UTC day)."""
        from_ms, to_ms, resolved = _call(_c.redstore_store_day_range, self.ptr, day)
        return {"day": resolved, "from_ms": from_ms, "to_ms": to_ms}

    def sales_by_hour(self, date: str) -> List[Dict[str, Any]]:
        """The store-local day `date` ("YYYY-MM-DD", or "today") hour by hour: the rows of report_sales
        with hourly buckets over that day in the store's time zone (the hours that had sales or refunds)."""
        day = self.store_day_range(date)
        return self.report_sales(day["from_ms"], day["to_ms"], "hour")["rows"]

    # -- shifts (redstore/shift.h, docs/shifts.md)
    def shift_open(self, opening_float: int, terminal_id: Optional[str] = None,
                   shift_id: Optional[str] = None) -> Dict[str, Any]:
        """Opens a shift on terminal_id (None: the session's or the actor's terminal) with an opening
        float; shift_id makes a retry open it once."""
        info = _c.redstore_shift_info()
        _call(_c.redstore_shift_open, info, self.ptr, shift_id, terminal_id, opening_float)
        return _shift(info)

    def shift(self, shift_id: str) -> Dict[str, Any]:
        info = _c.redstore_shift_info()
        _call(_c.redstore_shift_get, info, self.ptr, shift_id)
        return _shift(info)

    def shift_current(self, terminal_id: Optional[str] = None) -> Dict[str, Any]:
        """The open shift of a terminal (NotFoundError when none)."""
        info = _c.redstore_shift_info()
        _call(_c.redstore_shift_current, info, self.ptr, terminal_id)
        return _shift(info)

    def shift_paid_in(self, shift_id: str, amount: int, reason: str, movement_id: Optional[str] = None) -> None:
        _call(_c.redstore_shift_cash_move, self.ptr, shift_id, movement_id, _c.REDSTORE_PAID_IN, amount, reason)

    def shift_paid_out(self, shift_id: str, amount: int, reason: str, movement_id: Optional[str] = None) -> None:
        _call(_c.redstore_shift_cash_move, self.ptr, shift_id, movement_id, _c.REDSTORE_PAID_OUT, amount, reason)

    def shift_close(self, shift_id: str, counted_cash: int) -> Dict[str, Any]:
        info = _c.redstore_shift_info()
        _call(_c.redstore_shift_close, info, self.ptr, shift_id, counted_cash)
        return _shift(info)

    def shift_x_report(self, shift_id: str) -> Dict[str, Any]:
        """The shift's figures now (not stored)."""
        return _shift_report(_call(_c.redstore_shift_x_report, self.ptr, shift_id))

    def shift_z_report(self, shift_id: str, group_id: Optional[str] = None, wait_ms: int = 0) -> Dict[str, Any]:
        """The closed shift's Z report: issued once (waiting for the close to settle and the projector
        group to catch up, at most wait_ms; 0: 30 s), the same report on every later call."""
        return _shift_report(_call(_c.redstore_shift_z_report, self.ptr, shift_id,
                                   {"group_id": group_id, "wait_ms": wait_ms}))

    # -- sync
    def sync_read(self, after_id: str = "0", max: int = 100, wait_ms: int = 0) -> Dict[str, Any]:
        """The store's stock changes after stream id `after_id` ("0": the oldest kept), waiting up to
        wait_ms for one. Returns {"changes": [...], "resync": bool, "last_id": str}; on resync, take
        sync_snapshot() and read on from its stream_id."""
        ptr = _call(_c.redstore_sync_read, self.ptr, after_id, max, wait_ms)
        try:
            changes = []
            for i in range(ptr.count):
                ch = ptr.item_at(i)
                changes.append({"id": ch.id, "op_id": ch.op_id, "type": ch.type, "json": ch.json,
                                "lines": [_fields(ch.line_at(k), ("sku", "on_hand", "reserved", "delta"))
                                          for k in range(ch.line_count)]})
            return {"changes": changes, "resync": bool(ptr.resync), "last_id": ptr.last_id}
        finally:
            _c.redstore_changes_free(ptr)

    def sync_snapshot(self) -> Dict[str, Any]:
        """The store's stock and the stream id of the last change it includes: {"stream_id", "lines"}."""
        ptr = _call(_c.redstore_sync_snapshot, self.ptr)
        try:
            return {"stream_id": ptr.stream_id,
                    "lines": [_fields(ptr.line_at(i), ("sku", "on_hand", "reserved")) for i in range(ptr.count)]}
        finally:
            _c.redstore_snapshot_free(ptr)

    def schedule_eod(self, hhmm: str, directory: str) -> None:
        _call(_c.redstore_eod_schedule, self.ptr, hhmm, directory)

    # -- terminals and employees (redstore/auth.h)
    def add_employee(self, employee_id: str, name: str, pin: str, role: str = "cashier") -> None:
        """Adds an employee to the store: role "cashier", "supervisor", "manager" or "admin"; the PIN
        (4-12 digits) is stored as an argon2id hash."""
        if role not in _ROLES:
            raise error_for(_c.REDSTORE_EINVALID, "employee %s: unknown role %r" % (employee_id, role))
        _call(_c.redstore_auth_employee_add, self.ptr, employee_id, name, _ROLES[role], pin)

    def pairing_code(self, name: str) -> str:
        """A one-time code ("XXXX-XXXX") for pairing a new terminal of the store (:meth:`Terminal.pair`)."""
        return _call(_c.redstore_auth_pairing_code_new, self.ptr, name)


def _job_spec(payload: Any, spec: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    d = dict(spec)
    if payload is not None:
        d["payload"] = payload if isinstance(payload, str) else json.dumps(payload)
    if isinstance(d.get("backoff"), str):
        d["backoff"] = {"fixed": _c.REDSTORE_BACKOFF_FIXED, "exponential": _c.REDSTORE_BACKOFF_EXPONENTIAL}[d["backoff"]]
    return d or None


def sign_webhook(secret: str, timestamp: int, body: Union[bytes, str]) -> str:
    """The X-Redstore-Signature value a receiver checks (without the "v1=")."""
    return _call(_c.redstore_webhook_sign, secret, timestamp, body)


# ---------------------------------------------------------------------------------------------- consumer

class Consumer(_Handle):
    """A consumer group member: register handlers with :meth:`on`, then :meth:`poll` from one thread.

    A handler receives an :class:`Event`; returning normally marks it handled. An exception makes the
    library retry it and dead-letter it after max_attempts; the exception is kept in :attr:`errors`.
    """

    _free = staticmethod(_c.redstore_consumer_free)

    def __init__(self, client: Client, group_id: str, pattern: Optional[str] = None, batch_max: int = 0,
                 max_attempts: int = 0):
        opts = {"group_id": group_id, "pattern": pattern, "batch_max": batch_max, "max_attempts": max_attempts}
        super().__init__(_call(_c.redstore_consumer_new, client.ptr, opts))
        self._handlers: List[Callable] = []   # the C side borrows them: they live as long as the consumer
        self.errors: List[BaseException] = []

    def _guard(self, fn: Callable[..., Any], convert: Callable[[Any], Any]) -> Callable[[Any], int]:
        def call(arg: Any) -> int:
            try:
                fn(convert(arg))
                return 0
            except Exception as e:   # noqa: BLE001 - reported through errors, then retried by the library
                self.errors.append(e)
                return _c.REDSTORE_ERROR
        self._handlers.append(call)
        return call

    def on(self, event_type: str = "*", handler: Optional[Callable[[Event], Any]] = None):
        """Runs handler(event) for events of `event_type` ("*": all). Usable as a decorator."""
        def register(fn: Callable[[Event], Any]):
            _call(_c.redstore_consumer_on, self.ptr, event_type, self._guard(fn, Event._from_c))
            return fn
        return register(handler) if handler else register

    def on_batch(self, handler: Callable[[List[Event]], Any]) -> Callable:
        """Runs handler(events) once per polled batch, before the per-type handlers."""
        conv = self._guard(handler, lambda evs: [Event._from_c(e) for e in evs])
        _call(_c.redstore_consumer_on_batch, self.ptr, conv)
        return handler

    def poll(self, timeout_ms: int = 1000) -> int:
        """Fetches and handles one batch; returns how many events were handled. Releases the GIL."""
        return _call(_c.redstore_consumer_poll, self.ptr, timeout_ms)

    def commit(self) -> None:
        _call(_c.redstore_consumer_commit, self.ptr)

    def lag(self, cap: int = 256) -> List[Dict[str, Any]]:
        arr = _c.PartitionLagArray(cap)
        n = _call(_c.redstore_consumer_lag, arr.cast(), cap, self.ptr)
        return [_fields(arr[i], ("topic", "partition", "position", "high", "lag")) for i in range(n)]

    @property
    def dead_lettered(self) -> int:
        return _c.redstore_consumer_dead_lettered(self.ptr)


# ---------------------------------------------------------------------------------------------- worker

WEBHOOK_HANDLER = _c.WEBHOOK_HANDLER
EOD_HANDLER = _c.EOD_HANDLER


class Worker(_Handle):
    """Runs Python job handlers on the library's worker threads (each with its own client).

    A handler is called as handler(job, client) on a worker thread (holding the GIL while it runs). It
    completes the job by returning; raising :class:`JobFailed` fails it for good; any other exception
    retries it with the exception's text as its error. :meth:`run` blocks (without the GIL) until
    :meth:`stop` is called from another thread.
    """

    _free = staticmethod(_c.redstore_worker_free)

    def __init__(self, config: Union[Config, Dict[str, Any], None] = None, concurrency: int = 1, lease_ms: int = 0,
                 batch: int = 0, idle_ms: int = 0):
        opts = {"concurrency": concurrency, "lease_ms": lease_ms, "batch": batch, "idle_ms": idle_ms}
        if isinstance(config, Config):
            super().__init__(_call(_c.redstore_worker_new, config.ptr, opts))
        else:
            with Config(config) as cfg:
                super().__init__(_call(_c.redstore_worker_new, cfg.ptr, opts))
        self._handlers: List[Callable] = []

    def on(self, queue: str, handler: Optional[Callable[[Job, Client], Any]] = None):
        """Runs handler(job, client) for the jobs of `queue` (WEBHOOK_HANDLER and EOD_HANDLER run the
        library's own handlers). Usable as a decorator."""
        def register(fn):
            if fn is WEBHOOK_HANDLER or fn is EOD_HANDLER:
                _call(_c.redstore_worker_on, self.ptr, queue, fn)
                return fn

            def call(job_ptr: Any, client_ptr: Any):
                try:
                    res = fn(Job._from_c(job_ptr), Client._borrow(client_ptr))
                    return res if isinstance(res, (int, tuple)) and not isinstance(res, bool) else DONE
                except JobFailed as e:
                    return (FAIL, str(e) or type(e).__name__)
                except Exception as e:   # noqa: BLE001 - the job is retried with this error
                    return (RETRY, "%s: %s" % (type(e).__name__, e))
            self._handlers.append(call)
            _call(_c.redstore_worker_on, self.ptr, queue, call)
            return fn
        return register(handler) if handler else register

    def run(self) -> None:
        _call(_c.redstore_worker_run, self.ptr)

    def stop(self) -> None:
        _c.redstore_worker_stop(self.ptr)

    @property
    def processed(self) -> int:
        return _c.redstore_worker_processed(self.ptr)


# ---------------------------------------------------------------------------------------------- terminal

_JOURNAL_STATES = {_c.REDSTORE_JOURNAL_PENDING: "pending", _c.REDSTORE_JOURNAL_SYNCED: "synced",
                   _c.REDSTORE_JOURNAL_REJECTED: "rejected"}

# The server's error codes ({"error": {"code", "message"}}) as the library's exceptions.
_HTTP_ERRORS: Dict[str, type] = {
    "invalid": InvalidError, "invalid_body": InvalidError, "invalid_id": InvalidError,
    "malformed_request": DecodeError, "limit_exceeded": LimitError, "not_found": NotFoundError,
    "conflict": ConflictError, "out_of_stock": OutOfStockError, "inactive": InactiveError,
    "unauthenticated": AuthError, "forbidden": PermissionError_, "locked": LockedError,
    "unavailable": UnavailableError,
}


def _http_error(method: str, path: str, status: int, data: Any) -> RedstoreError:
    """The exception for a server's refusal: chosen by its error code, else by the status."""
    err = data.get("error") if isinstance(data, dict) else None
    code = err.get("code") if isinstance(err, dict) and isinstance(err.get("code"), str) else ""
    message = err.get("message", "") if isinstance(err, dict) else ""
    cls = _HTTP_ERRORS.get(code)
    if cls is None:
        cls = UnavailableError if status >= 500 or status in (408, 429) else \
            AuthError if status == 401 else InternalError
    e = cls("%s %s: HTTP %d %s%s" % (method, path, status, code or "error", ": " + message if message else ""))
    e.status, e.body = status, data
    return e


@dataclasses.dataclass(frozen=True)
class JournalEntry:
    """A sale of a terminal's offline journal. ``state``: "pending", "synced" or "rejected" (then
    ``reason`` holds the server's error code and message)."""

    seq: int
    sale_id: str
    state: str
    attempts: int
    http_status: int
    reason: str
    created_at_ms: int


@dataclasses.dataclass(frozen=True)
class Sold:
    """What :meth:`Terminal.sell` did: the sale's id, its journal state ("synced" when the server
    committed it now, "pending" when it will be sent by a later sell or sync, "rejected"), and the
    server's receipt (a dict) when it was synced by this call."""

    sale_id: str
    state: str
    receipt: Optional[Dict[str, Any]]


@dataclasses.dataclass(frozen=True)
class TerminalEvent:
    """An event of a terminal's live stream: ``type`` "change" (a stock change of the store), "resync"
    (the stream id was too old; a "snapshot" follows) or "snapshot" (the store's stock, ``data`` as
    GET /v1/stores/{store}/snapshot answers it); ``stream_id`` (the id to resume after, "" for resync);
    ``data``, the decoded JSON. A change's data is {"id", "op", "type", "changes": [[sku, on_hand,
    reserved, delta], ...]}."""

    stream_id: str
    type: str
    data: Dict[str, Any]

    @property
    def changes(self) -> List[Dict[str, Any]]:
        """A change's lines as dicts {sku, on_hand, reserved, delta}; [] for other events."""
        return [dict(zip(("sku", "on_hand", "reserved", "delta"), c)) for c in self.data.get("changes", [])]

    @classmethod
    def _decode(cls, event: str, stream_id: str, data: str) -> "TerminalEvent":
        try:
            decoded = json.loads(data) if data else {}
        except ValueError as e:
            raise error_for(_c.REDSTORE_EDECODE, "terminal event %s %s: the data is not JSON (%s)"
                            % (event, stream_id, e)) from None
        if not isinstance(decoded, dict):
            raise error_for(_c.REDSTORE_EDECODE, "terminal event %s %s: the data is not a JSON object"
                            % (event, stream_id))
        return cls(stream_id, event, decoded)


def _event_caller(callback: Callable[[TerminalEvent], Any]) -> Callable[[str, str, str], None]:
    """What the stream thread calls: decodes the event, then calls the user's callback. It holds no
    reference to the Terminal, so a terminal that is dropped while streaming can still be collected."""
    def call(event: str, stream_id: str, data: str) -> None:
        callback(TerminalEvent._decode(event, stream_id, data))
    return call


# Terminals whose stream runs: stopped at interpreter exit, before the stream threads could call into a
# finalising interpreter.
_STREAMING: "weakref.WeakSet[Terminal]" = weakref.WeakSet()


@atexit.register
def _stop_streams() -> None:
    for t in list(_STREAMING):
        try:
            t.events_stop()
        except Exception:   # noqa: BLE001 - best effort at exit
            pass


class Terminal(_Handle):
    """The terminal client of redstore-server (redstore/terminal.h): REST calls, sales through a durable
    offline journal (SQLite), and the store's live events delivered to a Python callable.

    Selling: :meth:`sell` journals the sale first, then sends every pending sale in order; when the server
    cannot be reached the sale stays "pending" and a later :meth:`sell` or :meth:`sync` sends it (each sale
    is recorded once: its id is the Idempotency-Key). :meth:`journal` lists every sale with its state.

    Live events: :meth:`events_start` (or :meth:`on_event`) runs the stream on a thread of the library
    that reconnects with Last-Event-ID after a failure, so no change is missed; the callback receives a
    :class:`TerminalEvent` on that thread (holding the GIL while it runs). An exception raised by the
    callback goes to ``sys.unraisablehook`` and the stream goes on. :meth:`events` is the same stream as
    an iterator. :meth:`events_stop` and :meth:`close` wait for the stream thread without holding the
    GIL; they may not be called from the callback itself (RuntimeError).

    Thread rule: as in C, one thread at a time (the stream thread aside).
    """

    _free = staticmethod(_c.redstore_terminal_free)

    def __init__(self, base_url: str, store_id: str, journal_path: str, token: Optional[str] = None,
                 timeout_ms: Optional[int] = None):
        """``base_url`` "http://host:port"; ``journal_path`` the journal's SQLite file (created when
        missing); ``token`` a session token; ``timeout_ms`` of each request (100..600000, default 5000)."""
        super().__init__(_call(_c.redstore_terminal_new, base_url, store_id, journal_path))
        self.store_id = store_id
        self.device_token: Optional[str] = None
        self.terminal_id: Optional[str] = None
        self._token: Optional[str] = None
        self._timeout_ms = 5000
        self._stream: Any = None            # the capi stream handle while the stream runs
        self._iterator: Optional[TerminalEvents] = None
        self._lock = threading.RLock()
        try:
            if token is not None:
                self.token = token
            if timeout_ms is not None:
                self.timeout_ms = timeout_ms
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Stops the event stream, closes the journal and frees the terminal."""
        if self._ptr is not None:
            self.events_stop()
        super().close()

    # -- session
    @property
    def token(self) -> Optional[str]:
        """The session token sent with every request (the stream uses the one it was started with)."""
        return self._token

    @token.setter
    def token(self, value: Optional[str]) -> None:
        _call(_c.redstore_terminal_set_token, self.ptr, value)
        self._token = value

    @property
    def timeout_ms(self) -> int:
        """The timeout of each request in ms (100..600000)."""
        return self._timeout_ms

    @timeout_ms.setter
    def timeout_ms(self, value: int) -> None:
        _call(_c.redstore_terminal_set_timeout, self.ptr, value)
        self._timeout_ms = value

    def request(self, method: str, path: str, body: Any = None,
                idempotency_key: Optional[str] = None) -> Tuple[int, Any]:
        """One REST call: returns (HTTP status, the body decoded as JSON, or its text, or None when
        empty). ``body``: a dict or list (sent as JSON) or JSON text (str or UTF-8 bytes). Raises
        ConnectError or EngineTimeoutError when the server cannot be reached, never for an HTTP status."""
        if isinstance(body, (bytes, bytearray)):
            body = bytes(body).decode("utf-8")
        elif body is not None and not isinstance(body, str):
            body = json.dumps(body, separators=(",", ":"))
        text, status = _call(_c.redstore_terminal_request, self.ptr, method, path, idempotency_key, body)
        if not text:
            return status, None
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text

    def _expect(self, want: int, method: str, path: str, body: Any) -> Dict[str, Any]:
        status, data = self.request(method, path, body)
        if status != want or not isinstance(data, dict):
            raise _http_error(method, path, status, data)
        return data

    def pair(self, code: str) -> str:
        """Exchanges a pairing code (:meth:`Client.pairing_code`) for this terminal's device token
        (kept as ``device_token``; keep it secret). Returns the new terminal's id."""
        data = self._expect(201, "POST", "/v1/pair", {"code": code})
        self.device_token, self.terminal_id = data["device_token"], data["terminal_id"]
        return self.terminal_id

    def login(self, employee_id: str, pin: str, device_token: Optional[str] = None) -> str:
        """Logs an employee in on this paired terminal and uses the session token from now on (the
        stream takes it when started next). Returns the token. Raises AuthError for a wrong PIN."""
        device = device_token or self.device_token
        if not device:
            raise error_for(_c.REDSTORE_EINVALID, "terminal login: pair the terminal first (no device token)")
        data = self._expect(201, "POST", "/v1/sessions", {"device_token": device, "employee_id": employee_id,
                                                          "pin": pin})
        self.token = data["session_token"]
        return self.token

    # -- sales and the journal
    def sell(self, sale: Union[Sale, Dict[str, Any]], sale_id: Optional[str] = None) -> Sold:
        """Sells a :class:`Sale` or a sale request body (a dict as POST /v1/stores/{store}/sales takes
        it; its "sale_id", else ``sale_id``, else a new id). The sale is in the journal when this returns,
        whatever the server did: see :class:`Sold`. Selling the same sale again is a retry (recorded
        once); another body under the same id raises ExistsError."""
        if isinstance(sale, Sale):
            body, sid = sale.to_dict(), sale.id
        elif isinstance(sale, dict):
            body = dict(sale)
            sid = body.get("sale_id") or sale_id or new_id()
            body["sale_id"] = sid
        else:
            raise TypeError("sell() takes a redstore.Sale or a dict, not %s" % type(sale).__name__)
        state, receipt = _call(_c.redstore_terminal_sell, self.ptr, sid, json.dumps(body, separators=(",", ":")))
        return Sold(sid, _JOURNAL_STATES.get(state, str(state)), json.loads(receipt) if receipt else None)

    def sync(self) -> int:
        """Sends the pending sales in order; returns how many became synced or rejected. Raises a
        RetriableError (ConnectError, EngineTimeoutError, UnavailableError) when the server cannot take
        them now, AuthError when the session expired (log in again)."""
        return _call(_c.redstore_terminal_sync, self.ptr)

    def journal(self) -> List[JournalEntry]:
        """Every journaled sale, oldest first."""
        ptr, count = _call(_c.redstore_terminal_journal, self.ptr)
        if ptr is None:
            return []
        try:
            arr = _c.JournalEntryArray.frompointer(ptr)
            return [JournalEntry(e.seq, e.sale_id, _JOURNAL_STATES.get(e.state, str(e.state)), e.attempts,
                                 e.http_status, e.reason, e.created_at_ms) for e in (arr[i] for i in range(count))]
        finally:
            _c.redstore_free(ptr)

    # -- live events
    @property
    def last_event_id(self) -> str:
        """The stream id of the last event delivered ("" when none): where a new stream would resume."""
        return _c.redstore_terminal_last_event_id(self.ptr)

    @property
    def streaming(self) -> bool:
        return self._stream is not None

    def events_start(self, callback: Callable[[TerminalEvent], Any], last_event_id: Optional[str] = None) -> None:
        """Starts the store's live events: callback(event) on the stream thread for each one, in order.
        ``last_event_id``: resume after this stream id (a snapshot's, or a previous stream's
        :attr:`last_event_id`); None: from now on. The terminal keeps the callback until the stream
        stops. Raises InvalidError when a stream runs already."""
        if not callable(callback):
            raise TypeError("the event callback must be callable")
        with self._lock:
            if self._stream is not None:
                raise error_for(_c.REDSTORE_EINVALID, "terminal: the event stream is running already")
            self._stream = _call(_c.redstore_py_terminal_events_start, self.ptr, last_event_id,
                                 _event_caller(callback))
            _STREAMING.add(self)

    def on_event(self, callback: Optional[Callable[[TerminalEvent], Any]] = None,
                 last_event_id: Optional[str] = None):
        """:meth:`events_start`, usable as a decorator (``@terminal.on_event``)."""
        def register(fn):
            self.events_start(fn, last_event_id)
            return fn
        return register(callback) if callback else register

    def events_stop(self) -> None:
        """Stops the stream and waits for its thread (without the GIL); no callback runs after it
        returns. A no-op when no stream runs. RuntimeError from the callback itself."""
        with self._lock:   # never held while waiting: the callback may use the terminal meanwhile
            stream, self._stream = self._stream, None
            it, self._iterator = self._iterator, None
        if stream is None:
            return
        if it is not None:
            it._closed_by_terminal()   # first: its stream thread may be waiting for room in the queue
        try:
            _c.redstore_py_terminal_events_stop(stream)
        except BaseException:
            with self._lock:   # called on the stream thread: the stream goes on
                self._stream = stream
            raise
        _STREAMING.discard(self)

    def events(self, timeout: Optional[float] = None, last_event_id: Optional[str] = None,
               maxsize: int = 1024) -> "TerminalEvents":
        """The live events as an iterator (``for ev in terminal.events(timeout=5): ...``): starts the
        stream and yields its events in order; iteration ends after ``timeout`` seconds without an event
        (None: never) or when the stream is stopped. Leaving the loop does not stop the stream: close the
        iterator (it is a context manager) or call :meth:`events_stop`. At most ``maxsize`` events wait
        in its queue; when it is full the stream thread waits (the stream resumes by id, nothing is lost)."""
        it = TerminalEvents(self, timeout, maxsize)
        with self._lock:
            self.events_start(it._put, last_event_id)
            self._iterator = it
        return it


class TerminalEvents:
    """An iterator over a terminal's live events (see :meth:`Terminal.events`); close() stops the stream."""

    def __init__(self, terminal: Terminal, timeout: Optional[float], maxsize: int):
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self._terminal: Optional[Terminal] = terminal
        self._timeout = timeout
        self._maxsize = maxsize
        self._queue: "collections.deque[TerminalEvent]" = collections.deque()
        self._cond = threading.Condition()
        self._closed = False

    def _put(self, event: TerminalEvent) -> None:
        """On the stream thread: waits for room (woken by a consumer or by close)."""
        with self._cond:
            while len(self._queue) >= self._maxsize and not self._closed:
                self._cond.wait()
            if not self._closed:
                self._queue.append(event)
                self._cond.notify_all()

    def __iter__(self) -> "TerminalEvents":
        return self

    def __next__(self) -> TerminalEvent:
        with self._cond:
            if not self._cond.wait_for(lambda: self._queue or self._closed, self._timeout):
                raise StopIteration
            if not self._queue:
                raise StopIteration
            event = self._queue.popleft()
            self._cond.notify_all()
            return event

    def _closed_by_terminal(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._terminal = None

    def close(self) -> None:
        """Stops the terminal's stream (waiting for its thread) and ends the iteration."""
        with self._cond:
            self._closed = True   # a stream thread waiting for room gives up its event and returns
            self._cond.notify_all()
        terminal, self._terminal = self._terminal, None
        if terminal is not None and terminal._iterator is self:
            terminal.events_stop()

    def __enter__(self) -> "TerminalEvents":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
