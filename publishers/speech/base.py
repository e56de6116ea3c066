"""The speech-engine contract: ``synthesize(text, out_base) -> Audio``.

An engine writes one audio file next to ``out_base`` (``out_base`` + ``.wav`` or ``.mp3``), atomically
(a temporary name, then a rename), and returns its path, format and duration *measured from the
file* (never estimated). An engine that cannot run here (program missing, no key) raises
:class:`SpeechUnavailable` with a message for the IT officer; a vendor refusal raises a
:class:`pipeline.errors.PublishError` subclass like any channel call.
"""

from __future__ import annotations

import os
import shutil
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping


class SpeechUnavailable(Exception):
    """This engine cannot make audio on this machine (the program or its key is missing)."""


@dataclass(frozen=True)
class Audio:
    path: Path
    format: str  # "wav" | "mp3"
    seconds: float


def wav_seconds(path: Path) -> float:
    """Duration of a WAV file from its header and data size."""
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / float(w.getframerate())


def mp3_seconds(path: Path) -> float | None:
    """Duration of an MP3 file as ``soxi``/``ffprobe`` measures it; ``None`` when neither is installed."""
    import subprocess  # here: config validation imports this module on every command (4 ms)

    if shutil.which("soxi"):
        out = subprocess.run(["soxi", "-D", str(path)], capture_output=True, text=True, timeout=60)
        if out.returncode == 0 and out.stdout.strip():
            return float(out.stdout.strip())
    if shutil.which("ffprobe"):
        out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
                              str(path)], capture_output=True, text=True, timeout=60)
        if out.returncode == 0 and out.stdout.strip():
            return float(out.stdout.strip())
    return None


def to_mp3(wav: Path) -> Path | None:
    """An MP3 beside ``wav`` when ``lame`` or ``ffmpeg`` is installed (optional), else ``None``."""
    mp3 = wav.with_suffix(".mp3")
    tmp = mp3.with_name(mp3.name + ".part")
    if shutil.which("lame"):
        cmd = ["lame", "--quiet", str(wav), str(tmp)]
    elif shutil.which("ffmpeg"):
        cmd = ["ffmpeg", "-loglevel", "error", "-y", "-i", str(wav), "-f", "mp3", str(tmp)]
    else:
        return None
    import subprocess

    if subprocess.run(cmd, capture_output=True, timeout=600).returncode != 0:
        tmp.unlink(missing_ok=True)
        return None
    os.replace(tmp, mp3)
    return mp3


class SpeechEngine:
    """Base class. ``options``: the channel's ``speech`` table (engine-specific keys);
    ``env``: where ``*_env`` options are read; ``wpm``: the reading rate the estimate uses."""

    name = ""

    def __init__(self, options: Mapping[str, Any], *, env: Mapping[str, str] | None = None, wpm: int = 150,
                 secret=None, clock=None, sleep=None):
        self.options = dict(options or {})
        self.env = env or {}
        self.wpm = wpm
        self._secret = secret
        self.clock, self.sleep = clock, sleep

    def available(self) -> str | None:
        """``None`` when the engine can run here, else why not (shown by ``loa channels check``)."""
        return None

    def synthesize(self, text: str, out_base: Path) -> Audio:
        raise NotImplementedError


class NoSpeech(SpeechEngine):
    """``engine = "none"``: never makes audio (the announcer reads the script)."""

    name = "none"

    def available(self) -> str | None:
        from pipeline.messages import Detail

        return Detail("speech.none")

    def synthesize(self, text: str, out_base: Path) -> Audio:
        raise SpeechUnavailable(self.available())
