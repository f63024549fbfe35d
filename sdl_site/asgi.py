import logging
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sdl_site.settings")
django_asgi_app = get_asgi_application()


def _recover():
    """Runs left unfinished by a server that died are marked interrupted, never resumed."""
    from orchestration.runs import recover_interrupted_runs

    try:
        recover_interrupted_runs()
    except Exception:  # a database that is not migrated yet must not stop the server
        logging.getLogger(__name__).exception("could not check for interrupted runs")


_recover()
application = django_asgi_app
