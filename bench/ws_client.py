"""Soundboard pages and clickers over WebSockets, many thousands of them in one asyncio process.

``bench/live.py`` starts ``python -m bench.ws_client`` and drives it with one JSON command per line
on stdin; each command is answered by one JSON line on stdout. The client speaks only the
protocol megumin.love and Themeboard share, so the same code measures both servers:

    {"cmd": "open", "url": "ws://127.0.0.1:5000/ws", "count": 1000}   more idle pages
    {"cmd": "stats"}                                                     pages open, closed, CPU
    {"cmd": "nudge", "url": ..., "message": {...}, "counter": 1234, "wait": 2}   one click; pages updated
    {"cmd": "seen", "counter": 1234}                                     when each page first showed it
    {"cmd": "close"}                                                     close every page
    {"cmd": "click", "url": ..., "clients": 16, "seconds": 5, ...}       clickers (another process)
    {"cmd": "exit"}

A page reads everything it receives and remembers the highest counter it was shown and when
(``time.monotonic()``, one clock for every process on the machine, so a page process and a
clicker process can be compared). aiohttp's WebSocket frame reader is compiled and the event
loop is uvloop's, so a message costs the client little CPU; its CPU time is in every answer.
"""
from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from collections import Counter

import aiohttp
import orjson
import uvloop

HANDSHAKES_AT_ONCE = 100  # in flight while opening pages; more only queue in the server's accept backlog
HANDSHAKE_TIMEOUT = 20.0
CLOSE_TIMEOUT = 5.0
# Spread over several loopback source addresses: 12,000 pages from one address use 12,000 of its
# ~28,000 ephemeral ports, and those stay in TIME_WAIT for a minute after each run.
SOURCE_ADDRESSES = 4


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return round(usage.ru_utime + usage.ru_stime, 3)


def raise_open_file_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def counter_of(text: str) -> int | None:
    """The counter of a counterUpdate message; None for any other message."""
    if "counterUpdate" not in text:
        return None
    try:
        message = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    if isinstance(message, dict) and message.get("type") == "counterUpdate" and isinstance(message.get("counter"), int):
        return message["counter"]
    return None


class Page:
    """One open soundboard page: reads every message, keeps the highest counter and when it came."""

    __slots__ = ("ws", "task", "counter", "counter_at", "messages", "closed_by_server")

    def __init__(self, ws: aiohttp.ClientWebSocketResponse):
        self.ws = ws
        self.counter = -1
        self.counter_at = 0.0
        self.messages = 0
        self.closed_by_server = False
        self.task: asyncio.Task | None = None

    async def read(self) -> None:
        ws = self.ws
        try:
            while True:
                message = await ws.receive()
                if message.type is aiohttp.WSMsgType.TEXT:
                    self.messages += 1
                    counter = counter_of(message.data)
                    if counter is not None and counter > self.counter:
                        self.counter, self.counter_at = counter, time.monotonic()
                elif message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                    self.closed_by_server = True
                    return
                else:
                    self.messages += 1
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - a broken connection is a closed page, counted as such
            self.closed_by_server = True


class Client:
    def __init__(self) -> None:
        self.pages: list[Page] = []
        self.sessions: dict[str, aiohttp.ClientSession] = {}
        self.started = time.monotonic()

    def session(self, index: int) -> aiohttp.ClientSession:
        address = f"127.0.0.{1 + index % SOURCE_ADDRESSES}"
        if address not in self.sessions:
            connector = aiohttp.TCPConnector(limit=0, local_addr=(address, 0), force_close=True)
            self.sessions[address] = aiohttp.ClientSession(connector=connector)
        return self.sessions[address]

    async def connect(self, url: str, index: int) -> aiohttp.ClientWebSocketResponse:
        # What a browser's page does: no client pings (it answers the server's), and
        # permessage-deflate offered (the server may decline it).
        return await asyncio.wait_for(
            self.session(index).ws_connect(
                url, autoping=True, heartbeat=None, compress=15, timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=CLOSE_TIMEOUT)
            ),
            HANDSHAKE_TIMEOUT,
        )

    # --- idle pages ------------------------------------------------------------------------------
    async def open(self, url: str, count: int, deadline: float = 30.0) -> dict:
        """``count`` more pages; those not open within ``deadline`` seconds are given up."""
        started = time.monotonic()
        failures: Counter[str] = Counter()
        gate = asyncio.Semaphore(HANDSHAKES_AT_ONCE)
        first = len(self.pages)

        async def one(index: int) -> None:
            async with gate:
                try:
                    ws = await self.connect(url, index)
                except aiohttp.WSServerHandshakeError as error:
                    failures[f"HTTP {error.status}"] += 1
                    return
                except asyncio.TimeoutError:
                    failures["handshake timeout"] += 1
                    return
                except (aiohttp.ClientError, OSError) as error:
                    failures[type(error).__name__] += 1
                    return
            page = Page(ws)
            page.task = asyncio.get_running_loop().create_task(page.read())
            self.pages.append(page)

        tasks = [asyncio.get_running_loop().create_task(one(first + i)) for i in range(count)]
        _, late = await asyncio.wait(tasks, timeout=deadline)
        for task in late:
            task.cancel()
        if late:
            failures[f"not open within {deadline:g} s"] += len(late)
            await asyncio.wait(late)
        # A server at its limit may accept and close at once: give such closes a moment to show.
        await asyncio.sleep(0.3)
        return {**self.stats(), "refused": sum(failures.values()), "failures": dict(failures), "seconds": round(time.monotonic() - started, 2)}

    def stats(self) -> dict:
        closed = sum(1 for page in self.pages if page.closed_by_server)
        return {
            "open": len(self.pages) - closed,
            "closed_by_server": closed,
            "messages": sum(page.messages for page in self.pages),
            "cpu": cpu_seconds(),
            "wall": round(time.monotonic() - self.started, 2),
        }

    def seen(self, counter: int) -> dict:
        """When each page first showed ``counter`` or more (None: never)."""
        return {"at": [page.counter_at if page.counter >= counter else None for page in self.pages], "cpu": cpu_seconds()}

    async def nudge(self, url: str, message: dict, counter: int, wait: float) -> dict:
        """One click from a page of its own, then up to ``wait`` seconds for every open page to show
        ``counter`` or more: whether the open pages are alive, not merely connected."""
        started = time.monotonic()
        try:
            ws = await self.connect(url, len(self.pages))
            await ws.send_str(json.dumps(message))
        except (asyncio.TimeoutError, aiohttp.ClientError, OSError) as error:
            return {"error": f"the click could not be sent: {type(error).__name__}"}
        live = [page for page in self.pages if not page.closed_by_server]
        while time.monotonic() - started < wait and any(page.counter < counter for page in live):
            await asyncio.sleep(0.05)
        updated = sum(1 for page in live if page.counter >= counter)
        try:
            await asyncio.wait_for(ws.close(), CLOSE_TIMEOUT)
        except Exception:  # noqa: BLE001 - the nudging page is not measured
            pass
        return {"updated": updated, "open": len(live), "seconds": round(time.monotonic() - started, 2), "cpu": cpu_seconds()}

    async def close(self) -> dict:
        pages, self.pages = self.pages, []

        async def one(page: Page) -> None:
            try:
                await asyncio.wait_for(page.ws.close(), CLOSE_TIMEOUT)
            except Exception:  # noqa: BLE001 - a page that cannot close cleanly is dropped all the same
                pass
            if page.task is not None:
                page.task.cancel()

        await asyncio.gather(*(one(page) for page in pages))
        for session in self.sessions.values():
            await session.close()
        self.sessions = {}
        return {"closed": len(pages), "cpu": cpu_seconds()}

    # --- clickers --------------------------------------------------------------------------------
    async def click(self, url: str, clients: int, seconds: float, message: dict, before: int, drain: float = 5.0) -> dict:
        """``clients`` pages click as fast as they are answered: together they keep ``clients`` clicks
        in flight. A click counts as acknowledged once a counterUpdate shows a counter that includes
        it (the counter minus ``before``): no server-specific reply is assumed, and only these
        clickers click during the run."""
        text = json.dumps(message)
        sockets = [await self.connect(url, i) for i in range(clients)]
        state = {"sent": 0, "highest": before, "highest_at": 0.0, "answers": 0}
        moved = asyncio.Condition()

        async def read(ws: aiohttp.ClientWebSocketResponse) -> None:
            while True:
                received = await ws.receive()
                if received.type is not aiohttp.WSMsgType.TEXT:
                    if received.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                        return
                    continue
                counter = counter_of(received.data)
                if counter is not None:
                    state["answers"] += 1
                    if counter > state["highest"]:
                        state["highest"], state["highest_at"] = counter, time.monotonic()
                        async with moved:
                            moved.notify_all()

        def acknowledged() -> int:
            return state["highest"] - before

        readers = [asyncio.get_running_loop().create_task(read(ws)) for ws in sockets]
        await asyncio.sleep(0.3)  # greetings
        started = time.monotonic()
        deadline = started + seconds

        async def clicker(ws: aiohttp.ClientWebSocketResponse) -> None:
            while time.monotonic() < deadline:
                async with moved:
                    try:
                        await asyncio.wait_for(moved.wait_for(lambda: state["sent"] - acknowledged() < clients), max(0.01, deadline - time.monotonic()))
                    except asyncio.TimeoutError:
                        return
                if time.monotonic() >= deadline:
                    return
                state["sent"] += 1
                try:
                    await ws.send_str(text)
                except (ConnectionError, aiohttp.ClientError):
                    state["sent"] -= 1
                    return

        cpu_before = cpu_seconds()
        await asyncio.gather(*(clicker(ws) for ws in sockets))
        at_deadline = acknowledged()
        # The clicks in flight at the deadline are answered (or not) within ``drain`` seconds.
        async with moved:
            try:
                await asyncio.wait_for(moved.wait_for(lambda: acknowledged() >= state["sent"]), drain)
            except asyncio.TimeoutError:
                pass
        cpu = cpu_seconds() - cpu_before
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*(asyncio.wait_for(ws.close(), CLOSE_TIMEOUT) for ws in sockets), return_exceptions=True)
        for session in self.sessions.values():
            await session.close()
        self.sessions = {}
        return {
            "sent": state["sent"],
            "acknowledged": acknowledged(),
            "acknowledged_by_deadline": at_deadline,
            "highest": state["highest"],
            "last_acknowledged_at": state["highest_at"],
            "answers": state["answers"],
            "seconds": seconds,
            "cpu": round(cpu, 3),
        }


async def serve() -> None:
    client = Client()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    def answer(payload: dict) -> None:
        sys.stdout.write(json.dumps(payload) + "\n")
        sys.stdout.flush()

    answer({"ready": True, "open_file_limit": raise_open_file_limit()})
    while line := await reader.readline():
        command = json.loads(line)
        name = command.pop("cmd")
        try:
            if name == "open":
                answer(await client.open(**command))
            elif name == "stats":
                answer(client.stats())
            elif name == "seen":
                answer(client.seen(int(command["counter"])))
            elif name == "nudge":
                answer(await client.nudge(**command))
            elif name == "close":
                answer(await client.close())
            elif name == "click":
                answer(await client.click(**command))
            elif name == "exit":
                await client.close()
                answer({"bye": True, "cpu": cpu_seconds()})
                return
            else:
                answer({"error": f"unknown command {name!r}"})
        except Exception as error:  # noqa: BLE001 - the driver prints it and stops the benchmark
            answer({"error": f"{type(error).__name__}: {error}"})


if __name__ == "__main__":
    # uvloop: a message to 8,000 pages cost this process 0.26-0.39 s of CPU against 0.63-0.64 s
    # on asyncio's own loop, CPU the server on the same 2 cores then has.
    uvloop.run(serve())
