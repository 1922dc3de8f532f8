from django.contrib import admin
from django.urls import include, path

from retain.web.health import healthz, readyz

urlpatterns = [
    path("healthz", healthz, name="healthz"),  # no login: for load balancers
    path("readyz", readyz, name="readyz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("", include("retain.audit.urls")),
    path("", include("retain.api.urls")),
    path("", include("retain.web.urls")),
    path("", include("retain.tasks.urls")),
    path("", include("retain.playbooks.urls")),
    path("", include("retain.care.urls")),
    path("", include("retain.surveys.urls")),
    path("", include("retain.complaints.urls")),
    path("", include("retain.tags.urls")),
    path("", include("retain.loyalty.urls")),
]

handler500 = "retain.web.views.server_error"
