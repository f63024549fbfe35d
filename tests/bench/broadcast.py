"""The practical floor of live updates: a bare websockets server (its own process) that sends
each event, once serialised, to every connected client, at the bench's pace.

    python -m tests.bench.broadcast PORT CLIENTS EVENTS PACE_S
"""

import asyncio
import json
import sys
from datetime import UTC, datetime

import websockets


async def main(port: int, clients: int, count: int, pace: float):
    connected: set = set()
    ready = asyncio.Event()

    async def handler(socket):
        connected.add(socket)
        if len(connected) >= clients:
            ready.set()
        await socket.wait_closed()

    async with websockets.serve(handler, "127.0.0.1", port):
        print("listening", flush=True)
        await ready.wait()
        for seq in range(1, count + 1):
            last = seq == count
            event = {"seq": seq, "type": "run" if last else "node", "state": "completed"}
            event["at"] = datetime.now(UTC).isoformat()
            websockets.broadcast(connected, json.dumps(event))
            await asyncio.sleep(pace)
        await asyncio.sleep(1)


if __name__ == "__main__":
    port, clients, count, pace = sys.argv[1:]
    asyncio.run(main(int(port), int(clients), int(count), float(pace)))
