"""Signal receivers: a Prefect schedule saved or deleted anywhere (API, admin, CLI) is written
into its workflow's Prefect deployment once the transaction commits."""

import logging

from django.db import transaction
from django.db.models.signals import post_delete, post_init, post_save
from django.dispatch import receiver

from orchestration import prefect_engine
from orchestration.models import Engine, Schedule

log = logging.getLogger(__name__)


def publish_later(workflow) -> None:
    """After the transaction commits, bring the workflow's deployment up to date."""

    def publish():
        try:
            prefect_engine.publish(workflow)
        except Exception:
            log.exception("could not write the Prefect schedules of %s", workflow)

    transaction.on_commit(publish)


@receiver(post_save, sender=Schedule)
def schedule_saved(sender, instance: Schedule, created, **kwargs):
    if instance.engine == Engine.PREFECT or _was_prefect(instance):
        publish_later(instance.workflow)


@receiver(post_delete, sender=Schedule)
def schedule_deleted(sender, instance: Schedule, **kwargs):
    if instance.engine == Engine.PREFECT:
        publish_later(instance.workflow)


@receiver(post_init, sender=Schedule)
def schedule_loaded(sender, instance: Schedule, **kwargs):
    instance._engine_when_loaded = instance.__dict__.get("engine")


def _was_prefect(schedule: Schedule) -> bool:
    """A schedule moved from Prefect to native must leave the deployment."""
    return getattr(schedule, "_engine_when_loaded", None) == Engine.PREFECT
