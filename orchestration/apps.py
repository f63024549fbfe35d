from django.apps import AppConfig


class OrchestrationConfig(AppConfig):
    name = "orchestration"
    verbose_name = "Runs and schedules"

    def ready(self):
        from orchestration import checks, signals  # noqa: F401  (registered on import)
