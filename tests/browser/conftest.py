"""Headless Chromium (Debian's package) through Playwright. Never `playwright install`.

Where no browser exists the tests skip, except in CI (CI=true), where they must run.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import pytest

from tests.conftest import TEST_RATES

ROOT = Path(__file__).parents[2]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is missing in CI: `make test` should have installed it")
        pytest.skip("no chromium on this machine (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    yield pg
    context.close()


@pytest.fixture
def jupyter_server(tmp_path) -> Iterator[Callable[..., int]]:
    """Start a Jupyter server (Voilà, JupyterLab) for the test, as a user would against a running sandbox.

    ``jupyter_server(command, endpoint, log=..., ready_within=60, **env)`` runs ``command`` (each ``{port}`` in it
    filled with a free loopback port) and returns the port once it listens (or ``ready_within`` seconds have
    passed: the page's own wait then says what went wrong). Its kernels import the tree under test, reach the
    sandbox at ``endpoint`` (``OPPTOOLKIT_ENDPOINT``) at its quotas (``TEST_RATES``), keep their ledger in
    ``tmp_path / "ledger"`` and see ``env`` too; the server's output goes to ``log``. Stopped after the test.
    """
    started: list[tuple[subprocess.Popen[bytes], BinaryIO]] = []

    def start(command: list[str], endpoint: str, *, log: Path, ready_within: float = 60, **env: str) -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        environment = {
            **os.environ,
            **TEST_RATES,
            "OPPTOOLKIT_ENDPOINT": endpoint,
            "OPPTOOLKIT_LEDGER": str(tmp_path / "ledger"),
            # the kernel imports the opptoolkit under test, not whichever one is installed
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            **env,
        }
        out = open(log, "wb")  # noqa: SIM115  # closed when the server stops; read on failure
        proc = subprocess.Popen(
            [part.format(port=port) for part in command], env=environment, stdout=out, stderr=subprocess.STDOUT
        )
        started.append((proc, out))
        deadline = time.monotonic() + ready_within
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.3)
        return port

    try:
        yield start
    finally:
        for proc, out in started:
            proc.terminate()
            proc.wait(timeout=20)
            out.close()


def load_voila(page, url: str, log: Path) -> None:
    """Open Voilà's page of the workspace notebook at ``url`` and wait for its form to render.

    Each load starts a kernel, and on a busy machine (or a fresh clone's first run) the first may take longer than
    90 s: it loads once more, with a warning; twice failing, the test fails with what the page shows and the end
    of the server's ``log``.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for attempt in (1, 2):
        page.goto(url, timeout=90_000)
        try:
            page.wait_for_selector(".ot-form", timeout=90_000)
            return
        except PlaywrightTimeout:
            why = f"page text: {page.inner_text('body')[-2000:]!r}\n--- voila log (end) ---\n"
            why += log.read_text(errors="replace")[-4000:]
            if attempt == 2:
                pytest.fail(f"the page did not render in 90 s, twice\n{why}")
            warnings.warn(f"the page did not render in 90 s; loading again\n{why}", stacklevel=2)
