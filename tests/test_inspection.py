"""The audio inspection service, with real generated files and each bad case."""
from __future__ import annotations

import io

import pytest
from mutagen.flac import FLAC, Picture
from mutagen.id3 import APIC, ID3
from PIL import Image

from demo.audio import encode, render
from domain import InvalidAudio, PayloadTooLarge
from media.inspection import inspect_audio


@pytest.mark.parametrize(
    ("fmt", "expected_format", "mimetype"),
    [("mp3", "mp3", "audio/mpeg"), ("ogg", "vorbis", "audio/ogg"), ("opus", "opus", "audio/ogg"), ("flac", "flac", "audio/flac")],
)
def test_accepts_real_audio(audio_file, fmt, expected_format, mimetype):
    info = inspect_audio(audio_file(fmt, seconds=2.0), peak_count=50)
    assert info.format == expected_format
    assert info.mimetype == mimetype
    assert info.duration == pytest.approx(2.0, abs=0.1)
    assert info.channels == 1
    assert info.sample_rate in (44100, 48000)
    assert info.bitrate > 0
    assert -60 < info.loudness_db < 0
    assert len(info.peaks) == 50 and max(info.peaks) <= 1.0 and max(info.peaks) > 0.05


def test_decides_by_content_not_by_name(audio_file, tmp_path):
    mp3_named_flac = audio_file("mp3", name="really-an-mp3.flac")
    assert inspect_audio(mp3_named_flac).format == "mp3"
    png = tmp_path / "cover.mp3"
    Image.new("RGB", (8, 8)).save(png, format="PNG")
    with pytest.raises(InvalidAudio, match="not MP3, Ogg or FLAC"):
        inspect_audio(png)
    text = tmp_path / "notes.ogg"
    text.write_text("OggS is not enough " * 50)
    with pytest.raises(InvalidAudio):
        inspect_audio(text)


def test_rejects_empty_file(tmp_path):
    empty = tmp_path / "empty.mp3"
    empty.write_bytes(b"")
    with pytest.raises(InvalidAudio, match="empty"):
        inspect_audio(empty)


def test_rejects_id3_tag_without_audio(tmp_path):
    tag_only = tmp_path / "tag.mp3"
    tag_only.write_bytes(b"")
    tags = ID3()
    tags.add(APIC(mime="image/png", type=3, data=b"\x89PNG fake"))
    tags.save(tag_only)
    assert tag_only.read_bytes().startswith(b"ID3")
    with pytest.raises(InvalidAudio):
        inspect_audio(tag_only)


@pytest.mark.parametrize("fmt", ["mp3", "ogg", "opus", "flac"])
def test_rejects_header_only_and_truncated_files(audio_file, tmp_path, fmt):
    data = audio_file(fmt, seconds=2.0).read_bytes()
    for name, cut in (("header", data[:300]), ("truncated", data[: len(data) // 2])):
        broken = tmp_path / f"{name}.{fmt}"
        broken.write_bytes(cut)
        with pytest.raises(InvalidAudio):
            inspect_audio(broken)


def _mpeg_layer2_stream(frames: int = 200) -> bytes:
    # MPEG-1 Layer II, 128 kbit/s, 44.1 kHz, no CRC: 417-byte frames of silence.
    header = bytes([0xFF, 0xFD, 0x80, 0x00])
    return (header + bytes(417 - 4)) * frames


def test_rejects_mpeg_layer_ii(tmp_path):
    layer2 = tmp_path / "layer2.mp3"
    layer2.write_bytes(_mpeg_layer2_stream())
    with pytest.raises(InvalidAudio, match="layer III"):
        inspect_audio(layer2)


def test_rejects_sketchy_mp3(tmp_path):
    # A frame sync followed by noise: no run of valid frames, no Xing header.
    sketchy = tmp_path / "sketchy.mp3"
    sketchy.write_bytes(b"\xff\xfb\x90\x00" + bytes(range(256)) * 40)
    with pytest.raises(InvalidAudio):
        inspect_audio(sketchy)


def test_rejects_zero_and_absurd_durations(tmp_path):
    import numpy as np

    tiny = tmp_path / "tiny.flac"
    tiny.write_bytes(encode(np.zeros(10, dtype="float32"), "flac"))
    with pytest.raises(InvalidAudio, match="duration"):
        inspect_audio(tiny)

    # A FLAC whose header claims ten hours while the audio lasts one second.
    lying = tmp_path / "lying.flac"
    lying.write_bytes(encode(render("jingle", seconds=1.0), "flac"))
    data = bytearray(lying.read_bytes())
    # STREAMINFO starts at byte 8; total samples are the low 36 bits of bytes 21..25.
    packed = int.from_bytes(data[21:26], "big")
    packed = (packed & ~((1 << 36) - 1)) | (44100 * 36000)
    data[21:26] = packed.to_bytes(5, "big")
    lying.write_bytes(bytes(data))
    assert FLAC(lying).info.length > 6 * 3600
    with pytest.raises(InvalidAudio):
        inspect_audio(lying)


def test_rejects_files_over_the_size_limit(audio_file):
    path = audio_file("flac", seconds=2.0)
    with pytest.raises(PayloadTooLarge):
        inspect_audio(path, max_bytes=path.stat().st_size - 1)
    assert inspect_audio(path, max_bytes=path.stat().st_size).format == "flac"


def _png(color) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), color).save(buffer, format="PNG")
    return buffer.getvalue()


def test_extracts_embedded_cover_art(audio_file):
    mp3 = audio_file("mp3")
    tags = ID3()
    tags.add(APIC(mime="image/png", type=3, desc="cover", data=_png("red")))
    tags.save(mp3)
    info = inspect_audio(mp3)
    assert info.cover == _png("red") and info.cover_mimetype == "image/png"

    flac_path = audio_file("flac")
    flac = FLAC(flac_path)
    picture = Picture()
    picture.data, picture.mime, picture.type = _png("blue"), "image/png", 3
    flac.add_picture(picture)
    flac.save()
    assert inspect_audio(flac_path).cover == _png("blue")
    assert inspect_audio(audio_file("ogg")).cover is None


# --- nothing after the audio stream ------------------------------------------------------------


def _zip_bytes() -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("payload/readme.txt", "not audio " * 200)
        archive.writestr("payload/run.sh", "#!/bin/sh\necho hello\n")
    return buffer.getvalue()


def _with_zip(path):
    import zipfile

    path.write_bytes(path.read_bytes() + _zip_bytes())
    with zipfile.ZipFile(path) as archive:  # the file really is both: a reader finds the archive
        assert archive.namelist() == ["payload/readme.txt", "payload/run.sh"]
    return path


@pytest.mark.parametrize("fmt", ["mp3", "ogg", "opus", "flac"])
def test_rejects_audio_with_a_zip_appended(audio_file, fmt):
    path = audio_file(fmt, seconds=2.0)
    assert inspect_audio(path).duration == pytest.approx(2.0, abs=0.1)
    with pytest.raises(InvalidAudio, match="after the end|followed by other data"):
        inspect_audio(_with_zip(path))


@pytest.mark.parametrize("fmt", ["mp3", "ogg", "opus", "flac"])
def test_rejects_a_few_stray_bytes_after_the_audio(audio_file, fmt):
    path = audio_file(fmt, seconds=1.0)
    path.write_bytes(path.read_bytes() + b"PK\x05\x06" + bytes(18))  # an empty ZIP's end record alone
    with pytest.raises(InvalidAudio):
        inspect_audio(path)


def test_accepts_id3v1_and_ape_tags_after_mp3_audio(audio_file):
    from mutagen.apev2 import APEv2
    from mutagen.id3 import TIT2

    path = audio_file("mp3", seconds=1.0)
    tags = ID3()
    tags.add(TIT2(encoding=3, text="Title"))
    tags.save(path, v1=2)  # ID3v2 in front, ID3v1 (128 bytes, "TAG") at the end
    assert path.read_bytes()[-128:].startswith(b"TAG")
    assert inspect_audio(path).format == "mp3"
    ape = APEv2()
    ape["Artist"] = "Someone"
    ape.save(path)  # mutagen writes APEv2 before the ID3v1 tag
    assert b"APETAGEX" in path.read_bytes()[-400:]
    assert inspect_audio(path).format == "mp3"
    # Tags do not cover for data between them and the audio.
    data = path.read_bytes()
    ape_start = data.index(b"APETAGEX", len(data) - 400)  # the APE header, before its items and footer
    path.write_bytes(data[:ape_start] + _zip_bytes() + data[ape_start:])
    with pytest.raises(InvalidAudio, match="after the end"):
        inspect_audio(path)


def test_accepts_an_id3v1_tag_after_flac_audio(audio_file):
    path = audio_file("flac", seconds=1.0)
    path.write_bytes(path.read_bytes() + b"TAG" + bytes(125))
    assert inspect_audio(path).format == "flac"
    path.write_bytes(path.read_bytes()[:-128] + _zip_bytes() + b"TAG" + bytes(125))
    with pytest.raises(InvalidAudio):
        inspect_audio(path)


def test_rejects_data_between_the_id3_tag_and_the_mp3_frames(audio_file):
    path = audio_file("mp3", seconds=1.0)
    tags = ID3()
    tags.save(path, padding=lambda info: 64)
    data = path.read_bytes()
    assert inspect_audio(path).format == "mp3"  # zero padding after the tag is normal
    start = data.index(b"\xff\xfb")
    path.write_bytes(data[:start] + b"junk" + data[start:])
    with pytest.raises(InvalidAudio):
        inspect_audio(path)
