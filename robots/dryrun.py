"""A whole-workflow dry run: the document played from start to end on the Opentrons simulator,
so that what a robot would refuse (no tip attached, out of tips, more than a tip holds, a
module not in the state a step needs) is found before Run, at the node it concerns.

Robot steps run on one simulator session, in the order a run takes them; conditions follow
the parameters and the simulated outputs. Steps that do not use the robot are not executed
(no HTTP request, no Python call, no waiting): what depends on their outputs is reported as
not reached, with the reason. Dry runs go to worker processes (the web server stays
responsive), at most `SDL_DRY_RUN_WORKERS` at a time, each within `SDL_DRY_RUN_BUDGET_S`;
results are cached by document and parameters.
"""

import graphlib
import hashlib
import json
import logging
import multiprocessing
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from django.conf import settings
from pydantic import ValidationError

from canvas import references, registry
from canvas.document import Document
from canvas.registry import NodeError
from robots.liquids import Wells

log = logging.getLogger(__name__)
PASSED, PROBLEMS, CHECKING = "passed", "problems", "checking"
NOT_APPLICABLE, CRASHED, TIMED_OUT = "not applicable", "crashed", "timed out"
CACHE_SIZE = 256
SCRIPTS_KEPT = 8  # a script holds every command of a workflow: only the latest few are kept
MAX_WAITING = 32


def field_of(message: str) -> str:
    """The parameter a simulator message is about, when it says."""
    text = message.lower()
    if "volume" in text or "aspirate" in text or "dispense" in text:
        return ".params.volume"
    return ""


def play(raw: dict, given: dict | None = None) -> dict:
    """The dry run itself (in whatever process calls it): a report as plain JSON."""
    from robots.simulator import DeckError, SimulatorSession, error_message

    began = time.perf_counter()
    try:
        document = Document.model_validate(raw)
    except ValidationError:
        return {"status": NOT_APPLICABLE, "why": "the document has errors", "problems": []}
    steps = {n.id: n for n in document.nodes}
    kinds = {n.id: registry.get(n.type) for n in document.nodes}
    if document.robot is None or not any(k and k.uses_robot for k in kinds.values()):
        return {"status": NOT_APPLICABLE, "why": "no robot steps", "problems": []}
    params = {name: spec.default for name, spec in document.parameters.items()}
    params.update(given or {})
    incoming: dict[str, list] = {n: [] for n in steps}
    for edge in document.edges:
        if edge.target in incoming:
            incoming[edge.target].append(edge)
    problems: list[dict] = []
    nodes: dict[str, dict] = {}
    script: list[dict] = []  # what each robot step sent, for a run of the same (see Script)
    try:
        session = SimulatorSession(document, label="dry run")
    except DeckError as exc:
        return {"status": PROBLEMS, "problems": [{"path": "deck", "message": str(exc)}]}
    outputs: dict[str, dict] = {}
    try:
        graph = {n: {e.source for e in incoming[n]} for n in steps}
        for node_id in graphlib.TopologicalSorter(graph).static_order():
            node, kind = steps[node_id], kinds[node_id]
            why = _not_reached(node, incoming[node_id], nodes, params, outputs)
            if why:
                nodes[node_id] = {"state": "not reached", "why": why}
                continue
            if node.disabled:
                nodes[node_id] = {"state": "skipped", "why": "disabled"}
                continue
            if kind is None or not kind.uses_robot:
                nodes[node_id] = {"state": "not simulated", "why": "not a robot step"}
                continue
            try:
                values = kind.Params.model_validate(
                    references.resolve(node.params, params, outputs)
                )
            except (references.RefError, ValidationError) as exc:
                nodes[node_id] = {"state": "not reached", "why": f"its parameters: {exc}"}
                continue
            try:
                outputs[node_id] = session.execute(kind, values)
                script.append(
                    {
                        "node": node_id,
                        "params": values.model_dump(mode="json"),
                        "commands": session.raw_commands,
                        "outputs": outputs[node_id],
                    }
                )
                nodes[node_id] = {"state": "completed", **_effects(session.last_commands)}
                nodes[node_id]["liquids"] = session.wells.snapshot()
                problems += [
                    {"path": f"nodes[{node_id}]", "message": message}
                    for message in session.liquid_problems
                ]
            except NodeError as exc:
                message = str(exc) or error_message(exc)
                nodes[node_id] = {
                    "state": "failed",
                    "error": message,
                    **_effects(session.last_commands),
                }
                problems.append(
                    {"path": f"nodes[{node_id}]{field_of(message)}", "message": message}
                )
    finally:
        session.end()
    return {
        "status": PROBLEMS if problems else PASSED,
        "problems": problems,
        "nodes": nodes,
        "parameters": params,
        "liquids_at_start": Wells(document.deck).snapshot(),
        "seconds": round(time.perf_counter() - began, 3),
        "script": {"setup": session.setup_commands, "steps": script},
    }


def _not_reached(node, incoming, nodes, params, outputs) -> str:
    if not incoming:
        return ""
    live, reasons = False, []
    for edge in incoming:
        state = nodes.get(edge.source, {}).get("state")
        if state not in ("completed", "skipped", "not simulated"):
            reasons.append(f"{edge.source} did not complete")
            continue
        if edge.when is None:
            live = True
            continue
        try:
            live |= references.parse_when(edge.when).evaluate(params, outputs)
        except references.RefError:
            reasons.append(
                f"the condition on {edge.source} → {node.id} needs an output "
                "the dry run does not compute"
            )
    if live:
        return ""
    return "; ".join(reasons) or "no incoming condition held"


def _effects(commands: list[dict]) -> dict:
    """What a node did, for the report: its commands, tips used, wells touched."""
    touched = sorted(
        {
            f"{c['params'].get('labwareId')}:{c['params'].get('wellName')}"
            for c in commands
            if c["params"].get("wellName") and c["commandType"] != "pickUpTip"
        }
    )
    return {
        "commands": commands,
        "tips_used": sum(
            c["commandType"] == "pickUpTip" and c["status"] == "succeeded" for c in commands
        ),
        "wells": touched,
    }


class Script:
    """A passed dry run's commands, node by node, for a robot session of the same document and
    parameters. The simulator is deterministic: while the run takes the same robot steps with
    the same parameters in the same order, simulating them again would produce exactly these
    commands and outputs, so the session sends these instead of simulating each step again
    (its shadow catches up only if the run takes another way). The first difference ends it."""

    def __init__(self, recorded: dict):
        self.setup: list[dict] = recorded["setup"]
        self.steps: list[dict] = recorded["steps"]
        self.position = 0

    def take(self, node_id: str | None, params) -> dict | None:
        """The recorded step, when it is this node with these parameters; None from the first
        difference on."""
        if self.position < len(self.steps):
            step = self.steps[self.position]
            if step["node"] == node_id and step["params"] == params.model_dump(mode="json"):
                self.position += 1
                return step
        self.position = len(self.steps)
        return None


# --- worker processes, cache ------------------------------------------------------------------


def key_of(raw: dict, given: dict | None) -> str:
    body = json.dumps([raw, given or {}], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode()).hexdigest()[:32]


def _worker_init(settings_module: str) -> None:
    import os

    import django

    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    django.setup()


def _import_simulator() -> None:
    from robots.simulator import _simulate

    _simulate()


class DryRuns:
    """The dry runs of this process: a cache of reports and a pool of worker processes."""

    def __init__(self):
        self.lock = threading.Lock()
        self.cache: OrderedDict[str, dict] = OrderedDict()
        self.scripts: OrderedDict[str, dict] = OrderedDict()  # of passed dry runs, by key
        self.running: dict[str, tuple[Future, float]] = {}
        self.pool: ProcessPoolExecutor | None = None

    def _pool(self) -> ProcessPoolExecutor:
        if self.pool is None:
            import os

            self.pool = ProcessPoolExecutor(
                max_workers=settings.SDL_DRY_RUN_WORKERS,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_worker_init,
                initargs=(os.environ.get("DJANGO_SETTINGS_MODULE", "sdl_site.settings"),),
            )
        return self.pool

    def start(self, raw: dict, given: dict | None = None) -> tuple[str, dict]:
        """(key, the report or {"status": "checking"}), starting the dry run if needed."""
        key = key_of(raw, given)
        with self.lock:
            if key in self.cache:
                self.cache.move_to_end(key)
                return key, self.cache[key]
            if key not in self.running:
                if len(self.running) >= MAX_WAITING:
                    return key, {"status": CHECKING, "why": "busy: try again shortly"}
                try:
                    future = self._pool().submit(play, raw, given)
                except BrokenProcessPool:
                    self.pool = None
                    future = self._pool().submit(play, raw, given)
                self.running[key] = (future, time.monotonic())
        return key, self.result(key)

    def result(self, key: str) -> dict:
        with self.lock:
            if key in self.cache:
                return self.cache[key]
            if key not in self.running:
                return {"status": "unknown", "why": "no such dry run (start it again)"}
            future, began = self.running[key]
            budget = settings.SDL_DRY_RUN_BUDGET_S
            if not future.done():
                if time.monotonic() - began <= budget:
                    return {"status": CHECKING}
                future.cancel()
                report = {"status": TIMED_OUT, "why": f"the dry run took over {budget:g} s"}
                self._forget_pool_if_stuck()
            else:
                try:
                    report = future.result()
                except Exception as exc:  # a worker that died, or a bug in the dry run
                    log.exception("dry run %s crashed", key)
                    report = {"status": CRASHED, "why": f"the dry run crashed: {exc}"}
                    if isinstance(exc, BrokenProcessPool):
                        self.pool = None
            del self.running[key]
            script = report.pop("script", None)
            if script is not None and report["status"] == PASSED:
                self.scripts[key] = script
                while len(self.scripts) > SCRIPTS_KEPT:
                    self.scripts.popitem(last=False)
            self.cache[key] = report
            while len(self.cache) > CACHE_SIZE:
                self.cache.popitem(last=False)
            return report

    def script(self, raw: dict, given: dict | None = None) -> "Script | None":
        """What the passed dry run of this document and these parameters sent, if still kept
        here (a run's robot session follows it; see Script)."""
        with self.lock:
            recorded = self.scripts.get(key_of(raw, given))
        return Script(recorded) if recorded is not None else None

    def _forget_pool_if_stuck(self) -> None:
        """A dry run over budget keeps its worker busy: replace the pool, ending its workers."""
        pool, self.pool = self.pool, None
        if pool is not None:
            for process in list(getattr(pool, "_processes", {}).values()):
                process.terminate()
            pool.shutdown(wait=False, cancel_futures=True)

    def warm(self) -> None:
        """Start the worker processes and their Protocol API import (~3 s) in the background."""
        for _ in range(settings.SDL_DRY_RUN_WORKERS):
            self._pool().submit(_import_simulator)

    def wait(self, raw: dict, given: dict | None = None) -> dict:
        """The report, waiting for it (at most the budget and a little)."""
        key, report = self.start(raw, given)
        deadline = time.monotonic() + settings.SDL_DRY_RUN_BUDGET_S + 5
        while report["status"] == CHECKING and time.monotonic() < deadline:
            time.sleep(0.05)
            report = self.result(key)
        return report


DRY_RUNS = DryRuns()
