"""Playlist ids are random public ids: nothing about one id tells another, and the old sqids are dead."""
from __future__ import annotations

import hashlib
import hmac
import math
from itertools import combinations

from sqlalchemy import select
from sqids import Sqids

from blueprints.playlists import services
from extensions import db
from models.playlist import PUBLIC_ID_ALPHABET, PUBLIC_ID_LENGTH, Playlist, PlaylistActivity, is_public_id
from tests.factories import make_user, user_with_token

OLD_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def old_sqid(secret: str, playlist_id: int) -> str:
    """The id this playlist had before migration 0900 (blueprints/playlists/hashids.py of then)."""
    keyed = sorted(OLD_ALPHABET, key=lambda ch: hmac.new(secret.encode(), ch.encode(), hashlib.sha256).digest())
    return Sqids(alphabet="".join(keyed), min_length=8).encode([playlist_id])


def _common_prefix(a: str, b: str) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def test_two_hundred_ids_share_no_structure(app):
    with app.app_context():
        user = make_user()
        ids = [services.create_playlist(user, {"name": f"p{n}", "visibility": n % 3}).public_id for n in range(200)]
    assert len(set(ids)) == 200
    assert all(len(i) == PUBLIC_ID_LENGTH and is_public_id(i) for i in ids)
    assert PUBLIC_ID_LENGTH * math.log2(len(PUBLIC_ID_ALPHABET)) >= 64  # bits of secret randomness per id
    # Random ids: two of them share 5 leading (or trailing) characters with odds of about 1 in 23,000.
    assert max(_common_prefix(a, b) for a, b in combinations(ids, 2)) < 5
    assert max(_common_prefix(a[::-1], b[::-1]) for a, b in combinations(ids, 2)) < 5
    # Consecutive ids differ almost everywhere (sqids of consecutive integers differed in two places).
    differing = [sum(x != y for x, y in zip(a, b)) for a, b in zip(ids, ids[1:])]
    assert sum(differing) / len(differing) > 12
    # Every position takes many values: nothing is a shared padding or a counter.
    for position in range(PUBLIC_ID_LENGTH):
        assert len({i[position] for i in ids}) >= 30


def test_old_sqids_and_integer_keys_open_nothing(app, client):
    user_id, headers = user_with_token(app)
    created = client.post("/api/playlist", json={"name": "Old", "visibility": 0}, headers=headers).get_json()["playlist"]
    with app.app_context():
        key = db.session.scalar(select(Playlist.id).where(Playlist.public_id == created["id"]))
    old = old_sqid(app.config["SECRET_KEY"], key)
    assert old != created["id"]
    for dead in (old, str(key)):
        assert client.get(f"/api/playlist/{dead}").status_code == 404
        assert client.get(f"/api/playlist/{dead}/track").status_code == 404
        assert client.patch(f"/api/playlist/{dead}", json={"name": "x"}, headers=headers).status_code == 404
        assert client.get(f"/playlists/{dead}").status_code == 404
        assert client.get(f"/playlists/{dead}/export.json").status_code == 404
    assert client.get(f"/api/playlist/{created['id']}").status_code == 200


def test_every_surface_speaks_the_public_id(app, client):
    user_id, headers = user_with_token(app)
    created = client.post("/api/playlist", json={"name": "Surfaces", "visibility": 0}, headers=headers).get_json()["playlist"]
    public_id = created["id"]
    assert is_public_id(public_id)
    assert [p["id"] for p in client.get("/api/playlist").get_json()["playlists"]] == [public_id]
    assert [p["id"] for p in client.get("/api/me/playlist", headers=headers).get_json()["playlists"]] == [public_id]
    assert client.patch(f"/api/playlist/{public_id}", json={"name": "Renamed"}, headers=headers).get_json()["playlist"]["id"] == public_id
    assert f"/playlists/{public_id}" in client.get("/playlists").get_data(as_text=True)
    assert public_id in client.get(f"/playlists/{public_id}/export.m3u").headers["Content-Disposition"]
    with app.app_context():
        logged = db.session.scalars(select(PlaylistActivity.playlist_hashid)).all()
    assert logged == [public_id, public_id]  # created, updated
