"""What the deck editor offers: Opentrons' own labware, pipettes, modules and slots."""

from functools import cache
from typing import Literal

from ninja import Router

from robots import definitions

router = Router(tags=["opentrons"])


@cache
def _catalogue(robot: str) -> dict:
    return definitions.catalogue(robot)


@router.get("/opentrons/definitions")
def opentrons_definitions(request, robot: Literal["OT-2", "Flex"] = "OT-2"):
    return _catalogue(robot)
