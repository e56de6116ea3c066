"""Vietnamese text quality: normalisation, legacy encodings, mojibake, tone-mark style.

Pure functions only: nothing here reads files or the clock.
"""
from __future__ import annotations

import re
import unicodedata

_WS = re.compile(r"\s+")
# đ/Đ and the look-alike eth Ð/ð have no decomposition, so NFD alone leaves them.
_D_MAP = str.maketrans({"đ": "d", "Đ": "d", "ð": "d", "Ð": "d"})


def nfc(text: str) -> str:
    """Return *text* in Unicode Normalization Form C (precomposed), the form Loa stores."""
    return unicodedata.normalize("NFC", text)


def fold(text: str) -> str:
    """Fold *text* into a comparison key: lower case, no diacritics, đ -> d, single spaces.

    Both tone placements fold alike: ``fold("Hoà") == fold("hòa") == fold("HOA") == "hoa"``.
    Used for duplicate detection and search, never for display.
    """
    decomposed = unicodedata.normalize("NFD", text.casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _WS.sub(" ", stripped.translate(_D_MAP)).strip()
