from django.urls import path

from orchestration import consumers

websocket_urlpatterns = [
    path("ws/runs/<int:run_id>/", consumers.RunConsumer.as_asgi()),
    path("ws/runs/", consumers.RunsConsumer.as_asgi()),
]
