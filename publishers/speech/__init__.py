"""Speech engines for the loudspeaker channel: a base class and a registry, one module per engine.

``engine = "espeak-ng"`` (the local default when the program is installed), ``"fpt"`` (FPT.AI's
cloud text-to-speech, docs/loudspeaker.md has its contract) or ``"none"`` (no audio: the script
and manifest are delivered and the audio is marked missing). Implementations are imported lazily.
"""

from __future__ import annotations

import importlib

from publishers.speech.base import Audio, SpeechEngine, SpeechUnavailable, wav_seconds

REGISTRY: dict[str, str] = {
    "espeak-ng": "publishers.speech.espeak:EspeakEngine",
    "fpt": "publishers.speech.fpt:FptEngine",
    "none": "publishers.speech.base:NoSpeech",
}


def get(name: str) -> type[SpeechEngine]:
    """The engine class for a registry key; ``KeyError`` for an unknown one."""
    module, _, cls = REGISTRY[name].partition(":")
    return getattr(importlib.import_module(module), cls)


def known() -> list[str]:
    return sorted(REGISTRY)


__all__ = ["Audio", "SpeechEngine", "SpeechUnavailable", "REGISTRY", "get", "known", "wav_seconds"]
