"""FPT.AI Speech, text to speech v5 (https://docs.fpt.ai/docs/en/speech/api/text-to-speech).

The documented contract (docs/loudspeaker.md cites each point):

- ``POST {url}`` (``https://api.fpt.ai/hmi/tts/v5``), the text as the raw UTF-8 body (3 to 5,000
  characters per request), headers ``api_key`` (required), ``voice`` (banmai, lannhi, leminh, myan,
  thuminh, giahuy, linhsan), ``speed`` (-3 .. +3, 0 normal), ``format`` (mp3 | wav).
- The answer is JSON ``{"async": URL, "error": 0, "message": ..., "request_id": ...}``; ``error``
  other than 0 is a failure. The file at ``async`` "may not exist right at the time of response":
  from 5 seconds to 2 minutes, so Loa polls it (GET) until it answers 200.

A script longer than 5,000 characters is sent in pieces cut at sentence ends and the WAV pieces
are joined. The key is read from the environment variable named by the channel's ``speech_key_env``.
"""

from __future__ import annotations

import os
import re
import time
import wave
from pathlib import Path

from pipeline.errors import PermanentPublishError, TransientPublishError
from pipeline.messages import Detail
from publishers import http
from publishers.speech.base import Audio, SpeechEngine, SpeechUnavailable, wav_seconds

URL = "https://api.fpt.ai/hmi/tts/v5"
MAX_CHARS = 5000  # "Limit per request: 5.000 characters"
MIN_CHARS = 3  # "Body must have at least 3 characters"
VOICES = ("banmai", "lannhi", "leminh", "myan", "thuminh", "giahuy", "linhsan")


def pieces(text: str, limit: int = MAX_CHARS) -> list[str]:
    """``text`` cut at sentence ends (else at spaces) into pieces of at most ``limit`` characters."""
    out, cur = [], ""
    for sentence in re.split(r"(?<=[.!?;:\n])\s+", text.strip()):
        while len(sentence) > limit:
            cut = sentence.rfind(" ", 0, limit)
            cut = cut if cut > 0 else limit
            if cur:
                out.append(cur)
                cur = ""
            out.append(sentence[:cut].strip())
            sentence = sentence[cut:].strip()
        if cur and len(cur) + 1 + len(sentence) > limit:
            out.append(cur)
            cur = sentence
        else:
            cur = f"{cur} {sentence}".strip()
    if cur:
        out.append(cur)
    return [p for p in out if len(p) >= MIN_CHARS]


class FptEngine(SpeechEngine):
    name = "fpt"

    def available(self) -> str | None:
        var = self.options.get("api_key_env")
        if not var:
            return Detail("speech.no-key-var")  # the channel's speech_key_env
        return None if self.env.get(var) else Detail("speech.key-missing", var=var)

    def synthesize(self, text: str, out_base: Path) -> Audio:
        problem = self.available()
        if problem:
            raise SpeechUnavailable(problem)
        key = self._secret(self.env[self.options["api_key_env"]]) if self._secret else self.env[self.options["api_key_env"]]
        session = http.new_session()
        try:
            parts = [self._one(session, key, piece) for piece in pieces(text)]
        finally:
            session.close()
        wav = out_base.with_suffix(".wav")
        tmp = wav.with_name(wav.name + ".part")
        _join_wavs(parts, tmp)
        os.replace(tmp, wav)
        return Audio(wav, "wav", wav_seconds(wav))

    def _one(self, session, key: str, piece: str) -> bytes:
        url = self.options.get("url") or URL
        headers = {"api_key": key, "voice": str(self.options.get("voice") or "banmai"),
                   "speed": str(self.options.get("speed", 0)), "format": "wav", "Cache-Control": "no-cache"}
        with http.translate("fpt", None):
            resp = session.post(url, data=piece.encode("utf-8"), headers=headers, timeout=(5.0, 60.0))
        if resp.status_code >= 400:
            cls = http.classify_status(resp.status_code)
            http.raise_for(cls, "fpt", None, Detail("speech.fpt-http", status=resp.status_code), vendor_message=resp.text[:300],
                           status=resp.status_code)
        try:
            data = resp.json()
        except ValueError:
            raise TransientPublishError("fpt", None, Detail("speech.fpt-not-json")) from None
        if data.get("error") not in (0, "0") or not data.get("async"):
            raise PermanentPublishError("fpt", None, Detail("speech.fpt-refused", error=data.get("error")),
                                        vendor_message=str(data.get("message"))[:300])
        return self._poll(session, data["async"])

    def _poll(self, session, link: str) -> bytes:
        """The file behind the ``async`` link, once it exists (5 s to 2 min, says the contract)."""
        wait = float(self.options.get("poll_seconds", 2))
        deadline = time.monotonic() + float(self.options.get("poll_timeout", 180))
        sleep = self.sleep or time.sleep
        while True:
            with http.translate("fpt", None):
                resp = session.get(link, timeout=(5.0, 60.0))
            if resp.status_code == 200 and resp.content:
                return resp.content
            if resp.status_code not in (403, 404) or time.monotonic() > deadline:
                raise TransientPublishError("fpt", None, Detail("speech.fpt-not-ready", status=resp.status_code),
                                            status=resp.status_code)
            sleep(wait)


def _join_wavs(parts: list[bytes], out: Path) -> None:
    """The WAV pieces as one WAV file (same format: FPT.AI answers one format per voice)."""
    import io

    with wave.open(str(out), "wb") as w:
        for i, data in enumerate(parts):
            with wave.open(io.BytesIO(data), "rb") as r:
                if i == 0:
                    w.setparams(r.getparams())
                w.writeframes(r.readframes(r.getnframes()))
