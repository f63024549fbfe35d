"""`make bench`: speed figures, one per line as `name value unit`. Not collected by pytest.

Runs against a throw-away SQLite database (or DATABASE_URL when set).
"""

import os
import sys
import tempfile

os.environ.setdefault("SDL_DATA_DIR", tempfile.mkdtemp(prefix="sdl-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sdl_site.settings")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# The figures, not Prefect's log of every task (nor its harness's shutdown noise).
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "CRITICAL")
os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "CRITICAL")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402


def main(which: list[str]):
    call_command("migrate", verbosity=0)
    from tests.bench import api, campaigns, dryrun, editor, engine, live, robots, validation

    # The table first: engine, live updates, the API, validation; robots; the editor.
    suites = {
        "engine": engine.run,
        "live": live.run,
        "api": api.run,
        "validation": validation.run,
        "robots": robots.run,
        "dryrun": dryrun.run,
        "campaigns": campaigns.run,
        "editor": editor.run,
    }
    for name, suite in suites.items():
        if not which or name in which:
            suite()


if __name__ == "__main__":
    main(sys.argv[1:])
