"""`manage.py sdl campaign start|status|pause|resume|stop|export`."""

import json
import time
from pathlib import Path

from django.core.management.base import CommandError

from canvas.models import Workflow
from orchestration import campaigns, provenance
from orchestration.management.commands.run_workflow import Command as RunWorkflow
from orchestration.models import CAMPAIGN_ACTIVE, Campaign, CampaignState
from robots.models import Robot

ACTIONS = {
    "pause": CampaignState.PAUSED,
    "resume": CampaignState.RUNNING,
    "stop": CampaignState.STOPPING,
}


def add_arguments(sub) -> None:
    campaign = sub.add_parser("campaign", help="closed-loop campaigns")
    what = campaign.add_subparsers(dest="campaign_action", required=True)
    start = what.add_parser("start", help="define and start a campaign from a JSON file")
    start.add_argument(
        "definition", help="FILE.json: the API's campaign body, workflow by name or id"
    )
    start.add_argument("--follow", action="store_true", help="run its loop here until it ends")
    for name in ("status", "pause", "resume", "stop"):
        what.add_parser(name).add_argument("campaign_id", type=int)
    export = what.add_parser("export", help="the trials as CSV, or the campaign as an RO-Crate")
    export.add_argument("campaign_id", type=int)
    export.add_argument("-o", "--output", help="file (default: standard output for CSV)")
    export.add_argument("--crate", action="store_true", help="an RO-Crate zip (needs -o)")


def handle(command, campaign_action, account, **options) -> None:
    out = command.stdout
    if campaign_action == "start":
        campaign = start(options["definition"], account)
        out.write(f"campaign {campaign.pk} ({campaign.name}) started")
        if options["follow"]:
            follow(out, campaign.pk)
        return
    campaign = Campaign.objects.filter(pk=options["campaign_id"]).first()
    if campaign is None:
        raise CommandError(f"no campaign {options['campaign_id']}")
    if campaign_action == "status":
        status(out, campaign)
    elif campaign_action == "export":
        export(out, campaign, options["output"], options["crate"])
    elif not campaigns.move(
        campaign.pk, ACTIONS[campaign_action], f"{campaign_action} from the command line"
    ):
        raise CommandError(f"campaign {campaign.pk} is {campaign.state}: cannot {campaign_action}")
    else:
        out.write(f"campaign {campaign.pk}: {campaign_action}")


def start(definition: str, account) -> Campaign:
    try:
        body = json.loads(Path(definition).read_text())
    except (OSError, ValueError) as exc:
        raise CommandError(f"cannot read {definition}: {exc}")
    named = str(body.get("workflow", ""))
    workflow = Workflow.objects.filter(pk=int(named)).first() if named.isdigit() else None
    workflow = workflow or RunWorkflow().workflow(named, account)
    robots = []
    for name in body.get("robots", []):
        robot = Robot.objects.filter(name=name).first()
        if robot is None:
            raise CommandError(f"robots: no robot named {name}")
        robots.append(robot)
    try:
        return campaigns.create(workflow, account, body.get("name", ""), body, robots, start=True)
    except campaigns.CampaignError as exc:
        raise CommandError(str(exc))


def follow(out, campaign_id: int) -> None:
    told = 0
    while True:
        campaigns.step(campaign_id)
        campaign = Campaign.objects.get(pk=campaign_id)
        done = campaign.trials.exclude(state="running").order_by("number")[told:]
        for trial in done:
            out.write(
                f"trial {trial.number}: {trial.state} {trial.parameters} {trial.values or trial.error}"
            )
            told += 1
        if campaign.state not in CAMPAIGN_ACTIVE:
            out.write(f"campaign {campaign.pk} {campaign.state}: {campaign.reason}")
            return
        time.sleep(0.2)


def status(out, campaign: Campaign) -> None:
    best = campaigns.best(campaign)
    out.write(f"campaign {campaign.pk} ({campaign.name}): {campaign.state} {campaign.reason}")
    out.write(
        f"{campaign.trials.count()} of {campaign.budget} runs; optimiser {campaign.optimiser}"
    )
    if best:
        out.write(f"best: trial {best.number} {best.parameters} → {best.values}")


def export(out, campaign: Campaign, output: str | None, crate: bool) -> None:
    if crate:
        if not output:
            raise CommandError("an RO-Crate is a zip file: give -o FILE.zip")
        Path(output).write_bytes(provenance.campaign_crate(campaign))
    elif output:
        Path(output).write_text(campaigns.export_csv(campaign))
    else:
        out.write(campaigns.export_csv(campaign), ending="")
    if output:
        out.write(f"wrote {output}")
