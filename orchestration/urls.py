from django.urls import path

from orchestration import views

app_name = "orchestration"
urlpatterns = [
    path("runs/", views.run_list, name="runs"),
    path("runs/<int:run_id>/", views.run_page, name="run"),
    path("workflows/<int:workflow_id>/run", views.start_run, name="start-run"),
]
