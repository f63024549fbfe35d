"""What `make run` does before serving: an admin account and the demo workflows."""

import json
import os
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from canvas.models import Workflow
from orchestration import campaigns
from orchestration.models import Campaign
from robots.models import Robot

DEMOS = settings.BASE_DIR / "canvas" / "demo"


class Command(BaseCommand):
    help = (
        "Create the local admin user (once) and load the demo workflows and campaigns that are "
        "missing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default=os.getenv("SDL_ADMIN_USER", "admin"))

    def handle(self, username, **options):
        User = get_user_model()
        admin = User.objects.filter(username=username).first()
        if admin is None:  # the password is set once; later: `manage.py changepassword`
            given = os.getenv("SDL_ADMIN_PASSWORD")
            password = given or secrets.token_urlsafe(12)
            admin = User.objects.create_superuser(username, password=password)
            if given:
                self.stdout.write(
                    self.style.SUCCESS(
                        f"Created user {username} with the password in SDL_ADMIN_PASSWORD"
                    )
                )
            else:
                self.stdout.write(
                    self.style.SUCCESS(f"Created user {username} with password {password}")
                    + "\nIt is shown only this once: note it, or change it with "
                    f"`.venv/bin/python manage.py changepassword {username}`."
                )
        for name, robot_type in (("ot2-sim", "OT-2"), ("flex-sim", "Flex")):
            _, made = Robot.objects.get_or_create(
                name=name,
                defaults={
                    "robot_type": robot_type,
                    "simulate": True,
                    "notes": "A demo robot on the Opentrons simulator.",
                },
            )
            if made:
                self.stdout.write(f"Added the simulated robot {name}")
        for path in sorted(DEMOS.glob("*.json")):
            if path.name == "campaigns.json":
                continue
            document = json.loads(path.read_text())
            if not Workflow.objects.filter(name=document["name"]).exists():
                Workflow.create(document, admin, message="Demo workflow")
                self.stdout.write(f"Loaded demo workflow {document['name']}")

        for definition in json.loads((DEMOS / "campaigns.json").read_text()):
            workflow = Workflow.objects.filter(name=definition["workflow"]).first()
            if workflow is None or Campaign.objects.filter(name=definition["name"]).exists():
                continue
            campaigns.create(workflow, admin, definition["name"], definition)  # a draft
            self.stdout.write(
                f"Added the demo campaign {definition['name']} (start it on its page)"
            )
