from django.contrib import admin, messages
from django.utils import timezone

from robots.http_robot import RobotError, check_health
from robots.models import Robot


@admin.register(Robot)
class RobotAdmin(admin.ModelAdmin):
    list_display = ("name", "robot_type", "where", "enabled", "last_health_ok", "last_health_at")
    list_filter = ("robot_type", "simulate", "enabled")
    search_fields = ("name", "host")
    readonly_fields = (
        "needs_check",
        "needs_check_since",
        "checked_by",
        "checked_at",
        "last_health_at",
        "last_health_ok",
        "last_health",
    )
    actions = ("check_health",)

    @admin.display(description="where")
    def where(self, robot):
        return "simulated" if robot.simulate else robot.address

    @admin.action(description="Check health (ask each robot)")
    def check_health(self, request, queryset):
        for robot in queryset:
            if robot.simulate:
                result, ok = {"simulated": True, "opentrons": _opentrons_version()}, True
            else:
                try:
                    result = check_health(robot)
                    ok = "problem" not in result
                except RobotError as exc:
                    result, ok = {"error": str(exc)}, False
            Robot.objects.filter(pk=robot.pk).update(
                last_health_at=timezone.now(), last_health_ok=ok, last_health=result
            )
            level = messages.SUCCESS if ok else messages.ERROR
            summary = (
                result.get("error")
                or result.get("problem")
                or (
                    f"API {result.get('api_version')}, firmware {result.get('fw_version')}"
                    if not robot.simulate
                    else "simulated"
                )
            )
            self.message_user(request, f"{robot.name}: {summary}", level)


def _opentrons_version() -> str:
    from importlib.metadata import version

    return version("opentrons")
