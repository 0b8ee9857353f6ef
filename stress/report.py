"""The summary table of a `make stress` run, and its JSON copy in bench/results/."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def rows(run) -> list[dict]:
    stats = run.stats
    out = []
    for kind in sorted(k for k in stats.samples if k != "set-up"):
        samples = stats.samples[kind]
        answered = [s for s in samples if s.status is not None]
        # Latency of the answers that are not a fault's 503 (those are counted in their own column).
        served = [s.seconds * 1000 for s in answered if s.status != 503]
        out.append(
            {
                "kind": kind,
                "requests": len(samples),
                "ok": sum(1 for s in answered if s.status < 400 or s.status == 101),
                "503_retry_after": stats.retried_503.get(kind, 0),
                "cut_by_kill": stats.cut_by_kill.get(kind, 0),
                "other_5xx": stats.other_5xx.get(kind, 0),
                "p50_ms": round(percentile(served, 0.5), 1),
                "p99_ms": round(percentile(served, 0.99), 1),
                "max_ms": round(max(served, default=0.0), 1),
            }
        )
    return out


def summary(run, outcome: dict) -> bool:
    table = rows(run)
    seconds = outcome["elapsed"]
    print()
    cut = min(10, 0.2 * run.args.seconds)
    faults = f"faults: PostgreSQL cut {cut:.0f} s, Redis cut {cut:.0f} s, kill -9 mid-upload and mid-reorder" if not run.args.no_faults else "no faults"
    print(f"Themeboard stress: {run.args.clients} clients for {run.args.seconds:.0f} s through nginx, two servers; {faults}")
    print(f"machine: {os.cpu_count()} cores, load average {run.load_before:.1f} before the load and {os.getloadavg()[0]:.1f} after it (other work included)")
    header = f"{'request':<36} {'count':>7} {'2xx/3xx':>8} {'503+RA':>7} {'killed':>7} {'5xx':>5} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}"
    print(header)
    print("-" * len(header))
    for row in table:
        print(f"{row['kind']:<36} {row['requests']:>7} {row['ok']:>8} {row['503_retry_after']:>7} {row['cut_by_kill']:>7} {row['other_5xx']:>5} "
              f"{row['p50_ms']:>8} {row['p99_ms']:>8} {row['max_ms']:>8}")
    total = sum(r["requests"] for r in table)
    print("-" * len(header))
    print(f"{'all':<36} {total:>7} {sum(r['ok'] for r in table):>8} {sum(r['503_retry_after'] for r in table):>7} "
          f"{sum(r['cut_by_kill'] for r in table):>7} {sum(r['other_5xx'] for r in table):>5}   ({total / seconds:,.0f} requests/s)")
    print("503+RA: 503 with Retry-After while PostgreSQL was cut, waited out and retried; killed: requests in flight on a")
    print("worker killed with -9 (nginx 502 or a dropped connection; reads retried, writes reconciled with the database).")
    if run.cpu:
        print("CPU seconds during the load: " + ", ".join(f"{name} {cpu}" for name, cpu in sorted(run.cpu.items(), key=lambda x: -x[1])))
    errors, unexpected = run.stats.errors, run.stats.unexpected
    run.check("no 5xx other than 503 with Retry-After (and no dropped request outside a kill)", not errors,
              f"{len(errors)}" + (f": {errors[:5]}" if errors else ""))
    run.check("no unexpected 4xx", not unexpected, f"{len(unexpected)}" + (f": {unexpected[:5]}" if unexpected else ""))
    for event in run.events:
        print(f"  note: {event}")
    failed = [c for c in run.checks if not c[1]]
    print()
    print(f"{len(run.checks) - len(failed)} of {len(run.checks)} checks passed" + (": " + "; ".join(c[0] for c in failed) if failed else ""))
    return not failed


def save(run, outcome: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "clients": run.args.clients,
        "seconds": run.args.seconds,
        "faults": not run.args.no_faults,
        "requests": rows(run),
        "checks": [{"name": n, "passed": p, "detail": d} for n, p, d in run.checks],
        "events": run.events,
        "cpu_seconds": run.cpu,
        "load_average_before": run.load_before,
    }, indent=2))
