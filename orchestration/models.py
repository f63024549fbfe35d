"""Run records: every run, every node's state, and the numbered events that tell the story."""

from django.conf import settings
from django.db import models

from canvas.models import Workflow


class RunState(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"


class NodeState(models.TextChoices):
    PENDING = "pending"
    RUNNING = "running"
    RETRYING = "retrying"
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


# The one vocabulary of what has ended and what is still going (served to the browser too).
RUN_TERMINAL = frozenset(
    {RunState.COMPLETED, RunState.FAILED, RunState.CANCELLED, RunState.INTERRUPTED}
)
RUN_ACTIVE = frozenset({RunState.QUEUED, RunState.RUNNING, RunState.PAUSED})
NODE_TERMINAL = frozenset(
    {NodeState.COMPLETED, NodeState.FAILED, NodeState.SKIPPED, NodeState.CANCELLED}
)
NODE_ACTIVE = frozenset({NodeState.RUNNING, NodeState.RETRYING})


class Engine(models.TextChoices):
    NATIVE = "native"
    PREFECT = "prefect"


class RunQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Runs of the workflows the user may view (deleted ones included: history stays)."""
        return self.filter(workflow__in=Workflow.objects.visible_to(user, deleted=True))

    def unfinished(self):
        return self.filter(state__in=RUN_ACTIVE)

    def finished(self):
        return self.filter(state__in=RUN_TERMINAL)


class WorkflowRun(models.Model):
    workflow = models.ForeignKey("canvas.Workflow", on_delete=models.CASCADE, related_name="runs")
    version = models.ForeignKey(
        "canvas.WorkflowVersion", on_delete=models.PROTECT, related_name="runs"
    )
    engine = models.CharField(max_length=16, choices=Engine.choices, default=Engine.NATIVE)
    parameters = models.JSONField(default=dict, help_text="After defaults")
    options = models.JSONField(default=dict, blank=True)
    robot = models.ForeignKey(
        "robots.Robot", null=True, blank=True, on_delete=models.PROTECT, related_name="runs"
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    trigger = models.CharField(max_length=200, blank=True, help_text="api, cli, schedule …")
    state = models.CharField(max_length=16, choices=RunState.choices, default=RunState.QUEUED)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    # Signals from people to the process that executes the run (polled by the engine).
    cancel_requested = models.BooleanField(default=False)
    continued_by = models.CharField(max_length=150, blank=True)
    # control.input: the form a paused run waits for ({node, message, fields}), and the answers
    input_request = models.JSONField(null=True, blank=True)
    answers = models.JSONField(default=dict, blank=True)
    # Which process executes the run, so a restarted server can tell a dead one.
    host = models.CharField(max_length=255, blank=True)
    pid = models.PositiveIntegerField(null=True, blank=True)
    last_seq = models.PositiveIntegerField(default=0)
    prefect_flow_run_id = models.CharField(max_length=64, blank=True)
    # Written every few seconds by a Prefect flow's process, so a worker on another machine
    # that died is noticed (see prefect_engine.reconcile).
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    objects = RunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state"])]

    def __str__(self):
        return f"run {self.pk} of {self.workflow}"


class NodeRun(models.Model):
    run = models.ForeignKey(WorkflowRun, on_delete=models.CASCADE, related_name="nodes")
    node_id = models.CharField(max_length=64)
    state = models.CharField(max_length=16, choices=NodeState.choices, default=NodeState.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    output = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    log = models.JSONField(default=list, blank=True)
    commands = models.JSONField(default=list, blank=True, help_text="The robot's command log")
    prefect_task_run_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["run", "id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "node_id"], name="one_node_run_per_node")
        ]

    def __str__(self):
        return f"{self.node_id} of run {self.run_id}"


class RunEvent(models.Model):
    """One change of a run, numbered 1, 2, 3 … per run with no gaps."""

    run = models.ForeignKey(WorkflowRun, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveIntegerField()
    type = models.CharField(max_length=16)  # run | node | log | output
    node_id = models.CharField(max_length=64, blank=True)
    state = models.CharField(max_length=16, blank=True)
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["run", "seq"]
        constraints = [models.UniqueConstraint(fields=["run", "seq"], name="one_event_per_seq")]

    def __str__(self):
        return f"event {self.seq} of run {self.run_id}: {self.type} {self.node_id} {self.state}"

    def as_message(self) -> dict:
        return event_message(self)


def event_message(event) -> dict:
    """An event as browsers receive it (a RunEvent, or one the engine is writing)."""
    message = {
        "run": event.run_id,
        "seq": event.seq,
        "type": event.type,
        "at": event.at.isoformat(),
    }
    if event.node_id:
        message["node_id"] = event.node_id
    if event.state:
        message["state"] = str(event.state)
    message.update(event.data)
    return message


class RobotLock(models.Model):
    """A robot runs one workflow run at a time: this row is the lock (one per robot)."""

    robot = models.OneToOneField(
        "robots.Robot", primary_key=True, on_delete=models.CASCADE, related_name="lock"
    )
    run = models.OneToOneField(WorkflowRun, on_delete=models.CASCADE, related_name="robot_lock")
    taken_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.robot} held by run {self.run_id}"


class ScheduleKind(models.TextChoices):
    CRON = "cron", "cron (e.g. 0 9 * * 1-5)"
    INTERVAL = "interval", "interval (seconds)"
    RRULE = "rrule", "RFC 5545 rule (e.g. FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0)"


class Schedule(models.Model):
    # The fields a person sets, named alike in the admin and the API.
    FIELDS = (
        "workflow",
        "engine",
        "robot",
        "parameters",
        "kind",
        "expression",
        "timezone",
        "start",
        "end",
        "active",
    )

    workflow = models.ForeignKey(
        "canvas.Workflow", on_delete=models.CASCADE, related_name="schedules"
    )
    engine = models.CharField(max_length=16, choices=Engine.choices, default=Engine.NATIVE)
    robot = models.ForeignKey(
        "robots.Robot", null=True, blank=True, on_delete=models.PROTECT, related_name="schedules"
    )
    parameters = models.JSONField(default=dict, blank=True)
    kind = models.CharField(max_length=16, choices=ScheduleKind.choices, default=ScheduleKind.CRON)
    expression = models.CharField(max_length=500)
    timezone = models.CharField(
        max_length=64, default="UTC", help_text="IANA name, e.g. Europe/Berlin"
    )
    start = models.DateTimeField(null=True, blank=True)
    end = models.DateTimeField(null=True, blank=True)
    active = models.BooleanField(default=True)
    paused_reason = models.CharField(
        max_length=500, blank=True, editable=False, help_text="Why SDL Canvas paused it"
    )
    # The next planned fire; schedulers claim it with a conditional UPDATE (exactly once).
    next_fire_at = models.DateTimeField(null=True, blank=True, editable=False, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["workflow", "id"]

    def __str__(self):
        return f"{self.workflow}: {self.kind} {self.expression} ({self.timezone})"


class ScheduleFire(models.Model):
    """What a schedule did at a planned time: a run, or a note of fires it missed."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="fires")
    planned_at = models.DateTimeField()
    run = models.OneToOneField(
        WorkflowRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="fire"
    )
    missed = models.PositiveIntegerField(default=0, help_text="Fires skipped during downtime")
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-planned_at"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "planned_at"], name="one_fire_per_time")
        ]

    def __str__(self):
        what = f"run {self.run_id}" if self.run_id else f"{self.missed} missed"
        return f"{self.schedule} at {self.planned_at}: {what}"


# --- campaigns: an optimiser chooses each next run -------------------------------------------


class CampaignState(models.TextChoices):
    DRAFT = "draft"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPING = "stopping"
    FINISHED = "finished"
    FAILED = "failed"


CAMPAIGN_FROM = {  # the states a campaign may move to each state from
    CampaignState.RUNNING: {CampaignState.DRAFT, CampaignState.PAUSED},
    CampaignState.PAUSED: {CampaignState.RUNNING},
    CampaignState.STOPPING: {CampaignState.RUNNING, CampaignState.PAUSED},
    CampaignState.FINISHED: {CampaignState.RUNNING, CampaignState.PAUSED, CampaignState.STOPPING},
    CampaignState.FAILED: {CampaignState.RUNNING, CampaignState.PAUSED, CampaignState.STOPPING},
}
CAMPAIGN_ACTIVE = frozenset({CampaignState.RUNNING, CampaignState.PAUSED, CampaignState.STOPPING})


class CampaignQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Campaigns of the workflows the user may view (deleted ones included)."""
        return self.filter(workflow__in=Workflow.objects.visible_to(user, deleted=True))


class Campaign(models.Model):
    """A closed loop over one pinned workflow version: the optimiser suggests run parameters
    within `space`, the runs' `objectives` are read back, until a stopping rule holds."""

    name = models.CharField(max_length=200)
    workflow = models.ForeignKey(
        "canvas.Workflow", on_delete=models.CASCADE, related_name="campaigns"
    )
    version = models.ForeignKey(
        "canvas.WorkflowVersion", on_delete=models.PROTECT, related_name="campaigns"
    )
    engine = models.CharField(max_length=16, choices=Engine.choices, default=Engine.NATIVE)
    robots = models.ManyToManyField("robots.Robot", blank=True, related_name="campaigns")
    # [{"parameter", "kind": "float"|"int"|"choice", "low", "high", "step", "choices"}]
    space = models.JSONField(default=list)
    fixed = models.JSONField(default=dict, blank=True, help_text="Run parameters not searched")
    # [{"path": "nodes.ID.output.KEY", "direction": "minimize"|"maximize", "target": x|null}]
    objectives = models.JSONField(default=list)
    optimiser = models.CharField(max_length=32, default="optuna")
    optimiser_settings = models.JSONField(default=dict, blank=True)
    initial_design = models.CharField(max_length=16, default="sobol")
    initial_runs = models.PositiveIntegerField(default=5)
    batch_size = models.PositiveIntegerField(default=1)
    budget = models.PositiveIntegerField(default=30, help_text="Runs at most")
    patience = models.PositiveIntegerField(
        null=True, blank=True, help_text="Stop after this many runs without improvement"
    )
    seed = models.IntegerField(default=0)
    state = models.CharField(
        max_length=16, choices=CampaignState.choices, default=CampaignState.DRAFT
    )
    reason = models.TextField(blank=True, help_text="Why it ended, or why it is stopping")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = CampaignQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.name


class TrialState(models.TextChoices):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class Trial(models.Model):
    """One experiment of a campaign: the parameters chosen (and by what), its run, its result."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="trials")
    number = models.PositiveIntegerField()
    parameters = models.JSONField(default=dict)
    suggested_by = models.JSONField(default=dict, help_text="Optimiser, version and settings")
    run = models.OneToOneField(
        WorkflowRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="trial"
    )
    state = models.CharField(max_length=16, choices=TrialState.choices, default=TrialState.RUNNING)
    values = models.JSONField(default=dict, blank=True, help_text="Objective path → value")
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["campaign", "number"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "number"], name="one_trial_per_number")
        ]

    def __str__(self):
        return f"{self.campaign} trial {self.number}"
