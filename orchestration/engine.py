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
from orchestration.execution.run import SIGNAL_POLL_S, Execution
from orchestration.models import NodeState
from orchestration.plan import Step

log = logging.getLogger(__name__)


class NativeRun:
    def __init__(self, run_id: int):
        self.execution = Execution(run_id)
        self.running = 0

    def run(self) -> None:
        execution = self.execution
        try:
            if execution.prepare():
                self._loop()
        except Exception as exc:
            log.exception("run %s failed in the engine", execution.run_id)
            execution.fail(f"engine error: {exc}")
        finally:
            execution.close()

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
        """Start what is ready, record what happened; each pass is one transaction, so a
        burst of quick nodes costs one commit, not one per change."""
        execution = self.execution
        sorter = graphlib.TopologicalSorter(execution.plan.graph())
        sorter.prepare()
        ready: list[str] = []
        next_poll = 0.0
        threads = max(1, settings.SDL_ENGINE_THREADS)
        with ThreadPoolExecutor(threads, thread_name_prefix=f"run{execution.run_id}") as pool:
            while sorter.is_active():
                if time.monotonic() >= next_poll:
                    execution.poll_signals()
                    next_poll = time.monotonic() + SIGNAL_POLL_S
                if execution.stopping() and self.running == 0:
                    break
                ready.extend(sorter.get_ready())
                may_start = bool(ready) and not execution.stopping() and not execution.paused
                messages = execution.take(block=not may_start)
                with transaction.atomic():
                    for message in messages:
                        if execution.record(message):
                            self._ended(sorter, message.node_id, message.state)
                    # What just finished may have made more ready: start it in the same pass.
                    ready.extend(sorter.get_ready())
                    if ready and not execution.stopping() and not execution.paused:
                        self._start_ready(ready, sorter, pool)
            with transaction.atomic():
                for message in execution.take(block=False):
                    execution.record(message)
        execution.finish()

    def _start_ready(self, ready: list[str], sorter, pool):
        execution = self.execution
        while ready and execution.failed is None:
            node_id = ready.pop(0)
            if node_id in execution.final:  # carried over from an earlier run
                sorter.done(node_id)
                continue
            step = execution.plan.steps[node_id]
            decision, reason = execution.decide(step)
            if decision == RUN:
                try:
                    transitions.move_node(
                        execution.run_id, node_id, NodeState.RUNNING, attempts=1, error=""
                    )
                except transitions.IllegalTransition:
                    sorter.done(node_id)  # someone else has it
                    continue
                pool.submit(self.run_node, step)
                self.running += 1
                continue
            transitions.move_node(execution.run_id, node_id, decision, error=reason)
            execution.ended(node_id, decision)
            sorter.done(node_id)

    def _ended(self, sorter, node_id: str, state: NodeState):
        self.running -= 1
        self.execution.ended(node_id, state)
        if state == NodeState.COMPLETED:
            sorter.done(node_id)


def start(run_id: int) -> threading.Thread:
    """Execute a run in the background of this process; returns at once."""
    native = NativeRun(run_id)
    thread = threading.Thread(target=native.run, name=f"sdl-run-{run_id}", daemon=True)
    thread.start()
    return thread
