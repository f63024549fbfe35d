"""The native engine: a graphlib loop over the run's plan with a bounded thread pool.

The loop thread owns every database write of the run (through `Execution.record`, one
transaction per pass); node threads only execute and report. Nodes cannot be killed, so long
ones work in short steps and check the run's cancel signal between them.
"""

import graphlib
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import transaction

from orchestration import transitions
from orchestration.execution.decide import RUN, may_retry, retry_delay
from orchestration.execution.messages import NodeEnded, NodeMoved
from orchestration.execution.run import SIGNAL_POLL_S, Execution, active
from orchestration.models import NodeState
from orchestration.plan import Plan, Step

log = logging.getLogger(__name__)
# How long one pass may go on starting inline nodes before it commits (so the browsers see
# a long chain of them progress).
PASS_S = 0.05


class NativeRun:
    def __init__(self, run_id: int, plan: Plan | None = None):
        self.execution = Execution(run_id, plan)
        self.running = 0

    def run(self) -> None:
        self.execution.run(self._loop)

    # --- node threads ------------------------------------------------------------------------

    def run_node(self, step: Step) -> None:
        try:
            state, result = self._attempts(step)
        except Exception as exc:  # never let a node take the loop down
            log.exception("node %s crashed the engine's node runner", step.id)
            state, result = NodeState.FAILED, f"internal error: {exc}"
        self.execution.post(NodeEnded(step.id, state, result))

    def _attempts(self, step: Step):
        execution, number = self.execution, 1
        while True:
            if number > 1:
                execution.post(
                    NodeMoved(step.id, NodeState.RUNNING, {"attempts": number, "error": ""})
                )
            outcome = execution.attempt(step, number)
            if outcome.state != NodeState.FAILED:
                return outcome.state, outcome.result
            if not may_retry(step, number, outcome.retryable):
                return NodeState.FAILED, outcome.result
            execution.post(NodeMoved(step.id, NodeState.RETRYING, {"error": outcome.result}))
            if execution.signals.cancel.wait(retry_delay(step, number)):
                return NodeState.CANCELLED, "cancelled"
            number += 1

    # --- the loop thread ---------------------------------------------------------------------

    def _loop(self):
        """Start what is ready, record what happened; each pass is one transaction (its
        events numbered and inserted together), so a burst of quick nodes costs one commit,
        not one per change."""
        execution = self.execution
        sorter = graphlib.TopologicalSorter(execution.plan.graph())
        sorter.prepare()
        self.ready: list[str] = []
        next_poll = 0.0
        threads = max(1, settings.SDL_ENGINE_THREADS)
        with ThreadPoolExecutor(threads, thread_name_prefix=f"run{execution.run_id}") as pool:
            while sorter.is_active():
                if time.monotonic() >= next_poll:
                    execution.poll_signals()
                    next_poll = time.monotonic() + SIGNAL_POLL_S
                if execution.stopping() and self.running == 0:
                    break
                self.ready.extend(sorter.get_ready())
                if not self._may_start() and execution.inbox.empty():
                    execution.release_connection()  # nothing to do until a node reports
                messages = execution.take(block=not self._may_start())
                with transaction.atomic(), transitions.batched():
                    self._record(messages, sorter)
                    # What just finished may have made more ready: start it in the same pass.
                    self._start_ready(sorter, pool)
            last = execution.take(block=False)
            if last:
                with transaction.atomic(), transitions.batched():
                    for message in last:
                        execution.record(message)
        execution.finish()

    def _may_start(self) -> bool:
        execution = self.execution
        return bool(self.ready) and not execution.stopping() and not execution.paused

    def _record(self, messages, sorter):
        for message in messages:
            if self.execution.record(message):
                self._ended(sorter, message.node_id, message.state)

    def _start_ready(self, sorter, pool):
        """Start every ready node: inline ones here and now (so a chain of them runs in this
        pass, for up to PASS_S), the others on the pool."""
        execution, until = self.execution, time.monotonic() + PASS_S
        self.ready.extend(sorter.get_ready())
        while self._may_start() and time.monotonic() < until:
            node_id = self.ready.pop(0)
            if node_id in execution.final:  # carried over from an earlier run
                sorter.done(node_id)
            else:
                self._start(execution.plan.steps[node_id], sorter, pool)
            self.ready.extend(sorter.get_ready())

    def _start(self, step: Step, sorter, pool):
        execution = self.execution
        decision, reason = execution.decide(step)
        if decision != RUN:  # skipped or cancelled: nothing runs, the row is checked at the end
            transitions.move_node(
                execution.run_id, step.id, decision, check_at_end=True, error=reason
            )
            execution.ended(step.id, decision)
            sorter.done(step.id)
            return
        inline = step.node_type.inline and step.retries == 0 and step.timeout_s is None
        try:  # an inline node's row is checked when the pass is written (no round trip now)
            transitions.move_node(
                execution.run_id,
                step.id,
                NodeState.RUNNING,
                check_at_end=inline,
                attempts=1,
                error="",
            )
        except transitions.IllegalTransition:
            sorter.done(step.id)  # someone else has it
            return
        self.running += 1
        if inline:
            outcome = execution.attempt(step, 1)
            self._record(execution.take(block=False), sorter)  # its log lines come first
            self._record([NodeEnded(step.id, outcome.state, outcome.result)], sorter)
        else:
            pool.submit(self.run_node, step)

    def _ended(self, sorter, node_id: str, state: NodeState):
        self.running -= 1
        self.execution.ended(node_id, state)
        if state == NodeState.COMPLETED:
            sorter.done(node_id)


_runs: ThreadPoolExecutor | None = None
_runs_lock = threading.Lock()
# Runs handed to this process's pool that have not begun yet (they wait `queued`, in order).
WAITING: set[int] = set()


def _pool() -> ThreadPoolExecutor:
    global _runs
    with _runs_lock:
        if _runs is None:
            _runs = ThreadPoolExecutor(
                max(1, settings.SDL_MAX_ACTIVE_RUNS), thread_name_prefix="sdl-run"
            )
        return _runs


def start(run_id: int, plan: Plan | None = None) -> None:
    """Execute a run in the background of this process; returns at once. At most
    SDL_MAX_ACTIVE_RUNS execute at once (and so hold database connections); the others wait
    `queued` and begin in the order they were started. `plan` is the run's compiled plan when
    the caller has it (else it is compiled from the run's version)."""
    WAITING.add(run_id)

    def execute():
        WAITING.discard(run_id)
        NativeRun(run_id, plan).run()

    _pool().submit(execute)


def held_here(run_id: int) -> bool:
    """Whether this process has the run: waiting for a place, or executing."""
    return run_id in WAITING or active(run_id) is not None
