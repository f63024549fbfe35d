"""The live fan-out of one serving process: one channel-layer subscription per watched run,
whatever the number of sockets in this process watching it.

Each event arrives once from the layer, is serialised once, and is handed to every local
socket of its run. The sockets keep their own replay and gap-filling (consumers.py): the hub
only carries the live tail, as the layer did before — and tells them, from one read of the
database per run and second, whether anything was missed, so that a socket asks the database
for events only when it is behind.
"""

import asyncio
import json
import logging

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from orchestration import events
from orchestration.models import WorkflowRun

LATEST_S = 1.0  # how old the newest event number a socket compares with may be


@database_sync_to_async
def _last_seq(run_id: int) -> int:
    return WorkflowRun.objects.filter(pk=run_id).values_list("last_seq", flat=True).first() or 0


log = logging.getLogger(__name__)


class Hub:
    def __init__(self, loop, layer):
        self.loop, self.layer = loop, layer
        self.watchers: dict[int, set] = {}
        self.channel: str | None = None
        self.lock = asyncio.Lock()
        self.task: asyncio.Task | None = None
        self.latest: dict[int, tuple[int, float]] = {}  # run → (newest event number, read at)
        self.reading: dict[int, asyncio.Lock] = {}

    async def watch(self, run_id: int, socket) -> None:
        """From now on `socket.live(event, text)` is called with each event of the run."""
        async with self.lock:
            if self.channel is None:
                # The layer's default prefix: channels_redis receives all of a process's own
                # channels through one queue per prefix and one lock, so a channel of another
                # prefix waited behind the consumers' (its events came only by the sockets'
                # once-a-second gap check).
                self.channel = await self.layer.new_channel()
                self.task = asyncio.create_task(self._receive())
            if run_id not in self.watchers:
                self.watchers[run_id] = set()
                await self.layer.group_add(events.run_group(run_id), self.channel)
            self.watchers[run_id].add(socket)

    async def unwatch(self, run_id: int, socket) -> None:
        async with self.lock:
            watching = self.watchers.get(run_id)
            if watching is None:
                return
            watching.discard(socket)
            if not watching:
                del self.watchers[run_id]
                self.latest.pop(run_id, None)
                self.reading.pop(run_id, None)
                await self.layer.group_discard(events.run_group(run_id), self.channel)

    async def last_seq(self, run_id: int) -> int:
        """The run's newest committed event number, as of at most LATEST_S ago: one query for
        all of this process's sockets of the run, whatever their number."""
        known = self.latest.get(run_id)
        if known and self.loop.time() - known[1] < LATEST_S:
            return known[0]
        async with self.reading.setdefault(run_id, asyncio.Lock()):
            known = self.latest.get(run_id)
            if not known or self.loop.time() - known[1] >= LATEST_S:
                known = self.latest[run_id] = (await _last_seq(run_id), self.loop.time())
            return known[0]

    async def _receive(self) -> None:
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the sockets' watchdogs read the database meanwhile
                log.warning("live hub: the channel layer failed (%s); retrying", exc)
                await asyncio.sleep(1)
                continue
            event = message.get("event") if isinstance(message, dict) else None
            if not isinstance(event, dict):
                continue
            text = json.dumps(event)
            for socket in list(self.watchers.get(event.get("run"), ())):
                socket.live(event, text)


_hubs: dict[int, Hub] = {}


def hub() -> Hub:
    """The hub of the running event loop (and of the current channel layer)."""
    loop, layer = asyncio.get_running_loop(), get_channel_layer()
    current = _hubs.get(id(loop))
    if current is None or current.loop is not loop or current.layer is not layer:
        current = _hubs[id(loop)] = Hub(loop, layer)
    return current
