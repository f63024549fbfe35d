import re

import pytest
from django.core.management import call_command
from django.test import Client

from canvas.models import ApiToken, Workflow


@pytest.mark.django_db
def test_setup_local_creates_an_admin_and_the_demos_once(capsys, monkeypatch):
    monkeypatch.delenv("SDL_ADMIN_PASSWORD", raising=False)
    call_command("setup_local")
    out = capsys.readouterr().out
    password = re.search(r"with password (\S+)", out).group(1)
    names = set(Workflow.objects.values_list("name", flat=True))
    assert {
        "Buffer check (no robot)",
        "Serial dilution, row B (simulated OT-2)",
        "Colour mixing on a simulated Flex",
    } <= names

    from orchestration.models import Campaign

    demo_campaign = Campaign.objects.get()  # a draft, started from its page
    assert demo_campaign.workflow.name == "Colour mixing on a simulated Flex"
    assert demo_campaign.state == "draft" and demo_campaign.budget == 30

    call_command("setup_local")
    assert "password" not in capsys.readouterr().out
    assert Campaign.objects.count() == 1
    assert Workflow.objects.count() == len(names)

    client = Client()
    assert client.get("/").status_code == 302
    response = client.post("/accounts/login/", {"username": "admin", "password": password})
    assert response.status_code == 302
    page = client.get("/").content.decode()
    assert "Buffer check (no robot)" in page and "ready to run" in page


@pytest.mark.django_db
def test_create_api_token_prints_a_working_token(owner, capsys):
    call_command("create_api_token", "olivia")
    token = capsys.readouterr().out.strip()
    assert ApiToken.user_for(token) == owner
    assert Client(HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/workflows").status_code == 200


def test_the_configuration_checks_name_the_problem(settings):
    from orchestration.checks import check_engine

    settings.SDL_DEFAULT_ENGINE = "prefect"
    settings.PREFECT_API_URL = ""
    assert [e.id for e in check_engine(None)] == ["orchestration.E002"]
    settings.SDL_DEFAULT_ENGINE = "warp"
    assert [e.id for e in check_engine(None)] == ["orchestration.E001"]
