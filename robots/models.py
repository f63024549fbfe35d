from django.db import models


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

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def describe(self) -> str:
        where = "simulated" if self.simulate else self.address
        return f"{self.name} ({self.robot_type}, {where})"
