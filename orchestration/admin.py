from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from orchestration import runs, schedules, transitions
from orchestration.models import (
    RUN_TERMINAL,
    Campaign,
    NodeRun,
    RobotLock,
    RunEvent,
    RunState,
    Schedule,
    ScheduleFire,
    Trial,
    WorkflowRun,
)
from robots.admin import RobotAdmin
from robots.models import Robot, confirm_checked, mark_needs_check


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
    """The robots admin, with what orchestration keeps for each robot: its lock, and whether a
    person must check it before it runs again."""

    list_display = (*RobotAdmin.list_display, "status")
    actions = (*RobotAdmin.actions, "confirm_checked", "release_lock", "force_release")

    @admin.display(description="status")
    def status(self, robot):
        if robot.needs_check:
            return f"NEEDS CHECK: {robot.needs_check}"
        lock = RobotLock.objects.filter(robot=robot).select_related("run").first()
        if lock is None:
            return "free"
        who = lock.run.started_by or lock.run.trigger
        return f"held by run {lock.run_id} ({lock.run.state}, {who})"

    @admin.action(
        description="Confirm the robot is safe to run again (clears needs check)",
        permissions=["change"],
    )
    def confirm_checked(self, request, queryset):
        for robot in queryset:
            reason = robot.needs_check
            if confirm_checked(robot.pk, request.user.get_username()):
                self.log_change(request, robot, f"confirmed safe to run again (was: {reason})")
                self.message_user(request, f"{robot.name}: may run again", messages.SUCCESS)
            else:
                self.message_user(request, f"{robot.name} did not need a check", messages.INFO)

    @admin.action(
        description="Release lock (refused while its run is running or paused)",
        permissions=["change"],
    )
    def release_lock(self, request, queryset):
        for lock in RobotLock.objects.filter(robot__in=queryset).select_related("run", "robot"):
            if lock.run.state in (RunState.RUNNING, RunState.PAUSED):
                self.message_user(
                    request,
                    f"{lock.robot.name}: run {lock.run_id} is {lock.run.state} and holds the "
                    "robot; cancel it, or use Force release",
                    messages.ERROR,
                )
                continue
            robot, run_id = lock.robot, lock.run_id
            lock.delete()
            self.log_change(request, robot, f"released the lock of run {run_id}")
            self.message_user(request, f"{robot.name}: released", messages.WARNING)

    @admin.action(
        description="Force release (cancels the holding run; robot needs check)",
        permissions=["change"],
    )
    def force_release(self, request, queryset):
        locks = list(RobotLock.objects.filter(robot__in=queryset).select_related("run", "robot"))
        if request.POST.get("confirmed") != "yes":
            return TemplateResponse(
                request,
                "admin/robots/force_release.html",
                {
                    **self.admin_site.each_context(request),
                    "title": "Force release robot locks?",
                    "locks": locks,
                    "robots": queryset,
                    "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                },
            )
        who = request.user.get_username()
        for lock in locks:
            run, robot = lock.run, lock.robot
            if run.state not in RUN_TERMINAL:
                runs.cancel_run(run, request.user)
            RobotLock.objects.filter(pk=lock.pk).delete()
            why = f"lock force-released by {who} while run {run.pk} was {run.state}"
            mark_needs_check(robot.pk, why)
            transitions.log(run.pk, "", f"robot {robot.name}: {why}", "warning")
            self.log_change(request, robot, why)
            self.message_user(request, f"{robot.name}: {why}", messages.WARNING)


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
        shown = ((t.strftime("%Y-%m-%d %H:%M:%S %Z"),) for t in times)  # in its own zone
        return format_html_join("", "<div>{}</div>", shown) or "—"

    @admin.display(description="last run")
    def last_run(self, schedule):
        fire = schedule.fires.filter(run__isnull=False).select_related("run").first()
        if fire is None:
            return "—"
        url = reverse("orchestration:run", args=[fire.run_id])
        return format_html('<a href="{}">run {}</a> ({})', url, fire.run_id, fire.run.state)

    def save_model(self, request, obj, form, change):
        schedules.save(obj, request.user)  # checked in the form already, field by field


class TrialInline(admin.TabularInline):
    model = Trial
    fields = ("number", "state", "parameters", "values", "run", "error", "suggested_by")
    readonly_fields = fields
    extra = 0
    can_delete = False
    max_num = 0


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    """Campaigns are defined and controlled on their page or the API; here they are read."""

    list_display = ("name", "workflow", "state", "optimiser", "budget", "created_at", "page")
    list_filter = ("state", "optimiser", "engine")
    search_fields = ("name", "workflow__name")
    readonly_fields = [f.name for f in Campaign._meta.fields]
    inlines = (TrialInline,)

    def has_add_permission(self, request):
        return False

    @admin.display(description="page")
    def page(self, campaign):
        url = reverse("orchestration:campaign", args=[campaign.pk])
        return format_html('<a href="{}">open</a>', url)
