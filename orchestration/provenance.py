"""Runs and campaigns as RO-Crates (Workflow Run Crate profile), written with `rocrate`.

A run's crate holds the workflow version it ran (`workflow.json`), its parameters, the robot,
every node's outputs and robot command log, and its log; a `CreateAction` ties them together
(instrument: the workflow; object: the parameters; result: outputs and command log). A
campaign's crate holds its definition, every trial (parameters, values, the optimiser's record)
and each trial's run as above.
"""

import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from orchestration import campaigns
from orchestration.models import Campaign, RunState, WorkflowRun

if TYPE_CHECKING:  # rocrate takes most of a second to import: only when a crate is written
    from rocrate.rocrate import ROCrate

PROFILES = [
    "https://w3id.org/ro/wfrun/process/0.5",
    "https://w3id.org/ro/wfrun/workflow/0.5",
    "https://w3id.org/workflowhub/workflow-ro-crate/1.0",
]
STATUS = {
    RunState.COMPLETED: "http://schema.org/CompletedActionStatus",
    RunState.FAILED: "http://schema.org/FailedActionStatus",
}


def _write(folder: Path, name: str, data) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data, indent=2, default=str))
    return path


def _crate(name: str, description: str) -> "ROCrate":
    from rocrate.model.contextentity import ContextEntity
    from rocrate.rocrate import ROCrate

    crate = ROCrate()
    crate.name = name
    crate.description = description
    crate.root_dataset["conformsTo"] = [{"@id": p} for p in PROFILES]
    for profile in PROFILES:
        crate.add(ContextEntity(crate, profile, properties={"@type": "CreativeWork"}))
    return crate


def _add_run(crate: "ROCrate", folder: Path, run: WorkflowRun, prefix: str = "") -> None:
    """A run's files and its CreateAction."""
    from rocrate.model.computerlanguage import ComputerLanguage

    language = crate.get("#sdl-workflow") or crate.add(
        ComputerLanguage(
            crate,
            "#sdl-workflow",
            properties={"name": "SDL Canvas workflow", "version": "sdl-workflow/1"},
        )
    )
    nodes = list(run.nodes.order_by("started_at", "node_id"))
    workflow_path = f"{prefix}workflow.json"
    workflow = crate.get(workflow_path) or crate.add_workflow(
        _write(folder, workflow_path, run.version.document),
        workflow_path,
        main=not prefix,
        lang=language,
        properties={"name": run.workflow.name, "version": str(run.version.number)},
    )
    parameters = crate.add_file(
        _write(folder, f"{prefix}parameters.json", run.parameters),
        f"{prefix}parameters.json",
        properties={"name": "Run parameters", "encodingFormat": "application/json"},
    )
    robot = run.robot
    robot_info = {
        "name": robot.name if robot else None,
        "type": robot.robot_type if robot else run.version.document.get("robot", {}).get("type"),
        "simulated": robot.simulate if robot else True,
        "address": robot.address if robot and not robot.simulate else None,
    }
    results = [
        crate.add_file(
            _write(folder, f"{prefix}outputs.json", {n.node_id: n.output for n in nodes}),
            f"{prefix}outputs.json",
            properties={"name": "Node outputs", "encodingFormat": "application/json"},
        ),
        crate.add_file(
            _write(folder, f"{prefix}commands.json", {n.node_id: n.commands for n in nodes}),
            f"{prefix}commands.json",
            properties={"name": "Robot command log", "encodingFormat": "application/json"},
        ),
        crate.add_file(
            _write(folder, f"{prefix}robot.json", robot_info),
            f"{prefix}robot.json",
            properties={"name": "Robot", "encodingFormat": "application/json"},
        ),
        crate.add_file(
            _write(
                folder,
                f"{prefix}log.json",
                [e.as_message() for e in run.events.order_by("seq")],
            ),
            f"{prefix}log.json",
            properties={"name": "Run events", "encodingFormat": "application/json"},
        ),
    ]
    properties = {
        "name": f"Run {run.pk} of {run.workflow.name}",
        "actionStatus": STATUS.get(run.state, "http://schema.org/PotentialActionStatus"),
    }
    if run.started_at:
        properties["startTime"] = run.started_at.isoformat()
    if run.finished_at:
        properties["endTime"] = run.finished_at.isoformat()
    if run.error:
        properties["error"] = run.error
    crate.add_action(
        workflow,
        identifier=f"#run-{run.pk}",
        object=[parameters],
        result=results,
        properties=properties,
    )


def _zip(crate: "ROCrate", folder: Path) -> bytes:
    target = folder / "crate.zip"
    crate.write_zip(target)
    return target.read_bytes()


def run_crate(run: WorkflowRun) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "files"
        crate = _crate(f"Run {run.pk} of {run.workflow.name}", f"SDL Canvas run {run.pk}")
        _add_run(crate, folder, run)
        return _zip(crate, Path(tmp))


def campaign_crate(campaign: Campaign) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "files"
        crate = _crate(campaign.name, f"SDL Canvas campaign {campaign.pk}")
        definition = {k: getattr(campaign, k) for k in campaigns.FIELDS}
        definition.update(state=campaign.state, reason=campaign.reason)
        crate.add_file(
            _write(folder, "campaign.json", definition),
            "campaign.json",
            properties={"name": "Campaign definition"},
        )
        trials = [
            {
                "number": t.number,
                "state": t.state,
                "parameters": t.parameters,
                "values": t.values,
                "error": t.error,
                "run": t.run_id,
                "suggested_by": t.suggested_by,
            }
            for t in campaign.trials.order_by("number")
        ]
        crate.add_file(
            _write(folder, "trials.json", trials),
            "trials.json",
            properties={"name": "Trials, with the optimiser's record"},
        )
        crate.add_file(
            _write(folder, "trials.csv", campaigns.export_csv(campaign)),
            "trials.csv",
            properties={"name": "Trials", "encodingFormat": "text/csv"},
        )
        for trial in campaign.trials.select_related("run").order_by("number"):
            if trial.run:
                _add_run(crate, folder, trial.run, prefix=f"runs/{trial.run_id}/")
        return _zip(crate, Path(tmp))
