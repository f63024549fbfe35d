"""JSON request bodies, read once and refused early when too large, too deeply nested, or
holding what the databases cannot store (NaN, Infinity, numbers beyond a double, NUL
characters); and values made storable where they come from code rather than people."""

import json
import math

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


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text} is too large a number")
    return number


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def strict_loads(raw: bytes | str):
    """json.loads that refuses NaN, Infinity and numbers a double cannot hold (ValueError)."""
    return json.loads(raw, parse_float=_finite, parse_constant=_no_constant)


def nul_path(value) -> str | None:
    """Where a JSON value holds a NUL character (in a key or a string), or None."""
    stack = [(value, "")]
    while stack:
        current, path = stack.pop()
        if isinstance(current, str):
            if "\x00" in current:
                return path or "the body"
        elif isinstance(current, dict):
            for key, child in current.items():
                if "\x00" in key:
                    return f"{path}.{key!r}" if path else repr(key)
                stack.append((child, f"{path}.{key}" if path else key))
        elif isinstance(current, list):
            stack.extend((child, f"{path}[{i}]") for i, child in enumerate(current))
    return None


def storable(value, path: str = "") -> tuple[object, list[str]]:
    """A JSON value both databases store as it is, and what had to change: a non-finite number
    becomes the text "NaN", "Infinity" or "-Infinity", a NUL character U+FFFD. TypeError for
    what is not JSON at all."""
    notes: list[str] = []

    def convert(current, where):
        if isinstance(current, float) and not math.isfinite(current):
            text = "NaN" if math.isnan(current) else ("Infinity" if current > 0 else "-Infinity")
            notes.append(f"{where or 'the value'}: {text} stored as the text {text!r}")
            return text
        if isinstance(current, str):
            if "\x00" in current:
                notes.append(f"{where or 'the value'}: NUL characters stored as U+FFFD")
                return current.replace("\x00", "\ufffd")
            return current
        if current is None or isinstance(current, bool | int | float):
            return current
        if isinstance(current, dict):
            return {
                convert(str(k), where): convert(v, f"{where}.{k}" if where else str(k))
                for k, v in current.items()
            }
        if isinstance(current, list | tuple):
            return [convert(v, f"{where}[{i}]") for i, v in enumerate(current)]
        raise TypeError(f"{where or 'the value'}: {type(current).__name__} is not JSON")

    return convert(value, path), notes


def read_json(raw: bytes):
    limit = settings.SDL_MAX_DOCUMENT_BYTES
    if len(raw) > limit:
        raise BodyError(413, f"the body is larger than {limit // 1024} KiB")
    if not raw.strip():
        raise BodyError(400, "the body is empty: send a JSON document")
    try:
        value = strict_loads(raw)
    except RecursionError:
        raise BodyError(400, "the JSON is nested too deeply")
    except (ValueError, UnicodeDecodeError) as exc:
        raise BodyError(400, f"the body is not valid JSON: {exc}")
    if json_depth(value, settings.SDL_MAX_JSON_DEPTH) > settings.SDL_MAX_JSON_DEPTH:
        raise BodyError(400, f"the JSON is nested deeper than {settings.SDL_MAX_JSON_DEPTH} levels")
    where = nul_path(value)
    if where is not None:
        raise BodyError(400, f"{where}: text may not contain NUL characters")
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
