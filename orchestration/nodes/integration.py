"""Nodes that reach outside the lab's robots: HTTP services and installation-registered code."""

from typing import Any, Literal

import httpx
from django.conf import settings
from django.utils.module_loading import import_string
from pydantic import AnyHttpUrl, Field

from canvas.registry import NodeError, NodeType, Params
from orchestration import outbound


class HttpParams(Params):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    url: AnyHttpUrl
    json_body: Any = Field(default=None, alias="json", description="JSON body to send")
    headers: dict[str, str] = {}
    expected_status: int | list[int] = Field(default=200, description="Status(es) that count")
    timeout_s: float = Field(default=30, gt=0, le=600)


class HttpRequest(NodeType):
    type = "http.request"
    title = "HTTP request"
    category = "integration"
    description = "Calls an HTTP service (an instrument, a LIMS); fails on an unexpected status."
    Params = HttpParams
    summary = "{method} {url}"
    outputs = {"status": "the HTTP status", "json": "the JSON answer (or null)"}

    def check(self, params, document):
        refusal = outbound.url_refusal(str(params.url))
        return [("url", refusal)] if refusal else []

    def execute(self, context, params):
        expected = params.expected_status
        expected = expected if isinstance(expected, list) else [expected]
        context.check_cancelled()
        try:
            response = outbound.request(
                params.method,
                str(params.url),
                json=params.json_body,
                headers=params.headers,
                timeout=params.timeout_s,
            )
        except outbound.Refused as exc:
            raise NodeError(f"{params.method} {params.url} refused: {exc}", retryable=False)
        except httpx.TimeoutException:
            raise NodeError(f"{params.url} did not answer within {params.timeout_s:g} s")
        except httpx.HTTPError as exc:
            raise NodeError(f"{params.method} {params.url} failed: {exc}")
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code not in expected:
            raise NodeError(
                f"{params.method} {params.url} answered {response.status_code}, "
                f"expected {', '.join(map(str, expected))}",
                retryable=response.status_code >= 500,
            )
        return {"status": response.status_code, "json": body}


class PythonCallParams(Params):
    function: str = Field(description="Dotted name of a function registered in settings")
    kwargs: dict[str, Any] = {}


class PythonCall(NodeType):
    type = "python.call"
    title = "Python function"
    category = "integration"
    description = "Calls a function that this installation registered (SDL_PYTHON_CALLABLES)."
    Params = PythonCallParams
    summary = "{function}"
    outputs = {"result": "what the function returned"}

    def check(self, params, document):
        if params.function not in settings.SDL_PYTHON_CALLABLES:
            allowed = ", ".join(settings.SDL_PYTHON_CALLABLES) or "none"
            return [
                (
                    "function",
                    f"{params.function} is not a registered function (registered: {allowed})",
                )
            ]
        return []

    def execute(self, context, params):
        if params.function not in settings.SDL_PYTHON_CALLABLES:
            raise NodeError(f"{params.function} is not a registered function", retryable=False)
        function = import_string(params.function)
        try:
            return {"result": function(**params.kwargs)}
        except TypeError as exc:
            raise NodeError(f"{params.function}: {exc}", retryable=False)
