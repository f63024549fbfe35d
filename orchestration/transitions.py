"""Run and node state transitions, guarded in this one place.

Each change is a conditional UPDATE (exactly one row moves from an allowed state, or the change
is refused), and appends a `RunEvent` with the run's next sequence number in the same
transaction; the event is published to browsers only after that transaction commits.
"""

import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from canvas.jsonbody import storable
from orchestration import events, notify, wakeup
from orchestration.models import (
    NODE_TERMINAL,
    RUN_TERMINAL,
    NodeRun,
    NodeState,
    RobotLock,
    RunEvent,
    RunState,
    WorkflowRun,
    event_message,
)
from robots.models import mark_needs_check

# target state → the states it may be entered from
RUN_FROM = {
    RunState.RUNNING: {RunState.QUEUED, RunState.PAUSED},
    RunState.PAUSED: {RunState.RUNNING},
    RunState.COMPLETED: {RunState.RUNNING},
    RunState.FAILED: {RunState.QUEUED, RunState.RUNNING, RunState.PAUSED},
    RunState.CANCELLED: {RunState.QUEUED, RunState.RUNNING, RunState.PAUSED},
    RunState.INTERRUPTED: {RunState.QUEUED, RunState.RUNNING, RunState.PAUSED},
}
NODE_FROM = {
    NodeState.RUNNING: {NodeState.PENDING, NodeState.RETRYING},
    NodeState.RETRYING: {NodeState.RUNNING},
    NodeState.COMPLETED: {NodeState.RUNNING, NodeState.PENDING},  # pending: carried over
    NodeState.FAILED: {NodeState.RUNNING, NodeState.RETRYING, NodeState.PENDING},
    NodeState.SKIPPED: {NodeState.PENDING},
    NodeState.CANCELLED: {NodeState.PENDING, NodeState.RUNNING, NodeState.RETRYING},
}


INSERT_ROWS = 500  # events per INSERT (SQLite allows 32,766 values in one statement)


class IllegalTransition(Exception):
    pass


# Events of the block running under `batched()` in this thread, numbered when it ends.
_pending = threading.local()


@contextmanager
def batched():
    """Inside a transaction: the events appended in this block are numbered and inserted
    together when it ends — one UPDATE of the run's counter and one INSERT for the lot, in
    the order they were appended (the engine's pass over many quick nodes)."""
    if getattr(_pending, "events", None) is not None:  # already batching
        yield
        return
    _pending.events = []
    try:
        yield
        _write_events(_pending.events)
    finally:
        _pending.events = None


@dataclass
class NewEvent:
    """A RunEvent being written (a model instance costs more than the row's INSERT)."""

    run_id: int
    type: str
    node_id: str
    state: str
    data: dict
    at: datetime
    seq: int = 0

    def as_message(self) -> dict:
        return event_message(self)


def _append_event(run_id: int, type_: str, node_id="", state="", data=None) -> NewEvent:
    """Must run inside a transaction: the UPDATE of the run's counter locks its row until
    commit, so sequence numbers are handed out with no gaps, in commit order."""
    event = NewEvent(run_id, type_, node_id, state, data or {}, timezone.now())
    transaction.on_commit(lambda: events.publish(event))  # numbered by then
    batch = getattr(_pending, "events", None)
    if batch is not None:
        batch.append(event)
    else:
        _write_events([event])
    return event


def _write_events(pending: list[NewEvent]) -> None:
    by_run: dict[int, list[NewEvent]] = {}
    for event in pending:
        by_run.setdefault(event.run_id, []).append(event)
    for run_id, run_events in by_run.items():
        with connection.cursor() as cursor:  # one statement: bump and read (SQLite ≥ 3.35, PG)
            cursor.execute(
                f"UPDATE {WorkflowRun._meta.db_table} SET last_seq = last_seq + %s "  # noqa: S608
                "WHERE id = %s RETURNING last_seq",
                [len(run_events), run_id],
            )
            (last,) = cursor.fetchone()
        for seq, event in enumerate(run_events, last - len(run_events) + 1):
            event.seq = seq
    for start in range(0, len(pending), INSERT_ROWS):
        _execute_raw(*_insert_sql(pending[start : start + INSERT_ROWS]))


# The hot path of every run writes with plain SQL built from the models' own fields (so
# column names and value adaptation stay Django's): the ORM's query building cost more than
# the database work itself.
_FIELDS: dict = {}


def _prep(model, name: str, value):
    field = _FIELDS.get((model, name))
    if field is None:
        field = _FIELDS[(model, name)] = model._meta.get_field(name)
    if value is None or type(value) is int:  # nothing to adapt
        return field.column, value
    if isinstance(value, str):  # a state (an enum) is stored as its plain value
        return field.column, str(value)
    if isinstance(value, datetime):
        return field.column, connection.ops.adapt_datetimefield_value(value)
    return field.column, field.get_db_prep_save(value, connection)


def _insert_sql(rows: list[NewEvent]):
    names = ("run", "seq", "type", "node_id", "state", "data", "at")
    columns = [RunEvent._meta.get_field(n).column for n in names]
    values = [
        _prep(RunEvent, n, getattr(event, "run_id" if n == "run" else n))[1]
        for event in rows
        for n in names
    ]
    one = f"({', '.join(['%s'] * len(names))})"
    sql = (
        f"INSERT INTO {RunEvent._meta.db_table} ({', '.join(columns)}) "  # noqa: S608
        f"VALUES {', '.join([one] * len(rows))}"
    )
    return sql, values


def _execute_raw(sql: str, params: list) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _update_node(run_id: int, node_id: str, to: NodeState, fields: dict) -> int:
    """UPDATE … WHERE state IN (allowed sources): exactly one row moves, or none."""
    sets = [_prep(NodeRun, "state", to), *(_prep(NodeRun, k, v) for k, v in fields.items())]
    sources = sorted(NODE_FROM[to])
    sql = (
        f"UPDATE {NodeRun._meta.db_table} SET {', '.join(f'{c} = %s' for c, _ in sets)} "  # noqa: S608
        f"WHERE run_id = %s AND node_id = %s AND state IN ({', '.join(['%s'] * len(sources))})"
    )
    return _execute_raw(sql, [v for _, v in sets] + [run_id, node_id, *sources])


def run_created(run_id: int) -> NewEvent:
    """The first event of every run: it is queued."""
    with transaction.atomic():
        return _append_event(run_id, "run", state=RunState.QUEUED)


def move_run(run_id: int, to: RunState, **fields) -> NewEvent:
    now = timezone.now()
    if "error" in fields:
        fields["error"] = storable(str(fields["error"])[:20000])[0]
    data = {k: v for k, v in fields.items() if k in ("error", "continued_by", "input_request")}
    if to == RunState.RUNNING:
        fields["started_at"] = Coalesce(F("started_at"), Value(now))  # a resume keeps it
    if to in RUN_TERMINAL:
        fields.setdefault("finished_at", now)
    with transaction.atomic():
        changed = WorkflowRun.objects.filter(pk=run_id, state__in=RUN_FROM[to]).update(
            state=to, **fields
        )
        if not changed:
            current = WorkflowRun.objects.filter(pk=run_id).values_list("state", flat=True)
            raise IllegalTransition(f"run {run_id} cannot go from {current.first()} to {to}")
        if to in RUN_TERMINAL:  # a run that has ended holds no robot, whatever happened
            held = RobotLock.objects.filter(run_id=run_id)
            if to == RunState.INTERRUPTED:  # … but nobody knows where it left the robot
                for robot_id in held.values_list("robot_id", flat=True):
                    mark_needs_check(
                        robot_id, f"run {run_id} ended interrupted while it held the robot"
                    )
            held.delete()
            transaction.on_commit(wakeup.poke)  # e.g. a campaign's next trial
        notify.run_changed(run_id, to)
        return _append_event(run_id, "run", state=to, data=data)


def move_node(run_id: int, node_id: str, to: NodeState, **fields) -> NewEvent:
    now = timezone.now()
    if to == NodeState.RUNNING:
        fields.setdefault("started_at", now)
    if to in NODE_TERMINAL:
        fields.setdefault("finished_at", now)
    if "error" in fields:  # an exception's text: anything, NUL characters included
        fields["error"] = storable(str(fields["error"])[:20000])[0]
    data = {k: fields[k] for k in ("attempts", "error", "output") if k in fields}
    # No savepoint (the engine calls this many times in one transaction): nothing raises
    # inside the block; a refused change leaves it normally and is reported after.
    with transaction.atomic(savepoint=False):
        changed = _update_node(run_id, node_id, to, fields)
        event = _append_event(run_id, "node", node_id, to, data) if changed else None
    if event is None:
        current = NodeRun.objects.filter(run_id=run_id, node_id=node_id).values_list(
            "state", flat=True
        )
        raise IllegalTransition(
            f"node {node_id} of run {run_id} cannot go from {current.first()} to {to}"
        )
    return event


def log(run_id: int, node_id: str, message: str, level: str = "info") -> NewEvent:
    message = message[:10000].replace("\x00", "\ufffd")  # PostgreSQL stores no NUL
    line = {"at": timezone.now().isoformat(), "level": level, "message": message}
    with transaction.atomic():
        if node_id:
            node = NodeRun.objects.select_for_update().get(run_id=run_id, node_id=node_id)
            node.log = [*node.log, line]
            node.save(update_fields=["log"])
        return _append_event(
            run_id, "log", node_id=node_id, data={"level": level, "message": line["message"]}
        )


def record(run_id: int, type_: str, node_id: str = "", **data) -> NewEvent:
    """An event that is not a state change (e.g. robot commands of a node)."""
    with transaction.atomic():
        return _append_event(run_id, type_, node_id=node_id, data=data)


def end_abandoned(run_id: int, to: RunState, why: str) -> bool:
    """End a run that whatever executed it can no longer end (its process died, or Prefect
    stopped its flow): open nodes cancelled with `why`, then the run. False when it had
    already ended."""
    open_nodes = [NodeState.PENDING, NodeState.RUNNING, NodeState.RETRYING]
    try:
        with transaction.atomic():
            for node_id in NodeRun.objects.filter(run_id=run_id, state__in=open_nodes).values_list(
                "node_id", flat=True
            ):
                move_node(run_id, node_id, NodeState.CANCELLED, error=why)
            move_run(run_id, to, error=why)
    except IllegalTransition:
        return False
    return True
