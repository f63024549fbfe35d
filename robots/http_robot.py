"""The HTTP back end: a robot's own HTTP API (robot-server, port 31950).

Every node is first played on a shadow simulator with the same deck: what the simulator
refuses never reaches the robot, and the Protocol Engine commands it produces (transfers split
into tips, aspirates and dispenses exactly as the Protocol API does) are sent one by one to
the robot, each waited for. Engine ids differ between the two, so ids are mapped as the load
commands come back.
"""

import time

import httpx
from django.conf import settings

from canvas.registry import NodeError
from robots import definitions as defs
from robots.simulator import SimulatorSession

HEADERS = {"Opentrons-Version": "3"}
COMMAND_WAIT_MS = 5000
ROBOT_MODELS = {"OT-2": "OT-2 Standard", "Flex": "OT-3 Standard"}


class RobotError(Exception):
    pass


class RobotClient:
    """Requests with the robot's name and address in every error."""

    def __init__(self, robot, timeout: float | None = None):
        self.robot = robot
        self.timeout = timeout or settings.SDL_ROBOT_TIMEOUT_S
        self.http = httpx.Client(
            base_url=f"http://{robot.host}:{robot.port}", headers=HEADERS, timeout=self.timeout
        )

    def where(self) -> str:
        return f"robot {self.robot.name} at {self.robot.host}:{self.robot.port}"

    def request(self, method: str, path: str, **kw) -> dict:
        try:
            response = self.http.request(method, path, **kw)
        except httpx.TimeoutException:
            raise RobotError(f"{self.where()} did not answer within {self.timeout:g} s")
        except httpx.HTTPError as exc:
            raise RobotError(f"{self.where()} could not be reached: {exc}")
        if response.status_code >= 400:
            try:
                body = response.json()
                errors = body.get("errors") or [body]
                detail = "; ".join(str(e.get("detail") or e.get("title") or e) for e in errors)
            except ValueError:
                detail = response.text[:300]
            raise RobotError(f"{self.where()} answered {response.status_code}: {detail}")
        try:
            return response.json()
        except ValueError:
            raise RobotError(f"{self.where()} answered something that is not JSON")

    def close(self):
        self.http.close()


def check_health(robot) -> dict:
    """What the robot says about itself (admin "check health")."""
    client = RobotClient(robot)
    try:
        return client.request("GET", "/health")
    finally:
        client.close()


def hardware_mismatches(client: RobotClient, deck) -> list[str]:
    """What the deck needs that the robot does not have attached (checked before motion)."""
    problems = []
    instruments = client.request("GET", "/instruments").get("data", [])
    by_mount = {
        i.get("mount"): i for i in instruments if i.get("instrumentType", "pipette") == "pipette"
    }
    for pipette in deck.pipettes if deck else []:
        attached = by_mount.get(pipette.mount)
        name = attached.get("instrumentName") if attached else None
        if name != pipette.instrument:
            have = name or "nothing"
            problems.append(
                f"the deck needs {pipette.instrument} on the {pipette.mount} mount; "
                f"the robot has {have}"
            )
    modules = client.request("GET", "/modules").get("data", [])
    present = [m.get("moduleModel") for m in modules]
    for module in deck.modules if deck else []:
        model = defs.module(module.model).model if defs.module(module.model) else module.model
        if model in present:
            present.remove(model)
        else:
            problems.append(
                f"the deck needs a {model} (module {module.id}); the robot has none attached"
            )
    return problems


class HttpSession:
    simulated = False

    def __init__(self, robot, document):
        self.robot = robot
        self.label = f"{robot.name} over HTTP at {robot.host}:{robot.port}"
        self.client = RobotClient(robot)
        self.run_id: str | None = None
        self.ids: dict[str, str] = {}  # shadow engine id → robot engine id
        self.last_commands: list[dict] = []
        self.shadow = SimulatorSession(document, label=f"shadow of {robot.name}")
        try:
            self._begin(document)
        except Exception:
            self.end(cancelled=self.run_id is not None)
            raise

    def _begin(self, document):
        health = self.client.request("GET", "/health")
        expected = ROBOT_MODELS[document.robot.type]
        if health.get("robot_model") != expected:
            raise RobotError(
                f"{self.client.where()} is a {health.get('robot_model')}, "
                f"the workflow needs an {expected}"
            )
        problems = hardware_mismatches(self.client, document.deck)
        if problems:
            raise RobotError(f"{self.client.where()}: " + "; ".join(problems))
        created = self.client.request("POST", "/runs", json={"data": {}})["data"]
        self.run_id = created["id"]
        # The robot lets anyone replace its current run: make sure ours is the one it holds.
        current = self.client.request("GET", f"/runs/{self.run_id}")["data"]
        if not current.get("current"):
            run_id, self.run_id = self.run_id, None
            raise RobotError(
                f"{self.client.where()} did not make run {run_id} current: "
                "someone else is using the robot"
            )
        for command in self.shadow.setup_commands:
            self._send(command, intent="setup")

    def _map(self, value):
        if isinstance(value, dict):
            return {k: self._map(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._map(v) for v in value]
        return self.ids.get(value, value) if isinstance(value, str) else value

    def _send(self, command: dict, intent: str = "protocol", context=None) -> dict:
        body = {
            "data": {
                "commandType": command["commandType"],
                "params": self._map(command.get("params") or {}),
                "intent": intent,
            }
        }
        sent = self.client.request(
            "POST",
            f"/runs/{self.run_id}/commands",
            params={"waitUntilComplete": "true", "timeout": COMMAND_WAIT_MS},
            json=body,
        )["data"]
        while sent.get("status") in ("queued", "running"):
            if context is not None:
                context.check_cancelled()
            time.sleep(0.2)
            sent = self.client.request("GET", f"/runs/{self.run_id}/commands/{sent['id']}")["data"]
        if sent.get("status") == "failed":
            error = sent.get("error") or {}
            raise NodeError(
                f"{self.client.where()} refused {command['commandType']}: "
                f"{error.get('detail') or error.get('errorType') or 'failed'}",
                retryable=False,
            )
        for key in ("labwareId", "pipetteId", "moduleId"):
            shadow_id = (command.get("result") or {}).get(key)
            robot_id = (sent.get("result") or {}).get(key)
            if shadow_id and robot_id:
                self.ids[shadow_id] = robot_id
        return sent

    def execute(self, node_type, params, context=None) -> dict:
        output = self.shadow.execute(node_type, params, context)  # refuses before motion
        self.last_commands = []
        try:
            for command in self.shadow.raw_commands:
                if context is not None:
                    context.check_cancelled()
                sent = self._send(command, context=context)
                self.last_commands.append(
                    self.shadow.readable({**command, "status": sent["status"]})
                )
        except RobotError as exc:
            raise NodeError(str(exc), retryable=False)
        except NodeError as exc:
            self.last_commands.append(
                {"commandType": "error", "params": {}, "status": "failed", "error": str(exc)}
            )
            raise
        return output

    def stop(self):
        if self.run_id is None:  # never a run we did not create
            return
        try:
            self.client.request(
                "POST", f"/runs/{self.run_id}/actions", json={"data": {"actionType": "stop"}}
            )
        except RobotError:
            pass

    def end(self, cancelled: bool = False):
        try:
            if self.run_id is not None:
                if cancelled:
                    self.stop()
                else:
                    self.client.request(
                        "PATCH", f"/runs/{self.run_id}", json={"data": {"current": False}}
                    )
        except RobotError:
            pass
        finally:
            self.client.close()
            self.shadow.end()
