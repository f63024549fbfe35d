"""Publishing run events to the channel layer, from whatever thread or process wrote them.

The database is the record (browsers replay from it); the layer only carries the live tail,
so a send that fails or is dropped loses nothing. Sends never block the engine: they are
scheduled on one event loop — the serving process's own loop for the in-memory layer (its
queues belong to that loop), a private loop thread for Redis.
"""

import asyncio
import logging
import threading

from channels.layers import InMemoryChannelLayer, get_channel_layer

log = logging.getLogger(__name__)

RUNS_GROUP = "runs"
_lock = threading.Lock()
_home_loop: asyncio.AbstractEventLoop | None = None
_private_loop: asyncio.AbstractEventLoop | None = None


def run_group(run_id: int) -> str:
    return f"run-{run_id}"


def bind_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Called by the websocket consumer: the serving loop that owns in-memory queues."""
    global _home_loop
    _home_loop = loop


def _loop_for(layer) -> asyncio.AbstractEventLoop | None:
    global _private_loop
    if isinstance(layer, InMemoryChannelLayer):
        # Nobody in this process listens until a consumer has bound its loop.
        return _home_loop if _home_loop and not _home_loop.is_closed() else None
    with _lock:
        if _private_loop is None:
            _private_loop = asyncio.new_event_loop()
            threading.Thread(
                target=_private_loop.run_forever, name="sdl-event-sender", daemon=True
            ).start()
    return _private_loop


class _Sender:
    """One queue and one task per loop: events leave in the order they were published."""

    def __init__(self, loop: asyncio.AbstractEventLoop, layer):
        self.loop, self.layer = loop, layer
        self.queue: asyncio.Queue | None = None
        loop.call_soon_threadsafe(self._start)

    def _start(self):
        self.queue = asyncio.Queue()
        self.loop.create_task(self._drain())

    async def _drain(self):
        while True:
            groups, message, done = await self.queue.get()
            for group in groups:
                try:
                    await self.layer.group_send(group, {"type": "run.update", "event": message})
                except Exception:  # best effort: the database has the event for replay
                    log.warning("could not publish event %s to %s", message.get("seq"), group)
            if done is not None:
                done.set()

    def put(self, groups, message, done=None):
        def enqueue():
            self.queue.put_nowait((groups, message, done))

        # _start runs before this (call_soon_threadsafe callbacks run in order)
        self.loop.call_soon_threadsafe(enqueue)


_senders: dict[int, _Sender] = {}


def _sender(layer) -> _Sender | None:
    loop = _loop_for(layer)
    if loop is None:
        return None
    with _lock:
        sender = _senders.get(id(loop))
        if sender is None or sender.layer is not layer:
            sender = _senders[id(loop)] = _Sender(loop, layer)
    return sender


def publish(event) -> None:
    layer = get_channel_layer()
    sender = _sender(layer) if layer is not None else None
    if sender is None:
        return
    groups = [run_group(event.run_id)]
    if event.type == "run":
        groups.append(RUNS_GROUP)
    sender.put(groups, event.as_message())


def flush(timeout: float = 5.0) -> None:
    """Wait until every event published so far has been handed to the layer (used before a
    short-lived process such as `manage.py run_workflow` exits)."""
    for sender in list(_senders.values()):
        done = threading.Event()
        sender.put([], {}, done)
        done.wait(timeout)
