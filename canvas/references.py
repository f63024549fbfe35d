"""References (`{{ params.x }}`, `{{ nodes.a.output.k }}`) and `when` conditions.

Resolved by path lookup only: nothing from a document reaches eval, a shell or a template
engine.
"""

import json
import operator
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

_NAME = r"[A-Za-z0-9_-]{1,64}"
REF = re.compile(
    rf"^\{{\{{\s*(?:params\.(?P<param>{_NAME})"
    rf"|nodes\.(?P<node>{_NAME})\.output\.(?P<key>{_NAME}(?:\.{_NAME})*))\s*\}}\}}$"
)
LOOSE_REF = re.compile(r"^\s*\{\{.*\}\}\s*$", re.S)
WHEN = re.compile(r"^\s*(?P<ref>\{\{.*?\}\})\s*(?P<op>==|!=|<=|>=|<|>)\s*(?P<literal>.+?)\s*$")
OPERATORS = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


class RefError(Exception):
    pass


@dataclass(frozen=True)
class Ref:
    param: str | None = None
    node: str | None = None
    key: str | None = None

    def __str__(self):
        return f"params.{self.param}" if self.param else f"nodes.{self.node}.output.{self.key}"


def parse(value: Any) -> Ref | None:
    """The reference a value is, or None for a literal. A malformed `{{ … }}` raises."""
    if not isinstance(value, str) or "{{" not in value:
        return None
    match = REF.match(value)
    if match is None:
        if LOOSE_REF.match(value):
            raise RefError(
                f"{value.strip()} is not a reference: write {{{{ params.NAME }}}} "
                "or {{ nodes.NODE_ID.output.KEY }}"
            )
        return None
    return Ref(match["param"], match["node"], match["key"])


def walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every (path, leaf) of a JSON value; paths like `source.wells[0]`."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from walk(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from walk(v, f"{path}[{i}]")
    else:
        yield path, value


def lookup(ref: Ref, params: dict, outputs: dict[str, dict]) -> Any:
    if ref.param:
        if ref.param not in params:
            raise RefError(f"{ref}: no run parameter {ref.param}")
        return params[ref.param]
    if ref.node not in outputs:
        raise RefError(f"{ref}: node {ref.node} has no output (it did not complete)")
    value: Any = outputs[ref.node]
    for part in ref.key.split("."):
        if not isinstance(value, dict) or part not in value:
            raise RefError(f"{ref}: node {ref.node} has no output {ref.key}")
        value = value[part]
    return value


def resolve(value: Any, params: dict, outputs: dict[str, dict]) -> Any:
    """A copy of `value` with every reference replaced by what it points to."""
    if isinstance(value, dict):
        return {k: resolve(v, params, outputs) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, params, outputs) for v in value]
    ref = parse(value)
    return value if ref is None else lookup(ref, params, outputs)


@dataclass(frozen=True)
class Condition:
    ref: Ref
    op: str
    literal: Any

    def evaluate(self, params: dict, outputs: dict[str, dict]) -> bool:
        left = lookup(self.ref, params, outputs)
        try:
            return bool(OPERATORS[self.op](left, self.literal))
        except TypeError:
            raise RefError(
                f"cannot compare {left!r} ({type(left).__name__}) {self.op} {self.literal!r}"
            )


def parse_when(text: str) -> Condition:
    """`{{ nodes.check.output.ok }} == false` → Condition; the literal is JSON."""
    match = WHEN.match(text)
    if match is None:
        raise RefError(
            "a condition is one reference, an operator (== != < <= > >=) and a value, "
            "e.g. {{ nodes.check.output.ok }} == false"
        )
    ref = parse(match["ref"])
    if ref is None:
        raise RefError(f"{match['ref']} is not a reference")
    try:
        literal = json.loads(match["literal"])
    except ValueError:
        raise RefError(
            f'{match["literal"]} is not a value: use a number, true, false, null or "text"'
        )
    if isinstance(literal, dict | list):
        raise RefError('compare with a number, true, false, null or "text"')
    return Condition(ref, match["op"], literal)
