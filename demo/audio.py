"""Synthesised demo audio: short jingles, hits and voice-like bleeps, made here with numpy.

Everything is generated deterministically from a seed, so ``flask seed`` produces the same files
on every machine and the tests can make real audio of any format on the fly.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import soundfile

SAMPLE_RATE = 44100
FORMATS = {
    # name: (soundfile format, subtype, extension, sample rate)
    "mp3": ("MP3", None, "mp3", 44100),
    "ogg": ("OGG", "VORBIS", "ogg", 44100),
    "opus": ("OGG", "OPUS", "opus", 48000),
    "flac": ("FLAC", "PCM_16", "flac", 44100),
}
NOTE_NAMES = {"C": -9, "D": -7, "E": -5, "F": -4, "G": -2, "A": 0, "B": 2}


def note_frequency(note: str) -> float:
    """'A4' -> 440.0; '#' for sharps."""
    name, sharp, octave = note[0], "#" in note, int(note[-1])
    semitones = NOTE_NAMES[name] + (1 if sharp else 0) + (octave - 4) * 12
    return 440.0 * 2 ** (semitones / 12)


def _envelope(n: int, attack: float = 0.01, release: float = 0.15, rate: int = SAMPLE_RATE) -> np.ndarray:
    env = np.ones(n)
    a, r = min(n, int(attack * rate)), min(n, int(release * rate))
    if a:
        env[:a] = np.linspace(0, 1, a)
    if r:
        env[-r:] *= np.linspace(1, 0, r)
    return env


def tone(freq: float, seconds: float, rate: int = SAMPLE_RATE, harmonics=(1.0, 0.4, 0.2)) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    wave = sum(amp * np.sin(2 * np.pi * freq * (i + 1) * t) for i, amp in enumerate(harmonics))
    return wave / sum(harmonics) * _envelope(len(t), rate=rate)


def jingle(notes: list[str], beat: float = 0.18, rate: int = SAMPLE_RATE) -> np.ndarray:
    return np.concatenate([tone(note_frequency(n), beat, rate) for n in notes])


def hit(seconds: float = 0.6, rate: int = SAMPLE_RATE, seed: int = 0) -> np.ndarray:
    """A drum-like hit: a falling sine plus a burst of noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    body = np.sin(2 * np.pi * (120 * np.exp(-t * 8) + 50) * t) * np.exp(-t * 6)
    noise = rng.normal(0, 0.4, len(t)) * np.exp(-t * 25)
    return body + noise


def bleeps(syllables: int = 6, rate: int = SAMPLE_RATE, seed: int = 0) -> np.ndarray:
    """Voice-like bleeps: formant-ish vowels gliding in pitch, like a game character talking."""
    rng = np.random.default_rng(seed)
    parts = []
    for _ in range(syllables):
        length = rng.uniform(0.07, 0.16)
        t = np.arange(int(length * rate)) / rate
        pitch = rng.uniform(260, 520) * (1 + 0.25 * t / length)
        vowel = np.sin(2 * np.pi * pitch * t) + 0.5 * np.sin(2 * np.pi * pitch * 2.01 * t)
        parts.append(vowel * _envelope(len(t), 0.005, 0.03, rate))
        parts.append(np.zeros(int(rng.uniform(0.02, 0.06) * rate)))
    return np.concatenate(parts)


def render(kind: str, seed: int = 0, seconds: float | None = None, rate: int = SAMPLE_RATE) -> np.ndarray:
    """A named demo sound as float32 samples in -1..1 (mono)."""
    rng = np.random.default_rng(seed)
    if kind == "jingle":
        scale = ["C4", "D4", "E4", "G4", "A4", "C5", "D5", "E5"]
        notes = [scale[i] for i in rng.integers(0, len(scale), 12)] + ["C5"]
        samples = jingle(notes, rate=rate)
    elif kind == "hit":
        samples = np.concatenate([hit(rate=rate, seed=seed + i) for i in range(3)])
    elif kind == "bleeps":
        samples = bleeps(10, rate=rate, seed=seed)
    elif kind == "sweep":
        total = seconds or 2.0
        t = np.arange(int(total * rate)) / rate
        samples = np.sin(2 * np.pi * (200 + 600 * t / total) * t) * _envelope(len(t), rate=rate)
    else:
        raise ValueError(f"unknown demo sound {kind!r}")
    if seconds:
        wanted = int(seconds * rate)
        samples = np.resize(samples, wanted) * _envelope(wanted, rate=rate)
    peak = np.max(np.abs(samples)) or 1.0
    return (samples / peak * 0.7 * rng.uniform(0.4, 1.0)).astype("float32")


def encode(samples: np.ndarray, fmt: str, rate: int | None = None) -> bytes:
    """Encode samples as real ``mp3``, ``ogg`` (Vorbis), ``opus`` or ``flac`` bytes."""
    sf_format, subtype, _, default_rate = FORMATS[fmt]
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, rate or default_rate, format=sf_format, subtype=subtype)
    return buffer.getvalue()


def make_audio_file(path: str | Path, fmt: str = "mp3", kind: str = "jingle", seed: int = 0, seconds: float | None = None) -> Path:
    """Write a real audio file (used by ``flask seed`` and by the tests)."""
    rate = FORMATS[fmt][3]
    path = Path(path)
    path.write_bytes(encode(render(kind, seed=seed, seconds=seconds, rate=rate), fmt, rate))
    return path
