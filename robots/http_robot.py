"""The HTTP back end: a robot's own HTTP API (robot-server, port 31950).

Every node is first played on the simulator with the same deck: what the simulator refuses
never reaches the robot, and the Protocol Engine commands it produces (transfers split into
tips, aspirates and dispenses exactly as the Protocol API does) are sent one by one to the
robot. While the run takes the steps its dry run took, those are the dry run's commands (no
second simulation on the way to the robot: `dryrun.Script`); otherwise a shadow simulator of
the session plays each step. How robot-server behaves (`../shared/design/opentrons.md`)
decides the rest:

- Commands go with `"intent": "setup"` into an idle run, which robot-server runs at once; a
  protocol-intent command would wait for `play`, and a played run ends when its queue empties.
- Before any motion the robot is compared with the workflow: model, Protocol API level,
  pipettes (through Opentrons' own name mapping), modules and a Flex's deck configuration.
  Load commands go before the first motion command, so a definition the robot lacks is
  refused before it moves.
- Every wait has a deadline and checks that our run is still the robot's current run (anyone
  may replace an idle run) and was not stopped by someone else.
- The command log is what the robot returned: a refused command with the robot's error, and a
  command in flight when the connection failed as "outcome unknown".
"""

import copy
import time

import httpx
from django.conf import settings

from canvas.registry import NodeError
from robots import definitions as defs
from robots.simulator import SimulatorSession, readable

HEADERS = {"Opentrons-Version": "3"}
ROBOT_MODELS = {"OT-2": "OT-2 Standard", "Flex": "OT-3 Standard"}
COMMAND_WAIT_MS = 1000  # one long-poll of a command; a cancel is noticed between polls
POLL_S = 0.05
ENDED = {"stop-requested", "stopped", "finishing", "failed", "succeeded"}
# Commands whose duration is the protocol's (their deadline is that long plus the timeout).
SLOW_COMMANDS = {
    "temperatureModule/waitForTemperature",
    "heaterShaker/waitForTemperature",
    "heaterShaker/setAndWaitForShakeSpeed",
    "thermocycler/waitForBlockTemperature",
    "thermocycler/waitForLidTemperature",
    "thermocycler/runProfile",
    "thermocycler/runExtendedProfile",
}


class RobotError(Exception):
    """The robot could not do what was asked; the message names the robot and the cause
    (`status`: the HTTP status the robot answered, when it answered)."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class RobotUnreachable(RobotError):
    """No answer: whether the robot did what was asked is unknown."""


class SessionCancelled(Exception):
    """The run was cancelled while its robot session opened; nothing was sent after it."""


class RobotClient:
    """Requests with the robot's name and address in every error."""

    def __init__(self, robot, timeout: float | None = None):
        self.robot = robot
        self.timeout = float(timeout or settings.SDL_ROBOT_TIMEOUT_S)
        self.http = httpx.Client(
            base_url=f"http://{robot.host}:{robot.port}", headers=HEADERS, timeout=self.timeout
        )

    def where(self) -> str:
        return f"robot {self.robot.name} at {self.robot.host}:{self.robot.port}"

    def request(self, method: str, path: str, timeout: float | None = None, **kw) -> dict:
        try:
            response = self.http.request(method, path, timeout=timeout or self.timeout, **kw)
        except httpx.TimeoutException:
            raise RobotUnreachable(
                f"{self.where()} did not answer within {timeout or self.timeout:g} s"
            )
        except httpx.HTTPError as exc:
            raise RobotUnreachable(f"{self.where()} could not be reached: {exc}")
        if response.status_code >= 400:
            try:
                body = response.json()
                errors = body.get("errors") or [body]
                detail = "; ".join(str(e.get("detail") or e.get("title") or e) for e in errors)
            except (ValueError, AttributeError):
                detail = response.text[:300]
            raise RobotError(
                f"{self.where()} answered {response.status_code}: {detail}",
                status=response.status_code,
            )
        try:
            return response.json()
        except ValueError:
            raise RobotError(f"{self.where()} answered something that is not JSON")

    def close(self):
        self.http.close()


def check_health(robot) -> dict:
    """What the robot says about itself (admin "check health"), with `problem` set when it is
    not the kind of robot it is registered as."""
    client = RobotClient(robot)
    try:
        health = client.request("GET", "/health")
    finally:
        client.close()
    expected = ROBOT_MODELS.get(robot.robot_type)
    if health.get("robot_model") != expected:
        health["problem"] = (
            f"reports {health.get('robot_model') or 'no model'}; registered as an "
            f"{robot.robot_type} ({expected})"
        )
    return health


def _level(text) -> tuple[int, ...]:
    return tuple(int(x) for x in (text.split(".") if isinstance(text, str) else text))


def preflight(client: RobotClient, document, shadow: SimulatorSession) -> list[str]:
    """What the workflow needs that the robot is not or does not have, before any motion."""
    health = client.request("GET", "/health")
    robot_type = document.robot.type
    expected = ROBOT_MODELS[robot_type]
    if health.get("robot_model") != expected:
        return [f"it is an {health.get('robot_model')}, the workflow needs an {expected}"]
    problems = []
    level, highest = _level(document.robot.api_level), health.get("maximum_protocol_api_version")
    if highest and level > _level(highest):
        problems.append(
            f"the workflow needs Protocol API {document.robot.api_level}; the robot runs at "
            f"most {'.'.join(map(str, highest))} (update the robot, or lower the workflow's "
            "API level)"
        )
    lowest = health.get("minimum_protocol_api_version")
    if lowest and level < _level(lowest):
        problems.append(
            f"the workflow's Protocol API {document.robot.api_level} is below the robot's "
            f"minimum {'.'.join(map(str, lowest))}"
        )
    deck = document.deck
    if deck is None:
        return problems
    attached = {
        i.get("mount"): i.get("instrumentName")
        for i in client.request("GET", "/instruments").get("data", [])
        if i.get("instrumentType", "pipette") == "pipette"
    }
    for pipette in deck.pipettes:
        have = attached.get(pipette.mount)
        if have != defs.engine_pipette_name(pipette.instrument):
            problems.append(
                f"the deck needs {pipette.instrument} on the {pipette.mount} mount; "
                f"the robot has {have or 'nothing'}"
            )
    present = [m.get("moduleModel") for m in client.request("GET", "/modules").get("data", [])]
    for module in deck.modules:
        if module.model in present:
            present.remove(module.model)
        else:
            problems.append(
                f"the deck needs a {module.model} (module {module.id}); the robot has none attached"
            )
    if robot_type == "Flex":
        problems += deck_configuration_problems(client, deck, shadow)
    return problems


def deck_configuration_problems(client, deck, shadow) -> list[str]:
    """A Flex's deck configuration against what the deck needs in each cutout."""
    configured = {
        f.get("cutoutId"): f.get("cutoutFixtureId")
        for f in client.request("GET", "/deck_configuration")["data"].get("cutoutFixtures", [])
    }
    needed = shadow.cutout_fixtures()
    for module in deck.modules:
        needed.setdefault(f"cutout{module.slot}", set()).add(module.model)
    problems = []
    for cutout, fixtures in sorted(needed.items()):
        have = configured.get(cutout)
        if not any(have and have.startswith(f) for f in fixtures):
            problems.append(
                f"the deck needs {' or '.join(sorted(fixtures))} in {cutout}; the robot's deck "
                f"configuration has {have or 'nothing'} there"
            )
    return problems


class HttpSession:
    simulated = False

    def __init__(self, robot, document, cancelled=lambda: False, script=None):
        self.robot = robot
        self.label = f"{robot.name} over HTTP at {robot.host}:{robot.port}"
        self.client = RobotClient(robot)
        self.run_id: str | None = None
        self.ids: dict[str, str] = {}  # shadow engine id → robot engine id
        self.names: dict[str, str] = {}  # robot engine id → deck id
        self.last_commands: list[dict] = []
        self.lost = False  # a request went unanswered: the robot's state is unknown
        self.overran = False  # a command outlived its deadline: the robot must be stopped
        self.shadow = SimulatorSession(document, label=f"shadow of {robot.name}")
        self.script = None  # a passed dry run's commands, while the run follows it
        self.behind: list[tuple] = []  # steps sent from the script, not yet on the shadow
        try:
            self._begin(document, cancelled)
            if script is not None and self._correlate(self.shadow.setup_commands, script.setup):
                self.script = script
        except BaseException:
            self.end()
            raise

    def _begin(self, document, cancelled):
        def check():
            if cancelled():
                raise SessionCancelled("cancelled while the robot session opened")

        check()
        problems = preflight(self.client, document, self.shadow)
        if problems:
            raise RobotError(f"{self.client.where()}: " + "; ".join(problems))
        check()
        created = self.client.request("POST", "/runs", json={"data": {}})["data"]
        self.run_id = created["id"]
        self._still_ours()  # anyone may replace an idle run: make sure ours is current
        # Liquids are our bookkeeping: a robot's run has none defined, and would refuse them.
        setup = [c for c in self.shadow.setup_commands if c["commandType"] != "loadLiquid"]
        loads = [c for c in setup if c["commandType"].startswith("load")]
        for command in loads + [c for c in setup if c not in loads]:  # loads before motion
            check()
            try:
                self._send(command)
            except NodeError as exc:
                raise RobotError(str(exc))

    # --- commands ---------------------------------------------------------------------------

    def _correlate(self, shadow: list[dict], recorded: list[dict]) -> bool:
        """The ids the same commands got on the shadow and in the dry run (or the reverse)
        name the same robot ids; False when the commands are not the same."""
        if [c["commandType"] for c in shadow] != [c["commandType"] for c in recorded]:
            return False
        for one, other in zip(shadow, recorded, strict=True):
            for key in ("labwareId", "pipetteId", "moduleId"):
                mine, theirs = (
                    (one.get("result") or {}).get(key),
                    (other.get("result") or {}).get(key),
                )
                if mine in self.ids and theirs:
                    self.ids[theirs] = self.ids[mine]
                elif theirs in self.ids and mine:
                    self.ids[mine] = self.ids[theirs]
        return True

    def _catch_up(self) -> None:
        """The run left the script: play the steps sent from it on the shadow, which must
        produce the very commands that were sent, before the shadow decides again."""
        self.script, behind, self.behind = None, self.behind, []
        for node_type, params, step in behind:
            self.shadow.execute(node_type, params)
            made, sent = self.shadow.raw_commands, step["commands"]
            if not self._correlate(made, sent) or [self._map(c["params"]) for c in made] != [
                self._map(c["params"]) for c in sent
            ]:
                raise NodeError(
                    f"{self.client.where()}: the simulator no longer produces the commands "
                    f"sent for {step['node']}; check the robot before going on",
                    retryable=False,
                )

    def _map(self, value):
        if isinstance(value, dict):
            return {k: self._map(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._map(v) for v in value]
        return self.ids.get(value, value) if isinstance(value, str) else value

    def _still_ours(self) -> None:
        run = self.client.request("GET", f"/runs/{self.run_id}")["data"]
        if not run.get("current"):
            raise RobotError(
                f"{self.client.where()}: our robot run {self.run_id} is no longer the robot's "
                "current run (another client took the robot)"
            )
        if run.get("status") in ENDED:
            raise RobotError(
                f"{self.client.where()}: our robot run {self.run_id} was {run['status']} on "
                "the robot, not by SDL Canvas"
            )

    def _deadline(self, command: dict) -> float:
        params = command.get("params") or {}
        expected = 0.0
        if command["commandType"] == "waitForDuration":
            expected = float(params.get("seconds") or 0)
        elif command["commandType"] in SLOW_COMMANDS:
            expected = float(settings.SDL_ROBOT_SLOW_COMMAND_S)
        return time.monotonic() + self.client.timeout + expected

    def _send(self, command: dict, context=None) -> dict:
        """Send one command and wait for its end; the robot's own record of it is logged."""
        body = {
            "data": {
                "commandType": command["commandType"],
                "params": self._map(command.get("params") or {}),
                "intent": "setup",
            }
        }
        deadline = self._deadline(command)
        try:
            sent = self.client.request(
                "POST",
                f"/runs/{self.run_id}/commands",
                params={"waitUntilComplete": "true", "timeout": COMMAND_WAIT_MS},
                json=body,
            )["data"]
            while sent.get("status") in ("queued", "running"):
                if context is not None:
                    context.check_cancelled()
                if time.monotonic() > deadline:
                    self.overran = True
                    raise RobotError(
                        f"{self.client.where()} did not finish {command['commandType']} in "
                        f"{self.client.timeout:g} s"
                    )
                self._still_ours()
                time.sleep(POLL_S)
                sent = self.client.request("GET", f"/runs/{self.run_id}/commands/{sent['id']}")[
                    "data"
                ]
        except RobotUnreachable as exc:
            self.lost = True
            self.last_commands.append(
                {
                    **readable({**command, "params": body["data"]["params"]}, self.names),
                    "status": "unknown",
                    "error": f"outcome unknown: {exc}",
                }
            )
            raise
        except RobotError as exc:
            if exc.status == 409:
                self._still_ours()  # says why, when someone else took or stopped the robot
            raise
        for key in ("labwareId", "pipetteId", "moduleId"):
            shadow_id = (command.get("result") or {}).get(key)
            robot_id = (sent.get("result") or {}).get(key)
            if shadow_id and robot_id:
                self.ids[shadow_id] = robot_id
                self.names[robot_id] = self.shadow.names.get(shadow_id, shadow_id)
        self.last_commands.append(readable(sent, self.names))
        if sent.get("status") == "failed":
            error = sent.get("error") or {}
            raise NodeError(
                f"{self.client.where()} refused {command['commandType']}: "
                f"{error.get('detail') or error.get('errorType') or 'failed'}",
                retryable=False,
            )
        return sent

    # --- the controller interface -------------------------------------------------------------

    def execute(self, node_type, params, context=None) -> dict:
        self.last_commands = []  # a step refused before motion sent nothing
        step = self.script.take(getattr(context, "node_id", None), params) if self.script else None
        if step is not None:  # what the dry run's simulator produced for this very step
            self.behind.append((node_type, params, step))
            output, commands = copy.deepcopy(step["outputs"]), step["commands"]
        else:
            self._catch_up()
            output = self.shadow.execute(node_type, params, context)  # refuses before motion
            commands = self.shadow.raw_commands
        sent = []
        try:
            for command in commands:
                if context is not None:
                    context.check_cancelled()
                sent.append(self._send(command, context=context))
        except RobotError as exc:
            raise NodeError(str(exc), retryable=False)
        if getattr(node_type, "reads_instrument", False):  # a measurement: the robot's own
            return node_type.read_outputs(params, sent, self)
        return output

    def reestablish(self, steps, fresh_tip: bool = False) -> list[str]:
        """Resume on a real robot: the shadow replays the completed steps (used tips, liquids)
        and, as the robot's own stop dropped them, drops the tips it still holds; with
        `fresh_tip` the robot picks up a new one for each such pipette. Lines for the log."""
        said = []
        self._catch_up()
        self.shadow.reestablish(steps)
        for deck_id, pipette in self.shadow.pipettes.items():
            if not pipette.has_tip:
                continue
            pipette.drop_tip()  # on the shadow only: the robot holds no tip in a new run
            if not fresh_tip:
                said.append(f"pipette {deck_id}: no tip (the earlier run's tip was dropped)")
                continue
            self.last_commands = []
            for command in self.shadow.commands_of(pipette.pick_up_tip):
                self._send(command)
            said.append(f"pipette {deck_id}: picked up a fresh tip")
        return said

    def stop(self):
        """Stop our robot run (never one we did not create); quickly when the robot is lost."""
        if self.run_id is None:
            return
        try:
            self.client.request(
                "POST",
                f"/runs/{self.run_id}/actions",
                timeout=0.5 if self.lost else None,
                json={"data": {"actionType": "stop"}},
            )
        except RobotError:
            pass

    def end(self, cancelled: bool = False):
        try:
            if self.run_id is not None:
                if cancelled or self.overran or self.lost:
                    self.stop()
                else:  # an idle run with nothing left to do: dismiss it
                    self.client.request(
                        "PATCH", f"/runs/{self.run_id}", json={"data": {"current": False}}
                    )
        except RobotError:
            pass
        finally:
            self.client.close()
            self.shadow.end()
