"""Tables behind :mod:`pipeline.vietnamese`: TCVN3 (ABC) and VNI-Windows, written from the
encoding standards; the cp1252 view of bytes (for mojibake); the Vietnamese spelling model.

Both encodings predate Unicode: fonts such as ``.VnTime`` (TCVN 5712:1993, VN3) and
``VNI-Times`` drew Vietnamese letters in the slots of Western characters, so a document typed
with them, opened without the font, shows Latin-1 glyphs (``Céng hoµ``, ``Coäng hoøa``).
Their bytes 0xA0-0xFF coincide in cp1252 and Latin-1, so one table serves both 8-bit files and
text that was already decoded to those glyphs (pasted into a UTF-8 file).

* TCVN3 is one byte per letter and has no upper-case toned letters: encoding ``Ủ`` gives the
  code of ``ủ`` (the case lived in the ``.VnTimeH`` font, not in the bytes).
* VNI writes a base letter followed by a modifier byte (``a`` + ``ù`` = ``á``); ``ơ ư đ`` and
  the toned ``i``/``ỵ`` are single bytes.

Only mappings and lookups live here; deciding *whether* a text is TCVN3, VNI or mojibake is
:mod:`pipeline.vietnamese`'s job.
"""

from __future__ import annotations

import re
import unicodedata

# Tone marks as combining characters: sắc, huyền, hỏi, ngã, nặng (the order of every row below).
TONES = ("\u0301", "\u0300", "\u0309", "\u0303", "\u0323")


# ---------------------------------------------------------------- TCVN3
# Byte -> letter. Toned rows follow the standard's order huyền, hỏi, ngã, sắc, nặng, which
# is the order of the code points (0xB5 à, 0xB6 ả, 0xB7 ã, 0xB8 á, 0xB9 ạ).
_TCVN3_ROWS = {
    "a": (0xB5, 0xB6, 0xB7, 0xB8, 0xB9),
    "ă": (0xBB, 0xBC, 0xBD, 0xBE, 0xC6),
    "â": (0xC7, 0xC8, 0xC9, 0xCA, 0xCB),
    "e": (0xCC, 0xCE, 0xCF, 0xD0, 0xD1),
    "ê": (0xD2, 0xD3, 0xD4, 0xD5, 0xD6),
    "i": (0xD7, 0xD8, 0xDC, 0xDD, 0xDE),
    "o": (0xDF, 0xE1, 0xE2, 0xE3, 0xE4),
    "ô": (0xE5, 0xE6, 0xE7, 0xE8, 0xE9),
    "ơ": (0xEA, 0xEB, 0xEC, 0xED, 0xEE),
    "u": (0xEF, 0xF1, 0xF2, 0xF3, 0xF4),
    "ư": (0xF5, 0xF6, 0xF7, 0xF8, 0xF9),
    "y": (0xFA, 0xFB, 0xFC, 0xFD, 0xFE),
}
_TCVN3_ORDER = ("\u0300", "\u0309", "\u0303", "\u0301", "\u0323")  # huyền hỏi ngã sắc nặng

TCVN3_DECODE: dict[int, str] = {
    0xA1: "Ă", 0xA2: "Â", 0xA3: "Ê", 0xA4: "Ô", 0xA5: "Ơ", 0xA6: "Ư", 0xA7: "Đ",
    0xA8: "ă", 0xA9: "â", 0xAA: "ê", 0xAB: "ô", 0xAC: "ơ", 0xAD: "ư", 0xAE: "đ",
}
for _base, _codes in _TCVN3_ROWS.items():
    for _code, _tone in zip(_codes, _TCVN3_ORDER):
        TCVN3_DECODE[_code] = unicodedata.normalize("NFC", _base + _tone)

TCVN3_ENCODE: dict[str, int] = {v: k for k, v in TCVN3_DECODE.items()}
# No upper-case toned letters in TCVN3: they share the lower-case code.
for _ch, _code in list(TCVN3_ENCODE.items()):
    if _ch.upper() not in TCVN3_ENCODE:
        TCVN3_ENCODE[_ch.upper()] = _code

# Glyph -> letter, for text already decoded as cp1252/Latin-1. U+2212 (minus) is what PDF
# text layers give for the soft-hyphen slot (ư), e.g. "Tr−¬ng".
TCVN3_GLYPHS: dict[int, str] = {code: ch for code, ch in TCVN3_DECODE.items()}
TCVN3_GLYPHS[0x2212] = "ư"

#: Characters that a TCVN3 text shows and that no Vietnamese Unicode text contains.
TCVN3_ONLY = frozenset(chr(c) for c in TCVN3_DECODE) - frozenset(
    "àáâãèéêìíòóôõùúýÀÁÂÃÈÉÊÌÍÒÓÔÕÙÚÝ") | {"\u2212"}


# ---------------------------------------------------------------- VNI
# Modifier glyphs (lower-case font variant; the upper-case variant is the glyph's .upper()).
_VNI_TONE = dict(zip(TONES, "ùøûõï"))          # after a plain vowel, ơ or ư
_VNI_CIRC = dict(zip(("",) + TONES, "âáàåãä"))  # circumflex (+ tone) after a, e, o
_VNI_BREVE = dict(zip(("",) + TONES, "êéèúüë"))  # breve (+ tone) after a
_VNI_I = dict(zip(TONES, "íìæóò"))             # toned i: single glyphs

VNI_DECODE: dict[str, str] = {"ñ": "đ", "Ñ": "Đ", "ô": "ơ", "Ô": "Ơ", "ö": "ư", "Ö": "Ư",
                              "î": "ỵ", "Î": "Ỵ"}
for _tone, _g in _VNI_I.items():
    VNI_DECODE[_g] = unicodedata.normalize("NFC", "i" + _tone)
    VNI_DECODE[_g.upper()] = unicodedata.normalize("NFC", "I" + _tone)
for _tone, _g in _VNI_TONE.items():
    for _base, _glyph in (("a", "a"), ("e", "e"), ("o", "o"), ("u", "u"), ("y", "y"),
                          ("ơ", "ô"), ("ư", "ö")):
        _ch = unicodedata.normalize("NFC", _base + _tone)
        VNI_DECODE[_glyph + _g] = _ch
        VNI_DECODE[_glyph.upper() + _g.upper()] = _ch.upper()
for _table, _bases, _mark in ((_VNI_CIRC, "aeo", "\u0302"), (_VNI_BREVE, "a", "\u0306")):
    for _tone, _g in _table.items():
        for _base in _bases:
            _ch = unicodedata.normalize("NFC", _base + _mark + _tone)
            VNI_DECODE[_base + _g] = _ch
            VNI_DECODE[_base.upper() + _g.upper()] = _ch.upper()

VNI_ENCODE: dict[str, str] = {}
for _glyphs, _ch in sorted(VNI_DECODE.items(), key=lambda kv: len(kv[0])):
    VNI_ENCODE.setdefault(_ch, _glyphs)  # single glyph wins over a pair (ỵ is "î", not "yï")
# Tolerate a modifier typed in the other case ("VIEät"): the base letter decides the case.
for _glyphs, _ch in list(VNI_DECODE.items()):
    if len(_glyphs) == 2:
        _swapped = _glyphs[0] + _glyphs[1].swapcase()
        VNI_DECODE.setdefault(_swapped, _ch)

_VNI_RE = re.compile("|".join(re.escape(k) for k in sorted(VNI_DECODE, key=len, reverse=True)))

#: Glyphs that mark VNI and that no Vietnamese Unicode text contains.
VNI_ONLY = frozenset("øûïöäåëüæñîÑØÛÏÖÄÅËÜÆÎ")


# ---------------------------------------------------------------- codecs
def _latin_glyph(b: int) -> str:
    """How a byte outside the tables shows: cp1252, or Latin-1 for cp1252's five holes."""
    try:
        return bytes([b]).decode("cp1252")
    except UnicodeDecodeError:
        return chr(b)


_GLYPH_OF_BYTE = [_latin_glyph(b) for b in range(256)]
_BYTE_OF_GLYPH = {g: b for b, g in enumerate(_GLYPH_OF_BYTE)}
_TCVN3_BYTE_TABLE = [TCVN3_DECODE.get(b, _GLYPH_OF_BYTE[b]) for b in range(256)]
_TCVN3_TRANS = str.maketrans(TCVN3_GLYPHS)


def glyphs(data: bytes) -> str:
    """Decode *data* the way a Western Windows machine shows it (cp1252, Latin-1 fallback)."""
    return "".join(map(_GLYPH_OF_BYTE.__getitem__, data))


def tcvn3_from_glyphs(text: str) -> str:
    """Replace TCVN3 glyphs (``c¶i c¸ch``) by the letters they stand for (``cải cách``)."""
    return text.translate(_TCVN3_TRANS)


def vni_from_glyphs(text: str) -> str:
    """Replace VNI glyph sequences (``caûi caùch``) by the letters they stand for."""
    return _VNI_RE.sub(lambda m: VNI_DECODE[m.group()], text)


def decode_tcvn3(data: bytes) -> str:
    """TCVN3 bytes -> NFC text. Bytes outside the table keep their cp1252 meaning."""
    return "".join(map(_TCVN3_BYTE_TABLE.__getitem__, data))


def decode_vni(data: bytes) -> str:
    """VNI bytes -> NFC text."""
    return vni_from_glyphs(glyphs(data))


def _to_bytes(text: str, table, errors: str) -> bytes:
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        code = table(ch)
        if code is None:
            if errors == "strict":
                raise UnicodeEncodeError("legacy", ch, 0, 1, f"{ch!r} has no code in this table")
            code = b"?"
        out += code
    return bytes(out)


def encode_tcvn3(text: str, errors: str = "strict") -> bytes:
    """NFC text -> TCVN3 bytes (upper-case toned letters lose their case, as in the standard)."""
    def code(ch: str) -> bytes | None:
        if ch in TCVN3_ENCODE:
            return bytes([TCVN3_ENCODE[ch]])
        b = _BYTE_OF_GLYPH.get(ch)
        # A byte that TCVN3 uses for a letter cannot also carry its cp1252 character.
        return None if b is None or b in TCVN3_DECODE else bytes([b])
    return _to_bytes(text, code, errors)


_VNI_GLYPHS = frozenset(g for k in VNI_DECODE for g in k if ord(g) > 0x7F)


def encode_vni(text: str, errors: str = "strict") -> bytes:
    """NFC text -> VNI bytes."""
    def code(ch: str) -> bytes | None:
        if ch in VNI_ENCODE:
            return bytes(_BYTE_OF_GLYPH[g] for g in VNI_ENCODE[ch])
        b = _BYTE_OF_GLYPH.get(ch)
        # A glyph that VNI uses for a letter or a mark cannot also carry its cp1252 character.
        return None if b is None or ch in _VNI_GLYPHS else bytes([b])
    return _to_bytes(text, code, errors)


#: Every letter each table can write (the round-trip tests draw from these).
TCVN3_REPERTOIRE = frozenset(TCVN3_DECODE.values())
VNI_REPERTOIRE = frozenset(VNI_ENCODE)


# ---------------------------------------------------------------- TCVN3 capitals
_CAPS_TOKEN = re.compile(r"[A-Za-z\u00C0-\u024F\u1E00-\u1EFF]+")
_ASCII_LETTER = re.compile("[A-Za-z]")
_ASCII_LOWER = re.compile("[a-z]")
# A word with capital ASCII letters, no small ones, and some other letter (maybe a small toned one).
_CAPS_HINT = re.compile("[A-Z][^\\x00-\\x7f]|[^\\x00-\\x7f][A-Z]")  # cheap test before the one below
_CAPS_CANDIDATE = re.compile(r"(?<!\w)(?=[^\W\d_a-z]*[A-Z])(?=[^\W\d_a-z]*[^\W\d_A-Za-z])[^\W\d_a-z]+(?!\w)")


def restore_caps(line: str) -> str:
    """TCVN3 has no capital toned letters: in an upper-case heading, upper-case them back.

    A word is upper-cased when its ASCII letters are all capitals and either there are two of
    them (``CéNG``) or most words with two ASCII letters are capitals (``Ký`` in ``§¡NG Ký KINH
    DOANH``, but not ``Bé`` in ``Bé tr−ëng``).
    """
    if not _CAPS_HINT.search(line) or not _CAPS_CANDIDATE.search(line):
        return line
    toks = [t for t in _CAPS_TOKEN.findall(line) if len(_ASCII_LETTER.findall(t)) >= 2]
    heading = bool(toks) and sum(1 for t in toks if not _ASCII_LOWER.search(t)) >= 0.6 * len(toks)

    def fix(m: re.Match) -> str:
        w = m.group()
        return w.upper() if heading or len(_ASCII_LETTER.findall(w)) >= 2 else w
    return _CAPS_CANDIDATE.sub(fix, line)


# ---------------------------------------------------------------- UTF-8 read as cp1252
def _glyph_class(lo: int, hi: int) -> str:
    chars = {_GLYPH_OF_BYTE[b] for b in range(lo, hi + 1)}
    if hi <= 0xBF:
        chars |= {chr(b) for b in range(0x80, 0xA0)}  # the same bytes read as Latin-1 (C1 controls)
    return "[" + re.escape("".join(sorted(chars))) + "]"


_CONT = _glyph_class(0x80, 0xBF)
#: One UTF-8 sequence (lead byte + continuation bytes) as it shows when read as cp1252/Latin-1.
MOJIBAKE_RE = re.compile(
    f"{_glyph_class(0xC2, 0xDF)}{_CONT}|{_glyph_class(0xE0, 0xEF)}{_CONT}{{2}}|{_glyph_class(0xF0, 0xF4)}{_CONT}{{3}}")
_MOJI_BYTE = {**{chr(b): b for b in range(0x80, 0xA0)}, **_BYTE_OF_GLYPH}


def unmojibake(seq: str) -> str | None:
    """The character a :data:`MOJIBAKE_RE` match stood for, or None if it is not plausible text.

    Plausible means what Vietnamese text holds: Latin letters, Vietnamese, punctuation, emoji;
    this keeps real text such as French ``à\u00a0»`` (bytes E0 A0 BB, a Samaritan letter) intact.
    """
    try:
        ch = bytes(_MOJI_BYTE[c] for c in seq).decode("utf-8")
    except (KeyError, UnicodeDecodeError):
        return None
    cp = ord(ch)
    if 0xA0 <= cp <= 0x1B0 or 0x1EA0 <= cp <= 0x1EF9 or 0x2000 <= cp <= 0x22FF or 0x1F300 <= cp <= 0x1FAFF:
        return ch
    return None


# ---------------------------------------------------------------- Vietnamese spelling
INITIALS = frozenset("b c ch d đ g gh gi h k kh l m n ng ngh nh p ph qu r s t th tr v x".split()) | {""}
_FINALS = {  # nucleus -> the finals it takes ("-" = open syllable)
    "a": "- c ch m n ng nh p t i y o u", "ă": "c m n ng p t", "â": "c m n ng p t u y",
    "e": "- c m n ng p t o", "ê": "- ch m n nh p t u", "i": "- ch m n nh p t u a",
    "iê": "c m n ng p t u", "yê": "m n ng t u", "o": "- c m n ng p t i", "oo": "c ng",
    "ô": "- c m n ng p t i", "ơ": "- m n p t i", "u": "- c m n ng p t i a",
    "uô": "c m n ng t i", "ư": "- c m n ng t i u a", "ươ": "c m n ng p t i u", "y": "-",
    "oa": "- c ch m n ng nh p t i y", "oă": "c m n ng t", "oe": "- n t o", "uâ": "n ng t y",
    "uê": "- ch nh", "uy": "- ch n nh p t u a", "uyê": "n t", "uơ": "-",
}
#: rhyme -> possible lengths of its nucleus (the vowel group that carries the tone).
RHYMES: dict[str, set[int]] = {}
for _n, _fs in _FINALS.items():
    for _f in _fs.split():
        RHYMES.setdefault(_n + _f.strip("-"), set()).add(len(_n))
TONE_NAMES = dict(zip(TONES, ("sac", "huyen", "hoi", "nga", "nang")))
_LETTERS = frozenset("abcdeghiklmnopqrstuvxyđăâêôơư")
_FRONT = tuple("eêiy")  # c, ng, g are written k, ngh, gh before these
_Y_ALONE = frozenset(("", "h", "k", "l", "m", "qu", "s", "t", "v"))  # ký, mỹ, quý, but not "đy"
_cache: dict[str, bool] = {}


def is_syllable(word: str) -> bool:
    """True if *word* is spelled like one Vietnamese syllable.

    Lower, Title or UPPER case only (``dÉn`` is a TCVN3 glyph, not a spelling); a valid initial
    and rhyme; one tone, on the nucleus, and only sắc/nặng before c, ch, p, t. Either tone-mark
    style passes. Cached: the vocabulary of a text is small.
    """
    hit = _cache.get(word)
    if hit is None:
        if len(_cache) > 200_000:
            _cache.clear()
        hit = _cache[word] = _check(word)
    return hit


def _check(word: str) -> bool:
    if not (word.islower() or word.isupper() or word[:1].isupper() and word[1:].islower()):
        return False
    low = unicodedata.normalize("NFC", word.lower())
    marks = [(k, t) for k, c in enumerate(low) for t in unicodedata.normalize("NFD", c) if t in TONE_NAMES]
    bare = unicodedata.normalize("NFC", "".join(c for c in unicodedata.normalize("NFD", low) if c not in TONE_NAMES))
    if len(marks) > 1 or len(bare) != len(low) or not set(bare) <= _LETTERS:
        return False
    at, tone = (marks[0][0], TONE_NAMES[marks[0][1]]) if marks else (None, None)
    for cut in (3, 2, 1, 0):
        ini, rhyme, start = bare[:cut], bare[cut:], cut
        if ini not in INITIALS or not rhyme:
            continue
        if ini == "gi" and rhyme[0] == "ê":
            rhyme, start = "i" + rhyme, cut - 1  # giếng = gi + iêng
        front = rhyme.startswith(_FRONT)
        if (ini in ("c", "ng") or ini == "g" and rhyme[0] != "i") and front or ini in ("k", "gh", "ngh") and not front:
            continue
        if rhyme.endswith(("c", "ch", "p", "t")) and tone not in (None, "sac", "nang"):
            continue
        if rhyme == "y" and ini not in _Y_ALONE:
            continue
        if any(at is None or start <= at < start + n for n in RHYMES.get(rhyme, ())):
            return True
    return False


#: Common syllables as typed without diacritics, for spotting unaccented titles.
COMMON_UNACCENTED = frozenset("""
a ai anh ba bai ban bang bao bay ben bi bien binh bo bon bu buu ca cac cach cai cam can canh cao cap cau
chi chinh cho chu chuc chung chuong chuyen co con cong cu cua cuc cung cuoc da dai dan dang danh dao
dat dau day den dia dien dinh do doan doi don dong du dua dung duoc duong gia giai giam giao gio giu hai
han hanh hien hieu hinh ho hoa hoach hoan hoang hoat hoc hoi hon hop huong huyen hy ke khai khac khach
khoa khong khu kiem kien kinh ky lai lam lanh lao le lich lien linh loai luat luc luong ly mat moi mot
muc nam nang ngan nganh ngay nghi nghiep ngoai nguoi nguyen nha nhan nhat nhieu nhu nhung noi nop nuoc
phan phap phat phi phong phu phuc phuong qua quan quang quoc quy quyen sach sinh so su sung tac tai tam
tao tap te thang thanh thao the thi thiet thoi thong thu thuat thuc thuong thuy tich tien tiep tin tinh
to toan tong tra trach trien trinh tro trong truc truong tu tuc tuyen uy uong van ve viec vien viet vu
xa xac xay xet xu xuat yeu
""".split())
#: Those that are also English words: they prove nothing on their own.
ENGLISH_TOO = frozenset("a ban bang be can con do hang he in long man me no so tan tap the tin to van".split())
