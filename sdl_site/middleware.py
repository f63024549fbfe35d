from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.http import HttpResponseForbidden, HttpResponseNotFound

from canvas.permissions import Forbidden


class LoginRequired(LoginRequiredMiddleware):
    """Every page needs a signed-in user; the API answers 401 itself (session or token)."""

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path_info.startswith("/api/"):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


class PageErrors:
    """Pages answer what the API answers for the same causes: 403 for a workflow the user may
    see but not use that way, 404 for an id beyond what the database can hold."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, Forbidden):
            return HttpResponseForbidden(str(exception))
        if isinstance(exception, OverflowError):
            return HttpResponseNotFound("no such object: an id has at most 18 digits")
        return None
