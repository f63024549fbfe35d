"""A user is told when a run of theirs waits for them, fails or ends: webhook and e-mail."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from playwright.sync_api import expect

from canvas.models import Notifications
from orchestration import runs
from tests.browser import browser, login  # noqa: F401  (fixture)
from tests.factories import document, make_workflow
from tests.orchestration.runhelpers import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


class Webhook:
    """A local Slack-like incoming webhook that keeps what it receives."""

    def __init__(self):
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                received.append(json.loads(body))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/lab"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, words: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout  # a deadline for a lost message, not a speed goal
        while time.monotonic() < deadline:
            for message in self.received:
                if words in message["text"]:
                    return message
            time.sleep(0.05)
        raise AssertionError(f"no message with {words!r}: {self.received}")

    def close(self):
        self.server.shutdown()


def paused_workflow(owner):
    return make_workflow(
        owner,
        document(
            nodes=[
                {
                    "id": "check",
                    "type": "control.pause",
                    "params": {"message": "Look at the plate"},
                },
                {"id": "b", "type": "control.log", "params": {"message": "done"}},
            ],
            edges=[{"source": "check", "target": "b"}],
        ),
    )


@pytest.mark.browser
def test_a_webhook_chosen_in_the_profile_hears_the_pause_and_the_end(
    browser,  # noqa: F811
    site,
    owner,
    settings,
):
    settings.SDL_HTTP_ALLOWED_HOSTS = ["127.0.0.1"]  # the lab allows its own chat relay
    hook = Webhook()
    try:
        page = browser.new_context().new_page()
        login(page, site, "olivia")
        page.get_by_test_id("nav-notifications").click()
        page.locator("[name=webhook_url]").fill(hook.url)
        page.locator("[name=on_end]").check()
        page.get_by_test_id("notifications-save").click()
        expect(page.get_by_test_id("notifications-saved")).to_be_visible()

        run = runs.create_run(paused_workflow(owner), user=owner)
        paused = hook.wait_for("is waiting for you")
        assert paused["text"].startswith(f"Run {run.pk} of Tiny is waiting for you")
        assert paused["text"].endswith(f"/runs/{run.pk}/")
        runs.continue_run(wait_for(run.pk, {"paused"}), owner)
        ended = hook.wait_for("completed")
        assert f"Run {run.pk} of Tiny completed" in ended["text"]
        page.goto(ended["text"].split(" — ")[-1].replace("http://127.0.0.1:8000", site))
        expect(page.get_by_test_id("run-state")).to_have_attribute("data-state", "completed")
    finally:
        hook.close()


def test_an_email_when_a_run_fails_and_none_for_what_was_not_chosen(owner):
    owner.email = "olivia@lab.example"
    owner.save()
    Notifications.objects.create(user=owner, by_email=True, on_pause=False, on_failure=True)
    failing = make_workflow(
        owner,
        document(
            nodes=[
                {
                    "id": "x",
                    "type": "python.call",
                    "params": {"function": "orchestration.examples.mean", "kwargs": {"values": []}},
                }
            ],
            edges=[],
        ),
    )
    run = runs.create_run(paused_workflow(owner), user=owner)
    wait_for(run.pk, {"paused"})
    runs.cancel_run(run, owner)  # not chosen: a cancel is an end, on_end is off
    failed = wait_for(runs.create_run(failing, user=owner).pk)
    assert failed.state == "failed"
    deadline = time.monotonic() + 30
    while not mail.outbox:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.5)  # nothing else is on its way
    assert [m.subject for m in mail.outbox] == [f"Run {failed.pk} of Tiny failed"]
    assert mail.outbox[0].to == ["olivia@lab.example"]
    assert f"/runs/{failed.pk}/" in mail.outbox[0].body
