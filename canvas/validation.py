"""Validation of a workflow document: every problem, each with the place it is at.

A problem is either *fatal* (the JSON is not shaped like a workflow: wrong types, unknown
node types; refused on save) or a *draft* problem (a cycle, a missing parameter, a volume the
pipette cannot hold; saved, but the workflow cannot run). Nothing in the document is executed.
"""

import graphlib
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string
from pydantic import ValidationError

from canvas import references, registry
from canvas.document import Document, Edge, Header, Node

_SKIPPED = object()


@dataclass(frozen=True)
class Issue:
    path: str
    message: str
    fatal: bool = False

    def as_json(self) -> dict:
        return {"path": self.path, "message": self.message}

    def __str__(self):
        return f"{self.path}: {self.message}" if self.path else self.message


@dataclass
class Report:
    issues: list[Issue] = field(default_factory=list)
    document: Document | None = None

    @property
    def valid(self) -> bool:
        return not self.issues

    @property
    def refused(self) -> bool:
        return any(i.fatal for i in self.issues)

    def as_json(self) -> list[dict]:
        return [i.as_json() for i in self.issues]


def _loc_path(prefix: str, loc: tuple, raw: Any) -> str:
    """A pydantic location as a path, naming list items by their `id` where they have one."""
    path = prefix
    for part in loc:
        if isinstance(part, int):
            item = raw[part] if isinstance(raw, list) and part < len(raw) else None
            item_id = item.get("id") if isinstance(item, dict) else None
            path += f"[{item_id}]" if isinstance(item_id, str) and item_id else f"[{part}]"
            raw = item
        else:
            path = f"{path}.{part}" if path else str(part)
            raw = raw.get(part) if isinstance(raw, dict) else None
    return path


def _message(error: dict) -> str:
    if error["type"] == "missing":
        return "is required"
    if error["type"] == "extra_forbidden":
        return "is not a known field"
    return error["msg"][0].lower() + error["msg"][1:]


def _is_type_error(error: dict) -> bool:
    return error["type"].endswith(("_type", "_parsing")) or error["type"] == "model_attributes_type"


def _pydantic_issues(prefix: str, exc: ValidationError, raw: Any, fatal=True, skip=()):
    issues = []
    for error in exc.errors():
        if any(error["loc"][: len(s)] == s for s in skip):
            continue
        issues.append(
            Issue(
                _loc_path(prefix, error["loc"], raw),
                _message(error),
                fatal if fatal is not None else _is_type_error(error),
            )
        )
    return issues


@cache
def document_checks() -> list:
    """The checks of settings.SDL_DOCUMENT_CHECKS: `check(header, nodes)` → [(path, message)]."""
    return [import_string(path) for path in settings.SDL_DOCUMENT_CHECKS]


def validate(raw: Any) -> Report:
    if not isinstance(raw, dict):
        return Report([Issue("", "a workflow document must be a JSON object", fatal=True)])
    try:
        header = Header.model_validate(raw)
    except ValidationError as exc:
        issues = _pydantic_issues("", exc, raw)
        missing = [i.path for i in issues if i.message == "is required"]
        if missing:
            issues.insert(0, Issue("", f"not a workflow: missing {'/'.join(missing)}", True))
        return Report(issues)
    return _Validator(header, raw).run()


class _Validator:
    def __init__(self, header: Header, raw: dict):
        self.header = header
        self.raw = raw
        self.issues: list[Issue] = []
        self.nodes: dict[str, Node] = {}
        self.edges: list[tuple[int, Edge]] = []

    def add(self, path: str, message: str, fatal: bool = False):
        self.issues.append(Issue(path, message, fatal))

    def run(self) -> Report:
        self.check_parameters()
        self.parse_nodes()
        self.parse_edges()
        self.check_graph()
        self.check_robot_and_deck()
        self.check_node_params()
        self.check_conditions()
        self.check_canvas_items()
        if not self.header.nodes:
            self.add("nodes", "the workflow has no steps yet")
        document = None
        if not any(i.fatal for i in self.issues):
            document = Document.model_validate(self.raw)
        return Report(self.issues, document)

    def check_parameters(self):
        for name, spec in self.header.parameters.items():
            path = f"parameters.{name}"
            if not references.REF.match(f"{{{{ params.{name} }}}}"):
                self.add(path, f"{name} is not a valid parameter name (letters, digits, _ and -)")
            if spec.default is not None:
                error = check_value(name, spec, spec.default)
                if error:
                    self.add(f"{path}.default", error)

    def parse_nodes(self):
        for i, raw_node in enumerate(self.header.nodes):
            node_id = raw_node.get("id") if isinstance(raw_node, dict) else None
            path = f"nodes[{node_id}]" if isinstance(node_id, str) and node_id else f"nodes[{i}]"
            try:
                node = Node.model_validate(raw_node)
            except ValidationError as exc:
                self.issues += _pydantic_issues(path, exc, raw_node)
                continue
            if node.id in self.nodes:
                self.add(path, f"duplicate node id {node.id}", fatal=True)
                continue
            if registry.get(node.type) is None:
                self.add(f"{path}.type", f"node {node.id}: unknown type {node.type}", fatal=True)
                continue
            self.nodes[node.id] = node

    def parse_edges(self):
        seen = set()
        ids = {
            n["id"]
            for n in self.header.nodes
            if isinstance(n, dict) and isinstance(n.get("id"), str)
        }
        for i, raw_edge in enumerate(self.header.edges):
            path = f"edges[{i}]"
            try:
                edge = Edge.model_validate(raw_edge)
            except ValidationError as exc:
                self.issues += _pydantic_issues(path, exc, raw_edge)
                continue
            name = f"edge {edge.source} → {edge.target}"
            missing = [n for n in (edge.source, edge.target) if n not in ids]
            if missing:
                self.add(path, f"{name}: no node {' or '.join(missing)}")
            elif edge.source == edge.target:
                self.add(path, f"{name} connects a node to itself")
            elif (edge.source, edge.target) in seen:
                self.add(path, f"{name} appears twice")
            elif edge.source in self.nodes and edge.target in self.nodes:
                seen.add((edge.source, edge.target))
                self.edges.append((i, edge))

    def check_graph(self):
        """Refuse a cycle; otherwise know every node's ancestors, once, as a bitset per node
        (so checking a reference is one AND, and validation stays linear in references)."""
        self.parents: dict[str, set[str]] = defaultdict(set)
        for _, edge in self.edges:
            self.parents[edge.target].add(edge.source)
        self.bit = {node_id: 1 << i for i, node_id in enumerate(self.nodes)}
        self.upstream: dict[str, int] | None = {}
        try:
            graph = {n: self.parents[n] for n in self.nodes}
            order = list(graphlib.TopologicalSorter(graph).static_order())
        except graphlib.CycleError as exc:
            cycle = exc.args[1]  # each node a parent of the next: in the edges' own order
            closing = next(
                (i for i, e in self.edges if (e.source, e.target) == (cycle[-2], cycle[-1])), None
            )
            where = f"edges[{closing}]" if closing is not None else "edges"
            self.add(where, f"the cycle {' → '.join(cycle)}: a workflow cannot loop back")
            self.upstream = None
            return
        for node_id in order:
            bits = 0
            for parent in self.parents[node_id]:
                bits |= self.upstream[parent] | self.bit[parent]
            self.upstream[node_id] = bits

    def is_upstream(self, ancestor: str, node_id: str) -> bool:
        if ancestor not in self.bit or ancestor == node_id:
            return False
        if self.upstream is not None:
            return bool(self.upstream[node_id] & self.bit[ancestor])
        seen, stack = set(), list(self.parents[node_id])  # a cycle: walk (reported anyway)
        while stack:
            current = stack.pop()
            if current == ancestor:
                return True
            if current not in seen:
                seen.add(current)
                stack.extend(self.parents[current])
        return False

    def check_robot_and_deck(self):
        robot, deck = self.header.robot, self.header.deck
        if robot is None:
            robot_nodes = [n.id for n in self.nodes.values() if registry.get(n.type).uses_robot]
            if robot_nodes:
                self.add("robot", f"robot is required: node {robot_nodes[0]} is an Opentrons step")
            elif deck and (deck.labware or deck.pipettes or deck.modules):
                self.add("robot", "a deck needs a robot type (OT-2 or Flex)")
            return
        nodes = list(self.nodes.values())
        for check in document_checks():
            for path, message in check(self.header, nodes):
                self.add(path, message)

    def check_node_params(self):
        declared = self.header.parameters
        for node in self.nodes.values():
            path = f"nodes[{node.id}].params"
            node_type = registry.get(node.type)
            skipped: list[tuple] = []
            values = self.substitute(node, node.params, (), declared, skipped, path)
            try:
                params = node_type.Params.model_validate(values)
            except ValidationError as exc:
                self.issues += _pydantic_issues(path, exc, node.params, None, skipped)
                continue
            if not skipped and (not node_type.uses_robot or self.header.robot):
                for field_path, message in node_type.check(params, self.header):
                    self.add(f"{path}.{field_path}", message)

    def substitute(self, node, value, loc, declared, skipped, path):
        """Params with references replaced by what validation can know of them: a declared
        parameter's default; other references are checked here and skipped by the model."""
        if isinstance(value, dict):
            return {
                k: self.substitute(node, v, (*loc, k), declared, skipped, path)
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [
                self.substitute(node, v, (*loc, i), declared, skipped, path)
                for i, v in enumerate(value)
            ]
        where = _loc_path(path, loc, None)
        try:
            ref = references.parse(value)
        except references.RefError as exc:
            self.add(where, str(exc))
            skipped.append(loc)
            return None
        if ref is None:
            return value
        self.check_reference(node.id, ref, where)
        if ref.param and ref.param in declared and declared[ref.param].default is not None:
            return declared[ref.param].default
        skipped.append(loc)
        return None

    def check_reference(self, node_id: str, ref: references.Ref, where: str):
        if ref.param:
            if ref.param not in self.header.parameters:
                self.add(
                    where,
                    f"node {node_id}: reference to params.{ref.param}, "
                    "which is not a declared parameter",
                )
            return
        if not self.is_upstream(ref.node, node_id):
            self.add(
                where,
                f"node {node_id}: reference to nodes.{ref.node}, "
                f"which is not upstream of {node_id}",
            )
            return
        source = self.nodes[ref.node]
        keys = registry.get(source.type).output_keys(source.params)
        first = ref.key.split(".")[0]
        if keys is not None and first not in keys:
            offered = ", ".join(sorted(keys)) or "nothing"
            self.add(
                where,
                f"node {node_id}: node {ref.node} has no output {first} (it outputs {offered})",
            )

    def check_conditions(self):
        for i, edge in self.edges:
            if edge.when is None:
                continue
            path = f"edges[{i}].when"
            try:
                condition = references.parse_when(edge.when)
            except references.RefError as exc:
                self.add(path, str(exc))
                continue
            self.check_reference(edge.target, condition.ref, path)

    def check_canvas_items(self):
        """Group boxes and notes: ids unique among themselves and the steps; a group names
        steps that exist, each step in one group at most."""
        ids = set(self.nodes)
        grouped: dict[str, str] = {}
        for kind, items in (("groups", self.header.groups), ("notes", self.header.notes)):
            for item in items:
                if item.id in ids:
                    self.add(f"{kind}[{item.id}]", f"{item.id} is also the id of another item")
                ids.add(item.id)
        for group in self.header.groups:
            path = f"groups[{group.id}].nodes"
            for node_id in group.nodes:
                if node_id not in self.nodes:
                    self.add(path, f"group {group.id}: no step {node_id}")
                elif node_id in grouped:
                    self.add(path, f"{node_id} is in groups {grouped[node_id]} and {group.id}")
                else:
                    grouped[node_id] = group.id


def check_value(name: str, spec, value) -> str | None:
    """Whether a run parameter's value fits its declaration; the message names it."""
    kinds = {"number": (int, float), "integer": (int,), "string": (str,), "boolean": (bool,)}
    if (
        isinstance(value, bool)
        and spec.type != "boolean"
        or not isinstance(value, kinds[spec.type])
    ):
        return f"parameter {name} must be a {spec.type}, not {value!r}"
    if spec.minimum is not None and value < spec.minimum:
        return f"parameter {name} is {value}, below its minimum {spec.minimum:g}"
    if spec.maximum is not None and value > spec.maximum:
        return f"parameter {name} is {value}, above its maximum {spec.maximum:g}"
    if spec.enum is not None and value not in spec.enum:
        return f"parameter {name} must be one of {', '.join(map(str, spec.enum))}"
    return None
