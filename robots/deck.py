"""The `deck` of a workflow document: its shape, and checks against Opentrons' definitions."""

from canvas import registry
from canvas.document import Deck
from robots import definitions as defs
from robots.liquids import check_liquids


class DeckInfo:
    """Lookups by id that node checks and robot back ends share."""

    def __init__(self, deck: Deck | None, robot_type: str | None):
        self.deck = deck or Deck()
        self.robot_type = robot_type
        self.labware: dict[str, str] = {lw.id: lw.load_name for lw in self.deck.labware}
        for m in self.deck.modules:
            if m.labware:
                self.labware[m.labware.id] = m.labware.load_name
        self.pipettes = {p.id: p for p in self.deck.pipettes}
        self.modules = {m.id: m for m in self.deck.modules}

    def labware_def(self, labware_id: str) -> defs.LabwareDef | None:
        name = self.labware.get(labware_id)
        return defs.labware(name) if name else None

    def pipette_def(self, pipette_id: str) -> defs.PipetteDef | None:
        p = self.pipettes.get(pipette_id)
        return defs.pipette(p.instrument) if p else None

    def module_def(self, module_id: str) -> defs.ModuleDef | None:
        m = self.modules.get(module_id)
        return defs.module(m.model) if m else None


LIQUIDS_LEVEL = (2, 14)  # define_liquid and load_liquid


def check_document(document, nodes) -> list[tuple[str, str]]:
    """The robot and deck of a document (one of SDL_DOCUMENT_CHECKS): (path, message)."""
    robot = document.robot
    if robot is None:
        return []
    errors = check_robot(robot.type, robot.api_level)
    if document.deck:
        needs_trash = any(registry.get(n.type).drops_tips(n.params) for n in nodes)
        errors += check_deck(document.deck, robot.type, needs_trash)
        errors += check_liquids(document.deck)
        level = defs.parse_api_level(robot.api_level)
        if document.deck.liquids and level is not None and level < LIQUIDS_LEVEL:
            errors.append(("deck.liquids", "liquids need Protocol API 2.14 or later"))
        errors += check_tip_racks(document.deck, nodes)
    return errors


def check_tip_racks(deck: Deck, nodes) -> list[tuple[str, str]]:
    """A pipette that a step takes tips for needs a tip rack."""
    errors = []
    for pipette in deck.pipettes:
        if pipette.tip_racks:
            continue
        users = [
            n.id
            for n in nodes
            if n.params.get("pipette") == pipette.id
            and registry.get(n.type).picks_up_tips(n.params)
        ]
        if users:
            errors.append(
                (
                    f"deck.pipettes[{pipette.id}].tip_racks",
                    f"pipette {pipette.id} has no tip racks, but step {users[0]} picks up tips",
                )
            )
    return errors


def check_robot(robot_type: str, api_level: str) -> list[tuple[str, str]]:
    level = defs.parse_api_level(api_level)
    if level is None:
        return [("robot.api_level", f"API level {api_level!r} is not of the form 2.20")]
    low, high = defs.MIN_API_LEVEL[robot_type], defs.MAX_API_LEVEL
    if not low <= level <= high:
        return [
            (
                "robot.api_level",
                f"API level {api_level} is not supported on the {robot_type}: "
                f"use {low[0]}.{low[1]} to {high[0]}.{high[1]}",
            )
        ]
    return []


def check_deck(deck: Deck, robot_type: str, needs_trash: bool) -> list[tuple[str, str]]:
    """Every problem of the deck as (path, message); nothing is loaded or executed."""
    errors: list[tuple[str, str]] = []
    slots = defs.SLOTS[robot_type]
    taken: dict[str, str] = {}
    seen_ids: set[str] = set()

    def claim_id(path: str, item_id: str):
        if item_id in seen_ids:
            errors.append((path, f"duplicate deck id {item_id}"))
        seen_ids.add(item_id)

    def claim_slot(path: str, item_id: str, slot: str, allowed: list[str]):
        if slot not in allowed:
            errors.append(
                (
                    f"{path}.slot",
                    f"slot {slot} is not a slot for this on the {robot_type} "
                    f"(use {', '.join(allowed)})",
                )
            )
        elif slot in taken:
            errors.append((f"{path}.slot", f"slot {slot} already holds {taken[slot]}"))
        else:
            taken[slot] = item_id

    def check_load_name(path: str, load_name: str):
        if defs.labware(load_name) is None:
            errors.append((f"{path}.load_name", f"no Opentrons labware named {load_name}"))

    for lw in deck.labware:
        path = f"deck.labware[{lw.id}]"
        claim_id(path, lw.id)
        check_load_name(path, lw.load_name)
        claim_slot(path, lw.id, lw.slot, slots)

    for m in deck.modules:
        path = f"deck.modules[{m.id}]"
        claim_id(path, m.id)
        definition = defs.module(m.model)
        if definition is None:
            errors.append((f"{path}.model", f"no Opentrons module named {m.model}"))
        elif definition.model not in defs.module_models_for(robot_type):
            errors.append(
                (f"{path}.model", f"{definition.display_name} does not fit on the {robot_type}")
            )
        else:
            claim_slot(path, m.id, m.slot, defs.module_slots(robot_type, definition.model))
        if m.labware:
            claim_id(f"{path}.labware", m.labware.id)
            check_load_name(f"{path}.labware", m.labware.load_name)

    mounts: dict[str, str] = {}
    for p in deck.pipettes:
        path = f"deck.pipettes[{p.id}]"
        claim_id(path, p.id)
        definition = defs.pipette(p.instrument)
        if definition is None:
            errors.append((f"{path}.instrument", f"no Opentrons pipette named {p.instrument}"))
        elif definition.robot_type != robot_type:
            errors.append(
                (
                    f"{path}.instrument",
                    f"{p.instrument} is a {definition.robot_type} pipette, "
                    f"not for the {robot_type}",
                )
            )
        if p.mount in mounts:
            errors.append((f"{path}.mount", f"the {p.mount} mount already holds {mounts[p.mount]}"))
        mounts[p.mount] = p.id
        labware_ids = {lw.id: lw for lw in deck.labware}
        for i, rack_id in enumerate(p.tip_racks):
            rack_path = f"{path}.tip_racks[{i}]"
            rack = labware_ids.get(rack_id)
            rack_def = defs.labware(rack.load_name) if rack else None
            if rack is None:
                errors.append((rack_path, f"no deck labware {rack_id}"))
            elif rack_def is None:
                continue  # already reported as an unknown load name
            elif not rack_def.is_tiprack:
                errors.append((rack_path, f"{rack_id} ({rack.load_name}) is not a tip rack"))
            elif definition and int(rack_def.well_volume) not in definition.tip_volumes:
                errors.append(
                    (
                        rack_path,
                        f"tip rack {rack_id} ({rack.load_name}, "
                        f"{rack_def.well_volume:g} µL tips) does not fit pipette {p.id} "
                        f"({p.instrument})",
                    )
                )

    if deck.trash:
        if deck.trash.slot not in defs.TRASH_SLOTS[robot_type]:
            errors.append(
                (
                    "deck.trash.slot",
                    f"a trash bin cannot go in slot {deck.trash.slot} on the "
                    f"{robot_type} (use {', '.join(defs.TRASH_SLOTS[robot_type])})",
                )
            )
        elif deck.trash.slot in taken:
            errors.append(
                (
                    "deck.trash.slot",
                    f"slot {deck.trash.slot} already holds {taken[deck.trash.slot]}",
                )
            )
    elif robot_type == "Flex" and needs_trash:
        errors.append(("deck.trash", "a Flex deck whose steps drop tips needs a trash bin"))
    return errors
