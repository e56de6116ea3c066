"""The one redaction point: every secret Loa knows, and the text it must never store, log or print.

A secret is registered by value, once, wherever Loa learns it:

- the configuration: every channel's ``*_env`` variable as read from the environment, and the
  ledger URL's password (``pipeline.config`` registers them as it loads; the PostgreSQL ledger
  registers its own URL's password too, :func:`scrub_url`);
- a publisher at run time: ``Publisher.secret()`` registers what it reads, the publisher's
  state store registers token fields it stores or loads (Zalo's rotating tokens), and
  ``Publisher.protect(value)`` registers anything else a publisher obtains.

:func:`redact` then removes every registered value from a text, in the forms it takes on the way
out: as written, without the surrounding whitespace and control characters, escaped by ``repr``
or JSON, URL-encoded. Some shapes are removed whatever their value, because a credential there is
certain: ``Bearer <token>``, Telegram's ``/bot<token>/`` path, ``password=``/``token=`` query
parameters and the password of a ``scheme://user:password@host`` URL.

Where it applies: the ledger's ``last_error`` and event details (``pipeline.publish``), the log
(:class:`RedactingFilter` on Loa's handlers) and everything the ``loa`` command prints
(``pipeline.cli`` wraps stdout and stderr with :class:`RedactingStream`).

Also here, because they answer the same question: :func:`check_value` (a secret with control
characters is a config error, see ``pipeline.config``) and :func:`private_file` /
:func:`private_dir` (files that hold secrets or the ledger are created 0600, their folder 0700).
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus, unquote, urlsplit, parse_qsl

from pipeline import messages

messages.register({
    "config.secret-control": (
        "biến môi trường {var} (khóa bí mật) chứa ký tự điều khiển (xuống dòng CR/LF, tab...); hãy ghi lại giá trị "
        "không có ký tự đó, ví dụ dùng `printf %s` thay cho `echo`",
        "environment variable {var} (a secret) holds a control character (CR/LF line break, tab...); set it again "
        "without one, e.g. with `printf %s` instead of `echo`"),
})

MASK = "***"
#: values shorter than this are not secrets worth the name; redacting them would mangle every text
MIN_LENGTH = 4
#: a field of a stored JSON object (publisher state) holds a credential when its name is ``token``
#: or ends in ``_token``, or it names a secret or a password (``media_sha``, ``url``, ``id`` do not)
_SECRET_FIELD = re.compile(r"(?i)^(.*_)?token$|secret|passw")

_lock = threading.Lock()
_values: set[str] = set()
_pattern: re.Pattern | None = None

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# shapes that are credentials whatever their value
_SHAPES = (
    (re.compile(r"(?i)(\bbearer\s+)[^\s'\",;]+"), r"\1" + MASK),
    (re.compile(r"(/bot)\d+:[A-Za-z0-9_%-]{10,}"), r"\1" + MASK),
    (re.compile(r"(?i)([?&;](?:access_token|input_token|refresh_token|client_secret|app_secret|secret_key|"
                r"token|key|password|passwd|pwd)=)[^&\s'\"#]+"), r"\1" + MASK),
    (re.compile(r"(?i)((?:secret_key|access_token|authorization|password)['\"]?\s*[:=]\s*['\"])[^'\"]+"), r"\1" + MASK),
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@'\"]*:)[^@/\s'\"]+(@)"), r"\1" + MASK + r"\2"),
)


def forms(value: str) -> set[str]:
    """The spellings of ``value`` that may appear in a text: as is, stripped of surrounding
    whitespace and control characters, escaped by ``repr`` and JSON, URL-encoded."""
    out = set()
    for v in {value, value.strip(), _CONTROL.sub("", value)}:
        if not v:
            continue
        out.update({v, repr(v)[1:-1], json.dumps(v)[1:-1], json.dumps(v, ensure_ascii=False)[1:-1],
                    quote(v, safe=""), quote(v), quote_plus(v)})
    return {f for f in out if len(f) >= MIN_LENGTH}


def register(*values: str | None) -> None:
    """Make each value a secret from now on (this process); empty and very short values are ignored."""
    global _pattern
    new = set()
    for value in values:
        if isinstance(value, str) and len(value.strip()) >= MIN_LENGTH:
            new |= forms(value)
    with _lock:
        if new - _values:
            _values.update(new)
            # longest first, so that a value is never half-replaced by one of its own substrings
            _pattern = re.compile("|".join(re.escape(v) for v in sorted(_values, key=len, reverse=True)))


def registered() -> int:
    """How many spellings are registered (for tests and ``-v`` diagnostics; never the values)."""
    return len(_values)


def forget_all() -> None:
    """Drop every registered value (tests only: a process never forgets a secret)."""
    global _pattern
    with _lock:
        _values.clear()
        _pattern = None


def redact(text: Any) -> Any:
    """``text`` without any registered secret or credential shape; non-strings are returned as given."""
    if not isinstance(text, str) or not text:
        return text
    pattern = _pattern
    if pattern is not None:
        text = pattern.sub(MASK, text)
    for shape, repl in _SHAPES:
        text = shape.sub(repl, text)
    return text


def redact_data(value: Any) -> Any:
    """A JSON-like value (dicts, lists, strings) with :func:`redact` applied to every string in it."""
    from pipeline.vietnamese import each_text

    return each_text(redact, value)


def register_stored(raw: str | None) -> None:
    """Register the credential fields of a stored JSON object (a publisher's state value): every
    string under a key naming a token, a secret or a password."""
    if not raw:
        return
    try:
        data = json.loads(raw)
    except (TypeError, ValueError):
        return
    if isinstance(data, dict):
        register(*(v for k, v in data.items() if isinstance(v, str) and _SECRET_FIELD.search(str(k))))


def url_password(url: str | None) -> str | None:
    """The password in a database URL, from ``user:password@`` or a ``password=`` parameter."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
        if parts.password:
            return unquote(parts.password)
        for k, v in parse_qsl(parts.query, keep_blank_values=True):
            if k.lower() in ("password", "passwd", "pwd") and v:
                return v
    except ValueError:
        return None
    return None


def scrub_url(url: str) -> str:
    """``url`` fit to show: its password (``user:pw@`` or ``?password=``) replaced by ``***``."""
    register(url_password(url))
    return redact(url)


def check_value(value: str) -> bool:
    """True when ``value`` can be a secret: no control character (CR, LF, any C0, DEL) anywhere.
    A token with a trailing newline from ``echo`` makes HTTP libraries quote the header."""
    return _CONTROL.search(value) is None


# -- files -----------------------------------------------------------------------------------
def private_dir(path: str | os.PathLike) -> Path:
    """Create ``path`` (and missing parents) as 0700 when Loa creates it; an existing folder is left as is."""
    p = Path(path)
    if not p.is_dir():
        p.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            os.chmod(p, 0o700)  # mkdir's mode goes through the umask
        except OSError:
            pass
    return p


def private_file(path: str | os.PathLike) -> Path:
    """Make sure ``path`` exists; a file Loa creates is 0600 (owner only), whatever the umask.
    An existing file keeps its mode, with a warning if others can read it."""
    p = Path(path)
    private_dir(p.parent)
    try:
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        try:
            mode = p.stat().st_mode & 0o777
        except OSError:
            return p
        if mode & 0o077:
            logging.getLogger(__name__).warning(
                "%s holds secrets or the ledger and is readable by others (mode %o); run chmod 600 on it",
                p, mode)
        return p
    os.close(fd)
    return p


def open_private(path: str | os.PathLike, flags: int = os.O_RDWR | os.O_CREAT) -> int:
    """``os.open`` for a file holding secrets or a lock: created 0600."""
    private_dir(Path(path).parent)
    return os.open(path, flags, 0o600)


# -- logging and printing --------------------------------------------------------------------
class RedactingFilter(logging.Filter):
    """A filter for Loa's log handlers: the message, its arguments and its traceback are redacted
    before any formatter sees them."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:  # a broken record is the logging module's business
            return True
        clean = redact(text)
        if clean != text or record.args:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


FILTER = RedactingFilter()


def install_log_filter(logger: logging.Logger | None = None) -> None:
    """Put :data:`FILTER` on every handler of ``logger`` (the root logger by default)."""
    for handler in (logger or logging.getLogger()).handlers:
        if FILTER not in handler.filters:
            handler.addFilter(FILTER)


class RedactingStream:
    """A text stream that redacts what is written to it, line by line (a secret cut in two by
    separate writes inside one line is still caught); everything else goes to the wrapped stream."""

    def __init__(self, stream: Any):
        self._stream = stream
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text
        if "\n" in self._pending:
            done, self._pending = self._pending.rsplit("\n", 1)
            self._stream.write(redact(done + "\n"))
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self._stream.write(redact(self._pending))
            self._pending = ""
        self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def protect_url(url: str | None) -> str | None:
    """``url`` unchanged, its password (``user:pw@`` or ``?password=``) registered as a secret."""
    register(url_password(url))
    return url
