"""Build throwaway content repositories for tests: the sample config.toml plus chosen posts."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f80f0000010101005a4d6b8a0000000049454e44ae426082")

# The top of every small test configuration: one site, one organisation, one ward.
CONFIG_HEAD = """
[site]
name = "Cổng thử"
base_url = "https://portal.example.gov.vn"
[organization]
name_lines = ["ỦY BAN NHÂN DÂN", "THÀNH PHỐ VŨNG TÀU"]
place = "Vũng Tàu"
[[units]]
id = "phuong-1"
name = "Phường 1"
kind = "ward"
"""


def make_repo(tmp: Path, posts: dict[str, str] | None = None, *, config_extra: str = "", config: str | None = None,
              sample_content: bool = False) -> Path:
    """A content repository in ``tmp``: config.toml (the sample one, plus ``config_extra``) and posts
    given as {relative path under content/: text}."""
    tmp.mkdir(parents=True, exist_ok=True)
    text = config if config is not None else (ROOT / "config.toml").read_text(encoding="utf-8")
    (tmp / "config.toml").write_text(text + "\n" + textwrap.dedent(config_extra), encoding="utf-8")
    content = tmp / "content"
    if sample_content:
        shutil.copytree(ROOT / "content", content)
    content.mkdir(exist_ok=True)
    for rel, body in (posts or {}).items():
        p = content / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(body, bytes):
            p.write_bytes(body)
        else:
            p.write_text(textwrap.dedent(body).lstrip("\n"), encoding="utf-8")
    return tmp


def post(id="20240325-aaaaaa", title="Phường 1 tổ chức Hội thi tìm hiểu cải cách hành chính", type="news",
         unit="phuong-1", author="Nguyễn Thị Lan", publish_at="2024-03-25 08:00", status="ready",
         body="Sáng 25/3, UBND Phường 1 tổ chức Hội thi tìm hiểu cải cách hành chính năm 2024.\n", **extra) -> str:
    """Text of a post with sensible defaults; keyword arguments add or override front matter keys."""
    import yaml

    front = {"id": id, "title": title, "type": type, "unit": unit, "author": author, "publish_at": publish_at,
             "status": status, "topics": ["cchc"]}
    for k, v in extra.items():
        if v is None:
            front.pop(k, None)
        else:
            front[k] = v
    return "---\n" + yaml.safe_dump(front, allow_unicode=True, sort_keys=False) + "---\n\n" + body


def approve(channels: dict[str, dict[str, str | list[str]]], ledger_url: str | None = None) -> str:
    """A server file (``LOA_SERVER_CONFIG``) outside any content repository, approving these
    channels' addresses and secret variables as the IT officer would (mode 0600); its path.
    ``approve({"facebook": {"api_base": server.url, "token_env": "LOA_FACEBOOK_TOKEN"}})``."""
    import json
    import os
    import tempfile

    lines = [f"[ledger]\nurl = {json.dumps(ledger_url)}"] if ledger_url else []
    for name, options in channels.items():
        lines.append(f"[channels.{name}]")
        lines += [f"{opt} = {json.dumps(value)}" for opt, value in options.items()]
    path = os.path.join(tempfile.mkdtemp(prefix="loa-server-"), "server.toml")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    os.chmod(path, 0o600)
    return path


def small_config(channels: list[str], *, require_approval: list[str] = ()) -> str:
    """:data:`CONFIG_HEAD` plus what most small test configurations share: one content type
    ``news`` sent to ``channels``, one topic, a one-member board, the channels needing approval.
    The channels' own tables follow it."""
    import json

    return CONFIG_HEAD + (f'\n[content.types.news]\nlabel = "Tin tức"\nchannels = {json.dumps(channels)}\n'
                          f'[content.topics]\ncchc = "Cải cách hành chính"\n[editorial]\nboard = ["Lê Thị Mai"]\n'
                          f'require_approval = {json.dumps(list(require_approval))}\n')
