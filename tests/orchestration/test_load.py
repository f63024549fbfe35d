"""Under load: many more runs than the engine runs at once, all complete, every event stored
gap-free, with a bounded number of database connections (run on PostgreSQL in CI)."""

import threading
import time

import pytest
from django.db import connection, connections

from orchestration import runs
from orchestration.models import WorkflowRun
from tests.factories import document, make_workflow
from tests.orchestration.runhelpers import assert_events_complete, wait_for

RUNS = 200


def connections_now() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return cursor.fetchone()[0]


class PeakConnections(threading.Thread):
    """Samples PostgreSQL's count of connections to the test database."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak, self.stop = 0, threading.Event()

    def run(self):
        try:
            while not self.stop.is_set():
                self.peak = max(self.peak, connections_now())
                time.sleep(0.05)
        finally:
            connections.close_all()


@pytest.mark.db_concurrency
@pytest.mark.django_db(transaction=True)
def test_200_concurrent_runs_all_complete_with_bounded_connections(owner, capsys):
    doc = document(
        nodes=[
            {"id": "a", "type": "control.log", "params": {"message": "start"}},
            {"id": "wait", "type": "control.delay", "params": {"seconds": 0.05}},
            {"id": "b", "type": "data.record", "params": {"values": {"n": "{{ params.n }}"}}},
        ],
        edges=[{"source": "a", "target": "wait"}, {"source": "wait", "target": "b"}],
    )
    workflow = make_workflow(owner, doc)
    sampler = PeakConnections() if connection.vendor == "postgresql" else None
    if sampler:
        sampler.start()
    started = [runs.create_run(workflow, user=owner, parameters={"n": i % 10}) for i in range(RUNS)]
    finished = [wait_for(run.pk, timeout=600) for run in started]
    if sampler:
        sampler.stop.set()
        sampler.join()
        with capsys.disabled():
            print(f"\npeak connections to the test database: {sampler.peak} for {RUNS} runs")
        assert sampler.peak < 60  # the machine allows 100; the pool and the run limit bound it
    assert [r.state for r in finished] == ["completed"] * RUNS
    for run in WorkflowRun.objects.all():
        assert_events_complete(run)
