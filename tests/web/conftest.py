"""Fixtures of the dashboard tests: one seeded server and one headless Chromium per module,
and a fresh signed-in page per test that fails the test on any browser console error."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from web_support import Console, Served, serve, sign_in

CHROMIUM = Path(os.environ.get("DIOGEN_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT_CONFTEST = Path(__file__).parents[1] / "conftest.py"


def _shared(config: pytest.Config) -> ModuleType:
    module = config.pluginmanager.get_plugin(str(ROOT_CONFTEST))
    assert isinstance(module, ModuleType)
    return module


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(f"sqlite:///{tmp_path_factory.mktemp('web') / 'diogen.db'}") as running:
        yield running


@pytest.fixture(scope="module")
def browser(request: pytest.FixtureRequest) -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _shared(request.config).service_unavailable("the playwright package is not installed")
    if not CHROMIUM.exists():
        _shared(request.config).service_unavailable(f"Chromium not found at {CHROMIUM}")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def console() -> Console:
    return Console()


@pytest.fixture(scope="module")
def signed_in(browser: Any, served: Served) -> Any:
    """The browser storage of a signed-in admin (its tokens), shared by the module's pages."""
    context = browser.new_context()
    sign_in(context.new_page(), served.url)
    state = context.storage_state()
    context.close()
    return state


@pytest.fixture
def page(browser: Any, signed_in: Any, console: Console) -> Iterator[Any]:
    """A fresh page of a signed-in admin, on no page yet."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, storage_state=signed_in)
    opened = context.new_page()
    console.attach(opened)
    yield opened
    context.close()
    assert console.errors == [], f"browser console errors: {console.errors}"
