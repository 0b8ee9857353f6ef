"""``python -m bench [name ...]`` (``make bench``): each feature's benchmark, each after its baseline.

Feature benchmarks are the modules ``bench/<name>.py`` that define ``run(ctx)``; with no names
all of them run. Results are printed and saved to ``bench/results/latest.json``.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import tempfile
import time
from pathlib import Path

from bench.harness import BenchContext, save_results

HERE = Path(__file__).resolve().parent
NOT_BENCHMARKS = {"harness", "__main__", "ws_client"}  # ws_client: the live benchmark's WebSocket client


def available() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules([str(HERE)]) if m.name not in NOT_BENCHMARKS)


def measure_baseline(ctx: BenchContext) -> None:
    print("Baseline: gunicorn -c gunicorn.conf.py, 2 workers, GET /ping, 16 connections", flush=True)
    with ctx.server(workers=2) as server:
        ctx.measure(f"{server.url}/ping", connections=16, seconds=1)  # warm-up
        result = ctx.measure(f"{server.url}/ping", connections=16, seconds=5)
    ctx.baseline_rps = result.rps
    ctx.report("baseline GET /ping", result.rps, "req/s")
    print(f"  (p50 {result.p50_ms} ms, p99 {result.p99_ms} ms, errors {result.errors})", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default: all of {available()})")
    args = parser.parse_args(argv)
    names = args.names or available()
    unknown = set(names) - set(available())
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    with tempfile.TemporaryDirectory(prefix="themeboard-bench-") as tmp:
        ctx = BenchContext(Path(tmp))
        for name in names:
            # Measured again before each benchmark: this machine's speed drifts over minutes
            # (seen: the same baseline 2,400 req/s, then 1,500), and a ratio to a baseline taken
            # minutes earlier measured the drift as much as the feature.
            measure_baseline(ctx)
            print(f"\n{name}:", flush=True)
            started = time.time()
            module = importlib.import_module(f"bench.{name}")
            module.run(ctx)
            print(f"  ({time.time() - started:.0f} s)", flush=True)
    save_results(ctx.reports, HERE / "results" / "latest.json")
    failed = [r for r in ctx.reports if r.verdict == "FAIL"]
    print(f"\n{len(ctx.reports)} figures, {len(failed)} missed their target. Saved to bench/results/latest.json.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
