"""The run page in a real browser: click Run and watch every node complete, live."""

import json
import os
import re

import pytest
from playwright.sync_api import expect

from orchestration.models import WorkflowRun
from tests.browser import browser, login  # noqa: F401  (fixture)
from tests.dbenv import child_env
from tests.factories import ROOT, make_workflow
from tests.servers import daphne

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def fan_out():
    return json.loads((ROOT / "tests" / "fixtures" / "fan_out.json").read_text())


def test_run_from_the_browser_and_watch_every_node_complete(browser, site, owner):  # noqa: F811
    workflow = make_workflow(owner, fan_out())
    page = browser.new_context().new_page()
    login(page, site, "olivia")
    page.get_by_test_id(f"run-button-{workflow.pk}").click()
    page.get_by_test_id("param-word").fill("go")
    page.get_by_test_id("run-start").click()
    page.wait_for_url(f"{site}/runs/*/")

    # At some moment both branches run at once.
    page.wait_for_function(
        """() => ['left', 'right'].every(id =>
             document.querySelector(`[data-testid=run-node-${id}]`)?.dataset.state === 'running')""",
        timeout=15000,
    )
    page.wait_for_selector("[data-testid=run-state][data-state=completed]", timeout=20000)
    for node_id in ("begin", "announce", "left", "right", "join"):
        assert page.get_by_test_id(f"run-node-{node_id}").get_attribute("data-state") == "completed"
    expect(page.get_by_test_id("run-progress")).to_have_text("5 of 5 nodes done")
    expect(page.get_by_test_id("run-log")).to_contain_text("go")
    page.get_by_test_id("run-node-join").click()
    expect(page.get_by_test_id("run-node-output")).to_contain_text('"answer": 42')
    run = WorkflowRun.objects.get(workflow=workflow)
    assert run.state == "completed" and run.parameters == {"word": "go"}


def test_continue_and_cancel_buttons_and_the_runs_list(browser, site, owner):  # noqa: F811
    doc = fan_out()
    doc["nodes"].append(
        {"id": "check", "type": "control.pause", "params": {"message": "Look at the plate"}}
    )
    doc["edges"].append({"source": "join", "target": "check"})
    workflow = make_workflow(owner, doc)
    page = browser.new_context(timezone_id="Europe/Berlin").new_page()
    login(page, site, "olivia")
    page.goto(f"{site}/workflows/{workflow.pk}/run")
    page.get_by_test_id("param-word").fill("again")
    page.get_by_test_id("run-start").click()
    page.wait_for_selector("[data-testid=run-state][data-state=paused]", timeout=20000)
    # the paused step waits for a person, its message beside Continue
    expect(page.get_by_test_id("run-waiting")).to_have_text("waiting for you: Look at the plate")
    expect(page.get_by_test_id("run-node-check")).to_have_attribute("data-state", "waiting")
    expect(page.get_by_test_id("run-parameters")).to_contain_text("word = again")
    page.get_by_test_id("run-continue").click()
    page.wait_for_selector("[data-testid=run-state][data-state=completed]", timeout=20000)
    log = page.get_by_test_id("run-log")
    for node_id in ("begin", "left", "right", "join", "check"):  # a start and an end per step
        expect(log.locator(f"div:has(b:text-is('{node_id}')):has-text('started')")).to_have_count(1)
        expect(
            log.locator(f"div:has(b:text-is('{node_id}')):has-text('completed in')")
        ).to_have_count(1)
    # Run again starts from this run's parameters
    page.get_by_test_id("run-again").click()
    expect(page.get_by_test_id("param-word")).to_have_value("again")

    runs_page = page.context.new_page()  # same signed-in session
    runs_page.goto(f"{site}/runs/")
    page.goto(f"{site}/workflows/{workflow.pk}/run")
    page.get_by_test_id("run-start").click()
    page.wait_for_selector("[data-testid=run-state][data-state=running]", timeout=20000)
    new_run = WorkflowRun.objects.filter(workflow=workflow).order_by("-id").first()
    runs_page.wait_for_selector(
        f"[data-testid=run-row-{new_run.pk}] [data-state=running]", timeout=10000
    )
    page.once("dialog", lambda dialog: dialog.dismiss())  # "Cancel this run?" — no
    page.get_by_test_id("run-cancel").click()
    assert not WorkflowRun.objects.get(pk=new_run.pk).cancel_requested
    page.once("dialog", lambda dialog: dialog.accept())  # yes
    page.get_by_test_id("run-cancel").click()
    page.wait_for_selector("[data-testid=run-state][data-state=cancelled]", timeout=10000)
    runs_page.wait_for_selector(
        f"[data-testid=run-row-{new_run.pk}] [data-state=cancelled]", timeout=10000
    )
    # the row the server wrote and the row added live give their times alike: the reader's
    # time zone, named
    first = WorkflowRun.objects.filter(workflow=workflow).order_by("id").first()
    for run in (first, new_run):
        text = runs_page.get_by_test_id(f"run-row-{run.pk}").locator("time").inner_text()
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d CES?T", text), text


def test_the_page_reconnects_after_the_server_restarts_and_misses_nothing(browser, owner):  # noqa: F811
    doc = fan_out()
    doc["nodes"][2]["params"]["seconds"] = 4
    doc["nodes"][3]["params"]["seconds"] = 4
    workflow = make_workflow(owner, doc)
    from orchestration import runs

    with daphne(child_env()) as host:
        page = browser.new_context().new_page()
        login(page, f"http://{host}", "olivia")
        run = runs.create_run(workflow, user=owner)  # runs in this test process
        page.goto(f"http://{host}/runs/{run.pk}/")
        page.wait_for_selector("[data-testid=run-connection]:has-text('live')")
    # The server is gone: the page says so and keeps trying.
    page.wait_for_selector("[data-testid=run-connection]:has-text('reconnecting')", timeout=10000)
    port = int(host.split(":")[1])
    from tests import servers

    original = servers.free_port
    servers.free_port = lambda: port
    try:
        with daphne(child_env()):
            page.wait_for_selector("[data-testid=run-state][data-state=completed]", timeout=30000)
            expect(page.get_by_test_id("run-progress")).to_have_text("5 of 5 nodes done")
            expect(page.get_by_test_id("run-connection")).to_have_text("live")
    finally:
        servers.free_port = original


def test_the_runs_list_filters_by_workflow_state_robot_and_user(browser, site, owner, teammate):  # noqa: F811
    from orchestration import runs
    from tests.factories import document, make_robot
    from tests.orchestration.runhelpers import wait_for

    first = make_workflow(owner, document(name="First"))
    second = make_workflow(owner, document(name="Second"))
    make_robot("ot2-sim", simulate=True)
    done = wait_for(runs.create_run(first, user=owner).pk)
    other = wait_for(runs.create_run(second, user=owner).pk)
    page = browser.new_context().new_page()
    login(page, site, "olivia")
    page.goto(f"{site}/runs/")
    rows = page.locator("[data-testid=run-list] tbody tr")
    expect(rows).to_have_count(2)
    page.get_by_test_id("filter-workflow").select_option(label="Second")
    page.get_by_test_id("filter-apply").click()
    expect(rows).to_have_count(1)
    expect(page.get_by_test_id(f"run-row-{other.pk}")).to_be_visible()
    page.get_by_test_id("filter-workflow").select_option(label="all workflows")
    page.get_by_test_id("filter-state").select_option("completed")
    page.get_by_test_id("filter-user").fill("olivia")
    page.get_by_test_id("filter-apply").click()
    expect(rows).to_have_count(2)
    page.get_by_test_id("filter-user").fill("theo")
    page.get_by_test_id("filter-apply").click()
    expect(rows).to_have_text(["No runs yet."])
    assert done.state == "completed"
