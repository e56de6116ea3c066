"""Numbers as Vietnamese words, for scripts read aloud (:mod:`pipeline.spoken`).

Pure functions. The rules (docs/loudspeaker.md, "Script"):

- units after ``mươi``: 1 is ``mốt``, 4 is ``tư``, 5 is ``lăm`` (21 ``hai mươi mốt``, 24 ``hai mươi
  tư``, 25 ``hai mươi lăm``); after ``mười``: 5 is ``lăm`` and 1, 4 stay ``một``, ``bốn`` (11
  ``mười một``, 14 ``mười bốn``, 15 ``mười lăm``);
- a zero ten inside a group before a unit is ``linh`` (or ``lẻ``, by option): 105 ``một trăm linh
  năm``; there ``mốt``, ``tư``, ``lăm`` are not used (101 ``một trăm linh một``);
- a group of three after a higher group says its hundreds even when they are zero: 1005 ``một
  nghìn không trăm linh năm``, 2024 ``hai nghìn không trăm hai mươi tư``; a group that is all zeros
  is not said (1.000.005 ``một triệu không trăm linh năm``);
- the scale words are ``nghìn`` (not the Southern ``ngàn``), ``triệu``, ``tỷ``; beyond ``tỷ`` they
  repeat (``nghìn tỷ``).
"""

from __future__ import annotations

DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
#: the words of the groups of three digits below a billion, and of a billion (docs/loudspeaker.md)
SCALES = ("triệu", "nghìn", "")
BILLION = "tỷ"
HUNDRED_ZERO = ("linh", "lẻ")
#: ordinals that differ from the cardinal: ``thứ nhất``, ``thứ tư`` (``thứ hai`` is the cardinal)
ORDINALS = {1: "nhất", 4: "tư"}
#: month names of the solar calendar: ``tháng một`` (``tháng giêng`` is the lunar first month),
#: ``tháng tư`` (never ``tháng bốn``)
MONTHS = {1: "một", 4: "tư"}


def _tens_units(tens: int, units: int, *, after_hundred: bool, hundred_zero: str) -> list[str]:
    if tens == 0:
        if units == 0:
            return []
        return [hundred_zero, DIGITS[units]] if after_hundred else [DIGITS[units]]
    if tens == 1:
        return ["mười"] + ([] if units == 0 else ["lăm" if units == 5 else DIGITS[units]])
    unit = {0: None, 1: "mốt", 4: "tư", 5: "lăm"}.get(units, DIGITS[units])
    return [DIGITS[tens], "mươi"] + ([unit] if unit else [])


def _group(n: int, *, full: bool, hundred_zero: str) -> list[str]:
    """Words of ``0 < n < 1000``; ``full`` when a higher group comes before it (hundreds said)."""
    hundreds, rest = divmod(n, 100)
    words: list[str] = []
    if hundreds or full:
        words = [DIGITS[hundreds], "trăm"]
    return words + _tens_units(rest // 10, rest % 10, after_hundred=bool(words), hundred_zero=hundred_zero)


def number_words(n: int, hundred_zero: str = "linh") -> str:
    """``n`` (a whole number, 0 or more) in words: ``number_words(105) == "một trăm linh năm"``."""
    if n < 0:
        raise ValueError(f"negative number: {n}")
    if n == 0:
        return DIGITS[0]
    return " ".join(_words(n, full=False, hundred_zero=hundred_zero))


def _words(n: int, *, full: bool, hundred_zero: str) -> list[str]:
    billions, rest = divmod(n, 1_000_000_000)
    words: list[str] = []
    if billions:
        words = _words(billions, full=full, hundred_zero=hundred_zero) + [BILLION]
    groups = [(rest // 1_000_000) % 1000, (rest // 1000) % 1000, rest % 1000]
    for scale, value in zip(SCALES, groups):
        if value:
            words += _group(value, full=full or bool(words), hundred_zero=hundred_zero)
            words += [scale] if scale else []
    return words


def digit_words(digits: str) -> str:
    """Each digit of ``digits`` said alone, as a phone number is read: ``"1022"`` is ``một không
    hai hai``."""
    return " ".join(DIGITS[int(d)] for d in digits if d.isdigit())


def decimal_words(whole: str, fraction: str, hundred_zero: str = "linh") -> str:
    """``2,5`` is ``hai phẩy năm``; the fraction's leading zeros are said (``0,05`` ``không phẩy
    không năm``), the rest is a number up to two digits (``98,75`` ``chín mươi tám phẩy bảy mươi
    lăm``) and digit by digit beyond (``3,14159``)."""
    head = number_words(int(whole), hundred_zero)
    if len(fraction) > 2:
        return f"{head} phẩy {digit_words(fraction)}"
    zeros = len(fraction) - len(fraction.lstrip("0"))
    tail = ["không"] * zeros
    if fraction.lstrip("0"):
        tail.append(number_words(int(fraction), hundred_zero))
    return f"{head} phẩy {' '.join(tail)}"


def ordinal_words(n: int, hundred_zero: str = "linh") -> str:
    """After ``thứ``: 1 ``nhất``, 4 ``tư``, else the number (``thứ hai``, ``thứ mười bốn``)."""
    return ORDINALS.get(n) or number_words(n, hundred_zero)


def month_words(n: int) -> str:
    """After ``tháng``: ``một``, ``hai`` … ``tư`` … ``mười hai``."""
    return MONTHS.get(n) or number_words(n)


ROMAN = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}


def roman_value(text: str) -> int | None:
    """The value of an upper-case Roman numeral in its canonical form (``IV``, ``XIV``), else None
    (``IIII``, ``VX`` and any other word)."""
    if not text or any(c not in ROMAN for c in text):
        return None
    total = 0
    for i, c in enumerate(text):
        v = ROMAN[c]
        total += -v if i + 1 < len(text) and ROMAN[text[i + 1]] > v else v
    return total if 0 < total < 4000 and to_roman(total) == text else None


def to_roman(n: int) -> str:
    out = []
    for value, letters in ((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
                           (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")):
        count, n = divmod(n, value)
        out.append(letters * count)
    return "".join(out)
