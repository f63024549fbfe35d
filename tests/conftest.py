import json

import pytest
from django.test import Client

from tests.factories import make_user, token_for


class Api:
    """A JSON client for /api/ authenticated with a personal token."""

    def __init__(self, user=None, **client_kw):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {token_for(user)}"} if user else {}
        self.client = Client(**headers, **client_kw)

    def _send(self, method, url, body, **kw):
        data = body if isinstance(body, bytes | str) else json.dumps(body)
        return getattr(self.client, method)(url, data=data, content_type="application/json", **kw)

    def get(self, url, **kw):
        return self.client.get(url, **kw)

    def post(self, url, body=None, **kw):
        return self._send("post", url, {} if body is None else body, **kw)

    def put(self, url, body, **kw):
        return self._send("put", url, body, **kw)

    def delete(self, url, **kw):
        return self.client.delete(url, **kw)


def pytest_collection_modifyitems(items):
    """Mark what needs a browser or a Prefect stack by the fixtures it uses, so that
    `make test-fast` (-m "not browser and not prefect") can leave them out."""
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "browser" in fixtures:
            item.add_marker(pytest.mark.browser)
        callspec = getattr(item, "callspec", None)
        on_prefect = callspec is not None and callspec.params.get("engine_name") == "prefect"
        if on_prefect or "prefect" in fixtures or "prefect_stack" in fixtures:
            item.add_marker(pytest.mark.prefect)


@pytest.fixture(scope="session")
def site(django_db_setup, django_db_blocker):
    """One web server (daphne, on the test database) for every browser test."""
    from tests.dbenv import child_env
    from tests.servers import daphne

    with daphne(child_env()) as host:
        yield f"http://{host}"


@pytest.fixture(autouse=True)
def no_scheduler_in_tests(settings):
    """The web server fires schedules from a thread; tests drive the scheduler themselves."""
    settings.SDL_SCHEDULER_IN_SERVER = False


@pytest.fixture
def owner(db):
    return make_user("olivia")


@pytest.fixture
def teammate(db):
    return make_user("theo")


@pytest.fixture
def outsider(db):
    return make_user("oscar")


@pytest.fixture
def admin_client(db):
    """A lab manager signed in to the admin."""
    from django.contrib.auth import get_user_model

    admin = get_user_model().objects.create_superuser("boss", password="a-long-test-password")
    client = Client()
    client.force_login(admin)
    return client


@pytest.fixture
def api(owner):
    return Api(owner)


@pytest.fixture
def api_for(db):
    return Api


@pytest.fixture(scope="session", autouse=True)
def close_database_pools(django_db_setup):
    """On PostgreSQL, the pool's connections close before the test database is dropped."""
    yield
    from django.db import connections

    for connection in connections.all():
        if getattr(connection, "pool", None) is not None:
            connection.close_pool()


@pytest.fixture(scope="session")
def prefect_stack(django_db_setup, django_db_blocker):
    """A real Prefect server, process worker and Redis, started once per session."""
    from tests.prefect_stack import start_stack

    yield from start_stack()


@pytest.fixture
def prefect(prefect_stack, settings):
    """This test talks to the session's Prefect server; its worker serves POOL."""
    from tests.prefect_stack import POOL

    settings.PREFECT_API_URL = prefect_stack.api_url
    settings.SDL_PREFECT_WORK_POOL = POOL
    return prefect_stack


@pytest.fixture(params=["native", "prefect"])
def engine_name(request, monkeypatch):
    """Engine tests run on both engines: the same cases, the same expectations. On Prefect,
    the flow runs in this process (see prefect_stack.start_in_this_process)."""
    if request.param == "prefect":
        from orchestration import prefect_engine
        from tests.prefect_stack import start_in_this_process

        stack = request.getfixturevalue("prefect")
        monkeypatch.setattr(prefect_engine, "start", start_in_this_process(stack))
    return request.param


PREFECT_MODULES = (
    "tests/orchestration/test_prefect.py",
    "tests/orchestration/test_prefect_schedules.py",
)


def pytest_xdist_make_scheduler(config, log):
    """`make test` runs two pytest-xdist workers: every test that starts Prefect flows goes to
    one of them (one Prefect server, and the one test database its worker writes to), the
    others one by one wherever there is room. (xdist's own `loadgroup` does not group under
    pytest 9.)"""
    from xdist.scheduler import LoadScopeScheduling

    class PrefectTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            if nodeid.startswith(PREFECT_MODULES) or "[prefect]" in nodeid:
                return "prefect"
            return nodeid

    return PrefectTogether(config, log)
