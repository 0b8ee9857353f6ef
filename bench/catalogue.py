"""GET /api/audio?include=videos against 100,000 audio rows and 200,000 videos.

Targets: page size 15 at >= 0.5x the baseline cached and >= 0.35x uncached; a deep page at >= 0.5x
page 1. With BENCH_DATABASE_URL the same on PostgreSQL.
"""
from __future__ import annotations

AUDIO_ROWS = 100_000
VIDEOS_PER_AUDIO = 2

SETUP = f"""
from datetime import UTC, datetime
from sqlalchemy import insert
from models.catalogue import Audio, Video
now = datetime.now(UTC)
batch = 10_000
for start in range(0, {AUDIO_ROWS}, batch):
    db.session.execute(insert(Audio), [
        dict(id=i + 1, basename=f"Theme-{{i:06d}}", filename=f"Theme-{{i:06d}}.ogg", path=f"/audio/Theme-{{i:06d}}.ogg",
             size=1000 + i, mimetype="audio/ogg", created_at=now, updated_at=now)
        for i in range(start, min(start + batch, {AUDIO_ROWS}))
    ])
    db.session.execute(insert(Video), [
        dict(basename=f"Theme-{{i:06d}}-{{n}}", filename=f"Theme-{{i:06d}}-{{n}}.webm", path="/video/x.webm", size=1,
             mimetype="video/webm", resolution=1080, source="BD", nc=False, subbed=False, lyrics=False, uncen=False,
             overlap="None", audio_id=i + 1, created_at=now, updated_at=now)
        for i in range(start, min(start + batch, {AUDIO_ROWS})) for n in range({VIDEOS_PER_AUDIO})
    ])
    db.session.commit()
if db.engine.dialect.name == "postgresql":
    # What autovacuum does within a minute of a bulk load: without statistics the planner reads
    # every row of the table for a page of 15 (a bitmap scan and a sort).
    from sqlalchemy import text
    db.session.execute(text("ANALYZE"))
    db.session.commit()
"""


def prepare(ctx) -> dict[str, str]:
    """A migrated database holding the catalogue rows."""
    env = ctx.env()
    ctx.flask(env, "db", "upgrade")
    ctx.python(env, SETUP)
    return env


def report_first_page(ctx, server):
    """The list's first page, size 15, against the baseline (target 0.5x)."""
    url = f"{server.url}/api/audio?include=videos&page[size]=15"
    ctx.measure(url, seconds=1)  # warm-up
    size15 = ctx.measure(url)
    ctx.report("GET /api/audio?include=videos, page size 15", size15.rps, "req/s", ratio_of=ctx.baseline_rps, target=0.5)
    return size15


def run(ctx) -> None:
    env = prepare(ctx)
    with ctx.server(env, migrate=False) as server:
        url = f"{server.url}/api/audio?include=videos"
        last_page = AUDIO_ROWS // 15 - 2
        size15 = report_first_page(ctx, server)
        size100 = ctx.measure(f"{url}&page[size]=100")
        ctx.report("GET /api/audio?include=videos, page size 100", size100.rps, "req/s", ratio_of=ctx.baseline_rps)
        deep = ctx.measure(f"{url}&page[size]=15&page[number]={last_page}")
        ctx.report(f"deep page (page[number]={last_page}) vs page 1", deep.rps, "req/s", ratio_of=size15.rps, target=0.5)
        assert size15.errors == 0 and deep.errors == 0, "the benchmark saw errors"
    # The same without the response cache: what a changed page costs (every write invalidates it).
    with ctx.server({**env, "API_CACHE_DISABLED": "1"}, migrate=False) as server:
        url = f"{server.url}/api/audio?include=videos"
        cold15 = ctx.measure(f"{url}&page[size]=15")
        ctx.report("  uncached: page size 15", cold15.rps, "req/s", ratio_of=ctx.baseline_rps, target=0.35)
        cold100 = ctx.measure(f"{url}&page[size]=100")
        ctx.report("  uncached: page size 100", cold100.rps, "req/s", ratio_of=ctx.baseline_rps)
        cold_deep = ctx.measure(f"{url}&page[size]=15&page[number]={last_page}")
        ctx.report("  uncached: deep page vs page 1", cold_deep.rps, "req/s", ratio_of=cold15.rps, target=0.5)
