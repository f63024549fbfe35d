from django.contrib import admin, messages

from canvas.models import ApiToken, VersionConflict, Workflow, WorkflowShare, WorkflowVersion


class VersionInline(admin.TabularInline):
    model = WorkflowVersion
    fields = ("number", "author", "message", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ShareInline(admin.TabularInline):
    model = WorkflowShare
    extra = 0
    autocomplete_fields = ("user",)


@admin.register(Workflow)
class WorkflowAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "version", "updated_at")
    search_fields = ("name", "owner__username")
    readonly_fields = ("version", "created_at", "updated_at")
    fields = ("name", "owner", "document", "version", "created_at", "updated_at")
    inlines = (ShareInline, VersionInline)

    def save_model(self, request, obj, form, change):
        """Every save writes a version, as through the API."""
        if not change:
            created = Workflow.create(obj.document, obj.owner, message="Created in the admin")
            obj.pk, obj.version = created.pk, created.version
            return
        if "document" in form.changed_data:
            try:
                Workflow.objects.get(pk=obj.pk).save_version(
                    obj.document, request.user, "Edited in the admin", obj.version
                )
            except VersionConflict as exc:
                self.message_user(request, f"Not saved: {exc}", messages.ERROR)
            return
        Workflow.objects.filter(pk=obj.pk).update(owner=obj.owner)


@admin.register(WorkflowVersion)
class WorkflowVersionAdmin(admin.ModelAdmin):
    list_display = ("workflow", "number", "author", "message", "created_at")
    list_filter = ("workflow",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "hint", "created_at", "last_used_at")
    fields = ("user", "name")
    autocomplete_fields = ("user",)

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        record, token = ApiToken.issue(obj.user, obj.name)
        obj.pk = record.pk
        self.message_user(
            request,
            f"Token for {obj.user}: {token} — copy it now, it is not shown again.",
            messages.WARNING,
        )
