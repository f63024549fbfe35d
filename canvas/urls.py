from django.urls import path

from canvas import views

app_name = "canvas"
urlpatterns = [
    path("", views.workflow_list, name="workflow-list"),
]
