"""Functions that tests register as `python.call` targets (SDL_PYTHON_CALLABLES)."""

import threading
import time

_calls: dict[str, int] = {}
_lock = threading.Lock()


def flaky(key: str, failures: int) -> str:
    """Fails `failures` times for `key`, then succeeds."""
    with _lock:
        _calls[key] = _calls.get(key, 0) + 1
        count = _calls[key]
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
