"""One real Prefect server, one real process worker and one real Redis per test session.

The server keeps its SQLite database in a temporary PREFECT_HOME (analytics off); the worker
runs flows against the test database and publishes to the Redis channel layer, as a worker on
another machine would.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

import httpx
from django.conf import settings

from tests.dbenv import child_env
from tests.factories import ROOT
from tests.helpers import CALLABLES
from tests.servers import free_port, redis_server, stop

POOL = "sdl-test"


@dataclass
class PrefectStack:
    api_url: str
    redis_url: str
    home: str
    workers: list = field(default_factory=list)

    def env(self, **extra) -> dict:
        """For a Prefect CLI command or a worker: Prefect's settings and the test database."""
        values = dict(
            PREFECT_API_URL=self.api_url,
            PREFECT_HOME=self.home,
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            PREFECT_WORKER_QUERY_SECONDS="1",
            PREFECT_WORKER_PREFETCH_SECONDS="1",
            PREFECT_LOGGING_LEVEL="WARNING",
            REDIS_URL=self.redis_url,
            SDL_PYTHON_CALLABLES=",".join([*settings.SDL_PYTHON_CALLABLES, *CALLABLES]),
            SDL_PREFECT_WORK_POOL=POOL,
            COLUMNS="250",
        )
        return child_env(**{**values, **extra})

    def start_worker(self, pool: str = POOL, name: str = "test-worker") -> subprocess.Popen:
        log = open(os.path.join(self.home, f"{name}.log"), "ab")  # noqa: SIM115
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "prefect",
                "worker",
                "start",
                "--pool",
                pool,
                "--type",
                "process",
                "--name",
                name,
            ],
            cwd=ROOT,
            env=self.env(SDL_PREFECT_WORK_POOL=pool),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a test may kill it with everything it started
        )
        self.workers.append(worker)
        return worker

    def prefect(self, *args, timeout=60) -> str:
        """Prefect's own CLI."""
        done = subprocess.run(
            [sys.executable, "-m", "prefect", *args],
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout


def _wait_healthy(url: str, process: subprocess.Popen, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the Prefect server exited ({process.returncode})")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the Prefect server did not answer within {timeout} s")


def start_stack():
    """A generator: yields the stack, then stops everything."""
    home = tempfile.mkdtemp(prefix="sdl-prefect-")
    port = free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": home,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "2",
        "PREFECT_LOGGING_LEVEL": "WARNING",
    }
    env.pop("PREFECT_API_URL", None)
    with open(os.path.join(home, "server.log"), "wb") as log:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "prefect",
                "server",
                "start",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    api_url = f"http://127.0.0.1:{port}/api"
    try:
        with redis_server() as redis_url:
            _wait_healthy(api_url, server)
            stack = PrefectStack(api_url=api_url, redis_url=redis_url, home=home)
            stack.start_worker()
            try:
                yield stack
            finally:
                for worker in stack.workers:
                    if worker.poll() is None:
                        stop(worker)
    finally:
        stop(server)
        shutil.rmtree(home, ignore_errors=True)


def start_in_this_process(stack: PrefectStack):
    """For the engine's parity cases: stands in for the worker's dispatch only. The run's flow
    (`sdl-workflow`, with its Prefect tasks, retries, timeouts and states on the session's real
    server) runs in a thread of the test process instead of a process a worker starts, which
    costs ~6 s of CPU per run. Deployments and the worker have their own tests
    (test_prefect.py, test_prefect_schedules.py)."""
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_LOGGING_TO_API_ENABLED,
        temporary_settings,
    )

    from orchestration.prefect_flow import sdl_workflow

    def start(run):
        def execute():
            try:
                values = {PREFECT_API_URL: stack.api_url, PREFECT_LOGGING_TO_API_ENABLED: False}
                with temporary_settings(values):
                    sdl_workflow(run_id=run.pk)
            except BaseException:  # the flow's own end is in the run record
                pass

        threading.Thread(target=execute, name=f"flow-{run.pk}", daemon=True).start()

    return start
