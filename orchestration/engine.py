"""The native engine: a scheduler loop over the DAG (graphlib) with a bounded thread pool.

One loop thread per run owns every database write of that run (states, logs, outputs), in the
order things happened; node threads only execute and report through its inbox. Nodes cannot be
killed, so long ones work in short steps and check the run's cancel signal between them.
"""

import graphlib
import json
import logging
import os
import queue
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from pydantic import ValidationError

from orchestration import references, states
from orchestration.models import NodeRun, NodeState, RunState, WorkflowRun
from orchestration.plan import InvalidWorkflow, Plan, Step, compile_plan
from orchestration.registry import NodeError

log = logging.getLogger(__name__)
MAX_RETRY_DELAY_S = 300
SIGNAL_POLL_S = 0.2
HOST = socket.gethostname()


class Cancelled(Exception):
    pass


class NodeTimeout(Exception):
    pass


@dataclass
class Signals:
    """What people ask of a run, shared by its loop and node threads."""

    cancel: threading.Event = field(default_factory=threading.Event)
    resumed: threading.Event = field(default_factory=threading.Event)
    continued_by: str = ""


# Runs executing in this process, so the API can signal them without waiting for a poll.
ACTIVE: dict[int, "RunExecutor"] = {}


class Context:
    """The NodeContext handed to node types (see orchestration.registry)."""

    def __init__(self, executor: "RunExecutor", step: Step, attempt: int):
        self.executor, self.step, self.attempt = executor, step, attempt
        self.node_id = step.id
        self.run_id = executor.run_id
        self.options = executor.options
        self.deadline = time.monotonic() + step.timeout_s if step.timeout_s else None
        self.stop = threading.Event()  # set when the engine gave up on this attempt

    def log(self, message: str, level: str = "info") -> None:
        self.executor.post("log", self.node_id, str(message), level)

    def check_cancelled(self) -> None:
        if self.executor.signals.cancel.is_set() or self.stop.is_set():
            raise Cancelled()
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise NodeTimeout()

    def sleep(self, seconds: float) -> None:
        if self.options.get("skip_delays"):
            self.log(f"dry run: {seconds:g} s wait skipped")
            return
        end = time.monotonic() + seconds
        while True:
            self.check_cancelled()
            remaining = end - time.monotonic()
            if remaining <= 0:
                return
            self.executor.signals.cancel.wait(min(0.05, remaining))

    def wait_for_continue(self, message: str) -> str:
        signals = self.executor.signals
        self.executor.post("pause", self.node_id, message)
        while not signals.resumed.wait(0.05):
            self.check_cancelled()
        return signals.continued_by

    def robot(self):
        return self.executor.robot_session()

    def record_commands(self, commands: list[dict]) -> None:
        self.executor.post("commands", self.node_id, commands)


class RunExecutor:
    def __init__(self, run_id: int):
        self.run_id = run_id
        self.signals = Signals()
        self.inbox: queue.Queue = queue.Queue()
        self.outputs: dict[str, dict] = {}
        self.final: dict[str, NodeState] = {}
        self.disabled: set[str] = set()
        self.robot_lock = threading.Lock()  # nodes on the run's robot never overlap
        self._robot = None
        self.options: dict = {}
        self.plan: Plan | None = None
        self.paused = False

    # --- node threads ----------------------------------------------------------------------

    def post(self, *message):
        self.inbox.put(message)

    def robot_session(self):
        if self._robot is None:
            raise NodeError("this run has no robot session", retryable=False)
        return self._robot

    def run_node(self, step: Step, first_attempt: int):
        try:
            final = self._attempts(step, first_attempt)
        except Exception as exc:  # never let a node take the loop down
            log.exception("node %s crashed the engine's node runner", step.id)
            final = (NodeState.FAILED, f"internal error: {exc}")
        self.post("done", step.id, *final)

    def _attempts(self, step: Step, attempt: int):
        while True:
            if attempt > 1:
                self.post("state", step.id, NodeState.RUNNING, {"attempts": attempt, "error": ""})
            outcome, message, retryable = self._attempt(step, attempt)
            if outcome == NodeState.COMPLETED:
                return NodeState.COMPLETED, message
            if outcome == NodeState.CANCELLED:
                return NodeState.CANCELLED, "cancelled"
            if not (retryable and attempt <= step.retries):
                return NodeState.FAILED, message
            self.post("state", step.id, NodeState.RETRYING, {"error": message})
            delay = min(step.retry_delay_s * 2 ** (attempt - 1), MAX_RETRY_DELAY_S)
            if self.signals.cancel.wait(delay):
                return NodeState.CANCELLED, "cancelled"
            attempt += 1

    def _attempt(self, step: Step, attempt: int):
        """(state, output or error message, retryable)."""
        context = Context(self, step, attempt)
        try:
            params = references.resolve(step.params, self.plan.parameters, self.outputs)
            model = step.node_type.Params.model_validate(params)
        except references.RefError as exc:
            return NodeState.FAILED, f"node {step.id}: {exc}", False
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            return NodeState.FAILED, f"params.{where}: {first['msg']}", False
        try:
            if step.uses_robot:
                with self.robot_lock:
                    output = self._call(step, context, model)
            else:
                output = self._call(step, context, model)
        except Cancelled:
            return NodeState.CANCELLED, "", False
        except NodeTimeout:
            return NodeState.FAILED, f"timed out after {step.timeout_s:g} s", True
        except NodeError as exc:
            return NodeState.FAILED, str(exc), exc.retryable
        except Exception as exc:
            return NodeState.FAILED, f"{type(exc).__name__}: {exc}", True
        try:
            output = json.loads(json.dumps({} if output is None else output))
        except (TypeError, ValueError) as exc:
            return NodeState.FAILED, f"the output is not JSON: {exc}", False
        if not isinstance(output, dict):
            return NodeState.FAILED, "the output is not a JSON object", False
        return NodeState.COMPLETED, output, False

    def _call(self, step: Step, context: Context, model):
        if step.timeout_s is None:
            return step.node_type.execute(context, model)
        # A helper thread, so that a node that ignores its deadline cannot hold the run.
        box: dict = {}

        def target():
            try:
                box["value"] = step.node_type.execute(context, model)
            except BaseException as exc:  # handed back to the node runner
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

    # --- the loop thread: every database write of the run ----------------------------------

    def execute(self):
        ACTIVE[self.run_id] = self
        try:
            self._execute()
        except Exception as exc:
            log.exception("run %s failed in the engine", self.run_id)
            self._finish_quietly(RunState.FAILED, f"engine error: {exc}")
        finally:
            ACTIVE.pop(self.run_id, None)
            self._end_robot()
            connection.close()

    def _execute(self):
        close_old_connections()
        run = WorkflowRun.objects.select_related("version", "robot").get(pk=self.run_id)
        self.options = run.options or {}
        if run.state != RunState.QUEUED:
            return  # cancelled or taken before we got here
        try:
            self.plan = compile_plan(run.version.document, run.parameters)
        except InvalidWorkflow as exc:
            states.move_run(self.run_id, RunState.FAILED, error=f"invalid workflow: {exc}")
            return
        WorkflowRun.objects.filter(pk=self.run_id).update(host=HOST, pid=os.getpid())
        if not self._wait_for_robot(run):
            return
        try:
            states.move_run(self.run_id, RunState.RUNNING)
        except states.IllegalTransition:
            return
        self._carry_over()
        if not self._begin_robot(run):
            return
        self._loop()

    def _wait_for_robot(self, run) -> bool:
        """Hook for the robot lock (robots issue): True when the run may start."""
        from orchestration import robots_glue

        return robots_glue.acquire(self, run)

    def _begin_robot(self, run) -> bool:
        from orchestration import robots_glue

        return robots_glue.begin(self, run)

    def _end_robot(self):
        from orchestration import robots_glue

        robots_glue.end(self)

    def _carry_over(self):
        """Resume-from: completed nodes of an earlier run count as done, outputs included."""
        for node_id, output in (self.options.get("carried") or {}).items():
            if node_id in self.plan.steps:
                states.move_node(self.run_id, node_id, NodeState.COMPLETED, output=output)
                self.outputs[node_id] = output
                self.final[node_id] = NodeState.COMPLETED

    def _loop(self):
        """Start what is ready, record what happened; each pass is one transaction, so a
        burst of quick nodes costs one commit, not one per change."""
        plan = self.plan
        sorter = graphlib.TopologicalSorter(plan.graph())
        sorter.prepare()
        ready: list[str] = []
        self.running = 0
        self.failed: str | None = None
        next_poll = 0.0
        threads = max(1, settings.SDL_ENGINE_THREADS)
        with ThreadPoolExecutor(threads, thread_name_prefix=f"run{self.run_id}") as pool:
            while sorter.is_active():
                if time.monotonic() >= next_poll:
                    self._poll_signals()
                    next_poll = time.monotonic() + SIGNAL_POLL_S
                stopping = self.signals.cancel.is_set() or self.failed is not None
                if stopping and self.running == 0:
                    break
                ready.extend(sorter.get_ready())
                can_start = bool(ready) and not stopping and not self.paused
                messages = self._take_messages(block=not can_start)
                with transaction.atomic():
                    for message in messages:
                        finished = self._handle(message)
                        if finished:
                            self._finished(sorter, *finished)
                    # What just finished may have made more ready: start it in the same pass.
                    ready.extend(sorter.get_ready())
                    stopping = self.signals.cancel.is_set() or self.failed is not None
                    if ready and not stopping and not self.paused:
                        self._start_ready(ready, sorter, pool)
            with transaction.atomic():
                for message in self._take_messages(block=False):
                    self._handle(message)
        self._finish(self.failed)

    def _take_messages(self, block: bool) -> list:
        messages = []
        try:
            if block:
                messages.append(self.inbox.get(timeout=0.05))
            while len(messages) < 1000:
                messages.append(self.inbox.get_nowait())
        except queue.Empty:
            pass
        return messages

    def _start_ready(self, ready: list[str], sorter, pool):
        while ready and self.failed is None:
            node_id = ready.pop(0)
            if node_id in self.final:  # carried over from an earlier run
                sorter.done(node_id)
                continue
            decision, reason = self._decide(self.plan.steps[node_id])
            if decision == "run":
                try:
                    states.move_node(self.run_id, node_id, NodeState.RUNNING, attempts=1, error="")
                except states.IllegalTransition:
                    sorter.done(node_id)  # someone else has it
                    continue
                pool.submit(self.run_node, self.plan.steps[node_id], 1)
                self.running += 1
                continue
            states.move_node(self.run_id, node_id, decision, error=reason)
            self.final[node_id] = decision
            if decision == NodeState.FAILED:
                self.failed = node_id
            sorter.done(node_id)

    def _finished(self, sorter, node_id: str, state: NodeState):
        self.running -= 1
        self.final[node_id] = state
        if state == NodeState.FAILED:
            self.failed = self.failed or node_id
        if state == NodeState.COMPLETED:
            sorter.done(node_id)

    def _decide(self, step: Step) -> tuple[NodeState | str, str]:
        if step.disabled:
            self.disabled.add(step.id)
            return NodeState.SKIPPED, "disabled"
        incoming = self.plan.incoming[step.id]
        if not incoming:
            return "run", ""
        live = False
        for edge in incoming:
            state = self.final.get(edge.source)
            if state != NodeState.COMPLETED and edge.source not in self.disabled:
                continue
            if edge.condition is None:
                live = True
                continue
            try:
                live |= edge.condition.evaluate(self.plan.parameters, self.outputs)
            except references.RefError as exc:
                return NodeState.FAILED, f"condition on edge {edge.source} → {step.id}: {exc}"
        return ("run", "") if live else (NodeState.SKIPPED, "no incoming condition held")

    def _handle(self, message):
        kind, node_id, *rest = message
        if kind == "state":
            state, fields = rest
            states.move_node(self.run_id, node_id, state, **fields)
        elif kind == "log":
            states.log(self.run_id, node_id, *rest)
        elif kind == "commands":
            (commands,) = rest
            NodeRun.objects.filter(run_id=self.run_id, node_id=node_id).update(commands=commands)
            states.record(self.run_id, "commands", node_id, count=len(commands))
        elif kind == "pause":
            (text,) = rest
            self.signals.resumed.clear()
            if not self.paused:
                self.paused = True
                states.move_run(self.run_id, RunState.PAUSED, error="")
            states.log(self.run_id, node_id, f"paused: {text}", "warning")
        elif kind == "done":
            state, result = rest
            if state == NodeState.COMPLETED:
                self.outputs[node_id] = result
                states.move_node(self.run_id, node_id, state, output=result)
            else:
                error = "cancelled" if state == NodeState.CANCELLED else result
                states.move_node(self.run_id, node_id, state, error=error)
            return node_id, state
        return None

    def _poll_signals(self):
        row = (
            WorkflowRun.objects.filter(pk=self.run_id)
            .values("cancel_requested", "state", "continued_by")
            .get()
        )
        if row["cancel_requested"]:
            self.signals.cancel.set()
        if self.paused and row["state"] == RunState.RUNNING:
            self.paused = False
            self.signals.continued_by = row["continued_by"]
            self.signals.resumed.set()

    def _finish(self, failed: str | None):
        self._end_robot()  # the robot is stopped or released before the run says it ended
        for node in NodeRun.objects.filter(run_id=self.run_id, state=NodeState.PENDING):
            reason = "the run was cancelled" if not failed else f"node {failed} failed"
            states.move_node(self.run_id, node.node_id, NodeState.CANCELLED, error=reason)
        if failed:
            error = NodeRun.objects.get(run_id=self.run_id, node_id=failed).error
            states.move_run(self.run_id, RunState.FAILED, error=f"node {failed} failed: {error}")
        elif self.signals.cancel.is_set():
            states.move_run(self.run_id, RunState.CANCELLED, error="cancelled")
        else:
            states.move_run(self.run_id, RunState.COMPLETED)

    def _finish_quietly(self, state: RunState, error: str):
        try:
            states.move_run(self.run_id, state, error=error[:5000])
        except Exception:
            log.exception("could not record the end of run %s", self.run_id)


def start(run_id: int) -> threading.Thread:
    """Execute a run in the background of this process; returns at once."""
    executor = RunExecutor(run_id)
    thread = threading.Thread(target=executor.execute, name=f"sdl-run-{run_id}", daemon=True)
    thread.start()
    return thread


def signal_cancel(run_id: int):
    """Tell a run executing in this process at once (others notice within a poll)."""
    executor = ACTIVE.get(run_id)
    if executor is not None:
        executor.signals.cancel.set()
