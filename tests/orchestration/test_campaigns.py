"""Closed-loop campaigns: the optimiser chooses each next run of the colour-mixing demo."""

import json
import time

import pytest

from orchestration import campaigns
from orchestration.models import Campaign, CampaignState, Trial, TrialState
from tests.browser import browser  # noqa: F401  (fixture)
from tests.factories import demo, make_workflow

pytestmark = pytest.mark.django_db(transaction=True)
TOLERANCE = 0.1


def colour_campaign(workflow_id: int, **overrides) -> dict:
    body = {
        "workflow": workflow_id,
        "name": "Match the colour",
        "space": [
            {"parameter": p, "kind": "float", "low": 1, "high": 100}
            for p in ("red", "yellow", "blue")
        ],
        "objectives": [
            {"path": "nodes.record.output.distance", "direction": "minimize", "target": TOLERANCE}
        ],
        "initial_runs": 5,
        "batch_size": 1,  # one at a time: each suggestion follows from the same results
        "budget": 30,
        "seed": 1,
        "start": True,
    }
    body.update(overrides)
    return body


def drive(campaign_id: int, timeout: float = 240, until=CampaignState.FINISHED) -> Campaign:
    """What the supervisor does: step the loop until the campaign is in `until`."""
    deadline = time.monotonic() + timeout  # a deadline for a stuck campaign, not a speed goal
    while time.monotonic() < deadline:
        campaigns.step(campaign_id)
        campaign = Campaign.objects.get(pk=campaign_id)
        if campaign.state in (until, CampaignState.FAILED):
            return campaign
        time.sleep(0.05)
    raise AssertionError(f"campaign {campaign_id} is still {campaign.state}")


def test_the_colour_mixing_campaign_reaches_its_target_on_the_simulator(api, owner):
    workflow = make_workflow(owner, demo("colour_mixing"))
    answer = api.post("/api/campaigns", colour_campaign(workflow.pk))
    assert answer.status_code == 201, answer.json()
    campaign = drive(answer.json()["id"])
    assert campaign.state == CampaignState.FINISHED, campaign.reason
    assert campaign.reason.startswith("target reached by trial")
    served = api.get(f"/api/campaigns/{campaign.pk}").json()
    best = next(t for t in served["trials"] if t["number"] == served["best"])
    assert best["values"]["nodes.record.output.distance"] <= TOLERANCE
    assert len(served["trials"]) <= 30
    phases = [t["suggested_by"]["phase"] for t in served["trials"]]
    assert phases[:5] == ["initial design"] * 5 and "optimiser" in phases[5:]
    assert served["trials"][-1]["suggested_by"]["optimiser"] == "optuna"
    assert served["trials"][-1]["suggested_by"]["version"]  # the package version that chose it
    for trial in Trial.objects.filter(campaign=campaign):
        assert trial.run.trial == trial and trial.run.parameters["red"] == trial.parameters["red"]
    listed = api.get(f"/api/runs?campaign={campaign.pk}").json()
    assert sorted(r["id"] for r in listed) == sorted(t["run"] for t in served["trials"])
    csv = api.get(f"/api/campaigns/{campaign.pk}/trials.csv").content.decode()
    assert csv.splitlines()[0].startswith("trial,state,run,red,yellow,blue,")
    assert len(csv.splitlines()) == len(served["trials"]) + 1


def test_a_failed_run_is_a_failed_trial_never_a_value(api, owner):
    doc = demo("colour_mixing")
    doc["nodes"][-2]["params"]["function"] = "orchestration.examples.mean"  # fails: bad kwargs
    workflow = make_workflow(owner, doc)
    body = colour_campaign(
        workflow.pk,
        budget=2,
        initial_runs=2,
        objectives=[{"path": "nodes.distance.output.result", "direction": "minimize"}],
    )
    campaign = drive(api.post("/api/campaigns", body).json()["id"])
    assert campaign.state == CampaignState.FINISHED
    trials = list(campaign.trials.all())
    assert {t.state for t in trials} == {TrialState.FAILED} and all(not t.values for t in trials)
    assert "ended failed" in trials[0].error


@pytest.mark.parametrize(
    ("change", "path", "words"),
    [
        ({"space": [{"parameter": "green", "low": 1, "high": 2}]}, "space[0]", "no run parameter"),
        (
            {"space": [{"parameter": "red", "low": 0, "high": 100}]},
            "space[0].low",
            "below red's minimum 1",
        ),
        (
            {"objectives": [{"path": "nodes.read.output.nothing"}]},
            "objectives[0].path",
            "no node produces",
        ),
        ({"optimiser": "baybe"}, "optimiser", "no optimiser baybe"),
        (
            {"optimiser_settings": {"n_ei_candidates": "many"}},
            "optimiser_settings.n_ei_candidates",
            "'many' is not of type 'integer'",
        ),
    ],
)
def test_a_bad_definition_is_refused_at_its_place_and_nothing_starts(
    api, owner, change, path, words
):
    workflow = make_workflow(owner, demo("colour_mixing"))
    answer = api.post("/api/campaigns", colour_campaign(workflow.pk, **change))
    assert answer.status_code == 422
    assert answer.json()["path"] == path and words in answer.json()["detail"]
    assert not Campaign.objects.exists() and not workflow.runs.exists()


def test_pause_lets_trials_finish_and_starts_none_and_stop_ends_it(api, owner):
    workflow = make_workflow(owner, demo("colour_mixing"))
    body = colour_campaign(workflow.pk, budget=10, batch_size=2)
    campaign_id = api.post("/api/campaigns", body).json()["id"]
    campaigns.step(campaign_id)  # two trials start
    assert api.post(f"/api/campaigns/{campaign_id}/pause").json()["state"] == "paused"
    deadline = time.monotonic() + 60
    while Trial.objects.filter(campaign_id=campaign_id, state=TrialState.RUNNING).exists():
        assert time.monotonic() < deadline
        campaigns.step(campaign_id)
        time.sleep(0.05)
    assert Trial.objects.filter(campaign_id=campaign_id).count() == 2  # none started meanwhile
    api.post(f"/api/campaigns/{campaign_id}/resume")
    campaigns.step(campaign_id)
    assert Trial.objects.filter(campaign_id=campaign_id).count() == 4
    assert api.post(f"/api/campaigns/{campaign_id}/stop").json()["state"] == "stopping"
    campaign = drive(campaign_id)
    assert campaign.state == CampaignState.FINISHED and "stop by olivia" in campaign.reason
    assert Trial.objects.filter(campaign_id=campaign_id).count() == 4


def test_a_run_and_a_campaign_download_as_ro_crates_that_read_back(api, owner, tmp_path):
    from rocrate.rocrate import ROCrate

    workflow = make_workflow(owner, demo("colour_mixing"))
    body = colour_campaign(workflow.pk, budget=2, initial_runs=2)
    campaign = drive(api.post("/api/campaigns", body).json()["id"])
    trial = campaign.trials.order_by("number").first()

    run_zip = tmp_path / "run.zip"
    run_zip.write_bytes(api.get(f"/api/runs/{trial.run_id}/ro-crate").content)
    crate = ROCrate(run_zip)
    assert crate.mainEntity["name"] == "Colour mixing on a simulated Flex"
    action = crate.get(f"#run-{trial.run_id}")
    assert action.type == "CreateAction"
    assert "http://schema.org/CompletedActionStatus" in str(action["actionStatus"])
    commands = json.loads((crate.source / "commands.json").read_text())
    assert any(c["commandType"] == "absorbanceReader/read" for c in commands["read"])

    campaign_zip = tmp_path / "campaign.zip"
    campaign_zip.write_bytes(api.get(f"/api/campaigns/{campaign.pk}/ro-crate").content)
    crate = ROCrate(campaign_zip)
    trials = json.loads((crate.source / "trials.json").read_text())
    assert [t["number"] for t in trials] == [1, 2]
    assert trials[0]["suggested_by"]["phase"] == "initial design"
    for t in trials:
        assert crate.get(f"#run-{t['run']}") is not None
        assert (crate.source / f"runs/{t['run']}/commands.json").exists()


def test_the_command_line_starts_follows_and_exports_a_campaign(owner, tmp_path, capsys):
    from django.core.management import call_command

    workflow = make_workflow(owner, demo("colour_mixing"))
    definition = tmp_path / "campaign.json"
    body = colour_campaign(workflow.pk, budget=3, initial_runs=2)
    body["workflow"] = workflow.name
    definition.write_text(json.dumps(body))
    call_command("sdl", "campaign", "start", str(definition), "--follow")
    said = capsys.readouterr().out
    campaign = Campaign.objects.get()
    assert f"campaign {campaign.pk} (Match the colour) started" in said
    assert "trial 3: completed" in said and "finished: budget of 3 runs used" in said
    call_command("sdl", "campaign", "status", str(campaign.pk))
    assert "3 of 3 runs" in capsys.readouterr().out
    call_command("sdl", "campaign", "export", str(campaign.pk))
    assert capsys.readouterr().out.startswith("trial,state,run,red,yellow,blue")
    crate = tmp_path / "crate.zip"
    call_command("sdl", "campaign", "export", str(campaign.pk), "--crate", "-o", str(crate))
    assert crate.stat().st_size > 1000


def test_a_persons_answer_is_the_objective(api, owner):
    from orchestration.models import RunState, WorkflowRun
    from tests.factories import document

    doc = document(
        parameters={"x": {"type": "number", "default": 5, "minimum": 0, "maximum": 10}},
        nodes=[
            {"id": "note", "type": "data.record", "params": {"values": {"x": "{{ params.x }}"}}},
            {
                "id": "measure",
                "type": "control.input",
                "params": {
                    "message": "Weigh the product",
                    "fields": [
                        {
                            "name": "yield",
                            "type": "number",
                            "unit": "%",
                            "minimum": 0,
                            "maximum": 100,
                        }
                    ],
                },
            },
        ],
        edges=[{"source": "note", "target": "measure"}],
    )
    workflow = make_workflow(owner, doc)
    body = {
        "workflow": workflow.pk,
        "space": [{"parameter": "x", "low": 0, "high": 10}],
        "objectives": [{"path": "nodes.measure.output.yield", "direction": "maximize"}],
        "initial_runs": 2,
        "budget": 3,
        "start": True,
    }
    answer = api.post("/api/campaigns", body)
    assert answer.status_code == 201, answer.json()
    campaign_id = answer.json()["id"]
    deadline = time.monotonic() + 120
    while Campaign.objects.get(pk=campaign_id).state != CampaignState.FINISHED:
        assert time.monotonic() < deadline
        campaigns.step(campaign_id)
        for run in WorkflowRun.objects.filter(state=RunState.PAUSED, trial__campaign=campaign_id):
            assert run.input_request["fields"][0]["name"] == "yield"
            refused = api.post(f"/api/runs/{run.pk}/continue", {"answers": {"yield": 150}})
            assert refused.status_code == 422
            assert refused.json()["errors"][0]["path"] == "answers.yield"
            x = run.parameters["x"]
            api.post(f"/api/runs/{run.pk}/continue", {"answers": {"yield": 10 * x}})
        time.sleep(0.05)
    trials = list(Trial.objects.filter(campaign_id=campaign_id).order_by("number"))
    assert len(trials) == 3 and all(t.state == TrialState.COMPLETED for t in trials)
    for t in trials:
        assert t.values["nodes.measure.output.yield"] == pytest.approx(10 * t.parameters["x"])
        measured = t.run.nodes.get(node_id="measure")
        assert measured.output["answered_by"] == "olivia"
        assert any("answered by olivia" in line["message"] for line in measured.log)


@pytest.mark.browser
def test_a_campaign_from_the_editor_runs_to_its_target_plotted_live(browser, site, owner):  # noqa: F811
    import re
    import threading

    from django.db import connection
    from playwright.sync_api import expect

    from tests.browser import login

    workflow = make_workflow(owner, demo("colour_mixing"))
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    login(page, site, "olivia")
    page.goto(f"{site}/workflows/{workflow.pk}/edit")
    expect(page.get_by_test_id("campaign-button")).to_be_enabled(timeout=60000)
    page.get_by_test_id("campaign-button").click()
    page.get_by_test_id("campaign-name").fill("Match the colour")
    page.get_by_test_id("campaign-objective").fill("nodes.record.output.distance")
    page.get_by_test_id("campaign-target").fill(str(TOLERANCE))
    page.get_by_test_id("campaign-create").click()
    page.wait_for_url(re.compile(r".*/campaigns/\d+/$"))
    campaign = Campaign.objects.get()
    assert campaign.space[0] == {"parameter": "red", "kind": "float", "low": 1.0, "high": 100.0}

    def supervise():  # what the supervisor does in `make run`
        try:
            drive(campaign.pk)
        finally:
            connection.close()

    loop = threading.Thread(target=supervise)
    loop.start()
    expect(page.get_by_test_id("campaign-plot")).to_be_visible(timeout=60000)  # while it runs
    expect(page.get_by_test_id("campaign-state")).to_have_attribute(
        "data-state", "finished", timeout=240000
    )
    loop.join()
    expect(page.get_by_test_id("campaign-reason")).to_contain_text("target reached by trial")
    best = Campaign.objects.get().trials.get(number=campaigns.best(campaign).number)
    assert best.values["nodes.record.output.distance"] <= TOLERANCE
    expect(page.get_by_test_id("campaign-best")).to_contain_text(f"best: trial {best.number}")
    expect(page.locator("[data-testid=campaign-plot] circle")).to_have_count(
        Trial.objects.filter(campaign=campaign, state=TrialState.COMPLETED).count()
    )


@pytest.mark.db_concurrency
def test_a_campaign_goes_on_after_its_server_is_killed_without_repeating_or_losing_a_trial(
    owner,
):
    import signal
    import subprocess
    import sys

    from orchestration.models import WorkflowRun
    from tests.dbenv import child_env
    from tests.factories import ROOT, document

    doc = document(
        parameters={"x": {"type": "number", "default": 5, "minimum": 0, "maximum": 10}},
        nodes=[
            {"id": "wait", "type": "control.delay", "params": {"seconds": 1.5}},
            {"id": "rec", "type": "data.record", "params": {"values": {"y": "{{ params.x }}"}}},
        ],
        edges=[{"source": "wait", "target": "rec"}],
    )
    workflow = make_workflow(owner, doc)
    campaign = campaigns.create(
        workflow,
        owner,
        "Survives",
        {
            "space": [{"parameter": "x", "low": 0, "high": 10}],
            "objectives": [{"path": "nodes.rec.output.y", "direction": "minimize"}],
            "initial_runs": 2,
            "budget": 4,
        },
        start=True,
    )

    def scheduler():
        command = [sys.executable, str(ROOT / "manage.py"), "run_scheduler"]
        return subprocess.Popen(
            command, env=child_env(), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    first = scheduler()
    try:
        deadline = time.monotonic() + 90
        while not Trial.objects.filter(campaign=campaign, number=2).exists():
            assert time.monotonic() < deadline, "the campaign never reached its second trial"
            time.sleep(0.05)
    finally:
        first.send_signal(signal.SIGKILL)  # the server dies with trial 2 running
        first.wait()
    second = scheduler()  # restarted: it marks the dead process's run interrupted, and goes on
    try:
        deadline = time.monotonic() + 120
        while Campaign.objects.get(pk=campaign.pk).state != CampaignState.FINISHED:
            assert time.monotonic() < deadline, Campaign.objects.get(pk=campaign.pk).state
            time.sleep(0.1)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(30)
    trials = list(Trial.objects.filter(campaign=campaign).order_by("number"))
    assert [t.number for t in trials] == [1, 2, 3, 4]  # none repeated, none lost
    assert len({t.run_id for t in trials}) == 4
    assert trials[1].state == TrialState.FAILED and "interrupted" in trials[1].error
    assert {t.state for t in trials[2:]} == {TrialState.COMPLETED}
    assert WorkflowRun.objects.filter(trial__campaign=campaign).count() == 4


def test_the_same_campaign_definition_runs_on_the_prefect_engine(api, owner, prefect):
    from tests.factories import document

    # A workflow without a robot keeps the flow runs light for the session's one Prefect server
    doc = document(
        parameters={"x": {"type": "number", "default": 5, "minimum": 0, "maximum": 10}},
        nodes=[{"id": "rec", "type": "data.record", "params": {"values": {"y": "{{ params.x }}"}}}],
        edges=[],
    )
    workflow = make_workflow(owner, doc)
    body = colour_campaign(
        workflow.pk,
        engine="prefect",
        budget=2,
        initial_runs=1,
        space=[{"parameter": "x", "low": 0, "high": 10}],
        objectives=[{"path": "nodes.rec.output.y", "direction": "minimize"}],
    )
    answer = api.post("/api/campaigns", body)
    assert answer.status_code == 201, answer.json()
    campaign = drive(answer.json()["id"], timeout=300)
    assert campaign.state == CampaignState.FINISHED, campaign.reason
    trials = list(campaign.trials.select_related("run").order_by("number"))
    assert {t.run.engine for t in trials} == {"prefect"}
    assert all(t.run.prefect_flow_run_id for t in trials)
    assert {t.state for t in trials} == {TrialState.COMPLETED}, [t.error for t in trials]
    assert [t.suggested_by["phase"] for t in trials] == ["initial design", "optimiser"]
    for t in trials:
        assert t.values["nodes.rec.output.y"] == pytest.approx(t.parameters["x"])


class NeedsAPackage:
    name, package = "baybe", "baybe-not-installed-here"


def test_an_optimiser_whose_package_is_missing_says_what_to_install(api, owner, settings):
    settings.SDL_OPTIMISERS = {"baybe": "tests.orchestration.test_campaigns.NeedsAPackage"}
    workflow = make_workflow(owner, demo("colour_mixing"))
    answer = api.post("/api/campaigns", colour_campaign(workflow.pk, optimiser="baybe"))
    assert answer.status_code == 422 and answer.json()["path"] == "optimiser"
    assert answer.json()["detail"] == (
        "optimiser: optimiser baybe needs the package baybe-not-installed-here: "
        "pip install baybe-not-installed-here"
    )
    assert not Campaign.objects.exists()
