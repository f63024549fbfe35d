import signal
import threading

from django.core.management.base import BaseCommand

from orchestration import supervisor


class Command(BaseCommand):
    help = (
        "Fire due schedules (every second), turn campaigns and keep Prefect runs in step until "
        "stopped. "
        "Safe beside other schedulers."
    )

    def handle(self, **options):
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        supervisor.recover()
        self.stdout.write("scheduler running; Ctrl+C stops it")
        supervisor.loop(stop)
