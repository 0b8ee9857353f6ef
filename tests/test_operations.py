"""Operator commands: `flask check [--repair]` on each kind of damage, and `flask backup` /
`flask restore` round trips (same and other database, both storages, during writes)."""
from __future__ import annotations

import io
import tarfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text, update
from sqlalchemy.engine import make_url

from blueprints.catalogue.services import store_image_bytes
from blueprints.operations import snapshots
from blueprints.playlists import services as playlists
from blueprints.soundboard.clicks import Click
from blueprints.soundboard.live import live
from blueprints.soundboard.services import counter_and_statistics
from config import normalise_database_url
from demo.images import cover
from extensions import db
from media.storage import get_storage
from models.catalogue import Audio
from models.playlist import Playlist, PlaylistTrack
from models.soundboard import DailyStatistic, GlobalCounter, Sound
from models.tracks import Track, TrackStatus
from tests.conftest import TEST_DATABASE_URL, make_app
from tests.factories import user_with_token
from tests.storage_backends import both_storages
from tests.test_tracks_api import _collection, _ok, _path, _wait_ready

CLICK = Click("click", "boom")


def build_library(app, audio_file) -> dict:
    """A little of everything that names a stored file or keeps a count."""
    client = app.test_client()
    user_id, headers = user_with_token(app, name=f"owner{uuid.uuid4().hex[:6]}")
    created = _ok(client.post("/v1/track", json={"collection_id": _collection(client, headers), "file_name": "x.flac"}, headers=headers))
    _ok(client.put(_path(created["track_upload"]["upload_url"]), data=audio_file("flac").read_bytes()))
    assert _wait_ready(client, headers, created["track_id"], app)["status"] == "ready"
    with app.app_context():
        db.session.add(Sound(filename="boom", displayname="Boom", source="Season 1"))
        db.session.commit()
        get_storage().put_bytes(audio_file("mp3").read_bytes(), "sounds/boom.mp3")
        store_image_bytes(cover("x", 32, seed=1), "Cover", "cover/one.png")
        audio = [Audio(basename=f"a{n}", filename=f"a{n}.ogg", path=f"/a{n}", size=1, mimetype="audio/ogg") for n in range(6)]
        db.session.add_all(audio)
        db.session.commit()
        audio_ids = [a.id for a in audio]
        for _ in range(3):
            live().record_click(CLICK)
    playlist = client.post("/api/playlist", json={"name": "Mix", "visibility": 0}, headers=headers).get_json()["playlist"]
    for audio_id in audio_ids[:5]:
        assert client.post(f"/api/playlist/{playlist['id']}/track", json={"audio_id": audio_id}, headers=headers).status_code == 201
    with app.app_context():
        playlist_id = db.session.scalar(select(Playlist.id).where(Playlist.public_id == playlist["id"]))
    return {"track_id": uuid.UUID(created["track_id"]), "playlist_id": playlist_id, "headers": headers, "audio_ids": audio_ids}


def _check(app, *args: str):
    return app.test_cli_runner().invoke(args=["check", *args])


# --- check ---------------------------------------------------------------------------------------


@both_storages
def test_check_finds_each_kind_of_damage_and_repairs_what_is_safe(app, audio_file):
    library = build_library(app, audio_file)
    clean = _check(app)
    assert clean.exit_code == 0 and "No problems found." in clean.output, clean.output

    with app.app_context():
        storage = get_storage()
        track = db.session.get(Track, library["track_id"])
        audio_key = track.audio_key
        storage.put_bytes(b"left behind", "tracks/ghost/audio.mp3")  # orphan
        storage.delete(audio_key)  # missing, repairable: the track can be uploaded again
        storage.delete("sounds/boom.mp3")  # missing, nothing can bring it back
        middle = db.session.scalars(select(PlaylistTrack).where(PlaylistTrack.playlist_id == library["playlist_id"]).order_by(PlaylistTrack.position)).all()[2]
        db.session.execute(update(PlaylistTrack).where(PlaylistTrack.id == middle.id).values(next_id=None))  # the chain is cut
        db.session.execute(update(Playlist).where(Playlist.id == library["playlist_id"]).values(track_count=9))
        db.session.execute(update(DailyStatistic).values(count=DailyStatistic.count + 4))  # statistics ahead of the total
        db.session.commit()

    found = _check(app)
    assert found.exit_code == 1
    lines = found.output.splitlines()
    assert any(l.startswith("orphan file: tracks/ghost/audio.mp3:") and l.endswith("[not repaired]") for l in lines), found.output
    assert any(l.startswith(f"missing file: {audio_key}:") for l in lines)
    assert any(l.startswith("missing file: sounds/boom.mp3:") for l in lines)
    assert any(l.startswith("broken playlist:") and "not reachable" in l and "track_count is 9" in l for l in lines)
    assert any(l.startswith("counter: soundboard total: the counter says 3, the daily statistics add up to 7") for l in lines)
    assert "5 problem(s): 0 repaired, 5 not repaired." in found.output
    with app.app_context():  # a check without --repair changes nothing
        assert get_storage().exists("tracks/ghost/audio.mp3")
        assert counter_and_statistics() == (3, 7)

    young = _check(app, "--repair")  # the orphan was written a moment ago: it may be an upload's
    assert young.exit_code == 1
    assert "may belong to a write in progress" in young.output
    assert "REPAIRED: relinked 5 track(s)" in young.output
    assert "REPAIRED: counter set from 3 to 7" in young.output
    assert "REPAIRED: track marked error, its upload URL usable again" in young.output
    assert "missing file: sounds/boom.mp3: named by sound" in young.output and "[not repaired]" in young.output

    repaired = _check(app, "--repair", "--min-age", "0")
    assert repaired.exit_code == 1  # the sound's file is still gone
    assert "orphan file: tracks/ghost/audio.mp3: stored, but no row names it [REPAIRED: deleted]" in repaired.output
    assert "2 problem(s): 1 repaired, 1 not repaired." in repaired.output
    with app.app_context():
        assert not get_storage().exists("tracks/ghost/audio.mp3")
        assert playlists.chain_is_consistent(library["playlist_id"])
        order = [t.audio_id for t in playlists.ordered_tracks(db.session.get(Playlist, library["playlist_id"]))]
        assert order == library["audio_ids"][:5]  # the links' order where they held, then by position
        assert counter_and_statistics() == (7, 7)
        today = db.session.scalar(select(DailyStatistic.count).where(DailyStatistic.date == datetime.now(UTC).date()))
        assert today == 7  # not counted again by the trigger when the total rose
        track = db.session.get(Track, library["track_id"])
        assert track.status == TrackStatus.error and track.audio_key is None and track.audio_upload_used_at is None
        db.session.execute(Sound.__table__.delete())
        db.session.commit()
    assert _check(app).exit_code == 0


def test_check_repairs_a_total_ahead_of_its_statistics_and_a_playlist_loop(app, audio_file):
    library = build_library(app, audio_file)
    with app.app_context():
        db.session.execute(update(DailyStatistic).values(count=0))
        tracks = db.session.scalars(select(PlaylistTrack).where(PlaylistTrack.playlist_id == library["playlist_id"]).order_by(PlaylistTrack.position)).all()
        db.session.execute(update(PlaylistTrack).where(PlaylistTrack.id == tracks[3].id).values(next_id=tracks[1].id))  # a loop
        db.session.commit()
    found = _check(app, "--repair")
    assert found.exit_code == 0, found.output
    assert "loops back" in found.output and "counter set from 3 to 0" in found.output
    assert "2 problem(s): 2 repaired, 0 not repaired." in found.output
    with app.app_context():
        assert playlists.chain_is_consistent(library["playlist_id"]) and counter_and_statistics() == (0, 0)
        live().record_click(CLICK)  # clicks count on as before
        assert counter_and_statistics() == (1, 1)
    assert _check(app).exit_code == 0


# --- backup and restore --------------------------------------------------------------------------


@pytest.fixture()
def other_database(tmp_path):
    """Empty databases to restore into: a SQLite file, and under TEST_DATABASE_URL a PostgreSQL
    database of its own too (so a PostgreSQL backup is restored into both)."""
    targets = {"sqlite": f"sqlite:///{tmp_path / 'restored.db'}"}
    admin = name = None
    if TEST_DATABASE_URL:
        url = make_url(normalise_database_url(TEST_DATABASE_URL))
        name = f"{url.database}_restored"
        admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        targets["postgresql"] = url.set(database=name).render_as_string(hide_password=False)
    yield targets
    if admin is not None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _dump(app) -> dict[str, list]:
    """Every row of every table, comparable across databases."""
    with app.app_context():
        tables = {}
        for table in db.metadata.sorted_tables:
            rows = db.session.execute(select(table)).all()
            tables[table.name] = sorted(([snapshots._encode(_utc(v)) for v in row] for row in rows), key=repr)
        db.session.rollback()
        return tables


def _utc(value):
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


def _files(app) -> dict[str, bytes]:
    with app.app_context():
        storage = get_storage()
        return {key: storage.read_bytes(key) for key in storage.keys()}


def _target(tmp_path, database_url: str, media_storage: dict, name: str):
    from tests.storage_backends import unique_prefix

    storage = {"MEDIA_STORAGE": media_storage["MEDIA_STORAGE"].rsplit("/", 1)[0] + f"/{unique_prefix()}"} if media_storage else {}
    return make_app(tmp_path / name, SQLALCHEMY_DATABASE_URI=normalise_database_url(database_url), MEDIA_ROOT=str(tmp_path / name / "media"), **storage)


def _dispose(app) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@both_storages
def test_backup_and_restore_round_trip(app, audio_file, tmp_path, other_database, media_storage):
    build_library(app, audio_file)
    archive = tmp_path / "themeboard.tar"
    written = app.test_cli_runner().invoke(args=["backup", str(archive)])
    assert written.exit_code == 0, written.output
    assert "Wrote" in written.output and "3 files" in written.output
    source_rows, source_files = _dump(app), _files(app)
    assert len(source_files) == 3 and source_rows["playlist_track"] and source_rows["track"]
    with tarfile.open(archive) as opened:
        assert "manifest.json" in opened.getnames() and "db/track.jsonl" in opened.getnames()

    for kind, url in other_database.items():
        target = _target(tmp_path, url, media_storage, kind)
        try:
            restored = target.test_cli_runner().invoke(args=["restore", str(archive)])
            assert restored.exit_code == 0, restored.output
            assert "Created the schema" in restored.output and "3 files" in restored.output
            assert _dump(target) == {**source_rows, "data_version": _bumped(source_rows["data_version"])}
            assert _files(target) == source_files
            assert _check(target).exit_code == 0
            # The restored app works: ids continue after the restored ones, uploads and clicks too.
            client = target.test_client()
            headers = user_with_token(target, name=f"new{kind}")[1]
            playlist = client.post("/api/playlist", json={"name": "After", "visibility": 0}, headers=headers)
            assert playlist.status_code == 201
            with target.app_context():
                assert live().record_click(CLICK).counter == 4

            refused = target.test_cli_runner().invoke(args=["restore", str(archive)])
            assert refused.exit_code == 1 and "pass --force" in refused.output
            forced = target.test_cli_runner().invoke(args=["restore", "--force", str(archive)])
            assert forced.exit_code == 0 and "Deleted every row" in forced.output
            assert _dump(target)["playlist"] == source_rows["playlist"]
        finally:
            _close(target)


def _bumped(rows: list) -> list:
    return [[name, version + 1] for name, version in rows]


def _close(app) -> None:
    extension = app.extensions.get("soundboard_live")
    if extension is not None:
        extension.close()
    _dispose(app)


def test_a_damaged_or_foreign_archive_is_refused_before_anything_is_written(app, audio_file, tmp_path, other_database):
    build_library(app, audio_file)
    archive = tmp_path / "good.tar"
    assert app.test_cli_runner().invoke(args=["backup", str(archive)]).exit_code == 0
    damaged = tmp_path / "damaged.tar"
    with tarfile.open(archive) as source, tarfile.open(damaged, "w") as out:
        for member in source:
            data = source.extractfile(member).read()
            if member.name == "db/playlist_track.jsonl":
                data = data.replace(b",1,", b",2,", 1)  # one id changed: the JSON is still valid
            member.size = len(data)
            out.addfile(member, io.BytesIO(data))
    target = _target(tmp_path, other_database["sqlite"], {}, "damaged")
    try:
        refused = target.test_cli_runner().invoke(args=["restore", str(damaged)])
        assert refused.exit_code == 1 and "does not match its checksum" in refused.output
        not_a_backup = tmp_path / "x.tar"
        not_a_backup.write_bytes(b"hello")
        assert "is not a Themeboard backup" in target.test_cli_runner().invoke(args=["restore", str(not_a_backup)]).output
        assert not Path(target.config["MEDIA_ROOT"], "tracks").exists()
        with target.app_context():
            assert snapshots.target_state()[0] is False  # no schema was even created
    finally:
        _close(target)


@pytest.mark.slow
def test_a_backup_taken_during_writes_is_one_consistent_state(app, audio_file, tmp_path, other_database, monkeypatch):
    """Playlist inserts and moves, clicks and image uploads run while the backup is written (it
    waits for more writes after each table it reads); the restored copy holds whole chains, a
    total equal to its statistics, and every file it names."""
    library = build_library(app, audio_file)
    stop = threading.Event()
    errors: list[BaseException] = []
    done = {"writes": 0}

    def playlist_writer():
        with app.app_context():
            n = 0
            while not stop.is_set():
                playlist = db.session.get(Playlist, library["playlist_id"])
                ids = [t.id for t in playlists.ordered_tracks(playlist)]
                if n % 3 == 2 and len(ids) > 2:
                    playlists.update_track(playlist, ids[-1], {"previous": ids[0]})
                else:
                    playlists.add_track(playlist, {"audio_id": library["audio_ids"][n % 6], "next": ids[len(ids) // 2]})
                n += 1
                done["writes"] += 1

    def clicker():
        with app.app_context():
            while not stop.is_set():
                live().record_click(CLICK)
                done["writes"] += 1

    def image_writer():
        with app.app_context():
            n = 0
            while not stop.is_set():
                store_image_bytes(cover("w", 24, seed=n), "Cover", f"cover/w{n}.png")
                n += 1
                done["writes"] += 1

    def guarded(function):
        def run():
            try:
                function()
            except BaseException as error:  # noqa: BLE001 - reported by the test
                errors.append(error)
        return run

    add_file = snapshots._add_file
    waits = []

    def add_file_after_some_writes(archive, name, *args):
        if name.startswith("db/"):
            seen = done["writes"]
            deadline = time.monotonic() + 10
            while done["writes"] < seen + 3 and time.monotonic() < deadline and not errors:
                time.sleep(0.01)
            waits.append(done["writes"] - seen)
        return add_file(archive, name, *args)

    monkeypatch.setattr(snapshots, "_add_file", add_file_after_some_writes)
    app.config["PLAYLIST_TRACK_LIMIT"] = 100000
    threads = [threading.Thread(target=guarded(f)) for f in (playlist_writer, clicker, image_writer)]
    for thread in threads:
        thread.start()
    try:
        while done["writes"] < 30 and not errors:
            threading.Event().wait(0.05)
        archive = tmp_path / "during.tar.gz"
        written = app.test_cli_runner().invoke(args=["backup", str(archive)])
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    assert not errors, errors
    assert written.exit_code == 0, written.output
    assert len(waits) == len(db.metadata.sorted_tables) and min(waits) >= 3  # writes landed between every two tables read
    target = _target(tmp_path, other_database.get("postgresql", other_database["sqlite"]), {}, "during")
    try:
        assert target.test_cli_runner().invoke(args=["restore", str(archive)]).exit_code == 0
        report = _check(target)
        assert report.exit_code == 0 and "No problems found." in report.output, report.output
        with target.app_context():
            counter, total = counter_and_statistics()
            assert counter == total >= 3
            restored_tracks = db.session.scalar(select(Playlist.track_count).where(Playlist.id == library["playlist_id"]))
            assert restored_tracks == len(db.session.scalars(select(PlaylistTrack.id).where(PlaylistTrack.playlist_id == library["playlist_id"])).all())
        with app.app_context():
            final_tracks = db.session.scalar(select(Playlist.track_count).where(Playlist.id == library["playlist_id"]))
        assert 5 <= restored_tracks <= final_tracks
    finally:
        _close(target)
