"""Soundboard use cases: sounds, the spec's upload, statistics, milestones, notifications and the
admin's live settings, answering as the original megumin.love server does (names, messages, types)."""
from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Mapping

from flask import Flask, current_app, has_app_context
from limits import parse as parse_rate_limit
from sqlalchemy import Date, cast, delete, extract, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from blueprints.common.input_guard import ID_MAX
from domain import DomainError
from extensions import db
from media.inspection import inspect_audio
from media.storage import get_storage, max_upload_bytes, staged_upload
from models.base import as_utc
from models.soundboard import (
    DEFAULT_THEME,
    NO_SOURCE,
    DailyStatistic,
    GlobalCounter,
    Milestone,
    Sound,
    SoundboardSetting,
)

log = logging.getLogger(__name__)

FILENAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
THEME = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
TARGET_LOUDNESS_DB = -18.0  # every clip is brought to about this RMS level when it plays
MAX_GAIN_DB = 12.0
INT64_MAX = 2**63 - 1  # the count columns are BIGINT: anything larger is not an integer to them
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class SoundboardError(DomainError):
    """An error with the soundboard API's own ``name`` (e.g. "Invalid filename")."""

    def __init__(self, status: int, name: str, message: str):
        super().__init__(message, {"__name__": name})  # the family renderer reads the name from here
        self.status = status
        self.name = name


def bad_request(message: str, name: str = "Bad request") -> SoundboardError:
    return SoundboardError(400, name, message)


# ---------------------------------------------------------------------------------------------
# Input: form fields arrive as strings ("3"), JSON as numbers
# ---------------------------------------------------------------------------------------------

_INTEGER_TEXT = re.compile(r"\s*[+-]?[0-9]{1,19}\s*", re.ASCII)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_integer(value: Any) -> int | None:
    """An integer given as a JSON number or as text ("3", " -1 "); None for anything else.

    Stricter than the original's parseInt ("12abc" is not 12 here); every value its pages send
    parses the same.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _INTEGER_TEXT.fullmatch(value):
        number = int(value)
    else:
        return None
    return number if -INT64_MAX <= number <= INT64_MAX else None


def _fits_id(number: int) -> bool:
    """Whether an id column can hold it: one beyond names no row, and PostgreSQL would refuse the
    value itself where SQLite finds nothing, so it is never sent to the database."""
    return -ID_MAX <= number <= ID_MAX


def _by_id(model, row_id: int):
    return db.session.get(model, row_id) if _fits_id(row_id) else None


def _insert(dialect_name: str):
    """The INSERT with ON CONFLICT of the database in use (both support it; nothing else is run)."""
    return postgresql.insert if dialect_name == "postgresql" else sqlite.insert


def _today() -> date:
    return datetime.now(UTC).date()  # the statistics trigger counts days in UTC too


# ---------------------------------------------------------------------------------------------
# Sounds
# ---------------------------------------------------------------------------------------------

# JavaScript's \s, so that the folder is the one the original's pages build.
_JS_WHITESPACE = re.compile("[\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]")
_ON_BOARD = (Sound.displayname.is_not(None), Sound.displayname != "", Sound.source != NO_SOURCE)


def sound_json(sound: Sound) -> dict[str, Any]:
    return {
        "id": sound.id,
        "filename": sound.filename,
        "displayname": sound.displayname,
        "source": sound.source,
        "count": sound.count,
        "theme": sound.theme,
    }


def source_folder(source: str) -> str:
    """The folder in a sound's URL, by the original pages' rule ``source.replace(/\\s/g, "-").toLowerCase()``:
    "Kurenai Densetsu (Movie)" is "kurenai-densetsu-(movie)"."""
    return _JS_WHITESPACE.sub("-", source).lower()


def storage_key(filename: str) -> str:
    return f"sounds/{filename}.mp3"


def gain_for(loudness_db: float) -> float:
    return round(max(-MAX_GAIN_DB, min(MAX_GAIN_DB, TARGET_LOUDNESS_DB - loudness_db)), 2)


def _optional_text(value: Any, limit: int) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text[:limit] or None


def _source(value: Any) -> str:
    return _optional_text(value, 128) or NO_SOURCE


def _parse_count(raw: Any) -> int:
    """The spec's upload count: optional, a whole number of clicks."""
    if _blank(raw) or raw == "null":
        return 0
    value = parse_integer(raw)
    if value is None or value < 0:
        raise bad_request("Count must be an integer if provided.", "Invalid count")
    return value


def _parse_theme(raw: Any) -> str:
    if _blank(raw) or raw == "null":
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
            source=_source(form.get("source")),
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


def find_sound(raw_id: Any) -> Sound:
    if _blank(raw_id):
        raise bad_request("Sound ID must be provided.", "Invalid sound")
    sound_id = parse_integer(raw_id)
    if sound_id is None:
        raise bad_request("Sound ID must be an integer.", "Invalid sound")
    sound = _by_id(Sound, sound_id)
    if sound is None:
        raise SoundboardError(404, "Invalid sound", "Sound not found.")
    return sound


SOUND_FIELDS = ("filename", "displayname", "source", "count", "theme")


def modify_sound(data: Mapping[str, Any]) -> Sound:
    """Any subset of the fields; checked in the original's order, with its names and messages."""
    filename = data.get("filename")
    if filename is not None:
        filename = str(filename).strip()
        if not filename:
            raise bad_request("Sound filename may not be an empty string if provided.", "Invalid filename")
        if not FILENAME.match(filename):
            raise bad_request("Filename may only contain letters, digits, - and _ (at most 64).", "Invalid filename")
        in_use = select(Sound.id).where(Sound.filename == filename)
        if (target_id := parse_integer(data.get("id"))) is not None and _fits_id(target_id):
            in_use = in_use.where(Sound.id != target_id)
        if db.session.scalar(in_use) is not None:
            raise bad_request("Sound filename already in use.", "Invalid filename")
    count = None
    if "count" in data:
        count = parse_integer(data["count"])
        if count is None or count < 0:
            raise bad_request("Sound click count must be an integer if provided.", "Invalid count")
    sound = find_sound(data.get("id"))
    if not any(field in data for field in SOUND_FIELDS):
        raise bad_request("At least one property to modify must be provided.", "Invalid parameters")
    if "theme" in data:
        sound.theme = _parse_theme(data["theme"])
    renamed_from = None
    if filename and filename != sound.filename:
        renamed_from = storage_key(sound.filename)
        sound.filename = filename
        db.session.flush()
    if "displayname" in data:
        sound.displayname = _optional_text(data["displayname"], 128)
    if "source" in data:
        sound.source = _source(data["source"])
    if count is not None:
        sound.count = count
    storage = get_storage()
    # Copied before the commit, the old file removed after it: the row always names a stored file.
    if renamed_from is not None and storage.exists(renamed_from):
        storage.copy(renamed_from, storage_key(sound.filename))
    db.session.commit()
    if renamed_from is not None:
        storage.delete(renamed_from)
    return sound


def delete_sound(raw_id: Any) -> dict[str, Any]:
    """Deletes the sound and its file; returns the sound as it was (the original answers with it)."""
    sound = find_sound(raw_id)
    deleted = sound_json(sound)
    db.session.delete(sound)
    db.session.commit()
    get_storage().delete(storage_key(sound.filename))
    return deleted


@dataclass(frozen=True)
class CountRange:
    """``equals``/``over``/``under`` as the original applies them: ``equals`` wins, and 0 counts as
    not given (JavaScript's truthiness), so ``equals=0`` filters nothing there and here."""

    equals: int | None
    over: int | None
    under: int | None

    def clauses(self, column) -> list:
        if self.equals:
            return [column == self.equals]
        return ([column > self.over] if self.over else []) + ([column < self.under] if self.under else [])

    def matches(self, count: int) -> bool:
        if self.equals:
            return count == self.equals
        return (not self.over or count > self.over) and (not self.under or count < self.under)


def count_range(args: Mapping[str, str]) -> CountRange:
    values = {}
    for key in ("equals", "over", "under"):
        raw = args.get(key)
        values[key] = None if not raw else parse_integer(raw)
        if raw and values[key] is None:
            raise bad_request('The "over", "under" and "equals" parameters must be numbers.', "Invalid range")
    if values["over"] and values["under"] and values["over"] > values["under"]:
        raise bad_request('The "under" parameter must be bigger than the "over" parameter.', "Invalid range")
    return CountRange(**values)


def list_sounds(args: Mapping[str, str]) -> list[Sound]:
    """``/api/sounds``: every sound in id order, narrowed by ``theme``, ``source`` (any case; never
    the sounds without one) and the count range."""
    counts = count_range(args)
    statement = select(Sound).where(*counts.clauses(Sound.count)).order_by(Sound.id)
    if args.get("theme"):
        statement = statement.where(Sound.theme == args["theme"])
    sounds = list(db.session.scalars(statement))
    if args.get("source"):
        # Compared in Python: SQLite's lower() folds ASCII only, JavaScript's toLowerCase everything.
        wanted = args["source"].lower()
        sounds = [sound for sound in sounds if sound.source != NO_SOURCE and sound.source.lower() == wanted]
    return sounds


def themes() -> list[str]:
    found = set(db.session.scalars(select(Sound.theme).distinct()))
    return sorted(found | {DEFAULT_THEME})


def sounds_by_source(theme: str) -> dict[str, list[Sound]]:
    """The board: sounds with a displayname and a source, grouped by source."""
    grouped: dict[str, list[Sound]] = {}
    statement = select(Sound).where(Sound.theme == theme, *_ON_BOARD).order_by(Sound.source, Sound.displayname, Sound.id)
    for sound in db.session.scalars(statement):
        grouped.setdefault(sound.source, []).append(sound)
    return grouped


def ranking(theme: str, limit: int = 50) -> list[Sound]:
    return list(
        db.session.scalars(
            select(Sound).where(Sound.theme == theme, *_ON_BOARD).order_by(Sound.count.desc(), Sound.displayname).limit(limit)
        )
    )


@dataclass(frozen=True)
class ThemePlays:
    """Board plays of one theme's clips (``sbClick``, counted on each sound): the only per-theme
    figures there are, shown by Rankings and Statistics alike. The big button's counter and daily
    statistics are another count, of big-button presses in every theme, and are labelled so."""

    theme: str
    top: list[Sound]  # the most played first
    total: int  # plays of every clip on the theme's board, ranked here or not
    clips: int


def theme_plays(theme: str, limit: int = 50) -> ThemePlays:
    total, clips = db.session.execute(
        select(func.coalesce(func.sum(Sound.count), 0), func.count(Sound.id)).where(Sound.theme == theme, *_ON_BOARD)
    ).one()
    return ThemePlays(theme, ranking(theme, limit), int(total), int(clips))


# ---------------------------------------------------------------------------------------------
# Counter and statistics
# ---------------------------------------------------------------------------------------------

_STATISTICS_DAY = "soundboard_statistics_day"  # app.extensions: the day this process made sure of


def counter() -> int:
    """The big button's total, read by the click counter: the one way the app reaches that row."""
    from blueprints.soundboard.live import live  # the live machinery is built on these services

    return live().counter()


def ensure_today_statistics() -> None:
    """Today's statistics row, even before the day's first click (as the original keeps one from
    start-up): one idempotent insert per process and day, so any number of workers may race."""
    today = _today()
    if current_app.extensions.get(_STATISTICS_DAY) == today:
        return
    with db.engine.begin() as connection:
        insert = _insert(connection.dialect.name)(DailyStatistic.__table__).values(date=today, count=0)
        connection.execute(insert.on_conflict_do_nothing(index_elements=["date"]))
    current_app.extensions[_STATISTICS_DAY] = today


def make_todays_statistics_at_startup(app: Flask) -> None:
    with app.app_context():
        try:
            ensure_today_statistics()
        except SQLAlchemyError:
            log.info("Today's soundboard statistics row was not made at start-up: the database is not migrated yet.")
        finally:
            # Made again (idempotently) by the first read: the tests build their schema after the app.
            app.extensions.pop(_STATISTICS_DAY, None)
            db.engine.dispose()  # no connection opened here may be shared by forked workers


_ISO_DATE = re.compile(r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?", re.ASCII)


def _date_arg(raw: str) -> date | None:
    """``yyyy-MM-dd`` (or ``yyyy-MM``, ``yyyy``: the first day of it), as date-fns' parseISO reads them."""
    match = _ISO_DATE.fullmatch(raw.strip())
    try:
        return date(int(match[1]), int(match[2] or 1), int(match[3] or 1)) if match else None
    except ValueError:  # 2024-02-30
        return None


def _timespan(args: Mapping[str, str], message: str, latest: date) -> tuple[date | None, date | None]:
    """``from`` and ``to``, checked in the original's order against the latest day (or month) it has."""
    start, end = (_date_arg(args[key]) if args.get(key) else None for key in ("from", "to"))
    if (args.get("from") and start is None) or (args.get("to") and end is None):
        raise bad_request(message, "Wrong Format")
    if (start and start > latest) or (end and end > latest):
        raise bad_request("Dates may not be in the future.", "Invalid timespan")
    if start and end and start > end:
        raise bad_request("The start date must be before the end date.", "Invalid timespan")
    return start, end


def statistics(args: Mapping[str, str]) -> list[dict[str, Any]]:
    """``/api/statistics``: one ``{id, date, count}`` a day, by date; ``from``/``to`` (up to the latest
    day) and the count range."""
    ensure_today_statistics()
    latest = db.session.scalar(select(func.max(DailyStatistic.date))) or _today()
    start, end = _timespan(args, "Dates must be provided in yyyy-MM-dd format.", latest)
    counts = count_range(args)
    statement = select(DailyStatistic.id, DailyStatistic.date, DailyStatistic.count).where(*counts.clauses(DailyStatistic.count))
    if start:
        statement = statement.where(DailyStatistic.date >= start)
    if end:
        statement = statement.where(DailyStatistic.date <= end)
    rows = db.session.execute(statement.order_by(DailyStatistic.date))
    return [{"id": row.id, "date": row.date.isoformat(), "count": row.count} for row in rows]


def daily_average(monthly: int, days_this_month: int) -> int:
    """The summary's ``average``: this month's clicks over its days with statistics, rounded half
    up as JavaScript's Math.round does."""
    days = max(1, days_this_month)
    return (2 * monthly + days) // (2 * days)


def summary() -> dict[str, Any]:
    return summary_and_days()[0]


def summary_and_days() -> tuple[dict[str, Any], int]:
    """The summary, and the number of statistics days this month that its ``average`` is taken over
    (``daily_average(monthly, days)`` recomputes it for a grown ``monthly``)."""
    ensure_today_statistics()
    today = _today()
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
            func.count(DailyStatistic.id).filter(DailyStatistic.date >= month_start), alltime_now,
        )
    ).one()
    daily, weekly, monthly, yearly, days_this_month, alltime = row
    days = max(1, int(days_this_month))
    counts = {
        "alltime": int(alltime),
        "daily": int(daily),
        "weekly": int(weekly),
        "monthly": int(monthly),
        "yearly": int(yearly),
        "average": daily_average(int(monthly), days),
    }
    return counts, days


def _months_with_statistics() -> list[tuple[date, int]]:
    year, month = extract("year", DailyStatistic.date), extract("month", DailyStatistic.date)
    rows = db.session.execute(select(year, month, func.sum(DailyStatistic.count)).group_by(year, month).order_by(year, month))
    return [(date(int(y), int(m), 1), int(total)) for y, m, total in rows]


def chart_data(args: Mapping[str, str]) -> list[dict[str, Any]]:
    """``/api/statistics/chartData``: ``{month: "yyyy-MM", count}`` for every month with statistics,
    ascending; the same parameters as ``/api/statistics``, by month."""
    ensure_today_statistics()
    months = _months_with_statistics()
    latest = months[-1][0] if months else _today().replace(day=1)
    start, end = _timespan(args, "Dates must be provided in yyyy-MM format.", latest)
    counts = count_range(args)
    return [
        {"month": first_day.strftime("%Y-%m"), "count": total}
        for first_day, total in months
        if (not start or first_day >= start) and (not end or first_day <= end) and counts.matches(total)
    ]


MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December")


def monthly_chart(months: int = 12) -> list[dict[str, Any]]:
    """Our statistics page's chart: the last ``months`` months, empty ones included, each with its
    name (``label`` "Jan" under the bar, ``name`` "January 2026" for hover and screen readers)."""
    today = _today()
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
    return [
        {"month": key, "label": MONTH_NAMES[int(key[5:]) - 1][:3], "name": f"{MONTH_NAMES[int(key[5:]) - 1]} {key[:4]}", "count": count}
        for key, count in totals.items()
    ]


# ---------------------------------------------------------------------------------------------
# Milestones
# ---------------------------------------------------------------------------------------------


def _epoch_ms(moment: datetime | None) -> int | None:
    return None if moment is None else (as_utc(moment) - EPOCH) // timedelta(milliseconds=1)


def milestone_json(milestone: Milestone) -> dict[str, Any]:
    return {
        "id": milestone.id,
        "count": milestone.count,
        "reached": 1 if milestone.reached else 0,
        "timestamp": _epoch_ms(milestone.reached_at),
        "sound_id": milestone.sound_id,
    }


def milestones() -> list[Milestone]:
    """Our pages' list, by count."""
    return list(db.session.scalars(select(Milestone).order_by(Milestone.count)))


def milestone_list(args: Mapping[str, str]) -> list[Milestone]:
    """``/api/statistics/milestones``, in id order; ``reached`` (0 or 1) and ``sound_id`` narrow it,
    a value that is not a number is ignored (as the original does)."""
    statement = select(Milestone).order_by(Milestone.id)
    reached = parse_integer(args.get("reached"))
    if reached is not None:
        if reached not in (0, 1):
            return []
        statement = statement.where(Milestone.reached.is_(reached == 1))
    sound_id = parse_integer(args.get("sound_id"))
    if sound_id is not None:
        if not _fits_id(sound_id):
            return []
        statement = statement.where(Milestone.sound_id == sound_id)
    return list(db.session.scalars(statement))


MILESTONE_FIELDS = ("count", "reached", "timestamp", "sound_id")


def _milestone_input(data: Mapping[str, Any]) -> dict[str, Any]:
    """The original's checks of a milestone body, in its order; the fields given, parsed (a blank
    ``timestamp`` or ``sound_id`` is None, which clears it)."""
    given: dict[str, Any] = {}
    if not _blank(data.get("id")):
        given["id"] = parse_integer(data["id"])
        if given["id"] is None:
            raise bad_request("Milestone ID must be an integer.", "Invalid milestone")
    if "count" in data:
        given["count"] = None if _blank(data["count"]) else parse_integer(data["count"])
        if given["count"] is None and not _blank(data["count"]):
            raise bad_request("Milestone count must be an integer.", "Invalid count")
    if "reached" in data:
        given["reached"] = parse_integer(data["reached"])
        if given["reached"] is None and not _blank(data["reached"]) and not isinstance(data["reached"], bool):
            raise bad_request("Milestone reached status must be an integer if provided.", "Invalid status")
    if "timestamp" in data:
        given["timestamp"] = None if _blank(data["timestamp"]) else _moment(data["timestamp"])
    if "sound_id" in data:
        given["sound_id"] = None if _blank(data["sound_id"]) else parse_integer(data["sound_id"])
        if given["sound_id"] is None and not _blank(data["sound_id"]):
            raise bad_request("Milestone sound_id must be an integer if provided.", "Invalid sound")
    if "reached" in given and given["reached"] not in (0, 1):
        raise bad_request("Milestone reached status must be an integer of either 0 or 1 if provided.", "Invalid status")
    return given


def _check_sound(given: Mapping[str, Any]) -> None:
    if given.get("sound_id") is not None and _by_id(Sound, given["sound_id"]) is None:
        raise bad_request("Sound ID must match a sound on the site.", "Invalid sound")


def _moment(raw: Any) -> datetime:
    """An epoch timestamp in milliseconds, as the original stores them."""
    milliseconds = parse_integer(raw)
    try:
        if milliseconds is None:
            raise ValueError
        return EPOCH + timedelta(milliseconds=milliseconds)
    except (OverflowError, ValueError):
        raise bad_request("Milestone timestamp must be an integer if provided.", "Invalid timestamp") from None


def _find_milestone(given: Mapping[str, Any]) -> Milestone:
    if not given.get("id"):
        raise bad_request("Milestone ID must be provided.", "Invalid milestone")
    milestone = _by_id(Milestone, given["id"])
    if milestone is None:
        raise SoundboardError(404, "Invalid milestone", "Milestone not found.")
    return milestone


def _count_taken(count: int, other_than: int | None = None) -> bool:
    statement = select(Milestone.id).where(Milestone.count == count)
    if other_than is not None:
        statement = statement.where(Milestone.id != other_than)
    return db.session.scalar(statement) is not None


def _commit_milestone() -> None:
    try:
        db.session.commit()
    except IntegrityError:  # the same count, added by someone else meanwhile
        db.session.rollback()
        raise bad_request("Milestone with submitted count already exists.", "Invalid count") from None


def add_milestone(data: Mapping[str, Any]) -> Milestone:
    """Not reached unless said so: the next click past its count reaches it."""
    given = _milestone_input({key: value for key, value in data.items() if key != "id"})
    if not given.get("count"):
        raise bad_request("Milestone count must be provided.", "Invalid count")
    if _count_taken(given["count"]):
        raise bad_request("Milestone with submitted count already exists.", "Invalid count")
    _check_sound(given)
    milestone = Milestone(
        count=given["count"],
        reached=given.get("reached") == 1,
        reached_at=given.get("timestamp"),
        sound_id=given.get("sound_id"),
    )
    db.session.add(milestone)
    _commit_milestone()
    return milestone


def modify_milestone(data: Mapping[str, Any]) -> Milestone:
    """Any subset of count, reached, timestamp and sound_id."""
    given = _milestone_input(data)
    milestone = _find_milestone(given)
    if not any(field in given for field in MILESTONE_FIELDS):
        raise bad_request("At least one property to modify must be provided.", "Invalid parameters")
    _check_sound(given)
    if "count" in given:
        if given["count"] is None:
            raise bad_request("Milestone count must be an integer.", "Invalid count")
        if _count_taken(given["count"], other_than=milestone.id):
            raise bad_request("Milestone with submitted count already exists.", "Invalid count")
        milestone.count = given["count"]
    if "reached" in given:
        milestone.reached = given["reached"] == 1
    if "timestamp" in given:
        milestone.reached_at = given["timestamp"]
    if "sound_id" in given:
        milestone.sound_id = given["sound_id"]
    _commit_milestone()
    return milestone


def delete_milestone(data: Mapping[str, Any]) -> dict[str, Any]:
    """Deletes it; returns the milestone as it was (the original answers with it)."""
    milestone = _find_milestone(_milestone_input({"id": data.get("id")}))
    deleted = milestone_json(milestone)
    db.session.execute(delete(Milestone).where(Milestone.id == milestone.id))
    db.session.commit()
    return deleted


# ---------------------------------------------------------------------------------------------
# Notifications
# ---------------------------------------------------------------------------------------------

MAX_NOTIFICATION_TEXT = 500
MAX_NOTIFICATION_SECONDS = 3600


@dataclass(frozen=True)
class Notification:
    text: str
    duration: int  # seconds

    def as_json(self) -> dict[str, Any]:
        return {"text": self.text, "duration": self.duration}


def notification(data: Mapping[str, Any]) -> Notification:
    text = data.get("text") if isinstance(data.get("text"), str) else ""
    raw_duration = data.get("duration")
    if not text.strip() or _blank(raw_duration) or raw_duration in (0, "0"):
        raise bad_request("Notification text and duration must be provided.", "Invalid notification")
    duration = parse_integer(raw_duration)
    if duration is None or not 1 <= duration <= MAX_NOTIFICATION_SECONDS:
        raise bad_request(f"Notification duration must be a whole number of seconds from 1 to {MAX_NOTIFICATION_SECONDS}.", "Invalid notification")
    if len(text) > MAX_NOTIFICATION_TEXT:
        raise bad_request(f"Notification text must be at most {MAX_NOTIFICATION_TEXT} characters.", "Invalid notification")
    return Notification(text, duration)


# ---------------------------------------------------------------------------------------------
# Live settings: the original's /api/admin/config, mapped onto Themeboard's settings
# ---------------------------------------------------------------------------------------------

NO_LIMIT = -1  # the original's "off" (no limit, answer at once)
LIVE_SETTINGS_MAX_AGE = 3.0  # seconds a process reuses the overrides it read (hot paths read them per click)
DEFAULT_RESPONSE_INTERVAL_MS = 50  # how often the announcer tells open pages of clicks, unless set
# Clicks are committed as they come, so the database is never further behind than the smallest
# interval the original allows; the value is kept only to be reported back.
DEFAULT_UPDATE_INTERVAL_MINUTES = 1
MAX_SETTING = 2**31 - 1
_LIVE_SETTINGS = "soundboard_live_settings"  # app.extensions: (read again after, settings)
_settings_lock = threading.Lock()


@dataclass(frozen=True)
class SettingRule:
    key: str  # the original's configuration name, also the key of the stored override
    allows_off: bool  # -1 means "no limit" / "at once"
    error_name: str
    error_message: str


SETTING_RULES = {
    "updateInterval": SettingRule("updateInterval", False, "Invalid interval", "Update interval must be any integer above 0."),
    "responseInterval": SettingRule(
        "responseInterval", True, "Invalid interval", "Response interval must be either -1 or any number above 0."
    ),
    "socketConnections": SettingRule(
        "socketConnections", True, "Invalid limit", "Connections limit must be either -1 or any number above 0."
    ),
    "requestsPerMinute": SettingRule("requestsPerMinute", True, "Invalid ratelimit", "Ratelimit must be either -1 or any number above 0."),
}


def _app_context(app: Flask):
    if has_app_context() and current_app._get_current_object() is app:
        return contextlib.nullcontext()
    return app.app_context()


def _stored_overrides(app: Flask) -> dict[str, int]:
    try:
        with _app_context(app), db.engine.connect() as connection:
            return {key: int(value) for key, value in connection.execute(select(SoundboardSetting.key, SoundboardSetting.value))}
    except SQLAlchemyError:
        log.warning("Soundboard settings could not be read; using the configuration.", exc_info=True)
        return {}


def _positive_or_none(value: Any) -> int | None:
    number = parse_integer(value)
    return number if number is not None and number > 0 else None


def _live_settings(config: Mapping[str, Any], overrides: Mapping[str, int]) -> dict[str, Any]:
    def chosen(key: str, fallback):
        value = overrides.get(key)
        if value is None:
            return fallback
        return None if value == NO_LIMIT else value

    per_minute = chosen("requestsPerMinute", None)
    if "requestsPerMinute" in overrides:
        click_rate_limit = None if per_minute is None else f"{per_minute}/minute"
    else:
        click_rate_limit = config.get("CLICK_RATE_LIMIT") or None
    return {
        "click_rate_limit": click_rate_limit,
        "ws_connections_per_address": chosen("socketConnections", _positive_or_none(config.get("WS_CONNECTIONS_PER_ADDRESS"))),
        "response_interval_ms": chosen(
            "responseInterval", _positive_or_none(config.get("SOUNDBOARD_RESPONSE_INTERVAL_MS", DEFAULT_RESPONSE_INTERVAL_MS))
        ),
    }


def effective_live_settings(app: Flask | None = None) -> dict[str, Any]:
    """The live settings in force: an admin's override (shared by every process through the
    database), else the configuration. ``click_rate_limit`` is a `limits` string ("120/minute") or
    None for no limit; ``ws_connections_per_address`` and ``response_interval_ms`` are ints, or None
    for no limit and "as soon as possible". Read again at most every few seconds per process."""
    app = app or current_app._get_current_object()
    cached = app.extensions.get(_LIVE_SETTINGS)
    if cached is None or time.monotonic() >= cached[0]:
        with _settings_lock:
            cached = app.extensions.get(_LIVE_SETTINGS)
            if cached is None or time.monotonic() >= cached[0]:
                cached = (time.monotonic() + LIVE_SETTINGS_MAX_AGE, _live_settings(app.config, _stored_overrides(app)))
                app.extensions[_LIVE_SETTINGS] = cached
    return dict(cached[1])


def _per_minute(limit: str | None) -> int:
    if limit is None:
        return NO_LIMIT
    item = parse_rate_limit(limit)
    per_minute = (2 * item.amount * 60 + item.get_expiry()) // (2 * item.get_expiry())
    return max(1, per_minute)


def admin_config() -> dict[str, int]:
    """``/api/admin/config``, read fresh: whichever process answers shows what an admin just set."""
    app = current_app._get_current_object()
    overrides = _stored_overrides(app)
    settings = _live_settings(app.config, overrides)
    return {
        "updateInterval": overrides.get("updateInterval", DEFAULT_UPDATE_INTERVAL_MINUTES),
        "socketConnections": settings["ws_connections_per_address"] or NO_LIMIT,
        "requestsPerMinute": _per_minute(settings["click_rate_limit"]),
        "responseInterval": settings["response_interval_ms"] or NO_LIMIT,
    }


def change_setting(key: str, raw: Any) -> int:
    """Stores an admin's value for one of ``SETTING_RULES``; this process applies it at once, the
    others within ``LIVE_SETTINGS_MAX_AGE`` seconds."""
    rule = SETTING_RULES[key]
    value = parse_integer(raw)
    if value is None or value == 0 or value > MAX_SETTING or value < (NO_LIMIT if rule.allows_off else 1):
        raise bad_request(rule.error_message, rule.error_name)
    insert = _insert(db.session.get_bind().dialect.name)(SoundboardSetting.__table__).values(key=key, value=value)
    db.session.execute(insert.on_conflict_do_update(index_elements=["key"], set_={"value": insert.excluded.value}))
    db.session.commit()
    current_app.extensions.pop(_LIVE_SETTINGS, None)
    return value


# ---------------------------------------------------------------------------------------------
# Counter and statistics agree (flask check)
# ---------------------------------------------------------------------------------------------


def counter_and_statistics() -> tuple[int, int]:
    """The big button's total and the sum of the daily statistics; the trigger keeps them equal."""
    counter = db.session.scalar(select(GlobalCounter.count).where(GlobalCounter.id == 1)) or 0
    total = db.session.scalar(select(func.coalesce(func.sum(DailyStatistic.count), 0)))
    return int(counter), int(total)


def align_counter_with_statistics() -> tuple[int, int]:
    """Set the total to the statistics' sum (the per-day record it is the sum of); returns
    (before, after). Safe while clicks arrive: it holds the counter's lock throughout."""
    # A write that changes nothing takes the row lock (PostgreSQL) or the write lock (SQLite) first.
    db.session.execute(update(GlobalCounter).where(GlobalCounter.id == 1).values(count=GlobalCounter.count))
    counter, total = counter_and_statistics()
    if db.session.get(GlobalCounter, 1) is None:
        db.session.add(GlobalCounter(id=1, count=total))  # an INSERT: the trigger counts rises by UPDATE only
    elif total != counter:
        db.session.execute(update(GlobalCounter).where(GlobalCounter.id == 1).values(count=total))
        if total > counter:
            # The trigger has just added this rise to today's statistics as if it were clicks: take it out.
            today = func.date("now") if db.engine.dialect.name == "sqlite" else cast(func.timezone("UTC", func.now()), Date)
            db.session.execute(
                update(DailyStatistic).where(DailyStatistic.date == today).values(count=DailyStatistic.count - (total - counter))
            )
    db.session.flush()
    if len(set(counter_and_statistics())) != 1:
        db.session.rollback()
        raise RuntimeError("the counter and the statistics still disagree after aligning them")
    db.session.commit()
    return counter, total
