"""The HTTP API: one NinjaAPI, session (with CSRF) or personal-token auth, and a body parser
that refuses oversized or too deeply nested JSON with a 4xx before anything else reads it."""

import json

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import HttpError
from ninja.parser import Parser
from ninja.security import HttpBearer, django_auth

from canvas.models import ApiToken
from canvas.permissions import Forbidden


class BearerToken(HttpBearer):
    def authenticate(self, request, token):
        user = ApiToken.user_for(token)
        if user is not None:
            request.user = user
        return user


def json_depth(value, limit: int) -> int:
    """Nesting depth of a parsed JSON value, iteratively (no recursion on hostile input)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        current, depth = stack.pop()
        if isinstance(current, dict | list):
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest
            children = current.values() if isinstance(current, dict) else current
            stack.extend((child, depth + 1) for child in children)
    return deepest


def read_json(raw: bytes):
    limit = settings.SDL_MAX_DOCUMENT_BYTES
    if len(raw) > limit:
        raise HttpError(413, f"the body is larger than {limit // 1024} KiB")
    try:
        value = json.loads(raw)
    except RecursionError:
        raise HttpError(400, "the JSON is nested too deeply")
    except (ValueError, UnicodeDecodeError) as exc:
        raise HttpError(400, f"the body is not valid JSON: {exc}")
    if json_depth(value, settings.SDL_MAX_JSON_DEPTH) > settings.SDL_MAX_JSON_DEPTH:
        raise HttpError(400, f"the JSON is nested deeper than {settings.SDL_MAX_JSON_DEPTH}")
    return value


class SafeParser(Parser):
    def parse_body(self, request):
        length = request.META.get("CONTENT_LENGTH") or "0"
        if length.isdigit() and int(length) > settings.SDL_MAX_DOCUMENT_BYTES:
            raise HttpError(
                413, f"the body is larger than {settings.SDL_MAX_DOCUMENT_BYTES // 1024} KiB"
            )
        try:
            raw = request.body
        except RequestDataTooBig:
            raise HttpError(413, "the body is too large")
        if not raw:
            raise HttpError(400, "the body is empty: send a JSON document")
        return read_json(raw)


api = NinjaAPI(
    title="SDL Canvas API",
    version="1",
    description="Workflows, validation, runs and robots of SDL Canvas. "
    "Authenticate with your browser session or `Authorization: Bearer <token>`.",
    auth=[BearerToken(), django_auth],
    parser=SafeParser(),
    urls_namespace="api",
)


@api.exception_handler(Forbidden)
def forbidden(request, exc):
    return api.create_response(request, {"detail": str(exc)}, status=403)


@api.exception_handler(Http404)
def not_found(request, exc):
    return api.create_response(request, {"detail": str(exc) or "not found"}, status=404)


def register_routers():
    from canvas.api import router as canvas_router
    from orchestration.api import router as orchestration_router
    from robots.api import router as robots_router

    api.add_router("", canvas_router)
    api.add_router("", orchestration_router)
    api.add_router("", robots_router)


register_routers()
