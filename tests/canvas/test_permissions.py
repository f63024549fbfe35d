import pytest
from django.contrib.auth.models import Group
from django.test import Client

from canvas.models import WorkflowShare
from tests.factories import document, make_workflow

READS = ["", "/versions", "/versions/1", "/export"]


@pytest.fixture
def workflow(owner):
    return make_workflow(owner)


def test_a_user_it_is_not_shared_with_cannot_see_it_anywhere(api_for, outsider, workflow):
    api = api_for(outsider)
    assert api.get("/api/workflows").json() == []
    for suffix in READS:
        assert api.get(f"/api/workflows/{workflow.pk}{suffix}").status_code == 404
    assert (
        api.put(
            f"/api/workflows/{workflow.pk}", {"document": document(), "base_version": 1}
        ).status_code
        == 404
    )
    assert api.post(f"/api/workflows/{workflow.pk}/versions/1/restore").status_code == 404
    assert api.delete(f"/api/workflows/{workflow.pk}").status_code == 404
    workflow.refresh_from_db()
    assert workflow.version == 1


def test_anonymous_requests_are_refused(workflow):
    client = Client()
    assert client.get("/api/workflows").status_code == 401
    assert client.get(f"/api/workflows/{workflow.pk}").status_code == 401
    assert client.get("/").status_code == 302  # to the sign-in page
    assert Client(HTTP_AUTHORIZATION="Bearer sdl_wrong").get("/api/workflows").status_code == 401


def test_a_viewer_can_read_but_not_edit(api_for, teammate, workflow):
    WorkflowShare.objects.create(workflow=workflow, user=teammate, permission="view")
    api = api_for(teammate)
    assert api.get(f"/api/workflows/{workflow.pk}").json()["permission"] == "view"
    response = api.put(f"/api/workflows/{workflow.pk}", {"document": document(), "base_version": 1})
    assert response.status_code == 403
    assert api.delete(f"/api/workflows/{workflow.pk}").status_code == 403


def test_sharing_with_a_group_gives_its_members_edit(api_for, teammate, workflow):
    group = Group.objects.create(name="chemists")
    teammate.groups.add(group)
    WorkflowShare.objects.create(workflow=workflow, group=group, permission="edit")
    api = api_for(teammate)
    assert [w["id"] for w in api.get("/api/workflows").json()] == [workflow.pk]
    response = api.put(
        f"/api/workflows/{workflow.pk}", {"document": document(name="X"), "base_version": 1}
    )
    assert response.status_code == 200 and response.json()["version"] == 2


def test_session_auth_needs_the_csrf_token(owner, workflow):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assert client.get("/api/workflows").status_code == 200
    response = client.post("/api/validate", data="{}", content_type="application/json")
    assert response.status_code == 403
    client.get("/")
    token = client.cookies["csrftoken"].value
    response = client.post(
        "/api/validate", data="{}", content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 200


def test_tokens_are_stored_hashed(owner):
    from canvas.models import ApiToken

    record, token = ApiToken.issue(owner)
    assert token not in (record.digest, record.hint) and record.digest == ApiToken.hash(token)
    assert ApiToken.user_for(token) == owner
