"""Shared by the web console's tests: a content repository with people of every role, the console
served by a real uvicorn on 127.0.0.1, and a browser-like client (requests) that signs in and
reads the CSRF token from the page it was given."""

from __future__ import annotations

import re
import socket
import threading
import time
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from tests.repo import make_repo, post

PASSWORD = "mật khẩu đủ dài 2024"
#: account -> (role, full name); the full names are the sample config's board and post authors
PEOPLE = {"lan": ("staff", "Nguyễn Thị Lan"), "hung": ("board", "Trần Văn Hùng"), "mai": ("board", "Lê Thị Mai"),
          "binh": ("it", "Đỗ Văn Bình"), "hoa": ("reports", "Vũ Thị Hoa")}
ROLE_USER = {"staff": "lan", "board": "hung", "it": "binh", "reports": "hoa"}


def console_repo(tmp: Path, posts: dict[str, str] | None = None) -> Path:
    """The sample configuration (portal needs the board's approval) and two posts waiting for it:
    one by Nguyễn Thị Lan, one by board member Lê Thị Mai."""
    return make_repo(tmp, posts if posts is not None else {
        "news/a.md": post(id="20240325-aaaaaa", author="Nguyễn Thị Lan", publish_at="2030-03-25 08:00",
                          unit="phuong-vung-tau"),
        "news/b.md": post(id="20240326-bbbbbb", title="Bài của thành viên Ban biên tập", author="Lê Thị Mai",
                          publish_at="2030-03-26 08:00", unit="phuong-vung-tau"),
    })


_HASH: list[str] = []


def add_people(cfg, people=PEOPLE) -> None:
    """The accounts of ``people``, all with :data:`PASSWORD` (hashed once per test run: Argon2 is
    slow on purpose; ``loa users add`` itself is tested in test_web_console.py)."""
    from pipeline.app import Session

    with Session.open(cfg) as s:
        if not _HASH:
            _HASH.append(s.accounts.hasher.hash(PASSWORD))
        for name, (role, full) in people.items():
            s.ledger.user_add(name, full_name=full, role=role, password_hash=_HASH[0], actor="test", now=s.clock())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Served:
    """A console on a real uvicorn in a thread of this process."""

    app: object
    base: str
    server: object = None
    thread: threading.Thread | None = None

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def serve(app) -> Served:
    import uvicorn

    port = free_port()
    # as `loa serve` runs it: uvicorn's own X-Forwarded-For handling off (the console decides whom
    # to believe: LOA_WEB_TRUSTED_PROXIES)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on",
                                           proxy_headers=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    return Served(app, f"http://127.0.0.1:{port}", server, thread)


_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Client:
    """A browser: cookies kept, redirects not followed (the tests look at them)."""

    base: str
    http: requests.Session = field(default_factory=requests.Session)

    def get(self, path: str, **kw) -> requests.Response:
        return self.http.get(self.base + path, allow_redirects=False, timeout=30, **kw)

    def post(self, path: str, data: dict | None = None, **kw) -> requests.Response:
        return self.http.post(self.base + path, data=data or {}, allow_redirects=False, timeout=30, **kw)

    def token(self, path: str = "/") -> str:
        page = self.get(path)
        found = _TOKEN.search(page.text)
        assert found, f"no csrf_token on {path} ({page.status_code})"
        return found.group(1)

    def login(self, name: str, password: str = PASSWORD) -> requests.Response:
        return self.post("/login", {"name": name, "password": password, "csrf_token": self.token("/login"),
                                    "next": "/"})

    def signed_in(self, name: str) -> "Client":
        answer = self.login(name)
        assert answer.status_code == 303, (answer.status_code, answer.text[:500])
        return self

    def send(self, path: str, data: dict | None = None, page: str = "/") -> requests.Response:
        """A POST with the CSRF token of ``page``, as the page's own form sends it."""
        return self.post(path, {**(data or {}), "csrf_token": self.token(page)})


@dataclasses.dataclass
class Console:
    root: object
    cfg: object
    ledger_url: str
    app: object
    base: str

    def client(self) -> Client:
        return Client(self.base)

    def session(self):
        """A :class:`pipeline.app.Session` of its own on the console's ledger (another process)."""
        from pipeline.app import Session

        return Session.open(self.cfg)


@pytest.fixture
def console(ledger_url, tmp_path, request):
    """The console on each ledger backend; ``indirect`` parametrization gives other posts."""
    posts = getattr(request, "param", None)
    root = console_repo(tmp_path / "repo", posts)
    from pipeline.config import load_config
    from pipeline.web.app import create_app

    cfg = dataclasses.replace(load_config(root / "config.toml"), ledger_url=ledger_url)
    add_people(cfg)
    app = create_app(root / "config.toml", secret_key="test-secret", ledger_url=ledger_url, secure_cookies=False,
                     env={})
    served = serve(app)
    try:
        yield Console(root, cfg, ledger_url, app, served.base)
    finally:
        served.stop()


