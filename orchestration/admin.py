from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from orchestration import schedules
from orchestration.models import (
    NodeRun,
    RobotLock,
    RunEvent,
    Schedule,
    ScheduleFire,
    WorkflowRun,
)
from robots.admin import RobotAdmin
from robots.models import Robot


class NodeRunInline(admin.TabularInline):
    model = NodeRun
    fields = ("node_id", "state", "attempts", "started_at", "finished_at", "error")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WorkflowRun)
class WorkflowRunAdmin(admin.ModelAdmin):
    list_display = ("id", "workflow", "state", "engine", "robot", "started_by", "created_at")
    list_filter = ("state", "engine", "robot")
    search_fields = ("workflow__name",)
    inlines = (NodeRunInline,)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(RunEvent)
class RunEventAdmin(admin.ModelAdmin):
    list_display = ("run", "seq", "type", "node_id", "state", "at")
    list_filter = ("type",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


admin.site.unregister(Robot)


@admin.register(Robot)
class RobotWithLockAdmin(RobotAdmin):
    """The robots admin, with the lock that orchestration keeps for each robot."""

    list_display = (*RobotAdmin.list_display, "held_by")
    actions = (*RobotAdmin.actions, "release_lock")

    @admin.display(description="held by")
    def held_by(self, robot):
        lock = RobotLock.objects.filter(robot=robot).select_related("run").first()
        if lock is None:
            return "—"
        who = lock.run.started_by or lock.run.trigger
        return f"run {lock.run_id} ({lock.run.state}, {who})"

    @admin.action(description="Release lock (only if its run is really over)")
    def release_lock(self, request, queryset):
        released = RobotLock.objects.filter(robot__in=queryset).delete()[0]
        self.message_user(request, f"released {released} lock(s)", messages.WARNING)


class ScheduleForm(forms.ModelForm):
    class Meta:
        model = Schedule
        fields = Schedule.FIELDS

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        candidate = Schedule(**{k: v for k, v in cleaned.items()})
        candidate.created_at = self.instance.created_at or timezone.now()
        try:
            schedules.check(candidate)
        except schedules.ScheduleError as exc:
            field = exc.field if exc.field in self.fields else None
            self.add_error(field, exc.message)
        return cleaned


class FireInline(admin.TabularInline):
    model = ScheduleFire
    fields = ("planned_at", "run", "missed", "note")
    readonly_fields = fields
    extra = 0
    can_delete = False
    max_num = 0


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):
    form = ScheduleForm
    list_display = (
        "workflow",
        "kind",
        "expression",
        "timezone",
        "engine",
        "active",
        "paused_reason",
        "next_fire_at",
    )
    list_filter = ("active", "engine", "kind")
    readonly_fields = ("paused_reason", "next_five", "last_run", "next_fire_at")
    inlines = (FireInline,)

    @admin.display(description="next five fire times")
    def next_five(self, schedule):
        if schedule.pk is None or not schedule.active:
            return "—"
        try:
            times = schedules.fire_times(schedule, timezone.now(), 5)
        except schedules.ScheduleError as exc:
            return str(exc)
        return format_html_join("", "<div>{}</div>", ((t.isoformat(),) for t in times)) or "—"

    @admin.display(description="last run")
    def last_run(self, schedule):
        fire = schedule.fires.filter(run__isnull=False).select_related("run").first()
        if fire is None:
            return "—"
        url = reverse("orchestration:run", args=[fire.run_id])
        return format_html('<a href="{}">run {}</a> ({})', url, fire.run_id, fire.run.state)

    def save_model(self, request, obj, form, change):
        schedules.save(obj, request.user)  # checked in the form already, field by field
