"""Pages for runs: the live run page, the runs list and the Run form."""

from django.conf import settings
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_date

from canvas import permissions
from canvas.models import Permission, Workflow
from canvas.validation import validate
from orchestration import runs
from orchestration.api import run_out, visible_run
from orchestration.models import RunState, WorkflowRun
from robots.models import Robot


def run_page(request, run_id: int):
    run = visible_run(request.user, run_id)
    may_run = permissions.may(request.user, run.workflow, Permission.RUN)
    return render(
        request,
        "orchestration/run.html",
        {
            "run": run,
            "config": {
                "run": run_out(run),
                "document": run.version.document,
                "wsPath": f"/ws/runs/{run.pk}/",
                "mayControl": may_run,
                "robotReal": bool(run.robot and not run.robot.simulate),
            },
        },
    )


RUN_FILTERS = ("workflow", "state", "robot", "user", "since", "until", "campaign")


def run_list(request):
    """The runs the user may see, newest first, filtered by workflow, state, robot, who
    started them, a date range or a campaign."""
    visible = WorkflowRun.objects.visible_to(request.user)
    chosen = {k: request.GET.get(k, "").strip() for k in RUN_FILTERS}
    if chosen["workflow"].isdigit():
        visible = visible.filter(workflow_id=int(chosen["workflow"]))
    if chosen["state"] in RunState.values:
        visible = visible.filter(state=chosen["state"])
    if chosen["robot"]:
        visible = visible.filter(robot__name=chosen["robot"])
    if chosen["user"]:
        visible = visible.filter(started_by__username=chosen["user"])
    if parse_date(chosen["since"] or "-"):
        visible = visible.filter(created_at__date__gte=parse_date(chosen["since"]))
    if parse_date(chosen["until"] or "-"):
        visible = visible.filter(created_at__date__lte=parse_date(chosen["until"]))
    if chosen["campaign"].isdigit():
        visible = visible.filter(trial__campaign_id=int(chosen["campaign"]))
    recent = visible.select_related("workflow", "robot", "started_by")[:200]
    return render(
        request,
        "orchestration/run_list.html",
        {
            "runs": recent,
            "chosen": chosen,
            "filtered": any(chosen.values()),
            "states": RunState.values,
            "workflows": Workflow.objects.visible_to(request.user, deleted=True).only("pk", "name"),
            "robots": Robot.objects.values_list("name", flat=True),
            "campaign": chosen["campaign"],
        },
    )


def _coerce(spec, raw: str | None):
    if spec.type == "boolean":
        return raw == "on"
    if raw is None or raw == "":
        return spec.default
    if spec.type in ("number", "integer"):
        try:
            return int(raw) if spec.type == "integer" else float(raw)
        except ValueError:
            return raw  # refused by the run's parameter check, with its name
    return raw


def start_run(request, workflow_id: int):
    workflow = permissions.get_workflow(request.user, workflow_id, Permission.RUN)
    report = validate(workflow.document)
    document = report.document
    declared = document.parameters if document else {}
    robot_type = document.robot.type if document and document.robot else None
    robots = Robot.objects.filter(enabled=True)
    if robot_type:
        robots = robots.filter(robot_type=robot_type)
    problems = [str(i) for i in report.issues]
    # Run again: the form starts from the earlier run's parameters and robot
    earlier = (
        WorkflowRun.objects.visible_to(request.user)
        .filter(
            pk=int(request.GET["from"]) if request.GET.get("from", "").isdigit() else None,
            workflow=workflow,
        )
        .first()
    )
    values_before = earlier.parameters if earlier else {}
    robot_before = earlier.robot.name if earlier and earlier.robot else ""
    if request.method == "POST" and report.valid:
        values = {
            name: _coerce(spec, request.POST.get(f"param-{name}"))
            for name, spec in declared.items()
        }
        robot = (
            robots.filter(name=request.POST.get("robot")).first()
            if request.POST.get("robot")
            else None
        )
        try:
            run = runs.create_run(
                workflow,
                user=request.user,
                engine_name=request.POST.get("engine") or None,
                parameters=values,
                robot=robot,
                options={"real_time_delays": request.POST.get("real_time") == "on"},
                trigger="browser",
            )
        except runs.RunRefused as exc:
            problems = [str(exc), *(str(i) for i in exc.issues)]
        else:
            return redirect("orchestration:run", run_id=run.pk)
    return render(
        request,
        "orchestration/start_run.html",
        {
            "workflow": workflow,
            "parameters": declared,
            "robots": robots,
            "needs_robot": robot_type is not None,
            "prefect": bool(settings.PREFECT_API_URL),
            "problems": problems,
            "valid": report.valid,
            "fields": [
                (name, spec, values_before.get(name, spec.default))
                for name, spec in declared.items()
            ],
            "robot_before": robot_before,
        },
    )
