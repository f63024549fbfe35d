"""HTTP through Django, websockets through Channels (run by daphne)."""

import logging
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sdl_site.settings")
django_asgi_app = get_asgi_application()  # first: it sets Django up for the imports below

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from orchestration.routing import websocket_urlpatterns  # noqa: E402


def _recover():
    """Runs left unfinished by a server that died are marked interrupted, never resumed."""
    from orchestration.runs import recover_interrupted_runs

    try:
        recover_interrupted_runs()
    except Exception:  # a database that is not migrated yet must not stop the server
        logging.getLogger(__name__).exception("could not check for interrupted runs")


def _scheduler():
    """Schedules fire from the serving process too, so `make run` needs nothing more."""
    import threading

    from django.conf import settings

    from orchestration import schedules

    if settings.SDL_SCHEDULER_IN_SERVER:
        stop = threading.Event()
        threading.Thread(
            target=schedules.loop, args=(stop,), name="sdl-scheduler", daemon=True
        ).start()


_recover()
_scheduler()
application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
