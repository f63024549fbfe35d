"""Playwright with Debian's Chromium (or Playwright's own browser where one is installed)."""

import os
import shutil

import pytest

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-dev-shm-usage",
]


def launch():
    from playwright.sync_api import sync_playwright

    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # ORM calls beside Playwright's loop
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    with sync_playwright() as p:
        try:
            browser = p.chromium.launch(executable_path=executable, args=ARGS)
        except Exception as exc:
            raise RuntimeError(
                "no browser for the tests: `apt-get install chromium` or "
                "`.venv/bin/playwright install chromium`"
            ) from exc
        yield browser
        browser.close()


# Module scope: Playwright's sync API keeps an event loop running while it is open, which
# the asyncio tests of other modules must not find.
browser = pytest.fixture(scope="module")(launch)


def login(page, base: str, username: str, password: str = "a-long-test-password"):
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")


def place_labware(page, slot: str, load_name: str, search: str, labware_id: str | None = None):
    """Put labware in a deck slot as a person does: click the slot, search, click the match."""
    page.get_by_test_id(f"deck-slot-{slot}").click()
    page.get_by_test_id(f"deck-slot-{slot}-search").fill(search)
    page.get_by_test_id(f"deck-option-{load_name}").click()
    if labware_id:
        page.get_by_test_id(f"deck-slot-{slot}-id").fill(labware_id)
        page.get_by_test_id(f"deck-slot-{slot}-id").blur()
