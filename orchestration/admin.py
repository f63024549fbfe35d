from django.contrib import admin, messages

from orchestration.models import NodeRun, RobotLock, RunEvent, WorkflowRun
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
