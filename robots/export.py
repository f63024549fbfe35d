"""Export a workflow as an Opentrons Python protocol that opens in the Opentrons App.

The node → Protocol API translation is the one the simulator runs (each node type's
`protocol`): here it is played against recorders that write each call as a line of Python instead of moving
anything, so the protocol does exactly what a node-by-node run does.
"""

import graphlib
import keyword
import re
from datetime import date

from canvas import references, registry
from canvas.document import Document
from robots import definitions as defs

# Runtime parameters arrived in Protocol API 2.18.
RUNTIME_PARAMETERS_LEVEL = (2, 18)


class ExportError(Exception):
    pass


def comment_text(text: str) -> str:
    """Text that is safe in a Python comment: no control characters (a NUL makes the whole
    file unreadable to Python)."""
    return "".join(c if c.isprintable() or c == "\t" else "?" for c in text)


class Code:
    """A Python expression; repr() gives its source."""

    def __init__(self, source: str):
        self.source = source

    def __repr__(self):
        return self.source


class Labware(Code):
    def __getitem__(self, well: str) -> Code:
        return Code(f"{self.source}[{well!r}]")


class Recorder(Code):
    """Stands for a pipette, module or the protocol; every call becomes a line."""

    def __init__(self, source: str, lines: list[str]):
        super().__init__(source)
        self._lines = lines

    def __getattr__(self, method):
        if method.startswith("_"):
            raise AttributeError(method)

        def call(*args, **kwargs):
            rendered = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
            self._lines.append(f"{self.source}.{method}({', '.join(rendered)})")

        return call


def identifier(name: str, taken: set[str]) -> str:
    ident = re.sub(r"\W", "_", name)
    if not ident or ident[0].isdigit() or keyword.iskeyword(ident) or ident in ("protocol", "run"):
        ident = f"_{ident}"
    while ident in taken:
        ident += "_"
    taken.add(ident)
    return ident


class _Session:
    """What node types' `protocol` expects of a session, made of recorders."""

    def __init__(self, lines: list[str]):
        self.context = Recorder("protocol", lines)
        self.labware: dict[str, Labware] = {}
        self.pipettes: dict[str, Recorder] = {}
        self.modules: dict[str, Recorder] = {}
        self._lines = lines

    def replace_tip(self, pipette: Recorder) -> None:
        self._lines += [
            f"if {pipette.source}.has_tip:",
            f"    {pipette.source}.drop_tip()",
            f"{pipette.source}.pick_up_tip()",
        ]


def export_protocol(document: Document, source: str = "") -> str:
    if document.robot is None:
        raise ExportError("the workflow has no robot: nothing to export")
    level = defs.parse_api_level(document.robot.api_level)
    runtime = level >= RUNTIME_PARAMETERS_LEVEL
    for edge in document.edges:
        if edge.when:
            raise ExportError(
                f"edge {edge.source} → {edge.target} has a condition; "
                "an Opentrons protocol runs every step"
            )

    # Free text goes only into comments and repr()'d literals: nothing a user wrote is code.
    head = [
        *(
            f"# {comment_text(line)}"
            for line in [*document.name.splitlines(), *document.description.splitlines()]
        ),
        f"# Exported from SDL Canvas{f' ({source})' if source else ''} on {date.today()}.",
        "",
        "from opentrons import protocol_api",
        "",
        "metadata = "
        + repr(
            {
                "protocolName": document.name,
                "author": "SDL Canvas",
                "description": document.description[:500],
            }
        ),
        "requirements = "
        + repr({"robotType": document.robot.type, "apiLevel": document.robot.api_level}),
    ]
    body: list[str] = []
    session = _Session(body)
    taken: set[str] = set()
    parameters, constants, param_code = [], [], {}
    for name, spec in document.parameters.items():
        ident = identifier(name, taken)
        bounded = spec.minimum is not None and spec.maximum is not None
        kind = {"number": "float", "integer": "int", "boolean": "bool", "string": "str"}[spec.type]
        if runtime and (kind == "bool" or (kind in ("float", "int") and bounded)):
            args = {
                "variable_name": ident,
                "display_name": (spec.title or name)[:30],
                "default": float(spec.default) if kind == "float" else spec.default,
            }
            if kind != "bool":
                args.update(minimum=spec.minimum, maximum=spec.maximum)
                if kind == "int":
                    args.update(minimum=int(spec.minimum), maximum=int(spec.maximum))
            rendered = ", ".join(f"{k}={v!r}" for k, v in args.items())
            parameters.append(f"    parameters.add_{kind}({rendered})")
            param_code[name] = Code(f"protocol.params.{ident}")
        else:
            constants.append(f"{ident.upper()} = {spec.default!r}  # parameter {name}")
            param_code[name] = Code(ident.upper())

    deck = document.deck
    if deck:
        for lw in deck.labware:
            ident = identifier(lw.id, taken)
            body.append(f"{ident} = protocol.load_labware({lw.load_name!r}, {lw.slot!r})")
            session.labware[lw.id] = Labware(ident)
        for m in deck.modules:
            ident = identifier(m.id, taken)
            body.append(f"{ident} = protocol.load_module({m.model!r}, {m.slot!r})")
            session.modules[m.id] = Recorder(ident, body)
            if m.labware:
                lw_ident = identifier(m.labware.id, taken)
                body.append(f"{lw_ident} = {ident}.load_labware({m.labware.load_name!r})")
                session.labware[m.labware.id] = Labware(lw_ident)
        if deck.trash and document.robot.type == "Flex":
            body.append(f"protocol.load_trash_bin({deck.trash.slot!r})")
        liquids = {}
        for liquid in deck.liquids:
            liquids[liquid.id] = identifier(f"liquid_{liquid.id}", taken)
            body.append(
                f"{liquids[liquid.id]} = protocol.define_liquid(name={liquid.name!r}, "
                f"description={liquid.description!r}, display_color={liquid.color!r})"
            )
        for lw in deck.all_labware():
            for well, amount in lw.contents.items():
                body.append(
                    f"{session.labware[lw.id].source}[{well!r}].load_liquid("
                    f"liquid={liquids[amount.liquid]}, volume={amount.volume!r})"
                )
        for p in deck.pipettes:
            ident = identifier(p.id, taken)
            racks = ", ".join(
                session.labware[r].source for r in p.tip_racks if r in session.labware
            )
            body.append(
                f"{ident} = protocol.load_instrument({p.instrument!r}, {p.mount!r}, "
                f"tip_racks=[{racks}])"
            )
            session.pipettes[p.id] = Recorder(ident, body)

    order = _order(document)
    nodes = {n.id: n for n in document.nodes}
    for number, node_id in enumerate(order, 1):
        node = nodes[node_id]
        body.append("")
        label = comment_text(" ".join((node.label or node.type).split()))
        body.append(f"# Step {number} — {node.id}: {label} ({node.type})")
        if node.disabled:
            body.append("# (disabled in the workflow: not run)")
            continue
        _export_node(node, document, session, param_code, body)

    out = head
    if parameters:
        out += ["", "", "def add_parameters(parameters):", *parameters]
    if constants:
        out += ["", *constants]
    out += ["", "", "def run(protocol: protocol_api.ProtocolContext):"]
    out += [f"    {line}" if line else "" for line in body]
    return "\n".join(out) + "\n"


def _order(document: Document) -> list[str]:
    graph = {n.id: set() for n in document.nodes}
    for edge in document.edges:
        graph[edge.target].add(edge.source)
    sorter = graphlib.TopologicalSorter(graph)
    sorter.prepare()
    position = {n.id: i for i, n in enumerate(document.nodes)}
    order = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=position.get)
        order += ready
        sorter.done(*ready)
    return order


def _export_node(node, document, session, param_code, body):
    node_type = registry.get(node.type)
    for path, leaf in references.walk(node.params):
        ref = references.parse(leaf)
        if ref is not None and ref.node:
            raise ExportError(
                f"node {node.id} uses {ref} at {path}: an Opentrons protocol has no node outputs"
            )
    defaults = {k: v.default for k, v in document.parameters.items()}
    params = node_type.Params.model_validate(references.resolve(node.params, defaults, {}))
    # Top-level parameter references become the protocol's runtime parameters.
    update = {}
    for key, value in node.params.items():
        ref = references.parse(value)
        if ref is not None and ref.param:
            update[key] = param_code[ref.param]
    params = params.model_copy(update=update)

    before = len(body)
    try:
        node_type.protocol(session, params)
    except registry.NoProtocol:
        raise ExportError(f"node {node.id} ({node.type}) has no Opentrons protocol equivalent")
    if len(body) == before:
        body.append("pass")
