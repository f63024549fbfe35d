"""The simulator back end: the real `opentrons` simulator, in-process, one context per run.

Each node becomes Protocol API calls with the API's own arguments; what the simulator refuses
fails the node with the simulator's message. The Protocol Engine commands each node produced
are its command log (the same JSON a robot serves over HTTP).
"""

import json
import logging
import threading
from contextlib import ExitStack

from canvas.registry import NodeError

log = logging.getLogger(__name__)
_create_lock = threading.Lock()


class DeckError(Exception):
    """The deck could not be loaded (the simulator's message)."""


def _simulate():
    # ~3 s the first time; imported here so that only processes that run robots pay for it.
    from opentrons import simulate

    return simulate


def new_context(api_level: str, robot_type: str):
    """A live ProtocolContext whose engine thread we can close ourselves.

    `simulate.get_protocol_api` parks each context's engine in a module-level ExitStack that is
    only closed at exit (3 threads per context, forever). We swap in our own stack while the
    context is created — the one place that touches this private detail.
    """
    simulate = _simulate()
    with _create_lock:
        saved = simulate._LIVE_PROTOCOL_ENGINE_CONTEXTS
        stack = simulate._LIVE_PROTOCOL_ENGINE_CONTEXTS = ExitStack()
        try:
            context = simulate.get_protocol_api(api_level, robot_type=robot_type)
        except Exception:
            stack.close()
            raise
        finally:
            simulate._LIVE_PROTOCOL_ENGINE_CONTEXTS = saved
    return context, stack


def error_message(exc: Exception) -> str:
    """The simulator's own words, without its error-code prefix."""
    name = type(exc).__name__
    text = str(exc).strip()
    if name == "OutOfTipsError" or (not text and "Tip" in name):
        return "out of tips: every tip in the pipette's tip racks has been used"
    if isinstance(exc, KeyError):
        return f"no well {exc.args[0]} in that labware"
    # "Error 4000 GENERAL_ERROR (ProtocolCommandFailedError): TipNotAttachedError: …"
    if text.startswith("Error ") and "): " in text:
        text = text.split("): ", 1)[1]
    return text or name


class SimulatorSession:
    simulated = True

    def __init__(self, document, label: str = "simulator"):
        self.label = label
        self.robot_type = document.robot.type
        self.context, self._stack = new_context(document.robot.api_level, self.robot_type)
        self.labware, self.pipettes, self.modules = {}, {}, {}
        self.names: dict[str, str] = {}  # engine id → deck id, for readable command logs
        self.last_commands: list[dict] = []
        try:
            self._load_deck(document.deck)
        except Exception as exc:
            self.end()
            raise DeckError(f"the deck could not be loaded: {error_message(exc)}")
        self.setup_commands = self._commands_since(0)

    # --- deck -------------------------------------------------------------------------------

    def _load_deck(self, deck):
        ctx = self.context
        if deck is None:
            return
        for item in deck.labware:
            self.labware[item.id] = ctx.load_labware(item.load_name, item.slot)
        for item in deck.modules:
            module = ctx.load_module(item.model, item.slot)
            self.modules[item.id] = module
            if item.labware:
                self.labware[item.labware.id] = module.load_labware(item.labware.load_name)
        if deck.trash and self.robot_type == "Flex":
            ctx.load_trash_bin(deck.trash.slot)
        for item in deck.pipettes:
            racks = [self.labware[r] for r in item.tip_racks if r in self.labware]
            self.pipettes[item.id] = ctx.load_instrument(
                item.instrument, item.mount, tip_racks=racks
            )
        for deck_id, thing in {**self.labware, **self.pipettes, **self.modules}.items():
            core = thing._core
            engine_id = getattr(core, "labware_id", None) or getattr(core, "pipette_id", None)
            self.names[engine_id or core.module_id] = deck_id

    # --- commands ---------------------------------------------------------------------------

    def _engine_commands(self):
        return self.context._core._engine_client.state.commands.get_all()

    def _commands_since(self, start: int) -> list[dict]:
        return [json.loads(c.model_dump_json()) for c in self._engine_commands()[start:]]

    def readable(self, command: dict) -> dict:
        """A command for the run's log: deck ids in place of engine ids."""
        params = {
            k: self.names.get(v, v) if k in ("labwareId", "pipetteId", "moduleId") else v
            for k, v in (command.get("params") or {}).items()
        }
        entry = {
            "commandType": command["commandType"],
            "params": params,
            "status": command.get("status"),
        }
        if command.get("error"):
            entry["error"] = (command["error"] or {}).get("detail")
        return entry

    # --- the controller interface -------------------------------------------------------------

    def execute(self, node_type, params, context=None) -> dict:
        """Run a node type's Protocol API calls; its outputs, read from the commands."""
        start = len(self._engine_commands())
        try:
            node_type.protocol(self, params)
        except NodeError:
            raise
        except Exception as exc:
            raise NodeError(error_message(exc), retryable=False)
        finally:
            self.raw_commands = self._commands_since(start)
            self.last_commands = [self.readable(c) for c in self.raw_commands]
        return node_type.read_outputs(params, self.raw_commands, self)

    def stop(self):
        """Nothing moves in a simulation; the engine simply starts no further command."""

    def end(self, cancelled: bool = False):
        stack, self._stack = getattr(self, "_stack", None), None
        if stack is not None:
            stack.close()
