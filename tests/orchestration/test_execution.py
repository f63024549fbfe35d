"""The execution core on its own: deciding what runs and one attempt of a node, with no
database and no engine."""

import threading

from orchestration.execution.attempt import attempt
from orchestration.execution.decide import RUN, decide, may_retry, retry_delay
from orchestration.execution.messages import Logged, Paused
from orchestration.execution.run import Execution
from orchestration.models import NodeState
from orchestration.plan import compile_plan
from tests.factories import document


def plan_of(nodes, edges, parameters=None):
    doc = document(nodes=nodes, edges=edges)
    if parameters is not None:
        doc["parameters"] = parameters
    return compile_plan(doc)


def log(node_id, message="hi"):
    return {"id": node_id, "type": "control.log", "params": {"message": message}}


def decision(plan, node_id, final, disabled=frozenset(), outputs=None):
    step = plan.steps[node_id]
    return decide(
        step, plan.incoming[node_id], final, set(disabled), plan.parameters, outputs or {}
    )


def test_a_node_runs_when_a_plain_parent_completed():
    plan = plan_of([log("a"), log("b")], [{"source": "a", "target": "b"}])
    assert decision(plan, "a", {}) == (RUN, "")
    assert decision(plan, "b", {"a": NodeState.COMPLETED}) == (RUN, "")


def test_a_node_whose_only_parent_was_skipped_is_skipped():
    plan = plan_of([log("a"), log("b")], [{"source": "a", "target": "b"}])
    assert decision(plan, "b", {"a": NodeState.SKIPPED}) == (
        NodeState.SKIPPED,
        "no incoming condition held",
    )


def test_a_disabled_node_is_skipped_and_its_children_still_run():
    nodes = [log("a"), {**log("b"), "disabled": True}, log("c")]
    plan = plan_of(nodes, [{"source": "a", "target": "b"}, {"source": "b", "target": "c"}])
    assert decision(plan, "b", {"a": NodeState.COMPLETED}) == (NodeState.SKIPPED, "disabled")
    assert decision(plan, "c", {"b": NodeState.SKIPPED}, disabled={"b"}) == (RUN, "")


def test_conditions_choose_the_branch_from_outputs():
    edges = [
        {"source": "a", "target": "yes", "when": '{{ nodes.a.output.message }} == "go"'},
        {"source": "a", "target": "no", "when": '{{ nodes.a.output.message }} != "go"'},
    ]
    plan = plan_of([log("a", "go"), log("yes"), log("no")], edges)
    final, outputs = {"a": NodeState.COMPLETED}, {"a": {"message": "go"}}
    assert decision(plan, "yes", final, outputs=outputs) == (RUN, "")
    assert decision(plan, "no", final, outputs=outputs)[0] == NodeState.SKIPPED


def test_a_condition_that_cannot_be_evaluated_fails_the_node_naming_the_edge():
    edges = [{"source": "a", "target": "b", "when": "{{ nodes.a.output.message }} > 3"}]
    plan = plan_of([log("a"), log("b")], edges)
    state, reason = decision(plan, "b", {"a": NodeState.COMPLETED}, outputs={"a": {"message": "x"}})
    assert state == NodeState.FAILED and reason.startswith(
        "condition on edge a → b: cannot compare"
    )


def test_retry_delays_double_up_to_five_minutes_and_stop_at_the_retry_count():
    plan = plan_of([{**log("a"), "retries": 20, "retry_delay_s": 2}], [])
    step = plan.steps["a"]
    assert [retry_delay(step, n) for n in (1, 2, 3)] == [2, 4, 8]
    assert retry_delay(step, 12) == 300
    assert may_retry(step, 20, True) and not may_retry(step, 21, True)
    assert not may_retry(step, 1, False)


def execution_for(plan) -> Execution:
    execution = Execution(run_id=1)
    execution.plan = plan
    return execution


def test_an_attempt_resolves_references_runs_the_node_and_reports_its_log():
    nodes = [log("a", "{{ params.n }}")]
    execution = execution_for(plan_of(nodes, [], {"n": {"type": "number", "default": 3}}))
    outcome = attempt(execution, execution.plan.steps["a"], 1)
    assert (outcome.state, outcome.result) == (NodeState.COMPLETED, {"message": "3"})
    assert execution.take(block=False) == [Logged("a", "3", "info")]


def test_an_attempt_with_a_missing_output_fails_without_retry():
    nodes = [log("a"), log("b", "{{ nodes.a.output.message }}")]
    execution = execution_for(plan_of(nodes, [{"source": "a", "target": "b"}]))
    outcome = attempt(execution, execution.plan.steps["b"], 1)
    assert outcome.state == NodeState.FAILED and not outcome.retryable
    assert "node a has no output" in outcome.result


def test_an_attempt_past_its_timeout_fails_and_may_be_retried():
    nodes = [{"id": "d", "type": "control.delay", "params": {"seconds": 30}, "timeout_s": 0.2}]
    execution = execution_for(plan_of(nodes, []))
    outcome = attempt(execution, execution.plan.steps["d"], 1)
    assert (outcome.state, outcome.result, outcome.retryable) == (
        NodeState.FAILED,
        "timed out after 0.2 s",
        True,
    )


def test_a_cancel_ends_a_waiting_attempt_cancelled():
    nodes = [{"id": "p", "type": "control.pause", "params": {"message": "Load the plate"}}]
    execution = execution_for(plan_of(nodes, []))
    threading.Timer(0.2, execution.signals.cancel.set).start()
    outcome = attempt(execution, execution.plan.steps["p"], 1)
    assert outcome.state == NodeState.CANCELLED
    assert execution.take(block=False) == [Paused("p", "Load the plate")]
