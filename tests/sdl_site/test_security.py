"""What a lab's IT checks first: deploy checks, docs behind login and from our own files,
sign-in throttling, a Content-Security-Policy, private data files, the admin's password."""

import os
import stat
import subprocess
import sys

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from tests.factories import ROOT, make_user

pytestmark = pytest.mark.django_db


def test_check_deploy_is_clean_with_the_production_settings_the_readme_documents():
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DJANGO_SETTINGS_MODULE": "sdl_site.settings",
        "SDL_SECRET_KEY": "x" * 30 + "a-long-random-production-secret-key",
        "SDL_ALLOWED_HOSTS": "sdl.example.org",
        "SDL_CSRF_TRUSTED_ORIGINS": "https://sdl.example.org",
        "SDL_HTTPS": "true",
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "System check identified no issues" in done.stdout


def test_the_api_docs_and_schema_need_a_signed_in_user_and_load_nothing_from_elsewhere(owner):
    anonymous = Client()
    assert anonymous.get("/api/docs").status_code == 302
    assert anonymous.get("/api/openapi.json").status_code == 302
    client = Client()
    client.force_login(owner)
    page = client.get("/api/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in page and "cdn" not in page.lower()
    assert client.get("/api/openapi.json").json()["info"]["title"] == "SDL Canvas API"


def test_pages_carry_a_content_security_policy_without_inline_scripts(owner):
    client = Client()
    client.force_login(owner)
    response = client.get("/")
    policy = response.headers["Content-Security-Policy"]
    assert (
        "script-src 'self'" in policy
        and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    )
    assert "<script>" not in response.content.decode()


def test_sign_in_is_throttled_after_repeated_wrong_passwords():
    make_user("rita")
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        wrong = client.post("/accounts/login/", {"username": "rita", "password": "nope"})
        assert wrong.status_code == 200  # the form again, with its error
    last = client.post("/accounts/login/", {"username": "rita", "password": "nope"})
    assert last.status_code == 429
    locked = client.post(
        "/accounts/login/", {"username": "rita", "password": "a-long-test-password"}
    )
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_data_folder_is_readable_by_its_owner_only():
    mode = stat.S_IMODE(settings.DATA_DIR.stat().st_mode)
    assert mode == 0o700


def test_the_admin_password_is_set_only_when_the_admin_is_created(monkeypatch, capsys):
    monkeypatch.setenv("SDL_ADMIN_PASSWORD", "first-password-chosen")
    call_command("setup_local")
    assert "the password in SDL_ADMIN_PASSWORD" in capsys.readouterr().out
    admin = get_user_model().objects.get(username="admin")
    admin.set_password("changed-in-the-admin")
    admin.save()
    monkeypatch.setenv("SDL_ADMIN_PASSWORD", "another-password")
    call_command("setup_local")
    admin.refresh_from_db()
    assert admin.check_password("changed-in-the-admin")
