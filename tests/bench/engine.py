"""Engine overhead per node on no-op DAGs: the native engine, plain Prefect tasks, and our
Prefect engine (the `sdl-workflow` flow with its database writes), all in this process."""

import statistics
import time

from django.contrib.auth import get_user_model

from canvas.models import Workflow
from orchestration import runs
from orchestration.models import RUN_TERMINAL, WorkflowRun

REPEATS = 5  # each figure: the median of this many runs (one in ten is 3–5 times slower)


def figure(name, value, unit):
    print(f"{name} {value:.3f} {unit}", flush=True)


def dag(n: int, shape: str) -> dict:
    nodes = [{"id": f"n{i}", "type": "control.comment", "params": {}} for i in range(n)]
    if shape == "chain":
        edges = [{"source": f"n{i}", "target": f"n{i + 1}"} for i in range(n - 1)]
    else:  # one root fanning out to every other node
        edges = [{"source": "n0", "target": f"n{i}"} for i in range(1, n)]
    return {"schema": "sdl-workflow/1", "name": f"{shape} {n}", "nodes": nodes, "edges": edges}


def native_overhead(user, n: int, shape: str) -> float:
    """From asking for the run to its recorded end (not to when this loop's poll saw it)."""
    workflow = Workflow.create(dag(n, shape), user)
    started = time.time()
    run = runs.create_run(workflow, user=user)
    while (
        WorkflowRun.objects.filter(pk=run.pk).values_list("state", flat=True).get()
        not in RUN_TERMINAL
    ):
        time.sleep(0.005)
    run.refresh_from_db()
    assert run.state == "completed", run.error
    return (run.finished_at.timestamp() - started) / n * 1000


def prefect_overhead(n: int) -> tuple[float, float] | None:
    try:
        from prefect import flow, task
        from prefect.testing.utilities import prefect_test_harness
    except ImportError:
        return None

    @task
    def noop(*_):
        return None

    @flow
    def chain():
        future = None
        for _ in range(n):
            future = noop.submit(wait_for=[future] if future else [])
        future.result()

    with prefect_test_harness(server_startup_timeout=120):
        chain()  # warm up: the first flow run pays for imports and the database
        times = []
        for _ in range(REPEATS):  # one flow run's time varies several-fold here
            started = time.perf_counter()
            chain()
            times.append((time.perf_counter() - started) / n * 1000)
        return statistics.median(times), sdl_flow_overhead(n)


def sdl_flow_overhead(n: int) -> float:
    """Our flow on the harness's server, called in this process (no worker start-up counted)."""
    from orchestration.prefect_flow import sdl_workflow

    user, _ = get_user_model().objects.get_or_create(username="bench")
    workflow = Workflow.create(dag(n, "chain"), user)
    times = []
    for _ in range(2):  # the first pays for the flow's registration
        run = runs.create_run(workflow, user=user, engine_name="prefect", start=False)
        started = time.perf_counter()
        sdl_workflow(run_id=run.pk)
        times.append(time.perf_counter() - started)
        run.refresh_from_db()
        assert run.state == "completed", run.error
    return times[-1] / n * 1000


def cancel_latency(user) -> float:
    """Seconds from a cancel (asked during a minute-long delay) to the run's end."""
    doc = dag(1, "chain")
    doc["nodes"][0] = {"id": "wait", "type": "control.delay", "params": {"seconds": 60}}
    run = runs.create_run(Workflow.create(doc, user), user=user)
    runs.wait(run.pk, {"running"})
    time.sleep(0.1)
    asked = time.perf_counter()
    runs.cancel_run(run, user)
    runs.wait(run.pk)
    return time.perf_counter() - asked


def run():
    user, _ = get_user_model().objects.get_or_create(username="bench")
    figure("engine.native.cancel_latency", cancel_latency(user), "s")
    for shape in ("chain", "fanout"):
        for n in (100, 1000, 10000):
            overhead = statistics.median(native_overhead(user, n, shape) for _ in range(REPEATS))
            figure(f"engine.native.overhead_per_node.{shape}.{n}", overhead, "ms")
            if (shape, n) == ("chain", 100):
                native = overhead
    measured = prefect_overhead(100)
    if measured is not None:
        plain, ours = measured
        figure("engine.prefect.overhead_per_node.chain.100", plain, "ms")
        figure("engine.prefect_to_native_ratio.chain.100", plain / native, "x")
        figure("engine.prefect_sdl_flow.overhead_per_node.chain.100", ours, "ms")
