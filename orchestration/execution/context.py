"""The NodeContext a node type's `execute` receives (see canvas.registry.NodeContext)."""

import threading
import time

from orchestration.execution.messages import CommandsSent, Logged, Paused


class Cancelled(Exception):
    """The run was cancelled (or the engine gave up on this attempt)."""


class NodeTimeout(Exception):
    pass


class NodeRunContext:
    def __init__(self, execution, step, attempt: int):
        self.execution, self.step, self.attempt = execution, step, attempt
        self.node_id = step.id
        self.run_id = execution.run_id
        self.options = execution.options
        self.deadline = time.monotonic() + step.timeout_s if step.timeout_s else None
        self.stop = threading.Event()  # set when the engine gave up on this attempt

    def log(self, message: str, level: str = "info") -> None:
        self.execution.post(Logged(self.node_id, str(message), level))

    def check_cancelled(self) -> None:
        if self.execution.signals.cancel.is_set() or self.stop.is_set():
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
            self.execution.signals.cancel.wait(min(0.05, remaining))

    def wait_for_continue(self, message: str) -> str:
        signals = self.execution.signals
        self.execution.post(Paused(self.node_id, message))
        while not signals.resumed.wait(0.05):
            self.check_cancelled()
        return signals.continued_by

    def wait_for_input(self, message: str, form: list[dict]) -> tuple[str, dict]:
        """Pause with a form on the run page; (who answered, their checked answers)."""
        signals = self.execution.signals
        self.execution.post(Paused(self.node_id, message, form))
        while not signals.resumed.wait(0.05):
            self.check_cancelled()
        return signals.continued_by, dict(signals.answers)

    def robot(self):
        return self.execution.robot_session()

    def record_commands(self, commands: list[dict]) -> None:
        self.execution.post(CommandsSent(self.node_id, commands))
