"""A fake Opentrons robot-server for tests: the endpoints the HTTP back end uses, with the
shapes of Opentrons' HTTP API, executing every command on the real Protocol Engine of the
installed `opentrons` package (simulated hardware), so answers and errors are a robot's own.
"""

import json
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from pydantic import TypeAdapter, ValidationError

from robots.simulator import new_context

MODELS = {"OT-2": "OT-2 Standard", "Flex": "OT-3 Standard"}


def now() -> str:
    return datetime.now(UTC).isoformat()


class FakeRun:
    def __init__(self, robot_type: str):
        self.id = str(uuid.uuid4())
        self.created_at = now()
        self.status = "idle"
        self.current = True
        self.actions: list[dict] = []
        self.context, self.stack = new_context("2.20", robot_type)
        self.client = self.context._core._engine_client
        self.baseline = len(self.client.state.commands.get_all())
        self.lock = threading.Lock()

    def commands(self) -> list[dict]:
        all_commands = self.client.state.commands.get_all()[self.baseline :]
        return [json.loads(c.model_dump_json()) for c in all_commands]

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
    def __init__(self, robot_type="OT-2", instruments=None, modules=None, command_delay_s=0.0):
        self.robot_type = robot_type
        self.instruments = instruments or {}  # mount → pipette name
        self.modules = modules or []  # module models
        self.command_delay_s = command_delay_s
        self.runs: dict[str, FakeRun] = {}
        self.requests: list[tuple[str, str]] = []
        self.fail_commands_with: int | None = None  # answer commands with this HTTP status
        self.drop_after: int | None = None  # close the connection after N commands
        self.commands_received = 0
        from opentrons.protocol_engine import commands

        self._create = TypeAdapter(commands.CommandCreate)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        for run in self.runs.values():
            run.stack.close()

    @property
    def current(self) -> FakeRun | None:
        return next((r for r in self.runs.values() if r.current), None)

    def actions(self) -> list[str]:
        return [a["actionType"] for r in self.runs.values() for a in r.actions]

    # --- request handling -------------------------------------------------------------------

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
                robot.requests.append((method, url.path))
                if self.headers.get("Opentrons-Version") is None:
                    return self._answer(
                        422,
                        {
                            "errors": [
                                {
                                    "id": "OutdatedAPIVersion",
                                    "title": "Missing header",
                                    "detail": "Opentrons-Version header required",
                                }
                            ]
                        },
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
                "maximum_protocol_api_version": [2, 20],
                "minimum_protocol_api_version": [2, 0],
                "links": {},
            }
        if parts == ["instruments"]:
            data = [
                {
                    "mount": mount,
                    "instrumentType": "pipette",
                    "instrumentName": name,
                    "instrumentModel": name,
                    "serialNumber": f"P{i}",
                    "ok": True,
                    "data": {},
                }
                for i, (mount, name) in enumerate(self.instruments.items())
            ]
            return 200, {"data": data, "meta": {"cursor": 0, "totalLength": len(data)}}
        if parts == ["modules"]:
            data = [
                {
                    "id": f"mod{i}",
                    "serialNumber": f"M{i}",
                    "moduleModel": model,
                    "moduleType": "",
                    "data": {},
                }
                for i, model in enumerate(self.modules)
            ]
            return 200, {"data": data, "meta": {"cursor": 0, "totalLength": len(data)}}
        if parts == ["runs"] and method == "POST":
            current = self.current
            if current and current.status == "running":
                return 409, {"errors": [{"id": "RunAlreadyActive", "detail": "a run is active"}]}
            if current:
                current.current = False
            run = FakeRun(self.robot_type)
            self.runs[run.id] = run
            return 201, {"data": run.as_json()}
        if len(parts) >= 2 and parts[0] == "runs":
            run = self.runs.get(parts[1])
            if run is None:
                return 404, {
                    "errors": [{"id": "RunNotFound", "detail": f"run {parts[1]} not found"}]
                }
            return self.route_run(run, method, parts[2:], query, body)
        return 404, {"errors": [{"id": "NotFound", "detail": "/".join(parts)}]}

    def route_run(self, run, method, rest, query, body):
        if not rest and method == "GET":
            return 200, {"data": run.as_json()}
        if not rest and method == "PATCH":
            run.current = bool(body.get("data", {}).get("current", run.current))
            return 200, {"data": run.as_json()}
        if rest == ["actions"] and method == "POST":
            action = {
                "id": str(uuid.uuid4()),
                "createdAt": now(),
                "actionType": body.get("data", {}).get("actionType"),
            }
            if action["actionType"] not in ("play", "pause", "stop"):
                return 422, {"errors": [{"id": "InvalidRequest", "detail": "bad actionType"}]}
            if run.status in ("stopped", "succeeded", "failed"):
                return 409, {"errors": [{"id": "RunActionNotAllowed", "detail": "run has ended"}]}
            run.actions.append(action)
            if action["actionType"] == "stop":
                run.status = "stopped"
            return 201, {"data": action}
        if rest == ["commands"] and method == "GET":
            cursor = int(query.get("cursor", ["0"])[0])
            length = int(query.get("pageLength", ["20"])[0])
            commands = run.commands()
            return 200, {
                "data": commands[cursor : cursor + length],
                "meta": {"cursor": cursor, "totalLength": len(commands)},
            }
        if len(rest) == 2 and rest[0] == "commands" and method == "GET":
            found = next((c for c in run.commands() if c["id"] == rest[1]), None)
            if found is None:
                return 404, {"errors": [{"id": "CommandNotFound", "detail": rest[1]}]}
            return 200, {"data": found}
        if rest == ["commands"] and method == "POST":
            return self.add_command(run, query, body)
        return 404, {"errors": [{"id": "NotFound", "detail": "/".join(rest)}]}

    def add_command(self, run, query, body):
        self.commands_received += 1
        if self.drop_after is not None and self.commands_received > self.drop_after:
            raise ConnectionAbortedError()
        if self.fail_commands_with:
            return self.fail_commands_with, {
                "errors": [{"id": "UnexpectedError", "detail": "robot-server failed"}]
            }
        if run.status == "stopped" or not run.current:
            return 409, {"errors": [{"id": "RunStopped", "detail": "the run is not active"}]}
        try:
            data = body["data"]
            create = self._create.validate_python(
                {
                    "commandType": data["commandType"],
                    "params": data.get("params", {}),
                    "intent": data.get("intent", "protocol"),
                }
            )
        except (KeyError, TypeError, ValidationError) as exc:
            return 422, {"errors": [{"id": "InvalidRequest", "detail": str(exc)[:500]}]}
        time.sleep(self.command_delay_s)
        with run.lock:
            before = len(run.commands())
            try:
                run.client.execute_command_without_recovery(create.params)
            except Exception:  # the failed command is in the engine's state with its error
                pass
            added = run.commands()[before:]
        run.status = "idle"
        return 201, {"data": added[-1]}
