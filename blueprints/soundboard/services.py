"""Soundboard use cases: sounds, the spec's upload, statistics, milestones, notifications."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Mapping

from sqlalchemy import delete, func, select

from domain import DomainError
from extensions import db
from media.inspection import inspect_audio
from media.storage import get_storage, max_upload_bytes, staged_upload
from models.soundboard import DEFAULT_THEME, DailyStatistic, GlobalCounter, Milestone, Sound

FILENAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
THEME = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
TARGET_LOUDNESS_DB = -18.0  # every clip is brought to about this RMS level when it plays
MAX_GAIN_DB = 12.0


class SoundboardError(DomainError):
    """An error with the soundboard API's own ``name`` (e.g. "Invalid filename")."""

    def __init__(self, status: int, name: str, message: str):
        super().__init__(message, {"__name__": name})  # the family renderer reads the name from here
        self.status = status
        self.name = name


def bad_request(message: str, name: str = "Bad request") -> SoundboardError:
    return SoundboardError(400, name, message)


def sound_json(sound: Sound) -> dict[str, Any]:
    return {
        "id": sound.id,
        "filename": sound.filename,
        "displayname": sound.displayname,
        "source": sound.source,
        "count": sound.count,
        "theme": sound.theme,
    }


def source_slug(source: str | None) -> str:
    return re.sub(r"[^a-z0-9]+", "-", (source or "unsorted").lower()).strip("-") or "unsorted"


def storage_key(filename: str) -> str:
    return f"sounds/{filename}.mp3"


def gain_for(loudness_db: float) -> float:
    return round(max(-MAX_GAIN_DB, min(MAX_GAIN_DB, TARGET_LOUDNESS_DB - loudness_db)), 2)


# ---------------------------------------------------------------------------------------------
# Sounds
# ---------------------------------------------------------------------------------------------


def _optional_text(value: Any, limit: int) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text[:limit] or None


def _parse_count(raw: Any) -> int:
    if raw is None or raw == "" or raw == "null":
        return 0
    if isinstance(raw, bool):
        raise bad_request("Count must be an integer if provided.", "Invalid count")
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and re.fullmatch(r"\d{1,15}", raw.strip()):
        value = int(raw.strip())
    else:
        raise bad_request("Count must be an integer if provided.", "Invalid count")
    if value < 0:
        raise bad_request("Count must be an integer if provided.", "Invalid count")
    return value


def _parse_theme(raw: Any) -> str:
    if raw is None or raw == "" or raw == "null":
        return DEFAULT_THEME
    theme = str(raw).strip().lower()
    if not THEME.match(theme):
        raise bad_request("Theme may only contain letters, digits, - and _.", "Invalid theme")
    return theme


def upload_sound(form: Mapping[str, Any], file_storage) -> Sound:
    """The spec's upload: every check before anything is stored; nothing is left behind on failure."""
    filename = (form.get("filename") or "").strip()
    if not filename:
        raise bad_request("Filename must be provided.", "Invalid filename")
    if not FILENAME.match(filename):
        raise bad_request("Filename may only contain letters, digits, - and _ (at most 64).", "Invalid filename")
    if db.session.scalar(select(Sound.id).where(Sound.filename == filename)) is not None:
        raise bad_request("Sound filename already in use.", "Invalid filename")
    count = _parse_count(form.get("count"))
    theme = _parse_theme(form.get("theme"))
    if file_storage is None:
        raise bad_request("An mp3 file must be provided.", "Invalid file")
    with staged_upload(file_storage.stream) as staged:
        try:
            info = inspect_audio(staged.path, max_bytes=max_upload_bytes())
        except DomainError:
            raise bad_request("An mp3 file must be provided.", "Invalid file") from None
        if info.format != "mp3":
            raise bad_request("An mp3 file must be provided.", "Invalid file")
        sound = Sound(
            filename=filename,
            displayname=_optional_text(form.get("displayname"), 128),
            source=_optional_text(form.get("source"), 128),
            count=count,
            theme=theme,
            gain_db=gain_for(info.loudness_db),
            duration=info.duration,
        )
        db.session.add(sound)
        db.session.commit()
        try:
            staged.store(storage_key(filename))
        except OSError:
            db.session.delete(sound)
            db.session.commit()
            raise
    return sound


def find_sound(sound_id: Any) -> Sound:
    if isinstance(sound_id, bool) or not str(sound_id).strip().isdigit():
        raise bad_request("An integer id must be provided.", "Invalid id")
    sound = db.session.get(Sound, int(sound_id))
    if sound is None:
        raise SoundboardError(404, "Not found", "No sound with this id exists.")
    return sound


def modify_sound(data: Mapping[str, Any]) -> Sound:
    sound = find_sound(data.get("id"))
    if "filename" in data and data["filename"] != sound.filename:
        filename = str(data["filename"] or "").strip()
        if not FILENAME.match(filename):
            raise bad_request("Filename may only contain letters, digits, - and _ (at most 64).", "Invalid filename")
        if db.session.scalar(select(Sound.id).where(Sound.filename == filename)) is not None:
            raise bad_request("Sound filename already in use.", "Invalid filename")
        storage = get_storage()
        old_key = storage_key(sound.filename)
        sound.filename = filename
        db.session.flush()
        if storage.exists(old_key):
            storage.put_file(storage.path(old_key), storage_key(filename))
    if "displayname" in data:
        sound.displayname = _optional_text(data["displayname"], 128)
    if "source" in data:
        sound.source = _optional_text(data["source"], 128)
    if "count" in data:
        sound.count = _parse_count(data["count"])
    if "theme" in data:
        sound.theme = _parse_theme(data["theme"])
    db.session.commit()
    return sound


def delete_sound(sound_id: Any) -> Sound:
    sound = find_sound(sound_id)
    db.session.delete(sound)
    db.session.commit()
    get_storage().delete(storage_key(sound.filename))
    return sound


def list_sounds(args: Mapping[str, str], *, board_only: bool = False) -> list[Sound]:
    statement = select(Sound)
    if args.get("theme"):
        statement = statement.where(Sound.theme == args["theme"])
    if args.get("source"):
        statement = statement.where(Sound.source == args["source"])
    statement = _count_filters(statement, Sound.count, args)
    if board_only:
        statement = statement.where(Sound.displayname.is_not(None), Sound.source.is_not(None))
    return list(db.session.scalars(statement.order_by(Sound.source, Sound.displayname, Sound.id)))


def _int_arg(args: Mapping[str, str], key: str) -> int | None:
    raw = args.get(key)
    if raw is None or raw == "":
        return None
    if not re.fullmatch(r"-?\d{1,18}", raw.strip()):
        raise bad_request(f"'{key}' must be an integer.")
    return int(raw)


def _count_filters(statement, column, args: Mapping[str, str]):
    equals, over, under = _int_arg(args, "equals"), _int_arg(args, "over"), _int_arg(args, "under")
    if over is not None and under is not None and over >= under:
        raise bad_request("'over' must be smaller than 'under'.")
    if equals is not None:
        statement = statement.where(column == equals)
    if over is not None:
        statement = statement.where(column > over)
    if under is not None:
        statement = statement.where(column < under)
    return statement


def themes() -> list[str]:
    found = set(db.session.scalars(select(Sound.theme).distinct()))
    return sorted(found | {DEFAULT_THEME})


def sounds_by_source(theme: str) -> dict[str, list[Sound]]:
    grouped: dict[str, list[Sound]] = {}
    for sound in list_sounds({"theme": theme}, board_only=True):
        grouped.setdefault(sound.source, []).append(sound)
    return grouped


def ranking(theme: str, limit: int = 50) -> list[Sound]:
    return list(
        db.session.scalars(
            select(Sound)
            .where(Sound.theme == theme, Sound.displayname.is_not(None), Sound.source.is_not(None))
            .order_by(Sound.count.desc(), Sound.displayname)
            .limit(limit)
        )
    )


# ---------------------------------------------------------------------------------------------
# Counter and statistics
# ---------------------------------------------------------------------------------------------


def counter() -> int:
    """The big button's total, read by the click counter: the one way the app reaches that row."""
    from blueprints.soundboard.live import live  # the live machinery is built on these services

    return live().counter()


def _parse_date(args: Mapping[str, str], key: str) -> date | None:
    raw = args.get(key)
    if not raw:
        return None
    try:
        return datetime.strptime(raw, "%Y-%m-%d").date()
    except ValueError:
        raise bad_request(f"'{key}' must be a date formatted as yyyy-MM-dd.") from None


def statistics(args: Mapping[str, str]) -> list[dict[str, Any]]:
    start, end = _parse_date(args, "from"), _parse_date(args, "to")
    if start and end and start > end:
        raise bad_request("'from' must not be after 'to'.")
    statement = select(DailyStatistic)
    if start:
        statement = statement.where(DailyStatistic.date >= start)
    if end:
        statement = statement.where(DailyStatistic.date <= end)
    statement = _count_filters(statement, DailyStatistic.count, args)
    rows = db.session.scalars(statement.order_by(DailyStatistic.date))
    return [{"id": row.id, "date": row.date.isoformat(), "count": row.count} for row in rows]


def summary() -> dict[str, Any]:
    return summary_and_days()[0]


def summary_and_days() -> tuple[dict[str, Any], int]:
    """The summary, and the number of days its ``average`` is taken over (from the first counted day)."""
    today = datetime.now(UTC).date()
    week_start = today - timedelta(days=today.weekday())
    month_start = today.replace(day=1)
    year_start = today.replace(month=1, day=1)

    def since(start: date):
        return func.coalesce(func.sum(DailyStatistic.count).filter(DailyStatistic.date >= start), 0)

    # One statement, so one snapshot: read apart, a click committed in between made alltime run
    # ahead of daily, and pages growing the cached summary by the counter showed today short.
    alltime_now = select(func.coalesce(func.max(GlobalCounter.count), 0)).where(GlobalCounter.id == 1).scalar_subquery()
    row = db.session.execute(
        select(
            since(today), since(week_start), since(month_start), since(year_start),
            func.min(DailyStatistic.date), alltime_now,
        )
    ).one()
    daily, weekly, monthly, yearly, first_day, alltime = row
    days = (today - first_day).days + 1 if first_day else 1
    counts = {
        "alltime": alltime,
        "daily": int(daily),
        "weekly": int(weekly),
        "monthly": int(monthly),
        "yearly": int(yearly),
        "average": round(alltime / days, 2),
    }
    return counts, days


def chart_data(months: int = 12) -> list[dict[str, Any]]:
    today = datetime.now(UTC).date()
    year, month = today.year, today.month - (months - 1)
    while month < 1:
        year, month = year - 1, month + 12
    first = date(year, month, 1)
    rows = db.session.execute(select(DailyStatistic.date, DailyStatistic.count).where(DailyStatistic.date >= first)).all()
    totals: dict[str, int] = {}
    cursor = first
    while cursor <= today:
        totals[cursor.strftime("%Y-%m")] = 0
        cursor = (cursor.replace(day=28) + timedelta(days=4)).replace(day=1)
    for day, count in rows:
        key = day.strftime("%Y-%m")
        totals[key] = totals.get(key, 0) + count
    return [{"month": month, "count": count} for month, count in totals.items()]


# ---------------------------------------------------------------------------------------------
# Milestones and notifications
# ---------------------------------------------------------------------------------------------


def milestone_json(milestone: Milestone) -> dict[str, Any]:
    return {
        "id": milestone.id,
        "count": milestone.count,
        "reached": milestone.reached,
        "timestamp": milestone.reached_at.isoformat() if milestone.reached_at else None,
    }


def milestones() -> list[Milestone]:
    return list(db.session.scalars(select(Milestone).order_by(Milestone.count)))


def _milestone_count(data: Mapping[str, Any]) -> int:
    raw = data.get("count")
    if isinstance(raw, bool) or not (isinstance(raw, int) or (isinstance(raw, str) and raw.strip().isdigit())) or int(raw) <= 0:
        raise bad_request("Count must be a positive integer.", "Invalid count")
    return int(raw)


def add_milestone(data: Mapping[str, Any]) -> Milestone:
    count = _milestone_count(data)
    if db.session.scalar(select(Milestone.id).where(Milestone.count == count)):
        raise bad_request("A milestone with this count already exists.", "Invalid count")
    milestone = Milestone(count=count, reached=counter() >= count, reached_at=datetime.now(UTC) if counter() >= count else None)
    db.session.add(milestone)
    db.session.commit()
    return milestone


def _find_milestone(data: Mapping[str, Any]) -> Milestone:
    raw = data.get("id")
    if isinstance(raw, bool) or not str(raw).strip().isdigit():
        raise bad_request("An integer id must be provided.", "Invalid id")
    milestone = db.session.get(Milestone, int(raw))
    if milestone is None:
        raise SoundboardError(404, "Not found", "No milestone with this id exists.")
    return milestone


def modify_milestone(data: Mapping[str, Any]) -> Milestone:
    milestone = _find_milestone(data)
    count = _milestone_count(data)
    if db.session.scalar(select(Milestone.id).where(Milestone.count == count, Milestone.id != milestone.id)):
        raise bad_request("A milestone with this count already exists.", "Invalid count")
    milestone.count = count
    reached = counter() >= count
    milestone.reached, milestone.reached_at = reached, (milestone.reached_at or datetime.now(UTC)) if reached else None
    db.session.commit()
    return milestone


def delete_milestone(data: Mapping[str, Any]) -> None:
    milestone = _find_milestone(data)
    db.session.execute(delete(Milestone).where(Milestone.id == milestone.id))
    db.session.commit()


@dataclass(frozen=True)
class Notification:
    text: str
    duration: int  # seconds


def notification(data: Mapping[str, Any]) -> Notification:
    text = str(data.get("text") or "").strip()
    if not text:
        raise bad_request("A notification text must be provided.", "Invalid text")
    if len(text) > 500:
        raise bad_request("The notification text must be at most 500 characters.", "Invalid text")
    raw = data.get("duration", 10)
    if isinstance(raw, bool) or not (isinstance(raw, int) or (isinstance(raw, str) and raw.strip().isdigit())):
        raise bad_request("Duration must be an integer number of seconds.", "Invalid duration")
    duration = int(raw)
    if not 1 <= duration <= 3600:
        raise bad_request("Duration must be between 1 and 3600 seconds.", "Invalid duration")
    return Notification(text, duration)
