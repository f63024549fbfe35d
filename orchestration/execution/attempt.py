"""One attempt of a node: references resolved, parameters checked, executed within its timeout,
its output made plain JSON. Never raises for anything the node does."""

import threading
from dataclasses import dataclass
from typing import Any

from django.db import connection
from pydantic import ValidationError

from canvas import references
from canvas.jsonbody import storable
from canvas.registry import NodeError
from orchestration.execution.context import Cancelled, NodeRunContext, NodeTimeout
from orchestration.models import NodeState


@dataclass(frozen=True)
class Outcome:
    state: NodeState  # COMPLETED, FAILED or CANCELLED
    result: Any  # the output (completed) or the error message
    retryable: bool = False


def attempt(execution, step, number: int) -> Outcome:
    context = NodeRunContext(execution, step, number)
    try:
        params = references.resolve(step.params, execution.plan.parameters, execution.outputs)
        model = step.node_type.Params.model_validate(params)
    except references.RefError as exc:
        return Outcome(NodeState.FAILED, f"node {step.id}: {exc}")
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return Outcome(NodeState.FAILED, f"params.{where}: {first['msg']}")
    try:
        if step.uses_robot:
            with execution.robot_lock:  # nodes on the run's robot never overlap
                output = _call(step, context, model)
        else:
            output = _call(step, context, model)
    except Cancelled:
        return Outcome(NodeState.CANCELLED, "cancelled")
    except NodeTimeout:
        return Outcome(NodeState.FAILED, f"timed out after {step.timeout_s:g} s", True)
    except NodeError as exc:
        return Outcome(NodeState.FAILED, str(exc), exc.retryable)
    except Exception as exc:
        return Outcome(NodeState.FAILED, f"{type(exc).__name__}: {exc}", True)
    try:  # what both databases store as it is, whatever the node returned
        output, notes = storable({} if output is None else output, "output")
    except (TypeError, ValueError, RecursionError) as exc:
        return Outcome(NodeState.FAILED, f"the output is not JSON: {exc}")
    if not isinstance(output, dict):
        return Outcome(NodeState.FAILED, "the output is not a JSON object")
    for note in notes:
        context.log(note, "warning")
    return Outcome(NodeState.COMPLETED, output)


def _call(step, context: NodeRunContext, model):
    if step.timeout_s is None:
        return step.node_type.execute(context, model)
    # A helper thread, so that a node that ignores its deadline cannot hold the run.
    box: dict = {}

    def target():
        try:
            box["value"] = step.node_type.execute(context, model)
        except BaseException as exc:  # handed back to the caller
            box["error"] = exc
        finally:
            connection.close()

    helper = threading.Thread(target=target, name=f"node-{step.id}", daemon=True)
    helper.start()
    helper.join(step.timeout_s)
    if helper.is_alive():
        context.stop.set()
        raise NodeTimeout()
    if "error" in box:
        raise box["error"]
    return box.get("value")
