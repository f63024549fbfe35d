"""A fake Opentrons robot-server for tests, built from the machinery robot-server itself uses.

Each run is Opentrons' own `protocol_runner.RunOrchestrator` over a Protocol Engine whose
hardware is the `opentrons` package's hardware simulator with the robot's instruments and
modules attached (not virtual ones): a protocol-intent command waits for `play`, a stopped run
refuses commands, a pipette or module the robot does not have fails its load command, and a
Flex checks its deck configuration — by construction, not by imitation. The HTTP shapes follow
`../shared/design/opentrons.md` (robot-server 8.1). Faults a test can ask for: a frozen robot
(`freeze`), a killed one (`kill`), another client taking the robot (`take_over`), a dropped
connection (`drop_after`), a command the robot refuses (`refuse`), and hooks after the Nth
command (`after_command`).

Two differences, said here: Opentrons' Flex hardware simulator cannot check a pipette against
the one attached (it compares load names with model strings), so on a Flex the fake loads what
it is asked to; `/instruments` still reports the attached pipettes, which is what clients check.
And its simulated gripper cannot move (it reports its force out of bounds), so a Flex's gripper
is the Protocol Engine's virtual one.
"""

import asyncio
import json
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import httpx
from pydantic import TypeAdapter, ValidationError

MODELS = {"OT-2": "OT-2 Standard", "Flex": "OT-3 Standard"}
ENDED = {"stopped", "failed", "succeeded"}
# Module models → the hardware simulator's module type names.
MODULE_TYPES = {
    "temperatureModuleV1": "tempdeck",
    "temperatureModuleV2": "tempdeck",
    "magneticModuleV1": "magdeck",
    "magneticModuleV2": "magdeck",
    "thermocyclerModuleV1": "thermocycler",
    "thermocyclerModuleV2": "thermocycler",
    "heaterShakerModuleV1": "heatershaker",
    "absorbanceReaderV1": "absorbancereader",
}


def now() -> str:
    return datetime.now(UTC).isoformat()


def error(status: int, id_: str, detail: str) -> tuple[int, dict]:
    return status, {"errors": [{"id": id_, "title": id_, "detail": detail}]}


class FakeRun:
    def __init__(self, orchestrator, hardware):
        self.id = orchestrator.run_id
        self.orchestrator, self.hardware = orchestrator, hardware
        self.created_at = now()
        self.current = True
        self.actions: list[dict] = []

    @property
    def status(self) -> str:
        return self.orchestrator.get_run_status().value

    def commands(self) -> list[dict]:
        return [json.loads(c.model_dump_json()) for c in self.orchestrator.get_all_commands()]

    def command(self, command_id: str) -> dict:
        return json.loads(self.orchestrator.get_command(command_id).model_dump_json())

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "createdAt": self.created_at,
            "status": self.status,
            "current": self.current,
            "actions": self.actions,
            "errors": [],
            "pipettes": [],
            "labware": [],
            "modules": [],
            "liquids": [],
            "labwareOffsets": [],
        }


class FakeRobot:
    """`instruments`: mount → pipette (any Opentrons name); `modules`: module models, or
    model → slot (a Flex puts those in its deck configuration); `deck_configuration`: cutout →
    fixture id, replacing the default Flex deck (single slots, a trash bin in A3)."""

    def __init__(
        self,
        robot_type="OT-2",
        instruments=None,
        modules=None,
        deck_configuration=None,
        max_api=(2, 20),
        command_delay_s=0.0,
        gripper=True,
    ):
        from opentrons.protocol_engine import commands

        self.robot_type = robot_type
        self.instruments = instruments or {}
        self.modules = modules if isinstance(modules, dict) else dict.fromkeys(modules or [])
        self.deck = deck_configuration or self._default_deck()
        self.max_api = list(max_api)
        self.gripper = gripper and robot_type == "Flex"  # a Flex with its gripper
        self.command_delay_s = command_delay_s
        self.runs: dict[str, FakeRun] = {}
        self.requests: list[tuple[str, str, float]] = []  # method, path, time.time()
        self.commands_received = 0
        self.drop_after: int | None = None  # close the connection instead of the Nth+1 command
        self.refusing: dict[str, object] = {}  # command type → when (params → bool)
        self.hooks: dict[int, object] = {}  # after the Nth command has run, before answering
        self.frozen = threading.Event()
        self.closed = False
        self._create = TypeAdapter(commands.CommandCreate)
        self._runs_lock = threading.Lock()
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.hardware = self._call(self._build_hardware())
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    # --- the test's controls ----------------------------------------------------------------

    def close(self):
        self.closed = True
        self.frozen.clear()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        for run in list(self.runs.values()):
            try:
                self._call(run.orchestrator.finish(drop_tips_after_run=False), timeout=10)
            except Exception:
                pass
        self.loop.call_soon_threadsafe(self.loop.stop)

    def kill(self):
        """The robot-server process dies: nothing answers any more."""
        self.server.shutdown()
        self.server.server_close()
        self.server = None

    def freeze(self):
        """The robot stops answering (requests hang) until `close`."""
        self.frozen.set()

    def take_over(self):
        """Another client creates a run, as the Opentrons App or a script would."""
        return httpx.post(
            f"http://127.0.0.1:{self.port}/runs",
            headers={"Opentrons-Version": "3"},
            json={"data": {}},
            timeout=30,
        )

    def after_command(self, n: int, hook):
        self.hooks[n] = hook

    def refuse(self, command_type: str, when=lambda params: True):
        """The robot fails this kind of command (those whose params `when` picks)."""
        self.refusing[command_type] = when

    @property
    def current(self) -> FakeRun | None:
        return next((r for r in self.runs.values() if r.current), None)

    def actions(self) -> list[str]:
        return [a["actionType"] for r in self.runs.values() for a in r.actions]

    def commands_after(self, moment: float) -> list[tuple[str, str, float]]:
        return [r for r in self.requests if r[2] > moment and r[1].endswith("/commands")]

    # --- the robot's machinery --------------------------------------------------------------

    def _call(self, coroutine, timeout=60):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def _default_deck(self) -> dict:
        if self.robot_type != "Flex":
            return {}
        fixtures = {1: "singleLeftSlot", 2: "singleCenterSlot", 3: "singleRightSlot"}
        deck = {f"cutout{r}{c}": fixtures[c] for r in "ABCD" for c in (1, 2, 3)}
        deck["cutoutA3"] = "trashBinAdapter"
        for i, (model, slot) in enumerate(self.modules.items()):
            if slot:
                deck[f"cutout{slot}"] = model
        return deck

    def _deck_configuration(self):
        serials = {model: f"M{i}" for i, model in enumerate(self.modules)}
        return [(cutout, fixture, serials.get(fixture)) for cutout, fixture in self.deck.items()]

    async def _build_hardware(self):
        from opentrons.hardware_control import API as OT2API
        from opentrons.hardware_control.modules.types import SimulatingModule
        from opentrons.types import Mount
        from opentrons_shared_data.pipette.pipette_load_name_conversions import (
            convert_pipette_name,
        )

        from robots.definitions import engine_pipette_name

        attached = {
            Mount[mount.upper()]: {
                "model": str(convert_pipette_name(engine_pipette_name(name))),
                "id": f"P{i}",
            }
            for i, (mount, name) in enumerate(self.instruments.items())
        }
        modules: dict[str, list] = {}
        for i, model in enumerate(self.modules):
            modules.setdefault(MODULE_TYPES[model], []).append(
                SimulatingModule(serial_number=f"M{i}", model=model)
            )
        if self.robot_type == "OT-2":
            hardware = await OT2API.build_hardware_simulator(
                attached_instruments=attached, attached_modules=modules, loop=self.loop
            )
        else:
            from opentrons.hardware_control.ot3api import OT3API
            from opentrons.hardware_control.types import OT3Mount

            attached = {OT3Mount.from_mount(mount): spec for mount, spec in attached.items()}
            hardware = await OT3API.build_hardware_simulator(
                attached_instruments=attached,
                attached_modules=modules,
                loop=self.loop,
                strict_attached_instruments=False,
            )
        await hardware.home()
        return hardware

    async def _new_run(self) -> FakeRun:
        """As robot-server creates a run with no protocol: a live engine on the hardware."""
        from opentrons.protocol_engine import Config, DeckType, error_recovery_policy
        from opentrons.protocol_engine.create_protocol_engine import create_protocol_engine
        from opentrons.protocol_runner import RunOrchestrator
        from opentrons.protocols.api_support import deck_type

        robot_type = MODELS[self.robot_type]
        engine = await create_protocol_engine(
            hardware_api=self.hardware,
            config=Config(
                robot_type=robot_type,
                deck_type=DeckType(deck_type.for_simulation(robot_type)),
                use_virtual_modules=False,
                use_virtual_pipettes=self.robot_type == "Flex",
                use_virtual_gripper=self.gripper,
                use_simulated_deck_config=self.robot_type == "OT-2",
            ),
            error_recovery_policy=error_recovery_policy.never_recover,
            load_fixed_trash=False,
            deck_configuration=self._deck_configuration() if self.robot_type == "Flex" else None,
        )
        orchestrator = RunOrchestrator.build_orchestrator(
            hardware_api=self.hardware, protocol_engine=engine, run_id=str(uuid.uuid4())
        )
        return FakeRun(orchestrator, self.hardware)

    # --- HTTP --------------------------------------------------------------------------------

    def _handler(self):
        robot = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _dispatch(self, method):
                url = urlparse(self.path)
                robot.requests.append((method, url.path, time.time()))
                while robot.frozen.is_set() and not robot.closed:
                    time.sleep(0.02)
                if robot.closed:
                    self.close_connection = True
                    return None
                if self.headers.get("Opentrons-Version") is None:
                    return self._answer(
                        *error(422, "OutdatedAPIVersion", "Opentrons-Version header required")
                    )
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}") if length else {}
                try:
                    status, answer = robot.route(
                        method, url.path.strip("/").split("/"), parse_qs(url.query), body
                    )
                except ConnectionAbortedError:
                    self.close_connection = True
                    self.connection.close()
                    return None
                return self._answer(status, answer)

            def do_GET(self):
                self._dispatch("GET")

            def do_POST(self):
                self._dispatch("POST")

            def do_PATCH(self):
                self._dispatch("PATCH")

        return Handler

    def route(self, method, parts, query, body):
        if parts == ["health"]:
            return 200, {
                "name": "fake-robot",
                "robot_model": MODELS[self.robot_type],
                "api_version": "8.1.0",
                "fw_version": "fake",
                "robot_serial": "FAKE001",
                "maximum_protocol_api_version": self.max_api,
                "minimum_protocol_api_version": [2, 0],
                "links": {},
            }
        if parts == ["_fake", "requests"]:  # for a bench running the fake in its own process
            return 200, {"data": self.requests}
        if parts == ["instruments"]:
            return 200, self._instruments()
        if parts == ["modules"]:
            return 200, self._modules()
        if parts == ["deck_configuration"]:
            if self.robot_type != "Flex":
                return error(403, "DeckConfigurationNotSupported", "an OT-2 has none")
            fixtures = [
                {"cutoutId": c, "cutoutFixtureId": f, "opentronsModuleSerialNumber": s}
                for c, f, s in self._deck_configuration()
            ]
            return 200, {"data": {"cutoutFixtures": fixtures, "lastModifiedAt": now()}}
        if parts == ["runs"] and method == "POST":
            return self._create_run()
        if len(parts) >= 2 and parts[0] == "runs":
            run = self.runs.get(parts[1])
            if run is None:
                return error(404, "RunNotFound", f"Run {parts[1]} was not found.")
            return self.route_run(run, method, parts[2:], query, body)
        return error(404, "NotFound", "/".join(parts))

    def _instruments(self) -> dict:
        data = []
        for mount, info in self.hardware.attached_instruments.items():
            if not info.get("name"):
                continue
            data.append(
                {
                    "mount": mount.name.lower(),
                    "instrumentType": "pipette",
                    "instrumentName": info["name"],
                    "instrumentModel": str(info.get("model")),
                    "serialNumber": info.get("pipette_id") or "",
                    "ok": True,
                    "data": {},
                }
            )
        return {"data": data, "meta": {"cursor": 0, "totalLength": len(data)}}

    def _modules(self) -> dict:
        data = [
            {
                "id": module.device_info.get("serial", ""),
                "serialNumber": module.device_info.get("serial", ""),
                "moduleModel": module.model(),
                "moduleType": module.MODULE_TYPE.value,
                "data": {},
            }
            for module in self.hardware.attached_modules
        ]
        return {"data": data, "meta": {"cursor": 0, "totalLength": len(data)}}

    def _create_run(self):
        with self._runs_lock:
            current = self.current
            if current is not None:
                if current.orchestrator.run_has_started() and current.status not in ENDED:
                    return error(409, "RunAlreadyActive", "The current run is not idle.")
                # robot-server stops and replaces an idle current run, whoever created it
                self._call(current.orchestrator.stop())
                current.current = False
            run = self._call(self._new_run())
            self.runs[run.id] = run
            return 201, {"data": run.as_json()}

    def route_run(self, run, method, rest, query, body):
        if not rest and method == "GET":
            return 200, {"data": run.as_json()}
        if not rest and method == "PATCH":
            if not body.get("data", {}).get("current", True) and run.current:
                if not run.orchestrator.get_is_okay_to_clear():
                    return error(409, "RunNotIdle", "The run is not idle.")
                self._call(run.orchestrator.stop())
                run.current = False
            return 200, {"data": run.as_json()}
        if rest == ["actions"] and method == "POST":
            return self._action(run, body.get("data", {}).get("actionType"))
        if rest == ["commands"] and method == "GET":
            cursor = int(query.get("cursor", ["0"])[0])
            length = int(query.get("pageLength", ["20"])[0])
            commands = run.commands()
            return 200, {
                "data": commands[cursor : cursor + length],
                "meta": {"cursor": cursor, "totalLength": len(commands)},
            }
        if len(rest) == 2 and rest[0] == "commands" and method == "GET":
            try:
                return 200, {"data": run.command(rest[1])}
            except Exception:
                return error(404, "CommandNotFound", f"Command {rest[1]} not found.")
        if rest == ["commands"] and method == "POST":
            return self.add_command(run, query, body)
        return error(404, "NotFound", "/".join(rest))

    def _action(self, run, kind):
        if kind not in ("play", "pause", "stop"):
            return error(422, "InvalidRequest", f"unknown actionType {kind!r}")
        if not run.current or run.status in ENDED:
            return error(409, "RunActionNotAllowed", f"Run {run.id} has already stopped.")
        orchestrator = run.orchestrator
        if kind == "play":
            if orchestrator.run_has_started():
                orchestrator.play(deck_configuration=self._deck_configuration())
            else:  # robot-server runs the live runner in the background until its queue empties
                asyncio.run_coroutine_threadsafe(
                    orchestrator.run(deck_configuration=self._deck_configuration()), self.loop
                )
        elif kind == "pause":
            orchestrator.pause()
        else:
            self._call(orchestrator.stop())
        action = {"id": str(uuid.uuid4()), "createdAt": now(), "actionType": kind}
        run.actions.append(action)
        return 201, {"data": action}

    def add_command(self, run, query, body):
        from opentrons.protocol_engine.errors import ProtocolEngineError

        self.commands_received += 1
        number = self.commands_received
        if self.drop_after is not None and number > self.drop_after:
            raise ConnectionAbortedError()
        if not run.current:
            return error(409, "RunNotCurrent", f"Run {run.id} is not the current run.")
        try:
            data = body["data"]
            params = dict(data.get("params") or {})
            refusing = self.refusing.get(data["commandType"])
            if refusing is not None and refusing(params):  # made to fail in the robot's engine:
                if "volume" in params:  # a volume no tip holds,
                    params["volume"] = 1_000_000
                else:  # or a labware definition version it does not have
                    params["version"] = 999
            create = self._create.validate_python(
                {
                    "commandType": data["commandType"],
                    "params": params,
                    "intent": data.get("intent", "protocol"),
                }
            )
        except (KeyError, TypeError, ValidationError) as exc:
            return error(422, "InvalidRequest", str(exc)[:500])
        time.sleep(self.command_delay_s)
        wait = query.get("waitUntilComplete", ["false"])[0] == "true"
        timeout = int(query["timeout"][0]) if "timeout" in query else None
        try:
            added = self._call(
                run.orchestrator.add_command_and_wait_for_interval(
                    create, wait_until_complete=wait, timeout=timeout
                )
            )
        except ProtocolEngineError as exc:
            status = 409 if "Stopped" in type(exc).__name__ else 400
            return error(status, type(exc).__name__, exc.message)
        hook = self.hooks.pop(number, None)
        if hook is not None:
            hook()
        return 201, {"data": run.command(added.id)}


if (
    __name__ == "__main__"
):  # a fake robot in its own process: python -m tests.fakerobot OT-2 right=…
    import os
    import sys
    import tempfile

    os.environ.setdefault("OT_API_CONFIG_DIR", tempfile.mkdtemp(prefix="fake-robot-"))
    robot_type, *mounts = sys.argv[1:]
    fake = FakeRobot(robot_type, instruments=dict(m.split("=", 1) for m in mounts))
    print(fake.port, flush=True)
    threading.Event().wait()
