"""The simulator back end: the real `opentrons` simulator, in-process, one context per run.

Each node becomes Protocol API calls with the API's own arguments; what the simulator refuses
fails the node with the simulator's message. The Protocol Engine commands each node produced
are its command log (the same JSON a robot serves over HTTP).
"""

import atexit
import json
import logging
import threading
from contextlib import ExitStack

from canvas.registry import NodeError
from robots.liquids import Wells

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


# Ready contexts, one spare per (API level, robot type): opening a session takes one and a
# background thread makes the next, so a run's first command does not wait for a simulator.
_ready: dict[tuple[str, str], list] = {}
_refilling: set[tuple[str, str]] = set()
_ready_lock = threading.Lock()


def ready_context(api_level: str, robot_type: str):
    key = (api_level, robot_type)
    with _ready_lock:
        spares = _ready.get(key) or []
        found = spares.pop() if spares else None
    warm(api_level, robot_type)
    return found or new_context(api_level, robot_type)


def warm(api_level: str, robot_type: str) -> None:
    """Make a spare context for this kind of session, in the background (once at a time)."""
    key = (api_level, robot_type)
    with _ready_lock:
        if _ready.get(key) or key in _refilling:
            return
        _refilling.add(key)

    def refill():
        try:
            made = new_context(api_level, robot_type)
            with _ready_lock:
                _ready.setdefault(key, []).append(made)
        except Exception:
            log.exception("could not prepare a %s simulator at API %s", robot_type, api_level)
        finally:
            with _ready_lock:
                _refilling.discard(key)

    # Not a daemon: an exit waits the fraction of a second it takes, rather than leaving
    # Opentrons' own at-exit clean-up waiting forever for a half-made engine.
    threading.Thread(target=refill, name=f"warm-{robot_type}-{api_level}").start()


@atexit.register
def _close_spares() -> None:
    with _ready_lock:
        spares = [stack for made in _ready.values() for _, stack in made]
        _ready.clear()
    for stack in spares:
        stack.close()


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


def readable(command: dict, names: dict[str, str]) -> dict:
    """A command for the run's log: deck ids in place of engine ids, wherever they appear."""

    def named(value):
        if isinstance(value, dict):
            return {k: named(v) for k, v in value.items()}
        if isinstance(value, list):
            return [named(v) for v in value]
        return names.get(value, value) if isinstance(value, str) else value

    entry = {
        "commandType": command["commandType"],
        "params": named(command.get("params") or {}),
        "status": command.get("status"),
    }
    if command.get("error"):
        entry["error"] = (command["error"] or {}).get("detail")
    return entry


class SimulatorSession:
    simulated = True

    def __init__(self, document, label: str = "simulator"):
        self.label = label
        self.robot_type = document.robot.type
        self.context, self._stack = ready_context(document.robot.api_level, self.robot_type)
        self.labware, self.pipettes, self.modules = {}, {}, {}
        self.names: dict[str, str] = {}  # engine id → deck id, for readable command logs
        self.last_commands: list[dict] = []
        self.deck = document.deck
        self.wells = Wells(document.deck)  # what each well holds, step by step
        self.liquid_problems: list[str] = []  # of the last step
        try:
            self._load_deck(document.deck)
        except Exception as exc:
            self.end()
            raise DeckError(f"the deck could not be loaded: {error_message(exc)}")
        self.setup_commands = self._commands_since(0)
        self.raw_commands: list[dict] = []

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
        liquids = {
            liquid.id: ctx.define_liquid(
                name=liquid.name, description=liquid.description, display_color=liquid.color
            )
            for liquid in deck.liquids
        }
        for item in deck.all_labware():
            for well, amount in item.contents.items():
                self.labware[item.id][well].load_liquid(liquids[amount.liquid], amount.volume)
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

    def cutout_fixtures(self) -> dict[str, set[str]]:
        """The fixtures the deck needs in each cutout of a Flex (what the Protocol Engine
        worked out while loading it), e.g. {"cutoutA3": {"trashBinAdapter"}}."""
        state = self._engine_state().addressable_areas._state
        return {
            cutout: {f.cutout_fixture_id for f in fixtures}
            for cutout, fixtures in state.potential_cutout_fixtures_by_cutout_id.items()
        }

    def _engine_state(self):
        """The Protocol Engine's state behind the context: the one private path we use."""
        return self.context._core._engine_client.state

    def _engine_commands(self):
        return self._engine_state().commands.get_all()

    def _commands_since(self, start: int) -> list[dict]:
        return [json.loads(c.model_dump_json()) for c in self._engine_commands()[start:]]

    def readable(self, command: dict) -> dict:
        return readable(command, self.names)

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
            problems = (self.wells.apply(c) for c in self.last_commands)
            self.liquid_problems = [p for p in problems if p]
        return node_type.read_outputs(params, self.raw_commands, self)

    def labware_on(self, module_id: str):
        """The deck's labware item now on a module (moved there or loaded on it), or None."""
        module = self.modules.get(module_id)
        on = module.labware if module is not None else None
        if on is None:
            return None
        deck_id = self.names.get(on._core.labware_id)
        return next((lw for lw in self.deck.all_labware() if lw.id == deck_id), None)

    def replace_tip(self, pipette) -> None:
        """A fresh tip on `pipette`, dropping the one it holds (Protocol Designer's policy)."""
        if pipette.has_tip:
            pipette.drop_tip()
        pipette.pick_up_tip()

    def commands_of(self, action) -> list[dict]:
        """Call `action()` on this context; the engine commands it produced."""
        start = len(self._engine_commands())
        action()
        return self._commands_since(start)

    def reestablish(self, steps, fresh_tip: bool = False) -> list[str]:
        """Replay completed steps (node type, params) without logging them: tips, liquids and
        module states become what they were. What was done, as lines for the run's log."""
        for node_type, params in steps:
            node_type.protocol(self, params)
        held = [deck_id for deck_id, p in self.pipettes.items() if p.has_tip]
        return [f"pipette {p} holds its tip, as before" for p in held]

    def stop(self):
        """Nothing moves in a simulation; the engine simply starts no further command."""

    def end(self, cancelled: bool = False):
        stack, self._stack = getattr(self, "_stack", None), None
        if stack is not None:
            stack.close()
