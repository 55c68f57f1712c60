"""Console URLs, mounted under /console/ by apiserver/urls.py."""
from __future__ import annotations

from django.urls import path

from console.health import views as health_views
from console.views import login, overview

app_name = "console"

urlpatterns = [
    path("", overview.overview, name="overview"),
    path("login/", login.login, name="login"),
    path("logout/", login.logout, name="logout"),
    path("health/", health_views.health, name="health"),
]
