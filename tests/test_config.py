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
