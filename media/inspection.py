"""The audio inspection service: is this file real, playable MP3, Ogg (Vorbis/Opus) or FLAC?

Every upload path calls :func:`inspect_audio`. The decision is made from the content alone:
magic bytes first, then mutagen's format-specific class, then the stream's own structure up to
its last byte (nothing may follow the audio but ID3v1, APEv2 or Lyrics3 tags: a file that is also
a ZIP is refused), then a full decode (with libsndfile via ``soundfile``) that proves the audio
plays to its end. The same decode pass measures loudness and waveform peaks, so callers never
read the file twice.
"""
from __future__ import annotations

import base64
import math
import mmap
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
    _require_nothing_after_the_stream(path, container, tagged)

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


# --- nothing after the audio stream ------------------------------------------------------------

TRAILING_DATA = "The file has data after the end of its audio stream."
TRUNCATED = "The audio is truncated: it stops before its declared end."


def _require_nothing_after_the_stream(path: Path, container: str, tagged) -> None:
    """Walk the stream's own framing to its end; only tags may follow it."""
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        end = _end_of_trailing_tags(data)
        if container == "mp3":
            _require_mp3_ends_at(data, end)
        elif container == "ogg":
            _require_ogg_ends_at(data, end)
        else:
            _require_flac_ends_at(data, end, tagged)


def _end_of_trailing_tags(data) -> int:
    """Where the audio must end: the file's end, less the tags players append (any order)."""
    end = len(data)
    while True:
        if end >= 128 and data[end - 128 : end - 125] == b"TAG":  # ID3v1
            end -= 128
        elif end >= 32 and data[end - 32 : end - 24] == b"APETAGEX":  # APEv2 footer
            tag_size = int.from_bytes(data[end - 20 : end - 16], "little")  # items + footer
            has_header = bool(int.from_bytes(data[end - 12 : end - 8], "little") & 0x80000000)
            total = tag_size + (32 if has_header else 0)
            if not 32 <= total <= end:
                return end
            end -= total
        elif end >= 15 and data[end - 9 : end] == b"LYRICS200" and data[end - 15 : end - 9].isdigit():  # Lyrics3v2
            total = int(data[end - 15 : end - 9]) + 15
            if total > end or data[end - total : end - total + 11] != b"LYRICSBEGIN":
                return end
            end -= total
        else:
            return end


# MPEG audio layer III: bit rates (kbit/s) by version, sample rates by version bits.
_MP3_BITRATES = {
    True: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),  # MPEG-1
    False: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),  # MPEG-2 and 2.5
}
_MP3_SAMPLE_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _mp3_frame(data, offset: int) -> tuple[int, int] | None:
    """(frame length, stream signature) of the layer III frame header at ``offset``, or None."""
    if offset + 4 > len(data):
        return None
    b0, b1, b2 = data[offset], data[offset + 1], data[offset + 2]
    if b0 != 0xFF or (b1 & 0xE0) != 0xE0:
        return None
    version, layer = (b1 >> 3) & 3, (b1 >> 1) & 3
    bitrate_index, rate_index, padding = b2 >> 4, (b2 >> 2) & 3, (b2 >> 1) & 1
    # Free-format (index 0) frames carry no length: refused, as nothing could say where they end.
    if version == 1 or layer != 1 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    mpeg1 = version == 3
    length = (144 if mpeg1 else 72) * _MP3_BITRATES[mpeg1][bitrate_index] * 1000 // _MP3_SAMPLE_RATES[version][rate_index] + padding
    return length, (version, rate_index)


def _require_mp3_ends_at(data, end: int) -> None:
    offset = 0
    while data[offset : offset + 3] == b"ID3" and offset + 10 <= end:  # ID3v2 tags before the audio
        size = 0
        for byte in data[offset + 6 : offset + 10]:
            size = (size << 7) | (byte & 0x7F)
        offset += 10 + size + (10 if data[offset + 5] & 0x10 else 0)
    # Encoders may pad with zeros between the tag and the first frame; anything else is refused.
    first = offset
    while first < end and data[first] == 0:
        first += 1
    header = _mp3_frame(data, first)
    if header is None:
        raise InvalidAudio("The file has data before the start of its audio stream.")
    offset, signature = first, header[1]
    while True:
        frame = _mp3_frame(data, offset)
        if frame is None or frame[1] != signature:
            break
        if offset + frame[0] > end:  # a last frame cut short: the decoder already judged the length
            offset = end
            break
        offset += frame[0]
    if offset != end:
        raise InvalidAudio(TRAILING_DATA)


def _require_ogg_ends_at(data, end: int) -> None:
    """An Ogg file is pages, back to back, to its last byte."""
    offset = 0
    while offset < end:
        if data[offset : offset + 4] != b"OggS":
            raise InvalidAudio(TRAILING_DATA)
        header = offset + 27 + (data[offset + 26] if offset + 26 < end else 0)
        offset = header + sum(data[offset + 27 : min(header, end)])
    if offset != end:
        raise InvalidAudio(TRUNCATED)


def _crc8(data) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def _crc16_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x8005) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
        table.append(crc)
    return table


_CRC16 = _crc16_table()


def _crc16(data) -> int:
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _CRC16[(crc >> 8) ^ byte]
    return crc


_FLAC_BLOCK_SIZES = {1: 192, **{code: 576 << (code - 2) for code in range(2, 6)}, **{code: 256 << (code - 8) for code in range(8, 16)}}


def _flac_coded_number_start(first: int) -> tuple[int | None, int]:
    """The value bits of the first byte of a FLAC coded number, and how many bytes follow it."""
    for extra, prefix, mask in ((0, 0x00, 0x80), (1, 0xC0, 0xE0), (2, 0xE0, 0xF0), (3, 0xF0, 0xF8), (4, 0xF8, 0xFC), (5, 0xFC, 0xFE), (6, 0xFE, 0xFF)):
        if first & mask == prefix:
            return first & ~mask & 0xFF, extra
    return None, 0


def _flac_frame_header(data, offset: int, end: int) -> tuple[int, int] | None:
    """(frame or sample number, block size) of a valid FLAC frame header at ``offset``."""
    if offset + 6 > end or data[offset] != 0xFF or data[offset + 1] not in (0xF8, 0xF9):
        return None
    size_code, rate_code = data[offset + 2] >> 4, data[offset + 2] & 0x0F
    if size_code == 0 or rate_code == 15 or (data[offset + 3] >> 4) > 10 or data[offset + 3] & 1:
        return None
    position = offset + 4
    number, extra = _flac_coded_number_start(data[position])  # coded like UTF-8, up to 7 bytes
    if number is None or position + 1 + extra > end:
        return None
    for byte in data[position + 1 : position + 1 + extra]:
        if byte & 0xC0 != 0x80:
            return None
        number = (number << 6) | (byte & 0x3F)
    position += 1 + extra
    if size_code == 6:
        block_size, position = data[position] + 1, position + 1
    elif size_code == 7:
        block_size, position = int.from_bytes(data[position : position + 2], "big") + 1, position + 2
    else:
        block_size = _FLAC_BLOCK_SIZES[size_code]
    position += {12: 1, 13: 2, 14: 2}.get(rate_code, 0)
    if position + 1 > end or _crc8(data[offset:position]) != data[position]:
        return None
    return number, block_size


def _require_flac_ends_at(data, end: int, tagged) -> None:
    """The last frame (the one holding the last sample) must close, by its CRC-16, exactly at ``end``.

    FLAC frames carry no length, so the last one is found by its header (sync code, header CRC-8,
    first sample + block size = the stream's total), and its bytes may be no more than an
    uncompressed frame of that block size would take.
    """
    info = tagged.info
    total, channels, bits = info.total_samples, info.channels, info.bits_per_sample
    if not total:
        raise InvalidAudio("The FLAC stream does not say how long it is.")
    largest_possible = info.max_blocksize * channels * bits // 8 + 64
    search_from = end
    while True:
        candidate = data.rfind(b"\xff", max(0, end - largest_possible), search_from)
        if candidate == -1:
            raise InvalidAudio("The FLAC stream does not end with its last frame: it is truncated or followed by other data.")
        header = _flac_frame_header(data, candidate, end)
        if header is not None:
            number, block_size = header
            # Variable block sizes number their frames by first sample, fixed ones by frame.
            first_sample = number if data[candidate + 1] & 1 else number * info.max_blocksize
            if first_sample + block_size == total:
                break
        search_from = candidate
    largest_frame = block_size * channels * bits // 8 + 64  # verbatim subframes plus headers and padding
    if end - candidate > largest_frame or end - candidate < 2 or _crc16(data[candidate:end]) != 0:
        raise InvalidAudio(TRAILING_DATA)


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
