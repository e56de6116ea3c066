"""The server's own settings, which the content repository cannot change, and the endpoint approval.

``config.toml`` lives in the content repository, which staff commit to. It may say what Loa
publishes and how, but not where the server's credentials go: a commit that points
``channels.<name>.api_base`` (or ``url``, ``instance_url``, ``oauth_base``) at another host would
hand it the bot token, a Bearer token, Zalo's refresh token and app secret or the WordPress
application password. So a channel that holds a secret (an ``*_env`` option whose variable is set)
may only send to an address the server's operator approved:

- the vendor's official address, when the option is left at the publisher's default
  (``https://graph.facebook.com``, ``https://api.telegram.org``, ``https://openapi.zalo.me``,
  ``https://oauth.zaloapp.com``);
- or an address listed for that channel and option in the server file.

The server file is a TOML file outside the content repository, named by ``LOA_SERVER_CONFIG``
(e.g. ``/etc/loa/server.toml``, owned by the service user or root, mode 0600 or 0640)::

    [ledger]
    url = "postgresql://loa@db.internal/loa"      # wins over config.toml's [ledger] url

    [channels.portal]                             # one table per channel holding a secret
    url = "https://congtt.example.gov.vn"         # approved address(es): a string or a list
    password_env = "LOA_WP_PASSWORD"              # the variable(s) this channel may read

When a server file is given, every channel holding a secret needs its table there, and each of its
set ``*_env`` options must name a variable the table lists: otherwise a commit could point the
approved WordPress channel at the Zalo app secret's variable. An address matches an approved one
with the same scheme, host and port and a path equal to, or below, the approved path.

A channel without a secret (the static site, a preview on a board member's PC) is not affected, so
Loa runs with no server file until a credential is configured. Every refusal is a
:class:`pipeline.errors.ConfigError` at load (the daemon does not start) naming the key and what the
IT officer must do. See docs/security.md.
"""

from __future__ import annotations

import os
import stat
import tomllib
from dataclasses import dataclass
from datetime import timedelta
from types import MappingProxyType
from typing import Any, Mapping
from urllib.parse import urlsplit

from pipeline.messages import Detail, register

#: The environment variable naming the server file.
SERVER_ENV = "LOA_SERVER_CONFIG"

#: Options that are addresses Loa sends requests to, whatever their publisher declares (a publisher
#: also marks one by checking it with ``publishers.base.http_url``).
ENDPOINT_OPTIONS = frozenset({"url", "api_base", "instance_url", "oauth_base", "base_url", "endpoint"})

register({
    "server.unapproved-endpoint": (
        "kênh này gửi khóa bí mật ({secrets}) tới {value}, địa chỉ mà máy chủ chưa duyệt ({why_vi}); cán bộ CNTT "
        "phải thêm `{opt} = \"{value}\"` vào bảng [channels.{channel}] của tệp cấu hình máy chủ ({server}) nếu "
        "địa chỉ này đúng, nếu không thì hoàn tác thay đổi trong config.toml",
        "this channel sends its secrets ({secrets}) to {value}, an address the server has not approved ({why_en}); "
        "the IT officer must add `{opt} = \"{value}\"` to [channels.{channel}] in the server file ({server}) if "
        "that address is right, or else revert the change to config.toml"),
    "server.unapproved-secret": (
        "kênh này đọc biến môi trường {var}, nhưng tệp cấu hình máy chủ ({server}) không cho phép kênh này dùng "
        "biến đó{listed_vi}; cán bộ CNTT phải thêm `{opt} = \"{var}\"` vào bảng [channels.{channel}] nếu đúng, "
        "nếu không thì hoàn tác thay đổi trong config.toml",
        "this channel reads the variable {var}, which the server file ({server}) does not allow it{listed_en}; "
        "the IT officer must add `{opt} = \"{var}\"` to [channels.{channel}] if that is right, or else revert "
        "the change to config.toml"),
    "server.unreadable": ("không đọc được tệp cấu hình máy chủ {path} ({SERVER_ENV}): {reason}",
                          "cannot read the server file {path} ({SERVER_ENV}): {reason}"),
    "server.inside-repository": (
        "tệp cấu hình máy chủ {path} nằm trong kho nội dung {root}, nơi ai có quyền commit cũng sửa được; hãy "
        "chuyển nó ra ngoài (ví dụ /etc/loa/server.toml) và đặt lại {SERVER_ENV}",
        "the server file {path} is inside the content repository {root}, which anyone who commits can change; "
        "move it out (e.g. /etc/loa/server.toml) and point {SERVER_ENV} at it"),
    "server.toml-syntax": ("tệp cấu hình máy chủ {path} sai cú pháp TOML: {detail}",
                           "the server file {path} is not valid TOML: {detail}"),
    "server.open-mode": (
        "tệp cấu hình máy chủ {path} có quyền {mode}: người khác trên máy {who_vi}; chạy `chmod 600 {path}` "
        "(hoặc 640 với nhóm của dịch vụ)",
        "the server file {path} has mode {mode}: other users {who_en} it; run `chmod 600 {path}` "
        "(or 640 with the service's group)"),
    "server.owner": (
        "tệp cấu hình máy chủ {path} thuộc người dùng số {uid}, không phải root hay người dùng chạy Loa; "
        "chạy `chown root {path}`",
        "the server file {path} belongs to user id {uid}, neither root nor the user running Loa; "
        "run `chown root {path}`"),
    "server.expected": ("cần {expected_vi} nhưng nhận được: {value}", "expected {expected_en} but received: {value}"),
    "server.unknown-key": ("khóa lạ trong tệp cấu hình máy chủ; chỉ có [ledger] url, các bảng [channels.<tên>] và [notify]",
                           "unknown key in the server file; it holds only [ledger] url, [channels.<name>] tables and [notify]"),
    "server.ledger-ignored": (
        "[ledger] url trong config.toml bị bỏ qua: sổ cái do {source} quy định",
        "config.toml's [ledger] url is ignored: the ledger is set by {source}"),
})


@dataclass(frozen=True)
class ServerSettings:
    """The parsed server file. ``channels``: channel name -> option -> the approved values."""

    path: str
    ledger_url: str | None
    channels: Mapping[str, Mapping[str, tuple[str, ...]]]
    #: who is told what, and how (``[notify]``); ``None`` when the file has no such table
    notify: "NotifySettings | None" = None


@dataclass(frozen=True)
class NotifySettings:
    """``[notify]``: recipients by role (``it``, ``board``, ``reports``: e-mail addresses;
    ``authors``: author name -> address), the transports (``smtp``, ``telegram``: plain mappings,
    secrets only as the names of environment variables) and the timing. See docs/notifications.md."""

    roles: Mapping[str, tuple[str, ...]]
    authors: Mapping[str, str]
    smtp: Mapping[str, Any] | None
    telegram: Mapping[str, Any] | None
    reminder_after: timedelta = timedelta(hours=24)
    vendor_wait: timedelta = timedelta(hours=1)
    digest_hour: int = 7
    ledger_down: timedelta = timedelta(minutes=10)


def load_server_settings(env: Mapping[str, str], errors: list, root: str | os.PathLike | None = None
                         ) -> ServerSettings | None:
    """The server file named by ``LOA_SERVER_CONFIG`` in ``env``, or ``None`` when it is not set.
    Problems are appended to ``errors`` as ``(key, Detail)`` (the file's keys are prefixed ``server:``);
    a file inside the content repository ``root`` is refused, since a commit could change it."""
    path = env.get(SERVER_ENV)
    if not path:
        return None
    if root is not None:
        real, top = os.path.realpath(path), os.path.realpath(root)
        if real == top or real.startswith(top.rstrip(os.sep) + os.sep):
            errors.append((f"server:{SERVER_ENV}", Detail("server.inside-repository", path=path, root=top, SERVER_ENV=SERVER_ENV)))
            return None
    try:
        st = os.stat(path)
        with open(path, "rb") as fh:
            raw = tomllib.load(fh)
    except OSError as exc:
        errors.append((f"server:{SERVER_ENV}", Detail("server.unreadable", path=path, reason=exc.strerror or exc,
                                                       SERVER_ENV=SERVER_ENV)))
        return None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        errors.append((f"server:{SERVER_ENV}", Detail("server.toml-syntax", path=path, detail=exc)))
        return None
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o027:  # the group may read (640), nobody else may read, and only the owner may write
        who_en = "can change" if mode & 0o022 else "can read"
        who_vi = "sửa được" if mode & 0o022 else "đọc được"
        errors.append((f"server:{SERVER_ENV}", Detail("server.open-mode", path=path, mode=f"{mode:04o}",
                                                       who_en=who_en, who_vi=who_vi)))
    if st.st_uid not in (0, os.geteuid()):
        errors.append((f"server:{SERVER_ENV}", Detail("server.owner", path=path, uid=st.st_uid)))

    return _parse(path, raw, errors)


def _parse(path: str, raw: Mapping[str, Any], errors: list) -> ServerSettings:
    ledger_url = None
    notify = None
    channels: dict[str, Mapping[str, tuple[str, ...]]] = {}
    for key, value in raw.items():
        if key == "ledger" and isinstance(value, dict):
            for lk, lv in value.items():
                if lk != "url":
                    errors.append((f"server:ledger.{lk}", Detail("server.unknown-key")))
                elif not isinstance(lv, str):
                    errors.append(("server:ledger.url", _expected("a string", "một chuỗi văn bản", lv)))
                else:
                    ledger_url = lv
        elif key == "channels" and isinstance(value, dict):
            for name, table in value.items():
                if not isinstance(table, dict):
                    errors.append((f"server:channels.{name}", _expected("a table", "một bảng", table)))
                    continue
                approved = {}
                for opt, v in table.items():
                    values = [v] if isinstance(v, str) else v
                    if not isinstance(values, list) or not values or not all(isinstance(x, str) for x in values):
                        errors.append((f"server:channels.{name}.{opt}",
                                       _expected("a string or a list of strings", "một chuỗi hoặc một danh sách chuỗi", v)))
                        continue
                    approved[opt] = tuple(values)
                channels[name] = MappingProxyType(approved)
        elif key == "notify" and isinstance(value, dict):
            notify = _parse_notify(value, errors)
        else:
            errors.append((f"server:{key}", Detail("server.unknown-key")))
    return ServerSettings(path, ledger_url, MappingProxyType(channels), notify)


NOTIFY_ROLES = ("it", "board", "reports")
_SMTP_KEYS = {"host": str, "port": int, "security": str, "user": str, "password_env": str, "from": str,
              "timeout": int}
_TELEGRAM_KEYS = {"token_env": str, "chat_id": (str, int), "api_base": str, "roles": list}


def _parse_notify(raw: Mapping[str, Any], errors: list) -> NotifySettings:
    """``[notify]`` (see :class:`NotifySettings`); each wrong value is an error naming its key."""
    from pipeline.durations import parse_duration

    roles: dict[str, tuple[str, ...]] = {}
    authors: dict[str, str] = {}
    timing: dict[str, Any] = {}
    tables: dict[str, Mapping[str, Any] | None] = {"smtp": None, "telegram": None}
    for k, v in raw.items():
        where = f"server:notify.{k}"
        if k in NOTIFY_ROLES:
            values = [v] if isinstance(v, str) else v
            if not isinstance(values, list) or not all(isinstance(x, str) and "@" in x for x in values):
                errors.append((where, _expected("an e-mail address or a list of them", "một địa chỉ e-mail hoặc danh sách", v)))
            else:
                roles[k] = tuple(values)
        elif k == "authors" and isinstance(v, dict):
            for name, addr in v.items():
                if isinstance(addr, str) and "@" in addr:
                    authors[name] = addr
                else:
                    errors.append((f"{where}.{name}", _expected("an e-mail address", "một địa chỉ e-mail", addr)))
        elif k in ("reminder_after", "vendor_wait", "ledger_down"):
            try:
                timing[k] = parse_duration(v)
            except ValueError:
                errors.append((where, _expected('a duration such as "4h"', 'một khoảng thời gian như "4h"', v)))
        elif k == "digest_hour":
            if isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 23:
                timing[k] = v
            else:
                errors.append((where, _expected("an hour 0-23", "một giờ từ 0 đến 23", v)))
        elif k in tables and isinstance(v, dict):
            spec = _SMTP_KEYS if k == "smtp" else _TELEGRAM_KEYS
            ok = {}
            for opt, val in v.items():
                if opt not in spec:
                    errors.append((f"{where}.{opt}", Detail("server.unknown-key")))
                elif not isinstance(val, spec[opt]) or isinstance(val, bool):
                    errors.append((f"{where}.{opt}", _expected("another type", "kiểu khác", val)))
                else:
                    ok[opt] = val
            if k == "smtp" and ok.get("security", "starttls") not in ("starttls", "ssl", "none"):
                errors.append((f"{where}.security", _expected('"starttls", "ssl" or "none"',
                                                              '"starttls", "ssl" hoặc "none"', ok["security"])))
            required = ("host", "from") if k == "smtp" else ("token_env", "chat_id")
            missing = [r for r in required if r not in ok]
            if missing:
                errors.append((where, _expected(f"the keys {', '.join(required)}", f"các khóa {', '.join(required)}", v)))
            else:
                tables[k] = MappingProxyType(ok)
        else:
            errors.append((where, Detail("server.unknown-key")))
    return NotifySettings(MappingProxyType(roles), MappingProxyType(authors), tables["smtp"], tables["telegram"],
                          **timing)


def _expected(en: str, vi: str, value: Any) -> Detail:
    return Detail("server.expected", expected_en=en, expected_vi=vi, value=repr(value))


def ledger_url(env: Mapping[str, str], server: ServerSettings | None, configured: str | None,
               warnings: list) -> str | None:
    """The ledger: ``LOA_LEDGER_URL``, else the server file's, else config.toml's (a warning says
    when config.toml's is overruled, so nobody edits it in vain)."""
    for source, url in (("LOA_LEDGER_URL", env.get("LOA_LEDGER_URL")),
                        (f"{SERVER_ENV} ({server.path})" if server else "", server.ledger_url if server else None)):
        if url:
            if configured and configured != url:
                warnings.append(("ledger.url", Detail("server.ledger-ignored", source=source)))
            return url
    return configured


def check_channel(name: str, cls: Any, options: Mapping[str, Any], env: Mapping[str, str],
                  server: ServerSettings | None) -> list[tuple[str, Detail]]:
    """The refusals for one channel (``cls`` its publisher class, ``options`` its options as written):
    ``[]`` when it holds no secret, or sends only where the operator approved, reading only the
    variables it was allowed. The one decision; :mod:`pipeline.config` calls it at load, and a
    caller holding a different ``env`` (the engine) may call it again before building a publisher."""
    specs = {s.name: s for s in getattr(cls, "options", ())}
    secrets = {opt: var for opt, var in options.items()
               if (opt.endswith("_env") or getattr(specs.get(opt), "secret_env", False))
               and isinstance(var, str) and env.get(var)}
    if not secrets:
        return []
    approved = server.channels.get(name) if server else None
    where = server.path if server else f"{SERVER_ENV} is not set"
    errors: list[tuple[str, Detail]] = []
    endpoints = {opt: spec.default for opt, spec in specs.items() if _is_endpoint(spec)}
    endpoints.update((opt, None) for opt in options if opt in ENDPOINT_OPTIONS and opt not in specs)
    for opt, default in sorted(endpoints.items()):
        value = options.get(opt)
        if value is None:
            continue  # the publisher's default: the vendor's own address (or, when optional, none)
        if not isinstance(value, str):
            continue  # the type check has reported it
        if isinstance(default, str) and _same_endpoint(value, default):
            continue  # written out, but still the vendor's own address
        allowed = (approved or {}).get(opt, ())
        if any(_same_endpoint(value, a) for a in allowed):
            continue
        if server is None:
            why_en, why_vi = f"{SERVER_ENV} is not set, so only the vendor's own address is allowed", \
                f"chưa đặt {SERVER_ENV} nên chỉ được dùng địa chỉ chính thức của nhà cung cấp"
        elif approved is None:
            why_en, why_vi = "the server file has no table for this channel", "tệp máy chủ chưa có bảng cho kênh này"
        else:
            listed = ", ".join(allowed) or "none"
            why_en, why_vi = f"approved: {listed}", f"đã duyệt: {listed}"
        errors.append((f"channels.{name}.{opt}", Detail(
            "server.unapproved-endpoint", secrets=", ".join(sorted(secrets.values())), value=value, opt=opt,
            channel=name, server=where, why_en=why_en, why_vi=why_vi)))
    if server is not None:
        for opt, var in sorted(secrets.items()):
            allowed = (approved or {}).get(opt, ())
            if var not in allowed:
                listed_en = f" (it lists {', '.join(allowed)})" if allowed else ""
                listed_vi = f" (tệp ghi {', '.join(allowed)})" if allowed else ""
                errors.append((f"channels.{name}.{opt}", Detail(
                    "server.unapproved-secret", var=var, opt=opt, channel=name, server=server.path,
                    listed_en=listed_en, listed_vi=listed_vi)))
    return errors


def _is_endpoint(spec: Any) -> bool:
    return spec.name in ENDPOINT_OPTIONS or getattr(getattr(spec, "check", None), "__name__", "") == "http_url"


def _same_endpoint(value: str, approved: str) -> bool:
    """Same scheme, host and port, and a path equal to or below the approved one (``/wp`` approves
    ``/wp/`` and ``/wp/json``, not ``/wp-evil``). No user info, query or fragment on either side."""
    try:
        v, a = urlsplit(value.strip()), urlsplit(approved.strip())
        vport, aport = v.port, a.port
    except ValueError:
        return False
    if v.username is not None or v.password is not None or v.query or v.fragment:
        return False
    if not v.hostname or v.scheme.lower() != a.scheme.lower() or v.hostname != a.hostname:
        return False
    default = {"http": 80, "https": 443}.get(v.scheme.lower())
    if (vport or default) != (aport or default):
        return False
    vpath, apath = v.path.rstrip("/"), a.path.rstrip("/")
    return vpath == apath or vpath.startswith(apath + "/")
