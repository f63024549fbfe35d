"""Liquids on the deck: their checks, their volumes through the steps, and simulated optics.

Volumes are followed per well from the deck's starting `contents` through the robot commands
of each step (aspirate, dispense, blow out, drop tip), as a mix of liquids in proportion. A
deck that declares no contents is not followed (nothing is known of its wells).

Simulated absorbance (the Opentrons simulator reads 0.0 everywhere) is a model: Beer–Lambert,
A(λ) = Σ aᵢ(λ) · (Vᵢ / V) · h, where aᵢ(λ) is liquid i's absorbance at full strength over 1 cm,
Vᵢ / V its share of the well and h the liquid's height in cm from the well's geometry.
"""

import math
import random
from dataclasses import dataclass, field

from robots import definitions as defs

EPSILON_UL = 1e-6
WAVELENGTHS = (200, 1000)  # nm a reading may ask for


def check_liquids(deck) -> list[tuple[str, str]]:
    """Liquid definitions and the labware's starting contents, as (path, message)."""
    errors = []
    known: set[str] = set()
    for liquid in deck.liquids:
        path = f"deck.liquids[{liquid.id}]"
        if liquid.id in known:
            errors.append((path, f"duplicate liquid id {liquid.id}"))
        known.add(liquid.id)
        for wavelength, value in liquid.absorbance.items():
            where = f"{path}.absorbance.{wavelength}"
            if not wavelength.isdigit() or not WAVELENGTHS[0] <= int(wavelength) <= WAVELENGTHS[1]:
                errors.append((where, f"{wavelength!r} is not a wavelength in nm (200–1000)"))
            elif not math.isfinite(value) or value < 0:
                errors.append((where, f"absorbance {value} is not a finite number ≥ 0"))
    for labware in deck.all_labware():
        spec = defs.labware(labware.load_name)
        for well, amount in labware.contents.items():
            path = f"deck.labware[{labware.id}].contents.{well}"
            if amount.liquid not in known:
                errors.append((f"{path}.liquid", f"no liquid {amount.liquid} on the deck"))
            if spec is None:
                continue  # the unknown load name is reported on its own
            if well not in spec.wells:
                errors.append((path, f"well {well} is not in {labware.id} ({spec.load_name})"))
            elif amount.volume > spec.well_volume:
                errors.append(
                    (
                        f"{path}.volume",
                        f"{amount.volume:g} µL is more than well {well} of {labware.id} holds "
                        f"({spec.well_volume:g} µL)",
                    )
                )
    return errors


Mix = dict[str, float]  # liquid id → µL


def _take(mix: Mix, volume: float) -> Mix:
    """Remove `volume` from `mix` in proportion; what was removed."""
    total = sum(mix.values())
    if total <= EPSILON_UL:
        return {}
    share = min(1.0, volume / total)
    taken = {liquid: amount * share for liquid, amount in mix.items()}
    for liquid, amount in taken.items():
        mix[liquid] -= amount
        if mix[liquid] <= EPSILON_UL:
            del mix[liquid]
    return taken


def _add(mix: Mix, more: Mix) -> None:
    for liquid, amount in more.items():
        mix[liquid] = mix.get(liquid, 0.0) + amount


@dataclass
class Wells:
    """What each well and each tip holds, followed through robot commands (deck ids)."""

    deck: object
    wells: dict[tuple[str, str], Mix] = field(default_factory=dict)
    tips: dict[str, Mix] = field(default_factory=dict)
    capacity: dict[str, float] = field(default_factory=dict)
    followed: bool = False

    def __post_init__(self):
        for labware in self.deck.all_labware() if self.deck else []:
            spec = defs.labware(labware.load_name)
            self.capacity[labware.id] = spec.well_volume if spec else math.inf
            for well, amount in labware.contents.items():
                self.wells[(labware.id, well)] = {amount.liquid: amount.volume}
                self.followed = True

    def volume(self, labware: str, well: str) -> float:
        return sum(self.wells.get((labware, well), {}).values())

    def apply(self, command: dict) -> str | None:
        """Follow one command; what is wrong with it (a problem naming the well), or None."""
        if not self.followed or command.get("status") not in (None, "succeeded"):
            return None
        kind, p = command["commandType"], command.get("params") or {}
        where = (p.get("labwareId"), p.get("wellName"))
        pipette = p.get("pipetteId")
        tip = self.tips.setdefault(pipette, {}) if pipette else {}
        if kind == "aspirate" and where[1]:
            have = self.volume(*where)
            wanted = float(p.get("volume") or 0)
            _add(tip, _take(self.wells.setdefault(where, {}), wanted))
            if wanted > have + 1e-3:
                return (
                    f"well {where[1]} of {where[0]} holds {have:g} µL; "
                    f"cannot aspirate {wanted:g} µL"
                )
        elif kind in ("dispense", "blowOut") and where[1]:
            volume = float(p.get("volume") or sum(tip.values())) if kind == "dispense" else None
            _add(self.wells.setdefault(where, {}), _take(tip, volume if volume else math.inf))
            now, limit = self.volume(*where), self.capacity.get(where[0], math.inf)
            if now > limit + 1e-3:
                return (
                    f"well {where[1]} of {where[0]} would overflow: {now:g} µL in a "
                    f"{limit:g} µL well"
                )
        elif kind in ("dropTip", "dropTipInPlace", "blowOutInPlace"):
            tip.clear()
        return None

    def snapshot(self) -> dict[str, dict[str, Mix]]:
        """labware id → well → {liquid: µL}, wells that hold anything."""
        out: dict[str, dict[str, Mix]] = {}
        for (labware, well), mix in self.wells.items():
            if sum(mix.values()) > EPSILON_UL:
                out.setdefault(labware, {})[well] = {k: round(v, 3) for k, v in mix.items()}
        return out


def followed(deck, steps: list[list[dict]]) -> Wells:
    """The wells after each step's robot commands, in order."""
    wells = Wells(deck)
    for commands in steps:
        for command in commands:
            wells.apply(command)
    return wells


def absorbance(
    deck,
    mix: Mix,
    labware_load_name: str,
    wavelength: int,
    noise: float = 0.0,
    rng: random.Random | None = None,
) -> float:
    """The model's absorbance of a well holding `mix` (see the module's docstring)."""
    total = sum(mix.values())
    if total <= EPSILON_UL:
        return 0.0
    liquids = {liquid.id: liquid for liquid in deck.liquids}
    height_cm = defs.liquid_height_mm(labware_load_name, total) / 10
    value = (
        sum(
            liquids[liquid].absorbance.get(str(wavelength), 0.0) * amount / total
            for liquid, amount in mix.items()
            if liquid in liquids
        )
        * height_cm
    )
    if noise and rng is not None:
        value += rng.gauss(0.0, noise)
    return round(max(value, 0.0), 4)
