"""Background jobs: on RQ over ``REDIS_URL`` when it is set, run by ``flask --app app worker`` on
any number of machines; without it, on a small thread pool inside the web process.

A job is a plain function taking JSON values, run inside an app context. Jobs must be safe to run
more than once: a queue can deliver a job again (a sweep re-enqueues what a dead worker left), so
each job guards itself with its own claim in the database (see blueprints/tracks/processing.py).
RQ was chosen over Celery and Dramatiq because it is a small library on Redis alone, which the
app already uses, and its in-process SimpleWorker keeps one Flask app, one database pool and one
storage client for the worker's life.
"""
from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from flask import Flask
from redis import Redis, RedisError
from rq import Queue, SimpleWorker
from rq.job import JobStatus
from rq.serializers import JSONSerializer

from extensions import db
from redis_link import app_link

log = logging.getLogger(__name__)
_executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="jobs")
FAILED_JOB_TTL = 24 * 3600  # seconds a failed job stays in Redis for inspection (rq info)
FINISHED_JOB_TTL = 600
WORKER_RESTART_MAX_PAUSE = 30.0  # seconds between a worker's attempts to reach Redis again


def queue_for(app: Flask) -> Queue | None:
    """The app's RQ queue, or None without REDIS_URL. JSON, not pickle: nothing that reaches
    Redis can make a worker run arbitrary code."""
    if not app.config.get("REDIS_URL"):
        return None
    queue = app.extensions.get("jobs_queue")
    if queue is None:
        connection = Redis.from_url(app.config["REDIS_URL"], socket_connect_timeout=2, socket_timeout=10)
        queue = Queue(app.config["JOBS_QUEUE"], connection=connection, serializer=JSONSerializer)
        app.extensions["jobs_queue"] = queue
    return queue


def submit(app: Flask, function: Callable[..., object], *args, job_id: str, timeout: int, unless_queued: bool = False) -> None:
    """Run ``function(*args)`` in the background: on the queue, or here when there is no Redis
    (or it cannot be reached: the job runs rather than waits, and its own claim still guards it).

    ``unless_queued`` skips a job whose id is already waiting in the queue, so repeated sweeps
    do not pile up copies of it behind a busy worker.
    """
    queue = queue_for(app)
    link = app_link(app)
    if queue is not None and link is not None and link.up:
        # The web side enqueues over the link's short timeouts; a worker keeps the queue's own
        # connection, whose blocking waits for jobs outlast those.
        queue = Queue(queue.name, connection=link.client, serializer=JSONSerializer)
        try:
            if unless_queued:
                waiting = queue.fetch_job(job_id)
                if waiting is not None and waiting.get_status(refresh=False) == JobStatus.QUEUED:
                    return
            queue.enqueue(
                function, *args, job_id=job_id, job_timeout=timeout, result_ttl=FINISHED_JOB_TTL, failure_ttl=FAILED_JOB_TTL
            )
            return
        except (RedisError, OSError) as error:
            link.failed(error)  # logged once; later jobs run here at once until Redis is back
    _executor.submit(_run_here, app, function, args)


def warn_if_unattended(app: Flask) -> None:
    """Jobs wait in Redis until a `flask worker` takes them: say so when none is registered."""
    queue = queue_for(app)
    if queue is None:
        return
    try:
        waiting = queue.count
        if waiting and not SimpleWorker.count(connection=queue.connection, queue=queue):
            log.warning("%s job(s) wait on queue %r and no worker runs it: start `flask --app app worker`", waiting, queue.name)
    except RedisError as error:
        log.warning("Redis is unreachable (%s)", error)


def _run_here(app: Flask, function: Callable[..., object], args: tuple) -> None:
    with app.app_context():
        try:
            function(*args)
        except Exception:  # any failure: the job's own state in the database says what to retry
            log.exception("Background job %s%r failed", function.__name__, args)
            db.session.rollback()


class AppWorker(SimpleWorker):
    """RQ's in-process worker, running each job in a fresh app context (its own database session)."""

    def __init__(self, *args, app: Flask, **kwargs):
        super().__init__(*args, **kwargs)
        self.app = app

    def execute_job(self, job, queue):
        with self.app.app_context():
            return super().execute_job(job, queue)


def run_worker(app: Flask, burst: bool = False) -> bool:
    """Process the app's queue until stopped (SIGINT/SIGTERM finish the current job first), or
    until it is empty with ``burst``. Returns whether any job ran."""
    queue = queue_for(app)
    if queue is None:
        raise RuntimeError("REDIS_URL is not set: background jobs run inside the web processes.")
    ran_any = False
    pause = 1.0
    while True:
        worker = AppWorker([queue], connection=queue.connection, serializer=JSONSerializer, app=app)
        try:
            ran_any = worker.work(burst=burst, logging_level=os.environ.get("LOG_LEVEL", "INFO")) or ran_any
            return ran_any
        except (RedisError, OSError) as error:
            # RQ's bookkeeping raises out of work() when Redis goes away; a worker that exited then
            # would leave every later job waiting, so it starts again once Redis answers.
            log.warning("Redis is unreachable (%s): the worker starts again in %.0f s", error, pause)
            time.sleep(pause)
            pause = min(pause * 2, WORKER_RESTART_MAX_PAUSE)
            try:
                queue.connection.ping()
                pause = 1.0
            except (RedisError, OSError):
                continue
