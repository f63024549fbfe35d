import time

from orchestration import runs
from orchestration.models import WorkflowRun
from orchestration.states import RUN_TERMINAL
from tests.factories import make_workflow


def wait_for(run_id: int, states=RUN_TERMINAL, timeout: float = 20) -> WorkflowRun:
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


def run_document(owner, doc, parameters=None, **kw) -> WorkflowRun:
    workflow = make_workflow(owner, doc)
    run = runs.create_run(workflow, user=owner, parameters=parameters or {}, **kw)
    return wait_for(run.pk)


def nodes(run) -> dict:
    return {n.node_id: n for n in run.nodes.all()}


def assert_events_complete(run):
    seqs = list(run.events.values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1)) and run.last_seq == len(seqs)
