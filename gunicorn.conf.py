"""The server's configuration, in one place: ``gunicorn -c gunicorn.conf.py wsgi:app``.

gevent workers: an open soundboard page is a WebSocket that stays open for as long as the page
does, and under gevent it costs a few greenlets and buffers, not an OS thread, so one worker
holds thousands of them. ``make run``, the tests that start servers and the benchmarks all use
this file. CPU-heavy work (audio decoding, waveforms, images) runs on real threads
(``concurrency.run_off_loop``) so it never stalls a worker's event loop.
"""
import os
import resource

bind = os.environ.get("BIND") or f"127.0.0.1:{os.environ.get('PORT', '5000')}"
# Live updates cross worker processes through Redis only: without REDIS_URL one worker, whose
# pages all hear each other's clicks (it holds thousands of pages on its own).
workers = int(os.environ.get("WEB_CONCURRENCY") or (2 if os.environ.get("REDIS_URL") else 1))
worker_class = "gevent"
# Connections one worker serves at once, open pages included; the process's file limit is raised
# to match below (each connection is a file descriptor).
worker_connections = int(os.environ.get("WORKER_CONNECTIONS", "20000"))
keepalive = 5
timeout = 30
graceful_timeout = 10
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
accesslog = os.environ.get("ACCESS_LOG") or None


def _raise_open_file_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = worker_connections + 1024
    if hard != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


_raise_open_file_limit()


def when_ready(server) -> None:
    if server.cfg.workers > 1 and not os.environ.get("REDIS_URL"):
        server.log.warning(
            "%s workers without REDIS_URL: soundboard pages only hear clicks made on their own worker; set REDIS_URL.",
            server.cfg.workers,
        )


# gunicorn's control socket has one default path per user: several servers on one machine (the
# tests, a two-server deployment) would take it from each other, and nothing here uses it.
control_socket_disable = True
