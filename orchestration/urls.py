from django.urls import path

from orchestration import campaign_views, views

app_name = "orchestration"
urlpatterns = [
    path("runs/", views.run_list, name="runs"),
    path("runs/<int:run_id>/", views.run_page, name="run"),
    path("workflows/<int:workflow_id>/run", views.start_run, name="start-run"),
    path("workflows/<int:workflow_id>/campaign", campaign_views.new_campaign, name="new-campaign"),
    path("campaigns/", campaign_views.campaign_list, name="campaigns"),
    path("campaigns/<int:campaign_id>/", campaign_views.campaign_page, name="campaign"),
]
