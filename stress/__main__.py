"""`make stress`: two Themeboard servers behind nginx, sharing PostgreSQL, Redis and an S3 store,
with a `flask worker`, under 200 concurrent clients while faults are injected. See the README's
"Benchmarks" section and bench/README.md ("stress") for what is run and what is checked.

    python -m stress [--seconds 60] [--clients 200] [--no-faults] [--keep]

Environment: STRESS_DATABASE_URL (a PostgreSQL role that may create databases, on its
``postgres`` database; default postgresql://postgres@127.0.0.1:5432/postgres), STRESS_DATABASE
(the database the run drops and creates: default ``stress``), STRESS_REDIS (host:port/db, default
127.0.0.1:6379/3: the run empties that database number), STRESS_PORT_BASE (default 6300: nginx,
then the two servers, moto and the two fault proxies on the next five ports).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from stress import report
from stress.deploy import BUCKET, ROOT, Deployment, Settings, worker_serving
from stress.load import (
    Api,
    Catalogue,
    Failed,
    HttpClicker,
    Observer,
    PlaylistWriter,
    SocketClicker,
    Stats,
    Truth,
    Unknown,
    Uploader,
    reader,
)

CUT_SECONDS = 10.0
CLAIM_SECONDS = 10  # TRACKS_UPLOAD_CLAIM_SECONDS of the run: how long a dead upload holds its URL


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m stress", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("STRESS_SECONDS", 60)), help="length of the load (default 60)")
    parser.add_argument("--clients", type=int, default=int(os.environ.get("STRESS_CLIENTS", 200)), help="concurrent clients (default 200)")
    parser.add_argument("--pause", type=float, default=0.2, help="each client waits 0..PAUSE seconds between requests (default 0.2)")
    parser.add_argument("--no-faults", action="store_true", help="the load without faults")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, nginx config) even when green")
    return parser.parse_args(argv)


def settings_from_env() -> Settings:
    redis = os.environ.get("STRESS_REDIS", "127.0.0.1:6379/3")
    address, _, number = redis.partition("/")
    host, _, port = address.rpartition(":")
    return Settings(
        port_base=int(os.environ.get("STRESS_PORT_BASE", 6300)),
        database_admin_url=os.environ.get("STRESS_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
        database_name=os.environ.get("STRESS_DATABASE", "stress"),
        redis=(host or "127.0.0.1", int(port or 6379), int(number or 3)),
    )


@dataclass
class Run:
    args: argparse.Namespace
    deployment: Deployment
    stats: Stats = field(default_factory=Stats)
    checks: list[tuple[str, bool, str]] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)
    load_before: float = 0.0
    started: float = field(default_factory=time.monotonic)

    def check(self, name: str, passed: bool, detail: str) -> bool:
        self.checks.append((name, passed, detail))
        print(f"  [{'PASS' if passed else 'FAIL'}] {name}: {detail}", flush=True)
        return passed

    def say(self, text: str) -> None:
        print(f"[{time.monotonic() - self.started:6.1f}s] {text}", flush=True)

    def url(self, name: str = "nginx") -> str:
        return f"http://127.0.0.1:{self.deployment.settings.ports[name]}"


# --- setting up ---------------------------------------------------------------------------------------

USERS_SNIPPET = """
import json, sys
from app import create_app
from blueprints.accounts import services as accounts
app = create_app()
out = []
with app.app_context():
    for i in range(int(sys.argv[1])):
        user = accounts.create_user(f"stress{i}", f"stress{i}@example.invalid", "stress-password-%d" % i)
        out.append(accounts.create_token(user, "stress").raw)
print(json.dumps(out))
"""


def make_audio_files() -> tuple[list[tuple[str, bytes]], bytes]:
    """Real audio made here (demo/audio.py): small files for the load, a big FLAC for the kill."""
    import numpy as np

    from demo.audio import encode, render

    small = []
    for seed, (kind, fmt) in enumerate((("jingle", "mp3"), ("bleeps", "ogg"), ("hit", "flac"), ("jingle", "opus"), ("bleeps", "mp3"))):
        rate = 48000 if fmt == "opus" else 44100
        small.append((f"stress-{seed}.{fmt}", encode(render(kind, seed=seed, seconds=3.0, rate=rate), fmt, rate)))
    noise = np.random.default_rng(7).uniform(-0.5, 0.5, 44100 * 70).astype("float32")  # ~6 MB of FLAC: it barely compresses
    return small, encode(noise, "flac")


def set_up(run: Run) -> dict:
    d = run.deployment
    run.say(f"temporary folder {d.tmp}")
    d.fresh_database()
    d.fresh_redis()
    d.build_env()
    d.start_moto()
    d.start_proxies()
    run.say("moto (S3) and the PostgreSQL/Redis fault proxies are up; migrating and seeding")
    d.flask("db", "upgrade")
    # The demo content and the accounts at once (two processes): the set-up is most of a run's time.
    shares = writers_count(run.args.clients)
    seed = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "seed"], cwd=ROOT, env=d.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    users = subprocess.Popen([sys.executable, "-c", USERS_SNIPPET, str(shares["writers"] + shares["uploaders"])],
                             cwd=ROOT, env=d.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    d.flask("users", "create", "stress-admin", "--email", "stress-admin@example.invalid", "--password", "stress-admin-password", "--admin")
    admin_token = d.flask("users", "token", "stress-admin", "--label", "stress").stdout.strip().splitlines()[-1]
    for name, process in (("flask seed", seed), ("creating users", users)):
        out, err = process.communicate()
        if process.returncode:
            raise RuntimeError(f"{name} failed:\n{err[-3000:]}")
    tokens = json.loads(out.strip().splitlines()[-1])
    run.say(f"{len(tokens) + 1} users with API tokens; starting two servers, the worker and nginx")
    d.start_app("app_a", wait=False)
    d.start_app("app_b")
    d.wait_app("app_a")
    d.start_worker()
    d.start_nginx()
    run.say(f"nginx on {run.url()} -> servers on {run.url('app_a')} and {run.url('app_b')} ({d.settings.web_concurrency} gevent workers each)")
    return {"admin": admin_token, "users": tokens}


def writers_count(clients: int) -> dict[str, int]:
    """How the clients are shared out: half read, a fifth write playlists, the rest upload and click."""
    sockets = min(16, max(1, clients // 12))  # one demo sound each (the seed makes 16)
    uploaders = max(2, clients // 20)
    writers = max(1, clients // 5)
    readers = max(1, clients // 2)
    http_clickers = max(1, clients - sockets - uploaders - writers - readers)
    return {"readers": readers, "writers": writers, "uploaders": uploaders, "http_clickers": http_clickers, "socket_clickers": sockets}


async def read_catalogue(api: Api) -> Catalogue:
    body = await api.json("set-up", "GET", "/api/audio?page[size]=100")
    audio = body["audios"]
    sounds = (await api.json("set-up", "GET", "/api/sounds"))
    filenames = [s["filename"] for s in (sounds if isinstance(sounds, list) else sounds.get("sounds", []))]
    return Catalogue(
        audio_ids=[a["audio_id"] for a in audio],
        basenames=[a["basename"] for a in audio],
        links=[urllib.parse.urlsplit(a["link"]).path for a in audio],
        counter_sounds=filenames,
        board_sounds=filenames,
    )


# --- the checks before the load ---------------------------------------------------------------------


async def checks_before(run: Run, session: aiohttp.ClientSession, tokens: dict, small: list[tuple[str, bytes]]) -> None:
    run.say("checks across the two servers")
    a, b = Api(session, run.url("app_a"), run.stats, float("inf")), Api(session, run.url("app_b"), run.stats, float("inf"))
    auth = {"Authorization": f"Bearer {tokens['admin']}"}
    # An upload through A is streamable through B, and its processing job is run by the worker.
    name, data = next(f for f in small if f[0].endswith(".flac"))
    collection = await a.json("set-up", "POST", "/v1/collection", json_body={"title": "stress checks"}, headers=auth)
    created = await a.json("set-up", "POST", "/v1/track", json_body={"collection_id": collection["collection_id"], "file_name": name}, headers=auth)
    await a.call("set-up", "PUT", created["track_upload"]["upload_url"], data=data)
    track_id, deadline, track = created["track_id"], time.monotonic() + 30, {}
    while time.monotonic() < deadline:
        track = (await b.json("set-up", "GET", f"/v1/track/{track_id}", headers=auth))["track"]
        if track["status"] != "processing":
            break
        await asyncio.sleep(0.2)
    streamed = b""
    if track.get("stream_url"):
        stream_path = urllib.parse.urlsplit(track["stream_url"]).path
        _, streamed, _ = await b.call("set-up", "GET", stream_path)
    run.check("upload through one server, streamed through the other", streamed == data,
              f"Tracks v1 PUT of {len(data):,} B on :{run.deployment.settings.ports['app_a']}, status {track.get('status')!r}, "
              f"{len(streamed):,} identical bytes from :{run.deployment.settings.ports['app_b']}" if streamed == data else f"track {track}")
    from redis import Redis
    from rq.job import Job
    from rq.serializers import JSONSerializer

    host, port, number = run.deployment.settings.redis
    try:
        job = Job.fetch(f"track-{track_id}", connection=Redis(host=host, port=port, db=number), serializer=JSONSerializer)
        status, worker = job.get_status(), job.worker_name
    except Exception as error:  # noqa: BLE001 - no job in Redis: it did not go through the queue
        status, worker = f"not in Redis ({error.__class__.__name__})", None
    run.check("a job queued by a server is run by the worker", status == "finished" and bool(worker),
              f"RQ job track-{track_id}: {status}, run by {worker}")
    # A click on one server shows on the pages of the other within a second, both ways.
    for clicked, watched in (("app_a", "app_b"), ("app_b", "app_a")):
        pages = [Observer(session, run.url(watched).replace("http", "ws") + "/ws") for _ in range(5)]
        for page in pages:
            page.task = asyncio.create_task(page.run())
        for _ in range(100):
            if all(p.counter >= 0 for p in pages):
                break
            await asyncio.sleep(0.05)
        clicker = Api(session, run.url(clicked), run.stats, float("inf"))
        filename = (await clicker.json("set-up", "GET", "/api/sounds"))
        filename = (filename if isinstance(filename, list) else filename["sounds"])[0]["filename"]
        answer = await clicker.json("set-up", "POST", "/api/soundboard/click", json_body={"type": "click", "soundFilename": filename})
        acknowledged = time.monotonic()
        while time.monotonic() < acknowledged + 3 and not all(p.counter >= answer["counter"] for p in pages):
            await asyncio.sleep(0.01)
        late = [p.seen_at - acknowledged for p in pages if p.counter >= answer["counter"]]
        worst = max(late) if len(late) == len(pages) else float("inf")
        run.check(f"a click on {clicked} shows on {watched}'s pages within 1 s", worst <= 1.0,
                  f"5 pages showed counter {answer['counter']} {worst * 1000:.0f} ms after the click's answer at the latest")
        for page in pages:
            page.task.cancel()


# --- faults --------------------------------------------------------------------------------------


async def cut(run: Run, which: str, mode: str, at: float, seconds: float) -> None:
    await asyncio.sleep(max(0.0, at - time.monotonic()))
    proxy = run.deployment.proxies[which]
    begun = time.monotonic()
    await asyncio.to_thread(proxy.set, mode)
    run.say(f"fault: {which} cut ({mode}) for {seconds:.0f} s")
    await asyncio.sleep(seconds)
    await asyncio.to_thread(proxy.set, "pass")
    run.stats.fault_windows.append((f"{which} {mode}", begun, time.monotonic()))
    run.say(f"fault: {which} back")


async def raw_request(port: int, head: str, body: bytes = b"") -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(head.encode() + body)
    await writer.drain()
    return reader, writer


async def kill_the_worker_of(run: Run, writer: asyncio.StreamWriter, app: str) -> int | None:
    """kill -9 the worker process that accepted this connection (on a busy machine the connection
    may wait in the listen backlog for a while before a worker takes it)."""
    port = run.deployment.settings.ports[app]
    local_port = writer.get_extra_info("sockname")[1]
    deadline = time.monotonic() + 20
    while (pid := worker_serving(local_port, port, run.deployment.child(app).worker_pids())) is None and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    if pid is not None:
        os.kill(pid, signal.SIGKILL)
        run.stats.kills.append(time.monotonic())
    return pid


async def prepare_kill_mid_upload(api: Api, token: str, collection_id: str) -> str:
    auth = {"Authorization": f"Bearer {token}"}
    created = await api.json("set-up", "POST", "/v1/track", json_body={"collection_id": collection_id, "file_name": "killed.flac"}, headers=auth)
    return created["track_upload"]["upload_url"]


async def kill_mid_upload(run: Run, api: Api, url: str, big: bytes, at: float) -> None:
    """A Tracks v1 PUT of a big FLAC straight to server A, its worker killed at about half of the
    body; then the same signed URL again, through nginx."""
    target = urllib.parse.urlsplit(url)
    await asyncio.sleep(max(0.0, at - time.monotonic()))
    port = run.deployment.settings.ports["app_a"]
    head = (f"PUT {target.path}?{target.query} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/octet-stream\r\n"
            f"Content-Length: {len(big)}\r\n\r\n")
    _, writer = await raw_request(port, head)
    half, sent, chunk = len(big) // 2, 0, 64 * 1024
    while sent < half:
        writer.write(big[sent:sent + chunk])
        await writer.drain()
        sent += chunk
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.3)
    pid = await kill_the_worker_of(run, writer, "app_a")
    writer.close()
    run.say(f"fault: kill -9 of server A's worker {pid} after {sent:,} of {len(big):,} bytes of a signed PUT")
    # The killed upload's claim on the URL expires (TRACKS_UPLOAD_CLAIM_SECONDS) and is not renewed
    # by a dead process: until then the URL answers 409, after it the same URL takes the file.
    status, body, waited = None, b"", time.monotonic()
    while time.monotonic() - waited < 3 * CLAIM_SECONDS:
        headers = {}
        try:
            status, body, headers = await api.call("upload: signed PUT", "PUT", url, data=big, ok=(200, 403, 409), idempotent=False)
        except Failed:
            status, body = None, b"(see errors)"
        except Unknown:
            status, body = 502, b"(nginx: a connection of the killed worker)"
        if status not in (409, 502):
            break
        await asyncio.sleep(min(float(headers.get("Retry-After", 2)), 5.0))
    waited = time.monotonic() - waited
    run.check("kill -9 mid-upload: the same signed URL works afterwards", pid is not None and status == 200,
              f"worker {pid} killed at {sent / len(big):.0%} of the body; the same URL through nginx: {status} after {waited:.0f} s "
              f"(409 while the dead upload's claim lasted) {body[:120].decode(errors='replace') if status != 200 else ''}".strip())
    run.events.append(f"kill -9 mid-upload: worker {pid}, retry {status}")


async def prepare_kill_mid_reorder(api: Api, token: str, audio_ids: list[int]) -> str:
    auth = {"Authorization": f"Bearer {token}"}
    playlist = (await api.json("set-up", "POST", "/api/playlist", json_body={"name": "reorder under kill", "visibility": 1}, headers=auth, ok=(201,)))["playlist"]["id"]
    for audio_id in audio_ids[:5]:
        await api.call("set-up", "POST", f"/api/playlist/{playlist}/track", json_body={"audio_id": audio_id}, headers=auth, ok=(201,))
    return playlist


async def kill_mid_reorder(run: Run, api: Api, truth: Truth, token: str, playlist: str, at: float) -> None:
    """A playlist reorder sent straight to server A; while its transaction waits for the playlist's
    row lock (held here), its worker is killed. The chain must be as before; the move is then retried."""
    auth = {"Authorization": f"Bearer {token}"}
    before = await truth.playlist_order(playlist)
    await asyncio.sleep(max(0.0, at - time.monotonic()))
    import psycopg

    waited = False
    async with await psycopg.AsyncConnection.connect(truth.dsn) as lock:
        await lock.execute("SELECT id FROM playlist WHERE public_id = %s FOR UPDATE", (playlist,))
        port = run.deployment.settings.ports["app_a"]
        body = json.dumps({"next": before[0]}).encode()
        head = (f"PATCH /api/playlist/{playlist}/track/{before[-1]} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
        _, writer = await raw_request(port, head, body)
        async with await psycopg.AsyncConnection.connect(truth.dsn, autocommit=True) as probe:
            for _ in range(900):  # a busy worker may take many seconds to reach the statement
                cursor = await probe.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE 'UPDATE playlist%%'"
                )
                if (await cursor.fetchone())[0]:
                    waited = True
                    break
                await asyncio.sleep(0.05)
        pid = await kill_the_worker_of(run, writer, "app_a")
        writer.close()
        await asyncio.sleep(0.5)
        await lock.rollback()
    run.say(f"fault: kill -9 of server A's worker {pid} while its reorder waited inside its transaction ({waited})")
    await asyncio.sleep(1.0)
    after_kill = await truth.playlist_order(playlist)
    try:
        status, _, _ = await api.call("write playlist", "PATCH", f"/api/playlist/{playlist}/track/{before[-1]}", json_body={"next": before[0]}, headers=auth)
    except Failed:
        status = None
    after_retry = await truth.playlist_order(playlist)
    expected = [before[-1], *before[:-1]]
    run.check("kill -9 mid-reorder: the chain is untouched, the retried move applies",
              pid is not None and waited and after_kill == before and status == 200 and after_retry == expected,
              f"worker {pid} killed inside the move's transaction ({'waiting on the row lock' if waited else 'NOT seen waiting'}); "
              f"chain after the kill {'as before' if after_kill == before else after_kill}; retry {status}, "
              f"chain {'moved as asked' if after_retry == expected else after_retry}")
    run.events.append(f"kill -9 mid-reorder: worker {pid}, retry {status}")


# --- the load ----------------------------------------------------------------------------------------


async def load(run: Run, tokens: dict, small: list[tuple[str, bytes]], big: bytes) -> dict:
    args, d = run.args, run.deployment
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    timeout = aiohttp.ClientTimeout(total=60)
    truth = Truth(d.direct_database_url())
    await truth.open()
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await checks_before(run, session, tokens, small)
        setup = Api(session, run.url(), run.stats, float("inf"))
        catalogue = await read_catalogue(setup)
        shares = writers_count(args.clients)
        users = list(tokens["users"])
        rng = random.Random(17)
        collections = []
        for token in users[shares["writers"]:]:
            collections.append((await setup.json("set-up", "POST", "/v1/collection", json_body={"title": "stress"}, headers={"Authorization": f"Bearer {token}"}))["collection_id"])
        admin_collection = (await setup.json("set-up", "POST", "/v1/collection", json_body={"title": "kill"}, headers={"Authorization": f"Bearer {tokens['admin']}"}))["collection_id"]
        counts = await sound_counts(truth)
        counter_before = await global_counter(truth)
        observers = [Observer(session, run.url(app).replace("http", "ws") + "/ws") for app in ("app_a", "app_b") for _ in range(5)]
        for page in observers:
            page.task = asyncio.create_task(page.run())
        kill_url = await prepare_kill_mid_upload(setup, tokens["admin"], admin_collection)
        kill_playlist = await prepare_kill_mid_reorder(setup, tokens["admin"], catalogue.audio_ids)

        cpu_before = {c.name: c.cpu_seconds() for c in d.children}
        run.load_before = os.getloadavg()[0]
        own_cpu = time.process_time()
        t0 = time.monotonic()
        stop_at = t0 + args.seconds
        api = lambda: Api(session, run.url(), run.stats, stop_at)  # noqa: E731
        writers = [PlaylistWriter(api(), users[i], catalogue, truth, random.Random(i)) for i in range(shares["writers"])]
        uploaders = [
            Uploader(api(), tokens["admin"] if i == 0 else users[shares["writers"] + i], collections[i], small, random.Random(1000 + i), catalogue_uploads=i == 0)
            for i in range(shares["uploaders"])
        ]
        http_clickers = [HttpClicker(api(), catalogue, random.Random(2000 + i)) for i in range(shares["http_clickers"])]
        socket_clickers = [
            SocketClicker(session, run.url().replace("http", "ws") + "/ws", sound, counts[sound], run.stats, stop_at, random.Random(3000 + i))
            for i, sound in enumerate(catalogue.board_sounds[: shares["socket_clickers"]])
        ]
        tasks = [asyncio.create_task(reader(api(), catalogue, random.Random(4000 + i), args.pause)) for i in range(shares["readers"])]
        tasks += [asyncio.create_task(c.run(args.pause)) for c in (*writers, *uploaders, *http_clickers, *socket_clickers)]
        run.say(f"load: {len(tasks)} clients for {args.seconds:.0f} s through nginx ({', '.join(f'{v} {k}' for k, v in shares.items())})")
        faults = []
        if not args.no_faults:
            s = args.seconds
            faults = [
                asyncio.create_task(cut(run, "pg", "blackhole", t0 + 0.12 * s, min(CUT_SECONDS, 0.2 * s))),
                asyncio.create_task(cut(run, "redis", "cut", t0 + 0.40 * s, min(CUT_SECONDS, 0.2 * s))),
                asyncio.create_task(kill_mid_upload(run, setup, kill_url, big, t0 + 0.65 * s)),
                asyncio.create_task(kill_mid_reorder(run, setup, truth, tokens["admin"], kill_playlist, t0 + 0.8 * s)),
            ]
        try:
            for task, name in zip(faults, ("PostgreSQL cut", "Redis cut", "kill -9 mid-upload", "kill -9 mid-reorder")):
                try:
                    await task
                except Exception as error:  # noqa: BLE001 - a fault that went wrong is a failed check, and the load goes on
                    run.check(f"fault injected: {name}", False, repr(error))
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
        run.cpu = {c.name: round(c.cpu_seconds() - cpu_before.get(c.name, 0.0), 1) for c in d.children}
        run.cpu["load (this process)"] = round(time.process_time() - own_cpu, 1)
        run.say("load over; the last click, then the pages of both servers")
        final = await setup.json("set-up", "POST", "/api/soundboard/click", json_body={"type": "click", "soundFilename": catalogue.counter_sounds[0]})
        acknowledged = time.monotonic()
        await asyncio.sleep(2.0)
        for page in observers:
            page.task.cancel()
        return {
            "elapsed": time.monotonic() - t0,
            "writers": writers,
            "uploaders": uploaders,
            "http_clickers": http_clickers,
            "socket_clickers": socket_clickers,
            "observers": observers,
            "final_counter": final["counter"],
            "final_at": acknowledged,
            "counter_before": counter_before,
            "truth": truth,
        }


async def sound_counts(truth: Truth) -> dict[str, int]:
    cursor = await truth.connection.execute("SELECT filename, count FROM sound")
    return dict(await cursor.fetchall())


async def global_counter(truth: Truth) -> int:
    cursor = await truth.connection.execute("SELECT count FROM global_counter")
    row = await cursor.fetchone()
    return int(row[0]) if row else 0


# --- afterwards -----------------------------------------------------------------------------------


async def verify(run: Run, outcome: dict) -> None:
    truth: Truth = outcome["truth"]
    d = run.deployment
    run.say("verifying against the database and the bucket")
    # Clicks: the HTTP ones (and the final one) on the global counter, each WebSocket page's on its own sound.
    http = outcome["http_clickers"]
    acknowledged = sum(c.acknowledged for c in http) + 1
    unknown = sum(c.unknown for c in http)
    counted = await global_counter(truth) - outcome["counter_before"]
    retried = sum(c.retried_after_503 for c in http)
    run.check("no acknowledged HTTP click lost", acknowledged <= counted <= acknowledged + unknown + retried,
              f"{acknowledged:,} acknowledged, {counted:,} counted; {unknown} cut by a kill and {retried} answered 503 then retried "
              "may each have counted once more")
    counts = await sound_counts(truth)
    sockets = outcome["socket_clickers"]
    confirmed = sum(c.confirmed_count - c.start_count for c in sockets)
    lost = [f"{c.sound}: confirmed {c.confirmed_count}, counted {counts.get(c.sound)}" for c in sockets if counts.get(c.sound, -1) < c.confirmed_count]
    extra = [c.sound for c in sockets if counts.get(c.sound, 0) > c.start_count + c.sent]
    run.check("no confirmed WebSocket click lost", not lost and not extra,
              f"{confirmed:,} confirmed of {sum(c.sent for c in sockets):,} sent by {len(sockets)} pages "
              f"({sum(c.unconfirmed for c in sockets)} unconfirmed, {sum(c.reconnects for c in sockets)} reconnects)" + (f"; LOST {lost} EXTRA {extra}" if lost or extra else ""))
    # Playlist writes: each playlist is in the database exactly as its writer was told.
    writers = outcome["writers"]
    differing = []
    for writer in writers:
        if writer.hashid and await truth.playlist_order(writer.hashid) != writer.order:
            differing.append(writer.hashid)
    disagreements = [x for w in writers for x in w.disagreements]
    run.check("no acknowledged playlist write lost", not differing and not disagreements,
              f"{sum(w.acknowledged for w in writers):,} acknowledged writes on {len(writers)} playlists, {sum(w.unknown for w in writers)} cut by a kill "
              f"(each found whole or absent); {len(differing)} playlists differ" + (f": {differing[:3]} {disagreements[:3]}" if differing or disagreements else ""))
    worker = d.child("worker")
    run.check("the flask worker survived the faults", worker.alive(),
              "running" if worker.alive() else f"exited with {worker.process.returncode}: see {worker.log} (queued jobs wait for a worker)")
    # Uploads: every acknowledged one is in the database and in the bucket, processed by the worker.
    tracks = [t for u in outcome["uploaders"] for t in u.acknowledged_tracks]
    audio = [a for u in outcome["uploaders"] for a in u.acknowledged_audio]
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        cursor = await truth.connection.execute("SELECT count(*) FROM track WHERE status = 'processing'")
        if not (await cursor.fetchone())[0]:
            break
        await asyncio.sleep(1)
    cursor = await truth.connection.execute("SELECT id::text, status, audio_key FROM track WHERE id::text = ANY(%s)", (tracks,))
    rows = {r[0]: r for r in await cursor.fetchall()}
    keys = {o["Key"] for page in d.s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="media/") for o in page.get("Contents", [])}
    bad_tracks = [t for t in tracks if t not in rows or rows[t][1] != "ready" or f"media/{rows[t][2]}" not in keys]
    cursor = await truth.connection.execute("SELECT basename, storage_key FROM audio WHERE basename = ANY(%s)", (audio,))
    stored = dict(await cursor.fetchall())
    bad_audio = [a for a in audio if a not in stored or f"media/{stored[a]}" not in keys]
    run.check("no acknowledged upload lost; every track processed", not bad_tracks and not bad_audio,
              f"{len(tracks)} Tracks v1 uploads ready and in the bucket, {len(audio)} catalogue uploads in the database and the bucket"
              + f" ({sum(u.reused_after_cut for u in outcome['uploaders'])} URLs used again after a cut, {sum(u.waited_for_claim for u in outcome['uploaders'])} 409s waited out, "
              f"{sum(u.accepted_before_cut + u.committed_before_503 for u in outcome['uploaders'])} found accepted after a cut or a 503)"
              + (f"; MISSING {bad_tracks[:3]} {[rows.get(t) for t in bad_tracks[:3]]} {bad_audio[:3]}" if bad_tracks or bad_audio else ""))
    # Pages on both servers showed the last click within a second.
    observers = outcome["observers"]
    on_time = [p for p in observers if p.counter >= outcome["final_counter"] and p.seen_at - outcome["final_at"] <= 1.0]
    run.check("every page on both servers showed the last click within 1 s", len(on_time) == len(observers),
              f"{len(on_time)} of {len(observers)} pages open through the run (5 on each server; {sum(p.reconnects for p in observers)} reopened after their socket closed)")
    staging = run.deployment.tmp / "staging"
    left = [p for p in staging.rglob("*") if p.is_file()] if staging.exists() else []
    run.events.append(f"staging files left: {len(left)}")


def flask_check(run: Run) -> None:
    done = run.deployment.flask("check", check=False)
    output = (done.stdout.strip() or done.stderr.strip())
    if "No such command" in output:
        run.check("flask --app app check finds nothing to repair", False, "not available: `flask check` has not landed on this branch (ops-data)")
        return
    lines = output.splitlines()
    run.check("flask --app app check finds nothing to repair", done.returncode == 0,
              f"exit {done.returncode}: " + (lines[-1][:200] if done.returncode == 0 and lines else " | ".join(lines[-8:])[:1500]))


# --- main ---------------------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="themeboard-stress-"))
    deployment = Deployment(settings_from_env(), tmp)
    run = Run(args, deployment)

    def stop(signum, frame):  # SIGTERM ends the run like Ctrl+C does: through the clean-up below
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    green = False
    try:
        tokens = set_up(run)
        small, big = make_audio_files()
        outcome = asyncio.run(run_async(run, tokens, small, big))
        flask_check(run)
        green = report.summary(run, outcome)
        report.save(run, outcome, ROOT / "bench" / "results" / "stress.json")
    except KeyboardInterrupt:
        print("\ninterrupted: stopping every process this run started", flush=True)
    finally:
        deployment.stop_all()
        if green and not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"logs and the nginx config are in {tmp}", flush=True)
    return 0 if green else 1


async def run_async(run: Run, tokens: dict, small, big) -> dict:
    import uvloop  # noqa: F401 - installed for bench; the default loop is fast enough here

    outcome = await load(run, tokens, small, big)
    try:
        await verify(run, outcome)
    finally:
        await outcome["truth"].close()
    return outcome


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
