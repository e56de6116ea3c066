"""eSpeak NG (Debian package ``espeak-ng``): ``espeak-ng -v vi -s WPM -w FILE``, text on stdin.

The channel's ``wpm`` counts Vietnamese syllables a minute, as the reading-time estimate
(:func:`pipeline.spoken.reading_seconds`) does; eSpeak NG's ``-s`` counts its own "words", and its
Vietnamese voice reads about 1.27 syllables per ``-s`` word (measured on the sample content's
scripts: 1.25 at ``-s 110``, 1.28 at 150, 1.30 at 175; ``python bench/loudspeaker.py --calibrate``).
So ``-s`` is ``wpm / 1.27`` and the audio lasts what the estimate says, within the 20 % that
tests/test_loudspeaker.py checks.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from pipeline.errors import PermanentPublishError
from pipeline.messages import Detail
from publishers.speech.base import Audio, SpeechEngine, SpeechUnavailable, to_mp3, wav_seconds


#: Vietnamese syllables eSpeak NG reads per word of its ``-s`` rate (see the module docstring)
SYLLABLES_PER_RATE_WORD = 1.27


def rate_for(wpm: float) -> int:
    """eSpeak NG's ``-s`` for ``wpm`` syllables a minute (it accepts 80 to 450)."""
    return max(80, min(450, round(wpm / SYLLABLES_PER_RATE_WORD)))


class EspeakEngine(SpeechEngine):
    name = "espeak-ng"

    def program(self) -> str | None:
        return shutil.which("espeak-ng")  # never a program named by the config: it is untrusted input

    def available(self) -> str | None:
        return None if self.program() else Detail("speech.espeak-missing")

    def synthesize(self, text: str, out_base: Path) -> Audio:
        prog = self.program()
        if prog is None:
            raise SpeechUnavailable(self.available())
        wav = out_base.with_suffix(".wav")
        tmp = wav.with_name(wav.name + ".part")
        voice = str(self.options.get("voice") or "vi")
        cmd = [prog, "-v", voice, "-s", str(rate_for(self.wpm)), "-w", str(tmp), "--stdin"]
        try:
            out = subprocess.run(cmd, input=text.encode("utf-8"), capture_output=True, timeout=600)
        except subprocess.TimeoutExpired:
            tmp.unlink(missing_ok=True)
            raise PermanentPublishError("espeak-ng", None, Detail("speech.espeak-timeout")) from None
        if out.returncode != 0 or not tmp.exists():
            tmp.unlink(missing_ok=True)
            raise PermanentPublishError("espeak-ng", None,
                                        Detail("speech.espeak-failed", detail=out.stderr.decode(errors="replace")[:300]))
        os.replace(tmp, wav)
        if self.options.get("format") == "mp3":
            mp3 = to_mp3(wav)
            if mp3 is not None:
                seconds = wav_seconds(wav)
                wav.unlink()
                return Audio(mp3, "mp3", seconds)
        return Audio(wav, "wav", wav_seconds(wav))
