"""A post as a script to be read aloud on the ward loudspeaker (issue 20): the text part.

Pure functions, no I/O. :func:`script_of` turns a post's Markdown into sentences (no links, images
or markup; steps as ``Bước một, ...``; a table as sentences) and :func:`normalise` writes each
sentence's numbers, dates, times, money, phone numbers, ordinals, Roman numerals, units and
abbreviations as the words an announcer or a speech engine says. :func:`reading_seconds`
estimates how long a script takes to read. The rules and their reasons are in docs/loudspeaker.md,
"Script"; the number words in :mod:`pipeline.spoken_numbers`.

Input is untrusted text: every rule is a regular expression without nested repetition, so no post
can make it slow, and what no rule recognises is left as it is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from pipeline import spoken_numbers as sn
from pipeline.vietnamese import nfc, strip_control

__all__ = ["SpokenOptions", "DEFAULT_GLOSSARY", "DOCUMENT_ISSUERS", "normalise", "script_of", "reading_seconds",
           "WORDS_PER_MINUTE", "PAUSE_SECONDS"]

#: Abbreviations read as their full words. Config may add to or override these (the loudspeaker
#: channel's glossary); keys are matched as whole words, case-sensitively.
DEFAULT_GLOSSARY: Mapping[str, str] = MappingProxyType({
    "UBND": "Ủy ban nhân dân", "HĐND": "Hội đồng nhân dân", "UBMTTQ": "Ủy ban Mặt trận Tổ quốc",
    "MTTQ": "Mặt trận Tổ quốc", "CCHC": "cải cách hành chính", "TTHC": "thủ tục hành chính",
    "DVC": "dịch vụ công", "DVCTT": "dịch vụ công trực tuyến", "CBCCVC": "cán bộ, công chức, viên chức",
    "CBCC": "cán bộ, công chức", "VNeID": "Vê-en-e-ai-đi", "CCCD": "căn cước công dân",
    "CMND": "chứng minh nhân dân", "TTĐT": "thông tin điện tử", "CSDL": "cơ sở dữ liệu",
    "BHXH": "bảo hiểm xã hội", "BHYT": "bảo hiểm y tế", "CNTT": "công nghệ thông tin",
    "CĐS": "chuyển đổi số", "TP.": "thành phố", "TP": "thành phố", "BCĐ": "Ban Chỉ đạo",
    "BBT": "Ban Biên tập", "THCS": "trung học cơ sở", "THPT": "trung học phổ thông",
    "PCCC": "phòng cháy chữa cháy", "ATTP": "an toàn thực phẩm", "GPLX": "giấy phép lái xe",
    "SĐT": "số điện thoại", "ĐT": "điện thoại", "V/v": "về việc", "QR": "kiu-a", "OTP": "ô-tê-pê",
    "NĐ": "nghị định", "QĐ": "quyết định", "NQ": "nghị quyết", "TTLT": "thông tư liên tịch",
    "TT&TT": "Thông tin và Truyền thông", "GD&ĐT": "Giáo dục và Đào tạo", "KH&ĐT": "Kế hoạch và Đầu tư",
    "TN&MT": "Tài nguyên và Môi trường", "LĐ-TB&XH": "Lao động, Thương binh và Xã hội",
    "PAR INDEX": "chỉ số cải cách hành chính",
})
# Names said letter by letter (VNeID, QR, OTP) are written as one hyphenated name, as Vietnamese
# writes a borrowed word (ki-lô-mét): the announcer sees one name, not four words, and eSpeak NG
# says it without a pause between the letters; the reading time still counts each syllable.
# Left out on purpose: TT, CT, KH, BC, TB, HD, CV (each means several things: TT is thông tư or
# trung tâm, CT chỉ thị or chủ tịch or công ty) and CP (Chính phủ, but "Công ty CP" is cổ phần).

#: Issuers in document numbers (the part after the kind: 09/2019/NĐ-**CP**), looked up after the
#: glossary, so config can add its own.
DOCUMENT_ISSUERS: Mapping[str, str] = MappingProxyType({
    "CP": "Chính phủ", "TTg": "Thủ tướng Chính phủ", "QH": "Quốc hội", "UBTVQH": "Ủy ban Thường vụ Quốc hội",
    "BNV": "Bộ Nội vụ", "BTC": "Bộ Tài chính", "BTTTT": "Bộ Thông tin và Truyền thông", "BCA": "Bộ Công an",
    "BTP": "Bộ Tư pháp", "BQP": "Bộ Quốc phòng", "BYT": "Bộ Y tế", "BGDĐT": "Bộ Giáo dục và Đào tạo",
    "BLĐTBXH": "Bộ Lao động, Thương binh và Xã hội", "BKHĐT": "Bộ Kế hoạch và Đầu tư",
    "BTNMT": "Bộ Tài nguyên và Môi trường", "BXD": "Bộ Xây dựng", "VPCP": "Văn phòng Chính phủ",
    "NHNN": "Ngân hàng Nhà nước",
})

#: Code letters of a document number that name its kind (already said: "Nghị định số ..."), so a
#: number's code reads as its issuer only: 09/2019/NĐ-CP is "số chín năm ... của Chính phủ".
DOCUMENT_KINDS = frozenset({"NĐ", "QĐ", "NQ", "TT", "TTLT", "CT", "KH", "BC", "TB", "HD", "CV", "L",
                            "PL", "QC", "CĐ", "TTr"})

#: Words (Vietnamese syllables) a minute, pauses included. Measured: eSpeak NG's Vietnamese voice
#: at its default speed (``-s 175``) reads the six sample guides' scripts at 216-227 a minute;
#: Vietnamese television hosts speak 3.7-5.5 a second (222-330 a minute), and a loudspeaker
#: announcer reads slower than a talk-show host (docs/loudspeaker.md, "Script").
WORDS_PER_MINUTE = 220
PAUSE_SECONDS = 0.0


PORTAL_NAME = "Cổng thông tin điện tử của thành phố"


@dataclass(frozen=True)
class SpokenOptions:
    """How a script is written: the glossary of abbreviations (whole words, case-sensitive), the
    word for a zero ten (``linh`` 105 "một trăm linh năm", or ``lẻ``) and the portal's name, which
    the sentence replacing a link points to."""
    glossary: Mapping[str, str] = field(default_factory=lambda: DEFAULT_GLOSSARY)
    hundred_zero: str = "linh"  # or "lẻ"
    portal_name: str = PORTAL_NAME  # "" is taken as this default

    @property
    def portal(self) -> str:
        return self.portal_name.strip() or PORTAL_NAME

    def __post_init__(self):
        if self.hundred_zero not in sn.HUNDRED_ZERO:
            raise ValueError(f"hundred_zero: expected one of {sn.HUNDRED_ZERO}, got {self.hundred_zero!r}")


# -- normalise: the rules, in the order they run --------------------------------------------------
# Each rule turns one written form into words, so later rules see no digits where an earlier one
# matched. The order matters: document numbers and phone numbers before dates (09/2019 is not a
# date), full dates before ranges (15-3-2024 is not a range), ranges before times and dates
# ("7h30-11h30" keeps both ends), everything before the plain numbers.

_S = r"(?<![\w.,/:])(?<!\w-)"        # a number starts here: not inside a word, code or number
_E = r"(?![\w]|[.,:/]\d)"            # and ends here
_INT = r"\d{1,3}(?:\.\d{3})+|\d+"
_AMOUNT = rf"(?:{_INT})(?:,\d+)?"
_CI = "(?i:{})".format  # a case-insensitive group of context words

_URL = re.compile(r"(?i)\b(?:https?://|www\.)[^\s<>\"]*[^\s<>\".,;:!?)\]]")
_EMAIL = re.compile(r"(?i)(?<![a-z0-9._%+-])([a-z0-9._%+-]+)@((?:[a-z0-9-]+\.)+[a-z]{2,})\b")
_DOMAIN = re.compile(r"(?<![\w@.-])((?:[a-z0-9-]+\.)+(?:vn|com|net|org|gov|edu|info))(?![\w-]|\.\w)")
_DOMAIN_WORDS = {"vn": "vê en", "gov": "gờ o vê", "com": "com", "net": "nét", "org": "o rờ gờ",
                 "edu": "e đu", "info": "in phô", "www": "vê kép vê kép vê kép"}
_NAMED_LATER = re.compile(r"\s*,?\s*(?:[Nn]gày\s+\d{1,2}[/.-]\d{1,2}[/.-]\d{4}\s*,?\s*)?của\s+")
_DOCUMENT = re.compile(r"(?<![\w/.])(\d+)/(?:(\d{4})/)?([A-ZĐ][A-Za-zĐđ&]*\d*(?:-[A-ZĐ][A-Za-zĐđ&]*\d*)*)(?![\w-])")
_PHONE_CONTEXT = re.compile(
    r"(?:\b" + _CI(r"hotline|đường dây nóng|tổng đài|điện thoại|số máy|gọi(?: đến| tới| cho)?(?: số)?|zalo")
    + r"|\bS?ĐT)" + r"(?P<sep>\s*:?\s*(?:số\s+)?)(?P<num>\d+(?:[ .]\d+)*)" + _E + r"(?![-–—]\d)")  # not half a range
_PHONE = re.compile(_S + r"(0\d{1,3}(?:[ .]\d{2,4}){1,3}|0\d{8,10}|(?:1900|1800)(?:[ .]?\d{3,4}){1,2})" + _E)
_FULL_DATE = re.compile(r"(?:(?P<ngay>[Nn]gày)\s+)?" + _S + r"(?P<d>\d{1,2})(?P<s>[/.-])(?P<m>\d{1,2})(?P=s)(?P<y>\d{4})" + _E)
_ISO_DATE = re.compile(r"(?:(?P<ngay>[Nn]gày)\s+)?" + _S + r"(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})" + _E)
_ATOM = r"\d{1,2}h(?:\d{2})?|\d{1,2}:\d{2}|\d{1,2}/\d{1,2}|" + _AMOUNT
_WEEKDAYS = re.compile(r"(?<![\w])([Tt]hứ\s+\d)\s*[-–—]\s*((?:[Tt]hứ\s+\d|[Cc]hủ nhật)(?![\w]))")
_RANGE = re.compile(_S + rf"({_ATOM})\s?[-–—]\s?({_ATOM})(?![\w/-]|[.,]\d)")
_CLOCK = re.compile(_S + r"(\d{1,2}):(\d{2})(?::(\d{2}))?" + _E)
_HOUR = re.compile(_S + r"(\d{1,2})h(\d{2})?(?:'|p\b)?(?![\w])")
_HOUR_WORDS = re.compile(_S + r"(\d{1,2})(\s+giờ\s+)(\d{1,2})(?!\d|\s*phút)(?![\w])")
_MONTH_YEAR = re.compile(r"(?:(?P<thang>[Tt]háng|[Qq]uý)\s+)?" + _S + r"(?P<m>\d{1,2})/(?P<y>\d{4})" + _E)
_DAY_MONTH = re.compile(r"(?:(?P<ngay>[Nn]gày)\s+)?" + _S + r"(?P<d>\d{1,2})/(?P<m>\d{1,2})" + _E)
_RATIO = re.compile(_S + r"(\d+)/(\d+)" + _E)   # what is not a date: 24/24, 15/20 hồ sơ
_MONTH = re.compile(r"\b([Tt]háng)\s+" + _S + r"(\d{1,2})" + _E)
_PERCENT = re.compile(_S + rf"({_AMOUNT})\s?%")
_MONEY = re.compile(_S + rf"({_AMOUNT})\s?(?:đồng|đ|VNĐ|VND|vnđ|vnd|₫)(?![\w])")
_MONEY_CODE = re.compile(r"(?<![\w])(?:VNĐ|VND|vnđ)(?![\w])")
UNITS = {"km²": "ki-lô-mét vuông", "km2": "ki-lô-mét vuông", "km/h": "ki-lô-mét một giờ",
         "km": "ki-lô-mét", "m²": "mét vuông", "m2": "mét vuông", "m³": "mét khối", "m3": "mét khối",
         "cm": "xen-ti-mét", "mm": "mi-li-mét", "m": "mét", "kg": "ki-lô-gam", "g": "gam",
         "ha": "héc-ta", "ml": "mi-li-lít", "l": "lít", "kWh": "ki-lô-oát giờ", "kW": "ki-lô-oát",
         "MW": "mê-ga-oát", "MB": "mê-ga-bai", "GB": "gi-ga-bai", "°C": "độ xê"}
_UNIT = re.compile(_S + rf"({_AMOUNT})\s?(" + "|".join(map(re.escape, UNITS)) + r")(?![\w²³])")
_UNIT_ALONE = re.compile(r"(?<![\w])(km²|km/h|km|m²|m³|kg|°C)(?![\w²³])")
_ROMAN = re.compile(r"(?<![\w])(" + _CI(r"quý|khóa|khoá|nhiệm kỳ|kỳ|chương|phần|mục|phụ lục|đại hội|"
                                          r"thế kỷ|thế kỉ|hội nghị|lần thứ|thứ|điều|quốc hội|lần")
                    + r")\s+([IVXLCDM]+)(?:/(\d{4}))?(?![\w])")
_ORDINAL = re.compile(r"(?<![\w])(" + _CI("thứ|hạng") + r")\s+" + _S + r"(\d+)" + _E)
_DECIMAL = re.compile(_S + r"(\d{1,3}(?:\.\d{3})+|\d+),(\d+)" + _E)
_INTEGER = re.compile(_S + rf"({_INT})" + _E)
_DOTTED = re.compile(_S + r"(\d+(?:\.\d+)+)" + _E)   # 2.1, 1.2.3: section numbers, "chấm"
_DIGIT = re.compile(r"\d")
_PRICE_PER = re.compile("(" + "|".join(map(re.escape, sorted({"đồng", *UNITS.values()}, key=len, reverse=True)))
                        + r")/(?=\w)")   # 2.000 đồng/trang: "hai nghìn đồng một trang"
_PER = re.compile(r"(?<=[^\W\d_])/(?=[^\W\d_])")  # và/hoặc; not 0/0
_DASH = re.compile(r"\s+[-–—]\s+")
_SPACES = re.compile(r"[ \t]+")
_SPACE_PUNCT = re.compile(r"\s+([,.;:!?…)])")


def _integer(text: str, hz: str) -> str:
    digits = text.replace(".", "")
    if len(digits) > 15 or (len(digits) > 2 and digits.startswith("0") and "." not in text):
        return sn.digit_words(digits)  # a code, not a quantity: 007, 0254
    return sn.number_words(int(digits), hz)


def _amount(text: str, hz: str) -> str:
    if "," in text:
        whole, fraction = text.split(",", 1)
        return sn.decimal_words(str(int(whole.replace(".", ""))), fraction, hz)
    return _integer(text, hz)


def _date(ngay: str | None, d: int, m: int, y: int | None, hz: str) -> str | None:
    if not (1 <= d <= 31 and 1 <= m <= 12):
        return None
    out = f"{ngay or 'ngày'} {sn.number_words(d, hz)} tháng {sn.month_words(m)}"
    return out + (f" năm {sn.number_words(y, hz)}" if y is not None else "")


def _clock(h: int, m: int, s: int, hz: str) -> str | None:
    if h > 24 or m > 59 or s > 59:
        return None
    out = f"{sn.number_words(h, hz)} giờ"
    out += f" {sn.number_words(m, hz)} phút" if m else ""
    return out + (f" {sn.number_words(s, hz)} giây" if s else "")


def _spell_code(code: str, glossary: Mapping[str, str], hz: str) -> str:
    """``CP`` "Chính phủ" (from the glossary), ``QH15`` "Quốc hội khóa mười lăm"; letters no
    glossary knows are kept as written."""
    letters, digits = re.fullmatch(r"(\D*)(\d*)", code).groups()
    words = glossary.get(letters) or DOCUMENT_ISSUERS.get(letters, letters)
    if digits:  # QH15, UBTVQH14: the National Assembly's term
        words += (" khóa " if letters.endswith("QH") else " ") + sn.number_words(int(digits), hz)
    return words


def _document(m: re.Match, o: SpokenOptions) -> str:
    number, year, code = m.groups()
    hz = o.hundred_zero
    out = sn.number_words(int(number), hz) + (f" năm {sn.number_words(int(year), hz)}" if year else "")
    parts = [p for p in code.split("-") if p not in DOCUMENT_KINDS]
    if parts:
        issuer = _spell_code(parts[0], o.glossary, hz)
        # "09/2019/NĐ-CP của Chính phủ", "45/2016/QĐ-TTg ngày 19/10/2016 của Thủ tướng Chính phủ":
        # the sentence names the issuer itself, so it is said once
        after = _NAMED_LATER.match(m.string, m.end())
        if not (after and m.string[after.end():].lower().startswith(issuer.lower())):
            out += " của " + issuer
    return out


def _phone(m: re.Match) -> str:
    return ", ".join(sn.digit_words(g) for g in re.split(r"[ .]", m.group("num") if "num" in m.re.groupindex else m.group(1)))


def _phone_number_ok(text: str) -> bool:
    return 9 <= sum(c.isdigit() for c in text) <= 11 or text[:4] in ("1900", "1800")


def _domain(name: str) -> str:
    return " chấm ".join(_DOMAIN_WORDS.get(label, sn.digit_words(label) if label.isdigit() else label)
                         for label in name.lower().split("."))


def _glossary_pattern(glossary: Mapping[str, str]) -> re.Pattern | None:
    keys = sorted((k for k in glossary if k), key=len, reverse=True)
    if not keys:
        return None
    return re.compile(r"(?<![\w&/])(" + "|".join(map(re.escape, keys)) + r")(?![\w&]|/\w)")


_PATTERNS: dict[tuple, re.Pattern | None] = {}


def _expand(text: str, glossary: Mapping[str, str]) -> str:
    key = tuple(sorted(glossary))
    if key not in _PATTERNS:
        _PATTERNS[key] = _glossary_pattern(glossary)
    pattern = _PATTERNS[key]
    if pattern is None:
        return text

    def one(m: re.Match) -> str:
        words = glossary[m.group(1)]
        start = m.start() == 0 or re.search(r"[.!?]\s+$", text[max(0, m.start() - 3):m.start()])
        return words[:1].upper() + words[1:] if start else words
    return _drop_repeats(pattern.sub(one, text))


_PAREN = re.compile(r"\s*\(([^()]{2,80})\)")


def _drop_repeats(text: str) -> str:
    """``cải cách hành chính (CCHC)`` defines an abbreviation for readers; expanded, it would be
    said twice, so a bracket that repeats the words just before it is dropped."""
    def one(m: re.Match) -> str:
        before = text[max(0, m.start() - 100):m.start()].rstrip().lower()
        return "" if before.endswith(m[1].strip().lower()) else m[0]
    return _PAREN.sub(one, text) if "(" in text else text


def _maybe(words: str | None, m: re.Match) -> str:
    return m.group(0) if words is None else words


def normalise(text: str, options: SpokenOptions) -> str:
    """One sentence or paragraph of plain text as the words to read aloud: ``"Phí 8.000đ, hạn
    15/3/2024."`` gives ``"Phí tám nghìn đồng, hạn ngày mười lăm tháng ba năm hai nghìn không trăm
    hai mươi tư."`` Words with digits inside (4G, COVID-19) and everything no rule knows stay as
    they are. ``normalise(normalise(t)) == normalise(t)``."""
    o, hz = options, options.hundred_zero
    t = strip_control(nfc(text))
    t = _URL.sub(lambda _m: o.portal, t)  # a function: the name is text, not a template
    if "@" in t:
        t = _EMAIL.sub(lambda m: f"{m.group(1)} a còng {_domain(m.group(2))}", t)
    if "." in t:
        t = _DOMAIN.sub(lambda m: _domain(m.group(1)), t)
    if _DIGIT.search(t):  # most sentences have no number: the rules for numbers are skipped
        t = _written_forms(t, o)
    t = _UNIT_ALONE.sub(lambda m: UNITS[m[1]], t)
    t = _ROMAN.sub(lambda m: _roman(m, hz), t)
    t = _expand(t, o.glossary)
    if _DIGIT.search(t):
        t = _DECIMAL.sub(lambda m: sn.decimal_words(str(int(m[1].replace(".", ""))), m[2], hz), t)
        t = _INTEGER.sub(lambda m: _integer(m[1], hz), t)
        t = _DOTTED.sub(lambda m: " chấm ".join(_integer(p, hz) for p in m[1].split(".")), t)
    if "/" in t:
        t = _PER.sub(" ", _PRICE_PER.sub(r"\1 một ", t))
    t = _DASH.sub(", ", t.replace("&", " và "))
    return _SPACE_PUNCT.sub(r"\1", _SPACES.sub(" ", t)).strip()


def _written_forms(t: str, o: SpokenOptions) -> str:
    """The rules for numbers in their written forms, in order (see the comment above ``_S``)."""
    hz = o.hundred_zero
    t = _DOCUMENT.sub(lambda m: _document(m, o), t)
    t = _PHONE_CONTEXT.sub(lambda m: m[0][:m.start("num") - m.start()] + _phone(m)
                           if sum(c.isdigit() for c in m["num"]) >= 3 else m[0], t)
    t = _PHONE.sub(lambda m: _phone(m) if _phone_number_ok(m.group(1)) else m.group(0), t)
    for rx in (_FULL_DATE, _ISO_DATE):
        t = rx.sub(lambda m: _maybe(_date(m["ngay"], int(m["d"]), int(m["m"]), int(m["y"]), hz), m), t)
    t = _WEEKDAYS.sub(r"\1 đến \2", t)
    t = _RANGE.sub(r"\1 đến \2", t)
    t = _CLOCK.sub(lambda m: _maybe(_clock(int(m[1]), int(m[2]), int(m[3] or 0), hz), m), t)
    t = _HOUR.sub(lambda m: _maybe(_clock(int(m[1]), int(m[2] or 0), 0, hz), m), t)
    t = _HOUR_WORDS.sub(lambda m: f"{m[1]}{m[2]}{m[3]} phút" if int(m[3]) < 60 else m[0], t)
    t = _MONTH_YEAR.sub(lambda m: _month_year(m, hz), t)
    t = _DAY_MONTH.sub(lambda m: _maybe(_date(m["ngay"], int(m["d"]), int(m["m"]), None, hz), m), t)
    t = _RATIO.sub(lambda m: f"{_integer(m[1], hz)} trên {_integer(m[2], hz)}", t)
    t = _MONTH.sub(lambda m: f"{m[1]} {sn.month_words(int(m[2]))}" if 1 <= int(m[2]) <= 12 else m[0], t)
    t = _PERCENT.sub(lambda m: f"{_amount(m[1], hz)} phần trăm", t)
    t = _MONEY.sub(lambda m: f"{_amount(m[1], hz)} đồng", t)
    t = _MONEY_CODE.sub("đồng", t)
    t = _UNIT.sub(lambda m: f"{_amount(m[1], hz)} {UNITS[m[2]]}", t)
    return _ORDINAL.sub(lambda m: f"{m[1]} {sn.ordinal_words(int(m[2]), hz)}", t)


def _month_year(m: re.Match, hz: str) -> str:
    """``tháng 3/2024``, ``3/2024`` "tháng ba năm ..."; ``quý 1/2024`` "quý một năm ..."."""
    word, month, year = m["thang"] or "tháng", int(m["m"]), int(m["y"])
    quarter = word.lower() == "quý"
    if not (1 <= month <= (4 if quarter else 12)):
        return m[0]
    said = sn.number_words(month, hz) if quarter else sn.month_words(month)
    return f"{word} {said} năm {sn.number_words(year, hz)}"


def _roman(m: re.Match, hz: str) -> str:
    word, numeral, year = m.groups()
    value = sn.roman_value(numeral)
    if value is None or (len(numeral) == 1 and numeral not in "IVX"):
        return m.group(0)  # "Mục C", "Phần D": a letter, not a number
    said = sn.ordinal_words(value, hz) if word.lower().endswith("thứ") else sn.number_words(value, hz)
    return f"{word} {said}" + (f" năm {sn.number_words(int(year), hz)}" if year else "")


# -- script_of: Markdown to sentences ---------------------------------------------------------------
# The post's Markdown goes through the one Markdown converter and the one plain-text reading of
# its HTML (pipeline/plaintext.py, what Zalo, Facebook, Telegram and Mastodon carry): steps as
# "1. ...", a table as "label: value" lines or "- row — header: value; ..." lines, links as their
# text, no images. Each line then becomes a sentence. The end of each link is marked with a
# private-use character (taken out of the post first), so a block that had a link is followed by
# the sentence pointing to the portal.

_LINK_END = "\ue000"
_A_END = re.compile(r"</a\s*>", re.I)
_PRE = re.compile(r"<pre\b.*?</pre\s*>", re.I | re.S)  # code: nothing an announcer can read
_STEP = re.compile(r"(\d{1,9})\.\s+(.*)")
_ITEM = re.compile(r"[-•]\s+(.*)")
_ROW_PAIR = re.compile(r";\s+(?=[^;:]{1,60}:\s)")   # "; Căn cứ: ..." starts a new sentence
_END = re.compile(r"[.!?…]$")
_ASKED = re.compile(r"([?!]):\s+")  # a table header that is a question: "Có phải đến?: Không"


def _sentence_end(text: str) -> str:
    text = text.rstrip().rstrip(",;:").rstrip()
    return text if not text or _END.search(text) else text + "."


def _line_sentence(line: str, options: SpokenOptions) -> str:
    """One line of the plain text as a sentence: ``1. Nộp`` "Bước một, Nộp."; ``- item``
    "item."; a table row's first cell and each ``header: value`` its own sentence."""
    indented = line[:1].isspace()
    line = line.strip()
    step = _STEP.fullmatch(line)
    if step and not indented:
        line = f"Bước {sn.number_words(int(step[1]), options.hundred_zero)}, {step[2]}"
    elif step:
        line = step[2]  # a nested numbered list: its items as sentences
    elif item := _ITEM.fullmatch(line):
        head, row, rest = item[1].partition(" — ")  # a table row: "first cell — header: value; ..."
        parts = [head] + (_ROW_PAIR.split(rest) if row else [])
        line = " ".join(_sentence_end(p) for p in parts)
    return _sentence_end(normalise(_ASKED.sub(r"\1 ", line), options))


def script_of(markdown_body: str, title: str, options: SpokenOptions) -> str:
    """A post as the script an announcer reads: the title, then one paragraph per sentence line
    (a paragraph, a step, an item, a table row), each normalised and ending with a full stop. No
    links (a block that had one is followed by ``Chi tiết xem tại <portal>.``), no images, no
    code blocks, no markup; numbered items become ``Bước một, ...``."""
    from pipeline.plaintext import to_text
    from pipeline.render import new_markdown  # the one Markdown converter of posts

    html = new_markdown().convert(nfc(markdown_body).replace(_LINK_END, ""))
    html = _A_END.sub(_LINK_END + "</a>", _PRE.sub("", html))
    pointer = _sentence_end(normalise(f"Chi tiết xem tại {options.portal}", options))
    out = [_sentence_end(normalise(title, options))] if title.strip() else []
    for block in to_text(html).split("\n\n"):
        for line in block.split("\n"):
            said = _line_sentence(line.replace(_LINK_END, ""), options)
            if said.strip("."):
                out.append(said)
        if _LINK_END in block and out[-1:] != [pointer]:
            out.append(pointer)
    return "\n\n".join(out)


def reading_seconds(script: str, words_per_minute: int = WORDS_PER_MINUTE,
                    pause_seconds: float = PAUSE_SECONDS) -> float:
    """Seconds to read ``script`` aloud: its words (Vietnamese syllables) at ``words_per_minute``,
    plus ``pause_seconds`` after each sentence."""
    if words_per_minute <= 0:
        raise ValueError(f"words_per_minute must be positive, got {words_per_minute}")
    words = len(re.findall(r"\w+", script))
    sentences = len(re.findall(r"[.!?…](?:\s|$)", script))
    return words * 60.0 / words_per_minute + sentences * pause_seconds
