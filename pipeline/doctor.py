"""``loa doctor``: what a deployment needs, checked one thing at a time and answered as data.

Each check returns :class:`Finding` values: which check, its outcome (``ok``, ``fix`` or ``skip``),
a message code from the catalogue with its arguments, and for ``fix`` the code of what to do. Nothing
here prints; ``loa doctor`` shows the findings in the user's language (Vietnamese by default). No
finding ever holds a secret's value: a secret is named by its variable, a URL is shown scrubbed.

The application layer (:meth:`pipeline.app.Session.doctor`) runs the checks in order; the choices
(thresholds, what is skipped and why) are written down in ``docs/operations.md``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Mapping

from pipeline import secrets
from pipeline.messages import Detail, localized, register, text

OK, FIX, SKIP = "ok", "fix", "skip"
#: Free space below this on the ledger's, the site's or the content's file system needs fixing.
MIN_FREE = 1 << 30
#: How long ``git ls-remote`` may take before the remote counts as unreachable.
GIT_TIMEOUT = 20.0
#: Leases and "is it due" are decided with each host's clock against the shared database's rows.
CLOCK_LIMIT = timedelta(seconds=30)


@dataclass(frozen=True)
class Finding:
    """One line of ``loa doctor``: ``check`` (config, secrets, ledger, permissions, git, disk, clock,
    channel), ``status`` (``ok``, ``fix``, ``skip``), the message ``code`` and its ``args``, and for
    ``fix`` the code of the instruction (``code + ".fix"``)."""

    check: str
    status: str
    code: str
    args: Mapping[str, Any] = field(default_factory=dict)

    @property
    def needs_fixing(self) -> bool:
        return self.status == FIX

    def text(self, lang: str) -> str:
        return text(self.code, lang, **{k: _said(v, lang) for k, v in self.args.items()})

    def fix(self, lang: str) -> str | None:
        if not self.needs_fixing:
            return None
        return text(self.code + ".fix", lang, **{k: _said(v, lang) for k, v in self.args.items()})


def _words(error: BaseException | str) -> str:
    """What an error says, as a finding's argument: its catalogue Detail when it was raised with one
    (shown in the reader's language by :func:`_said`), any other message as it is."""
    if isinstance(error, str):
        return error
    return error.args[0] if len(error.args) == 1 and isinstance(error.args[0], str) else str(error)


def _said(value: Any, lang: str) -> str:
    """An argument in ``lang``: a catalogue Detail localized, a tuple of them joined with "; "."""
    if isinstance(value, tuple):
        return "; ".join(localized(v, lang) for v in value)
    return localized(value, lang)


# -- config and secrets ---------------------------------------------------------------------------
def config_errors(error: Any) -> list[Finding]:
    """A ``ConfigError``: one finding per key."""
    return [Finding("config", FIX, "doctor.config-error", {"path": error.path or "config.toml", "key": key or "-",
                                                            "detail": detail}) for key, detail in error.errors]


def config_loaded(cfg: Any) -> Finding:
    return Finding("config", OK, "doctor.config-ok", {"path": cfg.path or cfg.root})


def channel_secrets(cfg: Any, env: Mapping[str, str]) -> list[Finding]:
    """Each enabled channel's ``*_env`` variables are set (the values are never read into a finding)."""
    out = []
    for name, ch in cfg.channels.items():
        names = [(opt, var) for opt, var in sorted(ch.options.items()) if opt.endswith("_env") and var]
        if not names:
            continue
        if not ch.enabled:
            out.append(Finding("secrets", SKIP, "doctor.secret-disabled", {"channel": name}))
            continue
        missing = [(opt, var) for opt, var in names if not env.get(var)]
        for opt, var in missing:
            out.append(Finding("secrets", FIX, "doctor.secret-missing", {"channel": name, "opt": opt, "var": var}))
        if not missing:
            out.append(Finding("secrets", OK, "doctor.secret-set",
                               {"channel": name, "vars": ", ".join(var for _, var in names)}))
    return out


# -- the ledger -------------------------------------------------------------------------------------
def ledger_state(ledger: Any, latest: int) -> tuple[list[Finding], bool]:
    """Reachable and migrated to ``latest``; ``True`` when the channels can be checked against it.
    A missing SQLite file is reported, never created (a new empty ledger would send everything again)."""
    from pipeline.errors import LedgerError

    where = ledger.where
    if ledger.dialect == "sqlite" and not ledger.path.exists():
        return [Finding("ledger", FIX, "doctor.ledger-missing", {"where": where})], False
    try:
        version = ledger.schema_version()
    except LedgerError as e:
        return [Finding("ledger", FIX, "doctor.ledger-unreachable", {"where": where, "reason": _words(e)})], False
    if version < latest:
        return [Finding("ledger", FIX, "doctor.ledger-unmigrated",
                        {"where": where, "version": version, "latest": latest})], False
    if version > latest:
        return [Finding("ledger", FIX, "doctor.ledger-newer", {"where": where, "version": version, "latest": latest})], False
    return [Finding("ledger", OK, "doctor.ledger-ok", {"where": where, "version": version})], True


def permissions(ledger: Any, env: Mapping[str, str]) -> list[Finding]:
    """var/ 0700 and every ``loa.db*`` file 0600 (SQLite); the server file 0600 or 0640."""
    from pipeline.server import SERVER_ENV

    wanted: list[tuple[Path, int, str]] = []  # (path, bits that must be clear, mode to set)
    if ledger.dialect == "sqlite":
        folder = ledger.path.parent
        if folder.is_dir():
            wanted.append((folder, 0o077, "700"))
            wanted += [(p, 0o077, "600") for p in sorted(folder.glob(ledger.path.name + "*")) if p.is_file()]
    server = env.get(SERVER_ENV)
    if server and Path(server).is_file():
        wanted.append((Path(server), 0o037, "600"))  # 640 with the service's group is allowed too
    out = []
    for path, forbidden, mode in wanted:
        have = path.stat().st_mode & 0o777
        status, code = (FIX, "doctor.mode-open") if have & forbidden else (OK, "doctor.mode-ok")
        out.append(Finding("permissions", status, code, {"path": str(path), "mode": f"{have:o}", "want": mode}))
    return out


# -- the content's git remote -----------------------------------------------------------------------
def git_remote(root: Path, *, timeout: float = GIT_TIMEOUT, run: Callable = subprocess.run) -> Finding:
    """``git ls-remote --exit-code origin`` in the content folder, within ``timeout`` seconds; skipped
    with a note when the folder is not a git clone or has no ``origin``."""
    quiet = dict(os.environ, GIT_TERMINAL_PROMPT="0")  # never wait for a password nobody types
    quiet.setdefault("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")

    def git(*argv: str, limit: float = 10.0):
        return run(["git", "-C", str(root), *argv], capture_output=True, text=True, timeout=limit, env=quiet)

    url = "origin"
    try:
        if git("rev-parse", "--is-inside-work-tree").returncode != 0:
            return Finding("git", SKIP, "doctor.git-not-clone", {"root": str(root)})
        found = git("remote", "get-url", "origin")
        if found.returncode != 0:
            return Finding("git", SKIP, "doctor.git-no-remote", {"root": str(root)})
        url = secrets.scrub_url(found.stdout.strip())
        done = git("ls-remote", "--exit-code", "origin", limit=timeout)
    except FileNotFoundError:
        return Finding("git", FIX, "doctor.git-missing", {})
    except subprocess.TimeoutExpired:
        return Finding("git", FIX, "doctor.git-unreachable",
                       {"url": url, "reason": Detail("doctor.git-timeout", seconds=f"{timeout:g}")})
    if done.returncode == 0:
        return Finding("git", OK, "doctor.git-ok", {"url": url})
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    # git's own last line is quoted as git said it; without one, Loa's words for the exit code
    reason = secrets.redact(lines[-1].strip())[:300] if lines else (
        Detail("doctor.git-no-branches") if done.returncode == 2 else Detail("doctor.git-exit", status=done.returncode))
    return Finding("git", FIX, "doctor.git-unreachable", {"url": url, "reason": reason})


# -- disk space and the clock ---------------------------------------------------------------------
def disk_space(places: list[Path], *, min_free: int = MIN_FREE) -> list[Finding]:
    """Free space on each file system holding one of ``places`` (a place not yet created is looked
    up at its nearest existing folder); each file system once."""
    out, seen = [], set()
    for place in places:
        p = Path(place)
        while not p.exists() and p != p.parent:
            p = p.parent
        dev = p.stat().st_dev
        if dev in seen:
            continue
        seen.add(dev)
        free = shutil.disk_usage(p).free
        args = {"path": str(place), "free": _size(free), "need": _size(min_free)}
        out.append(Finding("disk", FIX if free < min_free else OK,
                           "doctor.disk-low" if free < min_free else "doctor.disk-ok", args))
    return out


def places(cfg: Any, ledger: Any) -> list[Path]:
    """Where Loa writes: the SQLite ledger's folder, each enabled static site, the content clone."""
    import publishers
    from publishers.base import resolve_options

    out = [ledger.path.parent] if ledger.dialect == "sqlite" else []
    for name, ch in cfg.channels.items():
        if ch.enabled and ch.type == "static_site":
            out.append(cfg.root / resolve_options(name, publishers.get(ch.type).options, ch.options)["out_dir"])
    return out + [cfg.root]


def _size(n: int) -> str:
    return f"{n / (1 << 30):.1f} GiB" if n >= 1 << 30 else f"{n / (1 << 20):.0f} MiB"


def clock_offset(ledger: Any, *, limit: timedelta = CLOCK_LIMIT,
                 now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> Finding:
    """This host's clock against the PostgreSQL server's (``SELECT now()``, taken at the middle of
    the round trip). SQLite: skipped with a note, the host's clock is the only one in play."""
    from pipeline.errors import LedgerError

    if ledger.dialect != "postgresql":
        return Finding("clock", SKIP, "doctor.clock-sqlite", {})
    try:
        before = now()
        (server,), = ledger.query("SELECT now()")
        after = now()
    except LedgerError as e:
        return Finding("clock", SKIP, "doctor.clock-unknown", {"reason": _words(e)})
    offset = (before + (after - before) / 2 - server).total_seconds()
    args = {"offset": f"{offset:+.1f}", "limit": f"{limit.total_seconds():g}"}
    if abs(offset) > limit.total_seconds():
        return Finding("clock", FIX, "doctor.clock-off", args)
    return Finding("clock", OK, "doctor.clock-ok", args)


# -- channels -------------------------------------------------------------------------------------
def channels(reports: list, tz: Any) -> list[Finding]:
    """``Session.check_channels``'s reports: each channel's health, and posts scheduled after its
    credential expires."""
    out = []
    for r in reports:
        if r.health is None:
            out.append(Finding("channel", SKIP, "doctor.channel-disabled", {"channel": r.name}))
            continue
        detail = tuple(r.health.messages)  # each line localized when shown (Finding.text)
        out.append(Finding("channel", OK if r.health.ok else FIX,
                           "doctor.channel-ok" if r.health.ok else "doctor.channel-problem",
                           {"channel": r.name, "detail": detail}))
        if r.late:
            out.append(Finding("channel", FIX, "doctor.channel-late", {
                "channel": r.name, "count": len(r.late),
                "first": f"{r.late[0].astimezone(tz):%d/%m/%Y %H:%M}"}))
    return out


def channels_unchecked(error: BaseException | str | None) -> Finding:
    if error is None:
        return Finding("channel", SKIP, "doctor.channels-need-ledger", {})
    return Finding("channel", FIX, "doctor.channels-failed", {"reason": _words(error)})


register({
    "doctor.config-ok": ("cấu hình {path} đọc được", "the configuration {path} loads"),
    "doctor.config-error": ("{path}: {key}: {detail}", "{path}: {key}: {detail}"),
    "doctor.config-error.fix": ("sửa khóa `{key}` trong {path} (hoặc tệp cấu hình máy chủ) rồi chạy lại `loa doctor`",
                                "fix `{key}` in {path} (or the server file), then run `loa doctor` again"),
    "doctor.secret-set": ("kênh {channel}: đã có biến môi trường {vars}", "channel {channel}: {vars} set"),
    "doctor.secret-disabled": ("kênh {channel} đang tắt (enabled = false): không kiểm tra khóa bí mật",
                               "channel {channel} is disabled (enabled = false): its secrets are not checked"),
    "doctor.secret-missing": ("kênh {channel}: biến môi trường {var} ({opt}) chưa được đặt",
                              "channel {channel}: the environment variable {var} ({opt}) is not set"),
    "doctor.secret-missing.fix": (
        "ghi {var}=... vào tệp môi trường của dịch vụ (ví dụ /etc/loa/loa.env, quyền 0600), rồi `systemctl restart loa-run`",
        "put {var}=... in the service's environment file (e.g. /etc/loa/loa.env, mode 0600), then `systemctl restart loa-run`"),
    "doctor.ledger-ok": ("sổ cái {where}: truy cập được, lược đồ phiên bản {version} (mới nhất)",
                         "ledger {where}: reachable, schema version {version} (the latest)"),
    "doctor.ledger-missing": ("không có sổ cái tại {where}", "there is no ledger at {where}"),
    "doctor.ledger-missing.fix": (
        "nếu dịch vụ đã từng chạy: kiểm tra [ledger] url / LOA_LEDGER_URL (một sổ cái mới, trống sẽ đăng lại mọi bài) "
        "hoặc `loa restore BẢN-SAO`; nếu là máy chủ mới: `loa status` tạo sổ cái",
        "if the service ran before: check [ledger] url / LOA_LEDGER_URL (a new, empty ledger would send every post "
        "again) or `loa restore BACKUP`; on a new server `loa status` creates it"),
    "doctor.ledger-unreachable": ("không truy cập được sổ cái {where}: {reason}", "the ledger {where} cannot be reached: {reason}"),
    "doctor.ledger-unreachable.fix": (
        "kiểm tra máy chủ cơ sở dữ liệu, địa chỉ và mật khẩu trong LOA_LEDGER_URL (hoặc quyền đọc tệp sổ cái)",
        "check the database server, the address and password in LOA_LEDGER_URL (or that the ledger file can be read)"),
    "doctor.ledger-unmigrated": ("sổ cái {where} đang ở lược đồ phiên bản {version}, bản Loa này cần {latest}",
                                 "the ledger {where} is at schema version {version}; this Loa needs {latest}"),
    "doctor.ledger-unmigrated.fix": (
        "sao lưu (`loa backup var/truoc-nang-cap.db`), rồi chạy `loa status` hoặc khởi động lại dịch vụ: Loa tự nâng cấp lược đồ",
        "back it up (`loa backup var/before-upgrade.db`), then run `loa status` or restart the service: Loa migrates the schema"),
    "doctor.ledger-newer": ("sổ cái {where} ở lược đồ phiên bản {version}, mới hơn bản Loa này ({latest})",
                            "the ledger {where} is at schema version {version}, newer than this Loa knows ({latest})"),
    "doctor.ledger-newer.fix": ("cài bản Loa mới hơn (bản đã ghi sổ cái này)", "install the newer Loa that wrote this ledger"),
    "doctor.mode-ok": ("{path}: quyền {mode}", "{path}: mode {mode}"),
    "doctor.mode-open": ("{path}: quyền {mode}, người dùng khác đọc được (sổ cái giữ khóa bí mật của kênh)",
                         "{path}: mode {mode}, other users can read it (the ledger holds channel credentials)"),
    "doctor.mode-open.fix": ("chmod {want} {path}", "chmod {want} {path}"),
    "doctor.git-ok": ("kho nội dung: máy chủ git {url} trả lời", "content repository: the git remote {url} answers"),
    "doctor.git-not-clone": ("{root} không phải bản sao git: bỏ qua kiểm tra máy chủ git",
                             "{root} is not a git clone: the git remote is not checked"),
    "doctor.git-no-remote": ("kho {root} không có remote `origin`: bỏ qua kiểm tra máy chủ git",
                             "{root} has no `origin` remote: the git remote is not checked"),
    "doctor.git-missing": ("không tìm thấy lệnh git", "the git command is not installed"),
    "doctor.git-missing.fix": ("apt-get install git", "apt-get install git"),
    "doctor.git-unreachable": ("không truy cập được máy chủ git {url}: {reason}", "the git remote {url} cannot be reached: {reason}"),
    "doctor.git-timeout": ("không có trả lời sau {seconds} giây", "no answer within {seconds} s"),
    "doctor.git-no-branches": ("máy chủ git không có nhánh nào", "the remote has no branches"),
    "doctor.git-exit": ("git kết thúc với mã {status}", "git exited with {status}"),
    "doctor.git-unreachable.fix": (
        "thử `git ls-remote origin` bằng người dùng của dịch vụ; kiểm tra mạng, địa chỉ (`git remote -v`) và khóa triển khai (deploy key)",
        "try `git ls-remote origin` as the service user; check the network, the address (`git remote -v`) and the deploy key"),
    "doctor.disk-ok": ("{path}: còn trống {free}", "{path}: {free} free"),
    "doctor.disk-low": ("{path}: chỉ còn trống {free} (cần ít nhất {need})", "{path}: only {free} free (at least {need} needed)"),
    "doctor.disk-low.fix": ("giải phóng chỗ trống trên ổ đĩa này (bản sao lưu cũ, nhật ký cũ), hoặc mở rộng ổ",
                            "free space on this file system (old backups, old logs) or grow it"),
    "doctor.clock-ok": ("đồng hồ lệch {offset} giây so với máy chủ cơ sở dữ liệu (cho phép {limit})",
                        "the clock is {offset} s off the database server's (up to {limit} allowed)"),
    "doctor.clock-off": ("đồng hồ lệch {offset} giây so với máy chủ cơ sở dữ liệu (quá {limit} giây)",
                         "the clock is {offset} s off the database server's (more than {limit} s)"),
    "doctor.clock-off.fix": ("bật đồng bộ giờ trên cả hai máy (`timedatectl set-ntp true`, chrony)",
                             "turn on time synchronisation on both hosts (`timedatectl set-ntp true`, chrony)"),
    "doctor.clock-sqlite": ("sổ cái SQLite chỉ dùng đồng hồ của máy này: không so sánh; hãy bật đồng bộ giờ (`timedatectl`)",
                            "a SQLite ledger uses only this host's clock: nothing to compare; keep NTP on (`timedatectl`)"),
    "doctor.clock-unknown": ("không đọc được giờ của máy chủ cơ sở dữ liệu: {reason}", "cannot read the database server's time: {reason}"),
    "doctor.channel-ok": ("kênh {channel}: hoạt động ({detail})", "channel {channel}: working ({detail})"),
    "doctor.channel-problem": ("kênh {channel}: có vấn đề: {detail}", "channel {channel}: a problem: {detail}"),
    "doctor.channel-problem.fix": ("xem `loa channels check --channel {channel}` và mục thay khóa trong docs/security.md",
                                   "see `loa channels check --channel {channel}` and rotating secrets in docs/security.md"),
    "doctor.channel-disabled": ("kênh {channel} đang tắt", "channel {channel} is disabled"),
    "doctor.channel-late": ("kênh {channel}: {count} bài đã hẹn giờ sẽ đăng sau khi khóa hết hạn (bài đầu lúc {first})",
                            "channel {channel}: {count} scheduled post(s) would go out after its credential expires (first at {first})"),
    "doctor.channel-late.fix": ("gia hạn khóa của kênh {channel} trước thời điểm đó (docs/security.md)",
                                "renew the credential of channel {channel} before then (docs/security.md)"),
    "doctor.channels-need-ledger": ("chưa kiểm tra các kênh: cần sổ cái dùng được trước",
                                    "the channels are not checked: the ledger must be usable first"),
    "doctor.channels-failed": ("không kiểm tra được các kênh: {reason}", "the channels could not be checked: {reason}"),
    "doctor.channels-failed.fix": ("chạy `loa channels check` để xem chi tiết", "run `loa channels check` for details"),
    "doctor.summary-ok": ("mọi thứ đều ổn", "everything is in order"),
    "doctor.summary-fix": ("{count} việc cần sửa", "{count} thing(s) to fix"),
})
