"""The content repository is not trusted with the server (docs/security.md).

A commit can neither run code on the server (every template renders in Jinja's sandbox) nor make Loa
send a credential to a host the server's operator did not approve (pipeline.server).
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import jinja2
import pytest

from pipeline import app, server
from pipeline.config import load_config
from pipeline.errors import ConfigError, RenderError
from tests.repo import ROOT, make_repo, post, small_config

PAYLOADS = [
    "{{ cycler.__init__.__globals__.os.popen('touch %(marker)s').read() }}",
    "{{ self.__init__.__globals__['os'].popen('touch %(marker)s').read() }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}{{ lipsum.__globals__['os'].popen('touch %(marker)s') }}",
]


def write_server_file(path: Path, text: str, mode: int = 0o600) -> Path:
    """A server file as the IT officer writes it (mode 0600 unless told)."""
    path.write_text(text, encoding="utf-8")
    os.chmod(path, mode)
    return path


# -- templates: Jinja's sandbox everywhere ---------------------------------------------------------

@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_channel_template_cannot_run_a_command(tmp_path, payload):
    marker = tmp_path / "pwned"
    root = make_repo(tmp_path / "repo", {"news/a.md": post(channels=["portal", "telegram"])})
    (root / "templates/telegram").mkdir(parents=True)
    (root / "templates/telegram/post.html").write_text("<b>{{ post.title }}</b>" + payload % {"marker": marker})
    cfg = load_config(root / "config.toml", env={})
    with app.Session.open(cfg) as session:
        content = session.content()
        renderer = session.renderer(content)
        renderings, errors = renderer.render_all(content.posts[0], ["portal", "telegram"])
    assert [r.channel for r in renderings] == ["portal"]  # the other channel of the post still renders
    assert len(errors) == 1 and isinstance(errors[0], RenderError)
    assert (errors[0].post_id, errors[0].channel) == ("20240325-aaaaaa", "telegram")
    assert "template error" in errors[0].reason and "unsafe" in errors[0].reason
    assert not marker.exists()


@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_preview_template_cannot_run_a_command(tmp_path, payload):
    from pipeline.preview import build_preview

    marker = tmp_path / "pwned"
    root = make_repo(tmp_path / "repo", {"news/a.md": post(channels=["portal"])})
    (root / "templates/preview").mkdir(parents=True)
    shipped = (ROOT / "templates/preview/post.html").read_text(encoding="utf-8")
    assert shipped.count("{% block main %}") == 1
    (root / "templates/preview/post.html").write_text(
        shipped.replace("{% block main %}", "{% block main %}" + payload % {"marker": marker}))
    cfg = load_config(root / "config.toml", env={})
    with app.Session.open(cfg) as session, pytest.raises(jinja2.sandbox.SecurityError):
        build_preview(session, root / "out", None, now=datetime(2024, 4, 1, tzinfo=timezone.utc), jobs=1)
    assert not marker.exists()


@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_report_template_cannot_run_a_command(tmp_path, payload):
    from pipeline.report import write_report
    from test_report import SPECS, LedgerFactory, fill, report_for

    marker = tmp_path / "pwned"
    templates = tmp_path / "templates"
    (templates / "report").mkdir(parents=True)
    (templates / "report/report.html.j2").write_text("<p>{{ title }}</p>" + payload % {"marker": marker})
    factory = LedgerFactory("sqlite", tmp_path)
    try:
        ledger = factory.new()
        fill(ledger, SPECS[:20])
        report = report_for(ledger, "2024")
        with pytest.raises(RenderError) as caught:  # a LoaError: a message and exit 1, not a traceback
            write_report(report, "html", tmp_path / "out/report.html", templates_dir=templates)
    finally:
        factory.close()
    assert caught.value.channel == "report.html.j2" and "unsafe" in caught.value.reason
    assert not marker.exists()
    assert not (tmp_path / "out/report.html").exists()


def test_the_sandbox_keeps_loa_filters_strict_undefined_and_refuses_mutation_and_huge_values(tmp_path):
    from zoneinfo import ZoneInfo

    from pipeline.templating import environment

    env = environment([tmp_path], ZoneInfo("Asia/Ho_Chi_Minh"), autoescape=False)
    assert isinstance(env, jinja2.sandbox.ImmutableSandboxedEnvironment)
    when = datetime(2024, 3, 25, 1, 0, tzinfo=timezone.utc)
    assert env.from_string("{{ t | gio }} {{ t | dmy }} {{ 'ab' * 3 }} {{ 2 ** 10 }}").render(t=when) == \
        f"{env.filters['gio'](when)} {env.filters['dmy'](when)} ababab 1024"
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ misspelt }}").render()
    for source in ("{{ items.append(4) }}", "{{ d.update(x=1) }}", "{{ 'a' * 10000000 }}", "{{ 9 ** 9999999 }}",
                   "{{ (items * 1000000) | length }}"):
        with pytest.raises(jinja2.sandbox.SecurityError):
            env.from_string(source).render(items=[1, 2, 3], d={})


def test_every_jinja_environment_in_pipeline_is_the_sandboxed_one():
    """Loa builds its Jinja environments in pipeline.templating only (the static site's two pages are
    fixed strings in code, not templates from the content repository; the web console's environment
    loads only the templates shipped in Loa's own package, never the content repository's, and its
    tests in test_web_security.py check that every field from a post is escaped)."""
    offenders = []
    for folder in ("pipeline", "publishers"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            if "jinja2.Environment(" in text or "jinja2.sandbox" in text and path.name != "templating.py":
                offenders.append(str(path.relative_to(ROOT)))
    assert set(offenders) <= {"publishers/static_site.py", "pipeline/web/views.py"}, offenders


# -- endpoints: where a credential may go -----------------------------------------------------------

TG = small_config(["telegram"]) + """
[channels.telegram]
type = "telegram"
chat_id = "@ubnd"
token_env = "LOA_TG_TOKEN"
{extra}
"""
TOKEN = "7012345678:AAHsecret-value-never-shown"


def tg_config(tmp_path: Path, extra: str = "") -> Path:
    return make_repo(tmp_path / "repo", config=TG.format(extra=extra)) / "config.toml"


def errors_of(path: Path, env: dict) -> dict[str, str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, env=env)
    return {key: str(msg) for key, msg in caught.value.errors}


def test_without_any_secret_nothing_changes(tmp_path):
    cfg = load_config(tg_config(tmp_path, 'api_base = "http://anywhere.example"'), env={})
    assert cfg.channels["telegram"].options["api_base"] == "http://anywhere.example"
    sample = load_config(ROOT / "config.toml", env={})  # README's `loa publish` on the sample content
    assert sample.server is None


def test_a_secret_may_go_to_the_vendors_own_address_without_a_server_file(tmp_path):
    load_config(tg_config(tmp_path), env={"LOA_TG_TOKEN": TOKEN})
    load_config(tg_config(tmp_path / "b", 'api_base = "https://api.telegram.org/"'), env={"LOA_TG_TOKEN": TOKEN})


def test_a_commit_cannot_send_the_bot_token_elsewhere(tmp_path):
    errors = errors_of(tg_config(tmp_path, 'api_base = "https://api.telegram.org.evil.example"'),
                       {"LOA_TG_TOKEN": TOKEN})
    assert errors == {"channels.telegram.api_base": (
        "this channel sends its secrets (LOA_TG_TOKEN) to https://api.telegram.org.evil.example, an address the "
        "server has not approved (LOA_SERVER_CONFIG is not set, so only the vendor's own address is allowed); the "
        "IT officer must add `api_base = \"https://api.telegram.org.evil.example\"` to [channels.telegram] in the "
        "server file (LOA_SERVER_CONFIG is not set) if that address is right, or else revert the change to "
        "config.toml")}
    assert TOKEN not in str(errors)


def test_the_server_file_approves_addresses_and_the_variables_each_channel_reads(tmp_path):
    path = tg_config(tmp_path, 'api_base = "http://127.0.0.1:8081/bots"')
    server_file = write_server_file(tmp_path / "server.toml", """
        [ledger]
        url = "sqlite:///var/lib/loa/ledger.db"
        [channels.telegram]
        api_base = ["http://127.0.0.1:8081/bots", "https://tg-proxy.example.gov.vn"]
        token_env = "LOA_TG_TOKEN"
    """.replace("\n        ", "\n"))
    env = {"LOA_TG_TOKEN": TOKEN, "LOA_SERVER_CONFIG": str(server_file), "LOA_ZALO_SECRET": "other"}
    cfg = load_config(path, env=env)
    assert cfg.ledger_url == "sqlite:///var/lib/loa/ledger.db" and cfg.server.path == str(server_file)
    for api_base in ("http://127.0.0.1:8081/bots/v2", "https://TG-PROXY.example.gov.vn/"):
        load_config(tg_config(tmp_path / api_base[-3:], f'api_base = "{api_base}"'), env=env)
    for api_base in ("http://127.0.0.1:8082/bots", "http://127.0.0.1:8081/bots-evil", "https://127.0.0.1:8081/bots",
                     "http://127.0.0.1:8081@evil.example/bots", "https://tg-proxy.example.gov.vn.evil.example",
                     "https://tg-proxy.example.gov.vn/?u=x"):
        errors = errors_of(tg_config(tmp_path / str(abs(hash(api_base))), f'api_base = "{api_base}"'), env)
        assert list(errors) == ["channels.telegram.api_base"], api_base
        assert "approved: http://127.0.0.1:8081/bots, https://tg-proxy.example.gov.vn" in errors[
            "channels.telegram.api_base"]
    # an approved address, but a commit makes the channel read another credential of the server
    swapped = make_repo(tmp_path / "swap", config=TG.format(extra='api_base = "http://127.0.0.1:8081/bots"')
                        .replace('"LOA_TG_TOKEN"', '"LOA_ZALO_SECRET"')) / "config.toml"
    assert errors_of(swapped, env) == {"channels.telegram.token_env": (
        f"this channel reads the variable LOA_ZALO_SECRET, which the server file ({server_file}) does not allow it "
        "(it lists LOA_TG_TOKEN); the IT officer must add `token_env = \"LOA_ZALO_SECRET\"` to [channels.telegram] "
        "if that is right, or else revert the change to config.toml")}


def test_with_a_server_file_every_channel_holding_a_secret_needs_its_table(tmp_path):
    server_file = write_server_file(tmp_path / "server.toml", "[channels.other]\ntoken_env = \"X\"\n")
    errors = errors_of(tg_config(tmp_path), {"LOA_TG_TOKEN": TOKEN, "LOA_SERVER_CONFIG": str(server_file)})
    assert list(errors) == ["channels.telegram.token_env"]  # the vendor's address, but an unlisted variable


@pytest.mark.parametrize("mode, needle", [(0o644, "other users can read it"), (0o620, "other users can change it")])
def test_the_server_file_must_be_private(tmp_path, mode, needle):
    server_file = write_server_file(tmp_path / "server.toml", "", mode)
    errors = errors_of(tg_config(tmp_path), {"LOA_SERVER_CONFIG": str(server_file)})
    assert needle in errors["server:LOA_SERVER_CONFIG"] and f"chmod 600 {server_file}" in errors["server:LOA_SERVER_CONFIG"]
    write_server_file(server_file, "", 0o640)
    load_config(tg_config(tmp_path / "b"), env={"LOA_SERVER_CONFIG": str(server_file)})


def test_a_missing_or_broken_server_file_is_an_error(tmp_path):
    errors = errors_of(tg_config(tmp_path), {"LOA_SERVER_CONFIG": str(tmp_path / "nowhere.toml")})
    assert "cannot read the server file" in errors["server:LOA_SERVER_CONFIG"]
    bad = write_server_file(tmp_path / "bad.toml", "surprise = true\n[channels.telegram]\napi_base = 3\n")
    errors = errors_of(tg_config(tmp_path / "b"), {"LOA_SERVER_CONFIG": str(bad)})
    assert set(errors) == {"server:channels.telegram.api_base", "server:surprise"}


def test_the_ledger_env_wins_then_the_server_file_and_config_toml_is_then_ignored_with_a_warning(tmp_path):
    path = make_repo(tmp_path / "repo", config=TG.format(extra="") + '[ledger]\nurl = "sqlite:///elsewhere.db"\n')
    server_file = write_server_file(tmp_path / "server.toml", '[ledger]\nurl = "sqlite:///server.db"\n')
    cfg = load_config(path / "config.toml", env={"LOA_SERVER_CONFIG": str(server_file)})
    assert cfg.ledger_url == "sqlite:///server.db"
    assert [k for k, _ in cfg.warnings] == ["ledger.url"]
    cfg = load_config(path / "config.toml", env={"LOA_SERVER_CONFIG": str(server_file), "LOA_LEDGER_URL": "sqlite:///env.db"})
    assert cfg.ledger_url == "sqlite:///env.db"


def test_every_channel_type_with_a_secret_is_held_to_its_approved_addresses(tmp_path):
    """Each publisher's address options, found from its OptionSpecs (a new publisher is covered too)."""
    import publishers

    seen = {}
    for ptype in publishers.known_types():
        cls = publishers.get(ptype)
        secret_opts = [s.name for s in cls.options if s.secret_env]
        endpoints = [s.name for s in cls.options if server._is_endpoint(s)]
        seen[ptype] = sorted(endpoints)
        if not secret_opts:
            continue
        options = {s: f"LOA_{s.upper()}" for s in secret_opts}
        options.update({e: "https://attacker.example" for e in endpoints})
        env = {v: "x" for v in options.values() if v.startswith("LOA_")}
        keys = [k for k, _ in server.check_channel("c", cls, options, env, None)]
        assert keys == [f"channels.c.{e}" for e in sorted(endpoints)], ptype
    assert seen == {"facebook": ["api_base"], "loudspeaker": ["push_url", "speech_url"],
                    "mastodon": ["instance_url"], "static_site": [], "telegram": ["api_base"],
                    "webhook": ["url"], "wordpress": ["url"], "zalo": ["api_base", "oauth_base"]}


def test_loa_publish_refuses_to_start_and_the_other_host_receives_nothing(tmp_path, monkeypatch, capsys):
    from pipeline.cli import main
    from tests.servers.telegram import TelegramServer

    with TelegramServer(TOKEN) as evil:
        root = make_repo(tmp_path / "repo", {"news/a.md": post(channels=["telegram"])},
                         config=TG.format(extra=f'api_base = "{evil.url}"'))
        monkeypatch.chdir(root)
        monkeypatch.setenv("LOA_TG_TOKEN", TOKEN)
        monkeypatch.delenv("LOA_SERVER_CONFIG", raising=False)
        assert main(["publish", "--now", "2024-03-25 09:00"]) == 2
        assert evil.calls() == []
    err = capsys.readouterr().err
    assert "channels.telegram.api_base" in err and TOKEN not in err


def test_a_server_file_inside_the_content_repository_is_refused(tmp_path):
    path = tg_config(tmp_path)
    inside = write_server_file(path.parent / "server.toml", "[channels.telegram]\ntoken_env = \"LOA_TG_TOKEN\"\n")
    errors = errors_of(path, {"LOA_TG_TOKEN": TOKEN, "LOA_SERVER_CONFIG": str(inside)})
    assert "is inside the content repository" in errors["server:LOA_SERVER_CONFIG"]
