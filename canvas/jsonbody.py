"""JSON request bodies, read once and refused early when too large or too deeply nested."""

import json

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse


class BodyError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


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
        raise BodyError(413, f"the body is larger than {limit // 1024} KiB")
    if not raw.strip():
        raise BodyError(400, "the body is empty: send a JSON document")
    try:
        value = json.loads(raw)
    except RecursionError:
        raise BodyError(400, "the JSON is nested too deeply")
    except (ValueError, UnicodeDecodeError) as exc:
        raise BodyError(400, f"the body is not valid JSON: {exc}")
    if json_depth(value, settings.SDL_MAX_JSON_DEPTH) > settings.SDL_MAX_JSON_DEPTH:
        raise BodyError(400, f"the JSON is nested deeper than {settings.SDL_MAX_JSON_DEPTH} levels")
    return value


class ApiJsonBody:
    """Reads the JSON body of an API request before any view does, answering 413/400 with a
    clear message; the API's parser then uses `request.json_body`."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith("/api/") and request.method in ("POST", "PUT", "PATCH"):
            length = request.META.get("CONTENT_LENGTH") or "0"
            limit = settings.SDL_MAX_DOCUMENT_BYTES
            if length.isdigit() and int(length) > limit + 64 * 1024:
                return JsonResponse(
                    {"detail": f"the body is larger than {limit // 1024} KiB"}, status=413
                )
            if request.content_type == "application/json" and request.body.strip():
                try:
                    request.json_body = read_json(request.body)
                except RequestDataTooBig:
                    return JsonResponse({"detail": "the body is too large"}, status=413)
                except BodyError as exc:
                    return JsonResponse({"detail": str(exc)}, status=exc.status)
        return self.get_response(request)
