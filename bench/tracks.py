"""The Tracks v1 upload path: a 20 MB file through the signed PUT and processing.

Reports throughput (MB/s, create + PUT + until ready) and the server's peak memory growth while
it streams, inspects and processes the file; the target is under 30 MB whatever the file size.
"""
from __future__ import annotations

import io
import threading
import time

import numpy as np
import requests
import soundfile

TARGET_MB = 20
MAX_GROWTH_MB = 30


def make_flac(megabytes: int) -> bytes:
    """White noise barely compresses, so FLAC of it reaches the size quickly."""
    rate = 44100
    seconds = int(megabytes * 1024 * 1024 / (rate * 2) * 1.02) + 1
    rng = np.random.default_rng(1)
    samples = (rng.uniform(-0.6, 0.6, rate * seconds)).astype("float32")
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, rate, format="FLAC", subtype="PCM_16")
    return buffer.getvalue()


def run(ctx) -> None:
    data = make_flac(TARGET_MB)
    size_mb = len(data) / (1024 * 1024)
    env = ctx.env()
    ctx.flask(env, "db", "upgrade")
    ctx.flask(env, "users", "create", "bench", "--email", "bench@example.com", "--password", "benchmark-password")
    token = ctx.flask(env, "users", "token", "bench").strip().splitlines()[-1]
    headers = {"Authorization": f"Bearer {token}"}
    with ctx.server(env, workers=1, migrate=False) as server:
        session = requests.Session()
        collection = session.post(f"{server.url}/v1/collection", json={"title": "Bench"}, headers=headers).json()["collection_id"]
        # Warm-up: one small upload so imports and pools are in place before measuring memory.
        _upload(session, server.url, headers, collection, make_flac(1))
        baseline = server.rss_bytes()
        peak = [baseline]
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], server.rss_bytes())
                time.sleep(0.02)

        sampler = threading.Thread(target=sample)
        sampler.start()
        started = time.perf_counter()
        status = _upload(session, server.url, headers, collection, data)
        elapsed = time.perf_counter() - started
        done.set()
        sampler.join()
        assert status == "ready", f"the upload ended as {status}"
        ctx.report(f"upload + processing of a {size_mb:.1f} MB FLAC", size_mb / elapsed, "MB/s")
        growth = (peak[0] - baseline) / (1024 * 1024)
        verdict = "PASS" if growth < MAX_GROWTH_MB else "FAIL"
        ctx.report(f"server peak memory growth (target < {MAX_GROWTH_MB} MB: {verdict})", growth, "MB")


def _upload(session, base: str, headers: dict, collection: str, data: bytes) -> str:
    created = session.post(f"{base}/v1/track", json={"collection_id": collection, "file_name": "bench.flac"}, headers=headers).json()
    response = session.put(created["track_upload"]["upload_url"], data=data)
    response.raise_for_status()
    for _ in range(600):
        track = session.get(f"{base}/v1/track/{created['track_id']}", headers=headers).json()["track"]
        if track["status"] in ("ready", "error"):
            return track["status"]
        time.sleep(0.05)
    return "timeout"
