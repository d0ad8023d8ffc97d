"""Shifts through the bindings: a drawer opened, moved, closed, with an X report; bad input raises."""
import pytest

import redstore


def test_a_shift_is_opened_moved_and_closed_with_its_x_report(client, store):
    client.set_actor("py-till", "tester")
    sh = client.shift_open(10000)
    assert sh["terminal_id"] == "py-till" and sh["opened_by"] == "tester" and not sh["closed"]
    assert client.shift_current()["shift_id"] == sh["shift_id"]
    with pytest.raises(redstore.ConflictError):
        client.shift_open(500)  # one open shift per terminal
    client.shift_paid_in(sh["shift_id"], 2000, "change from the bank")
    client.shift_paid_out(sh["shift_id"], 300, "window cleaner")
    with pytest.raises(redstore.InvalidError):
        client.shift_paid_out(sh["shift_id"], 300, "")  # a reason is required
    x = client.shift_x_report(sh["shift_id"])
    assert x["report"] == "X" and x["expected_cash"] == 11700 and x["counted_cash"] is None
    assert [t["kind"] for t in x["tenders"]] == ["cash", "card", "other"]
    closed = client.shift_close(sh["shift_id"], 11650)
    assert closed["closed"] and closed["counted_cash"] == 11650
    assert client.shift_x_report(sh["shift_id"])["difference"] == -50
    with pytest.raises(redstore.ConflictError):
        client.shift_close(sh["shift_id"], 11650)
