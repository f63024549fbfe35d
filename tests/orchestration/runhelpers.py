import time

from orchestration import runs
from orchestration.models import RUN_TERMINAL, WorkflowRun
from tests.factories import make_workflow


def wait_for(run_id: int, states=RUN_TERMINAL, timeout: float = 60) -> WorkflowRun:
    """The run once in `states`; the timeout is a deadline for a stuck run, not a speed goal."""
    run = WorkflowRun.objects.get(pk=run_id)
    if run.engine == "prefect":
        timeout = max(timeout, 90)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = WorkflowRun.objects.get(pk=run_id)
        if run.state in states:
            return run
        time.sleep(0.02)
    tail = [str(e) for e in run.events.order_by("-seq")[:8]]
    raise AssertionError(
        f"run {run_id} is still {run.state} after {timeout} s; last events: {tail}"
    )


def run_document(owner, engine_name, doc, parameters=None, **kw) -> WorkflowRun:
    """Run a document on an engine and wait for its end (a Prefect worker needs a few
    seconds to start the flow's process)."""
    workflow = make_workflow(owner, doc)
    run = runs.create_run(
        workflow, user=owner, engine_name=engine_name, parameters=parameters or {}, **kw
    )
    return wait_for(run.pk)


def run_on(owner, doc, robot=None, parameters=None, **options) -> WorkflowRun:
    """Run a document on a robot (None: a simulator of its robot type); wait for its end."""
    workflow = make_workflow(owner, doc)
    run = runs.create_run(
        workflow, user=owner, robot=robot, parameters=parameters or {}, options=options
    )
    return wait_for(run.pk, timeout=60)


def nodes(run) -> dict:
    return {n.node_id: n for n in run.nodes.all()}


def assert_events_complete(run):
    seqs = list(run.events.values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1)) and run.last_seq == len(seqs)
