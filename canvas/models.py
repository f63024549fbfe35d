import hashlib
import secrets

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone

from canvas.validation import validate


class Permission(models.TextChoices):
    VIEW = "view", "view"
    RUN = "run", "view and run"
    EDIT = "edit", "view, run and edit"


# What each permission allows: edit implies run implies view.
LEVELS = {Permission.VIEW: 1, Permission.RUN: 2, Permission.EDIT: 3}


class VersionConflict(Exception):
    def __init__(self, current: int):
        super().__init__(f"the workflow is at version {current}")
        self.current = current


class WorkflowQuerySet(models.QuerySet):
    def visible_to(self, user, deleted: bool = False):
        """What the user may at least view: their own, shared with them or a group of theirs
        (everything, for a superuser); deleted ones too when asked (their runs stay)."""
        if not user.is_authenticated:
            return self.none()
        found = self if deleted else self.filter(deleted_at__isnull=True)
        if user.is_superuser:
            return found.all()
        shared = WorkflowShare.objects.filter(Q(user=user) | Q(group__in=user.groups.all()))
        return found.filter(Q(owner=user) | Q(pk__in=shared.values("workflow")))


def problems_of(document) -> list[dict]:
    """The validation report of a document, as stored beside it."""
    return validate(document).as_json()


class Workflow(models.Model):
    name = models.CharField(max_length=200)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="workflows"
    )
    document = models.JSONField()
    version = models.PositiveIntegerField(default=0, help_text="The current version's number")
    problems = models.JSONField(
        default=list, blank=True, help_text="The current version's validation report"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Deleted by its owner: gone from every list and editor, while its runs and versions stay.
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = WorkflowQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]

    def __str__(self):
        return self.name

    @property
    def valid(self) -> bool:
        return not self.problems

    @classmethod
    def create(
        cls, document: dict, owner, message: str = "Created", problems: list | None = None
    ) -> "Workflow":
        """A new workflow at version 1; `problems` is the document's validation report, when
        the caller has it already."""
        problems = problems_of(document) if problems is None else problems
        with transaction.atomic():
            workflow = cls.objects.create(
                name=_name_of(document),
                owner=owner,
                document=document,
                version=1,
                problems=problems,
            )
            WorkflowVersion.objects.create(
                workflow=workflow,
                number=1,
                author=owner,
                message=message,
                document=document,
                problems=problems,
            )
        return workflow

    def save_version(
        self, document: dict, author, message: str, base_version: int, problems=None
    ) -> "WorkflowVersion":
        """Write `document` as the next version, unless someone saved since `base_version`.

        The conditional UPDATE is the lock: exactly one writer moves the version number on.
        """
        problems = problems_of(document) if problems is None else problems
        with transaction.atomic():
            changed = Workflow.objects.filter(pk=self.pk, version=base_version).update(
                version=F("version") + 1,
                document=document,
                name=_name_of(document),
                problems=problems,
                updated_at=timezone.now(),
            )
            if changed != 1:
                current = Workflow.objects.filter(pk=self.pk).values_list("version", flat=True)
                raise VersionConflict(current.first() or 0)
            version = WorkflowVersion.objects.create(
                workflow=self,
                number=base_version + 1,
                author=author,
                message=message,
                document=document,
                problems=problems,
            )
        self.refresh_from_db()
        return version

    def soft_delete(self) -> None:
        """Gone for everyone; its history (versions, runs) is never lost."""
        Workflow.objects.filter(pk=self.pk).update(deleted_at=timezone.now())
        self.refresh_from_db()

    def restore(self, number: int, author) -> "WorkflowVersion":
        old = self.versions.get(number=number)
        return self.save_version(
            old.document, author, f"Restored version {number}", self.version, old.problems
        )


def _name_of(document) -> str:
    name = document.get("name") if isinstance(document, dict) else None
    return name[:200] if isinstance(name, str) and name else "Untitled workflow"


class WorkflowVersion(models.Model):
    """One saved state of a workflow. Never changed once written."""

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    message = models.CharField(max_length=500, blank=True)
    document = models.JSONField()
    problems = models.JSONField(default=list, blank=True, help_text="Its validation report")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["workflow", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["workflow", "number"], name="one_version_number")
        ]

    def __str__(self):
        return f"{self.workflow} v{self.number}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("a workflow version is immutable")
        super().save(*args, **kwargs)


class WorkflowShare(models.Model):
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="shares")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE
    )
    group = models.ForeignKey(Group, null=True, blank=True, on_delete=models.CASCADE)
    permission = models.CharField(max_length=8, choices=Permission.choices, default=Permission.VIEW)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, group__isnull=True)
                | Q(user__isnull=True, group__isnull=False),
                name="share_with_a_user_or_a_group",
            )
        ]

    def __str__(self):
        return f"{self.workflow}: {self.permission} for {self.user or self.group}"


class ApiToken(models.Model):
    """A personal token for scripts. Only its SHA-256 is stored; the token is shown once."""

    PREFIX = "sdl_"
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, default="script")
    hint = models.CharField(max_length=12, editable=False, help_text="The token's first letters")
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    def __str__(self):
        return f"{self.name} ({self.hint}…) for {self.user}"

    @staticmethod
    def hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @classmethod
    def issue(cls, user, name: str = "script") -> tuple["ApiToken", str]:
        token = cls.PREFIX + secrets.token_urlsafe(32)
        record = cls.objects.create(user=user, name=name, hint=token[:10], digest=cls.hash(token))
        return record, token

    @classmethod
    def user_for(cls, token: str):
        record = cls.objects.select_related("user").filter(digest=cls.hash(token)).first()
        if record is None or not record.user.is_active:
            return None
        cls.objects.filter(pk=record.pk).update(last_used_at=timezone.now())
        return record.user


class Notifications(models.Model):
    """How a user is told about their own runs: by e-mail and/or a webhook, on which events."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    by_email = models.BooleanField(default=False, help_text="To the account's e-mail address")
    webhook_url = models.URLField(
        max_length=500, blank=True, help_text="Slack- or Teams-compatible incoming webhook"
    )
    on_pause = models.BooleanField(default=True, help_text="A run waits for a person")
    on_failure = models.BooleanField(default=True, help_text="A run fails or is interrupted")
    on_end = models.BooleanField(default=False, help_text="A run ends, whatever its state")

    def __str__(self):
        return f"notifications of {self.user}"
