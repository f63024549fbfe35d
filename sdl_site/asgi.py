"""HTTP through Django, websockets through Channels (run by daphne). Importing this starts
nothing: `manage.py serve` recovers runs and starts the supervisor."""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sdl_site.settings")
django_asgi_app = get_asgi_application()  # first: it sets Django up for the imports below

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from orchestration.routing import websocket_urlpatterns  # noqa: E402
from sdl_site.origins import SameOriginValidator  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": SameOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)

# What is loaded by now lives as long as the process: out of the collector's sight, so that
# its full collections (60–90 ms here, every few seconds of a busy run) do not stall every
# live update and request while they scan Django, Channels and our modules again.
gc.freeze()
