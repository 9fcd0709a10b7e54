"""Debian's chromium, driven by selenium through Debian's chromedriver: no downloaded browser.

``scripts/system-deps`` (run by ``make test``) installs both. Without them a test skips, except
under CI, where a missing browser is a failure rather than a silently green run.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)


def require(*programs: str) -> None:
    missing = [p for p in programs if shutil.which(p) is None and not os.path.exists(p)]
    if missing:
        message = f"{', '.join(missing)} not installed: run scripts/system-deps"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def chromium(width: int = 1300, height: int = 1700) -> Iterator[Any]:
    """A headless chromium session with a fresh profile; its console is kept for the test."""
    require(CHROMIUM, CHROMEDRIVER)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="aw-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={width},{height}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # SE_OFFLINE: selenium must not look for a browser or driver to download.
    os.environ.setdefault("SE_OFFLINE", "true")
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def console_errors(driver: Any) -> list[dict[str, Any]]:
    """Console messages of level SEVERE since the last call (errors, uncaught exceptions, CSP)."""
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
