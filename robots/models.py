from django.db import models
from django.utils import timezone


class RobotType(models.TextChoices):
    OT2 = "OT-2", "OT-2"
    FLEX = "Flex", "Flex"


class Robot(models.Model):
    name = models.SlugField(max_length=64, unique=True, help_text="e.g. ot2-bay-3")
    robot_type = models.CharField(max_length=8, choices=RobotType.choices, default=RobotType.OT2)
    host = models.CharField(max_length=255, blank=True, help_text="Not needed when simulated")
    port = models.PositiveIntegerField(default=31950)
    simulate = models.BooleanField(
        default=True,
        help_text="Run on the Opentrons simulator. Turn off only to move the real robot.",
    )
    enabled = models.BooleanField(default=True)
    notes = models.TextField(blank=True)
    last_health_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_health_ok = models.BooleanField(null=True, editable=False)
    last_health = models.JSONField(
        null=True, blank=True, editable=False, help_text="What the robot reported"
    )
    needs_check = models.TextField(
        blank=True,
        editable=False,
        help_text="Why a person must check the robot before it runs again (empty: it may run)",
    )
    needs_check_since = models.DateTimeField(null=True, blank=True, editable=False)
    checked_by = models.CharField(max_length=150, blank=True, editable=False)
    checked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def refusal(self) -> str | None:
        """Why this robot takes no run now, or None."""
        if not self.enabled:
            return f"robot {self.name} is disabled"
        if self.needs_check:
            return (
                f"robot {self.name} needs a check before it runs again: {self.needs_check} "
                "(someone with permission confirms it is safe in the admin)"
            )
        return None

    def describe(self) -> str:
        where = "simulated" if self.simulate else self.address
        return f"{self.name} ({self.robot_type}, {where})"


def mark_needs_check(robot_id: int, why: str) -> None:
    """Keep the robot from running until a person has looked at it (the first reason stays)."""
    Robot.objects.filter(pk=robot_id, needs_check="").update(
        needs_check=why[:2000], needs_check_since=timezone.now()
    )


def confirm_checked(robot_id: int, who: str) -> bool:
    """A person says the robot is safe to run again. False when it did not need a check."""
    return bool(
        Robot.objects.exclude(needs_check="")
        .filter(pk=robot_id)
        .update(needs_check="", needs_check_since=None, checked_by=who, checked_at=timezone.now())
    )
