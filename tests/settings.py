"""The site's settings for tests and the servers they start: the same, but with a fast
password hasher (the production one costs ~0.7 s per user on purpose)."""

from sdl_site.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# One dry-run worker per test process: the suite runs in two processes on two cores, beside
# its own Prefect server and worker.
SDL_DRY_RUN_WORKERS = 1
