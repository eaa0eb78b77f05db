"""Browser journeys: Playwright drives Debian's chromium against the real app.

The app runs as ``openinfusion serve`` (gunicorn) on a free port, with ``openinfusion worker``
beside it, over a fresh SQLite database that ``openinfusion migrate`` and ``openinfusion demo``
prepared, exactly as ``make run`` does.
Outside CI a missing chromium skips these tests with the reason; with ``CI=true`` it fails them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("OPENINFUSION_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVE_AT = str(Path(__file__).with_name("serve_at.py"))


def _cli(*args: str) -> list[str]:
    """An ``openinfusion`` command on the suite's clock, as the test itself reads it now."""
    from django.utils import timezone

    return [sys.executable, SERVE_AT, timezone.now().isoformat(), *args]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def app_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of the journeys' server: its own data directory and SQLite database."""
    data_dir = tmp_path_factory.mktemp("e2e-data")
    env = {**os.environ, "OPENINFUSION_DATA_DIR": str(data_dir), "OPENINFUSION_DATABASE_URL": ""}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


@pytest.fixture
def app_shell(app_env: dict[str, str]):  # type: ignore[no-untyped-def]
    """Run Python in the server's database (``openinfusion manage shell -c``): for what a journey
    cannot wait for in real time, such as a bag running its course."""

    def run(code: str) -> str:
        done = subprocess.run(
            _cli("manage", "shell", "-c", code), env=app_env, check=True, capture_output=True, text=True, timeout=60
        )
        return done.stdout

    return run


@pytest.fixture(scope="session")
def app_url(app_env: dict[str, str]) -> Iterator[str]:
    env = app_env
    data_dir = Path(env["OPENINFUSION_DATA_DIR"])
    for command in (["migrate", "--json"], ["demo", "--json"]):
        subprocess.run(_cli(*command), env=env, check=True, capture_output=True, timeout=120)
    port = _free_port()
    log = (data_dir / "server.log").open("w")
    server = subprocess.Popen(
        _cli("serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"),
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    worker = subprocess.Popen(_cli("worker"), env=env, stdout=log, stderr=subprocess.STDOUT)  # as make run does
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((data_dir / "server.log").read_text()) from None
                time.sleep(0.2)
        yield url
    finally:
        for process in (server, worker):
            process.terminate()
            process.wait(timeout=10)
        log.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"chromium not found at {CHROMIUM}; CI must install Debian's chromium package")
        pytest.skip(f"browser journeys need Debian's chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, app_url):  # type: ignore[no-untyped-def]
    context = browser.new_context(base_url=app_url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()
