"""URLs of the annotations app."""
from django.urls import path

from annotations import webhooks

app_name = "annotations"

urlpatterns = [
    path("webhooks/label-studio/", webhooks.label_studio_webhook, name="label-studio-webhook"),
]
