"""Console URLs, mounted under /console/ by apiserver/urls.py."""
from __future__ import annotations

from django.urls import path

from console.accounts import views as account_views
from console.browse import views as browse_views
from console.edit import views as edit_views
from console.events import views as events_views
from console.health import views as health_views
from console.rbac import views as rbac_views
from console.rbac import views_access as rbac_access
from console.views import login, overview

app_name = "console"

urlpatterns = [
    path("", overview.overview, name="overview"),
    path("login/", login.login, name="login"),
    path("logout/", login.logout, name="logout"),
    path("health/", health_views.health, name="health"),
    path("events/", events_views.events, name="events"),
    path("rbac/", rbac_views.rbac_index, name="rbac"),
    path("rbac/clusterroles/<str:name>/", rbac_views.role_detail, name="rbac-clusterrole"),
    path("rbac/roles/<str:namespace>/<str:name>/", rbac_views.role_detail, name="rbac-role"),
    path("rbac/clusterrolebindings/<str:name>/", rbac_views.binding_detail, name="rbac-clusterrolebinding"),
    path("rbac/rolebindings/<str:namespace>/<str:name>/", rbac_views.binding_detail, name="rbac-rolebinding"),
    path("rbac/bindings/edit/", rbac_views.binding_edit, name="rbac-binding-edit"),
    path("rbac/who-can/", rbac_access.who_can_page, name="rbac-who-can"),
    path("rbac/matrix/", rbac_access.matrix_page, name="rbac-matrix"),
    path("rbac/can-i/", rbac_access.can_i_page, name="rbac-can-i"),
    path("serviceaccounts/", account_views.account_list, name="serviceaccounts"),
    path("serviceaccounts/<str:namespace>/<str:name>/", account_views.account_page, name="serviceaccount"),
    path("serviceaccounts/<str:namespace>/<str:name>/token/", account_views.token, name="serviceaccount-token"),
    path("serviceaccounts/<str:namespace>/<str:name>/kubeconfig/", account_views.download_kubeconfig,
         name="serviceaccount-kubeconfig"),
    path("serviceaccounts/<str:namespace>/<str:name>/secrets/<str:secret>/revoke/", account_views.revoke,
         name="serviceaccount-revoke"),
    path("resources/", browse_views.index, name="resources"),
    path("resources/palette.json", browse_views.palette, name="resources-palette"),
    path("resources/<str:group>/<str:version>/<str:plural>/", browse_views.resource_list, name="resource-list"),
    path("resources/<str:group>/<str:version>/<str:plural>/<str:name>/", browse_views.resource_detail,
         name="resource-detail"),
    path("create/", edit_views.create, name="create"),
    path("edit/<str:group>/<str:version>/<str:plural>/<str:name>/", edit_views.edit, name="edit"),
    path("delete/<str:group>/<str:version>/<str:plural>/<str:name>/", edit_views.delete, name="delete"),
]
