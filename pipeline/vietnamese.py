"""Vietnamese text quality: normalisation, legacy encodings, mojibake, tone-mark style.

Pure functions only: nothing here reads files or the clock. The checker (``loa check``) calls
:func:`find_issues`; ``loa check --fix`` calls :func:`fix_text` / :func:`fix_file_bytes`, which
return every change so the caller can show it: nothing is rewritten silently.

Conversions of legacy text (TCVN3, VNI) are accepted only when the result clearly reads as
Vietnamese (vietnam.md §4.3): a syllable model scores each word before and after, and French,
Spanish, German or English text with accented letters is left alone.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from pipeline import legacy_tables as lt
from pipeline.controls import CONTROL, control_chars, each_text, escape_control, strip_control  # noqa: F401 - re-exported
from pipeline.messages_text import MESSAGES  # noqa: F401 - re-exported: the text.* codes

__all__ = [
    "nfc", "fold", "Detection", "detect_bytes", "decode_bytes", "apply_tone_style",
    "tone_styles_used", "looks_unaccented", "TextIssue", "Change", "FixResult", "find_issues",
    "fix_text", "fix_file_bytes", "MESSAGES", "ENCODINGS", "STYLES",
    "CONTROL", "control_chars", "escape_control", "strip_control",
]

ENCODINGS = ("utf-8", "windows-1258", "tcvn3", "vni", "unknown")
STYLES = ("traditional", "modern")
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


# ------------------------------------------------------------------ words
_is_syllable = lt.is_syllable
_TONE_MARKS = lt.TONE_NAMES
# Word-like runs, including the Latin-1 glyphs TCVN3 and VNI letters show as (¸ µ ¶ · ¹ © ...).
_TOKEN = re.compile(r"[A-Za-z\u00A1-\u00AE\u00B5-\u00B9\u00BB-\u00BE\u00C0-\u024F\u0300-\u036F\u1E00-\u1EFF\u2212]+")
_WORD = re.compile(r"[^\W\d_]+")
_ASCII_LETTER = re.compile("[A-Za-z]")
_VN_SPECIFIC = re.compile(r"[ăâđêôơưĂÂĐÊÔƠƯĩũĨŨ\u1EA0-\u1EF9]")
_BEYOND_GLYPHS = re.compile("[^\x00-\xff\u2212]")


# ------------------------------------------------------------------ legacy text inside UTF-8
# TCVN3 shows small toned letters as capitals (ế = Õ): a capital right after a small letter is a sign.
_HAS_TCVN3 = re.compile("[" + re.escape("".join(sorted(lt.TCVN3_ONLY))) + "]|[a-z][\u00C0-\u00DD]")
_HAS_VNI = re.compile("[" + re.escape("".join(sorted(lt.VNI_ONLY))) + "]")
# Vowel + modifier glyph is also how Unicode Vietnamese looks ("hoà", "quá"): a sign only in glyph-only lines.
_VNI_PAIR = re.compile("[aeiouyAEIOUY][ùõâêôáàãéèú]")
_DECISIVE_TCVN3 = re.compile("[\u00A1-\u00AE\u00B5-\u00B9\u00BB-\u00BE\u2212]")
_FJWZ = re.compile("[fjwzFJWZ]")
_CONVERTERS = {"tcvn3": lt.tcvn3_from_glyphs, "vni": lt.vni_from_glyphs}
_CONVERTED: dict[str, dict[str, str]] = {"tcvn3": {}, "vni": {}}  # a text's vocabulary is small


def _trial(line: str, name: str, prior: bool) -> tuple[int, str, list[str]]:
    """Convert *line* with one table; return (net gain, converted line, words changed).

    Net gain counts words that became Vietnamese syllables and were not before, minus those that
    stopped being Vietnamese; it is 0 when the conversion fails the guard (too many such words,
    long or f/j/w/z words) or has too little evidence: two words, or one when *prior* (other lines
    of the same text were this encoding) or when it holds a TCVN3 glyph no language uses as a letter.
    In a line that also holds real Unicode Vietnamese, words that read as Vietnamese either way
    ("Phòng") change only between converted words ("dÞch vô c«ng"), and words the table would
    break ("chính") never change.
    """
    cache = _CONVERTED[name]
    if len(cache) > 100_000:
        cache.clear()
    toks, news, status = list(_TOKEN.finditer(line)), [], []
    for m in toks:
        tok = m.group()
        new = cache.get(tok) or cache.setdefault(tok, _CONVERTERS[name](tok))
        news.append(new)
        if _BEYOND_GLYPHS.search(tok):  # legacy text shows only as cp1252 glyphs: this word is Unicode
            status.append("unicode")
        elif new == tok or not _ASCII_LETTER.search(tok):
            status.append("same")
        elif not _is_syllable(new.lower() if name == "tcvn3" else new):  # TCVN3 has lost the capitals
            status.append("bad")
        else:
            status.append("neutral" if _is_syllable(tok) else "gain")
    gains, bad = status.count("gain"), status.count("bad")
    if not gains + bad + status.count("neutral"):
        return 0, line, []
    mixed = "unicode" in status
    out, pos, changed = [], 0, []
    for k, (m, new, s) in enumerate(zip(toks, news, status)):
        keep = mixed and (s in ("unicode", "bad") or s == "neutral" and _alone(status, k))
        out += (line[pos:m.start()], m.group() if keep else new)
        pos = m.end()
        if new != m.group() and not keep:
            changed.append(m.group())
    converted = "".join(out) + line[pos:]
    words = [w for w in _WORD.findall(converted) if len(w) > 1 and not (w.isascii() and w.isupper())]
    odd = sum(1 for w in words if len(w) > 7 or _FJWZ.search(w))
    foreign = sum(1 for w in words if not _is_syllable(w.lower() if name == "tcvn3" else w))
    if odd > 0.2 * len(words) or foreign > 0.5 * len(words) or gains < 3 * bad:
        return 0, line, changed
    strong = gains >= 2 or gains and (prior or name == "tcvn3" and _DECISIVE_TCVN3.search(line) and len(changed) == 1)
    return (gains - bad if strong else 0), converted, changed


def _alone(status: list[str], k: int) -> bool:
    """In a mixed line, a word that reads as Vietnamese either way changes only beside converted words."""
    near = status[max(k - 1, 0):k] + status[k + 1:k + 2]
    return "gain" not in near or "unicode" in near


def _legacy_line(line: str, prior=frozenset()) -> tuple[str, str, list[str]] | None:
    """If *line* holds TCVN3 or VNI text shown as cp1252 glyphs: (code, converted, words).

    *prior* names the tables already accepted for other lines of the same text.
    """
    trials = {}
    if _HAS_TCVN3.search(line):
        trials["tcvn3"] = _trial(line, "tcvn3", "text.tcvn3" in prior)
    if _HAS_VNI.search(line) or _VNI_PAIR.search(line) and not _BEYOND_GLYPHS.search(line):
        trials["vni"] = _trial(line, "vni", "text.vni" in prior)
    ranked = sorted(trials.items(), key=lambda kv: kv[1][0], reverse=True)
    if not ranked or ranked[0][1][0] <= 0:
        return None
    name, (net, converted, changed) = ranked[0]
    if len(ranked) > 1 and ranked[1][1][0] * 2 > net:
        return None  # no clear winner between the tables: leave the text alone
    return f"text.{name}", lt.restore_caps(converted) if name == "tcvn3" else converted, changed


# ------------------------------------------------------------------ modern mojibake
_A_GRAVE_SPACE = re.compile("Ã[ \u00a0]")  # à = C3 A0, whose NBSP editors often turn into a space


def _mojibake_line(line: str) -> tuple[str, str, list[str]] | None:
    """Repair UTF-8 read as cp1252 in *line*; None unless clearly mojibake.

    Text encoded twice over comes back in two rounds of :func:`_line_fixes`."""
    fixed = [ch for ch in map(lt.unmojibake, lt.MOJIBAKE_RE.findall(line)) if ch]
    if not fixed or (len(fixed) < 2 and not _VN_SPECIFIC.search(fixed[0])):
        return None  # one stray pair like "É…" is more likely real text than mojibake
    out = lt.MOJIBAKE_RE.sub(lambda m: lt.unmojibake(m.group()) or m.group(), line)
    words = [w for w in line.split() if lt.MOJIBAKE_RE.search(w) or "Ã" in w]
    return "text.mojibake", nfc(_A_GRAVE_SPACE.sub("à", out)), words


# ------------------------------------------------------------------ eth
# A word starting with Ð/ð, or an acronym with Ð in it (QÐ-UBND, NÐ-CP, TTÐT).
_ETH = re.compile(r"(?<!\w)(?:[Ðð]\w*|[A-Z]*Ð[A-ZÐ]*(?!\w))")
_NON_LATIN1_VN = re.compile(r"[ăđơưĂĐƠƯĩũĨŨ\u1EA0-\u1EF9]")


def _eth_line(line: str) -> tuple[str, str, list[str]] | None:
    """Ð (U+00D0) / ð used for Đ / đ in Vietnamese: a syllable starting with it, or an upper-case
    acronym in a line with Vietnamese letters. Icelandic never starts a word with ð, and its
    capitals words hold Þ, Á, Ú... so they are not acronyms of A-Z."""
    words: list[str] = []

    def fix(m: re.Match) -> str:
        w = m.group()
        d = w.replace("Ð", "Đ").replace("ð", "đ")
        rest = line[:m.start()] + line[m.end():]
        if (_is_syllable(d) and (_VN_SPECIFIC.search(d[1:]) or _VN_SPECIFIC.search(rest))
                or w.isupper() and len(w) <= 6 and _NON_LATIN1_VN.search(rest)):
            words.append(w)
            return d
        return w
    out = _ETH.sub(fix, line)
    return ("text.eth", out, words) if words else None


# ------------------------------------------------------------------ tone placement
_TONE_WORD = re.compile(r"^([bcdđghklmnprstvx]*)(oa|oe|uy)$")
# Words that may be open oa/oe/uy syllables with a tone: only these are looked at closely.
_TONE_CANDIDATE = re.compile(r"(?<!\w)[bcdđghklmnprstvx]*(?:[oòóỏõọ][aàáảãạeèéẻẽẹ]|[uùúủũụ][yỳýỷỹỵ])(?!\w)", re.I)
_QUOTED = re.compile(r'"(?:[^"\n]|\n(?!\s*\n))*"|“[^”]*”|«[^»]*»')
_STYLE_EXAMPLE = {"traditional": "hòa, thúy, khỏe", "modern": "hoà, thuý, khoẻ"}


def _tone_info(word: str) -> tuple[str, int, int] | None:
    """For an open oa/oe/uy syllable with a tone: (style, index of toned letter, other index)."""
    if len(word) > 6:
        return None
    low = word.lower()
    bare = "".join(c for c in unicodedata.normalize("NFD", low) if c not in _TONE_MARKS)
    m = _TONE_WORD.match(nfc(bare))
    if not m or m.group(1).endswith("q") or len(bare) == len(unicodedata.normalize("NFD", low)):
        return None
    i = len(m.group(1))
    toned = next(k for k, c in enumerate(low) if any(t in unicodedata.normalize("NFD", c) for t in _TONE_MARKS))
    if toned == i:
        return "traditional", i, i + 1
    return ("modern", i + 1, i) if toned == i + 1 else None


def _move_tone(word: str, src: int, dst: int) -> str:
    chars = list(word)
    nfd = unicodedata.normalize("NFD", chars[src])
    tone = next(c for c in nfd if c in _TONE_MARKS)
    chars[src] = nfc(nfd.replace(tone, ""))
    chars[dst] = nfc(chars[dst] + tone)
    return "".join(chars)


def _protected_spans(text: str, protect) -> list[tuple[int, int]]:
    spans = [m.span() for m in _QUOTED.finditer(text)]
    names = set()
    for name in protect:
        name = nfc(name)
        names |= {name, _restyle(name, "traditional"), _restyle(name, "modern")}
    names.discard("")
    if names:
        pat = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, sorted(names, key=len, reverse=True))) + r")(?!\w)",
                         re.IGNORECASE)
        spans += [m.span() for m in pat.finditer(text)]
    return spans


def _restyle(text: str, style: str, spans=()) -> str:
    def fix(m: re.Match) -> str:
        info = _tone_info(m.group())
        if not info or info[0] == style or any(a <= m.start() < b for a, b in spans):
            return m.group()
        return _move_tone(m.group(), info[1], info[2])
    return _TONE_CANDIDATE.sub(fix, text)


def apply_tone_style(text: str, style: str, protect=()) -> str:
    """Put the tone of open oa/oe/uy syllables where *style* wants it.

    ``"traditional"``: hòa, thúy, khỏe, Ủy; ``"modern"`` (QĐ 1989/QĐ-BGDĐT): hoà, thuý, khoẻ, Uỷ.
    Closed syllables (hoàn, thuyền, khoảng) and ``qu`` + y (quý) are the same in both styles and
    never change. Text inside quotation marks ("...", “...”, «...») and the names in *protect*
    (in either placement, any case) are left as written.
    """
    if style not in STYLES:
        raise ValueError(f"tone style must be one of {STYLES}, not {style!r}")
    text = nfc(text)
    return _restyle(text, style, _protected_spans(text, protect))


def _styled_words(text: str, protect=()):
    spans = _protected_spans(text, protect)
    for m in _TONE_CANDIDATE.finditer(text):
        info = _tone_info(m.group())
        if info and not any(a <= m.start() < b for a, b in spans):
            yield m, info[0]


def tone_styles_used(text: str, protect=()) -> dict[str, list[str]]:
    """``{"traditional": [...], "modern": [...]}``: the words written in each style, in order, once.

    Quoted text and protected names are not counted. Both lists non-empty means mixed styles.
    """
    used: dict[str, list[str]] = {s: [] for s in STYLES}
    for m, style in _styled_words(nfc(text), protect):
        if m.group() not in used[style]:
            used[style].append(m.group())
    return used


# ------------------------------------------------------------------ unaccented titles
def looks_unaccented(text: str) -> bool:
    """True if *text* looks like Vietnamese typed without diacritics ("Huong dan dang ky khai sinh").

    Conservative: needs at least three common Vietnamese syllables, two of them not English
    words, making most of the words; acronyms (CCHC, UBND) and numbers are ignored. Any
    Vietnamese diacritic anywhere means the text is accented.
    """
    text = nfc(text)
    if re.search(r"[^\x00-\x7f]", "".join(_WORD.findall(text))):
        return False
    words = [w for w in _WORD.findall(text) if not (w.isupper() and len(w) > 1)]
    vn = [w.lower() for w in words if w.lower() in lt.COMMON_UNACCENTED]
    distinct = [w for w in vn if w not in lt.ENGLISH_TOO]
    return len(vn) >= 3 and len(distinct) >= 2 and len(vn) >= 0.7 * len(words)


# ------------------------------------------------------------------ bytes
@dataclass(frozen=True)
class Detection:
    """What :func:`detect_bytes` found: ``encoding`` (one of ENCODINGS), 0..1 ``confidence``, ``reason``."""

    encoding: str
    confidence: float
    reason: str


_BYTE_DECODERS = {
    "windows-1258": lambda d: nfc(d.decode("cp1258", errors="replace")),
    "tcvn3": lambda d: lt.decode_tcvn3(d),
    "vni": lambda d: nfc(lt.decode_vni(d)),
}


def detect_bytes(data: bytes) -> Detection:
    """Guess the encoding of a text file: UTF-8, or one of the 8-bit Vietnamese encodings.

    Non-UTF-8 data is decoded with each candidate and the words holding non-ASCII letters are
    scored with the syllable model; the best must beat the runner-up clearly.
    """
    try:
        data.decode("utf-8")
        return Detection("utf-8", 1.0, "valid UTF-8")
    except UnicodeDecodeError:
        pass
    sample = data[:65_536]  # enough words to decide; keeps detection fast
    nets = {}
    for name, decode in _BYTE_DECODERS.items():
        words = [w.lower() for w in _TOKEN.findall(decode(sample)) if not w.isascii()]
        good = sum(map(_is_syllable, words))
        nets[name] = (2 * good - len(words), good, len(words))
    ranked = sorted(nets.items(), key=lambda kv: kv[1][0], reverse=True)
    (best, (net, good, total)), runner_up = ranked[0], ranked[1][1][0]
    if net <= 0 or good < 2:
        return Detection("unknown", 0.0, "not UTF-8, and no Vietnamese encoding gives Vietnamese words")
    if runner_up > 0 and net < 2 * runner_up:
        return Detection("unknown", 0.3, f"not UTF-8; {best} and {ranked[1][0]} read about equally well")
    confidence = round(good / total * (1 - max(runner_up, 0) / net), 2)
    return Detection(best, confidence, f"not UTF-8; as {best}, {good} of {total} accented words are Vietnamese")


# One well-formed UTF-8 sequence of two to four bytes (RFC 3629).
_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
                            rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
                            rb"|\xf4[\x80-\x8f][\x80-\xbf]{2}")


@dataclass(frozen=True)
class Mixed:
    """A UTF-8 file with passages in an old encoding pasted into it (:func:`detect_mixed`)."""

    bad_bytes: int
    lines: list[int]  # 1-based lines holding bytes that are not UTF-8
    encoding: str  # what those lines' other bytes look like (one of ENCODINGS)


def detect_mixed(data: bytes) -> Mixed | None:
    """For a file that is UTF-8 but for some bytes (more well-formed non-ASCII letters than bad
    bytes): the bad bytes, their lines, and the encoding those lines look like once their UTF-8 is
    taken out. ``None`` when the file is valid UTF-8 or in an old encoding as a whole."""
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    good = sum(1 for ch in text if ch > "\x7f") - bad
    if not bad or good <= bad:
        return None
    lines, rest = [], []
    for number, raw in enumerate(data.split(b"\n"), 1):
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            lines.append(number)
            rest.append(_UTF8_SEQUENCE.sub(b" ", raw))
    return Mixed(bad, lines, detect_bytes(b"\n".join(rest)).encoding)


def decode_mixed(data: bytes, encoding: str) -> str:
    """A :func:`detect_mixed` file as text: well-formed UTF-8 multi-byte sequences as UTF-8, every
    run of other bytes in ``encoding`` (both read ASCII as ASCII); lines that are UTF-8 untouched."""
    decode = _BYTE_DECODERS[encoding]
    out = []
    for raw in data.split(b"\n"):
        try:
            out.append(raw.decode("utf-8"))
            continue
        except UnicodeDecodeError:
            pass
        parts, pos = [], 0
        for m in _UTF8_SEQUENCE.finditer(raw):
            if m.start() > pos:
                parts.append(decode(raw[pos:m.start()]))
            parts.append(m.group().decode("utf-8"))
            pos = m.end()
        parts.append(decode(raw[pos:]))
        out.append("".join(parts))
    return nfc("\n".join(out))


def decode_bytes(data: bytes, encoding: str) -> str:
    """Decode *data* from *encoding* (one of ENCODINGS but "unknown") to NFC text."""
    if encoding == "utf-8":
        return nfc(data.decode("utf-8-sig"))
    if encoding not in _BYTE_DECODERS:
        raise ValueError(f"cannot decode {encoding!r}: expected one of {ENCODINGS[:-1]}")
    text = _BYTE_DECODERS[encoding](data)
    if encoding == "tcvn3":
        text = "\n".join(map(lt.restore_caps, text.split("\n")))
    return text


# ------------------------------------------------------------------ issues and fixes
@dataclass(frozen=True)
class TextIssue:
    """One text-quality finding. ``line``/``col`` are 1-based; ``words`` are the words concerned
    (as written, for the message); ``fixable`` says whether ``loa check --fix`` repairs it;
    ``style`` is the expected tone style for ``text.tone-mixed``."""

    line: int
    col: int
    code: str
    words: tuple[str, ...]
    fixable: bool
    style: str | None = None

    @property
    def args(self) -> dict[str, str]:
        """The named fields of ``MESSAGES[code]``: ``words`` and, for tone issues, ``style``."""
        shown = ", ".join(self.words[:8]) + (", …" if len(self.words) > 8 else "")
        return {"words": shown, "style": _STYLE_EXAMPLE.get(self.style or "", "")}


@dataclass(frozen=True)
class Change:
    """One rewrite made by :func:`fix_text`: on ``line``, ``before`` became ``after`` (words, not the whole line)."""

    line: int
    code: str
    before: str
    after: str


@dataclass(frozen=True)
class FixResult:
    """What :func:`fix_file_bytes` produced: the NFC ``text`` to write back as UTF-8 (None if the
    encoding was not recognised), the encoding the bytes were in, every change made after decoding."""

    text: str | None
    encoding_found: str
    changes: list[Change] = field(default_factory=list)


def _line_fixes(line: str, prior=frozenset()):
    """Yield (code, before, after, words) for each repair of one line, in the order applied."""
    if line.isascii():
        return
    fixed = nfc(line)
    if fixed != line:
        yield "text.not-nfc", line, fixed, [w for w in line.split() if not unicodedata.is_normalized("NFC", w)]
        line = fixed
    # Until nothing changes (at most three rounds): one repair can expose another (a line holding
    # both TCVN3 and VNI; "Ðảm" spoiling a conversion; a conversion leaving "Âº"), and a second
    # fix_text must find nothing more. Eth goes first so "Ðảm" does not count against a table.
    for _ in range(3):
        repaired = False
        for step in (_mojibake_line, _eth_line, _legacy_line):
            found = _legacy_line(line, prior) if step is _legacy_line else step(line)
            if found:
                code, after, words = found
                yield code, line, after, words
                line, repaired = after, True
        if not repaired:
            return


def _repair(text: str, tone_style: str | None, protect):
    """Repair every line, then restyle tones if asked.

    Returns (text before the tone pass, final text, [(line index, code, before, after, words)]).
    """
    lines = text.split("\n")
    records = []

    def run(i: int, prior=frozenset()) -> None:
        for code, before, after, words in _line_fixes(lines[i], prior):
            records.append((i, code, before, after, words))
            lines[i] = after
    for i in range(len(lines)):
        run(i)
    # A short line ("lµ Bé") proves little alone; among lines already found TCVN3 it is TCVN3 too.
    prior = frozenset(r[1] for r in records if r[1] in ("text.tcvn3", "text.vni"))
    if prior:
        done = {r[0] for r in records if r[1] in prior}
        for i in range(len(lines)):
            if i not in done:
                run(i, prior)
        records.sort(key=lambda r: r[0])
    if tone_style is not None:
        # Restyling can change what a line's legacy check weighs ("hòa" -> "hoà" beside
        # "§¡NG Ký"): a line that restyling makes convertible is converted now, so that a second
        # fix_text finds nothing more.
        for _ in range(2):
            relines = apply_tone_style("\n".join(lines), tone_style, protect).split("\n")
            exposed = [i for i, (old, new) in enumerate(zip(lines, relines))
                       if old != new and next(_line_fixes(new, prior), None) is not None]
            if not exposed:
                break
            for i in exposed:
                words = [a for a, b in zip(_WORD.findall(lines[i]), _WORD.findall(relines[i])) if a != b]
                records.append((i, "text.tone-mixed", lines[i], relines[i], words))
                lines[i] = relines[i]
                run(i, prior)
            records.sort(key=lambda r: r[0])
    repaired = "\n".join(lines)
    if tone_style is None:
        return repaired, repaired, records
    restyled = apply_tone_style(repaired, tone_style, protect)
    for i, (old, new) in enumerate(zip(lines, restyled.split("\n"))):
        if old != new:
            words = [a for a, b in zip(_WORD.findall(old), _WORD.findall(new)) if a != b]
            records.append((i, "text.tone-mixed", old, new, words))
    return repaired, restyled, sorted(records, key=lambda r: r[0])


def find_issues(text: str, *, tone_style: str | None = None, protect=(), first_line: int = 1) -> list[TextIssue]:
    """Every text-quality issue in *text* (a title, a summary or a Markdown body).

    Codes: ``text.not-nfc``, ``text.tcvn3``, ``text.vni``, ``text.mojibake``, ``text.eth``
    (all fixable) and ``text.tone-mixed``: with *tone_style* set, the words placed otherwise
    (fixable); without it, the minority style's words when both styles occur (not fixable:
    choose a style in the configuration). Line numbers start at *first_line*.
    """
    repaired, _, records = _repair(text, tone_style, protect)
    issues = []
    for i, code, before, after, words in records:
        col = next((k for k, (a, b) in enumerate(zip(before, after)) if a != b), 0) + 1
        style = tone_style if code == "text.tone-mixed" else None
        issues.append(TextIssue(first_line + i, col, code, tuple(words), True, style))
    used = {s: [m for m, st in _styled_words(repaired, protect) if st == s] for s in STYLES}
    if tone_style is None and all(used.values()):
        # The majority sets the expected style; a tie goes to the style of the official formulas.
        expected = max(STYLES, key=lambda s: (len(used[s]), s == "traditional"))
        by_line: dict[int, list[re.Match]] = {}
        for m in used["modern" if expected == "traditional" else "traditional"]:
            by_line.setdefault(repaired.count("\n", 0, m.start()), []).append(m)
        for i, ms in by_line.items():
            col = ms[0].start() - repaired.rfind("\n", 0, ms[0].start())
            issues.append(TextIssue(first_line + i, col, "text.tone-mixed", tuple(m.group() for m in ms), False, expected))
    return sorted(issues, key=lambda x: (x.line, x.col))


_CHUNKS = re.compile(r"(\s+)")


def _diff(before: str, after: str) -> list[tuple[str, str]]:
    """The changed stretches between two versions of a line, as whole space-separated words.

    Repairs keep the spaces, so words pair up by position; stretches separated by nothing but
    spaces are joined ("c¶i c¸ch" as one). Otherwise (a lost NBSP) the whole changed middle."""
    a, b = _CHUNKS.split(before), _CHUNKS.split(after)
    if len(a) != len(b):
        n, lo, hi = min(len(a), len(b)), 0, 0
        while lo < n and a[lo] == b[lo]:
            lo += 1
        while hi < n - lo and a[-1 - hi] == b[-1 - hi]:
            hi += 1
        return [("".join(a[lo:len(a) - hi]), "".join(b[lo:len(b) - hi]))]
    out: list[list[int]] = []
    for k, (x, y) in enumerate(zip(a, b)):
        if x != y:
            if out and out[-1][1] >= k - 2:
                out[-1][1] = k + 1
            else:
                out.append([k, k + 1])
    return [("".join(a[i:j]), "".join(b[i:j])) for i, j in out]


def fix_text(text: str, *, tone_style: str | None = None, protect=(), first_line: int = 1) -> tuple[str, list[Change]]:
    """Repair *text*; return it with the list of changes (one per changed stretch of a line).

    Applies, per line: NFC, mojibake repair, TCVN3/VNI conversion, Ð -> Đ; then, if
    *tone_style* is given, :func:`apply_tone_style` (quotations and *protect* untouched).
    Running it again on its output changes nothing.
    """
    _, fixed, records = _repair(text, tone_style, protect)
    changes = []
    for i, code, before, after, _ in records:
        pieces = _diff(before, after) or [(before, after)]
        changes += [Change(first_line + i, code, b, a) for b, a in pieces]
    return fixed, changes


def _shown(raw: bytes) -> str:
    """A line as it looks in an editor that reads it as UTF-8: bad bytes as �."""
    return raw.decode("utf-8", errors="replace")


def fix_file_bytes(data: bytes, *, tone_style: str | None = None, protect=()) -> FixResult:
    """``loa check --fix`` for one file: decode it (UTF-8, windows-1258, TCVN3 or VNI) to NFC,
    then :func:`fix_text`.

    When the encoding is not recognised, ``encoding_found`` is ``"unknown"`` and ``text`` is
    None: the caller reports ``text.not-utf8`` and leaves the file alone, because a guess
    would rewrite it with wrong letters.
    """
    found = detect_bytes(data)
    if found.encoding == "unknown":
        mixed = detect_mixed(data)
        if mixed is None or mixed.encoding not in _BYTE_DECODERS:
            return FixResult(None, "unknown", [])
        text = decode_mixed(data, mixed.encoding)  # a passage pasted in an old encoding
        lines = text.split("\n")
        pasted = [Change(n, f"text.{mixed.encoding}", _shown(data.split(b"\n")[n - 1]), lines[n - 1])
                  for n in mixed.lines]
        fixed, changes = fix_text(text, tone_style=tone_style, protect=protect)
        return FixResult(fixed, f"utf-8 + {mixed.encoding}", pasted + changes)
    text = decode_bytes(data, found.encoding)
    fixed, changes = fix_text(text, tone_style=tone_style, protect=protect)
    return FixResult(fixed, found.encoding, changes)
