"""`manage.py sdl …`: the Prefect server and worker, deployments, runs and a comparison."""

import os
import shutil
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from orchestration import prefect_engine, runs, schedules
from orchestration.management.commands import _campaign_cli as campaign_cli
from orchestration.management.commands.run_workflow import Command as RunWorkflow
from orchestration.management.commands.run_workflow import parse_param
from orchestration.models import (
    Engine,
    NodeState,
    Schedule,
    ScheduleKind,
    WorkflowRun,
)
from orchestration.plan import compile_plan


class Command(BaseCommand):
    help = (
        "SDL Canvas: Prefect server, worker, deploy, list-deployments, run, status, list-runs, "
        "compare; campaign start|status|pause|resume|stop|export"
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        server = sub.add_parser("server", help="start a Prefect server (data in the data folder)")
        server.add_argument("--port", type=int, default=4200)
        sub.add_parser("worker", help="start a Prefect process worker for the work pool")
        deploy = sub.add_parser("deploy", help="create or update a workflow's deployment")
        deploy.add_argument("workflow")
        deploy.add_argument(
            "--schedule", metavar="KIND:EXPR", help="cron:'0 9 * * 1-5', interval:600 or rrule:…"
        )
        deploy.add_argument("--timezone", dest="zone", default="UTC")
        deploy.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
        sub.add_parser("list-deployments", help="the deployments of sdl-workflow")
        run = sub.add_parser("run", help="run a workflow and follow it")
        run.add_argument("workflow")
        run.add_argument("--engine", default=settings.SDL_DEFAULT_ENGINE, choices=Engine.values)
        run.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
        run.add_argument("--robot")
        status = sub.add_parser("status", help="one run, node by node")
        status.add_argument("run_id", type=int)
        listing = sub.add_parser("list-runs", help="the latest runs")
        listing.add_argument("--limit", type=int, default=20)
        compare = sub.add_parser("compare", help="run on both engines, side by side")
        compare.add_argument("workflow")
        compare.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
        campaign_cli.add_arguments(sub)

    def handle(self, action, **options):
        try:
            if action == "campaign":
                campaign_cli.handle(self, account=RunWorkflow().account(None), **options)
                return
            getattr(self, action.replace("-", "_"))(**options)
        except prefect_engine.PrefectUnavailable as exc:
            raise CommandError(str(exc))
        except runs.RunRefused as exc:
            raise CommandError(str(exc))

    # --- Prefect processes ---------------------------------------------------------------

    def _exec(self, argv: list[str], env: dict):
        env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        self.stdout.write(" ".join(argv))
        self.stdout.flush()
        os.execvpe(argv[0], argv, env)  # noqa: S606  (becomes the Prefect process)

    def server(self, port, **_):
        home = settings.DATA_DIR / "prefect"
        home.mkdir(exist_ok=True)
        env = {**os.environ, "PREFECT_HOME": os.getenv("PREFECT_HOME", str(home))}
        env.pop("PREFECT_API_URL", None)
        self.stdout.write(
            f"Prefect server on http://127.0.0.1:{port} — for SDL Canvas and workers: "
            f"export PREFECT_API_URL=http://127.0.0.1:{port}/api"
        )
        prefect = shutil.which("prefect", path=os.path.dirname(sys.executable)) or "prefect"
        self._exec([prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port)], env)

    def worker(self, **_):
        if not settings.PREFECT_API_URL:
            raise prefect_engine.PrefectUnavailable(
                "the worker needs a Prefect server: start one with `make prefect-server` and "
                "set PREFECT_API_URL=http://127.0.0.1:4200/api"
            )
        with prefect_engine.client() as prefect:
            pool = prefect_engine.ensure_pool(prefect)
        env = {**os.environ, "PREFECT_API_URL": settings.PREFECT_API_URL}
        env.setdefault("PREFECT_WORKER_QUERY_SECONDS", "2")
        prefect = shutil.which("prefect", path=os.path.dirname(sys.executable)) or "prefect"
        self._exec([prefect, "worker", "start", "--pool", pool, "--type", "process"], env)

    # --- deployments ---------------------------------------------------------------------

    def deploy(self, workflow, schedule, zone, param, **_):
        target = RunWorkflow().workflow(workflow, RunWorkflow().account(None))
        if schedule:
            kind, _, expression = schedule.partition(":")
            if kind not in ScheduleKind.values or not expression:
                raise CommandError("--schedule: write cron:EXPR, interval:SECONDS or rrule:RULE")
            entry = Schedule(
                workflow=target,
                engine=Engine.PREFECT,
                kind=kind,
                expression=expression,
                timezone=zone,
                parameters=dict(parse_param(p) for p in param),
            )
            try:
                schedules.save(entry)
            except schedules.ScheduleError as exc:
                raise CommandError(str(exc))
        deployment_id = prefect_engine.publish(target)
        name = f"{prefect_engine.FLOW_NAME}/{prefect_engine.deployment_name(target)}"
        self.stdout.write(
            f"deployment {name} ({deployment_id}) in pool {settings.SDL_PREFECT_WORK_POOL}"
        )
        for entry in target.schedules.filter(engine=Engine.PREFECT, active=True):
            times = ", ".join(t.isoformat() for t in schedules.fire_times(entry, timezone.now(), 3))
            self.stdout.write(f"  schedule {entry.pk}: {entry.kind} {entry.expression} → {times}")

    def list_deployments(self, **_):
        rows = prefect_engine.list_deployments()
        self._table(
            ["deployment", "workflow", "pool", "schedules", "paused"],
            [[r["name"], r["workflow"], r["pool"], r["schedules"], r["paused"]] for r in rows],
        )

    # --- runs ----------------------------------------------------------------------------

    def run(self, workflow, engine, param, robot, **_):
        call_command(
            "run_workflow", workflow, engine=engine, param=param, robot=robot, stdout=self.stdout
        )

    def status(self, run_id, **_):
        run = WorkflowRun.objects.filter(pk=run_id).select_related("workflow").first()
        if run is None:
            raise CommandError(f"no run {run_id}")
        self.stdout.write(f"run {run.pk} of {run.workflow.name}: {run.state} on {run.engine}")
        if run.error:
            self.stdout.write(f"  {run.error}")
        if run.prefect_flow_run_id:
            self.stdout.write(
                f"  Prefect: {prefect_engine.ui_url('flow-run', run.prefect_flow_run_id)}"
            )
        self._table(
            ["node", "state", "attempts", "seconds", "error"],
            [
                [
                    n.node_id,
                    n.state,
                    n.attempts,
                    _seconds(n.started_at, n.finished_at),
                    n.error[:60],
                ]
                for n in run.nodes.all()
            ],
        )

    def list_runs(self, limit, **_):
        rows = WorkflowRun.objects.select_related("workflow")[:limit]
        self._table(
            ["run", "workflow", "engine", "state", "created", "trigger"],
            [
                [
                    r.pk,
                    r.workflow.name,
                    r.engine,
                    r.state,
                    r.created_at.isoformat(timespec="seconds"),
                    r.trigger,
                ]
                for r in rows
            ],
        )

    def compare(self, workflow, param, **_):
        target = RunWorkflow().workflow(workflow, RunWorkflow().account(None))
        parameters = dict(parse_param(p) for p in param)
        results = {}
        for engine in Engine.values:
            run = runs.create_run(
                target, engine_name=engine, parameters=parameters, trigger=f"compare ({engine})"
            )
            self.stdout.write(f"{engine}: run {run.pk} …")
            try:
                results[engine] = runs.wait(run.pk)
            except runs.StillRunning as exc:
                raise CommandError(str(exc))
        plan = compile_plan(results["native"].version.document, results["native"].parameters)
        figures = {engine: _figures(run, plan) for engine, run in results.items()}
        head = ["", *Engine.values]
        rows = [
            ["run", *(results[e].pk for e in Engine.values)],
            ["status", *(results[e].state for e in Engine.values)],
            ["duration (s)", *(f"{figures[e]['duration']:.3f}" for e in Engine.values)],
            [
                "overhead per node (ms)",
                *(f"{figures[e]['overhead_ms']:.1f}" for e in Engine.values),
            ],
        ]
        for node_id in plan.steps:
            rows.append(
                [f"  {node_id}", *(figures[e]["nodes"].get(node_id, "—") for e in Engine.values)]
            )
        self._table(head, rows)

    def _table(self, head: list, rows: list[list]):
        cells = [[str(c) for c in head]] + [[str(c) for c in row] for row in rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(head))]
        for n, row in enumerate(cells):
            self.stdout.write(
                "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
            )
            if n == 0:
                self.stdout.write("  ".join("-" * w for w in widths))


def _seconds(start, end) -> str:
    return f"{(end - start).total_seconds():.3f}" if start and end else ""


def _figures(run: WorkflowRun, plan) -> dict:
    """Wall time, node states and what the engine added per node: the run's duration minus
    its critical path of node execution times, shared out over the nodes."""
    nodes = {n.node_id: n for n in run.nodes.all()}
    busy = {
        k: (n.finished_at - n.started_at).total_seconds() if n.started_at and n.finished_at else 0.0
        for k, n in nodes.items()
    }
    longest: dict[str, float] = {}
    for node_id in plan.steps:  # documents list nodes in any order: resolve recursively
        _longest(node_id, plan, busy, longest)
    duration = (
        (run.finished_at - run.started_at).total_seconds()
        if run.started_at and run.finished_at
        else 0.0
    )
    critical = max(longest.values(), default=0.0)
    overhead = max(0.0, duration - critical) / max(1, len(nodes)) * 1000
    states = {
        k: f"{n.state} {busy[k]:.3f}s" if n.state == NodeState.COMPLETED else n.state
        for k, n in nodes.items()
    }
    return {"duration": duration, "overhead_ms": overhead, "nodes": states}


def _longest(node_id, plan, busy, memo) -> float:
    if node_id not in memo:
        parents = plan.parents(node_id)
        memo[node_id] = busy.get(node_id, 0.0) + max(
            (_longest(p, plan, busy, memo) for p in parents), default=0.0
        )
    return memo[node_id]
