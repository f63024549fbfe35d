"""Run a workflow in the foreground, printing each state change as it happens."""

import json
import time
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from canvas.models import Workflow
from orchestration import events, runs
from orchestration.execution.run import active
from orchestration.models import RUN_TERMINAL, NodeState, RunEvent, RunState, WorkflowRun
from robots.models import Robot

CLI_USER = "cli"


def parse_param(text: str) -> tuple[str, object]:
    if "=" not in text:
        raise CommandError(f"--param {text}: write key=value")
    key, raw = text.split("=", 1)
    try:
        value = json.loads(raw)  # numbers, true/false, "quoted text"
    except ValueError:
        value = raw
    return key.strip(), value


class Command(BaseCommand):
    help = "Run a workflow (a .json file or the name of a saved workflow) and wait for it."

    def add_arguments(self, parser):
        parser.add_argument("workflow", help="FILE.json or the name of a saved workflow")
        parser.add_argument("--engine", default="native", choices=["native", "prefect"])
        parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
        parser.add_argument("--robot", help="the name of a robot (default: simulate)")
        parser.add_argument("--real-time", action="store_true", help="wait out robot delays")
        parser.add_argument("--user", help="run as this user (default: a 'cli' user)")

    def handle(self, workflow, engine, param, robot, real_time, user, **options):
        account = self.account(user)
        target = self.workflow(workflow, account)
        robot_obj = None
        if robot:
            robot_obj = Robot.objects.filter(name=robot).first()
            if robot_obj is None:
                raise CommandError(f"no robot named {robot}")
        try:
            run = runs.create_run(
                target,
                user=account,
                engine_name=engine,
                parameters=dict(parse_param(p) for p in param),
                robot=robot_obj,
                options={"real_time_delays": real_time},
                trigger="cli",
                start=False,
            )
        except runs.RunRefused as exc:
            for issue in exc.issues:
                self.stderr.write(f"  {issue}")
            raise CommandError(str(exc))
        self.stdout.write(f"run {run.pk} of {target.name} (version {run.version.number})")
        runs.launch(run)
        try:
            self.follow(run)
        except KeyboardInterrupt:
            self.stdout.write("cancelling …")
            runs.cancel_run(WorkflowRun.objects.get(pk=run.pk))
            self.follow(run)
        events.flush()
        run.refresh_from_db()
        if run.state != RunState.COMPLETED:
            raise CommandError(f"run {run.pk} ended {run.state}: {run.error}")

    def account(self, username):
        User = get_user_model()
        if username:
            try:
                return User.objects.get_by_natural_key(username)
            except User.DoesNotExist:
                raise CommandError(f"no user {username}")
        account, created = User.objects.get_or_create(username=CLI_USER)
        if created:
            account.set_unusable_password()
            account.save()
        return account

    def workflow(self, name_or_file: str, account) -> Workflow:
        path = Path(name_or_file)
        if path.suffix == ".json" or path.exists():
            try:
                document = json.loads(path.read_text())
            except (OSError, ValueError) as exc:
                raise CommandError(f"cannot read {path}: {exc}")
            name = document.get("name") if isinstance(document, dict) else None
            existing = Workflow.objects.filter(name=name, owner=account).first() if name else None
            if existing is None:
                return Workflow.create(document, account, message=f"From {path.name}")
            if existing.document != document:
                existing.save_version(document, account, f"From {path.name}", existing.version)
            return existing
        matches = Workflow.objects.filter(name=name_or_file)
        if not matches:
            matches = Workflow.objects.filter(name__icontains=name_or_file)
        if len(matches) != 1:
            found = ", ".join(w.name for w in matches[:5]) or "none"
            raise CommandError(f"{len(matches)} workflows match {name_or_file!r} ({found})")
        return matches[0]

    def follow(self, run: WorkflowRun):
        seq = 0
        while True:
            new = list(RunEvent.objects.filter(run=run, seq__gt=seq).order_by("seq"))
            for event in new:
                self.stdout.write(self.describe(event))
                seq = event.seq
            state = WorkflowRun.objects.filter(pk=run.pk).values_list("state", flat=True).get()
            if state in RUN_TERMINAL and not new and active(run.pk) is None:
                break
            time.sleep(0.05)
        self.summary(WorkflowRun.objects.get(pk=run.pk))

    def describe(self, event: RunEvent) -> str:
        m = event.as_message()
        at = event.at.strftime("%H:%M:%S.%f")[:-3]
        if event.type == "run":
            extra = f" — {m['error']}" if m.get("error") else ""
            return f"{at} run {event.state}{extra}"
        if event.type == "node":
            extra = f" (attempt {m['attempts']})" if m.get("attempts") else ""
            extra += f" — {m['error']}" if m.get("error") else ""
            return f"{at}   {event.node_id}: {event.state}{extra}"
        if event.type == "log":
            return f"{at}   {event.node_id or 'run'} [{m['level']}] {m['message']}"
        return f"{at}   {event.node_id} {event.type}"

    def summary(self, run: WorkflowRun):
        nodes = list(run.nodes.all())
        ok = [n.node_id for n in nodes if n.state == NodeState.COMPLETED]
        bad = [n.node_id for n in nodes if n.state == NodeState.FAILED]
        duration = (
            (run.finished_at - run.started_at).total_seconds()
            if run.finished_at and run.started_at
            else 0.0
        )
        summary = {
            "run": run.pk,
            "status": run.state,
            "successful_nodes": ok,
            "failed_nodes": bad,
            "duration_s": round(duration, 3),
        }
        self.stdout.write(json.dumps(summary))
