"""Wake the supervisor at once (a run ended, a campaign changed) instead of at its next tick."""

import threading

WAKE = threading.Event()


def poke() -> None:
    WAKE.set()
