"""The deployment `make stress` runs on loopback: nginx in front of two gunicorn servers, a
`flask worker`, moto's S3 server, and fault proxies in front of PostgreSQL and Redis.

Every process is started here in a session of its own and ended here (SIGTERM to its group, then
SIGKILL), whatever way the run ends; nothing else on the machine is touched. The machine's
PostgreSQL and Redis are reached through ``tests/fault_proxy.py`` so that a fault is a cut on the
way to them, never a stopped service.
"""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
GUNICORN = str(Path(PYTHON).with_name("gunicorn"))
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
S3_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "stress", "AWS_SECRET_ACCESS_KEY": "stress-secret", "AWS_DEFAULT_REGION": "us-east-1"}
BUCKET = "themeboard-stress"


@dataclass
class Settings:
    port_base: int = 6300  # nginx; then app A, app B, moto, the PostgreSQL and Redis proxies
    database_admin_url: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    database_name: str = "stress"
    redis: tuple[str, int, int] = ("127.0.0.1", 6379, 3)  # host, port, database number
    web_concurrency: int = 2

    @property
    def ports(self) -> dict[str, int]:
        names = ("nginx", "app_a", "app_b", "moto", "pg_proxy", "redis_proxy")
        return {name: self.port_base + i for i, name in enumerate(names)}


@dataclass
class Child:
    name: str
    process: subprocess.Popen
    log: Path

    def alive(self) -> bool:
        return self.process.poll() is None

    def cpu_seconds(self) -> float:
        """CPU time of the process, its live children and the children it reaped (killed workers)."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for pid in [self.process.pid, *self.worker_pids()]:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += sum(int(x) for x in fields[11:15 if pid == self.process.pid else 13]) / ticks
        return total

    def worker_pids(self) -> list[int]:
        """The processes this one started (gunicorn's workers)."""
        found = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True, check=False)
        return [int(pid) for pid in found.stdout.split()]


class FaultProxy:
    """``python -m tests.fault_proxy`` as a child: one command per line on its stdin."""

    def __init__(self, child: Child):
        self.child = child

    def set(self, mode: str) -> None:
        self.child.process.stdin.write(f"{mode}\n")
        self.child.process.stdin.flush()
        self.child.process.stdout.readline()  # the proxy's answer: the change is done


@dataclass
class Deployment:
    settings: Settings
    tmp: Path
    children: list[Child] = field(default_factory=list)
    proxies: dict[str, FaultProxy] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)

    # --- the shared services -------------------------------------------------------------------
    def fresh_database(self) -> None:
        """Drop and create the run's own database (never any other)."""
        import psycopg

        name = self.settings.database_name
        with psycopg.connect(self.settings.database_admin_url, autocommit=True) as connection:
            connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (name,)
            )
            connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
            connection.execute(f'CREATE DATABASE "{name}"')

    def direct_database_url(self) -> str:
        """The run's database without the proxy (the harness's own checks and locks)."""
        admin = self.settings.database_admin_url
        return admin.rsplit("/", 1)[0] + "/" + self.settings.database_name

    def fresh_redis(self) -> None:
        """Empty the run's own Redis database number (the queue, limits, presence)."""
        import redis

        host, port, number = self.settings.redis
        redis.Redis(host=host, port=port, db=number).flushdb()

    def build_env(self) -> dict[str, str]:
        ports = self.settings.ports
        admin = self.settings.database_admin_url.rsplit("@", 1)
        user = admin[0]  # postgresql://user[:password]
        database_host = admin[1].split("/", 1)[0].rsplit(":", 1)[0]
        _, _, number = self.settings.redis
        env = {
            **os.environ,
            **S3_CREDENTIALS,
            "APP_ENV": "production",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "DATABASE_URL": f"{user}@{database_host}:{ports['pg_proxy']}/{self.settings.database_name}",
            "REDIS_URL": f"redis://127.0.0.1:{ports['redis_proxy']}/{number}",
            "SOUNDBOARD_CHANNEL": f"themeboard:stress:{os.getpid()}",  # pub/sub channels span Redis databases
            "MEDIA_STORAGE": f"s3://{BUCKET}/media",
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{ports['moto']}",
            "MEDIA_ROOT": str(self.tmp / "staging"),
            "WEB_CONCURRENCY": str(self.settings.web_concurrency),
            "TRUSTED_PROXIES": "1",
            "SOUNDBOARD_ADMIN_TOKEN": secrets.token_urlsafe(24),
            # Every client of the run shares one loopback address: per-address limits would measure
            # themselves, not the deployment.
            "API_RATE_LIMIT": "off",
            "CLICK_RATE_LIMIT": "1000000/second",
            "WS_CONNECTIONS_PER_ADDRESS": "100000",
            "LOG_LEVEL": "WARNING",
            # The run is short: a killed upload holds its URL 10 s, a track whose processing (or
            # whose upload's store) died with its process is taken over after 30 s, looked for every 5 s.
            "TRACKS_UPLOAD_CLAIM_SECONDS": "10",
            "TRACKS_PROCESSING_LEASE_SECONDS": "30",
            "TRACKS_SWEEP_SECONDS": "5",
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("FLASK_APP", None)
        self.env = env
        return env

    # --- processes -----------------------------------------------------------------------------
    def start(self, name: str, argv: list[str], *, env: dict[str, str] | None = None, stdin: bool = False) -> Child:
        log = self.tmp / f"{name}.log"
        process = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env or self.env,
            stdout=subprocess.PIPE if stdin else open(log, "w"),
            stderr=open(log, "a") if stdin else subprocess.STDOUT,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            text=True,
            start_new_session=True,  # its own process group: ended as one, and no Ctrl+C of ours reaches it twice
        )
        child = Child(name, process, log)
        self.children.append(child)
        return child

    def flask(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run([PYTHON, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=self.env, capture_output=True, text=True)
        if check and done.returncode != 0:
            raise RuntimeError(f"flask {' '.join(args)} failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-3000:]}")
        return done

    def start_moto(self) -> None:
        port = self.settings.ports["moto"]
        self.start("moto", [PYTHON, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)])
        wait_for_port(port, self.children[-1])
        import boto3
        from botocore.config import Config

        client = boto3.session.Session(
            aws_access_key_id=S3_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=S3_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=S3_CREDENTIALS["AWS_DEFAULT_REGION"],
        ).client("s3", endpoint_url=f"http://127.0.0.1:{port}", config=Config(s3={"addressing_style": "path"}))
        client.create_bucket(Bucket=BUCKET)
        self.s3 = client

    def start_proxies(self) -> None:
        admin_host = self.settings.database_admin_url.rsplit("@", 1)[1].split("/", 1)[0]
        pg_host, _, pg_port = admin_host.rpartition(":")
        redis_host, redis_port, _ = self.settings.redis
        for name, host, port, listen in (
            ("pg_proxy", pg_host or "127.0.0.1", int(pg_port or 5432), self.settings.ports["pg_proxy"]),
            ("redis_proxy", redis_host, redis_port, self.settings.ports["redis_proxy"]),
        ):
            child = self.start(name, [PYTHON, "-m", "tests.fault_proxy", host, str(port), str(listen)], stdin=True)
            child.process.stdout.readline()  # the port: it listens
            self.proxies[name.removesuffix("_proxy")] = FaultProxy(child)

    def start_app(self, name: str, wait: bool = True) -> Child:
        port = self.settings.ports[name]
        child = self.start(name, [GUNICORN, "-c", "gunicorn.conf.py", "wsgi:app"], env={**self.env, "BIND": f"127.0.0.1:{port}"})
        if wait:
            self.wait_app(name)
        return child

    def wait_app(self, name: str) -> None:
        wait_for_http(f"http://127.0.0.1:{self.settings.ports[name]}/ping", self.child(name))

    def start_worker(self) -> Child:
        return self.start("worker", [PYTHON, "-m", "flask", "--app", "app", "worker"])

    def start_nginx(self) -> Child:
        ports = self.settings.ports
        prefix = self.tmp / "nginx"
        for folder in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (prefix / folder).mkdir(parents=True, exist_ok=True)
        template = string.Template((ROOT / "stress" / "nginx.conf.template").read_text())
        config = template.safe_substitute(prefix=prefix, app_a=ports["app_a"], app_b=ports["app_b"], listen=ports["nginx"])
        if os.geteuid() == 0:  # as root nginx would run its workers as "nobody", who cannot read the temp folder
            config = "user root;\n" + config
        (prefix / "nginx.conf").write_text(config)
        argv = [NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", str(prefix / "error.log"), "-g", "daemon off;"]
        child = self.start("nginx", argv)
        wait_for_http(f"http://127.0.0.1:{ports['nginx']}/ping", child)
        return child

    def child(self, name: str) -> Child:
        return next(c for c in self.children if c.name == name)

    def stop_all(self) -> None:
        """End every process this run started (newest first), and nothing else."""
        for child in reversed(self.children):
            stop_group(child.process)
        self.children.clear()


def stop_group(process: subprocess.Popen, grace: float = 10) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=grace)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        process.wait(timeout=5)


def wait_for_port(port: int, child: Child, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not child.alive():
            raise RuntimeError(f"{child.name} exited ({child.process.returncode}); see {child.log}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{child.name} did not listen on {port} within {timeout}s; see {child.log}")


def wait_for_http(url: str, child: Child, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not child.alive():
            raise RuntimeError(f"{child.name} exited ({child.process.returncode}); see {child.log}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{child.name} did not answer {url} within {timeout}s; see {child.log}")


def worker_serving(client_port: int, server_port: int, candidates: list[int]) -> int | None:
    """The process among ``candidates`` that holds the server end of the loopback connection from
    ``client_port`` to ``server_port`` (/proc/net/tcp gives its inode, /proc/PID/fd who has it)."""
    wanted = f"0100007F:{server_port:04X} 0100007F:{client_port:04X}"
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if f"{fields[1]} {fields[2]}" == wanted:
            inode = fields[9]
            break
    if inode is None:
        return None
    for pid in candidates:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                try:
                    if os.readlink(fd) == f"socket:[{inode}]":
                        return pid
                except OSError:
                    continue
        except OSError:
            continue
    return None
