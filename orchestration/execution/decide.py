"""What happens to a node once its parents have ended: pure functions of the run's state."""

from canvas.references import RefError
from orchestration.models import NodeState

RUN = "run"
MAX_RETRY_DELAY_S = 300


def decide(step, incoming, final: dict, disabled: set, parameters: dict, outputs: dict):
    """(RUN, "") or (the state the node ends in without running, why).

    `incoming` are the plan's edges into the node; `final` the end state of each node that
    ended; `disabled` the nodes skipped because they are disabled (their children still run).
    """
    if step.disabled:
        return NodeState.SKIPPED, "disabled"
    if not incoming:
        return RUN, ""
    live = False
    for edge in incoming:
        if final.get(edge.source) != NodeState.COMPLETED and edge.source not in disabled:
            continue
        if edge.condition is None:
            live = True
            continue
        try:
            live |= edge.condition.evaluate(parameters, outputs)
        except RefError as exc:
            return NodeState.FAILED, f"condition on edge {edge.source} → {step.id}: {exc}"
    return (RUN, "") if live else (NodeState.SKIPPED, "no incoming condition held")


def retry_delay(step, attempt: int) -> float:
    """Seconds before attempt `attempt + 1`: the node's delay, doubling, at most 5 minutes."""
    return min(step.retry_delay_s * 2 ** (attempt - 1), MAX_RETRY_DELAY_S)


def may_retry(step, attempt: int, retryable: bool) -> bool:
    return retryable and attempt <= step.retries
