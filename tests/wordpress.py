"""The ``wordpress`` pytest fixture: a real WordPress 6.1 on loopback, started once per test session.

It runs its own instance (run folder ``var/wordpress-test``, database ``loa_wp_loa_test``, a free
port), separate from the local e-portal an IT officer may run from ``var/wordpress``, and stops it at
the end. Installing the packages is not the fixture's job: when they are missing the tests are
skipped with the command to run, unless ``LOA_REQUIRE_SERVICES=1`` (then they fail).

Use: ``from tests.wordpress import wordpress  # noqa: F401`` in ``tests/conftest.py``.
"""

from __future__ import annotations

import importlib.util
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping

import pytest
import requests

REPO = Path(__file__).resolve().parent.parent
TEST_DIR = Path(os.environ.get("LOA_TEST_WORDPRESS_DIR", REPO / "var" / "wordpress-test"))
# one instance (name -> /etc/wordpress/config-<name>.php and database) per checkout: two clones on
# one machine (a developer's tree and CI's) must not share, or uploads land in the other's folder
TEST_NAME = "loa-test-" + __import__("hashlib").sha1(str(TEST_DIR.resolve()).encode()).hexdigest()[:8]


def _script():
    spec = importlib.util.spec_from_file_location("wordpress_local", REPO / "scripts" / "wordpress_local.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class WordPressSite:
    """A running WordPress: its URL and, per role key (admin, author, contributor), login and app password."""

    url: str
    users: Mapping[str, tuple[str, str]]
    dir: Path

    def login(self, role: str = "admin") -> str:
        return self.users[role][0]

    def password(self, role: str = "admin") -> str:
        return self.users[role][1]

    def session(self, role: str = "admin") -> requests.Session:
        """A plain authenticated ``requests`` session, for reading WordPress back in tests."""
        s = requests.Session()
        s.auth = self.users[role]
        return s

    def rest(self, route: str) -> str:
        return f"{self.url}/wp-json{route}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_site(directory: Path = TEST_DIR, name: str = TEST_NAME, port: int | None = None):
    """Start (installing when needed) a WordPress instance; returns ``(instance, WordPressSite)``.

    Raises ``RuntimeError`` with the reason when this machine cannot run it.
    """
    wl = _script()
    missing = wl.packages_missing()
    if missing:
        raise RuntimeError(f"WordPress is not installed here (missing: {' '.join(missing)}); "
                           "run as root: python scripts/wordpress_local.py install")
    if os.geteuid() != 0:
        raise RuntimeError("the local WordPress needs root (it writes /etc/wordpress/config-*.php)")
    try:
        inst = wl.Instance(directory, name, port or _free_port())
        creds = inst.start()
    except wl.SetupError as exc:
        raise RuntimeError(f"the local WordPress could not start: {exc}") from None
    users = {k: (u["login"], u["app_password"]) for k, u in creds["users"].items()}
    return inst, WordPressSite(inst.url, users, inst.dir)


# The fixture may be registered twice (conftest.py and a test module importing it): pytest then
# sets it up once per registration, so both share one instance and the last user stops it.
_shared: dict = {"users": 0}


@pytest.fixture(scope="session")
def wordpress() -> Iterator[WordPressSite]:
    """A running WordPress for the whole session; skipped (or failed with LOA_REQUIRE_SERVICES=1) if impossible."""
    if "site" not in _shared:
        try:
            _shared["inst"], _shared["site"] = start_site()
        except RuntimeError as exc:
            if os.environ.get("LOA_REQUIRE_SERVICES") == "1":
                pytest.fail(f"LOA_REQUIRE_SERVICES=1 but {exc}")
            pytest.skip(str(exc))
    _shared["users"] += 1
    try:
        yield _shared["site"]
    finally:
        _shared["users"] -= 1
        if _shared["users"] == 0:
            _shared.pop("inst").stop()
            _shared.pop("site")
