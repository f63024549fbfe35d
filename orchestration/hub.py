"""The live fan-out of one serving process: one channel-layer subscription per watched run,
whatever the number of sockets in this process watching it.

Each event arrives once from the layer, is serialised once, and is handed to every local
socket of its run. The sockets keep their own replay and gap-filling (consumers.py): the hub
only carries the live tail, as the layer did before.
"""

import asyncio
import json
import logging

from channels.layers import get_channel_layer

from orchestration import events

log = logging.getLogger(__name__)


class Hub:
    def __init__(self, loop, layer):
        self.loop, self.layer = loop, layer
        self.watchers: dict[int, set] = {}
        self.channel: str | None = None
        self.lock = asyncio.Lock()
        self.task: asyncio.Task | None = None

    async def watch(self, run_id: int, socket) -> None:
        """From now on `socket.live(event, text)` is called with each event of the run."""
        async with self.lock:
            if self.channel is None:
                self.channel = await self.layer.new_channel(prefix="sdl-hub.")
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
                await self.layer.group_discard(events.run_group(run_id), self.channel)

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
