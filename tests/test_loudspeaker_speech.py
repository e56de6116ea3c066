"""Speech engines of the loudspeaker channel: FPT.AI against a contract-faithful local server,
eSpeak NG's rate, and the large-print docx for the announcer."""

from __future__ import annotations

import pytest

from pipeline.errors import PermanentPublishError, PublisherAuthError
from publishers.speech import get, wav_seconds
from publishers.speech.espeak import rate_for
from publishers.speech.fpt import MAX_CHARS, pieces
from tests.servers.fpt_tts import FptTtsServer

TEXT = "Ủy ban nhân dân phường thông báo lịch tiếp nhận hồ sơ trực tuyến. " * 20


def engine(server, **opts):
    cls = get("fpt")
    return cls({"api_key_env": "FPT_KEY", "url": f"{server.url}/hmi/tts/v5", "poll_seconds": 0.05, **opts},
               env={"FPT_KEY": "test-key"}, wpm=150)


def test_fpt_polls_the_async_link_until_the_file_exists(tmp_path):
    with FptTtsServer(ready_after=0.3) as server:
        audio = engine(server, voice="leminh").synthesize(TEXT, tmp_path / "a")
        assert audio.path == tmp_path / "a.wav" and audio.format == "wav"
        assert audio.seconds == pytest.approx(wav_seconds(audio.path)) and audio.seconds > 10
        assert server.polls >= 2
        sent = server.requests[0]
        assert sent.headers["api_key"] == "test-key" and sent.headers["voice"] == "leminh"
        assert sent.headers["format"] == "wav"


def test_fpt_long_scripts_go_in_pieces_of_at_most_5000_characters(tmp_path):
    long = TEXT * 8
    assert len(long) > 2 * MAX_CHARS
    assert all(3 <= len(p) <= MAX_CHARS for p in pieces(long)) and " ".join(pieces(long)) == long.strip()
    with FptTtsServer() as server:
        audio = engine(server).synthesize(long, tmp_path / "b")
        assert len(server.texts) == len(pieces(long)) >= 3
        assert audio.seconds == pytest.approx(len(long.split()) * 60 / 220, rel=0.02)


def test_fpt_refusals(tmp_path):
    with FptTtsServer() as server:
        with pytest.raises(PermanentPublishError):
            engine(server, voice="nobody").synthesize(TEXT, tmp_path / "c")
        bad = get("fpt")({"api_key_env": "FPT_KEY", "url": f"{server.url}/hmi/tts/v5"}, env={"FPT_KEY": "wrong"})
        with pytest.raises(PublisherAuthError):
            bad.synthesize(TEXT, tmp_path / "d")
    assert "FPT_KEY" in get("fpt")({"api_key_env": "FPT_KEY"}, env={}).available()


def test_espeak_rate_from_the_syllable_rate():
    assert rate_for(150) == 118 and rate_for(220) == 173 and rate_for(30) == 80


def test_fpt_through_the_channel_only_to_an_approved_address(tmp_path):
    """The FPT.AI key goes only to FPT.AI's own address, or to one the server file approves."""
    import json

    from pipeline.config import load_config
    from pipeline.errors import ConfigError
    from tests.repo import approve, make_repo
    from tests.test_loudspeaker import Repo, at, config, news

    with FptTtsServer() as server:
        extra = f'speech_key_env = "LOA_FPT_KEY"\nspeech_url = "{server.url}/hmi/tts/v5"\nspeech = {{ voice = "lannhi", poll_seconds = 0.05 }}'
        root = make_repo(tmp_path / "refused", {}, config=config(engine="fpt", extra=extra))
        with pytest.raises(ConfigError) as e:
            load_config(root / "config.toml", env={"LOA_FPT_KEY": "test-key"})
        assert "channels.loudspeaker.speech_url" in {k for k, _ in e.value.errors}

        env = {"LOA_FPT_KEY": "test-key", "LOA_SERVER_CONFIG": approve(
            {"loudspeaker": {"speech_url": f"{server.url}/hmi/tts/v5", "speech_key_env": "LOA_FPT_KEY"}})}
        r = Repo(tmp_path / "approved", {"a.md": news(1)}, engine="fpt", extra=extra)
        r.cfg = load_config(r.root / "config.toml", env=env)
        from pipeline.app import Session

        with Session(r.cfg, r.ledger, owner="t", clock=lambda: at(10, 17, 5), env=env) as s:
            assert s.publish(now=at(10, 17, 5)).sent >= 2
        item = json.loads((r.root / "var/loa/p1/20240310T1730/20240311-000001.json").read_text())
        assert item["audio"] == "20240311-000001.wav" and item["duration_seconds"] > 5
        assert server.requests[0].headers["voice"] == "lannhi"
