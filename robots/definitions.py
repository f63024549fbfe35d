"""Opentrons' own definitions of labware, pipettes, modules and decks.

Read from the data files shipped in `opentrons_shared_data` (fast: no Protocol API import),
so validation and the deck editor offer exactly what the installed `opentrons` accepts.
"""

import json
import math
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import opentrons_shared_data
from opentrons_shared_data.pipette import load_data
from opentrons_shared_data.pipette import pipette_load_name_conversions as pipette_names
from opentrons_shared_data.pipette.types import PIPETTE_API_NAMES_MAP

DATA = Path(opentrons_shared_data.__file__).parent / "data"
ROBOT_TYPES = ("OT-2", "Flex")
# The newest Protocol API level the installed opentrons (8.8) runs; Flex needs 2.15 or later.
MAX_API_LEVEL = (2, 27)
MIN_API_LEVEL = {"OT-2": (2, 0), "Flex": (2, 15)}
SLOTS = {
    "OT-2": [str(n) for n in range(1, 12)],
    "Flex": [f"{row}{col}" for row in "ABCD" for col in (1, 2, 3)],
}
TRASH_SLOTS = {"OT-2": ["12"], "Flex": ["A1", "B1", "C1", "D1", "A3", "B3", "C3", "D3"]}
# Module generations an OT-2 takes (Opentrons' hardware compatibility table); the Flex list
# is read from its deck definition below.
OT2_MODULES = {
    "magneticModuleV1",
    "magneticModuleV2",
    "temperatureModuleV1",
    "temperatureModuleV2",
    "thermocyclerModuleV1",
    "thermocyclerModuleV2",
    "heaterShakerModuleV1",
}


@dataclass(frozen=True)
class LabwareDef:
    load_name: str
    display_name: str
    category: str
    columns: tuple[tuple[str, ...], ...]  # Opentrons' `ordering`: wells column by column
    is_tiprack: bool
    well_volume: float  # µL, the largest well (a tip rack: the tip's volume)
    well_area: float = 0.0  # mm², the cross-section of the first well
    well_depth: float = 0.0  # mm
    footprint: tuple[float, float] = (127.76, 85.48)  # mm, x by y
    robots: tuple[str, ...] = ROBOT_TYPES  # the robot types a deck editor offers it for
    offered: bool = True  # False: trash, lids, calibration pieces (not chosen for a slot)

    @property
    def wells(self) -> tuple[str, ...]:
        return tuple(w for column in self.columns for w in column)

    @property
    def rows(self) -> tuple[str, ...]:
        first = self.columns[0] if self.columns else ()  # adapters and lids have no wells
        return tuple(dict.fromkeys(re.match(r"[A-Z]+", w).group() for w in first))

    def as_json(self) -> dict:
        return {
            "load_name": self.load_name,
            "display_name": self.display_name,
            "category": self.category,
            "is_tiprack": self.is_tiprack,
            "well_volume": self.well_volume,
            "rows": list(self.rows),
            "columns": len(self.columns),
            "wells": [list(c) for c in self.columns],
            "footprint": list(self.footprint),
            "robots": list(self.robots),
            "offered": self.offered,
        }


@dataclass(frozen=True)
class PipetteDef:
    name: str
    display_name: str
    robot_type: str
    channels: int
    min_volume: float
    max_volume: float
    tip_volumes: frozenset[int]

    def as_json(self) -> dict:
        return {
            "name": self.name,
            "display_name": self.display_name,
            "channels": self.channels,
            "min_volume": self.min_volume,
            "max_volume": self.max_volume,
            "tip_volumes": sorted(self.tip_volumes),
        }


@dataclass(frozen=True)
class ModuleDef:
    model: str
    display_name: str
    module_type: str
    config: dict

    def as_json(self) -> dict:
        return {"model": self.model, "display_name": self.display_name, "type": self.module_type}


@cache
def _labware_files() -> dict[str, Path]:
    """load name → the newest version's file."""
    root = DATA / "labware" / "definitions" / "2"
    files = {}
    for folder in sorted(root.iterdir()):
        versions = sorted(folder.glob("*.json"), key=lambda p: int(p.stem))
        if versions:
            files[folder.name] = versions[-1]
    return files


def labware_names() -> list[str]:
    return list(_labware_files())


@cache
def labware(load_name: str) -> LabwareDef | None:
    path = _labware_files().get(load_name)
    if path is None:
        return None
    raw = json.loads(path.read_text())
    volumes = [w.get("totalLiquidVolume", 0) for w in raw["wells"].values()]
    first = next(iter(raw["wells"].values()), {})
    if first.get("shape") == "circular":
        area = math.pi * (first.get("diameter", 0) / 2) ** 2
    else:
        area = first.get("xDimension", 0) * first.get("yDimension", 0)
    category = raw["metadata"].get("displayCategory", "")
    is_tiprack = bool(raw["parameters"].get("isTiprack"))
    roles = raw.get("allowedRoles") or ["labware"]
    return LabwareDef(
        load_name=load_name,
        display_name=raw["metadata"]["displayName"],
        category=category,
        columns=tuple(tuple(c) for c in raw["ordering"]),
        is_tiprack=is_tiprack,
        well_volume=max(volumes, default=0),
        well_area=area,
        well_depth=first.get("depth", 0.0),
        footprint=(raw["dimensions"]["xDimension"], raw["dimensions"]["yDimension"]),
        robots=_robots_for(load_name, is_tiprack),
        offered=category not in ("trash", "system", "other")
        and ("labware" in roles or "adapter" in roles)
        and "lid" not in roles,
    )


def _robots_for(load_name: str, is_tiprack: bool) -> tuple[str, ...]:
    """Flex labware (its tip racks, adapters, riser) is for the Flex; an OT-2 tip rack fits
    only the OT-2's pipettes. Everything else goes on either deck."""
    if "flex" in load_name:
        return ("Flex",)
    return ("OT-2",) if is_tiprack else ROBOT_TYPES


@cache
def labware_geometry(load_name: str) -> dict | None:
    """A labware's footprint and each well's place and size, in mm from its front-left corner
    (to draw it to scale): well → [x, y, diameter] (round) or [x, y, width, depth] (square)."""
    path = _labware_files().get(load_name)
    if path is None:
        return None
    raw = json.loads(path.read_text())
    wells = {}
    for name, w in raw["wells"].items():
        size = [w["diameter"]] if w["shape"] == "circular" else [w["xDimension"], w["yDimension"]]
        wells[name] = [round(v, 2) for v in (w["x"], w["y"], *size)]
    return {
        "load_name": load_name,
        "footprint": [raw["dimensions"]["xDimension"], raw["dimensions"]["yDimension"]],
        "wells": wells,
    }


def _deck(robot_type: str) -> dict:
    name = "ot2_standard" if robot_type == "OT-2" else "ot3_standard"
    return json.loads((DATA / "deck" / "definitions" / "5" / f"{name}.json").read_text())


@cache
def deck_geometry(robot_type: str) -> dict:
    """Each slot's rectangle on the deck, [x, y, width, depth] in mm (y grows to the back),
    from Opentrons' deck definition; the thermocycler's slots; the fixed trash's slot."""
    raw = _deck(robot_type)
    cutouts = {c["id"]: c["position"] for c in raw["locations"]["cutouts"]}
    areas = {a["id"]: a for a in raw["locations"]["addressableAreas"]}
    slots = {}
    for slot in [*SLOTS[robot_type], *(["12"] if robot_type == "OT-2" else [])]:
        x, y, _ = cutouts[f"cutout{slot}"]
        box = areas[slot]["boundingBox"]
        dx, dy, _ = areas[slot]["offsetFromCutoutFixture"]
        slots[slot] = [x + dx, y + dy, box["xDimension"], box["yDimension"]]
    return {
        "slots": slots,
        "thermocycler_slots": ["7", "8", "10", "11"] if robot_type == "OT-2" else ["A1", "B1"],
        "fixed_trash": "12" if robot_type == "OT-2" else None,
    }


def liquid_height_mm(load_name: str, volume_ul: float) -> float:
    """How high `volume_ul` stands in a well of this labware (straight walls; 1 µL = 1 mm³)."""
    spec = labware(load_name)
    if spec is None or spec.well_area <= 0:
        return 0.0
    return min(volume_ul / spec.well_area, spec.well_depth or math.inf)


def engine_pipette_name(name: str) -> str:
    """The name the Protocol Engine and a robot's `/instruments` use for a pipette the Protocol
    API calls `name` (on a Flex they differ: `flex_1channel_1000` is `p1000_single_flex`)."""
    found = PIPETTE_API_NAMES_MAP.get(name)
    return found.value if found is not None else name


def pipette_names_for(robot_type: str) -> list[str]:
    return [n for n in PIPETTE_API_NAMES_MAP if (n.startswith("flex_")) == (robot_type == "Flex")]


@cache
def pipette(name: str) -> PipetteDef | None:
    name_type = PIPETTE_API_NAMES_MAP.get(name)
    if name_type is None:
        return None
    model = pipette_names.convert_pipette_name(name_type.value)
    definition = load_data.load_definition(
        model.pipette_type, model.pipette_channels, model.pipette_version, model.oem_type
    )
    liquids = list(definition.liquid_properties.values())
    return PipetteDef(
        name=name,
        display_name=definition.display_name,
        robot_type="Flex" if name.startswith("flex_") else "OT-2",
        channels=int(model.pipette_channels.value),
        min_volume=min(lp.min_volume for lp in liquids),
        max_volume=max(lp.max_volume for lp in liquids),
        tip_volumes=frozenset(int(t.value) for lp in liquids for t in lp.supported_tips),
    )


@cache
def _modules() -> dict[str, ModuleDef]:
    modules = {}
    for path in sorted((DATA / "module" / "definitions" / "3").glob("*.json")):
        raw = json.loads(path.read_text())
        modules[raw["model"]] = ModuleDef(
            raw["model"], raw["displayName"], raw["moduleType"], raw.get("config", {})
        )
    return modules


def module(name: str) -> ModuleDef | None:
    """A module by model (`temperatureModuleV2`) or by Opentrons' load name
    (`temperature module gen2`, case-insensitive; GEN1 modules also without `gen1`)."""
    modules = _modules()
    if name in modules:
        return modules[name]
    wanted = name.strip().lower()
    for m in modules.values():
        display = m.display_name.lower()
        if wanted in (display, display.removesuffix(" gen1")):
            return m
    return None


@cache
def _flex_deck() -> dict:
    return _deck("Flex")


def module_models_for(robot_type: str) -> list[str]:
    if robot_type == "OT-2":
        return sorted(OT2_MODULES)
    fixtures = {f["id"] for f in _flex_deck()["cutoutFixtures"]}
    return sorted(m for m in _modules() if m in fixtures or f"{m}Front" in fixtures)


def module_slots(robot_type: str, model: str) -> list[str]:
    """Slots a module may be loaded in. The Flex deck names an addressable area per slot
    (`temperatureModuleV2D1`); the thermocycler has one fixed place on each robot."""
    if model.startswith("thermocycler"):
        return ["7"] if robot_type == "OT-2" else ["B1"]
    if robot_type == "OT-2":
        return SLOTS["OT-2"]
    areas = {a["id"] for a in _flex_deck()["locations"]["addressableAreas"]}
    short = model.replace("heaterShakerModuleV1", "heaterShakerV1")
    return [s for s in SLOTS["Flex"] if f"{short}{s}" in areas]


def parse_api_level(text: str) -> tuple[int, int] | None:
    match = re.fullmatch(r"(\d+)\.(\d+)", text or "")
    return (int(match[1]), int(match[2])) if match else None


def catalogue(robot_type: str) -> dict:
    """What the deck editor offers for one robot type."""
    return {
        "robot": robot_type,
        "slots": SLOTS[robot_type],
        "deck": deck_geometry(robot_type),
        "trash_slots": TRASH_SLOTS[robot_type],
        "api_levels": [f"2.{n}" for n in range(MIN_API_LEVEL[robot_type][1], MAX_API_LEVEL[1] + 1)],
        "labware": [labware(n).as_json() for n in labware_names()],
        "pipettes": [pipette(n).as_json() for n in pipette_names_for(robot_type)],
        "modules": [
            {**module(m).as_json(), "slots": module_slots(robot_type, m)}
            for m in module_models_for(robot_type)
        ],
    }
