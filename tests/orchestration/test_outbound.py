"""`http.request` reaches only what the installation allows (no server-side request forgery)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from canvas.validation import validate
from orchestration import outbound, runs
from tests.factories import document, make_workflow
from tests.orchestration.runhelpers import nodes, run_document, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


class Secrets(BaseHTTPRequestHandler):
    """An internal service on loopback that must stay unreachable from workflows."""

    def do_GET(self):  # noqa: N802
        if self.path == "/hop":
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{self.server.server_port}/secret")
            self.end_headers()
            return
        body = json.dumps({"secret": "s3cr3t", "host": self.headers["Host"]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def internal():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Secrets)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_port
    server.shutdown()


@pytest.fixture(autouse=True)
def fresh_allow_list():
    outbound._allowed.cache_clear()
    yield
    outbound._allowed.cache_clear()


def http_doc(url: str) -> dict:
    return document(
        nodes=[{"id": "call", "type": "http.request", "params": {"url": url}}],
        edges=[],
        parameters={},
    )


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "localhost", "2130706433", "0x7f.1", "[::1]", "169.254.169.254", "10.1.2.3"],
)
def test_validation_flags_internal_hosts(host):
    report = validate(http_doc(f"http://{host}:8080/x"))
    assert [i.path for i in report.issues] == ["nodes[call].params.url"]
    assert "internal address" in report.issues[0].message


def test_validation_refuses_credentials_in_the_url():
    report = validate(http_doc("http://user@example.org/"))
    assert "user name or password" in report.issues[0].message


FORMS = ["127.0.0.1", "localhost", "2130706433", "0x7f.1", "user@127.0.0.1", "[::ffff:7f00:1]"]


@pytest.mark.parametrize("form", FORMS)
def test_a_run_of_an_internal_url_is_refused_before_it_starts(owner, internal, form):
    workflow = make_workflow(owner, http_doc(f"http://{form}:{internal}/secret"))
    with pytest.raises(runs.RunRefused) as refused:
        runs.create_run(workflow, user=owner)
    assert "nodes[call].params.url" in str(refused.value)


@pytest.mark.parametrize("form", FORMS)
def test_the_node_itself_refuses_every_form_before_connecting(internal, form):
    with pytest.raises(outbound.Refused):
        outbound.request("GET", f"http://{form}:{internal}/secret")


def test_an_allowed_instrument_is_reached_and_its_redirects_are_checked(owner, internal, settings):
    settings.SDL_HTTP_ALLOWED_HOSTS = ["127.0.0.1"]
    run = run_document(owner, "native", http_doc(f"http://127.0.0.1:{internal}/hop"))
    assert run.state == "completed", run.error
    assert nodes(run)["call"].output["json"]["secret"] == "s3cr3t"


def test_a_redirect_to_an_internal_address_is_refused(monkeypatch, internal):
    monkeypatch.setattr(outbound, "address_refusal", refuse_second_port(internal))
    with pytest.raises(outbound.Refused):
        outbound.request("GET", f"http://127.0.0.1:{internal}/hop")


def refuse_second_port(port):
    """Allows the first hop only: the redirect target must be checked again."""
    calls = []

    def check(host, address):
        calls.append(host)
        return None if len(calls) == 1 else "internal"

    return check


def test_a_refused_host_is_never_connected(owner, monkeypatch):
    def no_connection(*args, **kw):
        raise AssertionError("connected")

    monkeypatch.setattr(outbound.httpx.Client, "request", no_connection)
    with pytest.raises(outbound.Refused):
        outbound.request("GET", "http://127.0.0.1:9/")
    with pytest.raises(outbound.Refused):
        outbound.request("GET", "http://[::ffff:127.0.0.1]:9/")


def test_the_node_fails_with_the_refusal_not_a_connection_error(owner, settings):
    workflow = make_workflow(owner, http_doc("http://example.invalid/x"))
    assert workflow.valid  # a name is resolved only when the node runs
    run = wait_for(runs.create_run(workflow, user=owner).pk)
    assert run.state == "failed" and "does not resolve" in nodes(run)["call"].error
