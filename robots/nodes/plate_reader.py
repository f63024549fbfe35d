"""The Flex Absorbance Plate Reader (`absorbanceReaderV1`, Protocol API 2.21 and later).

A plate goes in and out with the gripper (the Move labware step); the lid closes, the reader
is initialised with a mode and wavelengths, and a read gives each well's absorbance per
wavelength: `{{ nodes.ID.output.readings.450.A1 }}`. On a robot these are the robot's readings;
on the simulator (whose readings are all 0.0) they come from the model in robots.liquids, from
what the dry run or run has put in each well.
"""

import random
from typing import ClassVar, Literal

from pydantic import Field, model_validator

from canvas.registry import NodeError
from robots import definitions as defs
from robots.liquids import absorbance
from robots.nodes.base import ModuleParams, module
from robots.nodes.modules import ModuleNode

LEVEL = (2, 21)
# The wavelengths (nm) the reader's filters offer, as the reader reports them (robot-server
# refuses others when the reader initialises; Opentrons' simulator does not check).
WAVELENGTHS = (450, 570, 600, 650)


class ReaderNode(ModuleNode):
    category = "opentrons.plate_reader"
    module_type = "absorbanceReaderType"

    def check(self, params, document):
        errors = super().check(params, document)
        level = defs.parse_api_level(document.robot.api_level) if document.robot else None
        if level is not None and level < LEVEL:
            errors.append(
                ("module", "the plate reader needs Protocol API 2.21 or later (robot.api_level)")
            )
        return errors


class LidParams(ModuleParams):
    action: Literal["open", "close"] = "close"


class ReaderLid(ReaderNode):
    type = "opentrons.plate_reader.lid"
    title = "Plate reader lid"
    Params = LidParams
    summary = "{module}: {action} lid"

    def protocol(self, session, params):
        reader = module(session, params)
        reader.open_lid() if params.action == "open" else reader.close_lid()


class InitializeParams(ModuleParams):
    mode: Literal["single", "multi"] = "single"
    wavelengths: list[int] = Field(min_length=1, max_length=6, description="nm")
    reference_wavelength: int | None = Field(default=None, ge=350, le=1000)

    @model_validator(mode="after")
    def _bounds(self):
        if self.mode == "single" and len(self.wavelengths) != 1:
            raise ValueError("single mode reads one wavelength; use multi for more")
        unsupported = [
            w for w in [*self.wavelengths, self.reference_wavelength] if w and w not in WAVELENGTHS
        ]
        if unsupported:
            raise ValueError(
                f"the reader has no filter for {', '.join(map(str, unsupported))} nm: "
                f"use {', '.join(map(str, WAVELENGTHS))}"
            )
        return self


class ReaderInitialize(ReaderNode):
    type = "opentrons.plate_reader.initialize"
    title = "Initialise plate reader"
    Params = InitializeParams
    summary = "{module}: {wavelengths} nm"

    def protocol(self, session, params):
        module(session, params).initialize(
            params.mode, params.wavelengths, params.reference_wavelength
        )


class ReadParams(ModuleParams):
    simulated_noise: float = Field(
        default=0.0, ge=0, le=1, description="Simulator only: absorbance noise (std. dev.)"
    )
    seed: int | None = Field(default=None, description="Simulator only: noise seed")


class ReaderRead(ReaderNode):
    type = "opentrons.plate_reader.read"
    title = "Read absorbance"
    Params = ReadParams
    summary = "{module}: read"
    outputs = {"readings": "absorbance by wavelength (nm) and well, e.g. readings.450.A1"}
    reads_instrument: ClassVar[bool] = True  # on a robot, the outputs are the robot's

    def protocol(self, session, params):
        module(session, params).read()

    def read_outputs(self, params, commands, session):
        read = [c for c in commands if c["commandType"] == "absorbanceReader/read"]
        if not read or read[-1].get("status") != "succeeded":
            return {"readings": {}}
        data = (read[-1].get("result") or {}).get("data") or {}
        readings = {str(w): dict(wells) for w, wells in data.items()}
        if getattr(session, "simulated", False):
            readings = self.simulate(params, session, readings)
        return {"readings": readings}

    def simulate(self, params, session, zeros: dict) -> dict:
        """The model's readings of the plate in the reader (same wells and wavelengths)."""
        plate = session.labware_on(params.module)
        if plate is None:
            raise NodeError("no plate in the reader", retryable=False)
        rng = random.Random(params.seed)
        wells = session.wells.wells
        return {
            wavelength: {
                well: absorbance(
                    session.deck,
                    wells.get((plate.id, well), {}),
                    plate.load_name,
                    int(wavelength),
                    params.simulated_noise,
                    rng,
                )
                for well in values
            }
            for wavelength, values in zeros.items()
        }
