"""Run and node state transitions, guarded in this one place.

Each change is a conditional UPDATE (exactly one row moves from an allowed state, or the change
is refused), and appends a `RunEvent` with the run's next sequence number in the same
transaction; the event is published to browsers only after that transaction commits.
"""

import json
import threading
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime

from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
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

# The same, as the plain values a statement's guard names (our own enum values).
_SOURCES = {to: frozenset(str(s) for s in sources) for to, sources in NODE_FROM.items()}

INSERT_ROWS = 500  # events per INSERT (SQLite allows 32,766 values in one statement)


class IllegalTransition(Exception):
    pass


class _Block:
    """What a `batched()` block in this thread has written, and has still to write."""

    def __init__(self):
        self.events: list[NewEvent] = []
        self.held: dict[tuple[int, str], NodeState] = {}  # nodes it moved: their rows are locked
        self.later: dict[tuple[int, str], dict] = {}  # their last columns, written at the end
        # nodes moved with the check left to the end: the states their rows must still be in
        self.unchecked: dict[tuple[int, str], frozenset] = {}
        self.db = connections[DEFAULT_DB_ALIAS]  # looked up once, not per row
        self._cursor = None

    @property
    def cursor(self):
        """One cursor for the block's statements, opened by the first (an idle pass has none)."""
        if self._cursor is None:
            self._cursor = self.db.cursor()
        return self._cursor

    def close(self):
        if self._cursor is not None:
            self._cursor.close()


_block = threading.local()


def _current() -> "_Block | None":
    return getattr(_block, "now", None)


@contextmanager
def batched():
    """Inside a transaction: the events appended in this block are numbered and inserted
    together when it ends — one UPDATE of the run's counter and one INSERT for the lot, in
    the order they were appended (the engine's pass over many quick nodes). A node moved
    twice in the block (running, then completed) is checked and written once when it is
    first moved; its later moves need no check (its row is locked by this transaction) and
    are written together at the end, one statement for them all. A move made with
    `check_at_end` is not asked of the database at once either: its row is checked by that
    same statement, and a row that someone else moved meanwhile refuses the whole block
    (IllegalTransition) — for a step that changes nothing outside the database before the
    block ends, so that a node costs no round trip of its own."""
    if _current() is not None:  # already batching
        yield
        return
    block = _block.now = _Block()
    try:
        yield
        _write_later(block)
        _write_events(block.events)
        if block.events:  # published in their order once committed (numbered by then)
            transaction.on_commit(lambda: [events.publish(e) for e in block.events])
    finally:
        _block.now = None
        block.close()


def _write_later(block: _Block) -> None:
    """The block's waiting node columns: one statement per set of columns (and check) for
    all its rows — on PostgreSQL one UPDATE joined to an array per column (its statements
    are planned one by one, so a statement per row cost more than the rows), elsewhere one
    prepared UPDATE run per row (SQLite works in this process)."""
    by_statement: dict[tuple, list] = {}
    for key, columns in block.later.items():
        statement = (tuple(columns), block.unchecked.get(key))
        by_statement.setdefault(statement, []).append([*columns.values(), *key])
    for (columns, sources), rows in by_statement.items():
        if block.db.vendor == "postgresql":
            block.cursor.execute(
                _nodes_update_sql(columns, sources), [*map(list, zip(*rows, strict=True))]
            )
        else:
            block.cursor.executemany(_node_update_sql(columns, sources), rows)
        if sources and block.cursor.rowcount != len(rows):
            raise IllegalTransition(
                f"{len(rows) - block.cursor.rowcount} of the nodes this pass moved were moved "
                "by someone else meanwhile; nothing of the pass was kept"
            )


_UPDATE_SQL: dict = {}


def _only_from(sources: frozenset | None, table: str = "") -> str:
    """The guard of an UPDATE that moves a node only from `sources` (our own enum values)."""
    if not sources:
        return ""
    return f" AND {table}state IN (" + ", ".join(f"'{s}'" for s in sorted(sources)) + ")"


def _node_update_sql(columns: tuple[str, ...], sources: frozenset | None) -> str:
    """UPDATE of these columns of one node row, only while it is in `sources` when given."""
    sql = _UPDATE_SQL.get((columns, sources))
    if sql is None:
        sql = _UPDATE_SQL[(columns, sources)] = (
            f"UPDATE {NodeRun._meta.db_table} SET {', '.join(f'{c} = %s' for c in columns)} "  # noqa: S608
            "WHERE run_id = %s AND node_id = %s" + _only_from(sources)
        )
    return sql


def _nodes_update_sql(columns: tuple[str, ...], sources: frozenset | None) -> str:
    """PostgreSQL: the same UPDATE for many rows, from one array per column (then the run
    ids and the node ids)."""
    sql = _UPDATE_SQL.get(("many", columns, sources))
    if sql is None:
        fields = {f.column: f for f in NodeRun._meta.concrete_fields}
        types = [fields[c].cast_db_type(connection) for c in (*columns, "run_id", "node_id")]
        values = [f"v{i}" for i in range(len(columns))]
        sql = _UPDATE_SQL[("many", columns, sources)] = (
            f"UPDATE {NodeRun._meta.db_table} AS n "  # noqa: S608
            f"SET {', '.join(f'{c} = v.{v}' for c, v in zip(columns, values, strict=True))} "
            f"FROM unnest({', '.join(f'%s::{t}[]' for t in types)}) "
            f"AS v({', '.join(values)}, run, node) "
            "WHERE n.run_id = v.run AND n.node_id = v.node" + _only_from(sources, "n.")
        )
    return sql


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
    block = _current()
    if block is not None:  # written and published with the block's others
        block.events.append(event)
    else:
        _write_events([event])
        transaction.on_commit(lambda: events.publish(event))  # numbered by then
    return event


def _write_events(pending: list[NewEvent]) -> None:
    by_run: dict[int, list[NewEvent]] = {}
    for event in pending:
        by_run.setdefault(event.run_id, []).append(event)
    for run_id, run_events in by_run.items():
        # one statement: bump and read (SQLite ≥ 3.35, PG)
        (last,) = _execute_raw(
            f"UPDATE {WorkflowRun._meta.db_table} SET last_seq = last_seq + %s "  # noqa: S608
            "WHERE id = %s RETURNING last_seq",
            [len(run_events), run_id],
            fetch=True,
        )
        for seq, event in enumerate(run_events, last - len(run_events) + 1):
            event.seq = seq
    for start in range(0, len(pending), INSERT_ROWS):
        _execute_raw(*_insert_sql(pending[start : start + INSERT_ROWS]))


# The hot path of every run writes with plain SQL built from the models' own fields (so
# column names and value adaptation stay Django's): the ORM's query building cost more than
# the database work itself.
_FIELDS: dict = {}


def _prep(model, name: str, value, db=None):
    field = _FIELDS.get((model, name))
    if field is None:
        field = _FIELDS[(model, name)] = model._meta.get_field(name)
    if value is None or type(value) is int:  # nothing to adapt
        return field.column, value
    if isinstance(value, str):  # a state (an enum) is stored as its plain value
        return field.column, str(value)
    db = db or connection
    if isinstance(value, datetime):
        return field.column, db.ops.adapt_datetimefield_value(value)
    return field.column, field.get_db_prep_save(value, db)


def _insert_sql(rows: list[NewEvent]):
    names = ("run", "seq", "type", "node_id", "state", "data", "at")
    columns = [RunEvent._meta.get_field(n).column for n in names]
    block = _current()
    db = block.db if block else connection
    data = RunEvent._meta.get_field("data")
    if db.vendor == "postgresql":  # one array per column: 7 values to bind, whatever the rows
        arrays = [
            [e.run_id for e in rows],
            [e.seq for e in rows],
            [e.type for e in rows],
            [e.node_id for e in rows],
            [str(e.state) for e in rows],
            [json.dumps(e.data, cls=data.encoder) for e in rows],
            [e.at for e in rows],
        ]
        types = ("bigint", "integer", "text", "text", "text", "text", "timestamptz")
        sql = (
            f"INSERT INTO {RunEvent._meta.db_table} ({', '.join(columns)}) "  # noqa: S608
            "SELECT r, s, t, n, st, d::jsonb, a FROM unnest("
            + ", ".join(f"%s::{t}[]" for t in types)
            + ") AS e(r, s, t, n, st, d, a)"
        )
        return sql, arrays
    at, values = db.ops.adapt_datetimefield_value, []
    for e in rows:  # each column adapted as _prep would, without asking for its field
        values += (e.run_id, e.seq, e.type, e.node_id, str(e.state))
        values += (data.get_db_prep_save(e.data, db), at(e.at))
    one = f"({', '.join(['%s'] * len(names))})"
    sql = (
        f"INSERT INTO {RunEvent._meta.db_table} ({', '.join(columns)}) "  # noqa: S608
        f"VALUES {', '.join([one] * len(rows))}"
    )
    return sql, values


def _execute_raw(sql: str, params: list, fetch: bool = False):
    """The row count (or the first row, `fetch`), on the block's cursor when batching."""
    block = _current()
    if block is not None:
        block.cursor.execute(sql, params)
        return block.cursor.fetchone() if fetch else block.cursor.rowcount
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone() if fetch else cursor.rowcount


def _update_node(run_id: int, node_id: str, to: NodeState, fields: dict, check_at_end=False):
    """UPDATE … WHERE state IN (allowed sources): exactly one row moves, or none. A node this
    batched block moved already is not asked again, nor one moved with `check_at_end`: their
    columns wait for the block's end (see `batched`); 1 or 0, the rows that moved."""
    block = _current()
    db = block.db if block else None
    sets = [_prep(NodeRun, "state", to, db), *(_prep(NodeRun, k, v, db) for k, v in fields.items())]
    key = (run_id, node_id)
    if block is not None and key in block.held:  # its state is known: the row is ours
        if block.held[key] not in NODE_FROM[to]:
            return 0
        block.later.setdefault(key, {}).update(sets)
        block.held[key] = to
        return 1
    sources = _SOURCES[to]
    if block is not None and check_at_end:
        block.unchecked[key] = sources
        block.later[key] = dict(sets)
        block.held[key] = to
        return 1
    sql = _node_update_sql(tuple(c for c, _ in sets), sources)
    changed = _execute_raw(sql, [v for _, v in sets] + [run_id, node_id])
    if changed and block is not None:
        block.held[key] = to
    return changed


# A list of node ids as a table of one column, from one parameter: PostgreSQL's array,
# SQLite's JSON (the two databases SDL Canvas runs on).
_NODE_IDS = {
    "postgresql": "unnest(%s::text[]) AS ids(node_id)",
    "sqlite": "(SELECT value AS node_id FROM json_each(%s)) AS ids",
}


def run_created(run_id: int, node_ids) -> NewEvent:
    """A new run's nodes, every one pending, in one INSERT whatever their number (the ORM's
    bulk create, or rows of values, cost more than the database's own work), and its first
    event: it is queued."""
    fields = [f for f in NodeRun._meta.concrete_fields if not f.primary_key]
    blank = NodeRun(run_id=run_id, node_id="")
    same = [f for f in fields if f.name != "node_id"]  # every row's, but its node id
    values = [f.get_db_prep_save(f.pre_save(blank, True), connection) for f in same]
    ids = list(node_ids)
    with transaction.atomic(savepoint=False):
        _execute_raw(
            f"INSERT INTO {NodeRun._meta.db_table} "  # noqa: S608
            f"({', '.join(f.column for f in same)}, node_id) "
            f"SELECT {', '.join(f'CAST(%s AS {f.cast_db_type(connection)})' for f in same)}, "
            f"ids.node_id FROM {_NODE_IDS[connection.vendor]}",
            [*values, ids if connection.vendor == "postgresql" else json.dumps(ids)],
        )
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
    # No savepoint (as move_node): a refused change leaves the block normally, then raises.
    with transaction.atomic(savepoint=False):
        changed = WorkflowRun.objects.filter(pk=run_id, state__in=RUN_FROM[to]).update(
            state=to, **fields
        )
        if changed:
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
    current = WorkflowRun.objects.filter(pk=run_id).values_list("state", flat=True)
    raise IllegalTransition(f"run {run_id} cannot go from {current.first()} to {to}")


def move_node(
    run_id: int, node_id: str, to: NodeState, check_at_end: bool = False, **fields
) -> NewEvent:
    """`check_at_end`: inside `batched`, the row is checked when the block ends (see there)."""
    now = timezone.now()
    if to == NodeState.RUNNING:
        fields.setdefault("started_at", now)
    if to in NODE_TERMINAL:
        fields.setdefault("finished_at", now)
    if "error" in fields:  # an exception's text: anything, NUL characters included
        fields["error"] = storable(str(fields["error"])[:20000])[0]
    data = {k: fields[k] for k in ("attempts", "error", "output") if k in fields}
    # No savepoint (the engine calls this many times in one transaction), nor a transaction
    # of its own inside a batched block (already in one): nothing raises inside; a refused
    # change leaves it normally and is reported after.
    with nullcontext() if _current() else transaction.atomic(savepoint=False):
        changed = _update_node(run_id, node_id, to, fields, check_at_end)
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
