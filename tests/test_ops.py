"""The IT officer's verbs: channels check (expiry warnings), log search, the daemon's report job;
and the Vietnamese date filters used by templates."""

from __future__ import annotations

import json
import secrets
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from pipeline.cli import main
from pipeline.config import load_config
from pipeline.ledger import open_ledger
from pipeline.app import Session
from pipeline.vndates import dmy, ngay, thu
from tests.repo import approve, make_repo, post
from tests.servers.facebook import FacebookServer

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def test_vietnamese_date_filters():
    assert ngay(date(2024, 1, 5)) == "ngày 05 tháng 01 năm 2024"
    assert ngay(date(2024, 2, 28)) == "ngày 28 tháng 02 năm 2024"
    assert ngay(date(2024, 3, 12)) == "ngày 12 tháng 3 năm 2024"
    assert dmy(datetime(2024, 3, 24, 20, 0, tzinfo=ZoneInfo("UTC")), VN) == "25/3/2024"  # converted to the site zone
    assert thu(date(2024, 3, 25)) == "thứ Hai" and thu(date(2024, 3, 31)) == "Chủ nhật"


def _fb_repo(tmp_path, server, posts, extra=""):
    cfg = (make_repo.__globals__["ROOT"] / "config.toml").read_text(encoding="utf-8")
    cfg = cfg.replace('[channels.facebook]\ntype = "facebook"\nenabled = false\npage_id = "123456789"',
                      f'[channels.facebook]\ntype = "facebook"\nenabled = true\npage_id = "{server.page_id}"\napi_base = "{server.url}"'
                      + extra)
    return make_repo(tmp_path, posts, config=cfg)


def test_channels_check_shows_expiry_and_warns_about_later_posts(tmp_path, monkeypatch, capsys):
    token = "EAAG" + secrets.token_urlsafe(30)
    with FacebookServer() as server:
        server.add_token(token, expires_in=3 * 86400)
        when = (datetime.now(VN) + timedelta(days=5)).strftime("%Y-%m-%d %H:%M")
        app = f'\napp_id = "{server.app_id}"\napp_secret_env = "LOA_FACEBOOK_APP_SECRET"'
        root = _fb_repo(tmp_path, server, {"news/a.md": post(publish_at=when, channels=["facebook"], unit="phuong-vung-tau")},
                        extra=app)
        monkeypatch.chdir(root)
        monkeypatch.setenv("LOA_FACEBOOK_TOKEN", token)
        # expiry comes from debug_token, which Facebook answers only to an app token (app_id|secret)
        monkeypatch.setenv("LOA_FACEBOOK_APP_SECRET", server.app_secret)
        monkeypatch.setenv("LOA_SERVER_CONFIG", approve({"facebook": {"api_base": server.url,
                                                                      "token_env": "LOA_FACEBOOK_TOKEN",
                                                                      "app_secret_env": "LOA_FACEBOOK_APP_SECRET"}}))
        code = main(["--lang", "en", "channels", "check", "--channel", "facebook"])
        out = capsys.readouterr().out
        assert code == 0, out
        assert out.startswith("facebook (facebook): OK, expires ")
        assert "WARNING: 1 scheduled post(s) would go out after the credential expires" in out
        assert token not in out and server.app_secret not in out
        monkeypatch.setenv("LOA_FACEBOOK_TOKEN", "EAAGwrong")
        assert main(["--lang", "en", "channels", "check", "--channel", "facebook"]) == 1
        out = capsys.readouterr().out
        assert "facebook (facebook): PROBLEM" in out and "EAAGwrong" not in out


def test_log_search_ignores_case_diacritics_and_tone_style(tmp_path, monkeypatch, capsys):
    root = make_repo(tmp_path, {
        "news/a.md": post(id="a", title="Hội nghị tập huấn chuyển đổi số", channels=["portal"], approved_by="Lê Thị Mai"),
        "news/b.md": post(id="b", title="Phường 1 hoà giải ở cơ sở", channels=["portal"]),
    }, config_extra="")
    cfg_text = (root / "config.toml").read_text().replace('require_approval = ["portal"]', "require_approval = []")
    (root / "config.toml").write_text(cfg_text)
    monkeypatch.chdir(root)
    assert main(["publish", "--now", "2024-03-25 09:00"]) == 0
    capsys.readouterr()
    assert main(["log", "--search", "CHUYEN DOI SO", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["post_id"] for r in rows] == ["a"] and rows[0]["url"].endswith(".html")
    assert main(["--lang", "en", "log", "--search", "hòa giải", "--format", "csv"]) == 0  # Vietnamese headers: test_i18n
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "published,channel,state,unit,type,post_id,title,url" and ",b," in out


def test_daemon_writes_each_report_the_morning_after_its_cut_off(tmp_path):
    root = make_repo(tmp_path, {"news/a.md": post(id="a", channels=["portal"], publish_at="2024-03-10 08:00")})
    cfg = load_config(root / "config.toml", env={})
    factory = lambda: open_ledger(None, root)  # noqa: E731
    lg = factory()
    lg.migrate()
    lg.close()
    t = datetime(2024, 3, 10, 9, 0, tzinfo=VN)
    # the board's approval is not needed for this test: publish straight through the engine
    cfg2 = load_config(root / "config.toml", env={})
    object.__setattr__(cfg2, "require_approval", ())
    with Session(cfg2, factory, owner="w", clock=lambda: t, env={}) as s:
        s.publish(now=t)
    write_due_reports = Session(cfg, factory, env={}).write_due_reports
    assert write_due_reports(datetime(2024, 3, 14, 7, 30, tzinfo=VN)) == []  # not yet
    written = write_due_reports(datetime(2024, 3, 15, 7, 30, tzinfo=VN))
    names = sorted(p.name for p in written)
    assert names == sorted(f"2024-{k}.{f}" for k in ("Q1", "03") for f in ("docx", "html", "json"))
    data = json.loads((root / "reports/2024-Q1.json").read_text())
    assert data["totals"]["items"] == 1 and data["period"]["key"] == "2024-Q1"
    # frozen: a second run the same morning leaves them alone
    assert write_due_reports(datetime(2024, 3, 15, 8, 0, tzinfo=VN)) == []
