from django.urls import path

from canvas import views

app_name = "canvas"
urlpatterns = [
    path("", views.workflow_list, name="workflow-list"),
    path("workflows/new", views.new_workflow, name="new"),
    path("workflows/<int:workflow_id>/edit", views.edit_workflow, name="edit"),
    path("account/notifications", views.notifications, name="notifications"),
    path("workflows/<int:workflow_id>/duplicate", views.duplicate_workflow, name="duplicate"),
    path("workflows/<int:workflow_id>/delete", views.delete_workflow, name="delete"),
]
