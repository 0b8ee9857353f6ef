"""Benchmark harness: real gunicorn servers, a keep-alive HTTP load generator, ratio reports.

Machines here are noisy, so every figure is reported as a ratio of a baseline measured in the
same run (gunicorn, 2 workers, GET /ping, 16 connections), never as an absolute timing.

A feature module ``bench/<name>.py`` defines ``run(ctx: BenchContext) -> None`` and uses:

    with ctx.server(env={...}, workers=2) as server:      # gunicorn wsgi:app on a free port
        result = ctx.measure(f"{server.url}/api/audio", connections=16, seconds=5)
        ctx.report("audio list, size 15", result.rps, "req/s", ratio_of=ctx.baseline_rps, target=0.5)

``ctx.flask(env, "seed")`` runs a flask CLI command, and ``ctx.python(env, code)`` a Python
snippet inside an app context, against the same database before the server starts.
"""
from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
GUNICORN = str(Path(PYTHON).with_name("gunicorn"))


@dataclass
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    total: int


@dataclass
class Report:
    name: str
    value: float
    unit: str
    ratio: float | None = None
    target: float | None = None
    at_most: bool = False  # the target is a ceiling (memory, lost clicks), not a floor

    @property
    def verdict(self) -> str:
        """The ratio against the target; a figure without a ratio (a count) is checked as it is."""
        checked = self.ratio if self.ratio is not None else self.value
        if self.target is None:
            return ""
        passed = checked <= self.target if self.at_most else checked >= self.target
        return "PASS" if passed else "FAIL"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A gunicorn process serving ``wsgi:app``."""

    def __init__(self, env: dict[str, str], process: subprocess.Popen, port: int):
        self.app_env = env
        self.process = process
        self.port = port
        self.url = f"http://127.0.0.1:{port}"

    def pids(self) -> list[int]:
        children = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        return [self.process.pid, *map(int, children)]

    def rss_bytes(self) -> int:
        total = 0
        for pid in self.pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
            except OSError:
                continue
        return total


def _client_worker(args) -> tuple[int, int, list[float]]:
    """One load process: ``threads`` keep-alive connections hammering the URLs until the deadline."""
    urls, method, body, headers, threads, start_at, seconds, timeout = args
    parsed = [urllib.parse.urlsplit(url) for url in urls]
    done, errors, latencies = [0], [0], []
    lock = threading.Lock()

    def loop(offset: int) -> None:
        connection = None
        count, failures, local = 0, 0, []
        index = offset
        while time.time() < start_at:
            time.sleep(0.001)
        deadline = start_at + seconds
        while True:
            now = time.perf_counter()
            if time.time() >= deadline:
                break
            target = parsed[index % len(parsed)]
            index += 1
            try:
                if connection is None:
                    connection = http.client.HTTPConnection(target.hostname, target.port, timeout=timeout)
                path = target.path + (f"?{target.query}" if target.query else "")
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                if response.status >= 400:
                    failures += 1
                else:
                    count += 1
                if response.getheader("Connection", "").lower() == "close":
                    connection.close()
                    connection = None
            except (OSError, http.client.HTTPException):
                failures += 1
                if connection is not None:
                    connection.close()
                connection = None
            local.append((time.perf_counter() - now) * 1000)
        with lock:
            done[0] += count
            errors[0] += failures
            latencies.extend(local)

    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return done[0], errors[0], latencies


def measure(
    urls: str | list[str],
    *,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    connections: int = 16,
    seconds: float = 5.0,
    processes: int = 2,
    timeout: float = 30.0,
) -> Result:
    """Keep-alive HTTP load from separate processes (so the client's GIL is not the server's limit).

    A request that takes longer than ``timeout`` seconds is an error, and its latency is counted."""
    urls = [urls] if isinstance(urls, str) else list(urls)
    processes = max(1, min(processes, connections))
    share = [connections // processes + (1 if i < connections % processes else 0) for i in range(processes)]
    start_at = time.time() + 0.5
    jobs = [(urls, method, body, headers or {}, n, start_at, seconds, timeout) for n in share]
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        results = pool.map(_client_worker, jobs)
    total = sum(r[0] for r in results)
    errors = sum(r[1] for r in results)
    latencies = sorted(x for r in results for x in r[2])

    def percentile(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(len(latencies) * p))], 2) if latencies else 0.0

    return Result(rps=round(total / seconds, 1), p50_ms=percentile(0.5), p99_ms=percentile(0.99), errors=errors, total=total)


class BenchContext:
    def __init__(self, tmpdir: Path):
        self.tmpdir = tmpdir
        self.baseline_rps: float = 0.0
        self.reports: list[Report] = []

    # --- environment and servers -------------------------------------------------------------
    def env(self, **overrides: str) -> dict[str, str]:
        """A fresh database and media folder per call unless overridden: a new SQLite file, or with
        ``BENCH_DATABASE_URL`` set that PostgreSQL database emptied (its ``public`` schema made anew)."""
        slot = Path(tempfile.mkdtemp(dir=self.tmpdir))
        database_url = os.environ.get("BENCH_DATABASE_URL")
        if database_url and "DATABASE_URL" not in overrides:
            reset_database(database_url)
        env = {
            **os.environ,
            "APP_ENV": "production",
            "SECRET_KEY": "bench-secret",
            "DATABASE_URL": database_url or f"sqlite:///{slot / 'bench.db'}",
            "MEDIA_ROOT": str(slot / "media"),
            "SOUNDBOARD_ADMIN_TOKEN": "bench-admin-token",
            "API_RATE_LIMIT": "off",  # one client address at thousands of requests per second
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
        env.update(overrides)
        return env

    def flask(self, env: dict[str, str], *args: str) -> str:
        done = subprocess.run(
            [PYTHON, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=env, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise RuntimeError(f"flask {' '.join(args)} failed:\n{done.stderr[-3000:]}")
        return done.stdout

    def python(self, env: dict[str, str], code: str) -> str:
        """Run ``code`` with ``app``, ``db`` in scope inside an app context (for bulk data set-up)."""
        wrapper = (
            "from app import create_app\nfrom extensions import db\napp = create_app()\n"
            "with app.app_context():\n" + "\n".join("    " + line for line in code.splitlines())
        )
        done = subprocess.run([PYTHON, "-c", wrapper], cwd=ROOT, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"set-up failed:\n{done.stderr[-3000:]}")
        return done.stdout

    @contextmanager
    def server(
        self,
        env: dict[str, str] | None = None,
        *,
        workers: int = 2,
        migrate: bool = True,
    ) -> Iterator[Server]:
        env = env if env is not None else self.env()
        if migrate:
            self.flask(env, "db", "upgrade")
        port = free_port()
        log = open(self.tmpdir / f"gunicorn-{port}.log", "w")
        process = subprocess.Popen(
            [
                GUNICORN, "-c", "gunicorn.conf.py", "wsgi:app", "-b", f"127.0.0.1:{port}", "-w", str(workers),
                "--log-level", "warning",
            ],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        server = Server(env, process, port)
        try:
            wait_until_up(f"{server.url}/ping", process)
            yield server
        finally:
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(process.pid, signal.SIGKILL)
            log.close()

    # --- measuring and reporting -------------------------------------------------------------
    def measure(self, urls, **kwargs) -> Result:
        return measure(urls, **kwargs)

    def report(
        self, name: str, value: float, unit: str, *, ratio_of: float | None = None, target: float | None = None, at_most: bool = False
    ) -> Report:
        """``target`` is checked on the ratio (or, without ``ratio_of``, on the value): at least it, or
        with ``at_most`` at most it."""
        ratio = round(value / ratio_of, 3) if ratio_of else None
        entry = Report(name, round(value, 2), unit, ratio, target, at_most)
        self.reports.append(entry)
        ratio_text = f"  = {ratio:.2f}x" if ratio is not None else ""
        sign, times = ("<=" if at_most else ">="), ("x" if ratio is not None else f" {unit}")
        target_text = f"  (target {sign} {target}{times}: {entry.verdict})" if target is not None else ""
        print(f"  {name:<58} {entry.value:>10} {unit}{ratio_text}{target_text}", flush=True)
        return entry


def reset_database(url: str) -> None:
    """Drop everything in a benchmark database (one benchmark's rows must not slow the next)."""
    from sqlalchemy import create_engine, text

    from config import is_sqlite, normalise_database_url

    if is_sqlite(url):
        raise RuntimeError("BENCH_DATABASE_URL is for PostgreSQL; without it every benchmark gets its own SQLite file")
    engine = create_engine(normalise_database_url(url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


def wait_until_up(url: str, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}; see its log in the bench tmpdir")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the server did not answer {url} within {timeout}s")


def save_results(reports: list[Report], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([asdict(r) | {"verdict": r.verdict} for r in reports], indent=2))
