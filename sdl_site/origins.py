"""Websocket origins checked as Django's CSRF checks HTTP: the Origin must be this site itself
(the same scheme, host and port as the request) or one of SDL_CSRF_TRUSTED_ORIGINS."""

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(scheme: str, host: str, port: int | None) -> tuple[str, str, int]:
    return scheme, host.lower(), port or DEFAULT_PORTS.get(scheme, 0)


def allowed(origin: str, scope: dict) -> bool:
    try:
        parts = urlsplit(origin)
        offered = _origin(parts.scheme, parts.hostname or "", parts.port)
    except ValueError:
        return False
    for trusted in settings.CSRF_TRUSTED_ORIGINS:
        trusted_parts = urlsplit(trusted)
        if offered == _origin(
            trusted_parts.scheme, trusted_parts.hostname or "", trusted_parts.port
        ):
            return True
    headers = dict(scope.get("headers") or [])
    host = headers.get(b"host", b"").decode("latin-1")
    scheme = "https" if scope.get("scheme") in ("wss", "https") else "http"
    try:
        own = urlsplit(f"{scheme}://{host}")
        own_origin = _origin(scheme, own.hostname or "", own.port)
    except ValueError:
        return False
    return offered == own_origin and validate_host(own_origin[1], settings.ALLOWED_HOSTS)


class SameOriginValidator:
    """ASGI middleware: a websocket whose Origin is not this site is refused (403)."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket":
            origin = dict(scope.get("headers") or []).get(b"origin", b"").decode("latin-1")
            if not origin or not allowed(origin, scope):
                denier = WebsocketDenier()
                return await denier(scope, receive, send)
        return await self.application(scope, receive, send)
