"""Jobs through the bindings: a take/finish round trip, and Python handlers on the worker's threads."""
import threading

import pytest

import redstore
from conftest import unique, wait_for


def test_a_job_round_trip_with_take_and_finish(client):
    queue = unique("pyq")
    job_id, added = client.add_job(queue, {"order": 42}, id="order-42", priority=5)
    assert (job_id, added) == ("order-42", True)
    assert client.add_job(queue, {"order": 42}, id="order-42") == ("order-42", False)  # idempotent by id
    assert client.queue_counts(queue)["waiting"] == 1
    (job,) = client.take_jobs(queue, max=5, lease_ms=10000)
    assert job.id == "order-42" and job.attempt == 1 and job.data() == {"order": 42}
    assert client.job(queue, job.id)["state"] == "active"
    client.finish_job(job, redstore.DONE)
    assert client.job(queue, job.id)["state"] == "completed"
    assert client.take_jobs(queue) == []


def test_python_handlers_run_on_worker_threads_with_outcomes_from_exceptions(client):
    queue = unique("pyw")
    for i in range(6):
        client.add_job(queue, {"n": i}, id="ok-%d" % i)
    client.add_job(queue, {"n": -1}, id="bad", max_attempts=5)
    client.add_job(queue, {"n": -2}, id="flaky", max_attempts=2, backoff_ms=1, backoff_max_ms=1)

    done, threads, lock = [], set(), threading.Lock()

    with redstore.Worker(concurrency=3, idle_ms=5, lease_ms=5000) as worker:
        @worker.on(queue)
        def handle(job, job_client):
            n = job.data()["n"]
            if n == -1:
                raise redstore.JobFailed("order %s is cancelled" % job.id)
            if n == -2:
                raise ValueError("attempt %d failed" % job.attempt)
            # The handler's own client works: it records a follow-up job.
            job_client.add_job(queue + ".done", {"n": n}, id="after-%s" % job.id)
            with lock:
                done.append(n)
                threads.add(threading.get_ident())

        runner = threading.Thread(target=worker.run)
        runner.start()
        try:
            wait_for(lambda: worker.processed >= 9, what="the worker to finish 9 attempts")
        finally:
            worker.stop()
            runner.join(30)
        assert not runner.is_alive()

    assert sorted(done) == list(range(6))
    assert threading.get_ident() not in threads  # handlers ran on the worker's threads, not this one
    assert client.queue_counts(queue + ".done")["waiting"] == 6
    bad = client.job(queue, "bad")
    assert bad["state"] == "failed" and "cancelled" in bad["last_error"] and bad["attempts"] == 1
    flaky = client.job(queue, "flaky")
    assert flaky["state"] == "dead" and flaky["attempts"] == 2
    assert "ValueError: attempt 2 failed" in flaky["last_error"]
    assert client.retry_dead(queue, "flaky") == 1


def test_add_jobs_adds_a_batch_atomically(client):
    queue = unique("pyb")
    assert client.add_jobs(queue, [{"id": "a", "payload": {"x": 1}}, {"id": "b"}]) == [True, True]
    assert client.add_jobs(queue, [{"id": "b"}, {"id": "c", "priority": 9}]) == [False, True]
    with pytest.raises(redstore.InvalidError) as e:
        client.add_jobs(queue, [{"id": "d"}, {"id": "bad id!"}])
    assert "1" in str(e.value)
    assert client.queue_counts(queue)["waiting"] == 3
    taken = client.take_jobs(queue, max=3)
    assert [j.id for j in taken][0] == "c"  # highest priority first
    for j in taken:
        client.finish_job(j)


def test_bad_job_arguments_raise(client):
    with pytest.raises(redstore.InvalidError):
        client.add_job("bad queue name!", {})
    with pytest.raises(redstore.InvalidError):
        client.add_job(unique("pyq"), "{not json")
    with pytest.raises(redstore.NotFoundError):
        client.job(unique("pyq"), "missing")
