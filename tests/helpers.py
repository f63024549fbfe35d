"""Functions that tests register as `python.call` targets (SDL_PYTHON_CALLABLES)."""

import os
import tempfile
import time
from pathlib import Path

# Call counts outlive a process (a Prefect flow runs in a worker's process): one file per key,
# one byte per call, in a folder of this test session (children inherit the variable).
COUNTERS = Path(os.environ.setdefault("SDL_TEST_COUNTERS", tempfile.mkdtemp(prefix="sdl-calls-")))


def flaky(key: str, failures: int) -> str:
    """Fails `failures` times for `key`, then succeeds."""
    fd = os.open(COUNTERS / key, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(fd, b".")
        count = os.fstat(fd).st_size
    finally:
        os.close(fd)
    if count <= failures:
        raise RuntimeError(f"flaky failure {count}")
    return f"ok after {count}"


def hang(seconds: float) -> str:
    time.sleep(seconds)
    return "woke up"


def not_json() -> object:
    return {1, 2, 3}


def boom() -> None:
    raise ZeroDivisionError("division by zero in the lab")


CALLABLES = [f"tests.helpers.{n}" for n in ("flaky", "hang", "not_json", "boom")]
