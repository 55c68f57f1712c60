"""Django URLs: the console only. The API is a plain ASGI app and never goes through Django's URL resolver."""
from __future__ import annotations

from django.urls import include, path

urlpatterns = [
    path("console/", include("console.urls")),
]
