"""Compile a validated document and run parameters into an execution plan."""

from collections import defaultdict
from dataclasses import dataclass, field

from canvas import references, registry
from canvas.document import Document
from canvas.validation import Issue, check_value, validate


class InvalidWorkflow(Exception):
    def __init__(self, issues: list[Issue]):
        super().__init__("; ".join(str(i) for i in issues[:5]))
        self.issues = issues


@dataclass(frozen=True)
class Incoming:
    source: str
    condition: references.Condition | None


@dataclass(frozen=True)
class Step:
    id: str
    type: str
    label: str
    params: dict
    retries: int
    retry_delay_s: float
    timeout_s: float | None
    disabled: bool

    @property
    def node_type(self) -> registry.NodeType:
        return registry.get(self.type)

    @property
    def uses_robot(self) -> bool:
        return self.node_type.uses_robot


@dataclass
class Plan:
    document: Document
    parameters: dict
    steps: dict[str, Step]
    incoming: dict[str, list[Incoming]] = field(default_factory=lambda: defaultdict(list))

    def parents(self, node_id: str) -> set[str]:
        return {i.source for i in self.incoming[node_id]}

    def graph(self) -> dict[str, set[str]]:
        return {node_id: self.parents(node_id) for node_id in self.steps}

    def descendants(self, node_id: str) -> set[str]:
        children = defaultdict(set)
        for target, edges in self.incoming.items():
            for edge in edges:
                children[edge.source].add(target)
        seen, stack = set(), [node_id]
        while stack:
            for child in children[stack.pop()]:
                if child not in seen:
                    seen.add(child)
                    stack.append(child)
        return seen


def run_parameters(document: Document, given: dict) -> tuple[dict, list[Issue]]:
    """The declared parameters' defaults overridden by `given`; each problem is named."""
    values, issues = {}, []
    for name in given:
        if name not in document.parameters:
            issues.append(Issue(f"parameters.{name}", f"the workflow has no parameter {name}"))
    for name, spec in document.parameters.items():
        value = given.get(name, spec.default)
        if value is None:
            issues.append(Issue(f"parameters.{name}", f"parameter {name} needs a value"))
            continue
        error = check_value(name, spec, value)
        if error:
            issues.append(Issue(f"parameters.{name}", error))
        values[name] = value
    return values, issues


def compile_plan(raw_document: dict, given_parameters: dict | None = None) -> Plan:
    """Refuses (InvalidWorkflow) a document with any problem, or parameters that do not fit."""
    report = validate(raw_document)
    if not report.valid:
        raise InvalidWorkflow(report.issues)
    document = report.document
    parameters, issues = run_parameters(document, given_parameters or {})
    if issues:
        raise InvalidWorkflow(issues)
    steps = {
        n.id: Step(
            id=n.id,
            type=n.type,
            label=n.label or n.id,
            params=n.params,
            retries=n.retries,
            retry_delay_s=n.retry_delay_s,
            timeout_s=n.timeout_s,
            disabled=n.disabled,
        )
        for n in document.nodes
    }
    plan = Plan(document, parameters, steps)
    for edge in document.edges:
        condition = references.parse_when(edge.when) if edge.when else None
        plan.incoming[edge.target].append(Incoming(edge.source, condition))
    return plan
