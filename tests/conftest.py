"""Shared pytest fixtures.

Services: PostgreSQL is expected at ``LOA_TEST_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``, trust auth). When it cannot be reached, tests that
need it are skipped with the reason, unless ``LOA_REQUIRE_SERVICES=1`` (then they fail).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Callable, Iterator

import pytest

PG_URL = os.environ.get("LOA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRE_SERVICES = os.environ.get("LOA_REQUIRE_SERVICES") == "1"


@pytest.fixture(autouse=True)
def _forget_secrets() -> Iterator[None]:
    """The redaction point remembers every secret a process has seen (a daemon's lifetime); one
    test's made-up secret ("other") must not be masked in the next test's expected text."""
    yield
    from pipeline import secrets

    secrets.forget_all()


def service_missing(reason: str) -> None:
    """Skip the test for a missing local service, or fail it when LOA_REQUIRE_SERVICES=1."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (LOA_REQUIRE_SERVICES=1, so this is a failure)")
    pytest.skip(f"{reason}; set LOA_REQUIRE_SERVICES=1 to make this a failure")


# -- ledger -----------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The PostgreSQL URL, checked once per session (skip or fail when unreachable)."""
    try:
        import psycopg
    except ImportError:
        service_missing("psycopg is not installed (pip install 'loa[postgres]')")
    try:
        with psycopg.connect(PG_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as e:
        service_missing(f"PostgreSQL not reachable at {PG_URL}: {str(e).strip()}")
    return PG_URL


def with_search_path(url: str, schema: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A URL whose ``search_path`` is a fresh schema, dropped after the test."""
    import psycopg

    schema = f"loa_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    yield with_search_path(postgres_server, schema)
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgres"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty ledger database, once per backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def open_ledgers(ledger_url: str, tmp_path: Path) -> Iterator[Callable[..., object]]:
    """Open more ``Ledger`` objects on the same database (closed after the test)."""
    from pipeline.ledger import open_ledger

    opened = []

    def factory(**options: object) -> object:
        ledger = open_ledger(ledger_url, tmp_path, **options)
        opened.append(ledger)
        return ledger
    yield factory
    for ledger in opened:
        ledger.close()


@pytest.fixture
def ledger(open_ledgers: Callable[..., object]):
    """A migrated, empty ledger on each backend."""
    ledger = open_ledgers()
    ledger.migrate()
    return ledger


# -- a private PostgreSQL cluster that the test may stop and start ----------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def private_postgres(tmp_path):
    bindir = next((Path(p) for p in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
                   if (Path(p) / "initdb").exists()), None)
    if bindir is None and shutil.which("initdb"):
        bindir = Path(shutil.which("initdb")).parent
    if bindir is None or not (bindir / "pg_ctl").exists():
        service_missing("initdb/pg_ctl not found (PostgreSQL server binaries are needed to stop a "
                        "private cluster mid-run)")
    as_root = os.geteuid() == 0
    run_as = ["runuser", "-u", "postgres", "--"] if as_root else []
    # PostgreSQL refuses to run as root: the cluster then belongs to the postgres user, in a
    # directory it can reach (pytest's tmp_path is private to root).
    base = Path(tempfile.mkdtemp(prefix="loa-pg-")) if as_root else tmp_path
    if as_root:
        shutil.chown(base, "postgres")
    data, port = base / "data", _free_port()

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*run_as, *args], capture_output=True, text=True, timeout=60)

    done = run(str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync",
               "-E", "UTF8")
    if done.returncode:
        service_missing(f"initdb failed: {done.stderr.strip()}")

    def start() -> None:
        started = run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-w", "-o",
                      f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
        assert started.returncode == 0, started.stderr + (base / "log").read_text()

    def stop() -> None:
        stopped = run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        assert stopped.returncode == 0, stopped.stderr

    start()
    try:
        yield SimpleNamespace(url=f"postgresql://postgres@127.0.0.1:{port}/postgres", start=start, stop=stop)
    finally:
        run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        if as_root:
            shutil.rmtree(base, ignore_errors=True)


# -- WordPress (a real one on loopback, started once per session) --------------------------------
from tests.wordpress import wordpress  # noqa: E402,F401


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    """A headless Debian Chromium driven by Playwright (``tests/browser.py``), one per test run."""
    from tests import browser

    why = browser.missing()
    if why:
        service_missing(why)
    with browser.launched() as launched:
        yield launched
