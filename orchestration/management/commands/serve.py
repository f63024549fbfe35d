from django.conf import settings
from django.core.management.base import BaseCommand

from orchestration import supervisor
from robots import controller


class Command(BaseCommand):
    help = (
        "Serve SDL Canvas (HTTP and websockets, with daphne). Runs a dead server left "
        "unfinished are marked interrupted first; schedules fire from this process unless "
        "SDL_SCHEDULER_IN_SERVER=false (then run `manage.py run_scheduler` beside it)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, host, port, **options):
        controller.warm_up()
        if settings.SDL_SCHEDULER_IN_SERVER:
            supervisor.start_in_background()
        else:
            supervisor.recover()
        from daphne.cli import CommandLineInterface  # installs Twisted's asyncio reactor

        CommandLineInterface().run(["-b", host, "-p", str(port), "sdl_site.asgi:application"])
