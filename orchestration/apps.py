from django.apps import AppConfig


class OrchestrationConfig(AppConfig):
    name = "orchestration"
    verbose_name = "Runs and schedules"

    def ready(self):
        from orchestration import checks, prefect_schedules  # noqa: F401  (checks, signals)
