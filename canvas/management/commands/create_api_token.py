from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from canvas.models import ApiToken


class Command(BaseCommand):
    help = "Create a personal API token for USER and print it (it is stored hashed)."

    def add_arguments(self, parser):
        parser.add_argument("user")
        parser.add_argument("--name", default="script")

    def handle(self, user, name, **options):
        try:
            account = get_user_model().objects.get_by_natural_key(user)
        except get_user_model().DoesNotExist:
            raise CommandError(f"no user {user}")
        _, token = ApiToken.issue(account, name)
        self.stdout.write(token)
