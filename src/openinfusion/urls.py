"""URLs. Every view declares its action (``accounts.access.requires``); the admin site is gated
by the admin role (``Action.USE_ADMIN_SITE``); API operations declare theirs with ``api.allow``."""

from django.urls import include, path

from openinfusion.api import api
from openinfusion.web import views
from openinfusion.web.admin import admin_site

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.sign_in, name="login"),
    path("logout/", views.sign_out, name="logout"),
    path("healthz", views.healthz, name="healthz"),
    path("audit/", include("openinfusion.audit.urls")),
    path("formulary/", include("openinfusion.formulary.urls")),
    path("inventory/", include("openinfusion.inventory.urls")),
    path("patients/", include("openinfusion.patients.urls")),
    path("orders/", include("openinfusion.orders.urls")),
    path("compounding/", include("openinfusion.compounding.urls")),
    path("administration/", include("openinfusion.administration.urls")),
    path("schedule/", include("openinfusion.chairs.urls")),
    path("jobs/", include("openinfusion.jobs.urls")),
    path("users/", include("openinfusion.accounts.urls")),
    path("admin/", admin_site.urls),
    path("api/v1/", api.urls),
]
