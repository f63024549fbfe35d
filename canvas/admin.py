import json

from django import forms
from django.contrib import admin, messages

from canvas.jsonbody import BodyError, read_json
from canvas.models import ApiToken, VersionConflict, Workflow, WorkflowShare, WorkflowVersion
from canvas.validation import validate


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


class WorkflowForm(forms.ModelForm):
    """The document is checked as the API checks it: read strictly (no NaN, Infinity or NUL),
    refused when it is not a workflow at all; its draft problems are saved with it."""

    class Meta:
        model = Workflow
        fields = ("name", "owner", "document")

    def clean_document(self):
        document = self.cleaned_data["document"]
        try:
            document = read_json(json.dumps(document, allow_nan=True).encode())
        except (BodyError, ValueError) as exc:
            raise forms.ValidationError(str(exc))
        report = validate(document)
        if report.refused:
            first = next(i for i in report.issues if i.fatal)
            raise forms.ValidationError(f"not a workflow: {first}")
        return document


@admin.register(Workflow)
class WorkflowAdmin(admin.ModelAdmin):
    form = WorkflowForm
    list_display = ("name", "owner", "version", "valid", "updated_at", "deleted_at")
    list_filter = ("deleted_at",)
    search_fields = ("name", "owner__username")
    readonly_fields = ("version", "problems", "created_at", "updated_at", "deleted_at")
    fields = (
        "name",
        "owner",
        "document",
        "version",
        "problems",
        "created_at",
        "updated_at",
        "deleted_at",
    )

    @admin.display(boolean=True, description="ready to run")
    def valid(self, workflow):
        return workflow.valid

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
