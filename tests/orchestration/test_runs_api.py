import json
import signal
import subprocess
import sys
import time

import pytest

from canvas.models import WorkflowShare
from orchestration import runs
from orchestration.models import RunState, WorkflowRun
from tests.dbenv import child_env
from tests.factories import ROOT, demo, document, make_workflow
from tests.orchestration.runhelpers import assert_events_complete, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_run_started_through_the_api_returns_at_once_and_completes(api, owner):
    wf = make_workflow(owner, document())
    response = api.post(f"/api/workflows/{wf.pk}/runs", {"parameters": {"n": 3}})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["state"] == "queued" and body["parameters"] == {"n": 3}
    assert [n["node_id"] for n in body["nodes"]] == ["a", "b"]  # (the engine may be done already)
    wait_for(body["id"])
    run = api.get(f"/api/runs/{body['id']}").json()
    assert run["state"] == "completed" and run["started_by"] == "olivia" and run["version"] == 1
    assert run["nodes"][1]["output"] == {"n": 3}
    events = api.get(f"/api/runs/{body['id']}/events?after=0").json()
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[0]["type"] == "run" and events[0]["state"] == "queued"
    assert events[-1]["state"] == "completed"
    assert [e["seq"] for e in api.get(f"/api/runs/{body['id']}/events?after=3").json()][0] == 4
    assert [r["id"] for r in api.get(f"/api/runs?workflow={wf.pk}&state=completed").json()] == [
        body["id"]
    ]


def test_parameters_of_the_wrong_type_or_out_of_bounds_are_refused_before_anything_runs(api, owner):
    wf = make_workflow(owner, document())
    for params, words in [
        ({"n": "three"}, "must be a number"),
        ({"n": 11}, "above its maximum 10"),
        ({"zz": 1}, "has no parameter zz"),
    ]:
        response = api.post(f"/api/workflows/{wf.pk}/runs", {"parameters": params})
        assert response.status_code == 422 and words in response.json()["detail"]
    assert not WorkflowRun.objects.exists()


def test_an_invalid_workflow_is_refused_with_its_errors(api, owner):
    wf = make_workflow(owner, document(edges=[{"source": "a", "target": "ghost"}]))
    response = api.post(f"/api/workflows/{wf.pk}/runs", {})
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"path": "edges[0]", "message": "edge a → ghost: no node ghost"}
    ]


def test_running_needs_run_permission_and_others_see_nothing(api_for, owner, teammate, outsider):
    wf = make_workflow(owner, document())
    run = runs.create_run(wf, user=owner)
    wait_for(run.pk)
    viewer = api_for(teammate)
    WorkflowShare.objects.create(workflow=wf, user=teammate, permission="view")
    assert viewer.get(f"/api/runs/{run.pk}").status_code == 200
    assert viewer.post(f"/api/workflows/{wf.pk}/runs", {}).status_code == 403
    assert viewer.post(f"/api/runs/{run.pk}/rerun").status_code == 403
    stranger = api_for(outsider)
    assert stranger.get("/api/runs").json() == []
    for path in (f"/api/runs/{run.pk}", f"/api/runs/{run.pk}/events"):
        assert stranger.get(path).status_code == 404
    assert stranger.post(f"/api/runs/{run.pk}/cancel").status_code == 404


def test_cancel_and_continue_through_the_api(api, owner):
    doc = document(
        nodes=[{"id": "p", "type": "control.pause", "params": {"message": "check"}}], edges=[]
    )
    wf = make_workflow(owner, doc)
    run_id = api.post(f"/api/workflows/{wf.pk}/runs", {}).json()["id"]
    wait_for(run_id, {RunState.PAUSED})
    assert api.post(f"/api/runs/{run_id}/continue").status_code == 200
    assert wait_for(run_id).state == RunState.COMPLETED
    assert api.post(f"/api/runs/{run_id}/continue").status_code == 409
    assert api.post(f"/api/runs/{run_id}/cancel").status_code == 409

    run_id = api.post(f"/api/workflows/{wf.pk}/runs", {}).json()["id"]
    wait_for(run_id, {RunState.PAUSED})
    assert api.post(f"/api/runs/{run_id}/cancel").status_code == 200
    assert wait_for(run_id).state == RunState.CANCELLED


@pytest.mark.db_concurrency
def test_fifty_runs_started_at_once_all_finish_with_every_state_stored(owner):
    wf = make_workflow(owner, demo("buffer_check"))
    started = [runs.create_run(wf, user=owner, parameters={"settle_s": 0.1}) for _ in range(50)]
    finished = [wait_for(r.pk, timeout=120) for r in started]
    assert {r.state for r in finished} == {RunState.COMPLETED}
    for run in finished:
        assert_events_complete(run)
        assert sorted(run.nodes.values_list("state", flat=True)) == [
            "completed",
            "completed",
            "completed",
            "completed",
            "completed",
            "skipped",
        ]


@pytest.mark.db_concurrency
def test_a_run_whose_server_died_is_interrupted_not_running(owner, tmp_path):
    path = tmp_path / "long.json"
    path.write_text(
        json.dumps(
            document(
                name="Long",
                nodes=[{"id": "d", "type": "control.delay", "params": {"seconds": 60}}],
                edges=[],
            )
        )
    )
    env = child_env()
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "run_workflow", str(path)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while (
            time.monotonic() < deadline
            and not WorkflowRun.objects.filter(state=RunState.RUNNING).exists()
        ):
            time.sleep(0.1)
        run = WorkflowRun.objects.get(state=RunState.RUNNING)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert WorkflowRun.objects.get(pk=run.pk).state == RunState.RUNNING
    assert runs.recover_interrupted_runs() == [run.pk]  # what the server does when it starts
    run.refresh_from_db()
    assert run.state == RunState.INTERRUPTED and "stopped" in run.error
    assert run.nodes.get().state == "cancelled"
    assert_events_complete(run)


@pytest.mark.django_db
def test_a_run_this_process_lost_track_of_is_ended_by_the_supervisor(owner):
    import os
    from datetime import timedelta

    from django.utils import timezone

    from orchestration.hosts import HOST

    run = runs.create_run(make_workflow(owner), user=owner, start=False)
    long_ago = timezone.now() - timedelta(minutes=5)
    WorkflowRun.objects.filter(pk=run.pk).update(
        state=RunState.RUNNING, host=HOST, pid=os.getpid(), created_at=long_ago
    )
    assert runs.end_lost_runs() == [run.pk]
    run.refresh_from_db()
    assert run.state == RunState.INTERRUPTED and "lost track" in run.error
    assert {n.state for n in run.nodes.all()} == {"cancelled"}


def test_a_runs_outputs_download_as_csv_and_json(api, owner):
    run = wait_for(
        runs.create_run(make_workflow(owner, document()), user=owner, parameters={"n": 7}).pk
    )
    as_json = json.loads(api.get(f"/api/runs/{run.pk}/outputs.json").content)
    assert as_json["parameters"] == {"n": 7} and as_json["outputs"]["b"] == {"n": 7}
    rows = api.get(f"/api/runs/{run.pk}/outputs.csv").content.decode().splitlines()
    assert rows[0] == "step,output,value" and "b,n,7" in rows
