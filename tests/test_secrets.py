"""Secrets never appear in what Loa stores, logs or prints (docs/security.md, "Secrets").

The end-to-end tests run real ``loa`` commands (separate processes, as cron and systemd run them)
against the local vendor stand-ins made to fail (500, 401, timeouts, a closed port, tokens with a
trailing CR/LF), then grep the SQLite ledger's bytes and every output and log for each secret.
The unit tests cover each form the redaction point removes.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import stat
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote, quote_plus
from zoneinfo import ZoneInfo

import pytest

from pipeline import secrets
from pipeline.config import load_config
from pipeline.errors import ConfigError
from tests.repo import CONFIG_HEAD, ROOT, make_repo, post, small_config
from tests.servers.facebook import FacebookServer
from tests.servers.mastodon import MastodonServer
from tests.servers.webhook import WebhookServer
from tests.servers.zalo import ZaloServer
from tests.test_facebook import png

VN = ZoneInfo("Asia/Ho_Chi_Minh")
FB_TOKEN = "EAAGsecretFacebookPageToken" + "q" * 30
TG_TOKEN = "7012345678:AAHsecretTelegramBotToken_zz-ABCDEFG"
MASTO_TOKEN = "mastodon-secret-token-9f8e7d"
HOOK_TOKEN = "webhook-secret-bearer-1a2b3c"
ZALO_SECRET = "zalo-app-secret-5e6f7a"
PG_PASSWORD = "pg-secret-pass-4d5e"

CONFIG = small_config(["facebook", "zalo", "telegram", "mastodon", "hook"]) + """
[channels.facebook]
type = "facebook"
page_id = "{fb_page}"
token_env = "LOA_FB_TOKEN"
api_base = "{fb}"
[channels.zalo]
type = "zalo"
app_id = "{zalo_app}"
app_secret_env = "LOA_ZALO_SECRET"
refresh_token_env = "LOA_ZALO_REFRESH"
api_base = "{zalo}"
oauth_base = "{zalo}"
[channels.telegram]
type = "telegram"
chat_id = "@ubnd_loa"
token_env = "LOA_TG_TOKEN"
api_base = "{tg}"
pace_seconds = 0
[channels.mastodon]
type = "mastodon"
instance_url = "{masto}"
token_env = "LOA_MASTODON_TOKEN"
timeout = 1
[channels.hook]
type = "webhook"
url = "{hook}/items"
token_env = "LOA_HOOK_TOKEN"
timeout = 1
[daemon]
retry_base = "1s"
max_attempts = 3
"""


SERVER = """
[channels.facebook]
api_base = "{fb}"
token_env = "LOA_FB_TOKEN"
[channels.zalo]
api_base = "{zalo}"
oauth_base = "{zalo}"
app_secret_env = "LOA_ZALO_SECRET"
refresh_token_env = "LOA_ZALO_REFRESH"
[channels.telegram]
api_base = "{tg}"
token_env = "LOA_TG_TOKEN"
[channels.mastodon]
instance_url = "{masto}"
token_env = "LOA_MASTODON_TOKEN"
[channels.hook]
url = "{hook}/items"
token_env = "LOA_HOOK_TOKEN"
"""


@pytest.fixture(autouse=True)
def _fresh_registry():
    secrets.forget_all()
    yield
    secrets.forget_all()


def closed_port() -> str:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"


class World:
    """Failing stand-ins and a content repository with one due post for every channel."""

    def __init__(self, tmp_path: Path):
        self.fb = FacebookServer(token="EAAGsomeOtherToken" + "x" * 30).start()  # ours is unknown: 401
        self.zalo = ZaloServer(app_secret=ZALO_SECRET).start()
        _, self.zalo_refresh = self.zalo.issue()
        self.masto = MastodonServer(tokens={MASTO_TOKEN: "ubnd"}).start()
        self.hook = WebhookServer().start()
        self.tg_url = closed_port()  # the bot token travels in the URL path of a refused request
        # Zalo's token service hands out tokens with a trailing CR/LF: Loa stores them (they are
        # the channel's credentials now) and then requests refuses the header that carries them
        self.zalo_access = "zalo-runtime-access-77aa\r\n"
        self.zalo_new_refresh = "zalo-runtime-refresh-88bb\r\n"
        for _ in range(20):
            self.zalo.inject("/v4/oa/access_token", status=200, body={
                "access_token": self.zalo_access, "refresh_token": self.zalo_new_refresh, "expires_in": "3600"})
            self.masto.inject("/api/v1/", status=500, body={"error": f"internal error near {MASTO_TOKEN}"})
            self.hook.inject("/items", delay=3)  # longer than timeout = 1: "maybe sent"
        now = datetime.now(VN) - timedelta(minutes=30)
        config = CONFIG.format(fb_page=self.fb.page_id, fb=self.fb.url, zalo_app=self.zalo.app_id,
                               zalo=self.zalo.url, tg=self.tg_url, masto=self.masto.url, hook=self.hook.url)
        self.root = make_repo(tmp_path / "repo", {
            "news/anh.png": png(),
            "news/a.md": post(id="20240325-aaaaaa", publish_at=now.strftime("%Y-%m-%d %H:%M"), image="anh.png",
                              image_alt="Ảnh hội nghị tại Phường 1")}, config=config)
        # the server's approval of these local endpoints (pipeline/server.py, docs/security.md)
        server = tmp_path / "server.toml"
        server.write_text(SERVER.format(fb=self.fb.url, zalo=self.zalo.url, tg=self.tg_url, masto=self.masto.url,
                                        hook=self.hook.url), encoding="utf-8")
        server.chmod(0o600)
        self.env = {**os.environ, "LOA_SERVER_CONFIG": str(server), "LOA_FB_TOKEN": FB_TOKEN, "LOA_TG_TOKEN": TG_TOKEN,
                    "LOA_MASTODON_TOKEN": MASTO_TOKEN, "LOA_HOOK_TOKEN": HOOK_TOKEN,
                    "LOA_ZALO_SECRET": ZALO_SECRET, "LOA_ZALO_REFRESH": self.zalo_refresh,
                    "PYTHONPATH": str(ROOT), "LOA_LANG": "en"}
        self.env.pop("LOA_LEDGER_URL", None)
        self.outputs: list[str] = []

    def stop(self) -> None:
        for s in (self.fb, self.zalo, self.masto, self.hook):
            s.stop()

    def loa(self, *argv: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
        p = subprocess.run([sys.executable, "-m", "pipeline", "--config", str(self.root / "config.toml"), *argv],
                           capture_output=True, text=True, env=env or self.env, cwd=self.root, timeout=timeout)
        self.outputs.append(f"$ loa {' '.join(argv)} -> {p.returncode}\n{p.stdout}\n{p.stderr}")
        return p

    @property
    def db(self) -> Path:
        return self.root / "var" / "loa.db"

    def ledger_bytes(self) -> bytes:
        return b"".join(p.read_bytes() for p in self.db.parent.glob(self.db.name + "*") if p.is_file())

    def ledger_texts(self, *, skip_publisher_state: bool) -> list[str]:
        """Every text cell of every table, except (if asked) the publisher state Loa keeps on purpose."""
        conn = sqlite3.connect(self.db)
        try:
            out = []
            for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
                for row in conn.execute(f'SELECT * FROM "{table}"'):
                    if skip_publisher_state and table == "kv" and str(row[0]).startswith("pub:"):
                        continue
                    out += [str(c) for c in row if c is not None]
            return out
        finally:
            conn.close()


def spellings(value: str) -> set[str]:
    """What a leaked secret would look like in an output: as is, stripped, escaped, URL-encoded."""
    core = value.strip()
    return {core, json.dumps(core)[1:-1], repr(core)[1:-1], quote(core, safe="")}


def assert_absent(texts, values, where: str) -> None:
    for text in texts:
        for value in values:
            for form in spellings(value):
                assert form not in text, f"a secret ({form[:6]}...) appears in {where}:\n{text[:2000]}"


@pytest.fixture
def world(tmp_path):
    w = World(tmp_path)
    yield w
    w.stop()


def test_nothing_secret_in_ledger_output_or_logs_after_failing_runs(world):
    env_secrets = [FB_TOKEN, TG_TOKEN, MASTO_TOKEN, HOOK_TOKEN, ZALO_SECRET, world.zalo_refresh]
    runtime = [world.zalo_access, world.zalo_new_refresh]

    first = world.loa("-v", "-v", "publish")
    assert first.returncode != 0
    world.loa("-v", "-v", "publish")  # a retry pass: the errors are written again
    daemon = world.loa("-v", "-v", "run", "--once")
    status = world.loa("status", "--format", "json")
    world.loa("status")
    world.loa("log", "--format", "json")
    world.loa("log")
    world.loa("-v", "-v", "channels", "check")

    # the failures really happened (or nothing would have been tested)
    rows = sqlite3.connect(world.db).execute("SELECT channel, state, last_error FROM publications").fetchall()
    errors = {ch: (state, err or "") for ch, state, err in rows}
    assert set(errors) >= {"facebook", "zalo", "telegram", "mastodon", "hook"}, errors
    assert all(state != "published" for state, _ in errors.values()), errors
    assert "***" in errors["zalo"][1] or "could not be built" in errors["zalo"][1], errors["zalo"]
    assert "could not connect" in errors["telegram"][1], errors["telegram"]
    assert world.zalo.calls("POST", "/v4/oa/access_token"), "Zalo's refresh never ran"
    assert json.loads(status.stdout)  # status JSON is still JSON after redaction
    assert "DEBUG" in daemon.stderr  # the daemon's log was at debug level (urllib3 prints URLs there)

    assert_absent(world.outputs, env_secrets + runtime, "a command's output or log")
    ledger = world.ledger_bytes().decode("latin-1")
    assert_absent([ledger], env_secrets, "the ledger file")
    # the refreshed Zalo tokens are kept on purpose (the channel's credentials, docs/security.md),
    # only under pub:zalo: keys; nowhere else in the ledger
    assert_absent(world.ledger_texts(skip_publisher_state=True), env_secrets + runtime, "a ledger row")


def test_a_header_refused_for_a_line_break_holds_the_channel_instead_of_retrying(world):
    world.loa("publish")
    conn = sqlite3.connect(world.db)
    state, attempts = conn.execute(
        "SELECT state, attempts FROM publications WHERE channel = 'zalo'").fetchone()
    maybe = conn.execute("SELECT count(*) FROM kv WHERE key LIKE 'maybe-sent:%zalo' AND value IS NOT NULL").fetchone()
    assert state == "failed" and maybe == (0,), (state, attempts)
    held = world.loa("status", "--format", "json").stdout
    assert "zalo" in held and "could not be built" in held


def test_bearer_tokens_with_a_line_break_set_after_load_never_reach_ledger_or_output(world):
    """The reported leak: Mastodon and webhook tokens with a trailing CR/LF (the environment changed
    after the config was loaded), requests quoting the header, the token in last_error and status."""
    from pipeline.app import Session
    from pipeline.ledger import open_ledger

    clean = {k: v for k, v in world.env.items()}
    cfg = load_config(world.root / "config.toml", env=clean)
    secrets.forget_all()  # only what the publishers themselves read at run time is known now
    late = dict(clean, LOA_MASTODON_TOKEN=MASTO_TOKEN + "\r\n", LOA_HOOK_TOKEN=HOOK_TOKEN + "\n")

    def ledger():
        lg = open_ledger(None, world.root)
        lg.migrate()
        return lg

    with Session(cfg, ledger, owner="test", env=late) as s:
        result = s.publish()
    lines = "\n".join(result.lines)
    conn = sqlite3.connect(world.db)
    rows = dict(conn.execute("SELECT channel, state FROM publications").fetchall())
    maybe = conn.execute("SELECT key FROM kv WHERE key LIKE 'maybe-sent:%' AND value IS NOT NULL").fetchall()
    conn.close()
    assert rows["mastodon"] == rows["hook"] == "failed", rows  # held, not retried 8 times
    assert not [k for (k,) in maybe if k.endswith((":mastodon", ":hook"))], maybe
    outputs = [lines, world.loa("status", "--format", "json").stdout, world.loa("log", "--format", "json").stdout,
               world.loa("status").stdout]
    assert "could not be built" in outputs[1]
    assert_absent(outputs, [MASTO_TOKEN, HOOK_TOKEN], "an output")
    assert_absent([world.ledger_bytes().decode("latin-1")], [MASTO_TOKEN, HOOK_TOKEN], "the ledger file")


def test_files_holding_the_ledger_are_private(world):
    world.loa("publish")
    assert stat.S_IMODE(world.db.parent.stat().st_mode) == 0o700
    for p in world.db.parent.iterdir():
        if p.name.startswith("loa.db"):
            assert stat.S_IMODE(p.stat().st_mode) == 0o600, p


def test_a_secret_with_a_line_break_is_a_config_error_naming_key_and_variable(world):
    env = dict(world.env, LOA_MASTODON_TOKEN=MASTO_TOKEN + "\r\n")
    p = world.loa("check", env=env)
    assert p.returncode == 2
    assert "channels.mastodon.token_env" in p.stderr and "LOA_MASTODON_TOKEN" in p.stderr
    assert "control character" in p.stderr
    assert_absent([p.stdout + p.stderr], [MASTO_TOKEN], "the config error")


def test_config_error_for_every_c0_character(tmp_path):
    root = make_repo(tmp_path, config=CONFIG_HEAD + """
[channels.hook]
type = "webhook"
url = "https://hook.example/items"
token_env = "LOA_HOOK_TOKEN"
""")
    def token_errors(value: str) -> list[str]:
        try:
            load_config(root / "config.toml", env={"LOA_HOOK_TOKEN": value})
        except ConfigError as e:  # other keys of this small config may be refused too: not ours
            return [str(d) for k, d in e.errors if k == "channels.hook.token_env"]
        return []

    for ch in ("\r", "\n", "\t", "\x00", "\x1b", "\x7f"):
        (message,) = token_errors(f"tok{ch}en-123456")
        assert "LOA_HOOK_TOKEN" in message and "control character" in message and "tok" not in message
    assert token_errors("token-123456") == []
    assert secrets.redact("x token-123456 y") == "x *** y"  # registered at load


def test_postgres_password_in_a_query_parameter_is_never_printed(world):
    url = f"postgresql://loa@127.0.0.1:{closed_port().rsplit(':', 1)[1]}/loa?password={PG_PASSWORD}&connect_timeout=2"
    for argv in (("status",), ("-v", "-v", "publish"), ("log",)):
        p = world.loa(*argv, env=dict(world.env, LOA_LEDGER_URL=url))
        assert p.returncode != 0
        assert "password=***" in p.stderr or "***" in p.stderr, p.stderr
        assert_absent([p.stdout + p.stderr], [PG_PASSWORD], "a PostgreSQL error")


def test_postgres_ledger_where_is_scrubbed():
    pytest.importorskip("psycopg")
    from pipeline.ledger.postgres import PostgresLedger

    for url in (f"postgresql://loa:{PG_PASSWORD}@db/loa", f"postgresql://loa@db/loa?sslmode=require&password={PG_PASSWORD}",
                f"postgresql+psycopg://loa@db/loa?password={PG_PASSWORD}"):
        assert PG_PASSWORD not in PostgresLedger(url).where
    assert secrets.redact(f"FATAL: password authentication failed ({PG_PASSWORD})") .count(PG_PASSWORD) == 0


# -- the redaction point, one form at a time ------------------------------------------------
TOKEN = "s3cr3t+tok/en=AB"


def test_redacts_every_spelling_of_a_registered_value():
    secrets.register(TOKEN + "\r\n")
    for text in (TOKEN, f"x{TOKEN}y", repr(TOKEN + "\r\n"), json.dumps(TOKEN + "\r\n"),
                 quote(TOKEN, safe=""), quote(TOKEN), quote_plus(TOKEN),
                 f"https://h/p?a={quote_plus(TOKEN)}"):
        out = secrets.redact(text)
        for form in spellings(TOKEN):
            assert form not in out, (text, out)
        assert "***" in out


def test_redacts_shapes_whatever_the_value():
    cases = {
        "Invalid header value: 'Bearer abc.def-ghi\\r\\n'": "Bearer ***",
        "Authorization: bearer Zm9vYmFyYmF6": "bearer ***",
        "url: /bot123456789:AAH_some-secret-token-value/sendMessage": "/bot***/sendMessage",
        "https://graph.example/me?access_token=EAAG123&fields=id": "access_token=***&fields=id",
        "postgresql://loa:hunter22@db:5432/loa": "postgresql://loa:***@db:5432/loa",
        "postgresql://loa@db/loa?password=hunter22": "?password=***",
        "{'secret_key': 'abc123456'}": "'secret_key': '***'",
    }
    for text, expected in cases.items():
        assert expected in secrets.redact(text), (text, secrets.redact(text))


def test_short_and_empty_values_are_not_registered():
    secrets.register("", None, "ab", "   ")
    assert secrets.registered() == 0
    assert secrets.redact("ab cd") == "ab cd"


def test_longer_values_win_over_their_own_substrings():
    secrets.register("abcdef", "abcdefghij")
    assert secrets.redact("[abcdefghij]") == "[***]"


def test_redact_data_keeps_json_shape():
    secrets.register(TOKEN)
    data = secrets.redact_data({"reason": f"bad {TOKEN}", "status": 401, "list": [TOKEN], "none": None})
    assert data == {"reason": "bad ***", "status": 401, "list": ["***"], "none": None}


def test_publisher_state_registers_token_fields_only():
    from publishers.base import MemoryState, _ProtectedState

    st = _ProtectedState(MemoryState())
    st.set("zalo.access", json.dumps({"token": "runtime-token-1234", "expires_at": "2030-01-01T00:00:00"}))
    st.set("zalo.refresh", json.dumps({"refresh_token": "runtime-refresh-5678", "seed": "abc"}))
    st.set("masto.post", json.dumps({"id": "123456", "url": "https://m/1", "media_sha": "deadbeef"}))
    out = secrets.redact("runtime-token-1234 runtime-refresh-5678 2030-01-01T00:00:00 123456 deadbeef")
    assert out == "*** *** 2030-01-01T00:00:00 123456 deadbeef"


def test_publisher_secret_and_protect_register():
    from publishers.webhook import WebhookPublisher

    pub = WebhookPublisher("hook", {"url": "https://hook.example/items", "token_env": "T"}, env={"T": "read-at-run-time"})
    pub.protect("obtained-at-run-time")
    assert secrets.redact("read-at-run-time obtained-at-run-time") == "*** ***"
    pub.close()


def test_log_filter_redacts_message_arguments_and_traceback():
    secrets.register(TOKEN)
    logger = logging.getLogger("loa.test.secrets")
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(self.format(record))

    h = Keep()
    h.addFilter(secrets.FILTER)
    logger.addHandler(h)
    try:
        logger.warning("token is %s", TOKEN)
        try:
            raise ValueError(f"header {TOKEN!r}")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(h)
    assert all(TOKEN not in r for r in records) and "ValueError" in records[1], records


def test_redacting_stream_catches_a_value_split_across_writes():
    import io

    buf = io.StringIO()
    s = secrets.RedactingStream(buf)
    secrets.register(TOKEN)
    s.write(TOKEN[:5])
    s.write(TOKEN[5:] + "\n")
    s.write("tail " + TOKEN)
    s.flush()
    assert TOKEN not in buf.getvalue() and buf.getvalue() == "***\ntail ***"


def test_private_file_and_dir(tmp_path):
    old = os.umask(0o022)
    try:
        f = secrets.private_file(tmp_path / "var" / "x.db")
        fd = secrets.open_private(tmp_path / "var" / "x.lock")
        os.close(fd)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "var").stat().st_mode) == 0o700
    assert stat.S_IMODE(f.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "var" / "x.lock").stat().st_mode) == 0o600
