"""The HTTP API: one NinjaAPI, session (with CSRF) or personal-token auth. JSON bodies are
read (and refused when too large or too deep) by canvas.jsonbody.ApiJsonBody."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from ninja import NinjaAPI
from ninja.parser import Parser
from ninja.security import HttpBearer, django_auth

from canvas.api import router as canvas_router
from canvas.jsonbody import read_json
from canvas.models import ApiToken
from canvas.permissions import Forbidden
from orchestration.api import router as orchestration_router
from orchestration.campaign_api import router as campaign_router
from orchestration.runs import RunRefused
from robots.api import router as robots_router


class BearerToken(HttpBearer):
    def authenticate(self, request, token):
        user = ApiToken.user_for(token)
        if user is not None:
            request.user = user
        return user


class SafeParser(Parser):
    def parse_body(self, request):
        if hasattr(request, "json_body"):  # read by canvas.jsonbody.ApiJsonBody
            return request.json_body
        return read_json(request.body)


def signed_in(view):
    """The API's schema and docs: for a signed-in user or a personal token, like the API."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
            user = ApiToken.user_for(token) if token else None
            if user is None:
                return redirect_to_login(request.get_full_path())
            request.user = user
        return view(request, *args, **kwargs)

    return wrapper


api = NinjaAPI(
    title="SDL Canvas API",
    version="1",
    description="Workflows, validation, runs and robots of SDL Canvas. "
    "Authenticate with your browser session or `Authorization: Bearer <token>`.",
    auth=[BearerToken(), django_auth],
    parser=SafeParser(),
    urls_namespace="api",
    docs_decorator=signed_in,
)


@api.exception_handler(Forbidden)
def forbidden(request, exc):
    return api.create_response(request, {"detail": str(exc)}, status=403)


@api.exception_handler(RunRefused)
def run_refused(request, exc):
    """Every endpoint that starts or controls a run refuses the same way."""
    body = {"detail": str(exc), "errors": [i.as_json() for i in exc.issues]}
    return api.create_response(request, body, status=exc.status)


@api.exception_handler(OverflowError)
def id_too_large(request, exc):
    """An id in the path beyond a 64-bit integer (the database cannot even look it up)."""
    return api.create_response(
        request, {"detail": "no such object: an id has at most 18 digits"}, status=404
    )


@api.exception_handler(Http404)
def not_found(request, exc):
    return api.create_response(request, {"detail": str(exc) or "not found"}, status=404)


api.add_router("", canvas_router)
api.add_router("", orchestration_router)
api.add_router("", robots_router)
api.add_router("", campaign_router)
