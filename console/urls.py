"""Console URLs, mounted under /console/ by apiserver/urls.py."""
from __future__ import annotations

from django.urls import path

from console import views

app_name = "console"

urlpatterns = [
    path("", views.index, name="index"),
]
