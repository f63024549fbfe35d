from django.contrib.auth.middleware import LoginRequiredMiddleware


class LoginRequired(LoginRequiredMiddleware):
    """Every page needs a signed-in user; the API answers 401 itself (session or token)."""

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path_info.startswith("/api/"):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)
