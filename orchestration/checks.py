"""Configuration mistakes, reported by `manage.py check` and at start-up."""

from urllib.parse import urlparse

from django.conf import settings
from django.core.checks import Error, Warning, register
from django.utils.module_loading import import_string

ENGINES = ("native", "prefect")


@register()
def check_engine(app_configs, **kwargs):
    problems = []
    if settings.SDL_DEFAULT_ENGINE not in ENGINES:
        problems.append(
            Error(
                f"SDL_ENGINE is {settings.SDL_DEFAULT_ENGINE!r}",
                hint=f"use one of {', '.join(ENGINES)}",
                id="orchestration.E001",
            )
        )
    if settings.SDL_DEFAULT_ENGINE == "prefect" and not settings.PREFECT_API_URL:
        problems.append(
            Error(
                "SDL_ENGINE is prefect but PREFECT_API_URL is not set",
                hint="start a server with `make prefect-server` and set "
                "PREFECT_API_URL=http://127.0.0.1:4200/api",
                id="orchestration.E002",
            )
        )
    if settings.PREFECT_API_URL and urlparse(settings.PREFECT_API_URL).scheme not in (
        "http",
        "https",
    ):
        problems.append(
            Error(
                f"PREFECT_API_URL {settings.PREFECT_API_URL!r} is not an http(s) URL",
                hint="e.g. http://127.0.0.1:4200/api",
                id="orchestration.E003",
            )
        )
    if settings.SDL_ENGINE_THREADS < 1:
        problems.append(Error("SDL_ENGINE_THREADS must be at least 1", id="orchestration.E004"))
    return problems


@register()
def check_redis(app_configs, **kwargs):
    if settings.REDIS_URL and urlparse(settings.REDIS_URL).scheme not in (
        "redis",
        "rediss",
        "unix",
    ):
        return [
            Error(
                f"REDIS_URL {settings.REDIS_URL!r} is not a redis:// URL",
                hint="e.g. redis://127.0.0.1:6379/0",
                id="orchestration.E005",
            )
        ]
    return []


@register()
def check_python_callables(app_configs, **kwargs):
    problems = []
    for name in settings.SDL_PYTHON_CALLABLES:
        try:
            function = import_string(name)
        except ImportError as exc:
            problems.append(
                Error(
                    f"SDL_PYTHON_CALLABLES names {name}, which cannot be imported: {exc}",
                    id="orchestration.E006",
                )
            )
            continue
        if not callable(function):
            problems.append(Error(f"{name} is not callable", id="orchestration.E007"))
    return problems


@register(deploy=True)
def check_single_process_database(app_configs, **kwargs):
    if settings.PREFECT_API_URL and not settings.DATABASE_URL:
        return [
            Warning(
                "Prefect workers in other processes share SQLite with the web server",
                hint="set DATABASE_URL to a PostgreSQL database for Prefect workers on "
                "other machines",
                id="orchestration.W001",
            )
        ]
    return []
