"""Both engines, as a user of `run_workflow` and the run API sees them: every case runs on the
native engine and on Prefect (a real server and process worker), with the same expectations."""

import threading
import time

import pytest

from orchestration import runs, transitions
from orchestration.models import NodeRun, NodeState, RunState
from tests.factories import demo, document, make_workflow
from tests.helpers import CALLABLES
from tests.orchestration.runhelpers import assert_events_complete, nodes, run_document, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def callables(settings):
    settings.SDL_PYTHON_CALLABLES = [*settings.SDL_PYTHON_CALLABLES, *CALLABLES]


def fan_out(delay=0.3):
    return document(
        nodes=[
            {"id": "start", "type": "control.start", "params": {}},
            {"id": "a", "type": "control.delay", "params": {"seconds": delay}},
            {"id": "b", "type": "control.delay", "params": {"seconds": delay}},
            {"id": "join", "type": "data.record", "params": {"values": {"n": "{{ params.n }}"}}},
        ],
        edges=[
            {"source": "start", "target": "a"},
            {"source": "start", "target": "b"},
            {"source": "a", "target": "join"},
            {"source": "b", "target": "join"},
        ],
    )


def call(node_id, function, retries=0, timeout_s=None, **kwargs):
    node = {
        "id": node_id,
        "type": "python.call",
        "retries": retries,
        "retry_delay_s": 0.01,
        "params": {"function": f"tests.helpers.{function}", "kwargs": kwargs},
    }
    if timeout_s:
        node["timeout_s"] = timeout_s
    return node


def test_independent_branches_run_in_parallel_and_the_join_waits(owner, engine_name):
    run = run_document(owner, engine_name, fan_out(0.5), {"n": 7})
    assert run.state == RunState.COMPLETED, run.error
    by_id = nodes(run)
    a, b, join = by_id["a"], by_id["b"], by_id["join"]
    assert a.started_at < b.finished_at and b.started_at < a.finished_at  # overlap
    assert join.started_at >= max(a.finished_at, b.finished_at)
    assert join.output == {"n": 7}
    assert_events_complete(run)


def test_the_demo_buffer_check_branches_on_the_recorded_value(owner, engine_name):
    run = run_document(owner, engine_name, demo("buffer_check"), {"ph": 5.0, "settle_s": 0})
    by_id = nodes(run)
    assert run.state == RunState.COMPLETED, run.error
    assert by_id["adjust"].state == NodeState.COMPLETED and by_id["ok"].state == NodeState.SKIPPED
    assert by_id["reading"].output == {"ph": 5.0, "replicate_mean": pytest.approx(7.07)}
    run = run_document(owner, engine_name, demo("buffer_check"), {"ph": 7.2, "settle_s": 0})
    by_id = nodes(run)
    assert by_id["adjust"].state == NodeState.SKIPPED and by_id["ok"].state == NodeState.COMPLETED


def test_nodes_reached_only_through_a_skipped_node_are_skipped(owner, engine_name):
    doc = document(
        nodes=[
            {"id": "m", "type": "data.record", "params": {"values": {"x": 1}}},
            {"id": "no", "type": "control.log", "params": {"message": "never"}},
            {"id": "after", "type": "control.log", "params": {"message": "never either"}},
        ],
        edges=[
            {"source": "m", "target": "no", "when": "{{ nodes.m.output.x }} > 5"},
            {"source": "no", "target": "after"},
        ],
    )
    run = run_document(owner, engine_name, doc)
    assert run.state == RunState.COMPLETED
    assert {k: v.state for k, v in nodes(run).items()} == {
        "m": "completed",
        "no": "skipped",
        "after": "skipped",
    }


def test_a_disabled_node_is_skipped_and_the_chain_goes_on(owner, engine_name):
    doc = document()
    doc["nodes"][0]["disabled"] = True
    run = run_document(owner, engine_name, doc)
    assert run.state == RunState.COMPLETED
    assert nodes(run)["a"].state == "skipped" and nodes(run)["b"].state == "completed"


def test_a_node_that_fails_twice_then_succeeds_completes_on_attempt_three(owner, engine_name):
    doc = document(
        nodes=[call("f", "flaky", retries=2, key=f"retry-3-{engine_name}", failures=2)], edges=[]
    )
    run = run_document(owner, engine_name, doc)
    node = nodes(run)["f"]
    assert run.state == RunState.COMPLETED and node.attempts == 3
    assert node.output == {"result": "ok after 3"}
    node_states = list(run.events.filter(node_id="f", type="node").values_list("state", flat=True))
    assert node_states == ["running", "retrying", "running", "retrying", "running", "completed"]


def test_retries_run_out_and_the_run_says_which_node_failed_and_why(owner, engine_name):
    doc = document(
        nodes=[call("f", "flaky", retries=1, key=f"retry-out-{engine_name}", failures=5)], edges=[]
    )
    run = run_document(owner, engine_name, doc)
    assert run.state == RunState.FAILED and nodes(run)["f"].attempts == 2
    assert run.error == "node f failed: RuntimeError: flaky failure 2"


def test_a_node_that_hangs_past_its_timeout_fails_without_holding_the_run(owner, engine_name):
    # The call hangs for ten minutes: a run it held would outlast the test's own timeout.
    doc = document(nodes=[call("h", "hang", timeout_s=0.3, seconds=600)], edges=[])
    run = run_document(owner, engine_name, doc)
    assert run.state == RunState.FAILED and nodes(run)["h"].error == "timed out after 0.3 s"


def test_output_that_is_not_json_fails_the_node_readably(owner, engine_name):
    run = run_document(owner, engine_name, document(nodes=[call("j", "not_json")], edges=[]))
    assert run.state == RunState.FAILED
    assert nodes(run)["j"].error.startswith("the output is not JSON")


def test_a_failure_stops_the_run_and_independent_nodes_do_not_start(owner, engine_name):
    doc = document(
        nodes=[
            call("bad", "boom"),
            {"id": "slow", "type": "control.delay", "params": {"seconds": 0.3}},
            {"id": "later", "type": "control.log", "params": {"message": "x"}},
        ],
        edges=[{"source": "slow", "target": "later"}],
    )
    run = run_document(owner, engine_name, doc)
    by_id = nodes(run)
    assert run.state == RunState.FAILED
    assert run.error == "node bad failed: ZeroDivisionError: division by zero in the lab"
    assert by_id["later"].state == NodeState.CANCELLED and by_id["later"].started_at is None


def test_a_missing_output_fails_the_node_naming_the_reference(owner, engine_name):
    doc = document(
        nodes=[
            call("p", "flaky", key=f"ref-{engine_name}", failures=0),
            {
                "id": "use",
                "type": "control.log",
                "params": {"message": "{{ nodes.p.output.result.deep }}"},
            },
        ],
        edges=[{"source": "p", "target": "use"}],
    )
    run = run_document(owner, engine_name, doc)
    assert (
        nodes(run)["use"].error
        == "node use: nodes.p.output.result.deep: node p has no output result.deep"
    )


def test_cancel_during_a_long_delay_ends_the_run_cancelled(owner, engine_name):
    """How soon is a bench figure (engine.cancel_latency); here: the minute-long delay is
    cut short, and the run and the node end cancelled."""
    workflow = make_workflow(
        owner,
        document(nodes=[{"id": "d", "type": "control.delay", "params": {"seconds": 60}}], edges=[]),
    )
    run = runs.create_run(workflow, user=owner, engine_name=engine_name)
    wait_for(run.pk, {RunState.RUNNING})
    time.sleep(0.1)
    runs.cancel_run(run, owner)
    run = wait_for(run.pk, timeout=50)
    assert run.state == RunState.CANCELLED and nodes(run)["d"].state == NodeState.CANCELLED


def test_a_pause_waits_until_someone_continues(owner, engine_name):
    doc = document(
        nodes=[
            {"id": "p", "type": "control.pause", "params": {"message": "Load the plate"}},
            {"id": "after", "type": "control.log", "params": {"message": "go"}},
        ],
        edges=[{"source": "p", "target": "after"}],
    )
    run = runs.create_run(make_workflow(owner, doc), user=owner, engine_name=engine_name)
    paused = wait_for(run.pk, {RunState.PAUSED})
    time.sleep(0.5)
    assert nodes(paused)["after"].state == NodeState.PENDING
    runs.continue_run(paused, owner)
    run = wait_for(run.pk)
    assert run.state == RunState.COMPLETED
    assert nodes(run)["p"].output == {"continued_by": "olivia"}
    run_states = list(run.events.filter(type="run").values_list("state", flat=True))
    assert run_states == ["queued", "running", "paused", "running", "completed"]


def test_two_workers_can_never_both_start_a_node_and_a_finished_run_never_changes(owner):
    run = run_document(owner, "native", document())
    with pytest.raises(transitions.IllegalTransition):
        transitions.move_node(run.pk, "a", NodeState.RUNNING)
    with pytest.raises(transitions.IllegalTransition):
        transitions.move_run(run.pk, RunState.RUNNING)
    run2 = runs.create_run(make_workflow(owner), user=owner, start=False)
    outcomes = []
    barrier = threading.Barrier(4)

    def start():
        barrier.wait()
        try:
            transitions.move_node(run2.pk, "a", NodeState.RUNNING)
            outcomes.append("started")
        except transitions.IllegalTransition:
            outcomes.append("refused")
        finally:
            from django.db import connection

            connection.close()

    threads = [threading.Thread(target=start) for _ in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(outcomes) == ["refused"] * 3 + ["started"]


def test_resume_from_a_failed_node_keeps_what_completed_before_it(owner, engine_name):
    doc = document(
        nodes=[
            {"id": "first", "type": "data.record", "params": {"values": {"v": 1}}},
            call("second", "flaky", key=f"resume-{engine_name}", failures=1),
        ],
        edges=[{"source": "first", "target": "second"}],
    )
    failed = run_document(owner, engine_name, doc)
    assert failed.state == RunState.FAILED
    resumed = wait_for(runs.resume_from(failed, "second", owner).pk)
    by_id = nodes(resumed)
    assert resumed.state == RunState.COMPLETED
    assert by_id["first"].output == {"v": 1} and by_id["first"].attempts == 0  # carried over
    assert by_id["second"].attempts == 1
    again = wait_for(runs.rerun(resumed, owner).pk)
    assert again.state == RunState.COMPLETED and nodes(again)["first"].attempts == 1


def test_cancel_while_a_node_waits_to_retry_ends_it_cancelled(owner, engine_name):
    node = call("f", "flaky", retries=3, key=f"cancel-retry-{engine_name}", failures=9)
    node["retry_delay_s"] = 2
    run = runs.create_run(
        make_workflow(owner, document(nodes=[node], edges=[])), user=owner, engine_name=engine_name
    )
    deadline = time.monotonic() + 90
    while run.nodes.get(node_id="f").state != NodeState.RETRYING:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    runs.cancel_run(run, owner)
    run = wait_for(run.pk, timeout=30)
    assert run.state == RunState.CANCELLED and nodes(run)["f"].state == NodeState.CANCELLED
    node_states = list(run.events.filter(node_id="f", type="node").values_list("state", flat=True))
    assert node_states == ["running", "retrying", "cancelled"]


def test_a_pass_writes_a_nodes_later_moves_once_and_still_refuses_an_illegal_one(owner):
    """Inside one batched pass a node's second move is not asked of the database (its row is
    the pass's), but what it may become is still checked, and every event is kept, in order."""
    from django.db import transaction

    run = runs.create_run(make_workflow(owner), user=owner, start=False)
    with transaction.atomic(), transitions.batched():
        transitions.move_node(run.pk, "a", NodeState.RUNNING, attempts=1)
        transitions.move_node(run.pk, "a", NodeState.COMPLETED, output={"x": 1})
        with pytest.raises(transitions.IllegalTransition):
            transitions.move_node(run.pk, "a", NodeState.CANCELLED)
    a = nodes(run)["a"]
    assert (a.state, a.attempts, a.output) == (NodeState.COMPLETED, 1, {"x": 1})
    assert a.started_at is not None and a.finished_at is not None
    moves = run.events.filter(type="node").values_list("node_id", "state")
    assert list(moves) == [("a", "running"), ("a", "completed")]
    assert list(run.events.values_list("seq", flat=True)) == [1, 2, 3]


@pytest.mark.db_concurrency  # PostgreSQL writes a pass's rows with a statement of its own
def test_a_pass_keeps_nothing_when_a_node_it_moved_unchecked_was_moved_by_someone_else(owner):
    """A move checked at the pass's end (an inline node: no round trip of its own) is still
    refused when the row was not in a state it may move from, and with it the whole pass."""
    from django.db import transaction

    run = runs.create_run(make_workflow(owner), user=owner, start=False)
    with pytest.raises(transitions.IllegalTransition, match="moved by someone else"):
        with transaction.atomic(), transitions.batched():
            transitions.move_node(run.pk, "a", NodeState.RUNNING, check_at_end=True, attempts=1)
            transitions.move_node(run.pk, "a", NodeState.COMPLETED, output={"x": 1})
            transitions.move_node(run.pk, "b", NodeState.RUNNING, check_at_end=True, attempts=1)
            NodeRun.objects.filter(run=run, node_id="b").update(state=NodeState.CANCELLED)
    assert {n.node_id: n.state for n in run.nodes.all()} == {"a": "pending", "b": "pending"}
    assert list(run.events.values_list("type", "state")) == [("run", "queued")]
    with transaction.atomic(), transitions.batched():  # unchecked moves that were allowed
        transitions.move_node(run.pk, "a", NodeState.RUNNING, check_at_end=True, attempts=1)
        transitions.move_node(run.pk, "a", NodeState.COMPLETED, output={"x": 1})
        transitions.move_node(run.pk, "b", NodeState.SKIPPED, check_at_end=True, error="not needed")
    a, b = nodes(run)["a"], nodes(run)["b"]
    assert (a.state, a.attempts, a.output, b.state, b.error) == (
        "completed",
        1,
        {"x": 1},
        "skipped",
        "not needed",
    )
    moves = run.events.filter(type="node").values_list("node_id", "state")
    assert list(moves) == [("a", "running"), ("a", "completed"), ("b", "skipped")]
