"""A urlconf for the sync tests until config/urls.py includes annotations.urls."""
from django.urls import include, path

urlpatterns = [path("", include("annotations.urls"))]
