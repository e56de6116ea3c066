"""TelegramPublisher against the local Bot API stand-in (tests/servers/telegram.py), over real HTTP."""

from __future__ import annotations

import json
import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.errors import PermanentPublishError, PublisherAuthError, TransientPublishError
from pipeline.models import PublishResult, Rendering
from publishers.telegram import TelegramPublisher, to_telegram_html
from tests.servers.base import FakeClock
from tests.servers.facebook import parse_multipart
from tests.servers.telegram import TelegramServer, visible
from tests.test_facebook import png

TOKEN = "7012345678:AAHloaTestSecret_token-ABCDEFGHIJKLMN123"
ENV = {"LOA_TG_TOKEN": TOKEN}
CHANNEL = -1001987654321
LINK = "https://cong.loa.gov.vn/tin-tuc/lich-tiep-cong-dan"


def rendering(post_id: str, body: str, *, kind: str = "text", image=None, limit: int | None = None) -> Rendering:
    return Rendering(post_id=post_id, channel="telegram", channel_type="telegram", kind=kind, title="Tiêu đề",
                     body=body, length=TelegramPublisher.measure(body), limit=limit, source_hash="s-" + post_id,
                     hash="h-" + post_id, image_path=image, link=LINK)


@pytest.fixture
def tg():
    with TelegramServer(TOKEN) as server:
        server.add_chat(CHANNEL, username="ubnd_loa", title="UBND Thành phố Loa")
        yield server


def make(server: TelegramServer, *, clock: FakeClock | None = None, **opts) -> TelegramPublisher:
    """A publisher for ``server``; with ``clock``, publisher and server share that fake time."""
    options = {"chat_id": "@ubnd_loa", "token_env": "LOA_TG_TOKEN", "api_base": server.url, "pace_seconds": 0, **opts}
    if clock is None:
        return TelegramPublisher("telegram", options, env=ENV)
    server.use_clock(clock)
    return TelegramPublisher("telegram", options, env=ENV, clock=clock, sleep=clock.sleep)


@pytest.fixture
def pub(tg):
    p = make(tg)
    yield p
    p.close()


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "hoi-nghi.png"
    path.write_bytes(png())
    return path


# -- counting and conversion ------------------------------------------------------------------------
SAMPLES = [
    "<b>Lịch tiếp công dân</b>\n\nThứ Năm &amp; thứ Sáu &lt;8h&gt; <a href=\"https://x.vn/?a=1&amp;b=2\">xem</a>",
    "  <i>khoảng trắng</i> ở hai đầu  \n",
    "Số &#272;&#x1EA1;i &quot;trích dẫn&quot; và &nbsp; giữ nguyên",
    "Biểu tượng 🇻🇳 và 👍🏽 <tg-spoiler>ẩn</tg-spoiler> <pre><code class=\"language-python\">a &lt; b</code></pre>",
]


@pytest.mark.parametrize("text", SAMPLES)
def test_measure_counts_what_the_server_counts(text):
    assert TelegramPublisher.measure(text) == len(visible(text, "HTML")[0])


_piece = st.one_of(
    st.text(st.characters(blacklist_characters="<>&", blacklist_categories=("Cs",)), max_size=12),
    st.sampled_from(["&lt;", "&gt;", "&amp;", "&quot;", "&#39;", "&#x1F600;", "&copy;", "& "]),
)


@st.composite
def _markup(draw, depth=0):
    parts = draw(st.lists(_piece, max_size=4))
    if depth < 2 and draw(st.booleans()):
        tag = draw(st.sampled_from(["b", "i", "u", "s", "code", "a href=\"https://loa.vn/?q=1&amp;r=2\""]))
        parts.append(f"<{tag}>" + draw(_markup(depth + 1)) + f"</{tag.split()[0]}>")
    return "".join(parts)


@settings(max_examples=150, deadline=None)
@given(_markup())
def test_measure_agrees_with_telegrams_parser_on_any_markup(text):
    assert TelegramPublisher.measure(text) == len(visible(text, "HTML")[0])


ARTICLE = """<h2>Hướng dẫn nộp hồ sơ</h2>
<p>Người dân nộp qua <a href="https://dichvucong.gov.vn/p?a=1&amp;b=2">Cổng DVCTT</a>, phí &lt;50.000đ&gt;.</p>
<ul><li><p>Bước <strong>1</strong>: đăng nhập</p></li><li>Bước 2: <em>chọn</em> thủ tục<ol><li>hộ tịch</li></ol></li></ul>
<p><img src="a.png" alt="ảnh"> Mã hồ sơ: <code>H01&amp;2</code><br>Hotline: 1900</p>
<aside class="correction"><p>Đính chính: sửa giờ làm việc.</p></aside><script>x()</script>"""


def test_article_html_becomes_telegram_html_the_server_accepts(tg, pub):
    text = to_telegram_html(ARTICLE)
    assert text == (
        "<b>Hướng dẫn nộp hồ sơ</b>\n\n"
        "Người dân nộp qua <a href=\"https://dichvucong.gov.vn/p?a=1&amp;b=2\">Cổng DVCTT</a>, phí &lt;50.000đ&gt;.\n\n"
        "• Bước <b>1</b>: đăng nhập\n• Bước 2: <i>chọn</i> thủ tục\n   1. hộ tịch\n\n"
        "Mã hồ sơ: <code>H01&amp;2</code>\nHotline: 1900\n\nĐính chính: sửa giờ làm việc.")
    result = pub.publish(rendering("a1", text, limit=4096), key="a1")
    (msg,) = tg.live(CHANNEL)
    assert msg.message_id == int(result.remote_id)
    assert msg.text.startswith("Hướng dẫn nộp hồ sơ\n\nNgười dân nộp qua Cổng DVCTT, phí <50.000đ>.")
    assert {"type": "a", "href": "https://dichvucong.gov.vn/p?a=1&b=2"}.items() <= msg.entities[1].items()
    assert len(msg.text) == TelegramPublisher.measure(text)


# -- happy paths --------------------------------------------------------------------------------------
def test_text_message_is_sent_as_html(tg, pub):
    body = f"<b>Lịch tiếp công dân tháng 7</b>\nThứ Năm hằng tuần. {LINK}"
    result = pub.publish(rendering("p1", body, limit=4096), key="p1")
    (msg,) = tg.live(CHANNEL)
    assert msg.text == f"Lịch tiếp công dân tháng 7\nThứ Năm hằng tuần. {LINK}"
    assert result == PublishResult(str(msg.message_id), f"https://t.me/ubnd_loa/{msg.message_id}",
                                   {"kind": "text", "chat_id": str(CHANNEL), "message_id": msg.message_id})
    (call,) = tg.calls("POST", "/sendMessage")
    assert call.json() == {"chat_id": "@ubnd_loa", "parse_mode": "HTML", "text": body}


def test_link_preview_can_be_disabled(tg):
    make(tg, disable_link_preview=True).publish(rendering("p2", "Tin " + LINK), key="p2")
    assert tg.calls("POST", "/sendMessage")[0].json()["link_preview_options"] == {"is_disabled": True}


def test_photo_is_uploaded_with_its_caption(tg, pub, image):
    caption = f"<b>Hội nghị tổng kết</b> {LINK}"
    result = pub.publish(rendering("p3", caption, kind="caption", image=image, limit=1024), key="p3")
    fields, files = parse_multipart(tg.calls("POST", "/sendPhoto")[0])
    assert fields == {"chat_id": "@ubnd_loa", "parse_mode": "HTML", "caption": caption}
    assert files["photo"] == ("hoi-nghi.png", png(), "image/png")
    (msg,) = tg.live(CHANNEL)
    assert (msg.kind, msg.text, result.extra["kind"]) == ("photo", f"Hội nghị tổng kết {LINK}", "caption")


def test_private_channel_gets_a_t_me_c_link(tg):
    tg.add_chat(-1005550001, title="Nội bộ")
    result = make(tg, chat_id=-1005550001).publish(rendering("p4", "Nội bộ"), key="p4")
    assert result.remote_url == f"https://t.me/c/5550001/{result.remote_id}"


def test_edit_text_and_caption_and_not_modified_is_success(tg, pub, image):
    text = pub.publish(rendering("e1", "Giờ làm việc: 7h30"), key="e1")
    photo = pub.publish(rendering("e2", "Ảnh", kind="caption", image=image), key="e2")
    pub.update(rendering("e1", "Giờ làm việc: <b>8h00</b> (đính chính)"), text)
    pub.update(rendering("e2", "Ảnh hội nghị", kind="caption", image=image), photo)
    assert [m.text for m in tg.live(CHANNEL)] == ["Giờ làm việc: 8h00 (đính chính)", "Ảnh hội nghị"]
    again = pub.update(rendering("e1", "Giờ làm việc: <b>8h00</b> (đính chính)"), text)
    assert again == text
    assert tg.calls("POST", "/editMessageText")[-1] is tg.requests[-1]  # it did ask, and got "not modified"


def test_kind_change_cannot_be_an_edit(tg, pub, image):
    text = pub.publish(rendering("e3", "Tin"), key="e3")
    with pytest.raises(PermanentPublishError) as err:
        pub.update(rendering("e3", "Tin", kind="caption", image=image), text)
    assert err.value.reason == "the message was sent as text and is now caption"


def test_retract_deletes_twice_is_quiet_and_old_messages_cannot_go(tg, pub, caplog):
    first = pub.publish(rendering("d1", "Tin gỡ"), key="d1")
    pub.retract(first, "sai")
    assert tg.live(CHANNEL) == []
    with caplog.at_level(logging.WARNING, logger="publishers.telegram"):
        pub.retract(first, "sai")
    assert f"Telegram message {first.remote_id} was already gone when telegram retracted it" in caplog.messages
    old = pub.publish(rendering("d2", "Tin cũ"), key="d2")
    tg.advance(49 * 3600)
    with pytest.raises(PermanentPublishError) as err:
        pub.retract(old, "sai")
    assert err.value.vendor_message == "Bad Request: message can't be deleted"
    assert err.value.hint == "delete it by hand in the Telegram channel"


# -- errors -----------------------------------------------------------------------------------------
def test_unsupported_tag_is_refused_with_telegrams_words(tg, pub):
    with pytest.raises(PermanentPublishError) as err:
        pub.publish(rendering("x1", "<p>Đoạn văn</p>"), key="x1")
    assert type(err.value) is PermanentPublishError and err.value.reason == "Telegram refused the message's HTML"
    assert err.value.vendor_message == 'Bad Request: can\'t parse entities: Unsupported start tag "p" at byte offset 0'
    with pytest.raises(PermanentPublishError) as err:
        pub.publish(rendering("x2", "Đã <b>mở <i>lồng</b></i>"), key="x2")
    assert err.value.vendor_message == ("Bad Request: can't parse entities: Unmatched end tag at byte offset 22, "
                                        'expected "</i>", found "</b>"')


def test_limits_are_counted_after_entity_parsing(tg, pub, image):
    fits = "<b>" + "ă" * 4090 + "</b>&amp;&lt;" + " " * 10
    assert TelegramPublisher.measure(fits) == 4092
    pub.publish(rendering("l1", fits, limit=4096), key="l1")
    over = "&amp;" * 4097
    with pytest.raises(PermanentPublishError) as err:
        pub.publish(rendering("l2", over, limit=4096), key="l2")
    assert err.value.reason == "text is 4097 characters, over the limit of 4096"
    assert len(tg.calls("POST", "/sendMessage")) == 1  # refused before any call
    with pytest.raises(PermanentPublishError) as err:  # a rendering that lies about its length reaches the server
        pub.publish(rendering("l3", over), key="l3")
    assert (err.value.reason, err.value.vendor_message) == ("the message is too long for Telegram",
                                                            "Bad Request: message is too long")
    with pytest.raises(PermanentPublishError) as err:
        pub.publish(rendering("l4", "x" * 1025, kind="caption", image=image), key="l4")
    assert err.value.vendor_message == "Bad Request: message caption is too long"


@pytest.mark.parametrize("setup,cls,reason,vendor", [
    (lambda s: setattr(s, "token", "1:other"), PublisherAuthError, "Telegram does not accept the bot token",
     "Unauthorized"),
    (lambda s: setattr(s.chats[CHANNEL], "member", False), PublisherAuthError,
     "the bot cannot post to @ubnd_loa", "Forbidden: bot is not a member of the channel chat"),
    (lambda s: setattr(s.chats[CHANNEL], "can_post", False), PublisherAuthError,
     "the bot cannot post to @ubnd_loa", "Bad Request: need administrator rights in the channel chat"),
    (lambda s: setattr(s.chats[CHANNEL], "username", "renamed"), PublisherAuthError,
     "the bot cannot post to @ubnd_loa", "Bad Request: chat not found"),
    (lambda s: s.fail_next(502, "Bad Gateway"), TransientPublishError, "Telegram had a temporary problem",
     "Bad Gateway"),
    (lambda s: s.fail_next(400, "Bad Request: TOPIC_CLOSED"), PermanentPublishError, "Telegram refused the message",
     "Bad Request: TOPIC_CLOSED"),
], ids=["bad-token", "not-member", "not-admin", "chat-not-found", "5xx", "other-400"])
def test_errors_map_to_the_right_class(tg, pub, setup, cls, reason, vendor):
    setup(tg)
    with pytest.raises(cls) as err:
        pub.publish(rendering("x3", "Tin"), key="x3")
    assert type(err.value) is cls and (err.value.reason, err.value.vendor_message) == (reason, vendor)
    assert err.value.hint


def test_429_retry_after_is_honoured_exactly(tg, pub):
    tg.fail_next(429, "Too Many Requests: retry after 17", {"retry_after": 17}, method="sendMessage")
    with pytest.raises(TransientPublishError) as err:
        pub.publish(rendering("f1", "Tin 1"), key="f1")
    assert err.value.retry_after == 17.0 and err.value.code == "429"
    asked = len(tg.requests)
    with pytest.raises(TransientPublishError) as again:
        pub.publish(rendering("f2", "Tin 2"), key="f2")
    assert 16 < again.value.retry_after <= 17
    assert len(tg.requests) == asked  # nothing sent before Telegram's wait ran out


def test_a_burst_is_paced_under_the_chat_limit(tg):
    tg.rate_limit(10, 1.0)
    clock = FakeClock()
    pub = make(tg, pace_seconds=0.15, clock=clock)
    todo = [rendering(f"b{i}", f"Tin số {i}") for i in range(30)]
    for _ in range(300):
        if not todo:
            break
        try:
            pub.publish(todo[0], key=todo[0].post_id)
            todo.pop(0)
        except TransientPublishError as exc:
            clock.sleep(exc.retry_after)
    assert [m.text for m in tg.live(CHANNEL)] == [f"Tin số {i}" for i in range(30)]
    assert tg.violations == []
    assert clock.slept and all(0 < s <= 0.15 for s in clock.slept)  # paced by the publisher's own short sleeps


def test_without_pacing_429s_come_and_every_retry_after_is_respected(tg):
    tg.rate_limit(5, 1.0)
    clock = FakeClock()
    pub = make(tg, pace_seconds=0, clock=clock)
    todo = [rendering(f"c{i}", f"Tin {i}") for i in range(12)]
    waits = []
    for _ in range(300):
        if not todo:
            break
        try:
            pub.publish(todo[0], key=todo[0].post_id)
            todo.pop(0)
        except TransientPublishError as exc:
            waits.append(exc.retry_after)
            clock.sleep(exc.retry_after)
    assert [m.text for m in tg.live(CHANNEL)] == [f"Tin {i}" for i in range(12)]
    assert waits and tg.violations  # Telegram had to say no ...
    assert tg.ignored_retry_after == []  # ... but never twice for the same wait


def test_group_migration_is_followed_once_and_reported(tg, pub, caplog):
    tg.add_chat(-4001, type="group", title="Nhóm cũ")
    tg.migrate(-4001, -1004001)
    p = make(tg, chat_id="-4001")
    with caplog.at_level(logging.WARNING, logger="publishers.telegram"):
        first = p.publish(rendering("m1", "Tin 1"), key="m1")
    assert first.extra["chat_id"] == "-1004001" and first.extra["migrated_to_chat_id"] == "-1004001"
    assert "Set chat_id = -1004001 for [channels.telegram] in config.toml" in caplog.text
    p.publish(rendering("m2", "Tin 2"), key="m2")
    assert [json.loads(r.body)["chat_id"] for r in tg.calls("POST", "/sendMessage")] == ["-4001", "-1004001", "-1004001"]
    assert len(tg.live(-1004001)) == 2


# -- lost answers, health, secrets -------------------------------------------------------------------
def test_lost_answer_cannot_be_looked_up(tg, pub):
    r = rendering("z1", "Thông báo nghỉ lễ")
    tg.inject(lambda q: q.path.endswith("/sendMessage"), after=True, drop=True)
    with pytest.raises(TransientPublishError):
        pub.publish(r, key="z1")
    assert [m.text for m in tg.live(CHANNEL)] == ["Thông báo nghỉ lễ"]  # it did arrive
    assert not TelegramPublisher.can_lookup and "cannot read a channel's past messages" in TelegramPublisher.lookup_note
    with pytest.raises(NotImplementedError):
        pub.lookup(r, "z1")
    pub.publish(r, key="z1")  # why the engine must hold such an item for a person: a resend doubles it
    assert len(tg.live(CHANNEL)) == 2


@pytest.mark.parametrize("fault", ["json-502", "html-502", "html-504"])
@pytest.mark.parametrize("kind", ["text", "caption"])
def test_a_gateway_error_after_a_send_is_in_doubt_not_retried(tg, pub, image, fault, kind):
    # users report doubles after "502 Bad Gateway" (scraton/node-red-contrib-telegrambot-home#14):
    # the message may be delivered, and Telegram cannot be asked, so this is a timeout's case
    method = "sendPhoto" if kind == "caption" else "sendMessage"
    if fault == "json-502":
        tg.fail_next(502, "Bad Gateway", method=method, commit=True)
    else:
        tg.gateway_page(method, 502 if fault == "html-502" else 504)
    r = rendering("gw", "Thông báo lịch tiếp dân", kind=kind, image=image if kind == "caption" else None)
    with pytest.raises(TransientPublishError) as err:
        pub.publish(r, key="gw")
    assert err.value.maybe_sent and err.value.status in (502, 504)
    assert len(tg.live(CHANNEL)) == 1  # delivered: a blind resend would double it


def test_a_gateway_error_on_an_edit_or_a_refusal_before_the_work_is_not_in_doubt(tg, pub):
    sent = pub.publish(rendering("ge", "Tin"), key="ge")
    tg.fail_next(502, "Bad Gateway", method="editMessageText")
    with pytest.raises(TransientPublishError) as err:
        pub.update(rendering("ge", "Tin (sửa)"), sent)
    assert not err.value.maybe_sent  # an edit is simply sent again
    tg.fail_next(429, "Too Many Requests: retry after 1", {"retry_after": 1}, method="sendMessage")
    with pytest.raises(TransientPublishError) as throttled:
        pub.publish(rendering("gf", "Tin khác"), key="gf")
    assert not throttled.value.maybe_sent


def test_check_reports_the_bot_and_its_rights(tg, pub):
    health = pub.check()
    assert health.ok and health.messages == ("can post to UBND Thành phố Loa as @loa_city_bot",)
    assert health.identity == "@loa_city_bot in UBND Thành phố Loa"
    tg.chats[CHANNEL].can_post = False
    health = pub.check()
    assert not health.ok and health.messages == (
        "@loa_city_bot is not an administrator of UBND Thành phố Loa allowed to post; add it in the channel's settings",)


def test_no_token_in_any_exception_or_log_line(tg, caplog):
    caplog.set_level(logging.DEBUG)
    pub = make(tg)
    seen = []
    pub.publish(rendering("s1", "Tin 1"), key="s1")
    pub.check()
    for setup in (lambda: tg.fail_next(502, "Bad Gateway"), lambda: tg.fail_next(401, "Unauthorized"),
                  lambda: tg.inject(lambda q: True, after=True, drop=True)):
        setup()
        with pytest.raises(Exception) as err:
            pub.publish(rendering("s2", "Tin 2"), key="s2")
        seen.append(err.value)
    dead = make(tg, api_base="http://127.0.0.1:9")
    with pytest.raises(TransientPublishError) as err:
        dead.publish(rendering("s3", "Tin 3"), key="s3")
    seen.append(err.value)
    assert "/bot***/sendMessage" in seen[-1].vendor_message  # requests' text had the URL; the token is gone
    for exc in seen:
        text = " ".join(str(x) for x in (exc, exc.reason, exc.vendor_message, exc.hint, exc.args))
        assert TOKEN not in text and TOKEN.split(":")[1] not in text
    assert any("sendMessage" in r.getMessage() for r in caplog.records)  # urllib3 logged the request line
    assert all(TOKEN.split(":")[1] not in r.getMessage() for r in caplog.records)
