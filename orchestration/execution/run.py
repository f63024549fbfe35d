"""One run executing in this process: prepared, signalled by people, recorded and finished.

Whatever runs the nodes (the native engine's thread pool, or Prefect tasks) reports through
`post`; one thread applies the reports with `record`, so every state change, log line and
output reaches the database (and the browsers) in the order it happened.
"""

import graphlib
import logging
import os
import queue
import threading
import time
from dataclasses import dataclass, field

from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from canvas import references
from canvas.registry import NodeError
from orchestration import transitions
from orchestration.execution import robot
from orchestration.execution.attempt import Outcome, attempt
from orchestration.execution.decide import decide
from orchestration.execution.messages import (
    CommandsSent,
    Logged,
    Message,
    NodeEnded,
    NodeMoved,
    Paused,
)
from orchestration.hosts import HOST
from orchestration.models import NodeRun, NodeState, RunState, WorkflowRun
from orchestration.plan import InvalidWorkflow, Plan, Step, compile_plan

log = logging.getLogger(__name__)
SIGNAL_POLL_S = 0.2

# Runs executing in this process, so the API can signal them without waiting for a poll.
ACTIVE: dict[int, "Execution"] = {}


def signal_cancel(run_id: int) -> None:
    """Tell a run executing in this process at once (others notice within a poll)."""
    execution = ACTIVE.get(run_id)
    if execution is not None:
        execution.signals.cancel.set()


def active(run_id: int) -> "Execution | None":
    return ACTIVE.get(run_id)


@dataclass
class Signals:
    """What people ask of a run, shared by the recording thread and node threads."""

    cancel: threading.Event = field(default_factory=threading.Event)
    resumed: threading.Event = field(default_factory=threading.Event)
    continued_by: str = ""
    answers: dict = field(default_factory=dict)


class Execution:
    def __init__(self, run_id: int, plan: Plan | None = None):
        self.run_id = run_id
        self.signals = Signals()
        self.inbox: queue.Queue = queue.Queue()
        self.plan = plan  # compiled by whoever created the run, or by `prepare`
        self.options: dict = {}
        self.outputs: dict[str, dict] = {}
        self.final: dict[str, NodeState] = {}
        self.disabled: set[str] = set()
        self.failed: str | None = None  # the first node that failed
        self.paused = False
        self.robot_lock = threading.Lock()
        self._robot = None
        self.may_hold_robot = True  # until the run is read: one with no robot holds none
        self._cancel_read_at = 0.0

    def run(self, nodes) -> None:
        """The whole life of the run here: prepare, then `nodes()` (the engine's own way of
        running them); an error of the engine fails the run; always closed after."""
        try:
            if self.prepare():
                nodes()
        except Exception as exc:
            log.exception("run %s failed in the engine", self.run_id)
            self.fail(f"engine error: {exc}")
        finally:
            self.close()

    # --- before the first node ---------------------------------------------------------------

    def prepare(self) -> bool:
        """Load and compile the run, wait for its robot, move it to running and open the robot
        session. False when it must not go on (already ended here, or refused)."""
        ACTIVE[self.run_id] = self
        close_old_connections()
        # Its version and robot are read when needed (most runs have their plan and no robot).
        run = WorkflowRun.objects.get(pk=self.run_id)
        self.options = run.options or {}
        self.may_hold_robot = run.robot_id is not None
        if run.state != RunState.QUEUED:
            return False  # cancelled or taken before we got here
        try:
            self.plan = self.plan or compile_plan(run.version.document, run.parameters)
        except InvalidWorkflow as exc:
            transitions.move_run(self.run_id, RunState.FAILED, error=f"invalid workflow: {exc}")
            return False
        if (run.host, run.pid) != (HOST, os.getpid()):  # not the process that created it
            WorkflowRun.objects.filter(pk=self.run_id).update(host=HOST, pid=os.getpid())
        if not robot.acquire(run):
            return False
        try:
            transitions.move_run(self.run_id, RunState.RUNNING)
        except transitions.IllegalTransition:
            return False
        self._carry_over()
        return self._open_robot(run)

    def _carry_over(self):
        """Resume-from: completed nodes of an earlier run count as done, outputs included."""
        for node_id, output in (self.options.get("carried") or {}).items():
            if node_id in self.plan.steps:
                transitions.move_node(self.run_id, node_id, NodeState.COMPLETED, output=output)
                self.outputs[node_id] = output
                self.final[node_id] = NodeState.COMPLETED

    def _open_robot(self, run) -> bool:
        if not any(step.uses_robot for step in self.plan.steps.values()):
            return True
        try:
            self._robot = robot.open(run, self.plan.document, self.cancel_requested)
        except robot.ControllerError as exc:
            transitions.move_run(self.run_id, RunState.FAILED, error=str(exc))
            return False
        except robot.SessionCancelled as exc:
            transitions.move_run(self.run_id, RunState.CANCELLED, error=str(exc))
            return False
        if self._robot.simulated and not self.options.get("real_time_delays"):
            self.options["skip_delays"] = True  # a dry run does not wait out delays
        transitions.log(self.run_id, "", f"robot session open: {self._robot.label}")
        return self._reestablish()

    def _reestablish(self) -> bool:
        """Resume-from: the robot steps the earlier run completed are replayed on the session
        (silently: on a simulator, or on a real robot's shadow only), so tips and liquids are
        where the resumed node expects them; a real robot's deck was confirmed by a person."""
        resumed = self.options.get("resumed_from") or {}
        done = self.options.get("carried") or {}
        steps = [
            self.plan.steps[node_id]
            for node_id in graphlib.TopologicalSorter(self.plan.graph()).static_order()
            if node_id in done and self.plan.steps[node_id].uses_robot
        ]
        if not steps:
            return True
        try:
            replay = [
                (
                    step.node_type,
                    step.node_type.Params.model_validate(
                        references.resolve(step.params, self.plan.parameters, self.outputs)
                    ),
                )
                for step in steps
            ]
            said = self._robot.reestablish(replay, fresh_tip=bool(resumed.get("fresh_tip")))
        except Exception as exc:
            error = f"could not re-establish the robot's state before {resumed.get('node')}: {exc}"
            transitions.move_run(self.run_id, RunState.FAILED, error=error)
            return False
        if resumed.get("deck_confirmed_by"):
            transitions.log(
                self.run_id, "", f"deck confirmed by {resumed['deck_confirmed_by']}", "warning"
            )
        ids = ", ".join(step.id for step in steps)
        transitions.log(self.run_id, "", f"state before {resumed.get('node')}: replayed {ids}")
        for line in said:
            transitions.log(self.run_id, "", line)
        return True

    def cancel_requested(self) -> bool:
        """Whether someone cancelled the run: the signal of this process, or the database's
        flag (a cancel through another process), read at most every SIGNAL_POLL_S."""
        if self.signals.cancel.is_set():
            return True
        now = time.monotonic()
        if now - self._cancel_read_at >= SIGNAL_POLL_S:
            self._cancel_read_at = now
            if WorkflowRun.objects.filter(pk=self.run_id, cancel_requested=True).exists():
                self.signals.cancel.set()
        return self.signals.cancel.is_set()

    # --- what node threads use ---------------------------------------------------------------

    def post(self, message: Message) -> None:
        self.inbox.put(message)

    def robot_session(self):
        if self._robot is None:
            raise NodeError("this run has no robot session", retryable=False)
        return self._robot

    def decide(self, step: Step):
        """(RUN, "") or the state the node ends in without running; see execution.decide."""
        if step.disabled:
            self.disabled.add(step.id)
        plan = self.plan
        return decide(
            step, plan.incoming[step.id], self.final, self.disabled, plan.parameters, self.outputs
        )

    def attempt(self, step: Step, number: int) -> Outcome:
        return attempt(self, step, number)

    def ended(self, node_id: str, state: NodeState) -> None:
        """Remember how a node ended (the first failure stops the run)."""
        self.final[node_id] = state
        if state == NodeState.FAILED:
            self.failed = self.failed or node_id

    def stopping(self) -> bool:
        return self.signals.cancel.is_set() or self.failed is not None

    def stop_reason(self) -> str:
        return f"node {self.failed} failed" if self.failed else "the run was cancelled"

    # --- the recording thread ----------------------------------------------------------------

    def poll_signals(self) -> None:
        row = (
            WorkflowRun.objects.filter(pk=self.run_id)
            .values("cancel_requested", "state", "continued_by", "answers")
            .get()
        )
        if row["cancel_requested"]:
            self.signals.cancel.set()
        if self.paused and row["state"] == RunState.RUNNING:
            self.paused = False
            self.signals.continued_by = row["continued_by"]
            self.signals.answers = row["answers"] or {}
            self.signals.resumed.set()

    def release_connection(self) -> None:
        """Before waiting: a pooled database connection goes back to the pool (a paused run
        holds none), so the pool, not the number of runs, bounds the connections."""
        if getattr(connection, "pool", None) is not None:
            connection.close()

    def heartbeat(self) -> None:
        """This process is alive (read by prefect_engine.reconcile on other machines)."""
        WorkflowRun.objects.filter(pk=self.run_id).update(heartbeat_at=timezone.now())

    def take(self, block: bool, most: int = 1000) -> list[Message]:
        messages = []
        try:
            if block:
                messages.append(self.inbox.get(timeout=0.05))
            while len(messages) < most:
                messages.append(self.inbox.get_nowait())
        except queue.Empty:
            pass
        return messages

    def record(self, message: Message) -> NodeEnded | None:
        """Write one report (inside the caller's transaction); returns it when a node ended."""
        run_id = self.run_id
        match message:
            case NodeMoved(node_id, state, fields):
                transitions.move_node(run_id, node_id, state, **fields)
            case Logged(node_id, text, level):
                transitions.log(run_id, node_id, text, level)
            case CommandsSent(node_id, commands):
                NodeRun.objects.filter(run_id=run_id, node_id=node_id).update(commands=commands)
                transitions.record(run_id, "commands", node_id, count=len(commands))
            case Paused(node_id, text, form):
                self.signals.resumed.clear()
                request = {"node": node_id, "message": text, "fields": form} if form else None
                if not self.paused:
                    self.paused = True
                    transitions.move_run(run_id, RunState.PAUSED, error="", input_request=request)
                transitions.log(run_id, node_id, f"paused: {text}", "warning")
            case NodeEnded(node_id, state, result):
                if state == NodeState.COMPLETED:
                    self.outputs[node_id] = result
                    transitions.move_node(run_id, node_id, state, output=result)
                else:
                    error = "cancelled" if state == NodeState.CANCELLED else result
                    transitions.move_node(run_id, node_id, state, error=error)
                return message
        return None

    def finish(self) -> None:
        """The robot session ends first (stopped after a cancel); then, in one transaction,
        nodes that never started are cancelled and the run ends — failed (its first failed
        node), cancelled or completed — and its robot lock goes with that same commit, so the
        next run on the robot starts only after this one has ended."""
        self.close_robot()
        failed = self.failed
        reason = f"node {failed} failed" if failed else "the run was cancelled"
        with transaction.atomic(), transitions.batched():
            pending = NodeRun.objects.filter(run_id=self.run_id, state=NodeState.PENDING)
            for node_id in pending.values_list("node_id", flat=True):
                transitions.move_node(self.run_id, node_id, NodeState.CANCELLED, error=reason)
            if failed:
                error = NodeRun.objects.get(run_id=self.run_id, node_id=failed).error
                transitions.move_run(
                    self.run_id, RunState.FAILED, error=f"node {failed} failed: {error}"
                )
            elif self.signals.cancel.is_set():
                transitions.move_run(self.run_id, RunState.CANCELLED, error="cancelled")
            else:
                transitions.move_run(self.run_id, RunState.COMPLETED)

    def fail(self, error: str) -> None:
        """The engine itself broke: end the run failed, whatever state it reached — trying
        again for a while when the database does not answer (the supervisor ends what is
        still left, see runs.end_lost_runs)."""
        for delay in (0, 1, 2, 4, 8):
            time.sleep(delay)
            try:
                close_old_connections()
                transitions.end_abandoned(self.run_id, RunState.FAILED, error[:5000])
                return
            except Exception:
                log.exception("could not record the end of run %s", self.run_id)

    def close_robot(self) -> None:
        """End the robot session (its lock goes when the run ends: transitions.move_run)."""
        session, self._robot = self._robot, None
        robot.close(session, cancelled=self.signals.cancel.is_set(), run_id=self.run_id)

    def close(self) -> None:
        """After the run: no robot session, no lock, no registration; the database connection
        back to the pool (PostgreSQL), or kept for the thread's next run (SQLite's own file:
        opening one and reading the schema again cost more than a small run's nodes)."""
        ACTIVE.pop(self.run_id, None)
        try:
            self.close_robot()
            if self.may_hold_robot:  # ended by now; this is for a run that never began
                robot.release(self.run_id)
        finally:
            close_old_connections()
