"""The audio inspection service: is this file real, playable MP3, Ogg (Vorbis/Opus) or FLAC?

Every upload path calls :func:`inspect_audio`. The decision is made from the content alone:
magic bytes first, then mutagen's format-specific class, then a full decode (with libsndfile
via ``soundfile``) that proves the audio plays to its end. The same decode pass measures
loudness and waveform peaks, so callers never read the file twice.
"""
from __future__ import annotations

import base64
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile
from mutagen import MutagenError
from mutagen.flac import FLAC, Picture
from mutagen.id3 import ID3NoHeaderError
from mutagen.mp3 import MP3, HeaderNotFoundError
from mutagen.ogg import OggPage
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis

from concurrency import run_off_loop
from domain import InvalidAudio, PayloadTooLarge

MAX_DURATION_SECONDS = 6 * 60 * 60  # longer than any theme or clip: a lying header
MIN_DURATION_SECONDS = 0.05
# Decoded length may fall short of the header's by a few frames (encoder padding), never by more.
TRUNCATION_TOLERANCE = 0.9
BLOCK_FRAMES = 65536


@dataclass(frozen=True)
class AudioInfo:
    format: str  # "mp3", "vorbis", "opus", "flac"
    extension: str  # what the stored file is named with
    mimetype: str
    duration: float  # seconds, decoded
    bitrate: int  # bits per second (average)
    sample_rate: int
    channels: int
    size: int
    loudness_db: float  # RMS level in dBFS over the whole file
    peaks: list[float] = field(default_factory=list)  # 0..1, `peak_count` buckets
    cover: bytes | None = None
    cover_mimetype: str | None = None


FORMATS = {
    # format: (extension, mimetype)
    "mp3": ("mp3", "audio/mpeg"),
    "vorbis": ("ogg", "audio/ogg"),
    "opus": ("opus", "audio/ogg"),
    "flac": ("flac", "audio/flac"),
}


def sniff_container(head: bytes) -> str | None:
    """Magic bytes: "mp3", "ogg" or "flac", or None."""
    if head.startswith(b"fLaC"):
        return "flac"
    if head.startswith(b"OggS"):
        return "ogg"
    if head.startswith(b"ID3"):
        return "mp3"  # ID3v2 tag; the MPEG frames after it are checked by mutagen and the decoder
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0:
        return "mp3"  # a bare MPEG audio frame sync
    return None


def inspect_audio(path: str | os.PathLike, *, max_bytes: int | None = None, peak_count: int = 0) -> AudioInfo:
    """Inspect ``path``; raise :class:`InvalidAudio` (or :class:`PayloadTooLarge`) when it is not acceptable.

    The full decode is CPU work: under gevent it runs on a real thread, off the event loop."""
    return run_off_loop(_inspect_audio, path, max_bytes=max_bytes, peak_count=peak_count)


def _inspect_audio(path: str | os.PathLike, *, max_bytes: int | None = None, peak_count: int = 0) -> AudioInfo:
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise InvalidAudio("The file is empty.")
    if max_bytes is not None and size > max_bytes:
        raise PayloadTooLarge(f"The file is larger than {max_bytes // (1024 * 1024)} MB.")
    with path.open("rb") as handle:
        head = handle.read(16)
    container = sniff_container(head)
    if container is None:
        raise InvalidAudio("The file is not MP3, Ogg or FLAC audio.")

    fmt, tagged = _open_with_mutagen(path, container)
    declared = float(getattr(tagged.info, "length", 0) or 0)
    if not (MIN_DURATION_SECONDS <= declared <= MAX_DURATION_SECONDS) or math.isnan(declared):
        raise InvalidAudio("The audio has no playable duration.")

    decoded = _decode(path, peak_count)
    if decoded.duration < declared * TRUNCATION_TOLERANCE or decoded.duration < MIN_DURATION_SECONDS:
        raise InvalidAudio("The audio is truncated: it stops before its declared end.")

    cover, cover_mime = _embedded_cover(tagged)
    extension, mimetype = FORMATS[fmt]
    bitrate = int(getattr(tagged.info, "bitrate", 0) or 0) or int(size * 8 / decoded.duration)
    return AudioInfo(
        format=fmt,
        extension=extension,
        mimetype=mimetype,
        duration=round(decoded.duration, 3),
        bitrate=bitrate,
        sample_rate=decoded.sample_rate,
        channels=decoded.channels,
        size=size,
        loudness_db=decoded.loudness_db,
        peaks=decoded.peaks,
        cover=cover,
        cover_mimetype=cover_mime,
    )


def _open_with_mutagen(path: Path, container: str):
    try:
        if container == "flac":
            return "flac", FLAC(path)
        if container == "ogg":
            # The specific class must accept it: an Ogg file of another codec (Theora, Speex) is refused.
            for fmt, cls in (("vorbis", OggVorbis), ("opus", OggOpus)):
                try:
                    tagged = cls(path)
                except MutagenError:
                    continue
                _require_ogg_end_of_stream(path, tagged.info.serial)
                return fmt, tagged
            raise InvalidAudio("The Ogg file holds neither Vorbis nor Opus audio.")
        tagged = MP3(path)
    except InvalidAudio:
        raise
    except (HeaderNotFoundError, ID3NoHeaderError):
        raise InvalidAudio("No MPEG audio frames were found (a tag or header alone is not audio).") from None
    except (MutagenError, OSError, ValueError, EOFError) as exc:
        raise InvalidAudio(f"The file could not be read as {container.upper()} audio.") from exc
    if getattr(tagged.info, "layer", 3) != 3:
        raise InvalidAudio("Only MPEG layer III (MP3) audio is accepted.")
    if getattr(tagged.info, "sketchy", False):
        raise InvalidAudio("The MP3 stream is damaged or not really MP3 audio.")
    return "mp3", tagged


def _require_ogg_end_of_stream(path: Path, serial: int) -> None:
    """A cut Ogg file still parses up to its last whole page; only the end-of-stream flag tells."""
    with path.open("rb") as handle:
        try:
            last_page = OggPage.find_last(handle, serial)
        except (MutagenError, ValueError, EOFError):
            last_page = None
    if last_page is None or not last_page.last:
        raise InvalidAudio("The audio is truncated: the Ogg stream has no end.")


@dataclass
class _Decoded:
    duration: float
    sample_rate: int
    channels: int
    loudness_db: float
    peaks: list[float]


def _decode(path: Path, peak_count: int) -> _Decoded:
    """Decode every frame in blocks (constant memory) to prove the file plays."""
    try:
        with soundfile.SoundFile(path) as sound:
            sample_rate, channels = sound.samplerate, sound.channels
            expected = sound.frames if 0 < sound.frames < 2**62 else sample_rate * 600
            bucket_frames = max(1, expected // max(peak_count * 4, 1)) if peak_count else 0
            fine_peaks: list[float] = []
            total_frames = 0
            sum_squares = 0.0
            pending = np.zeros(0, dtype="float32")
            while True:
                block = sound.read(BLOCK_FRAMES, dtype="float32", always_2d=True)
                if not len(block):
                    break
                mono = np.abs(block).max(axis=1)
                total_frames += len(block)
                sum_squares += float(np.square(block, dtype="float64").sum())
                if bucket_frames:
                    pending = np.concatenate([pending, mono])
                    whole = len(pending) // bucket_frames * bucket_frames
                    if whole:
                        fine_peaks.extend(pending[:whole].reshape(-1, bucket_frames).max(axis=1).tolist())
                        pending = pending[whole:]
            if bucket_frames and len(pending):
                fine_peaks.append(float(pending.max()))
    except (soundfile.LibsndfileError, RuntimeError, ValueError, MemoryError) as exc:
        raise InvalidAudio("The audio could not be decoded: the file is damaged or truncated.") from exc
    if total_frames == 0:
        raise InvalidAudio("The audio has no playable duration.")
    mean_square = sum_squares / (total_frames * channels)
    loudness = 10 * math.log10(mean_square) if mean_square > 0 else -120.0
    return _Decoded(
        duration=total_frames / sample_rate,
        sample_rate=sample_rate,
        channels=channels,
        loudness_db=round(loudness, 2),
        peaks=_downsample(fine_peaks, peak_count),
    )


def _downsample(values: list[float], count: int) -> list[float]:
    if not count or not values:
        return []
    edges = np.linspace(0, len(values), num=min(count, len(values)) + 1).astype(int)
    array = np.asarray(values)
    return [round(float(min(1.0, array[a:b].max())), 4) for a, b in zip(edges[:-1], edges[1:]) if b > a]


def _embedded_cover(tagged) -> tuple[bytes | None, str | None]:
    """The first embedded picture (ID3 APIC, FLAC PICTURE, or Vorbis METADATA_BLOCK_PICTURE)."""
    try:
        if isinstance(tagged, MP3) and tagged.tags is not None:
            for frame in tagged.tags.getall("APIC"):
                return frame.data, frame.mime or "image/jpeg"
        if isinstance(tagged, FLAC) and tagged.pictures:
            return tagged.pictures[0].data, tagged.pictures[0].mime
        if isinstance(tagged, (OggVorbis, OggOpus)) and tagged.tags is not None:
            for encoded in tagged.tags.get("metadata_block_picture", []):
                picture = Picture(base64.b64decode(encoded))
                return picture.data, picture.mime
    except (ValueError, MutagenError):
        pass  # a damaged picture does not make the audio invalid
    return None, None
