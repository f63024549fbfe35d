"""Live runs over websockets: stored events first, then the live tail, in sequence order.

A browser that reconnects sends `?after=N` and receives exactly what it missed. The channel
layer may drop messages to a slow or full channel; a gap in sequence numbers is filled from
the database, so what a browser sees is always complete and in order.
"""

import asyncio
import json
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from canvas import permissions
from canvas.models import Workflow
from orchestration import events, runs
from orchestration.hub import hub
from orchestration.models import RUN_TERMINAL, RunEvent, WorkflowRun

FORBIDDEN = 4403
MAX_MESSAGE_BYTES = 4096
REPLAY_BATCH = 500
# A full channel drops the newest messages silently; a consumer that has heard nothing for
# this long asks the database, so even a dropped last event reaches the browser.
WATCHDOG_S = 1.0
# How often an open socket checks again that its user may still see the run.
RECHECK_S = 5.0


class RunConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        self.run_id = int(self.scope["url_route"]["kwargs"]["run_id"])
        self.user = self.scope.get("user")
        await self.accept()
        if not await self.allowed("view"):
            await self.close(code=FORBIDDEN)
            return
        events.bind_loop(asyncio.get_running_loop())
        query = parse_qs(self.scope.get("query_string", b"").decode())
        try:
            self.sent = max(0, int(query.get("after", ["0"])[0]))
        except ValueError:
            self.sent = 0
        self.received = 0  # the newest event the hub handed this socket, and when
        self.heard = asyncio.get_running_loop().time()
        # Join first, then replay: nothing can fall between the two.
        self.sending = asyncio.Lock()
        self.forwarding: set[asyncio.Task] = set()
        self.ended = self.revoked = False
        self.hub = hub()
        await self.hub.watch(self.run_id, self)
        async with self.sending:
            await self.catch_up()
        self.watchdog = asyncio.create_task(self.watch())

    async def disconnect(self, code):
        if getattr(self, "watchdog", None):
            self.watchdog.cancel()
        if getattr(self, "hub", None):
            await self.hub.unwatch(self.run_id, self)

    async def watch(self):
        next_check = asyncio.get_running_loop().time() + RECHECK_S
        while not self.ended:
            await asyncio.sleep(WATCHDOG_S)
            if asyncio.get_running_loop().time() >= next_check:
                next_check += RECHECK_S
                if not await self.allowed("view"):  # the share was revoked meanwhile
                    self.revoked = True
                    await self.hub.unwatch(self.run_id, self)
                    await self.close(code=FORBIDDEN)
                    return
            # Heard nothing for a while, and missed something: an event neither sent nor on
            # its way from the hub. While the hub delivers, a gap shows in the next event
            # (forward); a socket or hub that is only slow must not read the database again
            # and again, which makes a busy process slower still.
            quiet = asyncio.get_running_loop().time() - self.heard >= WATCHDOG_S
            if quiet and await self.hub.last_seq(self.run_id) > max(self.sent, self.received):
                async with self.sending:
                    await self.catch_up()

    @database_sync_to_async
    def allowed(self, need: str) -> bool:
        if not self.user or not self.user.is_authenticated:
            return False
        run = WorkflowRun.objects.filter(pk=self.run_id).select_related("workflow").first()
        if (
            run is None
            or not Workflow.objects.visible_to(self.user, deleted=True)
            .filter(pk=run.workflow_id)
            .exists()
        ):
            return False
        return permissions.may(self.user, run.workflow, need)

    @database_sync_to_async
    def stored_after(self, seq: int) -> list[dict]:
        stored = RunEvent.objects.filter(run_id=self.run_id, seq__gt=seq).order_by("seq")
        return [e.as_message() for e in stored[:REPLAY_BATCH]]

    async def catch_up(self):
        while True:
            batch = await self.stored_after(self.sent)
            for message in batch:
                await self.deliver(message)
            if len(batch) < REPLAY_BATCH:
                return

    async def deliver(self, message: dict, text: str | None = None):
        # events carry `seq`; replies do not
        await self.send(text_data=text if text is not None else json.dumps(message))
        self.sent = message["seq"]
        if message["type"] == "run" and message.get("state") in RUN_TERMINAL:
            self.ended = True

    def live(self, event: dict, text: str) -> None:
        """From the hub: an event of this run, serialised once for every socket."""
        self.received = max(self.received, event["seq"])
        self.heard = asyncio.get_running_loop().time()
        task = asyncio.create_task(self.forward(event, text))
        self.forwarding.add(task)  # keep a reference until it is done
        task.add_done_callback(self.forwarding.discard)

    async def forward(self, event: dict, text: str):
        if self.revoked:
            return
        async with self.sending:  # FIFO: events are forwarded in the order they arrived
            if event["seq"] <= self.sent:
                return  # replayed already
            if event["seq"] > self.sent + 1:
                await self.catch_up()  # the layer dropped something: the database has it
                return
            await self.deliver(event, text)

    async def receive(self, text_data=None, bytes_data=None):
        if bytes_data is not None or text_data is None or len(text_data) > MAX_MESSAGE_BYTES:
            return await self.reply_error('send small JSON messages: {"action": "cancel"}')
        try:
            message = json.loads(text_data)
        except (ValueError, RecursionError):
            return await self.reply_error("that is not JSON")
        action = message.get("action") if isinstance(message, dict) else None
        if action not in ("cancel", "continue"):
            return await self.reply_error("unknown action: use cancel or continue")
        if not await self.allowed("run"):
            return await self.reply_error(f"you may not {action} this run")
        answers = message.get("answers")
        error = await self.act(action, answers if isinstance(answers, dict) else None)
        if error:
            return await self.reply_error(error)
        await self.send(text_data=json.dumps({"type": "ack", "action": action}))

    @database_sync_to_async
    def act(self, action: str, answers: dict | None = None) -> str | None:
        run = WorkflowRun.objects.get(pk=self.run_id)
        try:
            if action == "cancel":
                runs.cancel_run(run, self.user)
            else:
                runs.continue_run(run, self.user, answers)
        except runs.RunRefused as exc:
            return str(exc)
        return None

    async def reply_error(self, text: str):
        await self.send(text_data=json.dumps({"type": "error", "message": text}))


class RunsConsumer(AsyncWebsocketConsumer):
    """Run-level state changes for the runs list, filtered to what the user may see."""

    async def connect(self):
        self.user = self.scope.get("user")
        await self.accept()
        if not self.user or not self.user.is_authenticated:
            await self.close(code=FORBIDDEN)
            return
        events.bind_loop(asyncio.get_running_loop())
        self.visible: dict[int, bool] = {}
        self.joined = True
        await self.channel_layer.group_add(events.RUNS_GROUP, self.channel_name)

    async def disconnect(self, code):
        if getattr(self, "joined", False):
            await self.channel_layer.group_discard(events.RUNS_GROUP, self.channel_name)

    @database_sync_to_async
    def may_see(self, run_id: int) -> bool:
        return WorkflowRun.objects.visible_to(self.user).filter(pk=run_id).exists()

    async def run_update(self, message):
        event = message["event"]
        run_id = event["run"]
        if run_id not in self.visible:
            self.visible[run_id] = await self.may_see(run_id)
        if self.visible[run_id]:
            await self.send(text_data=json.dumps(event))

    async def receive(self, text_data=None, bytes_data=None):
        await self.send(
            text_data=json.dumps({"type": "error", "message": "this stream is read-only"})
        )
