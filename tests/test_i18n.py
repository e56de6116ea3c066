"""Vietnamese everywhere a staff member looks (issue 17): every word the ``loa`` command shows comes
from the one catalogue (pipeline/messages.py with pipeline/messages_cli.py), in Vietnamese by
default and English with ``--lang en``.

Three nets: a static scan of the front ends that fails on a user-facing string literal that is not
a catalogue lookup; the rendered ``--help`` of every verb in both languages; and the catalogue
itself (both languages, the same placeholders, argparse's own words covered).
"""

from __future__ import annotations

import argparse
import ast
import inspect
import re
import string
from pathlib import Path

import pytest

from pipeline.cli import build_parser, main
from pipeline.commands.parser import ARGPARSE_WORDS, language
from pipeline.messages import CATALOGUE, text
from tests.repo import make_repo

ROOT = Path(__file__).resolve().parent.parent

#: The files whose strings reach a staff member's terminal, and the calls that show a string.
SCANNED = sorted([ROOT / "pipeline/cli.py", ROOT / "pipeline/__main__.py", ROOT / "pipeline/status.py",
                  ROOT / "pipeline/preview.py", ROOT / "pipeline/doctor.py", *(ROOT / "pipeline/commands").glob("*.py")])
SINKS = {"print", "write", "emit", "error", "exit"}
#: status.py builds its text as a list of lines: there, appending a line is showing it.
EXTRA_SINKS = {"status.py": {"append", "extend"}}
#: Keywords of argparse calls whose value is shown in --help: a catalogue code or argparse.SUPPRESS.
HELP_KEYWORDS = {"help", "description", "epilog", "title", "metavar", "usage"}
#: Calls whose string arguments are catalogue codes, not words (their words come from the catalogue).
LOOKUPS = {"msg", "text", "localized", "words", "reason_text", "Detail"}

#: Strings with letters that are not language: the program's name before a message, a code in
#: brackets, a command to type (loa, its verbs and --options, placeholders in capitals).
NOT_LANGUAGE = [
    re.compile(r"^\s*loa:\s*$"),
    re.compile(r"^\s*\[[a-z0-9_.-]+\]\s*$"),
    re.compile(r"^[^\s]*[./][^\s]*$"),  # a file name or a dotted code: config.toml, content/
]
COMMAND_WORDS = {"loa", "URL"}

#: Temporary exceptions, each naming the file and why (issue 17). Keep it short; empty is the goal.
ALLOWED: dict[str, set[str]] = {}


def _verbs() -> set[str]:
    from pipeline.commands.base import VERBS

    build_parser("en")
    return set(VERBS)


def _is_language(literal: str, verbs: set[str]) -> bool:
    """Whether ``literal`` holds words a person reads (not a separator, format, code or command)."""
    if any(p.match(literal) for p in NOT_LANGUAGE):
        return False
    stripped = re.sub(r"--?[a-z][a-z-]*", " ", literal)  # options of a command line
    words = re.findall(r"[^\W\d_]{2,}", stripped)
    return any(w not in COMMAND_WORDS and w not in verbs for w in words)


def _literals(node: ast.AST):
    """The string literals a person would read in an expression: plain strings and the literal
    parts of f-strings, but not format specs, subscripts (``x['title']``) or catalogue lookups."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node
    elif isinstance(node, ast.JoinedStr):
        for part in node.values:
            if isinstance(part, ast.Constant):
                yield part
            elif isinstance(part, ast.FormattedValue):
                yield from _literals(part.value)
    elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice) and \
            isinstance(node.value, (ast.Constant, ast.JoinedStr)):  # f"words: {exc}"[:300]: the words, cut
        yield from _literals(node.value)
    elif isinstance(node, (ast.Subscript, ast.Compare)):  # x['title'], `code in CATALOGUE`: never shown
        return
    elif isinstance(node, ast.Dict):  # data (JSON), not a line: its keys are field names
        for value in node.values:
            yield from _literals(value)
    elif isinstance(node, ast.Call):
        name = _call_name(node)
        if name in ("get", "getattr"):  # a dict's .get("key"), getattr(exc, "strerror"): names, not words
            return
        if name in LOOKUPS:  # a catalogue lookup: its code is not words, but the values it is given may be
            for arg in [*node.args[2:], *(k.value for k in node.keywords)]:
                yield from _literals(arg)
            return
        if name == "format" and isinstance(node.func, ast.Attribute):  # "words {0}".format(x)
            yield from _literals(node.func.value)
        if name == "join" and isinstance(node.func, ast.Attribute):  # ", ".join(x): the separator
            for arg in node.args:
                yield from _literals(arg)
            return
        for arg in [*node.args, *(k.value for k in node.keywords)]:
            yield from _literals(arg)
    else:
        for child in ast.iter_child_nodes(node):
            yield from _literals(child)


def _call_name(node: ast.Call) -> str:
    f = node.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""


def bypasses(source: str, filename: str = "<sample>", verbs: set[str] | None = None) -> list[str]:
    """``line: text`` of every user-facing string in ``source`` that bypasses the catalogue."""
    verbs = _verbs() if verbs is None else verbs
    sinks = SINKS | EXTRA_SINKS.get(Path(filename).name, set())
    found = []

    def flag(node, why):
        found.append(f"{filename}:{node.lineno}: {why}: {ast.unparse(node)[:90]}")

    def code_or_suppress(value) -> bool:
        if isinstance(value, ast.Constant):
            return value.value is None or (isinstance(value.value, str) and value.value in CATALOGUE)
        return isinstance(value, ast.Attribute) and value.attr == "SUPPRESS"

    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            name = _call_name(node)
            if name == "verb" and len(node.args) >= 2 and not code_or_suppress(node.args[1]):
                flag(node.args[1], "verb help is not a catalogue code")
            for k in node.keywords:
                if k.arg in HELP_KEYWORDS and not code_or_suppress(k.value) and _has_words(k.value, verbs):
                    flag(k.value, f"{k.arg}= is not a catalogue code")
            if name in sinks:
                for arg in node.args:
                    for lit in _literals(arg):
                        if _is_language(lit.value, verbs):
                            flag(lit, f"{name}() shows words not from the catalogue")
        elif isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and _call_name(node.exc).endswith("Error"):
            for arg in node.exc.args[:1]:
                for lit in _literals(arg):
                    if _is_language(lit.value, verbs):
                        flag(lit, "error message not from the catalogue")
        elif isinstance(node, ast.Compare) and _inline_translation(node):
            flag(node, "inline translation (if lang == ...) instead of a catalogue code")
        elif isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Attribute) and t.attr in HELP_KEYWORDS and not code_or_suppress(node.value) \
                        and _has_words(node.value, verbs):
                    flag(node.value, f".{t.attr} is not a catalogue code")
    return found


def _inline_translation(node: ast.Compare) -> bool:
    """``lang == "en"`` / ``lang != "vi"``: two texts chosen in the code, not in the catalogue."""
    sides = [node.left, *node.comparators]
    names = [ast.unparse(x) for x in sides if isinstance(x, (ast.Name, ast.Attribute))]
    langs = [x.value for x in sides if isinstance(x, ast.Constant)]
    return any(isinstance(op, (ast.Eq, ast.NotEq)) for op in node.ops) and any("lang" in n for n in names) \
        and any(v in ("vi", "en") for v in langs)


def _has_words(node: ast.AST, verbs: set[str]) -> bool:
    return any(_is_language(lit.value, verbs) for lit in _literals(node))


# -- the static scan ----------------------------------------------------------------------------

@pytest.mark.parametrize("path", SCANNED, ids=lambda p: p.name)
def test_no_user_facing_string_bypasses_the_catalogue(path):
    found = bypasses(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    allowed = ALLOWED.get(path.name, set())
    left = [f for f in found if not any(a in f for a in allowed)]
    assert not left, "user-facing strings outside pipeline/messages*.py:\n" + "\n".join(left)


SAMPLE_BYPASSING = '''
@verb("zap", "zap every post")
def zap(args):
    print(f"zapped {n} posts")
    print("loa: " + msg("retry.count", lang, count=1))
    raise UsageError(f"no such thing: {args.x}")
    print(msg("pause.done", lang, channel=args.channel or "every channel", reason=r))
def _conf(sp):
    sp.add_argument("--force", help="do it anyway")
    sp.epilog = "exit codes: 0 fine"
    parser.error("bad usage")
    hello = "Xin chào" if lang == "vi" else "Hello"
'''

SAMPLE_CLEAN = '''
@verb("zap", "help.retry")
def zap(args):
    print(msg("retry.count", lang, count=n))
    print(f"{x['published']:16}  {x['channel']:9} {x['title'][:60]}  {x['url']}")
    print(f"  {localized(m, lang)}")
    print(msg("config.warning", lang, path=p, key=k, detail=d) + " [config.warning]", file=sys.stderr)
    print(f"{w.post.relpath}\\t{', '.join(w.channels)}")
    out.append(f"      loa resolve {x['post']} {x['channel']} --published URL | --not-published")
    raise UsageError(msg("resolve.exactly-one", lang))
def _conf(sp):
    sp.add_argument("--force", help="help.opt.by")
    sp.add_argument("--lang", default=argparse.SUPPRESS, help="help.opt.lang")
    sp.epilog = "help.publish.epilog"
'''


def test_the_scan_fails_on_each_kind_of_bypass_and_passes_clean_code():
    found = bypasses(SAMPLE_BYPASSING, verbs={"zap"})
    kinds = {f.split(": ", 2)[1] for f in found}
    assert kinds == set([
        "verb help is not a catalogue code", "print() shows words not from the catalogue",
        "error message not from the catalogue", "help= is not a catalogue code", ".epilog is not a catalogue code",
        "error() shows words not from the catalogue", "inline translation (if lang == ...) instead of a catalogue code"]), found
    assert not any("loa: " in f or "retry.count" in f for f in found)  # a lookup and the program's name pass
    assert any("'every channel'" in f for f in found)  # words given to a lookup are still words
    assert bypasses(SAMPLE_CLEAN.replace("out.append", "print"), verbs={"zap", "resolve"}) == []


# -- the publishers' errors: what loa publish, loa status and loa channels check show ---------------

PUBLISHERS = sorted([*(ROOT / "publishers").glob("*.py"), *(ROOT / "publishers/speech").glob("*.py")])
#: Outside the publishers, the code whose errors a staff member reads the same way: why a post cannot
#: be rendered (loa check, loa publish, the preview), what the engine records of an item, loa doctor.
ERROR_SOURCES = PUBLISHERS + [ROOT / "pipeline/render.py", ROOT / "pipeline/publish.py",
                              ROOT / "pipeline/doctor.py", ROOT / "pipeline/report/text.py"]
#: The calls whose arguments become an error a staff member reads, and how many leading arguments
#: are not words (a channel, a post id; raise_for's error class first). Any other ``*PublishError``
#: counts as the first ones.
ERROR_CALLS = {"PublisherAuthError": 2, "RenderError": 2, "raise_for": 3, "_held": 1, "refuse": 0, "StoreProblem": 0}
#: Their keywords that are not words for people (the vendor's own words are quoted as said).
NOT_WORDS = {"vendor_message", "code", "status", "retry_after", "maybe_sent", "holds_channel", "throttle"}
#: WordPress's REST client is told what Loa asks ("WordPress refused to <what>"): the argument's
#: index. A fixed phrase is a catalogue entry (wordpress.do.<phrase>); a built one must be a Detail.
WHAT_CALLS = {"call": 2, "json": 1, "category": 1}
#: Variables that hold an error's words before it is raised; also a call's keyword (the ledger's
#: ``mark_in_doubt(reason=...)``) and a key of the arguments a message is given (``{"reason": ...}``).
ERROR_VARIABLES = {"reason", "hint", "why"}
#: Functions whose answer is why something cannot be used (the static site's ``manifest_problem``).
PROBLEM_FUNCTIONS = re.compile(r"_problem$")
#: Names that read the same in every language.
VENDORS = {"Facebook", "Telegram", "Zalo", "Mastodon", "WordPress", "FPT"}


def error_bypasses(source: str, filename: str = "<sample>") -> list[str]:
    """``file:line: text`` of every error words in a publisher's ``source`` that bypass the catalogue."""
    found = []

    def check(node) -> None:
        for lit in _literals(node):
            if _is_language(lit.value, VENDORS) and f"wordpress.do.{lit.value}" not in CATALOGUE:
                found.append(f"{filename}:{lit.lineno}: error words not from the catalogue: {lit.value[:90]!r}")

    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _call_name(node)
            skip = ERROR_CALLS.get(name, 2 if name.endswith("PublishError") else None)
            if skip is not None:
                for arg in [*node.args[skip:], *(k.value for k in node.keywords if k.arg not in NOT_WORDS)]:
                    check(arg)
            elif name in WHAT_CALLS and len(node.args) > WHAT_CALLS[name]:
                check(node.args[WHAT_CALLS[name]])
            elif name not in LOOKUPS:
                for k in node.keywords:
                    if k.arg in ERROR_VARIABLES:
                        check(k.value)
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                if isinstance(key, ast.Constant) and key.value in ERROR_VARIABLES:
                    check(value)
        elif isinstance(node, ast.FunctionDef) and PROBLEM_FUNCTIONS.search(node.name):
            for ret in ast.walk(node):
                if isinstance(ret, ast.Return) and ret.value is not None:
                    check(ret.value)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                pairs = zip(target.elts, node.value.elts) if isinstance(target, ast.Tuple) and \
                    isinstance(node.value, ast.Tuple) else [(target, node.value)]
                for name, value in pairs:  # words written out, not what a call returns (getattr(e, "reason"))
                    if isinstance(name, ast.Name) and name.id in ERROR_VARIABLES and \
                            isinstance(value, (ast.Constant, ast.JoinedStr, ast.BinOp, ast.IfExp)):
                        check(value)
    return found


@pytest.mark.parametrize("path", ERROR_SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_publisher_error_bypasses_the_catalogue(path):
    found = error_bypasses(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    assert not found, "error words outside pipeline/messages*.py:\n" + "\n".join(found)


#: What the publishers said in English whatever the reader's language, before issue 17's last part.
PUBLISHER_BYPASSING = '''
raise PermanentPublishError(self.name, rendering.post_id, "a caption post has no image",
                            hint="this is a rendering bug: report it")
raise PermanentPublishError(self.name, r.post_id, f"cannot read the image {r.image_path}: {exc.strerror}")
refuse("a Zalo article needs a cover image and this post has none", "add an image to the post")
until, why = _next_month(now), f"{len(month)} of {per_month} this month"
raise TransientPublishError(self.name, post_id, f"Zalo's broadcast quota is spent ({why}); wait", code="quota")
raise PermanentPublishError(self.name, rendering.post_id, f"the post was published as {kind} and is now {now}")
resp = self.rest.call("POST", "/wp/v2/media", f"upload the image {path.name}", rendering.post_id)
raise self._held(post_id, f"{rel} leads outside the site folder {self.out}", "remove the link, then loa retry")
http.raise_for(cls, "fpt", None, f"FPT.AI answered HTTP {resp.status_code}", vendor_message=resp.text[:300])
raise RenderError(post.id, channel_name, f"template not found: {exc.name}") from None
raise RenderError(post.id, channel_name, f"markdown: {type(exc).__name__}: {exc}"[:300]) from None
ledger.mark_in_doubt(post_id, channel.name, owner=self.owner, reason=f"the result of a send was lost", now=now)
raise StoreProblem(f"line {n} of {JOURNAL} is not JSON") from None
return Finding("git", FIX, "doctor.git-unreachable", {"url": url, "reason": f"no answer within {timeout:g} s"})
def _entry_problem(pid, a):
    return "article has no page path"
'''

PUBLISHER_CLEAN = '''
raise PermanentPublishError(self.name, rendering.post_id, Detail("publish.caption-no-image"),
                            hint=Detail("publish.rendering-bug"), vendor_message="the vendor's words")
raise PermanentPublishError("espeak-ng", None, Detail("speech.espeak-failed", detail=out.stderr.decode()[:300]))
raise_for(cls, self.name, post_id, Detail("vendor.http-no-body", vendor="Facebook", status=resp.status_code))
until, why = _next_month(now), Detail("zalo.quota-month", count=len(month), limit=per_month)
resp = self.rest.call("GET", "/wp/v2/posts", "look articles up by their slugs", params={"slug": "a,b"})
self.refuse(resp, "answer the REST index", post_id)
raise NotImplementedError(f"{self.type} cannot look items up")
raise RenderError(post.id, channel_name, Detail("render.template-missing", name=exc.name)) from None
ledger.mark_in_doubt(post_id, channel.name, owner=self.owner, reason=error_text(exc), now=now)
return Finding("git", FIX, "doctor.git-unreachable", {"url": url, "reason": Detail("doctor.git-timeout", seconds=s)})
def manifest_problem(manifest):
    return Detail("site.store.no-articles")
'''


def test_the_publisher_scan_fails_on_each_english_error_and_passes_catalogue_ones():
    found = error_bypasses(PUBLISHER_BYPASSING)
    lines = {int(f.split(":")[1]) for f in found}
    assert lines == set(range(2, 17)) | {18}, found  # every statement, and the hint on the line after the first
    assert any("'this is a rendering bug: report it'" in f for f in found)  # a hint, too
    assert error_bypasses(PUBLISHER_CLEAN) == []


# -- --help, rendered -----------------------------------------------------------------------------

#: English words that never belong in a Vietnamese help screen (commands, options, file names and
#: config keys are removed first: they are typed as they are).
ENGLISH = {"the", "and", "of", "with", "default", "only", "this", "from", "usage", "options", "arguments",
           "show", "exit", "when", "each", "every", "what", "which", "is", "are", "for",
           "post", "posts", "channel", "write", "run", "check", "send", "file", "folder"}
VIETNAMESE = re.compile(r"[àáạảãâầấậẩẫăằắặẳẵèéẹẻẽêềếệểễìíịỉĩòóọỏõôồốộổỗơờớợởỡùúụủũưừứựửữỳýỵỷỹđ]", re.I)


def _helps(lang: str) -> dict[str, str]:
    parser = build_parser(lang)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {"loa": parser.format_help(), **{name: p.format_help() for name, p in sub.choices.items()}}


def _english_words(help_text: str, verbs: set[str]) -> set[str]:
    typed = re.sub(r"`[^`]*`|--?[a-z][\w-]*|\{[^}]*\}|\S*[/._<>|]\S*|\bloa \w+", " ", help_text)
    return {w for w in re.findall(r"[^\W\d_]+", typed) if w.lower() in ENGLISH and w not in verbs}


def test_every_help_screen_is_vietnamese_by_default():
    verbs = _verbs()
    bad = {name: sorted(_english_words(h, verbs)) for name, h in _helps("vi").items()}
    bad = {k: v for k, v in bad.items() if v}
    assert not bad, f"English words in Vietnamese --help: {bad}"
    assert _english_words("  --dry-run  show what would be sent (default: all of content/)", verbs) == {"show", "what", "default", "of"}
    helps = _helps("vi")
    assert all(h.startswith("cách dùng: loa") and "tùy chọn:" in h and "in trợ giúp này rồi thoát" in h
               for h in helps.values())


def test_every_help_screen_is_english_with_lang_en():
    helps = _helps("en")
    vietnamese = {name: VIETNAMESE.findall(h) for name, h in helps.items() if VIETNAMESE.search(h)}
    assert not vietnamese, f"Vietnamese letters in English --help: {vietnamese}"
    assert all(h.startswith("usage: loa") and "options:" in h and "show this help message and exit" in h
               for h in helps.values())


def test_the_language_is_known_before_argparse_builds_help(capsys, monkeypatch):
    monkeypatch.delenv("LOA_LANG", raising=False)
    assert language(["publish", "--help"]) == "vi"
    assert language(["--lang", "en", "publish", "--help"]) == "en"
    assert language(["publish", "--lang=en", "--lang", "vi"]) == "vi"  # the last one wins, as in argparse
    assert language(["--", "--lang", "en"]) == "vi"
    assert language(["--lang", "fr"], {"LOA_LANG": "en"}) == "en"
    assert language([], {"LOA_LANG": "xx"}) == "vi"
    for argv, expected in ((["publish", "--help"], "cách dùng: loa publish"),
                           (["publish", "--lang", "en", "--help"], "usage: loa publish")):
        with pytest.raises(SystemExit) as ei:
            main(argv)
        assert ei.value.code == 0 and capsys.readouterr().out.startswith(expected)
    monkeypatch.setenv("LOA_LANG", "en")
    with pytest.raises(SystemExit):
        main(["retract", "--help"])
    assert "mark a post retracted" in capsys.readouterr().out


@pytest.mark.parametrize("argv, vi, en", [
    (["pause"], "loa pause: lỗi: thiếu các tham số bắt buộc: --reason",
     "loa pause: error: the following arguments are required: --reason"),
    (["check", "--nope"], "loa: lỗi: không hiểu các tham số: --nope", "loa: error: unrecognized arguments: --nope"),
    (["zap"], "loa: lỗi: tham số LỆNH: lựa chọn không hợp lệ: 'zap' (chọn một trong: 'new'",
     "loa: error: argument VERB: invalid choice: 'zap' (choose from 'new'"),
    (["status", "--days", "x"], "loa status: lỗi: tham số --days: giá trị không hợp lệ (cần kiểu int): 'x'",
     "loa status: error: argument --days: invalid int value: 'x'"),
    (["report", "--period"], "loa report: lỗi: tham số --period: cần một giá trị",
     "loa report: error: argument --period: expected one argument"),
])
def test_argparse_errors_speak_the_users_language(argv, vi, en, capsys, monkeypatch):
    monkeypatch.delenv("LOA_LANG", raising=False)
    for args, expected, usage in ((argv, vi, "cách dùng: loa"), (["--lang", "en", *argv], en, "usage: loa")):
        with pytest.raises(SystemExit) as ei:
            main(args)
        err = capsys.readouterr().err
        assert ei.value.code == 2 and expected in err and err.startswith(usage), err
    # argparse's words are borrowed only while Loa's parser runs: any other user of argparse is untouched
    assert argparse._("usage: ") == "usage: " and argparse._ is argparse.__dict__["_"]
    other = argparse.ArgumentParser(prog="other")
    assert other.format_usage().startswith("usage: other")


# -- what the verbs print ---------------------------------------------------------------------------

def test_log_csv_headers_and_states_follow_the_language(tmp_path, monkeypatch, capsys):
    make_repo(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["log", "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "Thời điểm đăng,Kênh,Trạng thái,Đơn vị,Loại bài,Mã bài,Tiêu đề,Địa chỉ"
    assert main(["--lang", "en", "log", "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "published,channel,state,unit,type,post_id,title,url"


def test_pause_and_resume_speak_vietnamese_by_default(tmp_path, monkeypatch, capsys):
    make_repo(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["pause", "--reason", "Quốc tang", "--by", "it"]) == 0
    assert capsys.readouterr().out == "đã tạm dừng mọi kênh: Quốc tang\n"
    assert main(["resume", "--by", "it"]) == 0
    assert capsys.readouterr().out == "đã cho đăng tiếp mọi kênh (1 lần tạm dừng kết thúc)\n"


def test_status_reasons_come_from_the_catalogue_in_both_languages():
    from pipeline.status import reason_text

    from pipeline.ledger.base import STATES

    assert reason_text("awaiting-approval", "vi") == "chờ Ban biên tập duyệt"
    assert reason_text("awaiting-approval", "en") == "awaiting approval"
    assert reason_text("paused: Quốc tang", "vi") == "tạm dừng: Quốc tang"
    assert reason_text("blackout: Tết", "en") == "blackout: Tết"
    assert reason_text("something-new", "vi") == "something-new"  # shown as it is, never lost
    assert all(f"state.{s}" in CATALOGUE for s in STATES)


def test_a_publishing_line_is_english_in_logs_and_localized_on_the_terminal():
    from pipeline.messages import Detail, localized

    line = Detail("pass.failed", post="a", channel="hook", reason="HTTP 400", vendor=" (bad token)")
    assert line == "failed a on hook: HTTP 400 (bad token)"
    assert localized(line, "vi") == "lỗi a trên hook: HTTP 400 (bad token)"


# -- the catalogue itself ---------------------------------------------------------------------------

def _fields(template: str, lang: str) -> set[str]:
    names = {f for _, f, _, _ in string.Formatter().parse(template) if f}
    percent = set(re.findall(r"%\(\w+\)[rsd]|%[rsd]", template))
    return {n for n in names if not n.endswith("_en" if lang == "vi" else "_vi")} | percent


def _normalised(fields: set[str]) -> set[str]:
    """A placeholder ending in _vi or _en holds words of that language only (a plural, a verb form):
    the other language need not have it."""
    return {f for f in fields if not re.search(r"_(vi|en)$", f)}


def test_every_code_has_both_languages_and_the_same_placeholders():
    from pipeline.messages import _load_contributions

    _load_contributions()
    bad = []
    for code, pair in CATALOGUE.items():
        if not (isinstance(pair, tuple) and len(pair) == 2 and all(isinstance(t, str) and t.strip() for t in pair)):
            bad.append(f"{code}: not a (vi, en) pair of texts")
            continue
        vi, en = pair
        if _normalised(_fields(vi, "vi")) != _normalised(_fields(en, "en")):
            bad.append(f"{code}: vi {sorted(_fields(vi, 'vi'))} != en {sorted(_fields(en, 'en'))}")
    assert not bad, "\n".join(bad)


def test_the_placeholder_check_can_fail():
    assert _normalised(_fields("{a} và {b}", "vi")) != _normalised(_fields("{a} and {c}", "en"))
    assert _normalised(_fields("%(prog)s: lỗi", "vi")) != _normalised(_fields("%(prog)s: %(message)s", "en"))
    assert _normalised(_fields("{x_vi} {n}", "vi")) == _normalised(_fields("{n} {x_en}", "en"))


#: argparse words a user never sees: mistakes in the program's own parser definitions.
PROGRAMMER_ERRORS = {
    "'required' is an invalid argument for positionals", "%r is not callable", ".__call__() not defined",
    'argument "-" with mode %r', "cannot have multiple subparser arguments", "cannot merge actions - two groups are named %r",
    "conflicting subparser alias: %s", "conflicting subparser: %s", "dest= is required for options like %r",
    "invalid conflict_resolution value: %r", "mutually exclusive arguments must be optional",
    "unexpected option string: %s", "conflicting option string: %s", "conflicting option strings: %s",
}


def test_every_word_argparse_shows_a_user_is_in_the_catalogue():
    src = inspect.getsource(argparse)
    msgids = {m for _q, m in re.findall(r"""\b_\((['"])((?:(?!\1).)*)\1\)""", src)}
    msgids |= {m for pair in re.findall(r"""ngettext\(\s*(['"].*?['"]),\s*(['"].*?['"])""", src, re.S) for m in pair
               for m in [ast.literal_eval(m)]}
    msgids = {m.encode().decode("unicode_escape") for m in msgids}
    missing = sorted(m for m in msgids if m not in ARGPARSE_WORDS and m not in PROGRAMMER_ERRORS)
    assert not missing, f"argparse words without a catalogue entry (add them to ARGPARSE_WORDS): {missing}"
    assert all(code in CATALOGUE and CATALOGUE[code][1] == msgid for msgid, code in ARGPARSE_WORDS.items()
               if code != "argparse.expected-n-plural") and text("argparse.usage", "vi") == "cách dùng: "


def test_an_application_error_reaches_the_user_in_their_language(tmp_path, monkeypatch, capsys):
    make_repo(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["publish", "--dry-run", "--channel", "nope"]) == 2
    assert "loa: không có kênh 'nope'; dùng một trong: " in capsys.readouterr().err
    assert main(["--lang", "en", "publish", "--dry-run", "--channel", "nope"]) == 2
    assert "loa: unknown channel 'nope'; expected one of: " in capsys.readouterr().err


def test_retracting_a_file_without_front_matter_is_a_message_not_a_bug(tmp_path, monkeypatch, capsys):
    make_repo(tmp_path, {"news/a.md": "Chỉ có nội dung, không có phần đầu bài.\n"})
    monkeypatch.chdir(tmp_path)
    assert main(["retract", "content/news/a.md", "--reason", "sai"]) == 2
    err = capsys.readouterr().err
    assert "không ghi được `retracted:` vì không đọc được phần đầu bài" in err and "Traceback" not in err
    assert (tmp_path / "content/news/a.md").read_text(encoding="utf-8") == "Chỉ có nội dung, không có phần đầu bài.\n"


def test_resolving_an_unknown_item_says_so_in_the_users_language(tmp_path, monkeypatch, capsys):
    make_repo(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["resolve", "khong-co", "portal", "--not-published"]) == 2
    assert "loa: sổ cái không có bài khong-co trên kênh portal" in capsys.readouterr().err
    assert main(["--lang", "en", "resolve", "khong-co", "portal", "--not-published"]) == 2
    assert "loa: the ledger has no item khong-co on portal" in capsys.readouterr().err


def test_a_wrong_report_period_is_told_in_the_users_language(tmp_path, monkeypatch, capsys):
    make_repo(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["report", "--period", "2024-Q9"]) == 2
    err = capsys.readouterr().err
    assert "loa: không có kỳ báo cáo '2024-Q9'; viết một trong các dạng" in err and "unknown" not in err
    assert main(["--lang", "en", "report", "--period", "2024-Q9"]) == 2
    assert "loa: unknown period '2024-Q9'; expected one of YYYY-Q1" in capsys.readouterr().err


@pytest.mark.parametrize("since", ["yesterday", "31/2/2024", "2024-13-01"])
def test_an_unreadable_log_since_is_a_usage_error_not_a_bug(since, tmp_path, monkeypatch, capsys):
    make_repo(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["log", "--since", since]) == 2
    err = capsys.readouterr().err
    assert f"loa: --since: không đọc được {since!r}" in err and "Traceback" not in err
    assert main(["--lang", "en", "log", "--since", since]) == 2
    assert f"loa: --since: cannot read {since!r}" in capsys.readouterr().err


def test_retrying_an_unknown_post_says_so_in_the_users_language(tmp_path, monkeypatch, capsys):
    make_repo(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["retry", "khong-co"]) == 2
    assert "loa: sổ cái không có bài khong-co; xem mã bài bằng `loa log`" in capsys.readouterr().err
    assert main(["--lang", "en", "retry", "khong-co"]) == 2
    assert "loa: the ledger has no item khong-co" in capsys.readouterr().err
    assert main(["retry"]) == 0 and "0 bài sẽ được gửi lại" in capsys.readouterr().out  # no id: every failed item


def test_publishing_an_unknown_post_says_so_and_fails(tmp_path, monkeypatch, capsys):
    make_repo(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["publish", "--post", "nope"]) == 2  # it published nothing and said nothing
    assert "loa: không có bài nope trong thư mục nội dung hay sổ cái" in capsys.readouterr().err
    assert main(["--lang", "en", "publish", "--dry-run", "--post", "nope"]) == 2
    assert "loa: no post nope in the content or the ledger" in capsys.readouterr().err


CHANNELS = """
[channels.facebook]
type = "facebook"
page_id = "123456789"
token_env = "LOA_TEST_NO_FB"
[channels.zalo]
type = "zalo"
token_env = "LOA_TEST_NO_ZALO"
refresh_token_env = "LOA_TEST_NO_ZALO_REFRESH"
app_id = "0000000000000000000"
app_secret_env = "LOA_TEST_NO_ZALO_SECRET"
[channels.telegram]
type = "telegram"
chat_id = "@ubnd"
token_env = "LOA_TEST_NO_TG"
[channels.mastodon]
type = "mastodon"
instance_url = "https://mastodon.example"
token_env = "LOA_TEST_NO_MASTODON"
[channels.wp]
type = "wordpress"
url = "http://127.0.0.1:{closed}"
username = "loa"
password_env = "LOA_TEST_NO_WP"
[channels.hook]
type = "webhook"
url = "{hook}/items"
[channels.down]
type = "webhook"
url = "http://127.0.0.1:{closed}/items"
[channels.secret]
type = "webhook"
url = "http://127.0.0.1:{closed}/items"
token_env = "LOA_TEST_NO_HOOK"
"""


def test_every_channel_types_check_lines_speak_the_readers_language(tmp_path, monkeypatch, capsys):
    """`loa channels check` and `loa doctor`: the social channels without their secret, WordPress and
    a webhook that cannot be reached, a webhook that answers: no detail line stays English in vi."""
    import socket

    from tests.repo import small_config
    from tests.servers.webhook import WebhookServer

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]  # nothing listens there once the socket is closed
    for var in ("LOA_SERVER_CONFIG", "LOA_TEST_NO_FB", "LOA_TEST_NO_HOOK", "LOA_TEST_NO_ZALO_REFRESH", "LOA_TEST_NO_TG", "LOA_TEST_NO_MASTODON"):
        monkeypatch.delenv(var, raising=False)
    names = ["facebook", "zalo", "telegram", "mastodon", "wp", "hook", "down", "secret"]
    with WebhookServer() as hook:
        url = hook.url
        make_repo(tmp_path, config=small_config(names) + CHANNELS.format(closed=closed, hook=url))
        monkeypatch.chdir(tmp_path)
        main(["channels", "check"])
        vi = capsys.readouterr().out.splitlines()
        main(["--lang", "en", "channels", "check"])
        en = capsys.readouterr().out.splitlines()
        main(["doctor", "--git-timeout", "1"])
        doctor = capsys.readouterr().out
    assert len(vi) == len(en) and len(vi) > 2 * len(names), (vi, en)
    details = [(v, e) for v, e in zip(vi, en) if e.startswith("  ")]
    assert len(details) >= len(names) and all(v != e for v, e in details), details  # each line in Vietnamese
    assert "biến môi trường LOA_TEST_NO_FB chưa được đặt" in vi[1 + vi.index("facebook (facebook): CÓ VẤN ĐỀ")]
    assert "  environment variable LOA_TEST_NO_TG is not set" in en
    assert "  biến môi trường LOA_TEST_NO_HOOK chưa được đặt" in vi  # read when the webhook is made: it ended the whole check
    assert f"  {url}/items có trả lời" in vi and f"  {url}/items answers" in en
    assert vi.count("  không kết nối được tới máy chủ") == 2 and "  could not connect to the server" in en
    assert "biến môi trường LOA_TEST_NO_FB chưa được đặt" in doctor and "không kết nối được tới máy chủ" in doctor, doctor
    assert not [e.strip() for _v, e in details if e.strip() in doctor], doctor


def test_a_channel_type_without_its_own_check_says_so_in_the_catalogue():
    from pipeline.messages import localized
    from publishers.base import Publisher

    class Bare(Publisher):
        type = "bare"

    line, = Bare._check(type("P", (), {"name": "bare"})()).messages
    assert line == "no check available for this channel type"
    assert localized(line, "vi") == "loại kênh này chưa có cách kiểm tra"


def test_channels_check_of_an_unknown_channel_is_refused(tmp_path, monkeypatch, capsys):
    make_repo(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["channels", "check", "--channel", "nope"]) == 2  # it printed nothing and exited 0
    assert "loa: không có kênh 'nope'; dùng một trong: " in capsys.readouterr().err


def test_a_report_out_that_is_a_file_is_a_message_not_a_traceback(tmp_path, monkeypatch, capsys):
    make_repo(tmp_path)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a-file").write_text("x")
    assert main(["report", "--period", "2024-Q1", "--out", "a-file/reports"]) == 2
    err = capsys.readouterr().err
    assert "loa: không ghi được báo cáo vào " in err and "a-file/reports: " in err and "Traceback" not in err
    assert main(["--lang", "en", "report", "--period", "2024-Q1", "--out", "a-file"]) == 2
    err = capsys.readouterr().err
    assert "loa: cannot write the report to " in err and "a-file" in err


def test_backup_and_restore_refusals_speak_vietnamese_by_default(tmp_path, monkeypatch, capsys):
    make_repo(tmp_path)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "exists.db").write_text("keep me")
    assert main(["backup", "exists.db"]) == 1
    assert "loa: exists.db đã có; bản sao lưu không bao giờ ghi đè một tệp" in capsys.readouterr().err
    assert main(["restore", "exists.db"]) == 1
    assert "loa: exists.db không phải sổ cái SQLite dùng được" in capsys.readouterr().err
    assert main(["restore", "nothing.db"]) == 1
    assert "loa: nothing.db: không có tệp này" in capsys.readouterr().err


def test_publish_counts_as_held_what_loa_status_lists_as_held(tmp_path, monkeypatch, capsys):
    """The sample's social channels are switched off: its 2024 pass said "bị giữ 59" while loa status
    listed one post held (awaiting the board); both now count the posts that wait for a person."""
    import json
    import re

    make_repo(tmp_path, sample_content=True)
    monkeypatch.chdir(tmp_path)
    assert main(["publish", "--dry-run", "--now", "2024-12-31 23:00"]) == 0
    said = capsys.readouterr()
    held = int(re.search(r"bị giữ (\d+)", said.out + said.err).group(1))
    assert main(["status", "--now", "2024-12-31 23:00", "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)["held"]
    assert held == len(listed) and held < 10, (held, listed)


# -- a vendor's refusal (issue 17): loa publish, loa status, loa channels check in vi and en ----------
def _vendor_refusals():
    from tests import test_social_engine as se

    return [  # channel, fault, the English reason (unchanged), its Vietnamese words
        ("facebook", se._fb_auth, "Facebook refused the Page token: the account password was changed, which invalidated "
         "the token", "Facebook từ chối mã truy cập của Trang: mật khẩu tài khoản đã đổi nên mã truy cập mất hiệu lực"),
        ("facebook", lambda w: w.fb.fail_next(368, match="/photos"),
         "Facebook has temporarily blocked posting on this Page for a policy reason",
         "Facebook tạm chặn đăng bài trên Trang này vì lý do chính sách"),
        ("zalo", se._zalo_auth, "Zalo refused to refresh the access token", "Zalo từ chối cấp lại mã truy cập"),
        ("zalo", lambda w: w.zalo.inject("/v2.0/article/create", status=200,
                                         body={"error": -201, "message": "title allow 1 to 150 characters"}),
         "Zalo refused create: title allow 1 to 150 characters (error -201)",
         "Zalo từ chối create: title allow 1 to 150 characters (lỗi -201)"),
        ("telegram", se._tg_auth, "the bot cannot post to @ubnd_loa", "bot không đăng được vào @ubnd_loa"),
        ("telegram", lambda w: w.tg.fail_next(400, "Bad Request: can't parse entities: Unsupported start tag \"br\" at "
                                                   "byte offset 12"),
         "Telegram refused the message's HTML", "Telegram từ chối HTML của tin"),
        ("mastodon", lambda w: w.masto.revoke(se.MASTO_TOKEN), "Mastodon refused the access token: The access token was "
         "revoked", "Mastodon từ chối mã truy cập: The access token was revoked"),  # the vendor's words stay as said
        ("mastodon", lambda w: setattr(w.masto, "max_characters", 100),
         "Mastodon refused it: Validation failed: Text character limit of 100 exceeded",
         "Mastodon từ chối: Validation failed: Text character limit of 100 exceeded"),
    ]


def _use_stand_ins(w, monkeypatch) -> None:
    """Point Loa at the social World ``w``'s local vendor stand-ins: their credentials in the
    environment, their addresses approved as the IT officer does (LOA_SERVER_CONFIG)."""
    from tests.repo import approve

    for var, value in w.env.items():
        monkeypatch.setenv(var, value)
    monkeypatch.setenv("LOA_SERVER_CONFIG", approve({
        "facebook": {"api_base": w.fb.url, "token_env": "LOA_FB_TOKEN"},
        "zalo": {"api_base": w.zalo.url, "oauth_base": w.zalo.url, "app_secret_env": "LOA_ZALO_SECRET",
                 "refresh_token_env": "LOA_ZALO_REFRESH", "token_env": "LOA_ZALO_ACCESS"},
        "telegram": {"api_base": w.tg.url, "token_env": "LOA_TG_TOKEN"},
        "mastodon": {"instance_url": w.masto.url, "token_env": "LOA_MASTODON_TOKEN"}}))


@pytest.mark.parametrize("case", range(8), ids=lambda i: ["facebook-auth", "facebook-policy", "zalo-auth", "zalo-refused",
                                                          "telegram-auth", "telegram-html", "mastodon-auth",
                                                          "mastodon-refused"][i])
def test_a_vendors_refusal_speaks_the_readers_language(tmp_path, monkeypatch, capsys, case):
    """Each social channel's local vendor stand-in refuses (its credential, or the post for good):
    loa publish's line, loa status (from the ledger, later) and, for a credential, loa channels check
    say it in Vietnamese, the vendor's own words untouched; --lang en shows the English unchanged."""
    from tests.test_social_engine import World, item

    channel, fault, en_reason, vi_reason = _vendor_refusals()[case]
    said = {}
    for lang in ("vi", "en"):  # one stand-in each: a refusal injected once is spent by the first publish
        w = World(tmp_path / lang, {"news/a.md": item("a", channel)})
        try:
            _use_stand_ins(w, monkeypatch)
            fault(w)
            opts = ["--lang", "en"] if lang == "en" else []
            w.loa(*opts, "publish", "--now", "2024-03-25 08:00")
            out = capsys.readouterr()
            said[lang, "publish"] = out.out + out.err
            w.loa(*opts, "status", "--now", "2024-03-25 08:00")
            said[lang, "status"] = capsys.readouterr().out
            if channel != "telegram" and case % 2 == 0:  # a refused credential: the check says it too
                w.loa(*opts, "channels", "check", "--channel", channel)
                said[lang, "check"] = capsys.readouterr().out
        finally:
            w.stop()
    for what in ("publish", "status", "check"):
        if ("vi", what) not in said:
            continue
        vi, en = said["vi", what], said["en", what]
        assert en_reason in en, (what, en)
        assert vi_reason in vi and en_reason not in vi, (what, vi)


HOOK_AND_WP = """
[channels.hook]
type = "webhook"
url = "{hook}/items"
token_env = "LOA_TEST_HOOK_TOKEN"
[channels.wp]
type = "wordpress"
url = "{wp}"
username = "loa"
password_env = "LOA_TEST_WP_PASSWORD"
rest_form = "wp-json"
"""


@pytest.mark.parametrize("status,error,en_reason,vi_reason", [
    (401, "rest_not_logged_in", "WordPress refused to let 'loa' read its own profile: You are not currently logged in. "
     "[rest_not_logged_in] (it treated Loa as not logged in)", "WordPress không cho 'loa' đọc hồ sơ của chính mình: "
     "You are not currently logged in. [rest_not_logged_in] (WordPress coi Loa là chưa đăng nhập)"),
    (403, "rest_cannot_create", "WordPress refused to let 'loa' read its own profile: Sorry, you are not allowed to do "
     "that. [rest_cannot_create]", "WordPress không cho 'loa' đọc hồ sơ của chính mình: Sorry, you are not allowed to "
     "do that. [rest_cannot_create]"),
    (400, "rest_invalid_param", "WordPress refused to read its own profile: Invalid parameter(s): context "
     "[rest_invalid_param]", "WordPress từ chối đọc hồ sơ của chính mình: Invalid parameter(s): context [rest_invalid_param]"),
])
def test_wordpress_and_webhook_refusals_speak_the_readers_language(tmp_path, monkeypatch, capsys, status, error,
                                                                     en_reason, vi_reason):
    """A WordPress that refuses Loa's user (what WordPress answers, on a local stand-in) in loa channels
    check and loa publish, and a webhook refusing the token then the item (loa publish, loa status):
    Vietnamese by default, the vendor's words as said, the English unchanged with --lang en."""
    from tests.repo import approve, post, small_config
    from tests.servers.base import Response, VendorServer
    from tests.servers.webhook import WebhookServer

    message = {401: "You are not currently logged in.", 403: "Sorry, you are not allowed to do that.",
               400: "Invalid parameter(s): context"}[status]

    class WordPress(VendorServer):  # the REST index, then every route answers as WordPress to a user it will not serve
        def handle(self, req):
            if req.path.rstrip("/") == "/wp-json":
                return Response(200, {"name": "UBND Thành phố Loa", "home": self.url, "namespaces": ["wp/v2"],
                                      "authentication": {"application-passwords": {}},
                                      "timezone_string": "Asia/Ho_Chi_Minh", "gmt_offset": 7})
            return Response(status, {"code": error, "message": message, "data": {"status": status}})

    monkeypatch.setenv("LOA_TEST_HOOK_TOKEN", "hook-token-0123456789")
    monkeypatch.setenv("LOA_TEST_WP_PASSWORD", "abcd efgh ijkl mnop qrst uvwx")
    said = {}
    with WordPress() as wp, WebhookServer() as hook:
        monkeypatch.setenv("LOA_SERVER_CONFIG", approve({"hook": {"url": f"{hook.url}/items",
                                                                   "token_env": "LOA_TEST_HOOK_TOKEN"},
                                                          "wp": {"url": wp.url, "password_env": "LOA_TEST_WP_PASSWORD"}}))
        for lang in ("vi", "en"):
            root = make_repo(tmp_path / lang, {"news/a.md": post(id="a", title="Phường 1 cải cách hành chính")},
                             config=small_config(["hook", "wp"]) + HOOK_AND_WP.format(hook=hook.url, wp=wp.url))
            monkeypatch.chdir(root)
            opts = ["--lang", "en"] if lang == "en" else []
            main([*opts, "channels", "check", "--channel", "wp"])
            said[lang, "check"] = capsys.readouterr().out
            hook.inject("/items", status=status, body={"error": "token rejected"})
            main([*opts, "publish", "--now", "2024-03-25 08:00"])
            out = capsys.readouterr()
            said[lang, "publish"] = out.out + out.err
            main([*opts, "status", "--now", "2024-03-25 08:00"])
            said[lang, "status"] = capsys.readouterr().out
    hook_en = f"the webhook answered HTTP {status}"
    assert en_reason in said["en", "check"] and vi_reason in said["vi", "check"], said
    assert en_reason not in said["vi", "check"], said
    # what Loa asked first when publishing: the articles looked up by their slugs (a refused user holds
    # the channel there); a refusal of that request only (a speed-up) leaves the article's own first
    # request to be refused in turn and recorded on it, for loa status to show (no ledger row: "due")
    asked = ("describe its articles", "đọc mô tả kiểu bài") if status == 400 else \
        ("look articles up by their slugs", "tìm các bài theo slug")
    for what in ("publish", "status"):
        vi, en = said["vi", what], said["en", what]
        assert en_reason.replace("read its own profile", asked[0]) in en, en
        assert vi_reason.replace("đọc hồ sơ của chính mình", asked[1]) in vi and "refused" not in vi, vi
    for what in ("publish", "status"):  # 401 and 403 hold the webhook (the hold's words, reason and hint); 400 fails the post
        vi, en = said["vi", what], said["en", what]
        if status == 400:
            assert hook_en in en and f"webhook trả lời HTTP {status}" in vi and hook_en not in vi, (vi, en)
            continue
        assert f"{hook_en} — check the token" in en, en
        assert f"webhook trả lời HTTP {status} — kiểm tra mã truy cập" in vi and hook_en not in vi, vi


@pytest.mark.parametrize("channel, en_reason, vi_reason, vi_hint", [
    ("facebook", "the post was published as text and is now caption", "bài đã đăng dạng chữ, nay là dạng ảnh kèm chú thích",
     "Facebook không cho thêm hay bỏ ảnh của bài đã đăng: hãy gỡ bài rồi đăng lại"),
    ("telegram", "the message was sent as text and is now caption", "tin đã gửi dạng chữ, nay là dạng ảnh kèm chú thích",
     "tin Telegram không thêm hay bỏ được ảnh: hãy gỡ tin rồi đăng lại"),
])
def test_a_publishers_own_refusal_speaks_the_readers_language(tmp_path, monkeypatch, capsys, channel, en_reason,
                                                                vi_reason, vi_hint):
    """Not the vendor's refusal but the publisher's own (here: a photo added to a post already out,
    which neither Facebook nor Telegram can edit in): it was English in loa publish and loa status
    whatever the language; now Vietnamese by default, the English unchanged with --lang en."""
    from tests.test_social_engine import World, item

    said = {}
    for lang in ("vi", "en"):
        w = World(tmp_path / lang, {"news/a.md": item("a", channel, image=None)})
        try:
            _use_stand_ins(w, monkeypatch)
            assert w.loa("publish", "--now", "2024-03-25 08:00") == 0
            w.write("news/a.md", item("a", channel))  # the same post, now with its photo
            opts = ["--lang", "en"] if lang == "en" else []
            w.loa(*opts, "publish", "--now", "2024-03-25 09:00")
            out = capsys.readouterr()
            said[lang, "publish"] = out.out + out.err
            w.loa(*opts, "status", "--now", "2024-03-25 09:00")
            said[lang, "status"] = capsys.readouterr().out
        finally:
            w.stop()
    for what in ("publish", "status"):
        vi, en = said["vi", what], said["en", what]
        assert en_reason in en, (what, en)
        assert vi_reason in vi and en_reason not in vi, (what, vi)
    assert vi_hint in said["vi", "status"], said["vi", "status"]


def test_a_stale_posts_skip_speaks_the_readers_language(tmp_path, monkeypatch, capsys):
    """A post too late for a channel with max_lateness is skipped: loa publish said "stale: due
    2024-03-20T08:00:00+07:00, more than 1 day, 0:00:00 ago" in Vietnamese too."""
    from tests.repo import post, small_config

    hook = '\n[channels.hook]\ntype = "webhook"\nurl = "http://127.0.0.1:9/items"\nmax_lateness = "24h"\n'
    make_repo(tmp_path, {"news/a.md": post(id="a", publish_at="2024-03-20 08:00")}, config=small_config(["hook"]) + hook)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LOA_LANG", raising=False)
    main(["publish", "--dry-run", "--now", "2024-03-25 08:00"])
    vi = capsys.readouterr()
    main(["--lang", "en", "publish", "--dry-run", "--now", "2024-03-25 08:00"])
    en = capsys.readouterr()
    assert "bỏ qua a hook: quá hạn: lẽ ra đăng lúc 08:00 20/3/2024, nay đã trễ hơn 1 ngày" in vi.out + vi.err, vi
    assert "skip a hook: stale: due 2024-03-20T08:00:00+07:00, more than 1 day, 0:00:00 ago" in en.out + en.err, en


# -- what the ledger keeps of an item in doubt or failed, read later -------------------------------

def _refused(tmp_path, error):
    """A post sent to the test engine's webhook channel, which raises ``error``; the session after."""
    from pipeline.app import Session
    from tests.repo import post
    from tests.servers.webhook import WebhookServer
    from tests.test_engine import T0, Env

    class Refusing:
        can_lookup = False

        def publish(self, rendering, key):
            raise error

        def close(self):
            pass

    with WebhookServer() as server:
        env = Env(tmp_path, server, {"news/a.md": post(id="a")})
        s = Session(env.cfg, env.ledger, owner="w", clock=lambda: T0, env={},
                    publisher_factory=lambda ch, lg: Refusing() if ch.name == "hook" else Session.publisher(s, ch, lg))
        s.publish(now=T0)
    return s, T0


def test_an_item_in_doubt_speaks_the_readers_language_in_status_and_the_console(tmp_path):
    """Mastodon's forgotten Idempotency-Key ends an item in doubt: the ledger kept its English only,
    so loa status and the console's operations page showed it in English in Vietnamese mode while
    loa publish said it in Vietnamese. Now it is kept as a failed item's reason is (code and
    arguments), and loa status, the console and a notification say it in the reader's language."""
    from pipeline import notify
    from pipeline.errors import InDoubtPublishError
    from pipeline.messages import Detail
    from pipeline.status import error_words, render_status

    error = InDoubtPublishError("hook", "a", Detail("mastodon.forgotten-key", at="07:55"), code="in_doubt",
                                hint=Detail("mastodon.forgotten-key.fix"))
    s, now = _refused(tmp_path, error)
    with s:
        row = s.ledger.get("a", "hook")
        said = {lang: render_status(s.status(now, lang=lang), s.cfg, lang) for lang in ("vi", "en")}
        st = s.status(now, lang="vi")
    assert row.state == "in_doubt"
    vi_reason, en_reason = text("mastodon.forgotten-key", "vi", at="07:55"), str(error.reason)
    vi_hint = text("mastodon.forgotten-key.fix", "vi")
    assert vi_reason in said["vi"] and vi_hint in said["vi"] and en_reason not in said["vi"], said["vi"]
    assert en_reason in said["en"] and text("mastodon.forgotten-key.fix", "en") in said["en"], said["en"]
    assert st["in_doubt"][0]["reason"] == en_reason  # loa status --format json: the English (and the code kept)
    for lang, words in (("vi", vi_reason), ("en", en_reason)):
        assert words in error_words(row.last_error, lang)  # the console's post page
        assert words in notify.item_notice(row, "Hook", lang).body
    assert "{" not in notify.item_notice(row, "Hook", "vi").body  # not the ledger's JSON


def test_the_console_shows_an_items_reason_in_the_readers_language(tmp_path):
    """The operations page printed a failed item's reason as its English text (str() of the
    catalogue Detail) whatever the reader's language; the post page printed the ledger's JSON."""
    from pipeline.errors import PermanentPublishError
    from pipeline.messages import Detail
    from pipeline.web.app import create_app
    from tests.web_console import Client, add_people, serve

    error = PermanentPublishError("hook", "a", Detail("publish.caption-no-image"), hint=Detail("publish.rendering-bug"))
    s, now = _refused(tmp_path, error)
    s.close()
    add_people(s.cfg, {"binh": ("it", "Đỗ Văn Bình")})
    served = serve(create_app(s.cfg.path, secret_key="test-secret", secure_cookies=False, env={}, clock=lambda: now))
    try:
        client = Client(served.base).signed_in("binh")
        said = {lang: client.get(f"/ops?lang={lang}").text + client.get(f"/posts/a?lang={lang}").text
                for lang in ("vi", "en")}
    finally:
        served.stop()
    for lang, other in (("vi", "en"), ("en", "vi")):
        page = said[lang]
        assert text("publish.caption-no-image", lang) in page and text("publish.rendering-bug", lang) in page, page
        assert text("publish.caption-no-image", other) not in page and "&#34;codes&#34;" not in page, page


# -- render errors, the site's manifest, loa doctor's git words -------------------------------------

def test_a_render_error_speaks_the_readers_language_with_the_template_engines_words(tmp_path, monkeypatch, capsys):
    """loa check said "không tạo được nội dung cho kênh telegram: template error: ..." (Loa's own
    "template error" in English inside the Vietnamese line); Jinja's words stay as Jinja said them."""
    from tests.repo import post

    root = make_repo(tmp_path, {"news/a.md": post(id="a", channels=["portal", "telegram"])})
    (root / "templates/telegram").mkdir(parents=True)
    (root / "templates/telegram/post.html").write_text("<b>{{ post.title }</b>")
    monkeypatch.chdir(root)
    monkeypatch.delenv("LOA_LANG", raising=False)
    said = {}
    for lang in ("vi", "en"):
        main([*(["--lang", "en"] if lang == "en" else []), "check"])
        out = capsys.readouterr()
        said[lang] = out.out + out.err
    assert "mẫu trình bày bị lỗi: " in said["vi"] and "template error" not in said["vi"], said["vi"]
    assert "template error: " in said["en"], said["en"]


def test_the_sites_manifest_problem_speaks_the_readers_language(tmp_path):
    """The static site quoted its manifest's problem in English inside the Vietnamese refusal."""
    from types import SimpleNamespace

    from pipeline.errors import PermanentPublishError
    from pipeline.messages import localized
    from publishers.static_site import StaticSitePublisher
    from tests.test_static_site import MANIFEST, NOW, rendering

    pub = StaticSitePublisher("portal", {}, site=SimpleNamespace(root=tmp_path, base_url="https://cong.example.vn",
                                                                 site_name="Cổng TTĐT"), clock=lambda: NOW)
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / MANIFEST).write_text('{"articles": {"x": {"path": "a.html"}}}')
    with pytest.raises(PermanentPublishError) as err:
        pub.publish(rendering("20240302-bbbbbb", slug="hai"), key="k1")
    vi, en = localized(err.value.reason, "vi"), localized(err.value.reason, "en")
    assert "bài 'x' không có đường dẫn trang dạng loại/slug.html" in vi and "article" not in vi, vi
    assert "article 'x' has no page path of the form type/slug.html" in en, en


def test_doctors_words_for_git_are_the_readers_and_gits_own_are_quoted(tmp_path):
    """loa doctor put Loa's own English ("no answer within 3 s", "git exited with 128") inside its
    Vietnamese line; git's own last line is quoted as git said it."""
    import subprocess

    from pipeline import doctor

    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(["git", "remote", "add", "origin", "https://git.invalid/x.git"], cwd=tmp_path, check=True)

    def answer(code, stderr=""):
        def run(argv, **kw):
            if "ls-remote" in argv:
                return subprocess.CompletedProcess(argv, code, "", stderr)
            return subprocess.run(argv, **kw)
        return run

    def slow(argv, **kw):
        if "ls-remote" in argv:
            raise subprocess.TimeoutExpired(argv, 3)
        return subprocess.run(argv, **kw)

    timeout = doctor.git_remote(tmp_path, timeout=3, run=slow)
    assert "không có trả lời sau 3 giây" in timeout.text("vi") and "no answer within 3 s" in timeout.text("en")
    bare = doctor.git_remote(tmp_path, run=answer(128))
    assert "git kết thúc với mã 128" in bare.text("vi") and "git exited with 128" in bare.text("en")
    said = doctor.git_remote(tmp_path, run=answer(128, "fatal: repository 'https://git.invalid/x.git/' not found\n"))
    assert "fatal: repository 'https://git.invalid/x.git/' not found" in said.text("vi")  # git's words, as said
