"""FPT.AI text to speech v5, as its public documentation describes it
(https://docs.fpt.ai/docs/en/speech/api/text-to-speech), for the loudspeaker's speech engine tests.

- ``POST /hmi/tts/v5``: header ``api_key`` (required; the ``api-key`` spelling seen in callers'
  code is accepted too), ``voice`` (banmai, lannhi, leminh, myan, thuminh, giahuy, linhsan),
  ``speed`` (-3..+3), ``format`` (mp3 | wav); body: the text, 3 to 5,000 characters.
- answer: ``{"async": URL, "error": 0, "message": ..., "request_id": ...}``; a refusal has
  ``error`` other than 0 (the documentation lists no codes; this server uses 1 with its message).
  A wrong key: HTTP 401 with a JSON message.
- the file at ``async`` does not exist at first: GET answers 404 until ``ready_after`` seconds
  have passed (the documentation: 5 seconds to 2 minutes), then the audio.

The audio is a silent WAV (or bytes labelled MP3) lasting what the text would at 220 syllables a
minute, so the engine's measured duration is checkable. Nothing here imports Loa's adapter.
"""

from __future__ import annotations

import io
import itertools
import re
import wave

from tests.servers.base import Request, Response, VendorServer

VOICES = {"banmai", "lannhi", "leminh", "myan", "thuminh", "giahuy", "linhsan"}


def silent_wav(seconds: float, rate: int = 8000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\0\0" * int(seconds * rate))
    return buf.getvalue()


class FptTtsServer(VendorServer):
    def __init__(self, key: str = "test-key", ready_after: float = 0.0, latency: float = 0.0):
        super().__init__(latency)
        self.key, self.ready_after = key, ready_after
        self.files: dict[str, tuple[float, bytes]] = {}  # name -> (ready at, bytes)
        self.texts: list[str] = []
        self.polls = 0
        self._ids = itertools.count(1)

    def handle(self, req: Request) -> Response:
        if req.method == "POST" and req.path == "/hmi/tts/v5":
            return self._synthesize(req)
        if req.method == "GET" and req.path.startswith("/files/"):
            with self.lock:
                self.polls += 1
                ready_at, data = self.files.get(req.path[len("/files/"):], (None, None))
            if ready_at is None or self.monotonic() < ready_at:
                return Response(404, "<Error><Code>NoSuchKey</Code></Error>")
            return Response(200, data, {"Content-Type": "audio/wav"})
        return Response(404, {"message": "not found"})

    def _synthesize(self, req: Request) -> Response:
        key = req.headers.get("api_key") or req.headers.get("api-key")
        if key != self.key:
            return Response(401, {"message": "Invalid API key"})
        text = req.body.decode("utf-8")
        voice = req.headers.get("voice") or "banmai"
        speed = req.headers.get("speed") or "0"
        fmt = req.headers.get("format") or "mp3"
        if voice not in VOICES:
            return Response(200, {"error": 1, "message": f"voice {voice} is not supported", "async": ""})
        if speed not in {"-3", "-2", "-1", "0", "+1", "1", "+2", "2", "+3", "3", ""} or fmt not in ("mp3", "wav"):
            return Response(200, {"error": 1, "message": "invalid speed or format", "async": ""})
        if not 3 <= len(text) <= 5000:
            return Response(200, {"error": 1, "message": "text must have 3 to 5000 characters", "async": ""})
        seconds = len(re.findall(r"\w+", text)) * 60 / 220
        with self.lock:
            self.texts.append(text)
            name = f"{next(self._ids):08d}.{fmt}"
            self.files[name] = (self.monotonic() + self.ready_after, silent_wav(seconds))
        return Response(200, {"async": f"{self.url}/files/{name}", "error": 0, "request_id": name,
                              "message": "The content will be returned after a few seconds under the async link."})
