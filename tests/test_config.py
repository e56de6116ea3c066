from datetime import date, timedelta
from pathlib import Path

import pytest

from pipeline.config import build_config, load_config
from pipeline.errors import ConfigError
from pipeline.messages import Detail
from tests.repo import ROOT, make_repo


def test_sample_config_describes_vung_tau_2024():
    cfg = load_config(ROOT / "config.toml", env={})
    assert cfg.tz.key == "Asia/Ho_Chi_Minh"
    assert cfg.org_lines == ("ỦY BAN NHÂN DÂN", "THÀNH PHỐ VŨNG TÀU")
    assert cfg.org_place == "Vũng Tàu"
    assert {"phong-vhtt", "ttvhttt", "phuong-1", "xa-long-son"} <= set(cfg.units)
    assert cfg.units["phuong-1"].successor == "phuong-vung-tau"
    assert cfg.units["phuong-1"].in_force(date(2024, 3, 25))
    assert not cfg.units["phuong-1"].in_force(date(2025, 7, 1))
    assert cfg.units["phuong-vung-tau"].in_force(date(2025, 7, 1))
    assert {"news", "guide"} <= set(cfg.types)
    assert {"cchc", "chuyen-doi-so", "do-thi-thong-minh", "dvc-truc-tuyen", "buu-chinh-cong-ich"} <= set(cfg.topics)
    assert cfg.require_approval == ("portal",)
    assert cfg.channels["portal"].type == "static_site"
    assert cfg.channels["portal"].max_lateness is None  # the portal has no lateness limit
    assert cfg.channels["facebook"].max_lateness == timedelta(hours=24)  # social default
    assert cfg.channels["facebook"].min_interval == timedelta(minutes=30)


MINIMAL = """
[site]
name = "Cổng"
base_url = "https://example.gov.vn"
[organization]
name_lines = ["ỦY BAN NHÂN DÂN"]
place = "Vũng Tàu"
[[units]]
id = "phuong-1"
name = "Phường 1"
kind = "ward"
[content.types.news]
label = "Tin tức"
channels = ["portal"]
[content.topics]
cchc = "Cải cách hành chính"
[channels.portal]
type = "static_site"
"""


def test_minimal_config_gets_defaults(tmp_path):
    make_repo(tmp_path, config=MINIMAL)
    cfg = load_config(tmp_path / "config.toml", env={})
    assert cfg.language == "vi" and cfg.tz.key == "Asia/Ho_Chi_Minh"
    assert cfg.content_dir == tmp_path / "content"
    assert cfg.ledger_url is None


def test_every_error_is_collected_with_its_dotted_key(tmp_path):
    bad = MINIMAL.replace('timezone', 'x') + """
[daemon]
tick = "ten minutes"
[editorial]
require_approval = ["portl"]
[channels.fb]
type = "facebok"
[[units]]
id = "Phuong 2"
name = "Phường 2"
kind = "village"
successor = "nowhere"
"""
    bad = bad.replace('base_url = "https://example.gov.vn"', 'base_url = "example.gov.vn"\ntimezone = "Asia/Hanoi_Typo"')
    make_repo(tmp_path, config=bad)
    with pytest.raises(ConfigError) as ei:
        load_config(tmp_path / "config.toml", env={})
    keys = dict(ei.value.errors)
    assert "site.base_url" in keys and "http" in keys["site.base_url"]
    assert "site.timezone" in keys
    assert "daemon.tick" in keys
    assert "editorial.require_approval" in keys and "portl" in keys["editorial.require_approval"]
    assert "channels.fb.type" in keys and "expected one of:" in keys["channels.fb.type"]
    assert "units[1].id" in keys
    assert keys["units[1].kind"].startswith("expected one of: department")
    assert "units[1].successor" in keys
    assert ei.value.exit_code == 2


def test_unknown_key_warns_with_suggestion(tmp_path):
    make_repo(tmp_path, config=MINIMAL.replace('place = "Vũng Tàu"', 'place = "Vũng Tàu"\nplcae = "x"').replace(
        '[channels.portal]\ntype = "static_site"', '[channels.portal]\ntype = "static_site"\nout_dri = "site"'))
    cfg = load_config(tmp_path / "config.toml", env={})
    w = dict(cfg.warnings)
    assert w["organization.plcae"] == "unknown key; did you mean 'place'?"
    assert w["channels.portal.out_dri"] == "unknown key; did you mean 'out_dir'?"


def test_a_channel_option_outside_its_choices_is_an_error_at_load(tmp_path):
    """Reported by `loa check` with every other mistake, not first when the channel is built."""
    make_repo(tmp_path, config=MINIMAL + '\n[channels.m]\ntype = "mastodon"\ninstance_url = "https://m.example"\n'
              'token_env = "LOA_M"\nvisibility = "publik"\n[channels.w]\ntype = "wordpress"\nurl = "https://w.example"\n'
              'username = "u"\npassword_env = "LOA_W"\nstatus = "published"\n')
    with pytest.raises(ConfigError) as ei:
        load_config(tmp_path / "config.toml", env={})
    errors = dict(ei.value.errors)
    assert errors["channels.m.visibility"] == ("expected one of: public, unlisted, private, direct but received: "
                                               "'publik'; did you mean 'public'?")
    assert "did you mean 'publish'?" in errors["channels.w.status"]


def test_a_channel_address_that_is_not_http_is_an_error_at_load(tmp_path):
    """Reported by `loa check` with every other mistake, not first when the channel is built."""
    make_repo(tmp_path, config=MINIMAL + '\n[channels.m]\ntype = "mastodon"\ninstance_url = "ftp://m.example"\n'
              'token_env = "LOA_M"\n[channels.w]\ntype = "wordpress"\nurl = "congtt.example.gov.vn"\n'
              'username = "u"\npassword_env = "LOA_W"\n[channels.t]\ntype = "telegram"\nchat_id = "@x"\n'
              'token_env = "LOA_T"\napi_base = "http://"\n[channels.ok]\ntype = "webhook"\nurl = "http://127.0.0.1:9/items"\n')
    with pytest.raises(ConfigError) as ei:
        load_config(tmp_path / "config.toml", env={})
    errors = dict(ei.value.errors)
    assert errors["channels.m.instance_url"] == "expected an http:// or https:// address but received: 'ftp://m.example'"
    assert "'congtt.example.gov.vn'" in errors["channels.w.url"] and "'http://'" in errors["channels.t.api_base"]
    assert not any(k.startswith("channels.ok") for k in errors)
    assert Detail("config.bad-url", value="'x'").localized("vi").startswith("cần một địa chỉ http:// hoặc https://")


def test_literal_secret_is_an_error(tmp_path):
    make_repo(tmp_path, config=MINIMAL + '\n[channels.tg]\ntype = "telegram"\nenabled = false\nchat_id = "@x"\ntoken = "123:ABC"\n')
    with pytest.raises(ConfigError) as ei:
        load_config(tmp_path / "config.toml", env={})
    keys = dict(ei.value.errors)
    assert "channels.tg.token" in keys
    assert "token_env" in keys["channels.tg.token"]
    assert "123:ABC" not in str(ei.value)  # the secret is never repeated back


def test_toml_syntax_error_is_reported(tmp_path):
    make_repo(tmp_path, config="[site\nname=")
    with pytest.raises(ConfigError) as ei:
        load_config(tmp_path / "config.toml", env={})
    assert "TOML syntax error" in str(ei.value)


def test_ledger_url_from_environment_wins(tmp_path):
    make_repo(tmp_path, config=MINIMAL + '\n[ledger]\nurl = "sqlite:///x.db"\n')
    cfg = load_config(tmp_path / "config.toml", env={"LOA_LEDGER_URL": "postgresql://127.0.0.1/test"})
    assert cfg.ledger_url == "postgresql://127.0.0.1/test"


def test_missing_config_says_where(tmp_path):
    with pytest.raises(ConfigError) as ei:
        load_config(None)
    assert "no config.toml" in str(ei.value)


# -- every value has a range checked at load; no config value can crash a command -------------------

def _errors_of(tmp_path, extra: str) -> dict:
    make_repo(tmp_path, config=MINIMAL + extra)
    try:
        load_config(tmp_path / "config.toml", env={})
    except ConfigError as exc:
        return dict(exc.errors)
    return {}


@pytest.mark.parametrize("extra, key, words", [
    ('[daemon]\nlease = "0s"\n', "daemon.lease", "at least"),
    ('[daemon]\nmax_attempts = -1\n', "daemon.max_attempts", "-1 is out of range: from 1 to 100"),
    ('[daemon]\nworkers = -3\n', "daemon.workers", "-3 is out of range: from 1 to 64"),
    ('[daemon]\ntick = "0s"\n', "daemon.tick", "out of range"),
    ('[report]\nsend_hour = 24\n', "report.send_hour", "24 is out of range: from 0 to 23"),
])
def test_out_of_range_values_are_errors_at_load(tmp_path, extra, key, words):
    errors = _errors_of(tmp_path, extra)
    assert key in errors and words in errors[key], errors


def test_a_huge_duration_is_an_error_not_a_traceback(tmp_path):
    errors = _errors_of(tmp_path, 'min_interval = "9999999999d"\n')  # appended inside [channels.portal]
    assert list(errors) == ["channels.portal.min_interval"] and "'9999999999d'" in errors["channels.portal.min_interval"]
    errors = _errors_of(tmp_path, 'min_interval = "31d"\n')
    assert errors == {"channels.portal.min_interval": "'31d' is out of range: from 0s to 30d"}


def test_max_lateness_none_is_accepted_as_documented(tmp_path):
    make_repo(tmp_path, config=MINIMAL + '\n[channels.fb]\ntype = "mastodon"\ninstance_url = "https://m.example"\n'
              'token_env = "LOA_M"\nmax_lateness = "none"\n[channels.fb2]\ntype = "mastodon"\n'
              'instance_url = "https://m.example"\ntoken_env = "LOA_M"\nmax_lateness = "None"\n')
    cfg = load_config(tmp_path / "config.toml", env={})
    assert cfg.channels["fb"].max_lateness is None and cfg.channels["fb2"].max_lateness is None


@pytest.mark.parametrize("url, ok", [
    ("{base_url}/{type}/{slug}.html", True),
    ("{base_url}/{year}/{id}-{slug}/", True),
    ("{base_url}/{category}/{slug}.html", False),
    ("{base_url}/{slug", False),
    ("{base_url}/}", False),
    ("{base_url}/{slug.__class__}", False),
    ("{base_url}/{year:>99999999999}", False),
    ("{base_url}/{slug!r}", False),
])
def test_article_url_may_use_only_its_fields(tmp_path, url, ok):
    make_repo(tmp_path, config=MINIMAL.replace('base_url = "https://example.gov.vn"',
                                               f'base_url = "https://example.gov.vn"\narticle_url = "{url}"'))
    try:
        load_config(tmp_path / "config.toml", env={})
        errors = {}
    except ConfigError as exc:
        errors = dict(exc.errors)
    assert ("site.article_url" not in errors) is ok, errors
    if not ok:
        assert "the fields are base_url, type, slug, id, year" in errors["site.article_url"]


def test_a_webhook_channel_is_not_social_unless_it_says_so(tmp_path):
    """`social = false` is the documented default: no 24 h stale rule, so archive posts are sent."""
    make_repo(tmp_path, config=MINIMAL + '\n[channels.hook]\ntype = "webhook"\nurl = "http://127.0.0.1:9/items"\n'
              '[channels.hook2]\ntype = "webhook"\nurl = "http://127.0.0.1:9/items"\nsocial = false\n'
              '[channels.feedbot]\ntype = "webhook"\nurl = "http://127.0.0.1:9/items"\nsocial = true\n')
    cfg = load_config(tmp_path / "config.toml", env={})
    assert cfg.channels["hook"].max_lateness is None
    assert cfg.channels["hook2"].max_lateness is None
    assert cfg.channels["feedbot"].max_lateness == timedelta(hours=24)


def test_ranges_are_in_the_generated_reference():
    from pipeline.schema import reference_markdown

    ref = reference_markdown()
    assert "Channels sent to in parallel. Range: 1 to 64." in ref
    assert (ROOT / "docs/configuration.md").read_text(encoding="utf-8").count(" Range: ") >= 10


# -- the property: whatever the values, load_config returns or raises ConfigError, and loa check
# -- answers with an exit code, never a traceback ----------------------------------------------------

import contextlib  # noqa: E402
import datetime as _dt  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import tomllib  # noqa: E402

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from pipeline import schema  # noqa: E402

BASE = MINIMAL + """
[[organization.history]]
valid_from = 2025-07-01
name_lines = ["ỦY BAN NHÂN DÂN", "PHƯỜNG VŨNG TÀU"]
place = "Vũng Tàu"
[[blackouts]]
start = 2024-04-30
end = 2024-05-02
reason = "Nghỉ lễ"
[[feeds]]
name = "bcp"
url = "https://example.gov.vn/rss"
unit = "phuong-1"
[channels.hook]
type = "webhook"
url = "http://127.0.0.1:9/items"
"""


def _scalar_keys():
    """(path, Key) of every value the schema declares, the path into BASE's parsed tables."""
    out = []

    def walk(section, path):
        for k in section.keys:
            p = path + ((k.name, 0) if k.many else (k.name,))
            if k.section is not None:
                walk(k.section, p)
            else:
                out.append((p, k))
        ok = section.open_keys
        if ok is not None:
            name = {"<type>": "news", "<topic>": "cchc", "<name>": "hook"}[ok.name]
            if ok.section is not None:
                walk(ok.section, path + (name,))
            elif ok is schema.CHANNEL:
                for k in schema.CHANNEL_COMMON:
                    out.append((path + (name, k.name), k))
                for name2 in ("portal",):
                    out.append((path + (name2, "max_lateness"), schema.CHANNEL_COMMON[3]))
            else:
                out.append((path + (name,), ok))
    walk(schema.SCHEMA, ())
    return out


KEYS = _scalar_keys()
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
ANY = st.one_of(st.integers(min_value=-2**63, max_value=2**63 - 1), TEXT, st.booleans(),
                st.floats(allow_nan=True, allow_infinity=True), st.lists(st.integers(), max_size=3),
                st.lists(TEXT, max_size=3), st.dates(), st.datetimes(), st.dictionaries(TEXT, st.integers(), max_size=2))
DURATION = st.one_of(st.builds(lambda n, u: f"{n}{u}", st.integers(min_value=0, max_value=10**22),
                               st.sampled_from(["ms", "s", "m", "h", "d", "w", ""])),
                     st.sampled_from(["none", "None", "", "1h30m", "-5m", "1.5.5s", "0s", "nan s"]), TEXT)
URLISH = st.sampled_from(["{base_url}/{slug}", "{base_url}/{nope}", "{", "}", "{0}", "{}", "{year:>999999999}",
                          "{slug.__class__}", "{id!r}", "https://x/{year}/{id}", "{{literal}}"])


def _values(k):
    if k.duration:
        good = DURATION
    elif k.choices:
        good = st.sampled_from(list(k.choices) + ["facebok", ""])
    elif k.name == "type" and k in schema.CHANNEL_COMMON:
        good = st.sampled_from(["webhook", "static_site", "facebook", "mastodon", "nope"])
    elif k.type is int:
        good = st.one_of(st.integers(min_value=-10**30, max_value=10**30), st.integers(min_value=-3, max_value=30))
    elif k.type is bool:
        good = st.booleans()
    elif k.type is list:
        good = st.lists(st.one_of(TEXT, st.sampled_from(["portal", "hook", "cchc"])), max_size=3)
    elif k.type is dict:
        good = st.dictionaries(TEXT, st.one_of(st.integers(), st.dictionaries(TEXT, st.integers(), max_size=2)), max_size=2)
    elif isinstance(k.type, tuple):
        good = st.one_of(st.dates(), st.datetimes())
    else:
        good = st.one_of(TEXT, URLISH) if k.name == "article_url" else TEXT
    return st.one_of(good, good, ANY)


CHANGES = st.lists(st.integers(min_value=0, max_value=len(KEYS) - 1).flatmap(
    lambda i: st.tuples(st.just(i), _values(KEYS[i][1]))), min_size=1, max_size=4)


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf") if math.isinf(v) else repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(v, (_dt.datetime, _dt.date)):
        return v.isoformat()
    if isinstance(v, list):
        return "[" + ", ".join(map(_toml_value, v)) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(k, ensure_ascii=False)} = {_toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(v)


def _toml(data: dict, prefix: str = "") -> str:
    lines, tables = [], []
    for k, v in data.items():
        name = json.dumps(k, ensure_ascii=False)
        if isinstance(v, dict) and v and all(isinstance(x, dict) for x in v.values()) or (isinstance(v, dict) and prefix == "" ):
            tables.append((f"{prefix}{name}", v))
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            for item in v:
                lines.append(f"[[{prefix}{name}]]")
                lines.extend(f"{json.dumps(a, ensure_ascii=False)} = {_toml_value(b)}" for a, b in item.items())
        else:
            lines.insert(0, f"{name} = {_toml_value(v)}")
    out = "\n".join(lines) + "\n"
    for name, v in tables:
        scalars = {a: b for a, b in v.items() if not (isinstance(b, dict) and b and all(isinstance(x, dict) for x in b.values()))}
        nested = {a: b for a, b in v.items() if a not in scalars}
        out += f"[{name}]\n" + "".join(f"{json.dumps(a, ensure_ascii=False)} = {_toml_value(b)}\n"
                                       for a, b in scalars.items())
        out += _toml(nested, name + ".") if nested else ""
    return out


def _apply(raw: dict, path: tuple, value) -> None:
    node = raw
    for step in path[:-1]:
        node = node[step] if isinstance(step, int) else node.setdefault(step, {})
    node[path[-1]] = value


def _config_text(changes) -> str:
    raw = tomllib.loads(BASE)
    for i, value in changes:
        _apply(raw, KEYS[i][0], value)
    return _toml(raw)


def test_the_toml_writer_round_trips_the_base():
    assert tomllib.loads(_toml(tomllib.loads(BASE))) == tomllib.loads(BASE)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(CHANGES)
def test_no_config_value_makes_load_config_raise_anything_but_config_error(tmp_path_factory, changes):
    root = tmp_path_factory.mktemp("cfg")
    (root / "config.toml").write_text(_config_text(changes), encoding="utf-8")
    try:
        load_config(root / "config.toml", env={})
    except ConfigError:
        pass


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(CHANGES)
def test_no_config_value_makes_loa_check_traceback(tmp_path_factory, changes):
    from pipeline.cli import main
    from tests.repo import post

    root = make_repo(tmp_path_factory.mktemp("chk"), {"news/a.md": post(channels=["portal", "hook"])},
                     config=_config_text(changes))
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["--config", str(root / "config.toml"), "check"])
    assert code in (0, 1, 2), err.getvalue()
    assert "Traceback" not in err.getvalue() and "internal error" not in err.getvalue(), err.getvalue()


def test_a_unit_date_with_a_time_is_an_error_at_load(tmp_path):
    """Found by the property: a TOML date-time is also a date, and crashed loa check's comparison."""
    make_repo(tmp_path, config=MINIMAL.replace('kind = "ward"', 'kind = "ward"\nvalid_from = 2024-01-01T08:00:00'))
    with pytest.raises(ConfigError) as ei:
        load_config(tmp_path / "config.toml", env={})
    assert dict(ei.value.errors)["units[0].valid_from"] == ("expected a date (2024-03-25) without a time but received: "
                                                            "'2024-01-01T08:00:00'")
