"""Closed-loop campaigns: ask the optimiser for the next runs, start them, read their
objectives when they end, tell the optimiser, until a stopping rule holds.

The loop is `step(campaign)`, called by the supervisor (at each tick, and at once when a run
ends). Everything lives in the database — trials with their parameters, suggestion records and
results — and the optimiser is rebuilt from them at each step, so a campaign survives a
restart without repeating or losing a trial. A trial number is unique per campaign, so two
supervisors can never start the same trial twice.
"""

import csv
import io
import logging

import jsonschema
from django.db import IntegrityError, transaction
from django.utils import timezone

from canvas import references
from canvas.document import Document
from orchestration import optimisers, runs, wakeup
from orchestration.models import (
    CAMPAIGN_ACTIVE,
    CAMPAIGN_FROM,
    RUN_TERMINAL,
    Campaign,
    CampaignState,
    RunState,
    Trial,
    TrialState,
    WorkflowRun,
)

log = logging.getLogger(__name__)
__all__ = ["CampaignError", "check", "create", "export_csv", "move", "step", "step_all"]


class CampaignError(Exception):
    """A campaign definition or action refused: `path` names the place."""

    def __init__(self, message: str, path: str = ""):
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


# --- the definition --------------------------------------------------------------------------


def producible(document: Document) -> set[str]:
    """Output paths some node declares: nodes.ID.output.KEY (data.record: its value names;
    control.input: its fields)."""
    from canvas import registry

    paths = set()
    for node in document.nodes:
        node_type = registry.get(node.type)
        keys = (node_type.output_keys(node.params) or set()) if node_type else set()
        paths |= {f"nodes.{node.id}.output.{key}" for key in keys}
    return paths


def check(campaign: Campaign) -> None:
    """Every problem of the definition, the first raised with its place. Nothing is started."""
    document = Document.model_validate(campaign.version.document)
    params = document.parameters
    if not campaign.space:
        raise CampaignError("search at least one run parameter", "space")
    seen = set()
    for i, raw in enumerate(campaign.space):
        where = f"space[{i}]"
        name = raw.get("parameter")
        if name not in params:
            raise CampaignError(f"the workflow has no run parameter {name!r}", where)
        if name in seen:
            raise CampaignError(f"{name} is searched twice", where)
        seen.add(name)
        spec, kind = params[name], raw.get("kind", "float")
        if kind == "choice":
            if not raw.get("choices"):
                raise CampaignError("give the choices", f"{where}.choices")
            continue
        if kind not in ("float", "int"):
            raise CampaignError("kind is float, int or choice", f"{where}.kind")
        low, high = raw.get("low"), raw.get("high")
        if not optimisers.finite(low) or not optimisers.finite(high) or low >= high:
            raise CampaignError("give finite bounds with low < high", where)
        if spec.minimum is not None and low < spec.minimum:
            raise CampaignError(
                f"low {low} is below {name}'s minimum {spec.minimum}", f"{where}.low"
            )
        if spec.maximum is not None and high > spec.maximum:
            raise CampaignError(
                f"high {high} is above {name}'s maximum {spec.maximum}", f"{where}.high"
            )
    for name in campaign.fixed:
        if name not in params:
            raise CampaignError(f"the workflow has no run parameter {name!r}", f"fixed.{name}")
    if not campaign.objectives:
        raise CampaignError("give at least one objective", "objectives")
    known = producible(document)
    for i, objective in enumerate(campaign.objectives):
        path = objective.get("path", "")
        if path not in known and not any(path.startswith(p + ".") for p in known):
            raise CampaignError(f"no node produces {path!r}", f"objectives[{i}].path")
        if objective.get("direction", "minimize") not in ("minimize", "maximize"):
            raise CampaignError("direction is minimize or maximize", f"objectives[{i}].direction")
        target = objective.get("target")
        if target is not None and not optimisers.finite(target):
            raise CampaignError("the target is a finite number", f"objectives[{i}].target")
    try:
        optimisers.check_installed(campaign.optimiser)
    except optimisers.OptimiserError as exc:
        raise CampaignError(str(exc), "optimiser")
    schema = optimisers.registered()[campaign.optimiser].SETTINGS
    try:
        jsonschema.validate(campaign.optimiser_settings, {**schema, "additionalProperties": False})
    except jsonschema.ValidationError as exc:
        where = ".".join(["optimiser_settings", *map(str, exc.absolute_path)])
        raise CampaignError(exc.message, where)
    if campaign.initial_design not in ("random", "sobol"):
        raise CampaignError("random or sobol", "initial_design")
    if campaign.batch_size < 1 or campaign.budget < 1:
        raise CampaignError("batch size and budget are at least 1", "budget")


FIELDS = (
    "engine",
    "space",
    "fixed",
    "objectives",
    "optimiser",
    "optimiser_settings",
    "initial_design",
    "initial_runs",
    "batch_size",
    "budget",
    "patience",
    "seed",
)


def create(workflow, user, name: str, definition: dict, robots=(), start=False) -> Campaign:
    """A campaign on the workflow's current version, checked; started when `start`."""
    if workflow.deleted_at is not None:
        raise CampaignError(f"workflow {workflow.pk} was deleted")
    version = workflow.versions.get(number=workflow.version)
    campaign = Campaign(
        name=name or f"{workflow.name} campaign",
        workflow=workflow,
        version=version,
        created_by=user,
        **{k: v for k, v in definition.items() if k in FIELDS and v is not None},
    )
    check(campaign)
    with transaction.atomic():
        campaign.save()
        campaign.robots.set(robots)
    if start:
        move(campaign.pk, CampaignState.RUNNING)
    return campaign


# --- states ------------------------------------------------------------------------------------


def move(campaign_id: int, to: CampaignState, reason: str = "") -> bool:
    """A guarded change of state (False when the campaign was not in a state it may leave)."""
    fields = {"state": to}
    if reason:
        fields["reason"] = reason[:5000]
    now = timezone.now()
    if to == CampaignState.RUNNING:
        Campaign.objects.filter(pk=campaign_id, started_at=None).update(started_at=now)
    if to in (CampaignState.FINISHED, CampaignState.FAILED):
        fields["finished_at"] = now
    moved = Campaign.objects.filter(pk=campaign_id, state__in=CAMPAIGN_FROM[to]).update(**fields)
    if moved:
        wakeup.poke()
    return bool(moved)


# --- the loop ----------------------------------------------------------------------------------


def objective_value(run: WorkflowRun, path: str):
    """The value at `nodes.ID.output.KEY[.MORE]` of a run (read as a reference is), or raise
    CampaignError."""
    ref = references.parse(f"{{{{ {path} }}}}")
    node = run.nodes.filter(node_id=ref.node).first() if ref and ref.node else None
    try:
        if node is None:
            raise references.RefError(path)
        value = references.lookup(ref, {}, {node.node_id: node.output})
    except references.RefError:
        raise CampaignError(f"run {run.pk} has no {path}")
    if not optimisers.finite(value):
        raise CampaignError(f"{path} is {value!r}, not a finite number")
    return float(value)


def _settle(trial: Trial) -> None:
    """A trial whose run has ended gets its values, or fails with the reason."""
    run = trial.run
    values, error = {}, ""
    if run is None:
        error = "its run was deleted"
    elif run.state != RunState.COMPLETED:
        error = f"run {run.pk} ended {run.state}" + (f": {run.error}" if run.error else "")
    else:
        try:
            values = {o["path"]: objective_value(run, o["path"]) for o in trial.campaign.objectives}
        except CampaignError as exc:
            error = str(exc)
    state = TrialState.FAILED if error else TrialState.COMPLETED
    Trial.objects.filter(pk=trial.pk, state=TrialState.RUNNING).update(
        state=state, values=values, error=error, finished_at=timezone.now()
    )


def _stopping_rule(campaign: Campaign, done: list[Trial]) -> str:
    objectives = [optimisers.Objective.of(o) for o in campaign.objectives]
    scored = [t for t in done if t.state == TrialState.COMPLETED]
    targeted = [o for o in objectives if o.target is not None]
    for trial in scored:
        if targeted and all(o.score(trial.values[o.path]) >= o.score(o.target) for o in targeted):
            return f"target reached by trial {trial.number}"
    if campaign.patience and scored:
        best_at, best = 0, None
        for i, trial in enumerate(scored):
            score = optimisers.scalar(objectives, trial.values)
            if best is None or score > best:
                best_at, best = i, score
        if len(scored) - 1 - best_at >= campaign.patience:
            return f"no improvement in the last {campaign.patience} runs"
    return ""


def _suggest(campaign: Campaign, trials: list[Trial], n: int) -> list[tuple[dict, dict]]:
    """(parameters, suggestion record) for the next n trials."""
    finished = [t for t in trials if t.state != TrialState.RUNNING]
    initial_left = max(0, campaign.initial_runs - len(trials))
    out = []
    if initial_left:
        design = optimisers.build(
            "random",
            campaign.space,
            campaign.objectives,
            {"method": campaign.initial_design},
            campaign.seed,
        )
        design.observe([({}, None)] * len(trials))  # continue the sequence past earlier points
        record = {**design.record(), "phase": "initial design"}
        out += [(p, record) for p in design.suggest(min(n, initial_left))]
    if len(out) < n:
        optimiser = optimisers.build(
            campaign.optimiser,
            campaign.space,
            campaign.objectives,
            campaign.optimiser_settings,
            campaign.seed,
        )
        optimiser.observe(
            [
                (t.parameters, t.values if t.state == TrialState.COMPLETED else None)
                for t in finished
            ]
        )
        record = {**optimiser.record(), "phase": "optimiser", "observed": len(finished)}
        out += [(p, record) for p in optimiser.suggest(n - len(out))]
    return out


def _robots(campaign: Campaign, busy: set[int]) -> list:
    robots = list(campaign.robots.all())
    if not robots:
        return [None]  # the simulator of the workflow's robot type: as many as asked
    return [r for r in robots if r.pk not in busy]


def step(campaign_id: int) -> None:
    """One turn of the loop for one campaign (safe to call from several processes)."""
    campaign = Campaign.objects.select_related("version", "workflow", "created_by").get(
        pk=campaign_id
    )
    if campaign.state not in CAMPAIGN_ACTIVE:
        return
    running = list(
        campaign.trials.filter(state=TrialState.RUNNING).select_related("run", "campaign")
    )
    for trial in running:
        if trial.run is None or trial.run.state in RUN_TERMINAL:
            _settle(trial)
    trials = list(campaign.trials.order_by("number"))
    running = [t for t in trials if t.state == TrialState.RUNNING]
    done = [t for t in trials if t.state != TrialState.RUNNING]
    if campaign.state == CampaignState.STOPPING:
        for trial in running:
            if trial.run and trial.run.state not in RUN_TERMINAL:
                try:
                    runs.cancel_run(trial.run, campaign.created_by)
                except runs.RunRefused:
                    pass
        if not running:
            move(campaign.pk, CampaignState.FINISHED, campaign.reason or "stopped")
        return
    if campaign.state == CampaignState.PAUSED:
        return  # running trials finish; none starts
    rule = _stopping_rule(campaign, done)
    if rule:
        move(campaign.pk, CampaignState.STOPPING, rule)
        step(campaign.pk)
        return
    left = campaign.budget - len(trials)
    if left <= 0:
        if not running:
            move(campaign.pk, CampaignState.FINISHED, f"budget of {campaign.budget} runs used")
        return
    busy = {t.run.robot_id for t in running if t.run and t.run.robot_id}
    robots = _robots(campaign, busy)
    free = min(campaign.batch_size - len(running), left)
    if robots != [None]:
        free = min(free, len(robots))
    if free <= 0:
        return
    try:
        suggestions = _suggest(campaign, trials, free)
    except Exception as exc:  # an optimiser that breaks fails its campaign, saying why
        log.exception("campaign %s: the optimiser failed", campaign.pk)
        move(campaign.pk, CampaignState.FAILED, f"the optimiser failed: {exc}")
        return
    for i, (parameters, record) in enumerate(suggestions):
        _start_trial(campaign, len(trials) + i + 1, parameters, record, robots[i % len(robots)])


def _start_trial(campaign, number: int, parameters: dict, record: dict, robot) -> None:
    try:
        with transaction.atomic():
            trial = Trial.objects.create(
                campaign=campaign, number=number, parameters=parameters, suggested_by=record
            )
            run = runs.create_run(
                campaign.workflow,
                user=campaign.created_by,
                engine_name=campaign.engine,
                parameters={**campaign.fixed, **parameters},
                robot=robot,
                trigger=f"campaign {campaign.pk}, trial {number}",
                version=campaign.version,
            )
            Trial.objects.filter(pk=trial.pk).update(run=run)
    except IntegrityError:
        return  # another process started this trial
    except runs.RunRefused as exc:
        move(campaign.pk, CampaignState.FAILED, f"trial {number} could not start: {exc}")


def step_all() -> None:
    for campaign_id in Campaign.objects.filter(state__in=CAMPAIGN_ACTIVE).values_list(
        "pk", flat=True
    ):
        try:
            step(campaign_id)
        except Exception:
            log.exception("campaign %s: step failed", campaign_id)


# --- what people read --------------------------------------------------------------------------


def export_csv(campaign: Campaign) -> str:
    names = [d["parameter"] for d in campaign.space]
    paths = [o["path"] for o in campaign.objectives]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["trial", "state", "run", *names, *paths, "phase", "optimiser", "error"])
    for t in campaign.trials.order_by("number"):
        writer.writerow(
            [
                t.number,
                t.state,
                t.run_id or "",
                *(t.parameters.get(n, "") for n in names),
                *(t.values.get(p, "") for p in paths),
                t.suggested_by.get("phase", ""),
                t.suggested_by.get("optimiser", ""),
                t.error,
            ]
        )
    return out.getvalue()


def best(campaign: Campaign) -> Trial | None:
    objectives = [optimisers.Objective.of(o) for o in campaign.objectives]
    scored = list(campaign.trials.filter(state=TrialState.COMPLETED))
    return max(scored, key=lambda t: optimisers.scalar(objectives, t.values), default=None)
