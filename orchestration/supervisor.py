"""The supervisor: the loop that fires due schedules, turns campaigns and keeps Prefect runs
in step.

It runs in `manage.py run_scheduler`, or as a thread of the process that `manage.py serve`
starts (`make run`). Importing the site starts nothing.
"""

import logging
import threading
import time

from django.conf import settings
from django.db import close_old_connections

from orchestration import campaigns, prefect_engine, runs, schedules, wakeup

log = logging.getLogger(__name__)
TICK_S = 1.0
RECONCILE_S = 10.0
SWEEP_S = 30.0


def loop(stop: threading.Event, tick_s: float = TICK_S) -> None:
    next_reconcile = next_sweep = 0.0
    while not stop.is_set():
        try:
            close_old_connections()
            schedules.tick()
        except Exception:  # a bad schedule must not stop the others
            log.exception("scheduler tick failed")
        if time.monotonic() >= next_sweep:  # runs whose process died, or that were lost
            next_sweep = time.monotonic() + SWEEP_S
            try:
                runs.recover_interrupted_runs()
                runs.end_lost_runs()
            except Exception:
                log.exception("could not look for abandoned runs")
        if settings.PREFECT_API_URL and time.monotonic() >= next_reconcile:
            next_reconcile = time.monotonic() + RECONCILE_S
            try:  # Prefect runs whose flow died without saying so
                prefect_engine.reconcile()
            except Exception as exc:
                log.warning("could not compare runs with Prefect: %s", exc)
        try:  # campaigns: settle ended trials, start the next ones
            campaigns.step_all()
        except Exception:
            log.exception("campaign step failed")
        wakeup.WAKE.wait(tick_s)  # a run's end wakes the loop at once
        wakeup.WAKE.clear()


def recover() -> None:
    """Runs left unfinished by a server that died are marked interrupted, never resumed."""
    try:
        runs.recover_interrupted_runs()
    except Exception:  # a database that is not migrated yet must not stop the server
        log.exception("could not check for interrupted runs")


def start_in_background() -> threading.Event:
    """Recover, then run the loop in a daemon thread; set the returned event to stop it."""
    recover()
    stop = threading.Event()
    threading.Thread(target=loop, args=(stop,), name="sdl-supervisor", daemon=True).start()
    return stop
