"""A run on a robot sends the commands its dry run's simulator produced while it takes the same
steps with the same parameters; from the first step the dry run could not foresee, its shadow
simulator catches up and decides. Either way the robot gets the simulator's commands."""

import copy

import pytest

from orchestration.models import NodeState, RunState
from robots import dryrun
from tests.factories import demo, make_robot
from tests.orchestration.runhelpers import nodes, run_on
from tests.robots.test_http_robot import command_log, fake_for, over_http

pytestmark = pytest.mark.django_db(transaction=True)


def measured_dilution() -> dict:
    """The serial dilution with its stock volume from a recorded value: the dry run cannot know
    it, so it stops foreseeing the run there."""
    doc = demo("serial_dilution")
    doc["nodes"].append(
        {"id": "measure", "type": "data.record", "params": {"values": {"volume": 60}}}
    )
    stock = next(n for n in doc["nodes"] if n["id"] == "stock")
    stock["params"]["volume"] = "{{ nodes.measure.output.volume }}"
    doc["edges"] = [e for e in doc["edges"] if e["target"] != "stock"] + [
        {"source": "diluent", "target": "measure"},
        {"source": "measure", "target": "stock"},
    ]
    return doc


@pytest.mark.parametrize(
    ("dry_run_at_hand", "followed"),
    [(True, [("diluent", True), ("stock", True), ("dilute", True)]), (False, [])],
)
def test_a_run_sends_the_simulators_commands_with_or_without_its_dry_run(
    owner, taken, monkeypatch, dry_run_at_hand, followed
):
    if not dry_run_at_hand:  # as on a Prefect worker: each step is simulated there
        monkeypatch.setattr(dryrun.DRY_RUNS, "script", lambda raw, given=None: None)
    doc = demo("serial_dilution")
    fake = fake_for(doc)
    try:
        simulated = run_on(owner, doc, make_robot("sim"))
        real = run_on(owner, doc, over_http("bay-1", fake))
        assert real.state == RunState.COMPLETED, real.error
        assert taken == followed
        assert command_log(real) == command_log(simulated)
    finally:
        fake.close()


def test_a_run_that_leaves_its_dry_runs_path_simulates_from_there(owner, taken):
    doc = measured_dilution()
    fake = fake_for(doc)
    try:
        simulated = run_on(owner, doc, make_robot("sim"))
        real = run_on(owner, doc, over_http("bay-3", fake))
        assert real.state == RunState.COMPLETED, real.error
        assert taken == [("diluent", True), ("stock", False)]
        assert command_log(real) == command_log(simulated)
        aspirated = [c for c in command_log(real)["stock"] if c["commandType"] == "aspirate"]
        assert {c["params"]["volume"] for c in aspirated} >= {60}
    finally:
        fake.close()


def test_commands_sent_that_the_simulator_would_not_make_stop_the_run(owner, monkeypatch):
    """The shadow checks, as it catches up, that the dry run's commands were its own."""
    doc = measured_dilution()
    fake = fake_for(doc)
    script = dryrun.DryRuns.script

    def altered(self, raw, given=None):
        found = script(self, raw, given)
        found.steps = copy.deepcopy(found.steps)  # the kept script stays as it was
        for command in found.steps[0]["commands"]:
            if command["commandType"] in ("aspirate", "dispense"):
                command["params"]["volume"] = 79
        return found

    monkeypatch.setattr(dryrun.DryRuns, "script", altered)
    try:
        run = run_on(owner, doc, over_http("bay-4", fake))
        assert run.state == RunState.FAILED
        stock = nodes(run)["stock"]
        assert stock.state == NodeState.FAILED
        assert "the simulator no longer produces the commands sent for diluent" in stock.error
        assert stock.commands == []  # nothing of it reached the robot
    finally:
        fake.close()
