"""Tell people about their runs: a run that waits for a person, fails or ends is announced to
the user who started it, as they chose on their Notifications page — by e-mail (Django's mail
settings) and/or a webhook (Slack/Teams-compatible JSON: {"text": …}), with a link to the run.

Sent by one background thread after the change is committed, so the engine never waits for a
mail server or a webhook; a webhook goes through the outbound guard (`SDL_HTTP_ALLOWED_HOSTS`).
While nobody has chosen any notification, a run's end costs that thread one small query.
"""

import logging
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.core.mail import send_mail
from django.db import close_old_connections, transaction
from django.db.models import Q

from canvas.models import Notifications
from orchestration import outbound
from orchestration.models import RUN_TERMINAL, RunState, WorkflowRun

log = logging.getLogger(__name__)


def wanted(choice: Notifications, state: str) -> bool:
    if state == RunState.PAUSED:
        return choice.on_pause
    if state in (RunState.FAILED, RunState.INTERRUPTED):
        return choice.on_failure or choice.on_end
    return state in RUN_TERMINAL and choice.on_end


# One sender thread per process.
_sender = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sdl-notify")


def _anyone_listening() -> bool:
    """One small query per run end or pause: nothing is queued while nobody asked."""
    return Notifications.objects.filter(Q(by_email=True) | ~Q(webhook_url="")).exists()


def run_changed(run_id: int, state: str) -> None:
    """Called when a run's state changes (the message goes after the transaction commits)."""
    if state == RunState.PAUSED or state in RUN_TERMINAL:
        transaction.on_commit(lambda: _sender.submit(_send, run_id, state))


def message(run: WorkflowRun, state: str) -> tuple[str, str]:
    link = f"{settings.SDL_SITE_URL.rstrip('/')}/runs/{run.pk}/"
    what = {
        RunState.PAUSED: "is waiting for you",
        RunState.COMPLETED: "completed",
        RunState.FAILED: "failed",
        RunState.CANCELLED: "was cancelled",
        RunState.INTERRUPTED: "was interrupted",
    }.get(state, state)
    subject = f"Run {run.pk} of {run.workflow.name} {what}"
    detail = run.error if state != RunState.PAUSED else (run.input_request or {}).get("message", "")
    text = f"{subject}{f': {detail}' if detail else ''} — {link}"
    return subject, text


def _send(run_id: int, state: str) -> None:
    try:
        close_old_connections()
        if not _anyone_listening():
            return
        run = WorkflowRun.objects.select_related("workflow", "started_by").get(pk=run_id)
        user = run.started_by
        choice = Notifications.objects.filter(user=user).first() if user else None
        if choice is None or not wanted(choice, state):
            return
        subject, text = message(run, state)
        if choice.by_email and user.email:
            send_mail(subject, text, None, [user.email], fail_silently=False)
        if choice.webhook_url:
            outbound.request("POST", choice.webhook_url, json={"text": text}, timeout=10)
    except Exception:  # a mail server or webhook that fails must not touch the run
        log.exception("could not notify about run %s", run_id)
    finally:
        close_old_connections()
