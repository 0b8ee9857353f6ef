"""The load of `make stress`: concurrent aiohttp clients through nginx, each remembering what the
deployment acknowledged so that it can be compared with the database afterwards.

Every request is counted under its kind. A 503 with ``Retry-After`` is waited out and retried
(counted apart: it is what the app answers while PostgreSQL is away). A write whose answer never
came (its server process was killed under it: nginx answers 502, or the connection drops) has an
unknown outcome: the client looks at the database to learn whether it happened, and carries on
from the truth; whether it happened is fine, half of it is not.
"""
from __future__ import annotations

import asyncio
import json
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field

import aiohttp

REQUEST_TIMEOUT = 60.0  # a request unanswered this long is an error (gunicorn's own limit is 30 s)
RETRY_AFTER_CAP = 5.0  # seconds at most waited on one Retry-After (the run is bounded)
ACK_TIMEOUT = 10.0  # a WebSocket click unconfirmed this long is unacknowledged
KILL_GRACE = 3.0  # seconds after a kill -9 during which a dropped request is that kill's doing


@dataclass
class Sample:
    started: float
    seconds: float
    status: int | None


@dataclass
class Stats:
    """What every client saw, by kind of request."""

    samples: dict[str, list[Sample]] = field(default_factory=lambda: defaultdict(list))
    retried_503: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    cut_by_kill: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    other_5xx: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    errors: list[str] = field(default_factory=list)  # 5xx other than 503+Retry-After, drops outside kills, timeouts
    unexpected: list[str] = field(default_factory=list)  # 4xx or wrong answers where a 2xx was due
    kills: list[float] = field(default_factory=list)  # monotonic times of kill -9
    fault_windows: list[tuple[str, float, float]] = field(default_factory=list)

    def record(self, kind: str, started: float, status: int | None) -> None:
        self.samples[kind].append(Sample(started, time.monotonic() - started, status))

    def near_kill(self, started: float) -> bool:
        now = time.monotonic()
        return any(started - KILL_GRACE <= at <= now for at in self.kills)


class Unknown(Exception):
    """The request was cut by a killed server process: whether it happened is not known."""


class Failed(Exception):
    """An answer the client did not expect (already recorded)."""


class Api:
    """One client's HTTP calls through nginx, with the retry and accounting rules above."""

    def __init__(self, session: aiohttp.ClientSession, base: str, stats: Stats, stop_at: float):
        self.session = session
        self.base = base
        self.stats = stats
        self.stop_at = stop_at

    async def call(self, kind: str, method: str, path: str, *, ok=(200, 201), data=None, json_body=None, headers=None, idempotent=None) -> tuple[int, bytes, dict]:
        idempotent = method in ("GET", "HEAD") if idempotent is None else idempotent
        url = path if path.startswith("http") else self.base + path
        self.retried = False
        while True:
            started = time.monotonic()
            try:
                async with self.session.request(method, url, data=data, json=json_body, headers=headers) as response:
                    body = await response.read()
                    status, answer_headers = response.status, response.headers
            except (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError) as error:
                self.stats.record(kind, started, None)
                if self.stats.near_kill(started):
                    self.stats.cut_by_kill[kind] += 1
                    if idempotent:
                        await asyncio.sleep(0.2)
                        continue
                    raise Unknown(f"{method} {path}: {error!r}") from None
                self.stats.errors.append(f"{kind}: {method} {path}: {error!r}")
                raise Failed from None
            self.stats.record(kind, started, status)
            if status == 503 and answer_headers.get("Retry-After"):
                self.stats.retried_503[kind] += 1
                self.retried = True
                try:
                    wait = min(float(answer_headers["Retry-After"]), RETRY_AFTER_CAP)
                except ValueError:
                    wait = 1.0
                await asyncio.sleep(wait)
                continue
            if status in (502, 504) and self.stats.near_kill(started):
                self.stats.cut_by_kill[kind] += 1
                if idempotent:
                    await asyncio.sleep(0.2)
                    continue
                raise Unknown(f"{method} {path}: {status}")
            if status >= 500:
                self.stats.other_5xx[kind] += 1
                self.stats.errors.append(f"{kind}: {method} {path}: {status} {body[:200]!r}")
                raise Failed
            if status not in ok:
                self.stats.unexpected.append(f"{kind}: {method} {path}: {status} {body[:200]!r}")
                raise Failed
            return status, body, dict(answer_headers)

    async def json(self, kind: str, method: str, path: str, **kwargs) -> dict:
        _, body, _ = await self.call(kind, method, path, **kwargs)
        return json.loads(body)


@dataclass
class Catalogue:
    """What the readers and writers pick from (read before the load starts)."""

    audio_ids: list[int]
    basenames: list[str]
    links: list[str]
    counter_sounds: list[str]  # sounds whose big-button clicks count on the global counter
    board_sounds: list[str]  # one per WebSocket clicker: only that client clicks it


async def think(rng: random.Random, seconds: float) -> None:
    if seconds:
        await asyncio.sleep(rng.uniform(0, seconds))


# --- catalogue reads -----------------------------------------------------------------------------


async def reader(api: Api, catalogue: Catalogue, rng: random.Random, pause: float) -> None:
    pages = ["/audio", "/soundboard", "/playlists", "/images", "/soundboard/board"]
    while time.monotonic() < api.stop_at:
        choice = rng.random()
        try:
            if choice < 0.35:
                size = rng.choice((15, 15, 50))
                number = rng.randint(1, 2)
                await api.call("read /api/audio", "GET", f"/api/audio?page[size]={size}&page[number]={number}&include=videos")
            elif choice < 0.5:
                await api.call("read /api/audio", "GET", f"/api/audio/{rng.choice(catalogue.basenames)}?include=videos")
            elif choice < 0.6:
                await api.call("read /api/playlist", "GET", "/api/playlist?page[size]=15&sort=-created_at")
            elif choice < 0.8:
                await api.call("read page", "GET", rng.choice(pages))
            elif choice < 0.95:
                start = rng.randrange(0, 4096)
                await api.call("stream audio (Range)", "GET", rng.choice(catalogue.links), ok=(206,), headers={"Range": f"bytes={start}-{start + 65535}"})
            else:
                await api.call("read /api/counter", "GET", "/api/counter")
        except Failed:
            await asyncio.sleep(0.2)
        await think(rng, pause)


# --- playlist writes -------------------------------------------------------------------------------


@dataclass
class PlaylistWriter:
    """Adds, moves and removes tracks of its own playlist, keeping the order it was acknowledged."""

    api: Api
    token: str
    catalogue: Catalogue
    truth: "Truth"
    rng: random.Random
    hashid: str = ""
    order: list[int] = field(default_factory=list)  # track ids, as acknowledged
    acknowledged: int = 0
    unknown: int = 0
    disagreements: list[str] = field(default_factory=list)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def run(self, pause: float) -> None:
        while not self.hashid and time.monotonic() < self.api.stop_at:
            try:
                body = await self.api.json(
                    "write playlist", "POST", "/api/playlist", json_body={"name": f"stress {self.rng.random():.6f}", "visibility": 1}, headers=self.auth, ok=(201,)
                )
                self.hashid = body["playlist"]["id"]
                self.acknowledged += 1
            except Unknown:
                self.unknown += 1  # a playlist that may or may not exist: counted by owner at the end
            except Failed:
                await asyncio.sleep(0.5)
        while time.monotonic() < self.api.stop_at:
            before = list(self.order)
            try:
                await self.step()
                self.acknowledged += 1
            except Unknown as cut:
                self.unknown += 1
                await self.resync(before, str(cut))
            except Failed:
                await asyncio.sleep(0.2)
            await think(self.rng, pause)

    async def step(self) -> None:
        roll = self.rng.random()
        base = f"/api/playlist/{self.hashid}/track"
        if len(self.order) < 4 or (roll < 0.45 and len(self.order) < 60):
            body = await self.api.json("write playlist", "POST", base, json_body={"audio_id": self.rng.choice(self.catalogue.audio_ids)}, headers=self.auth, ok=(201,))
            self.order.append(body["track"]["track_id"])
        elif roll < 0.85:
            track = self.rng.choice(self.order[1:])
            await self.api.call("write playlist", "PATCH", f"{base}/{track}", json_body={"next": self.order[0]}, headers=self.auth)
            self.order.remove(track)
            self.order.insert(0, track)
        else:
            track = self.rng.choice(self.order)
            await self.api.call("write playlist", "DELETE", f"{base}/{track}", headers=self.auth, idempotent=False)
            self.order.remove(track)

    async def resync(self, before: list[int], what: str) -> None:
        """After an unknown outcome: the database decides; it must show the write whole or not at all."""
        await asyncio.sleep(1.0)
        now = await self.truth.playlist_order(self.hashid)
        if now == before:
            self.order = now
            return
        added = [t for t in now if t not in before]
        removed = [t for t in before if t not in now]
        whole = (len(added) == 1 and not removed and now[:-1] == before) or (not added and len(removed) == 1) or (
            not added and not removed and sorted(now) == sorted(before)
        )
        if not whole:
            self.disagreements.append(f"{self.hashid} after {what}: {before} -> {now}")
        self.order = now


# --- uploads ---------------------------------------------------------------------------------------


@dataclass
class Uploader:
    """Tracks v1: create a track, PUT its audio to the signed URL; or (admin) a catalogue upload."""

    api: Api
    token: str
    collection_id: str
    files: list[tuple[str, bytes]]
    rng: random.Random
    catalogue_uploads: bool = False
    acknowledged_tracks: list[str] = field(default_factory=list)
    acknowledged_audio: list[str] = field(default_factory=list)
    unknown: int = 0
    reused_after_cut: int = 0
    committed_before_503: int = 0
    accepted_before_cut: int = 0
    waited_for_claim: int = 0

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def run(self, pause: float) -> None:
        while time.monotonic() < self.api.stop_at:
            name, data = self.rng.choice(self.files)
            try:
                if self.catalogue_uploads:
                    await self.catalogue_upload(name, data)
                else:
                    await self.track_upload(name, data)
            except Unknown:
                self.unknown += 1
            except Failed:
                await asyncio.sleep(0.5)
            await think(self.rng, pause)

    async def track_upload(self, name: str, data: bytes) -> None:
        created = await self.api.json("upload: POST /v1/track", "POST", "/v1/track", json_body={"collection_id": self.collection_id, "file_name": name}, headers=self.auth)
        url = created["track_upload"]["upload_url"]
        attempt = 0
        while attempt < 3:
            try:
                status, body, headers = await self.api.call(
                    "upload: signed PUT", "PUT", url, data=data, headers={"Content-Type": "application/octet-stream"}, idempotent=False,
                    ok=(200, 403, 409) if attempt else (200, 403),
                )
                if status == 409 and time.monotonic() < self.api.stop_at + 60:
                    # The cut attempt's claim on the URL lasts until TRACKS_UPLOAD_CLAIM_SECONDS pass.
                    self.waited_for_claim += 1
                    await asyncio.sleep(min(float(headers.get("Retry-After", 2)), 5.0))
                    continue
                if status == 403:
                    if attempt == 0 and not self.api.retried:
                        self.api.stats.unexpected.append(f"upload: signed PUT: 403 {body[:200]!r}")
                        raise Failed
                    # Spent: an attempt cut by a kill, or answered 503 after its commit, was accepted. The track says so.
                    track = await self.api.json("upload: GET /v1/track", "GET", f"/v1/track/{created['track_id']}", headers=self.auth)
                    if track["track"]["status"] not in ("processing", "ready"):
                        self.api.stats.unexpected.append(f"upload: PUT answered 403 after a cut, track {track['track']['status']}: {body[:200]!r}")
                        raise Failed
                    self.accepted_before_cut += 1
                self.acknowledged_tracks.append(created["track_id"])
                return
            except Unknown:
                attempt += 1
                if attempt == 3:
                    raise
                self.reused_after_cut += 1  # the same URL again: a crash mid-body must not have spent it
                await asyncio.sleep(1.0)

    async def catalogue_upload(self, name: str, data: bytes) -> None:
        basename = f"stress-{self.rng.getrandbits(48):012x}"
        form = aiohttp.FormData()
        form.add_field("basename", basename)
        form.add_field("file", data, filename=name, content_type="application/octet-stream")
        status, body, _ = await self.api.call("upload: POST /api/audio", "POST", "/api/audio", data=form, headers=self.auth, ok=(201, 422))
        if status == 422:
            # Taken by our own first attempt, answered 503 after its commit: it happened.
            if not self.api.retried or "taken" not in body.decode(errors="replace"):
                self.api.stats.unexpected.append(f"upload: POST /api/audio: 422 {body[:200]!r}")
                raise Failed
            await self.api.call("upload: POST /api/audio", "GET", f"/api/audio/{basename}")
            self.committed_before_503 += 1
        self.acknowledged_audio.append(basename)


# --- soundboard clicks -------------------------------------------------------------------------------


@dataclass
class HttpClicker:
    api: Api
    catalogue: Catalogue
    rng: random.Random
    acknowledged: int = 0
    unknown: int = 0
    retried_after_503: int = 0

    async def run(self, pause: float) -> None:
        while time.monotonic() < self.api.stop_at:
            try:
                await self.api.call("click: POST /api/soundboard/click", "POST", "/api/soundboard/click",
                                    json_body={"type": "click", "soundFilename": self.rng.choice(self.catalogue.counter_sounds)})
                self.acknowledged += 1
                # A 503 does not say the click was not counted (its commit may have come first).
                self.retried_after_503 += self.api.retried
            except Unknown:
                self.unknown += 1
            except Failed:
                await asyncio.sleep(0.2)
            await think(self.rng, pause)


@dataclass
class SocketClicker:
    """A soundboard page that clicks its own board sound and waits for the soundClick that confirms
    each click (only this page clicks that sound, so the count it is sent is its own)."""

    session: aiohttp.ClientSession
    url: str
    sound: str
    start_count: int
    stats: Stats
    stop_at: float
    rng: random.Random
    confirmed_count: int = -1  # the highest count of the sound the server confirmed
    sent: int = 0
    unconfirmed: int = 0
    reconnects: int = 0

    async def run(self, pause: float) -> None:
        self.confirmed_count = self.start_count
        kind = "click: WebSocket sbClick"
        while time.monotonic() < self.stop_at:
            try:
                async with self.session.ws_connect(self.url, heartbeat=None, autoping=True) as ws:
                    while time.monotonic() < self.stop_at:
                        started = time.monotonic()
                        await ws.send_str(json.dumps({"type": "sbClick", "soundFilename": self.sound}))
                        self.sent += 1
                        if await self.await_confirmation(ws, self.confirmed_count + 1):
                            self.stats.record(kind, started, 101)
                        else:
                            self.unconfirmed += 1
                            if ws.closed:
                                break
                        await think(self.rng, pause)
            except (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError):
                pass
            if time.monotonic() < self.stop_at:
                self.reconnects += 1
                await asyncio.sleep(0.5)

    async def await_confirmation(self, ws: aiohttp.ClientWebSocketResponse, wanted: int) -> bool:
        deadline = time.monotonic() + ACK_TIMEOUT
        while (left := deadline - time.monotonic()) > 0:
            try:
                message = await ws.receive(timeout=left)
            except asyncio.TimeoutError:
                return False
            if message.type is not aiohttp.WSMsgType.TEXT:
                if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.ERROR):
                    return False
                continue
            if self.sound not in message.data:
                continue
            payload = json.loads(message.data)
            if payload.get("type") == "soundClick" and payload.get("soundFilename") == self.sound:
                self.confirmed_count = max(self.confirmed_count, int(payload["count"]))
                if self.confirmed_count >= wanted:
                    return True
        return False


@dataclass
class Observer:
    """An idle soundboard page on one server: the highest counter it was shown, and when."""

    session: aiohttp.ClientSession
    url: str
    counter: int = -1
    seen_at: float = 0.0
    reconnects: int = 0
    task: asyncio.Task | None = None

    async def run(self) -> None:
        """Reads until cancelled; a page whose socket closed opens again, as the soundboard's script does."""
        while True:
            try:
                async with self.session.ws_connect(self.url, autoping=True) as ws:
                    async for message in ws:
                        if message.type is aiohttp.WSMsgType.TEXT and "counterUpdate" in message.data:
                            payload = json.loads(message.data)
                            if payload.get("type") == "counterUpdate" and payload["counter"] > self.counter:
                                self.counter, self.seen_at = payload["counter"], time.monotonic()
            except (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError):
                pass
            self.reconnects += 1
            await asyncio.sleep(0.5)


class Truth:
    """The database, read directly (not through the fault proxy): what really happened."""

    def __init__(self, dsn: str):
        self.dsn = dsn
        self.connection = None

    async def open(self) -> None:
        import psycopg

        self.connection = await psycopg.AsyncConnection.connect(self.dsn, autocommit=True)

    async def close(self) -> None:
        if self.connection is not None:
            await self.connection.close()

    async def playlist_order(self, hashid: str) -> list[int]:
        """The playlist's tracks in linked-list order, from first_id along next_id."""
        cursor = await self.connection.execute("SELECT id, first_id FROM playlist WHERE public_id = %s", (hashid,))
        row = await cursor.fetchone()
        if row is None:
            return []
        playlist_id, first = row
        cursor = await self.connection.execute("SELECT id, next_id FROM playlist_track WHERE playlist_id = %s", (playlist_id,))
        links = dict(await cursor.fetchall())
        order, current = [], first
        while current is not None and current in links and len(order) <= len(links):
            order.append(current)
            current = links[current]
        if len(order) != len(links):
            order.append(-1)  # tracks the chain does not reach (or a cycle): never equal to a model
        return order
