"""Real services for tests: a private redis-server and daphne, each on a free port."""

import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager

from tests.factories import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 60, output=None):
    """`output`: the file the server writes to, shown when it exits early."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            said = ""
            if output is not None:
                output.seek(0)
                said = output.read().decode(errors="replace")
            raise RuntimeError(f"the server exited early:\n{said[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s")


def stop(process: subprocess.Popen):
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def _server(command: list[str], port: int, **popen):
    """A server process until the block ends. Its output goes to a file: a pipe nobody reads
    fills up (64 KB of daphne's access log) and then blocks the server mid-request."""
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, **popen)
        try:
            wait_for_port(port, process, output=output)
            yield
        finally:
            stop(process)


@contextmanager
def redis_server():
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed: run `make test-deps`")
    port = free_port()
    options = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    with _server([binary, *options], port):
        yield f"redis://127.0.0.1:{port}/0"


@contextmanager
def daphne(env: dict):
    port = free_port()
    command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port)]
    with _server([*command, "sdl_site.asgi:application"], port, cwd=ROOT, env=env):
        yield f"127.0.0.1:{port}"
