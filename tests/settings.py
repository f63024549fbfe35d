"""The site's settings for tests and the servers they start: the same, but with a fast
password hasher (the production one costs ~0.7 s per user on purpose)."""

from sdl_site.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
