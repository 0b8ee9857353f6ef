"""Reading a 1000-track playlist in order, 100 tracks a page, through every page.

Reported as a ratio of the baseline; and the last page against the first, which must cost the
same however long the playlist is (the page is one indexed range of positions).
"""
from __future__ import annotations

TRACKS = 1000

SETUP = f"""
from datetime import UTC, datetime
from sqlalchemy import insert
from blueprints.accounts.services import create_user
from models.catalogue import Audio
from models.playlist import Playlist, PlaylistTrack
now = datetime.now(UTC)
user = create_user("bench", "bench@example.com", "benchmark-password")
db.session.execute(insert(Audio), [dict(id=i + 1, basename=f"A{{i}}", filename=f"A{{i}}.ogg", path="/a", size=1, mimetype="audio/ogg",
                                        created_at=now, updated_at=now) for i in range({TRACKS})])
playlist = Playlist(user_id=user.id, name="Long", visibility=0, first_id=1, last_id={TRACKS}, track_count={TRACKS})
db.session.add(playlist)
db.session.flush()
db.session.execute(insert(PlaylistTrack), [dict(id=i + 1, playlist_id=playlist.id, audio_id={TRACKS} - i, position=i,
                                                previous_id=i if i else None, next_id=i + 2 if i < {TRACKS} - 1 else None,
                                                created_at=now, updated_at=now) for i in range({TRACKS})])
db.session.commit()
print(playlist.public_id)
"""


def run(ctx) -> None:
    env = ctx.env()
    ctx.flask(env, "db", "upgrade")
    hashid = ctx.python(env, SETUP).strip().splitlines()[-1]
    with ctx.server(env, migrate=False) as server:
        base = f"{server.url}/api/playlist/{hashid}/track?page[size]=100&include=audio"
        pages = [f"{base}&page[number]={n}" for n in range(1, TRACKS // 100 + 1)]
        ctx.measure(pages, seconds=1)
        walk = ctx.measure(pages)
        ctx.report("1000-track playlist, all 10 pages of 100 (pages/s)", walk.rps, "req/s", ratio_of=ctx.baseline_rps)
    with ctx.server({**env, "API_CACHE_DISABLED": "1"}, migrate=False) as server:
        base = f"{server.url}/api/playlist/{hashid}/track?page[size]=100&include=audio"
        first = ctx.measure(f"{base}&page[number]=1", seconds=4)
        last = ctx.measure(f"{base}&page[number]=10", seconds=4)
        cold = ctx.measure([f"{base}&page[number]={n}" for n in range(1, 11)], seconds=4)
        ctx.report("  uncached: all 10 pages (pages/s)", cold.rps, "req/s", ratio_of=ctx.baseline_rps)
        ctx.report("  uncached: last page vs first page", last.rps, "req/s", ratio_of=first.rps, target=0.8)
        assert walk.errors == 0 and last.errors == 0, "the benchmark saw errors"
