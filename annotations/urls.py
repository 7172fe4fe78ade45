"""URLs of the annotations app."""
from django.urls import path

from annotations import views, webhooks

app_name = "annotations"

urlpatterns = [
    path("webhooks/label-studio/", webhooks.label_studio_webhook, name="label-studio-webhook"),
    path("quality/", views.my_quality, name="my-quality"),
    path("quality/scores/<int:pk>.jpg", views.quality_overlay, name="quality-overlay"),
]
